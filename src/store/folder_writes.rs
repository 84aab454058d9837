//! Folder writes: create, update, move, trash, and the closure rows (`folder_paths`) they
//! keep exact. Every structure change of an org first takes the org's tree lock
//! ([`lock_tree`]) so that two moves cannot make a cycle between their reads and writes.

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction,
    EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect,
};

use super::entities::{dashboard, folder, folder_grant, folder_path, grant};
use super::folders::{FolderRepo, folder_into_domain};
use super::is_unique_violation;
use crate::core::authz::{BuiltinRole, GranteeKind};
use crate::core::folder::{Folder, PathRow, TreeNode, folder_name, title_taken};
use crate::core::{Error, Micros, Result, new_id};

/// SQLite binds at most 32,766 values per statement; a closure row takes five.
const PATH_ROWS_PER_INSERT: usize = 5_000;
/// Ids per `IN (...)` list.
const IDS_PER_STATEMENT: usize = 10_000;

/// Serializes the structure changes of `org_id` until the transaction ends (PostgreSQL: a
/// transaction-scoped advisory lock; SQLite's writers are serialized already). Taken first,
/// before any row lock, by every folder write and every placement of a dashboard in a
/// folder; nothing else takes it, so it cannot join a lock cycle.
pub async fn lock_tree(txn: &DatabaseTransaction, org_id: &str) -> Result<()> {
    if txn.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(());
    }
    let statement = sea_orm::Statement::from_sql_and_values(
        DatabaseBackend::Postgres,
        "SELECT pg_advisory_xact_lock(hashtextextended('folders:' || $1, 0))",
        [org_id.into()],
    );
    txn.execute_raw(statement).await?;
    Ok(())
}

impl FolderRepo {
    /// Inserts a folder, its closure rows and the creator's owner share. `Err(AlreadyExists)`
    /// when a live sibling has the title.
    pub async fn create(
        &self,
        txn: &DatabaseTransaction,
        new: &Folder,
        paths: &[PathRow],
    ) -> Result<Folder> {
        // The next number of the org (under the tree lock, so no other create races it;
        // a unique index says so too).
        let last = folder::Entity::find()
            .select_only()
            .column_as(Expr::col(folder::Column::Seq).max(), "seq")
            .filter(folder::Column::OrgId.eq(&new.org_id))
            .into_tuple::<Option<i32>>()
            .one(txn)
            .await?
            .flatten()
            .unwrap_or(0);
        let row = folder::ActiveModel {
            id: Set(new.id.clone()),
            org_id: Set(new.org_id.clone()),
            parent_id: Set(new.parent_id.clone().unwrap_or_default()),
            title: Set(new.title.clone()),
            description: Set(new.description.clone()),
            inherit_access: Set(new.inherit_access),
            creator_id: Set(new.creator_id.clone()),
            revision: Set(new.revision),
            create_time: Set(new.create_time),
            update_time: Set(new.update_time),
            delete_time: Set(None),
            trashed_with: Set(None),
            seq: Set(last.saturating_add(1)),
        };
        if let Err(err) = folder::Entity::insert(row)
            .exec_without_returning(txn)
            .await
        {
            return Err(if is_unique_violation(&err) {
                title_taken(&new.title)
            } else {
                err.into()
            });
        }
        insert_paths(txn, &new.org_id, paths).await?;
        let owner = folder_grant::ActiveModel {
            id: Set(new_id()),
            org_id: Set(new.org_id.clone()),
            folder_id: Set(new.id.clone()),
            grantee_kind: Set(GranteeKind::User.as_str().to_string()),
            grantee_id: Set(new.creator_id.clone()),
            role: Set(BuiltinRole::Owner.name().to_string()),
            expire_time: Set(None),
            creator_id: Set(new.creator_id.clone()),
            create_time: Set(new.create_time),
            update_time: Set(new.create_time),
        };
        folder_grant::Entity::insert(owner)
            .exec_without_returning(txn)
            .await?;
        Ok(new.clone())
    }

    /// The folder, locked for the rest of the write.
    pub async fn lock(
        &self,
        txn: &DatabaseTransaction,
        org_id: &str,
        id: &str,
    ) -> Result<Option<Folder>> {
        let row = folder::Entity::find_by_id(id.to_string())
            .filter(folder::Column::OrgId.eq(org_id))
            .lock_exclusive()
            .one(txn)
            .await?;
        Ok(row.map(folder_into_domain))
    }

