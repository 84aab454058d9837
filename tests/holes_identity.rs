//! Issue 11, identity and walls: group membership escalation (1), tenant moves (2), claim
//! combinations (3), directory roles (4), email clashes (5), tenant leaks in sharing views
//! (6); JWT details (15) are in holes_identity_jwt.rs. Each test fails on the code before
//! the fix.

mod common;

use std::time::Duration;

use common::{Caller, SECRET, assert_error, server, token, unique_org};
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use dashboard_service::pb::grantee::Kind;
use dashboard_service::server::auth::{JwtOptions, KeyMaterial, Minter, TokenRequest};
use tonic::Code;

/// Signs arbitrary claims (and an optional `crit` header) with the test secret, for
/// tokens the minter refuses to make.
fn raw_token(claims: serde_json::Value, crit: Option<Vec<String>>) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.crit = crit;
    let key = jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes());
    jsonwebtoken::encode(&header, &claims, &key).expect("sign")
}

fn in_an_hour() -> u64 {
    jsonwebtoken::get_current_timestamp() + 3600
}

/// A caller with a token the test made, not yet known to the directory.
async fn caller_with(org: &str, sub: &str, token: String) -> Caller {
    let channel = server().channel().await;
    Caller::on(&channel, token, org, sub)
}

async fn get_user(caller: &mut Caller, name: &str) -> Result<pb::User, tonic::Status> {
    let request = caller.req(pb::GetUserRequest { name: name.into() });
    caller
        .directory
        .get_user(request)
        .await
        .map(|r| r.into_inner())
}

async fn context(caller: &mut Caller) -> Result<pb::PrincipalContext, tonic::Status> {
    let request = caller.req(pb::GetPrincipalContextRequest {});
    caller
        .sharing
        .get_principal_context(request)
        .await
        .map(|r| r.into_inner())
}

