//! Access is never stale, through folders and the directory (issue 17, "Freshness"): with
//! every read path warm (tests/common/access.rs), a folder cut, a move out from under a
//! shared folder, a revoked folder share (direct, org-wide, through a group, a custom role
//! losing READ) and a directory demotion are denied on the very next call. One server;
//! the one-replica companions of tests/access_freshness.rs.

mod common;

use common::access::{
    Seen, WARM_ROUNDS, add_member, custom_role, move_dashboard, move_folder, remove_member, revoke,
    seen, set_dashboard_inherit, set_folder_inherit, set_role_permissions, set_user_role, warm,
};
use common::{Caller, assert_error, retitle_request, server, unique_org};
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use dashboard_service::pb::grantee::Kind;
use tonic::{Code, Status};

/// alice's tree: F (root) > G > H; `d_f` in F, `d_g` in G, `d_h` in H; and N, a root
/// folder nobody else can read.
struct Tree {
    f: String,
    g: String,
    n: String,
    d_f: String,
    d_g: String,
    d_h: String,
}

async fn tree(alice: &mut Caller) -> Tree {
    let f = alice.folder("F", "").await.name;
    let g = alice.folder("G", &f).await.name;
    let h = alice.folder("H", &g).await.name;
    let n = alice.folder("N", "").await.name;
    Tree {
        d_f: alice.create_in("in F", &f).await.name,
        d_g: alice.create_in("in G", &g).await.name,
        d_h: alice.create_in("in H", &h).await.name,
        f,
        g,
        n,
    }
}

/// Warms every read path of `caller` on each of `dashboards`.
async fn warm_all(caller: &mut Caller, dashboards: &[&String], expected: bool) {
    for d in dashboards {
        warm(caller, d, Seen::expect(expected)).await;
    }
}

/// The very next call of every read path, on each of `dashboards`.
async fn assert_seen(caller: &mut Caller, dashboards: &[&String], expected: bool, ctx: &str) {
    for d in dashboards {
        assert_eq!(seen(caller, d).await, Seen::expect(expected), "{ctx}: {d}");
    }
}

#[tokio::test]
async fn a_folder_cut_is_denied_on_the_next_call() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let mut bob = server().user(&org, "bob", PlatformRole::Viewer).await;
    let t = tree(&mut alice).await;
    alice.share_with(&t.f, &bob, "viewer").await;
    warm_all(&mut bob, &[&t.d_f, &t.d_g, &t.d_h], true).await;

    // G stops inheritance: what is in G and below it is gone, F's own dashboard stays.
    set_folder_inherit(&mut alice, &t.g, false).await;
    assert_seen(&mut bob, &[&t.d_g, &t.d_h], false, "G cut").await;
    assert_seen(&mut bob, &[&t.d_f], true, "G cut").await;

    // Back, then the dashboards themselves stop inheritance.
    set_folder_inherit(&mut alice, &t.g, true).await;
    assert_seen(&mut bob, &[&t.d_g, &t.d_h], true, "G restored").await;
    warm_all(&mut bob, &[&t.d_f, &t.d_g, &t.d_h], true).await;
    set_dashboard_inherit(&mut alice, &t.d_h, false).await;
    assert_seen(&mut bob, &[&t.d_h], false, "d_h cut").await;
    assert_seen(&mut bob, &[&t.d_f, &t.d_g], true, "d_h cut").await;
    set_dashboard_inherit(&mut alice, &t.d_f, false).await;
    assert_seen(&mut bob, &[&t.d_f, &t.d_h], false, "d_f cut").await;
    assert_seen(&mut bob, &[&t.d_g], true, "d_f cut").await;

    // The owner and an ADMIN are unaffected by cuts.
    let mut admin = server().user(&org, "root", PlatformRole::Admin).await;
    assert_seen(&mut alice, &[&t.d_f, &t.d_g, &t.d_h], true, "owner").await;
    assert_seen(&mut admin, &[&t.d_f, &t.d_g, &t.d_h], true, "ADMIN").await;
}

