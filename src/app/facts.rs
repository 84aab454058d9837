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
//!   sees older facts. And the watermark itself is confirmed against the database at
//!   least every `FACT_CACHE_MAX_AGE` (a setting, `max_age` here; 0.5 s by default on PostgreSQL): the
//!   first call after that reads the org's revision (one primary-key read), which bounds
//!   staleness should notifications be lost. Entries do not expire with age: an entry read
//!   at revision R is exact while the database is still at R, and confirming that costs one
//!   read per org, not a re-read of every fact (expiring entries by age made a hundred
//!   dashboards' facts expire together under every BatchCheckAccess in flight).
//!
//! Facts that change with time alone carry when they do (`valid_until`): a public link's
//! expiry. Grants' expiries need none: the policy reads them with the clock.
//!
//! The cost is that any write of an org sets its entries aside; a busy org's readers then
//! miss more. Bounded memory: each kind of fact has its share of `FACT_CACHE_MIB`, weighed by
//! approximate bytes.
//!
//! **Loads.** At most [`LOADS_PER_SHELF`] loads of one kind of fact run at a time, and a call
//! that waited for its turn looks again before it loads: a burst of calls missing the same
//! facts (a cold start, the first calls after a write) loads them about once instead of once
//! per call. Loading a hundred dashboards' folder shares is thousands of rows; sixteen
//! BatchCheckAccess calls loading them together held 150 MiB at once (measured).
//! Loads call the store, except a chain's shares, which are put together from the
//! folders' shares (`folder_grants`, whose loads call only the store): turns are always
//! taken in that order, so no load waits on itself.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use prometheus::{IntCounter, IntCounterVec};

use super::freshness::Watermarks;
use crate::core::authz::{ChainLink, Grant, GranteeKind, PermissionSet, Subject};
use crate::core::directory::User;
use crate::core::{Error, Micros, Result, now_micros};
use crate::store::Store;
use crate::store::dashboards::DashboardWithGrants;

/// The name of the lookups counter (labels `fact` and `result`: `hit` or `miss`).
pub const LOOKUPS: &str = "dashboards_fact_cache_lookups_total";

/// A fact as read, with what decides whether it may still be used.
struct Tagged<T> {
    revision: i64,
    /// Facts that take no revision (stars) are read again after `max_age` on PostgreSQL.
    stale_after: Option<Instant>,
    valid_until: Option<Micros>,
    value: T,
}

/// Grants by grantee: a caller's few subjects find theirs without reading the others (a
/// folder near the root may carry thousands). Keyed by kind, then id, so that a lookup
/// borrows the subject's id instead of building a key (BatchCheckAccess looks up a dozen
/// subjects in hundreds of folders per call).
#[derive(Debug, Clone, Default)]
pub struct GrantIndex {
    by_grantee: FastMap<GranteeKind, FastMap<String, Vec<Grant>>>,
    len: usize,
}

impl GrantIndex {
    pub fn new(grants: Vec<Grant>) -> Self {
        let len = grants.len();
        let mut by_grantee: FastMap<GranteeKind, FastMap<String, Vec<Grant>>> = FastMap::default();
        for g in grants {
            by_grantee
                .entry(g.kind)
                .or_default()
                .entry(g.grantee_id.clone())
                .or_default()
                .push(g);
        }
        Self { by_grantee, len }
    }

    /// The grants given to any of `subjects`.
    pub fn given_to<'a>(&'a self, subjects: &'a [Subject]) -> impl Iterator<Item = &'a Grant> {
        subjects
            .iter()
            .filter_map(|s| self.by_grantee.get(&s.kind)?.get(s.id.as_str()))
            .flatten()
    }
}

/// The shares on each folder of a chain, aligned with the chain's links (the same facts as
/// `folder_grants`, shared, not copied).
pub type ChainShares = Arc<[Arc<GrantIndex>]>;

/// A map with the fact cache's hasher (see `Cargo.toml`).
pub type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

pub type UserKey = (String, String, Option<String>);
/// A fact about one object of an org: `(org_id, id)`.
pub type IdKey = (String, String);

/// One kind of fact.
pub struct Shelf<K, T> {
    entries: moka::sync::Cache<K, Arc<Tagged<T>>, foldhash::fast::RandomState>,
    /// When a fact changes with time alone (none for most).
    valid_until: fn(&T) -> Option<Micros>,
    /// Whether its facts change without a revision (stars), so that on PostgreSQL they are
    /// read again after `max_age` whatever the watermark says.
    aged: bool,
    /// Turns to load (see the module comment).
    loads: tokio::sync::Semaphore,
    /// This shelf's hit and miss counters, resolved once (a label lookup per fact looked up
    /// cost more than the lookup itself).
    counters: Option<(IntCounter, IntCounter)>,
}

