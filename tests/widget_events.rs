//! Every WidgetService write appends its events to the change log in the same transaction
//! (DESIGN §7): the right type, actor, resource, dashboard and changed fields, at the
//! revision the response's `x-dashboards-revision` reports, one above the dashboard's
//! previous event. A refused write appends nothing.

mod common;

use common::{Caller, TestServer, assert_error, revision_of, server, unique_org};
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use tonic::{Code, Response, Status};

type User = Caller;

async fn user_on(server: &TestServer, org: &str, sub: &str, role: PlatformRole) -> User {
    server.user(org, sub, role).await
}

fn chart(title: &str, layout: Option<pb::WidgetLayout>) -> pb::Widget {
    pb::Widget {
        r#type: pb::WidgetType::Chart as i32,
        title: title.into(),
        layout,
        ..Default::default()
    }
}

fn at(x: i32, y: i32, w: i32, h: i32) -> Option<pb::WidgetLayout> {
    Some(pb::WidgetLayout {
        x: Some(x),
        y: Some(y),
        w: Some(w),
        h: Some(h),
    })
}

fn move_to(widget: &str, x: i32, y: i32) -> pb::WidgetLayoutUpdate {
    pb::WidgetLayoutUpdate {
        widget: widget.into(),
        layout: Some(pb::WidgetLayout {
            x: Some(x),
            y: Some(y),
            ..Default::default()
        }),
    }
}

impl User {
    async fn create_widget(
        &mut self,
        parent: &str,
        widget: pb::Widget,
    ) -> Result<Response<pb::Widget>, Status> {
        let request = self.req(pb::CreateWidgetRequest {
            version_message: String::new(),
            parent: parent.into(),
            widget: Some(widget),
            source_widget: String::new(),
        });
        self.widgets.create_widget(request).await
    }

    async fn update_widget(
        &mut self,
        widget: pb::Widget,
        paths: &[&str],
    ) -> Result<Response<pb::Widget>, Status> {
        let request = self.req(pb::UpdateWidgetRequest {
            version_message: String::new(),
            widget: Some(widget),
            update_mask: Some(prost_types::FieldMask {
                paths: paths.iter().map(|p| p.to_string()).collect(),
            }),
        });
        self.widgets.update_widget(request).await
    }

    async fn delete_widget(&mut self, name: &str, etag: &str) -> Result<Response<()>, Status> {
        let request = self.req(pb::DeleteWidgetRequest {
            version_message: String::new(),
            name: name.into(),
            etag: etag.into(),
        });
        self.widgets.delete_widget(request).await
    }

    async fn relayout(
        &mut self,
        parent: &str,
        layouts: Vec<pb::WidgetLayoutUpdate>,
    ) -> Result<Response<pb::BatchUpdateWidgetLayoutsResponse>, Status> {
        let request = self.req(pb::BatchUpdateWidgetLayoutsRequest {
            version_message: String::new(),
            parent: parent.into(),
            layouts,
            etag: String::new(),
            remove_unlisted: false,
        });
        self.widgets.batch_update_widget_layouts(request).await
    }

    /// Every event of `dashboard`, newest first.
    async fn events_of(&mut self, dashboard: &str) -> Vec<pb::Event> {
        let mut events = Vec::new();
        let mut page_token = String::new();
        loop {
            let request = self.req(pb::ListEventsRequest {
                page_size: 100,
                page_token,
                filter: format!("dashboard = \"{dashboard}\""),
            });
            let page = self
                .audit
                .list_events(request)
                .await
                .expect("list events")
                .into_inner();
            events.extend(page.events);
            if page.next_page_token.is_empty() {
                return events;
            }
            page_token = page.next_page_token;
        }
    }

    /// The events appended since `before` events of `dashboard` were listed, oldest first.
    async fn new_events(&mut self, dashboard: &str, before: usize) -> Vec<pb::Event> {
        let mut events = self.events_of(dashboard).await;
        assert!(events.len() >= before, "events disappeared: {events:?}");
        events.truncate(events.len() - before);
        events.reverse();
        events
    }
}

