//! The shares (grants) repository. Every change runs in one transaction that locks the
//! dashboard row and refuses to leave a dashboard that had an owner without one.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DatabaseTransaction, EntityTrait, Order,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::Store;
use super::entities::{dashboard, grant};
use crate::core::authz::{BuiltinRole, Grant, GranteeKind};
use crate::core::{Error, Micros, Result, names, new_id};

#[derive(Clone)]
pub struct ShareRepo {
    store: Store,
}

/// A share to create or replace (matched on dashboard + grantee).
#[derive(Debug, Clone)]
pub struct ShareUpsert {
    pub kind: GranteeKind,
    pub grantee_id: String,
    pub role: String,
    pub expire_time: Option<Micros>,
}

impl ShareRepo {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Every share of a dashboard, oldest first.
    pub async fn list(&self, dashboard_id: &str) -> Result<Vec<Grant>> {
        let rows = grant::Entity::find()
            .filter(grant::Column::DashboardId.eq(dashboard_id))
            .order_by(grant::Column::CreateTime, Order::Asc)
            .order_by(grant::Column::Id, Order::Asc)
            .all(self.store.db())
            .await?;
        Ok(rows.into_iter().filter_map(into_domain).collect())
    }

    pub async fn get(&self, dashboard_id: &str, id: &str) -> Result<Option<Grant>> {
        let row = grant::Entity::find_by_id(id.to_string())
            .filter(grant::Column::DashboardId.eq(dashboard_id))
            .one(self.store.db())
            .await?;
        Ok(row.and_then(into_domain))
    }

    /// The share of one grantee, if any.
    pub async fn find(
        &self,
        dashboard_id: &str,
        kind: GranteeKind,
        grantee_id: &str,
    ) -> Result<Option<Grant>> {
        let row = grant::Entity::find()
            .filter(grant::Column::DashboardId.eq(dashboard_id))
            .filter(grant::Column::GranteeKind.eq(kind.as_str()))
            .filter(grant::Column::GranteeId.eq(grantee_id))
            .one(self.store.db())
            .await?;
        Ok(row.and_then(into_domain))
    }

    /// Revokes `revoke` (share ids) and creates/replaces `upserts`, atomically. Fails with
    /// FAILED_PRECONDITION `LAST_OWNER` if the dashboard would lose its last owner.
    pub async fn change(
        &self,
        org_id: &str,
        dashboard_id: &str,
        creator_id: &str,
        upserts: &[ShareUpsert],
        revoke: &[String],
        now: Micros,
    ) -> Result<Vec<Grant>> {
        let txn = self.store.begin_write().await?;
        // Serializes share changes of one dashboard on PostgreSQL (a no-op on SQLite, whose
        // writers are already serialized).
        let board = dashboard::Entity::find_by_id(dashboard_id.to_string())
            .lock_exclusive()
            .one(&*txn)
            .await?
            .ok_or_else(|| Error::not_found(names::dashboard_name(dashboard_id)))?;
        let owners_before = count_owners(&txn, dashboard_id, now).await?;
        if !revoke.is_empty() {
            grant::Entity::delete_many()
                .filter(grant::Column::DashboardId.eq(dashboard_id))
                .filter(grant::Column::Id.is_in(revoke.iter().cloned()))
                .exec(&*txn)
                .await?;
        }
        let mut ids = Vec::with_capacity(upserts.len());
        for upsert in upserts {
            let existing = grant::Entity::find()
                .filter(grant::Column::DashboardId.eq(dashboard_id))
                .filter(grant::Column::GranteeKind.eq(upsert.kind.as_str()))
                .filter(grant::Column::GranteeId.eq(&upsert.grantee_id))
                .one(&*txn)
                .await?;
            match existing {
                Some(row) => {
                    grant::Entity::update_many()
                        .col_expr(grant::Column::Role, Expr::val(upsert.role.clone()))
                        .col_expr(grant::Column::ExpireTime, Expr::val(upsert.expire_time))
                        .col_expr(grant::Column::CreatorId, Expr::val(creator_id.to_string()))
                        .col_expr(grant::Column::UpdateTime, Expr::val(now))
                        .filter(grant::Column::Id.eq(&row.id))
                        .exec(&*txn)
                        .await?;
                    ids.push(row.id);
                }
                None => {
                    let id = new_id();
                    grant::Entity::insert(grant::ActiveModel {
                        id: Set(id.clone()),
                        org_id: Set(org_id.to_string()),
                        dashboard_id: Set(dashboard_id.to_string()),
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
                    .exec_without_returning(&*txn)
                    .await?;
                    ids.push(id);
                }
            }
        }
        if owners_before > 0 && count_owners(&txn, dashboard_id, now).await? == 0 {
            return Err(Error::failed_precondition(
                "LAST_OWNER",
                names::dashboard_name(dashboard_id),
                "a dashboard must keep at least one owner; make someone else owner first",
            ));
        }
        let rows = grant::Entity::find()
            .filter(grant::Column::Id.is_in(ids.clone()))
            .all(&*txn)
            .await?;
        txn.commit().await?;
        // In the order asked.
        let mut grants: Vec<Grant> = rows.into_iter().filter_map(into_domain).collect();
        grants.sort_by_key(|g| ids.iter().position(|id| *id == g.id));
        Ok(grants)
    }

    /// Whether any share of the org names `role`.
    pub async fn role_in_use(&self, org_id: &str, role: &str) -> Result<bool> {
        Ok(grant::Entity::find()
            .filter(grant::Column::OrgId.eq(org_id))
            .filter(grant::Column::Role.eq(role))
            .count(self.store.db())
            .await?
            > 0)
    }

    /// The share ids on dashboards of `dashboard_ids` that name `(kind, grantee)`.
    pub async fn grants_to(
        &self,
        org_id: &str,
        kind: GranteeKind,
        grantee_id: &str,
    ) -> Result<Vec<Grant>> {
        let rows = grant::Entity::find()
            .filter(grant::Column::OrgId.eq(org_id))
            .filter(grant::Column::GranteeKind.eq(kind.as_str()))
            .filter(grant::Column::GranteeId.eq(grantee_id))
            .limit(10_000)
            .all(self.store.db())
            .await?;
        Ok(rows.into_iter().filter_map(into_domain).collect())
    }
}

async fn count_owners(txn: &DatabaseTransaction, dashboard_id: &str, now: Micros) -> Result<u64> {
    Ok(grant::Entity::find()
        .filter(grant::Column::DashboardId.eq(dashboard_id))
        .filter(grant::Column::GranteeKind.eq(GranteeKind::User.as_str()))
        .filter(grant::Column::Role.eq(BuiltinRole::Owner.name()))
        .filter(
            Condition::any()
                .add(grant::Column::ExpireTime.is_null())
                .add(grant::Column::ExpireTime.gt(now)),
        )
        .count(txn)
        .await?)
}

pub(crate) fn into_domain(m: grant::Model) -> Option<Grant> {
    let Some(kind) = GranteeKind::parse(&m.grantee_kind) else {
        tracing::warn!(grant = %m.id, kind = %m.grantee_kind, "skipping grant of unknown kind");
        return None;
    };
    Some(Grant {
        id: m.id,
        dashboard_id: m.dashboard_id,
        kind,
        grantee_id: m.grantee_id,
        role: m.role,
        expire_time: m.expire_time,
        creator_id: m.creator_id,
        create_time: m.create_time,
        update_time: m.update_time,
    })
}