#[tokio::test]
async fn a_move_out_from_under_a_shared_folder_is_denied_on_the_next_call() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let mut bob = server().user(&org, "bob", PlatformRole::Viewer).await;
    let t = tree(&mut alice).await;
    alice.share_with(&t.f, &bob, "viewer").await;
    warm_all(&mut bob, &[&t.d_f, &t.d_g, &t.d_h], true).await;

    // G (with H below it) moved under N, which bob cannot read.
    move_folder(&mut alice, &t.g, &t.n).await;
    assert_seen(&mut bob, &[&t.d_g, &t.d_h], false, "G under N").await;
    assert_seen(&mut bob, &[&t.d_f], true, "G under N").await;

    // Back under F, then to the root.
    move_folder(&mut alice, &t.g, &t.f).await;
    assert_seen(&mut bob, &[&t.d_g, &t.d_h], true, "G back under F").await;
    warm_all(&mut bob, &[&t.d_g, &t.d_h], true).await;
    move_folder(&mut alice, &t.g, "").await;
    assert_seen(&mut bob, &[&t.d_g, &t.d_h], false, "G at the root").await;

    // A dashboard moved out of F: into N, then (back in F and warm) to the root.
    move_dashboard(&mut alice, &t.d_f, &t.n).await;
    assert_seen(&mut bob, &[&t.d_f], false, "d_f in N").await;
    move_dashboard(&mut alice, &t.d_f, &t.f).await;
    warm_all(&mut bob, &[&t.d_f], true).await;
    move_dashboard(&mut alice, &t.d_f, "").await;
    assert_seen(&mut bob, &[&t.d_f], false, "d_f at the root").await;
}

#[tokio::test]
async fn a_revoked_folder_share_is_denied_on_the_next_call() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let mut bob = server().user(&org, "bob", PlatformRole::Viewer).await;
    let mut tina = server()
        .tenant_user(&org, "tina", "t1", PlatformRole::Viewer)
        .await;
    let t = tree(&mut alice).await;
    let all = [&t.d_f, &t.d_g, &t.d_h];

    // A share with bob himself.
    let share = alice.share_with(&t.f, &bob, "viewer").await;
    assert!(
        share.name.starts_with(&format!("{}/shares/", t.f)),
        "{share:?}"
    );
    warm_all(&mut bob, &all, true).await;
    revoke(&mut alice, &share.name).await;
    assert_seen(&mut bob, &all, false, "user share revoked").await;

    // Org-wide and tenant-wide shares of the folder.
    for (grantee, reaches_bob, reaches_tina) in [
        (Kind::OrgMembers(true), true, false),
        (Kind::Tenant("t1".into()), false, true),
        (Kind::Everyone(true), true, true),
    ] {
        let share = alice
            .share(&t.f, grantee.clone(), "viewer")
            .await
            .expect("share the folder");
        warm_all(&mut bob, &all, reaches_bob).await;
        warm_all(&mut tina, &all, reaches_tina).await;
        revoke(&mut alice, &share.name).await;
        let ctx = format!("{grantee:?} revoked");
        assert_seen(&mut bob, &all, false, &ctx).await;
        assert_seen(&mut tina, &all, false, &ctx).await;
    }
}

#[tokio::test]
async fn a_folder_share_losing_its_group_or_its_role_is_denied_on_the_next_call() {
    let org = unique_org();
    let mut admin = server().user(&org, "root", PlatformRole::Admin).await;
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let mut bob = server().user(&org, "bob", PlatformRole::Author).await;
    let t = tree(&mut alice).await;
    let all = [&t.d_f, &t.d_g, &t.d_h];

    // Through a group: bob leaves it; back in, the group's share is revoked.
    let team = admin.group("Team", &[&bob]).await;
    let share = alice
        .share(&t.f, Kind::Group(team.name.clone()), "viewer")
        .await
        .expect("share the folder with the group");
    warm_all(&mut bob, &all, true).await;
    remove_member(&mut admin, &team.name, &bob.name()).await;
    assert_seen(&mut bob, &all, false, "left the group").await;
    add_member(&mut admin, &team.name, &bob.name()).await;
    warm_all(&mut bob, &all, true).await;
    revoke(&mut alice, &share.name).await;
    assert_seen(&mut bob, &all, false, "group share revoked").await;

    // Through a custom role that loses READ.
    let reader = custom_role(&mut admin, "Reader", &[pb::Permission::Read]).await;
    alice.share_with(&t.f, &bob, &reader.name).await;
    warm_all(&mut bob, &all, true).await;
    set_role_permissions(&mut admin, &reader.name, &[pb::Permission::UpdateLabels]).await;
    assert_seen(&mut bob, &all, false, "the role lost READ").await;

    // Downgraded on the folder: editor -> viewer: bob still reads, writes are refused.
    alice.share_with(&t.f, &bob, "editor").await;
    for round in 0..WARM_ROUNDS {
        let request = bob.req(retitle_request(&t.d_h, &format!("H {round}")));
        bob.dashboards
            .update_dashboard(request)
            .await
            .expect("an editor writes");
    }
    alice.share_with(&t.f, &bob, "viewer").await;
    let request = bob.req(retitle_request(&t.d_h, "not allowed"));
    let status = bob.dashboards.update_dashboard(request).await.unwrap_err();
    assert_error(&status, Code::PermissionDenied, "MISSING_PERMISSION");
    assert_eq!(
        bob.permissions(&t.d_h).await.expect("check"),
        vec![pb::Permission::Read]
    );
}

