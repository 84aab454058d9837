//! Grant resolution against the store: loads what a decision needs (the dashboard, the
//! caller's groups, the matching grants, the custom roles they name) and applies the policy.

use std::collections::HashMap;

use crate::core::authz::{
    Access, BuiltinRole, ChainLink, Grant, Permission, RoleBook, ShareTarget, Subject, authorize,
    effective_access, inheritance, subjects_of,
};
use crate::core::dashboard::Dashboard;
use crate::core::folder::{Folder, folder_name};
use crate::core::{Error, Principal, Result, names, now_micros};
use crate::store::Store;

#[derive(Clone)]
pub struct Authorizer {
    store: Store,
}

impl Authorizer {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// The dashboard, if `principal` holds `needed` on it: NOT_FOUND when it does not exist
    /// for the caller (missing, other org, or no READ), PERMISSION_DENIED when it lacks
    /// `needed`.
    pub async fn dashboard(
        &self,
        principal: &Principal,
        id: &str,
        needed: Permission,
    ) -> Result<(Dashboard, Access)> {
        let resource = names::dashboard_name(id);
        let not_found = || Error::not_found(&resource);
        let (dashboard, access) = if principal.is_admin() {
            // An ADMIN's permissions need no grants.
            let dashboard = self
                .store
                .dashboards()
                .get(&principal.org_id, id)
                .await?
                .ok_or_else(not_found)?;
            let access = self.access(principal, &dashboard).await?;
            (dashboard, access)
        } else {
            // The dashboard and the caller's grants on it in one statement.
            let (dashboard, mut grants) = self
                .store
                .dashboards()
                .get_with_grants(principal, id)
                .await?
                .ok_or_else(not_found)?;
            let dashboards = std::slice::from_ref(&dashboard);
            let folders = inheriting_folders(dashboards);
            let chains = self.chains(&folders).await?;
            grants.extend(self.folder_grants(principal, &folders).await?);
            let access = self
                .decide(principal, dashboards, &grants, &chains)
                .await?
                .pop()
                .ok_or_else(|| Error::internal("access resolution lost a dashboard"))?;
            (dashboard, access)
        };
        authorize(&access, needed, &resource)?;
        Ok((dashboard, access))
    }

    /// The folder, if `principal` holds `needed` on it: NOT_FOUND when it does not exist for
    /// the caller (missing, other org, or no READ), PERMISSION_DENIED when it lacks `needed`.
    /// A folder's access is a dashboard's rule applied to the folder: its own shares and,
    /// unless it stops inheritance, those of the folders above it up to the first cut.
    pub async fn folder(
        &self,
        principal: &Principal,
        id: &str,
        needed: Permission,
    ) -> Result<(Folder, Access)> {
        let resource = folder_name(id);
        let folder = self
            .store
            .folders()
            .get(self.store.db(), &principal.org_id, id)
            .await?
            .ok_or_else(|| Error::not_found(&resource))?;
        let access = self.folder_access(principal, &folder, false).await?;
        authorize(&access, needed, &resource)?;
        Ok((folder, access))
    }

    /// The principal's access on an already-loaded folder; with `explain`, the grants that
    /// match it are read even for an ADMIN.
    pub async fn folder_access(
        &self,
        principal: &Principal,
        folder: &Folder,
        explain: bool,
    ) -> Result<Access> {
        let ids = [folder.id.clone()];
        let chains = self.chains(&ids).await?;
        let grants = if explain || !principal.is_admin() {
            self.folder_grants(principal, &ids).await?
        } else {
            Vec::new()
        };
        let roles = self.role_book(&principal.org_id, &grants).await?;
        let inheritance = folder_inheritance(folder, &chains);
        let mine = grants
            .into_iter()
            .filter(|g| inheritance.reaches(&g.on))
            .collect();
        Ok(effective_access(
            principal,
            &folder.org_id,
            mine,
            inheritance,
            &roles,
            now_micros(),
        ))
    }

    /// The principal's access on an already-loaded dashboard.
    pub async fn access(&self, principal: &Principal, dashboard: &Dashboard) -> Result<Access> {
        self.one(principal, dashboard, false).await
    }

    /// Like [`Self::access`], with the grants that match the principal even for an ADMIN
    /// (whose permissions need none): what CheckAccess explains.
    pub async fn explain(&self, principal: &Principal, dashboard: &Dashboard) -> Result<Access> {
        self.one(principal, dashboard, true).await
    }

    /// Like [`Self::access_many`], with the grants that match the principal even for an
    /// ADMIN: what BatchCheckAccess explains.
    pub async fn explain_many(
        &self,
        principal: &Principal,
        dashboards: &[Dashboard],
    ) -> Result<Vec<Access>> {
        self.resolve(principal, dashboards, true).await
    }

    /// Access on many dashboards with one grants query, in the order given.
    pub async fn access_many(
        &self,
        principal: &Principal,
        dashboards: &[Dashboard],
    ) -> Result<Vec<Access>> {
        self.resolve(principal, dashboards, false).await
    }

