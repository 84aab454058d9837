//! The sharing views: ListShares, ListMembers, ListOwners.

use std::collections::{BTreeMap, HashMap};

use crate::app::App;
use crate::app::authorizer::{dashboard_inheritance, folder_inheritance};
use crate::core::authz::{
    Grant, GranteeKind, Inheritance, Permission, PermissionSet, ShareTarget, ceiling,
};
use crate::core::directory::{Group, User, tenant_visible_to};
use crate::core::{Principal, Result, names, now_micros};

/// A user with access through direct or group shares.
pub struct Member {
    pub user: User,
    /// The role of the user's direct share, else the strongest role among its sources.
    pub role: String,
    /// What the sources grant, within the user's ceiling.
    pub permissions: PermissionSet,
    pub sources: Vec<MemberSource>,
}

/// One share a member's access comes from.
pub struct MemberSource {
    /// `dashboards/{d}/shares/{s}`, or `folders/{f}/shares/{s}` for a share inherited from
    /// a folder.
    pub share: String,
    pub role: String,
    /// `groups/{g}` when the share is to a group; empty for a direct share.
    pub group: String,
}

/// The shares of `parent` (`dashboards/{id}` or `folders/{id}`; its own, not those it
/// inherits) the caller may see; SHARE needed.
pub async fn list_shares(app: &App, caller: &Principal, parent: &str) -> Result<Vec<Grant>> {
    let target = names::parse_share_target("parent", parent)?;
    viewed(app, caller, &target, Permission::Share).await?;
    let shares = own_shares(app, &target).await?;
    visible_shares(app, caller, shares).await
}

/// The caller's view of a dashboard or folder for a sharing view: NOT_FOUND without READ,
/// PERMISSION_DENIED without `needed`; the inheritance that reaches it (for an ADMIN too).
async fn viewed(
    app: &App,
    caller: &Principal,
    target: &ShareTarget,
    needed: Permission,
) -> Result<Inheritance> {
    let folders = app.store.folders();
    match target {
        ShareTarget::Dashboard(id) => {
            let (dashboard, _) = app.authorizer.dashboard(caller, id, needed).await?;
            let chain: Vec<String> = dashboard.folder_id.iter().cloned().collect();
            let chains = folders.chains(app.store.db(), &chain).await?;
            Ok(dashboard_inheritance(&dashboard, &chains))
        }
        ShareTarget::Folder(id) => {
            let (folder, _) = app.authorizer.folder(caller, id, needed).await?;
            let chains = folders
                .chains(app.store.db(), std::slice::from_ref(&folder.id))
                .await?;
            Ok(folder_inheritance(&folder, &chains))
        }
        ShareTarget::LibraryWidget(id) => {
            crate::app::library_widgets::authorize(app, caller, id, needed).await?;
            Ok(Inheritance::none(target.clone()))
        }
    }
}

/// The shares on `target` itself, oldest first.
async fn own_shares(app: &App, target: &ShareTarget) -> Result<Vec<Grant>> {
    match target {
        ShareTarget::Dashboard(id) => app.store.shares().list(app.store.db(), id).await,
        ShareTarget::Folder(id) => app.store.folder_shares().list(app.store.db(), id).await,
        ShareTarget::LibraryWidget(id) => {
            crate::store::library_widgets::LibraryWidgetRepo
                .shares(app.store.db(), id)
                .await
        }
    }
}

/// The shares that count for what `inheritance` describes: its own, then those of the
/// folders whose shares reach it, nearest first.
async fn reaching_shares(
    app: &App,
    caller: &Principal,
    inheritance: &Inheritance,
) -> Result<Vec<Grant>> {
    let mut grants = own_shares(app, &inheritance.resource).await?;
    if let Some(nearest) = inheritance.folders.first() {
        let above = app
            .store
            .folders()
            .all_grants_above(
                app.store.db(),
                &caller.org_id,
                std::slice::from_ref(nearest),
            )
            .await?;
        for folder in &inheritance.folders {
            let on = ShareTarget::Folder(folder.clone());
            if on != inheritance.resource {
                grants.extend(above.iter().filter(|g| g.on == on).cloned());
            }
        }
    }
    Ok(grants)
}

