//! One tower layer around every call: metrics, the access log line, `x-request-id`, the W3C
//! trace context and, when OTLP export is on, the call's server span (`traces`).
//!
//! A call finishes when its status is known: in the response headers for trailers-only
//! responses (how tonic sends most errors), else in the trailers at the end of the body. A
//! body dropped before its status (the client went away) counts as CANCELLED.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http_body::Frame;
use opentelemetry_sdk::trace::SdkTracer;
use tonic::Code;
use tonic::body::Body;
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
use tower::{Layer, Service};

use super::metrics::{MessageCounter, MethodMetrics, Metrics, code_name};
use super::traces::{ServerSpan, TraceParent, new_trace_id};
use crate::core::Principal;

pub const REQUEST_ID: &str = "x-request-id";

/// A caller's request id is echoed only when it is short and plain; otherwise one is made.
const MAX_REQUEST_ID: usize = 128;
/// Paths are logged as sent only up to this length (unknown paths are the caller's text).
const MAX_LOGGED_PATH: usize = 160;

#[derive(Clone)]
pub struct CallsLayer {
    metrics: Arc<Metrics>,
    request_timeout: Duration,
    tracer: Option<SdkTracer>,
}

impl CallsLayer {
    /// `request_timeout` is the server's own deadline (tonic's `timeout`): a call dropped
    /// after it (or after the client's `grpc-timeout`) ended with DEADLINE_EXCEEDED.
    /// `tracer`: each call gets a server span from it (OTLP export on), or none.
    pub fn new(
        metrics: Arc<Metrics>,
        request_timeout: Duration,
        tracer: Option<SdkTracer>,
    ) -> Self {
        Self {
            metrics,
            request_timeout,
            tracer,
        }
    }
}

impl<S> Layer<S> for CallsLayer {
    type Service = Calls<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Calls {
            inner,
            metrics: self.metrics.clone(),
            request_timeout: self.request_timeout,
            tracer: self.tracer.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Calls<S> {
    inner: S,
    metrics: Arc<Metrics>,
    request_timeout: Duration,
    tracer: Option<SdkTracer>,
}

impl<S, B> Service<http::Request<Body>> for Calls<S>
where
    S: Service<http::Request<Body>, Response = http::Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<super::BoxError>,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        let path = request.uri().path();
        let method = self.metrics.method(path);
        let path = truncate(path, MAX_LOGGED_PATH).to_string();
        method.started.inc();
        let headers = request.headers();
        let request_id = headers
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .filter(|id| is_plain_request_id(id))
            .map(str::to_string)
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        let peer = request
            .extensions()
            .get::<TcpConnectInfo>()
            .or_else(|| {
                request
                    .extensions()
                    .get::<TlsConnectInfo<TcpConnectInfo>>()
                    .map(TlsConnectInfo::get_ref)
            })
            .and_then(TcpConnectInfo::remote_addr);
        // A missing or malformed traceparent starts a new trace (W3C trace-context §4.3). With
        // a span, the log shows the span's trace id: one trace, one id.
        let caller = TraceParent::from_headers(headers);
        let span = self.tracer.as_ref().map(|tracer| {
            let rpc = method
                .is_served()
                .then(|| (method.service.as_str(), method.method.as_str()));
            ServerSpan::start(tracer, rpc, caller, headers, peer)
        });
        let trace_id = match (&span, caller) {
            (Some(span), _) => span.trace_id(),
            (None, Some(caller)) => caller.trace_id.to_string(),
            (None, None) => new_trace_id(),
        };
        let deadline = headers
            .get("grpc-timeout")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_grpc_timeout)
            .map_or(self.request_timeout, |t| t.min(self.request_timeout));
        let principal = PrincipalSlot::default();
        request.extensions_mut().insert(principal.clone());
        let call = Call {
            metrics: self.metrics.clone(),
            path,
            peer,
            request_id,
            trace_id,
            span,
            principal,
            start: Instant::now(),
            deadline,
            method: method.clone(),
            finished: false,
        };
        let received = method.received.clone();
        let request = request.map(|body| {
            Body::new(Counted {
                inner: body,
                counter: MessageCounter::default(),
                messages: received,
                call: None,
            })
        });
        let future = self.inner.call(request);
        Box::pin(async move {
            let mut response = future.await?;
            if let Ok(value) = http::HeaderValue::from_str(&call.request_id) {
                response.headers_mut().insert(REQUEST_ID, value);
            }
            let mut call = Some(call);
            if let Some(code) = status_in(response.headers())
                && let Some(call) = call.take()
            {
                call.finish(code);
            }
            let sent = method.sent.clone();
            Ok(response.map(|body| {
                Body::new(Counted {
                    inner: Body::new(body),
                    counter: MessageCounter::default(),
                    messages: sent,
                    call,
                })
            }))
        })
    }
}

/// Filled in by [`PrincipalProbe`] (inside authentication) for the access log outside it.
#[derive(Clone, Default)]
pub struct PrincipalSlot(Arc<Mutex<Option<String>>>);

