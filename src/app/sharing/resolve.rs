//! What a sharing request names, checked against the directory before the write: roles,
//! users, groups and the other grantees, and the expiry.

use crate::app::App;
use crate::core::authz::{
    Access, BuiltinRole, GranteeKind, Permission, PermissionSet, ShareTarget, check_grantee_scope,
};
use crate::core::dashboard::Dashboard;
use crate::core::directory::User;
use crate::core::error::echo;
use crate::core::{Error, Micros, Principal, Result, names, now_micros};

/// A grantee as the caller names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GranteeRef {
    /// `users/{id}`.
    User(String),
    Email(String),
    /// `groups/{id}`.
    Group(String),
    Tenant(String),
    AllTenants(bool),
    OrgMembers(bool),
    Everyone(bool),
}

/// A role named on input, resolved: `(roles/{id}, permissions)`.
pub(super) struct ResolvedRole {
    pub name: String,
    pub permissions: PermissionSet,
}

pub(super) enum UserRef<'a> {
    Name(&'a str),
    Email(&'a str),
}

/// The dashboard for an access-management call, checked before the write: SHARE needed,
/// not in the trash. The write decides again under the dashboard's lock.
pub(super) async fn managed(
    app: &App,
    caller: &Principal,
    id: &str,
) -> Result<(Dashboard, Access)> {
    let (dashboard, access) = app
        .authorizer
        .dashboard(caller, id, Permission::Share)
        .await?;
    if dashboard.is_deleted() {
        return Err(Error::dashboard_deleted(names::dashboard_name(id)));
    }
    Ok((dashboard, access))
}

/// [`managed`] for a dashboard or a folder: the caller's access on it, SHARE needed, not in
/// the trash. The write decides again under the row's lock.
pub(super) async fn managed_target(
    app: &App,
    caller: &Principal,
    target: &ShareTarget,
) -> Result<Access> {
    match target {
        ShareTarget::Dashboard(id) => Ok(managed(app, caller, id).await?.1),
        ShareTarget::Folder(id) => {
            let (folder, access) = app.authorizer.folder(caller, id, Permission::Share).await?;
            if folder.delete_time.is_some() {
                return Err(crate::core::folder::folder_deleted(&folder.id));
            }
            Ok(access)
        }
        ShareTarget::LibraryWidget(id) => {
            Ok(
                crate::app::library_widgets::authorize(app, caller, id, Permission::Share)
                    .await?
                    .1,
            )
        }
    }
}

/// Built-in role or alias, or a custom role of the org.
pub(super) async fn resolve_role(
    app: &App,
    org_id: &str,
    input: &str,
    field: &str,
) -> Result<ResolvedRole> {
    if input.is_empty() {
        return Err(Error::invalid(
            field,
            "required: e.g. roles/viewer or readonly",
        ));
    }
    if let Some(builtin) = BuiltinRole::parse(input) {
        return Ok(ResolvedRole {
            name: builtin.name().to_string(),
            permissions: builtin.permissions(),
        });
    }
    match app.store.roles().get(org_id, input).await? {
        Some(role) => Ok(ResolvedRole {
            name: role.name,
            permissions: role.permissions,
        }),
        None => Err(Error::invalid(
            field,
            format!("unknown role {}", echo(input)),
        )),
    }
}

/// The user a grantee names, if it exists in the org and the caller may see it. Unknown,
/// other-org and other-tenant users are the same INVALID_ARGUMENT: nothing leaks.
pub(super) async fn resolve_user(
    app: &App,
    caller: &Principal,
    by: UserRef<'_>,
    field: &str,
) -> Result<User> {
    let found = match by {
        UserRef::Name(name) => {
            let id = names::parse_user_name(field, name)?;
            app.store.users().get(&caller.org_id, &id).await?
        }
        UserRef::Email(email) => {
            app.store
                .users()
                .find_by_email(&caller.org_id, email)
                .await?
        }
    };
    match found {
        Some(user) if user.visible_to(caller) => {
            check_grantee_scope(
                caller,
                GranteeKind::User,
                &user.id,
                user.tenant_id.as_deref(),
            )?;
            Ok(user)
        }
        _ => Err(Error::invalid(field, "unknown user")),
    }
}

/// `(kind, grantee_id)` of a grantee, checked against the directory and tenant scope.
pub(super) async fn resolve_grantee(
    app: &App,
    caller: &Principal,
    grantee: Option<&GranteeRef>,
    field: &str,
) -> Result<(GranteeKind, String)> {
    let grantee = grantee.ok_or_else(|| {
        Error::invalid(
            field,
            "required: one of user, email, group, tenant, all_tenants, org_members, everyone",
        )
    })?;
    let resolved = match grantee {
        GranteeRef::User(name) => (
            GranteeKind::User,
            resolve_user(app, caller, UserRef::Name(name), &format!("{field}.user"))
                .await?
                .id,
        ),
        GranteeRef::Email(email) => (
            GranteeKind::User,
            resolve_user(
                app,
                caller,
                UserRef::Email(email),
                &format!("{field}.email"),
            )
            .await?
            .id,
        ),
        GranteeRef::Group(name) => {
            let field = format!("{field}.group");
            let id = names::parse_group_name(&field, name)?;
            match app.store.groups().get(&caller.org_id, &id).await? {
                Some(group) if group.visible_to(caller) => {
                    check_grantee_scope(
                        caller,
                        GranteeKind::Group,
                        &group.id,
                        group.tenant_id.as_deref(),
                    )?;
                    (GranteeKind::Group, group.id)
                }
                _ => return Err(Error::invalid(field, "unknown group")),
            }
        }
        GranteeRef::Tenant(tenant) => {
            if !names::is_valid_id(tenant) {
                return Err(Error::invalid(
                    format!("{field}.tenant"),
                    "must be 1..128 of [A-Za-z0-9._@-]",
                ));
            }
            (GranteeKind::Tenant, tenant.clone())
        }
        GranteeRef::AllTenants(true) => (GranteeKind::AllTenants, String::new()),
        GranteeRef::OrgMembers(true) => (GranteeKind::OrgMembers, String::new()),
        GranteeRef::Everyone(true) => (GranteeKind::Everyone, String::new()),
        GranteeRef::AllTenants(false)
        | GranteeRef::OrgMembers(false)
        | GranteeRef::Everyone(false) => {
            return Err(Error::invalid(
                field,
                "an audience grantee must be set to true",
            ));
        }
    };
    if !matches!(resolved.0, GranteeKind::User | GranteeKind::Group) {
        check_grantee_scope(caller, resolved.0, &resolved.1, None)?;
    }
    Ok(resolved)
}

/// An expiry, when given, must be in the future.
pub(super) fn future_expiry(value: Option<Micros>, field: &str) -> Result<Option<Micros>> {
    match value {
        Some(micros) if micros <= now_micros() => {
            Err(Error::invalid(field, "must be in the future"))
        }
        other => Ok(other),
    }
}
