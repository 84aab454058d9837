//! Access is never stale across replicas (issue 17, "Freshness"): two processes of the
//! binary on one PostgreSQL, A and B. A member's reads are warm on B (every read path, many
//! rounds); then a change on A takes the access away: a direct share revoked, a group
//! membership removed, a folder share revoked, a folder cut, a directory demotion, a custom
//! role losing READ. B must deny every read path within 1 s of the change (polled every
//! 20 ms), and a read on B carrying `x-dashboards-min-revision` = the revision A's write
//! reported must be denied on its first call. On SQLite one process owns the file: skipped.

mod common;

use std::time::{Duration, Instant};

use common::access::{
    Seen, WARM_ROUNDS, custom_role, remove_member, revoke, seen, seen_at, set_folder_inherit,
    set_role_permissions, set_user_role, warm,
};
use common::replica::Replica;
use common::{Caller, recorded_caller, unique_org};
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use dashboard_service::pb::grantee::Kind;
use tonic::transport::Channel;

/// The most a change on A may take to be denied on B (issue 17).
const CROSS_REPLICA_BOUND: Duration = Duration::from_secs(1);

/// How often B is asked again while it still allows.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// After B first denies, how many more rounds must deny too (no flip back).
const STAYS_DENIED_ROUNDS: usize = 3;

fn postgres() -> Option<String> {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|url| url.starts_with("postgres"))
}

/// A change on A that takes the member's READ on the dashboard away.
#[derive(Debug, Clone, Copy)]
enum Change {
    DirectShareRevoked,
    GroupMemberRemoved,
    FolderShareRevoked,
    FolderCut,
    DirectoryDemotion,
    CustomRoleLosesRead,
}

/// One org set up for a change: the member (on B) reads `dashboard` until `writer` (on A)
/// changes `target`.
struct Setup {
    member: Caller,
    dashboard: String,
    writer: Caller,
    target: String,
}

async fn set_up(change: Change, a: &Channel, b: &Channel) -> Setup {
    let org = unique_org();
    let mut root = recorded_caller(a, &org, "root", None, PlatformRole::Admin).await;
    let mut alice = recorded_caller(a, &org, "alice", None, PlatformRole::Author).await;
    // The demoted member's token claims ADMIN: the directory lowers it.
    let role = match change {
        Change::DirectoryDemotion => PlatformRole::Admin,
        _ => PlatformRole::Author,
    };
    let bob = recorded_caller(b, &org, "bob", None, role).await;
    let (dashboard, writer, target) = match change {
        Change::DirectShareRevoked => {
            let d = alice.create("Direct").await.name;
            let share = alice.share_with(&d, &bob, "viewer").await;
            (d, alice, share.name)
        }
        Change::GroupMemberRemoved => {
            let team = root.group("Team", &[&bob]).await;
            let d = alice.create("Team's").await.name;
            alice
                .share(&d, Kind::Group(team.name.clone()), "viewer")
                .await
                .expect("share with the group");
            (d, root, team.name)
        }
        Change::FolderShareRevoked | Change::FolderCut => {
            let f = alice.folder("F", "").await.name;
            let g = alice.folder("G", &f).await.name;
            let d = alice.create_in("In G", &g).await.name;
            let share = alice.share_with(&f, &bob, "viewer").await;
            match change {
                Change::FolderCut => (d, alice, g),
                _ => (d, alice, share.name),
            }
        }
        Change::DirectoryDemotion => {
            // Nobody shares it with bob: he reads it as an ADMIN.
            (alice.create("Unshared").await.name, root, "bob".into())
        }
        Change::CustomRoleLosesRead => {
            let reader = custom_role(&mut root, "Reader", &[pb::Permission::Read]).await;
            let d = alice.create("Custom").await.name;
            alice.share_with(&d, &bob, &reader.name).await;
            (d, root, reader.name)
        }
    };
    Setup {
        member: bob,
        dashboard,
        writer,
        target,
    }
}

