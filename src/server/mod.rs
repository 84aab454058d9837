//! Assembles and runs the gRPC server: one builder registers each service in the router,
//! in health and in reflection (v1 and v1alpha) together; background jobs (the database
//! breaker and health, trash purge); optional OTLP trace export; graceful shutdown.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tonic::server::NamedService;
use tonic::service::{Routes, RoutesBuilder};
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tower_http::catch_panic::CatchPanicLayer;

use crate::api::{
    AuditApi, CommentApi, DashboardApi, DirectoryApi, FolderApi, LabelApi, LibraryWidgetApi,
    SharingApi, VersionApi, WidgetApi,
};
use crate::app::App;
use crate::pb::audit_service_server::AuditServiceServer;
use crate::pb::comment_service_server::CommentServiceServer;
use crate::pb::dashboard_service_server::DashboardServiceServer;
use crate::pb::directory_service_server::DirectoryServiceServer;
use crate::pb::folder_service_server::FolderServiceServer;
use crate::pb::label_service_server::LabelServiceServer;
use crate::pb::library_widget_service_server::LibraryWidgetServiceServer;
use crate::pb::sharing_service_server::SharingServiceServer;
use crate::pb::version_service_server::VersionServiceServer;
use crate::pb::widget_service_server::WidgetServiceServer;
use crate::server::auth::{AuthLayer, JitUsers, KeyMaterial, Verifier};
use crate::server::config::Config;
use crate::server::layers::{
    BreakerLayer, DeadlineLayer, MinRevisionLayer, OverloadLayer, status_layer,
};
use crate::store::Store;

pub mod auth;
mod calls;
pub mod cli;
pub mod config;
mod drain;
mod jobs;
pub mod layers;
mod linger;
pub mod logging;
pub mod metrics;
mod notify;
pub mod otlp;
pub mod probe;
pub mod tls;
pub mod traces;
pub use calls::REQUEST_ID;
pub use drain::{Drain, LONG_STREAMS};
pub use traces::{TRACEPARENT, TRACESTATE, trace_id_of};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// gzip and zstd both ways on a generated server: requests in either are accepted, responses
/// are compressed when the caller's `grpc-accept-encoding` allows it.
macro_rules! compressed {
    ($server:expr) => {
        $server
            .accept_compressed(tonic::codec::CompressionEncoding::Gzip)
            .accept_compressed(tonic::codec::CompressionEncoding::Zstd)
            .send_compressed(tonic::codec::CompressionEncoding::Gzip)
            .send_compressed(tonic::codec::CompressionEncoding::Zstd)
    };
}

/// The descriptor set of our protos, served by reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    tonic::include_file_descriptor_set!("dashboards_v1_descriptor");

/// Registers services in the router, health and reflection at once, so none can be
/// forgotten in one of them.
pub struct ServiceRegistry {
    routes: RoutesBuilder,
    names: Vec<&'static str>,
    health: HealthReporter,
}

impl ServiceRegistry {
    pub fn new() -> Self {
        let (health, health_service) = tonic_health::server::health_reporter();
        let mut routes = RoutesBuilder::default();
        routes.add_service(health_service);
        Self {
            routes,
            names: Vec::new(),
            health,
        }
    }

    pub fn register<S>(mut self, service: S) -> Self
    where
        S: tower::Service<
                http::Request<tonic::body::Body>,
                Response = http::Response<tonic::body::Body>,
                Error = std::convert::Infallible,
            > + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.routes.add_service(service);
        self.names.push(S::NAME);
        self
    }

    /// Adds reflection and returns the routes, with a handle on every service's health.
    pub fn build(mut self) -> Result<(Routes, Health), BoxError> {
        let reflection = || {
            tonic_reflection::server::Builder::configure()
                .include_reflection_service(false)
                .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
                // google.rpc.ErrorInfo & co., so grpcurl can print our error details.
                .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(
                    tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
                )
        };
        self.routes.add_service(reflection().build_v1()?);
        self.routes.add_service(reflection().build_v1alpha()?);
        Ok((
            self.routes.routes(),
            Health {
                reporter: self.health,
                names: self.names,
            },
        ))
    }
}

impl Default for ServiceRegistry {
    fn default() -> Self {
        Self::new()
    }
}