/// The shares a caller may see in a sharing view: for tenant users, the same rules as the
/// directory and ListMembers (`User::visible_to`, `Group::visible_to`,
/// [`tenant_visible_to`]): org users, their own tenant's users, groups and tenant grant, and
/// the org-wide audiences; never another tenant's ids. Org users see every share. A user
/// share whose user the directory no longer knows has no tenant to show, so tenant users do
/// not see it.
async fn visible_shares(app: &App, caller: &Principal, shares: Vec<Grant>) -> Result<Vec<Grant>> {
    if caller.tenant_id.is_none() {
        return Ok(shares);
    }
    let ids_of = |kind: GranteeKind| -> Vec<String> {
        shares
            .iter()
            .filter(|s| s.kind == kind)
            .map(|s| s.grantee_id.clone())
            .collect()
    };
    let users: HashMap<String, User> = app
        .store
        .users()
        .get_many(&caller.org_id, &ids_of(GranteeKind::User))
        .await?
        .into_iter()
        .map(|u| (u.id.clone(), u))
        .collect();
    let groups: HashMap<String, Group> = app
        .store
        .groups()
        .get_many(&caller.org_id, &ids_of(GranteeKind::Group))
        .await?
        .into_iter()
        .map(|g| (g.id.clone(), g))
        .collect();
    Ok(shares
        .into_iter()
        .filter(|s| match s.kind {
            GranteeKind::User => users
                .get(&s.grantee_id)
                .is_some_and(|u| u.visible_to(caller)),
            GranteeKind::Group => groups
                .get(&s.grantee_id)
                .is_some_and(|g| g.visible_to(caller)),
            GranteeKind::Tenant => tenant_visible_to(caller, Some(&s.grantee_id)),
            GranteeKind::AllTenants | GranteeKind::OrgMembers | GranteeKind::Everyone => true,
        })
        .collect())
}

/// The users with active shares on `name` (`dashboards/{id}` or `folders/{id}`) or on the
/// folders above it whose shares reach it, with where their access comes from (a source
/// may be `folders/{f}/shares/{s}`); group shares expanded to their members when
/// `expand_groups`. SHARE needed.
pub async fn list_members(
    app: &App,
    caller: &Principal,
    name: &str,
    expand_groups: bool,
) -> Result<Vec<Member>> {
    let target = names::parse_share_target("name", name)?;
    let inheritance = viewed(app, caller, &target, Permission::Share).await?;
    let now = now_micros();
    let grants: Vec<Grant> = reaching_shares(app, caller, &inheritance)
        .await?
        .into_iter()
        .filter(|g| g.is_active(now))
        .collect();
    let book = app.authorizer.role_book(&caller.org_id, &grants).await?;
    // user id -> sources (share, role, via group)
    let mut sources: BTreeMap<String, Vec<MemberSource>> = BTreeMap::new();
    let mut direct: HashMap<String, String> = HashMap::new();
    for g in grants.iter().filter(|g| g.kind == GranteeKind::User) {
        // The share on the resource itself comes first and names the role.
        direct
            .entry(g.grantee_id.clone())
            .or_insert_with(|| g.role.clone());
        sources
            .entry(g.grantee_id.clone())
            .or_default()
            .push(MemberSource {
                share: g.name(),
                role: g.role.clone(),
                group: String::new(),
            });
    }
    if expand_groups {
        let group_grants: Vec<&Grant> = grants
            .iter()
            .filter(|g| g.kind == GranteeKind::Group)
            .collect();
        let group_ids: Vec<String> = group_grants.iter().map(|g| g.grantee_id.clone()).collect();
        for (group_id, user_id) in app.store.groups().members_of(&group_ids).await? {
            for g in group_grants.iter().filter(|g| g.grantee_id == group_id) {
                sources
                    .entry(user_id.clone())
                    .or_default()
                    .push(MemberSource {
                        share: g.name(),
                        role: g.role.clone(),
                        group: names::group_name(&group_id),
                    });
            }
        }
    }
    let ids: Vec<String> = sources.keys().cloned().collect();
    let users: HashMap<String, User> = app
        .store
        .users()
        .get_many(&caller.org_id, &ids)
        .await?
        .into_iter()
        .filter(|u| u.visible_to(caller))
        .map(|u| (u.id.clone(), u))
        .collect();
    Ok(sources
        .into_iter()
        .filter_map(|(user_id, sources)| {
            let user = users.get(&user_id)?.clone();
            let granted = sources.iter().fold(PermissionSet::EMPTY, |acc, s| {
                acc.union(book.permissions(&s.role))
            });
            let strongest = sources
                .iter()
                .max_by_key(|s| book.permissions(&s.role).iter().count())
                .map(|s| s.role.clone())
                .unwrap_or_default();
            Some(Member {
                role: direct.get(&user_id).cloned().unwrap_or(strongest),
                permissions: granted.intersect(ceiling(user.role)),
                user,
                sources,
            })
        })
        .collect())
}

/// The owners of `name` (`dashboards/{id}` or `folders/{id}`: the users holding
/// `roles/owner` on it directly) the caller may see; READ needed.
pub async fn list_owners(app: &App, caller: &Principal, name: &str) -> Result<Vec<User>> {
    let target = names::parse_share_target("name", name)?;
    viewed(app, caller, &target, Permission::Read).await?;
    owners(app, caller, &target).await
}

/// The users with an active owner share on `target`, sorted by id, that the caller may see.
pub(super) async fn owners(
    app: &App,
    caller: &Principal,
    target: &ShareTarget,
) -> Result<Vec<User>> {
    let now = now_micros();
    let grants = own_shares(app, target).await?;
    let ids: Vec<String> = grants
        .iter()
        .filter(|g| g.is_owner_grant() && g.is_active(now))
        .map(|g| g.grantee_id.clone())
        .collect();
    let mut users = app.store.users().get_many(&caller.org_id, &ids).await?;
    users.retain(|u| u.visible_to(caller));
    users.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(users)
}
