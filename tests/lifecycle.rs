//! Shutdown: health turns NOT_SERVING first, then the server drains and stops cleanly.

mod common;

use tokio_stream::StreamExt;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

#[tokio::test]
async fn shutdown_reports_not_serving_then_stops() {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (server, thread) = common::start_until(|_| {}, async move {
        let _ = stopped.await;
    });
    let mut health = HealthClient::new(server.channel().await);
    for service in ["", "dashboards.v1.DashboardService"] {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status();
        assert_eq!(status, ServingStatus::Serving, "{service:?}");
    }
    let unknown = health
        .check(HealthCheckRequest {
            service: "nope.v1.Nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);

    let mut watch = health
        .watch(HealthCheckRequest {
            service: "dashboards.v1.DashboardService".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let first = watch.next().await.expect("first status").unwrap();
    assert_eq!(first.status(), ServingStatus::Serving);

    stop.send(()).unwrap();
    let next = watch
        .next()
        .await
        .expect("a status after shutdown began")
        .unwrap();
    assert_eq!(next.status(), ServingStatus::NotServing);
    drop(watch);
    drop(health);

    // `serve` returns Ok (the binary then exits 0), even with the watch stream still open
    // until the grace period ends.
    let result = tokio::task::spawn_blocking(move || thread.join())
        .await
        .unwrap();
    assert_eq!(result.expect("server thread"), Ok(()));
}
