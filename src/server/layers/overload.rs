//! Overload shedding: at most `MAX_CONCURRENT_CALLS` calls in flight. A call over the limit is
//! answered at once with RESOURCE_EXHAUSTED, reason `OVERLOADED` and a `RetryInfo` delay,
//! instead of waiting: before this limit every call was accepted and waited for a database
//! connection, so under four times the load latency grew to seconds for everyone and the only
//! refusals were pool waits timing out as UNAVAILABLE, which invites retries at once.
//!
//! What holds a slot, and until when:
//! - unary and client-streaming calls: from their request head until their response body
//!   has ended (the trailers are handed to HTTP/2), or until the call is dropped (the client
//!   cancelled, the deadline passed). The response's encoding is work of the call too.
//! - server-streaming and bidirectional calls: until their response head, that is the
//!   handler's setup (authentication, authorization, the first reads). A stream's later life
//!   is not counted: a watch stream sits idle for hours without a database connection, and
//!   a slot held for its whole life would starve unary calls with a handful of watchers.
//!   Streams are bounded by `MAX_CONCURRENT_STREAMS` per connection instead.
//! - health and reflection never take a slot and are never shed: probes must answer under
//!   overload, or an overloaded replica would be restarted or ejected on top of it.
//!
//! The layer sits inside the calls layer (metrics and the access log see the shed calls with
//! their code) and outside authentication, which reads the database: a shed call costs its
//! HTTP/2 headers and a small response, nothing more.

use std::ops::RangeInclusive;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http_body::Frame;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::body::Body;
use tower::{Layer, Service};

use crate::core::Error;
use crate::server::BoxError;
use crate::server::metrics::Metrics;

/// Services that are never shed and take no slot.
pub const NEVER_SHED: [&str; 3] = [
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1.ServerReflection/",
    "/grpc.reflection.v1alpha.ServerReflection/",
];

/// The `RetryInfo` delay, drawn anew for each shed call: long enough for slots to free up
/// (calls here take milliseconds), short enough not to matter to a person, and spread so
/// that the callers shed by one burst do not all come back at the same moment.
pub const RETRY_DELAY_MS: RangeInclusive<u64> = 50..=150;

#[derive(Clone)]
pub struct OverloadLayer {
    /// `None`: no limit (`MAX_CONCURRENT_CALLS=0`); slots are still counted for the gauge.
    permits: Option<Arc<Semaphore>>,
    metrics: Arc<Metrics>,
}

impl OverloadLayer {
    /// At most `limit` calls in flight; 0 means no limit.
    pub fn new(limit: usize, metrics: Arc<Metrics>) -> Self {
        metrics.set_concurrency_limit(limit);
        Self {
            permits: (limit > 0).then(|| Arc::new(Semaphore::new(limit))),
            metrics,
        }
    }
}

impl<S> Layer<S> for OverloadLayer {
    type Service = Overload<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Overload {
            inner,
            permits: self.permits.clone(),
            metrics: self.metrics.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Overload<S> {
    inner: S,
    permits: Option<Arc<Semaphore>>,
    metrics: Arc<Metrics>,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for Overload<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>> + Send + 'static,
    S::Future: Send + 'static,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let path = request.uri().path();
        if NEVER_SHED.iter().any(|prefix| path.starts_with(prefix)) {
            let future = self.inner.call(request);
            return Box::pin(async move { Ok(future.await?.map(Body::new)) });
        }
        let method = self.metrics.method(path);
        let permit = match &self.permits {
            Some(permits) => match permits.clone().try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    method.shed.inc();
                    let retry_after =
                        Duration::from_millis(rand::random_range(RETRY_DELAY_MS.clone()));
                    let response = tonic::Status::from(Error::Overloaded { retry_after });
                    return Box::pin(async move { Ok(response.into_http()) });
                }
            },
            None => None,
        };
        let slot = Slot::new(permit, self.metrics.in_flight().clone());
        let whole_life = matches!(method.kind, "unary" | "client_stream" | "unknown");
        let future = self.inner.call(request);
        Box::pin(async move {
            let response = future.await?;
            if !whole_life {
                drop(slot);
                return Ok(response.map(Body::new));
            }
            Ok(response.map(|body| {
                Body::new(HoldingSlot {
                    inner: Body::new(body),
                    slot: Some(slot),
                })
            }))
        })
    }
}

/// A call's place under the limit; given back when dropped.
struct Slot {
    _permit: Option<OwnedSemaphorePermit>,
    in_flight: prometheus::IntGauge,
}