/// The health service name that reports SERVING while the process serves gRPC at all, whatever
/// the database and the drain say: for liveness and startup probes, so that a database outage
/// takes replicas out of rotation (readiness, `""`) without the kubelet restarting them.
pub const LIVENESS: &str = "liveness";

/// Sets the serving status of every registered service and of the server as a whole (`""`).
#[derive(Clone)]
pub struct Health {
    reporter: HealthReporter,
    names: Vec<&'static str>,
}

impl Health {
    pub async fn set(&self, status: ServingStatus) {
        self.reporter.set_service_status("", status).await;
        for name in &self.names {
            self.reporter.set_service_status(*name, status).await;
        }
    }
}

/// Connects to the database and applies migrations.
pub async fn open_store(config: &Config) -> Result<Store, BoxError> {
    let store = Store::connect(&config.db_options())
        .await
        .map_err(|e| match e {
            crate::core::Error::Unavailable(source) => {
                format!("cannot connect to the database: {source}").into()
            }
            other => BoxError::from(other.to_string()),
        })?;
    store.migrate().await.map_err(|e| match e {
        crate::core::Error::Internal(source) | crate::core::Error::Unavailable(source) => {
            BoxError::from(format!("migration failed: {source}"))
        }
        other => BoxError::from(other.to_string()),
    })?;
    Ok(store)
}

/// Serves on `listener` until `shutdown` resolves; then drains (see `drain`): NOT_SERVING at
/// once, serving on for `config.shutdown_delay`, then no new connections, GOAWAY, long
/// streams ended with UNAVAILABLE, and in-flight calls given `config.shutdown_grace`.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), BoxError> {
    let metrics_listener = TcpListener::bind(config.metrics_addr)
        .await
        .map_err(|e| format!("cannot listen on {} for metrics: {e}", config.metrics_addr))?;
    serve_with_metrics(config, listener, metrics_listener, shutdown).await
}

