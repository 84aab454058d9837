//! Version retention (DESIGN §7). A binary of its own: the purge job prunes the versions of
//! every dashboard in the database, and on PostgreSQL the test binaries share one database.

mod common;

use std::time::Duration;

use common::unique_org;
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;

/// With VERSIONS_KEEP_MIN = 3 and a retention shorter than the test, the job keeps exactly
/// the newest three and the named ones; a named version still reads back whole (its contents
/// were not collected with the pruned versions) and can be restored.
#[tokio::test]
async fn retention_keeps_the_newest_and_the_named() {
    let own = common::start(|c| {
        c.versions_keep_min = 3;
        c.version_retention = Duration::from_millis(1);
        c.purge_interval = Duration::from_millis(100);
    });
    let org = unique_org();
    let mut owner = own.user(&org, "keeper", PlatformRole::Author).await;
    let dashboard = owner.create("v1").await.name;
    let rename = |title: &str, message: &str| pb::UpdateDashboardRequest {
        dashboard: Some(pb::Dashboard {
            name: dashboard.clone(),
            title: title.into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["title".into()],
        }),
        version_message: message.into(),
    };
    owner
        .dashboards
        .update_dashboard(owner.req(rename("v2 named", "release 1")))
        .await
        .expect("v2");
    for n in 3..=8 {
        owner
            .dashboards
            .update_dashboard(owner.req(rename(&format!("v{n}"), "")))
            .await
            .expect("edit");
    }
    let listed = || {
        let mut client = owner.versions.clone();
        let request = owner.req(pb::ListDashboardVersionsRequest {
            parent: dashboard.clone(),
            page_size: 100,
            ..Default::default()
        });
        async move {
            client
                .list_dashboard_versions(request)
                .await
                .expect("list")
                .into_inner()
                .versions
                .iter()
                .map(|v| v.version)
                .collect::<Vec<i64>>()
        }
    };
    let mut kept = Vec::new();
    for _ in 0..100 {
        kept = listed().await;
        if kept == vec![8, 7, 6, 2] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        kept,
        vec![8, 7, 6, 2],
        "the newest 3 and the named one are kept"
    );

    let named = owner
        .versions
        .clone()
        .get_dashboard_version(owner.req(pb::GetDashboardVersionRequest {
            name: format!("{dashboard}/versions/2"),
        }))
        .await
        .expect("the named version")
        .into_inner();
    assert_eq!(named.version_message, "release 1");
    assert_eq!(named.dashboard.expect("content").title, "v2 named");
    let pruned = owner
        .versions
        .clone()
        .get_dashboard_version(owner.req(pb::GetDashboardVersionRequest {
            name: format!("{dashboard}/versions/3"),
        }))
        .await
        .expect_err("a pruned version");
    assert_eq!(pruned.code(), tonic::Code::NotFound);

    let restored = owner
        .versions
        .clone()
        .restore_dashboard_version(owner.req(pb::RestoreDashboardVersionRequest {
            name: format!("{dashboard}/versions/2"),
            ..Default::default()
        }))
        .await
        .expect("restore the named version")
        .into_inner();
    assert_eq!(restored.title, "v2 named");
    assert_eq!(listed().await.first(), Some(&9));
}
