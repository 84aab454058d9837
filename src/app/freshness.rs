//! Read-your-writes (DESIGN §7): a call that sends `x-dashboards-min-revision: R` is answered
//! only once this replica sees the org at revision R or later, so a client that wrote on
//! one replica and reads on another sees its write.
//!
//! The database is the source of truth: a commit makes the org's revision counter and the
//! data it guards visible together, so once a read sees the counter at R, every read after
//! it sees the writes up to R. The doorbell only tells us when to look again (and another
//! replica's commits ring it only through the PostgreSQL bridge), so a wait re-reads the
//! counter on every ring of its org and at least every [`POLL_INTERVAL`] besides.
//!
//! [`Watermarks`] remembers the highest revision this process has seen of each org (from
//! rings and from reads), so that a call asking for a revision already seen, the common
//! case, costs no query.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

use super::App;
use crate::core::{Error, Result};
use crate::store::events;

/// How often a waiting call re-reads the org's revision when no ring arrives: commits of
/// other replicas are not rung here unless the PostgreSQL bridge runs.
pub const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// The highest revision this process has seen committed, per org. Only ever raised, and only
/// to revisions read from the database or rung after a commit, so it never runs ahead of
/// the database. One entry per org that was written or waited on: a few bytes each.
#[derive(Clone, Default)]
pub struct Watermarks(Arc<Mutex<HashMap<String, i64>>>);

impl Watermarks {
    /// The highest revision of `org_id` seen (0: none).
    pub fn get(&self, org_id: &str) -> i64 {
        // A poisoned lock still holds valid numbers: they are only ever raised.
        let seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        seen.get(org_id).copied().unwrap_or(0)
    }

    /// Records that `org_id` reached `revision`.
    pub fn raise(&self, org_id: &str, revision: i64) {
        if revision <= 0 {
            return;
        }
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match seen.get_mut(org_id) {
            Some(current) => *current = (*current).max(revision),
            None => {
                seen.insert(org_id.to_string(), revision);
            }
        }
    }
}

/// The org's latest revision, or one the database reached not long before (what reads
/// report: the state they show reflects at least it). On SQLite one process owns the file
/// and every commit raises the watermark before it answers, so once the watermark was read
/// from the database it is the revision (or, between a commit and its ring, one behind). On
/// PostgreSQL another replica may be ahead: with the fact cache on, the watermark its facts
/// are checked against (confirmed against the database at least every
/// `FACT_CACHE_MAX_AGE`, raised by notifications and by `x-dashboards-min-revision`),
/// otherwise the database.
pub async fn latest_revision(app: &App, org_id: &str) -> Result<i64> {
    let seen = app.doorbell.watermarks();
    if app.store.backend() == sea_orm::DatabaseBackend::Sqlite {
        let known = seen.get(org_id);
        if known > 0 {
            return Ok(known);
        }
    } else if let Some(cache) = &app.facts {
        return cache.revision(org_id).await;
    }
    let latest = events::latest_revision(app.store.db(), org_id).await?;
    seen.raise(org_id, latest);
    Ok(latest)
}

/// Returns once `org_id` is at revision `min` or later, waiting at most `budget`; then
/// FAILED_PRECONDITION `REVISION_NOT_REACHED` with the revision reached.
pub async fn await_revision(app: &App, org_id: &str, min: i64, budget: Duration) -> Result<()> {
    let seen = app.doorbell.watermarks();
    if seen.get(org_id) >= min {
        return Ok(());
    }
    // No call waits a day; the cap keeps the sum from overflowing.
    let deadline = Instant::now() + budget.min(Duration::from_secs(86_400));
    // Subscribed before the first read, so a commit between a read and the wait still rings.
    let mut rings = app.doorbell.subscribe();
    loop {
        let latest = events::latest_revision(app.store.db(), org_id).await?;
        seen.raise(org_id, latest);
        if latest >= min {
            return Ok(());
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(Error::RevisionNotReached { min, latest });
        }
        let wake = deadline.min(now + POLL_INTERVAL);
        // Until a ring of this org (or a lag: rings were missed), the poll or the deadline;
        // then read again.
        loop {
            match tokio::time::timeout_at(wake, rings.recv()).await {
                Ok(Ok((rung, _))) if rung != org_id => continue,
                Ok(Ok(_)) | Ok(Err(RecvError::Lagged(_))) | Err(_) => break,
                Ok(Err(RecvError::Closed)) => {
                    // Cannot happen while the app holds the sender; do not spin if it does.
                    tokio::time::sleep_until(wake).await;
                    break;
                }
            }
        }
        // A ring is rung after its commit: proof enough, no need to read.
        if seen.get(org_id) >= min {
            return Ok(());
        }
    }
}
