//! Version retention (DESIGN §7): the newest `VERSIONS_KEEP_MIN` versions of a dashboard are
//! always kept, older ones for `VERSION_RETENTION`, named ones (with a message) forever. Run
//! by the purge job; like the event purge it is housekeeping of history, not a change of
//! anything current, so it appends no events.

use std::time::Duration;

use crate::app::App;
use crate::core::version::to_prune;
use crate::core::{Micros, Result};
use crate::store::versions;

/// At most this many dashboards are looked at per run; the next run goes on.
const DASHBOARDS_PER_RUN: u64 = 500;

#[derive(Debug, Clone)]
pub struct Retention {
    pub keep_min: usize,
    pub retention: Duration,
}

/// Prunes what retention lets go; returns how many versions went.
pub async fn prune_expired(app: &App, now: Micros, retention: &Retention) -> Result<u64> {
    let age = i64::try_from(retention.retention.as_micros()).unwrap_or(i64::MAX);
    let oldest_kept = now.saturating_sub(age);
    let mut pruned = 0;
    for (org_id, dashboard_id) in versions::prunable_dashboards(
        app.store.db(),
        retention.keep_min,
        oldest_kept,
        DASHBOARDS_PER_RUN,
    )
    .await?
    {
        let txn = app.store.begin_write().await?;
        let view = versions::retention_view(&*txn, &org_id, &dashboard_id).await?;
        let doomed = to_prune(&view, retention.keep_min, oldest_kept);
        pruned += versions::prune(&txn, &org_id, &dashboard_id, &doomed).await?;
        txn.commit().await?;
    }
    Ok(pruned)
}
