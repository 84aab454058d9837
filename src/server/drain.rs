//! Drain after SIGTERM: the pieces `serve` puts together.
//!
//! Timeline: NOT_SERVING at once; keep accepting and serving for `SHUTDOWN_DELAY` (meshes and
//! kubelets need a few health-check intervals to stop routing); then [`Drain::start`] closes
//! the listener (new connections are refused instead of waiting in the kernel's backlog),
//! tonic sends GOAWAY on every connection, and long streams end with UNAVAILABLE
//! (`SHUTTING_DOWN`) so that their connections can close; in-flight calls then have
//! `SHUTDOWN_GRACE` to finish. Each connection then closes with a lingering close
//! (`linger.rs`), so that the last answers are not lost to a TCP reset.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http_body::Frame;
use tokio_stream::Stream;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tonic::body::Body;
use tonic::transport::server::TcpIncoming;
use tower::{Layer, Service};

use super::linger::LingeringClose;
use crate::core::Error;

/// Streams that never end on their own: they would hold their connection open through the
/// whole grace period, so the drain ends them.
pub const LONG_STREAMS: [&str; 4] = [
    "/grpc.health.v1.Health/Watch",
    "/dashboards.v1.DashboardService/WatchDashboards",
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
];

/// The moment the server stops accepting and ends long streams.
#[derive(Clone, Default)]
pub struct Drain {
    token: CancellationToken,
}

impl Drain {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn start(&self) {
        self.token.cancel();
    }

    /// Resolves once the drain has started.
    pub fn started(&self) -> WaitForCancellationFutureOwned {
        self.token.clone().cancelled_owned()
    }

    /// The accepted connections until the drain starts; then the listener is dropped (so
    /// connecting is refused) and the stream ends, which makes tonic shut down gracefully.
    pub fn incoming(&self, incoming: TcpIncoming) -> DrainingIncoming {
        DrainingIncoming {
            incoming: Some(incoming),
            started: Box::pin(self.started()),
        }
    }

    /// Ends the responses of [`LONG_STREAMS`] when the drain starts.
    pub fn layer(&self) -> LongStreamsLayer {
        LongStreamsLayer {
            drain: self.clone(),
        }
    }
}

pub struct DrainingIncoming {
    incoming: Option<TcpIncoming>,
    started: Pin<Box<WaitForCancellationFutureOwned>>,
}

impl Stream for DrainingIncoming {
    /// Connections close with a lingering close (see `linger`), so that the answers of the
    /// last calls reach their callers.
    type Item = std::io::Result<LingeringClose>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.incoming.is_none() || self.started.as_mut().poll(cx).is_ready() {
            self.incoming = None;
            return Poll::Ready(None);
        }
        match self.incoming.as_mut() {
            Some(incoming) => Pin::new(incoming)
                .poll_next(cx)
                .map(|next| next.map(|accepted| accepted.map(LingeringClose::new))),
            None => Poll::Ready(None),
        }
    }
}

#[derive(Clone)]
pub struct LongStreamsLayer {
    drain: Drain,
}

impl<S> Layer<S> for LongStreamsLayer {
    type Service = LongStreams<S>;

    fn layer(&self, inner: S) -> Self::Service {
        LongStreams {
            inner,
            drain: self.drain.clone(),
        }
    }
}

#[derive(Clone)]
pub struct LongStreams<S> {
    inner: S,
    drain: Drain,
}

impl<S, B> Service<http::Request<B>> for LongStreams<S>
where
    S: Service<http::Request<B>, Response = http::Response<Body>> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let long = LONG_STREAMS.contains(&request.uri().path());
        let started = long.then(|| self.drain.started());
        let future = self.inner.call(request);
        Box::pin(async move {
            let response = future.await?;
            Ok(match started {
                Some(started) => response.map(|body| {
                    Body::new(EndOnDrain {
                        inner: body,
                        started: Box::pin(started),
                        done: false,
                    })
                }),
                None => response,
            })
        })
    }
}

/// A response body that ends with UNAVAILABLE trailers once the drain starts.
struct EndOnDrain {
    inner: Body,
    started: Pin<Box<WaitForCancellationFutureOwned>>,
    done: bool,
}

impl http_body::Body for EndOnDrain {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.done {
            return Poll::Ready(None);
        }
        if self.started.as_mut().poll(cx).is_ready() {
            self.done = true;
            let mut trailers = http::HeaderMap::new();
            return match tonic::Status::from(Error::ShuttingDown).add_header(&mut trailers) {
                Ok(()) => Poll::Ready(Some(Ok(Frame::trailers(trailers)))),
                Err(status) => Poll::Ready(Some(Err(status))),
            };
        }
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(None) | Poll::Ready(Some(Err(_))) = &polled {
            self.done = true;
        }
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && frame.is_trailers()
        {
            self.done = true;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.inner.is_end_stream()
    }
}
