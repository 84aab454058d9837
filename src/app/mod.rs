//! Use cases: one function per command or query. Every mutation runs in a
//! [`write::Write`], which appends its events to the change log in the same transaction; the
//! access decision comes from `core::authz`. Handlers (`api`) reach the store only through
//! here.

mod authorizer;
pub mod comments;
pub mod dashboards;
pub mod directory;
pub mod events;
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
}

impl App {
    pub fn new(store: Store) -> Self {
        Self {
            authorizer: Authorizer::new(store.clone()),
            store,
            doorbell: Doorbell::default(),
            hub: watch::WatchHub::default(),
            listing_facts: dashboards::ListingFactsCache::default(),
            reach_plan: Default::default(),
        }
    }

    /// Begins a write of `org_id` on behalf of `actor`.
    pub async fn write(&self, org_id: &str, actor: impl Into<String>) -> Result<Write> {
        Write::begin(&self.store, &self.doorbell, org_id, actor).await
    }
}
