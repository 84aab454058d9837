//! Dashboard versions (issue 14, DESIGN §7): every content change makes the next version;
//! each version reads back exactly as the dashboard was; a diff between any two versions
//! names what the edits between them changed; a restore makes a new version equal to the
//! old one (deleted widgets back with their ids) and keeps the later ones.

mod common;

use std::collections::BTreeMap;

use common::{Caller, assert_error, server, unique_org};
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use tonic::Code;

/// A widget as the test tracks it: title, config value, (x, y, w, h).
type WidgetState = (String, f64, (i32, i32, i32, i32));

/// What the test expects a version to hold.
#[derive(Debug, Clone, PartialEq, Default)]
struct Model {
    title: String,
    description: String,
    /// By widget name.
    widgets: BTreeMap<String, WidgetState>,
}

fn config(value: f64) -> prost_types::Struct {
    prost_types::Struct {
        fields: [(
            "v".to_string(),
            prost_types::Value {
                kind: Some(prost_types::value::Kind::NumberValue(value)),
            },
        )]
        .into(),
    }
}

fn config_value(s: &Option<prost_types::Struct>) -> f64 {
    match s
        .as_ref()
        .and_then(|s| s.fields.get("v"))
        .and_then(|v| v.kind.clone())
    {
        Some(prost_types::value::Kind::NumberValue(n)) => n,
        _ => f64::NAN,
    }
}

fn layout(x: i32, y: i32) -> Option<pb::WidgetLayout> {
    Some(pb::WidgetLayout {
        x: Some(x),
        y: Some(y),
        w: Some(6),
        h: Some(4),
    })
}

fn model_of(dashboard: &pb::Dashboard) -> Model {
    Model {
        title: dashboard.title.clone(),
        description: dashboard.description.clone(),
        widgets: dashboard
            .widgets
            .iter()
            .map(|w| {
                let l = w.layout.unwrap_or_default();
                (
                    w.name.clone(),
                    (
                        w.title.clone(),
                        config_value(&w.config),
                        (
                            l.x.unwrap_or(-1),
                            l.y.unwrap_or(-1),
                            l.w.unwrap_or(-1),
                            l.h.unwrap_or(-1),
                        ),
                    ),
                )
            })
            .collect(),
    }
}

/// The diff the test expects from `base` to `target`, in the wire's shape.
fn expected_diff(base: &Model, target: &Model) -> pb::DiffDashboardVersionsResponse {
    let mut fields = Vec::new();
    if base.title != target.title {
        fields.push("title".to_string());
    }
    if base.description != target.description {
        fields.push("description".to_string());
    }
    let mut diff = pb::DiffDashboardVersionsResponse {
        fields,
        ..Default::default()
    };
    for (name, after) in &target.widgets {
        match base.widgets.get(name) {
            None => diff.widgets_added.push(name.clone()),
            Some(before) => {
                let mut changed = Vec::new();
                if before.0 != after.0 {
                    changed.push("title".to_string());
                }
                if before.1 != after.1 {
                    changed.push("config".to_string());
                }
                if before.2 != after.2 {
                    changed.push("layout".to_string());
                }
                if !changed.is_empty() {
                    diff.widgets_changed.push(pb::WidgetChange {
                        widget: name.clone(),
                        fields: changed,
                    });
                }
            }
        }
    }
    for name in base.widgets.keys() {
        if !target.widgets.contains_key(name) {
            diff.widgets_removed.push(name.clone());
        }
    }
    diff
}

async fn version(
    caller: &Caller,
    dashboard: &str,
    n: i64,
) -> Result<pb::DashboardVersion, tonic::Status> {
    caller
        .versions
        .clone()
        .get_dashboard_version(caller.req(pb::GetDashboardVersionRequest {
            name: format!("{dashboard}/versions/{n}"),
        }))
        .await
        .map(|r| r.into_inner())
}

