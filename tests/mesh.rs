//! A real Envoy in front of two replicas with active gRPC health checking: a client loop
//! through Envoy while one replica drains sees no failed call, and Envoy's health check
//! records NOT_SERVING (a health-check failure, not a network failure) before the replica
//! closes; a Health/Watch stream open on that replica ends with UNAVAILABLE. Through the same
//! Envoy with its grpc_json_transcoder and grpc_web filters, REST+JSON calls (errors as JSON
//! with their ErrorInfo) and gRPC-Web calls reach the replicas.
//!
//! Needs the `envoy` binary: `ENVOY_BIN`, else `envoy` on PATH, else the venv of
//! scripts/check-deploy.sh. Without one the test says so and passes, unless
//! `MESH_TEST_REQUIRED=1` (.ci/run sets it in its mesh section, after installing Envoy).

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use dashboard_service::pb::directory_service_client::DirectoryServiceClient;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_stream::StreamExt;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

fn envoy_binary() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("ENVOY_BIN")
        && !path.is_empty()
    {
        return Some(PathBuf::from(path));
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("envoy"))
            .find(|candidate| candidate.is_file())
    });
    on_path.or_else(|| {
        let venv = std::env::temp_dir().join("dashboard-deploy-check-venv/bin/envoy");
        venv.is_file().then_some(venv)
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

async fn http_get(addr: SocketAddr, path: &str) -> Option<String> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.ok()?;
    Some(response.split_once("\r\n\r\n")?.1.to_string())
}

/// The value of one Envoy counter or gauge (`name: value` lines of `/stats`).
async fn stat(admin: SocketAddr, name: &str) -> Option<u64> {
    let text = http_get(admin, &format!("/stats?filter=^{name}$")).await?;
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name}: ")))
        .and_then(|v| v.trim().parse().ok())
}

/// Waits (bounded) until `done` holds; panics with `what` otherwise.
async fn wait_for<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..600 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// The HTTP filters before the router that give REST+JSON (grpc_json_transcoder, from the
/// `google.api.http` annotations and the descriptor set at `descriptor`) and gRPC-Web (the
/// grpc_web filter turns it into gRPC before the transcoder, which passes gRPC through).
fn rest_filters(descriptor: &std::path::Path) -> String {
    format!(
        r#"          - name: envoy.filters.http.grpc_web
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.grpc_web.v3.GrpcWeb
          - name: envoy.filters.http.grpc_json_transcoder
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder
              proto_descriptor: "{}"
              services:
              - dashboards.v1.DashboardService
              - dashboards.v1.WidgetService
              - dashboards.v1.SharingService
              - dashboards.v1.DirectoryService
              - dashboards.v1.AuditService
              convert_grpc_status: true
              print_options: {{ always_print_primitive_fields: true }}
"#,
        descriptor.display()
    )
}

fn envoy_config(listen: u16, admin: u16, replicas: &[SocketAddr], filters: &str) -> String {
    let endpoints: String = replicas
        .iter()
        .map(|r| {
            format!(
                "        - endpoint: {{ address: {{ socket_address: {{ address: 127.0.0.1, port_value: {} }} }} }}\n",
                r.port()
            )
        })
        .collect();
    format!(
        r#"admin:
  address: {{ socket_address: {{ address: 127.0.0.1, port_value: {admin} }} }}
static_resources:
  listeners:
  - name: grpc
    address: {{ socket_address: {{ address: 127.0.0.1, port_value: {listen} }} }}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: grpc
          codec_type: AUTO
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: {{ prefix: "/" }}
                route: {{ cluster: dashboard, timeout: 0s }}
          http_filters:
{filters}          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: dashboard
    type: STATIC
    connect_timeout: 1s
    lb_policy: ROUND_ROBIN
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: {{ http2_protocol_options: {{}} }}
    health_checks:
    - timeout: 1s
      interval: 0.2s
      no_traffic_interval: 0.2s
      unhealthy_threshold: 1
      healthy_threshold: 1
      grpc_health_check: {{ service_name: "" }}
    load_assignment:
      cluster_name: dashboard
      endpoints:
      - lb_endpoints:
{endpoints}"#
    )
}

/// Kills Envoy when the test ends, however it ends.
struct Envoy(std::process::Child);

impl Drop for Envoy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draining_replica_behind_envoy_fails_no_call() {
    let Some(envoy) = envoy_binary() else {
        assert!(
            std::env::var("MESH_TEST_REQUIRED").as_deref() != Ok("1"),
            "MESH_TEST_REQUIRED=1 but no envoy binary (ENVOY_BIN, PATH, deploy-check venv)"
        );
        eprintln!("mesh test skipped: no envoy binary (set ENVOY_BIN)");
        return;
    };

