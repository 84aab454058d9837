//! Shares on folders reach down the tree until a cut point (`inherit_access = false`);
//! CheckAccess explains a decision: where each share sits, the way it came down, and where
//! inheritance stops. Rules, events, the group-join rule and watch: folder_share_rules.rs.

mod common;
#[path = "folder_sharing/helpers.rs"]
mod helpers;

use common::{assert_error, server, unique_org};
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use dashboard_service::pb::grantee::Kind;
use helpers::*;
use tonic::Code;

/// A folder shared with every org member as viewer: what is in it (and in a subfolder that
/// inherits) is readable by a member; a private subfolder under it (inherit_access = false)
/// is invisible to everyone but its own grantees and ADMINs. CheckAccess explains each.
#[tokio::test]
async fn a_private_subfolder_under_a_folder_everyone_reads() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let mut bob = server().user(&org, "bob", PlatformRole::Viewer).await;
    let mut carol = server().user(&org, "carol", PlatformRole::Viewer).await;
    let mut admin = server().user(&org, "root", PlatformRole::Admin).await;

    let ops = create_folder(&alice, "Ops", "", true).await.name;
    let team = create_folder(&alice, "Team", &ops, true).await.name;
    let private = create_folder(&alice, "Payroll", &ops, false).await.name;
    let d_ops = create_in(&mut alice, "pumps", &ops).await;
    let d_team = create_in(&mut alice, "valves", &team).await;
    let d_private = create_in(&mut alice, "salaries", &private).await;

    // Nothing is shared yet: bob sees none of it.
    for d in [&d_ops, &d_team, &d_private] {
        assert!(!readable(&mut bob, d).await, "{d}");
    }
    let everyone = alice
        .share(&ops, Kind::OrgMembers(true), "viewer")
        .await
        .expect("share the folder");
    assert!(
        everyone.name.starts_with(&format!("{ops}/shares/")),
        "{}",
        everyone.name
    );
    alice
        .share(&private, Kind::User(carol.name()), "viewer")
        .await
        .expect("share the private folder with carol");

    assert!(readable(&mut bob, &d_ops).await);
    assert!(readable(&mut bob, &d_team).await);
    assert!(
        !readable(&mut bob, &d_private).await,
        "the cut keeps bob out"
    );
    assert!(
        readable(&mut carol, &d_private).await,
        "its own grantee reads it"
    );
    assert!(
        readable(&mut admin, &d_private).await,
        "ADMINs read everything"
    );
    let mut bobs = listed(&mut bob).await;
    bobs.sort();
    let mut expected = vec![d_ops.clone(), d_team.clone()];
    expected.sort();
    assert_eq!(bobs, expected);
    // CheckAccess about bob: READ false on the private dashboard, true elsewhere.
    let about = check(&mut admin, &d_private, &bob.name())
        .await
        .expect("check");
    assert!(!about.allowed);
    assert!(about.grants.is_empty());
    assert_eq!(about.inheritance_cut_at, private);
    assert_eq!(about.inherited_from, vec![private.clone()]);
    // Bob cannot even ask: NOT_FOUND, as for a missing dashboard.
    let status = check(&mut bob, &d_private, "").await.unwrap_err();
    assert_error(&status, Code::NotFound, "NOT_FOUND");

    // The explanation: where the share sits and the way it came down.
    let explained = check(&mut admin, &d_team, &bob.name())
        .await
        .expect("check");
    assert!(explained.allowed);
    assert_eq!(
        explained.permissions().collect::<Vec<_>>(),
        vec![pb::Permission::Read]
    );
    assert_eq!(
        sources(&explained),
        vec![(ops.clone(), vec![ops.clone(), team.clone(), d_team.clone()])]
    );
    assert_eq!(explained.grants[0].share, everyone.name);
    assert_eq!(explained.inheritance_cut_at, "");
    assert_eq!(explained.inherited_from, vec![team.clone(), ops.clone()]);
    // On a folder: its own name is the whole path of its own shares.
    let on_folder = check(&mut bob, &ops, "").await.expect("check a folder");
    assert!(on_folder.allowed);
    assert_eq!(sources(&on_folder), vec![(ops.clone(), vec![ops.clone()])]);
    let on_private = check(&mut carol, &private, "")
        .await
        .expect("check the private folder");
    assert_eq!(
        sources(&on_private),
        vec![(private.clone(), vec![private.clone()])]
    );
    assert_eq!(on_private.inheritance_cut_at, private);
    // An ADMIN's explanation of itself still names the shares that match it.
    let mine = check(&mut admin, &d_ops, "").await.expect("check");
    assert!(mine.implicit_owner);
    assert_eq!(
        sources(&mine),
        vec![(ops.clone(), vec![ops.clone(), d_ops.clone()])]
    );

    // BatchCheckAccess explains the same way.
    let request = admin.req(pb::BatchCheckAccessRequest {
        names: vec![d_team.clone(), d_private.clone()],
        permission: 0,
        principal: bob.name(),
    });
    let batch = admin
        .sharing
        .batch_check_access(request)
        .await
        .expect("batch")
        .into_inner();
    assert!(batch.results[0].allowed);
    assert_eq!(batch.results[0].grants.len(), 1);
    assert_eq!(
        batch.results[0].grants[0].path,
        vec![ops.clone(), team.clone(), d_team.clone()]
    );
    assert!(!batch.results[1].allowed);
    assert_eq!(batch.results[1].inheritance_cut_at, private);
}

/// Setting inherit_access back to true on a private subfolder brings the shares of the
/// folders above back on the very next call, and false takes them away again.
#[tokio::test]
async fn restoring_inheritance_brings_access_back() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let mut bob = server().user(&org, "bob", PlatformRole::Viewer).await;
    let mut admin = server().user(&org, "root", PlatformRole::Admin).await;
    let ops = create_folder(&alice, "Ops", "", true).await.name;
    let private = create_folder(&alice, "Payroll", &ops, false).await.name;
    let d = create_in(&mut alice, "salaries", &private).await;
    alice
        .share(&ops, Kind::OrgMembers(true), "viewer")
        .await
        .expect("share the folder");
    assert!(!readable(&mut bob, &d).await);

    set_inherit(&alice, &private, true).await;
    assert!(readable(&mut bob, &d).await);
    assert!(listed(&mut bob).await.contains(&d));
    let explained = check(&mut admin, &d, &bob.name()).await.expect("check");
    assert_eq!(
        sources(&explained),
        vec![(ops.clone(), vec![ops.clone(), private.clone(), d.clone()])]
    );
    assert_eq!(explained.inheritance_cut_at, "");
    assert_eq!(explained.inherited_from, vec![private.clone(), ops.clone()]);

    set_inherit(&alice, &private, false).await;
    assert!(!readable(&mut bob, &d).await);
    assert!(!listed(&mut bob).await.contains(&d));
    let explained = check(&mut admin, &d, &bob.name()).await.expect("check");
    assert!(!explained.allowed);
    assert_eq!(explained.inheritance_cut_at, private);
}
