//! Optional OTLP trace export (DESIGN §8, issue 13): with an OTLP endpoint configured, every
//! call's SERVER span reaches the collector, in the caller's trace (W3C `traceparent`, its
//! `tracestate` kept), named and attributed per the RPC semantic conventions, with the trace
//! id the access log shows; the spans still buffered at shutdown are flushed before `serve`
//! returns.
//!
//! The collector is a fake one on 127.0.0.1: the OTLP/gRPC TraceService, keeping what it
//! receives.

mod common;

use std::time::Duration;

use common::logs::{access_lines, log};
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{Span, span, status};
use tokio::sync::watch;
use tonic::Code;

/// How long spans may take to reach the collector (they are batched every 50 ms here).
const ARRIVAL: Duration = Duration::from_secs(15);

/// A span as the collector received it, with the `service.name` of its resource.
#[derive(Clone, Debug)]
struct Received {
    service_name: Option<String>,
    span: Span,
}

impl Received {
    fn trace_id(&self) -> String {
        hex(&self.span.trace_id)
    }

    fn attribute(&self, key: &str) -> Option<any_value::Value> {
        self.span
            .attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.clone())
            .and_then(|v: AnyValue| v.value)
    }

    fn string(&self, key: &str) -> Option<String> {
        match self.attribute(key) {
            Some(any_value::Value::StringValue(s)) => Some(s),
            _ => None,
        }
    }

    fn int(&self, key: &str) -> Option<i64> {
        match self.attribute(key) {
            Some(any_value::Value::IntValue(i)) => Some(i),
            _ => None,
        }
    }

    fn status_code(&self) -> i32 {
        self.span.status.as_ref().map_or(0, |s| s.code)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The fake collector's TraceService: every span it is sent, in order.
struct Sink(watch::Sender<Vec<Received>>);

#[tonic::async_trait]
impl TraceService for Sink {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut received = Vec::new();
        for resource_spans in request.into_inner().resource_spans {
            let service_name = resource_spans.resource.as_ref().and_then(|resource| {
                resource
                    .attributes
                    .iter()
                    .find(|kv| kv.key == "service.name")
                    .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                        any_value::Value::StringValue(s) => Some(s.clone()),
                        _ => None,
                    })
            });
            for scope_spans in resource_spans.scope_spans {
                received.extend(scope_spans.spans.into_iter().map(|span| Received {
                    service_name: service_name.clone(),
                    span,
                }));
            }
        }
        self.0.send_modify(|spans| spans.extend(received));
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

struct Collector {
    endpoint: String,
    spans: watch::Receiver<Vec<Received>>,
}

impl Collector {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
        let (sender, spans) = watch::channel(Vec::new());
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(TraceServiceServer::new(Sink(sender)))
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );
        Self { endpoint, spans }
    }

    /// Waits (bounded) until a span of each trace has arrived; returns them in that order.
    async fn spans_of(&mut self, trace_ids: &[&str]) -> Vec<Received> {
        let of = |spans: &[Received], id: &str| spans.iter().find(|s| s.trace_id() == id).cloned();
        let arrived = matches!(
            tokio::time::timeout(
                ARRIVAL,
                self.spans
                    .wait_for(|spans| trace_ids.iter().all(|id| of(spans, id).is_some())),
            )
            .await,
            Ok(Ok(_))
        );
        let spans = self.spans.borrow().clone();
        assert!(
            arrived,
            "spans of {trace_ids:?} did not all arrive within {ARRIVAL:?}; received: {:?}",
            spans
                .iter()
                .map(|s| (s.span.name.clone(), s.trace_id()))
                .collect::<Vec<_>>()
        );
        trace_ids
            .iter()
            .map(|id| of(&spans, id).expect("arrived"))
            .collect()
    }

    fn received(&self) -> Vec<Received> {
        self.spans.borrow().clone()
    }
}

/// A fresh W3C trace id and parent span id.
fn trace_context() -> (String, String) {
    (
        format!("{:032x}", rand::random::<u128>() | 1),
        format!("{:016x}", rand::random::<u64>() | 1),
    )
}