async fn all_versions(caller: &Caller, dashboard: &str) -> Vec<pb::DashboardVersion> {
    let mut all = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = caller
            .versions
            .clone()
            .list_dashboard_versions(caller.req(pb::ListDashboardVersionsRequest {
                parent: dashboard.into(),
                page_size: 7,
                page_token: page_token.clone(),
            }))
            .await
            .expect("list versions")
            .into_inner();
        all.extend(page.versions);
        if page.next_page_token.is_empty() {
            return all;
        }
        page_token = page.next_page_token;
    }
}

async fn full(caller: &mut Caller, dashboard: &str) -> pb::Dashboard {
    caller
        .dashboards
        .get_dashboard(caller.req(pb::GetDashboardRequest {
            name: dashboard.into(),
            view: pb::DashboardView::Full as i32,
        }))
        .await
        .expect("get full")
        .into_inner()
}

/// One random content edit (the caller's dashboard keeps one widget per 4-row band, so moves
/// along a band never overlap); returns the version message it sent, if any.
async fn edit(caller: &mut Caller, dashboard: &str, step: usize, rng: &mut u64) {
    let mut next = || {
        *rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*rng >> 33) as usize
    };
    let current = full(caller, dashboard).await;
    let widgets: Vec<pb::Widget> = current.widgets.clone();
    let pick = if widgets.is_empty() {
        0
    } else {
        next() % widgets.len()
    };
    let kind = if widgets.len() < 2 { 2 } else { next() % 7 };
    match kind {
        0 => {
            caller
                .dashboards
                .update_dashboard(caller.req(pb::UpdateDashboardRequest {
                    dashboard: Some(pb::Dashboard {
                        name: dashboard.into(),
                        title: format!("title {step}"),
                        ..Default::default()
                    }),
                    update_mask: Some(prost_types::FieldMask {
                        paths: vec!["title".into()],
                    }),
                    version_message: String::new(),
                }))
                .await
                .expect("update title");
        }
        1 => {
            caller
                .dashboards
                .update_dashboard(caller.req(pb::UpdateDashboardRequest {
                    dashboard: Some(pb::Dashboard {
                        name: dashboard.into(),
                        description: format!("description {step}"),
                        ..Default::default()
                    }),
                    update_mask: Some(prost_types::FieldMask {
                        paths: vec!["description".into()],
                    }),
                    version_message: String::new(),
                }))
                .await
                .expect("update description");
        }
        2 => {
            // A new band below every widget there ever was.
            let band = 4 * (step as i32 + 1);
            caller
                .widgets
                .create_widget(caller.req(pb::CreateWidgetRequest {
                    parent: dashboard.into(),
                    widget: Some(pb::Widget {
                        r#type: pb::WidgetType::Chart as i32,
                        title: format!("widget {step}"),
                        config: Some(config(step as f64)),
                        layout: layout(0, band),
                        ..Default::default()
                    }),
                    ..Default::default()
                }))
                .await
                .expect("create widget");
        }
        3 | 4 => {
            let w = &widgets[pick];
            let (widget, path) = if kind == 3 {
                (
                    pb::Widget {
                        name: w.name.clone(),
                        title: format!("retitled {step}"),
                        ..Default::default()
                    },
                    "title",
                )
            } else {
                (
                    pb::Widget {
                        name: w.name.clone(),
                        config: Some(config(1000.0 + step as f64)),
                        ..Default::default()
                    },
                    "config",
                )
            };
            caller
                .widgets
                .update_widget(caller.req(pb::UpdateWidgetRequest {
                    widget: Some(widget),
                    update_mask: Some(prost_types::FieldMask {
                        paths: vec![path.into()],
                    }),
                    version_message: String::new(),
                }))
                .await
                .expect("update widget");
        }
        5 => {
            let w = &widgets[pick];
            let y = w.layout.as_ref().and_then(|l| l.y).unwrap_or(0);
            let x = w.layout.as_ref().and_then(|l| l.x).unwrap_or(0);
            caller
                .widgets
                .batch_update_widget_layouts(caller.req(pb::BatchUpdateWidgetLayoutsRequest {
                    parent: dashboard.into(),
                    layouts: vec![pb::WidgetLayoutUpdate {
                        widget: w.name.clone(),
                        layout: layout((x + 6) % 24, y),
                    }],
                    ..Default::default()
                }))
                .await
                .expect("move widget");
        }
        _ => {
            caller
                .widgets
                .delete_widget(caller.req(pb::DeleteWidgetRequest {
                    name: widgets[pick].name.clone(),
                    ..Default::default()
                }))
                .await
                .expect("delete widget");
        }
    }
}

