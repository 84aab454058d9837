//! TLS on the gRPC port (TLS_CERT_FILE, TLS_KEY_FILE) and mutual TLS (TLS_CLIENT_CA_FILE),
//! with certificates made for each test: gRPC and gRPC-Web over TLS, plaintext refused,
//! client certificates checked, the drain, and the `health` probe command.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::assert_error;
use dashboard_service::core::PlatformRole;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair,
};
use tokio_stream::StreamExt;
use tonic::Code;
use tonic::transport::{Certificate, ClientTlsConfig, Identity};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

/// A CA and what it signed, as PEM files in a temp dir.
struct Pki {
    dir: tempfile::TempDir,
    ca: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its key, as files.
struct Pair {
    cert: PathBuf,
    key: PathBuf,
}

impl Pki {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, format!("{name} test CA"));
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.as_ref().pem()).unwrap();
        Self { dir, ca }
    }

    fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    fn ca_pem(&self) -> Vec<u8> {
        std::fs::read(self.ca_file()).unwrap()
    }

    /// A leaf for `localhost` and 127.0.0.1, for servers or clients.
    fn issue(&self, name: &str, usage: ExtendedKeyUsagePurpose) -> Pair {
        let mut params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca).unwrap();
        let pair = Pair {
            cert: self.dir.path().join(format!("{name}.pem")),
            key: self.dir.path().join(format!("{name}-key.pem")),
        };
        std::fs::write(&pair.cert, cert.pem()).unwrap();
        std::fs::write(&pair.key, key.serialize_pem()).unwrap();
        pair
    }

    fn server(&self) -> Pair {
        self.issue("server", ExtendedKeyUsagePurpose::ServerAuth)
    }

    fn client(&self) -> Pair {
        self.issue("client", ExtendedKeyUsagePurpose::ClientAuth)
    }
}

/// A tonic client configuration trusting `pki`'s CA, presenting `identity` if given.
fn trusting(pki: &Pki, identity: Option<&Pair>) -> ClientTlsConfig {
    let config = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(pki.ca_pem()))
        .domain_name("localhost");
    match identity {
        Some(pair) => config.identity(Identity::from_pem(
            std::fs::read(&pair.cert).unwrap(),
            std::fs::read(&pair.key).unwrap(),
        )),
        None => config,
    }
}

/// Health/Check over `tls` (plaintext when `None`); an error if connecting or the call fails.
async fn check(addr: SocketAddr, tls: Option<&ClientTlsConfig>) -> Result<ServingStatus, String> {
    let attempt = async {
        let channel = common::connect(addr, tls)
            .await
            .map_err(|e| format!("{e:?}"))?;
        let response = HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .map_err(|e| format!("{e:?}"))?;
        Ok(response.into_inner().status())
    };
    tokio::time::timeout(Duration::from_secs(10), attempt)
        .await
        .unwrap_or_else(|_| Err("timed out".into()))
}

fn tls_server(
    pki: &Pki,
    server: &Pair,
    client_ca: Option<&Path>,
    client: Option<&Pair>,
) -> common::TestServer {
    let (cert, key) = (server.cert.clone(), server.key.clone());
    let client_ca = client_ca.map(Path::to_path_buf);
    common::start_tls(
        move |c| {
            c.tls_cert_file = Some(cert);
            c.tls_key_file = Some(key);
            c.tls_client_ca_file = client_ca;
        },
        trusting(pki, client),
    )
}

#[tokio::test]
async fn tls_serves_clients_that_trust_the_ca_and_refuses_plaintext() {
    let pki = Pki::new("server");
    let server = tls_server(&pki, &pki.server(), None, None);

    // Authenticated calls over TLS, with their statuses and details as in plaintext.
    let org = common::unique_org();
    let mut admin = server.user(&org, "tls-admin", PlatformRole::Admin).await;
    let created = admin.create("over TLS").await;
    assert_eq!(admin.get(&created.name).await.unwrap().title, "over TLS");
    let missing = admin.get("dashboards/nope").await.unwrap_err();
    assert_error(&missing, Code::NotFound, "NOT_FOUND");

    let plaintext = check(server.addr, None).await;
    assert!(plaintext.is_err(), "plaintext answered: {plaintext:?}");
    let stranger = Pki::new("stranger");
    let untrusted = check(server.addr, Some(&trusting(&stranger, None))).await;
    assert!(untrusted.is_err(), "a client trusting another CA connected");
    assert_eq!(
        check(server.addr, server.tls.as_ref()).await,
        Ok(ServingStatus::Serving)
    );
}

#[tokio::test]
async fn grpc_web_over_http1_works_through_tls() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let pki = Pki::new("web");
    let server = tls_server(&pki, &pki.server(), None, None);

    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    roots.add(rcgen_der(&pki.ca_pem())).unwrap();
    let mut config = tokio_rustls::rustls::ClientConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    // What a browser without HTTP/2 offers.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let name = tokio_rustls::rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .expect("handshake offering only http/1.1");
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));

    // Health/Check with an empty message: one uncompressed frame of length 0.
    let request = "POST /grpc.health.v1.Health/Check HTTP/1.1\r\nHost: localhost\r\n\
         Content-Type: application/grpc-web+proto\r\nX-Grpc-Web: 1\r\n\
         Content-Length: 5\r\nConnection: close\r\n\r\n";
    tls.write_all(request.as_bytes()).await.unwrap();
    tls.write_all(&[0, 0, 0, 0, 0]).await.unwrap();
    let mut response = Vec::new();
    let _ = tls.read_to_end(&mut response).await;
    let response = String::from_utf8_lossy(&response).to_ascii_lowercase();
    assert!(response.starts_with("http/1.1 200"), "{response}");
    assert!(
        response.contains("application/grpc-web"),
        "not a gRPC-Web answer: {response}"
    );
    // The trailers frame of a successful call.
    assert!(response.contains("grpc-status:0"), "{response}");
}

