//! Shares on folders: inheritance down the tree and its cut points, the explanation of a
//! decision (where each share sits, the way it came down, where inheritance stops), the
//! rules for managing a folder's shares, the group-join rule with folder shares, their
//! events, and what a watcher sees when a folder share comes and goes.

mod common;

use std::time::Duration;

use common::{Caller, assert_error, server, unique_org};
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use dashboard_service::pb::folder_service_client::FolderServiceClient;
use dashboard_service::pb::grantee::Kind;
use dashboard_service::pb::watch_dashboards_response::Type;
use tonic::Code;
use tonic::transport::Channel;

const EVENT_WAIT: Duration = Duration::from_secs(20);

async fn folders() -> FolderServiceClient<Channel> {
    FolderServiceClient::new(server().channel().await)
}

async fn create_folder(caller: &Caller, title: &str, parent: &str, inherit: bool) -> pb::Folder {
    folders()
        .await
        .create_folder(caller.req(pb::CreateFolderRequest {
            folder: Some(pb::Folder {
                title: title.into(),
                parent: parent.into(),
                inherit_access: Some(inherit),
                ..Default::default()
            }),
        }))
        .await
        .expect("create folder")
        .into_inner()
}

async fn set_inherit(caller: &Caller, folder: &str, inherit: bool) {
    folders()
        .await
        .update_folder(caller.req(pb::UpdateFolderRequest {
            folder: Some(pb::Folder {
                name: folder.into(),
                inherit_access: Some(inherit),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["inherit_access".into()],
            }),
        }))
        .await
        .expect("update inherit_access");
}

async fn create_in(caller: &mut Caller, title: &str, folder: &str) -> String {
    let request = caller.req(pb::CreateDashboardRequest {
        dashboard: Some(pb::Dashboard {
            title: title.into(),
            folder: folder.into(),
            ..Default::default()
        }),
        request_id: String::new(),
    });
    caller
        .dashboards
        .create_dashboard(request)
        .await
        .expect("create in folder")
        .into_inner()
        .name
}

async fn check(
    caller: &mut Caller,
    name: &str,
    principal: &str,
) -> Result<pb::CheckAccessResponse, tonic::Status> {
    let request = caller.req(pb::CheckAccessRequest {
        name: name.into(),
        permission: 0,
        principal: principal.into(),
    });
    caller
        .sharing
        .check_access(request)
        .await
        .map(|r| r.into_inner())
}

async fn readable(caller: &mut Caller, name: &str) -> bool {
    match caller.get(name).await {
        Ok(_) => true,
        Err(status) => {
            assert_error(&status, Code::NotFound, "NOT_FOUND");
            false
        }
    }
}

/// The names of every dashboard the caller lists.
async fn listed(caller: &mut Caller) -> Vec<String> {
    caller
        .list_all(pb::ListDashboardsRequest {
            page_size: 100,
            ..Default::default()
        })
        .await
        .into_iter()
        .map(|d| d.name)
        .collect()
}

/// (source, path) of each grant an explanation names, sorted.
fn sources(response: &pb::CheckAccessResponse) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<_> = response
        .grants
        .iter()
        .map(|g| (g.source.clone(), g.path.clone()))
        .collect();
    out.sort();
    out
}

async fn list_shares(
    caller: &mut Caller,
    parent: &str,
) -> Result<pb::ListSharesResponse, tonic::Status> {
    let request = caller.req(pb::ListSharesRequest {
        parent: parent.into(),
    });
    caller
        .sharing
        .list_shares(request)
        .await
        .map(|r| r.into_inner())
}

async fn revoke(caller: &mut Caller, share: &str) -> Result<(), tonic::Status> {
    let request = caller.req(pb::RevokeShareRequest { name: share.into() });
    caller.sharing.revoke_share(request).await.map(|_| ())
}

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

