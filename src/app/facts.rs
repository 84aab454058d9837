//! The per-replica cache of the facts access decisions read (issue 17): users' directory
//! rows, their groups and stars, dashboards with every grant on them, folders' chains with
//! every share on them, and the org's custom roles. Facts, never decisions: the policy
//! (`core::authz`) still decides on every call, from these.
//!
//! **Validity.** Every entry is tagged with its org's revision as this replica knew it
//! ([`Watermarks`]) *before* the entry was read from the database, and is used only while
//! the org is still at that revision here. Every write bumps the org's revision in its own
//! transaction and raises the watermark after committing, before it answers; so:
//! - on SQLite (one process owns the file) the cache is exact: the call after a write finds
//!   the watermark raised and reads again;
//! - on PostgreSQL another replica's write raises the watermark here when its NOTIFY arrives
//!   (`server::notify`, about 100 ms), and a call carrying `x-dashboards-min-revision`
//!   raises it before it runs (`freshness`), so a read that names the write's revision never
//!   sees older facts. Entries are also read again after [`FactCache::max_age`] (a setting,
//!   0.5 s by default on PostgreSQL), which bounds staleness should notifications be lost.
//!
//! Facts that change with time alone carry when they do (`valid_until`): a public link's
//! expiry. Grants' expiries need none: the policy reads them with the clock.
//!
//! The cost is that any write of an org sets its entries aside; a busy org's readers then
//! miss more. Bounded memory: each kind of fact has its share of `FACT_CACHE_MIB`, weighed by
//! approximate bytes.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus::IntCounterVec;

use super::freshness::Watermarks;
use crate::core::authz::{ChainLink, Grant, GranteeKind, PermissionSet, Subject};
use crate::core::directory::User;
use crate::core::{Micros, now_micros};
use crate::store::dashboards::DashboardWithGrants;

/// The name of the lookups counter (labels `fact` and `result`: `hit` or `miss`).
pub const LOOKUPS: &str = "dashboards_fact_cache_lookups_total";

/// A fact as read, with what decides whether it may still be used.
pub struct Tagged<T> {
    revision: i64,
    read_at: Instant,
    valid_until: Option<Micros>,
    pub value: T,
}

/// Grants by grantee: a caller's few subjects find theirs without reading the others (a
/// folder near the root may carry thousands).
#[derive(Debug, Clone, Default)]
pub struct GrantIndex {
    by_grantee: HashMap<(GranteeKind, String), Vec<Grant>>,
    len: usize,
}

impl GrantIndex {
    pub fn new(grants: Vec<Grant>) -> Self {
        let len = grants.len();
        let mut by_grantee: HashMap<(GranteeKind, String), Vec<Grant>> = HashMap::new();
        for g in grants {
            by_grantee
                .entry((g.kind, g.grantee_id.clone()))
                .or_default()
                .push(g);
        }
        Self { by_grantee, len }
    }

    /// The grants given to any of `subjects`.
    pub fn given_to<'a>(&'a self, subjects: &'a [Subject]) -> impl Iterator<Item = &'a Grant> {
        subjects
            .iter()
            .filter_map(|s| self.by_grantee.get(&(s.kind, s.id.clone())))
            .flatten()
    }
}

pub type UserKey = (String, String, Option<String>);
type IdKey = (String, String);

/// One kind of fact.
struct Shelf<K, T> {
    name: &'static str,
    entries: moka::sync::Cache<K, Arc<Tagged<T>>>,
}

impl<K, T> Shelf<K, T>
where
    K: Hash + Eq + Send + Sync + 'static,
    T: Send + Sync + 'static,
{
    fn new(name: &'static str, bytes: u64, weigh: fn(&T) -> usize) -> Self {
        Self {
            name,
            entries: moka::sync::Cache::builder()
                .max_capacity(bytes)
                .weigher(move |_: &K, t: &Arc<Tagged<T>>| {
                    u32::try_from(weigh(&t.value).saturating_add(96)).unwrap_or(u32::MAX)
                })
                .build(),
        }
    }
}

/// Rough sizes, for the weigher.
fn grant_bytes(grants: &[Grant]) -> usize {
    grants.len() * 200
}

#[derive(Clone)]
pub struct FactCache {
    inner: Arc<Inner>,
}

