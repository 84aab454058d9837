//! Grant resolution against the store: loads what a decision needs (the dashboard, the
//! caller's groups, the matching grants, the custom roles they name) and applies the policy.

use crate::core::authz::{
    Access, BuiltinRole, Grant, Permission, RoleBook, Subject, authorize, effective_access,
    subjects_of,
};
use crate::core::dashboard::Dashboard;
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
            let (dashboard, grants) = self
                .store
                .dashboards()
                .get_with_grants(principal, id)
                .await?
                .ok_or_else(not_found)?;
            let access = self
                .decide(principal, std::slice::from_ref(&dashboard), &grants)
                .await?
                .pop()
                .ok_or_else(|| Error::internal("access resolution lost a dashboard"))?;
            (dashboard, access)
        };
        authorize(&access, needed, &resource)?;
        Ok((dashboard, access))
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
        let grants = if ids.is_empty() || !needs_grants {
            Vec::new()
        } else {
            self.store.dashboards().grants_for(&ids, principal).await?
        };
        self.decide(principal, dashboards, &grants).await
    }

    /// The policy applied to loaded grants: each dashboard's access, in the order given.
    async fn decide(
        &self,
        principal: &Principal,
        dashboards: &[Dashboard],
        grants: &[Grant],
    ) -> Result<Vec<Access>> {
        let roles = self.role_book(&principal.org_id, grants).await?;
        let now = now_micros();
        Ok(dashboards
            .iter()
            .map(|d| {
                let mine = grants
                    .iter()
                    .filter(|g| g.dashboard_id == d.id)
                    .cloned()
                    .collect();
                effective_access(principal, &d.org_id, mine, &roles, now)
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