async fn add_member(
    caller: &mut Caller,
    group: &str,
    user: &str,
) -> Result<pb::Group, tonic::Status> {
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

async fn upsert_user(
    admin: &mut Caller,
    id: &str,
    role: pb::PlatformRole,
    tenant: &str,
) -> pb::User {
    let request = admin.req(pb::UpsertUserRequest {
        user: Some(pb::User {
            name: format!("users/{id}"),
            email: format!("{id}@{}.test", admin.org),
            display_name: id.into(),
            role: role as i32,
            tenant: tenant.into(),
            ..Default::default()
        }),
    });
    admin
        .directory
        .upsert_user(request)
        .await
        .expect("upsert user")
        .into_inner()
}

async fn tenant_group(admin: &mut Caller, tenant: &str, members: &[&str]) -> pb::Group {
    let request = admin.req(pb::CreateGroupRequest {
        group: Some(pb::Group {
            display_name: format!("{tenant} team"),
            kind: pb::GroupKind::Tenant as i32,
            tenant: tenant.into(),
            ..Default::default()
        }),
        members: members.iter().map(|m| m.to_string()).collect(),
    });
    admin
        .directory
        .create_group(request)
        .await
        .expect("create tenant group")
        .into_inner()
}

async fn check(
    caller: &mut Caller,
    dashboard: &str,
    principal: &str,
) -> Result<pb::CheckAccessResponse, tonic::Status> {
    let request = caller.req(pb::CheckAccessRequest {
        name: dashboard.into(),
        permission: pb::Permission::Write as i32,
        principal: principal.into(),
    });
    caller
        .sharing
        .check_access(request)
        .await
        .map(|r| r.into_inner())
}

async fn create(caller: &mut Caller, title: &str) -> Result<pb::Dashboard, tonic::Status> {
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

async fn retitle(
    caller: &mut Caller,
    name: &str,
    title: &str,
) -> Result<pb::Dashboard, tonic::Status> {
    let request = caller.req(pb::UpdateDashboardRequest {
        version_message: String::new(),
        dashboard: Some(pb::Dashboard {
            name: name.into(),
            title: title.into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["title".into()],
        }),
    });
    caller
        .dashboards
        .update_dashboard(request)
        .await
        .map(|r| r.into_inner())
}

// ---- 1. AddGroupMember escalation ------------------------------------------------------

#[tokio::test]
async fn an_author_cannot_join_a_group_that_holds_more_than_it() {
    let s = server();
    let org = unique_org();
    let mut admin = s.user(&org, "admin", PlatformRole::Admin).await;
    let mut a3 = s.user(&org, "a3", PlatformRole::Author).await;
    let bob = s.user(&org, "bob", PlatformRole::Viewer).await;

    // ADMIN shares payroll with its group `finance` as owner.
    let finance = admin.group("finance", &[]).await;
    assert_eq!(finance.creator, "users/admin");
    let payroll = admin.create("payroll").await;
    admin
        .share(&payroll.name, Kind::Group(finance.name.clone()), "owner")
        .await
        .expect("share with finance");
    assert_error(
        &a3.get(&payroll.name).await.unwrap_err(),
        Code::NotFound,
        "NOT_FOUND",
    );

    // The attack of the issue: a3 adds itself to finance. Not its group to manage.
    let err = add_member(&mut a3, &finance.name, "users/a3")
        .await
        .unwrap_err();
    assert_error(&err, Code::PermissionDenied, "NOT_GROUP_MANAGER");
    let err = add_member(&mut a3, &finance.name, "users/bob")
        .await
        .unwrap_err();
    assert_error(&err, Code::PermissionDenied, "NOT_GROUP_MANAGER");
    assert_error(
        &a3.get(&payroll.name).await.unwrap_err(),
        Code::NotFound,
        "NOT_FOUND",
    );
    let request = a3.req(pb::DeleteDashboardRequest {
        name: payroll.name.clone(),
        etag: String::new(),
    });
    let err = a3.dashboards.delete_dashboard(request).await.unwrap_err();
    assert_error(&err, Code::NotFound, "NOT_FOUND");

    // Its own group: it may add members while the group holds only what a3 holds...
    let mut team = a3.group("a3 team", &[]).await;
    let mine = a3.create("a3's").await;
    a3.share(&mine.name, Kind::Group(team.name.clone()), "editor")
        .await
        .expect("share own dashboard with own group");
    add_member(&mut a3, &team.name, &bob.name())
        .await
        .expect("within a3's permissions");

    // ...but not once the group holds more than a3 on some dashboard (an ADMIN shared it).
    admin
        .share(&payroll.name, Kind::Group(team.name.clone()), "owner")
        .await
        .expect("admin shares payroll with a3's group");
    for who in ["users/a3", "users/admin"] {
        let err = add_member(&mut a3, &team.name, who).await.unwrap_err();
        let details = assert_error(&err, Code::PermissionDenied, "GROUP_GRANTS_EXCEED_CALLER");
        assert!(details.error_info().is_some());
        assert!(
            !err.message().contains(&payroll.name),
            "names nothing a3 cannot read: {err:?}"
        );
    }
    assert_error(
        &a3.get(&payroll.name).await.unwrap_err(),
        Code::NotFound,
        "NOT_FOUND",
    );

    // Other managers' changes stay theirs; ADMINs manage every group; anyone may leave.
    let request = a3.req(pb::UpdateGroupRequest {
        group: Some(pb::Group {
            name: finance.name.clone(),
            display_name: "mine now".into(),
            ..Default::default()
        }),
        update_mask: None,
    });
    let err = a3.directory.update_group(request).await.unwrap_err();
    assert_error(&err, Code::PermissionDenied, "NOT_GROUP_MANAGER");
    let request = a3.req(pb::DeleteGroupRequest {
        name: finance.name.clone(),
        etag: String::new(),
    });
    let err = a3.directory.delete_group(request).await.unwrap_err();
    assert_error(&err, Code::PermissionDenied, "NOT_GROUP_MANAGER");
    team = add_member(&mut admin, &team.name, "users/a3")
        .await
        .expect("ADMIN adds");
    assert!(team.members.contains(&"users/a3".to_string()));
    a3.get(&payroll.name)
        .await
        .expect("through the group an ADMIN put a3 in");
    let request = a3.req(pb::RemoveGroupMemberRequest {
        group: team.name.clone(),
        user: "users/a3".into(),
    });
    a3.directory
        .remove_group_member(request)
        .await
        .expect("leaving is always allowed");
}

// ---- 2. Tenant moves -------------------------------------------------------------------

#[tokio::test]
async fn a_tenant_group_counts_only_for_its_tenant() {
    let s = server();
    let org = unique_org();
    let mut admin = s.user(&org, "admin", PlatformRole::Admin).await;
    let mut pu = s
        .tenant_user(&org, "pu", "t1", PlatformRole::PowerUser)
        .await;
    let mut tv = s.tenant_user(&org, "tv", "t1", PlatformRole::Viewer).await;
    let group = tenant_group(&mut admin, "t1", &["users/pu", "users/tv"]).await;
    let dashboard = admin.create("t1 only").await;
    admin
        .share(&dashboard.name, Kind::Group(group.name.clone()), "viewer")
        .await
        .expect("share with the t1 group");
    pu.get(&dashboard.name)
        .await
        .expect("pu reads it through its t1 group");
    assert_eq!(
        context(&mut pu).await.unwrap().groups,
        vec![group.name.clone()]
    );

    // The same user, now with a token of tenant t2.
    let mut moved = s
        .tenant_user(&org, "pu", "t2", PlatformRole::PowerUser)
        .await;
    let ctx = context(&mut moved).await.expect("context");
    assert_eq!(ctx.tenant, "t2");
    assert!(
        ctx.groups.is_empty(),
        "the t1 group does not count for t2: {ctx:?}"
    );
    assert_error(
        &moved.get(&dashboard.name).await.unwrap_err(),
        Code::NotFound,
        "NOT_FOUND",
    );
    let list = moved
        .list(pb::ListDashboardsRequest::default())
        .await
        .unwrap();
    assert!(list.dashboards.iter().all(|d| d.name != dashboard.name));

    // t1 users no longer see it as a member of their group.
    let request = tv.req(pb::ListGroupMembersRequest {
        group: group.name.clone(),
        page_size: 50,
        page_token: String::new(),
    });
    let members = tv
        .directory
        .list_group_members(request)
        .await
        .unwrap()
        .into_inner();
    let names: Vec<&str> = members.members.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, vec!["users/tv"]);
    assert!(members.members.iter().all(|u| u.tenant == "t1"));
    // Nor does the t1 token of before get the membership back.
    assert_error(
        &pu.get(&dashboard.name).await.unwrap_err(),
        Code::NotFound,
        "NOT_FOUND",
    );
}

// ---- 3. Claim combinations -------------------------------------------------------------

#[tokio::test]
async fn tokens_with_a_role_and_tenant_the_directory_refuses_are_unauthenticated() {
    let s = server();
    let org = unique_org();
    let mut admin = s.user(&org, "admin", PlatformRole::Admin).await;
    let private = admin.create("org private").await;
    for (sub, role, tenant) in [
        ("ta", "ADMIN", Some("t1")),
        ("tu", "AUTHOR", Some("t1")),
        ("pn", "POWER_USER", None),
    ] {
        let mut claims = serde_json::json!({
            "sub": sub, "org": org, "role": role, "exp": in_an_hour(),
        });
        if let Some(t) = tenant {
            claims["tenant"] = t.into();
        }
        let mut caller = caller_with(&org, sub, raw_token(claims, None)).await;
        let err = caller.get(&private.name).await.unwrap_err();
        assert_error(&err, Code::Unauthenticated, "INVALID_CLAIMS");
        let err = get_user(&mut caller, "users/me").await.unwrap_err();
        assert_error(&err, Code::Unauthenticated, "INVALID_CLAIMS");
    }
    // A POWER_USER of a tenant is fine.
    let claims = serde_json::json!({
        "sub": "tp", "org": org, "tenant": "t1", "role": "POWER_USER", "exp": in_an_hour(),
    });
    let mut tp = caller_with(&org, "tp", raw_token(claims, None)).await;
    get_user(&mut tp, "users/me")
        .await
        .expect("a valid combination");
}

// ---- 4. Directory roles ----------------------------------------------------------------

#[tokio::test]
async fn a_directory_demotion_counts_from_the_next_call_everywhere() {
    let s = server();
    let org = unique_org();
    let mut admin = s.user(&org, "admin", PlatformRole::Admin).await;
    let mut bob = s.user(&org, "bob", PlatformRole::Author).await;
    let own = bob.create("bob's").await;
    let shared = admin.create("shared").await;
    admin.share_with(&shared.name, &bob, "editor").await;
    // Warm every path first: the demotion must not hide behind anything seen before.
    retitle(&mut bob, &own.name, "warm")
        .await
        .expect("AUTHOR edits");
    assert!(check(&mut bob, &shared.name, "").await.unwrap().allowed);
    assert_eq!(
        context(&mut bob).await.unwrap().role,
        pb::PlatformRole::Author as i32
    );

    let stored = upsert_user(&mut admin, "bob", pb::PlatformRole::Viewer, "").await;
    assert!(stored.role_set_by_admin);

    // bob's AUTHOR token now acts as a VIEWER, on the very next call.
    let err = create(&mut bob, "again").await.unwrap_err();
    assert_error(&err, Code::PermissionDenied, "ROLE_CANNOT_CREATE");
    let err = retitle(&mut bob, &own.name, "edit").await.unwrap_err();
    assert_error(&err, Code::PermissionDenied, "MISSING_PERMISSION");
    let err = retitle(&mut bob, &shared.name, "edit").await.unwrap_err();
    assert_error(&err, Code::PermissionDenied, "MISSING_PERMISSION");
    let own_check = check(&mut bob, &shared.name, "").await.unwrap();
    let about_bob = check(&mut admin, &shared.name, "users/bob").await.unwrap();
    assert!(!own_check.allowed && !about_bob.allowed);
    assert_eq!(own_check.permissions, about_bob.permissions);
    assert_eq!(own_check.ceiling, about_bob.ceiling);
    assert_eq!(own_check.permissions, vec![pb::Permission::Read as i32]);
    let ctx = context(&mut bob).await.unwrap();
    assert_eq!(ctx.role, pb::PlatformRole::Viewer as i32);
    assert!(!ctx.may_create_dashboards && !ctx.may_manage_groups);

    // Recording from a token never overwrites what the ADMIN set, even an ADMIN token.
    let mut bob_admin = s.user(&org, "bob", PlatformRole::Admin).await;
    assert_eq!(
        context(&mut bob_admin).await.unwrap().role,
        pb::PlatformRole::Viewer as i32
    );
    let user = get_user(&mut admin, "users/bob").await.unwrap();
    assert_eq!(user.role, pb::PlatformRole::Viewer as i32);
    assert!(user.role_set_by_admin);

    // A promotion counts as fast, up to the token's own role.
    upsert_user(&mut admin, "bob", pb::PlatformRole::Admin, "").await;
    create(&mut bob, "again")
        .await
        .expect("AUTHOR again (the lower of ADMIN and AUTHOR)");
    assert_eq!(
        context(&mut bob).await.unwrap().role,
        pb::PlatformRole::Author as i32
    );

    // For a user an ADMIN set, the directory's tenant is the one: another is refused.
    upsert_user(&mut admin, "tp", pb::PlatformRole::PowerUser, "t1").await;
    let mut elsewhere = caller_with(
        &org,
        "tp",
        token(&org, "tp", Some("t2"), PlatformRole::PowerUser),
    )
    .await;
    let err = get_user(&mut elsewhere, "users/me").await.unwrap_err();
    assert_error(&err, Code::Unauthenticated, "INVALID_CLAIMS");
    s.tenant_user(&org, "tp", "t1", PlatformRole::PowerUser)
        .await;
}

// ---- 5. Email clash --------------------------------------------------------------------

#[tokio::test]
async fn a_token_whose_email_is_taken_is_recorded_without_it() {
    let s = server();
    let org = unique_org();
    let mut alice = s.user(&org, "alice", PlatformRole::Author).await;
    let options = JwtOptions {
        secret: Some(SECRET.into()),
        ..Default::default()
    };
    let keys = KeyMaterial::load(&options).unwrap();
    let mallory_token = Minter::new(&keys, &options)
        .unwrap()
        .mint(&TokenRequest {
            sub: "mallory".into(),
            org: org.clone(),
            tenant: None,
            role: PlatformRole::Author,
            email: Some(format!("alice@{org}.test")),
            name: Some("Mallory".into()),
            ttl: Duration::from_secs(600),
        })
        .unwrap();
    let mut mallory = caller_with(&org, "mallory", mallory_token).await;

    let me = get_user(&mut mallory, "users/me").await.expect("recorded");
    assert_eq!(me.name, "users/mallory");
    assert_eq!(me.email, "");
    assert!(me.email_withheld);
    assert_eq!(me.display_name, "Mallory");
    let theirs = get_user(&mut alice, "users/alice").await.unwrap();
    assert_eq!(theirs.email, format!("alice@{org}.test"));
    assert!(!theirs.email_withheld);

    let own = mallory.create("mallory's").await;
    let request = mallory.req(pb::ListOwnersRequest {
        name: own.name.clone(),
    });
    let owners = mallory
        .sharing
        .list_owners(request)
        .await
        .unwrap()
        .into_inner();
    let names: Vec<&str> = owners.owners.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, vec!["users/mallory"]);

    let alices = alice.create("alice's").await;
    alice
        .share(&alices.name, Kind::User("users/mallory".into()), "viewer")
        .await
        .expect("mallory can be shared with");
    mallory.get(&alices.name).await.expect("and reads it");
    // The email still names alice: sharing by it reaches alice, not mallory.
    let mut carol = server().user(&org, "carol", PlatformRole::Author).await;
    let carols = carol.create("carol's").await;
    let share = carol
        .share(
            &carols.name,
            Kind::Email(format!("alice@{org}.test")),
            "viewer",
        )
        .await
        .expect("share by email");
    assert_eq!(
        share.grantee.and_then(|g| g.kind),
        Some(Kind::User("users/alice".into()))
    );
}