/// Asserts one event's type, actor, resource, dashboard and changed fields.
#[track_caller]
fn assert_event(
    event: &pb::Event,
    r#type: &str,
    actor: &str,
    resource: &str,
    dashboard: &str,
    changed_fields: &[&str],
) {
    assert_eq!(event.r#type, r#type, "{event:?}");
    assert_eq!(event.actor, actor, "{event:?}");
    assert_eq!(event.resource, resource, "{event:?}");
    assert_eq!(event.dashboard, dashboard, "{event:?}");
    assert_eq!(event.changed_fields, changed_fields, "{event:?}");
}

#[tokio::test]
async fn every_widget_write_appends_its_events() {
    let mut alice = user_on(server(), &unique_org(), "alice", PlatformRole::Author).await;
    let board = alice.create("Events").await;
    let d = board.name.as_str();
    let actor = alice.name();
    let history = alice.events_of(d).await;
    assert_eq!(history.len(), 1, "{history:?}");
    let mut last = history[0].revision;

    // CreateWidget: WIDGET_CREATED naming every writable field.
    let response = alice
        .create_widget(d, chart("A", at(0, 0, 12, 8)))
        .await
        .expect("create A");
    let revision = revision_of(&response);
    let a = response.into_inner();
    assert_eq!(revision, last + 1);
    let events = alice.new_events(d, 1).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_event(
        &events[0],
        "WIDGET_CREATED",
        &actor,
        &a.name,
        d,
        &[
            "type",
            "title",
            "subtitle",
            "description",
            "layout",
            "config",
            "data_sources",
        ],
    );
    assert_eq!(events[0].revision, revision);
    last = revision;

    let response = alice
        .create_widget(d, chart("B", at(12, 0, 12, 8)))
        .await
        .expect("create B");
    let b_revision = revision_of(&response);
    let b = response.into_inner();
    assert_eq!(b_revision, last + 1);
    last = b_revision;

    // UpdateWidget: WIDGET_UPDATED with the mask's fields.
    let response = alice
        .update_widget(
            pb::Widget {
                name: a.name.clone(),
                title: "A2".into(),
                subtitle: "sub".into(),
                layout: Some(pb::WidgetLayout {
                    y: Some(8),
                    ..Default::default()
                }),
                ..Default::default()
            },
            &["layout.y", "title", "subtitle"],
        )
        .await
        .expect("update A");
    let revision = revision_of(&response);
    assert_eq!(revision, last + 1);
    let events = alice.new_events(d, 3).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_event(
        &events[0],
        "WIDGET_UPDATED",
        &actor,
        &a.name,
        d,
        &["title", "subtitle", "layout.y"],
    );
    assert_eq!(events[0].revision, revision);
    last = revision;

    // BatchUpdateWidgetLayouts: one LAYOUT_CHANGED per widget moved, one revision, in the
    // order of the request.
    let response = alice
        .relayout(d, vec![move_to(&b.name, 0, 0), move_to(&a.name, 12, 0)])
        .await
        .expect("relayout");
    let revision = revision_of(&response);
    assert_eq!(revision, last + 1);
    let events = alice.new_events(d, 4).await;
    assert_eq!(events.len(), 2, "{events:?}");
    for (event, widget, index) in [(&events[0], &b.name, 0), (&events[1], &a.name, 1)] {
        assert_event(event, "LAYOUT_CHANGED", &actor, widget, d, &["layout"]);
        assert_eq!(event.revision, revision);
        assert_eq!(event.index, index);
    }
    last = revision;

    // DeleteWidget: WIDGET_DELETED; the empty response still carries the revision.
    let response = alice.delete_widget(&b.name, "").await.expect("delete B");
    let revision = revision_of(&response);
    assert_eq!(revision, last + 1);
    let events = alice.new_events(d, 6).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_event(&events[0], "WIDGET_DELETED", &actor, &b.name, d, &[]);
    assert_eq!(events[0].revision, revision);

    // Reads append nothing.
    let request = alice.req(pb::ListWidgetsRequest {
        parent: d.into(),
        ..Default::default()
    });
    let listed = alice.widgets.list_widgets(request).await.expect("list");
    assert!(listed.metadata().get(common::REVISION_HEADER).is_none());
    assert_eq!(alice.events_of(d).await.len(), 7);
}

#[tokio::test]
async fn refused_widget_writes_append_nothing() {
    let org = unique_org();
    let mut alice = user_on(server(), &org, "alice", PlatformRole::Author).await;
    let mut viewer = user_on(server(), &org, "victor", PlatformRole::Author).await;
    let mut stranger = user_on(server(), &org, "sam", PlatformRole::Author).await;
    let board = alice.create("Refusals").await;
    let d = board.name.clone();
    alice.share_with(&d, &viewer, "roles/viewer").await;
    let a = alice
        .create_widget(&d, chart("A", at(0, 0, 12, 8)))
        .await
        .expect("create A")
        .into_inner();
    let b = alice
        .create_widget(&d, chart("B", at(12, 0, 12, 8)))
        .await
        .expect("create B")
        .into_inner();
    let before = alice.events_of(&d).await;

    // A viewer may read but not manage widgets.
    let status = viewer
        .create_widget(&d, chart("no", None))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    let status = viewer
        .update_widget(
            pb::Widget {
                name: a.name.clone(),
                title: "no".into(),
                ..Default::default()
            },
            &["title"],
        )
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    let status = viewer.delete_widget(&a.name, "").await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    let status = viewer
        .relayout(&d, vec![move_to(&a.name, 0, 20)])
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    // A stranger does not see the dashboard.
    let status = stranger
        .create_widget(&d, chart("no", None))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");

    // Refused under the lock: an overlap, a stale etag, an overlapping relayout.
    let status = alice
        .create_widget(&d, chart("overlap", at(6, 4, 4, 4)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let status = alice
        .update_widget(
            pb::Widget {
                name: a.name.clone(),
                title: "stale".into(),
                etag: "not-the-etag".into(),
                ..Default::default()
            },
            &["title"],
        )
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Aborted, "{status:?}");
    let status = alice
        .delete_widget(&b.name, "not-the-etag")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Aborted, "{status:?}");
    let status = alice
        .relayout(&d, vec![move_to(&a.name, 6, 0)])
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let status = alice
        .update_widget(
            pb::Widget {
                name: a.name.clone(),
                layout: Some(pb::WidgetLayout {
                    x: Some(6),
                    ..Default::default()
                }),
                ..Default::default()
            },
            &["layout.x"],
        )
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");

    assert_eq!(alice.events_of(&d).await, before);
}

#[tokio::test]
async fn writes_over_a_limit_append_nothing() {
    const MAX_WIDGETS: usize = 12;
    let small = common::start(|c| {
        c.max_widgets_per_dashboard = MAX_WIDGETS;
        c.max_message_bytes = 512 * 1024;
    });
    let mut alice = user_on(&small, &unique_org(), "alice", PlatformRole::Author).await;

    // The widget limit, decided under the dashboard's lock.
    let board = alice.create("Many").await;
    let d = board.name.as_str();
    for i in 0..MAX_WIDGETS {
        alice
            .create_widget(d, chart(&format!("w{i}"), at(0, i as i32, 1, 1)))
            .await
            .expect("within the limit");
    }
    let before = alice.events_of(d).await;
    let status = alice
        .create_widget(d, chart("one too many", None))
        .await
        .unwrap_err();
    assert_error(&status, Code::FailedPrecondition, "WIDGET_LIMIT_REACHED");
    assert_eq!(alice.events_of(d).await, before);

    // The dashboard's size limit, on create and on update.
    let board = alice.create("Big").await;
    let d = board.name.as_str();
    let big = |title: &str| pb::Widget {
        config: Some(blob(60_000)),
        ..chart(title, None)
    };
    let mut created = Vec::new();
    let refused = loop {
        match alice.create_widget(d, big("big")).await {
            Ok(widget) => created.push(widget.into_inner()),
            Err(status) => break status,
        }
        assert!(created.len() < MAX_WIDGETS, "no size limit");
    };
    assert_error(&refused, Code::InvalidArgument, "DASHBOARD_TOO_LARGE");
    let before = alice.events_of(d).await;
    assert_eq!(before.len(), 1 + created.len());
    // Shrinking is a write like any other, and frees room.
    let first = created.remove(0);
    let response = alice
        .update_widget(
            pb::Widget {
                name: first.name.clone(),
                config: Some(blob(10)),
                ..Default::default()
            },
            &["config"],
        )
        .await
        .expect("shrinking is allowed");
    let shrunk = revision_of(&response);
    let events = alice.events_of(d).await;
    assert_eq!(events[0].revision, shrunk);
    assert_eq!(events[0].changed_fields, ["config"]);
    let Ok(_) = alice.create_widget(d, big("room again")).await else {
        panic!("no room after shrinking");
    };
    // Growing the shrunk widget past what is left is refused like a new widget.
    let before = alice.events_of(d).await;
    let grow = pb::Widget {
        name: first.name.clone(),
        config: Some(blob(64_000)),
        ..Default::default()
    };
    let Err(status) = alice.update_widget(grow, &["config"]).await else {
        panic!("growing past the size limit was accepted");
    };
    assert_error(&status, Code::InvalidArgument, "DASHBOARD_TOO_LARGE");
    assert_eq!(alice.events_of(d).await, before);
}

fn blob(bytes: usize) -> prost_types::Struct {
    prost_types::Struct {
        fields: [(
            "blob".to_string(),
            prost_types::Value {
                kind: Some(prost_types::value::Kind::StringValue("x".repeat(bytes))),
            },
        )]
        .into(),
    }
}
