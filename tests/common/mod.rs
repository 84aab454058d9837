//! Test harness: a real server on 127.0.0.1:0 (SQLite in a temp dir, or PostgreSQL when
//! `TEST_DATABASE_URL` is set) and generated clients. Tests isolate themselves by using a
//! fresh organization each, so they can share one server per test binary.

#![allow(dead_code)]

pub mod access;
pub mod folders;
pub mod logs;
pub mod replica;

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use dashboard_service::pb::audit_service_client::AuditServiceClient;
use dashboard_service::pb::dashboard_service_client::DashboardServiceClient;
use dashboard_service::pb::directory_service_client::DirectoryServiceClient;
use dashboard_service::pb::folder_service_client::FolderServiceClient;
use dashboard_service::pb::label_service_client::LabelServiceClient;
use dashboard_service::pb::sharing_service_client::SharingServiceClient;
use dashboard_service::pb::version_service_client::VersionServiceClient;
use dashboard_service::pb::widget_service_client::WidgetServiceClient;
use dashboard_service::server::auth::{JwtOptions, KeyMaterial, Minter, TokenRequest};
use dashboard_service::server::config::Config;
use tonic::transport::{Channel, ClientTlsConfig};
use tonic::{Code, Request, Response, Status};
use tonic_types::{ErrorDetails, StatusExt};

pub const SECRET: &str = "test-secret-that-is-long-enough-for-hs256-0123456789";

pub struct TestServer {
    pub addr: SocketAddr,
    /// The Prometheus endpoint: `http://{metrics_addr}/metrics`.
    pub metrics_addr: SocketAddr,
    pub config: Config,
    /// How clients reach a server with TLS_CERT_FILE (`None`: plaintext).
    pub tls: Option<ClientTlsConfig>,
    _dir: tempfile::TempDir,
}

/// The server shared by the tests of one binary.
pub fn server() -> &'static TestServer {
    static SERVER: OnceLock<TestServer> = OnceLock::new();
    SERVER.get_or_init(|| start(|_| {}))
}

/// A dedicated server, for tests that need their own configuration.
pub fn start(customize: impl FnOnce(&mut Config)) -> TestServer {
    start_until(customize, std::future::pending()).0
}

/// A dedicated server that shuts down when `shutdown` resolves; the thread ends with the
/// result of `serve`.
pub fn start_until(
    customize: impl FnOnce(&mut Config),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> (TestServer, std::thread::JoinHandle<Result<(), String>>) {
    start_with(customize, shutdown, None)
}

/// A dedicated server with TLS (the customization sets TLS_CERT_FILE and TLS_KEY_FILE); its
/// clients, and the wait until it serves, use `tls`.
pub fn start_tls(customize: impl FnOnce(&mut Config), tls: ClientTlsConfig) -> TestServer {
    start_with(customize, std::future::pending(), Some(tls)).0
}

/// [`start_until`], with clients speaking TLS when `tls` is set.
pub fn start_with(
    customize: impl FnOnce(&mut Config),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    tls: Option<ClientTlsConfig>,
) -> (TestServer, std::thread::JoinHandle<Result<(), String>>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::defaults();
    config.database_url = match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display()),
    };
    config.jwt_secret = Some(SECRET.to_string());
    config.listen_addr = "127.0.0.1:0".parse().expect("addr");
    config.shutdown_grace = Duration::from_secs(2);
    config.shutdown_delay = Duration::from_millis(200);
    // One server serves every test of a binary at once, and some tests fire dozens of calls
    // together: a limit far above that, so that only tests/overload.rs (which sets its own)
    // sees calls shed. Every call still takes its slot and gives it back.
    config.max_concurrent_calls = Some(1024);
    customize(&mut config);

    let listener = std::net::TcpListener::bind(config.listen_addr).expect("bind");
    let addr = listener.local_addr().expect("local addr");
    listener.set_nonblocking(true).expect("nonblocking");
    let metrics_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind metrics");
    let metrics_addr = metrics_listener.local_addr().expect("metrics addr");
    metrics_listener.set_nonblocking(true).expect("nonblocking");
    config.metrics_addr = metrics_addr;
    let serve_config = config.clone();
    // The server outlives each test's runtime: it runs on its own thread and runtime.
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            let metrics_listener =
                tokio::net::TcpListener::from_std(metrics_listener).expect("metrics listener");
            let result = dashboard_service::server::serve_with_metrics(
                serve_config,
                listener,
                metrics_listener,
                shutdown,
            )
            .await;
            if let Err(err) = &result {
                eprintln!("test server failed: {err}");
            }
            result.map_err(|e| e.to_string())
        })
    });
    // Tests call this from inside their runtime; wait from a plain thread.
    let probe_tls = tls.clone();
    std::thread::spawn(move || wait_until_serving(addr, probe_tls))
        .join()
        .expect("server did not start");
    (
        TestServer {
            addr,
            metrics_addr,
            config,
            tls,
            _dir: dir,
        },
        thread,
    )
}

