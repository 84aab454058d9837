//! Read-your-writes (DESIGN §7, issue 14): a call with `x-dashboards-min-revision: R` answers
//! from state at least as fresh as revision R of the caller's org, waits (within its
//! deadline) until it is, or fails with FAILED_PRECONDITION `REVISION_NOT_REACHED`.

mod common;

use std::time::Duration;

use common::replica::Replica;
use common::{Caller, assert_error, revision_of, server, unique_org, violated_fields};
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use tonic::{Code, Request};

const MIN_REVISION: &str = "x-dashboards-min-revision";

async fn author() -> Caller {
    server()
        .user(&unique_org(), "alice", PlatformRole::Author)
        .await
}

/// A caller's request carrying `x-dashboards-min-revision: min`.
fn at_least<T>(caller: &Caller, message: T, min: &str) -> Request<T> {
    let mut request = caller.req(message);
    request
        .metadata_mut()
        .insert(MIN_REVISION, min.parse().expect("header value"));
    request
}

fn get(name: &str) -> pb::GetDashboardRequest {
    pb::GetDashboardRequest {
        name: name.into(),
        view: 0,
    }
}

#[tokio::test]
async fn a_read_at_a_committed_revision_answers() {
    let mut alice = author().await;
    let (dashboard, revision) = alice.create_at_revision("Fresh").await;
    for min in [revision, revision - 1, 0] {
        let request = at_least(&alice, get(&dashboard.name), &min.to_string());
        let read = alice.dashboards.get_dashboard(request).await;
        assert_eq!(read.expect("read").into_inner().title, "Fresh");
    }
    // Other services' reads honour it too, and on a write it is harmless.
    let request = at_least(
        &alice,
        pb::ListDashboardsRequest::default(),
        &revision.to_string(),
    );
    let listed = alice
        .dashboards
        .list_dashboards(request)
        .await
        .expect("list");
    assert_eq!(listed.into_inner().dashboards.len(), 1);
    let request = at_least(
        &alice,
        common::retitle_request(&dashboard.name, "Fresher"),
        &revision.to_string(),
    );
    let updated = alice.dashboards.update_dashboard(request).await;
    assert_eq!(revision_of(&updated.expect("update")), revision + 1);
}

#[tokio::test]
async fn a_revision_not_reached_within_the_deadline_fails_the_precondition() {
    let mut alice = author().await;
    let (dashboard, revision) = alice.create_at_revision("Ahead").await;
    let min = revision + 1_000_000;
    let mut request = at_least(&alice, get(&dashboard.name), &min.to_string());
    // The deadline as a header. tonic's client times the call out at that deadline too, so
    // the server's answer (due a tenth of the budget before it: 200 ms here) must win that
    // race; 2 s leaves room on a loaded machine (at 300 ms, a 50 ms margin lost it in CI).
    request
        .metadata_mut()
        .insert("grpc-timeout", "2S".parse().expect("header value"));
    let status = alice
        .dashboards
        .get_dashboard(request)
        .await
        .expect_err("not reached");
    let details = assert_error(&status, Code::FailedPrecondition, "REVISION_NOT_REACHED");
    let info = details.error_info().expect("ErrorInfo");
    assert_eq!(info.metadata["min_revision"], min.to_string());
    let latest: i64 = info.metadata["latest_revision"].parse().expect("a number");
    assert!((revision..min).contains(&latest), "{info:?}");
    assert!(details.precondition_failure().is_some(), "{status:?}");
    assert!(status.message().contains(&min.to_string()), "{status:?}");
}

#[tokio::test]
async fn a_waiting_read_is_released_by_the_write_it_waits_for() {
    let mut alice = author().await;
    let (dashboard, revision) = alice.create_at_revision("Before").await;
    let mut reader = alice.dashboards.clone();
    let mut request = at_least(&alice, get(&dashboard.name), &(revision + 1).to_string());
    request.set_timeout(Duration::from_secs(5));
    let read = tokio::spawn(async move { reader.get_dashboard(request).await });
    // Give the read time to start waiting (it answers correctly either way).
    tokio::time::sleep(Duration::from_millis(200)).await;
    let request = alice.req(common::retitle_request(&dashboard.name, "After"));
    let updated = alice.dashboards.update_dashboard(request).await;
    assert_eq!(revision_of(&updated.expect("update")), revision + 1);
    let read = read.await.expect("the read task").expect("the read");
    assert_eq!(read.into_inner().title, "After");
}

#[tokio::test]
async fn a_header_that_is_not_a_revision_is_invalid() {
    let mut alice = author().await;
    let (dashboard, _) = alice.create_at_revision("Bad").await;
    for bad in ["abc", "-1", "1.5", "99999999999999999999", ""] {
        let request = at_least(&alice, get(&dashboard.name), bad);
        let status = alice
            .dashboards
            .get_dashboard(request)
            .await
            .expect_err(bad);
        let details = assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
        assert_eq!(violated_fields(&details), [MIN_REVISION], "{bad}");
    }
    // Calls without a caller (health, reflection, public links) ignore it.
    let mut health = tonic_health::pb::health_client::HealthClient::new(server().channel().await);
    let mut request = Request::new(tonic_health::pb::HealthCheckRequest::default());
    request
        .metadata_mut()
        .insert(MIN_REVISION, "abc".parse().expect("header value"));
    assert_eq!(
        health
            .check(request)
            .await
            .expect("health")
            .into_inner()
            .status,
        1
    );
}

/// The done-when line of issue 14: a write on replica A followed by a read on replica B with
/// the write's revision as `x-dashboards-min-revision` always sees the write. On PostgreSQL
/// (TEST_DATABASE_URL) A and B are two processes of the binary on the one database; on
/// SQLite, whose file one process owns, it is the one test server.
#[tokio::test(flavor = "multi_thread")]
async fn a_write_on_one_replica_is_seen_by_a_read_on_another() {
    let org = unique_org();
    let token = common::token(&org, "alice", None, PlatformRole::Author);
    let database = std::env::var("TEST_DATABASE_URL").unwrap_or_default();
    let _replicas;
    let (a, b) = if database.starts_with("postgres") {
        let replica_a = Replica::start(&database, &[]).await;
        let replica_b = Replica::start(&database, &[]).await;
        let channels = (replica_a.channel().await, replica_b.channel().await);
        _replicas = (replica_a, replica_b);
        channels
    } else {
        eprintln!("TEST_DATABASE_URL is not PostgreSQL: both replicas are the one test server");
        (server().channel().await, server().channel().await)
    };
    let mut on_a = Caller::on(&a, token.clone(), &org, "alice");
    let mut on_b = Caller::on(&b, token, &org, "alice");
    let (dashboard, mut last) = on_a.create_at_revision("v0").await;
    for i in 1..=1_000 {
        let title = format!("v{i}");
        let request = on_a.req(common::retitle_request(&dashboard.name, &title));
        let response = on_a.dashboards.update_dashboard(request).await;
        let revision = revision_of(&response.expect("update on A"));
        assert!(revision > last, "revisions grow: {revision} after {last}");
        last = revision;
        let request = at_least(&on_b, get(&dashboard.name), &revision.to_string());
        let read = on_b.dashboards.get_dashboard(request).await;
        assert_eq!(
            read.expect("read on B").into_inner().title,
            title,
            "round {i}"
        );
    }
}
