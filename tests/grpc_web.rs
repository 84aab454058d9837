//! gRPC-Web (issue 13, interop): browser frontends call the service directly over HTTP/1.1
//! with `application/grpc-web+proto`; statuses and error details arrive as in gRPC.

mod common;

use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use dashboard_service::pb::dashboard_service_client::DashboardServiceClient;
use hyper_util::rt::TokioExecutor;
use tonic::Code;
use tonic_web::GrpcWebClientLayer;

#[tokio::test]
async fn grpc_web_over_http1_answers_with_codes_and_details() {
    let server = common::server();
    let org = common::unique_org();
    let mut admin = server.user(&org, "web-admin", PlatformRole::Admin).await;
    let created = admin.create("from a browser").await;

    // HTTP/1.1 only: what a browser without HTTP/2 to the origin does.
    let http = hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build_http();
    let web = tower::ServiceBuilder::new()
        .layer(GrpcWebClientLayer::new())
        .service(http);
    let origin = format!("http://{}", server.addr).parse().expect("origin");
    let mut client = DashboardServiceClient::with_origin(web, origin);

    let got = client
        .get_dashboard(admin.req(pb::GetDashboardRequest {
            name: created.name.clone(),
            view: 0,
        }))
        .await
        .expect("GetDashboard over gRPC-Web")
        .into_inner();
    assert_eq!(got.title, "from a browser");

    let missing = client
        .get_dashboard(admin.req(pb::GetDashboardRequest {
            name: "dashboards/nope".into(),
            view: 0,
        }))
        .await
        .unwrap_err();
    common::assert_error(&missing, Code::NotFound, "NOT_FOUND");

    let anonymous = client
        .list_dashboards(pb::ListDashboardsRequest::default())
        .await
        .unwrap_err();
    common::assert_error(&anonymous, Code::Unauthenticated, "MISSING_CREDENTIALS");
}

/// A plain HTTP/1.1 request; returns the response head (status line and headers, lowercased).
async fn http1(addr: std::net::SocketAddr, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    let response = String::from_utf8_lossy(&response).to_string();
    response
        .split_once("\r\n\r\n")
        .map_or(response.clone(), |(head, _)| head.to_string())
        .to_ascii_lowercase()
}

fn preflight(addr: std::net::SocketAddr, origin: &str) -> String {
    format!(
        "OPTIONS /dashboards.v1.DashboardService/GetDashboard HTTP/1.1\r\nHost: {addr}\r\n\
         Origin: {origin}\r\nAccess-Control-Request-Method: POST\r\n\
         Access-Control-Request-Headers: authorization, content-type, x-grpc-web\r\n\
         Connection: close\r\n\r\n"
    )
}

#[tokio::test]
async fn cors_lets_only_the_configured_origins_call_from_browsers() {
    let server = common::start(|c| {
        c.grpc_web_allowed_origins = vec!["https://app.example".into()];
    });
    let head = http1(server.addr, &preflight(server.addr, "https://app.example")).await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(
        head.contains("access-control-allow-origin: https://app.example"),
        "{head}"
    );
    assert!(head.contains("authorization"), "{head}");

    let head = http1(server.addr, &preflight(server.addr, "https://evil.example")).await;
    assert!(!head.contains("access-control-allow-origin"), "{head}");

    // The actual call from the allowed origin carries the CORS headers too.
    let org = common::unique_org();
    let mut admin = server.user(&org, "web-cors", PlatformRole::Admin).await;
    let created = admin.create("cors").await;
    let http = hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build_http();
    let web = tower::ServiceBuilder::new()
        .layer(GrpcWebClientLayer::new())
        .service(http);
    let mut client = DashboardServiceClient::with_origin(
        web,
        format!("http://{}", server.addr).parse().unwrap(),
    );
    let mut request = admin.req(pb::GetDashboardRequest {
        name: created.name.clone(),
        view: 0,
    });
    request
        .metadata_mut()
        .insert("origin", "https://app.example".parse().unwrap());
    let response = client
        .get_dashboard(request)
        .await
        .expect("call with origin");
    assert_eq!(
        response
            .metadata()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("https://app.example")
    );
}
