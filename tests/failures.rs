//! Failures inside the server reach callers as canonical codes with an ErrorInfo, never as
//! SQL or debug text.

mod common;

use common::{assert_error, unique_org};
use dashboard_service::core::PlatformRole;
use sea_orm::sqlx::{self, Connection};
use tonic::Code;

#[tokio::test]
async fn database_errors_are_internal_and_leak_nothing() {
    // Always SQLite in its own file: this test breaks its database on purpose.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.db");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let server = common::start(|c| c.database_url = url.clone());
    let mut alice = server
        .user(&unique_org(), "alice", PlatformRole::Author)
        .await;
    let created = alice.create("Soon broken").await;

    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("ALTER TABLE grants RENAME TO grants_gone")
        .execute(&mut conn)
        .await
        .unwrap();

    let status = alice.get(&created.name).await.unwrap_err();
    let details = assert_error(&status, Code::Internal, "INTERNAL");
    assert_eq!(status.message(), "internal error");
    let everything = format!("{status:?} {details:?}").to_lowercase();
    for leak in ["grants", "select", "sqlite", "no such table", "sqlx"] {
        assert!(!everything.contains(leak), "{leak:?} leaked: {everything}");
    }
    assert!(details.bad_request().is_none());
}
