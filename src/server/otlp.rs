//! Optional OTLP trace export (DESIGN §8): on only when an OTLP endpoint is configured
//! (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`); otherwise nothing
//! is built and calls make no spans.
//!
//! The span of every call (`traces::ServerSpan`) goes to a batch span processor, which sends
//! batches over OTLP/gRPC (the tonic the server runs on; no HTTP client, no TLS stack) from
//! its own thread. The standard variables the OpenTelemetry SDK reads itself keep their
//! meaning: `OTEL_TRACES_SAMPLER[_ARG]`, `OTEL_BSP_*`, `OTEL_EXPORTER_OTLP_[TRACES_]HEADERS`,
//! `_TIMEOUT`, `_COMPRESSION`, `OTEL_RESOURCE_ATTRIBUTES`. No global tracer provider is
//! installed: the server holds its own, so several servers can run in one process.

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{InstrumentationScope, Key};
use opentelemetry_otlp::{SpanExporter, WithExportConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SdkTracer, SdkTracerProvider,
};

use crate::server::BoxError;
use crate::server::config::Config;

/// `service.name` when neither `OTEL_SERVICE_NAME` nor `OTEL_RESOURCE_ATTRIBUTES` names one.
pub const DEFAULT_SERVICE_NAME: &str = "dashboard-service";

/// How long the flush at shutdown may take: the spans still buffered are sent, or dropped
/// after this, so an unreachable collector cannot hold the exit up.
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

const PROTOCOL_VARS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
];

/// The exporter pipeline: spans of the server's calls, in batches, to the collector.
pub struct TraceExport {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
}

impl TraceExport {
    /// `None` when no OTLP endpoint is configured. Must run inside the Tokio runtime: the
    /// exporter's channel lives there.
    pub fn from_config(config: &Config) -> Result<Option<Self>, BoxError> {
        let Some(endpoint) = endpoint(config)? else {
            return Ok(None);
        };
        check_protocol(PROTOCOL_VARS.map(|var| std::env::var(var).ok()))?;
        let exporter = SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build()
            .map_err(|e| format!("OTLP trace export: {e}"))?;
        // The batch settings come from OTEL_BSP_* (the SDK's defaults otherwise).
        let mut batch = BatchConfigBuilder::default();
        if let Some(delay) = config.otlp_batch_delay {
            batch = batch.with_scheduled_delay(delay);
        }
        let processor = BatchSpanProcessor::builder(exporter)
            .with_batch_config(batch.build())
            .build();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .with_resource(resource(config.otel_service_name.as_deref()))
            .build();
        let tracer = provider.tracer_with_scope(
            InstrumentationScope::builder(env!("CARGO_PKG_NAME"))
                .with_version(env!("CARGO_PKG_VERSION"))
                .build(),
        );
        Ok(Some(Self { provider, tracer }))
    }

    pub fn tracer(&self) -> SdkTracer {
        self.tracer.clone()
    }

    /// Sends the spans still buffered and stops the exporter, in [`FLUSH_TIMEOUT`] at most.
    pub async fn shutdown(self) {
        let provider = self.provider;
        // Blocking (it waits for the processor's thread), so off the runtime's workers; the
        // export itself still needs the runtime for the channel's connection.
        let flushed =
            tokio::task::spawn_blocking(move || provider.shutdown_with_timeout(FLUSH_TIMEOUT))
                .await;
        match flushed {
            Ok(Ok(())) => tracing::info!("trace export flushed"),
            Ok(Err(err)) => tracing::warn!(error = %err, "trace export: flush at shutdown failed"),
            Err(err) => tracing::warn!(error = %err, "trace export: flush at shutdown failed"),
        }
    }
}

/// The traces endpoint wins over the general one (OTLP exporter specification). Over gRPC
/// neither gets a path appended. Only `http://`: no TLS stack is built in for the exporter
/// (the SDK would take a scheme-less endpoint for https).
fn endpoint(config: &Config) -> Result<Option<String>, BoxError> {
    let configured = [
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            &config.otlp_traces_endpoint,
        ),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &config.otlp_endpoint),
    ]
    .into_iter()
    .filter_map(|(var, value)| Some((var, value.as_deref()?.trim())))
    .find(|(_, value)| !value.is_empty());
    match configured {
        None => Ok(None),
        Some((_, value)) if value.starts_with("http://") => Ok(Some(value.to_string())),
        Some((var, value)) => Err(format!(
            "{var}={value:?}: only plaintext OTLP/gRPC is supported; give an http:// endpoint \
             (a collector agent or sidecar, port 4317)"
        )
        .into()),
    }
}

