//! Token verification and minting with the keys of [`super::keys`].

use std::time::Duration;

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::keys::{JwtOptions, KeyMaterial};
use crate::core::{Error, PlatformRole, Principal, Result, names};

/// The token claims this service reads and writes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub org: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub exp: u64,
    #[serde(default)]
    pub iat: u64,
    /// Not before: checked (with the expiry's leeway) when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
}

/// RFC 7519 §4.1.3: `aud` is one string or an array of them (jsonwebtoken checks that the
/// configured audience is among them; this only lets the claims parse).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

/// 9999-12-31T23:59:59Z: the last second a protobuf Timestamp (and RFC 3339) can write.
/// Later `exp`/`nbf`/`iat` values are refused rather than carried into answers or
/// arithmetic; earlier than 1970 cannot parse (the claims are unsigned).
const MAX_TIMESTAMP: u64 = 253_402_300_799;

/// Verifies bearer tokens.
pub struct Verifier {
    keys: KeyMaterial,
    issuer: Option<String>,
    audience: Option<String>,
}

impl Verifier {
    pub fn new(keys: KeyMaterial, options: &JwtOptions) -> Self {
        Self {
            keys,
            issuer: options.issuer.clone(),
            audience: options.audience.clone(),
        }
    }

    /// Verifies `token`. With `JWT_JWKS_URL`, a kid the key set lacks makes it refetch the
    /// set first (rate-limited, see `jwks_url`), so this may wait up to one fetch timeout.
    pub async fn verify(&self, token: &str) -> Result<Principal> {
        let invalid = |why: String| Error::unauthenticated("INVALID_TOKEN", why);
        // `alg: none` and unknown algorithms fail here: they are not in jsonwebtoken's set.
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| invalid(format!("malformed token: {e}")))?;
        // RFC 7515 §4.1.11: a token whose `crit` names extensions the verifier does not
        // implement must be refused; this verifier implements none (and an empty list is
        // itself invalid).
        if header.crit.is_some() {
            return Err(invalid(
                "the token's `crit` header names extensions this service does not support".into(),
            ));
        }
        let (key, algorithm) = match &self.keys {
            KeyMaterial::Secret(secret) => (DecodingKey::from_secret(secret), Algorithm::HS256),
            KeyMaterial::PublicKey { key, algorithm, .. } => (key.clone(), *algorithm),
            KeyMaterial::Jwks(set) => jwk_key(find_jwk(set, &header)?, &header)?,
            KeyMaterial::JwksUrl(remote) => {
                let set = remote.current();
                match find_jwk(&set, &header) {
                    Ok(jwk) => jwk_key(jwk, &header)?,
                    Err(unknown) => {
                        if header.kid.is_none() {
                            return Err(unknown);
                        }
                        remote.refetch_for_unknown_kid().await;
                        let set = remote.current();
                        jwk_key(find_jwk(&set, &header)?, &header)?
                    }
                }
            }
        };
        if header.alg != algorithm {
            return Err(invalid(format!("tokens must be signed with {algorithm:?}")));
        }
        let mut validation = Validation::new(algorithm);
        validation.leeway = 30;
        validation.validate_nbf = true;
        // A configured issuer/audience must be present, not merely right when present.
        let mut required = vec!["exp", "sub"];
        match &self.issuer {
            Some(iss) => {
                validation.set_issuer(&[iss]);
                required.push("iss");
            }
            None => validation.iss = None,
        }
        match &self.audience {
            Some(aud) => {
                validation.set_audience(&[aud]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::ExpiredSignature => {
                    Error::unauthenticated("TOKEN_EXPIRED", "the token has expired")
                }
                ErrorKind::InvalidSignature => invalid("bad signature".into()),
                ErrorKind::ImmatureSignature => {
                    invalid("the token is not valid yet (`nbf` is in the future)".into())
                }
                _ => invalid(format!("invalid token: {e}")),
            }
        })?;
        principal_from(data.claims)
    }
}

