//! DirectoryService: users, groups, custom roles, and how groups and roles feed into access.

mod common;

use std::collections::BTreeSet;

use common::{Caller, assert_error, server, unique_org, violated_fields};
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use pb::Permission as P;
use tonic::{Code, Status};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn ts(t: &Option<prost_types::Timestamp>) -> (i64, i32) {
    let t = t.as_ref().expect("timestamp is set");
    (t.seconds, t.nanos)
}

fn mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask {
        paths: paths.iter().map(|p| p.to_string()).collect(),
    })
}

fn user_msg(
    name: &str,
    email: &str,
    display: &str,
    role: pb::PlatformRole,
    tenant: &str,
) -> pb::User {
    pb::User {
        name: name.into(),
        email: email.into(),
        display_name: display.into(),
        role: role as i32,
        tenant: tenant.into(),
        ..Default::default()
    }
}

async fn upsert(caller: &mut Caller, user: pb::User) -> Result<pb::User, Status> {
    let request = caller.req(pb::UpsertUserRequest { user: Some(user) });
    caller
        .directory
        .upsert_user(request)
        .await
        .map(|r| r.into_inner())
}

async fn get_user(caller: &mut Caller, name: &str) -> Result<pb::User, Status> {
    let request = caller.req(pb::GetUserRequest { name: name.into() });
    caller
        .directory
        .get_user(request)
        .await
        .map(|r| r.into_inner())
}

async fn list_users(
    caller: &mut Caller,
    request: pb::ListUsersRequest,
) -> Result<pb::ListUsersResponse, Status> {
    let request = caller.req(request);
    caller
        .directory
        .list_users(request)
        .await
        .map(|r| r.into_inner())
}

/// The names of every user of a listing, following next_page_token.
async fn all_user_names(caller: &mut Caller, mut request: pb::ListUsersRequest) -> Vec<String> {
    let mut names = Vec::new();
    loop {
        let page = list_users(caller, request.clone())
            .await
            .expect("list users");
        names.extend(page.users.into_iter().map(|u| u.name));
        if page.next_page_token.is_empty() {
            return names;
        }
        request.page_token = page.next_page_token;
    }
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

fn set_of(names: Vec<String>) -> BTreeSet<String> {
    names.into_iter().collect()
}

fn group_msg(display: &str, kind: pb::GroupKind, tenant: &str) -> pb::Group {
    pb::Group {
        display_name: display.into(),
        kind: kind as i32,
        tenant: tenant.into(),
        ..Default::default()
    }
}

async fn create_group(
    caller: &mut Caller,
    group: pb::Group,
    members: &[String],
) -> Result<pb::Group, Status> {
    let request = caller.req(pb::CreateGroupRequest {
        group: Some(group),
        members: members.to_vec(),
    });
    caller
        .directory
        .create_group(request)
        .await
        .map(|r| r.into_inner())
}

async fn get_group(caller: &mut Caller, name: &str) -> Result<pb::Group, Status> {
    let request = caller.req(pb::GetGroupRequest { name: name.into() });
    caller
        .directory
        .get_group(request)
        .await
        .map(|r| r.into_inner())
}

async fn list_groups(
    caller: &mut Caller,
    request: pb::ListGroupsRequest,
) -> Result<pb::ListGroupsResponse, Status> {
    let request = caller.req(request);
    caller
        .directory
        .list_groups(request)
        .await
        .map(|r| r.into_inner())
}

async fn add_member(caller: &mut Caller, group: &str, user: &str) -> Result<pb::Group, Status> {
    let request = caller.req(pb::AddGroupMemberRequest {
        group: group.into(),
        user: user.into(),
    });
    caller
        .directory
        .add_group_member(request)
        .await
        .map(|r| r.into_inner())
}

async fn remove_member(caller: &mut Caller, group: &str, user: &str) -> Result<pb::Group, Status> {
    let request = caller.req(pb::RemoveGroupMemberRequest {
        group: group.into(),
        user: user.into(),
    });
    caller
        .directory
        .remove_group_member(request)
        .await
        .map(|r| r.into_inner())
}

async fn update_group(
    caller: &mut Caller,
    group: pb::Group,
    paths: &[&str],
) -> Result<pb::Group, Status> {
    let request = caller.req(pb::UpdateGroupRequest {
        group: Some(group),
        update_mask: mask(paths),
    });
    caller
        .directory
        .update_group(request)
        .await
        .map(|r| r.into_inner())
}

async fn delete_group(caller: &mut Caller, name: &str, etag: &str) -> Result<(), Status> {
    let request = caller.req(pb::DeleteGroupRequest {
        name: name.into(),
        etag: etag.into(),
    });
    caller.directory.delete_group(request).await.map(|_| ())
}

fn role_msg(display: &str, permissions: &[P]) -> pb::Role {
    pb::Role {
        display_name: display.into(),
        permissions: permissions.iter().map(|p| *p as i32).collect(),
        ..Default::default()
    }
}

async fn create_role(caller: &mut Caller, role: pb::Role) -> Result<pb::Role, Status> {
    let request = caller.req(pb::CreateRoleRequest { role: Some(role) });
    caller
        .directory
        .create_role(request)
        .await
        .map(|r| r.into_inner())
}

async fn get_role(caller: &mut Caller, name: &str) -> Result<pb::Role, Status> {
    let request = caller.req(pb::GetRoleRequest { name: name.into() });
    caller
        .directory
        .get_role(request)
        .await
        .map(|r| r.into_inner())
}

async fn list_roles(caller: &mut Caller) -> Vec<pb::Role> {
    let request = caller.req(pb::ListRolesRequest {});
    caller
        .directory
        .list_roles(request)
        .await
        .expect("list roles")
        .into_inner()
        .roles
}

async fn update_role(
    caller: &mut Caller,
    role: pb::Role,
    paths: &[&str],
) -> Result<pb::Role, Status> {
    let request = caller.req(pb::UpdateRoleRequest {
        role: Some(role),
        update_mask: mask(paths),
    });
    caller
        .directory
        .update_role(request)
        .await
        .map(|r| r.into_inner())
}

async fn delete_role(caller: &mut Caller, name: &str) -> Result<(), Status> {
    let request = caller.req(pb::DeleteRoleRequest {
        name: name.into(),
        etag: String::new(),
    });
    caller.directory.delete_role(request).await.map(|_| ())
}

async fn list_shares(
    caller: &mut Caller,
    dashboard: &str,
) -> Result<pb::ListSharesResponse, Status> {
    let request = caller.req(pb::ListSharesRequest {
        parent: dashboard.into(),
    });
    caller
        .sharing
        .list_shares(request)
        .await
        .map(|r| r.into_inner())
}

async fn revoke(caller: &mut Caller, share: &str) {
    let request = caller.req(pb::RevokeShareRequest { name: share.into() });
    caller.sharing.revoke_share(request).await.expect("revoke");
}

/// CheckAccess for `principal` (empty: the caller).
async fn check_access(
    caller: &mut Caller,
    dashboard: &str,
    principal: &str,
) -> Result<pb::CheckAccessResponse, Status> {
    let request = caller.req(pb::CheckAccessRequest {
        name: dashboard.into(),
        permission: 0,
        principal: principal.into(),
    });
    caller
        .sharing
        .check_access(request)
        .await
        .map(|r| r.into_inner())
}

async fn retitle(
    caller: &mut Caller,
    dashboard: &str,
    title: &str,
) -> Result<pb::Dashboard, Status> {
    let request = caller.req(pb::UpdateDashboardRequest {
        version_message: String::new(),
        dashboard: Some(pb::Dashboard {
            name: dashboard.into(),
            title: title.into(),
            ..Default::default()
        }),
        update_mask: mask(&["title"]),
    });
    caller
        .dashboards
        .update_dashboard(request)
        .await
        .map(|r| r.into_inner())
}

fn perms(values: &[i32]) -> BTreeSet<i32> {
    values.iter().copied().collect()
}

fn perm_set(values: &[P]) -> BTreeSet<i32> {
    values.iter().map(|p| *p as i32).collect()
}

fn is_uuid_v7(id: &str) -> bool {
    uuid::Uuid::parse_str(id).is_ok_and(|u| u.get_version_num() == 7)
}

// ---------------------------------------------------------------------------------------------
// Users
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn get_user_me_is_the_caller_from_its_token() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let me = get_user(&mut alice, "users/me").await.unwrap();
    assert_eq!(me.name, "users/alice");
    assert_eq!(me.email, format!("alice@{org}.test"));
    assert_eq!(me.display_name, "alice");
    assert_eq!(me.role, pb::PlatformRole::Author as i32);
    assert_eq!(me.tenant, "");
    assert!(me.create_time.is_some() && me.update_time.is_some());
    // The same user under its own name.
    assert_eq!(get_user(&mut alice, "users/alice").await.unwrap(), me);

    let mut tina = server()
        .tenant_user(&org, "tina", "t1", PlatformRole::PowerUser)
        .await;
    let me = get_user(&mut tina, "users/me").await.unwrap();
    assert_eq!(me.name, "users/tina");
    assert_eq!(me.role, pb::PlatformRole::PowerUser as i32);
    assert_eq!(me.tenant, "t1");

    // A malformed name is INVALID_ARGUMENT naming the field.
    let err = get_user(&mut alice, "alice").await.unwrap_err();
    let details = assert_error(&err, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details), ["name"]);
}

