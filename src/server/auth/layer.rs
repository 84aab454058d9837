//! The authentication tower layer.

use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use tonic::body::Body;
use tower::{Layer, Service};

use super::Verifier;
use crate::app::{App, identity};
use crate::core::{Error, Principal};

/// Paths served without a token: health checks, reflection, and public-link reads (the
/// link's token is the credential).
const PUBLIC_PREFIXES: [&str; 4] = [
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1.ServerReflection/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/dashboards.v1.SharingService/GetSharedDashboard",
];

/// Resolves each verified token against the directory through
/// [`app::identity::resolve`](crate::app::identity::resolve): records its user just in time
/// (a write of its own, only when the claims say something new) and applies what an ADMIN
/// set. One primary-key read per call when the row is current, so a demotion counts from
/// the very next call; there is no cache to go stale. A failure fails the call (nothing
/// proceeds on unchecked facts).
pub struct JitUsers {
    app: App,
}

impl JitUsers {
    pub fn new(app: App) -> Self {
        Self { app }
    }

    /// `fresh`: read the user's row from the database, not the fact cache (a call that asks
    /// for a revision: this layer runs before the wait for it, so the cache may not know
    /// that revision yet).
    async fn resolve(&self, claims: Principal, fresh: bool) -> Result<Principal, Error> {
        identity::resolve(&self.app, claims, fresh).await
    }
}

#[derive(Clone)]
pub struct AuthLayer {
    verifier: Arc<Verifier>,
    users: Option<Arc<JitUsers>>,
}

impl AuthLayer {
    pub fn new(verifier: Arc<Verifier>, users: Option<Arc<JitUsers>>) -> Self {
        Self { verifier, users }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            verifier: self.verifier.clone(),
            users: self.users.clone(),
        }
    }
}

#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    verifier: Arc<Verifier>,
    users: Option<Arc<JitUsers>>,
}

impl<S, B> Service<http::Request<B>> for AuthService<S>
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
        // The clone that was driven to readiness serves this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let verifier = self.verifier.clone();
        let users = self.users.clone();
        Box::pin(async move {
            let path = request.uri().path();
            if PUBLIC_PREFIXES
                .iter()
                .any(|prefix| path.starts_with(prefix))
            {
                return inner.call(request).await;
            }
            match authenticate(&verifier, request.headers()).await {
                Ok(claims) => {
                    let principal = match &users {
                        Some(users) => {
                            let fresh = request
                                .headers()
                                .contains_key(crate::server::layers::MIN_REVISION_HEADER);
                            users.resolve(claims, fresh).await
                        }
                        None => Ok(claims),
                    };
                    match principal {
                        Ok(principal) => {
                            request.extensions_mut().insert(principal);
                            inner.call(request).await
                        }
                        Err(err) => Ok(tonic::Status::from(err).into_http()),
                    }
                }
                Err(err) => Ok(tonic::Status::from(err).into_http()),
            }
        })
    }
}

async fn authenticate(verifier: &Verifier, headers: &http::HeaderMap) -> Result<Principal, Error> {
    let value = headers.get(http::header::AUTHORIZATION).ok_or_else(|| {
        Error::unauthenticated(
            "MISSING_CREDENTIALS",
            "missing `authorization: Bearer <token>` metadata",
        )
    })?;
    let value = value.to_str().map_err(|_| {
        Error::unauthenticated(
            "INVALID_TOKEN",
            "the authorization metadata is not valid text",
        )
    })?;
    let token = value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or_else(|| Error::unauthenticated("INVALID_TOKEN", "expected `Bearer <token>`"))?;
    verifier.verify(token).await
}
