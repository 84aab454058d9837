//! EVENT_RETENTION (DESIGN §7). A binary of its own: the purge deletes old events of every
//! org in the database, and on PostgreSQL the test binaries share one database, so it must
//! not run beside tests that read the log (cargo runs test binaries one after another).

mod common;

use common::{revision_of, unique_org};
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use dashboard_service::pb::audit_service_client::AuditServiceClient;

/// EVENT_RETENTION: events older than it leave the log at the next purge; revisions go on
/// from where they were (the counter is not reset).
#[tokio::test]
async fn events_past_their_retention_are_purged() {
    let own = common::start(|c| {
        c.event_retention = std::time::Duration::from_millis(1);
        c.purge_interval = std::time::Duration::from_millis(100);
    });
    let org = unique_org();
    let mut admin = own.user(&org, "root", PlatformRole::Admin).await;
    let mut audit = AuditServiceClient::new(own.channel().await);
    let first = admin
        .dashboards
        .create_dashboard(admin.req(pb::CreateDashboardRequest {
            dashboard: Some(pb::Dashboard {
                title: "old news".into(),
                ..Default::default()
            }),
            ..Default::default()
        }))
        .await
        .expect("create");
    let revision = revision_of(&first);
    let mut left = usize::MAX;
    for _ in 0..50 {
        let page = audit
            .list_events(admin.req(pb::ListEventsRequest::default()))
            .await
            .expect("ListEvents")
            .into_inner();
        left = page.events.len();
        if left == 0 {
            assert_eq!(page.revision, revision, "the counter stays");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(left, 0, "events older than the retention are purged");
    let next = admin.create("fresh").await;
    assert!(!next.name.is_empty());
    let page = audit
        .list_events(admin.req(pb::ListEventsRequest::default()))
        .await
        .expect("ListEvents")
        .into_inner();
    assert!(page.revision > revision, "revisions go on after a purge");
}
