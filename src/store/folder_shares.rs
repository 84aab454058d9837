//! The shares on folders (`folder_grants`), as sharing writes and views read and change
//! them. Writes run in the caller's write transaction, after [`FolderShareRepo::lock_folder`];
//! the rules (limit, last owner, role changes) are decided by the command under that lock
//! (`core::authz::sharing`), as for dashboards (`shares.rs`).

use std::collections::HashMap;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, Order,
    QueryFilter, QueryOrder, QuerySelect,
};

use super::entities::{folder, folder_grant, role};
use super::folders::{folder_into_domain, grant_into_domain};
use crate::core::authz::{BuiltinRole, Grant, GranteeKind, PermissionSet, ShareUpsert};
use crate::core::folder::Folder;
use crate::core::{Micros, Result, new_id};

/// Stateless: every method runs on the connection or transaction it is given.
#[derive(Clone)]
pub struct FolderShareRepo;

impl FolderShareRepo {
    /// Locks the folder row until the transaction ends (`SELECT ... FOR UPDATE` on
    /// PostgreSQL; on SQLite the write already holds the writer lock). Every share change of
    /// a folder takes this lock first, so it decides on the shares as every earlier change
    /// left them.
    pub async fn lock_folder(
        &self,
        txn: &DatabaseTransaction,
        org_id: &str,
        folder_id: &str,
    ) -> Result<Option<Folder>> {
        let row = folder::Entity::find_by_id(folder_id.to_string())
            .filter(folder::Column::OrgId.eq(org_id))
            .lock_exclusive()
            .one(txn)
            .await?;
        Ok(row.map(folder_into_domain))
    }

    /// Every share of a folder (not those above it), oldest first.
    pub async fn list(&self, conn: &impl ConnectionTrait, folder_id: &str) -> Result<Vec<Grant>> {
        let rows = folder_grant::Entity::find()
            .filter(folder_grant::Column::FolderId.eq(folder_id))
            .order_by(folder_grant::Column::CreateTime, Order::Asc)
            .order_by(folder_grant::Column::Id, Order::Asc)
            .all(conn)
            .await?;
        Ok(rows.into_iter().filter_map(grant_into_domain).collect())
    }

    /// The permissions of the custom roles the given shares name (built-in roles are not
    /// stored), read on `conn`.
    pub async fn custom_roles_of(
        &self,
        conn: &impl ConnectionTrait,
        org_id: &str,
        grants: &[Grant],
    ) -> Result<HashMap<String, PermissionSet>> {
        let mut named: Vec<String> = grants
            .iter()
            .filter(|g| BuiltinRole::from_name(&g.role).is_none())
            .map(|g| g.role.clone())
            .collect();
        named.sort();
        named.dedup();
        if named.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = role::Entity::find()
            .filter(role::Column::OrgId.eq(org_id))
            .filter(role::Column::Name.is_in(named))
            .all(conn)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.name, PermissionSet::from_bits(r.permissions)))
            .collect())
    }

    /// Revokes `revoke` (share ids) and creates/replaces `upserts` on the locked folder.
    /// Returns the upserted shares in the order asked.
    pub async fn change(
        &self,
        txn: &DatabaseTransaction,
        folder: &Folder,
        creator_id: &str,
        upserts: &[ShareUpsert],
        revoke: &[String],
        now: Micros,
    ) -> Result<Vec<Grant>> {
        if !revoke.is_empty() {
            folder_grant::Entity::delete_many()
                .filter(folder_grant::Column::FolderId.eq(&folder.id))
                .filter(folder_grant::Column::Id.is_in(revoke.iter().cloned()))
                .exec(txn)
                .await?;
        }
        let mut ids = Vec::with_capacity(upserts.len());
        for upsert in upserts {
            let existing = folder_grant::Entity::find()
                .filter(folder_grant::Column::FolderId.eq(&folder.id))
                .filter(folder_grant::Column::GranteeKind.eq(upsert.kind.as_str()))
                .filter(folder_grant::Column::GranteeId.eq(&upsert.grantee_id))
                .one(txn)
                .await?;
            match existing {
                Some(row) => {
                    folder_grant::Entity::update_many()
                        .col_expr(folder_grant::Column::Role, Expr::val(upsert.role.clone()))
                        .col_expr(
                            folder_grant::Column::ExpireTime,
                            Expr::val(upsert.expire_time),
                        )
                        .col_expr(
                            folder_grant::Column::CreatorId,
                            Expr::val(creator_id.to_string()),
                        )
                        .col_expr(folder_grant::Column::UpdateTime, Expr::val(now))
                        .filter(folder_grant::Column::Id.eq(&row.id))
                        .exec(txn)
                        .await?;
                    ids.push(row.id);
                }
                None => {
                    let id = new_id();
                    folder_grant::Entity::insert(folder_grant::ActiveModel {
                        id: Set(id.clone()),
                        org_id: Set(folder.org_id.clone()),
                        folder_id: Set(folder.id.clone()),
                        grantee_kind: Set(upsert.kind.as_str().to_string()),
                        grantee_id: Set(upsert.grantee_id.clone()),
                        role: Set(upsert.role.clone()),
                        expire_time: Set(upsert.expire_time),
                        creator_id: Set(creator_id.to_string()),
                        create_time: Set(now),
                        update_time: Set(now),
                    })
                    .exec_without_returning(txn)
                    .await?;
                    ids.push(id);
                }
            }
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = folder_grant::Entity::find()
            .filter(folder_grant::Column::Id.is_in(ids.clone()))
            .all(txn)
            .await?;
        // In the order asked.
        let mut grants: Vec<Grant> = rows.into_iter().filter_map(grant_into_domain).collect();
        grants.sort_by_key(|g| ids.iter().position(|id| *id == g.id));
        Ok(grants)
    }

    /// The folders of `org_id` among `ids` (trashed or not).
    pub async fn folders(
        &self,
        conn: &impl ConnectionTrait,
        org_id: &str,
        ids: &[String],
    ) -> Result<Vec<Folder>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = folder::Entity::find()
            .filter(folder::Column::OrgId.eq(org_id))
            .filter(folder::Column::Id.is_in(ids.iter().cloned()))
            .all(conn)
            .await?;
        Ok(rows.into_iter().map(folder_into_domain).collect())
    }

    /// The shares on folders given to group `group_id`.
    pub async fn grants_to_group(
        &self,
        conn: &impl ConnectionTrait,
        org_id: &str,
        group_id: &str,
    ) -> Result<Vec<Grant>> {
        let rows = folder_grant::Entity::find()
            .filter(folder_grant::Column::OrgId.eq(org_id))
            .filter(folder_grant::Column::GranteeKind.eq(GranteeKind::Group.as_str()))
            .filter(folder_grant::Column::GranteeId.eq(group_id))
            .all(conn)
            .await?;
        Ok(rows.into_iter().filter_map(grant_into_domain).collect())
    }
}