/// Loads of one kind of fact that may run at once.
const LOADS_PER_SHELF: usize = 2;

impl<K, T> Shelf<K, T>
where
    K: Hash + Eq + Send + Sync + 'static,
    T: Send + Sync + 'static,
{
    fn new(
        name: &'static str,
        bytes: u64,
        weigh: fn(&T) -> usize,
        lookups: Option<&IntCounterVec>,
    ) -> Self {
        let counters = lookups.and_then(|l| {
            Some((
                l.get_metric_with_label_values(&[name, "hit"]).ok()?,
                l.get_metric_with_label_values(&[name, "miss"]).ok()?,
            ))
        });
        Self {
            entries: moka::sync::Cache::builder()
                .max_capacity(bytes)
                .weigher(move |_: &K, t: &Arc<Tagged<T>>| {
                    u32::try_from(weigh(&t.value).saturating_add(96)).unwrap_or(u32::MAX)
                })
                .build_with_hasher(foldhash::fast::RandomState::default()),
            valid_until: |_| None,
            aged: false,
            loads: tokio::sync::Semaphore::new(LOADS_PER_SHELF),
            counters,
        }
    }

    /// Counts `hits` hits and `misses` misses.
    fn count(&self, hits: u64, misses: u64) {
        if let Some((hit, miss)) = &self.counters {
            if hits > 0 {
                hit.inc_by(hits);
            }
            if misses > 0 {
                miss.inc_by(misses);
            }
        }
    }

    fn aged(mut self) -> Self {
        self.aged = true;
        self
    }

    fn changing_at(mut self, valid_until: fn(&T) -> Option<Micros>) -> Self {
        self.valid_until = valid_until;
        self
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
    /// PostgreSQL: where the watermark is confirmed, and when it last was, by org.
    confirm: Option<(Store, Mutex<HashMap<String, Instant>>)>,
    users: Shelf<UserKey, Option<User>>,
    groups: Shelf<UserKey, Arc<Vec<String>>>,
    /// Keyed with the stars epoch too: starring appends nothing to the log (no revision), so
    /// each star or unstar here bumps `stars_epoch` instead, and a user's stars are used only
    /// if read since the last bump (exact on one replica; elsewhere within `max_age`).
    stars: Shelf<(UserKey, u64), Arc<HashSet<String>>>,
    stars_epoch: AtomicU64,
    dashboards: Shelf<IdKey, Option<Arc<DashboardWithGrants>>>,
    chains: Shelf<IdKey, Arc<[ChainLink]>>,
    folder_grants: Shelf<IdKey, Arc<GrantIndex>>,
    chain_shares: Shelf<IdKey, ChainShares>,
    roles: Shelf<String, Arc<HashMap<String, PermissionSet>>>,
    labels: Shelf<IdKey, Arc<Vec<String>>>,
    label_ids: Shelf<IdKey, Option<String>>,
    lookups: Option<IntCounterVec>,
}

impl FactCache {
    /// A cache of about `mib` MiB checked against `watermarks`; with `max_age` (PostgreSQL),
    /// each org's watermark is confirmed against `store` at least that often.
    pub fn new(store: Store, watermarks: Watermarks, mib: u64, max_age: Option<Duration>) -> Self {
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
                confirm: max_age.map(|_| (store, Mutex::new(HashMap::new()))),
                users: Shelf::new("user", share(10), |_| 200, lookups.as_ref()),
                groups: Shelf::new("groups", share(10), |g| g.len() * 40, lookups.as_ref()),
                stars: Shelf::new(
                    "stars",
                    share(10),
                    |s: &Arc<HashSet<String>>| s.len() * 40,
                    lookups.as_ref(),
                )
                .aged(),
                stars_epoch: AtomicU64::new(0),
                dashboards: Shelf::new(
                    "dashboard",
                    share(40),
                    |d: &Option<Arc<DashboardWithGrants>>| {
                        d.as_ref().map_or(0, |d| {
                            600 + grant_bytes(&d.grants) + d.dashboard.metadata.len()
                        })
                    },
                    lookups.as_ref(),
                )
                .changing_at(|d| d.as_ref().and_then(|d| d.public_changes_at)),
                chains: Shelf::new("chain", share(5), |c| c.len() * 48, lookups.as_ref()),
                folder_grants: Shelf::new(
                    "folder_grants",
                    share(13),
                    |g| g.len * 240,
                    lookups.as_ref(),
                ),
                chain_shares: Shelf::new(
                    "chain_shares",
                    share(2),
                    |s| s.len() * 16,
                    lookups.as_ref(),
                ),
                roles: Shelf::new("roles", share(5), |r| r.len() * 64, lookups.as_ref()),
                labels: Shelf::new("labels", share(4), |l| l.len() * 48, lookups.as_ref()),
                label_ids: Shelf::new("label_id", share(1), |_| 64, lookups.as_ref()),
                lookups,
            }),
        }
    }

    /// The lookups counter, for the metrics registry.
    pub fn lookups(&self) -> Option<IntCounterVec> {
        self.inner.lookups.clone()
    }

    /// The org's revision as known here: what facts about to be read are tagged with. A
    /// call reads it once and uses it for every fact it looks up. On PostgreSQL, when it was
    /// last confirmed more than `max_age` ago, it is read from the database first.
    pub async fn revision(&self, org_id: &str) -> Result<i64> {
        if let (Some((store, confirmed)), Some(max_age)) = (&self.inner.confirm, self.inner.max_age)
        {
            let due = lock(confirmed)
                .get(org_id)
                .is_none_or(|at| at.elapsed() >= max_age);
            if due {
                let started = Instant::now();
                let latest = crate::store::events::latest_revision(store.db(), org_id).await?;
                self.inner.watermarks.raise(org_id, latest);
                let mut confirmed = lock(confirmed);
                match confirmed.get_mut(org_id) {
                    Some(at) => *at = (*at).max(started),
                    None => {
                        confirmed.insert(org_id.to_string(), started);
                    }
                }
            }
        }
        Ok(self.inner.watermarks.get(org_id))
    }

    /// Users' directory rows, by `(org, user, None)`.
    pub fn users(&self) -> &Shelf<UserKey, Option<User>> {
        &self.inner.users
    }

    /// The groups a user is a member of.
    pub fn groups(&self) -> &Shelf<UserKey, Arc<Vec<String>>> {
        &self.inner.groups
    }

    /// Every dashboard a user starred, by user and [`Self::stars_epoch`].
    pub fn stars(&self) -> &Shelf<(UserKey, u64), Arc<HashSet<String>>> {
        &self.inner.stars
    }

    /// Dashboards with every grant on them and their labels; `None`: known not to exist in
    /// the org.
    pub fn dashboards(&self) -> &Shelf<IdKey, Option<Arc<DashboardWithGrants>>> {
        &self.inner.dashboards
    }

    /// Folders' chains (the folder and those above it); empty for a folder gone.
    pub fn chains(&self) -> &Shelf<IdKey, Arc<[ChainLink]>> {
        &self.inner.chains
    }

    /// Every share on a folder itself.
    pub fn folder_grants(&self) -> &Shelf<IdKey, Arc<GrantIndex>> {
        &self.inner.folder_grants
    }

    /// The shares on each folder of a folder's chain, in the chain's order: a decision
    /// about a dashboard in a folder eight deep looks up one entry instead of eight.
    pub fn chain_shares(&self) -> &Shelf<IdKey, ChainShares> {
        &self.inner.chain_shares
    }

    /// Every custom role of an org, by org.
    pub fn roles(&self) -> &Shelf<String, Arc<HashMap<String, PermissionSet>>> {
        &self.inner.roles
    }

    /// The label names on a dashboard.
    pub fn labels(&self) -> &Shelf<IdKey, Arc<Vec<String>>> {
        &self.inner.labels
    }

    /// Label ids by `(org, display name)`; `None`: no label of the org has that name.
    pub fn label_ids(&self) -> &Shelf<IdKey, Option<String>> {
        &self.inner.label_ids
    }

    /// The epoch of stars a read about to happen is tagged with.
    pub fn stars_epoch(&self) -> u64 {
        self.inner.stars_epoch.load(Ordering::Acquire)
    }

    /// Says that some user's stars changed (after the star's commit).
    pub fn stars_changed(&self) {
        self.inner.stars_epoch.fetch_add(1, Ordering::AcqRel);
    }

    fn usable<T>(&self, tagged: &Tagged<T>, revision: i64, now: Micros) -> bool {
        tagged.revision == revision
            && tagged.valid_until.is_none_or(|t| t > now)
            && tagged.stale_after.is_none_or(|t| Instant::now() < t)
    }

    fn lookup<K, T>(&self, shelf: &Shelf<K, T>, key: &K, revision: i64, now: Micros) -> Option<T>
    where
        K: Hash + Eq + Send + Sync + 'static,
        T: Clone + Send + Sync + 'static,
    {
        let found = self.peek(shelf, key, revision, now);
        shelf.count(u64::from(found.is_some()), u64::from(found.is_none()));
        found
    }

    /// [`Self::lookup`] uncounted: the look again after waiting for a turn to load.
    fn peek<K, T>(&self, shelf: &Shelf<K, T>, key: &K, revision: i64, now: Micros) -> Option<T>
    where
        K: Hash + Eq + Send + Sync + 'static,
        T: Clone + Send + Sync + 'static,
    {
        shelf
            .entries
            .get(key)
            .filter(|t| self.usable(t, revision, now))
            .map(|t| t.value.clone())
    }

    /// A turn to load facts of `shelf` (see the module comment).
    async fn turn<'a, K, T>(
        &self,
        shelf: &'a Shelf<K, T>,
    ) -> Result<tokio::sync::SemaphorePermit<'a>> {
        // The semaphore is never closed.
        shelf
            .loads
            .acquire()
            .await
            .map_err(|_| Error::internal("the fact cache's loads were closed"))
    }

    fn keep<K, T>(&self, shelf: &Shelf<K, T>, key: K, revision: i64, value: T)
    where
        K: Hash + Eq + Send + Sync + 'static,
        T: Send + Sync + 'static,
    {
        let stale_after = self
            .inner
            .max_age
            .filter(|_| shelf.aged)
            .map(|age| Instant::now() + age);
        let tagged = Tagged {
            revision,
            stale_after,
            valid_until: (shelf.valid_until)(&value),
            value,
        };
        shelf.entries.insert(key, Arc::new(tagged));
    }

    /// The fact at `key` of `shelf`: as kept while usable at `revision` (the org's, read by
    /// the caller before anything it loads), else `load`ed now and kept tagged with it.
    pub async fn one<K, T, F, Fut>(
        &self,
        shelf: &Shelf<K, T>,
        key: K,
        revision: i64,
        load: F,
    ) -> Result<T>
    where
        K: Hash + Eq + Send + Sync + 'static,
        T: Clone + Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        if let Some(found) = self.lookup(shelf, &key, revision, now_micros()) {
            return Ok(found);
        }
        let _turn = self.turn(shelf).await?;
        if let Some(found) = self.peek(shelf, &key, revision, now_micros()) {
            return Ok(found);
        }
        let loaded = load().await?;
        self.keep(shelf, key, revision, loaded.clone());
        Ok(loaded)
    }

    /// The facts of `org_id`'s objects `ids` (each once): as kept while usable at
    /// `revision`, the rest through one `load` of the missing ids, and those it does not
    /// return kept as `absent()`.
    pub async fn many<T, F, Fut>(
        &self,
        shelf: &Shelf<IdKey, T>,
        org_id: &str,
        ids: &[String],
        revision: i64,
        load: F,
        absent: fn() -> T,
    ) -> Result<FastMap<String, T>>
    where
        T: Clone + Send + Sync + 'static,
        F: FnOnce(Vec<String>) -> Fut,
        Fut: Future<Output = Result<HashMap<String, T>>>,
    {
        let now = now_micros();
        let mut found = FastMap::with_capacity_and_hasher(ids.len(), Default::default());
        let mut missing: Vec<String> = Vec::new();
        for id in ids {
            if found.contains_key(id) || missing.contains(id) {
                continue;
            }
            let key = (org_id.to_string(), id.clone());
            match self.peek(shelf, &key, revision, now) {
                Some(fact) => {
                    found.insert(id.clone(), fact);
                }
                None => missing.push(id.clone()),
            }
        }
        shelf.count(found.len() as u64, missing.len() as u64);
        if missing.is_empty() {
            return Ok(found);
        }
        let _turn = self.turn(shelf).await?;
        let now = now_micros();
        missing.retain(|id| {
            match self.peek(shelf, &(org_id.to_string(), id.clone()), revision, now) {
                Some(fact) => {
                    found.insert(id.clone(), fact);
                    false
                }
                None => true,
            }
        });
        if missing.is_empty() {
            return Ok(found);
        }
        let mut loaded = load(missing.clone()).await?;
        for id in missing {
            let fact = loaded.remove(&id).unwrap_or_else(absent);
            self.keep(
                shelf,
                (org_id.to_string(), id.clone()),
                revision,
                fact.clone(),
            );
            found.insert(id, fact);
        }
        Ok(found)
    }
}

/// A poisoned lock still holds valid instants: they are only ever raised.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
