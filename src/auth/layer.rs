//! The authentication tower layer.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use tonic::body::Body;
use tower::{Layer, Service};

use super::Verifier;
use crate::domain::{Error, Principal, now_micros};
use crate::store::UserRepo;

/// Paths served without a token: health checks, reflection, and public-link reads (the
/// link's token is the credential).
const PUBLIC_PREFIXES: [&str; 4] = [
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1.ServerReflection/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/dashboards.v1.SharingService/GetSharedDashboard",
];

/// Records each user of a verified token in the directory, once per distinct set of claims.
pub struct JitUsers {
    users: UserRepo,
    seen: Mutex<HashSet<Principal>>,
}

const JIT_CACHE_LIMIT: usize = 100_000;

impl JitUsers {
    pub fn new(users: UserRepo) -> Self {
        Self {
            users,
            seen: Mutex::new(HashSet::new()),
        }
    }

    async fn record(&self, principal: &Principal) {
        let known = self
            .seen
            .lock()
            .map(|seen| seen.contains(principal))
            .unwrap_or(false);
        if known {
            return;
        }
        match self.users.upsert_from_claims(principal, now_micros()).await {
            Ok(()) => {
                if let Ok(mut seen) = self.seen.lock() {
                    if seen.len() >= JIT_CACHE_LIMIT {
                        seen.clear();
                    }
                    seen.insert(principal.clone());
                }
            }
            // The call itself will report the database problem, if it touches the database.
            Err(err) => {
                tracing::warn!(error = %err, user = %principal.user_id, "cannot record user")
            }
        }
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
            match authenticate(&verifier, request.headers()) {
                Ok(principal) => {
                    if let Some(users) = &users {
                        users.record(&principal).await;
                    }
                    request.extensions_mut().insert(principal);
                    inner.call(request).await
                }
                Err(err) => Ok(tonic::Status::from(err).into_http()),
            }
        })
    }
}

fn authenticate(verifier: &Verifier, headers: &http::HeaderMap) -> Result<Principal, Error> {
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
    verifier.verify(token)
}