/// [`serve`], with the metrics endpoint on a listener the caller bound (tests bind port 0).
pub async fn serve_with_metrics(
    config: Config,
    listener: TcpListener,
    metrics_listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), BoxError> {
    // Settings that can be checked before touching anything else fail the start first.
    let tls = tls::server_config(&config.tls_files())?;
    let keys = KeyMaterial::load(&config.jwt_options())?;
    // The first fetch must succeed; the refresher runs until this function returns.
    let _jwks_refresher = match &keys {
        KeyMaterial::JwksUrl(remote) => Some(remote.start().await?),
        _ => None,
    };
    let store = open_store(&config).await?;
    install_page_token_key(&config, &keys)?;
    let verifier = Arc::new(Verifier::new(keys, &config.jwt_options()));
    let trace_export = otlp::TraceExport::from_config(&config)?;
    let mut app =
        App::new(store.clone()).with_fact_cache(config.fact_cache_mib, config.fact_cache_max_age);
    app.reach_plan = crate::store::dashboards::ReachPlan {
        folder_arms: config.listing_folder_arms,
        dense_reach_percent: config.listing_dense_reach_percent,
    };
    let auth = AuthLayer::new(verifier, Some(Arc::new(JitUsers::new(app.clone()))));

    let max = config.max_message_bytes;
    let dashboards = DashboardServiceServer::new(DashboardApi::new(
        app.clone(),
        config.limits(),
        config.trash_retention,
        config.watch_bookmark_interval,
    ))
    .max_decoding_message_size(max)
    .max_encoding_message_size(max);
    let widgets = WidgetServiceServer::new(WidgetApi::new(app.clone(), config.limits()))
        .max_decoding_message_size(max)
        .max_encoding_message_size(max);
    let sharing = SharingServiceServer::new(SharingApi::new(app.clone(), config.limits()))
        .max_decoding_message_size(max)
        .max_encoding_message_size(max);
    let directory = DirectoryServiceServer::new(DirectoryApi::new(app.clone(), config.limits()))
        .max_decoding_message_size(max)
        .max_encoding_message_size(max);
    let audit = AuditServiceServer::new(AuditApi::new(app.clone(), config.limits()))
        .max_decoding_message_size(max)
        .max_encoding_message_size(max);
    let versions = VersionServiceServer::new(VersionApi::new(app.clone(), config.limits()))
        .max_decoding_message_size(max)
        .max_encoding_message_size(max);
    let labels = LabelServiceServer::new(LabelApi::new(app.clone(), config.limits()))
        .max_decoding_message_size(max)
        .max_encoding_message_size(max);
    let folders = FolderServiceServer::new(FolderApi::new(
        app.clone(),
        config.limits(),
        config.trash_retention,
    ))
    .max_decoding_message_size(max)
    .max_encoding_message_size(max);
    let comments = CommentServiceServer::new(CommentApi::new(app.clone(), config.limits()))
        .max_decoding_message_size(max)
        .max_encoding_message_size(max);
    let library_widgets =
        LibraryWidgetServiceServer::new(LibraryWidgetApi::new(app.clone(), config.limits()))
            .max_decoding_message_size(max)
            .max_encoding_message_size(max);
    let (routes, health) = ServiceRegistry::new()
        .register(compressed!(dashboards))
        .register(compressed!(widgets))
        .register(compressed!(sharing))
        .register(compressed!(directory))
        .register(compressed!(audit))
        .register(compressed!(versions))
        .register(compressed!(labels))
        .register(compressed!(folders))
        .register(compressed!(comments))
        .register(compressed!(library_widgets))
        .build()?;
    health.set(ServingStatus::Serving).await;
    health
        .reporter
        .set_service_status(LIVENESS, ServingStatus::Serving)
        .await;

    let background = tokio::spawn(jobs::background_jobs(
        config.clone(),
        app.clone(),
        health.clone(),
    ));

    let metrics = Arc::new(
        metrics::Metrics::new(
            &[
                FILE_DESCRIPTOR_SET,
                tonic_health::pb::FILE_DESCRIPTOR_SET,
                tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
                tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
            ],
            Some(store.clone()),
        )?
        .with_watches(app.hub.clone())
        .with_fact_cache(app.facts.as_ref())?,
    );
    let metrics_addr = metrics_listener.local_addr()?;
    // Serves until the gRPC server has stopped, so the drain itself can be watched.
    let metrics_stop = tokio_util::sync::CancellationToken::new();
    let metrics_server = tokio::spawn(metrics::serve(
        metrics_listener,
        metrics.clone(),
        metrics_stop.clone().cancelled_owned(),
    ));
    tracing::info!(addr = %metrics_addr, path = metrics::PATH, "serving metrics");
    if trace_export.is_some() {
        tracing::info!("exporting a span per call over OTLP/gRPC");
    }

    let drain = Drain::new();
    let health_on_stop = health.clone();
    let addr = listener.local_addr()?;
    let router = tonic::transport::Server::builder()
        .max_concurrent_streams(config.max_concurrent_streams)
        // gRPC-Web (browsers; HTTP/1.1 or HTTP/2) is translated to gRPC first, so everything
        // below sees one protocol; other HTTP/1.1 requests are answered 400.
        .accept_http1(true)
        .layer(tower::util::option_layer(layers::grpc_web_cors(
            &config.grpc_web_allowed_origins,
        )?))
        .layer(tonic_web::GrpcWebLayer::new())
        // Then metrics and the access log see every call, also those refused below.
        .layer(calls::CallsLayer::new(
            metrics.clone(),
            config.request_timeout,
            trace_export.as_ref().map(otlp::TraceExport::tracer),
        ))
        // Over MAX_CONCURRENT_CALLS a call is shed at once (RESOURCE_EXHAUSTED, OVERLOADED),
        // before authentication reads the database for it; health and reflection never are.
        .layer(OverloadLayer::new(config.concurrent_calls(), metrics))
        // A panic anywhere below (a bug, or a library's) answers INTERNAL instead of
        // resetting the stream, and is logged.
        .layer(CatchPanicLayer::custom(panic_to_status))
        // Statuses tonic answers by itself get their ErrorInfo (and the right code).
        .layer(status_layer(config.max_message_bytes))
        // The deadline: DEADLINE_EXCEEDED with details, not tonic's bare CANCELLED.
        .layer(DeadlineLayer::new(config.request_timeout))
        // While the database is known to be down, calls of our services fail fast, and calls
        // waiting on it end when that becomes known (store::breaker); before authentication,
        // whose just-in-time user records need the database too.
        .layer(BreakerLayer::new(store.breaker(), &health.names))
        .layer(auth)
        .layer(calls::PrincipalProbeLayer)
        // `x-dashboards-min-revision`: wait until the caller's org is that fresh (needs the
        // caller's org, so inside authentication; bounded by the deadline set above).
        .layer(MinRevisionLayer::new(app.clone(), config.request_timeout))
        .layer(drain.layer())
        .add_routes(routes);
    // TCP_NODELAY: without it, responses larger than a segment wait ~40 ms for the client's
    // delayed ACK (Nagle). The incoming stream ends when the drain starts (with TLS, the
    // handshakes run inside it); the same moment is the shutdown signal, so tonic then sends
    // GOAWAY and waits for the connections to close.
    let incoming = drain.incoming(TcpIncoming::from(listener).with_nodelay(Some(true)));
    let tls_mode = match (&tls, &config.tls_client_ca_file) {
        (None, _) => "off",
        (Some(_), None) => "on",
        (Some(_), Some(_)) => "mutual",
    };
    let mut server =
        match tls {
            Some(tls) => tokio::spawn(router.serve_with_incoming_shutdown(
                tls::TlsIncoming::new(incoming, tls),
                drain.started(),
            )),
            None => tokio::spawn(router.serve_with_incoming_shutdown(incoming, drain.started())),
        };
    tracing::info!(
        %addr,
        tls = tls_mode,
        database = %redact(&config.database_url),
        max_concurrent_calls = config.concurrent_calls(),
        "serving gRPC"
    );

    let result = run_until_drained(
        &config,
        &mut server,
        shutdown,
        &drain,
        &health_on_stop,
        &background,
    )
    .await;
    background.abort();
    metrics_stop.cancel();
    let _ = metrics_server.await;
    // The spans of the last calls, drained above, are still buffered.
    if let Some(trace_export) = trace_export {
        trace_export.shutdown().await;
    }
    result?;
    tracing::info!("stopped");
    Ok(())
}

