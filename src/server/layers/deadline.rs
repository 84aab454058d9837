//! The call deadline: the shorter of the client's `grpc-timeout` and `REQUEST_TIMEOUT`.
//!
//! It replaces tonic's own server timeout, which answers CANCELLED "Timeout expired" without
//! details; an expired deadline is DEADLINE_EXCEEDED with an `ErrorInfo`. As with tonic's,
//! the deadline bounds the time to the response head: a server stream, once started, runs on.

use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use tonic::body::Body;
use tower::{Layer, Service};

use crate::core::Error;

/// When the call's deadline passes, in the request's extensions for the layers below that
/// wait (`x-dashboards-min-revision`) and must give up before it.
#[derive(Clone, Copy, Debug)]
pub struct CallDeadline(pub Instant);

#[derive(Clone)]
pub struct DeadlineLayer {
    server_timeout: Duration,
}

impl DeadlineLayer {
    pub fn new(server_timeout: Duration) -> Self {
        Self { server_timeout }
    }
}

impl<S> Layer<S> for DeadlineLayer {
    type Service = Deadline<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Deadline {
            inner,
            server_timeout: self.server_timeout,
        }
    }
}

#[derive(Clone)]
pub struct Deadline<S> {
    inner: S,
    server_timeout: Duration,
}

impl<S, B> Service<http::Request<B>> for Deadline<S>
where
    S: Service<http::Request<B>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let timeout = match client_timeout(request.headers()) {
            Some(client) => client.min(self.server_timeout),
            None => self.server_timeout,
        };
        if let Some(at) = Instant::now().checked_add(timeout) {
            request.extensions_mut().insert(CallDeadline(at));
        }
        let future = self.inner.call(request);
        Box::pin(async move {
            match tokio::time::timeout(timeout, future).await {
                Ok(result) => result,
                Err(_) => Ok(tonic::Status::from(Error::deadline_exceeded(timeout)).into_http()),
            }
        })
    }
}

/// The `grpc-timeout` header (gRPC over HTTP/2: at most 8 digits and a unit); a malformed
/// one is ignored, as tonic does.
fn client_timeout(headers: &http::HeaderMap) -> Option<Duration> {
    let value = headers.get("grpc-timeout")?.to_str().ok()?;
    if value.len() < 2 || value.len() > 9 || !value.is_char_boundary(value.len() - 1) {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount * 3600),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(value: &str) -> Option<Duration> {
        let mut headers = http::HeaderMap::new();
        headers.insert("grpc-timeout", value.parse().expect("header value"));
        client_timeout(&headers)
    }

    #[test]
    fn grpc_timeout_units() {
        assert_eq!(parse("2S"), Some(Duration::from_secs(2)));
        assert_eq!(parse("150m"), Some(Duration::from_millis(150)));
        assert_eq!(parse("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse("99999999n"), Some(Duration::from_nanos(99_999_999)));
        assert_eq!(parse("123456789S"), None);
        assert_eq!(parse("5x"), None);
        assert_eq!(parse("S"), None);
        assert_eq!(client_timeout(&http::HeaderMap::new()), None);
    }
}
