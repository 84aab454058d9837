//! Move previews (DESIGN §5, issue 15): MoveDashboard and MoveFolder with `validate_only`
//! answer exactly the access changes the real move then makes, as CheckAccess shows them
//! for every user of the fixture; a preview changes nothing. Runs on SQLite, and on
//! PostgreSQL with TEST_DATABASE_URL.

mod common;

use std::collections::BTreeMap;

use common::folders::share_folder;
use common::{Caller, assert_error, revision_in, server, unique_org};
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use tonic::Code;

/// The fixture: folders A; B > C; B > P (P stops inheritance), with shares at every level,
/// and the users they name.
struct Fixture {
    olga: Caller,
    users: Vec<Caller>,
    a: pb::Folder,
    c: pb::Folder,
    p: pb::Folder,
}

async fn fixture() -> Fixture {
    let org = unique_org();
    let mut olga = server().user(&org, "olga", PlatformRole::Author).await;
    let mut users = Vec::new();
    for (sub, role) in [
        ("u1", PlatformRole::Author),
        ("u2", PlatformRole::Author),
        ("u3", PlatformRole::Author),
        ("u4", PlatformRole::Author),
        ("u5", PlatformRole::Author),
        ("u6", PlatformRole::Viewer),
    ] {
        users.push(server().user(&org, sub, role).await);
    }
    let group = olga.group("Readers", &[&users[4]]).await;
    let group_id = group.name.trim_start_matches("groups/").to_string();
    let a = olga.folder("A", "").await;
    let b = olga.folder("B", "").await;
    let c = olga.folder("C", &b.name).await;
    let p = olga
        .try_folder("P", &b.name, Some(false))
        .await
        .expect("private folder");
    share_folder(&org, &a.name, "user", "u1", "roles/editor").await;
    share_folder(&org, &a.name, "group", &group_id, "roles/viewer").await;
    share_folder(&org, &b.name, "user", "u2", "roles/viewer").await;
    share_folder(&org, &b.name, "org_members", "", "roles/viewer").await;
    share_folder(&org, &c.name, "user", "u3", "roles/owner").await;
    share_folder(&org, &c.name, "user", "u6", "roles/editor").await;
    share_folder(&org, &p.name, "user", "u5", "roles/contributor").await;
    Fixture {
        olga,
        users,
        a,
        c,
        p,
    }
}

type Snapshot = BTreeMap<String, Vec<i32>>;

/// CheckAccess on `dashboard` for every user of the fixture (asked by its owner).
async fn snapshot(f: &mut Fixture, dashboard: &str) -> Snapshot {
    let mut names: Vec<String> = f.users.iter().map(|u| u.name()).collect();
    names.push(f.olga.name());
    let mut out = BTreeMap::new();
    for name in names {
        let mut permissions: Vec<i32> = f
            .olga
            .access_of(dashboard, &name)
            .await
            .into_iter()
            .map(|p| p as i32)
            .collect();
        permissions.sort();
        out.insert(name, permissions);
    }
    out
}

/// The users' changes from `before` to `after`, as a preview lists them.
fn diff(before: &Snapshot, after: &Snapshot) -> BTreeMap<String, (Vec<i32>, Vec<i32>)> {
    let mut out = BTreeMap::new();
    for (name, was) in before {
        let is = &after[name];
        let gained: Vec<i32> = is.iter().filter(|p| !was.contains(p)).copied().collect();
        let lost: Vec<i32> = was.iter().filter(|p| !is.contains(p)).copied().collect();
        if !gained.is_empty() || !lost.is_empty() {
            out.insert(name.clone(), (gained, lost));
        }
    }
    out
}

/// Checks a preview against CheckAccess before and after the real move: the users named by
/// a share that counts before or after (`named`) have exactly their change listed; any
/// other user whose access changed did so through an audience (a group, the org members)
/// whose own change is listed.
fn check_preview(
    changes: &[pb::AccessChange],
    before: &Snapshot,
    after: &Snapshot,
    named: &[&str],
    context: &str,
) {
    let real = diff(before, after);
    let listed = user_changes(changes);
    let named_real: BTreeMap<String, (Vec<i32>, Vec<i32>)> = real
        .iter()
        .filter(|(name, _)| named.iter().any(|n| format!("users/{n}") == **name))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(listed, named_real, "{context}: named users");
    let audiences = changes.iter().any(|c| !c.principal.starts_with("users/"));
    for name in real.keys().filter(|n| !listed.contains_key(*n)) {
        assert!(
            audiences,
            "{context}: {name} changed through no listed audience"
        );
    }
}

