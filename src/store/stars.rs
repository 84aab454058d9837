//! The stars repository: a user's bookmarks of dashboards, one row per (org, user,
//! dashboard). Writes run in the caller's write transaction; they append no event (DESIGN
//! §7: stars are not audited) and so take no revision.

use std::collections::HashSet;

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query, SelectStatement};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QuerySelect,
};

use super::Store;
use super::entities::star;
use crate::core::{Micros, Result};

#[derive(Clone)]
pub struct StarRepo {
    store: Store,
}

impl StarRepo {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Stars the dashboard for the user; false when it was starred already (the first star
    /// and its time stay).
    pub async fn star(
        &self,
        txn: &DatabaseTransaction,
        org_id: &str,
        user_id: &str,
        dashboard_id: &str,
        now: Micros,
    ) -> Result<bool> {
        let inserted = star::Entity::insert(star::ActiveModel {
            org_id: Set(org_id.to_string()),
            user_id: Set(user_id.to_string()),
            dashboard_id: Set(dashboard_id.to_string()),
            create_time: Set(now),
        })
        .on_conflict(
            OnConflict::columns([
                star::Column::OrgId,
                star::Column::UserId,
                star::Column::DashboardId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
        Ok(inserted > 0)
    }

    /// Removes the user's star of the dashboard; false when there was none.
    pub async fn unstar(
        &self,
        txn: &DatabaseTransaction,
        org_id: &str,
        user_id: &str,
        dashboard_id: &str,
    ) -> Result<bool> {
        let result = star::Entity::delete_many()
            .filter(star::Column::OrgId.eq(org_id))
            .filter(star::Column::UserId.eq(user_id))
            .filter(star::Column::DashboardId.eq(dashboard_id))
            .exec(txn)
            .await?;
        Ok(result.rows_affected > 0)
    }

    /// Every dashboard the user starred (readable or not: the caller filters).
    pub async fn all_starred_by(&self, org_id: &str, user_id: &str) -> Result<HashSet<String>> {
        let rows: Vec<String> = star::Entity::find()
            .select_only()
            .column(star::Column::DashboardId)
            .filter(star::Column::OrgId.eq(org_id))
            .filter(star::Column::UserId.eq(user_id))
            .into_tuple()
            .all(self.store.db())
            .await?;
        Ok(rows.into_iter().collect())
    }

    /// The dashboards among `ids` that the user starred: one statement over the primary key,
    /// however many dashboards a page holds.
    pub async fn starred_among(
        &self,
        org_id: &str,
        user_id: &str,
        ids: &[String],
    ) -> Result<HashSet<String>> {
        if ids.is_empty() {
            return Ok(HashSet::new());
        }
        let rows: Vec<String> = star::Entity::find()
            .select_only()
            .column(star::Column::DashboardId)
            .filter(star::Column::OrgId.eq(org_id))
            .filter(star::Column::UserId.eq(user_id))
            .filter(star::Column::DashboardId.is_in(ids.iter().cloned()))
            .into_tuple()
            .all(self.store.db())
            .await?;
        Ok(rows.into_iter().collect())
    }
}

/// `EXISTS (a star of the user on the listed dashboard)`: the `starred` filter, correlated
/// with the listing statement's column `dashboard_id` (a probe of the primary key).
pub(super) fn starred_by(
    org_id: &str,
    user_id: &str,
    dashboard_id: sea_orm::sea_query::ColumnRef,
) -> SelectStatement {
    Query::select()
        .expr(Expr::val(1))
        .from(star::Entity)
        .and_where(Expr::col((star::Entity, star::Column::OrgId)).eq(org_id))
        .and_where(Expr::col((star::Entity, star::Column::UserId)).eq(user_id))
        .and_where(Expr::col((star::Entity, star::Column::DashboardId)).equals(dashboard_id))
        .take()
}

/// Deletes every star of the dashboards (a purge; explicitly, not only by the foreign key's
/// cascade).
pub(super) async fn delete_all(conn: &impl ConnectionTrait, ids: &[String]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    star::Entity::delete_many()
        .filter(star::Column::DashboardId.is_in(ids.iter().cloned()))
        .exec(conn)
        .await?;
    Ok(())
}
