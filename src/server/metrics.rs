//! Prometheus metrics. Every metric name is in this file.
//!
//! The gRPC ones carry the names and labels of go-grpc-prometheus / grpc-ecosystem, which
//! existing dashboards chart: `grpc_server_started_total`, `grpc_server_handled_total`,
//! `grpc_server_handling_seconds`, `grpc_server_msg_received_total`,
//! `grpc_server_msg_sent_total`, labelled `grpc_type`, `grpc_service`, `grpc_method` (and
//! `grpc_code` on handled). Labels come from the served descriptors, never from the request
//! path: an unknown path counts as `unknown`, so callers cannot grow the label set.
//! Gauges sampled at scrape time (the database pool, later caches and watches) go here too,
//! and the overload limit's (`layers/overload.rs`): calls shed, calls holding a slot, the limit.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};
use prost::Message;
use tokio::net::TcpListener;

use super::BoxError;
use crate::app::watch::WatchHub;
use crate::store::Store;

pub const STARTED: &str = "grpc_server_started_total";
pub const HANDLED: &str = "grpc_server_handled_total";
pub const HANDLING_SECONDS: &str = "grpc_server_handling_seconds";
pub const MSG_RECEIVED: &str = "grpc_server_msg_received_total";
pub const MSG_SENT: &str = "grpc_server_msg_sent_total";
pub const DB_POOL_IN_USE: &str = "db_pool_connections_in_use";
pub const DB_POOL_IDLE: &str = "db_pool_connections_idle";
pub const SHED: &str = "grpc_server_shed_total";
pub const IN_FLIGHT: &str = "grpc_server_calls_in_flight";
pub const CONCURRENCY_LIMIT: &str = "grpc_server_max_concurrent_calls";
pub const WATCH_STREAMS: &str = "dashboards_watch_streams";

/// The path metrics are served on.
pub const PATH: &str = "/metrics";

const METHOD_LABELS: [&str; 3] = ["grpc_type", "grpc_service", "grpc_method"];
const HANDLED_LABELS: [&str; 4] = ["grpc_type", "grpc_service", "grpc_method", "grpc_code"];
/// The labels (every one) of a path nobody serves, so callers cannot grow the label set.
const UNKNOWN: &str = "unknown";

/// The counters of one method, resolved once at startup so a call does no label lookups
/// until it finishes.
pub struct MethodMetrics {
    pub kind: &'static str,
    pub service: String,
    pub method: String,
    pub started: IntCounter,
    pub received: IntCounter,
    pub sent: IntCounter,
    pub seconds: Histogram,
    /// Calls refused by the concurrency limit (RESOURCE_EXHAUSTED, reason OVERLOADED).
    pub shed: IntCounter,
}

impl MethodMetrics {
    /// False for the `unknown` counters of paths nobody serves.
    pub fn is_served(&self) -> bool {
        self.kind != UNKNOWN
    }
}

pub struct Metrics {
    registry: Registry,
    methods: HashMap<String, Arc<MethodMetrics>>,
    unknown: Arc<MethodMetrics>,
    handled: IntCounterVec,
    pool_in_use: IntGauge,
    pool_idle: IntGauge,
    in_flight: IntGauge,
    concurrency_limit: IntGauge,
    watch_streams: IntGauge,
    store: Option<Store>,
    watches: Option<WatchHub>,
}