#[tokio::test]
async fn thirty_edits_read_back_diff_and_restore_exactly() {
    let org = unique_org();
    let mut owner = server()
        .user(&org, "history-owner", PlatformRole::Author)
        .await;
    let dashboard = owner.create("history").await.name;
    let mut models = vec![
        Model::default(),
        model_of(&full(&mut owner, &dashboard).await),
    ];
    let mut rng = 0x5eed_u64;
    for step in 0..30 {
        edit(&mut owner, &dashboard, step, &mut rng).await;
        models.push(model_of(&full(&mut owner, &dashboard).await));
    }
    // Version n is models[n]: one version per write, newest first in the listing.
    let listed = all_versions(&owner, &dashboard).await;
    let numbers: Vec<i64> = listed.iter().map(|v| v.version).collect();
    assert_eq!(numbers, (1..=31).rev().collect::<Vec<i64>>());
    for v in &listed {
        assert_eq!(v.name, format!("{dashboard}/versions/{}", v.version));
        assert_eq!(v.actor, owner.name());
        assert_eq!(v.restored_from, 0);
        assert!(v.dashboard.is_none(), "listings carry no content");
    }
    for n in 1..=31 {
        let got = version(&owner, &dashboard, n).await.expect("get version");
        let content = got.dashboard.expect("content");
        assert_eq!(model_of(&content), models[n as usize], "version {n}");
    }
    // Diffs between any two versions (every third base against every target).
    for base in (1..=31).step_by(3) {
        for target in 1..=31 {
            let got = owner
                .versions
                .clone()
                .diff_dashboard_versions(owner.req(pb::DiffDashboardVersionsRequest {
                    name: dashboard.clone(),
                    base: base.to_string(),
                    target: target.to_string(),
                }))
                .await
                .expect("diff")
                .into_inner();
            assert_eq!(
                got,
                expected_diff(&models[base], &models[target]),
                "diff {base} -> {target}"
            );
        }
    }

    // Restore version 3: a NEW version 32 whose content is version 3's.
    let current = full(&mut owner, &dashboard).await;
    let restored = owner
        .versions
        .clone()
        .restore_dashboard_version(owner.req(pb::RestoreDashboardVersionRequest {
            name: format!("{dashboard}/versions/3"),
            etag: current.etag.clone(),
            version_message: "back to 3".into(),
        }))
        .await
        .expect("restore")
        .into_inner();
    assert_eq!(restored.title, models[3].title);
    assert_eq!(model_of(&full(&mut owner, &dashboard).await), models[3]);
    let newest = version(&owner, &dashboard, 32).await.expect("version 32");
    assert_eq!(newest.restored_from, 3);
    assert_eq!(newest.version_message, "back to 3");
    assert_eq!(model_of(&newest.dashboard.expect("content")), models[3]);
    // Later versions stay.
    assert_eq!(all_versions(&owner, &dashboard).await.len(), 32);
    let diff = owner
        .versions
        .clone()
        .diff_dashboard_versions(owner.req(pb::DiffDashboardVersionsRequest {
            name: dashboard.clone(),
            base: "3".into(),
            target: "32".into(),
        }))
        .await
        .expect("diff")
        .into_inner();
    assert_eq!(diff, pb::DiffDashboardVersionsResponse::default());

    // The etag sent was the one before the restore: stale now.
    let stale = owner
        .versions
        .clone()
        .restore_dashboard_version(owner.req(pb::RestoreDashboardVersionRequest {
            name: format!("{dashboard}/versions/5"),
            etag: current.etag,
            ..Default::default()
        }))
        .await
        .expect_err("stale etag");
    assert_eq!(stale.code(), Code::Aborted, "{stale:?}");
}

