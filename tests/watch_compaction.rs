//! WatchDashboards' compaction: a start older than the change log's retention. Its own
//! binary: its server purges every org's events at once (EVENT_RETENTION of 1 ms), which on
//! a shared PostgreSQL would take the events of tests running beside it.

mod common;

use std::time::Duration;

use common::{Caller, assert_error, revision_of, unique_org};
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use tonic::Code;

async fn try_watch(
    caller: &mut Caller,
    start_revision: i64,
) -> Result<tonic::codec::Streaming<pb::WatchDashboardsResponse>, tonic::Status> {
    let request = caller.req(pb::WatchDashboardsRequest {
        start_revision,
        filter: String::new(),
    });
    caller
        .dashboards
        .watch_dashboards(request)
        .await
        .map(|r| r.into_inner())
}

async fn create(caller: &mut Caller, title: &str) -> i64 {
    let response = caller
        .dashboards
        .create_dashboard(caller.req(pb::CreateDashboardRequest {
            dashboard: Some(pb::Dashboard {
                title: title.into(),
                ..Default::default()
            }),
            request_id: String::new(),
        }))
        .await
        .expect("create");
    revision_of(&response)
}

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
    let first = create(&mut admin, "a").await;
    let latest = create(&mut admin, "b").await;
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
    let status = try_watch(&mut admin, first).await.expect_err("compacted");
    assert_error(&status, Code::OutOfRange, "REVISION_COMPACTED");
    try_watch(&mut admin, latest)
        .await
        .expect("from the latest");
    try_watch(&mut admin, 0).await.expect("from now");
}