impl Metrics {
    /// Metrics for every method of the given encoded `FileDescriptorSet`s; `store` feeds the
    /// pool gauges.
    pub fn new(descriptor_sets: &[&[u8]], store: Option<Store>) -> Result<Self, BoxError> {
        let registry = Registry::new();
        let started = IntCounterVec::new(
            Opts::new(STARTED, "RPCs started on the server."),
            &METHOD_LABELS,
        )?;
        let handled = IntCounterVec::new(
            Opts::new(
                HANDLED,
                "RPCs completed on the server, regardless of success or failure.",
            ),
            &HANDLED_LABELS,
        )?;
        let seconds = HistogramVec::new(
            HistogramOpts::new(
                HANDLING_SECONDS,
                "Time from the start of an RPC to its status, in seconds.",
            ),
            &METHOD_LABELS,
        )?;
        let received = IntCounterVec::new(
            Opts::new(MSG_RECEIVED, "Stream messages received on the server."),
            &METHOD_LABELS,
        )?;
        let sent = IntCounterVec::new(
            Opts::new(MSG_SENT, "Stream messages sent by the server."),
            &METHOD_LABELS,
        )?;
        let pool_in_use = IntGauge::new(DB_POOL_IN_USE, "Database connections lent to calls.")?;
        let pool_idle = IntGauge::new(DB_POOL_IDLE, "Open database connections not in use.")?;
        let shed = IntCounterVec::new(
            Opts::new(
                SHED,
                "RPCs refused at once with RESOURCE_EXHAUSTED (OVERLOADED): the server was at \
                 its limit of concurrent calls.",
            ),
            &METHOD_LABELS,
        )?;
        let in_flight = IntGauge::new(
            IN_FLIGHT,
            "RPCs holding a slot of the concurrency limit (health and reflection never do).",
        )?;
        let concurrency_limit = IntGauge::new(
            CONCURRENCY_LIMIT,
            "The limit of concurrent calls (MAX_CONCURRENT_CALLS); 0 when there is none.",
        )?;
        registry.register(Box::new(started.clone()))?;
        registry.register(Box::new(handled.clone()))?;
        registry.register(Box::new(seconds.clone()))?;
        registry.register(Box::new(received.clone()))?;
        registry.register(Box::new(sent.clone()))?;
        registry.register(Box::new(pool_in_use.clone()))?;
        registry.register(Box::new(pool_idle.clone()))?;
        registry.register(Box::new(shed.clone()))?;
        registry.register(Box::new(in_flight.clone()))?;
        registry.register(Box::new(concurrency_limit.clone()))?;
        let watch_streams = IntGauge::new(
            WATCH_STREAMS,
            "WatchDashboards streams open on this replica (their events count in \
             grpc_server_msg_sent_total).",
        )?;
        registry.register(Box::new(watch_streams.clone()))?;

        let resolve = |kind: &'static str, service: &str, method: &str| {
            let labels = [kind, service, method];
            Arc::new(MethodMetrics {
                kind,
                service: service.to_string(),
                method: method.to_string(),
                started: started.with_label_values(&labels),
                received: received.with_label_values(&labels),
                sent: sent.with_label_values(&labels),
                seconds: seconds.with_label_values(&labels),
                shed: shed.with_label_values(&labels),
            })
        };
        let mut methods = HashMap::new();
        for set in descriptor_sets {
            let set = prost_types::FileDescriptorSet::decode(*set)?;
            for file in set.file {
                let package = file.package.unwrap_or_default();
                for service in file.service {
                    let service_name = match (package.as_str(), service.name()) {
                        ("", name) => name.to_string(),
                        (package, name) => format!("{package}.{name}"),
                    };
                    for method in service.method {
                        let kind = match (method.client_streaming(), method.server_streaming()) {
                            (false, false) => "unary",
                            (true, false) => "client_stream",
                            (false, true) => "server_stream",
                            (true, true) => "bidi_stream",
                        };
                        let path = format!("/{service_name}/{}", method.name());
                        methods.insert(path, resolve(kind, &service_name, method.name()));
                    }
                }
            }
        }
        let unknown = resolve(UNKNOWN, UNKNOWN, UNKNOWN);
        Ok(Self {
            registry,
            methods,
            unknown,
            handled,
            pool_in_use,
            pool_idle,
            in_flight,
            concurrency_limit,
            watch_streams,
            store,
            watches: None,
        })
    }

    /// Samples the open watch streams of `hub` at each scrape.
    pub fn with_watches(mut self, hub: WatchHub) -> Self {
        self.watches = Some(hub);
        self
    }

    /// Publishes the fact cache's lookups (hits and misses by fact).
    pub fn with_fact_cache(
        self,
        cache: Option<&crate::app::facts::FactCache>,
    ) -> Result<Self, prometheus::Error> {
        if let Some(lookups) = cache.and_then(|c| c.lookups()) {
            self.registry.register(Box::new(lookups))?;
        }
        Ok(self)
    }

    /// The counters of the method at `path` (the `unknown` ones for a path nobody serves).
    pub fn method(&self, path: &str) -> Arc<MethodMetrics> {
        self.methods.get(path).unwrap_or(&self.unknown).clone()
    }

    /// The gauge of calls holding a slot of the concurrency limit.
    pub fn in_flight(&self) -> &IntGauge {
        &self.in_flight
    }

    /// Publishes the configured limit of concurrent calls (0: none).
    pub fn set_concurrency_limit(&self, limit: usize) {
        self.concurrency_limit
            .set(i64::try_from(limit).unwrap_or(i64::MAX));
    }

    /// Records a finished call.
    pub fn handled(&self, method: &MethodMetrics, code: tonic::Code, seconds: f64) {
        self.handled
            .with_label_values(&[
                method.kind,
                method.service.as_str(),
                method.method.as_str(),
                code_name(code),
            ])
            .inc();
        method.seconds.observe(seconds);
    }

    /// The text exposition format, with the gauges sampled now.
    pub fn render(&self) -> Result<String, prometheus::Error> {
        if let Some(store) = &self.store {
            let pool = store.pool_stats();
            self.pool_in_use.set(i64::from(pool.in_use));
            self.pool_idle.set(i64::from(pool.idle));
        }
        if let Some(hub) = &self.watches {
            self.watch_streams
                .set(i64::try_from(hub.open_streams()).unwrap_or(i64::MAX));
        }
        TextEncoder::new().encode_to_string(&self.registry.gather())
    }
}