#[tokio::test]
async fn history_errors_and_permissions() {
    let org = unique_org();
    let mut owner = server()
        .user(&org, "history-owner", PlatformRole::Author)
        .await;
    let viewer = server()
        .user(&org, "history-viewer", PlatformRole::Viewer)
        .await;
    let stranger = server()
        .user(&unique_org(), "history-stranger", PlatformRole::Admin)
        .await;
    let dashboard = owner.create("guarded history").await.name;
    owner.share_with(&dashboard, &viewer, "roles/viewer").await;

    // Readers read history but may not restore.
    assert_eq!(all_versions(&viewer, &dashboard).await.len(), 1);
    let denied = viewer
        .versions
        .clone()
        .restore_dashboard_version(viewer.req(pb::RestoreDashboardVersionRequest {
            name: format!("{dashboard}/versions/1"),
            ..Default::default()
        }))
        .await
        .expect_err("a viewer restores");
    assert_error(&denied, Code::PermissionDenied, "MISSING_PERMISSION");
    // Another org sees nothing.
    let hidden = version(&stranger, &dashboard, 1)
        .await
        .expect_err("other org");
    assert_error(&hidden, Code::NotFound, "NOT_FOUND");
    // A version that never existed.
    let missing = version(&owner, &dashboard, 99).await.expect_err("v99");
    assert_error(&missing, Code::NotFound, "NOT_FOUND");
    // Malformed names and numbers.
    for bad in [
        "versions/1",
        &format!("{dashboard}/versions/0"),
        &format!("{dashboard}/versions/x"),
    ] {
        let status = owner
            .versions
            .clone()
            .get_dashboard_version(owner.req(pb::GetDashboardVersionRequest { name: bad.into() }))
            .await
            .expect_err(bad);
        assert_eq!(status.code(), Code::InvalidArgument, "{bad}: {status:?}");
    }
    let status = owner
        .versions
        .clone()
        .diff_dashboard_versions(owner.req(pb::DiffDashboardVersionsRequest {
            name: dashboard.clone(),
            base: "one".into(),
            target: "1".into(),
        }))
        .await
        .expect_err("bad base");
    assert_eq!(status.code(), Code::InvalidArgument);
    // Version messages are bounded.
    let long = owner
        .dashboards
        .update_dashboard(owner.req(pb::UpdateDashboardRequest {
            dashboard: Some(pb::Dashboard {
                name: dashboard.clone(),
                title: "x".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["title".into()],
            }),
            version_message: "m".repeat(501),
        }))
        .await
        .expect_err("long message");
    assert_eq!(long.code(), Code::InvalidArgument);

    // A trashed dashboard's history stays readable by whoever may undelete it, not by
    // readers; restoring needs it out of the trash.
    owner
        .dashboards
        .delete_dashboard(owner.req(pb::DeleteDashboardRequest {
            name: dashboard.clone(),
            ..Default::default()
        }))
        .await
        .expect("delete");
    assert_eq!(all_versions(&owner, &dashboard).await.len(), 1);
    let status = version(&viewer, &dashboard, 1)
        .await
        .expect_err("viewer, trashed");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    let status = owner
        .versions
        .clone()
        .restore_dashboard_version(owner.req(pb::RestoreDashboardVersionRequest {
            name: format!("{dashboard}/versions/1"),
            ..Default::default()
        }))
        .await
        .expect_err("restore in the trash");
    assert_error(&status, Code::FailedPrecondition, "DASHBOARD_DELETED");
}
