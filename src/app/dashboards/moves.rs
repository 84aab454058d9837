//! MoveDashboard: into a folder or to the root, with the access changes it causes
//! (`validate_only`: only those).

use crate::app::{App, Written, folders};
use crate::core::authz::{AccessChange, Permission, ShareTarget, inheritance};
use crate::core::dashboard::Dashboard;
use crate::core::event::{Change, EventType};
use crate::core::{Error, Principal, Result, names};
use crate::store::folder_writes::place_dashboard;

pub struct MovedDashboard {
    pub dashboard: Dashboard,
    pub access_changes: Vec<AccessChange>,
}

/// Needs DELETE on the dashboard and WRITE on the destination (at the root: a role that
/// may create dashboards). Decided under the tree lock and the dashboard's row lock.
pub async fn move_dashboard(
    app: &App,
    caller: &Principal,
    id: &str,
    folder_id: Option<String>,
    validate_only: bool,
) -> Result<Written<MovedDashboard>> {
    app.authorizer
        .dashboard(caller, id, Permission::Delete)
        .await?;
    folders::authorize_destination(app, caller, folder_id.as_deref(), "folder").await?;
    let mut write = folders::begin_structure(app, caller).await?;
    let repo = app.store.dashboards();
    let current = repo
        .lock(write.txn(), &caller.org_id, id)
        .await?
        .ok_or_else(|| Error::not_found(names::dashboard_name(id)))?;
    if current.is_deleted() {
        return Err(Error::dashboard_deleted(current.name()));
    }
    write.not_before(current.update_time);
    let new_chain = folders::live_chain(app, write.txn(), caller, folder_id.as_deref()).await?;
    let old_chain = folders::chain_of(app, write.txn(), current.folder_id.as_deref()).await?;
    let target = ShareTarget::Dashboard(id.to_string());
    let before = inheritance(target.clone(), current.inherit_access, &old_chain);
    let after = inheritance(target, current.inherit_access, &new_chain);
    let own = app.store.shares().list(write.txn(), id).await?;
    let chain_folders: Vec<String> = current
        .folder_id
        .iter()
        .chain(folder_id.iter())
        .cloned()
        .collect();
    let access_changes = folders::preview(
        app,
        write.txn(),
        caller,
        own,
        &chain_folders,
        &before,
        &after,
    )
    .await?;
    if validate_only || current.folder_id == folder_id {
        drop(write);
        let dashboard = Dashboard {
            folder_id,
            ..current
        };
        return Ok(Written::unchanged(MovedDashboard {
            dashboard,
            access_changes,
        }));
    }
    let now = write.now();
    place_dashboard(
        write.txn(),
        &caller.org_id,
        id,
        Some(folder_id.as_deref()),
        None,
        now,
    )
    .await?;
    let moved = repo
        .get_in(write.txn(), &caller.org_id, id)
        .await?
        .ok_or_else(|| Error::internal("a locked dashboard vanished"))?;
    write.record(
        Change::new(EventType::DashboardMoved, moved.name())
            .on_dashboard(id)
            .fields(["folder"]),
    );
    write
        .commit(MovedDashboard {
            dashboard: moved,
            access_changes,
        })
        .await
}