/// The key of a JWKS the token's `kid` names (a lone key serves tokens without one).
fn find_jwk<'a>(set: &'a JwkSet, header: &Header) -> Result<&'a Jwk> {
    match &header.kid {
        Some(kid) => set.find(kid),
        None if set.keys.len() == 1 => set.keys.first(),
        None => None,
    }
    .ok_or_else(|| {
        Error::unauthenticated(
            "INVALID_TOKEN",
            "no key in the JWKS matches the token's kid",
        )
    })
}

fn jwk_key(jwk: &Jwk, header: &Header) -> Result<(DecodingKey, Algorithm)> {
    let invalid = |why: String| Error::unauthenticated("INVALID_TOKEN", why);
    let key = DecodingKey::from_jwk(jwk).map_err(|e| invalid(format!("unusable JWKS key: {e}")))?;
    let algorithm = jwk
        .common
        .key_algorithm
        .and_then(|a| a.to_string().parse::<Algorithm>().ok())
        .unwrap_or(header.alg);
    if !matches!(algorithm, Algorithm::RS256 | Algorithm::ES256) {
        return Err(invalid("JWKS keys must be RS256 or ES256".into()));
    }
    Ok((key, algorithm))
}

fn principal_from(claims: Claims) -> Result<Principal> {
    let invalid = |why: String| Error::unauthenticated("INVALID_CLAIMS", why);
    for (claim, value) in [
        ("exp", Some(claims.exp)),
        ("nbf", claims.nbf),
        ("iat", Some(claims.iat)),
    ] {
        if value.is_some_and(|v| v > MAX_TIMESTAMP) {
            return Err(invalid(format!("claim `{claim}` is after the year 9999")));
        }
    }
    if !names::is_valid_id(&claims.sub) {
        return Err(invalid(
            "claim `sub` must be 1..128 of [A-Za-z0-9._@-]".into(),
        ));
    }
    if !names::is_valid_id(&claims.org) {
        return Err(invalid(
            "claim `org` must be 1..128 of [A-Za-z0-9._@-]".into(),
        ));
    }
    if let Some(tenant) = &claims.tenant
        && !names::is_valid_id(tenant)
    {
        return Err(invalid(
            "claim `tenant` must be 1..128 of [A-Za-z0-9._@-]".into(),
        ));
    }
    let role: PlatformRole = claims.role.parse().map_err(invalid)?;
    let tenant = claims.tenant.filter(|t| !t.is_empty());
    role.check_tenant(tenant.as_deref())
        .map_err(|why| invalid(format!("claims `role` and `tenant` disagree: {why}")))?;
    Ok(Principal {
        user_id: claims.sub,
        org_id: claims.org,
        tenant_id: tenant,
        role,
        email: claims.email,
        name: claims.name,
    })
}

/// Mints tokens with the server's key (the `token` command, tests).
pub struct Minter {
    key: EncodingKey,
    algorithm: Algorithm,
    issuer: Option<String>,
    audience: Option<String>,
}

/// What a minted token says.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub sub: String,
    pub org: String,
    pub tenant: Option<String>,
    pub role: PlatformRole,
    pub email: Option<String>,
    pub name: Option<String>,
    pub ttl: Duration,
}

impl Minter {
    pub fn new(keys: &KeyMaterial, options: &JwtOptions) -> std::result::Result<Self, String> {
        let (key, algorithm) = match keys {
            KeyMaterial::Secret(secret) => (EncodingKey::from_secret(secret), Algorithm::HS256),
            KeyMaterial::PublicKey {
                private_key: Some((key, algorithm)),
                ..
            } => (key.clone(), *algorithm),
            _ => {
                return Err(
                    "minting needs the HS256 secret, or JWT_PRIVATE_KEY_FILE with \
                     JWT_PUBLIC_KEY_FILE"
                        .into(),
                );
            }
        };
        Ok(Self {
            key,
            algorithm,
            issuer: options.issuer.clone(),
            audience: options.audience.clone(),
        })
    }

