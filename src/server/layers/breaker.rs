//! Calls against the database breaker (`store::breaker`).
//!
//! Every call of a guarded service (the registered ones: all of them need the database; health
//! and reflection are never guarded) passes here. While the breaker is open the call is
//! answered UNAVAILABLE (`DATABASE_UNAVAILABLE`, with a RetryInfo delay) at once, without
//! waiting on the pool. Otherwise it runs, raced against the breaker opening: a call waiting on
//! a database that stops answering ends with the same UNAVAILABLE when the breaker opens, not
//! at its deadline. The calls are also the breaker's early warning: one that answers
//! UNAVAILABLE, or is still running after [`SUSPECT_SLOW_CALLS_AFTER`], asks for a probe.
//!
//! The layer sits outside authentication, whose just-in-time user records need the database
//! too. An abandoned write may still commit if its COMMIT had reached the database before it
//! froze; a retry is safe where the write is idempotent (CreateDashboard `request_id`,
//! etag-guarded updates), as after a deadline.

use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use tonic::body::Body;
use tower::{Layer, Service};

use crate::core::Error;
use crate::store::breaker::{Breaker, SUSPECT_SLOW_CALLS_AFTER};

#[derive(Clone)]
pub struct BreakerLayer {
    breaker: Arc<Breaker>,
    guarded: Arc<[&'static str]>,
}

impl BreakerLayer {
    /// Guards the calls of the services named in `guarded` (e.g. `dashboards.v1.WidgetService`).
    pub fn new(breaker: Arc<Breaker>, guarded: &[&'static str]) -> Self {
        Self {
            breaker,
            guarded: guarded.into(),
        }
    }
}

impl<S> Layer<S> for BreakerLayer {
    type Service = Guarded<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Guarded {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Guarded<S> {
    inner: S,
    layer: BreakerLayer,
}

impl<S> Guarded<S> {
    /// True for a call of a guarded service: the path is `/{service}/{method}`.
    fn guards(&self, path: &str) -> bool {
        let service = path
            .strip_prefix('/')
            .and_then(|rest| rest.split_once('/'))
            .map(|(service, _)| service);
        service.is_some_and(|service| self.layer.guarded.contains(&service))
    }
}

impl<S, B> Service<http::Request<B>> for Guarded<S>
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
        if !self.guards(request.uri().path()) {
            return Box::pin(self.inner.call(request));
        }
        let breaker = self.layer.breaker.clone();
        if breaker.is_open() {
            let response = refused(&breaker);
            return Box::pin(async move { Ok(response) });
        }
        let call = self.inner.call(request);
        Box::pin(async move {
            let opened = breaker.opened();
            let slow = tokio::time::sleep(SUSPECT_SLOW_CALLS_AFTER);
            tokio::pin!(call, opened, slow);
            let mut suspected = false;
            loop {
                tokio::select! {
                    biased;
                    result = &mut call => {
                        if let Ok(response) = &result
                            && is_unavailable(response)
                        {
                            breaker.suspect();
                        }
                        return result;
                    }
                    () = &mut opened => return Ok(refused(&breaker)),
                    () = &mut slow, if !suspected => {
                        suspected = true;
                        breaker.suspect();
                    }
                }
            }
        })
    }
}

/// The answer while the breaker is open.
fn refused(breaker: &Breaker) -> http::Response<Body> {
    tonic::Status::from(Error::DatabaseDown {
        retry_after: breaker.retry_after(),
    })
    .into_http()
}

/// An error answered as a trailers-only response with UNAVAILABLE (14).
fn is_unavailable(response: &http::Response<Body>) -> bool {
    response
        .headers()
        .get("grpc-status")
        .is_some_and(|status| status.as_bytes() == b"14")
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::time::Duration;

    use tonic::Code;
    use tonic_types::StatusExt;

    use super::*;

    const GUARDED: &str = "dashboards.v1.DashboardService";

    /// A service whose calls never finish, like calls waiting on a frozen database.
    fn hanging() -> impl Service<
        http::Request<()>,
        Response = http::Response<Body>,
        Error = Infallible,
        Future = BoxFuture<'static, Result<http::Response<Body>, Infallible>>,
    > + Clone {
        tower::service_fn(|_: http::Request<()>| -> BoxFuture<'static, _> {
            Box::pin(std::future::pending())
        })
    }

    fn request(path: &str) -> http::Request<()> {
        http::Request::builder()
            .uri(path)
            .body(())
            .expect("request")
    }

    fn status_of(response: &http::Response<Body>) -> tonic::Status {
        tonic::Status::from_header_map(response.headers()).expect("a trailers-only status")
    }

    #[tokio::test(start_paused = true)]
    async fn an_open_breaker_refuses_guarded_calls_at_once_and_ends_waiting_ones() {
        let breaker = Arc::new(Breaker::new(Duration::from_secs(1)));
        let mut service = BreakerLayer::new(breaker.clone(), &[GUARDED]).layer(hanging());

        let waiting = tokio::spawn(service.call(request(&format!("/{GUARDED}/GetDashboard"))));
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(!waiting.is_finished(), "a closed breaker lets calls run");

        breaker.record(false);
        let response = tokio::time::timeout(Duration::from_secs(1), waiting)
            .await
            .expect("the waiting call ended when the breaker opened")
            .expect("join")
            .expect("response");
        let status = status_of(&response);
        assert_eq!(status.code(), Code::Unavailable);
        let details = status.get_error_details();
        assert_eq!(
            details.error_info().map(|i| i.reason.as_str()),
            Some("DATABASE_UNAVAILABLE")
        );
        assert_eq!(
            details.retry_info().and_then(|r| r.retry_delay),
            Some(Duration::from_secs(1))
        );

        let response = service
            .call(request(&format!("/{GUARDED}/ListDashboards")))
            .await
            .expect("response");
        assert_eq!(status_of(&response).code(), Code::Unavailable);

        // Health and reflection never go through the breaker.
        let health = service.call(request("/grpc.health.v1.Health/Check"));
        let health = tokio::time::timeout(Duration::from_secs(5), health).await;
        assert!(
            health.is_err(),
            "an unguarded call was answered by the breaker"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_call_asks_for_a_probe() {
        let breaker = Arc::new(Breaker::new(Duration::from_secs(1)));
        let mut service = BreakerLayer::new(breaker.clone(), &[GUARDED]).layer(hanging());
        let _call = tokio::spawn(service.call(request(&format!("/{GUARDED}/GetDashboard"))));
        let asked = tokio::time::timeout(
            SUSPECT_SLOW_CALLS_AFTER + Duration::from_millis(50),
            breaker.suspicion(),
        )
        .await;
        assert!(asked.is_ok(), "no probe was asked for");
    }
}