    // Replica A drains; B keeps serving. The delay only has to outlast Envoy's 0.2s checks.
    let (stop_a, stopped_a) = tokio::sync::oneshot::channel::<()>();
    let drain = |c: &mut dashboard_service::server::config::Config| {
        c.shutdown_delay = Duration::from_secs(3);
        c.shutdown_grace = Duration::from_secs(5);
    };
    let (a, thread_a) = common::start_until(drain, async move {
        let _ = stopped_a.await;
    });
    let b = common::start(drain);

    let listen = free_port();
    let admin_port = free_port();
    let admin: SocketAddr = format!("127.0.0.1:{admin_port}").parse().unwrap();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("envoy.yaml");
    std::fs::write(
        &config,
        envoy_config(listen, admin_port, &[a.addr, b.addr], ""),
    )
    .unwrap();
    let log = std::fs::File::create(dir.path().join("envoy.log")).unwrap();
    let _envoy = Envoy(
        std::process::Command::new(&envoy)
            .arg("-c")
            .arg(&config)
            .args(["--disable-hot-restart", "--log-level", "warn"])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start envoy"),
    );
    let healthy = "cluster.dashboard.membership_healthy";
    wait_for("both replicas healthy in Envoy", || async {
        stat(admin, healthy).await == Some(2)
    })
    .await;

    // Both replicas share the token secret; GetUser users/me works on either (the caller is
    // recorded just in time by whichever replica serves it).
    let org = common::unique_org();
    let token = common::token(&org, "mesh-user", None, PlatformRole::Viewer);
    let channel = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{listen}"))
        .unwrap()
        .connect()
        .await
        .expect("connect to envoy");
    let running = Arc::new(AtomicBool::new(true));
    let answered = Arc::new(AtomicUsize::new(0));
    let mut loops = Vec::new();
    for _ in 0..4 {
        let mut client = DirectoryServiceClient::new(channel.clone());
        let (token, running, answered) = (token.clone(), running.clone(), answered.clone());
        loops.push(tokio::spawn(async move {
            let mut failures = Vec::new();
            // Bounded: at most this many calls per loop.
            for _ in 0..100_000 {
                if !running.load(Ordering::Relaxed) {
                    break;
                }
                let request = common::with_token(
                    pb::GetUserRequest {
                        name: "users/me".into(),
                    },
                    &token,
                );
                match client.get_user(request).await {
                    Ok(_) => {
                        answered.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(status) => failures.push(status),
                }
            }
            failures
        }));
    }
    wait_for("calls through Envoy", || async {
        answered.load(Ordering::Relaxed) >= 100
    })
    .await;

    // A Health/Watch stream straight to the replica that will drain.
    let mut watch = HealthClient::new(a.channel().await)
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("watch")
        .into_inner();
    let first = watch.next().await.expect("first status").unwrap();
    assert_eq!(first.status(), ServingStatus::Serving);

    let failures_before = stat(admin, "cluster.dashboard.health_check.failure")
        .await
        .unwrap_or(0);
    stop_a.send(()).unwrap();
    let next = watch.next().await.expect("a status after SIGTERM").unwrap();
    assert_eq!(next.status(), ServingStatus::NotServing);

    // During the delay Envoy's check sees NOT_SERVING (a failure, not a network failure)
    // and takes A out, while A is still up.
    wait_for("Envoy to mark the draining replica unhealthy", || async {
        stat(admin, healthy).await == Some(1)
    })
    .await;
    let failures_now = stat(admin, "cluster.dashboard.health_check.failure")
        .await
        .unwrap_or(0);
    assert!(
        failures_now > failures_before,
        "Envoy recorded no NOT_SERVING check"
    );
    assert_eq!(
        stat(admin, "cluster.dashboard.health_check.network_failure").await,
        Some(0),
        "the replica was taken out by a network failure, not by NOT_SERVING"
    );
    assert!(
        !thread_a.is_finished(),
        "the replica closed before Envoy saw NOT_SERVING"
    );

    // The drain ends the watch with UNAVAILABLE and the replica stops cleanly.
    match watch.next().await {
        Some(Err(status)) => {
            common::assert_error(&status, Code::Unavailable, "SHUTTING_DOWN");
        }
        other => panic!("expected the watch to end with UNAVAILABLE, got {other:?}"),
    }
    drop(watch);
    let result = tokio::task::spawn_blocking(move || thread_a.join())
        .await
        .unwrap();
    assert_eq!(result.expect("replica A"), Ok(()));

    // Some more calls after A is gone, then stop the loops.
    let after = answered.load(Ordering::Relaxed) + 100;
    wait_for("calls after the replica stopped", || async {
        answered.load(Ordering::Relaxed) >= after
    })
    .await;
    running.store(false, Ordering::Relaxed);
    let mut failures = Vec::new();
    for handle in loops {
        failures.extend(handle.await.expect("loop"));
    }
    assert!(
        failures.is_empty(),
        "failed calls through Envoy: {failures:?}"
    );
    assert!(answered.load(Ordering::Relaxed) >= after);
}

/// A response read from a plain HTTP/1.1 exchange: status code, lowercased headers, body
/// (a chunked body is decoded).
struct HttpResponse {
    status: u16,
    headers: String,
    body: String,
}

impl HttpResponse {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|err| panic!("not JSON ({err}): {} {}", self.status, self.body))
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).expect("chunk size");
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = &rest[size..];
        body = body.strip_prefix("\r\n").unwrap_or(body);
    }
    out
}

