//! W3C trace context in, OpenTelemetry server spans out (DESIGN §8).
//!
//! A caller's `traceparent` is parsed here and nowhere else. Its trace id is the one the
//! access log shows and, when OTLP export is on (`otlp`), the trace the call's server span
//! joins, as a child of the caller's span, with the caller's `tracestate`. A call without a
//! usable `traceparent` starts a new trace: the span's, when there is a span, so that the log
//! and the exported span agree.

use std::net::SocketAddr;

use opentelemetry::trace::{
    Span as _, SpanContext, SpanId, SpanKind, Status, TraceContextExt as _, TraceFlags, TraceId,
    TraceState, Tracer as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{SdkTracer, Span};
use tonic::Code;

pub const TRACEPARENT: &str = "traceparent";
pub const TRACESTATE: &str = "tracestate";

/// The span name (and `rpc.service`, `rpc.method`) of paths nobody serves: the path is the
/// caller's text, and span names must stay a small set (as the metrics labels do).
const UNKNOWN_METHOD: &str = "unknown";

/// A well-formed W3C `traceparent`: `<version>-<32 hex trace id>-<16 hex parent id>-<flags>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceParent {
    pub trace_id: TraceId,
    pub parent_id: SpanId,
    pub flags: TraceFlags,
}

impl TraceParent {
    /// `None` unless well formed (W3C trace-context §3.2): lowercase hex, neither id all
    /// zeros, version `ff` invalid, version `00` with exactly four fields.
    pub fn parse(traceparent: &str) -> Option<Self> {
        let mut parts = traceparent.trim().split('-');
        let version = parts.next()?;
        let trace_id = parts.next()?;
        let parent_id = parts.next()?;
        let flags = parts.next()?;
        let rest = parts.next();
        let hex = |s: &str, len: usize| {
            s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        };
        let valid = hex(version, 2)
            && version != "ff"
            // Version 00 has exactly four fields; later versions may append more.
            && (version != "00" || rest.is_none())
            && hex(trace_id, 32)
            && hex(parent_id, 16)
            && hex(flags, 2);
        if !valid {
            return None;
        }
        let parsed = Self {
            trace_id: TraceId::from_hex(trace_id).ok()?,
            parent_id: SpanId::from_hex(parent_id).ok()?,
            flags: TraceFlags::new(u8::from_str_radix(flags, 16).ok()?),
        };
        (parsed.trace_id != TraceId::INVALID && parsed.parent_id != SpanId::INVALID)
            .then_some(parsed)
    }

    /// The caller's, if it sent a well-formed one.
    pub fn from_headers(headers: &http::HeaderMap) -> Option<Self> {
        headers
            .get(TRACEPARENT)
            .and_then(|v| v.to_str().ok())
            .and_then(Self::parse)
    }
}

/// The trace id of a W3C `traceparent`, as the access log writes it, if well formed.
pub fn trace_id_of(traceparent: &str) -> Option<String> {
    TraceParent::parse(traceparent).map(|parent| parent.trace_id.to_string())
}

/// A trace id for a call that starts its own trace and has no span to take one from.
pub fn new_trace_id() -> String {
    TraceId::from(rand::random::<u128>() | 1).to_string()
}

/// The caller's `tracestate`, read only to go with its span. Several fields are one list
/// (W3C §3.3.1.2); a list that does not parse is dropped, and the `traceparent` still counts.
fn tracestate(headers: &http::HeaderMap) -> TraceState {
    headers
        .get_all(TRACESTATE)
        .iter()
        .map(|v| v.to_str().ok())
        .collect::<Option<Vec<_>>>()
        .and_then(|fields| fields.join(",").parse::<TraceState>().ok())
        .unwrap_or_default()
}

/// The SERVER span of one call, named and attributed per the OpenTelemetry RPC semantic
/// conventions (gRPC).
pub struct ServerSpan(Span);

