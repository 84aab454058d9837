//! `dashboard-service health`: asks a running server's `grpc.health.v1.Health/Check`, over TLS
//! when the server serves TLS (the Docker HEALTHCHECK runs it with the server's environment).
//!
//! Which certificate the probe accepts: with a CA file, any certificate that CA signed for the
//! expected name; without one, exactly the certificate of the server's own `TLS_CERT_FILE`.
//! The latter needs no name (the probe dials 127.0.0.1, which the certificate rarely names)
//! and still proves the listener holds that certificate's key.

use std::path::PathBuf;
use std::sync::Arc;

use hyper_util::rt::TokioIo;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::{
    WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature,
};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use super::BoxError;
use super::tls::{certificates, crypto_provider, private_key};

/// How the probe speaks TLS.
#[derive(Debug, Clone, Default)]
pub struct ProbeTls {
    /// CA certificates (PEM) to verify the server with.
    pub ca_file: Option<PathBuf>,
    /// Without `ca_file`: the server's own certificate (its `TLS_CERT_FILE`), accepted as is.
    pub server_cert_file: Option<PathBuf>,
    /// The name verified with `ca_file`; by default the host dialled.
    pub server_name: Option<String>,
    /// A client certificate and key, for servers that require one.
    pub client_cert_file: Option<PathBuf>,
    pub client_key_file: Option<PathBuf>,
}

/// The serving status of `service` (empty: the whole server) at `authority` (`host:port`).
pub async fn check(
    authority: &str,
    service: &str,
    tls: Option<&ProbeTls>,
) -> Result<ServingStatus, BoxError> {
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{authority}"))?;
    let channel = match tls {
        None => endpoint.connect().await?,
        Some(tls) => {
            let host = endpoint.uri().host().unwrap_or("127.0.0.1").to_string();
            let name = tls.server_name.clone().unwrap_or_else(|| host.clone());
            let name = ServerName::try_from(name.trim_matches(['[', ']']).to_string())
                .map_err(|e| format!("server name {name:?}: {e}"))?;
            let connector = TlsConnector::from(Arc::new(client_config(tls)?));
            endpoint
                .connect_with_connector(tower::service_fn(move |uri: http::Uri| {
                    let connector = connector.clone();
                    let name = name.clone();
                    async move {
                        let host = uri.host().unwrap_or("127.0.0.1").trim_matches(['[', ']']);
                        let port = uri.port_u16().unwrap_or(443);
                        let tcp = tokio::net::TcpStream::connect((host, port)).await?;
                        let stream = connector.connect(name, tcp).await?;
                        Ok::<_, std::io::Error>(TokioIo::new(stream))
                    }
                }))
                .await?
        }
    };
    let response = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.to_string(),
        })
        .await?;
    Ok(response.into_inner().status())
}

fn client_config(tls: &ProbeTls) -> Result<ClientConfig, BoxError> {
    let provider = crypto_provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let builder = match (&tls.ca_file, &tls.server_cert_file) {
        (Some(ca_file), _) => {
            let mut roots = RootCertStore::empty();
            for ca in certificates(ca_file)? {
                roots.add(ca)?;
            }
            builder.with_root_certificates(roots)
        }
        (None, Some(cert_file)) => {
            let expected = certificates(cert_file)?.swap_remove(0);
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(SameCertificate {
                    expected,
                    algorithms: provider.signature_verification_algorithms,
                }))
        }
        (None, None) => {
            return Err(
                "a TLS probe needs --ca-file, or TLS_CERT_FILE (the server's own \
                        certificate)"
                    .into(),
            );
        }
    };
    let mut config = match (&tls.client_cert_file, &tls.client_key_file) {
        (Some(cert), Some(key)) => {
            builder.with_client_auth_cert(certificates(cert)?, private_key(key)?)?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => return Err("--client-cert-file and --client-key-file go together".into()),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

/// Accepts exactly one certificate, and checks that the server signed the handshake with its
/// key. Neither the name nor the expiry is checked: this is the local server's own
/// certificate, and its health is not the certificate's.
#[derive(Debug)]
struct SameCertificate {
    expected: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for SameCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, tokio_rustls::rustls::Error> {
        if end_entity.as_ref() == self.expected.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(tokio_rustls::rustls::Error::General(
                "the server's certificate is not the one in TLS_CERT_FILE".into(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, tokio_rustls::rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, tokio_rustls::rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
