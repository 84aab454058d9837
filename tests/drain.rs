//! Drain after SIGTERM (DESIGN §8): NOT_SERVING at once, serving on (and accepting new
//! connections) for SHUTDOWN_DELAY, then long streams end with UNAVAILABLE, new connections
//! are refused, and `serve` returns Ok.

mod common;

use std::time::Duration;

use dashboard_service::domain::PlatformRole;
use tokio_stream::StreamExt;
use tonic::Code;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

fn watch_request(service: &str) -> HealthCheckRequest {
    HealthCheckRequest {
        service: service.into(),
    }
}

async fn connect(addr: std::net::SocketAddr) -> Result<Channel, tonic::transport::Error> {
    Endpoint::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect_timeout(Duration::from_secs(2))
        .connect()
        .await
}

#[tokio::test]
async fn serves_through_the_delay_then_ends_long_streams_and_refuses_connections() {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    // The delay only needs to outlast the few calls below; no timing is asserted.
    let (server, thread) = common::start_until(
        |c| {
            c.shutdown_delay = Duration::from_secs(4);
            c.shutdown_grace = Duration::from_secs(5);
        },
        async move {
            let _ = stopped.await;
        },
    );
    let org = common::unique_org();

    let mut health = HealthClient::new(server.channel().await);
    let mut watches = Vec::new();
    for service in ["", "dashboards.v1.DashboardService"] {
        let mut watch = health
            .watch(watch_request(service))
            .await
            .unwrap()
            .into_inner();
        let first = watch.next().await.expect("first status").unwrap();
        assert_eq!(first.status(), ServingStatus::Serving, "{service:?}");
        watches.push(watch);
    }

    stop.send(()).unwrap();
    for watch in &mut watches {
        let next = watch.next().await.expect("a status after SIGTERM").unwrap();
        assert_eq!(next.status(), ServingStatus::NotServing);
    }

    // During the delay: a NEW connection is accepted, health says NOT_SERVING on it, and
    // ordinary calls are still answered.
    let channel = connect(server.addr)
        .await
        .expect("new connections are accepted during the delay");
    let status = HealthClient::new(channel)
        .check(watch_request(""))
        .await
        .expect("health answers during the delay")
        .into_inner()
        .status();
    assert_eq!(status, ServingStatus::NotServing);
    let mut caller = server.user(&org, "drain-admin", PlatformRole::Admin).await;
    let created = caller.create("made during the delay").await;
    let read = caller
        .get(&created.name)
        .await
        .expect("get during the delay");
    assert_eq!(read.title, "made during the delay");

    // After the delay: every Health/Watch stream ends with UNAVAILABLE / SHUTTING_DOWN.
    for watch in &mut watches {
        match watch.next().await {
            Some(Err(status)) => {
                assert_eq!(status.code(), Code::Unavailable, "{status:?}");
                common::assert_error(&status, Code::Unavailable, "SHUTTING_DOWN");
            }
            other => panic!("expected the watch to end with UNAVAILABLE, got {other:?}"),
        }
        assert!(watch.next().await.is_none(), "the stream is over");
    }

    // Then new connections are refused (the listener is closed, not left to a backlog that
    // nobody accepts from).
    let mut refused = false;
    for _ in 0..50 {
        if connect(server.addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        refused,
        "connections are still accepted after the drain started"
    );

    drop(watches);
    drop(health);
    drop(caller);
    let result = tokio::task::spawn_blocking(move || thread.join())
        .await
        .unwrap();
    assert_eq!(result.expect("server thread"), Ok(()));
}