    /// A live sibling of `parent_id` (None: the root) other than `except` titled `title`.
    pub async fn title_taken(
        &self,
        conn: &impl ConnectionTrait,
        org_id: &str,
        parent_id: Option<&str>,
        title: &str,
        except: &str,
    ) -> Result<bool> {
        let found = folder::Entity::find()
            .filter(folder::Column::OrgId.eq(org_id))
            .filter(folder::Column::ParentId.eq(parent_id.unwrap_or_default()))
            .filter(folder::Column::Title.eq(title))
            .filter(folder::Column::DeleteTime.is_null())
            .filter(folder::Column::Id.ne(except))
            .one(conn)
            .await?;
        Ok(found.is_some())
    }

    /// Writes the folder's own fields (title, description, inherit_access, parent) and
    /// bumps its revision.
    pub async fn save(&self, txn: &DatabaseTransaction, f: &Folder) -> Result<Folder> {
        let result = folder::Entity::update_many()
            .col_expr(folder::Column::Title, Expr::val(f.title.clone()))
            .col_expr(
                folder::Column::Description,
                Expr::val(f.description.clone()),
            )
            .col_expr(folder::Column::InheritAccess, Expr::val(f.inherit_access))
            .col_expr(
                folder::Column::ParentId,
                Expr::val(f.parent_id.clone().unwrap_or_default()),
            )
            .col_expr(folder::Column::Revision, Expr::val(f.revision + 1))
            .col_expr(folder::Column::UpdateTime, Expr::val(f.update_time))
            .filter(folder::Column::Id.eq(&f.id))
            .filter(folder::Column::OrgId.eq(&f.org_id))
            .exec(txn)
            .await;
        match result {
            Ok(_) => {}
            Err(err) if is_unique_violation(&err) => return Err(title_taken(&f.title)),
            Err(err) => return Err(err.into()),
        }
        self.get(txn, &f.org_id, &f.id)
            .await?
            .ok_or_else(|| Error::internal("a locked folder vanished"))
    }

    /// The ids of `id` and every folder below it, nearest first.
    pub async fn subtree(&self, conn: &impl ConnectionTrait, id: &str) -> Result<Vec<String>> {
        let rows = folder_path::Entity::find()
            .filter(folder_path::Column::AncestorId.eq(id))
            .order_by(folder_path::Column::Depth, Order::Asc)
            .order_by(folder_path::Column::DescendantId, Order::Asc)
            .all(conn)
            .await?;
        Ok(rows.into_iter().map(|r| r.descendant_id).collect())
    }

    /// How many levels the subtree of `id` reaches below it (0: no folder under it).
    pub async fn height(&self, conn: &impl ConnectionTrait, id: &str) -> Result<usize> {
        let rows = folder_path::Entity::find()
            .filter(folder_path::Column::AncestorId.eq(id))
            .order_by(folder_path::Column::Depth, Order::Desc)
            .limit(1)
            .all(conn)
            .await?;
        Ok(rows
            .first()
            .map(|r| std::cmp::max(r.depth, 0) as usize)
            .unwrap_or(0))
    }

