//! Optional TLS on the gRPC port (`TLS_CERT_FILE` + `TLS_KEY_FILE`, mutual TLS with
//! `TLS_CLIENT_CA_FILE`), and the one crypto provider every TLS endpoint of the process uses.
//!
//! The handshake runs here rather than in tonic's `tls_config` for one reason: tonic offers
//! only `h2` in ALPN, so a gRPC-Web client that offers only `http/1.1` would be refused during
//! the handshake. This acceptor offers both (`h2` first), and hyper serves whichever was agreed.

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig};
use tokio_rustls::server::TlsStream;
use tokio_stream::Stream;

use super::linger::LingeringClose;

/// ALPN protocols the gRPC port offers: HTTP/2 for gRPC, HTTP/1.1 for gRPC-Web.
pub const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// A client that connects and never finishes its handshake holds a task and a socket; not for
/// longer than this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// ring: the provider sqlx's rustls already uses, so the binary carries one crypto stack.
pub fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(tokio_rustls::rustls::crypto::ring::default_provider())
}

/// Makes ring the process default, for clients that take the default (reqwest, tonic's
/// client). Installing twice, or after someone else did, changes nothing.
pub fn install_default_crypto_provider() {
    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
}

/// The TLS files of the gRPC port.
#[derive(Debug, Clone, Default)]
pub struct TlsFiles<'a> {
    pub cert: Option<&'a Path>,
    pub key: Option<&'a Path>,
    pub client_ca: Option<&'a Path>,
}

/// The server's TLS configuration, or `None` for plaintext (no TLS file set).
pub fn server_config(files: &TlsFiles<'_>) -> Result<Option<Arc<ServerConfig>>, String> {
    let (cert, key) = match (files.cert, files.key) {
        (None, None) if files.client_ca.is_some() => {
            return Err("TLS_CLIENT_CA_FILE needs TLS_CERT_FILE and TLS_KEY_FILE".into());
        }
        (None, None) => return Ok(None),
        (Some(cert), Some(key)) => (cert, key),
        (Some(_), None) => return Err("TLS_CERT_FILE is set without TLS_KEY_FILE".into()),
        (None, Some(_)) => return Err("TLS_KEY_FILE is set without TLS_CERT_FILE".into()),
    };
    let chain = certificates(cert)?;
    let key = private_key(key)?;
    let provider = crypto_provider();
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    let builder = match files.client_ca {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let mut roots = RootCertStore::empty();
            for ca in certificates(path)? {
                roots
                    .add(ca)
                    .map_err(|e| format!("{}: not a usable CA certificate: {e}", path.display()))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                .build()
                .map_err(|e| format!("{}: {e}", path.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|e| format!("TLS_CERT_FILE {} and TLS_KEY_FILE: {e}", cert.display()))?;
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(Some(Arc::new(config)))
}

/// Every certificate of a PEM file (a chain: leaf first).
pub fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if chain.is_empty() {
        return Err(format!("{}: no PEM certificate in it", path.display()));
    }
    Ok(chain)
}

/// The first private key of a PEM file (PKCS#8, PKCS#1 or SEC1).
pub fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    PrivateKeyDer::from_pem_slice(&pem)
        .map_err(|e| format!("{}: no usable PEM private key: {e}", path.display()))
}

/// The accepted TCP connections of `tcp`, after their TLS handshakes. Handshakes run
/// concurrently (a slow client does not hold up the others) and time out; a failed one is
/// logged at debug and dropped, never reported as an accept error (which would stop the
/// server). When `tcp` ends (the drain), this ends too, and handshakes still running are
/// abandoned.
pub struct TlsIncoming<S> {
    tcp: Option<S>,
    acceptor: TlsAcceptor,
    handshakes: JoinSet<io::Result<TlsStream<LingeringClose>>>,
}

impl<S> TlsIncoming<S> {
    pub fn new(tcp: S, config: Arc<ServerConfig>) -> Self {
        Self {
            tcp: Some(tcp),
            acceptor: TlsAcceptor::from(config),
            handshakes: JoinSet::new(),
        }
    }
}

impl<S> Stream for TlsIncoming<S>
where
    S: Stream<Item = io::Result<LingeringClose>> + Unpin,
{
    type Item = io::Result<TlsStream<LingeringClose>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        // Start the handshake of every connection accepted by now.
        while let Some(tcp) = this.tcp.as_mut() {
            match Pin::new(tcp).poll_next(cx) {
                Poll::Ready(Some(Ok(stream))) => {
                    let accept = this.acceptor.accept(stream);
                    this.handshakes.spawn(async move {
                        tokio::time::timeout(HANDSHAKE_TIMEOUT, accept)
                            .await
                            .unwrap_or_else(|_| {
                                Err(io::Error::new(
                                    io::ErrorKind::TimedOut,
                                    "TLS handshake timed out",
                                ))
                            })
                    });
                }
                Poll::Ready(Some(Err(err))) => return Poll::Ready(Some(Err(err))),
                Poll::Ready(None) => {
                    this.tcp = None;
                    this.handshakes.abort_all();
                }
                Poll::Pending => break,
            }
        }
        if this.tcp.is_none() {
            return Poll::Ready(None);
        }
        loop {
            match this.handshakes.poll_join_next(cx) {
                Poll::Ready(Some(Ok(Ok(stream)))) => return Poll::Ready(Some(Ok(stream))),
                Poll::Ready(Some(Ok(Err(err)))) => {
                    tracing::debug!(error = %err, "TLS handshake failed");
                }
                Poll::Ready(Some(Err(_))) => {} // aborted or panicked: nothing to serve
                // Nothing ready: `tcp` and the running handshakes have registered the waker.
                Poll::Ready(None) | Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, contents: &str) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    #[test]
    fn cert_and_key_go_together() {
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let cert_file = write(dir.path(), "cert.pem", &cert.pem());
        let key_file = write(dir.path(), "key.pem", &key.serialize_pem());
        let only_cert = TlsFiles {
            cert: Some(&cert_file),
            ..Default::default()
        };
        let err = server_config(&only_cert).unwrap_err();
        assert!(err.contains("without TLS_KEY_FILE"), "{err}");
        let only_key = TlsFiles {
            key: Some(&key_file),
            ..Default::default()
        };
        let err = server_config(&only_key).unwrap_err();
        assert!(err.contains("without TLS_CERT_FILE"), "{err}");
        let only_ca = TlsFiles {
            client_ca: Some(&cert_file),
            ..Default::default()
        };
        assert!(server_config(&only_ca).is_err());
        assert!(server_config(&TlsFiles::default()).unwrap().is_none());

        let both = TlsFiles {
            cert: Some(&cert_file),
            key: Some(&key_file),
            client_ca: None,
        };
        let config = server_config(&both).unwrap().unwrap();
        assert_eq!(
            config.alpn_protocols,
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        );

        // A key that is not the certificate's is refused at start, naming the files.
        let other = rcgen::KeyPair::generate().unwrap();
        let other_file = write(dir.path(), "other.pem", &other.serialize_pem());
        let mismatched = TlsFiles {
            cert: Some(&cert_file),
            key: Some(&other_file),
            client_ca: None,
        };
        let err = server_config(&mismatched).unwrap_err();
        assert!(err.contains("TLS_CERT_FILE"), "{err}");
        let garbage = write(dir.path(), "garbage.pem", "not pem");
        let err = server_config(&TlsFiles {
            cert: Some(&garbage),
            key: Some(&key_file),
            client_ca: None,
        })
        .unwrap_err();
        assert!(err.contains("no PEM certificate"), "{err}");
    }
}
