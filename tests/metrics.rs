//! Prometheus metrics on METRICS_ADDR (DESIGN §8): known calls, then a scrape that finds the
//! exact counter lines, with the real status code whether it travelled in the response
//! headers (trailers-only: errors) or in the trailers after the message (OK).

mod common;

use std::net::SocketAddr;

use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::Code;

/// A plain HTTP/1.1 GET; returns the status line and the body.
async fn http_get(addr: SocketAddr, path: &str) -> (String, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let (head, body) = response.split_once("\r\n\r\n").expect("http response");
    (
        head.lines().next().unwrap_or_default().to_string(),
        body.to_string(),
    )
}

fn labels(method: &str, service: &str) -> String {
    format!("grpc_method=\"{method}\",grpc_service=\"dashboards.v1.{service}\",grpc_type=\"unary\"")
}

fn handled(code: &str, method: &str, service: &str) -> String {
    format!(
        "grpc_server_handled_total{{grpc_code=\"{code}\",{}}}",
        labels(method, service)
    )
}

/// The value of the sample named exactly `series` (name and labels), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse().expect("a number"))
        })
}

#[tokio::test]
async fn scrape_finds_the_calls_with_their_real_codes() {
    // A server of its own: nothing else calls it, and no periodic database check runs
    // after the first one (at startup), so no connection is lent out when it is scraped.
    let server = common::start(|c| {
        c.health_check_interval = std::time::Duration::from_secs(3600);
    });
    let org = common::unique_org();
    let mut admin = server
        .user(&org, "metrics-admin", PlatformRole::Admin)
        .await;

    let created = admin.create("measured").await;
    admin.get(&created.name).await.expect("get");
    for _ in 0..2 {
        let missing = admin.get("dashboards/does-not-exist").await.unwrap_err();
        assert_eq!(missing.code(), Code::NotFound);
    }
    let unauthenticated = server
        .dashboards()
        .await
        .list_dashboards(pb::ListDashboardsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(unauthenticated.code(), Code::Unauthenticated);

    let (status, text) = http_get(server.metrics_addr, "/metrics").await;
    assert_eq!(status, "HTTP/1.1 200 OK", "{text}");

    let expect = |series: String, value: f64| {
        assert_eq!(sample(&text, &series), Some(value), "{series} in:\n{text}");
    };
    // OK arrives in the trailers after the message; errors in trailers-only headers.
    expect(handled("OK", "CreateDashboard", "DashboardService"), 1.0);
    expect(handled("OK", "GetDashboard", "DashboardService"), 1.0);
    expect(handled("NotFound", "GetDashboard", "DashboardService"), 2.0);
    // Refused by the authentication layer, before any handler ran.
    expect(
        handled("Unauthenticated", "ListDashboards", "DashboardService"),
        1.0,
    );
    expect(
        format!(
            "grpc_server_started_total{{{}}}",
            labels("GetDashboard", "DashboardService")
        ),
        3.0,
    );
    expect(
        format!(
            "grpc_server_handling_seconds_count{{{}}}",
            labels("GetDashboard", "DashboardService")
        ),
        3.0,
    );
    expect(
        format!(
            "grpc_server_msg_received_total{{{}}}",
            labels("GetDashboard", "DashboardService")
        ),
        3.0,
    );
    // Only the successful GetDashboard sent a message.
    expect(
        format!(
            "grpc_server_msg_sent_total{{{}}}",
            labels("GetDashboard", "DashboardService")
        ),
        1.0,
    );
    assert!(
        text.contains("# TYPE grpc_server_handling_seconds histogram"),
        "{text}"
    );

    // The pool gauges: the connections the calls above used are open, and none is lent out
    // between calls.
    // sqlx hands a connection back to the pool on a task of its own after the call has
    // answered (PostgreSQL), so the gauge may lag a call by moments: scrape again, bounded.
    let mut text = text;
    for _ in 0..20 {
        if sample(&text, "db_pool_connections_in_use") == Some(0.0) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        text = http_get(server.metrics_addr, "/metrics").await.1;
    }
    let in_use = sample(&text, "db_pool_connections_in_use").expect("in-use gauge");
    let idle = sample(&text, "db_pool_connections_idle").expect("idle gauge");
    assert_eq!(in_use, 0.0, "{text}");
    assert!(idle >= 1.0, "{text}");

    let (status, _) = http_get(server.metrics_addr, "/other").await;
    assert_eq!(status, "HTTP/1.1 404 Not Found");
}

#[tokio::test]
async fn unknown_paths_do_not_grow_the_labels() {
    let server = common::start(|_| {});
    let mut grpc = tonic::client::Grpc::new(server.channel().await);
    grpc.ready().await.expect("ready");
    let path = http::uri::PathAndQuery::from_static("/made.up.Service/Whatever");
    let status = grpc
        .unary::<_, (), _>(
            tonic::Request::new(()),
            path,
            tonic_prost::ProstCodec::<(), ()>::default(),
        )
        .await
        .unwrap_err();
    // No token: the authentication layer answers first; either way it is counted as unknown.
    assert_eq!(status.code(), Code::Unauthenticated);

    let (_, text) = http_get(server.metrics_addr, "/metrics").await;
    assert_eq!(
        sample(
            &text,
            "grpc_server_handled_total{grpc_code=\"Unauthenticated\",grpc_method=\"unknown\",grpc_service=\"unknown\",grpc_type=\"unknown\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert!(!text.contains("made.up"), "{text}");
}

/// `dashboards_watch_streams` counts the WatchDashboards streams open on the replica, and
/// their events count as stream messages sent.
#[tokio::test]
async fn watch_streams_are_counted_while_open() {
    let server = common::start(|_| {});
    let org = common::unique_org();
    let mut admin = server.user(&org, "watcher", PlatformRole::Admin).await;
    let streams = |text: &str| sample(text, "dashboards_watch_streams");
    let (_, body) = http_get(server.metrics_addr, "/metrics").await;
    assert_eq!(streams(&body), Some(0.0));
    let mut opened = Vec::new();
    for _ in 0..2 {
        let request = admin.req(pb::WatchDashboardsRequest::default());
        let stream = admin.dashboards.watch_dashboards(request).await;
        opened.push(stream.expect("watch").into_inner());
    }
    admin.create("seen by both").await;
    for stream in &mut opened {
        let event = stream.message().await.expect("open").expect("an event");
        assert_eq!(event.r#type(), pb::watch_dashboards_response::Type::Added);
    }
    let (_, body) = http_get(server.metrics_addr, "/metrics").await;
    assert_eq!(streams(&body), Some(2.0));
    let sent = "grpc_server_msg_sent_total{grpc_method=\"WatchDashboards\",\
                grpc_service=\"dashboards.v1.DashboardService\",grpc_type=\"server_stream\"}";
    assert_eq!(sample(&body, sent), Some(2.0));
    drop(opened);
    // The server learns of the cancellations asynchronously.
    for _ in 0..100 {
        let (_, body) = http_get(server.metrics_addr, "/metrics").await;
        if streams(&body) == Some(0.0) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the streams were still counted after they were dropped");
}