/// Only OTLP/gRPC is built in: a collector's OTLP/HTTP port would receive gRPC it cannot
/// read, so asking for another protocol is refused at startup instead.
fn check_protocol(values: [Option<String>; 2]) -> Result<(), BoxError> {
    for (var, value) in PROTOCOL_VARS.iter().zip(values) {
        match value.as_deref().map(str::trim) {
            None | Some("") => continue,
            Some("grpc") => return Ok(()),
            Some(other) => {
                return Err(format!(
                    "{var}={other:?}: only grpc is supported; point the endpoint at the \
                     collector's OTLP/gRPC port (4317)"
                )
                .into());
            }
        }
    }
    Ok(())
}

/// The SDK's resource (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, telemetry.sdk.*), with
/// `service.name` from `--service-name`/OTEL_SERVICE_NAME if given, else the one in
/// OTEL_RESOURCE_ATTRIBUTES, else `dashboard-service` (not the SDK's `unknown_service`).
fn resource(service_name: Option<&str>) -> Resource {
    let detected = Resource::builder().build();
    let named = detected
        .get(&Key::from_static_str("service.name"))
        .is_some_and(|name| !name.as_str().starts_with("unknown_service"));
    match service_name.map(str::trim).filter(|name| !name.is_empty()) {
        Some(name) => Resource::builder()
            .with_service_name(name.to_string())
            .build(),
        None if named => detected,
        None => Resource::builder()
            .with_service_name(DEFAULT_SERVICE_NAME)
            .build(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_without_an_endpoint() {
        let mut config = Config::defaults();
        config.otlp_endpoint = None;
        config.otlp_traces_endpoint = Some(" ".into());
        assert_eq!(endpoint(&config).unwrap(), None);
        assert!(TraceExport::from_config(&config).unwrap().is_none());
        config.otlp_endpoint = Some("http://collector:4317".into());
        assert_eq!(
            endpoint(&config).unwrap().as_deref(),
            Some("http://collector:4317")
        );
        config.otlp_traces_endpoint = Some("http://traces:4317".into());
        assert_eq!(
            endpoint(&config).unwrap().as_deref(),
            Some("http://traces:4317")
        );
    }

    #[test]
    fn only_plaintext_endpoints_are_accepted() {
        let mut config = Config::defaults();
        config.otlp_traces_endpoint = None;
        for refused in ["https://collector:4317", "collector:4317"] {
            config.otlp_endpoint = Some(refused.into());
            let err = endpoint(&config).unwrap_err().to_string();
            assert!(err.starts_with("OTEL_EXPORTER_OTLP_ENDPOINT="), "{err}");
            assert!(err.contains("http://"), "{err}");
        }
    }

    #[test]
    fn only_grpc_is_accepted() {
        assert!(check_protocol([None, None]).is_ok());
        assert!(check_protocol([None, Some("grpc".into())]).is_ok());
        // The traces variable wins over the general one.
        assert!(check_protocol([Some("grpc".into()), Some("http/protobuf".into())]).is_ok());
        let err = check_protocol([None, Some("http/protobuf".into())]).unwrap_err();
        assert!(
            err.to_string().contains("OTEL_EXPORTER_OTLP_PROTOCOL"),
            "{err}"
        );
        assert!(check_protocol([Some("http/json".into()), None]).is_err());
    }

    #[test]
    fn service_name_defaults_to_the_service() {
        let name = |resource: Resource| {
            resource
                .get(&Key::from_static_str("service.name"))
                .map(|v| v.as_str().into_owned())
        };
        assert_eq!(name(resource(Some("edge"))).as_deref(), Some("edge"));
        // Unless the test runner's environment names one.
        if std::env::var_os("OTEL_SERVICE_NAME").is_none()
            && std::env::var_os("OTEL_RESOURCE_ATTRIBUTES").is_none()
        {
            assert_eq!(name(resource(None)).as_deref(), Some(DEFAULT_SERVICE_NAME));
        }
    }
}