/// Makes the change on A; returns the revision A reported for it.
async fn apply(change: Change, setup: &mut Setup) -> i64 {
    let (writer, target) = (&mut setup.writer, setup.target.as_str());
    match change {
        Change::DirectShareRevoked | Change::FolderShareRevoked => revoke(writer, target).await,
        Change::GroupMemberRemoved => remove_member(writer, target, &setup.member.name()).await,
        Change::FolderCut => set_folder_inherit(writer, target, false).await,
        Change::DirectoryDemotion => set_user_role(writer, target, pb::PlatformRole::Author).await,
        Change::CustomRoleLosesRead => {
            set_role_permissions(writer, target, &[pb::Permission::UpdateLabels]).await
        }
    }
}

/// Two replicas on the test's PostgreSQL, or `None` (and a skip line) on SQLite.
async fn replicas(change: Change) -> Option<(Channel, Channel, [Replica; 2])> {
    let Some(database) = postgres() else {
        eprintln!(
            "{change:?}: TEST_DATABASE_URL is not PostgreSQL: one process owns a SQLite file"
        );
        return None;
    };
    let a = Replica::start(&database, &[]).await;
    let b = Replica::start(&database, &[]).await;
    Some((a.channel().await, b.channel().await, [a, b]))
}

/// (i) Warm on B, change on A, then B is polled every 20 ms: every read path must deny
/// within 1 s of A's answer (the change committed before it), and keep denying.
async fn denied_on_b_within_the_bound(change: Change, a: &Channel, b: &Channel) {
    let mut setup = set_up(change, a, b).await;
    let dashboard = setup.dashboard.clone();
    warm(&mut setup.member, &dashboard, Seen::ALL).await;
    apply(change, &mut setup).await;
    let changed = Instant::now();
    let mut polls = 0;
    loop {
        let asked = changed.elapsed();
        let answer = seen(&mut setup.member, &dashboard).await;
        polls += 1;
        if answer == Seen::NONE {
            assert!(
                asked <= CROSS_REPLICA_BOUND,
                "{change:?}: first denied by a poll sent {asked:?} after the change"
            );
            eprintln!("{change:?}: denied on B by poll {polls}, sent {asked:?} after the change");
            break;
        }
        assert!(
            changed.elapsed() < CROSS_REPLICA_BOUND,
            "{change:?}: B still answers {answer:?} {:?} after the change ({polls} polls)",
            changed.elapsed()
        );
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    for round in 0..STAYS_DENIED_ROUNDS {
        assert_eq!(
            seen(&mut setup.member, &dashboard).await,
            Seen::NONE,
            "{change:?}: allowed again on round {round} after the denial"
        );
    }
}

/// (ii) Warm on B, change on A, then the first read on B at A's revision denies on every
/// read path.
async fn denied_on_b_at_the_revision(change: Change, a: &Channel, b: &Channel) {
    let mut setup = set_up(change, a, b).await;
    let dashboard = setup.dashboard.clone();
    for round in 0..WARM_ROUNDS {
        // Warm with and without the header (a revision B has seen).
        let answer = seen_at(&mut setup.member, &dashboard, Some(0)).await;
        assert_eq!(answer, Seen::ALL, "{change:?}: warm-up round {round}");
    }
    warm(&mut setup.member, &dashboard, Seen::ALL).await;
    let revision = apply(change, &mut setup).await;
    assert_eq!(
        seen_at(&mut setup.member, &dashboard, Some(revision)).await,
        Seen::NONE,
        "{change:?}: a read on B at revision {revision}"
    );
}

async fn both(change: Change) {
    let Some((a, b, _replicas)) = replicas(change).await else {
        return;
    };
    denied_on_b_within_the_bound(change, &a, &b).await;
    denied_on_b_at_the_revision(change, &a, &b).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_direct_share_revoked_on_a_is_denied_on_b() {
    both(Change::DirectShareRevoked).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_membership_removed_on_a_is_denied_on_b() {
    both(Change::GroupMemberRemoved).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_folder_share_revoked_on_a_is_denied_on_b() {
    both(Change::FolderShareRevoked).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_folder_cut_on_a_is_denied_on_b() {
    both(Change::FolderCut).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_directory_demotion_on_a_is_denied_on_b() {
    both(Change::DirectoryDemotion).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_custom_role_losing_read_on_a_is_denied_on_b() {
    both(Change::CustomRoleLosesRead).await;
}