/// Managing a folder's shares: SHARE needed (inherited counts), roles within the granter's
/// own permissions, the last owner stays, tenant users within their tenant, another org's
/// folder does not exist; each change is an event on `folders/F/shares/S`.
#[tokio::test]
async fn folder_share_rules() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let mut bob = server().user(&org, "bob", PlatformRole::Author).await;
    let carol = server().user(&org, "carol", PlatformRole::Viewer).await;
    let mut tp = server()
        .tenant_user(&org, "tp", "t1", PlatformRole::PowerUser)
        .await;
    let mut admin = server().user(&org, "root", PlatformRole::Admin).await;
    let mut stranger = server()
        .user(&unique_org(), "mallory", PlatformRole::Admin)
        .await;

    let ops = create_folder(&alice, "Ops", "", true).await.name;
    let sub = create_folder(&alice, "Sub", &ops, true).await.name;
    let private = create_folder(&alice, "Private", &ops, false).await.name;
    let d = create_in(&mut alice, "pumps", &sub).await;

    // The creator owns the folder.
    let shares = list_shares(&mut alice, &ops).await.expect("list shares");
    assert_eq!(shares.users.len(), 1);
    let alice_owner = shares.users[0].clone();
    assert_eq!(alice_owner.role, "roles/owner");
    assert_eq!(
        alice_owner.grantee.as_ref().and_then(|g| g.kind.clone()),
        Some(Kind::User(alice.name()))
    );

    // No access: the folder does not exist for bob, nor for another org's ADMIN.
    let status = bob
        .share(&ops, Kind::User(carol.name()), "viewer")
        .await
        .unwrap_err();
    assert_error(&status, Code::NotFound, "NOT_FOUND");
    for status in [
        stranger
            .share(&ops, Kind::Everyone(true), "viewer")
            .await
            .unwrap_err(),
        list_shares(&mut stranger, &ops).await.unwrap_err(),
        check(&mut stranger, &ops, "").await.unwrap_err(),
        revoke(&mut stranger, &alice_owner.name).await.unwrap_err(),
    ] {
        assert_error(&status, Code::NotFound, "NOT_FOUND");
    }

    // READ without SHARE: PERMISSION_DENIED.
    alice.share_with(&ops, &bob, "viewer").await;
    let status = bob
        .share(&ops, Kind::User(carol.name()), "viewer")
        .await
        .unwrap_err();
    assert_error(&status, Code::PermissionDenied, "MISSING_PERMISSION");
    let status = list_shares(&mut bob, &ops).await.unwrap_err();
    assert_error(&status, Code::PermissionDenied, "MISSING_PERMISSION");

    // Contributor on the folder: shares it and the subfolder that inherits from it, only
    // with roles it holds, and not the private subfolder.
    let bobs = alice.share_with(&ops, &bob, "contributor").await;
    bob.share(&ops, Kind::User(carol.name()), "viewer")
        .await
        .expect("a contributor shares");
    bob.share(&sub, Kind::User(carol.name()), "editor")
        .await
        .expect("inherited SHARE counts");
    let status = bob
        .share(&ops, Kind::User(carol.name()), "owner")
        .await
        .unwrap_err();
    assert_error(&status, Code::PermissionDenied, "ROLE_EXCEEDS_GRANTER");
    let status = revoke(&mut bob, &alice_owner.name).await.unwrap_err();
    assert_error(&status, Code::PermissionDenied, "ROLE_EXCEEDS_GRANTER");
    let status = bob
        .share(&private, Kind::User(carol.name()), "viewer")
        .await
        .unwrap_err();
    assert_error(&status, Code::NotFound, "NOT_FOUND");

    // The last owner stays.
    let status = revoke(&mut alice, &alice_owner.name).await.unwrap_err();
    assert_error(&status, Code::FailedPrecondition, "LAST_OWNER");
    let status = alice
        .share(&ops, Kind::User(alice.name()), "editor")
        .await
        .unwrap_err();
    assert_error(&status, Code::FailedPrecondition, "LAST_OWNER");

    // Tenant users share within their tenant.
    alice.share_with(&ops, &tp, "contributor").await;
    let status = tp
        .share(&ops, Kind::OrgMembers(true), "viewer")
        .await
        .unwrap_err();
    assert_error(&status, Code::PermissionDenied, "OUTSIDE_TENANT");
    tp.share(&ops, Kind::Tenant("t1".into()), "viewer")
        .await
        .expect("its own tenant");

    // A share name must be well formed.
    let status = revoke(&mut alice, &format!("{ops}/shares"))
        .await
        .unwrap_err();
    assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");

    // ListMembers: on the folder, and on a dashboard below it through the folder's shares.
    let request = alice.req(pb::ListMembersRequest {
        name: d.clone(),
        expand_groups: false,
    });
    let members = alice
        .sharing
        .list_members(request)
        .await
        .expect("members")
        .into_inner()
        .members;
    let bob_member = members
        .iter()
        .find(|m| m.user.as_ref().map(|u| u.name.as_str()) == Some(bob.name().as_str()))
        .expect("bob is a member through the folder");
    assert_eq!(bob_member.sources[0].share, bobs.name);
    let request = alice.req(pb::ListOwnersRequest { name: ops.clone() });
    let owners = alice
        .sharing
        .list_owners(request)
        .await
        .expect("owners")
        .into_inner()
        .owners;
    assert_eq!(
        owners.iter().map(|u| u.name.clone()).collect::<Vec<_>>(),
        vec![alice.name()]
    );

    // Revoking bob's share takes SHARE away from him at once.
    revoke(&mut alice, &bobs.name).await.expect("revoke");
    let status = bob
        .share(&sub, Kind::User(carol.name()), "viewer")
        .await
        .unwrap_err();
    assert_error(&status, Code::NotFound, "NOT_FOUND");

    // The events: on the share's name, belonging to no dashboard.
    let request = admin.req(pb::ListEventsRequest {
        page_size: 1000,
        filter: "type = SHARE_GRANTED OR type = SHARE_CHANGED OR type = SHARE_REVOKED".into(),
        ..Default::default()
    });
    let events = admin
        .audit
        .list_events(request)
        .await
        .expect("events")
        .into_inner()
        .events;
    let on_bobs: Vec<(String, String, String)> = events
        .iter()
        .filter(|e| e.resource == bobs.name)
        .map(|e| (e.r#type.clone(), e.dashboard.clone(), e.grantee.clone()))
        .collect();
    let mut kinds: Vec<&str> = on_bobs.iter().map(|(t, _, _)| t.as_str()).collect();
    kinds.sort();
    assert_eq!(
        kinds,
        vec!["SHARE_CHANGED", "SHARE_GRANTED", "SHARE_REVOKED"]
    );
    assert!(
        on_bobs
            .iter()
            .all(|(_, dashboard, grantee)| dashboard.is_empty() && *grantee == bob.name())
    );
    // Alice holds SHARE on the folder: she sees its share events too.
    let request = alice.req(pb::ListEventsRequest {
        page_size: 1000,
        filter: "type = SHARE_REVOKED".into(),
        ..Default::default()
    });
    let hers = alice
        .audit
        .list_events(request)
        .await
        .expect("events")
        .into_inner()
        .events;
    assert!(hers.iter().any(|e| e.resource == bobs.name));
}

/// Adding a member to a group gives what the group holds, on folders too: an AUTHOR may not
/// join (or add anyone to) a group that owns a folder it does not own; deleting the group
/// revokes its folder shares.
#[tokio::test]
async fn group_join_rule_with_a_folder_owning_group() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let mut bob = server().user(&org, "bob", PlatformRole::Author).await;
    let carol = server().user(&org, "carol", PlatformRole::Viewer).await;

    let ops = create_folder(&alice, "Ops", "", true).await.name;
    let d = create_in(&mut alice, "pumps", &ops).await;
    let group = bob.group("bob's", &[]).await;
    let held = alice
        .share(&ops, Kind::Group(group.name.clone()), "owner")
        .await
        .expect("share the folder with the group");

    let add = |caller: &Caller, member: &Caller| {
        caller.req(pb::AddGroupMemberRequest {
            group: group.name.clone(),
            user: member.name(),
        })
    };
    let request = add(&bob, &bob);
    let status = bob.directory.add_group_member(request).await.unwrap_err();
    assert_error(
        &status,
        Code::PermissionDenied,
        "GROUP_GRANTS_EXCEED_CALLER",
    );
    let request = add(&bob, &carol);
    let status = bob.directory.add_group_member(request).await.unwrap_err();
    assert_error(
        &status,
        Code::PermissionDenied,
        "GROUP_GRANTS_EXCEED_CALLER",
    );
    assert!(!readable(&mut bob, &d).await);

    // Once bob owns the folder himself, he may.
    alice.share_with(&ops, &bob, "owner").await;
    let request = add(&bob, &carol);
    bob.directory
        .add_group_member(request)
        .await
        .expect("bob holds what the group holds");

    // Deleting the group revokes its share on the folder, with its event.
    let request = bob.req(pb::DeleteGroupRequest {
        name: group.name.clone(),
        etag: String::new(),
    });
    bob.directory
        .delete_group(request)
        .await
        .expect("delete group");
    let shares = list_shares(&mut alice, &ops).await.expect("shares");
    assert!(shares.groups.is_empty());
    let request = alice.req(pb::ListEventsRequest {
        page_size: 1000,
        filter: "type = SHARE_REVOKED".into(),
        ..Default::default()
    });
    let events = alice
        .audit
        .list_events(request)
        .await
        .expect("events")
        .into_inner()
        .events;
    assert!(events.iter().any(|e| e.resource == held.name));
}