    pub fn mint(&self, request: &TokenRequest) -> std::result::Result<String, String> {
        // The verifier would refuse the token: say so now rather than mint it.
        request
            .role
            .check_tenant(request.tenant.as_deref().filter(|t| !t.is_empty()))?;
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: request.sub.clone(),
            org: request.org.clone(),
            tenant: request.tenant.clone(),
            role: request.role.as_str().to_string(),
            email: request.email.clone(),
            name: request.name.clone(),
            iat: now,
            exp: now + request.ttl.as_secs(),
            nbf: None,
            iss: self.issuer.clone(),
            aud: self.audience.clone().map(Audience::One),
        };
        jsonwebtoken::encode(&Header::new(self.algorithm), &claims, &self.key)
            .map_err(|e| format!("cannot sign the token: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret_keys() -> (KeyMaterial, JwtOptions) {
        let options = JwtOptions {
            secret: Some("s".repeat(40)),
            ..Default::default()
        };
        (KeyMaterial::load(&options).unwrap(), options)
    }

    fn request(role: PlatformRole) -> TokenRequest {
        TokenRequest {
            sub: "alice".into(),
            org: "acme".into(),
            tenant: None,
            role,
            email: None,
            name: None,
            ttl: Duration::from_secs(60),
        }
    }

    #[tokio::test]
    async fn round_trip() {
        let (keys, options) = secret_keys();
        let token = Minter::new(&keys, &options)
            .unwrap()
            .mint(&request(PlatformRole::Author))
            .unwrap();
        let p = Verifier::new(keys, &options).verify(&token).await.unwrap();
        assert_eq!(p.user_id, "alice");
        assert_eq!(p.role, PlatformRole::Author);
    }

    #[tokio::test]
    async fn issuer_and_audience_are_checked_when_configured() {
        let (keys, mut options) = secret_keys();
        let token = Minter::new(&keys, &options)
            .unwrap()
            .mint(&request(PlatformRole::Viewer))
            .unwrap();
        options.issuer = Some("https://issuer".into());
        let err = Verifier::new(keys.clone(), &options)
            .verify(&token)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Unauthenticated { .. }));
        let (_, mut minting) = secret_keys();
        minting.issuer = Some("https://issuer".into());
        minting.audience = Some("dashboards".into());
        let token = Minter::new(&keys, &minting)
            .unwrap()
            .mint(&request(PlatformRole::Viewer))
            .unwrap();
        options.audience = Some("other".into());
        assert!(
            Verifier::new(keys.clone(), &options)
                .verify(&token)
                .await
                .is_err()
        );
        options.audience = Some("dashboards".into());
        assert!(Verifier::new(keys, &options).verify(&token).await.is_ok());
    }

    /// Signs `claims` (and an optional `crit` header) with the test secret.
    fn signed(claims: serde_json::Value, crit: Option<Vec<String>>) -> String {
        let mut header = Header::new(Algorithm::HS256);
        header.crit = crit;
        let key = EncodingKey::from_secret("s".repeat(40).as_bytes());
        jsonwebtoken::encode(&header, &claims, &key).unwrap()
    }

    fn claims(extra: serde_json::Value) -> serde_json::Value {
        let mut base = serde_json::json!({
            "sub": "alice", "org": "acme", "role": "AUTHOR",
            "exp": jsonwebtoken::get_current_timestamp() + 600,
        });
        if let (Some(base), Some(extra)) = (base.as_object_mut(), extra.as_object()) {
            base.extend(extra.clone());
        }
        base
    }

    fn reason(result: Result<Principal>) -> String {
        match result {
            Err(Error::Unauthenticated { reason, .. }) => reason.to_string(),
            other => format!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn not_before_in_the_future_is_refused() {
        let (keys, options) = secret_keys();
        let verifier = Verifier::new(keys, &options);
        let now = jsonwebtoken::get_current_timestamp();
        let later = signed(claims(serde_json::json!({"nbf": now + 3600})), None);
        assert_eq!(reason(verifier.verify(&later).await), "INVALID_TOKEN");
        let earlier = signed(claims(serde_json::json!({"nbf": now - 10})), None);
        assert!(verifier.verify(&earlier).await.is_ok());
    }

    #[tokio::test]
    async fn critical_header_extensions_are_refused() {
        let (keys, options) = secret_keys();
        let verifier = Verifier::new(keys, &options);
        let token = signed(claims(serde_json::json!({})), Some(vec!["exp".into()]));
        assert_eq!(reason(verifier.verify(&token).await), "INVALID_TOKEN");
        assert!(
            verifier
                .verify(&signed(claims(serde_json::json!({})), None))
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn an_audience_array_is_accepted_when_it_names_ours() {
        let (keys, mut options) = secret_keys();
        options.audience = Some("dashboards".into());
        let verifier = Verifier::new(keys, &options);
        let ours = signed(
            claims(serde_json::json!({"aud": ["other", "dashboards"]})),
            None,
        );
        assert!(
            verifier.verify(&ours).await.is_ok(),
            "{:?}",
            verifier.verify(&ours).await
        );
        let theirs = signed(claims(serde_json::json!({"aud": ["other", "more"]})), None);
        assert_eq!(reason(verifier.verify(&theirs).await), "INVALID_TOKEN");
    }

    #[tokio::test]
    async fn timestamps_after_the_year_9999_are_refused() {
        let (keys, options) = secret_keys();
        let verifier = Verifier::new(keys, &options);
        // 33658-09-27: what a millisecond expiry read as seconds looks like.
        let far = signed(
            claims(serde_json::json!({"exp": 1_000_000_000_000u64})),
            None,
        );
        assert_eq!(reason(verifier.verify(&far).await), "INVALID_CLAIMS");
        let iat = signed(claims(serde_json::json!({"iat": MAX_TIMESTAMP + 1})), None);
        assert_eq!(reason(verifier.verify(&iat).await), "INVALID_CLAIMS");
        let last = signed(claims(serde_json::json!({"exp": MAX_TIMESTAMP})), None);
        assert!(verifier.verify(&last).await.is_ok());
        let negative = signed(claims(serde_json::json!({"exp": -5})), None);
        assert!(verifier.verify(&negative).await.is_err());
    }

    #[tokio::test]
    async fn org_roles_with_a_tenant_and_tenant_roles_without_are_refused() {
        let (keys, options) = secret_keys();
        let verifier = Verifier::new(keys.clone(), &options);
        for (role, tenant, ok) in [
            ("ADMIN", Some("t1"), false),
            ("AUTHOR", Some("t1"), false),
            ("POWER_USER", None, false),
            ("POWER_USER", Some("t1"), true),
            ("VIEWER", Some("t1"), true),
            ("VIEWER", None, true),
            ("ADMIN", None, true),
        ] {
            let extra = match tenant {
                Some(t) => serde_json::json!({"role": role, "tenant": t}),
                None => serde_json::json!({"role": role}),
            };
            let result = verifier.verify(&signed(claims(extra), None)).await;
            if ok {
                assert!(result.is_ok(), "{role} {tenant:?}: {result:?}");
            } else {
                assert_eq!(reason(result), "INVALID_CLAIMS", "{role} {tenant:?}");
            }
        }
        let minter = Minter::new(&keys, &options).unwrap();
        let mut admin = request(PlatformRole::Admin);
        admin.tenant = Some("t1".into());
        assert!(minter.mint(&admin).is_err());
        assert!(minter.mint(&request(PlatformRole::PowerUser)).is_err());
    }
}
