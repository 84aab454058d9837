//! DeleteFolder and UndeleteFolder: a folder goes to the trash with its subtree (the
//! folders and dashboards below it that were live, `trashed_with` = the folder) and comes
//! back with exactly that subtree. Shares are never touched by the trash, so access comes
//! back with it.

use std::time::Duration;

use crate::app::{App, Written};
use crate::core::authz::Permission;
use crate::core::event::{Change, EventType};
use crate::core::folder::{folder_name, title_taken};
use crate::core::{Error, Principal, Result, names};

use super::{Placed, begin_structure, depth_of};

pub async fn delete(
    app: &App,
    caller: &Principal,
    id: &str,
    etag: &str,
    retention: Duration,
) -> Result<Written<Placed>> {
    app.authorizer
        .folder(caller, id, Permission::Delete)
        .await?;
    let mut write = begin_structure(app, caller).await?;
    let repo = app.store.folders();
    let current = repo
        .lock(write.txn(), &caller.org_id, id)
        .await?
        .ok_or_else(|| Error::not_found(folder_name(id)))?;
    if current.delete_time.is_some() {
        return Err(Error::failed_precondition(
            "ALREADY_DELETED",
            current.name(),
            "the folder is already in the trash",
        ));
    }
    crate::core::check_etag(etag, &current.etag(), &current.name())?;
    write.not_before(current.update_time);
    let now = write.now();
    let expire = now.saturating_add(retention.as_micros().min(i64::MAX as u128) as i64);
    let folders = repo
        .trash_subtree(write.txn(), &caller.org_id, id, now)
        .await?;
    let dashboards = repo
        .trash_dashboards(write.txn(), &caller.org_id, &folders, id, (now, expire))
        .await?;
    write.record(Change::new(EventType::FolderDeleted, current.name()));
    for d in &dashboards {
        write.record(
            Change::new(EventType::DashboardDeleted, names::dashboard_name(d)).on_dashboard(d),
        );
    }
    let deleted = reread(app, &write, caller, id).await?;
    write.commit(deleted).await
}

pub async fn undelete(app: &App, caller: &Principal, id: &str) -> Result<Written<Placed>> {
    app.authorizer
        .folder(caller, id, Permission::Delete)
        .await?;
    let mut write = begin_structure(app, caller).await?;
    let repo = app.store.folders();
    let current = repo
        .lock(write.txn(), &caller.org_id, id)
        .await?
        .ok_or_else(|| Error::not_found(folder_name(id)))?;
    if current.delete_time.is_none() {
        return Err(Error::failed_precondition(
            "NOT_DELETED",
            current.name(),
            "the folder is not in the trash",
        ));
    }
    if let Some(parent) = &current.parent_id {
        let parent_live = repo
            .get(write.txn(), &caller.org_id, parent)
            .await?
            .is_some_and(|p| p.delete_time.is_none());
        if !parent_live {
            return Err(Error::failed_precondition(
                "PARENT_DELETED",
                current.name(),
                "the folder's parent is in the trash; undelete the parent instead",
            ));
        }
    }
    if repo
        .title_taken(
            write.txn(),
            &caller.org_id,
            current.parent_id.as_deref(),
            &current.title,
            id,
        )
        .await?
    {
        return Err(title_taken(&current.name()));
    }
    write.not_before(current.update_time);
    let now = write.now();
    repo.restore_subtree(write.txn(), &caller.org_id, id, now)
        .await?;
    let dashboards = repo
        .restore_dashboards(write.txn(), &caller.org_id, id, now)
        .await?;
    write.record(Change::new(EventType::FolderUndeleted, current.name()));
    for d in &dashboards {
        write.record(
            Change::new(EventType::DashboardUndeleted, names::dashboard_name(d)).on_dashboard(d),
        );
    }
    let restored = reread(app, &write, caller, id).await?;
    write.commit(restored).await
}

async fn reread(
    app: &App,
    write: &crate::app::Write,
    caller: &Principal,
    id: &str,
) -> Result<Placed> {
    let folder = app
        .store
        .folders()
        .get(write.txn(), &caller.org_id, id)
        .await?
        .ok_or_else(|| Error::internal("a locked folder vanished"))?;
    let depth = depth_of(app, write.txn(), id).await?;
    Ok(Placed { folder, depth })
}
