//! MoveFolder: the folder and its subtree under another parent, with the access changes
//! the move causes on the folder (`validate_only`: only those). Cycle, depth and title are
//! decided under the org's tree lock, so two concurrent moves cannot make a cycle.

use crate::app::{App, Written};
use crate::core::authz::{AccessChange, Permission, ShareTarget, inheritance};
use crate::core::dashboard::Limits;
use crate::core::event::{Change, EventType};
use crate::core::folder::{
    check_depth, check_no_cycle, folder_deleted, folder_name, paths_of, title_taken,
};
use crate::core::{Error, Principal, Result, names};

use super::{
    Placed, authorize_destination, begin_structure, chain_of, depth_of, live_chain, nodes_of_chain,
    preview,
};

pub struct Moved {
    pub folder: Placed,
    pub access_changes: Vec<AccessChange>,
}

/// Needs DELETE on the folder and WRITE on the destination (at the root: a role that may
/// create dashboards).
pub async fn move_folder(
    app: &App,
    caller: &Principal,
    limits: &Limits,
    id: &str,
    parent: Option<String>,
    validate_only: bool,
) -> Result<Written<Moved>> {
    app.authorizer
        .folder(caller, id, Permission::Delete)
        .await?;
    authorize_destination(app, caller, parent.as_deref(), "parent").await?;
    let mut write = begin_structure(app, caller).await?;
    let repo = app.store.folders();
    let mut folder = repo
        .lock(write.txn(), &caller.org_id, id)
        .await?
        .ok_or_else(|| Error::not_found(folder_name(id)))?;
    if folder.delete_time.is_some() {
        return Err(folder_deleted(id));
    }
    write.not_before(folder.update_time);
    let subtree = repo.subtree(write.txn(), id).await?;
    check_no_cycle(id, parent.as_deref(), &subtree)?;
    let new_chain = live_chain(app, write.txn(), caller, parent.as_deref()).await?;
    let height = repo.height(write.txn(), id).await?;
    check_depth(
        new_chain.len() + 1 + height,
        limits.max_folder_depth,
        "parent",
    )?;
    if parent != folder.parent_id
        && repo
            .title_taken(
                write.txn(),
                &caller.org_id,
                parent.as_deref(),
                &folder.title,
                id,
            )
            .await?
    {
        return Err(title_taken(&folder.title));
    }
    let old_chain = chain_of(app, write.txn(), folder.parent_id.as_deref()).await?;
    let target = ShareTarget::Folder(id.to_string());
    let before = inheritance(target.clone(), folder.inherit_access, &old_chain);
    let after = inheritance(target, folder.inherit_access, &new_chain);
    let chain_folders: Vec<String> = std::iter::once(id.to_string())
        .chain(parent.iter().cloned())
        .collect();
    let access_changes = preview(
        app,
        write.txn(),
        caller,
        Vec::new(),
        &chain_folders,
        &before,
        &after,
    )
    .await?;
    if validate_only || parent == folder.parent_id {
        drop(write);
        folder.parent_id = parent;
        return Ok(Written::unchanged(Moved {
            folder: Placed {
                folder,
                depth: new_chain.len() + 1,
            },
            access_changes,
        }));
    }
    folder.parent_id = parent;
    folder.update_time = write.now();
    let saved = repo.save(write.txn(), &folder).await?;
    let mut nodes = nodes_of_chain(&new_chain);
    nodes.extend(repo.nodes(write.txn(), &subtree).await?);
    let paths = paths_of(&nodes, &subtree);
    repo.replace_paths(write.txn(), &caller.org_id, &subtree, &paths)
        .await?;
    write.record(Change::new(EventType::FolderMoved, saved.name()).fields(["parent"]));
    if before.folders != after.folders {
        // What inherits through the folder now has other shares above it: watchers and
        // caches re-judge each such dashboard.
        for d in repo
            .inheriting_dashboards(write.txn(), &caller.org_id, id)
            .await?
        {
            write.record(
                Change::new(EventType::DashboardMoved, names::dashboard_name(&d))
                    .on_dashboard(&d)
                    .fields(["folder"]),
            );
        }
    }
    let depth = depth_of(app, write.txn(), id).await?;
    write
        .commit(Moved {
            folder: Placed {
                folder: saved,
                depth,
            },
            access_changes,
        })
        .await
}
