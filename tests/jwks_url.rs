//! JWT_JWKS_URL: keys fetched from an identity provider rotate without a restart. A small
//! identity provider on 127.0.0.1 serves a key set the tests change, and counts its fetches.

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{assert_error, with_token};
use dashboard_service::pb;
use dashboard_service::server::config::Config;
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use tonic::Code;

// ---- the identity provider -------------------------------------------------------------

#[derive(Clone)]
enum Answer {
    Keys(JwkSet),
    Status(u16),
    /// More than the service reads.
    Huge,
    /// Never answers.
    Hang,
}

struct IdpState {
    answer: Mutex<Answer>,
    /// How long each answer waits, so that concurrent callers overlap one fetch.
    delay: Mutex<Duration>,
    fetches: AtomicUsize,
}

struct Idp {
    addr: SocketAddr,
    state: Arc<IdpState>,
}

impl Idp {
    /// Serves `GET /jwks` on its own thread and runtime (the test server's start fetches
    /// from it while the test's runtime is blocked waiting).
    fn start(answer: Answer) -> Self {
        let state = Arc::new(IdpState {
            answer: Mutex::new(answer),
            delay: Mutex::new(Duration::ZERO),
            fetches: AtomicUsize::new(0),
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let shared = state.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let app = axum::Router::new()
                    .route("/jwks", axum::routing::get(jwks))
                    .with_state(shared);
                axum::serve(listener, app).await.expect("idp");
            });
        });
        Self { addr, state }
    }

    fn url(&self) -> String {
        format!("http://{}/jwks", self.addr)
    }

    fn answer(&self, answer: Answer) {
        *self.state.answer.lock().unwrap() = answer;
    }

    fn delay(&self, delay: Duration) {
        *self.state.delay.lock().unwrap() = delay;
    }

    fn fetches(&self) -> usize {
        self.state.fetches.load(Ordering::SeqCst)
    }
}

async fn jwks(
    axum::extract::State(state): axum::extract::State<Arc<IdpState>>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    state.fetches.fetch_add(1, Ordering::SeqCst);
    let delay = *state.delay.lock().unwrap();
    let answer = state.answer.lock().unwrap().clone();
    tokio::time::sleep(delay).await;
    let json = [(http::header::CONTENT_TYPE, "application/json")];
    match answer {
        Answer::Keys(set) => (json, serde_json::to_string(&set).unwrap()).into_response(),
        Answer::Status(code) => http::StatusCode::from_u16(code).unwrap().into_response(),
        Answer::Huge => (json, " ".repeat(2 * 1024 * 1024)).into_response(),
        Answer::Hang => std::future::pending().await,
    }
}

// ---- keys and tokens -------------------------------------------------------------------

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Key A signs RS256, key B ES256 (the committed throwaway pairs).
struct Key {
    kid: &'static str,
    algorithm: Algorithm,
    private: EncodingKey,
}

fn key_a() -> Key {
    let pem = std::fs::read(fixture("rs256-private.pem")).unwrap();
    Key {
        kid: "key-a",
        algorithm: Algorithm::RS256,
        private: EncodingKey::from_rsa_pem(&pem).unwrap(),
    }
}

fn key_b() -> Key {
    let pem = std::fs::read(fixture("es256-private.pem")).unwrap();
    Key {
        kid: "key-b",
        algorithm: Algorithm::ES256,
        private: EncodingKey::from_ec_pem(&pem).unwrap(),
    }
}

fn set(keys: &[&Key]) -> Answer {
    Answer::Keys(JwkSet {
        keys: keys
            .iter()
            .map(|key| {
                let mut jwk = Jwk::from_encoding_key(&key.private, key.algorithm).unwrap();
                jwk.common.key_id = Some(key.kid.to_string());
                jwk.common.public_key_use = Some(PublicKeyUse::Signature);
                jwk
            })
            .collect(),
    })
}

/// A token signed by `key`, naming `kid`.
fn token(key: &Key, kid: &str) -> String {
    let mut header = Header::new(key.algorithm);
    header.kid = Some(kid.to_string());
    let claims = serde_json::json!({
        "sub": "alice",
        "org": common::unique_org(),
        "role": "AUTHOR",
        "exp": jsonwebtoken::get_current_timestamp() + 600,
    });
    jsonwebtoken::encode(&header, &claims, &key.private).unwrap()
}

async fn call(server: &common::TestServer, token: &str) -> Result<(), tonic::Status> {
    let mut client = server.dashboards().await;
    client
        .list_dashboards(with_token(pb::ListDashboardsRequest::default(), token))
        .await
        .map(|_| ())
}

fn server(idp: &Idp, refresh: Duration, min_refetch: Duration) -> common::TestServer {
    let url = idp.url();
    common::start(move |c| {
        c.jwt_secret = None;
        c.jwt_jwks_url = Some(url);
        c.jwt_jwks_refresh = refresh;
        c.jwt_jwks_min_refetch = min_refetch;
        c.jwt_jwks_timeout = Duration::from_millis(500);
    })
}

const HOUR: Duration = Duration::from_secs(3600);

