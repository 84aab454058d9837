//! Grant resolution against the store: loads what a decision needs (the dashboard, the
//! caller's groups, the matching grants, the custom roles they name) and applies the policy.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Arc;

use crate::core::authz::{
    Access, BuiltinRole, ChainLink, Grant, Permission, RoleBook, ShareTarget, Subject, authorize,
    effective_access, inheritance, subjects_of,
};
use crate::core::dashboard::Dashboard;
use crate::core::folder::{Folder, folder_name};
use crate::core::{Error, Principal, Result, names, now_micros};
use crate::store::Store;
use crate::store::dashboards::DashboardWithGrants;

use super::facts::{ChainShares, FactCache, FastMap, GrantIndex, UserKey};

#[derive(Clone)]
pub struct Authorizer {
    store: Store,
    /// The facts decisions read, kept between calls (`None`: every fact is read).
    facts: Option<FactCache>,
}

impl Authorizer {
    pub fn new(store: Store, facts: Option<FactCache>) -> Self {
        Self { store, facts }
    }

    /// The same policy on facts read from the database now, never cached: for a write's
    /// decisions, which must not rest on another replica's news arriving.
    pub fn fresh(&self) -> Self {
        Self {
            store: self.store.clone(),
            facts: None,
        }
    }

    /// The cache with `org_id`'s revision, read once for all the facts of one call.
    async fn at(&self, org_id: &str) -> Result<At<'_>> {
        Ok(match &self.facts {
            Some(cache) => Some((cache, cache.revision(org_id).await?)),
            None => None,
        })
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
        let at = self.at(&principal.org_id).await?;
        let found = self
            .with_grants_at(at, &principal.org_id, &[id.to_string()])
            .await?
            .remove(id)
            .ok_or_else(|| Error::not_found(&resource))?;
        let dashboard = found.dashboard.clone();
        let access = self
            .decide_with(
                at,
                principal,
                std::slice::from_ref(&dashboard),
                false,
                &[found],
            )
            .await?
            .pop()
            .ok_or_else(|| Error::internal("access resolution lost a dashboard"))?;
        authorize(&access, needed, &resource)?;
        Ok((dashboard, access))
    }

    /// The dashboards among `ids` that exist in `org_id`, in no particular order (from the
    /// fact cache where it holds them).
    pub async fn dashboards(&self, org_id: &str, ids: &[String]) -> Result<Vec<Dashboard>> {
        Ok(self
            .with_grants(org_id, ids)
            .await?
            .into_values()
            .map(|d| d.dashboard.clone())
            .collect())
    }

    /// The dashboards among `ids` that exist in `org_id`, each with every grant on it and its
    /// labels: from the fact cache where it holds them, the rest in one statement.
    pub async fn with_grants(
        &self,
        org_id: &str,
        ids: &[String],
    ) -> Result<HashMap<String, Arc<DashboardWithGrants>>> {
        self.with_grants_at(self.at(org_id).await?, org_id, ids)
            .await
    }

    async fn with_grants_at(
        &self,
        at: At<'_>,
        org_id: &str,
        ids: &[String],
    ) -> Result<HashMap<String, Arc<DashboardWithGrants>>> {
        let Some((cache, revision)) = at else {
            return self.load_with_grants(org_id, ids).await;
        };
        let load = |missing: Vec<String>| async move {
            let loaded = self.load_with_grants(org_id, &missing).await?;
            Ok(loaded.into_iter().map(|(id, d)| (id, Some(d))).collect())
        };
        let found = cache
            .many(cache.dashboards(), org_id, ids, revision, load, || None)
            .await?;
        Ok(found
            .into_iter()
            .filter_map(|(id, d)| d.map(|d| (id, d)))
            .collect())
    }

    /// [`Self::with_grants`] read from the database.
    async fn load_with_grants(
        &self,
        org_id: &str,
        ids: &[String],
    ) -> Result<HashMap<String, Arc<DashboardWithGrants>>> {
        let mut loaded = self.store.dashboards().with_all_grants(org_id, ids).await?;
        let loaded_ids: Vec<String> = loaded.iter().map(|d| d.dashboard.id.clone()).collect();
        let mut labels = self
            .store
            .labels()
            .names_on(self.store.db(), org_id, &loaded_ids)
            .await?;
        for d in &mut loaded {
            d.dashboard.labels = Some(labels.remove(&d.dashboard.id).unwrap_or_default());
        }
        Ok(loaded
            .into_iter()
            .map(|d| (d.dashboard.id.clone(), Arc::new(d)))
            .collect())
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
        let at = self.at(&principal.org_id).await?;
        let ids = [folder.id.clone()];
        let chains = self.chains(at, &principal.org_id, &ids).await?;
        let grants = if explain || !principal.is_admin() {
            let subjects = self.subjects_at(at, principal).await?;
            self.folder_grants(at, principal, &subjects, &ids, &chains)
                .await?
        } else {
            Vec::new()
        };
        let roles = self.role_book_at(at, &principal.org_id, &grants).await?;
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

    /// The dashboards among `ids` that exist in the principal's org, with its access on
    /// each (in the same order), from one read of their facts: what BatchCheckAccess asks
    /// first.
    pub async fn dashboards_with_access(
        &self,
        principal: &Principal,
        ids: &[String],
    ) -> Result<(Vec<Dashboard>, Vec<Access>)> {
        let at = self.at(&principal.org_id).await?;
        let loaded: Vec<Arc<DashboardWithGrants>> = self
            .with_grants_at(at, &principal.org_id, ids)
            .await?
            .into_values()
            .collect();
        let dashboards: Vec<Dashboard> = loaded.iter().map(|d| d.dashboard.clone()).collect();
        let access = self
            .decide_with(at, principal, &dashboards, false, &loaded)
            .await?;
        Ok((dashboards, access))
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
        let at = self.at(&principal.org_id).await?;
        let ids: Vec<String> = dashboards
            .iter()
            .filter(|d| d.org_id == principal.org_id)
            .map(|d| d.id.clone())
            .collect();
        let loaded: Vec<Arc<DashboardWithGrants>> =
            if needs_grants(principal, explain) && !ids.is_empty() {
                self.with_grants_at(at, &principal.org_id, &ids)
                    .await?
                    .into_values()
                    .collect()
            } else {
                Vec::new()
            };
        self.decide_with(at, principal, dashboards, explain, &loaded)
            .await
    }

    /// The policy applied to `dashboards`, with the grants on them from `loaded` (those of the
    /// dashboards given, every grantee's) and those of the folders above them.
    async fn decide_with(
        &self,
        at: At<'_>,
        principal: &Principal,
        dashboards: &[Dashboard],
        explain: bool,
        loaded: &[Arc<DashboardWithGrants>],
    ) -> Result<Vec<Access>> {
        let mut grants = Vec::new();
        let mut chains = Chains::default();
        if needs_grants(principal, explain) {
            let subjects = self.subjects_at(at, principal).await?;
            for d in loaded {
                grants.extend(d.grants.iter().filter(|g| applies(g, &subjects)).cloned());
            }
            let folders =
                inheriting_folders(dashboards.iter().filter(|d| d.org_id == principal.org_id));
            chains = self.chains(at, &principal.org_id, &folders).await?;
            grants.extend(
                self.folder_grants(at, principal, &subjects, &folders, &chains)
                    .await?,
            );
        }
        let roles = self.role_book_at(at, &principal.org_id, &grants).await?;
        Ok(decide(principal, dashboards, &grants, &chains, &roles))
    }

    /// The chains (the folder and those above it) of the given folders: from the fact cache
    /// where it holds them, the rest in one statement.
    async fn chains(&self, at: At<'_>, org_id: &str, folders: &[String]) -> Result<Chains> {
        let Some((cache, revision)) = at else {
            let read = self
                .store
                .folders()
                .chains(self.store.db(), folders)
                .await?;
            return Ok(read.into_iter().map(|(id, c)| (id, c.into())).collect());
        };
        let load = |missing: Vec<String>| async move {
            let loaded = self
                .store
                .folders()
                .chains(self.store.db(), &missing)
                .await?;
            Ok(loaded.into_iter().map(|(id, c)| (id, c.into())).collect())
        };
        // A folder gone from the tree has no chain: kept as such.
        let found = cache
            .many(
                cache.chains(),
                org_id,
                folders,
                revision,
                load,
                Default::default,
            )
            .await?;
        Ok(found)
    }

    /// The shares on the given folders and the folders above them (`chains`, the caller's
    /// [`Self::chains`] of `folders`) that apply to `subjects` (the principal's).
    async fn folder_grants(
        &self,
        at: At<'_>,
        principal: &Principal,
        subjects: &[Subject],
        folders: &[String],
        chains: &Chains,
    ) -> Result<Vec<Grant>> {
        let org_id = &principal.org_id;
        let Some((cache, revision)) = at else {
            return self
                .store
                .folders()
                .grants_above(self.store.db(), principal, folders)
                .await;
        };
        // Each folder's chain with the shares on every folder of it: one lookup per folder
        // holding a dashboard, not one per folder above it.
        let load = |missing: Vec<String>| async move {
            let mut above: Vec<String> = missing
                .iter()
                .filter_map(|leaf| chains.get(leaf))
                .flat_map(|chain| chain.iter())
                .map(|link| link.folder_id.clone())
                .collect();
            above.sort();
            above.dedup();
            let load_shares = |missing: Vec<String>| async move {
                let mut by_folder: HashMap<String, Vec<Grant>> = HashMap::new();
                for g in self
                    .store
                    .folders()
                    .grants_on(self.store.db(), org_id, &missing)
                    .await?
                {
                    if let ShareTarget::Folder(f) = &g.on {
                        by_folder.entry(f.clone()).or_default().push(g);
                    }
                }
                Ok(by_folder
                    .into_iter()
                    .map(|(id, grants)| (id, Arc::new(GrantIndex::new(grants))))
                    .collect())
            };
            let shares = cache
                .many(
                    cache.folder_grants(),
                    org_id,
                    &above,
                    revision,
                    load_shares,
                    Default::default,
                )
                .await?;
            Ok(missing
                .into_iter()
                .map(|leaf| {
                    let along: ChainShares = chains
                        .get(&leaf)
                        .into_iter()
                        .flat_map(|chain| chain.iter())
                        .map(|link| shares.get(&link.folder_id).cloned().unwrap_or_default())
                        .collect();
                    (leaf, along)
                })
                .collect())
        };
        let shares = cache
            .many(
                cache.chain_shares(),
                org_id,
                folders,
                revision,
                load,
                Default::default,
            )
            .await?;
        // Every folder of the chains once, in folder order, so that explanations list them
        // the same way every time.
        let mut reached: Vec<(&str, &GrantIndex)> = folders
            .iter()
            .filter_map(|leaf| Some((chains.get(leaf)?, shares.get(leaf)?)))
            .flat_map(|(chain, along)| {
                chain
                    .iter()
                    .zip(along.iter())
                    .map(|(link, index)| (link.folder_id.as_str(), index.as_ref()))
            })
            .collect();
        reached.sort_unstable_by(|a, b| a.0.cmp(b.0));
        reached.dedup_by(|a, b| a.0 == b.0);
        Ok(reached
            .into_iter()
            .flat_map(|(_, index)| index.given_to(subjects).cloned())
            .collect())
    }

    /// The subjects the principal answers to, its groups included.
    pub async fn subjects(&self, principal: &Principal) -> Result<Vec<Subject>> {
        self.subjects_at(self.at(&principal.org_id).await?, principal)
            .await
    }

    async fn subjects_at(&self, at: At<'_>, principal: &Principal) -> Result<Vec<Subject>> {
        let load = || async { Ok(Arc::new(self.store.groups().group_ids_of(principal).await?)) };
        let groups = match at {
            Some((cache, revision)) => {
                cache
                    .one(cache.groups(), user_key(principal), revision, load)
                    .await?
            }
            None => load().await?,
        };
        Ok(subjects_of(principal, &groups))
    }

    /// The permission sets of every role the grants name.
    pub async fn role_book<'g>(
        &self,
        org_id: &str,
        grants: impl IntoIterator<Item = &'g Grant>,
    ) -> Result<RoleBook> {
        self.role_book_at(self.at(org_id).await?, org_id, grants)
            .await
    }

    async fn role_book_at<'g>(
        &self,
        at: At<'_>,
        org_id: &str,
        grants: impl IntoIterator<Item = &'g Grant>,
    ) -> Result<RoleBook> {
        let mut custom: Vec<String> = grants
            .into_iter()
            .filter(|g| BuiltinRole::from_name(&g.role).is_none())
            .map(|g| g.role.clone())
            .collect();
        custom.sort();
        custom.dedup();
        if custom.is_empty() {
            return Ok(RoleBook::default());
        }
        let Some((cache, revision)) = at else {
            return Ok(RoleBook::new(
                self.store.roles().permissions_of(org_id, &custom).await?,
            ));
        };
        let load = || async { Ok(Arc::new(self.store.roles().all_permissions(org_id).await?)) };
        let all = cache
            .one(cache.roles(), org_id.to_string(), revision, load)
            .await?;
        Ok(RoleBook::new(
            custom
                .into_iter()
                .filter_map(|name| all.get(&name).map(|p| (name, *p)))
                .collect(),
        ))
    }
}

