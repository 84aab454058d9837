//! WidgetService, the FULL dashboard view and ListDashboardDataSources: CRUD, masks, etags,
//! the grid rules, automatic placement, atomic re-layout, copying, authorization, limits.

mod common;

use common::{Caller, TestServer, assert_error, server, unique_org, violated_fields};
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use tonic::{Code, Status};

type User = Caller;

async fn user_on(server: &TestServer, org: &str, sub: &str, role: PlatformRole) -> User {
    server.user(org, sub, role).await
}

async fn user(org: &str, sub: &str, role: PlatformRole) -> User {
    user_on(server(), org, sub, role).await
}

async fn author() -> User {
    user(&unique_org(), "alice", PlatformRole::Author).await
}

fn at(x: i32, y: i32, w: i32, h: i32) -> Option<pb::WidgetLayout> {
    Some(pb::WidgetLayout {
        x: Some(x),
        y: Some(y),
        w: Some(w),
        h: Some(h),
    })
}

fn position(widget: &pb::Widget) -> (i32, i32, i32, i32) {
    let l = widget.layout.expect("layout");
    (
        l.x.expect("x"),
        l.y.expect("y"),
        l.w.expect("w"),
        l.h.expect("h"),
    )
}

fn chart(title: &str, layout: Option<pb::WidgetLayout>) -> pb::Widget {
    pb::Widget {
        r#type: pb::WidgetType::Chart as i32,
        title: title.into(),
        layout,
        ..Default::default()
    }
}

fn config(key: &str, value: &str) -> prost_types::Struct {
    prost_types::Struct {
        fields: [(
            key.to_string(),
            prost_types::Value {
                kind: Some(prost_types::value::Kind::StringValue(value.into())),
            },
        )]
        .into(),
    }
}

fn device(id: &str, name: &str) -> pb::DataSource {
    pb::DataSource {
        device_id: id.into(),
        device_name: name.into(),
        project_id: "p1".into(),
        project_name: "Plant".into(),
        query: format!("SELECT * FROM {id}"),
    }
}

fn mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask {
        paths: paths.iter().map(|p| p.to_string()).collect(),
    })
}

impl User {
    async fn create_widget(
        &mut self,
        parent: &str,
        widget: pb::Widget,
    ) -> Result<pb::Widget, Status> {
        let request = self.req(pb::CreateWidgetRequest {
            version_message: String::new(),
            parent: parent.into(),
            widget: Some(widget),
            source_widget: String::new(),
        });
        self.widgets
            .create_widget(request)
            .await
            .map(|r| r.into_inner())
    }

    async fn add(
        &mut self,
        parent: &str,
        title: &str,
        layout: Option<pb::WidgetLayout>,
    ) -> pb::Widget {
        self.create_widget(parent, chart(title, layout))
            .await
            .expect("create widget")
    }

    async fn get_widget(&mut self, name: &str) -> Result<pb::Widget, Status> {
        let request = self.req(pb::GetWidgetRequest { name: name.into() });
        self.widgets
            .get_widget(request)
            .await
            .map(|r| r.into_inner())
    }

    async fn list_widgets(
        &mut self,
        request: pb::ListWidgetsRequest,
    ) -> Result<pb::ListWidgetsResponse, Status> {
        let request = self.req(request);
        self.widgets
            .list_widgets(request)
            .await
            .map(|r| r.into_inner())
    }

    /// Every widget of a dashboard, in layout order.
    async fn all_widgets(&mut self, parent: &str) -> Vec<pb::Widget> {
        self.list_widgets(pb::ListWidgetsRequest {
            parent: parent.into(),
            ..Default::default()
        })
        .await
        .expect("list widgets")
        .widgets
    }

    async fn update_widget(
        &mut self,
        widget: pb::Widget,
        paths: &[&str],
    ) -> Result<pb::Widget, Status> {
        let request = self.req(pb::UpdateWidgetRequest {
            version_message: String::new(),
            widget: Some(widget),
            update_mask: mask(paths),
        });
        self.widgets
            .update_widget(request)
            .await
            .map(|r| r.into_inner())
    }

    async fn delete_widget(&mut self, name: &str, etag: &str) -> Result<(), Status> {
        let request = self.req(pb::DeleteWidgetRequest {
            version_message: String::new(),
            name: name.into(),
            etag: etag.into(),
        });
        self.widgets
            .delete_widget(request)
            .await
            .map(|r| r.into_inner())
    }

    async fn relayout(
        &mut self,
        parent: &str,
        moves: &[(&str, Option<pb::WidgetLayout>)],
        etag: &str,
    ) -> Result<Vec<pb::Widget>, Status> {
        let request = self.req(pb::BatchUpdateWidgetLayoutsRequest {
            version_message: String::new(),
            parent: parent.into(),
            layouts: moves
                .iter()
                .map(|(widget, layout)| pb::WidgetLayoutUpdate {
                    widget: widget.to_string(),
                    layout: *layout,
                })
                .collect(),
            etag: etag.into(),
            remove_unlisted: false,
        });
        self.widgets
            .batch_update_widget_layouts(request)
            .await
            .map(|r| r.into_inner().widgets)
    }

    async fn get_view(&mut self, name: &str, view: pb::DashboardView) -> pb::Dashboard {
        let request = self.req(pb::GetDashboardRequest {
            name: name.into(),
            view: view as i32,
        });
        self.dashboards
            .get_dashboard(request)
            .await
            .expect("get dashboard")
            .into_inner()
    }
}

/// The description of the one violation on `field`.
#[track_caller]
fn violation(status: &Status, field: &str) -> String {
    let details = assert_error(status, Code::InvalidArgument, "INVALID_ARGUMENT");
    let violations = details
        .bad_request()
        .expect("BadRequest")
        .field_violations
        .clone();
    violations
        .iter()
        .find(|v| v.field == field)
        .unwrap_or_else(|| panic!("no violation on {field}: {status:?}"))
        .description
        .clone()
}