/// The preview's entries for users.
fn user_changes(changes: &[pb::AccessChange]) -> BTreeMap<String, (Vec<i32>, Vec<i32>)> {
    changes
        .iter()
        .filter(|c| c.principal.starts_with("users/"))
        .map(|c| {
            let mut gained = c.gained.clone();
            let mut lost = c.lost.clone();
            gained.sort();
            lost.sort();
            (c.principal.clone(), (gained, lost))
        })
        .collect()
}

fn change_of<'a>(changes: &'a [pb::AccessChange], principal: &str) -> Option<&'a pb::AccessChange> {
    changes.iter().find(|c| c.principal == principal)
}

#[tokio::test]
async fn dashboard_move_previews_equal_the_real_moves() {
    let mut f = fixture().await;
    let d = f.olga.create_in("D", &f.a.name).await;
    // Shares on the dashboard itself count before and after.
    let u4 = f.users[3].name();
    f.olga
        .share(&d.name, pb::grantee::Kind::User(u4), "roles/viewer")
        .await
        .expect("share");
    // A -> C (under B), C -> P (private), P -> the root.
    let destinations = [
        // A (u1), C (u3, u6), B (u2); the dashboard's own (olga, u4) every time.
        (f.c.name.clone(), vec!["u1", "u2", "u3", "u6"]),
        // C, B, P (u5).
        (f.p.name.clone(), vec!["u2", "u3", "u5", "u6"]),
        (String::new(), vec!["u2", "u5"]),
    ];
    let mut from = f.a.name.clone();
    for (to, mut named) in destinations {
        named.extend(["olga", "u4"]);
        let before = snapshot(&mut f, &d.name).await;
        let request = f.olga.req(pb::MoveDashboardRequest {
            name: d.name.clone(),
            folder: to.clone(),
            validate_only: true,
        });
        let response = f
            .olga
            .dashboards
            .move_dashboard(request)
            .await
            .expect("preview");
        assert_eq!(revision_in(&response), None, "a preview takes no revision");
        let preview = response.into_inner();
        assert_eq!(preview.dashboard.expect("dashboard").folder, to);
        // Nothing moved.
        assert_eq!(f.olga.get(&d.name).await.expect("get").folder, from);
        assert_eq!(snapshot(&mut f, &d.name).await, before);

        let moved = f
            .olga
            .move_dashboard(&d.name, &to, false)
            .await
            .expect("move");
        assert_eq!(moved.access_changes, preview.access_changes);
        let after = snapshot(&mut f, &d.name).await;
        check_preview(
            &preview.access_changes,
            &before,
            &after,
            &named,
            &format!("move {from} -> {to:?}"),
        );
        from = to;
    }
}

#[tokio::test]
async fn audiences_are_reported_by_what_their_own_shares_give() {
    let mut f = fixture().await;
    let d = f.olga.create_in("D", &f.a.name).await;
    let preview = f
        .olga
        .move_dashboard(&d.name, &f.c.name, true)
        .await
        .expect("preview");
    let read = pb::Permission::Read as i32;
    // The group of A loses its READ; the org members of B gain theirs.
    let group = preview
        .access_changes
        .iter()
        .find(|c| c.principal.starts_with("groups/"))
        .expect("group change");
    assert_eq!(group.lost, vec![read]);
    let org = change_of(&preview.access_changes, "org_members").expect("org change");
    assert_eq!(org.gained, vec![read]);
    // Into the private folder, B's audiences gain nothing.
    let preview = f
        .olga
        .move_dashboard(&d.name, &f.p.name, true)
        .await
        .expect("preview");
    assert!(change_of(&preview.access_changes, "org_members").is_none());
    assert!(change_of(&preview.access_changes, "users/u5").is_some());
}