/// The next event that is not a BOOKMARK, as (type, dashboard name).
async fn next(stream: &mut tonic::codec::Streaming<pb::WatchDashboardsResponse>) -> (Type, String) {
    loop {
        let event = tokio::time::timeout(EVENT_WAIT, stream.message())
            .await
            .expect("an event within the wait")
            .expect("the stream goes on")
            .expect("the stream is open");
        if event.r#type() == Type::Bookmark {
            continue;
        }
        return (
            event.r#type(),
            event.dashboard.map(|d| d.name).unwrap_or_default(),
        );
    }
}

/// A share on a folder changes what a watcher sees of every dashboard under it: ADDED when
/// granted, REMOVED when revoked.
#[tokio::test]
async fn a_watcher_sees_folder_shares_come_and_go() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let mut bob = server().user(&org, "bob", PlatformRole::Viewer).await;
    let ops = create_folder(&alice, "Ops", "", true).await.name;
    let team = create_folder(&alice, "Team", &ops, true).await.name;
    let d1 = create_in(&mut alice, "pumps", &ops).await;
    let d2 = create_in(&mut alice, "valves", &team).await;

    let mut stream = bob.watch(0, "").await.expect("watch");
    let share = alice.share_with(&ops, &bob, "viewer").await;
    let mut added = vec![next(&mut stream).await, next(&mut stream).await];
    added.sort();
    let mut expected = vec![(Type::Added, d1.clone()), (Type::Added, d2.clone())];
    expected.sort();
    assert_eq!(added, expected);

    // Trashing the folder removes both, restoring it adds them back, once each: the next
    // event after them is the retitle.
    folders()
        .await
        .delete_folder(alice.req(pb::DeleteFolderRequest {
            name: ops.clone(),
            etag: String::new(),
        }))
        .await
        .expect("trash the folder");
    let mut removed = vec![next(&mut stream).await, next(&mut stream).await];
    removed.sort();
    let mut gone = vec![(Type::Removed, d1.clone()), (Type::Removed, d2.clone())];
    gone.sort();
    assert_eq!(removed, gone);
    folders()
        .await
        .undelete_folder(alice.req(pb::UndeleteFolderRequest { name: ops.clone() }))
        .await
        .expect("restore the folder");
    let mut back = vec![next(&mut stream).await, next(&mut stream).await];
    back.sort();
    assert_eq!(back, expected);
    alice.retitle(&d1, "pumps 2").await;
    assert_eq!(next(&mut stream).await, (Type::Modified, d1.clone()));

    revoke(&mut alice, &share.name).await.expect("revoke");
    let mut removed = vec![next(&mut stream).await, next(&mut stream).await];
    removed.sort();
    assert_eq!(removed, gone);
}
