//! A real Envoy in front of two replicas with active gRPC health checking: a client loop
//! through Envoy while one replica drains sees no failed call, and Envoy's health check
//! records NOT_SERVING (a health-check failure, not a network failure) before the replica
//! closes; a Health/Watch stream open on that replica ends with UNAVAILABLE.
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

fn envoy_config(listen: u16, admin: u16, replicas: &[SocketAddr]) -> String {
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
          - name: envoy.filters.http.router
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
    std::fs::write(&config, envoy_config(listen, admin_port, &[a.addr, b.addr])).unwrap();
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
