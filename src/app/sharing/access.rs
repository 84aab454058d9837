//! Access explanations: CheckAccess (dashboards and folders), BatchCheckAccess,
//! GetPrincipalContext.

use std::collections::HashMap;

use crate::app::App;
use crate::app::authorizer::dashboard_inheritance;
use crate::core::authz::{
    Access, Permission, PermissionSet, RoleBook, ShareTarget, ceiling, may_create_dashboards,
    may_manage_directory, may_manage_groups,
};
use crate::core::dashboard::Limits;
use crate::core::directory::User;
use crate::core::{Error, Principal, Result, names, now_micros};

/// A principal's access on one dashboard or folder, with the roles its grants name.
/// `access.inheritance` says where each grant sits, the way it came down and where
/// inheritance stops.
pub struct AccessExplanation {
    /// Who it is about: the caller, or the user it asked about.
    pub subject: Principal,
    pub access: Access,
    pub roles: RoleBook,
}

/// The access of `principal` (empty or `users/me`: the caller) on `name` (`dashboards/{id}`
/// or `folders/{id}`). The caller needs READ, and SHARE (or ADMIN) to ask about someone
/// else.
pub async fn check_access(
    app: &App,
    caller: &Principal,
    name: &str,
    principal: &str,
) -> Result<AccessExplanation> {
    let access = match names::parse_share_target("name", name)? {
        ShareTarget::Dashboard(id) => check_dashboard(app, caller, &id, principal).await?,
        ShareTarget::Folder(id) => check_folder(app, caller, &id, principal).await?,
        ShareTarget::LibraryWidget(id) => check_library_widget(app, caller, &id, principal).await?,
    };
    let (subject, access) = access;
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

async fn check_dashboard(
    app: &App,
    caller: &Principal,
    id: &str,
    principal: &str,
) -> Result<(Principal, Access)> {
    let (dashboard, caller_access) = app
        .authorizer
        .dashboard(caller, id, Permission::Read)
        .await?;
    let subject = subject_principal(app, caller, principal).await?;
    let mut access = if subject == *caller && !caller.is_admin() {
        caller_access
    } else if subject == *caller {
        app.authorizer.explain(caller, &dashboard).await?
    } else {
        may_inspect(caller, &caller_access, &dashboard.name())?;
        app.authorizer.explain(&subject, &dashboard).await?
    };
    // A dashboard that stops inheritance reads no folder shares, so its decision did not
    // read its chain either: where it is cut comes from the chain, read here.
    if !dashboard.inherit_access && dashboard.folder_id.is_some() {
        let folders: Vec<String> = dashboard.folder_id.iter().cloned().collect();
        let chains = app.store.folders().chains(app.store.db(), &folders).await?;
        access.inheritance = dashboard_inheritance(&dashboard, &chains);
    }
    Ok((subject, access))
}

async fn check_folder(
    app: &App,
    caller: &Principal,
    id: &str,
    principal: &str,
) -> Result<(Principal, Access)> {
    let (folder, caller_access) = app.authorizer.folder(caller, id, Permission::Read).await?;
    let subject = subject_principal(app, caller, principal).await?;
    let access = if subject == *caller && !caller.is_admin() {
        caller_access
    } else if subject == *caller {
        app.authorizer.folder_access(caller, &folder, true).await?
    } else {
        may_inspect(caller, &caller_access, &folder.name())?;
        app.authorizer
            .folder_access(&subject, &folder, true)
            .await?
    };
    Ok((subject, access))
}

async fn check_library_widget(
    app: &App,
    caller: &Principal,
    id: &str,
    principal: &str,
) -> Result<(Principal, Access)> {
    let (library, caller_access) =
        crate::app::library_widgets::authorize(app, caller, id, Permission::Read).await?;
    let subject = subject_principal(app, caller, principal).await?;
    if subject == *caller {
        return Ok((subject, caller_access));
    }
    may_inspect(caller, &caller_access, &library.name())?;
    let access = crate::app::library_widgets::access_on(app, &subject, &library).await?;
    Ok((subject, access))
}

/// Checking another principal's access needs SHARE on the resource, or ADMIN.
fn may_inspect(caller: &Principal, caller_access: &Access, resource: &str) -> Result<()> {
    if caller.is_admin() || caller_access.permissions.contains(Permission::Share) {
        return Ok(());
    }
    Err(Error::permission_denied(
        "MISSING_PERMISSION",
        format!("checking another principal's access needs SHARE on {resource}"),
    ))
}

/// What BatchCheckAccess answers: the access of the principal on each dashboard asked
/// (`None` where the caller may not read it, or may not inspect it for others), and the
/// roles their grants name.
pub struct BatchExplanation {
    pub results: Vec<Option<Access>>,
    pub roles: RoleBook,
}

/// The access of `principal` on each dashboard id, in the order given, explained as
/// CheckAccess explains it; what the caller may not read, or may not inspect for others,
/// reads as `None`.
pub async fn batch_check_access(
    app: &App,
    caller: &Principal,
    limits: &Limits,
    ids: &[String],
    principal: &str,
) -> Result<BatchExplanation> {
    if ids.is_empty() || ids.len() > limits.max_batch_get {
        return Err(Error::invalid(
            "names",
            format!("1..{} names per call", limits.max_batch_get),
        ));
    }
    let subject = subject_principal(app, caller, principal).await?;
    let (dashboards, caller_access) = app.authorizer.dashboards_with_access(caller, ids).await?;
    // What the caller may see of each: READ, and SHARE (or ADMIN) to see someone else's.
    let visible: Vec<bool> = caller_access
        .iter()
        .map(|mine| {
            mine.permissions.contains(Permission::Read)
                && (subject == *caller
                    || caller.is_admin()
                    || mine.permissions.contains(Permission::Share))
        })
        .collect();
    let mut subject_access = if subject == *caller && !caller.is_admin() {
        caller_access
    } else {
        app.authorizer.explain_many(&subject, &dashboards).await?
    };
    // Where inheritance stops, for the dashboards that stop it themselves (their decision
    // read no chain).
    let cut: Vec<String> = dashboards
        .iter()
        .filter(|d| !d.inherit_access)
        .filter_map(|d| d.folder_id.clone())
        .collect();
    if !cut.is_empty() {
        let chains = app.store.folders().chains(app.store.db(), &cut).await?;
        for (d, access) in dashboards.iter().zip(subject_access.iter_mut()) {
            if !d.inherit_access && d.folder_id.is_some() {
                access.inheritance = dashboard_inheritance(d, &chains);
            }
        }
    }
    // Each answer moves into the results; only a name asked twice is copied.
    let mut asked: HashMap<&str, usize> = HashMap::with_capacity(ids.len());
    for id in ids {
        *asked.entry(id.as_str()).or_default() += 1;
    }
    let mut by_id: HashMap<&str, Access> = dashboards
        .iter()
        .zip(subject_access.into_iter().zip(visible))
        .filter(|(_, (_, visible))| *visible)
        .map(|(d, (access, _))| (d.id.as_str(), access))
        .collect();
    let results: Vec<Option<Access>> = ids
        .iter()
        .map(|id| {
            let left = asked.get_mut(id.as_str())?;
            *left -= 1;
            if *left == 0 {
                by_id.remove(id.as_str())
            } else {
                by_id.get(id.as_str()).cloned()
            }
        })
        .collect();
    let roles = app
        .authorizer
        .role_book(
            &caller.org_id,
            results.iter().flatten().flat_map(|a| a.grants.iter()),
        )
        .await?;
    Ok(BatchExplanation { results, roles })
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
