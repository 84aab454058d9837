//! Use cases: one function per command or query. Every mutation runs in a
//! [`write::Write`], which appends its events to the change log in the same transaction; the
//! access decision comes from `core::authz`. Handlers (`api`) reach the store only through
//! here.

pub(crate) mod authorizer;
pub mod comments;
pub mod dashboards;
pub mod directory;
pub mod events;
pub mod facts;
pub mod folders;
pub mod freshness;
pub mod identity;
pub mod labels;
pub mod library_widgets;
pub mod sharing;
pub mod versions;
pub mod watch;
pub mod widgets;
pub mod write;

pub use authorizer::Authorizer;
pub use write::{Doorbell, Write, Written};

use crate::core::Result;

/// The fact cache of [`App::new`] (settings `FACT_CACHE_MIB`, `FACT_CACHE_MAX_AGE`).
const DEFAULT_FACT_CACHE_MIB: u64 = 64;
const DEFAULT_FACT_CACHE_MAX_AGE: std::time::Duration = std::time::Duration::from_millis(500);
use crate::store::Store;

/// What every use case works with: the store, the authorizer over it, the doorbell every
/// committed write rings, and the watch streams' shared readers of the log.
#[derive(Clone)]
pub struct App {
    pub store: Store,
    pub authorizer: Authorizer,
    pub doorbell: Doorbell,
    /// The change-log tails of this replica's watch streams.
    pub hub: watch::WatchHub,
    /// Members' listing facts, between calls of one revision.
    pub listing_facts: dashboards::ListingFactsCache,
    /// How members' pages reach dashboards through folders (settings; tests vary it).
    pub reach_plan: crate::store::dashboards::ReachPlan,
    /// The per-replica cache of access facts (`None`: off).
    pub facts: Option<facts::FactCache>,
}

impl App {
    /// An app over `store` with a fact cache of the default size (see [`Self::with_fact_cache`]).
    pub fn new(store: Store) -> Self {
        let doorbell = Doorbell::default();
        let app = Self {
            authorizer: Authorizer::new(store.clone(), None),
            store,
            doorbell,
            hub: watch::WatchHub::default(),
            listing_facts: dashboards::ListingFactsCache::default(),
            reach_plan: Default::default(),
            facts: None,
        };
        app.with_fact_cache(DEFAULT_FACT_CACHE_MIB, DEFAULT_FACT_CACHE_MAX_AGE)
    }

    /// The same app with a fact cache of `mib` MiB (0: none); on PostgreSQL its revisions
    /// are confirmed against the database at least every `max_age`.
    pub fn with_fact_cache(mut self, mib: u64, max_age: std::time::Duration) -> Self {
        let max_age =
            (self.store.backend() == sea_orm::DatabaseBackend::Postgres).then_some(max_age);
        self.facts = (mib > 0).then(|| {
            let watermarks = self.doorbell.watermarks().clone();
            facts::FactCache::new(self.store.clone(), watermarks, mib, max_age)
        });
        self.authorizer = Authorizer::new(self.store.clone(), self.facts.clone());
        self
    }

    /// Begins a write of `org_id` on behalf of `actor`.
    pub async fn write(&self, org_id: &str, actor: impl Into<String>) -> Result<Write> {
        Write::begin(&self.store, &self.doorbell, org_id, actor).await
    }
}