struct Inner {
    watermarks: Watermarks,
    max_age: Option<Duration>,
    users: Shelf<UserKey, Option<User>>,
    groups: Shelf<UserKey, Vec<String>>,
    stars: Shelf<UserKey, (u64, Arc<HashSet<String>>)>,
    /// Starring appends nothing to the log (no revision): each star or unstar here bumps
    /// this instead, and a user's stars are used only if read since the last bump (so
    /// exact on one replica; elsewhere within `max_age`).
    stars_epoch: std::sync::atomic::AtomicU64,
    dashboards: Shelf<IdKey, Option<Arc<DashboardWithGrants>>>,
    chains: Shelf<IdKey, Arc<Vec<ChainLink>>>,
    folder_grants: Shelf<IdKey, Arc<GrantIndex>>,
    roles: Shelf<String, Arc<HashMap<String, PermissionSet>>>,
    labels: Shelf<IdKey, Vec<String>>,
    lookups: Option<IntCounterVec>,
}

impl FactCache {
    /// A cache of about `mib` MiB checked against `watermarks`; entries are read again after
    /// `max_age` when given (PostgreSQL).
    pub fn new(watermarks: Watermarks, mib: u64, max_age: Option<Duration>) -> Self {
        let bytes = mib.saturating_mul(1024 * 1024);
        let share = |percent: u64| bytes / 100 * percent;
        let lookups = IntCounterVec::new(
            prometheus::Opts::new(
                LOOKUPS,
                "Lookups of the per-replica cache of access facts, by fact and result (hit, \
                 miss).",
            ),
            &["fact", "result"],
        )
        // Constant options: it cannot fail; if it ever did, the cache would work uncounted.
        .ok();
        Self {
            inner: Arc::new(Inner {
                watermarks,
                max_age,
                users: Shelf::new("user", share(10), |_| 200),
                groups: Shelf::new("groups", share(10), |g| g.len() * 40),
                stars: Shelf::new("stars", share(10), |s| s.1.len() * 40),
                stars_epoch: std::sync::atomic::AtomicU64::new(0),
                dashboards: Shelf::new("dashboard", share(40), |d| {
                    d.as_ref().map_or(0, |d| {
                        600 + grant_bytes(&d.grants) + d.dashboard.metadata.len()
                    })
                }),
                chains: Shelf::new("chain", share(5), |c| c.len() * 48),
                folder_grants: Shelf::new("folder_grants", share(15), |g| g.len * 240),
                roles: Shelf::new("roles", share(5), |r| r.len() * 64),
                labels: Shelf::new("labels", share(5), |l| l.len() * 48),
                lookups,
            }),
        }
    }

    /// The lookups counter, for the metrics registry.
    pub fn lookups(&self) -> Option<IntCounterVec> {
        self.inner.lookups.clone()
    }

    /// How long an entry may be used at most (PostgreSQL), whatever the watermark says.
    pub fn max_age(&self) -> Option<Duration> {
        self.inner.max_age
    }

    /// The org's revision as known here: what a fact about to be read is tagged with.
    pub fn revision(&self, org_id: &str) -> i64 {
        self.inner.watermarks.get(org_id)
    }

    fn usable<T>(&self, tagged: &Tagged<T>, revision: i64, now: Micros) -> bool {
        tagged.revision == revision
            && tagged.valid_until.is_none_or(|t| t > now)
            && self
                .inner
                .max_age
                .is_none_or(|age| tagged.read_at.elapsed() < age)
    }

    fn count(&self, fact: &str, hit: bool) {
        if let Some(lookups) = &self.inner.lookups {
            lookups
                .with_label_values(&[fact, if hit { "hit" } else { "miss" }])
                .inc();
        }
    }

    fn lookup<K, T>(&self, shelf: &Shelf<K, T>, key: &K, revision: i64) -> Option<Arc<Tagged<T>>>
    where
        K: Hash + Eq + Send + Sync + 'static,
        T: Send + Sync + 'static,
    {
        let now = now_micros();
        let found = shelf
            .entries
            .get(key)
            .filter(|t| self.usable(t, revision, now));
        self.count(shelf.name, found.is_some());
        found
    }

    fn keep<K, T>(
        shelf: &Shelf<K, T>,
        key: K,
        revision: i64,
        valid_until: Option<Micros>,
        value: T,
    ) -> Arc<Tagged<T>>
    where
        K: Hash + Eq + Send + Sync + 'static,
        T: Send + Sync + 'static,
    {
        let tagged = Arc::new(Tagged {
            revision,
            read_at: Instant::now(),
            valid_until,
            value,
        });
        shelf.entries.insert(key, tagged.clone());
        tagged
    }

    pub fn user(&self, key: &UserKey, revision: i64) -> Option<Arc<Tagged<Option<User>>>> {
        self.lookup(&self.inner.users, key, revision)
    }