/// A channel to `addr`: plaintext, or TLS with `tls` (the URI names the address; the
/// certificate's name comes from `tls`).
pub async fn connect(
    addr: SocketAddr,
    tls: Option<&ClientTlsConfig>,
) -> Result<Channel, tonic::transport::Error> {
    match tls {
        None => {
            Channel::from_shared(format!("http://{addr}"))
                .expect("uri")
                .connect()
                .await
        }
        Some(tls) => {
            Channel::from_shared(format!("https://{addr}"))
                .expect("uri")
                .tls_config(tls.clone())?
                .connect()
                .await
        }
    }
}

fn wait_until_serving(addr: SocketAddr, tls: Option<ClientTlsConfig>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    runtime.block_on(async {
        for _ in 0..300 {
            if let Ok(channel) = connect(addr, tls.as_ref()).await {
                let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
                let request = tonic_health::pb::HealthCheckRequest {
                    service: String::new(),
                };
                if let Ok(response) = health.check(request).await
                    && response.into_inner().status == 1
                {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("test server at {addr} did not become SERVING");
    });
}

impl TestServer {
    pub async fn channel(&self) -> Channel {
        connect(self.addr, self.tls.as_ref())
            .await
            .expect("connect")
    }

    /// A sharing client without credentials.
    pub async fn sharing_client(&self) -> SharingServiceClient<Channel> {
        SharingServiceClient::new(self.channel().await)
    }

    pub async fn dashboards(&self) -> DashboardServiceClient<Channel> {
        DashboardServiceClient::new(self.channel().await)
    }

    /// A caller of this server (org user).
    pub async fn user(&self, org: &str, sub: &str, role: PlatformRole) -> Caller {
        self.caller(org, sub, None, role).await
    }

    /// A caller that belongs to a tenant of the org.
    pub async fn tenant_user(
        &self,
        org: &str,
        sub: &str,
        tenant: &str,
        role: PlatformRole,
    ) -> Caller {
        self.caller(org, sub, Some(tenant), role).await
    }

    /// A caller already known to the directory (it made one call, so it was recorded
    /// just-in-time and can be shared with).
    pub async fn caller(
        &self,
        org: &str,
        sub: &str,
        tenant: Option<&str>,
        role: PlatformRole,
    ) -> Caller {
        recorded_caller(&self.channel().await, org, sub, tenant, role).await
    }
}

/// A caller on `channel` already known to the directory (it made one call, so it was
/// recorded just-in-time and can be shared with).
pub async fn recorded_caller(
    channel: &Channel,
    org: &str,
    sub: &str,
    tenant: Option<&str>,
    role: PlatformRole,
) -> Caller {
    let mut caller = Caller::on(channel, token(org, sub, tenant, role), org, sub);
    let request = caller.req(pb::GetUserRequest {
        name: "users/me".into(),
    });
    caller
        .directory
        .get_user(request)
        .await
        .expect("the caller is recorded");
    caller
}

pub fn token(org: &str, sub: &str, tenant: Option<&str>, role: PlatformRole) -> String {
    let options = JwtOptions {
        secret: Some(SECRET.into()),
        ..Default::default()
    };
    let keys = KeyMaterial::load(&options).expect("keys");
    Minter::new(&keys, &options)
        .expect("minter")
        .mint(&TokenRequest {
            sub: sub.into(),
            org: org.into(),
            tenant: tenant.map(str::to_string),
            role,
            email: Some(format!("{sub}@{org}.test")),
            name: Some(sub.to_string()),
            ttl: Duration::from_secs(3600),
        })
        .expect("mint")
}

/// A fresh organization: the wall that keeps tests apart.
pub fn unique_org() -> String {
    format!("org-{}", uuid::Uuid::now_v7().simple())
}

/// An authenticated client.
pub struct Caller {
    pub token: String,
    pub sub: String,
    pub org: String,
    pub dashboards: DashboardServiceClient<Channel>,
    pub sharing: SharingServiceClient<Channel>,
    pub widgets: WidgetServiceClient<Channel>,
    pub versions: VersionServiceClient<Channel>,
    pub audit: AuditServiceClient<Channel>,
    pub directory: DirectoryServiceClient<Channel>,
    pub labels: LabelServiceClient<Channel>,
    pub folders: FolderServiceClient<Channel>,
}

impl Caller {
    /// A caller with `token` (for `sub` of `org`), with a client of every service on `channel`.
    pub fn on(channel: &Channel, token: String, org: &str, sub: &str) -> Caller {
        Caller {
            token,
            sub: sub.to_string(),
            org: org.to_string(),
            dashboards: DashboardServiceClient::new(channel.clone()),
            sharing: SharingServiceClient::new(channel.clone()),
            widgets: WidgetServiceClient::new(channel.clone()),
            versions: VersionServiceClient::new(channel.clone()),
            audit: AuditServiceClient::new(channel.clone()),
            directory: DirectoryServiceClient::new(channel.clone()),
            labels: LabelServiceClient::new(channel.clone()),
            folders: FolderServiceClient::new(channel.clone()),
        }
    }

    pub fn req<T>(&self, message: T) -> Request<T> {
        with_token(message, &self.token)
    }

    pub fn name(&self) -> String {
        format!("users/{}", self.sub)
    }

    /// Shares `dashboard` with a grantee.
    pub async fn share(
        &mut self,
        dashboard: &str,
        grantee: pb::grantee::Kind,
        role: &str,
    ) -> Result<pb::Share, Status> {
        let request = self.req(pb::ShareDashboardRequest {
            name: dashboard.into(),
            grantee: Some(pb::Grantee {
                kind: Some(grantee),
            }),
            role: role.into(),
            expire_time: None,
        });
        self.sharing
            .share_dashboard(request)
            .await
            .map(|r| r.into_inner())
    }

    /// Shares `dashboard` with another caller.
    pub async fn share_with(&mut self, dashboard: &str, with: &Caller, role: &str) -> pb::Share {
        self.share(dashboard, pb::grantee::Kind::User(with.name()), role)
            .await
            .expect("share")
    }

    /// The effective permissions CheckAccess reports for the caller.
    pub async fn permissions(&mut self, dashboard: &str) -> Result<Vec<pb::Permission>, Status> {
        let request = self.req(pb::CheckAccessRequest {
            name: dashboard.into(),
            permission: 0,
            principal: String::new(),
        });
        let response = self.sharing.check_access(request).await?.into_inner();
        Ok(response.permissions().collect())
    }

    /// Creates a group (the caller must be allowed to).
    pub async fn group(&mut self, display_name: &str, members: &[&Caller]) -> pb::Group {
        let request = self.req(pb::CreateGroupRequest {
            group: Some(pb::Group {
                display_name: display_name.into(),
                kind: pb::GroupKind::Org as i32,
                ..Default::default()
            }),
            members: members.iter().map(|m| m.name()).collect(),
        });
        self.directory
            .create_group(request)
            .await
            .expect("create group")
            .into_inner()
    }

    pub async fn create(&mut self, title: &str) -> pb::Dashboard {
        let request = self.req(pb::CreateDashboardRequest {
            dashboard: Some(pb::Dashboard {
                title: title.into(),
                ..Default::default()
            }),
            request_id: String::new(),
        });
        self.dashboards
            .create_dashboard(request)
            .await
            .expect("create")
            .into_inner()
    }

    /// Creates a dashboard; returns it and the revision its creation committed at.
    pub async fn create_at_revision(&mut self, title: &str) -> (pb::Dashboard, i64) {
        let request = self.req(pb::CreateDashboardRequest {
            dashboard: Some(pb::Dashboard {
                title: title.into(),
                ..Default::default()
            }),
            request_id: String::new(),
        });
        let response = self
            .dashboards
            .create_dashboard(request)
            .await
            .expect("create");
        let revision = revision_of(&response);
        (response.into_inner(), revision)
    }

    /// Changes a dashboard's title; returns the revision the write committed at.
    pub async fn retitle(&mut self, name: &str, title: &str) -> i64 {
        let request = self.req(retitle_request(name, title));
        let response = self.dashboards.update_dashboard(request).await;
        revision_of(&response.expect("update title"))
    }

    /// A WatchDashboards stream from `start_revision` (0: now) through `filter`.
    pub async fn watch(
        &mut self,
        start_revision: i64,
        filter: &str,
    ) -> Result<tonic::codec::Streaming<pb::WatchDashboardsResponse>, Status> {
        let request = self.req(pb::WatchDashboardsRequest {
            start_revision,
            filter: filter.into(),
        });
        self.dashboards
            .watch_dashboards(request)
            .await
            .map(|r| r.into_inner())
    }

    pub async fn get(&mut self, name: &str) -> Result<pb::Dashboard, Status> {
        let request = self.req(pb::GetDashboardRequest {
            name: name.into(),
            view: 0,
        });
        self.dashboards
            .get_dashboard(request)
            .await
            .map(|r| r.into_inner())
    }

    pub async fn list(
        &mut self,
        request: pb::ListDashboardsRequest,
    ) -> Result<pb::ListDashboardsResponse, Status> {
        let request = self.req(request);
        self.dashboards
            .list_dashboards(request)
            .await
            .map(|r| r.into_inner())
    }

    /// Every page of a listing, following next_page_token.
    pub async fn list_all(&mut self, mut request: pb::ListDashboardsRequest) -> Vec<pb::Dashboard> {
        let mut all = Vec::new();
        loop {
            let page = self.list(request.clone()).await.expect("list page");
            assert!(
                page.dashboards.len() <= request.page_size.max(1) as usize
                    || request.page_size == 0
            );
            all.extend(page.dashboards);
            if page.next_page_token.is_empty() {
                return all;
            }
            request.page_token = page.next_page_token;
        }
    }
}

/// An UpdateDashboard of `name`'s title alone.
pub fn retitle_request(name: &str, title: &str) -> pb::UpdateDashboardRequest {
    pb::UpdateDashboardRequest {
        dashboard: Some(pb::Dashboard {
            name: name.into(),
            title: title.into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["title".into()],
        }),
        version_message: String::new(),
    }
}

pub fn with_token<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("header"),
    );
    request
}

/// Asserts the status code and the ErrorInfo (reason, domain), returning the details.
#[track_caller]
pub fn assert_error(status: &Status, code: Code, reason: &str) -> ErrorDetails {
    assert_eq!(status.code(), code, "unexpected status: {status:?}");
    let details = status.get_error_details();
    let info = details
        .error_info()
        .unwrap_or_else(|| panic!("no ErrorInfo in {status:?}"));
    assert_eq!(info.reason, reason, "unexpected reason in {status:?}");
    assert_eq!(info.domain, "dashboards.v1");
    details
}

/// The fields named by the BadRequest violations.
pub fn violated_fields(details: &ErrorDetails) -> Vec<String> {
    details
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}

/// The response metadata a write's response carries its org revision in.
pub const REVISION_HEADER: &str = "x-dashboards-revision";

/// The revision a response reports, if any (reads and writes that changed nothing: none).
pub fn revision_in<T>(response: &Response<T>) -> Option<i64> {
    response
        .metadata()
        .get(REVISION_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// The revision a write's response reports; panics when it has none.
#[track_caller]
pub fn revision_of<T>(response: &Response<T>) -> i64 {
    revision_in(response)
        .unwrap_or_else(|| panic!("no integer {REVISION_HEADER} in {:?}", response.metadata()))
}
