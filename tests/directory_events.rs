//! DirectoryService's writes and just-in-time user recording append their events to the
//! change log (DESIGN §7): the right type, actor, resource and grantee, at the revision the
//! response's `x-dashboards-revision` reports. Directory events belong to no dashboard, so
//! only ADMINs see them; a read by a user already recorded appends nothing.

mod common;

use std::time::Duration;

use common::{Caller, revision_of, server, unique_org, with_token};
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use dashboard_service::pb::audit_service_client::AuditServiceClient;
use dashboard_service::server::auth::{JwtOptions, KeyMaterial, Minter, TokenRequest};
use tonic::transport::Channel;

async fn audit() -> AuditServiceClient<Channel> {
    AuditServiceClient::new(server().channel().await)
}

/// Every event `caller` sees that matches `filter`, newest first, and the org's revision.
async fn events(caller: &Caller, filter: &str) -> (Vec<pb::Event>, i64) {
    let mut client = audit().await;
    let mut all = Vec::new();
    let mut token = String::new();
    let mut revision = None;
    loop {
        let page = client
            .list_events(caller.req(pb::ListEventsRequest {
                page_size: 100,
                page_token: token.clone(),
                filter: filter.to_string(),
            }))
            .await
            .expect("list events")
            .into_inner();
        revision.get_or_insert(page.revision);
        all.extend(page.events);
        if page.next_page_token.is_empty() {
            return (all, revision.unwrap_or_default());
        }
        token = page.next_page_token;
    }
}

/// The events of one revision matching `filter`, in the order written.
async fn at(admin: &Caller, filter: &str, revision: i64) -> Vec<pb::Event> {
    let (mut found, _) = events(admin, filter).await;
    found.retain(|e| e.revision == revision);
    found.reverse();
    found
}

#[track_caller]
fn check(event: &pb::Event, r#type: &str, actor: &Caller, resource: &str) {
    assert_eq!(event.r#type, r#type, "{event:?}");
    assert_eq!(event.actor, actor.name(), "{event:?}");
    assert_eq!(event.resource, resource, "{event:?}");
    assert_eq!(
        event.dashboard, "",
        "a directory event belongs to no dashboard"
    );
}

fn mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask {
        paths: paths.iter().map(|p| p.to_string()).collect(),
    })
}