/// The canonical name of a status code, as go-grpc-prometheus writes it (`OK`, `NotFound`).
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "Canceled",
        Code::Unknown => "Unknown",
        Code::InvalidArgument => "InvalidArgument",
        Code::DeadlineExceeded => "DeadlineExceeded",
        Code::NotFound => "NotFound",
        Code::AlreadyExists => "AlreadyExists",
        Code::PermissionDenied => "PermissionDenied",
        Code::ResourceExhausted => "ResourceExhausted",
        Code::FailedPrecondition => "FailedPrecondition",
        Code::Aborted => "Aborted",
        Code::OutOfRange => "OutOfRange",
        Code::Unimplemented => "Unimplemented",
        Code::Internal => "Internal",
        Code::Unavailable => "Unavailable",
        Code::DataLoss => "DataLoss",
        Code::Unauthenticated => "Unauthenticated",
    }
}

/// Serves `GET /metrics` on `listener` (plain HTTP, no authentication) until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::http::{StatusCode, header};
    let scrape = move || {
        let metrics = metrics.clone();
        async move {
            match metrics.render() {
                Ok(text) => (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                    text,
                ),
                Err(err) => {
                    tracing::error!(error = %err, "cannot render metrics");
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        [(header::CONTENT_TYPE, "text/plain")],
                        "cannot render metrics\n".to_string(),
                    )
                }
            }
        }
    };
    let app = axum::Router::new().route(PATH, axum::routing::get(scrape));
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Counts length-prefixed gRPC messages in a body's bytes, across chunk boundaries.
#[derive(Debug, Default)]
pub struct MessageCounter {
    header: [u8; 5],
    header_len: usize,
    body_left: usize,
}

impl MessageCounter {
    /// Feeds the next chunk; returns how many messages it completed.
    pub fn feed(&mut self, mut data: &[u8]) -> u64 {
        let mut completed = 0;
        while !data.is_empty() {
            if self.body_left > 0 {
                let n = self.body_left.min(data.len());
                self.body_left -= n;
                data = &data[n..];
                if self.body_left == 0 {
                    completed += 1;
                }
                continue;
            }
            let n = (5 - self.header_len).min(data.len());
            self.header[self.header_len..self.header_len + n].copy_from_slice(&data[..n]);
            self.header_len += n;
            data = &data[n..];
            if self.header_len == 5 {
                self.header_len = 0;
                let [_, a, b, c, d] = self.header;
                self.body_left = u32::from_be_bytes([a, b, c, d]) as usize;
                if self.body_left == 0 {
                    completed += 1;
                }
            }
        }
        completed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_messages_across_chunks() {
        let mut counter = MessageCounter::default();
        // Two messages (3 bytes, then empty) in one chunk.
        assert_eq!(counter.feed(&[0, 0, 0, 0, 3, 1, 2, 3, 0, 0, 0, 0, 0]), 2);
        // One message split inside its header and inside its body.
        assert_eq!(counter.feed(&[0, 0, 0]), 0);
        assert_eq!(counter.feed(&[0, 2, 9]), 0);
        assert_eq!(counter.feed(&[9]), 1);
        assert_eq!(counter.feed(&[]), 0);
    }

    #[test]
    fn methods_come_from_the_descriptors() {
        let metrics = Metrics::new(
            &[
                crate::server::FILE_DESCRIPTOR_SET,
                tonic_health::pb::FILE_DESCRIPTOR_SET,
            ],
            None,
        )
        .expect("metrics");
        let get = metrics.method("/dashboards.v1.DashboardService/GetDashboard");
        assert_eq!(
            (get.kind, get.service.as_str(), get.method.as_str()),
            ("unary", "dashboards.v1.DashboardService", "GetDashboard")
        );
        assert_eq!(
            metrics.method("/grpc.health.v1.Health/Watch").kind,
            "server_stream"
        );
        assert_eq!(metrics.method("/metrics").service, "unknown");
    }
}
