//! Asymmetric token verification: RS256 / ES256 public keys and a JWKS file.

mod common;

use std::path::PathBuf;

use common::{assert_error, with_token};
use dashboard_service::pb;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use tonic::Code;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn claims() -> serde_json::Value {
    serde_json::json!({
        "sub": "alice",
        "org": common::unique_org(),
        "role": "AUTHOR",
        "exp": jsonwebtoken::get_current_timestamp() + 600,
    })
}

fn sign(algorithm: Algorithm, kid: Option<&str>, key: &EncodingKey) -> String {
    let mut header = Header::new(algorithm);
    header.kid = kid.map(str::to_string);
    jsonwebtoken::encode(&header, &claims(), key).unwrap()
}

fn rsa_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(&std::fs::read(fixture("rs256-private.pem")).unwrap()).unwrap()
}

fn ec_key() -> EncodingKey {
    EncodingKey::from_ec_pem(&std::fs::read(fixture("es256-private.pem")).unwrap()).unwrap()
}

async fn outcome(server: &common::TestServer, token: &str) -> Result<(), tonic::Status> {
    let mut client = server.dashboards().await;
    client
        .list_dashboards(with_token(pb::ListDashboardsRequest::default(), token))
        .await
        .map(|_| ())
}

#[tokio::test]
async fn rs256_public_key() {
    let server = common::start(|c| {
        c.jwt_secret = None;
        c.jwt_public_key_file = Some(fixture("rs256-public.pem"));
    });
    outcome(&server, &sign(Algorithm::RS256, None, &rsa_key()))
        .await
        .expect("RS256 accepted");
    // Another algorithm, or the public key abused as an HMAC secret, is refused.
    let status = outcome(&server, &sign(Algorithm::ES256, None, &ec_key()))
        .await
        .unwrap_err();
    assert_error(&status, Code::Unauthenticated, "INVALID_TOKEN");
    let public = std::fs::read(fixture("rs256-public.pem")).unwrap();
    let confused = sign(Algorithm::HS256, None, &EncodingKey::from_secret(&public));
    let status = outcome(&server, &confused).await.unwrap_err();
    assert_error(&status, Code::Unauthenticated, "INVALID_TOKEN");
}

#[tokio::test]
async fn es256_public_key() {
    let server = common::start(|c| {
        c.jwt_secret = None;
        c.jwt_public_key_file = Some(fixture("es256-public.pem"));
    });
    outcome(&server, &sign(Algorithm::ES256, None, &ec_key()))
        .await
        .expect("ES256 accepted");
    let status = outcome(&server, &sign(Algorithm::RS256, None, &rsa_key()))
        .await
        .unwrap_err();
    assert_error(&status, Code::Unauthenticated, "INVALID_TOKEN");
}

#[tokio::test]
async fn jwks_selects_the_key_by_kid() {
    let server = common::start(|c| {
        c.jwt_secret = None;
        c.jwt_jwks_file = Some(fixture("jwks.json"));
    });
    outcome(
        &server,
        &sign(Algorithm::RS256, Some("test-rs"), &rsa_key()),
    )
    .await
    .expect("kid matches");
    let status = outcome(
        &server,
        &sign(Algorithm::RS256, Some("unknown"), &rsa_key()),
    )
    .await
    .unwrap_err();
    assert_error(&status, Code::Unauthenticated, "INVALID_TOKEN");
    // The right kid but a token signed by some other key.
    let status = outcome(&server, &sign(Algorithm::ES256, Some("test-rs"), &ec_key()))
        .await
        .unwrap_err();
    assert_error(&status, Code::Unauthenticated, "INVALID_TOKEN");
}
