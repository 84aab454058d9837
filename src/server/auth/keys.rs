//! Where the token keys come from: an HS256 secret (given, from a file, or generated beside
//! the SQLite database), RS256/ES256 PEM public keys, a JWKS file, or a JWKS URL.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

use super::jwks_url::{JwksUrlOptions, RemoteJwks};

/// The defaults of `JWT_JWKS_REFRESH`, `JWT_JWKS_MIN_REFETCH` and `JWT_JWKS_TIMEOUT` (config.rs
/// spells them too; its test checks that they agree).
pub const DEFAULT_JWKS_REFRESH: Duration = Duration::from_secs(300);
pub const DEFAULT_JWKS_MIN_REFETCH: Duration = Duration::from_secs(30);
pub const DEFAULT_JWKS_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the keys come from; at most one source may be set.
#[derive(Debug, Clone)]
pub struct JwtOptions {
    pub secret: Option<String>,
    pub secret_file: Option<PathBuf>,
    pub public_key_file: Option<PathBuf>,
    pub jwks_file: Option<PathBuf>,
    /// An identity provider's JWKS endpoint (`JWT_JWKS_URL`), and how it is fetched.
    pub jwks_url: Option<String>,
    pub jwks_refresh: Duration,
    pub jwks_min_refetch: Duration,
    pub jwks_timeout: Duration,
    /// PEM private key for `token` when the server verifies with a public key.
    pub private_key_file: Option<PathBuf>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    /// Where to keep a generated secret when no key source is set (embedded SQLite only).
    pub generated_secret_file: Option<PathBuf>,
}

impl Default for JwtOptions {
    fn default() -> Self {
        Self {
            secret: None,
            secret_file: None,
            public_key_file: None,
            jwks_file: None,
            jwks_url: None,
            jwks_refresh: DEFAULT_JWKS_REFRESH,
            jwks_min_refetch: DEFAULT_JWKS_MIN_REFETCH,
            jwks_timeout: DEFAULT_JWKS_TIMEOUT,
            private_key_file: None,
            issuer: None,
            audience: None,
            generated_secret_file: None,
        }
    }
}

/// The resolved keys.
#[derive(Clone)]
pub enum KeyMaterial {
    Secret(Vec<u8>),
    PublicKey {
        key: DecodingKey,
        algorithm: Algorithm,
        private_key: Option<(EncodingKey, Algorithm)>,
    },
    Jwks(JwkSet),
    /// Fetched from `JWT_JWKS_URL`: empty until [`RemoteJwks::start`] has run.
    JwksUrl(Arc<RemoteJwks>),
}

const MIN_SECRET_BYTES: usize = 32;

impl KeyMaterial {
    /// Resolves the configured key source. With none configured and a place to keep it, a
    /// random secret is generated once (file mode 0600) and reused by later runs.
    pub fn load(options: &JwtOptions) -> std::result::Result<Self, String> {
        let sources = [
            options.secret.is_some(),
            options.secret_file.is_some(),
            options.public_key_file.is_some(),
            options.jwks_file.is_some(),
            options.jwks_url.is_some(),
        ];
        if sources.iter().filter(|s| **s).count() > 1 {
            return Err(
                "set only one of JWT_SECRET, JWT_SECRET_FILE, JWT_PUBLIC_KEY_FILE, \
                 JWT_JWKS_FILE, JWT_JWKS_URL"
                    .into(),
            );
        }
        if let Some(secret) = &options.secret {
            return Self::secret(secret.trim().as_bytes().to_vec());
        }
        if let Some(path) = &options.secret_file {
            return Self::secret(read(path)?.trim_ascii().to_vec());
        }
        if let Some(path) = &options.public_key_file {
            let pem = read(path)?;
            let (key, algorithm) = match DecodingKey::from_rsa_pem(&pem) {
                Ok(key) => (key, Algorithm::RS256),
                Err(_) => (
                    DecodingKey::from_ec_pem(&pem).map_err(|e| {
                        format!("{}: not an RSA or EC public key PEM: {e}", path.display())
                    })?,
                    Algorithm::ES256,
                ),
            };
            let private_key = match &options.private_key_file {
                Some(path) => {
                    let pem = read(path)?;
                    let key = match algorithm {
                        Algorithm::RS256 => EncodingKey::from_rsa_pem(&pem),
                        _ => EncodingKey::from_ec_pem(&pem),
                    }
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                    Some((key, algorithm))
                }
                None => None,
            };
            return Ok(Self::PublicKey {
                key,
                algorithm,
                private_key,
            });
        }
        if let Some(path) = &options.jwks_file {
            let set: JwkSet = serde_json::from_slice(&read(path)?)
                .map_err(|e| format!("{}: not a JWKS document: {e}", path.display()))?;
            return Ok(Self::Jwks(set));
        }
        if let Some(url) = &options.jwks_url {
            return Ok(Self::JwksUrl(RemoteJwks::new(&JwksUrlOptions {
                url: url.clone(),
                refresh: options.jwks_refresh,
                min_refetch: options.jwks_min_refetch,
                timeout: options.jwks_timeout,
            })?));
        }
        match &options.generated_secret_file {
            Some(path) => Self::secret(generated_secret(path)?),
            None => Err(
                "no JWT key configured: set JWT_SECRET (at least 32 bytes), JWT_SECRET_FILE, \
                 JWT_PUBLIC_KEY_FILE, JWT_JWKS_FILE or JWT_JWKS_URL"
                    .into(),
            ),
        }
    }

    fn secret(bytes: Vec<u8>) -> std::result::Result<Self, String> {
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "the JWT secret must be at least {MIN_SECRET_BYTES} bytes"
            ));
        }
        Ok(Self::Secret(bytes))
    }
}

fn read(path: &Path) -> std::result::Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Reads the generated secret, creating it (0600) on first use.
fn generated_secret(path: &Path) -> std::result::Result<Vec<u8>, String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;

    if let Ok(existing) = std::fs::read(path) {
        return Ok(existing.trim_ascii().to_vec());
    }
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    let secret = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes);
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(mut file) => {
            file.write_all(secret.as_bytes())
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            tracing::info!(path = %path.display(), "generated a new JWT signing secret");
            Ok(secret.into_bytes())
        }
        // Another process created it first.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(read(path)?.trim_ascii().to_vec())
        }
        Err(e) => Err(format!("cannot create {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_secrets_are_refused() {
        let options = JwtOptions {
            secret: Some("short".into()),
            ..Default::default()
        };
        assert!(KeyMaterial::load(&options).is_err());
    }

    #[test]
    fn generated_secret_is_kept_private_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.jwt-secret");
        let options = JwtOptions {
            generated_secret_file: Some(path.clone()),
            ..Default::default()
        };
        let KeyMaterial::Secret(first) = KeyMaterial::load(&options).unwrap() else {
            panic!()
        };
        let KeyMaterial::Secret(second) = KeyMaterial::load(&options).unwrap() else {
            panic!()
        };
        assert_eq!(first, second);
        assert!(first.len() >= 32);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
