//! Overload shedding (issue 13): with MAX_CONCURRENT_CALLS=2 and two calls held in flight, the
//! next call is refused at once with RESOURCE_EXHAUSTED, reason OVERLOADED and a RetryInfo
//! delay, before authentication; health and reflection still answer; the slots come back when
//! the held calls end.
//!
//! A call is held in flight without any timing: its request head is sent (with a valid token,
//! so it passes authentication) but its request message never is, and the unary handler waits
//! for it. The test waits for the server's own gauge of calls in flight to read 2 before it
//! expects a refusal, so nothing depends on how fast anything runs.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{assert_error, with_token};
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use dashboard_service::server::layers::RETRY_DELAY_MS;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

const LIMIT: usize = 2;
const GET_DASHBOARD: &str = "/dashboards.v1.DashboardService/GetDashboard";

/// The scrape of the server's metrics.
async fn scrape(addr: SocketAddr) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .expect("an HTTP response")
}

/// The value of the sample named exactly `series`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let (name, value) = line.rsplit_once(' ')?;
        (name == series).then(|| value.parse().expect("a number"))
    })
}

/// Waits (at most 10 s, polling) until the server reports `expected` calls in flight.
async fn wait_for_in_flight(addr: SocketAddr, expected: f64) {
    let give_up = Instant::now() + Duration::from_secs(10);
    loop {
        let text = scrape(addr).await;
        let in_flight = sample(&text, "grpc_server_calls_in_flight");
        if in_flight == Some(expected) {
            return;
        }
        assert!(
            Instant::now() < give_up,
            "calls in flight stayed at {in_flight:?}, expected {expected}:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A GetDashboard whose request message never comes: it holds a slot until it is aborted.
fn hold(channel: Channel, token: String) -> tokio::task::JoinHandle<Result<(), tonic::Status>> {
    tokio::spawn(async move {
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready()
            .await
            .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
        let never = futures_util::stream::pending::<pb::GetDashboardRequest>();
        let codec = tonic_prost::ProstCodec::<pb::GetDashboardRequest, pb::Dashboard>::default();
        grpc.client_streaming(
            with_token(never, &token),
            http::uri::PathAndQuery::from_static(GET_DASHBOARD),
            codec,
        )
        .await
        .map(|_| ())
    })
}

async fn health(channel: Channel) -> ServingStatus {
    HealthClient::new(channel)
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("health answers")
        .into_inner()
        .status()
}

#[tokio::test]
async fn over_the_limit_calls_are_shed_with_a_retry_delay_while_health_answers() {
    let server = common::start(|c| {
        c.max_concurrent_calls = Some(LIMIT);
        // No periodic database check competing for anything while the test counts.
        c.health_check_interval = Duration::from_secs(3600);
    });
    let org = common::unique_org();
    let mut owner = server
        .user(&org, "overload-owner", PlatformRole::Author)
        .await;
    let dashboard = owner.create("under pressure").await;
    wait_for_in_flight(server.metrics_addr, 0.0).await;

    // A Health/Watch stream open throughout: never counted, never ended.
    let channel = server.channel().await;
    let mut watch = HealthClient::new(channel.clone())
        .watch(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("watch")
        .into_inner();
    let first = watch.message().await.expect("watch answers").expect("one");
    assert_eq!(first.status(), ServingStatus::Serving);

    let holders: Vec<_> = (0..LIMIT)
        .map(|_| hold(channel.clone(), owner.token.clone()))
        .collect();
    wait_for_in_flight(server.metrics_addr, LIMIT as f64).await;

    // Any further call is refused at once: an authenticated read...
    let shed = owner.get(&dashboard.name).await.unwrap_err();
    let details = assert_error(&shed, Code::ResourceExhausted, "OVERLOADED");
    let delay = details
        .retry_info()
        .and_then(|info| info.retry_delay)
        .expect("a RetryInfo delay");
    let hinted = Duration::from_millis(*RETRY_DELAY_MS.start())
        ..=Duration::from_millis(*RETRY_DELAY_MS.end());
    assert!(hinted.contains(&delay), "{delay:?} outside {hinted:?}");
    // ... and a call without a token: refused before authentication does any work for it.
    let anonymous = pb::dashboard_service_client::DashboardServiceClient::new(channel.clone())
        .list_dashboards(pb::ListDashboardsRequest::default())
        .await
        .unwrap_err();
    assert_error(&anonymous, Code::ResourceExhausted, "OVERLOADED");

    // Health and reflection are never shed.
    assert_eq!(health(channel.clone()).await, ServingStatus::Serving);
    assert_reflection_answers(channel.clone()).await;

    // The shed calls are seen by the metrics with the code their callers got.
    let text = scrape(server.metrics_addr).await;
    let labels = |method: &str| {
        format!(
            "grpc_method=\"{method}\",grpc_service=\"dashboards.v1.DashboardService\",grpc_type=\"unary\""
        )
    };
    assert_eq!(
        sample(
            &text,
            &format!("grpc_server_shed_total{{{}}}", labels("GetDashboard"))
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            &format!(
                "grpc_server_handled_total{{grpc_code=\"ResourceExhausted\",{}}}",
                labels("ListDashboards")
            )
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "grpc_server_max_concurrent_calls"),
        Some(LIMIT as f64)
    );

    // The held calls end (their clients cancel): their slots come back, calls are served.
    for holder in &holders {
        holder.abort();
    }
    wait_for_in_flight(server.metrics_addr, 0.0).await;
    let read = owner.get(&dashboard.name).await.expect("served again");
    assert_eq!(read.name, dashboard.name);

    // The watch stream was never disturbed.
    tokio::time::timeout(Duration::from_millis(200), watch.message())
        .await
        .expect_err("no message: the status never changed");
}

async fn assert_reflection_answers(channel: Channel) {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .expect("reflection answers")
        .into_inner();
    let response = responses.message().await.expect("ok").expect("a response");
    assert!(response.message_response.is_some());
}