    async fn one(
        &self,
        principal: &Principal,
        dashboard: &Dashboard,
        explain: bool,
    ) -> Result<Access> {
        let mut all = self
            .resolve(principal, std::slice::from_ref(dashboard), explain)
            .await?;
        all.pop()
            .ok_or_else(|| Error::internal("access resolution lost a dashboard"))
    }

    async fn resolve(
        &self,
        principal: &Principal,
        dashboards: &[Dashboard],
        explain: bool,
    ) -> Result<Vec<Access>> {
        // An ADMIN's permissions do not depend on grants: read them only to explain.
        let needs_grants = explain || !principal.is_admin();
        let ids: Vec<String> = dashboards
            .iter()
            .filter(|d| d.org_id == principal.org_id)
            .map(|d| d.id.clone())
            .collect();
        let mut grants = Vec::new();
        let mut chains = HashMap::new();
        if !ids.is_empty() && needs_grants {
            let mine: Vec<Dashboard> = dashboards
                .iter()
                .filter(|d| d.org_id == principal.org_id)
                .cloned()
                .collect();
            let folders = inheriting_folders(&mine);
            chains = self.chains(&folders).await?;
            grants = self.store.dashboards().grants_for(&ids, principal).await?;
            grants.extend(self.folder_grants(principal, &folders).await?);
        }
        self.decide(principal, dashboards, &grants, &chains).await
    }

    /// The chains (the folder and those above it) of the given folders.
    async fn chains(&self, folders: &[String]) -> Result<HashMap<String, Vec<ChainLink>>> {
        self.store.folders().chains(self.store.db(), folders).await
    }

    /// The shares on the given folders and the folders above them that apply to the
    /// principal.
    async fn folder_grants(&self, principal: &Principal, folders: &[String]) -> Result<Vec<Grant>> {
        self.store
            .folders()
            .grants_above(self.store.db(), principal, folders)
            .await
    }

    /// The policy applied to loaded grants and chains: each dashboard's access, in the order
    /// given.
    async fn decide(
        &self,
        principal: &Principal,
        dashboards: &[Dashboard],
        grants: &[Grant],
        chains: &HashMap<String, Vec<ChainLink>>,
    ) -> Result<Vec<Access>> {
        let roles = self.role_book(&principal.org_id, grants).await?;
        let now = now_micros();
        Ok(dashboards
            .iter()
            .map(|d| {
                let inheritance = dashboard_inheritance(d, chains);
                let mine = grants
                    .iter()
                    .filter(|g| inheritance.reaches(&g.on))
                    .cloned()
                    .collect();
                effective_access(principal, &d.org_id, mine, inheritance, &roles, now)
            })
            .collect())
    }

    /// The subjects the principal answers to, its groups included.
    pub async fn subjects(&self, principal: &Principal) -> Result<Vec<Subject>> {
        let groups = self.store.groups().group_ids_of(principal).await?;
        Ok(subjects_of(principal, &groups))
    }

    /// The permission sets of every role the grants name.
    pub async fn role_book(&self, org_id: &str, grants: &[Grant]) -> Result<RoleBook> {
        let mut custom: Vec<String> = grants
            .iter()
            .filter(|g| BuiltinRole::from_name(&g.role).is_none())
            .map(|g| g.role.clone())
            .collect();
        custom.sort();
        custom.dedup();
        Ok(RoleBook::new(
            self.store.roles().permissions_of(org_id, &custom).await?,
        ))
    }
}

/// The folders holding the given dashboards that pass their shares on to them (a dashboard
/// that stops inheritance reads none), each once.
fn inheriting_folders(dashboards: &[Dashboard]) -> Vec<String> {
    let mut folders: Vec<String> = dashboards
        .iter()
        .filter(|d| d.inherit_access)
        .filter_map(|d| d.folder_id.clone())
        .collect();
    folders.sort();
    folders.dedup();
    folders
}

/// Where the shares that count for `dashboard` sit, from the chains of its folder.
pub fn dashboard_inheritance(
    dashboard: &Dashboard,
    chains: &HashMap<String, Vec<ChainLink>>,
) -> crate::core::authz::Inheritance {
    let chain = dashboard
        .folder_id
        .as_ref()
        .and_then(|f| chains.get(f))
        .map(Vec::as_slice)
        .unwrap_or_default();
    inheritance(
        ShareTarget::Dashboard(dashboard.id.clone()),
        dashboard.inherit_access,
        chain,
    )
}

/// Where the shares that count for `folder` sit: its own, and those of the folders above it
/// (its chain without itself) unless it stops inheritance.
pub fn folder_inheritance(
    folder: &Folder,
    chains: &HashMap<String, Vec<ChainLink>>,
) -> crate::core::authz::Inheritance {
    let above = chains
        .get(&folder.id)
        .map(|chain| chain.get(1..).unwrap_or_default())
        .unwrap_or_default();
    inheritance(
        ShareTarget::Folder(folder.id.clone()),
        folder.inherit_access,
        above,
    )
}
