//! Opaque, authenticated page tokens for keyset pagination.
//!
//! A token carries the sort value and id of the last row returned, plus a fingerprint of the
//! query (filter, order, show_deleted): a token replayed with a different query is
//! INVALID_ARGUMENT rather than a silently wrong page.
//!
//! The cursor is sealed with XChaCha20-Poly1305 under a per-deployment key (random 192-bit
//! nonce per token): the token reveals nothing about rows (the last row's title is a sort
//! value), and any edit, truncation or forgery fails authentication, so a cursor the server
//! did not write never reaches a statement. Every listing goes through [`encode`] and
//! [`decode`].
//!
//! The key is one per process ([`install_key`], called once by the server at start): see
//! [`key_from_config`] for where it comes from.

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Error, Result};

/// The position after the last row of a page: its sort value (the id follows it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CursorValue {
    Int(i64),
    Text(String),
}

/// `V` is the sort value of the listing (e.g. [`CursorValue`]).
#[derive(Debug, Serialize, Deserialize)]
struct Token<V> {
    /// Query fingerprint.
    q: String,
    /// Sort value of the last row.
    v: V,
    /// Id of the last row.
    id: String,
}

/// Domain separation: a key derived from the JWT secret is never the JWT key itself, and a
/// sealed token is bound to this use and format version.
const KEY_LABEL: &[u8] = b"dashboards.v1 page-token key v1";
const AAD: &[u8] = b"dashboards.v1 page token v1";
const NONCE_BYTES: usize = 24;
const MIN_SECRET_BYTES: usize = 32;

static KEY: OnceLock<XChaCha20Poly1305> = OnceLock::new();

/// Sets the process's page-token key. The first call wins (a process serves one
/// deployment); later calls are ignored and return false.
pub fn install_key(key: [u8; 32]) -> bool {
    KEY.set(XChaCha20Poly1305::new(&key.into())).is_ok()
}

/// The installed key, or a random one for this process when none was installed (unit tests
/// and embedders that do not call [`install_key`]).
fn cipher() -> &'static XChaCha20Poly1305 {
    KEY.get_or_init(|| {
        let mut key = [0u8; 32];
        rand::fill(&mut key);
        XChaCha20Poly1305::new(&key.into())
    })
}

/// Where the key comes from, in order:
/// 1. `PAGE_TOKEN_SECRET` (at least 32 bytes);
/// 2. the HS256 JWT secret (`JWT_SECRET`, `JWT_SECRET_FILE`, or the one generated beside the
///    SQLite database), through HMAC-SHA256 with a label of its own, so replicas that share
///    the JWT secret share the page-token key;
/// 3. otherwise (public-key or JWKS verification and no `PAGE_TOKEN_SECRET`) a random key for
///    this process: tokens then stop working after a restart and across replicas (the caller
///    gets INVALID_ARGUMENT and starts again), which is logged as a warning.
pub fn key_from_config(
    page_token_secret: Option<&str>,
    jwt_secret: Option<&[u8]>,
) -> std::result::Result<Option<[u8; 32]>, String> {
    if let Some(secret) = page_token_secret {
        let secret = secret.trim().as_bytes();
        if secret.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "PAGE_TOKEN_SECRET must be at least {MIN_SECRET_BYTES} bytes"
            ));
        }
        return Ok(Some(derive(secret)));
    }
    Ok(jwt_secret.map(derive))
}

fn derive(secret: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length: this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(KEY_LABEL);
    mac.finalize().into_bytes().into()
}

/// A short hash of everything that must not change between pages.
pub fn fingerprint(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.len().to_le_bytes());
        hasher.update(part.as_bytes());
    }
    URL_SAFE_NO_PAD.encode(&hasher.finalize()[..12])
}

pub fn encode<V: Serialize>(fingerprint: &str, value: V, id: &str) -> String {
    let token = Token {
        q: fingerprint.to_string(),
        v: value,
        id: id.to_string(),
    };
    // Serializing cannot fail: cursors hold only strings and integers.
    let plaintext = serde_json::to_vec(&token).unwrap_or_default();
    let mut nonce = [0u8; NONCE_BYTES];
    rand::fill(&mut nonce);
    let sealed = cipher().encrypt(
        &XNonce::from(nonce),
        Payload {
            msg: &plaintext,
            aad: AAD,
        },
    );
    match sealed {
        Ok(ciphertext) => {
            let mut bytes = Vec::with_capacity(NONCE_BYTES + ciphertext.len());
            bytes.extend_from_slice(&nonce);
            bytes.extend_from_slice(&ciphertext);
            URL_SAFE_NO_PAD.encode(bytes)
        }
        // Only a message longer than 256 GiB fails to encrypt; an empty token ends the
        // listing rather than exposing a cursor.
        Err(_) => String::new(),
    }
}

/// The cursor in `token`, checked against the current query's fingerprint.
pub fn decode<V: DeserializeOwned>(token: &str, fingerprint: &str) -> Result<Option<(V, String)>> {
    if token.is_empty() {
        return Ok(None);
    }
    let invalid = || Error::invalid("page_token", "not a page token returned by this method");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    if bytes.len() <= NONCE_BYTES {
        return Err(invalid());
    }
    let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
    let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| invalid())?;
    let plaintext = cipher()
        .decrypt(
            &XNonce::from(nonce),
            Payload {
                msg: ciphertext,
                aad: AAD,
            },
        )
        .map_err(|_| invalid())?;
    let token: Token<V> = serde_json::from_slice(&plaintext).map_err(|_| invalid())?;
    if token.q != fingerprint {
        return Err(Error::invalid(
            "page_token",
            "the query (parent, filter, order_by or show_deleted) changed since this token \
             was issued; \
             start again without a page_token",
        ));
    }
    Ok(Some((token.v, token.id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_mismatch() {
        let fp = fingerprint(&["title:a", "title asc"]);
        let token = encode(&fp, CursorValue::Text("x".into()), "id1");
        assert_eq!(
            decode(&token, &fp).unwrap(),
            Some((CursorValue::Text("x".into()), "id1".into()))
        );
        let other = fingerprint(&["title:b", "title asc"]);
        assert!(decode::<CursorValue>(&token, &other).is_err());
        assert!(decode::<CursorValue>("garbage!", &fp).is_err());
        assert_ne!(fingerprint(&["ab", "c"]), fingerprint(&["a", "bc"]));
    }

    #[test]
    fn every_flipped_bit_is_refused() {
        let fp = fingerprint(&["x"]);
        let token = encode(&fp, CursorValue::Int(7), "id1");
        let bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
        for i in 0..bytes.len() * 8 {
            let mut edited = bytes.clone();
            edited[i / 8] ^= 1 << (i % 8);
            let edited = URL_SAFE_NO_PAD.encode(edited);
            assert!(decode::<CursorValue>(&edited, &fp).is_err(), "bit {i}");
        }
    }

    #[test]
    fn derived_keys_are_separated_from_the_secret() {
        let secret = b"0123456789abcdef0123456789abcdef";
        assert_ne!(&derive(secret)[..], &secret[..]);
        assert_ne!(derive(secret), derive(b"0123456789abcdef0123456789abcdeX"));
        assert!(key_from_config(Some("short"), Some(&[])).is_err());
    }
}
