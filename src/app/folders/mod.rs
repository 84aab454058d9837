//! Folders (DESIGN §5): create, read, update, trash, move; and what placing a dashboard in
//! a folder checks. Every structure change takes the org's tree lock first
//! (`store::folder_writes::lock_tree`) and decides (cycle, depth, title, trash) under it.

use std::collections::HashMap;

use sea_orm::ConnectionTrait;

use crate::app::{App, Write, Written};
use crate::core::authz::{ChainLink, Permission, may_create_dashboards};
use crate::core::dashboard::Limits;
use crate::core::event::{Change, EventType};
use crate::core::folder::{
    Folder, TreeNode, check_depth, folder_deleted, folder_name, paths_of, title_taken,
};
use crate::core::{Error, Principal, Result, Violation, new_id};
use crate::store::folder_writes::lock_tree;

mod list;
mod moves;
mod preview;
mod trash;
mod update;

pub use list::{FolderPage, ListFolders, list};
pub use moves::{Moved, move_folder};
pub(crate) use preview::preview;
pub use trash::{delete, undelete};
pub use update::{FolderUpdate, update};

/// A folder with how deep it sits (1: directly under the root).
#[derive(Debug, Clone)]
pub struct Placed {
    pub folder: Folder,
    pub depth: usize,
}

/// What CreateFolder asks for.
pub struct NewFolder {
    pub title: String,
    pub description: String,
    pub parent_id: Option<String>,
    pub inherit_access: bool,
}

pub async fn create(
    app: &App,
    caller: &Principal,
    limits: &Limits,
    new: NewFolder,
) -> Result<Written<Placed>> {
    let title = check_fields(limits, "folder", Some(&new.title), Some(&new.description))?
        .unwrap_or_default();
    authorize_destination(app, caller, new.parent_id.as_deref(), "folder.parent").await?;
    let mut write = begin_structure(app, caller).await?;
    let chain = live_chain(app, write.txn(), caller, new.parent_id.as_deref()).await?;
    let depth = chain.len() + 1;
    check_depth(depth, limits.max_folder_depth, "folder.parent")?;
    let repo = app.store.folders();
    if repo
        .title_taken(
            write.txn(),
            &caller.org_id,
            new.parent_id.as_deref(),
            &title,
            "",
        )
        .await?
    {
        return Err(title_taken(&title));
    }
    let now = write.now();
    let folder = Folder {
        id: new_id(),
        org_id: caller.org_id.clone(),
        parent_id: new.parent_id,
        title,
        description: new.description,
        inherit_access: new.inherit_access,
        creator_id: caller.user_id.clone(),
        revision: 1,
        create_time: now,
        update_time: now,
        delete_time: None,
    };
    let mut nodes = nodes_of_chain(&chain);
    nodes.push(TreeNode {
        id: folder.id.clone(),
        parent_id: folder.parent_id.clone(),
        inherit_access: folder.inherit_access,
    });
    let paths = paths_of(&nodes, std::slice::from_ref(&folder.id));
    let created = repo.create(write.txn(), &folder, &paths).await?;
    write.record(
        Change::new(EventType::FolderCreated, created.name()).fields([
            "title",
            "description",
            "parent",
            "inherit_access",
        ]),
    );
    write
        .commit(Placed {
            folder: created,
            depth,
        })
        .await
}

pub async fn get(app: &App, caller: &Principal, id: &str) -> Result<Placed> {
    let (folder, _) = app.authorizer.folder(caller, id, Permission::Read).await?;
    let depth = depth_of(app, app.store.db(), &folder.id).await?;
    Ok(Placed { folder, depth })
}

/// Begins a write that changes the org's folder tree (or places a dashboard in it): the
/// tree lock first, before any row lock.
pub(crate) async fn begin_structure(app: &App, caller: &Principal) -> Result<Write> {
    let write = app.write(&caller.org_id, caller.user_name()).await?;
    lock_tree(write.txn(), &caller.org_id).await?;
    Ok(write)
}