impl PrincipalSlot {
    fn get(&self) -> Option<String> {
        self.0.lock().ok().and_then(|slot| slot.clone())
    }
}

/// Copies the authenticated principal into the call's [`PrincipalSlot`].
#[derive(Clone, Default)]
pub struct PrincipalProbeLayer;

impl<S> Layer<S> for PrincipalProbeLayer {
    type Service = PrincipalProbe<S>;

    fn layer(&self, inner: S) -> Self::Service {
        PrincipalProbe { inner }
    }
}

#[derive(Clone)]
pub struct PrincipalProbe<S> {
    inner: S,
}

impl<S, B> Service<http::Request<B>> for PrincipalProbe<S>
where
    S: Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if let (Some(principal), Some(slot)) = (
            request.extensions().get::<Principal>(),
            request.extensions().get::<PrincipalSlot>(),
        ) && let Ok(mut slot) = slot.0.lock()
        {
            *slot = Some(format!(
                "{}/{}",
                truncate(&principal.org_id, 64),
                truncate(&principal.user_name(), 80)
            ));
        }
        self.inner.call(request)
    }
}

/// What the access log and the metrics need when a call finishes.
struct Call {
    metrics: Arc<Metrics>,
    method: Arc<MethodMetrics>,
    path: String,
    peer: Option<SocketAddr>,
    request_id: String,
    trace_id: String,
    span: Option<ServerSpan>,
    principal: PrincipalSlot,
    start: Instant,
    deadline: Duration,
    finished: bool,
}

impl Call {
    fn finish(mut self, code: Code) {
        self.record(code);
    }

    fn record(&mut self, code: Code) {
        if self.finished {
            return;
        }
        self.finished = true;
        let elapsed = self.start.elapsed();
        self.metrics
            .handled(&self.method, code, elapsed.as_secs_f64());
        if let Some(span) = self.span.take() {
            span.finish(code);
        }
        let principal = self.principal.get();
        tracing::info!(
            target: "access",
            method = %self.path,
            code = code_name(code),
            latency_ms = elapsed.as_micros() as f64 / 1000.0,
            principal = principal.as_deref().unwrap_or("-"),
            peer = %self.peer.map_or_else(|| "-".to_string(), |p| p.to_string()),
            request_id = %self.request_id,
            trace_id = %self.trace_id,
            "{} {}",
            self.path,
            code_name(code),
        );
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        // The response (or its body) went away before a status: the deadline passed (tonic's
        // timeout answered DEADLINE_EXCEEDED outside this layer) or the client cancelled.
        let code = if self.start.elapsed() >= self.deadline {
            Code::DeadlineExceeded
        } else {
            Code::Cancelled
        };
        self.record(code);
    }
}

/// A body that counts its gRPC messages and, for a response, finishes the call on its status.
struct Counted {
    inner: Body,
    counter: MessageCounter,
    messages: prometheus::IntCounter,
    call: Option<Call>,
}

impl http_body::Body for Counted {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    let completed = self.counter.feed(data);
                    self.messages.inc_by(completed);
                } else if let Some(trailers) = frame.trailers_ref()
                    && let Some(call) = self.call.take()
                {
                    call.finish(status_in(trailers).unwrap_or(Code::Unknown));
                }
            }
            Poll::Ready(Some(Err(status))) => {
                if let Some(call) = self.call.take() {
                    call.finish(status.code());
                }
            }
            // A body that ends without trailers has no status: gRPC calls that UNKNOWN.
            Poll::Ready(None) => {
                if let Some(call) = self.call.take() {
                    call.finish(Code::Unknown);
                }
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        // A response still owes its call a status, seen when the body is polled to its end.
        self.call.is_none() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

fn status_in(headers: &http::HeaderMap) -> Option<Code> {
    let value = headers.get("grpc-status")?.to_str().ok()?;
    value.parse::<i32>().ok().map(Code::from_i32)
}

/// `grpc-timeout`: up to 8 digits and a unit (H, M, S, m, u, n).
fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    let (digits, unit) = value.split_at_checked(value.len().checked_sub(1)?)?;
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

fn is_plain_request_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_REQUEST_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts() {
        assert_eq!(parse_grpc_timeout("100m"), Some(Duration::from_millis(100)));
        assert_eq!(parse_grpc_timeout("2S"), Some(Duration::from_secs(2)));
        assert_eq!(parse_grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_grpc_timeout("123456789S"), None);
        assert_eq!(parse_grpc_timeout("S"), None);
        assert_eq!(parse_grpc_timeout("5x"), None);
    }

    #[test]
    fn request_ids_are_echoed_only_when_plain_and_short() {
        assert!(is_plain_request_id("req-123_abc.def:1"));
        assert!(!is_plain_request_id(""));
        assert!(!is_plain_request_id("has space"));
        assert!(!is_plain_request_id(&"x".repeat(129)));
    }
}
