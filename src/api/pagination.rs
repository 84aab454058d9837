//! Opaque page tokens for keyset pagination.
//!
//! A token carries the sort value and id of the last row returned, plus a fingerprint of the
//! query (filter, order, show_deleted): a token replayed with a different query is
//! INVALID_ARGUMENT rather than a silently wrong page.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::{Error, Result};

/// `V` is the sort value of the listing (e.g. `store::dashboards::CursorValue`).
#[derive(Debug, Serialize, Deserialize)]
struct Token<V> {
    /// Query fingerprint.
    q: String,
    /// Sort value of the last row.
    v: V,
    /// Id of the last row.
    id: String,
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
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&token).unwrap_or_default())
}

/// The cursor in `token`, checked against the current query's fingerprint.
pub fn decode<V: DeserializeOwned>(token: &str, fingerprint: &str) -> Result<Option<(V, String)>> {
    if token.is_empty() {
        return Ok(None);
    }
    let invalid = || Error::invalid("page_token", "not a page token returned by this method");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let token: Token<V> = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
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
    use crate::store::dashboards::CursorValue;

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
}