/// Runs the server until `shutdown`, then drains it (see `drain`).
async fn run_until_drained(
    config: &Config,
    server: &mut tokio::task::JoinHandle<Result<(), tonic::transport::Error>>,
    shutdown: impl Future<Output = ()>,
    drain: &Drain,
    health: &Health,
    background: &tokio::task::JoinHandle<()>,
) -> Result<(), BoxError> {
    tokio::select! {
        result = &mut *server => return result.map_err(BoxError::from)?.map_err(BoxError::from),
        () = shutdown => {}
    }
    tracing::info!(
        delay = ?config.shutdown_delay,
        grace = ?config.shutdown_grace,
        "shutting down: NOT_SERVING, still serving for the delay"
    );
    // Before NOT_SERVING: the database check must not turn it back to SERVING.
    background.abort();
    health.set(ServingStatus::NotServing).await;
    tokio::select! {
        result = &mut *server => return result.map_err(BoxError::from)?.map_err(BoxError::from),
        () = tokio::time::sleep(config.shutdown_delay) => {}
    }
    tracing::info!("draining: refusing new connections, GOAWAY, ending long streams");
    drain.start();
    match tokio::time::timeout(config.shutdown_grace, &mut *server).await {
        Ok(result) => result.map_err(BoxError::from)?.map_err(BoxError::from)?,
        Err(_) => {
            tracing::warn!(grace = ?config.shutdown_grace, "calls still running after the grace period; exiting");
            server.abort();
        }
    }
    Ok(())
}

/// Page tokens are sealed with a per-deployment key (api/pagination.rs says where it comes
/// from).
fn install_page_token_key(config: &Config, keys: &KeyMaterial) -> Result<(), BoxError> {
    match crate::core::page_token::key_from_config(
        config.page_token_secret.as_deref(),
        match keys {
            KeyMaterial::Secret(secret) => Some(secret.as_slice()),
            _ => None,
        },
    )? {
        Some(key) => {
            crate::core::page_token::install_key(key);
        }
        None => tracing::warn!(
            "no PAGE_TOKEN_SECRET and no HS256 JWT secret: page tokens use a random key of \
             this process and stop working after a restart and across replicas"
        ),
    }
    Ok(())
}

fn panic_to_status(
    panic: Box<dyn std::any::Any + Send + 'static>,
) -> http::Response<tonic::body::Body> {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = %message, "a call panicked");
    tonic::Status::from(crate::core::Error::internal(message.to_string())).into_http()
}

/// Waits for SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

/// The database URL without its password, for logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        assert_eq!(
            super::redact("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(super::redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(super::redact("sqlite://x.db"), "sqlite://x.db");
    }
}
