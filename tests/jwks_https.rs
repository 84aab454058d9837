//! JWT_JWKS_URL over https, end to end with the binary: the identity provider's certificate is
//! verified against the system CA store, which `SSL_CERT_FILE` replaces here with a test CA.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::with_token;
use dashboard_service::pb;
use dashboard_service::pb::dashboard_service_client::DashboardServiceClient;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// An https server on 127.0.0.1 answering every request with tests/fixtures/jwks.json (the
/// public half of rs256-private.pem, kid `test-rs`), with a certificate for `localhost`
/// signed by a CA written to `ca_file`.
async fn https_idp(ca_file: &Path) -> SocketAddr {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate().unwrap())
        .unwrap();
    std::fs::write(ca_file, ca.as_ref().pem()).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let config = ServerConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![CertificateDer::from(cert.der().to_vec())],
        PrivateKeyDer::from_pem_slice(key.serialize_pem().as_bytes()).unwrap(),
    )
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let body = std::fs::read(fixture("jwks.json")).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, body) = (acceptor.clone(), body.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = tls.write_all(head.as_bytes()).await;
                let _ = tls.write_all(&body).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    addr
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The binary serving with keys from `jwks_url`; `ssl_cert_file` is its CA store.
fn serve(dir: &Path, port: u16, jwks_url: &str, ssl_cert_file: Option<&Path>) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dashboard-service"));
    command
        .env_clear()
        .env(
            "DATABASE_URL",
            format!("sqlite://{}?mode=rwc", dir.join("db").display()),
        )
        .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("METRICS_ADDR", "127.0.0.1:0")
        .env("JWT_JWKS_URL", jwks_url)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(path) = ssl_cert_file {
        command.env("SSL_CERT_FILE", path);
    }
    command.spawn().expect("start the binary")
}

/// Kills the child when the test ends, passing or not.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_come_over_https_from_a_provider_the_ca_store_trusts() {
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("idp-ca.pem");
    let idp = https_idp(&ca_file).await;
    let url = format!("https://localhost:{}/jwks", idp.port());

    // Not in the CA store (another CA is): the start fails, saying why.
    let other_ca = dir.path().join("other-ca.pem");
    let other = rcgen::generate_simple_self_signed(vec!["other".to_string()]).unwrap();
    std::fs::write(&other_ca, other.cert.pem()).unwrap();
    let untrusted = serve(dir.path(), free_port(), &url, Some(&other_ca));
    let output = tokio::task::spawn_blocking(move || untrusted.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{log}");
    assert!(log.contains("JWT_JWKS_URL"), "{log}");

    // Trusted: it starts and verifies tokens signed with the provider's key.
    let port = free_port();
    let _server = Running(serve(dir.path(), port, &url, Some(&ca_file)));
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let start = Instant::now();
    let channel = loop {
        if let Ok(channel) = common::connect(addr, None).await {
            break channel;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "no start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let key =
        EncodingKey::from_rsa_pem(&std::fs::read(fixture("rs256-private.pem")).unwrap()).unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("test-rs".into());
    let claims = serde_json::json!({
        "sub": "alice", "org": common::unique_org(), "role": "AUTHOR",
        "exp": jsonwebtoken::get_current_timestamp() + 600,
    });
    let token = jsonwebtoken::encode(&header, &claims, &key).unwrap();
    DashboardServiceClient::new(channel)
        .list_dashboards(with_token(pb::ListDashboardsRequest::default(), &token))
        .await
        .expect("a token signed by the provider's key");
}
