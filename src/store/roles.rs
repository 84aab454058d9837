//! The custom roles repository.

use std::collections::HashMap;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, Order,
    QueryFilter, QueryOrder, QuerySelect, Select,
};

use super::Store;
use super::entities::{grant, role};
use crate::core::authz::{Permission, PermissionSet};
use crate::core::directory::CustomRole;
use crate::core::{Error, Micros, Result};

/// What UpdateRole changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct RoleChanges {
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub permissions: Option<PermissionSet>,
}

#[derive(Clone)]
pub struct RoleRepo {
    store: Store,
}

impl RoleRepo {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Creates the role in the write's transaction.
    pub async fn create(&self, txn: &DatabaseTransaction, role: &CustomRole) -> Result<CustomRole> {
        role::Entity::insert(role::ActiveModel {
            id: Set(role.id.clone()),
            org_id: Set(role.org_id.clone()),
            name: Set(role.name.clone()),
            display_name: Set(role.display_name.clone()),
            description: Set(role.description.clone()),
            permissions: Set(role.permissions.bits()),
            can_read: Set(role.permissions.contains(Permission::Read)),
            revision: Set(1),
            create_time: Set(role.create_time),
            update_time: Set(role.update_time),
        })
        .exec_without_returning(txn)
        .await?;
        self.get_in(txn, &role.org_id, &role.name)
            .await?
            .ok_or_else(|| Error::internal("created role vanished"))
    }

    /// The custom role `roles/{id}` of the org.
    pub async fn get(&self, org_id: &str, name: &str) -> Result<Option<CustomRole>> {
        self.get_in(self.store.db(), org_id, name).await
    }

    /// [`Self::get`] on a given connection (a write's transaction).
    pub async fn get_in(
        &self,
        conn: &impl ConnectionTrait,
        org_id: &str,
        name: &str,
    ) -> Result<Option<CustomRole>> {
        let row = by_name(org_id, name).one(conn).await?;
        Ok(row.map(into_domain))
    }

    /// The role, its row locked for the rest of the write (`SELECT ... FOR UPDATE` on
    /// PostgreSQL; SQLite's writer lock already serializes writers).
    pub async fn lock(
        &self,
        txn: &DatabaseTransaction,
        org_id: &str,
        name: &str,
    ) -> Result<Option<CustomRole>> {
        let row = by_name(org_id, name).lock_exclusive().one(txn).await?;
        Ok(row.map(into_domain))
    }

    pub async fn list(&self, org_id: &str) -> Result<Vec<CustomRole>> {
        let rows = role::Entity::find()
            .filter(role::Column::OrgId.eq(org_id))
            .order_by(role::Column::DisplayName, Order::Asc)
            .order_by(role::Column::Id, Order::Asc)
            .all(self.store.db())
            .await?;
        Ok(rows.into_iter().map(into_domain).collect())
    }

    /// Names of the org's custom roles that include READ.
    pub async fn readable_names(&self, org_id: &str) -> Result<Vec<String>> {
        let rows = role::Entity::find()
            .filter(role::Column::OrgId.eq(org_id))
            .filter(role::Column::CanRead.eq(true))
            .all(self.store.db())
            .await?;
        Ok(rows.into_iter().map(|r| r.name).collect())
    }

    /// Permission sets of the named custom roles (built-in names are skipped by the caller).
    pub async fn permissions_of(
        &self,
        org_id: &str,
        names: &[String],
    ) -> Result<HashMap<String, PermissionSet>> {
        if names.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = role::Entity::find()
            .filter(role::Column::OrgId.eq(org_id))
            .filter(role::Column::Name.is_in(names.iter().cloned()))
            .all(self.store.db())
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.name, PermissionSet::from_bits(r.permissions)))
            .collect())
    }

    /// Every custom role of the org, with its permissions.
    pub async fn all_permissions(&self, org_id: &str) -> Result<HashMap<String, PermissionSet>> {
        let rows = role::Entity::find()
            .filter(role::Column::OrgId.eq(org_id))
            .all(self.store.db())
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.name, PermissionSet::from_bits(r.permissions)))
            .collect())
    }

    /// Applies the changes if still at `expected_revision`; `Ok(None)` when it changed.
    pub async fn update(
        &self,
        txn: &DatabaseTransaction,
        org_id: &str,
        name: &str,
        expected_revision: i64,
        changes: RoleChanges,
        now: Micros,
    ) -> Result<Option<CustomRole>> {
        let RoleChanges {
            display_name,
            description,
            permissions,
        } = changes;
        let mut update = role::Entity::update_many()
            .col_expr(role::Column::Revision, Expr::val(expected_revision + 1))
            .col_expr(role::Column::UpdateTime, Expr::val(now));
        if let Some(v) = display_name {
            update = update.col_expr(role::Column::DisplayName, Expr::val(v));
        }
        if let Some(v) = description {
            update = update.col_expr(role::Column::Description, Expr::val(v));
        }
        if let Some(p) = permissions {
            update = update
                .col_expr(role::Column::Permissions, Expr::val(p.bits()))
                .col_expr(
                    role::Column::CanRead,
                    Expr::val(p.contains(Permission::Read)),
                );
        }
        let result = update
            .filter(role::Column::OrgId.eq(org_id))
            .filter(role::Column::Name.eq(name))
            .filter(role::Column::Revision.eq(expected_revision))
            .exec(txn)
            .await?;
        if result.rows_affected == 0 {
            return Ok(None);
        }
        self.get_in(txn, org_id, name).await
    }

    /// True when any share of the org holds the role.
    pub async fn in_use(
        &self,
        conn: &impl ConnectionTrait,
        org_id: &str,
        name: &str,
    ) -> Result<bool> {
        Ok(grant::Entity::find()
            .filter(grant::Column::OrgId.eq(org_id))
            .filter(grant::Column::Role.eq(name))
            .one(conn)
            .await?
            .is_some())
    }

    /// Deletes the role (the command checked that no share holds it, under the role's lock).
    pub async fn delete(
        &self,
        txn: &DatabaseTransaction,
        org_id: &str,
        name: &str,
    ) -> Result<bool> {
        let result = role::Entity::delete_many()
            .filter(role::Column::OrgId.eq(org_id))
            .filter(role::Column::Name.eq(name))
            .exec(txn)
            .await?;
        Ok(result.rows_affected > 0)
    }
}

/// Custom role `name` (`roles/{id}`) of `org_id`.
fn by_name(org_id: &str, name: &str) -> Select<role::Entity> {
    role::Entity::find()
        .filter(role::Column::OrgId.eq(org_id))
        .filter(role::Column::Name.eq(name))
}

fn into_domain(m: role::Model) -> CustomRole {
    CustomRole {
        id: m.id,
        org_id: m.org_id,
        name: m.name,
        display_name: m.display_name,
        description: m.description,
        permissions: PermissionSet::from_bits(m.permissions),
        revision: m.revision,
        create_time: m.create_time,
        update_time: m.update_time,
    }
}
