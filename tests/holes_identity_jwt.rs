//! Issue 11 item 15: JWT details, black-box (the unit tests in src/auth/jwt.rs cover each
//! rule; these check what a caller sees). Each test fails on the code before the fix.

mod common;

use common::{SECRET, assert_error, server, unique_org, with_token};
use dashboard_service::pb;
use dashboard_service::pb::directory_service_client::DirectoryServiceClient;
use tonic::Code;

fn raw_token(claims: serde_json::Value, crit: Option<Vec<String>>) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.crit = crit;
    let key = jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes());
    jsonwebtoken::encode(&header, &claims, &key).expect("sign")
}

fn in_an_hour() -> u64 {
    jsonwebtoken::get_current_timestamp() + 3600
}

fn me() -> pb::GetUserRequest {
    pb::GetUserRequest {
        name: "users/me".into(),
    }
}

#[tokio::test]
async fn jwt_not_before_crit_and_far_timestamps_are_refused() {
    let org = unique_org();
    let base =
        || serde_json::json!({"sub": "jo", "org": org, "role": "AUTHOR", "exp": in_an_hour()});
    let mut later = base();
    later["nbf"] = in_an_hour().into();
    let mut far = base();
    far["exp"] = 1_000_000_000_000u64.into(); // the year 33658
    let mut directory = DirectoryServiceClient::new(server().channel().await);
    for (token, reason) in [
        (raw_token(later, None), "INVALID_TOKEN"),
        (
            raw_token(base(), Some(vec!["urn:example:x".into()])),
            "INVALID_TOKEN",
        ),
        (raw_token(far, None), "INVALID_CLAIMS"),
    ] {
        let err = directory
            .get_user(with_token(me(), &token))
            .await
            .unwrap_err();
        assert_error(&err, Code::Unauthenticated, reason);
    }
    let mut past = base();
    past["nbf"] = (jsonwebtoken::get_current_timestamp() - 60).into();
    directory
        .get_user(with_token(me(), &raw_token(past, None)))
        .await
        .expect("nbf in the past is fine");
}

#[tokio::test]
async fn jwt_audience_may_be_an_array_that_names_ours() {
    let s = common::start(|c| c.jwt_audience = Some("dashboards".into()));
    let org = unique_org();
    let channel = s.channel().await;
    let mut directory = DirectoryServiceClient::new(channel);
    let claims = |aud: serde_json::Value| serde_json::json!({"sub": "jo", "org": org, "role": "VIEWER", "exp": in_an_hour(), "aud": aud});
    let ours = raw_token(claims(serde_json::json!(["other", "dashboards"])), None);
    directory
        .get_user(with_token(me(), &ours))
        .await
        .expect("an array containing the configured audience");
    let theirs = raw_token(claims(serde_json::json!(["other"])), None);
    let err = directory
        .get_user(with_token(me(), &theirs))
        .await
        .unwrap_err();
    assert_error(&err, Code::Unauthenticated, "INVALID_TOKEN");
    let single = raw_token(claims(serde_json::json!("dashboards")), None);
    directory
        .get_user(with_token(me(), &single))
        .await
        .expect("a single string still works");
}