#[tokio::test]
async fn admin_upsert_creates_then_replaces_a_user() {
    let org = unique_org();
    let mut root = server().user(&org, "root", PlatformRole::Admin).await;
    let created = upsert(
        &mut root,
        user_msg(
            "users/carol",
            "carol@example.com",
            "Carol",
            pb::PlatformRole::Viewer,
            "t1",
        ),
    )
    .await
    .unwrap();
    assert_eq!(created.name, "users/carol");
    assert_eq!(created.email, "carol@example.com");
    assert_eq!(created.display_name, "Carol");
    assert_eq!(created.role, pb::PlatformRole::Viewer as i32);
    assert_eq!(created.tenant, "t1");
    assert_eq!(ts(&created.create_time), ts(&created.update_time));
    assert_eq!(get_user(&mut root, "users/carol").await.unwrap(), created);

    let replaced = upsert(
        &mut root,
        user_msg(
            "users/carol",
            "carol@acme.io",
            "Carol Smith",
            pb::PlatformRole::Author,
            "",
        ),
    )
    .await
    .unwrap();
    assert_eq!(replaced.name, "users/carol");
    assert_eq!(replaced.email, "carol@acme.io");
    assert_eq!(replaced.display_name, "Carol Smith");
    assert_eq!(replaced.role, pb::PlatformRole::Author as i32);
    assert_eq!(replaced.tenant, "", "the tenant was replaced too");
    assert_eq!(
        ts(&replaced.create_time),
        ts(&created.create_time),
        "create_time kept"
    );
    assert!(
        ts(&replaced.update_time) > ts(&created.update_time),
        "update_time moves: {:?} then {:?}",
        created.update_time,
        replaced.update_time
    );
    assert_eq!(get_user(&mut root, "users/carol").await.unwrap(), replaced);

    // A VIEWER may be an org user or a tenant user; a POWER_USER with a tenant is fine.
    upsert(
        &mut root,
        user_msg("users/v", "", "", pb::PlatformRole::Viewer, ""),
    )
    .await
    .unwrap();
    let power = upsert(
        &mut root,
        user_msg(
            "users/p",
            "p@example.com",
            "P",
            pb::PlatformRole::PowerUser,
            "t9",
        ),
    )
    .await
    .unwrap();
    assert_eq!(power.tenant, "t9");
}

#[tokio::test]
async fn upsert_user_validates_role_tenant_and_email() {
    let org = unique_org();
    let mut root = server().user(&org, "root", PlatformRole::Admin).await;
    let cases: Vec<(pb::User, &str)> = vec![
        (
            user_msg(
                "users/p",
                "p@example.com",
                "P",
                pb::PlatformRole::PowerUser,
                "",
            ),
            "user.tenant",
        ),
        (
            user_msg(
                "users/a",
                "a@example.com",
                "A",
                pb::PlatformRole::Author,
                "t1",
            ),
            "user.tenant",
        ),
        (
            user_msg(
                "users/a",
                "a@example.com",
                "A",
                pb::PlatformRole::Admin,
                "t1",
            ),
            "user.tenant",
        ),
        (
            user_msg(
                "users/u",
                "u@example.com",
                "U",
                pb::PlatformRole::Unspecified,
                "",
            ),
            "user.role",
        ),
        (
            pb::User {
                role: 42,
                ..user_msg(
                    "users/u",
                    "u@example.com",
                    "U",
                    pb::PlatformRole::Viewer,
                    "",
                )
            },
            "user.role",
        ),
        (
            user_msg("users/u", "not-an-email", "U", pb::PlatformRole::Viewer, ""),
            "user.email",
        ),
        (
            user_msg(
                "bob",
                "bob@example.com",
                "Bob",
                pb::PlatformRole::Viewer,
                "",
            ),
            "user.name",
        ),
        (
            user_msg(
                "users/long",
                "long@example.com",
                &"n".repeat(201),
                pb::PlatformRole::Viewer,
                "",
            ),
            "user.display_name",
        ),
        (
            user_msg(
                "users/t",
                "t@example.com",
                "T",
                pb::PlatformRole::Viewer,
                "bad tenant!",
            ),
            "user.tenant",
        ),
    ];
    for (user, field) in cases {
        let err = upsert(&mut root, user.clone()).await.unwrap_err();
        let details = assert_error(&err, Code::InvalidArgument, "INVALID_ARGUMENT");
        assert_eq!(violated_fields(&details), [field], "for {user:?}");
    }
    // Nothing was created by the rejected calls.
    for name in ["users/p", "users/a", "users/u", "users/long", "users/t"] {
        let err = get_user(&mut root, name).await.unwrap_err();
        assert_error(&err, Code::NotFound, "NOT_FOUND");
    }
}

#[tokio::test]
async fn only_admins_upsert_users() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let err = upsert(
        &mut alice,
        user_msg(
            "users/bob",
            "bob@example.com",
            "Bob",
            pb::PlatformRole::Viewer,
            "",
        ),
    )
    .await
    .unwrap_err();
    assert_error(&err, Code::PermissionDenied, "ADMIN_REQUIRED");
    let err = get_user(&mut alice, "users/bob").await.unwrap_err();
    assert_error(&err, Code::NotFound, "NOT_FOUND");

    // Nor may a tenant POWER_USER, not even for itself.
    let mut tina = server()
        .tenant_user(&org, "tina", "t1", PlatformRole::PowerUser)
        .await;
    let err = upsert(
        &mut tina,
        user_msg(
            "users/tina",
            "tina@example.com",
            "Tina",
            pb::PlatformRole::PowerUser,
            "t1",
        ),
    )
    .await
    .unwrap_err();
    assert_error(&err, Code::PermissionDenied, "ADMIN_REQUIRED");
}

#[tokio::test]
async fn an_email_held_by_another_user_is_already_exists() {
    let org = unique_org();
    let mut root = server().user(&org, "root", PlatformRole::Admin).await;
    let _alice = server().user(&org, "alice", PlatformRole::Author).await;
    let err = upsert(
        &mut root,
        user_msg(
            "users/dave",
            &format!("alice@{org}.test"),
            "Dave",
            pb::PlatformRole::Viewer,
            "",
        ),
    )
    .await
    .unwrap_err();
    assert_error(&err, Code::AlreadyExists, "EMAIL_TAKEN");
    let err = get_user(&mut root, "users/dave").await.unwrap_err();
    assert_error(&err, Code::NotFound, "NOT_FOUND");

    // The holder itself may keep (re-upsert) its own email.
    let alice = upsert(
        &mut root,
        user_msg(
            "users/alice",
            &format!("alice@{org}.test"),
            "Alice",
            pb::PlatformRole::Author,
            "",
        ),
    )
    .await
    .unwrap();
    assert_eq!(alice.display_name, "Alice");

    // The same email in another org is no conflict: orgs are walls.
    let mut other_root = server()
        .user(&unique_org(), "root", PlatformRole::Admin)
        .await;
    upsert(
        &mut other_root,
        user_msg(
            "users/dave",
            &format!("alice@{org}.test"),
            "Dave",
            pb::PlatformRole::Viewer,
            "",
        ),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn unknown_and_other_org_users_are_not_found() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let err = get_user(&mut alice, "users/ghost").await.unwrap_err();
    assert_error(&err, Code::NotFound, "NOT_FOUND");

    let other = unique_org();
    let mut mallory = server().user(&other, "mallory", PlatformRole::Admin).await;
    let _ = get_user(&mut mallory, "users/me").await.unwrap();
    let err = get_user(&mut alice, "users/mallory").await.unwrap_err();
    assert_error(&err, Code::NotFound, "NOT_FOUND");
    // An ADMIN of the other org does not see alice either.
    let err = get_user(&mut mallory, "users/alice").await.unwrap_err();
    assert_error(&err, Code::NotFound, "NOT_FOUND");
    // And other orgs' users never show up in a listing.
    let names = all_user_names(&mut alice, pb::ListUsersRequest::default()).await;
    assert_eq!(names, ["users/alice"]);
}

#[tokio::test]
async fn tenant_users_see_org_users_and_their_own_tenant_only() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let mut tina = server()
        .tenant_user(&org, "tina", "t1", PlatformRole::Viewer)
        .await;
    let _tom = server()
        .tenant_user(&org, "tom", "t1", PlatformRole::PowerUser)
        .await;
    let _uma = server()
        .tenant_user(&org, "uma", "t2", PlatformRole::PowerUser)
        .await;

    assert_eq!(
        get_user(&mut tina, "users/alice").await.unwrap().name,
        "users/alice"
    );
    assert_eq!(get_user(&mut tina, "users/tom").await.unwrap().tenant, "t1");
    let err = get_user(&mut tina, "users/uma").await.unwrap_err();
    assert_error(&err, Code::NotFound, "NOT_FOUND");
    // Org users see everyone of the org.
    assert_eq!(
        get_user(&mut alice, "users/uma").await.unwrap().tenant,
        "t2"
    );
}

