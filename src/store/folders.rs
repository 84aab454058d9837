//! The folder tree as access decisions read it: chains (a folder and the folders above it,
//! with their `inherit_access`) and the shares on folders. Folder writes (create, move,
//! trash) live in `folder_writes`.

use std::collections::HashMap;

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, Order, QueryFilter, QueryOrder,
};

use super::entities::{folder, folder_grant, folder_path};
use crate::core::authz::{ChainLink, Grant, GranteeKind, ShareTarget};
use crate::core::folder::Folder;
use crate::core::{Principal, Result};

/// Stateless: every method runs on the connection or transaction it is given.
#[derive(Clone)]
pub struct FolderRepo;

impl FolderRepo {
    /// The chain of each folder in `folder_ids`: the folder itself first, then its parent,
    /// up to the root.
    pub async fn chains(
        &self,
        conn: &impl ConnectionTrait,
        folder_ids: &[String],
    ) -> Result<HashMap<String, Vec<ChainLink>>> {
        let mut chains: HashMap<String, Vec<ChainLink>> = HashMap::new();
        if folder_ids.is_empty() {
            return Ok(chains);
        }
        let statement = Query::select()
            .column((folder_path::Entity, folder_path::Column::DescendantId))
            .column((folder_path::Entity, folder_path::Column::AncestorId))
            .column((folder::Entity, folder::Column::InheritAccess))
            .from(folder_path::Entity)
            .inner_join(
                folder::Entity,
                Expr::col((folder::Entity, folder::Column::Id))
                    .equals((folder_path::Entity, folder_path::Column::AncestorId)),
            )
            .and_where(
                Expr::col((folder_path::Entity, folder_path::Column::DescendantId))
                    .is_in(folder_ids.iter().cloned()),
            )
            .order_by(
                (folder_path::Entity, folder_path::Column::DescendantId),
                Order::Asc,
            )
            .order_by(
                (folder_path::Entity, folder_path::Column::Depth),
                Order::Asc,
            )
            .take();
        for row in conn.query_all(&statement).await? {
            let descendant: String = row.try_get("", "descendant_id")?;
            let ancestor: String = row.try_get("", "ancestor_id")?;
            let inherit_access: bool = row.try_get("", "inherit_access")?;
            chains.entry(descendant).or_default().push(ChainLink {
                folder_id: ancestor,
                inherit_access,
            });
        }
        Ok(chains)
    }

    /// The shares on the given folders and every folder above them that apply to
    /// `principal` (its own, its groups', its tenant's, the org-wide audiences'); expired
    /// ones and ones above a cut included: the policy decides.
    pub async fn grants_above(
        &self,
        conn: &impl ConnectionTrait,
        principal: &Principal,
        folder_ids: &[String],
    ) -> Result<Vec<Grant>> {
        if folder_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = folder_grant::Entity::find()
            .filter(
                Condition::all()
                    .add(folder_grant::Column::OrgId.eq(&principal.org_id))
                    .add(folder_grant::Column::FolderId.in_subquery(above(folder_ids)))
                    .add(super::dashboards::applies_to(
                        principal,
                        folder_grant::Entity,
                    )),
            )
            .all(conn)
            .await?;
        Ok(rows.into_iter().filter_map(grant_into_domain).collect())
    }

    /// Every share on exactly the given folders (not those above), whoever it is for.
    pub async fn grants_on(
        &self,
        conn: &impl ConnectionTrait,
        org_id: &str,
        folder_ids: &[String],
    ) -> Result<Vec<Grant>> {
        if folder_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = folder_grant::Entity::find()
            .filter(folder_grant::Column::OrgId.eq(org_id))
            .filter(folder_grant::Column::FolderId.is_in(folder_ids.iter().cloned()))
            .all(conn)
            .await?;
        Ok(rows.into_iter().filter_map(grant_into_domain).collect())
    }

    /// Every share on the given folders and the folders above them, whoever it is for.
    pub async fn all_grants_above(
        &self,
        conn: &impl ConnectionTrait,
        org_id: &str,
        folder_ids: &[String],
    ) -> Result<Vec<Grant>> {
        if folder_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = folder_grant::Entity::find()
            .filter(folder_grant::Column::OrgId.eq(org_id))
            .filter(folder_grant::Column::FolderId.in_subquery(above(folder_ids)))
            .order_by(folder_grant::Column::CreateTime, Order::Asc)
            .order_by(folder_grant::Column::Id, Order::Asc)
            .all(conn)
            .await?;
        Ok(rows.into_iter().filter_map(grant_into_domain).collect())
    }

    /// Folder `id` of `org_id`, trashed or not.
    pub async fn get(
        &self,
        conn: &impl ConnectionTrait,
        org_id: &str,
        id: &str,
    ) -> Result<Option<Folder>> {
        let row = folder::Entity::find_by_id(id.to_string())
            .filter(folder::Column::OrgId.eq(org_id))
            .one(conn)
            .await?;
        Ok(row.map(folder_into_domain))
    }
}

/// The ids of the given folders and every folder above them.
fn above(folder_ids: &[String]) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(folder_path::Column::AncestorId)
        .from(folder_path::Entity)
        .and_where(folder_path::Column::DescendantId.is_in(folder_ids.iter().cloned()))
        .take()
}

pub(crate) fn folder_into_domain(m: folder::Model) -> Folder {
    Folder {
        id: m.id,
        org_id: m.org_id,
        parent_id: (!m.parent_id.is_empty()).then_some(m.parent_id),
        title: m.title,
        description: m.description,
        inherit_access: m.inherit_access,
        creator_id: m.creator_id,
        revision: m.revision,
        create_time: m.create_time,
        update_time: m.update_time,
        delete_time: m.delete_time,
    }
}

pub(crate) fn grant_into_domain(m: folder_grant::Model) -> Option<Grant> {
    let Some(kind) = GranteeKind::parse(&m.grantee_kind) else {
        tracing::warn!(grant = %m.id, kind = %m.grantee_kind, "skipping grant of unknown kind");
        return None;
    };
    Some(Grant {
        id: m.id,
        on: ShareTarget::Folder(m.folder_id),
        kind,
        grantee_id: m.grantee_id,
        role: m.role,
        expire_time: m.expire_time,
        creator_id: m.creator_id,
        create_time: m.create_time,
        update_time: m.update_time,
    })
}