#[tokio::test]
async fn crud_round_trips_every_field() {
    let mut alice = author().await;
    let board = alice.create("Plant").await;
    let created = alice
        .create_widget(
            &board.name,
            pb::Widget {
                r#type: pb::WidgetType::Gauge as i32,
                title: "Pressure".into(),
                subtitle: "bar".into(),
                description: "Boiler pressure".into(),
                layout: at(0, 0, 6, 4),
                config: Some(config("unit", "bar")),
                data_sources: vec![device("d1", "Boiler")],
                // Output-only fields are ignored.
                name: "dashboards/x/widgets/mine".into(),
                etag: "whatever".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let (parent, id) = created.name.split_once("/widgets/").expect("widget name");
    assert_eq!(parent, board.name);
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 7);
    assert_eq!(created.r#type, pb::WidgetType::Gauge as i32);
    assert_eq!(created.title, "Pressure");
    assert_eq!(created.subtitle, "bar");
    assert_eq!(created.description, "Boiler pressure");
    assert_eq!(position(&created), (0, 0, 6, 4));
    assert_eq!(created.config, Some(config("unit", "bar")));
    assert_eq!(created.data_sources, vec![device("d1", "Boiler")]);
    assert!(created.create_time.is_some());
    assert_eq!(created.create_time, created.update_time);
    assert!(!created.etag.is_empty() && created.etag != "whatever");

    assert_eq!(alice.get_widget(&created.name).await.unwrap(), created);
    assert_eq!(alice.all_widgets(&board.name).await, vec![created.clone()]);

    let updated = alice
        .update_widget(
            pb::Widget {
                name: created.name.clone(),
                etag: created.etag.clone(),
                title: "Steam pressure".into(),
                ..Default::default()
            },
            &["title"],
        )
        .await
        .unwrap();
    assert_eq!(updated.title, "Steam pressure");
    assert_eq!(updated.subtitle, "bar", "not in the mask");
    assert_eq!(updated.config, created.config);
    assert_ne!(updated.etag, created.etag);
    assert_eq!(updated.create_time, created.create_time);
    assert_eq!(alice.get_widget(&created.name).await.unwrap(), updated);

    // Delete with a stale etag is refused; with the current one it works.
    let stale = alice
        .delete_widget(&created.name, &created.etag)
        .await
        .unwrap_err();
    assert_error(&stale, Code::Aborted, "ETAG_MISMATCH");
    alice
        .delete_widget(&created.name, &updated.etag)
        .await
        .unwrap();
    let gone = alice.get_widget(&created.name).await.unwrap_err();
    assert_error(&gone, Code::NotFound, "NOT_FOUND");
    assert_error(
        &alice.delete_widget(&created.name, "").await.unwrap_err(),
        Code::NotFound,
        "NOT_FOUND",
    );
    assert!(alice.all_widgets(&board.name).await.is_empty());
}

#[tokio::test]
async fn requests_are_validated() {
    let mut alice = author().await;
    let board = alice.create("Checks").await;
    // No type.
    let status = alice
        .create_widget(
            &board.name,
            pb::Widget {
                title: "typeless".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    violation(&status, "widget.type");
    // A type this server does not know.
    let status = alice
        .create_widget(
            &board.name,
            pb::Widget {
                r#type: 99,
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    violation(&status, "widget.type");
    // No widget at all.
    let status = alice
        .widgets
        .create_widget(alice.req(pb::CreateWidgetRequest {
            version_message: String::new(),
            parent: board.name.clone(),
            widget: None,
            source_widget: String::new(),
        }))
        .await
        .unwrap_err();
    violation(&status, "widget");
    // Bad names.
    for parent in ["", "dashboards/", "widgets/x", "dashboards/a/widgets/b"] {
        let status = alice
            .create_widget(parent, chart("x", None))
            .await
            .unwrap_err();
        violation(&status, "parent");
    }
    for name in [
        "",
        &board.name,
        "dashboards/a/widgets/",
        "dashboards/a/shares/b",
    ] {
        let status = alice.get_widget(name).await.unwrap_err();
        violation(&status, "name");
    }
    // Paging parameters.
    let status = alice
        .list_widgets(pb::ListWidgetsRequest {
            parent: board.name.clone(),
            page_size: -1,
            ..Default::default()
        })
        .await
        .unwrap_err();
    violation(&status, "page_size");
    let status = alice
        .list_widgets(pb::ListWidgetsRequest {
            parent: board.name.clone(),
            order_by: "title".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    violation(&status, "order_by");
    // An unknown dashboard view.
    let status = alice
        .dashboards
        .get_dashboard(alice.req(pb::GetDashboardRequest {
            name: board.name.clone(),
            view: 7,
        }))
        .await
        .unwrap_err();
    violation(&status, "view");
}

#[tokio::test]
async fn update_applies_only_the_mask() {
    let mut alice = author().await;
    let board = alice.create("Masks").await;
    let created = alice
        .create_widget(
            &board.name,
            pb::Widget {
                r#type: pb::WidgetType::Chart as i32,
                title: "CPU".into(),
                subtitle: "keep me".into(),
                layout: at(0, 0, 12, 8),
                config: Some(config("color", "red")),
                data_sources: vec![device("d1", "Host")],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let name = created.name.clone();

    // A coordinate path moves along one axis only; the other coordinates stay.
    let moved = alice
        .update_widget(
            pb::Widget {
                name: name.clone(),
                layout: Some(pb::WidgetLayout {
                    x: Some(12),
                    y: Some(99),
                    ..Default::default()
                }),
                ..Default::default()
            },
            &["layout.x"],
        )
        .await
        .unwrap();
    assert_eq!(position(&moved), (12, 0, 12, 8));
    // `layout` with a partial message: unset coordinates keep their values.
    let moved = alice
        .update_widget(
            pb::Widget {
                name: name.clone(),
                layout: Some(pb::WidgetLayout {
                    h: Some(4),
                    ..Default::default()
                }),
                ..Default::default()
            },
            &["layout"],
        )
        .await
        .unwrap();
    assert_eq!(position(&moved), (12, 0, 12, 4));

    // No mask: every populated field (here type and description).
    let updated = alice
        .widgets
        .update_widget(alice.req(pb::UpdateWidgetRequest {
            version_message: String::new(),
            widget: Some(pb::Widget {
                name: name.clone(),
                r#type: pb::WidgetType::Table as i32,
                description: "now a table".into(),
                ..Default::default()
            }),
            update_mask: None,
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.r#type, pb::WidgetType::Table as i32);
    assert_eq!(updated.description, "now a table");
    assert_eq!(updated.title, "CPU", "empty title was not populated");
    assert_eq!(updated.config, Some(config("color", "red")));

    // Clearing through the mask.
    let cleared = alice
        .update_widget(
            pb::Widget {
                name: name.clone(),
                ..Default::default()
            },
            &["subtitle", "config", "data_sources"],
        )
        .await
        .unwrap();
    assert_eq!(cleared.subtitle, "");
    assert_eq!(cleared.config, None);
    assert!(cleared.data_sources.is_empty());
    assert_eq!(cleared.title, "CPU");

    // Unknown and output-only paths.
    for path in ["owner", "create_time", "etag", "name", "layout.z"] {
        let status = alice
            .update_widget(
                pb::Widget {
                    name: name.clone(),
                    title: "X".into(),
                    ..Default::default()
                },
                &[path],
            )
            .await
            .unwrap_err();
        let details = assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
        assert_eq!(violated_fields(&details), vec!["update_mask"], "{path}");
    }
    // The type cannot be unset; a masked coordinate must be given; a mask must name something.
    let status = alice
        .update_widget(
            pb::Widget {
                name: name.clone(),
                ..Default::default()
            },
            &["type"],
        )
        .await
        .unwrap_err();
    violation(&status, "widget.type");
    let status = alice
        .update_widget(
            pb::Widget {
                name: name.clone(),
                ..Default::default()
            },
            &["layout.w"],
        )
        .await
        .unwrap_err();
    violation(&status, "widget.layout.w");
    let status = alice
        .update_widget(
            pb::Widget {
                name: name.clone(),
                ..Default::default()
            },
            &[],
        )
        .await
        .unwrap_err();
    violation(&status, "update_mask");
    let status = alice
        .update_widget(
            pb::Widget {
                name: name.clone(),
                title: "t".repeat(201),
                ..Default::default()
            },
            &["title"],
        )
        .await
        .unwrap_err();
    violation(&status, "widget.title");
    // Nothing changed by the failed calls.
    assert_eq!(alice.get_widget(&name).await.unwrap(), cleared);
}

#[tokio::test]
async fn etags_are_per_widget() {
    let alice = author().await;
    let mut setup = user(&alice.org, "alice", PlatformRole::Author).await;
    let board = setup.create("Concurrent").await;
    let a = setup.add(&board.name, "A", None).await;
    let b = setup.add(&board.name, "B", None).await;

    // Two clients edit two different widgets, each with its etag: both succeed.
    let mut handles = Vec::new();
    for (widget, title) in [(a.clone(), "A2"), (b.clone(), "B2")] {
        let mut client = user(&alice.org, "alice", PlatformRole::Author).await;
        handles.push(tokio::spawn(async move {
            client
                .update_widget(
                    pb::Widget {
                        name: widget.name.clone(),
                        etag: widget.etag.clone(),
                        title: title.into(),
                        ..Default::default()
                    },
                    &["title"],
                )
                .await
        }));
    }
    for handle in handles {
        handle
            .await
            .unwrap()
            .expect("different widgets do not conflict");
    }
    assert_eq!(setup.get_widget(&a.name).await.unwrap().title, "A2");
    assert_eq!(setup.get_widget(&b.name).await.unwrap().title, "B2");

    // Two clients edit the same widget with the same etag: exactly one wins.
    let current = setup.get_widget(&a.name).await.unwrap();
    let mut handles = Vec::new();
    for title in ["first", "second"] {
        let mut client = user(&alice.org, "alice", PlatformRole::Author).await;
        let current = current.clone();
        handles.push(tokio::spawn(async move {
            client
                .update_widget(
                    pb::Widget {
                        name: current.name.clone(),
                        etag: current.etag.clone(),
                        title: title.into(),
                        ..Default::default()
                    },
                    &["title"],
                )
                .await
        }));
    }
    let mut won = Vec::new();
    let mut aborted = 0;
    for handle in handles {
        match handle.await.unwrap() {
            Ok(widget) => won.push(widget.title),
            Err(status) => {
                let details = assert_error(&status, Code::Aborted, "ETAG_MISMATCH");
                assert!(details.precondition_failure().is_some());
                aborted += 1;
            }
        }
    }
    assert_eq!((won.len(), aborted), (1, 1), "{won:?}");
    assert_eq!(setup.get_widget(&a.name).await.unwrap().title, won[0]);
}

#[tokio::test]
async fn grid_and_overlap_errors_name_field_and_widget() {
    let mut alice = author().await;
    let board = alice.create("Grid").await;
    let left = alice.add(&board.name, "Left", at(0, 0, 12, 8)).await;
    let right = alice.add(&board.name, "Right", at(12, 0, 12, 8)).await;

    let cases: Vec<(Option<pb::WidgetLayout>, &str)> = vec![
        (at(-1, 20, 4, 4), "widget.layout.x"),
        (at(0, -3, 4, 4), "widget.layout.y"),
        (at(0, 20, 0, 4), "widget.layout.w"),
        (at(0, 20, 25, 4), "widget.layout.w"),
        (at(0, 20, 4, 0), "widget.layout.h"),
        (at(20, 20, 8, 4), "widget.layout"),
    ];
    for (layout, field) in cases {
        let status = alice
            .create_widget(&board.name, chart("bad", layout))
            .await
            .unwrap_err();
        let details = assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
        assert_eq!(
            violated_fields(&details),
            vec![field.to_string()],
            "{layout:?}"
        );
    }
    let status = alice
        .create_widget(&board.name, chart("bad", at(20, 20, 8, 4)))
        .await
        .unwrap_err();
    assert!(
        violation(&status, "widget.layout").contains("24"),
        "{status:?}"
    );

    // Overlaps name the widget collided with.
    let status = alice
        .create_widget(&board.name, chart("on top", at(10, 4, 4, 4)))
        .await
        .unwrap_err();
    let description = violation(&status, "widget.layout");
    assert!(description.contains(&left.name), "{description}");
    let status = alice
        .create_widget(&board.name, chart("on top", at(16, 7, 8, 8)))
        .await
        .unwrap_err();
    assert!(violation(&status, "widget.layout").contains(&right.name));

    // Updates too: moving Left onto Right, or widening it into Right.
    let status = alice
        .update_widget(
            pb::Widget {
                name: left.name.clone(),
                layout: Some(pb::WidgetLayout {
                    x: Some(6),
                    ..Default::default()
                }),
                ..Default::default()
            },
            &["layout"],
        )
        .await
        .unwrap_err();
    assert!(violation(&status, "widget.layout").contains(&right.name));
    let status = alice
        .update_widget(
            pb::Widget {
                name: left.name.clone(),
                layout: Some(pb::WidgetLayout {
                    w: Some(13),
                    ..Default::default()
                }),
                ..Default::default()
            },
            &["layout.w"],
        )
        .await
        .unwrap_err();
    assert!(violation(&status, "widget.layout").contains(&right.name));
    let status = alice
        .update_widget(
            pb::Widget {
                name: right.name.clone(),
                layout: Some(pb::WidgetLayout {
                    w: Some(13),
                    ..Default::default()
                }),
                ..Default::default()
            },
            &["layout.w"],
        )
        .await
        .unwrap_err();
    violation(&status, "widget.layout");
    // Touching edges is not an overlap; moving within its own area is fine.
    alice.add(&board.name, "Below", at(0, 8, 24, 1)).await;
    let shrunk = alice
        .update_widget(
            pb::Widget {
                name: left.name.clone(),
                layout: at(2, 2, 4, 4),
                ..Default::default()
            },
            &["layout"],
        )
        .await
        .unwrap();
    assert_eq!(position(&shrunk), (2, 2, 4, 4));
    assert_eq!(
        position(&alice.get_widget(&right.name).await.unwrap()),
        (12, 0, 12, 8)
    );
}

#[tokio::test]
async fn widgets_without_layout_are_placed_automatically() {
    let mut alice = author().await;
    let board = alice.create("Auto").await;
    let mut placed = Vec::new();
    for title in ["one", "two", "three"] {
        placed.push(position(&alice.add(&board.name, title, None).await));
    }
    assert_eq!(placed, vec![(0, 0, 12, 8), (12, 0, 12, 8), (0, 8, 12, 8)]);
    // The hole right of the third widget, with a size of its own.
    let sized = alice
        .add(
            &board.name,
            "sized",
            Some(pb::WidgetLayout {
                w: Some(6),
                h: Some(4),
                ..Default::default()
            }),
        )
        .await;
    assert_eq!(position(&sized), (12, 8, 6, 4));
    // Full width: below everything.
    let wide = alice
        .add(
            &board.name,
            "wide",
            Some(pb::WidgetLayout {
                w: Some(24),
                ..Default::default()
            }),
        )
        .await;
    assert_eq!(position(&wide), (0, 16, 24, 8));
    // Half a position is an error.
    let status = alice
        .create_widget(
            &board.name,
            chart(
                "half",
                Some(pb::WidgetLayout {
                    x: Some(3),
                    ..Default::default()
                }),
            ),
        )
        .await
        .unwrap_err();
    violation(&status, "widget.layout.y");
    let status = alice
        .create_widget(
            &board.name,
            chart(
                "too wide",
                Some(pb::WidgetLayout {
                    w: Some(30),
                    ..Default::default()
                }),
            ),
        )
        .await
        .unwrap_err();
    violation(&status, "widget.layout.w");
}

#[tokio::test]
async fn batch_relayout_is_atomic_and_swaps() {
    let mut alice = author().await;
    let board = alice.create("Relayout").await;
    let a = alice.add(&board.name, "A", at(0, 0, 12, 8)).await;
    let b = alice.add(&board.name, "B", at(12, 0, 12, 8)).await;
    let c = alice.add(&board.name, "C", at(0, 8, 24, 4)).await;

    // Swap A and B: each move alone would collide.
    let swapped = alice
        .relayout(
            &board.name,
            &[
                (&a.name, at(12, 0, 12, 8)),
                (
                    &b.name,
                    Some(pb::WidgetLayout {
                        x: Some(0),
                        ..Default::default()
                    }),
                ),
            ],
            "",
        )
        .await
        .unwrap();
    assert_eq!(
        swapped.iter().map(|w| w.name.clone()).collect::<Vec<_>>(),
        vec![a.name.clone(), b.name.clone()]
    );
    assert_eq!(position(&swapped[0]), (12, 0, 12, 8));
    assert_eq!(position(&swapped[1]), (0, 0, 12, 8));
    assert_ne!(swapped[0].etag, a.etag);
    let listed = alice.all_widgets(&board.name).await;
    assert_eq!(
        listed.iter().map(|w| w.title.as_str()).collect::<Vec<_>>(),
        vec!["B", "A", "C"],
        "layout order follows the swap"
    );

    let before: Vec<_> = alice.all_widgets(&board.name).await;
    let dashboard_before = alice.get(&board.name).await.unwrap();

    // One good move and one onto C: rejected, nothing moves.
    let status = alice
        .relayout(
            &board.name,
            &[(&a.name, at(0, 20, 6, 6)), (&b.name, at(0, 6, 12, 8))],
            "",
        )
        .await
        .unwrap_err();
    let description = violation(&status, "layouts[1].layout");
    assert!(description.contains(&c.name), "{description}");
    // One good move and one off the grid: rejected too.
    let status = alice
        .relayout(
            &board.name,
            &[(&a.name, at(0, 20, 6, 6)), (&b.name, at(20, 30, 6, 6))],
            "",
        )
        .await
        .unwrap_err();
    violation(&status, "layouts[1].layout");
    // Two moved widgets onto each other.
    let status = alice
        .relayout(
            &board.name,
            &[(&a.name, at(0, 20, 6, 6)), (&b.name, at(3, 22, 6, 6))],
            "",
        )
        .await
        .unwrap_err();
    assert!(violation(&status, "layouts[0].layout").contains(&b.name));
    // Bad entries: same widget twice, a widget of another dashboard, no layout.
    let other = alice.create("Other").await;
    let foreign = alice.add(&other.name, "foreign", None).await;
    let status = alice
        .relayout(
            &board.name,
            &[
                (&a.name, at(0, 20, 6, 6)),
                (&a.name, at(6, 20, 6, 6)),
                (&foreign.name, at(0, 40, 6, 6)),
                (&c.name, None),
            ],
            "",
        )
        .await
        .unwrap_err();
    let details = assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(
        violated_fields(&details),
        vec![
            "layouts[1].widget",
            "layouts[2].widget",
            "layouts[3].layout"
        ]
    );
    let status = alice.relayout(&board.name, &[], "").await.unwrap_err();
    violation(&status, "layouts");
    // A widget id that is not on the dashboard.
    let missing = format!("{}/widgets/{}", board.name, uuid::Uuid::now_v7());
    let status = alice
        .relayout(
            &board.name,
            &[(&a.name, at(0, 20, 6, 6)), (&missing, at(6, 20, 6, 6))],
            "",
        )
        .await
        .unwrap_err();
    assert_error(&status, Code::NotFound, "NOT_FOUND");
    // An etag that is not the dashboard's current one.
    let status = alice
        .relayout(
            &board.name,
            &[(&a.name, at(0, 20, 6, 6))],
            "AAAAAAAAAAAAAAAA",
        )
        .await
        .unwrap_err();
    assert_error(&status, Code::Aborted, "ETAG_MISMATCH");

    // Every position (and etag) unchanged by the rejected batches.
    assert_eq!(alice.all_widgets(&board.name).await, before);
    assert_eq!(
        alice.get(&board.name).await.unwrap().etag,
        dashboard_before.etag
    );

    // With the current dashboard etag it applies; the dashboard's etag covers its own fields,
    // so it stays, and its update_time moves on.
    alice
        .relayout(
            &board.name,
            &[(&c.name, at(0, 30, 24, 4))],
            &dashboard_before.etag,
        )
        .await
        .unwrap();
    let after = alice.get(&board.name).await.unwrap();
    assert_eq!(after.etag, dashboard_before.etag);
    let time = |d: &pb::Dashboard| d.update_time.map(|t| (t.seconds, t.nanos));
    assert!(time(&after) > time(&dashboard_before));
}

#[tokio::test]
async fn widgets_copy_from_any_readable_dashboard() {
    let mut alice = author().await;
    let source_board = alice.create("Source").await;
    let source = alice
        .create_widget(
            &source_board.name,
            pb::Widget {
                r#type: pb::WidgetType::Map as i32,
                title: "Fleet".into(),
                subtitle: "not copied".into(),
                layout: at(0, 0, 24, 10),
                config: Some(config("zoom", "5")),
                data_sources: vec![device("d1", "Truck"), device("d2", "Van")],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let target = alice.create("Target").await;
    let copy = |parent: &str, widget: Option<pb::Widget>, source: &str| pb::CreateWidgetRequest {
        version_message: String::new(),
        parent: parent.into(),
        widget,
        source_widget: source.into(),
    };

    // No widget at all: a pure copy, placed automatically.
    let copied = alice
        .widgets
        .create_widget(alice.req(copy(&target.name, None, &source.name)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(copied.r#type, pb::WidgetType::Map as i32);
    assert_eq!(copied.config, source.config);
    assert_eq!(copied.data_sources, source.data_sources);
    assert_eq!(copied.title, "");
    assert_eq!(copied.subtitle, "");
    assert_eq!(position(&copied), (0, 0, 12, 8));
    assert_ne!(copied.name, source.name);

    // Explicit fields win; the rest is copied.
    let mixed = alice
        .widgets
        .create_widget(alice.req(copy(
            &target.name,
            Some(pb::Widget {
                r#type: pb::WidgetType::Table as i32,
                title: "Fleet table".into(),
                data_sources: vec![device("d3", "Bike")],
                ..Default::default()
            }),
            &source.name,
        )))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(mixed.r#type, pb::WidgetType::Table as i32);
    assert_eq!(mixed.title, "Fleet table");
    assert_eq!(mixed.config, source.config, "config not given: copied");
    assert_eq!(mixed.data_sources, vec![device("d3", "Bike")]);

    // Copying never changed the source.
    assert_eq!(alice.get_widget(&source.name).await.unwrap(), source);

    // A source the caller cannot read does not exist for it.
    let mut bob = user(&alice.org, "bob", PlatformRole::Author).await;
    let bobs = bob.create("Bob's").await;
    let status = bob
        .widgets
        .create_widget(bob.req(copy(&bobs.name, None, &source.name)))
        .await
        .unwrap_err();
    assert_error(&status, Code::NotFound, "NOT_FOUND");
    assert!(bob.all_widgets(&bobs.name).await.is_empty());
    // Nor does a missing one, or a widget named under the wrong dashboard.
    let (_, source_id) = source.name.split_once("/widgets/").unwrap();
    for missing in [
        format!("{}/widgets/{}", source_board.name, uuid::Uuid::now_v7()),
        format!("{}/widgets/{source_id}", target.name),
    ] {
        let status = alice
            .widgets
            .create_widget(alice.req(copy(&target.name, None, &missing)))
            .await
            .unwrap_err();
        assert_error(&status, Code::NotFound, "NOT_FOUND");
    }
    let status = alice
        .widgets
        .create_widget(alice.req(copy(&target.name, None, "widgets/nope")))
        .await
        .unwrap_err();
    violation(&status, "source_widget");
}

#[tokio::test]
async fn full_view_has_the_widgets_in_layout_order() {
    let mut alice = author().await;
    let board = alice.create("Views").await;
    // Created out of layout order.
    let bottom = alice.add(&board.name, "bottom", at(0, 10, 24, 2)).await;
    let top_right = alice.add(&board.name, "top right", at(12, 0, 12, 4)).await;
    let top_left = alice.add(&board.name, "top left", at(0, 0, 12, 4)).await;
    let full = alice.get_view(&board.name, pb::DashboardView::Full).await;
    assert_eq!(
        full.widgets,
        vec![top_left.clone(), top_right.clone(), bottom.clone()]
    );
    for view in [pb::DashboardView::Basic, pb::DashboardView::Unspecified] {
        let basic = alice.get_view(&board.name, view).await;
        assert!(basic.widgets.is_empty(), "{view:?}");
        assert_eq!(basic.etag, full.etag);
    }
    let listed = alice.list_all(pb::ListDashboardsRequest::default()).await;
    assert!(listed.iter().all(|d| d.widgets.is_empty()));

    let empty = alice.create("Empty").await;
    let batch = alice
        .dashboards
        .batch_get_dashboards(alice.req(pb::BatchGetDashboardsRequest {
            names: vec![empty.name.clone(), board.name.clone()],
            view: pb::DashboardView::Full as i32,
        }))
        .await
        .unwrap()
        .into_inner()
        .dashboards;
    assert!(batch[0].widgets.is_empty());
    assert_eq!(batch[1].widgets, full.widgets);
    let basic_batch = alice
        .dashboards
        .batch_get_dashboards(alice.req(pb::BatchGetDashboardsRequest {
            names: vec![board.name.clone()],
            view: pb::DashboardView::Basic as i32,
        }))
        .await
        .unwrap()
        .into_inner()
        .dashboards;
    assert!(basic_batch[0].widgets.is_empty());
}

/// Widget writes move the dashboard's update_time but not its etag, which covers the
/// dashboard's own fields: an etag-guarded dashboard edit is never starved by widget edits.
#[tokio::test]
async fn widget_changes_move_update_time_but_not_the_dashboard_etag() {
    let mut alice = author().await;
    let board = alice.create("Etag").await;
    let micros = |d: &pb::Dashboard| {
        let t = d.update_time.expect("update_time");
        (t.seconds, t.nanos)
    };
    let mut last = alice.get(&board.name).await.unwrap();
    let widget = alice.add(&board.name, "w", None).await;
    let after_create = alice.get(&board.name).await.unwrap();
    assert_eq!(after_create.etag, last.etag);
    assert!(micros(&after_create) > micros(&last));
    last = after_create;

    let updated = alice
        .update_widget(
            pb::Widget {
                name: widget.name.clone(),
                title: "renamed".into(),
                ..Default::default()
            },
            &["title"],
        )
        .await
        .unwrap();
    let after_update = alice.get(&board.name).await.unwrap();
    assert_eq!(after_update.etag, last.etag);
    assert!(micros(&after_update) > micros(&last));
    last = after_update;

    alice
        .relayout(&board.name, &[(&widget.name, at(0, 3, 2, 2))], "")
        .await
        .unwrap();
    let after_move = alice.get(&board.name).await.unwrap();
    assert_eq!(after_move.etag, last.etag);
    assert!(micros(&after_move) > micros(&last));
    last = after_move;

    alice
        .delete_widget(&widget.name, &updated.etag)
        .await
        .unwrap_err();
    let current = alice.get_widget(&widget.name).await.unwrap();
    alice
        .delete_widget(&widget.name, &current.etag)
        .await
        .unwrap();
    let after_delete = alice.get(&board.name).await.unwrap();
    assert_eq!(after_delete.etag, board.etag);
    assert!(micros(&after_delete) > micros(&last));

    // The etag read before all of that still guards the dashboard's own fields.
    let renamed = alice
        .dashboards
        .update_dashboard(alice.req(pb::UpdateDashboardRequest {
            version_message: String::new(),
            dashboard: Some(pb::Dashboard {
                name: board.name.clone(),
                title: "renamed".into(),
                etag: board.etag.clone(),
                ..Default::default()
            }),
            update_mask: mask(&["title"]),
        }))
        .await
        .expect("the etag from before the widget changes is current")
        .into_inner();
    let status = alice
        .dashboards
        .update_dashboard(alice.req(pb::UpdateDashboardRequest {
            version_message: String::new(),
            dashboard: Some(pb::Dashboard {
                name: board.name.clone(),
                title: "stale".into(),
                etag: board.etag.clone(),
                ..Default::default()
            }),
            update_mask: mask(&["title"]),
        }))
        .await
        .unwrap_err();
    assert_error(&status, Code::Aborted, "ETAG_MISMATCH");
    assert_ne!(renamed.etag, board.etag);
}

#[tokio::test]
async fn data_sources_are_deduplicated_by_device() {
    let mut alice = author().await;
    let board = alice.create("Devices").await;
    let query_only = pb::DataSource {
        query: "from(bucket: \"b\")".into(),
        ..Default::default()
    };
    // Layout order: first (y 0), then second (y 8).
    alice
        .create_widget(
            &board.name,
            pb::Widget {
                r#type: pb::WidgetType::Chart as i32,
                layout: at(0, 8, 12, 8),
                data_sources: vec![device("d2", "Pump"), device("d1", "Boiler (again)")],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    alice
        .create_widget(
            &board.name,
            pb::Widget {
                r#type: pb::WidgetType::Stat as i32,
                layout: at(0, 0, 12, 8),
                data_sources: vec![device("d1", "Boiler"), query_only.clone()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    alice
        .create_widget(
            &board.name,
            pb::Widget {
                r#type: pb::WidgetType::Text as i32,
                layout: at(12, 0, 12, 8),
                data_sources: vec![query_only.clone()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let sources = alice
        .dashboards
        .list_dashboard_data_sources(alice.req(pb::ListDashboardDataSourcesRequest {
            name: board.name.clone(),
        }))
        .await
        .unwrap()
        .into_inner()
        .data_sources;
    let without_query = |d: pb::DataSource| pb::DataSource {
        query: String::new(),
        ..d
    };
    assert_eq!(
        sources,
        vec![
            without_query(device("d1", "Boiler")),
            query_only,
            without_query(device("d2", "Pump")),
        ]
    );

    // READ is needed: a stranger gets NOT_FOUND.
    let mut bob = user(&alice.org, "bob", PlatformRole::Author).await;
    let status = bob
        .dashboards
        .list_dashboard_data_sources(bob.req(pb::ListDashboardDataSourcesRequest {
            name: board.name.clone(),
        }))
        .await
        .unwrap_err();
    assert_error(&status, Code::NotFound, "NOT_FOUND");
    let empty = alice.create("No widgets").await;
    let none = alice
        .dashboards
        .list_dashboard_data_sources(alice.req(pb::ListDashboardDataSourcesRequest {
            name: empty.name.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(none.data_sources.is_empty());
}

#[tokio::test]
async fn strangers_get_not_found_and_admins_manage() {
    let mut alice = author().await;
    let board = alice.create("Private").await;
    let widget = alice.add(&board.name, "secret", None).await;

    // Same org, no grant: nothing exists, whatever the method.
    let mut bob = user(&alice.org, "bob", PlatformRole::Author).await;
    let status = bob.get_widget(&widget.name).await.unwrap_err();
    assert_error(&status, Code::NotFound, "NOT_FOUND");
    let status = bob
        .list_widgets(pb::ListWidgetsRequest {
            parent: board.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_error(&status, Code::NotFound, "NOT_FOUND");
    let status = bob
        .create_widget(&board.name, chart("intruder", None))
        .await
        .unwrap_err();
    assert_error(&status, Code::NotFound, "NOT_FOUND");
    let status = bob
        .update_widget(
            pb::Widget {
                name: widget.name.clone(),
                title: "pwned".into(),
                ..Default::default()
            },
            &["title"],
        )
        .await
        .unwrap_err();
    assert_error(&status, Code::NotFound, "NOT_FOUND");
    let status = bob.delete_widget(&widget.name, "").await.unwrap_err();
    assert_error(&status, Code::NotFound, "NOT_FOUND");
    let status = bob
        .relayout(&board.name, &[(&widget.name, at(0, 30, 2, 2))], "")
        .await
        .unwrap_err();
    assert_error(&status, Code::NotFound, "NOT_FOUND");
    // Another org, even as ADMIN.
    let mut outsider = user(&unique_org(), "alice", PlatformRole::Admin).await;
    let status = outsider.get_widget(&widget.name).await.unwrap_err();
    assert_error(&status, Code::NotFound, "NOT_FOUND");
    let status = outsider.delete_widget(&widget.name, "").await.unwrap_err();
    assert_error(&status, Code::NotFound, "NOT_FOUND");
    assert_eq!(alice.get_widget(&widget.name).await.unwrap(), widget);

    // A widget id under a dashboard it does not belong to.
    let other = alice.create("Other").await;
    let (_, id) = widget.name.split_once("/widgets/").unwrap();
    let status = alice
        .get_widget(&format!("{}/widgets/{id}", other.name))
        .await
        .unwrap_err();
    assert_error(&status, Code::NotFound, "NOT_FOUND");

    // The org's ADMIN is the implicit owner: it manages the widgets.
    let mut admin = user(&alice.org, "root", PlatformRole::Admin).await;
    assert_eq!(admin.all_widgets(&board.name).await.len(), 1);
    let added = admin.add(&board.name, "by admin", None).await;
    admin
        .update_widget(
            pb::Widget {
                name: widget.name.clone(),
                title: "admin was here".into(),
                ..Default::default()
            },
            &["title"],
        )
        .await
        .unwrap();
    admin
        .relayout(&board.name, &[(&added.name, at(0, 40, 4, 4))], "")
        .await
        .unwrap();
    admin.delete_widget(&added.name, "").await.unwrap();
    assert_eq!(
        alice.get_widget(&widget.name).await.unwrap().title,
        "admin was here"
    );
}

#[tokio::test]
async fn widgets_of_a_trashed_dashboard_are_read_only() {
    let mut alice = author().await;
    let board = alice.create("Trash").await;
    let widget = alice.add(&board.name, "w", None).await;
    alice
        .dashboards
        .delete_dashboard(alice.req(pb::DeleteDashboardRequest {
            name: board.name.clone(),
            etag: String::new(),
        }))
        .await
        .unwrap();
    assert_eq!(alice.get_widget(&widget.name).await.unwrap(), widget);
    assert_eq!(alice.all_widgets(&board.name).await.len(), 1);
    let status = alice
        .create_widget(&board.name, chart("x", None))
        .await
        .unwrap_err();
    assert_error(&status, Code::FailedPrecondition, "DASHBOARD_DELETED");
    let status = alice
        .update_widget(
            pb::Widget {
                name: widget.name.clone(),
                title: "x".into(),
                ..Default::default()
            },
            &["title"],
        )
        .await
        .unwrap_err();
    assert_error(&status, Code::FailedPrecondition, "DASHBOARD_DELETED");
    let status = alice.delete_widget(&widget.name, "").await.unwrap_err();
    assert_error(&status, Code::FailedPrecondition, "DASHBOARD_DELETED");
    let status = alice
        .relayout(&board.name, &[(&widget.name, at(0, 9, 1, 1))], "")
        .await
        .unwrap_err();
    assert_error(&status, Code::FailedPrecondition, "DASHBOARD_DELETED");
}

#[tokio::test]
async fn list_pages_through_layout_order() {
    let mut alice = author().await;
    let board = alice.create("Paging").await;
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(alice.add(&board.name, &format!("w{i}"), None).await);
    }
    let mut expected = created.clone();
    expected.sort_by_key(|w| {
        let (x, y, _, _) = position(w);
        (y, x)
    });
    let mut request = pb::ListWidgetsRequest {
        parent: board.name.clone(),
        page_size: 3,
        ..Default::default()
    };
    let mut walked = Vec::new();
    let mut pages = 0;
    loop {
        let page = alice.list_widgets(request.clone()).await.unwrap();
        assert!(page.widgets.len() <= 3);
        pages += 1;
        walked.extend(page.widgets);
        if page.next_page_token.is_empty() {
            break;
        }
        request.page_token = page.next_page_token;
    }
    assert_eq!(pages, 3);
    assert_eq!(walked, expected);

    // Newest first, by create_time.
    let newest = alice
        .list_widgets(pb::ListWidgetsRequest {
            parent: board.name.clone(),
            page_size: 2,
            order_by: "create_time desc".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(newest.widgets, vec![created[6].clone(), created[5].clone()]);
    // A token is bound to its query.
    let status = alice
        .list_widgets(pb::ListWidgetsRequest {
            parent: board.name.clone(),
            page_size: 2,
            page_token: newest.next_page_token.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    violation(&status, "page_token");
    let status = alice
        .list_widgets(pb::ListWidgetsRequest {
            parent: board.name.clone(),
            page_token: "garbage".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    violation(&status, "page_token");
    // Oversized pages are lowered, not refused.
    let all = alice
        .list_widgets(pb::ListWidgetsRequest {
            parent: board.name.clone(),
            page_size: 5000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.widgets.len(), 7);
    assert!(all.next_page_token.is_empty());
}

#[tokio::test]
async fn limits_are_enforced_with_clear_errors() {
    let small = common::start(|c| {
        c.max_widgets_per_dashboard = 3;
        c.max_config_bytes = 1024;
        c.max_data_sources_per_widget = 2;
    });
    let mut alice = user_on(&small, &unique_org(), "alice", PlatformRole::Author).await;
    let board = alice.create("Small").await;
    for i in 0..3 {
        alice.add(&board.name, &format!("w{i}"), None).await;
    }
    let status = alice
        .create_widget(&board.name, chart("one too many", None))
        .await
        .unwrap_err();
    let details = assert_error(&status, Code::FailedPrecondition, "WIDGET_LIMIT_REACHED");
    assert!(status.message().contains('3'), "{status:?}");
    assert!(details.precondition_failure().is_some());
    assert_eq!(alice.all_widgets(&board.name).await.len(), 3);
    // Deleting one makes room again.
    let first = alice.all_widgets(&board.name).await.remove(0);
    alice.delete_widget(&first.name, "").await.unwrap();
    alice.add(&board.name, "room again", None).await;

    let other = alice.create("Sizes").await;
    let status = alice
        .create_widget(
            &other.name,
            pb::Widget {
                config: Some(config("blob", &"x".repeat(2000))),
                ..chart("big", None)
            },
        )
        .await
        .unwrap_err();
    assert!(violation(&status, "widget.config").contains("1024"));
    let status = alice
        .create_widget(
            &other.name,
            pb::Widget {
                data_sources: vec![device("a", "A"), device("b", "B"), device("c", "C")],
                ..chart("many", None)
            },
        )
        .await
        .unwrap_err();
    assert!(violation(&status, "widget.data_sources").contains('2'));
    // The default limits: titles 200 characters; 50 data sources.
    let mut bob = author().await;
    let board = bob.create("Defaults").await;
    let status = bob
        .create_widget(&board.name, chart(&"t".repeat(201), None))
        .await
        .unwrap_err();
    assert!(violation(&status, "widget.title").contains("200"));
    bob.add(&board.name, &"t".repeat(200), None).await;
    let many: Vec<_> = (0..51).map(|i| device(&format!("d{i}"), "D")).collect();
    let status = bob
        .create_widget(
            &board.name,
            pb::Widget {
                data_sources: many[..51].to_vec(),
                ..chart("many", None)
            },
        )
        .await
        .unwrap_err();
    assert!(violation(&status, "widget.data_sources").contains("50"));
    bob.create_widget(
        &board.name,
        pb::Widget {
            data_sources: many[..50].to_vec(),
            ..chart("fifty", None)
        },
    )
    .await
    .expect("50 data sources are fine");
    let status = bob
        .create_widget(
            &board.name,
            pb::Widget {
                config: Some(config("blob", &"x".repeat(70 * 1024))),
                ..chart("big", None)
            },
        )
        .await
        .unwrap_err();
    violation(&status, "widget.config");
    let status = bob
        .create_widget(
            &board.name,
            pb::Widget {
                data_sources: vec![pb::DataSource::default()],
                ..chart("empty source", None)
            },
        )
        .await
        .unwrap_err();
    violation(&status, "widget.data_sources[0]");
}

#[tokio::test]
async fn purge_takes_the_widgets_along() {
    let purging = common::start(|config| {
        config.trash_retention = std::time::Duration::from_millis(200);
        config.purge_interval = std::time::Duration::from_millis(100);
    });
    let mut alice = user_on(&purging, &unique_org(), "alice", PlatformRole::Author).await;
    let doomed = alice.create("Doomed").await;
    let widget = alice.add(&doomed.name, "w", None).await;
    alice
        .dashboards
        .delete_dashboard(alice.req(pb::DeleteDashboardRequest {
            name: doomed.name.clone(),
            etag: String::new(),
        }))
        .await
        .unwrap();
    let mut purged = false;
    for _ in 0..100 {
        if alice
            .get(&doomed.name)
            .await
            .is_err_and(|s| s.code() == Code::NotFound)
        {
            purged = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(purged, "a trashed dashboard with widgets was never purged");
    let status = alice.get_widget(&widget.name).await.unwrap_err();
    assert_error(&status, Code::NotFound, "NOT_FOUND");
}

#[tokio::test]
async fn widget_service_reports_its_health() {
    let mut health = tonic_health::pb::health_client::HealthClient::new(server().channel().await);
    let status = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "dashboards.v1.WidgetService".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .status();
    assert_eq!(
        status,
        tonic_health::pb::health_check_response::ServingStatus::Serving
    );
}

/// Concurrent creates and moves never leave two widgets overlapping: every widget write
/// locks its dashboard first (on PostgreSQL too).
#[tokio::test]
async fn concurrent_writes_keep_the_grid_consistent() {
    let alice = author().await;
    let mut setup = user(&alice.org, "alice", PlatformRole::Author).await;
    let board = setup.create("Race").await;
    let mut handles = Vec::new();
    for i in 0..12 {
        let mut client = user(&alice.org, "alice", PlatformRole::Author).await;
        let parent = board.name.clone();
        handles.push(tokio::spawn(async move {
            client
                .create_widget(
                    &parent,
                    chart(
                        &format!("w{i}"),
                        Some(pb::WidgetLayout {
                            w: Some(8),
                            h: Some(3),
                            ..Default::default()
                        }),
                    ),
                )
                .await
        }));
    }
    // And racing explicit creates onto one spot: exactly one of them wins it.
    for _ in 0..4 {
        let mut client = user(&alice.org, "alice", PlatformRole::Author).await;
        let parent = board.name.clone();
        handles.push(tokio::spawn(async move {
            client
                .create_widget(&parent, chart("spot", at(0, 100, 4, 4)))
                .await
        }));
    }
    let mut spot_winners = 0;
    for handle in handles {
        match handle.await.unwrap() {
            Ok(w) if w.title == "spot" => spot_winners += 1,
            Ok(_) => {}
            Err(status) => {
                violation(&status, "widget.layout");
            }
        }
    }
    assert_eq!(spot_winners, 1);
    let widgets = setup.all_widgets(&board.name).await;
    assert_eq!(widgets.len(), 13);
    for (i, a) in widgets.iter().enumerate() {
        let (ax, ay, aw, ah) = position(a);
        for b in &widgets[i + 1..] {
            let (bx, by, bw, bh) = position(b);
            let overlap = ax < bx + bw && bx < ax + aw && ay < by + bh && by < ay + ah;
            assert!(!overlap, "{} overlaps {}", a.title, b.title);
        }
    }
    // Auto-placement packed the 12 widgets of 8 x 3 into rows of three.
    let mut auto: Vec<_> = widgets
        .iter()
        .filter(|w| w.title != "spot")
        .map(position)
        .collect();
    auto.sort_by_key(|&(x, y, _, _)| (y, x));
    let expected: Vec<_> = (0..12).map(|i| ((i % 3) * 8, (i / 3) * 3, 8, 3)).collect();
    assert_eq!(auto, expected);
}