    /// The tree nodes of the given folders.
    pub async fn nodes(
        &self,
        conn: &impl ConnectionTrait,
        ids: &[String],
    ) -> Result<Vec<TreeNode>> {
        let mut nodes = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            let rows = folder::Entity::find()
                .filter(folder::Column::Id.is_in(chunk.iter().cloned()))
                .all(conn)
                .await?;
            nodes.extend(rows.into_iter().map(|m| TreeNode {
                id: m.id,
                parent_id: (!m.parent_id.is_empty()).then_some(m.parent_id),
                inherit_access: m.inherit_access,
            }));
        }
        Ok(nodes)
    }

    /// Replaces the closure rows of every folder in `subtree` with `paths`.
    pub async fn replace_paths(
        &self,
        txn: &DatabaseTransaction,
        org_id: &str,
        subtree: &[String],
        paths: &[PathRow],
    ) -> Result<()> {
        for chunk in subtree.chunks(IDS_PER_STATEMENT) {
            folder_path::Entity::delete_many()
                .filter(folder_path::Column::DescendantId.is_in(chunk.iter().cloned()))
                .exec(txn)
                .await?;
        }
        insert_paths(txn, org_id, paths).await
    }

    /// Trashes `id` and the live folders below it (`trashed_with` = `id`); returns the ids
    /// it trashed.
    pub async fn trash_subtree(
        &self,
        txn: &DatabaseTransaction,
        org_id: &str,
        id: &str,
        now: Micros,
    ) -> Result<Vec<String>> {
        let subtree = self.subtree(txn, id).await?;
        let mut trashed = Vec::new();
        for chunk in subtree.chunks(IDS_PER_STATEMENT) {
            let live = folder::Entity::find()
                .filter(folder::Column::OrgId.eq(org_id))
                .filter(folder::Column::Id.is_in(chunk.iter().cloned()))
                .filter(folder::Column::DeleteTime.is_null())
                .all(txn)
                .await?;
            let ids: Vec<String> = live.into_iter().map(|m| m.id).collect();
            if ids.is_empty() {
                continue;
            }
            folder::Entity::update_many()
                .col_expr(folder::Column::DeleteTime, Expr::val(now))
                .col_expr(folder::Column::TrashedWith, Expr::val(id))
                .col_expr(folder::Column::UpdateTime, Expr::val(now))
                .col_expr(
                    folder::Column::Revision,
                    Expr::col(folder::Column::Revision).add(1),
                )
                .filter(folder::Column::Id.is_in(ids.iter().cloned()))
                .exec(txn)
                .await?;
            trashed.extend(ids);
        }
        Ok(trashed)
    }

    /// Restores the folders `id`'s deletion trashed; returns their ids.
    pub async fn restore_subtree(
        &self,
        txn: &DatabaseTransaction,
        org_id: &str,
        id: &str,
        now: Micros,
    ) -> Result<Vec<String>> {
        let rows = folder::Entity::find()
            .filter(folder::Column::OrgId.eq(org_id))
            .filter(folder::Column::TrashedWith.eq(id))
            .all(txn)
            .await?;
        let ids: Vec<String> = rows.into_iter().map(|m| m.id).collect();
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            let result = folder::Entity::update_many()
                .col_expr(folder::Column::DeleteTime, Expr::val(Option::<i64>::None))
                .col_expr(
                    folder::Column::TrashedWith,
                    Expr::val(Option::<String>::None),
                )
                .col_expr(folder::Column::UpdateTime, Expr::val(now))
                .col_expr(
                    folder::Column::Revision,
                    Expr::col(folder::Column::Revision).add(1),
                )
                .filter(folder::Column::Id.is_in(chunk.iter().cloned()))
                .exec(txn)
                .await;
            if let Err(err) = result {
                return Err(if is_unique_violation(&err) {
                    title_taken(&folder_name(id))
                } else {
                    err.into()
                });
            }
        }
        Ok(ids)
    }

    /// Trashes the live dashboards held by the given folders (`trashed_with` = `with`),
    /// keeping their grants' copied trash state in step; returns their ids.
    pub async fn trash_dashboards(
        &self,
        txn: &DatabaseTransaction,
        org_id: &str,
        folders: &[String],
        with: &str,
        trash: (Micros, Micros),
    ) -> Result<Vec<String>> {
        let (now, expire) = trash;
        let mut ids = Vec::new();
        for chunk in folders.chunks(IDS_PER_STATEMENT) {
            let rows = dashboard::Entity::find()
                .filter(dashboard::Column::OrgId.eq(org_id))
                .filter(dashboard::Column::FolderId.is_in(chunk.iter().cloned()))
                .filter(dashboard::Column::DeleteTime.is_null())
                .lock_exclusive()
                .all(txn)
                .await?;
            ids.extend(rows.into_iter().map(|m| m.id));
        }
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            dashboard::Entity::update_many()
                .col_expr(dashboard::Column::DeleteTime, Expr::val(now))
                .col_expr(dashboard::Column::ExpireTime, Expr::val(expire))
                .col_expr(dashboard::Column::TrashedWith, Expr::val(with))
                .col_expr(dashboard::Column::UpdateTime, Expr::val(now))
                .col_expr(
                    dashboard::Column::Revision,
                    Expr::col(dashboard::Column::Revision).add(1),
                )
                .filter(dashboard::Column::Id.is_in(chunk.iter().cloned()))
                .exec(txn)
                .await?;
            copy_trash_state(txn, chunk, Some(now), now).await?;
        }
        Ok(ids)
    }

    /// Restores the dashboards `with`'s deletion trashed; returns their ids.
    pub async fn restore_dashboards(
        &self,
        txn: &DatabaseTransaction,
        org_id: &str,
        with: &str,
        now: Micros,
    ) -> Result<Vec<String>> {
        let rows = dashboard::Entity::find()
            .filter(dashboard::Column::OrgId.eq(org_id))
            .filter(dashboard::Column::TrashedWith.eq(with))
            .filter(dashboard::Column::DeleteTime.is_not_null())
            .lock_exclusive()
            .all(txn)
            .await?;
        let ids: Vec<String> = rows.into_iter().map(|m| m.id).collect();
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            dashboard::Entity::update_many()
                .col_expr(
                    dashboard::Column::DeleteTime,
                    Expr::val(Option::<i64>::None),
                )
                .col_expr(
                    dashboard::Column::ExpireTime,
                    Expr::val(Option::<i64>::None),
                )
                .col_expr(
                    dashboard::Column::TrashedWith,
                    Expr::val(Option::<String>::None),
                )
                .col_expr(dashboard::Column::UpdateTime, Expr::val(now))
                .col_expr(
                    dashboard::Column::Revision,
                    Expr::col(dashboard::Column::Revision).add(1),
                )
                .filter(dashboard::Column::Id.is_in(chunk.iter().cloned()))
                .exec(txn)
                .await?;
            copy_trash_state(txn, chunk, None, now).await?;
        }
        Ok(ids)
    }

    /// The live dashboards that inherit from `id` through the folders below it (their
    /// folder's closure row from `id` inherits, and they do not stop inheritance).
    pub async fn inheriting_dashboards(
        &self,
        conn: &impl ConnectionTrait,
        org_id: &str,
        id: &str,
    ) -> Result<Vec<String>> {
        let reached = Query::select()
            .column(folder_path::Column::DescendantId)
            .from(folder_path::Entity)
            .and_where(folder_path::Column::AncestorId.eq(id))
            .and_where(folder_path::Column::Inherits.eq(true))
            .take();
        let rows = dashboard::Entity::find()
            .filter(dashboard::Column::OrgId.eq(org_id))
            .filter(dashboard::Column::InheritAccess.eq(true))
            .filter(dashboard::Column::DeleteTime.is_null())
            .filter(dashboard::Column::FolderId.in_subquery(reached))
            .order_by(dashboard::Column::Id, Order::Asc)
            .all(conn)
            .await?;
        Ok(rows.into_iter().map(|m| m.id).collect())
    }
}

