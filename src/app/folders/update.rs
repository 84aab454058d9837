//! UpdateFolder: title and description (WRITE), `inherit_access` (SHARE: it changes who
//! has access below the folder, so the closure rows of the whole subtree are rewritten).

use crate::app::{App, Written};
use crate::core::authz::{Permission, authorize};
use crate::core::dashboard::Limits;
use crate::core::event::{Change, EventType};
use crate::core::folder::{folder_deleted, folder_name, paths_of, title_taken};
use crate::core::{Error, Principal, Result};

use super::{Placed, begin_structure, chain_of, check_fields, depth_of, nodes_of_chain};

/// The fields an update mask selected (`None`: not selected).
pub struct FolderUpdate {
    pub id: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub inherit_access: Option<bool>,
    pub etag: String,
}

pub async fn update(
    app: &App,
    caller: &Principal,
    limits: &Limits,
    request: FolderUpdate,
) -> Result<Written<Placed>> {
    let id = request.id.as_str();
    let title = check_fields(
        limits,
        "folder",
        request.title.as_deref(),
        request.description.as_deref(),
    )?;
    let (_, access) = app
        .authorizer
        .fresh()
        .folder(caller, id, Permission::Read)
        .await?;
    if title.is_some() || request.description.is_some() {
        authorize(&access, Permission::Write, &folder_name(id))?;
    }
    let mut write = begin_structure(app, caller).await?;
    let repo = app.store.folders();
    let mut folder = repo
        .lock(write.txn(), &caller.org_id, id)
        .await?
        .ok_or_else(|| Error::not_found(folder_name(id)))?;
    if folder.delete_time.is_some() {
        return Err(folder_deleted(id));
    }
    crate::core::check_etag(&request.etag, &folder.etag(), &folder.name())?;
    write.not_before(folder.update_time);
    let mut changed = Vec::new();
    if let Some(title) = title.filter(|t| *t != folder.title) {
        if repo
            .title_taken(
                write.txn(),
                &caller.org_id,
                folder.parent_id.as_deref(),
                &title,
                id,
            )
            .await?
        {
            return Err(title_taken(&title));
        }
        folder.title = title;
        changed.push("title");
    }
    if let Some(description) = request.description.filter(|d| *d != folder.description) {
        folder.description = description;
        changed.push("description");
    }
    let cut_changed = request
        .inherit_access
        .is_some_and(|inherit| inherit != folder.inherit_access);
    if cut_changed {
        // Who has access below the folder changes: SHARE, asked only when it changes (an
        // empty mask with the folder as read names it unchanged).
        authorize(&access, Permission::Share, &folder_name(id))?;
        folder.inherit_access = !folder.inherit_access;
        changed.push("inherit_access");
    }
    if changed.is_empty() {
        drop(write);
        let depth = depth_of(app, app.store.db(), id).await?;
        return Ok(Written::unchanged(Placed { folder, depth }));
    }
    folder.update_time = write.now();
    let saved = repo.save(write.txn(), &folder).await?;
    if cut_changed {
        // Every closure row below the folder may change its `inherits`.
        let above = chain_of(app, write.txn(), saved.parent_id.as_deref()).await?;
        let subtree = repo.subtree(write.txn(), id).await?;
        let mut nodes = nodes_of_chain(&above);
        nodes.extend(repo.nodes(write.txn(), &subtree).await?);
        let paths = paths_of(&nodes, &subtree);
        repo.replace_paths(write.txn(), &caller.org_id, &subtree, &paths)
            .await?;
    }
    write.record(Change::new(EventType::FolderUpdated, saved.name()).fields(changed));
    let depth = depth_of(app, write.txn(), id).await?;
    write
        .commit(Placed {
            folder: saved,
            depth,
        })
        .await
}