#[tokio::test]
async fn every_directory_write_appends_its_events() {
    let s = server();
    let org = unique_org();
    let mut admin = s.user(&org, "admin", PlatformRole::Admin).await;
    let mut author = s.user(&org, "author", PlatformRole::Author).await;
    let bob = s.user(&org, "bob", PlatformRole::Viewer).await;
    let carol = s.user(&org, "carol", PlatformRole::Viewer).await;

    // UpsertUser.
    let response = admin
        .directory
        .upsert_user(admin.req(pb::UpsertUserRequest {
            user: Some(pb::User {
                name: "users/dave".into(),
                display_name: "Dave".into(),
                role: pb::PlatformRole::Viewer as i32,
                ..Default::default()
            }),
        }))
        .await
        .expect("upsert user");
    let rev = revision_of(&response);
    let found = at(&admin, r#"resource = "users/dave""#, rev).await;
    assert_eq!(found.len(), 1, "{found:?}");
    check(&found[0], "USER_UPSERTED", &admin, "users/dave");
    let mut last = rev;

    // CreateGroup with a member: the group and one event per member, in one revision.
    let response = author
        .directory
        .create_group(author.req(pb::CreateGroupRequest {
            group: Some(pb::Group {
                display_name: "Ops".into(),
                kind: pb::GroupKind::Org as i32,
                ..Default::default()
            }),
            members: vec![bob.name()],
        }))
        .await
        .expect("create group");
    let rev = revision_of(&response);
    assert!(rev > last);
    last = rev;
    let group = response.into_inner();
    let filter = format!("resource = {:?}", group.name);
    let found = at(&admin, &filter, rev).await;
    assert_eq!(found.len(), 2, "{found:?}");
    check(&found[0], "GROUP_CREATED", &author, &group.name);
    check(&found[1], "GROUP_MEMBER_ADDED", &author, &group.name);
    assert_eq!(found[1].grantee, bob.name());

    // UpdateGroup: the mask's fields.
    let response = author
        .directory
        .update_group(author.req(pb::UpdateGroupRequest {
            group: Some(pb::Group {
                name: group.name.clone(),
                display_name: "Operations".into(),
                ..Default::default()
            }),
            update_mask: mask(&["display_name"]),
        }))
        .await
        .expect("update group");
    let rev = revision_of(&response);
    assert!(rev > last);
    last = rev;
    let found = at(&admin, &filter, rev).await;
    assert_eq!(found.len(), 1, "{found:?}");
    check(&found[0], "GROUP_UPDATED", &author, &group.name);
    assert_eq!(found[0].changed_fields, vec!["display_name".to_string()]);

    // AddGroupMember, then again: the second changes nothing and commits no revision.
    let add = |caller: &Caller| {
        caller.req(pb::AddGroupMemberRequest {
            group: group.name.clone(),
            user: carol.name(),
        })
    };
    let response = author
        .directory
        .add_group_member(add(&author))
        .await
        .expect("add member");
    let rev = revision_of(&response);
    assert!(rev > last);
    last = rev;
    let found = at(&admin, &filter, rev).await;
    assert_eq!(found.len(), 1, "{found:?}");
    check(&found[0], "GROUP_MEMBER_ADDED", &author, &group.name);
    assert_eq!(found[0].grantee, carol.name());
    let again = author
        .directory
        .add_group_member(add(&author))
        .await
        .expect("add member again");
    assert!(again.metadata().get(common::REVISION_HEADER).is_none());
    let (_, now) = events(&admin, "").await;
    assert_eq!(now, last, "an idempotent add committed a revision");

    // RemoveGroupMember.
    let response = author
        .directory
        .remove_group_member(author.req(pb::RemoveGroupMemberRequest {
            group: group.name.clone(),
            user: carol.name(),
        }))
        .await
        .expect("remove member");
    let rev = revision_of(&response);
    assert!(rev > last);
    last = rev;
    let found = at(&admin, &filter, rev).await;
    assert_eq!(found.len(), 1, "{found:?}");
    check(&found[0], "GROUP_MEMBER_REMOVED", &author, &group.name);
    assert_eq!(found[0].grantee, carol.name());

    // Custom roles.
    let response = admin
        .directory
        .create_role(admin.req(pb::CreateRoleRequest {
            role: Some(pb::Role {
                display_name: "Reader".into(),
                permissions: vec![pb::Permission::Read as i32],
                ..Default::default()
            }),
        }))
        .await
        .expect("create role");
    let rev = revision_of(&response);
    assert!(rev > last);
    last = rev;
    let role = response.into_inner();
    let role_filter = format!("resource = {:?}", role.name);
    let found = at(&admin, &role_filter, rev).await;
    assert_eq!(found.len(), 1, "{found:?}");
    check(&found[0], "ROLE_CREATED", &admin, &role.name);

    let response = admin
        .directory
        .update_role(admin.req(pb::UpdateRoleRequest {
            role: Some(pb::Role {
                name: role.name.clone(),
                description: "reads".into(),
                permissions: vec![pb::Permission::Read as i32, pb::Permission::Write as i32],
                ..Default::default()
            }),
            update_mask: mask(&["description", "permissions"]),
        }))
        .await
        .expect("update role");
    let rev = revision_of(&response);
    assert!(rev > last);
    last = rev;
    let found = at(&admin, &role_filter, rev).await;
    assert_eq!(found.len(), 1, "{found:?}");
    check(&found[0], "ROLE_UPDATED", &admin, &role.name);
    assert_eq!(
        found[0].changed_fields,
        vec!["description".to_string(), "permissions".to_string()]
    );

    let response = admin
        .directory
        .delete_role(admin.req(pb::DeleteRoleRequest {
            name: role.name.clone(),
            etag: String::new(),
        }))
        .await
        .expect("delete role");
    let rev = revision_of(&response);
    assert!(rev > last);
    last = rev;
    let found = at(&admin, &role_filter, rev).await;
    assert_eq!(found.len(), 1, "{found:?}");
    check(&found[0], "ROLE_DELETED", &admin, &role.name);

    // DeleteGroup: the group, and the share it held revoked on its dashboard.
    let dashboard = admin.create("Shared with Ops").await;
    let share = admin
        .share(
            &dashboard.name,
            pb::grantee::Kind::Group(group.name.clone()),
            "roles/viewer",
        )
        .await
        .expect("share with the group");
    let response = author
        .directory
        .delete_group(author.req(pb::DeleteGroupRequest {
            name: group.name.clone(),
            etag: String::new(),
        }))
        .await
        .expect("delete group");
    let rev = revision_of(&response);
    assert!(rev > last);
    let found = at(&admin, &filter, rev).await;
    assert_eq!(found.len(), 1, "{found:?}");
    check(&found[0], "GROUP_DELETED", &author, &group.name);
    let revoked = at(&admin, &format!("resource = {:?}", share.name), rev).await;
    assert_eq!(revoked.len(), 1, "{revoked:?}");
    assert_eq!(revoked[0].r#type, "SHARE_REVOKED");
    assert_eq!(revoked[0].dashboard, dashboard.name);
    assert_eq!(revoked[0].grantee, group.name);
    assert_eq!(revoked[0].actor, author.name());

    // Directory events are for ADMINs only: the author who made them sees none.
    let (seen, _) = events(&author, &filter).await;
    assert!(
        seen.is_empty(),
        "a non-ADMIN sees directory events: {seen:?}"
    );
    let (seen, _) = events(&author, "").await;
    assert!(
        seen.iter().all(|e| !e.dashboard.is_empty()),
        "a non-ADMIN sees events of no dashboard: {seen:?}"
    );
}

#[tokio::test]
async fn a_recorded_user_reading_appends_nothing() {
    let s = server();
    let org = unique_org();
    let admin = s.user(&org, "admin", PlatformRole::Admin).await;
    let mut bob = s.user(&org, "bob", PlatformRole::Viewer).await;

    // Recording bob on his first call was a write of his own.
    let (found, before) = events(&admin, r#"resource = "users/bob""#).await;
    assert_eq!(found.len(), 1, "{found:?}");
    check(&found[0], "USER_UPSERTED", &bob, "users/bob");

    for _ in 0..3 {
        let response = bob
            .directory
            .get_user(bob.req(pb::GetUserRequest {
                name: "users/me".into(),
            }))
            .await
            .expect("get me");
        assert!(response.metadata().get(common::REVISION_HEADER).is_none());
        bob.list(pb::ListDashboardsRequest::default())
            .await
            .expect("list dashboards");
    }
    let (_, after) = events(&admin, "").await;
    assert_eq!(
        after, before,
        "reads by a recorded user bumped the revision"
    );

    // New claims are recorded again, by the user.
    let renamed = mint(&org, "bob", None, PlatformRole::Viewer, "Robert");
    bob.directory
        .get_user(with_token(
            pb::GetUserRequest {
                name: "users/me".into(),
            },
            &renamed,
        ))
        .await
        .expect("get me, renamed");
    let (found, now) = events(&admin, r#"resource = "users/bob""#).await;
    assert_eq!(now, after + 1);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0].revision, now);
    check(&found[0], "USER_UPSERTED", &bob, "users/bob");
}

#[tokio::test]
async fn moving_tenants_leaves_the_old_tenants_groups_in_the_same_write() {
    let s = server();
    let org = unique_org();
    let mut admin = s.user(&org, "admin", PlatformRole::Admin).await;
    let tina = s
        .tenant_user(&org, "tina", "t1", PlatformRole::PowerUser)
        .await;
    let tom = s
        .tenant_user(&org, "tom", "t1", PlatformRole::PowerUser)
        .await;
    let group = admin
        .directory
        .create_group(admin.req(pb::CreateGroupRequest {
            group: Some(pb::Group {
                display_name: "T1 crew".into(),
                kind: pb::GroupKind::Tenant as i32,
                tenant: "t1".into(),
                ..Default::default()
            }),
            members: vec![tina.name(), tom.name()],
        }))
        .await
        .expect("create tenant group")
        .into_inner();

    let moved = mint(&org, "tina", Some("t2"), PlatformRole::PowerUser, "tina");
    tina.directory
        .clone()
        .get_user(with_token(
            pb::GetUserRequest {
                name: "users/me".into(),
            },
            &moved,
        ))
        .await
        .expect("get me from t2");
    let (_, revision) = events(&admin, "").await;
    let found = at(&admin, r#"actor = "users/tina""#, revision).await;
    assert_eq!(found.len(), 2, "{found:?}");
    check(&found[0], "USER_UPSERTED", &tina, "users/tina");
    check(&found[1], "GROUP_MEMBER_REMOVED", &tina, &group.name);
    assert_eq!(found[1].grantee, tina.name());

    // An ADMIN moving a user: the same events, by the ADMIN, in the UpsertUser's revision.
    let response = admin
        .directory
        .upsert_user(admin.req(pb::UpsertUserRequest {
            user: Some(pb::User {
                name: tom.name(),
                role: pb::PlatformRole::PowerUser as i32,
                tenant: "t2".into(),
                ..Default::default()
            }),
        }))
        .await
        .expect("move tom");
    let rev = revision_of(&response);
    let found = at(&admin, r#"actor = "users/admin""#, rev).await;
    assert_eq!(found.len(), 2, "{found:?}");
    check(&found[0], "USER_UPSERTED", &admin, "users/tom");
    check(&found[1], "GROUP_MEMBER_REMOVED", &admin, &group.name);
    assert_eq!(found[1].grantee, tom.name());
}

fn mint(org: &str, sub: &str, tenant: Option<&str>, role: PlatformRole, name: &str) -> String {
    let options = JwtOptions {
        secret: Some(common::SECRET.into()),
        ..Default::default()
    };
    let keys = KeyMaterial::load(&options).expect("keys");
    Minter::new(&keys, &options)
        .expect("minter")
        .mint(&TokenRequest {
            sub: sub.into(),
            org: org.into(),
            tenant: tenant.map(str::to_string),
            role,
            email: Some(format!("{sub}@{org}.test")),
            name: Some(name.to_string()),
            ttl: Duration::from_secs(3600),
        })
        .expect("mint")
}
