//! `JWT_JWKS_URL`: the identity provider's key set, fetched at start, refreshed every
//! `JWT_JWKS_REFRESH`, and refetched at once when a token names a `kid` the set does not have,
//! so that keys rotate without a restart.
//!
//! Bounds: a fetch has a timeout and a size limit; an unknown-kid refetch starts at most once
//! per `JWT_JWKS_MIN_REFETCH` (tokens with made-up kids cannot hammer the identity provider);
//! concurrent callers share the fetch in flight; a failed fetch keeps the last good set.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse};
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Far above any real key set (a few KiB), far below what could hurt.
pub const MAX_JWKS_BYTES: usize = 1024 * 1024;

/// How `JWT_JWKS_URL` is fetched.
#[derive(Debug, Clone)]
pub struct JwksUrlOptions {
    pub url: String,
    pub refresh: Duration,
    pub min_refetch: Duration,
    pub timeout: Duration,
}

pub struct RemoteJwks {
    url: reqwest::Url,
    client: reqwest::Client,
    options: JwksUrlOptions,
    set: RwLock<Arc<JwkSet>>,
    /// Held for the length of every fetch, so there is one at a time; holds when the last
    /// unknown-kid refetch started.
    fetching: Arc<Mutex<Option<Instant>>>,
    /// Fetches finished, good or not: a caller that waited for `fetching` and finds this moved
    /// knows a fetch ran meanwhile, and uses its result instead of starting another.
    finished: AtomicU64,
}

impl RemoteJwks {
    /// Checks the settings and builds the HTTP client; fetches nothing yet (see [`start`]).
    ///
    /// [`start`]: RemoteJwks::start
    pub fn new(options: &JwksUrlOptions) -> Result<Arc<Self>, String> {
        let url = reqwest::Url::parse(&options.url)
            .map_err(|e| format!("JWT_JWKS_URL {:?}: {e}", options.url))?;
        match url.scheme() {
            "https" => {}
            "http" => tracing::warn!(
                url = %url,
                "JWT_JWKS_URL is plain http: anyone on the path can substitute the keys"
            ),
            other => return Err(format!("JWT_JWKS_URL: scheme {other:?}, expected https")),
        }
        if options.refresh < Duration::from_secs(1) {
            return Err("JWT_JWKS_REFRESH must be at least 1s".into());
        }
        if options.timeout.is_zero() {
            return Err("JWT_JWKS_TIMEOUT must be more than 0s".into());
        }
        crate::server::tls::install_default_crypto_provider();
        let client = reqwest::Client::builder()
            .timeout(options.timeout)
            .user_agent(concat!("dashboard-service/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("JWT_JWKS_URL: cannot build the HTTP client: {}", chain(&e)))?;
        Ok(Arc::new(Self {
            url,
            client,
            options: options.clone(),
            set: RwLock::new(Arc::new(JwkSet { keys: Vec::new() })),
            fetching: Arc::new(Mutex::new(None)),
            finished: AtomicU64::new(0),
        }))
    }

    /// The first fetch (the server does not start without keys), then a task that refreshes
    /// every `JWT_JWKS_REFRESH` until the returned handle is dropped.
    pub async fn start(self: &Arc<Self>) -> Result<Refresher, String> {
        let count = self.fetch_now().await.map_err(|e| {
            format!(
                "JWT_JWKS_URL: cannot fetch the key set from {}: {e}",
                self.url
            )
        })?;
        tracing::info!(url = %self.url, keys = count, "fetched the JWKS");
        let this = self.clone();
        let period = self.options.refresh;
        Ok(Refresher(tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(Instant::now() + period, period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(err) = this.fetch_now().await {
                    tracing::warn!(url = %this.url, error = %err, "JWKS refresh failed; keeping the last good key set");
                }
            }
        })))
    }