// ---- tests -----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn a_new_kid_is_fetched_at_once_and_shared_by_concurrent_callers() {
    let (a, b) = (key_a(), key_b());
    let idp = Idp::start(set(&[&a]));
    // No periodic refresh during the test: every fetch after the first is a refetch.
    let server = server(&idp, HOUR, HOUR);
    assert_eq!(idp.fetches(), 1, "the start fetches once");
    call(&server, &token(&a, "key-a")).await.expect("key A");

    // The provider adds B; tokens signed by B arrive together while the refetch is slow.
    idp.answer(set(&[&a, &b]));
    idp.delay(Duration::from_millis(300));
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let token = token(&b, "key-b");
            let server = &server;
            async move { call(server, &token).await }
        })
        .collect();
    for result in futures_util::future::join_all(calls).await {
        result.expect("key B right after the rotation");
    }
    assert_eq!(idp.fetches(), 2, "one refetch, shared by every caller");
    idp.delay(Duration::ZERO);

    // A burst of made-up kids: refused, and no more fetches within JWT_JWKS_MIN_REFETCH.
    let calls: Vec<_> = (0..20)
        .map(|i| {
            let token = token(&b, &format!("random-{i}"));
            let server = &server;
            async move { call(server, &token).await }
        })
        .collect();
    for result in futures_util::future::join_all(calls).await {
        assert_error(&result.unwrap_err(), Code::Unauthenticated, "INVALID_TOKEN");
    }
    assert_eq!(
        idp.fetches(),
        2,
        "unknown kids within the window fetch nothing"
    );
    call(&server, &token(&a, "key-a"))
        .await
        .expect("key A still");
    call(&server, &token(&b, "key-b"))
        .await
        .expect("key B still");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_drops_removed_keys_and_a_failed_one_keeps_the_last_good_set() {
    let (a, b) = (key_a(), key_b());
    let idp = Idp::start(set(&[&a, &b]));
    let server = server(&idp, Duration::from_secs(1), HOUR);
    call(&server, &token(&a, "key-a")).await.expect("key A");

    // The provider retires A; after the next refresh (no token is sent meanwhile), A's tokens
    // are refused.
    idp.answer(set(&[&b]));
    wait_for_fetches(&idp, 1).await;
    let refused = call(&server, &token(&a, "key-a")).await.unwrap_err();
    assert_error(&refused, Code::Unauthenticated, "INVALID_TOKEN");
    call(&server, &token(&b, "key-b")).await.expect("key B");

    // Failed refreshes (an error status, an answer too large, a set without keys) keep B.
    for answer in [
        Answer::Status(500),
        Answer::Huge,
        Answer::Keys(JwkSet { keys: Vec::new() }),
    ] {
        idp.answer(answer);
        wait_for_fetches(&idp, 1).await;
        call(&server, &token(&b, "key-b"))
            .await
            .expect("key B after a failed refresh");
    }
}

/// Waits (up to 10s) until the provider has answered `more` fetches beyond now.
async fn wait_for_fetches(idp: &Idp, more: usize) {
    // A fetch that began before the answer changed may still be running: one more.
    let target = idp.fetches() + more + 1;
    let start = Instant::now();
    while idp.fetches() < target {
        assert!(start.elapsed() < Duration::from_secs(10), "no refresh came");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Let the last one be stored.
    tokio::time::sleep(Duration::from_millis(100)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hanging_provider_delays_a_call_by_the_fetch_timeout_at_most() {
    let (a, b) = (key_a(), key_b());
    let idp = Idp::start(set(&[&a]));
    let server = server(&idp, HOUR, Duration::ZERO);
    idp.answer(Answer::Hang);

    let start = Instant::now();
    let refused = call(&server, &token(&b, "key-b")).await.unwrap_err();
    assert_error(&refused, Code::Unauthenticated, "INVALID_TOKEN");
    // JWT_JWKS_TIMEOUT is 500ms here; the rest is slack for a loaded machine.
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "waited {:?}",
        start.elapsed()
    );
    assert!(idp.fetches() >= 2, "the unknown kid made it refetch");
    // Known kids never wait for the provider.
    let start = Instant::now();
    call(&server, &token(&a, "key-a")).await.expect("key A");
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn the_server_does_not_start_without_the_first_key_set() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let idp_500 = Idp::start(Answer::Status(500));
    let idp_huge = Idp::start(Answer::Huge);
    for (url, expected) in [
        (format!("http://{closed}/jwks"), "JWT_JWKS_URL"),
        (idp_500.url(), "500"),
        (idp_huge.url(), "larger than"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::defaults();
        config.database_url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        config.jwt_jwks_url = Some(url.clone());
        config.jwt_jwks_timeout = Duration::from_secs(2);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let metrics = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let result = tokio::time::timeout(
            Duration::from_secs(20),
            dashboard_service::server::serve_with_metrics(
                config,
                listener,
                metrics,
                std::future::pending(),
            ),
        )
        .await
        .expect("the start gives up");
        let err = result.expect_err("no start without keys").to_string();
        assert!(err.contains("JWT_JWKS_URL"), "{url}: {err}");
        assert!(err.contains(expected), "{url}: {err}");
    }
    // At most one key source.
    let mut config = Config::defaults();
    config.jwt_secret = Some(common::SECRET.into());
    config.jwt_jwks_url = Some(idp_500.url());
    let err = dashboard_service::server::auth::KeyMaterial::load(&config.jwt_options())
        .err()
        .expect("two sources are refused");
    assert!(err.contains("only one"), "{err}");
}