fn traced<T>(
    message: T,
    token: &str,
    (trace_id, parent_id): &(String, String),
    flags: &str,
) -> tonic::Request<T> {
    let mut request = common::with_token(message, token);
    let metadata = request.metadata_mut();
    let traceparent = format!("00-{trace_id}-{parent_id}-{flags}");
    metadata.insert("traceparent", traceparent.parse().expect("traceparent"));
    metadata.insert("tracestate", "vendor=opaque".parse().expect("tracestate"));
    request
}

const GET: &str = "dashboards.v1.DashboardService/GetDashboard";

#[tokio::test]
async fn every_call_exports_a_server_span_in_the_callers_trace() {
    log();
    let mut collector = Collector::start().await;
    let server = common::start(|c| {
        c.otlp_endpoint = Some(collector.endpoint.clone());
        c.otlp_traces_endpoint = None;
        c.otel_service_name = None;
        c.otlp_batch_delay = Some(Duration::from_millis(50));
    });
    let org = common::unique_org();
    let mut admin = server.user(&org, "otlp-admin", PlatformRole::Admin).await;
    let created = admin.create("traced").await;
    let get = |name: &str| pb::GetDashboardRequest {
        name: name.to_string(),
        view: 0,
    };

    // First, a caller that did not sample its trace: the SDK's default sampler follows the
    // parent, so this span is never exported, and it would be in an earlier batch than the
    // spans awaited below.
    let unsampled = trace_context();
    admin
        .dashboards
        .get_dashboard(traced(get(&created.name), &admin.token, &unsampled, "00"))
        .await
        .expect("get");

    let ok = trace_context();
    admin
        .dashboards
        .get_dashboard(traced(get(&created.name), &admin.token, &ok, "01"))
        .await
        .expect("get");
    let missing = trace_context();
    let status = admin
        .dashboards
        .get_dashboard(traced(get("dashboards/nope"), &admin.token, &missing, "01"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    // A path nobody serves: UNIMPLEMENTED, a server error per the conventions.
    let unimplemented = trace_context();
    let mut grpc = tonic::client::Grpc::new(server.channel().await);
    grpc.ready().await.expect("ready");
    let status = grpc
        .unary::<_, (), _>(
            traced((), &admin.token, &unimplemented, "01"),
            http::uri::PathAndQuery::from_static("/dashboards.v1.DashboardService/NoSuchMethod"),
            tonic_prost::ProstCodec::<(), ()>::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented);
    // No traceparent: a new trace, whose id the access log shows.
    let mut request = admin.req(pb::ListDashboardsRequest::default());
    request
        .metadata_mut()
        .insert("x-request-id", "otlp-new-trace".parse().expect("id"));
    admin
        .dashboards
        .list_dashboards(request)
        .await
        .expect("list");
    let logged = access_lines()
        .into_iter()
        .find(|line| line["request_id"] == "otlp-new-trace")
        .expect("the access line of the call without traceparent");
    let new_trace = logged["trace_id"].as_str().expect("trace id").to_string();

    let spans = collector
        .spans_of(&[&ok.0, &missing.0, &unimplemented.0, &new_trace])
        .await;
    let [ok_span, missing_span, unimplemented_span, new_span] = &spans[..] else {
        unreachable!()
    };

    // The caller's trace, as a child of the caller's span, its tracestate kept.
    for (span, (_, parent_id)) in [
        (ok_span, &ok),
        (missing_span, &missing),
        (unimplemented_span, &unimplemented),
    ] {
        assert_eq!(hex(&span.span.parent_span_id), *parent_id, "{span:?}");
        assert_eq!(span.span.trace_state, "vendor=opaque", "{span:?}");
        assert_eq!(span.span.span_id.len(), 8, "{span:?}");
    }
    for span in &spans {
        assert_eq!(span.span.kind, span::SpanKind::Server as i32, "{span:?}");
        assert_eq!(
            span.service_name.as_deref(),
            Some("dashboard-service"),
            "{span:?}"
        );
        assert_eq!(
            span.string("rpc.system").as_deref(),
            Some("grpc"),
            "{span:?}"
        );
        assert_eq!(
            span.string("network.peer.address").as_deref(),
            Some("127.0.0.1"),
            "{span:?}"
        );
        assert!(
            span.span.end_time_unix_nano >= span.span.start_time_unix_nano,
            "{span:?}"
        );
    }

    assert_eq!(ok_span.span.name, GET);
    assert_eq!(
        ok_span.string("rpc.service").as_deref(),
        Some("dashboards.v1.DashboardService")
    );
    assert_eq!(
        ok_span.string("rpc.method").as_deref(),
        Some("GetDashboard")
    );
    assert_eq!(ok_span.int("rpc.grpc.status_code"), Some(0));
    assert_eq!(ok_span.status_code(), status::StatusCode::Unset as i32);

    // NOT_FOUND is the caller's doing: the code is recorded, the status stays unset.
    assert_eq!(missing_span.span.name, GET);
    assert_eq!(missing_span.int("rpc.grpc.status_code"), Some(5));
    assert_eq!(missing_span.status_code(), status::StatusCode::Unset as i32);

    // UNIMPLEMENTED is a server error; the caller's path does not become a span name.
    assert_eq!(unimplemented_span.span.name, "unknown");
    assert_eq!(unimplemented_span.string("rpc.method"), None);
    assert_eq!(unimplemented_span.int("rpc.grpc.status_code"), Some(12));
    assert_eq!(
        unimplemented_span.status_code(),
        status::StatusCode::Error as i32
    );

    // The new trace is a root span with the id the access log showed.
    assert_eq!(
        new_span.span.name,
        "dashboards.v1.DashboardService/ListDashboards"
    );
    assert!(new_span.span.parent_span_id.is_empty(), "{new_span:?}");
    assert_eq!(new_span.int("rpc.grpc.status_code"), Some(0));

    // The call that came in unsampled was exported in no batch.
    let received = collector.received();
    assert!(
        !received.iter().any(|s| s.trace_id() == unsampled.0),
        "an unsampled caller's span was exported"
    );
    // And the access log shows the sent trace id for the sampled calls too.
    for (trace_id, _) in [&ok, &missing, &unimplemented] {
        assert!(
            access_lines()
                .iter()
                .any(|line| line["trace_id"] == trace_id.as_str()),
            "{trace_id}"
        );
    }
}

#[tokio::test]
async fn the_spans_still_buffered_are_flushed_when_serve_returns() {
    let collector = Collector::start().await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (server, thread) = common::start_until(
        |c| {
            c.otlp_endpoint = Some(collector.endpoint.clone());
            c.otel_service_name = Some("dashboards-flush-test".into());
            // No batch is due before the shutdown: only the flush can send these spans.
            c.otlp_batch_delay = Some(Duration::from_secs(3600));
        },
        async move {
            let _ = stopped.await;
        },
    );
    let mut health = tonic_health::pb::health_client::HealthClient::new(server.channel().await);
    let context = trace_context();
    let mut request = tonic::Request::new(tonic_health::pb::HealthCheckRequest {
        service: String::new(),
    });
    let traceparent = format!("00-{}-{}-01", context.0, context.1);
    request
        .metadata_mut()
        .insert("traceparent", traceparent.parse().expect("traceparent"));
    health.check(request).await.expect("health");
    drop(health);
    assert!(collector.received().is_empty(), "no batch was due yet");

    stop.send(()).expect("server running");
    let result = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::task::spawn_blocking(move || thread.join()),
    )
    .await
    .expect("serve returned in time")
    .expect("join")
    .expect("server thread");
    assert_eq!(result, Ok(()));

    // `serve` has returned: the flush is done, nothing is waited for.
    let received = collector.received();
    let span = received
        .iter()
        .find(|s| s.trace_id() == context.0)
        .unwrap_or_else(|| panic!("the span was flushed at shutdown: {received:?}"));
    assert_eq!(span.span.name, "grpc.health.v1.Health/Check");
    assert_eq!(hex(&span.span.parent_span_id), context.1);
    assert_eq!(span.service_name.as_deref(), Some("dashboards-flush-test"));
}