#[tokio::test]
async fn folder_move_previews_equal_the_real_moves() {
    let mut f = fixture().await;
    // A dashboard in A with no shares of its own but its creator's: its access is A's.
    let e = f.olga.create_in("E", &f.a.name).await;
    let mut from = String::new();
    let destinations = [
        // A (olga, u1), C (u3, u6), B (u2).
        (f.c.name.clone(), vec!["u2", "u3", "u6"]),
        (f.p.name.clone(), vec!["u2", "u3", "u5", "u6"]),
        (String::new(), vec!["u2", "u5"]),
    ];
    for (to, mut named) in destinations {
        named.extend(["olga", "u1"]);
        let before = snapshot(&mut f, &e.name).await;
        let request = f.olga.req(pb::MoveFolderRequest {
            name: f.a.name.clone(),
            parent: to.clone(),
            validate_only: true,
        });
        let response = f.olga.folders.move_folder(request).await.expect("preview");
        assert_eq!(revision_in(&response), None, "a preview takes no revision");
        let preview = response.into_inner();
        assert_eq!(preview.folder.expect("folder").parent, to);
        assert_eq!(
            f.olga.get_folder(&f.a.name).await.expect("get").parent,
            from
        );
        let moved = f
            .olga
            .move_folder(&f.a.name, &to, false)
            .await
            .expect("move");
        assert_eq!(moved.access_changes, preview.access_changes);
        let after = snapshot(&mut f, &e.name).await;
        check_preview(
            &preview.access_changes,
            &before,
            &after,
            &named,
            &format!("move A {from:?} -> {to:?}"),
        );
        from = to;
    }
}

#[tokio::test]
async fn moves_need_delete_on_the_thing_and_write_on_the_destination() {
    let mut f = fixture().await;
    let d = f.olga.create_in("D", &f.a.name).await;
    // u1 edits A's content (editor: no DELETE): it may not move D away.
    let err = f.users[0]
        .move_dashboard(&d.name, "", true)
        .await
        .expect_err("no delete");
    assert_error(&err, Code::PermissionDenied, "MISSING_PERMISSION");
    // u3 owns C and what inherits from it; B's viewer share gives it only READ on B's
    // folders elsewhere. Moving C's content into P (no access there): NOT_FOUND.
    let c_dashboard = f.olga.create_in("in C", &f.c.name).await;
    let err = f.users[2]
        .move_dashboard(&c_dashboard.name, &f.p.name, true)
        .await
        .expect_err("no access to P");
    assert_error(&err, Code::NotFound, "NOT_FOUND");
    // u2 reads B (viewer): moving anything into B is PERMISSION_DENIED.
    let mine = f.users[1].create("mine").await;
    let b = f.c.parent.clone();
    let err = f.users[1]
        .move_dashboard(&mine.name, &b, true)
        .await
        .expect_err("read only");
    assert_error(&err, Code::PermissionDenied, "MISSING_PERMISSION");
    // Folders: u3 owns C but may not move it under A (no access to A).
    let err = f.users[2]
        .move_folder(&f.c.name, &f.a.name, true)
        .await
        .expect_err("no access to A");
    assert_error(&err, Code::NotFound, "NOT_FOUND");
}

/// Two moves that would make a cycle together (A into B, B into A), raced many times:
/// one of each pair wins, the other answers FOLDER_CYCLE, and the tree stays a tree.
#[tokio::test]
async fn racing_moves_never_make_a_cycle() {
    let org = unique_org();
    let mut admin = server().user(&org, "root", PlatformRole::Admin).await;
    let mut other = server().user(&org, "root", PlatformRole::Admin).await;
    for round in 0..8 {
        let a = admin.folder(&format!("A{round}"), "").await;
        let b = admin.folder(&format!("B{round}"), "").await;
        let (left, right) = tokio::join!(
            admin.move_folder(&a.name, &b.name, false),
            other.move_folder(&b.name, &a.name, false),
        );
        let won = [left.is_ok(), right.is_ok()];
        assert_eq!(
            won.iter().filter(|w| **w).count(),
            1,
            "round {round}: {won:?}"
        );
        for result in [left, right] {
            if let Err(err) = result {
                assert_error(&err, Code::FailedPrecondition, "FOLDER_CYCLE");
            }
        }
        let a = admin.get_folder(&a.name).await.expect("a");
        let b = admin.get_folder(&b.name).await.expect("b");
        assert!(
            !(a.parent == b.name && b.parent == a.name),
            "round {round}: a cycle"
        );
        assert_eq!(a.depth + b.depth, 3, "one under the other");
    }
}
