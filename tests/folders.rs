//! Folders (DESIGN §5, issue 15): FolderService CRUD, limits, trash, tenant walls, and
//! dashboards placed in folders. Runs on SQLite, and on PostgreSQL with TEST_DATABASE_URL.

mod common;

use common::{assert_error, server, unique_org};
use dashboard_service::core::PlatformRole;
use tonic::Code;

#[tokio::test]
async fn create_and_get_a_nested_folder() {
    let org = unique_org();
    let mut author = server().user(&org, "author", PlatformRole::Author).await;
    let ops = author.folder("Ops", "").await;
    assert_eq!(ops.parent, "");
    assert_eq!(ops.depth, 1);
    assert_eq!(ops.inherit_access, Some(true));
    assert_eq!(ops.creator, "users/author");
    let db = author.folder("Databases", &ops.name).await;
    assert_eq!(db.parent, ops.name);
    assert_eq!(db.depth, 2);
    let got = author.get_folder(&db.name).await.expect("get");
    assert_eq!(got, db);

    // Another member of the org does not see it (no share): NOT_FOUND.
    let mut other = server().user(&org, "other", PlatformRole::Author).await;
    let err = other.get_folder(&db.name).await.expect_err("hidden");
    assert_error(&err, Code::NotFound, "NOT_FOUND");
    // Nor does another org, even its ADMIN.
    let mut stranger = server()
        .user(&unique_org(), "admin", PlatformRole::Admin)
        .await;
    let err = stranger.get_folder(&db.name).await.expect_err("walled");
    assert_error(&err, Code::NotFound, "NOT_FOUND");
    // The org's ADMIN does.
    let mut admin = server().user(&org, "admin", PlatformRole::Admin).await;
    admin.get_folder(&db.name).await.expect("admin reads");
}

#[tokio::test]
async fn dashboards_go_into_folders_the_caller_may_write() {
    let org = unique_org();
    let mut author = server().user(&org, "author", PlatformRole::Author).await;
    let ops = author.folder("Ops", "").await;
    let d = author.create_in("in ops", &ops.name).await;
    assert_eq!(d.folder, ops.name);
    assert_eq!(d.inherit_access, Some(true));

    // No READ on the folder: NOT_FOUND.
    let mut other = server().user(&org, "other", PlatformRole::Author).await;
    let err = other
        .try_create_in("sneaky", &ops.name)
        .await
        .expect_err("no write");
    assert_error(&err, Code::NotFound, "NOT_FOUND");

    // Moved to the root and back.
    let moved = author
        .move_dashboard(&d.name, "", false)
        .await
        .expect("move to root");
    assert_eq!(moved.dashboard.expect("dashboard").folder, "");
    let dbs = author.folder("Databases", &ops.name).await;
    let moved = author
        .move_dashboard(&d.name, &dbs.name, false)
        .await
        .expect("move into dbs");
    assert_eq!(moved.dashboard.expect("dashboard").folder, dbs.name);
    assert_eq!(author.get(&d.name).await.expect("get").folder, dbs.name);
    // The other member may not move it anywhere (cannot read it).
    let err = other
        .move_dashboard(&d.name, "", false)
        .await
        .expect_err("hidden");
    assert_error(&err, Code::NotFound, "NOT_FOUND");
}
