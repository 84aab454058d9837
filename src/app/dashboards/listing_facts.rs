//! A member's listing facts, kept between calls: its subjects (its groups read from the
//! directory) and [`ReachFacts`] (the org's READ-bearing custom roles and the folders its
//! shares on folders reach). Reading the reach costs a join of every share on a folder the
//! member answers to with the closure of the tree — thousands of rows for a member of ten
//! groups on a 10,000-folder org — while the page itself reads a few hundred index entries.
//!
//! The facts are exact, never stale: each entry is tagged with the org's revision read
//! before the facts (every write of the org bumps it, in the same transaction: group
//! memberships, roles, folder moves and cuts, shares), and is used only by a call that
//! read the same revision, and only until the first expiry among the folder shares the
//! reach came through (expiry changes access without a write). The page is still decided
//! by SQL on every call. Bounded by the folder ids held.

use std::sync::Arc;

use crate::core::authz::Subject;
use crate::core::{Principal, Result, now_micros};
use crate::store::dashboards::ReachFacts;

use super::super::App;

/// The most folder ids (and roles and subjects) the cache holds, over all its entries:
/// about 60 bytes each, so tens of MiB at most.
const CAPACITY: u64 = 1_000_000;

#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    org_id: String,
    user_id: String,
    tenant_id: Option<String>,
}

struct Entry {
    revision: i64,
    subjects: Vec<Subject>,
    facts: Arc<ReachFacts>,
}

#[derive(Clone)]
pub struct ListingFactsCache {
    entries: moka::sync::Cache<Key, Arc<Entry>>,
}

impl Default for ListingFactsCache {
    fn default() -> Self {
        Self {
            entries: moka::sync::Cache::builder()
                .max_capacity(CAPACITY)
                .weigher(|_: &Key, e: &Arc<Entry>| {
                    e.facts
                        .weight()
                        .saturating_add(e.subjects.len().min(u32::MAX as usize) as u32)
                })
                .build(),
        }
    }
}

/// The caller's subjects and reach facts as of `revision` (the org's, read by the caller
/// just before): from the cache when they were read at that revision and have not expired.
pub async fn facts_for(
    app: &App,
    caller: &Principal,
    revision: i64,
) -> Result<(Vec<Subject>, Arc<ReachFacts>)> {
    let key = Key {
        org_id: caller.org_id.clone(),
        user_id: caller.user_id.clone(),
        tenant_id: caller.tenant_id.clone(),
    };
    let now = now_micros();
    if let Some(entry) = app.listing_facts.entries.get(&key)
        && entry.revision == revision
        && entry.facts.valid_until.is_none_or(|t| t > now)
    {
        return Ok((entry.subjects.clone(), entry.facts.clone()));
    }
    let subjects = app.authorizer.subjects(caller).await?;
    let facts = Arc::new(
        app.store
            .dashboards()
            .reach_facts(&caller.org_id, &subjects, now)
            .await?,
    );
    app.listing_facts.entries.insert(
        key,
        Arc::new(Entry {
            revision,
            subjects: subjects.clone(),
            facts: facts.clone(),
        }),
    );
    Ok((subjects, facts))
}