/// The fact cache with the org's revision as this call read it once (`None`: no cache).
type At<'a> = Option<(&'a FactCache, i64)>;

/// Folders' chains by folder id, shared with the fact cache rather than copied per call.
type Chains = FastMap<String, Arc<[ChainLink]>>;

/// Whether a decision reads grants: an ADMIN's permissions do not depend on them, so only
/// to explain.
fn needs_grants(principal: &Principal, explain: bool) -> bool {
    explain || !principal.is_admin()
}

/// The policy applied to loaded grants and chains: each dashboard's access, in the order
/// given.
fn decide(
    principal: &Principal,
    dashboards: &[Dashboard],
    grants: &[Grant],
    chains: &Chains,
    roles: &RoleBook,
) -> Vec<Access> {
    let now = now_micros();
    // Where each grant sits, so that each dashboard reads only the grants on its own
    // targets (a batch of 100 compared every grant with every dashboard's chain).
    let mut at: HashMap<&ShareTarget, Vec<usize>> = HashMap::new();
    for (i, g) in grants.iter().enumerate() {
        at.entry(&g.on).or_default().push(i);
    }
    dashboards
        .iter()
        .map(|d| {
            let inheritance = dashboard_inheritance(d, chains);
            let mut found: Vec<usize> = at
                .get(&inheritance.resource)
                .into_iter()
                .flatten()
                .copied()
                .collect();
            for folder in &inheritance.folders {
                found.extend(
                    at.get(&ShareTarget::Folder(folder.clone()))
                        .into_iter()
                        .flatten()
                        .copied(),
                );
            }
            // In the order given, as before.
            found.sort_unstable();
            found.dedup();
            let mine = found
                .into_iter()
                .filter_map(|i| grants.get(i).cloned())
                .collect();
            effective_access(principal, &d.org_id, mine, inheritance, roles, now)
        })
        .collect()
}