    pub fn keep_user(&self, key: UserKey, revision: i64, user: Option<User>) {
        Self::keep(&self.inner.users, key, revision, None, user);
    }

    pub fn groups(&self, key: &UserKey, revision: i64) -> Option<Arc<Tagged<Vec<String>>>> {
        self.lookup(&self.inner.groups, key, revision)
    }

    pub fn keep_groups(&self, key: UserKey, revision: i64, groups: Vec<String>) {
        Self::keep(&self.inner.groups, key, revision, None, groups);
    }

    /// The epoch of stars a read about to happen is tagged with.
    pub fn stars_epoch(&self) -> u64 {
        self.inner
            .stars_epoch
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// Says that some user's stars changed (after the star's commit).
    pub fn stars_changed(&self) {
        self.inner
            .stars_epoch
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    pub fn stars(&self, key: &UserKey, revision: i64, epoch: u64) -> Option<Arc<HashSet<String>>> {
        self.lookup(&self.inner.stars, key, revision)
            .filter(|t| t.value.0 == epoch)
            .map(|t| t.value.1.clone())
    }

    pub fn keep_stars(&self, key: UserKey, revision: i64, epoch: u64, stars: Arc<HashSet<String>>) {
        Self::keep(&self.inner.stars, key, revision, None, (epoch, stars));
    }

    /// The dashboard `id` of `org_id` with its grants: `Some(None)` when it is known not to
    /// exist there.
    pub fn dashboard(
        &self,
        org_id: &str,
        id: &str,
        revision: i64,
    ) -> Option<Option<Arc<DashboardWithGrants>>> {
        self.lookup(
            &self.inner.dashboards,
            &(org_id.to_string(), id.to_string()),
            revision,
        )
        .map(|t| t.value.clone())
    }

    pub fn keep_dashboard(
        &self,
        org_id: &str,
        id: &str,
        revision: i64,
        found: Option<Arc<DashboardWithGrants>>,
    ) {
        let valid_until = found.as_ref().and_then(|d| d.public_changes_at);
        Self::keep(
            &self.inner.dashboards,
            (org_id.to_string(), id.to_string()),
            revision,
            valid_until,
            found,
        );
    }

    pub fn chain(&self, org_id: &str, id: &str, revision: i64) -> Option<Arc<Vec<ChainLink>>> {
        self.lookup(
            &self.inner.chains,
            &(org_id.to_string(), id.to_string()),
            revision,
        )
        .map(|t| t.value.clone())
    }

    pub fn keep_chain(&self, org_id: &str, id: &str, revision: i64, chain: Arc<Vec<ChainLink>>) {
        Self::keep(
            &self.inner.chains,
            (org_id.to_string(), id.to_string()),
            revision,
            None,
            chain,
        );
    }

    /// Every share on folder `id` itself.
    pub fn folder_grants(&self, org_id: &str, id: &str, revision: i64) -> Option<Arc<GrantIndex>> {
        self.lookup(
            &self.inner.folder_grants,
            &(org_id.to_string(), id.to_string()),
            revision,
        )
        .map(|t| t.value.clone())
    }

    pub fn keep_folder_grants(
        &self,
        org_id: &str,
        id: &str,
        revision: i64,
        grants: Arc<GrantIndex>,
    ) {
        Self::keep(
            &self.inner.folder_grants,
            (org_id.to_string(), id.to_string()),
            revision,
            None,
            grants,
        );
    }

    /// The label names on dashboard `id`.
    pub fn labels(&self, org_id: &str, id: &str, revision: i64) -> Option<Vec<String>> {
        self.lookup(
            &self.inner.labels,
            &(org_id.to_string(), id.to_string()),
            revision,
        )
        .map(|t| t.value.clone())
    }

    pub fn keep_labels(&self, org_id: &str, id: &str, revision: i64, labels: Vec<String>) {
        Self::keep(
            &self.inner.labels,
            (org_id.to_string(), id.to_string()),
            revision,
            None,
            labels,
        );
    }

    pub fn roles(
        &self,
        org_id: &str,
        revision: i64,
    ) -> Option<Arc<HashMap<String, PermissionSet>>> {
        self.lookup(&self.inner.roles, &org_id.to_string(), revision)
            .map(|t| t.value.clone())
    }

    pub fn keep_roles(
        &self,
        org_id: &str,
        revision: i64,
        roles: Arc<HashMap<String, PermissionSet>>,
    ) {
        Self::keep(&self.inner.roles, org_id.to_string(), revision, None, roles);
    }
}