/// May `caller` put something into `parent` (None: the root)? At the root: whoever may
/// create dashboards; in a folder: WRITE on it (NOT_FOUND without READ).
pub(crate) async fn authorize_destination(
    app: &App,
    caller: &Principal,
    parent: Option<&str>,
    field: &str,
) -> Result<()> {
    match parent {
        None if may_create_dashboards(caller.role) => Ok(()),
        None => Err(Error::permission_denied(
            "ROLE_CANNOT_CREATE",
            format!(
                "role {} cannot create at the root ({field} is empty)",
                caller.role
            ),
        )),
        Some(id) => {
            app.authorizer
                .fresh()
                .folder(caller, id, Permission::Write)
                .await?;
            Ok(())
        }
    }
}

/// Under the tree lock: the chain of `parent` (nearest first; empty at the root), which
/// must still exist and be live.
pub(crate) async fn live_chain(
    app: &App,
    conn: &impl ConnectionTrait,
    caller: &Principal,
    parent: Option<&str>,
) -> Result<Vec<ChainLink>> {
    let Some(parent) = parent else {
        return Ok(Vec::new());
    };
    let folder = app
        .store
        .folders()
        .get(conn, &caller.org_id, parent)
        .await?
        .ok_or_else(|| Error::not_found(folder_name(parent)))?;
    if folder.delete_time.is_some() {
        return Err(folder_deleted(parent));
    }
    let mut chains = app
        .store
        .folders()
        .chains(conn, &[parent.to_string()])
        .await?;
    Ok(chains.remove(parent).unwrap_or_default())
}

/// The chain of `folder` (nearest first; empty at the root), trashed or not: where a thing
/// sits now.
pub(crate) async fn chain_of(
    app: &App,
    conn: &impl ConnectionTrait,
    folder: Option<&str>,
) -> Result<Vec<ChainLink>> {
    let Some(folder) = folder else {
        return Ok(Vec::new());
    };
    let mut chains = app
        .store
        .folders()
        .chains(conn, &[folder.to_string()])
        .await?;
    Ok(chains.remove(folder).unwrap_or_default())
}

/// The tree nodes a chain describes (each link's parent is the next link).
pub(crate) fn nodes_of_chain(chain: &[ChainLink]) -> Vec<TreeNode> {
    chain
        .iter()
        .enumerate()
        .map(|(i, link)| TreeNode {
            id: link.folder_id.clone(),
            parent_id: chain.get(i + 1).map(|l| l.folder_id.clone()),
            inherit_access: link.inherit_access,
        })
        .collect()
}

/// How deep folder `id` sits (its chain's length).
pub(crate) async fn depth_of(app: &App, conn: &impl ConnectionTrait, id: &str) -> Result<usize> {
    Ok(depths_of(app, conn, &[id.to_string()])
        .await?
        .get(id)
        .copied()
        .unwrap_or(1))
}

pub(crate) async fn depths_of(
    app: &App,
    conn: &impl ConnectionTrait,
    ids: &[String],
) -> Result<HashMap<String, usize>> {
    let chains = app.store.folders().chains(conn, ids).await?;
    Ok(chains.into_iter().map(|(id, c)| (id, c.len())).collect())
}

/// Checks a title (trimmed; returned) and a description against the limits.
pub(crate) fn check_fields(
    limits: &Limits,
    prefix: &str,
    title: Option<&str>,
    description: Option<&str>,
) -> Result<Option<String>> {
    let mut violations = Vec::new();
    let title = title.map(str::trim);
    if let Some(t) = title {
        let n = t.chars().count();
        if n == 0 || n > limits.max_title_chars {
            violations.push(Violation::new(
                format!("{prefix}.title"),
                format!("required, 1..{} characters", limits.max_title_chars),
            ));
        }
    }
    if let Some(d) = description
        && d.chars().count() > limits.max_description_chars
    {
        violations.push(Violation::new(
            format!("{prefix}.description"),
            format!("at most {} characters", limits.max_description_chars),
        ));
    }
    if violations.is_empty() {
        Ok(title.map(str::to_string))
    } else {
        Err(Error::invalid_fields(violations))
    }
}
