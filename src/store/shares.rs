//! The shares (grants) repository. Writes run in the caller's write transaction, after
//! [`ShareRepo::lock_dashboard`]; the rules (limit, last owner, role changes) are decided by
//! the command under that lock (`core::authz::sharing`), not here.

use std::collections::HashMap;

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, Order,
    QueryFilter, QueryOrder,
};

use super::entities::{grant, role};
use crate::core::authz::{Grant, GranteeKind, PermissionSet, ShareTarget, ShareUpsert};
use crate::core::{Micros, Result, new_id};

/// Stateless: every method runs on the connection or transaction it is given.
#[derive(Clone)]
pub struct ShareRepo;

/// A dashboard row locked for the rest of a write: what share writes copy from it.
#[derive(Debug, Clone)]
pub struct LockedDashboard {
    pub id: String,
    pub org_id: String,
    pub title: String,
    pub create_time: Micros,
    pub update_time: Micros,
    pub delete_time: Option<Micros>,
    pub folder_id: Option<String>,
    pub inherit_access: bool,
}

impl ShareRepo {
    /// Locks the dashboard row until the transaction ends (`SELECT ... FOR UPDATE` on
    /// PostgreSQL; on SQLite the write already holds the writer lock). Every share change
    /// of a dashboard takes this lock first, so it reads the shares it decides on after
    /// every earlier change has committed.
    pub async fn lock_dashboard(
        &self,
        txn: &DatabaseTransaction,
        org_id: &str,
        dashboard_id: &str,
    ) -> Result<Option<LockedDashboard>> {
        let board = super::dashboards::lock_row(txn, org_id, dashboard_id).await?;
        Ok(board.map(|b| LockedDashboard {
            id: b.id,
            org_id: b.org_id,
            title: b.title,
            create_time: b.create_time,
            update_time: b.update_time,
            delete_time: b.delete_time,
            folder_id: b.folder_id,
            inherit_access: b.inherit_access,
        }))
    }

    /// Every share of a dashboard, oldest first.
    pub async fn list(
        &self,
        conn: &impl ConnectionTrait,
        dashboard_id: &str,
    ) -> Result<Vec<Grant>> {
        let rows = grant::Entity::find()
            .filter(grant::Column::DashboardId.eq(dashboard_id))
            .order_by(grant::Column::CreateTime, Order::Asc)
            .order_by(grant::Column::Id, Order::Asc)
            .all(conn)
            .await?;
        Ok(rows.into_iter().filter_map(into_domain).collect())
    }

    /// The permissions of the custom roles the shares of a dashboard name (built-in roles
    /// are not stored).
    pub async fn custom_roles_of(
        &self,
        conn: &impl ConnectionTrait,
        org_id: &str,
        dashboard_id: &str,
    ) -> Result<HashMap<String, PermissionSet>> {
        let named = Query::select()
            .column(grant::Column::Role)
            .from(grant::Entity)
            .and_where(Expr::col(grant::Column::DashboardId).eq(dashboard_id))
            .to_owned();
        let rows = role::Entity::find()
            .filter(role::Column::OrgId.eq(org_id))
            .filter(role::Column::Name.in_subquery(named))
            .all(conn)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.name, PermissionSet::from_bits(r.permissions)))
            .collect())
    }

    /// Revokes `revoke` (share ids) and creates/replaces `upserts` on the locked dashboard.
    /// Returns the upserted shares in the order asked.
    pub async fn change(
        &self,
        txn: &DatabaseTransaction,
        board: &LockedDashboard,
        creator_id: &str,
        upserts: &[ShareUpsert],
        revoke: &[String],
        now: Micros,
    ) -> Result<Vec<Grant>> {
        if !revoke.is_empty() {
            grant::Entity::delete_many()
                .filter(grant::Column::DashboardId.eq(&board.id))
                .filter(grant::Column::Id.is_in(revoke.iter().cloned()))
                .exec(txn)
                .await?;
        }
        let mut ids = Vec::with_capacity(upserts.len());
        for upsert in upserts {
            let existing = grant::Entity::find()
                .filter(grant::Column::DashboardId.eq(&board.id))
                .filter(grant::Column::GranteeKind.eq(upsert.kind.as_str()))
                .filter(grant::Column::GranteeId.eq(&upsert.grantee_id))
                .one(txn)
                .await?;
            match existing {
                Some(row) => {
                    grant::Entity::update_many()
                        .col_expr(grant::Column::Role, Expr::val(upsert.role.clone()))
                        .col_expr(grant::Column::ExpireTime, Expr::val(upsert.expire_time))
                        .col_expr(grant::Column::CreatorId, Expr::val(creator_id.to_string()))
                        .col_expr(grant::Column::UpdateTime, Expr::val(now))
                        .filter(grant::Column::Id.eq(&row.id))
                        .exec(txn)
                        .await?;
                    ids.push(row.id);
                }
                None => {
                    let id = new_id();
                    grant::Entity::insert(grant::ActiveModel {
                        id: Set(id.clone()),
                        org_id: Set(board.org_id.clone()),
                        dashboard_id: Set(board.id.clone()),
                        grantee_kind: Set(upsert.kind.as_str().to_string()),
                        grantee_id: Set(upsert.grantee_id.clone()),
                        role: Set(upsert.role.clone()),
                        expire_time: Set(upsert.expire_time),
                        creator_id: Set(creator_id.to_string()),
                        create_time: Set(now),
                        update_time: Set(now),
                        // Listing copies, taken under the dashboard's lock.
                        dashboard_title: Set(board.title.clone()),
                        dashboard_create_time: Set(board.create_time),
                        dashboard_update_time: Set(board.update_time),
                        dashboard_delete_time: Set(board.delete_time),
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
        let rows = grant::Entity::find()
            .filter(grant::Column::Id.is_in(ids.clone()))
            .all(txn)
            .await?;
        // In the order asked.
        let mut grants: Vec<Grant> = rows.into_iter().filter_map(into_domain).collect();
        grants.sort_by_key(|g| ids.iter().position(|id| *id == g.id));
        Ok(grants)
    }
}

pub(crate) fn into_domain(m: grant::Model) -> Option<Grant> {
    let Some(kind) = GranteeKind::parse(&m.grantee_kind) else {
        tracing::warn!(grant = %m.id, kind = %m.grantee_kind, "skipping grant of unknown kind");
        return None;
    };
    Some(Grant {
        id: m.id,
        on: ShareTarget::Dashboard(m.dashboard_id),
        kind,
        grantee_id: m.grantee_id,
        role: m.role,
        expire_time: m.expire_time,
        creator_id: m.creator_id,
        create_time: m.create_time,
        update_time: m.update_time,
    })
}