impl ServerSpan {
    /// `rpc` is the (service, method) of a served path, `None` for a path nobody serves;
    /// `caller` the request's `traceparent`, whose `tracestate` is in `headers`.
    pub fn start(
        tracer: &SdkTracer,
        rpc: Option<(&str, &str)>,
        caller: Option<TraceParent>,
        headers: &http::HeaderMap,
        peer: Option<SocketAddr>,
    ) -> Self {
        let parent = match caller {
            Some(caller) => Context::new().with_remote_span_context(SpanContext::new(
                caller.trace_id,
                caller.parent_id,
                caller.flags,
                true,
                tracestate(headers),
            )),
            None => Context::new(),
        };
        let mut attributes = vec![KeyValue::new("rpc.system", "grpc")];
        let name = match rpc {
            Some((service, method)) => {
                attributes.push(KeyValue::new("rpc.service", service.to_string()));
                attributes.push(KeyValue::new("rpc.method", method.to_string()));
                format!("{service}/{method}")
            }
            None => UNKNOWN_METHOD.to_string(),
        };
        if let Some(peer) = peer {
            attributes.push(KeyValue::new("network.peer.address", peer.ip().to_string()));
            attributes.push(KeyValue::new("network.peer.port", i64::from(peer.port())));
        }
        let span = tracer
            .span_builder(name)
            .with_kind(SpanKind::Server)
            .with_attributes(attributes)
            .start_with_context(tracer, &parent);
        Self(span)
    }

    /// The span's trace id (the caller's, or a new one), as the access log writes it.
    pub fn trace_id(&self) -> String {
        self.0.span_context().trace_id().to_string()
    }

    /// Ends the span with the call's status.
    pub fn finish(mut self, code: Code) {
        self.0
            .set_attribute(KeyValue::new("rpc.grpc.status_code", code as i64));
        if is_server_error(code) {
            self.0.set_status(Status::error(code.description()));
        }
        self.0.end();
    }
}

/// The codes that make a server span an error (semantic conventions for gRPC, server span);
/// the others are the caller's doing and leave the status unset.
fn is_server_error(code: Code) -> bool {
    matches!(
        code,
        Code::Unknown
            | Code::DeadlineExceeded
            | Code::Unimplemented
            | Code::Internal
            | Code::Unavailable
            | Code::DataLoss
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_w3c_traceparent() {
        let id = "4bf92f3577b34da6a3ce929d0e0e4736";
        assert_eq!(
            trace_id_of(&format!("00-{id}-00f067aa0ba902b7-01")).as_deref(),
            Some(id)
        );
        let parsed = TraceParent::parse(&format!("00-{id}-00f067aa0ba902b7-01")).unwrap();
        assert_eq!(parsed.parent_id.to_string(), "00f067aa0ba902b7");
        assert!(parsed.flags.is_sampled());
        assert!(
            !TraceParent::parse(&format!("00-{id}-00f067aa0ba902b7-00"))
                .unwrap()
                .flags
                .is_sampled()
        );
        // Later versions may carry more fields.
        assert_eq!(
            trace_id_of(&format!("cc-{id}-00f067aa0ba902b7-01-what")).as_deref(),
            Some(id)
        );
        for bad in [
            format!("00-{id}-00f067aa0ba902b7-01-extra"),
            format!("ff-{id}-00f067aa0ba902b7-01"),
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01".to_string(),
            format!("00-{id}-0000000000000000-01"),
            format!("00-{}-00f067aa0ba902b7-01", id.to_uppercase()),
            format!("00-{id}-00f067aa0ba902b7-1"),
            "00-abc-def-01".to_string(),
            String::new(),
        ] {
            assert_eq!(trace_id_of(&bad), None, "{bad}");
        }
    }

    #[test]
    fn tracestate_is_kept_and_joined_and_dropped_when_malformed() {
        let mut headers = http::HeaderMap::new();
        let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        headers.insert(TRACEPARENT, traceparent.parse().unwrap());
        headers.append(TRACESTATE, "vendor=opaque".parse().unwrap());
        headers.append(TRACESTATE, "other=1".parse().unwrap());
        assert_eq!(tracestate(&headers).header(), "vendor=opaque,other=1");

        headers.insert(TRACESTATE, "not a list member".parse().unwrap());
        assert_eq!(tracestate(&headers).header(), "");
        let parent = TraceParent::from_headers(&headers).unwrap();
        assert_eq!(parent.trace_id.to_string(), &traceparent[3..35]);

        headers.insert(TRACEPARENT, "00-bad".parse().unwrap());
        assert!(TraceParent::from_headers(&headers).is_none());
    }

    #[test]
    fn new_trace_ids_are_w3c_trace_ids() {
        let id = new_trace_id();
        assert_eq!(id.len(), 32);
        assert_eq!(
            trace_id_of(&format!("00-{id}-00f067aa0ba902b7-01")),
            Some(id)
        );
    }

    #[test]
    fn server_errors_per_the_conventions() {
        assert!(is_server_error(Code::Internal));
        assert!(is_server_error(Code::Unavailable));
        assert!(!is_server_error(Code::NotFound));
        assert!(!is_server_error(Code::PermissionDenied));
        assert!(!is_server_error(Code::Ok));
    }
}