    /// The key set as last fetched.
    pub fn current(&self) -> Arc<JwkSet> {
        self.set
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Called when a token names a kid [`current`] lacks: waits for the fetch in flight, or
    /// starts one unless one started less than `JWT_JWKS_MIN_REFETCH` ago. Returns within
    /// one fetch timeout; look in [`current`] again afterwards.
    ///
    /// [`current`]: RemoteJwks::current
    pub async fn refetch_for_unknown_kid(self: &Arc<Self>) {
        let seen = self.finished.load(Ordering::Acquire);
        let mut state = self.fetching.clone().lock_owned().await;
        if self.finished.load(Ordering::Acquire) != seen {
            return;
        }
        if state.is_some_and(|last| last.elapsed() < self.options.min_refetch) {
            return;
        }
        *state = Some(Instant::now());
        // A task of its own, holding the lock: a caller that goes away (deadline, cancel)
        // does not cancel the fetch that others wait for.
        let this = self.clone();
        let fetch = tokio::spawn(async move {
            let result = this.fetch_locked().await;
            drop(state);
            if let Err(err) = result {
                tracing::warn!(url = %this.url, error = %err, "JWKS refetch for an unknown kid failed; keeping the last good key set");
            }
        });
        let _ = fetch.await;
    }

    async fn fetch_now(&self) -> Result<usize, String> {
        let _one_at_a_time = self.fetching.lock().await;
        self.fetch_locked().await
    }

    /// Fetches and, if the answer is a usable set, makes it current. The caller holds
    /// `fetching`.
    async fn fetch_locked(&self) -> Result<usize, String> {
        let result = self.download().await;
        if let Ok(set) = &result {
            let set = Arc::new(set.clone());
            let before = std::mem::replace(
                &mut *self.set.write().unwrap_or_else(PoisonError::into_inner),
                set.clone(),
            );
            if kids(&before) != kids(&set) {
                tracing::info!(url = %self.url, kids = ?kids(&set), "the JWKS changed");
            }
        }
        self.finished.fetch_add(1, Ordering::Release);
        result.map(|set| set.keys.len())
    }

    async fn download(&self) -> Result<JwkSet, String> {
        let work = async {
            let mut response = self
                .client
                .get(self.url.clone())
                .header(http::header::ACCEPT, "application/json")
                .send()
                .await
                .map_err(|e| chain(&e))?;
            if !response.status().is_success() {
                return Err(format!("HTTP status {}", response.status()));
            }
            let too_big = || format!("the answer is larger than {MAX_JWKS_BYTES} bytes");
            if response
                .content_length()
                .is_some_and(|n| n > MAX_JWKS_BYTES as u64)
            {
                return Err(too_big());
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| chain(&e))? {
                if body.len() + chunk.len() > MAX_JWKS_BYTES {
                    return Err(too_big());
                }
                body.extend_from_slice(&chunk);
            }
            parse(&body)
        };
        // reqwest's timeout covers the whole exchange; this one also covers the body loop.
        tokio::time::timeout(self.options.timeout, work)
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {:?}", self.options.timeout)))
    }
}

/// Aborts the refresh task when dropped.
pub struct Refresher(tokio::task::JoinHandle<()>);

impl Drop for Refresher {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The signing keys of a JWKS document. Keys this service cannot use (encryption keys, other
/// algorithms, key types jsonwebtoken does not parse) are skipped rather than failing the
/// set: identity providers publish them beside the signing keys. A set with no usable key is
/// an error, so that a broken answer never replaces a good set.
fn parse(body: &[u8]) -> Result<JwkSet, String> {
    #[derive(serde::Deserialize)]
    struct Document {
        keys: Vec<serde_json::Value>,
    }
    let document: Document =
        serde_json::from_slice(body).map_err(|e| format!("not a JWKS document: {e}"))?;
    let keys: Vec<Jwk> = document
        .keys
        .into_iter()
        .filter_map(|key| serde_json::from_value::<Jwk>(key).ok())
        .filter(is_signing_key)
        .collect();
    if keys.is_empty() {
        return Err("the JWKS holds no RS256 or ES256 signing key".into());
    }
    Ok(JwkSet { keys })
}

fn is_signing_key(jwk: &Jwk) -> bool {
    use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, KeyAlgorithm};
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        return false;
    }
    match (&jwk.common.key_algorithm, &jwk.algorithm) {
        (Some(KeyAlgorithm::RS256), AlgorithmParameters::RSA(_)) => true,
        (Some(KeyAlgorithm::ES256), AlgorithmParameters::EllipticCurve(ec)) => {
            ec.curve == EllipticCurve::P256
        }
        (None, AlgorithmParameters::RSA(_)) => true,
        (None, AlgorithmParameters::EllipticCurve(ec)) => ec.curve == EllipticCurve::P256,
        _ => false,
    }
}

fn kids(set: &JwkSet) -> Vec<&str> {
    set.keys
        .iter()
        .map(|k| k.common.key_id.as_deref().unwrap_or("-"))
        .collect()
}

/// An error with its causes: reqwest's own text alone says little ("error sending request").
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_signing_keys_and_skips_the_rest() {
        let body = serde_json::json!({"keys": [
            {"kty": "RSA", "kid": "sig", "use": "sig", "alg": "RS256", "n": "AQAB", "e": "AQAB"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "alg": "RSA-OAEP", "n": "AQAB", "e": "AQAB"},
            {"kty": "EC", "kid": "p384", "crv": "P-384", "x": "AQAB", "y": "AQAB"},
            {"kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": "AQAB"},
            {"kty": "future", "kid": "unknown"},
            {"kty": "EC", "kid": "p256", "crv": "P-256", "x": "AQAB", "y": "AQAB"}
        ]});
        let set = parse(body.to_string().as_bytes()).unwrap();
        assert_eq!(kids(&set), vec!["sig", "p256"]);
        assert!(parse(br#"{"keys": []}"#).is_err());
        assert!(
            parse(br#"{"keys": [{"kty": "RSA", "use": "enc", "n": "AQAB", "e": "AQAB"}]}"#)
                .is_err()
        );
        assert!(parse(b"<html>").is_err());
    }

    #[test]
    fn settings_are_checked() {
        let options = JwksUrlOptions {
            url: "https://idp.example/jwks".into(),
            refresh: Duration::from_secs(300),
            min_refetch: Duration::from_secs(30),
            timeout: Duration::from_secs(5),
        };
        assert!(RemoteJwks::new(&options).is_ok());
        for (url, refresh, timeout) in [
            ("ftp://idp.example/jwks", 300, 5),
            ("not a url", 300, 5),
            ("https://idp.example/jwks", 0, 5),
            ("https://idp.example/jwks", 300, 0),
        ] {
            let bad = JwksUrlOptions {
                url: url.into(),
                refresh: Duration::from_secs(refresh),
                timeout: Duration::from_secs(timeout),
                ..options.clone()
            };
            assert!(RemoteJwks::new(&bad).is_err(), "{url} {refresh} {timeout}");
        }
    }
}
