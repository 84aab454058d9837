//! Managing a folder's shares: the rules (SHARE, ROLE_EXCEEDS_GRANTER, LAST_OWNER, tenant
//! scopes, org walls), decided under the folder's lock; their events; the group-join rule
//! with folder shares; what a watcher sees when a folder share comes and goes.

mod common;
#[path = "folder_sharing/helpers.rs"]
mod helpers;

use common::{Caller, assert_error, server, unique_org};
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use dashboard_service::pb::grantee::Kind;
use dashboard_service::pb::watch_dashboards_response::Type;
use helpers::*;
use tonic::Code;

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

    // A folder in the trash keeps its shares as they are until it is restored.
    folders()
        .await
        .delete_folder(alice.req(pb::DeleteFolderRequest {
            name: private.clone(),
            etag: String::new(),
        }))
        .await
        .expect("trash the private folder");
    let status = alice
        .share(&private, Kind::User(carol.name()), "viewer")
        .await
        .unwrap_err();
    assert_error(&status, Code::FailedPrecondition, "FOLDER_DELETED");
    let owners = list_shares(&mut alice, &private).await.expect("shares");
    assert_eq!(owners.users.len(), 1);
    let status = revoke(&mut alice, &owners.users[0].name).await.unwrap_err();
    assert_error(&status, Code::FailedPrecondition, "FOLDER_DELETED");
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
    // Bob's own dashboard: its retitles mark where the stream is (events come in order).
    let mark = {
        let other = create_folder(&alice, "Other", "", true).await.name;
        let d = create_in(&mut alice, "mark", &other).await;
        alice.share_with(&d, &bob, "viewer").await;
        d
    };

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
    // The re-list of the trash revision is done once a later event arrives: restore only
    // then, so it does not see the restored folder.
    alice.retitle(&mark, "mark 2").await;
    assert_eq!(next(&mut stream).await, (Type::Modified, mark.clone()));
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

/// Folder changes that change many dashboards' access at once reach a watcher too: a cut
/// (inherit_access false) removes what is below it, restoring inheritance adds it back, and
/// a folder moved under a shared folder brings its dashboards.
#[tokio::test]
async fn a_watcher_follows_cuts_and_moves() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let mut bob = server().user(&org, "bob", PlatformRole::Viewer).await;
    let ops = create_folder(&alice, "Ops", "", true).await.name;
    let sub = create_folder(&alice, "Sub", &ops, true).await.name;
    let elsewhere = create_folder(&alice, "Elsewhere", "", true).await.name;
    let d1 = create_in(&mut alice, "pumps", &sub).await;
    let d2 = create_in(&mut alice, "valves", &elsewhere).await;
    alice.share_with(&ops, &bob, "viewer").await;

    let mut stream = bob.watch(0, "").await.expect("watch");
    set_inherit(&alice, &sub, false).await;
    assert_eq!(next(&mut stream).await, (Type::Removed, d1.clone()));
    set_inherit(&alice, &sub, true).await;
    assert_eq!(next(&mut stream).await, (Type::Added, d1.clone()));
    folders()
        .await
        .move_folder(alice.req(pb::MoveFolderRequest {
            name: elsewhere.clone(),
            parent: ops.clone(),
            validate_only: false,
        }))
        .await
        .expect("move the folder under the shared one");
    assert_eq!(next(&mut stream).await, (Type::Added, d2.clone()));
    // A new title changes no one's access: the next event is the retitle that follows.
    folders()
        .await
        .update_folder(alice.req(pb::UpdateFolderRequest {
            folder: Some(pb::Folder {
                name: sub.clone(),
                title: "Sub 2".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["title".into()],
            }),
        }))
        .await
        .expect("retitle the folder");
    alice.retitle(&d2, "valves 2").await;
    assert_eq!(next(&mut stream).await, (Type::Modified, d2));
}
