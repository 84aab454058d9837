//! DeleteDashboard and UndeleteDashboard (the trash), and the purge of expired trash.

use std::time::Duration;

use crate::app::{App, Written};
use crate::core::authz::Permission;
use crate::core::dashboard::Dashboard;
use crate::core::event::{Change, EventType, SYSTEM_ACTOR};
use crate::core::{Error, Micros, Principal, Result, names};

use super::{begin_on_dashboard, changed_under_lock, check_etag};

/// Moves a live dashboard to the trash, where it stays for `retention`.
pub async fn delete(
    app: &App,
    caller: &Principal,
    id: &str,
    etag: &str,
    retention: Duration,
) -> Result<Written<Dashboard>> {
    let (mut write, current) = begin_on_dashboard(app, caller, id, Permission::Delete).await?;
    if current.is_deleted() {
        return Err(already_deleted(&current));
    }
    check_etag(etag, &current)?;
    let now = write.now();
    let expire = now.saturating_add(retention.as_micros().min(i64::MAX as u128) as i64);
    let deleted = app
        .store
        .dashboards()
        .set_deleted(
            write.txn(),
            &caller.org_id,
            id,
            None,
            Some((now, expire)),
            now,
        )
        .await?
        .ok_or_else(changed_under_lock)?;
    write.record(Change::new(EventType::DashboardDeleted, deleted.name()).on_dashboard(id));
    write.commit(deleted).await
}

/// Takes a dashboard out of the trash.
pub async fn undelete(app: &App, caller: &Principal, id: &str) -> Result<Written<Dashboard>> {
    let (mut write, current) = begin_on_dashboard(app, caller, id, Permission::Delete).await?;
    if !current.is_deleted() {
        return Err(Error::failed_precondition(
            "NOT_DELETED",
            current.name(),
            "the dashboard is not in the trash",
        ));
    }
    // Out of the trash into a folder still in it: undelete the folder instead (that
    // restores the dashboard with it).
    if let Some(folder_id) = &current.folder_id {
        let folder = app
            .store
            .folders()
            .get(write.txn(), &caller.org_id, folder_id)
            .await?;
        if folder.is_some_and(|f| f.delete_time.is_some()) {
            return Err(crate::core::folder::folder_deleted(folder_id));
        }
    }
    let restored = app
        .store
        .dashboards()
        .set_deleted(write.txn(), &caller.org_id, id, None, None, write.now())
        .await?
        .ok_or_else(changed_under_lock)?;
    write.record(Change::new(EventType::DashboardUndeleted, restored.name()).on_dashboard(id));
    write.commit(restored).await
}

/// Purges trashed dashboards whose retention has passed, one write per org (actor
/// `system`), a bounded batch per run. Returns how many it purged.
pub async fn purge_expired(app: &App, now: Micros) -> Result<usize> {
    const BATCH: u64 = 500;
    let expired = app.store.dashboards().expired(now, BATCH).await?;
    let mut by_org: Vec<(String, Vec<String>)> = Vec::new();
    for (org, id) in expired {
        match by_org.last_mut() {
            Some((last, ids)) if *last == org => ids.push(id),
            _ => by_org.push((org, vec![id])),
        }
    }
    let mut purged = 0;
    for (org, ids) in by_org {
        let mut write = app.write(&org, SYSTEM_ACTOR).await?;
        let gone = app
            .store
            .dashboards()
            .purge(write.txn(), &org, &ids, now)
            .await?;
        for id in &gone {
            write.record(
                Change::new(EventType::DashboardPurged, names::dashboard_name(id)).on_dashboard(id),
            );
        }
        purged += gone.len();
        write.commit(()).await?;
    }
    Ok(purged)
}

fn already_deleted(dashboard: &Dashboard) -> Error {
    Error::failed_precondition(
        "ALREADY_DELETED",
        dashboard.name(),
        "the dashboard is already in the trash",
    )
}