fn rcgen_der(pem: &[u8]) -> tokio_rustls::rustls::pki_types::CertificateDer<'static> {
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    tokio_rustls::rustls::pki_types::CertificateDer::from_pem_slice(pem).unwrap()
}

#[tokio::test]
async fn mutual_tls_requires_a_client_certificate_signed_by_the_client_ca() {
    let server_pki = Pki::new("server");
    let client_pki = Pki::new("clients");
    let client = client_pki.client();
    let server = tls_server(
        &server_pki,
        &server_pki.server(),
        Some(&client_pki.ca_file()),
        Some(&client),
    );

    // With the certificate: health and an authenticated call.
    assert_eq!(
        check(server.addr, server.tls.as_ref()).await,
        Ok(ServingStatus::Serving)
    );
    let org = common::unique_org();
    let mut author = server.user(&org, "mtls", PlatformRole::Author).await;
    author.create("mutual").await;

    // Without one, or with one another CA signed: refused.
    let without = check(server.addr, Some(&trusting(&server_pki, None))).await;
    assert!(without.is_err(), "no client certificate: {without:?}");
    let forger = Pki::new("forger");
    let forged = forger.client();
    let other = check(server.addr, Some(&trusting(&server_pki, Some(&forged)))).await;
    assert!(other.is_err(), "a certificate of another CA: {other:?}");
}

#[tokio::test]
async fn the_drain_works_over_tls() {
    let pki = Pki::new("drain");
    let pair = pki.server();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (cert, key) = (pair.cert.clone(), pair.key.clone());
    let (server, thread) = common::start_with(
        move |c| {
            c.tls_cert_file = Some(cert);
            c.tls_key_file = Some(key);
            c.shutdown_delay = Duration::from_millis(500);
        },
        async move {
            let _ = stopped.await;
        },
        Some(trusting(&pki, None)),
    );
    let mut watch = HealthClient::new(server.channel().await)
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let first = watch.next().await.unwrap().unwrap();
    assert_eq!(first.status(), ServingStatus::Serving);

    stop.send(()).unwrap();
    let next = watch.next().await.unwrap().unwrap();
    assert_eq!(next.status(), ServingStatus::NotServing);
    // After the delay the long stream ends with UNAVAILABLE, and `serve` returns Ok.
    let ended = watch.next().await.expect("an end").unwrap_err();
    assert_error(&ended, Code::Unavailable, "SHUTTING_DOWN");
    let result = tokio::task::spawn_blocking(move || thread.join().unwrap())
        .await
        .unwrap();
    assert_eq!(result, Ok(()));
    assert!(check(server.addr, server.tls.as_ref()).await.is_err());
}

/// Runs `dashboard-service health` against `addr` with only `env` set; exit code and output.
fn probe(addr: SocketAddr, args: &[&str], env: &[(&str, &Path)]) -> (bool, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_dashboard-service"))
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v.as_os_str())))
        .arg("health")
        .arg("--addr")
        .arg(addr.to_string())
        .args(args)
        .output()
        .expect("run the health command");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[tokio::test]
async fn the_health_command_probes_a_tls_server() {
    let pki = Pki::new("probe");
    let pair = pki.server();
    let server = tls_server(&pki, &pair, None, None);
    let addr = server.addr;
    let ca = pki.ca_file();
    let other_pki = Pki::new("other");
    let other = other_pki.server();

    tokio::task::spawn_blocking(move || {
        // With the server's own settings (the Docker HEALTHCHECK): its certificate, pinned.
        let (ok, out) = probe(addr, &[], &[("TLS_CERT_FILE", &pair.cert)]);
        assert!(ok && out.contains("SERVING"), "{out}");
        // With the CA and the certificate's name.
        let ca_args = [
            "--ca-file",
            ca.to_str().unwrap(),
            "--server-name",
            "localhost",
        ];
        let (ok, out) = probe(addr, &ca_args, &[]);
        assert!(ok, "{out}");
        // Plaintext, or a pinned certificate that is not the server's: unhealthy.
        let (ok, out) = probe(addr, &[], &[]);
        assert!(!ok, "{out}");
        let (ok, out) = probe(addr, &[], &[("TLS_CERT_FILE", &other.cert)]);
        assert!(!ok, "{out}");
        assert!(out.contains("not the one in TLS_CERT_FILE"), "{out}");
        drop(other_pki);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn the_health_command_presents_a_client_certificate_to_a_mutual_tls_server() {
    let pki = Pki::new("probe-mtls");
    let pair = pki.server();
    let client = pki.client();
    let server = tls_server(&pki, &pair, Some(&pki.ca_file()), Some(&client));
    let addr = server.addr;
    tokio::task::spawn_blocking(move || {
        let (ok, out) = probe(addr, &[], &[("TLS_CERT_FILE", &pair.cert)]);
        assert!(!ok, "without a client certificate: {out}");
        let (ok, out) = probe(
            addr,
            &[],
            &[
                ("TLS_CERT_FILE", &pair.cert),
                ("HEALTH_CLIENT_CERT_FILE", &client.cert),
                ("HEALTH_CLIENT_KEY_FILE", &client.key),
            ],
        );
        assert!(ok, "{out}");
    })
    .await
    .unwrap();
}
