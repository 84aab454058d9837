//! Authentication: every call but health and reflection needs a valid bearer token.

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{assert_error, server, with_token};
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use dashboard_service::server::auth::{JwtOptions, KeyMaterial, Minter, TokenRequest};
use std::time::Duration;
use tonic::{Code, Request};

fn list_request() -> pb::ListDashboardsRequest {
    pb::ListDashboardsRequest::default()
}

async fn call_with(authorization: Option<String>) -> tonic::Status {
    let mut client = server().dashboards().await;
    let mut request = Request::new(list_request());
    if let Some(value) = authorization {
        request
            .metadata_mut()
            .insert("authorization", value.parse().unwrap());
    }
    client
        .list_dashboards(request)
        .await
        .expect_err("must be rejected")
}

fn claims_json(exp: u64) -> serde_json::Value {
    serde_json::json!({"sub": "mallory", "org": "acme", "role": "ADMIN", "exp": exp})
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

#[tokio::test]
async fn missing_token_is_unauthenticated() {
    let status = call_with(None).await;
    assert_error(&status, Code::Unauthenticated, "MISSING_CREDENTIALS");
}

#[tokio::test]
async fn malformed_header_and_token_are_unauthenticated() {
    for value in [
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer not.a.jwt",
        "Bearer abc",
    ] {
        let status = call_with(Some(value.to_string())).await;
        assert_error(&status, Code::Unauthenticated, "INVALID_TOKEN");
    }
}

#[tokio::test]
async fn expired_token_is_unauthenticated() {
    let options = JwtOptions {
        secret: Some(common::SECRET.into()),
        ..Default::default()
    };
    let keys = KeyMaterial::load(&options).unwrap();
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    let key = jsonwebtoken::EncodingKey::from_secret(common::SECRET.as_bytes());
    let token = jsonwebtoken::encode(&header, &claims_json(now() - 3600), &key).unwrap();
    let status = call_with(Some(format!("Bearer {token}"))).await;
    assert_error(&status, Code::Unauthenticated, "TOKEN_EXPIRED");
    // The same claims, unexpired, are accepted: the expiry is what failed.
    let fresh = Minter::new(&keys, &options)
        .unwrap()
        .mint(&TokenRequest {
            sub: "mallory".into(),
            org: "acme-auth-test".into(),
            tenant: None,
            role: PlatformRole::Admin,
            email: None,
            name: None,
            ttl: Duration::from_secs(60),
        })
        .unwrap();
    let mut client = server().dashboards().await;
    client
        .list_dashboards(with_token(list_request(), &fresh))
        .await
        .expect("fresh token works");
}

#[tokio::test]
async fn wrongly_signed_token_is_unauthenticated() {
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    let key =
        jsonwebtoken::EncodingKey::from_secret(b"another-secret-another-secret-another-secret");
    let token = jsonwebtoken::encode(&header, &claims_json(now() + 3600), &key).unwrap();
    let status = call_with(Some(format!("Bearer {token}"))).await;
    assert_error(&status, Code::Unauthenticated, "INVALID_TOKEN");
}

#[tokio::test]
async fn alg_none_token_is_unauthenticated() {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let claims = URL_SAFE_NO_PAD.encode(claims_json(now() + 3600).to_string());
    for token in [format!("{header}.{claims}."), format!("{header}.{claims}")] {
        let status = call_with(Some(format!("Bearer {token}"))).await;
        assert_error(&status, Code::Unauthenticated, "INVALID_TOKEN");
    }
}

#[tokio::test]
async fn token_with_unknown_role_is_unauthenticated() {
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    let key = jsonwebtoken::EncodingKey::from_secret(common::SECRET.as_bytes());
    let claims =
        serde_json::json!({"sub": "eve", "org": "acme", "role": "ROOT", "exp": now() + 60});
    let token = jsonwebtoken::encode(&header, &claims, &key).unwrap();
    let status = call_with(Some(format!("Bearer {token}"))).await;
    assert_error(&status, Code::Unauthenticated, "INVALID_CLAIMS");
}

#[tokio::test]
async fn health_and_reflection_need_no_token() {
    let channel = server().channel().await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    for service in ["", "dashboards.v1.DashboardService"] {
        let response = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: service.into(),
            })
            .await
            .expect("health is open")
            .into_inner();
        assert_eq!(
            response.status(),
            tonic_health::pb::health_check_response::ServingStatus::Serving
        );
    }

    use tokio_stream::StreamExt;
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let mut reflection = ServerReflectionClient::new(channel.clone());
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .expect("reflection v1 is open")
        .into_inner();
    let response = responses.next().await.expect("one response").expect("ok");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection response");
    };
    let names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    for expected in [
        "dashboards.v1.DashboardService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }

    // v1alpha (what grpcurl 1.8.6 speaks) answers too.
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient as AlphaClient;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest as AlphaRequest;
    let mut alpha = AlphaClient::new(channel);
    let request = tonic_reflection::pb::v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(AlphaRequest::FileContainingSymbol(
            "dashboards.v1.Dashboard".into(),
        )),
    };
    let mut responses = alpha
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .expect("reflection v1alpha is open")
        .into_inner();
    let response = responses.next().await.expect("one response").expect("ok");
    assert!(matches!(
        response.message_response,
        Some(tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse::FileDescriptorResponse(_))
    ));
}