impl Slot {
    fn new(permit: Option<OwnedSemaphorePermit>, in_flight: prometheus::IntGauge) -> Self {
        in_flight.inc();
        Self {
            _permit: permit,
            in_flight,
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.in_flight.dec();
    }
}

/// A response body that gives its call's slot back when it ends (or is dropped).
struct HoldingSlot {
    inner: Body,
    slot: Option<Slot>,
}

impl http_body::Body for HoldingSlot {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        let ended = match &polled {
            Poll::Ready(Some(Ok(frame))) => frame.is_trailers(),
            Poll::Ready(_) => true,
            Poll::Pending => false,
        };
        if ended {
            self.slot = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn metrics() -> Arc<Metrics> {
        Arc::new(
            Metrics::new(
                &[
                    crate::server::FILE_DESCRIPTOR_SET,
                    tonic_health::pb::FILE_DESCRIPTOR_SET,
                ],
                None,
            )
            .expect("metrics"),
        )
    }

    fn request(path: &str) -> http::Request<Body> {
        http::Request::builder()
            .uri(path)
            .body(Body::empty())
            .expect("request")
    }

    /// A service answering OK with one data frame and trailers.
    fn ok_service() -> impl Service<
        http::Request<Body>,
        Response = http::Response<Body>,
        Error = std::convert::Infallible,
        Future = impl Send,
    > + Clone
    + Send {
        tower::service_fn(|_: http::Request<Body>| async {
            let mut trailers = http::HeaderMap::new();
            trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
            let frames = futures_util::stream::iter([
                Ok::<_, std::convert::Infallible>(Frame::data(Bytes::from_static(b"x"))),
                Ok(Frame::trailers(trailers)),
            ]);
            Ok(http::Response::new(Body::new(
                http_body_util::StreamBody::new(frames),
            )))
        })
    }

    fn code_of(response: &http::Response<Body>) -> Option<tonic::Code> {
        tonic::Status::from_header_map(response.headers()).map(|s| s.code())
    }

    #[tokio::test]
    async fn a_unary_call_holds_its_slot_until_its_body_ends() {
        let metrics = metrics();
        let mut service = OverloadLayer::new(1, metrics.clone()).layer(ok_service());
        let get = "/dashboards.v1.DashboardService/GetDashboard";
        let first = service.call(request(get)).await.expect("first");
        assert_eq!(metrics.in_flight().get(), 1);

        let shed = service.call(request(get)).await.expect("shed");
        let status = tonic::Status::from_header_map(shed.headers()).expect("a status");
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert_eq!(metrics.method(get).shed.get(), 1);

        // Health never waits for a slot, nor takes one.
        let health = service
            .call(request("/grpc.health.v1.Health/Check"))
            .await
            .expect("health");
        assert_eq!(code_of(&health), None);
        assert_eq!(metrics.in_flight().get(), 1);

        let collected = first.into_body().collect().await.expect("body");
        assert!(collected.trailers().is_some());
        assert_eq!(metrics.in_flight().get(), 0);
        let again = service.call(request(get)).await.expect("again");
        assert_eq!(code_of(&again), None);
        drop(again);
        assert_eq!(
            metrics.in_flight().get(),
            0,
            "a dropped body frees its slot"
        );
    }

    #[tokio::test]
    async fn a_server_stream_gives_its_slot_back_at_its_response_head() {
        use prost::Message;
        use prost_types::{
            FileDescriptorProto, FileDescriptorSet, MethodDescriptorProto, ServiceDescriptorProto,
        };
        let method = |name: &str, server_streaming| MethodDescriptorProto {
            name: Some(name.into()),
            server_streaming: Some(server_streaming),
            ..Default::default()
        };
        let streams = FileDescriptorSet {
            file: vec![FileDescriptorProto {
                package: Some("test".into()),
                service: vec![ServiceDescriptorProto {
                    name: Some("Streams".into()),
                    method: vec![method("Watch", true), method("Get", false)],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
        .encode_to_vec();
        let metrics = Arc::new(Metrics::new(&[&streams], None).expect("metrics"));
        let mut service = OverloadLayer::new(1, metrics.clone()).layer(ok_service());

        let watch = service
            .call(request("/test.Streams/Watch"))
            .await
            .expect("watch");
        assert_eq!(code_of(&watch), None);
        assert_eq!(
            metrics.in_flight().get(),
            0,
            "the open stream holds no slot"
        );
        let get = service
            .call(request("/test.Streams/Get"))
            .await
            .expect("get");
        assert_eq!(code_of(&get), None, "a unary call still finds its slot");
        assert_eq!(metrics.in_flight().get(), 1);
        let shed = service
            .call(request("/test.Streams/Watch"))
            .await
            .expect("shed");
        assert_eq!(code_of(&shed), Some(tonic::Code::ResourceExhausted));
        drop((watch, get));
        assert_eq!(metrics.in_flight().get(), 0);
    }

    #[tokio::test]
    async fn no_limit_sheds_nothing_and_still_counts() {
        let metrics = metrics();
        let mut service = OverloadLayer::new(0, metrics.clone()).layer(ok_service());
        let get = "/dashboards.v1.DashboardService/GetDashboard";
        let held: Vec<_> = futures_util::future::join_all(
            (0..5)
                .map(|_| service.call(request(get)))
                .collect::<Vec<_>>(),
        )
        .await;
        assert!(
            held.iter()
                .all(|r| r.as_ref().map(code_of).ok() == Some(None))
        );
        assert_eq!(metrics.in_flight().get(), 5);
        drop(held);
        assert_eq!(metrics.in_flight().get(), 0);
    }
}