// ---- 6. Tenant walls in sharing views ----------------------------------------------------

#[tokio::test]
async fn tenant_users_see_and_share_only_within_their_tenant() {
    let s = server();
    let org = unique_org();
    let mut admin = s.user(&org, "admin", PlatformRole::Admin).await;
    let ou = s.user(&org, "ou", PlatformRole::Author).await;
    let mut tp = s
        .tenant_user(&org, "tp", "t1", PlatformRole::PowerUser)
        .await;
    let tv = s.tenant_user(&org, "tv", "t1", PlatformRole::Viewer).await;
    let tw = s.tenant_user(&org, "tw", "t2", PlatformRole::Viewer).await;
    let t2_group = tenant_group(&mut admin, "t2", &["users/tw"]).await;
    let dashboard = tp.create("t1 board").await;
    for grantee in [
        Kind::User(tw.name()),
        Kind::Group(t2_group.name.clone()),
        Kind::Tenant("t2".into()),
        Kind::User(ou.name()),
        Kind::OrgMembers(true),
    ] {
        admin
            .share(&dashboard.name, grantee, "viewer")
            .await
            .expect("an org ADMIN shares anywhere");
    }
    tp.share_with(&dashboard.name, &tv, "viewer").await;

    let request = tp.req(pb::ListSharesRequest {
        parent: dashboard.name.clone(),
    });
    let shares = tp.sharing.list_shares(request).await.unwrap().into_inner();
    let text = format!("{shares:?}");
    assert!(
        !text.contains("\"tw\"") && !text.contains("users/tw"),
        "{text}"
    );
    assert!(!text.contains("t2"), "no other tenant's ids: {text}");
    assert!(!text.contains(&t2_group.name), "{text}");
    let users: Vec<String> = shares
        .users
        .iter()
        .filter_map(|s| match s.grantee.as_ref()?.kind.as_ref()? {
            Kind::User(u) => Some(u.clone()),
            _ => None,
        })
        .collect();
    for visible in ["users/tp", "users/tv", "users/ou"] {
        assert!(
            users.contains(&visible.to_string()),
            "{visible} in {users:?}"
        );
    }
    assert!(shares.groups.is_empty() && shares.tenants.is_empty());
    assert_eq!(shares.org_wide.len(), 1);
    // The ADMIN still sees everything.
    let request = admin.req(pb::ListSharesRequest {
        parent: dashboard.name.clone(),
    });
    let all = admin
        .sharing
        .list_shares(request)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (all.users.len(), all.groups.len(), all.tenants.len()),
        (4, 1, 1)
    );

    // A tenant POWER_USER shares with its own tenant only, not with org users.
    let err = tp
        .share(&dashboard.name, Kind::User(ou.name()), "editor")
        .await
        .unwrap_err();
    assert_error(&err, Code::PermissionDenied, "OUTSIDE_TENANT");
    let err = tp
        .share(
            &dashboard.name,
            Kind::Email(format!("ou@{org}.test")),
            "editor",
        )
        .await
        .unwrap_err();
    assert_error(&err, Code::PermissionDenied, "OUTSIDE_TENANT");
    let request = tp.req(pb::InviteToDashboardRequest {
        name: dashboard.name.clone(),
        users: vec![pb::invite_to_dashboard_request::UserInvite {
            email: format!("ou@{org}.test"),
            role: "editor".into(),
        }],
        groups: vec![],
        expire_time: None,
    });
    let err = tp.sharing.invite_to_dashboard(request).await.unwrap_err();
    assert_error(&err, Code::PermissionDenied, "OUTSIDE_TENANT");
    tp.share(&dashboard.name, Kind::User(tv.name()), "editor")
        .await
        .expect("a user of its own tenant");
}