/// Puts the dashboard in `folder_id` (None: the root) and/or sets its `inherit_access`,
/// bumping its revision; the dashboard row must be locked. Read it back with
/// `DashboardRepo::get_in`.
pub async fn place_dashboard(
    txn: &DatabaseTransaction,
    org_id: &str,
    id: &str,
    folder_id: Option<Option<&str>>,
    inherit_access: Option<bool>,
    now: Micros,
) -> Result<()> {
    let mut update = dashboard::Entity::update_many()
        .col_expr(
            dashboard::Column::Revision,
            Expr::col(dashboard::Column::Revision).add(1),
        )
        .col_expr(dashboard::Column::UpdateTime, Expr::val(now));
    if let Some(folder_id) = folder_id {
        update = update
            .col_expr(
                dashboard::Column::FolderId,
                Expr::val(folder_id.map(str::to_string)),
            )
            .col_expr(dashboard::Column::FolderSeq, folder_seq_of(folder_id));
    }
    if let Some(inherit) = inherit_access {
        update = update.col_expr(dashboard::Column::InheritAccess, Expr::val(inherit));
    }
    update
        .filter(dashboard::Column::Id.eq(id))
        .filter(dashboard::Column::OrgId.eq(org_id))
        .exec(txn)
        .await?;
    let row = dashboard::Entity::find_by_id(id.to_string())
        .one(txn)
        .await?
        .ok_or_else(|| Error::internal("a locked dashboard vanished"))?;
    super::dashboards::copy_listing_keys(txn, &row, super::dashboards::KeysChanged::TIME).await
}

/// Copies the trash state of the given dashboards into their grants (see
/// `store::dashboards::copy_listing_keys`: the listing reads it there).
async fn copy_trash_state(
    txn: &DatabaseTransaction,
    ids: &[String],
    delete_time: Option<Micros>,
    now: Micros,
) -> Result<()> {
    grant::Entity::update_many()
        .col_expr(grant::Column::DashboardDeleteTime, Expr::val(delete_time))
        .col_expr(grant::Column::DashboardUpdateTime, Expr::val(now))
        .filter(grant::Column::DashboardId.is_in(ids.iter().cloned()))
        .exec(txn)
        .await?;
    Ok(())
}

async fn insert_paths(txn: &DatabaseTransaction, org_id: &str, paths: &[PathRow]) -> Result<()> {
    for chunk in paths.chunks(PATH_ROWS_PER_INSERT) {
        let rows = chunk.iter().map(|p| folder_path::ActiveModel {
            org_id: Set(org_id.to_string()),
            ancestor_id: Set(p.ancestor.clone()),
            descendant_id: Set(p.descendant.clone()),
            depth: Set(p.depth),
            inherits: Set(p.inherits),
        });
        folder_path::Entity::insert_many(rows)
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

/// The `seq` of `folder_id` (NULL for the root), as a subquery of the write that places a
/// dashboard there.
pub(crate) fn folder_seq_of(folder_id: Option<&str>) -> Expr {
    match folder_id {
        None => Expr::val(None::<i32>),
        Some(id) => Expr::SubQuery(
            None,
            Box::new(
                Query::select()
                    .column(folder::Column::Seq)
                    .from(folder::Entity)
                    .and_where(folder::Column::Id.eq(id))
                    .take()
                    .into(),
            ),
        ),
    }
}
