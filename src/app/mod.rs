//! Use cases: one function per command or query. Every mutation runs in a
//! [`write::Write`], which appends its events to the change log in the same transaction; the
//! access decision comes from `core::authz`. Handlers (`api`) reach the store only through
//! here.

mod authorizer;
pub mod dashboards;
pub mod directory;
pub mod events;
pub mod identity;
pub mod sharing;
pub mod widgets;
pub mod write;

pub use authorizer::Authorizer;
pub use write::{Write, Written};

use crate::core::Result;
use crate::store::Store;

/// What every use case works with: the store and the authorizer over it.
#[derive(Clone)]
pub struct App {
    pub store: Store,
    pub authorizer: Authorizer,
}

impl App {
    pub fn new(store: Store) -> Self {
        Self {
            authorizer: Authorizer::new(store.clone()),
            store,
        }
    }

    /// Begins a write of `org_id` on behalf of `actor`.
    pub async fn write(&self, org_id: &str, actor: impl Into<String>) -> Result<Write> {
        Write::begin(&self.store, org_id, actor).await
    }
}