#[tokio::test]
async fn list_users_search_type_and_tenant_filters() {
    let org = unique_org();
    let mut root = server().user(&org, "root", PlatformRole::Admin).await;
    for user in [
        user_msg(
            "users/u1",
            "carol@example.com",
            "Carol Smith",
            pb::PlatformRole::Author,
            "",
        ),
        user_msg(
            "users/u2",
            "dave@SMITHS.io",
            "Dave",
            pb::PlatformRole::Viewer,
            "",
        ),
        user_msg(
            "users/u3",
            "erin@example.com",
            "Erin",
            pb::PlatformRole::Viewer,
            "t1",
        ),
        user_msg(
            "users/u4",
            "frank@example.com",
            "frank smithson",
            pb::PlatformRole::PowerUser,
            "t2",
        ),
        user_msg(
            "users/u5",
            "gina@example.com",
            "Gina_Lee",
            pb::PlatformRole::Viewer,
            "t1",
        ),
    ] {
        upsert(&mut root, user).await.unwrap();
    }
    let search = |s: &str| pb::ListUsersRequest {
        search: s.into(),
        ..Default::default()
    };
    // Case-insensitive substring of the display name or the email.
    assert_eq!(
        set_of(all_user_names(&mut root, search("SMITH")).await),
        set(&["users/u1", "users/u2", "users/u4"])
    );
    assert_eq!(
        set_of(all_user_names(&mut root, search("Example.COM")).await),
        set(&["users/u1", "users/u3", "users/u4", "users/u5"])
    );
    assert_eq!(
        set_of(all_user_names(&mut root, search("erin@")).await),
        set(&["users/u3"])
    );
    assert!(all_user_names(&mut root, search("nobody")).await.is_empty());
    // LIKE wildcards are literal characters.
    assert!(all_user_names(&mut root, search("%")).await.is_empty());
    assert_eq!(
        set_of(all_user_names(&mut root, search("a_l")).await),
        set(&["users/u5"])
    );

    let by_type = |t: pb::UserType| pb::ListUsersRequest {
        r#type: t as i32,
        ..Default::default()
    };
    assert_eq!(
        set_of(all_user_names(&mut root, by_type(pb::UserType::Org)).await),
        set(&["users/root", "users/u1", "users/u2"])
    );
    assert_eq!(
        set_of(all_user_names(&mut root, by_type(pb::UserType::Tenant)).await),
        set(&["users/u3", "users/u4", "users/u5"])
    );
    assert_eq!(
        set_of(all_user_names(&mut root, by_type(pb::UserType::Unspecified)).await),
        set(&[
            "users/root",
            "users/u1",
            "users/u2",
            "users/u3",
            "users/u4",
            "users/u5"
        ])
    );
    let t1 = pb::ListUsersRequest {
        tenant: "t1".into(),
        ..Default::default()
    };
    assert_eq!(
        set_of(all_user_names(&mut root, t1.clone()).await),
        set(&["users/u3", "users/u5"])
    );
    let t1_gin = pb::ListUsersRequest {
        search: "GIN".into(),
        ..t1.clone()
    };
    assert_eq!(all_user_names(&mut root, t1_gin).await, ["users/u5"]);
    let t1_org = pb::ListUsersRequest {
        r#type: pb::UserType::Org as i32,
        ..t1
    };
    assert!(all_user_names(&mut root, t1_org).await.is_empty());

    // The listed users carry their fields.
    let page = list_users(&mut root, search("frank")).await.unwrap();
    assert_eq!(page.users.len(), 1);
    let frank = &page.users[0];
    assert_eq!(frank.email, "frank@example.com");
    assert_eq!(frank.display_name, "frank smithson");
    assert_eq!(frank.role, pb::PlatformRole::PowerUser as i32);
    assert_eq!(frank.tenant, "t2");
    assert!(page.next_page_token.is_empty());

    // An unknown user type is INVALID_ARGUMENT.
    let err = list_users(
        &mut root,
        pb::ListUsersRequest {
            r#type: 9,
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    let details = assert_error(&err, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details), ["type"]);
}

#[tokio::test]
async fn list_users_pages_without_gaps_and_tokens_are_bound_to_the_query() {
    let org = unique_org();
    let mut root = server().user(&org, "root", PlatformRole::Admin).await;
    for i in 1..=5 {
        upsert(
            &mut root,
            user_msg(
                &format!("users/member{i}"),
                &format!("member{i}@example.com"),
                &format!("Member {i}"),
                pb::PlatformRole::Viewer,
                "",
            ),
        )
        .await
        .unwrap();
    }
    let mut request = pb::ListUsersRequest {
        page_size: 2,
        search: "member".into(),
        ..Default::default()
    };
    let mut seen = Vec::new();
    let mut pages = 0;
    let mut first_token = String::new();
    loop {
        let page = list_users(&mut root, request.clone()).await.unwrap();
        pages += 1;
        assert!(
            page.users.len() <= 2,
            "page {pages} has {}",
            page.users.len()
        );
        seen.extend(page.users.into_iter().map(|u| u.name));
        if page.next_page_token.is_empty() {
            break;
        }
        if first_token.is_empty() {
            first_token = page.next_page_token.clone();
        }
        request.page_token = page.next_page_token;
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!(pages, 3);
    let unique = set_of(seen.clone());
    assert_eq!(unique.len(), seen.len(), "a user was repeated: {seen:?}");
    assert_eq!(
        unique,
        set(&[
            "users/member1",
            "users/member2",
            "users/member3",
            "users/member4",
            "users/member5"
        ])
    );

    // The whole org in pages of 2 (root included).
    let everyone = all_user_names(
        &mut root,
        pb::ListUsersRequest {
            page_size: 2,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(everyone.len(), 6);
    assert_eq!(set_of(everyone).len(), 6);

    // A token replayed with a different query is INVALID_ARGUMENT.
    for changed in [
        pb::ListUsersRequest {
            page_size: 2,
            search: "member1".into(),
            page_token: first_token.clone(),
            ..Default::default()
        },
        pb::ListUsersRequest {
            page_size: 2,
            search: "member".into(),
            r#type: pb::UserType::Org as i32,
            page_token: first_token.clone(),
            ..Default::default()
        },
        pb::ListUsersRequest {
            page_size: 2,
            search: "member".into(),
            tenant: "t1".into(),
            page_token: first_token.clone(),
            ..Default::default()
        },
        pb::ListUsersRequest {
            page_size: 2,
            page_token: "not-a-token".into(),
            ..Default::default()
        },
    ] {
        let err = list_users(&mut root, changed.clone()).await.unwrap_err();
        let details = assert_error(&err, Code::InvalidArgument, "INVALID_ARGUMENT");
        assert_eq!(violated_fields(&details), ["page_token"], "for {changed:?}");
    }
    // The same query with a different page size may continue.
    let rest = list_users(
        &mut root,
        pb::ListUsersRequest {
            page_size: 10,
            search: "member".into(),
            page_token: first_token,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(rest.users.len(), 3);
    assert!(rest.next_page_token.is_empty());

    let err = list_users(
        &mut root,
        pb::ListUsersRequest {
            page_size: -1,
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    let details = assert_error(&err, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details), ["page_size"]);
}

#[tokio::test]
async fn a_tenant_callers_listing_never_shows_other_tenants() {
    let org = unique_org();
    let _alice = server().user(&org, "alice", PlatformRole::Author).await;
    let mut tina = server()
        .tenant_user(&org, "tina", "t1", PlatformRole::PowerUser)
        .await;
    let _tom = server()
        .tenant_user(&org, "tom", "t1", PlatformRole::Viewer)
        .await;
    let _uma = server()
        .tenant_user(&org, "uma", "t2", PlatformRole::PowerUser)
        .await;
    let _vic = server()
        .tenant_user(&org, "vic", "t2", PlatformRole::Viewer)
        .await;

    let all = all_user_names(&mut tina, pb::ListUsersRequest::default()).await;
    assert_eq!(
        set_of(all),
        set(&["users/alice", "users/tina", "users/tom"])
    );
    let paged = all_user_names(
        &mut tina,
        pb::ListUsersRequest {
            page_size: 1,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(paged.len(), 3, "{paged:?}");
    assert_eq!(
        set_of(paged),
        set(&["users/alice", "users/tina", "users/tom"])
    );
    let tenants = all_user_names(
        &mut tina,
        pb::ListUsersRequest {
            r#type: pb::UserType::Tenant as i32,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(set_of(tenants), set(&["users/tina", "users/tom"]));
    // Asking for the other tenant explicitly, or searching for its users, finds nothing.
    let other = all_user_names(
        &mut tina,
        pb::ListUsersRequest {
            tenant: "t2".into(),
            ..Default::default()
        },
    )
    .await;
    assert!(other.is_empty(), "{other:?}");
    let searched = all_user_names(
        &mut tina,
        pb::ListUsersRequest {
            search: "uma".into(),
            ..Default::default()
        },
    )
    .await;
    assert!(searched.is_empty(), "{searched:?}");
}

// ---------------------------------------------------------------------------------------------
// Groups
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_author_creates_an_org_group_with_members() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let mut bob = server().user(&org, "bob", PlatformRole::Viewer).await;
    let carol = server().user(&org, "carol", PlatformRole::Author).await;
    let mut group = group_msg("SRE", pb::GroupKind::Org, "");
    group.description = "Site reliability".into();
    // Output-only fields are ignored.
    group.name = "groups/mine".into();
    group.member_count = 99;
    let created = create_group(&mut alice, group, &[carol.name(), bob.name(), bob.name()])
        .await
        .unwrap();
    let id = created.name.strip_prefix("groups/").expect("groups/{id}");
    assert!(is_uuid_v7(id), "{}", created.name);
    assert_eq!(created.display_name, "SRE");
    assert_eq!(created.description, "Site reliability");
    assert_eq!(created.kind, pb::GroupKind::Org as i32);
    assert_eq!(created.tenant, "");
    assert_eq!(created.members, ["users/bob", "users/carol"]);
    assert_eq!(created.member_count, 2);
    assert!(!created.etag.is_empty());
    assert!(created.create_time.is_some());

    let fetched = get_group(&mut alice, &created.name).await.unwrap();
    assert_eq!(fetched, created);
    // Any org user of the org can read the group.
    assert_eq!(get_group(&mut bob, &created.name).await.unwrap(), created);

    // An ADMIN manages groups too; a group without members is fine.
    let mut root = server().user(&org, "root", PlatformRole::Admin).await;
    let empty = create_group(&mut root, group_msg("Empty", pb::GroupKind::Org, ""), &[])
        .await
        .unwrap();
    assert!(empty.members.is_empty());
    assert_eq!(empty.member_count, 0);

    // A tenant group of org-managed tenant users.
    let tina = server()
        .tenant_user(&org, "tina", "t1", PlatformRole::Viewer)
        .await;
    let tenant_group = create_group(
        &mut alice,
        group_msg("T1 team", pb::GroupKind::Tenant, "t1"),
        &[tina.name()],
    )
    .await
    .unwrap();
    assert_eq!(tenant_group.kind, pb::GroupKind::Tenant as i32);
    assert_eq!(tenant_group.tenant, "t1");
    assert_eq!(tenant_group.members, ["users/tina"]);
}

#[tokio::test]
async fn viewers_and_tenant_users_cannot_create_groups() {
    let org = unique_org();
    let mut viewer = server().user(&org, "victor", PlatformRole::Viewer).await;
    let err = create_group(&mut viewer, group_msg("Nope", pb::GroupKind::Org, ""), &[])
        .await
        .unwrap_err();
    assert_error(&err, Code::PermissionDenied, "ROLE_CANNOT_MANAGE_GROUPS");

    let mut power = server()
        .tenant_user(&org, "tina", "t1", PlatformRole::PowerUser)
        .await;
    for group in [
        group_msg("Mine", pb::GroupKind::Tenant, "t1"),
        group_msg("Org", pb::GroupKind::Org, ""),
    ] {
        let err = create_group(&mut power, group, &[]).await.unwrap_err();
        assert_error(&err, Code::PermissionDenied, "ROLE_CANNOT_MANAGE_GROUPS");
    }
    let mut tenant_viewer = server()
        .tenant_user(&org, "tom", "t1", PlatformRole::Viewer)
        .await;
    let err = create_group(
        &mut tenant_viewer,
        group_msg("Mine", pb::GroupKind::Tenant, "t1"),
        &[],
    )
    .await
    .unwrap_err();
    assert_error(&err, Code::PermissionDenied, "ROLE_CANNOT_MANAGE_GROUPS");

    // Nothing was created.
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let listed = list_groups(&mut alice, pb::ListGroupsRequest::default())
        .await
        .unwrap();
    assert!(listed.groups.is_empty(), "{listed:?}");
}

#[tokio::test]
async fn create_group_validates_its_fields_and_members() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let bob = server().user(&org, "bob", PlatformRole::Viewer).await;
    let tina = server()
        .tenant_user(&org, "tina", "t1", PlatformRole::Viewer)
        .await;
    let uma = server()
        .tenant_user(&org, "uma", "t2", PlatformRole::Viewer)
        .await;
    let stranger = server()
        .user(&unique_org(), "stranger", PlatformRole::Author)
        .await;

    let cases: Vec<(pb::Group, Vec<String>, &str)> = vec![
        (
            group_msg("", pb::GroupKind::Org, ""),
            vec![],
            "group.display_name",
        ),
        (
            group_msg("   ", pb::GroupKind::Org, ""),
            vec![],
            "group.display_name",
        ),
        (
            group_msg(&"x".repeat(201), pb::GroupKind::Org, ""),
            vec![],
            "group.display_name",
        ),
        (
            group_msg("No kind", pb::GroupKind::Unspecified, ""),
            vec![],
            "group.kind",
        ),
        (
            group_msg("No tenant", pb::GroupKind::Tenant, ""),
            vec![],
            "group.tenant",
        ),
        (
            group_msg("Org with tenant", pb::GroupKind::Org, "t1"),
            vec![],
            "group.tenant",
        ),
        (
            group_msg("Unknown member", pb::GroupKind::Org, ""),
            vec![bob.name(), "users/ghost".into()],
            "members[1]",
        ),
        (
            group_msg("Malformed member", pb::GroupKind::Org, ""),
            vec!["bob".into()],
            "members[0]",
        ),
        (
            group_msg("Other org member", pb::GroupKind::Org, ""),
            vec![bob.name(), bob.name(), stranger.name()],
            "members[2]",
        ),
        (
            group_msg("Cross-tenant", pb::GroupKind::Tenant, "t1"),
            vec![tina.name(), uma.name()],
            "members[1]",
        ),
        (
            group_msg("Org user in a tenant group", pb::GroupKind::Tenant, "t1"),
            vec![bob.name(), tina.name()],
            "members[0]",
        ),
    ];
    for (group, members, field) in cases {
        let err = create_group(&mut alice, group.clone(), &members)
            .await
            .unwrap_err();
        let details = assert_error(&err, Code::InvalidArgument, "INVALID_ARGUMENT");
        assert_eq!(
            violated_fields(&details),
            [field],
            "for {group:?} {members:?}"
        );
    }
    // A request without a group at all.
    let request = alice.req(pb::CreateGroupRequest {
        group: None,
        members: vec![],
    });
    let err = alice.directory.create_group(request).await.unwrap_err();
    let details = assert_error(&err, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details), ["group"]);

    // None of the invalid groups exist.
    let listed = list_groups(&mut alice, pb::ListGroupsRequest::default())
        .await
        .unwrap();
    assert!(listed.groups.is_empty(), "{listed:?}");
}

#[tokio::test]
async fn tenant_users_see_only_their_tenants_groups() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let mut tina = server()
        .tenant_user(&org, "tina", "t1", PlatformRole::PowerUser)
        .await;
    let uma = server()
        .tenant_user(&org, "uma", "t2", PlatformRole::Viewer)
        .await;
    let org_group = create_group(
        &mut alice,
        group_msg("Org folks", pb::GroupKind::Org, ""),
        &[],
    )
    .await
    .unwrap();
    let t1_group = create_group(
        &mut alice,
        group_msg("T1 folks", pb::GroupKind::Tenant, "t1"),
        &[tina.name()],
    )
    .await
    .unwrap();
    let t2_group = create_group(
        &mut alice,
        group_msg("T2 folks", pb::GroupKind::Tenant, "t2"),
        &[uma.name()],
    )
    .await
    .unwrap();

    assert_eq!(
        get_group(&mut tina, &t1_group.name).await.unwrap(),
        t1_group
    );
    for hidden in [&org_group.name, &t2_group.name] {
        let err = get_group(&mut tina, hidden).await.unwrap_err();
        assert_error(&err, Code::NotFound, "NOT_FOUND");
        let request = tina.req(pb::ListGroupMembersRequest {
            group: hidden.clone(),
            page_size: 0,
            page_token: String::new(),
        });
        let err = tina
            .directory
            .list_group_members(request)
            .await
            .unwrap_err();
        assert_error(&err, Code::NotFound, "NOT_FOUND");
    }
    let names = |r: pb::ListGroupsResponse| -> Vec<String> {
        r.groups.into_iter().map(|g| g.name).collect()
    };
    let all = list_groups(&mut tina, pb::ListGroupsRequest::default())
        .await
        .unwrap();
    assert_eq!(names(all), std::slice::from_ref(&t1_group.name));
    for request in [
        pb::ListGroupsRequest {
            kind: pb::GroupKind::Org as i32,
            ..Default::default()
        },
        pb::ListGroupsRequest {
            tenant: "t2".into(),
            ..Default::default()
        },
        pb::ListGroupsRequest {
            search: "folks".into(),
            kind: pb::GroupKind::Tenant as i32,
            tenant: "t2".into(),
            ..Default::default()
        },
    ] {
        let listed = list_groups(&mut tina, request.clone()).await.unwrap();
        assert!(listed.groups.is_empty(), "{request:?} -> {listed:?}");
    }
    let searched = list_groups(
        &mut tina,
        pb::ListGroupsRequest {
            search: "folks".into(),
            include_members: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(searched.groups.len(), 1);
    assert_eq!(searched.groups[0].name, t1_group.name);
    assert_eq!(searched.groups[0].members, ["users/tina"]);

    // Org users see every group.
    let all = list_groups(&mut alice, pb::ListGroupsRequest::default())
        .await
        .unwrap();
    assert_eq!(all.groups.len(), 3);
}

#[tokio::test]
async fn list_groups_search_kind_members_and_paging() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let bob = server().user(&org, "bob", PlatformRole::Viewer).await;
    let carol = server().user(&org, "carol", PlatformRole::Viewer).await;
    let tina = server()
        .tenant_user(&org, "tina", "t1", PlatformRole::Viewer)
        .await;
    let specs: Vec<(&str, pb::GroupKind, &str, Vec<String>)> = vec![
        ("Gamma", pb::GroupKind::Org, "", vec![]),
        (
            "Alpha Ops",
            pb::GroupKind::Org,
            "",
            vec![bob.name(), carol.name()],
        ),
        ("Same", pb::GroupKind::Org, "", vec![carol.name()]),
        ("Beta ops", pb::GroupKind::Org, "", vec![bob.name()]),
        ("Delta t1", pb::GroupKind::Tenant, "t1", vec![tina.name()]),
        ("Same", pb::GroupKind::Org, "", vec![]),
        ("Same", pb::GroupKind::Org, "", vec![bob.name()]),
    ];
    let mut created = Vec::new();
    for (display, kind, tenant, members) in specs {
        created.push(
            create_group(&mut alice, group_msg(display, kind, tenant), &members)
                .await
                .unwrap(),
        );
    }
    let display_names = |groups: &[pb::Group]| -> Vec<String> {
        groups.iter().map(|g| g.display_name.clone()).collect()
    };

    // Default listing: ordered by display name; members only on request, counts always.
    let all = list_groups(&mut alice, pb::ListGroupsRequest::default())
        .await
        .unwrap();
    assert_eq!(
        display_names(&all.groups),
        [
            "Alpha Ops",
            "Beta ops",
            "Delta t1",
            "Gamma",
            "Same",
            "Same",
            "Same"
        ]
    );
    assert!(all.next_page_token.is_empty());
    assert!(all.groups.iter().all(|g| g.members.is_empty()));
    let counts: Vec<i32> = all.groups.iter().map(|g| g.member_count).collect();
    assert_eq!(&counts[..4], [2, 1, 1, 0]);

    let with_members = list_groups(
        &mut alice,
        pb::ListGroupsRequest {
            include_members: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let alpha = &with_members.groups[0];
    assert_eq!(alpha.display_name, "Alpha Ops");
    assert_eq!(alpha.members, ["users/bob", "users/carol"]);
    assert_eq!(alpha.member_count, 2);
    assert_eq!(with_members.groups[2].members, ["users/tina"]);
    assert!(with_members.groups[3].members.is_empty());

    let search = list_groups(
        &mut alice,
        pb::ListGroupsRequest {
            search: "OPS".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(display_names(&search.groups), ["Alpha Ops", "Beta ops"]);

    let org_kind = list_groups(
        &mut alice,
        pb::ListGroupsRequest {
            kind: pb::GroupKind::Org as i32,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        display_names(&org_kind.groups),
        ["Alpha Ops", "Beta ops", "Gamma", "Same", "Same", "Same"]
    );
    let tenant_kind = list_groups(
        &mut alice,
        pb::ListGroupsRequest {
            kind: pb::GroupKind::Tenant as i32,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(display_names(&tenant_kind.groups), ["Delta t1"]);
    let t1 = list_groups(
        &mut alice,
        pb::ListGroupsRequest {
            tenant: "t1".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(display_names(&t1.groups), ["Delta t1"]);
    let t2 = list_groups(
        &mut alice,
        pb::ListGroupsRequest {
            tenant: "t2".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(t2.groups.is_empty());

    // Paging by display name (ties broken by id, and a tie straddles a page boundary):
    // no gaps, no repeats, same order.
    let mut request = pb::ListGroupsRequest {
        page_size: 2,
        include_members: true,
        ..Default::default()
    };
    let mut paged = Vec::new();
    let mut pages = 0;
    let mut first_token = String::new();
    loop {
        let page = list_groups(&mut alice, request.clone()).await.unwrap();
        pages += 1;
        assert!(page.groups.len() <= 2);
        paged.extend(page.groups);
        if page.next_page_token.is_empty() {
            break;
        }
        if first_token.is_empty() {
            first_token = page.next_page_token.clone();
        }
        request.page_token = page.next_page_token;
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!(pages, 4);
    assert_eq!(paged, with_members.groups);
    assert_eq!(
        set_of(paged.iter().map(|g| g.name.clone()).collect()).len(),
        7
    );

    // The token is bound to the query.
    let err = list_groups(
        &mut alice,
        pb::ListGroupsRequest {
            page_size: 2,
            search: "a".into(),
            page_token: first_token,
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    let details = assert_error(&err, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details), ["page_token"]);
    let err = list_groups(
        &mut alice,
        pb::ListGroupsRequest {
            page_size: -5,
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    let details = assert_error(&err, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details), ["page_size"]);
}

#[tokio::test]
async fn update_group_with_mask_and_etag() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let mut bob = server().user(&org, "bob", PlatformRole::Viewer).await;
    let mut group = group_msg("Old name", pb::GroupKind::Org, "");
    group.description = "Keep me".into();
    let created = create_group(&mut alice, group, &[bob.name()])
        .await
        .unwrap();

    let updated = update_group(
        &mut alice,
        pb::Group {
            name: created.name.clone(),
            display_name: "New name".into(),
            description: "ignored: not in the mask".into(),
            etag: created.etag.clone(),
            ..Default::default()
        },
        &["display_name"],
    )
    .await
    .unwrap();
    assert_eq!(updated.name, created.name);
    assert_eq!(updated.display_name, "New name");
    assert_eq!(updated.description, "Keep me");
    assert_eq!(updated.kind, pb::GroupKind::Org as i32);
    assert_eq!(updated.members, ["users/bob"]);
    assert_ne!(updated.etag, created.etag);
    assert_eq!(ts(&updated.create_time), ts(&created.create_time));
    assert!(ts(&updated.update_time) > ts(&created.update_time));
    assert_eq!(get_group(&mut alice, &created.name).await.unwrap(), updated);

    // A stale etag is ABORTED and changes nothing.
    let err = update_group(
        &mut alice,
        pb::Group {
            name: created.name.clone(),
            display_name: "Lost update".into(),
            etag: created.etag.clone(),
            ..Default::default()
        },
        &["display_name"],
    )
    .await
    .unwrap_err();
    assert_error(&err, Code::Aborted, "ETAG_MISMATCH");

    // Unknown or immutable mask paths are INVALID_ARGUMENT on update_mask (`members`
    // replaces the member set: tests/compat.rs).
    for path in ["kind", "tenant", "bogus"] {
        let err = update_group(
            &mut alice,
            pb::Group {
                name: created.name.clone(),
                display_name: "Whatever".into(),
                tenant: "t1".into(),
                ..Default::default()
            },
            &[path],
        )
        .await
        .unwrap_err();
        let details = assert_error(&err, Code::InvalidArgument, "INVALID_ARGUMENT");
        assert_eq!(violated_fields(&details), ["update_mask"], "for {path}");
    }
    // Clearing the display name is invalid.
    let err = update_group(
        &mut alice,
        pb::Group {
            name: created.name.clone(),
            ..Default::default()
        },
        &["display_name"],
    )
    .await
    .unwrap_err();
    let details = assert_error(&err, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details), ["group.display_name"]);

    // The description alone, without an etag.
    let described = update_group(
        &mut alice,
        pb::Group {
            name: created.name.clone(),
            description: "Changed".into(),
            ..Default::default()
        },
        &["description"],
    )
    .await
    .unwrap();
    assert_eq!(described.display_name, "New name");
    assert_eq!(described.description, "Changed");
    assert_eq!(
        get_group(&mut alice, &created.name).await.unwrap(),
        described
    );

    // A VIEWER cannot update; an unknown group is NOT_FOUND.
    let err = update_group(
        &mut bob,
        pb::Group {
            name: created.name.clone(),
            display_name: "Bob's".into(),
            ..Default::default()
        },
        &["display_name"],
    )
    .await
    .unwrap_err();
    assert_error(&err, Code::PermissionDenied, "ROLE_CANNOT_MANAGE_GROUPS");
    let err = update_group(
        &mut alice,
        pb::Group {
            name: "groups/0190aaaa-0000-7000-8000-000000000000".into(),
            display_name: "Ghost".into(),
            ..Default::default()
        },
        &["display_name"],
    )
    .await
    .unwrap_err();
    assert_error(&err, Code::NotFound, "NOT_FOUND");
}

#[tokio::test]
async fn add_and_remove_group_members() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let mut bob = server().user(&org, "bob", PlatformRole::Viewer).await;
    let carol = server().user(&org, "carol", PlatformRole::Viewer).await;
    let group = create_group(
        &mut alice,
        group_msg("Team", pb::GroupKind::Org, ""),
        &[bob.name()],
    )
    .await
    .unwrap();

    let added = add_member(&mut alice, &group.name, &carol.name())
        .await
        .unwrap();
    assert_eq!(added.members, ["users/bob", "users/carol"]);
    assert_eq!(added.member_count, 2);
    assert_ne!(added.etag, group.etag, "membership changes move the etag");
    // Adding an existing member changes nothing.
    let again = add_member(&mut alice, &group.name, &carol.name())
        .await
        .unwrap();
    assert_eq!(again.members, ["users/bob", "users/carol"]);
    assert_eq!(again.member_count, 2);

    let removed = remove_member(&mut alice, &group.name, &bob.name())
        .await
        .unwrap();
    assert_eq!(removed.members, ["users/carol"]);
    assert_eq!(removed.member_count, 1);
    assert_eq!(get_group(&mut alice, &group.name).await.unwrap(), removed);

    // Removing a non-member is NOT_FOUND.
    for user in [bob.name(), "users/ghost".to_string()] {
        let err = remove_member(&mut alice, &group.name, &user)
            .await
            .unwrap_err();
        assert_error(&err, Code::NotFound, "NOT_FOUND");
    }
    // Unknown groups are NOT_FOUND.
    let ghost = "groups/0190aaaa-0000-7000-8000-000000000000";
    let err = add_member(&mut alice, ghost, &bob.name())
        .await
        .unwrap_err();
    assert_error(&err, Code::NotFound, "NOT_FOUND");
    let err = remove_member(&mut alice, ghost, &carol.name())
        .await
        .unwrap_err();
    assert_error(&err, Code::NotFound, "NOT_FOUND");
    // Only group managers change membership.
    let bob_name = bob.name();
    let err = add_member(&mut bob, &group.name, &bob_name)
        .await
        .unwrap_err();
    assert_error(&err, Code::PermissionDenied, "ROLE_CANNOT_MANAGE_GROUPS");
    let err = remove_member(&mut bob, &group.name, &carol.name())
        .await
        .unwrap_err();
    assert_error(&err, Code::PermissionDenied, "ROLE_CANNOT_MANAGE_GROUPS");
    assert_eq!(
        get_group(&mut alice, &group.name).await.unwrap().members,
        ["users/carol"]
    );
}

/// AddGroupMember has one `user` field: violations must name it, not `user[0]`.
#[tokio::test]
async fn add_group_member_violations_name_the_user_field() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let bob = server().user(&org, "bob", PlatformRole::Viewer).await;
    let uma = server()
        .tenant_user(&org, "uma", "t2", PlatformRole::Viewer)
        .await;
    let org_group = create_group(&mut alice, group_msg("Team", pb::GroupKind::Org, ""), &[])
        .await
        .unwrap();
    let t1_group = create_group(
        &mut alice,
        group_msg("T1", pb::GroupKind::Tenant, "t1"),
        &[],
    )
    .await
    .unwrap();
    for (group, user) in [
        (&org_group.name, "users/ghost".to_string()),
        (&org_group.name, "bob".to_string()),
        (&t1_group.name, uma.name()),
        (&t1_group.name, bob.name()),
    ] {
        let err = add_member(&mut alice, group, &user).await.unwrap_err();
        let details = assert_error(&err, Code::InvalidArgument, "INVALID_ARGUMENT");
        assert_eq!(
            violated_fields(&details),
            ["user"],
            "adding {user} to {group}"
        );
    }
}

#[tokio::test]
async fn add_group_member_rejects_users_outside_the_group_scope() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let bob = server().user(&org, "bob", PlatformRole::Viewer).await;
    let tina = server()
        .tenant_user(&org, "tina", "t1", PlatformRole::Viewer)
        .await;
    let uma = server()
        .tenant_user(&org, "uma", "t2", PlatformRole::Viewer)
        .await;
    let stranger = server()
        .user(&unique_org(), "stranger", PlatformRole::Viewer)
        .await;
    let org_group = create_group(&mut alice, group_msg("Team", pb::GroupKind::Org, ""), &[])
        .await
        .unwrap();
    let t1_group = create_group(
        &mut alice,
        group_msg("T1", pb::GroupKind::Tenant, "t1"),
        &[],
    )
    .await
    .unwrap();
    for (group, user) in [
        (&org_group.name, "users/ghost".to_string()),
        (&org_group.name, stranger.name()),
        (&t1_group.name, uma.name()),
        (&t1_group.name, bob.name()),
    ] {
        let err = add_member(&mut alice, group, &user).await.unwrap_err();
        assert_error(&err, Code::InvalidArgument, "INVALID_ARGUMENT");
    }
    let t1 = add_member(&mut alice, &t1_group.name, &tina.name())
        .await
        .unwrap();
    assert_eq!(t1.members, ["users/tina"]);
    assert!(
        get_group(&mut alice, &org_group.name)
            .await
            .unwrap()
            .members
            .is_empty()
    );
}

#[tokio::test]
async fn list_group_members_pages_through_users() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let mut members = Vec::new();
    for i in 1..=5 {
        members.push(
            server()
                .user(&org, &format!("member{i}"), PlatformRole::Viewer)
                .await
                .name(),
        );
    }
    let group = create_group(
        &mut alice,
        group_msg("Five", pb::GroupKind::Org, ""),
        &members,
    )
    .await
    .unwrap();
    assert_eq!(group.member_count, 5);

    let mut request = pb::ListGroupMembersRequest {
        group: group.name.clone(),
        page_size: 2,
        page_token: String::new(),
    };
    let mut seen = Vec::new();
    let mut pages = 0;
    let mut first_token = String::new();
    loop {
        let call = alice.req(request.clone());
        let page = alice
            .directory
            .list_group_members(call)
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        assert!(page.members.len() <= 2);
        for user in &page.members {
            assert_eq!(
                user.email,
                format!("{}@{org}.test", &user.name["users/".len()..])
            );
            assert_eq!(user.role, pb::PlatformRole::Viewer as i32);
        }
        seen.extend(page.members.into_iter().map(|u| u.name));
        if page.next_page_token.is_empty() {
            break;
        }
        if first_token.is_empty() {
            first_token = page.next_page_token.clone();
        }
        request.page_token = page.next_page_token;
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 5, "{seen:?}");
    assert_eq!(set_of(seen), set_of(members));

    // A token of one group is not a token of another.
    let other = create_group(&mut alice, group_msg("Other", pb::GroupKind::Org, ""), &[])
        .await
        .unwrap();
    let call = alice.req(pb::ListGroupMembersRequest {
        group: other.name,
        page_size: 2,
        page_token: first_token,
    });
    let err = alice.directory.list_group_members(call).await.unwrap_err();
    let details = assert_error(&err, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details), ["page_token"]);
}

#[tokio::test]
async fn delete_group_removes_it_and_its_shares() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let mut carol = server().user(&org, "carol", PlatformRole::Viewer).await;
    let bob = server().user(&org, "bob", PlatformRole::Viewer).await;
    let group = create_group(
        &mut alice,
        group_msg("Readers", pb::GroupKind::Org, ""),
        &[carol.name()],
    )
    .await
    .unwrap();
    let dashboard = alice.create("Ops").await;
    alice
        .share(
            &dashboard.name,
            pb::grantee::Kind::Group(group.name.clone()),
            "roles/viewer",
        )
        .await
        .unwrap();
    alice
        .share_with(&dashboard.name, &bob, "roles/viewer")
        .await;
    assert_eq!(
        carol.get(&dashboard.name).await.unwrap().name,
        dashboard.name
    );
    let shares = list_shares(&mut alice, &dashboard.name).await.unwrap();
    assert_eq!(shares.groups.len(), 1);

    // A VIEWER cannot delete; a stale etag is ABORTED.
    let err = delete_group(&mut carol, &group.name, "").await.unwrap_err();
    assert_error(&err, Code::PermissionDenied, "ROLE_CANNOT_MANAGE_GROUPS");
    let renamed = update_group(
        &mut alice,
        pb::Group {
            name: group.name.clone(),
            display_name: "Readers!".into(),
            ..Default::default()
        },
        &["display_name"],
    )
    .await
    .unwrap();
    let err = delete_group(&mut alice, &group.name, &group.etag)
        .await
        .unwrap_err();
    assert_error(&err, Code::Aborted, "ETAG_MISMATCH");
    assert_eq!(
        carol.get(&dashboard.name).await.unwrap().name,
        dashboard.name
    );

    delete_group(&mut alice, &group.name, &renamed.etag)
        .await
        .unwrap();
    let err = get_group(&mut alice, &group.name).await.unwrap_err();
    assert_error(&err, Code::NotFound, "NOT_FOUND");
    let err = carol.get(&dashboard.name).await.unwrap_err();
    assert_error(&err, Code::NotFound, "NOT_FOUND");
    let shares = list_shares(&mut alice, &dashboard.name).await.unwrap();
    assert!(shares.groups.is_empty(), "{shares:?}");
    assert_eq!(
        shares.users.len(),
        2,
        "the owner's and bob's shares stay: {shares:?}"
    );
    let listed = list_groups(&mut alice, pb::ListGroupsRequest::default())
        .await
        .unwrap();
    assert!(listed.groups.is_empty());
    // Deleting again is NOT_FOUND.
    let err = delete_group(&mut alice, &group.name, "").await.unwrap_err();
    assert_error(&err, Code::NotFound, "NOT_FOUND");
}

#[tokio::test]
async fn group_membership_changes_apply_on_the_next_call() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let carol = server().user(&org, "carol", PlatformRole::Viewer).await;
    let mut bob = server().user(&org, "bob", PlatformRole::Viewer).await;
    let group = create_group(
        &mut alice,
        group_msg("Readers", pb::GroupKind::Org, ""),
        &[carol.name()],
    )
    .await
    .unwrap();
    let dashboard = alice.create("Ops").await;
    alice
        .share(
            &dashboard.name,
            pb::grantee::Kind::Group(group.name.clone()),
            "roles/viewer",
        )
        .await
        .unwrap();

    let err = bob.get(&dashboard.name).await.unwrap_err();
    assert_error(&err, Code::NotFound, "NOT_FOUND");

    add_member(&mut alice, &group.name, &bob.name())
        .await
        .unwrap();
    assert_eq!(bob.get(&dashboard.name).await.unwrap().title, "Ops");
    let access = check_access(&mut bob, &dashboard.name, "").await.unwrap();
    assert!(access.allowed);
    assert_eq!(perms(&access.permissions), perm_set(&[P::Read]));
    assert_eq!(access.grants.len(), 1);
    assert_eq!(access.grants[0].via_group, group.name);
    assert_eq!(access.grants[0].role, "roles/viewer");
    // Viewer via the group: reading yes, writing no.
    let err = retitle(&mut bob, &dashboard.name, "Mine")
        .await
        .unwrap_err();
    assert_error(&err, Code::PermissionDenied, "MISSING_PERMISSION");

    remove_member(&mut alice, &group.name, &bob.name())
        .await
        .unwrap();
    let err = bob.get(&dashboard.name).await.unwrap_err();
    assert_error(&err, Code::NotFound, "NOT_FOUND");
}

// ---------------------------------------------------------------------------------------------
// Roles
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn list_roles_starts_with_the_built_ins() {
    let org = unique_org();
    let mut root = server().user(&org, "root", PlatformRole::Admin).await;
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let editor = [P::Read, P::Write, P::ManageWidgets, P::UpdateLabels];
    let contributor = [
        P::Read,
        P::Write,
        P::ManageWidgets,
        P::UpdateLabels,
        P::Share,
    ];
    let owner = [
        P::Read,
        P::Write,
        P::ManageWidgets,
        P::UpdateLabels,
        P::Share,
        P::Delete,
    ];
    let expected: [(&str, &[P]); 4] = [
        ("roles/viewer", &[P::Read]),
        ("roles/editor", &editor),
        ("roles/contributor", &contributor),
        ("roles/owner", &owner),
    ];
    let check_builtins = |roles: &[pb::Role]| {
        for (role, (name, permissions)) in roles.iter().zip(expected.iter()) {
            assert_eq!(&role.name, name);
            assert!(role.built_in, "{name}");
            assert!(!role.display_name.is_empty());
            assert_eq!(perms(&role.permissions), perm_set(permissions), "{name}");
            assert_eq!(
                role.permissions.len(),
                permissions.len(),
                "{name}: no duplicates"
            );
        }
    };
    let roles = list_roles(&mut alice).await;
    assert_eq!(roles.len(), 4, "{roles:?}");
    check_builtins(&roles);

    let auditor = create_role(&mut root, role_msg("Auditor", &[P::Read, P::UpdateLabels]))
        .await
        .unwrap();
    let deleter = create_role(&mut root, role_msg("Janitor", &[P::Read, P::Delete]))
        .await
        .unwrap();
    let roles = list_roles(&mut alice).await;
    assert_eq!(roles.len(), 6, "{roles:?}");
    check_builtins(&roles);
    assert_eq!(
        set_of(roles[4..].iter().map(|r| r.name.clone()).collect()),
        set(&[&auditor.name, &deleter.name])
    );
    assert!(roles[4..].iter().all(|r| !r.built_in));
    let auditor_listed = roles.iter().find(|r| r.name == auditor.name).unwrap();
    assert_eq!(auditor_listed, &auditor);

    // Another org does not see these custom roles.
    let mut stranger = server()
        .user(&unique_org(), "stranger", PlatformRole::Admin)
        .await;
    assert_eq!(list_roles(&mut stranger).await.len(), 4);
}

#[tokio::test]
async fn get_role_accepts_names_and_aliases() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    for (input, name) in [
        ("roles/viewer", "roles/viewer"),
        ("roles/editor", "roles/editor"),
        ("roles/contributor", "roles/contributor"),
        ("roles/owner", "roles/owner"),
        ("readonly", "roles/viewer"),
        ("readwrite", "roles/editor"),
        ("admin", "roles/owner"),
        ("owner", "roles/owner"),
    ] {
        let role = get_role(&mut alice, input).await.unwrap();
        assert_eq!(role.name, name, "for {input}");
        assert!(role.built_in);
    }
    let readwrite = get_role(&mut alice, "readwrite").await.unwrap();
    assert_eq!(
        perms(&readwrite.permissions),
        perm_set(&[P::Read, P::Write, P::ManageWidgets, P::UpdateLabels])
    );
    let err = get_role(&mut alice, "roles/superuser").await.unwrap_err();
    assert_error(&err, Code::NotFound, "NOT_FOUND");
    let err = get_role(&mut alice, "").await.unwrap_err();
    let details = assert_error(&err, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details), ["name"]);
}

#[tokio::test]
async fn admins_create_custom_roles_and_others_cannot() {
    let org = unique_org();
    let mut root = server().user(&org, "root", PlatformRole::Admin).await;
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let mut role = role_msg("Labeler", &[P::UpdateLabels, P::Read]);
    role.description = "reads and labels".into();
    role.built_in = true; // output only
    let created = create_role(&mut root, role).await.unwrap();
    let id = created.name.strip_prefix("roles/").expect("roles/{id}");
    assert!(is_uuid_v7(id), "{}", created.name);
    assert_eq!(created.display_name, "Labeler");
    assert_eq!(created.description, "reads and labels");
    assert_eq!(
        perms(&created.permissions),
        perm_set(&[P::Read, P::UpdateLabels])
    );
    assert!(!created.built_in);
    assert!(!created.etag.is_empty());
    assert!(created.create_time.is_some());
    assert_eq!(get_role(&mut alice, &created.name).await.unwrap(), created);

    let err = create_role(&mut alice, role_msg("Mine", &[P::Read]))
        .await
        .unwrap_err();
    assert_error(&err, Code::PermissionDenied, "ADMIN_REQUIRED");
    let mut tina = server()
        .tenant_user(&org, "tina", "t1", PlatformRole::PowerUser)
        .await;
    let err = create_role(&mut tina, role_msg("Mine", &[P::Read]))
        .await
        .unwrap_err();
    assert_error(&err, Code::PermissionDenied, "ADMIN_REQUIRED");

    let cases: Vec<(pb::Role, &str)> = vec![
        (role_msg("Nothing", &[]), "role.permissions"),
        (
            role_msg("Unspecified", &[P::Unspecified]),
            "role.permissions[0]",
        ),
        (
            pb::Role {
                permissions: vec![P::Read as i32, 77],
                ..role_msg("Unknown", &[])
            },
            "role.permissions[1]",
        ),
        (role_msg("", &[P::Read]), "role.display_name"),
    ];
    for (role, field) in cases {
        let err = create_role(&mut root, role.clone()).await.unwrap_err();
        let details = assert_error(&err, Code::InvalidArgument, "INVALID_ARGUMENT");
        assert_eq!(violated_fields(&details), [field], "for {role:?}");
    }
    assert_eq!(
        list_roles(&mut root).await.len(),
        5,
        "only Labeler was created"
    );
}

#[tokio::test]
async fn a_custom_role_gives_exactly_its_permissions_and_follows_updates() {
    let org = unique_org();
    let mut root = server().user(&org, "root", PlatformRole::Admin).await;
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let mut bob = server().user(&org, "bob", PlatformRole::Author).await;
    let role = create_role(&mut root, role_msg("Labeler", &[P::Read, P::UpdateLabels]))
        .await
        .unwrap();
    let dashboard = alice.create("Ops").await;
    let share = alice.share_with(&dashboard.name, &bob, &role.name).await;
    assert_eq!(share.role, role.name);

    let explained = check_access(&mut alice, &dashboard.name, &bob.name())
        .await
        .unwrap();
    assert_eq!(explained.principal, "users/bob");
    assert!(explained.allowed);
    assert_eq!(
        perms(&explained.permissions),
        perm_set(&[P::Read, P::UpdateLabels])
    );
    assert_eq!(explained.grants.len(), 1);
    assert_eq!(explained.grants[0].role, role.name);
    assert_eq!(
        perms(&explained.grants[0].role_permissions),
        perm_set(&[P::Read, P::UpdateLabels])
    );
    let own = check_access(&mut bob, &dashboard.name, "").await.unwrap();
    assert_eq!(
        perms(&own.permissions),
        perm_set(&[P::Read, P::UpdateLabels])
    );

    assert_eq!(bob.get(&dashboard.name).await.unwrap().title, "Ops");
    let err = retitle(&mut bob, &dashboard.name, "Bob's")
        .await
        .unwrap_err();
    assert_error(&err, Code::PermissionDenied, "MISSING_PERMISSION");

    // Stale etag and bad masks change nothing.
    let err = update_role(
        &mut root,
        pb::Role {
            name: role.name.clone(),
            permissions: vec![P::Read as i32],
            etag: "stale".into(),
            ..Default::default()
        },
        &["permissions"],
    )
    .await
    .unwrap_err();
    assert_error(&err, Code::Aborted, "ETAG_MISMATCH");
    let err = update_role(
        &mut root,
        pb::Role {
            name: role.name.clone(),
            ..Default::default()
        },
        &["built_in"],
    )
    .await
    .unwrap_err();
    let details = assert_error(&err, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details), ["update_mask"]);
    let err = update_role(
        &mut root,
        pb::Role {
            name: role.name.clone(),
            ..Default::default()
        },
        &["permissions"],
    )
    .await
    .unwrap_err();
    let details = assert_error(&err, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details), ["role.permissions"]);
    // Only ADMINs change roles.
    let err = update_role(
        &mut alice,
        pb::Role {
            name: role.name.clone(),
            permissions: vec![P::Read as i32, P::Write as i32],
            ..Default::default()
        },
        &["permissions"],
    )
    .await
    .unwrap_err();
    assert_error(&err, Code::PermissionDenied, "ADMIN_REQUIRED");

    let updated = update_role(
        &mut root,
        pb::Role {
            name: role.name.clone(),
            display_name: "ignored".into(),
            permissions: vec![P::Read as i32, P::UpdateLabels as i32, P::Write as i32],
            etag: role.etag.clone(),
            ..Default::default()
        },
        &["permissions"],
    )
    .await
    .unwrap();
    assert_eq!(updated.display_name, "Labeler");
    assert_eq!(
        perms(&updated.permissions),
        perm_set(&[P::Read, P::UpdateLabels, P::Write])
    );
    assert_ne!(updated.etag, role.etag);
    assert_eq!(get_role(&mut bob, &role.name).await.unwrap(), updated);

    // The very next call of the grantee sees the new permission.
    let retitled = retitle(&mut bob, &dashboard.name, "Bob's").await.unwrap();
    assert_eq!(retitled.title, "Bob's");
    let own = check_access(&mut bob, &dashboard.name, "").await.unwrap();
    assert_eq!(
        perms(&own.permissions),
        perm_set(&[P::Read, P::UpdateLabels, P::Write])
    );
}

#[tokio::test]
async fn a_role_in_use_cannot_be_deleted() {
    let org = unique_org();
    let mut root = server().user(&org, "root", PlatformRole::Admin).await;
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let bob = server().user(&org, "bob", PlatformRole::Viewer).await;
    let role = create_role(&mut root, role_msg("Temp", &[P::Read]))
        .await
        .unwrap();
    let dashboard = alice.create("Ops").await;
    let share = alice.share_with(&dashboard.name, &bob, &role.name).await;

    let err = delete_role(&mut alice, &role.name).await.unwrap_err();
    assert_error(&err, Code::PermissionDenied, "ADMIN_REQUIRED");
    let err = delete_role(&mut root, &role.name).await.unwrap_err();
    assert_error(&err, Code::FailedPrecondition, "ROLE_IN_USE");
    assert_eq!(get_role(&mut root, &role.name).await.unwrap(), role);

    revoke(&mut alice, &share.name).await;
    delete_role(&mut root, &role.name).await.unwrap();
    let err = get_role(&mut root, &role.name).await.unwrap_err();
    assert_error(&err, Code::NotFound, "NOT_FOUND");
    assert_eq!(list_roles(&mut root).await.len(), 4);
    let err = delete_role(&mut root, &role.name).await.unwrap_err();
    assert_error(&err, Code::NotFound, "NOT_FOUND");
    // A deleted role can no longer be granted.
    let err = alice
        .share(
            &dashboard.name,
            pb::grantee::Kind::User(bob.name()),
            &role.name,
        )
        .await
        .unwrap_err();
    let details = assert_error(&err, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details), ["role"]);
}

#[tokio::test]
async fn built_in_roles_cannot_be_changed_or_deleted() {
    let org = unique_org();
    let mut root = server().user(&org, "root", PlatformRole::Admin).await;
    for name in [
        "roles/viewer",
        "roles/editor",
        "roles/contributor",
        "roles/owner",
        "admin",
        "readonly",
    ] {
        let err = update_role(
            &mut root,
            pb::Role {
                name: name.into(),
                permissions: vec![P::Read as i32],
                ..Default::default()
            },
            &["permissions"],
        )
        .await
        .unwrap_err();
        assert_error(&err, Code::FailedPrecondition, "BUILT_IN_ROLE");
        let err = delete_role(&mut root, name).await.unwrap_err();
        assert_error(&err, Code::FailedPrecondition, "BUILT_IN_ROLE");
    }
    let viewer = get_role(&mut root, "roles/viewer").await.unwrap();
    assert_eq!(perms(&viewer.permissions), perm_set(&[P::Read]));
}

#[tokio::test]
async fn custom_roles_of_another_org_do_not_exist() {
    let org = unique_org();
    let mut root = server().user(&org, "root", PlatformRole::Admin).await;
    let role = create_role(&mut root, role_msg("Ours", &[P::Read]))
        .await
        .unwrap();

    let other = unique_org();
    let mut mallory = server().user(&other, "mallory", PlatformRole::Admin).await;
    let bob = server().user(&other, "bob", PlatformRole::Author).await;
    let err = get_role(&mut mallory, &role.name).await.unwrap_err();
    assert_error(&err, Code::NotFound, "NOT_FOUND");
    let err = update_role(
        &mut mallory,
        pb::Role {
            name: role.name.clone(),
            display_name: "Theirs".into(),
            ..Default::default()
        },
        &["display_name"],
    )
    .await
    .unwrap_err();
    assert_error(&err, Code::NotFound, "NOT_FOUND");
    let err = delete_role(&mut mallory, &role.name).await.unwrap_err();
    assert_error(&err, Code::NotFound, "NOT_FOUND");

    let dashboard = mallory.create("Theirs").await;
    let err = mallory
        .share(
            &dashboard.name,
            pb::grantee::Kind::User(bob.name()),
            &role.name,
        )
        .await
        .unwrap_err();
    let details = assert_error(&err, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details), ["role"]);

    // Untouched in its own org.
    assert_eq!(get_role(&mut root, &role.name).await.unwrap(), role);
}

#[tokio::test]
async fn groups_of_another_org_do_not_exist() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let bob = server().user(&org, "bob", PlatformRole::Viewer).await;
    let group = create_group(
        &mut alice,
        group_msg("Ours", pb::GroupKind::Org, ""),
        &[bob.name()],
    )
    .await
    .unwrap();

    let other = unique_org();
    let mut mallory = server().user(&other, "mallory", PlatformRole::Admin).await;
    let mut eve = server().user(&other, "eve", PlatformRole::Viewer).await;
    let eve_name = eve.name();
    let err = get_group(&mut mallory, &group.name).await.unwrap_err();
    assert_error(&err, Code::NotFound, "NOT_FOUND");
    let err = update_group(
        &mut mallory,
        pb::Group {
            name: group.name.clone(),
            display_name: "Theirs".into(),
            ..Default::default()
        },
        &["display_name"],
    )
    .await
    .unwrap_err();
    assert_error(&err, Code::NotFound, "NOT_FOUND");
    let err = add_member(&mut mallory, &group.name, &eve_name)
        .await
        .unwrap_err();
    assert_error(&err, Code::NotFound, "NOT_FOUND");
    let err = remove_member(&mut mallory, &group.name, "users/bob")
        .await
        .unwrap_err();
    assert_error(&err, Code::NotFound, "NOT_FOUND");
    let request = mallory.req(pb::ListGroupMembersRequest {
        group: group.name.clone(),
        page_size: 0,
        page_token: String::new(),
    });
    let err = mallory
        .directory
        .list_group_members(request)
        .await
        .unwrap_err();
    assert_error(&err, Code::NotFound, "NOT_FOUND");
    let err = delete_group(&mut mallory, &group.name, "")
        .await
        .unwrap_err();
    assert_error(&err, Code::NotFound, "NOT_FOUND");
    let listed = list_groups(&mut mallory, pb::ListGroupsRequest::default())
        .await
        .unwrap();
    assert!(listed.groups.is_empty(), "{listed:?}");
    // Nor can it be shared with from the other org.
    let dashboard = mallory.create("Theirs").await;
    let err = mallory
        .share(
            &dashboard.name,
            pb::grantee::Kind::Group(group.name.clone()),
            "roles/viewer",
        )
        .await
        .unwrap_err();
    let details = assert_error(&err, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details), ["grantee.group"]);
    let err = eve.get(&dashboard.name).await.unwrap_err();
    assert_error(&err, Code::NotFound, "NOT_FOUND");

    // Untouched in its own org.
    let ours = get_group(&mut alice, &group.name).await.unwrap();
    assert_eq!(ours, group);
}