/// The fact cache's key of a principal's own facts.
pub fn user_key(principal: &Principal) -> UserKey {
    (
        principal.org_id.clone(),
        principal.user_id.clone(),
        principal.tenant_id.clone(),
    )
}

/// Whether `grant` is given to one of `subjects` (what `store::dashboards::applies_to` asks
/// in SQL).
fn applies(grant: &Grant, subjects: &[Subject]) -> bool {
    subjects
        .iter()
        .any(|s| s.kind == grant.kind && s.id == grant.grantee_id)
}

/// The folders holding the given dashboards that pass their shares on to them (a dashboard
/// that stops inheritance reads none), each once.
fn inheriting_folders<'a>(dashboards: impl Iterator<Item = &'a Dashboard>) -> Vec<String> {
    let mut folders: Vec<String> = dashboards
        .filter(|d| d.inherit_access)
        .filter_map(|d| d.folder_id.clone())
        .collect();
    folders.sort();
    folders.dedup();
    folders
}

/// Where the shares that count for `dashboard` sit, from the chains of its folder.
pub fn dashboard_inheritance<C: AsRef<[ChainLink]>, S: BuildHasher>(
    dashboard: &Dashboard,
    chains: &HashMap<String, C, S>,
) -> crate::core::authz::Inheritance {
    let chain = dashboard
        .folder_id
        .as_ref()
        .and_then(|f| chains.get(f))
        .map(AsRef::as_ref)
        .unwrap_or_default();
    inheritance(
        ShareTarget::Dashboard(dashboard.id.clone()),
        dashboard.inherit_access,
        chain,
    )
}

/// Where the shares that count for `folder` sit: its own, and those of the folders above it
/// (its chain without itself) unless it stops inheritance.
pub fn folder_inheritance<C: AsRef<[ChainLink]>, S: BuildHasher>(
    folder: &Folder,
    chains: &HashMap<String, C, S>,
) -> crate::core::authz::Inheritance {
    let above = chains
        .get(&folder.id)
        .map(|chain| chain.as_ref().get(1..).unwrap_or_default())
        .unwrap_or_default();
    inheritance(
        ShareTarget::Folder(folder.id.clone()),
        folder.inherit_access,
        above,
    )
}
