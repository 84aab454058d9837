//! WatchDashboards' compaction: a start older than the change log's retention. Its own
//! binary: its server purges every org's events at once (EVENT_RETENTION of 1 ms), which on
//! a shared PostgreSQL would take the events of tests running beside it.

mod common;

use std::time::Duration;

use common::{assert_error, unique_org};
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use tonic::Code;

/// A start older than the log's retention is OUT_OF_RANGE with REVISION_COMPACTED; from
/// now, or from the latest revision, a watch starts.
#[tokio::test]
async fn a_start_older_than_retention_is_compacted() {
    let server = common::start(|config| {
        config.event_retention = Duration::from_millis(1);
        config.purge_interval = Duration::from_millis(100);
    });
    let org = unique_org();
    let mut admin = server.user(&org, "admin", PlatformRole::Admin).await;
    let first = admin.create_at_revision("a").await.1;
    let latest = admin.create_at_revision("b").await.1;
    // Wait until the purge has taken the first write's events.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let request = admin.req(pb::ListEventsRequest {
            page_size: 10,
            ..Default::default()
        });
        let events = admin.audit.list_events(request).await.expect("events");
        if events.into_inner().events.is_empty() {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the purge ran");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = admin.watch(first, "").await.expect_err("compacted");
    assert_error(&status, Code::OutOfRange, "REVISION_COMPACTED");
    admin.watch(latest, "").await.expect("from the latest");
    admin.watch(0, "").await.expect("from now");
}