/// One REST call through Envoy: `method path` with an optional JSON body and bearer token.
async fn rest(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<serde_json::Value>,
) -> HttpResponse {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.expect("read");
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP response");
    let head = head.to_ascii_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    let body = if head.contains("transfer-encoding: chunked") {
        dechunk(body)
    } else {
        body.to_string()
    };
    HttpResponse {
        status,
        headers: head,
        body,
    }
}

/// The google.rpc.ErrorInfo of a JSON error body (`convert_grpc_status`).
fn error_info(response: &HttpResponse) -> serde_json::Value {
    let json = response.json();
    json["details"]
        .as_array()
        .and_then(|details| {
            details
                .iter()
                .find(|d| d["@type"] == "type.googleapis.com/google.rpc.ErrorInfo")
        })
        .cloned()
        .unwrap_or_else(|| panic!("no ErrorInfo in {}", response.body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_json_and_grpc_web_through_envoy() {
    let Some(envoy) = envoy_binary() else {
        assert!(
            std::env::var("MESH_TEST_REQUIRED").as_deref() != Ok("1"),
            "MESH_TEST_REQUIRED=1 but no envoy binary (ENVOY_BIN, PATH, deploy-check venv)"
        );
        eprintln!("mesh test skipped: no envoy binary (set ENVOY_BIN)");
        return;
    };
    // Two replicas on one database (TEST_DATABASE_URL, else one SQLite file), so that a
    // dashboard created through one is read back through the other.
    let dir = tempfile::tempdir().expect("temp dir");
    let shared = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("shared.db").display()
    );
    let on_shared = |c: &mut dashboard_service::server::config::Config| {
        if std::env::var("TEST_DATABASE_URL").map_or(true, |url| url.is_empty()) {
            c.database_url = shared.clone();
        }
    };
    let a = common::start(on_shared);
    let b = common::start(on_shared);

    let listen = free_port();
    let admin_port = free_port();
    let admin: SocketAddr = format!("127.0.0.1:{admin_port}").parse().unwrap();
    let proxy: SocketAddr = format!("127.0.0.1:{listen}").parse().unwrap();
    let descriptor = dir.path().join("dashboards.binpb");
    std::fs::write(&descriptor, dashboard_service::TRANSCODER_DESCRIPTOR_SET).unwrap();
    let config = dir.path().join("envoy.yaml");
    let filters = rest_filters(&descriptor);
    std::fs::write(
        &config,
        envoy_config(listen, admin_port, &[a.addr, b.addr], &filters),
    )
    .unwrap();
    let log_path = dir.path().join("envoy.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let _envoy = Envoy(
        std::process::Command::new(&envoy)
            .arg("-c")
            .arg(&config)
            .args(["--disable-hot-restart", "--log-level", "warn"])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start envoy"),
    );
    let healthy = "cluster.dashboard.membership_healthy";
    for _ in 0..600 {
        if stat(admin, healthy).await == Some(2) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        stat(admin, healthy).await,
        Some(2),
        "Envoy did not come up with both replicas: {}",
        std::fs::read_to_string(&log_path).unwrap_or_default()
    );

    let org = common::unique_org();
    let bearer = common::token(&org, "rest-admin", None, PlatformRole::Admin);
    let token = Some(bearer.as_str());

    // Create: POST /v1/dashboards, body = the dashboard.
    let created = rest(
        proxy,
        "POST",
        "/v1/dashboards",
        token,
        Some(serde_json::json!({"title": "over REST", "description": "made with curl"})),
    )
    .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert!(
        created.headers.contains("content-type: application/json"),
        "{}",
        created.headers
    );
    let dashboard = created.json();
    let name = dashboard["name"].as_str().expect("name").to_string();
    assert!(name.starts_with("dashboards/"), "{dashboard}");
    assert_eq!(dashboard["title"], "over REST");
    assert!(dashboard["createTime"].is_string(), "{dashboard}");

    // Get: GET /v1/{name=dashboards/*}.
    let got = rest(proxy, "GET", &format!("/v1/{name}"), token, None).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.json()["description"], "made with curl");

    // List: GET /v1/dashboards with query parameters.
    let listed = rest(proxy, "GET", "/v1/dashboards?page_size=10", token, None).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let names: Vec<String> = listed.json()["dashboards"]
        .as_array()
        .expect("dashboards")
        .iter()
        .filter_map(|d| d["name"].as_str().map(str::to_string))
        .collect();
    assert_eq!(names, vec![name.clone()]);

    // Update: PATCH /v1/{dashboard.name=dashboards/*}?update_mask=title, body = the dashboard.
    let updated = rest(
        proxy,
        "PATCH",
        &format!("/v1/{name}?update_mask=title"),
        token,
        Some(serde_json::json!({"title": "renamed", "description": "ignored: not in the mask"})),
    )
    .await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    let updated = updated.json();
    assert_eq!(updated["title"], "renamed");
    assert_eq!(updated["description"], "made with curl");

    // A stale etag: ABORTED -> 409, with its ErrorInfo.
    let stale = rest(
        proxy,
        "DELETE",
        &format!(
            "/v1/{name}?etag={}",
            dashboard["etag"].as_str().expect("etag")
        ),
        token,
        None,
    )
    .await;
    assert_eq!(stale.status, 409, "{}", stale.body);
    assert_eq!(stale.json()["code"], 10, "{}", stale.body);

    // Delete: DELETE /v1/{name=dashboards/*} moves it to the trash.
    let deleted = rest(proxy, "DELETE", &format!("/v1/{name}"), token, None).await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert!(deleted.json()["deleteTime"].is_string(), "{}", deleted.body);

    // Undelete: the custom method POST /v1/{name=dashboards/*}:undelete.
    let undeleted = rest(
        proxy,
        "POST",
        &format!("/v1/{name}:undelete"),
        token,
        Some(serde_json::json!({})),
    )
    .await;
    assert_eq!(undeleted.status, 200, "{}", undeleted.body);
    assert!(
        undeleted.json()["deleteTime"].is_null(),
        "{}",
        undeleted.body
    );

    // Errors arrive as JSON google.rpc.Status with the ErrorInfo: NOT_FOUND -> 404.
    let missing = rest(
        proxy,
        "GET",
        "/v1/dashboards/0190a0a0-0000-7000-8000-000000000000",
        token,
        None,
    )
    .await;
    assert_eq!(missing.status, 404, "{}", missing.body);
    assert!(
        missing.headers.contains("content-type: application/json"),
        "{}",
        missing.headers
    );
    assert_eq!(missing.json()["code"], 5, "{}", missing.body);
    let info = error_info(&missing);
    assert_eq!(info["reason"], "NOT_FOUND", "{info}");
    assert_eq!(info["domain"], "dashboards.v1", "{info}");

    // No token: UNAUTHENTICATED -> 401, with its ErrorInfo.
    let anonymous = rest(proxy, "GET", "/v1/dashboards", None, None).await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    assert_eq!(error_info(&anonymous)["reason"], "MISSING_CREDENTIALS");

    // Invalid input: INVALID_ARGUMENT -> 400 with the BadRequest violations too.
    let invalid = rest(
        proxy,
        "POST",
        "/v1/dashboards",
        token,
        Some(serde_json::json!({"title": ""})),
    )
    .await;
    assert_eq!(invalid.status, 400, "{}", invalid.body);
    assert!(
        invalid.json()["details"].as_array().is_some_and(|d| d
            .iter()
            .any(|d| d["@type"] == "type.googleapis.com/google.rpc.BadRequest")),
        "{}",
        invalid.body
    );

    // gRPC-Web over HTTP/1.1 through the same Envoy (its grpc_web filter).
    let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http();
    let web = tower::ServiceBuilder::new()
        .layer(tonic_web::GrpcWebClientLayer::new())
        .service(http);
    let origin = format!("http://{proxy}").parse().expect("origin");
    let mut client =
        dashboard_service::pb::dashboard_service_client::DashboardServiceClient::with_origin(
            web, origin,
        );
    let got = client
        .get_dashboard(common::with_token(
            pb::GetDashboardRequest {
                name: name.clone(),
                view: 0,
            },
            &bearer,
        ))
        .await
        .expect("GetDashboard over gRPC-Web through Envoy")
        .into_inner();
    assert_eq!(got.title, "renamed");
    let missing = client
        .get_dashboard(common::with_token(
            pb::GetDashboardRequest {
                name: "dashboards/0190a0a0-0000-7000-8000-000000000000".into(),
                view: 0,
            },
            &bearer,
        ))
        .await
        .unwrap_err();
    common::assert_error(&missing, Code::NotFound, "NOT_FOUND");
}
