//! `x-dashboards-min-revision: R` on any call of our services (DESIGN §7): the call proceeds
//! once this replica sees the caller's org at revision R or later (`app::freshness`), or
//! fails with FAILED_PRECONDITION `REVISION_NOT_REACHED` shortly before its deadline, so the
//! caller learns why rather than getting a bare DEADLINE_EXCEEDED.
//!
//! A layer rather than a step in each handler: every read of every service honours it, and
//! no handler can forget to. It sits inside authentication, since the revision is the org's
//! and the org comes from the caller's token. Calls without the header pay a header lookup;
//! calls without a caller (health, reflection, public links) ignore it.

use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use tonic::body::Body;
use tower::{Layer, Service};

use super::deadline::CallDeadline;
use crate::app::{App, freshness};
use crate::core::error::echo;
use crate::core::{Error, Principal};

pub const MIN_REVISION_HEADER: &str = "x-dashboards-min-revision";

/// Kept of the deadline for answering: a tenth of what is left, at least 50 ms (the final
/// read and the response must fit in it).
const MIN_MARGIN: Duration = Duration::from_millis(50);

#[derive(Clone)]
pub struct MinRevisionLayer {
    app: App,
    /// The deadline when the request carries none (`REQUEST_TIMEOUT`).
    server_timeout: Duration,
}

impl MinRevisionLayer {
    pub fn new(app: App, server_timeout: Duration) -> Self {
        Self {
            app,
            server_timeout,
        }
    }
}

impl<S> Layer<S> for MinRevisionLayer {
    type Service = MinRevision<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MinRevision {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone)]
pub struct MinRevision<S> {
    inner: S,
    layer: MinRevisionLayer,
}

impl<S, B> Service<http::Request<B>> for MinRevision<S>
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

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let org_id = request.extensions().get::<Principal>().map(|p| &p.org_id);
        let wanted = request.headers().get(MIN_REVISION_HEADER);
        let (Some(org_id), Some(wanted)) = (org_id, wanted) else {
            return Box::pin(self.inner.call(request));
        };
        let org_id = org_id.clone();
        let wanted = parse(wanted);
        let deadline = request.extensions().get::<CallDeadline>().map(|d| d.0);
        let server_timeout = self.layer.server_timeout;
        // The clone that was driven to readiness serves this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let app = self.layer.app.clone();
        Box::pin(async move {
            let left = deadline.map_or(server_timeout, |d| {
                d.saturating_duration_since(Instant::now())
            });
            let budget = left.saturating_sub(MIN_MARGIN.max(left / 10));
            let fresh = match wanted {
                Ok(min) => freshness::await_revision(&app, &org_id, min, budget).await,
                Err(err) => Err(err),
            };
            match fresh {
                Ok(()) => inner.call(request).await,
                Err(err) => Ok(tonic::Status::from(err).into_http()),
            }
        })
    }
}

/// The header's revision: a non-negative int64, as `x-dashboards-revision` reports them.
fn parse(value: &http::HeaderValue) -> Result<i64, Error> {
    let text = value.to_str().map_err(|_| {
        Error::invalid(
            MIN_REVISION_HEADER,
            "must be a revision (a non-negative integer), not binary data",
        )
    })?;
    match text.trim().parse::<i64>() {
        Ok(revision) if revision >= 0 => Ok(revision),
        _ => Err(Error::invalid(
            MIN_REVISION_HEADER,
            format!(
                "must be a revision as x-dashboards-revision reports it (a non-negative \
                 integer), not {}",
                echo(text)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revision(text: &str) -> Result<i64, Error> {
        parse(&http::HeaderValue::from_str(text).expect("header value"))
    }

    #[test]
    fn revisions_are_non_negative_int64s() {
        assert_eq!(revision("0").ok(), Some(0));
        assert_eq!(revision(" 42 ").ok(), Some(42));
        assert_eq!(revision("9223372036854775807").ok(), Some(i64::MAX));
        for bad in ["", "-1", "1.5", "abc", "9223372036854775808", "0x10"] {
            let err = revision(bad).expect_err(bad);
            assert_eq!(err.reason(), "INVALID_ARGUMENT", "{bad}");
        }
    }
}
