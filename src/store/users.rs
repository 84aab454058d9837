//! The users repository: just-in-time upserts from token claims.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, EntityTrait};

use super::Store;
use super::entities::user;
use crate::domain::{Micros, Principal, Result};

#[derive(Clone)]
pub struct UserRepo {
    store: Store,
}

impl UserRepo {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Creates or refreshes the user row of a token's claims.
    pub async fn upsert_from_claims(&self, principal: &Principal, now: Micros) -> Result<()> {
        let row = user::ActiveModel {
            org_id: Set(principal.org_id.clone()),
            id: Set(principal.user_id.clone()),
            tenant_id: Set(principal.tenant_id.clone()),
            email: Set(principal.email.clone()),
            display_name: Set(principal.name.clone().unwrap_or_default()),
            role: Set(principal.role.as_str().to_string()),
            create_time: Set(now),
            update_time: Set(now),
        };
        let txn = self.store.begin_write().await?;
        user::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([user::Column::OrgId, user::Column::Id])
                    .update_columns([
                        user::Column::TenantId,
                        user::Column::Email,
                        user::Column::DisplayName,
                        user::Column::Role,
                        user::Column::UpdateTime,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&*txn)
            .await?;
        txn.commit().await?;
        Ok(())
    }
}
