//! Grant resolution against the store: loads a dashboard with the grants that match the
//! caller and applies the policy.

use super::{Access, Permission, authorize, effective_access, subjects_of};
use crate::domain::dashboard::Dashboard;
use crate::domain::{Error, Principal, Result, names, now_micros};
use crate::store::DashboardRepo;

#[derive(Clone)]
pub struct Authorizer {
    dashboards: DashboardRepo,
}

impl Authorizer {
    pub fn new(dashboards: DashboardRepo) -> Self {
        Self { dashboards }
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
        let dashboard = self
            .dashboards
            .get(&principal.org_id, id)
            .await?
            .ok_or_else(|| Error::not_found(&resource))?;
        let access = self.access(principal, &dashboard).await?;
        authorize(&access, needed, &resource)?;
        Ok((dashboard, access))
    }

    /// The caller's access on an already-loaded dashboard.
    pub async fn access(&self, principal: &Principal, dashboard: &Dashboard) -> Result<Access> {
        let grants = if principal.org_id == dashboard.org_id {
            self.dashboards
                .matching_grants(
                    std::slice::from_ref(&dashboard.id),
                    &self.subjects(principal),
                )
                .await?
        } else {
            Vec::new()
        };
        Ok(effective_access(
            principal,
            &dashboard.org_id,
            grants,
            now_micros(),
        ))
    }

    /// Access on many dashboards with one grants query, in the order given.
    pub async fn access_many(
        &self,
        principal: &Principal,
        dashboards: &[Dashboard],
    ) -> Result<Vec<Access>> {
        let ids: Vec<String> = dashboards.iter().map(|d| d.id.clone()).collect();
        let grants = self
            .dashboards
            .matching_grants(&ids, &self.subjects(principal))
            .await?;
        let now = now_micros();
        Ok(dashboards
            .iter()
            .map(|d| {
                let mine = grants
                    .iter()
                    .filter(|g| g.dashboard_id == d.id)
                    .cloned()
                    .collect();
                effective_access(principal, &d.org_id, mine, now)
            })
            .collect())
    }

    /// The subjects the caller answers to. Group membership joins here with the directory.
    pub fn subjects(&self, principal: &Principal) -> Vec<super::Subject> {
        subjects_of(principal, &[])
    }
}
