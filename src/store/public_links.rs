//! The public links repository. Only a SHA-256 of each token is stored.

use std::collections::HashSet;

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DatabaseTransaction, EntityTrait, Order, QueryFilter,
    QueryOrder,
};
use sha2::{Digest, Sha256};

use super::Store;
use super::entities::public_link;
use crate::core::directory::PublicLink;
use crate::core::{Micros, Result};

#[derive(Clone)]
pub struct PublicLinkRepo {
    store: Store,
}

pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn active(now: Micros) -> Condition {
    let expire = || Expr::col((public_link::Entity, public_link::Column::ExpireTime));
    Condition::any()
        .add(expire().is_null())
        .add(expire().gt(now))
}

impl PublicLinkRepo {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Stores a link (only the token's hash) in the write's transaction.
    pub async fn create(
        &self,
        txn: &DatabaseTransaction,
        link: &PublicLink,
        token: &str,
    ) -> Result<PublicLink> {
        public_link::Entity::insert(public_link::ActiveModel {
            id: Set(link.id.clone()),
            org_id: Set(link.org_id.clone()),
            dashboard_id: Set(link.dashboard_id.clone()),
            token_hash: Set(token_hash(token)),
            expire_time: Set(link.expire_time),
            creator_id: Set(link.creator_id.clone()),
            create_time: Set(link.create_time),
        })
        .exec_without_returning(txn)
        .await?;
        Ok(link.clone())
    }

    /// Deletes a link in the write's transaction; false when there was none.
    pub async fn revoke(
        &self,
        txn: &DatabaseTransaction,
        dashboard_id: &str,
        id: &str,
    ) -> Result<bool> {
        let result = public_link::Entity::delete_many()
            .filter(public_link::Column::DashboardId.eq(dashboard_id))
            .filter(public_link::Column::Id.eq(id))
            .exec(txn)
            .await?;
        Ok(result.rows_affected > 0)
    }

    /// The unexpired links of a dashboard.
    pub async fn list(&self, dashboard_id: &str, now: Micros) -> Result<Vec<PublicLink>> {
        let rows = public_link::Entity::find()
            .filter(public_link::Column::DashboardId.eq(dashboard_id))
            .filter(active(now))
            .order_by(public_link::Column::CreateTime, Order::Asc)
            .all(self.store.db())
            .await?;
        Ok(rows.into_iter().map(into_domain).collect())
    }

    /// The unexpired link a token opens.
    pub async fn find_by_token(&self, token: &str, now: Micros) -> Result<Option<PublicLink>> {
        let row = public_link::Entity::find()
            .filter(public_link::Column::TokenHash.eq(token_hash(token)))
            .filter(active(now))
            .one(self.store.db())
            .await?;
        Ok(row.map(into_domain))
    }

    /// Which of the dashboards have an unexpired link.
    pub async fn public_among(
        &self,
        dashboard_ids: &[String],
        now: Micros,
    ) -> Result<HashSet<String>> {
        if dashboard_ids.is_empty() {
            return Ok(HashSet::new());
        }
        let rows = public_link::Entity::find()
            .filter(public_link::Column::DashboardId.is_in(dashboard_ids.iter().cloned()))
            .filter(active(now))
            .all(self.store.db())
            .await?;
        Ok(rows.into_iter().map(|r| r.dashboard_id).collect())
    }
}

fn into_domain(m: public_link::Model) -> PublicLink {
    PublicLink {
        id: m.id,
        org_id: m.org_id,
        dashboard_id: m.dashboard_id,
        expire_time: m.expire_time,
        creator_id: m.creator_id,
        create_time: m.create_time,
    }
}
