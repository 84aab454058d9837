//! Access explanations: CheckAccess, BatchCheckAccess, GetPrincipalContext.

use std::collections::HashMap;

use crate::app::App;
use crate::core::authz::{
    Access, Permission, PermissionSet, RoleBook, ceiling, may_create_dashboards,
    may_manage_directory, may_manage_groups,
};
use crate::core::dashboard::Limits;
use crate::core::directory::User;
use crate::core::{Error, Principal, Result, names, now_micros};

/// A principal's access on one dashboard, with the roles its grants name.
pub struct AccessExplanation {
    /// Who it is about: the caller, or the user it asked about.
    pub subject: Principal,
    pub access: Access,
    pub roles: RoleBook,
}

/// The access of `principal` (empty or `users/me`: the caller) on `name`. The caller needs
/// READ, and SHARE (or ADMIN) to ask about someone else.
pub async fn check_access(
    app: &App,
    caller: &Principal,
    name: &str,
    principal: &str,
) -> Result<AccessExplanation> {
    let id = names::parse_dashboard_name("name", name)?;
    let (dashboard, caller_access) = app
        .authorizer
        .dashboard(caller, &id, Permission::Read)
        .await?;
    let subject = subject_principal(app, caller, principal).await?;
    let access = if subject == *caller && !caller.is_admin() {
        caller_access
    } else if subject == *caller {
        app.authorizer.explain(caller, &dashboard).await?
    } else {
        if !caller.is_admin() && !caller_access.permissions.contains(Permission::Share) {
            return Err(Error::permission_denied(
                "MISSING_PERMISSION",
                format!(
                    "checking another principal's access needs SHARE on {}",
                    dashboard.name()
                ),
            ));
        }
        app.authorizer.explain(&subject, &dashboard).await?
    };
    let roles = app
        .authorizer
        .role_book(&caller.org_id, &access.grants)
        .await?;
    Ok(AccessExplanation {
        subject,
        access,
        roles,
    })
}

/// The permissions of `principal` on each dashboard id, in the order given; what the caller
/// may not read, or may not inspect for others, reads as no permissions.
pub async fn batch_check_access(
    app: &App,
    caller: &Principal,
    limits: &Limits,
    ids: &[String],
    principal: &str,
) -> Result<Vec<PermissionSet>> {
    if ids.is_empty() || ids.len() > limits.max_batch_get {
        return Err(Error::invalid(
            "names",
            format!("1..{} names per call", limits.max_batch_get),
        ));
    }
    let subject = subject_principal(app, caller, principal).await?;
    let dashboards = app.store.dashboards().get_many(&caller.org_id, ids).await?;
    let caller_access = app.authorizer.access_many(caller, &dashboards).await?;
    let subject_access = if subject == *caller {
        caller_access.clone()
    } else {
        app.authorizer.access_many(&subject, &dashboards).await?
    };
    let by_id: HashMap<&str, (&Access, &Access)> = dashboards
        .iter()
        .zip(caller_access.iter().zip(subject_access.iter()))
        .map(|(d, (c, s))| (d.id.as_str(), (c, s)))
        .collect();
    Ok(ids
        .iter()
        .map(|id| {
            by_id
                .get(id.as_str())
                .filter(|(mine, _)| {
                    mine.permissions.contains(Permission::Read)
                        && (subject == *caller
                            || caller.is_admin()
                            || mine.permissions.contains(Permission::Share))
                })
                .map(|(_, theirs)| theirs.permissions)
                .unwrap_or_default()
        })
        .collect())
}

/// The principal a check is about: the caller, or a user the caller may inspect.
async fn subject_principal(app: &App, caller: &Principal, name: &str) -> Result<Principal> {
    if name.is_empty() || name == "users/me" {
        return Ok(caller.clone());
    }
    let id = names::parse_user_name("principal", name)?;
    if id == caller.user_id {
        return Ok(caller.clone());
    }
    match app.store.users().get(&caller.org_id, &id).await? {
        Some(user) if user.visible_to(caller) => Ok(user.as_principal()),
        _ => Err(Error::not_found(names::user_name(&id))),
    }
}

/// Who the caller is and what its platform role lets it do.
pub struct PrincipalContext {
    /// As the directory knows it, or as the token describes it when it does not.
    pub user: User,
    /// Group ids, sorted.
    pub groups: Vec<String>,
    pub ceiling: PermissionSet,
    pub may_create_dashboards: bool,
    pub may_manage_groups: bool,
    pub may_manage_directory: bool,
}

pub async fn principal_context(app: &App, caller: &Principal) -> Result<PrincipalContext> {
    let now = now_micros();
    let user = match app
        .store
        .users()
        .get(&caller.org_id, &caller.user_id)
        .await?
    {
        Some(user) => user,
        None => User {
            org_id: caller.org_id.clone(),
            id: caller.user_id.clone(),
            tenant_id: caller.tenant_id.clone(),
            email: caller.email.clone(),
            display_name: caller.name.clone().unwrap_or_default(),
            role: caller.role,
            create_time: now,
            update_time: now,
            role_set_by_admin: false,
            withheld_email: None,
        },
    };
    let mut groups = app.store.groups().group_ids_of(caller).await?;
    groups.sort();
    Ok(PrincipalContext {
        user,
        groups,
        ceiling: ceiling(caller.role),
        may_create_dashboards: may_create_dashboards(caller.role),
        may_manage_groups: may_manage_groups(caller),
        may_manage_directory: may_manage_directory(caller),
    })
}