async fn try_create(caller: &mut Caller, title: &str) -> Result<pb::Dashboard, Status> {
    let request = caller.req(pb::CreateDashboardRequest {
        dashboard: Some(pb::Dashboard {
            title: title.into(),
            ..Default::default()
        }),
        request_id: String::new(),
    });
    caller
        .dashboards
        .create_dashboard(request)
        .await
        .map(|r| r.into_inner())
}

async fn try_upsert_user(caller: &mut Caller) -> Result<(), Status> {
    let request = caller.req(pb::UpsertUserRequest {
        user: Some(pb::User {
            name: "users/someone".into(),
            role: pb::PlatformRole::Viewer as i32,
            ..Default::default()
        }),
    });
    caller.directory.upsert_user(request).await.map(|_| ())
}

/// An ADMIN's token stays ADMIN; the directory's lower role wins from the next call on:
/// dashboards nobody shared with it are gone from every read path, and it may no longer
/// manage users.
#[tokio::test]
async fn an_admin_demoted_in_the_directory_loses_admin_reads_on_the_next_call() {
    let org = unique_org();
    let mut root = server().user(&org, "root", PlatformRole::Admin).await;
    let mut ada = server().user(&org, "ada", PlatformRole::Admin).await;
    let mut olga = server().user(&org, "olga", PlatformRole::Author).await;
    let unshared = olga.create("Unshared").await.name;
    let shared = olga.create("Shared").await.name;
    olga.share_with(&shared, &ada, "viewer").await;

    for demoted in [pb::PlatformRole::Author, pb::PlatformRole::Viewer] {
        for _ in 0..WARM_ROUNDS {
            try_upsert_user(&mut ada)
                .await
                .expect("an ADMIN upserts users");
        }
        warm(&mut ada, &unshared, Seen::ALL).await;
        warm(&mut ada, &shared, Seen::ALL).await;

        set_user_role(&mut root, "ada", demoted).await;
        assert_eq!(seen(&mut ada, &unshared).await, Seen::NONE, "{demoted:?}");
        assert_eq!(seen(&mut ada, &shared).await, Seen::ALL, "{demoted:?}");
        let status = try_upsert_user(&mut ada).await.unwrap_err();
        assert_error(&status, Code::PermissionDenied, "ADMIN_REQUIRED");

        // Promoted back (up to the token's ADMIN): admin reads return at once.
        set_user_role(&mut root, "ada", pb::PlatformRole::Admin).await;
        assert_eq!(seen(&mut ada, &unshared).await, Seen::ALL, "{demoted:?}");
    }
}

/// An AUTHOR demoted to VIEWER can no longer create, nor write what is shared with it as
/// editor (nor its own dashboards), from the next call; it still reads them.
#[tokio::test]
async fn an_author_demoted_in_the_directory_can_no_longer_create_or_write_on_the_next_call() {
    let org = unique_org();
    let mut root = server().user(&org, "root", PlatformRole::Admin).await;
    let mut bob = server().user(&org, "bob", PlatformRole::Author).await;
    let mut olga = server().user(&org, "olga", PlatformRole::Author).await;
    let shared = olga.create("Shared").await.name;
    olga.share_with(&shared, &bob, "editor").await;
    let own = bob.create("bob's").await.name;

    for round in 0..WARM_ROUNDS {
        try_create(&mut bob, &format!("warm {round}"))
            .await
            .expect("an AUTHOR creates");
        for d in [&shared, &own] {
            let request = bob.req(retitle_request(d, &format!("warm {round}")));
            bob.dashboards
                .update_dashboard(request)
                .await
                .expect("an AUTHOR writes");
            let permissions = bob.permissions(d).await.expect("check");
            assert!(
                permissions.contains(&pb::Permission::Write),
                "{permissions:?}"
            );
        }
        assert_eq!(seen(&mut bob, &shared).await, Seen::ALL);
    }

    set_user_role(&mut root, "bob", pb::PlatformRole::Viewer).await;
    let status = try_create(&mut bob, "again").await.unwrap_err();
    assert_error(&status, Code::PermissionDenied, "ROLE_CANNOT_CREATE");
    for d in [&shared, &own] {
        let request = bob.req(retitle_request(d, "not allowed"));
        let status = bob.dashboards.update_dashboard(request).await.unwrap_err();
        assert_error(&status, Code::PermissionDenied, "MISSING_PERMISSION");
        assert_eq!(
            bob.permissions(d).await.expect("check"),
            vec![pb::Permission::Read],
            "{d}"
        );
        assert_eq!(seen(&mut bob, d).await, Seen::ALL, "{d}");
    }
}
