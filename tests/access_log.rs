//! The access log (DESIGN §8): one line per call at info, as JSON with the message at the top
//! level under LOG_FORMAT=json, with the trace id of the caller's W3C `traceparent`, the
//! principal, the peer and the request id, which is echoed in `x-request-id`.
//!
//! The test server runs in this process, so the log is captured by installing the same
//! subscriber `main` installs, writing to a buffer (`common::logs`).

mod common;

use common::logs::{access_lines, log};
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use tonic::Code;

fn access_lines_with_trace(trace_id: &str) -> Vec<serde_json::Value> {
    access_lines()
        .into_iter()
        .filter(|line| line["trace_id"] == trace_id)
        .collect()
}

fn traced<T>(
    message: T,
    token: Option<&str>,
    trace_id: &str,
    request_id: &str,
) -> tonic::Request<T> {
    let mut request = match token {
        Some(token) => common::with_token(message, token),
        None => tonic::Request::new(message),
    };
    let metadata = request.metadata_mut();
    let traceparent = format!("00-{trace_id}-00f067aa0ba902b7-01");
    metadata.insert("traceparent", traceparent.parse().expect("traceparent"));
    metadata.insert("tracestate", "vendor=opaque".parse().expect("tracestate"));
    metadata.insert("x-request-id", request_id.parse().expect("request id"));
    request
}

/// A fresh W3C trace id (32 lowercase hex digits).
fn trace_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

#[tokio::test]
async fn one_json_line_per_call_with_the_sent_trace_id() {
    log();
    let server = common::start(|_| {});
    let org = common::unique_org();
    let mut admin = server.user(&org, "log-admin", PlatformRole::Admin).await;
    let created = admin.create("logged").await;

    // OK (status in the trailers), with a request id to echo.
    let ok_trace = trace_id();
    let response = admin
        .dashboards
        .get_dashboard(traced(
            pb::GetDashboardRequest {
                name: created.name.clone(),
                view: 0,
            },
            Some(&admin.token),
            &ok_trace,
            "req-ok-1",
        ))
        .await
        .expect("get");
    assert_eq!(
        response
            .metadata()
            .get("x-request-id")
            .map(|v| v.to_str().unwrap()),
        Some("req-ok-1")
    );

    // NOT_FOUND (trailers-only) and UNAUTHENTICATED (refused before any handler).
    let missing_trace = trace_id();
    let missing = admin
        .dashboards
        .get_dashboard(traced(
            pb::GetDashboardRequest {
                name: "dashboards/nope".into(),
                view: 0,
            },
            Some(&admin.token),
            &missing_trace,
            "req-missing-1",
        ))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    assert_eq!(
        missing
            .metadata()
            .get("x-request-id")
            .map(|v| v.to_str().unwrap()),
        Some("req-missing-1")
    );
    let anonymous_trace = trace_id();
    let refused = server
        .dashboards()
        .await
        .list_dashboards(traced(
            pb::ListDashboardsRequest::default(),
            None,
            &anonymous_trace,
            "req-anon-1",
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);

    let check = |trace: &str, method: &str, code: &str, request_id: &str, principal: &str| {
        let found = access_lines_with_trace(trace);
        assert_eq!(
            found.len(),
            1,
            "exactly one access line for {trace}: {found:?}"
        );
        let line = &found[0];
        assert_eq!(line["level"], "INFO", "{line}");
        assert_eq!(line["method"], method, "{line}");
        assert_eq!(line["code"], code, "{line}");
        assert_eq!(line["request_id"], request_id, "{line}");
        assert_eq!(line["principal"], principal, "{line}");
        // The message is a top-level string, not nested under "fields".
        assert_eq!(line["message"], format!("{method} {code}"), "{line}");
        assert!(line.get("fields").is_none(), "{line}");
        assert!(line["latency_ms"].as_f64().is_some(), "{line}");
        let peer = line["peer"].as_str().unwrap_or_default();
        assert!(peer.starts_with("127.0.0.1:"), "{line}");
    };
    let principal = format!("{org}/users/log-admin");
    let get = "/dashboards.v1.DashboardService/GetDashboard";
    check(&ok_trace, get, "OK", "req-ok-1", &principal);
    check(&missing_trace, get, "NotFound", "req-missing-1", &principal);
    check(
        &anonymous_trace,
        "/dashboards.v1.DashboardService/ListDashboards",
        "Unauthenticated",
        "req-anon-1",
        "-",
    );
}

#[tokio::test]
async fn a_request_id_is_made_when_none_or_an_unusable_one_is_sent() {
    log();
    let server = common::start(|_| {});
    let mut health = tonic_health::pb::health_client::HealthClient::new(server.channel().await);
    let check = || tonic_health::pb::HealthCheckRequest {
        service: String::new(),
    };
    let plain = health.check(check()).await.expect("health");
    let made = plain
        .metadata()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("a request id is made")
        .to_string();
    assert!(uuid::Uuid::parse_str(&made).is_ok(), "{made}");

    let mut request = tonic::Request::new(check());
    let long = "x".repeat(300);
    request
        .metadata_mut()
        .insert("x-request-id", long.parse().expect("header"));
    let response = health.check(request).await.expect("health");
    let echoed = response
        .metadata()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("a request id");
    assert_ne!(echoed, long, "an unbounded request id is not echoed");
    assert!(uuid::Uuid::parse_str(echoed).is_ok(), "{echoed}");
}

#[tokio::test]
async fn the_peer_is_logged_for_tls_connections_too() {
    log();
    let dir = tempfile::tempdir().unwrap();
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(made.cert.pem()))
        .domain_name("localhost");
    let server = common::start_tls(
        |c| {
            c.tls_cert_file = Some(cert);
            c.tls_key_file = Some(key);
        },
        tls,
    );
    let trace = trace_id();
    let refused = server
        .dashboards()
        .await
        .list_dashboards(traced(
            pb::ListDashboardsRequest::default(),
            None,
            &trace,
            "req-tls-1",
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
    let found = access_lines_with_trace(&trace);
    assert_eq!(found.len(), 1, "{found:?}");
    let peer = found[0]["peer"].as_str().unwrap_or_default();
    assert!(peer.starts_with("127.0.0.1:"), "{}", found[0]);
}
