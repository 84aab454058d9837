//! The users repository: just-in-time upserts from token claims, admin upserts, lookups.

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait,
    Order, QueryFilter, QueryOrder, QuerySelect,
};

use super::entities::user;
use super::{Store, contains_ignoring_case};
use crate::core::directory::User;
use crate::core::{Error, Micros, PlatformRole, Principal, Result};

/// What writing a user row did.
#[derive(Debug, Clone)]
pub struct UserWrite {
    /// The row as stored.
    pub user: User,
    /// False when the row was left as it was (a token's claims it already records, or a
    /// user an ADMIN set).
    pub changed: bool,
    /// The tenant groups the user left because it moved to another tenant.
    pub left_groups: Vec<String>,
}

impl UserWrite {
    fn unchanged(user: User) -> Self {
        Self {
            user,
            changed: false,
            left_groups: Vec::new(),
        }
    }
}

#[derive(Clone)]
pub struct UserRepo {
    store: Store,
}

/// ListUsers.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    pub org_id: String,
    pub search: Option<String>,
    /// `Some(true)`: tenant users only; `Some(false)`: org users only.
    pub tenant_users: Option<bool>,
    pub tenant_id: Option<String>,
    /// Restricts to org users plus this tenant's users (a tenant caller's view).
    pub visible_to_tenant: Option<String>,
    pub after_id: Option<String>,
    pub limit: u64,
}

impl UserRepo {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Records the user of a token's claims in the write's transaction: creates or
    /// refreshes its row, unless an ADMIN set the user (then the row is the ADMIN's and stays
    /// as it is) or the row already records the claims (then nothing is written). An email
    /// that another user of the org holds is not taken: the user is recorded without it
    /// (`withheld_email`), and the clash is logged.
    pub async fn upsert_from_claims(
        &self,
        txn: &DatabaseTransaction,
        principal: &Principal,
        now: Micros,
    ) -> Result<UserWrite> {
        // Again inside the write: a concurrent call may have recorded it already.
        if let Some(current) = self
            .get_in(txn, &principal.org_id, &principal.user_id)
            .await?
            && (current.role_set_by_admin || current.records(principal))
        {
            return Ok(UserWrite::unchanged(current));
        }
        let user = User {
            org_id: principal.org_id.clone(),
            id: principal.user_id.clone(),
            tenant_id: principal.tenant_id.clone(),
            email: principal.email.clone().filter(|e| !e.is_empty()),
            display_name: principal.name.clone().unwrap_or_default(),
            role: principal.role,
            create_time: now,
            update_time: now,
            role_set_by_admin: false,
            withheld_email: None,
        };
        write(txn, user, Source::Token).await
    }

    /// Creates or replaces a user as an ADMIN sets it, in the write's transaction. An email
    /// held by another user of the org is ALREADY_EXISTS.
    pub async fn upsert(&self, txn: &DatabaseTransaction, user: &User) -> Result<UserWrite> {
        let user = User {
            role_set_by_admin: true,
            withheld_email: None,
            ..user.clone()
        };
        write(txn, user, Source::Admin).await
    }

    pub async fn get(&self, org_id: &str, id: &str) -> Result<Option<User>> {
        self.get_in(self.store.db(), org_id, id).await
    }

    /// [`Self::get`] on a given connection (a write's transaction).
    pub async fn get_in(
        &self,
        conn: &impl ConnectionTrait,
        org_id: &str,
        id: &str,
    ) -> Result<Option<User>> {
        let row = user::Entity::find_by_id((org_id.to_string(), id.to_string()))
            .one(conn)
            .await?;
        Ok(row.and_then(into_domain))
    }

    pub async fn get_many(&self, org_id: &str, ids: &[String]) -> Result<Vec<User>> {
        self.get_many_in(self.store.db(), org_id, ids).await
    }

    /// [`Self::get_many`] on a given connection (a write's transaction).
    pub async fn get_many_in(
        &self,
        conn: &impl ConnectionTrait,
        org_id: &str,
        ids: &[String],
    ) -> Result<Vec<User>> {
        let rows = user::Entity::find()
            .filter(user::Column::OrgId.eq(org_id))
            .filter(user::Column::Id.is_in(ids.iter().cloned()))
            .all(conn)
            .await?;
        Ok(rows.into_iter().filter_map(into_domain).collect())
    }

    pub async fn find_by_email(&self, org_id: &str, email: &str) -> Result<Option<User>> {
        let row = user::Entity::find()
            .filter(user::Column::OrgId.eq(org_id))
            .filter(user::Column::Email.eq(email))
            .one(self.store.db())
            .await?;
        Ok(row.and_then(into_domain))
    }

    /// One page in id order.
    pub async fn list(&self, query: &UserQuery) -> Result<Vec<User>> {
        let mut condition = Condition::all().add(user::Column::OrgId.eq(&query.org_id));
        if let Some(search) = &query.search {
            condition = condition.add(
                Condition::any()
                    .add(contains_ignoring_case(
                        (user::Entity, user::Column::DisplayName),
                        search,
                    ))
                    .add(contains_ignoring_case(
                        (user::Entity, user::Column::Email),
                        search,
                    )),
            );
        }
        match query.tenant_users {
            Some(true) => condition = condition.add(user::Column::TenantId.is_not_null()),
            Some(false) => condition = condition.add(user::Column::TenantId.is_null()),
            None => {}
        }
        if let Some(tenant) = &query.tenant_id {
            condition = condition.add(user::Column::TenantId.eq(tenant));
        }
        if let Some(tenant) = &query.visible_to_tenant {
            condition = condition.add(
                Condition::any()
                    .add(user::Column::TenantId.is_null())
                    .add(user::Column::TenantId.eq(tenant)),
            );
        }
        if let Some(after) = &query.after_id {
            condition = condition.add(user::Column::Id.gt(after));
        }
        let rows = user::Entity::find()
            .filter(condition)
            .order_by(user::Column::Id, Order::Asc)
            .limit(query.limit)
            .all(self.store.db())
            .await?;
        Ok(rows.into_iter().filter_map(into_domain).collect())
    }
}

async fn write(txn: &DatabaseTransaction, mut user: User, source: Source) -> Result<UserWrite> {
    if let Some(email) = user.email.clone() {
        let holder = user::Entity::find()
            .filter(user::Column::OrgId.eq(&user.org_id))
            .filter(user::Column::Email.eq(&email))
            .filter(user::Column::Id.ne(&user.id))
            .one(txn)
            .await?;
        if let Some(holder) = holder {
            if source == Source::Admin {
                return Err(Error::AlreadyExists {
                    reason: "EMAIL_TAKEN",
                    message: format!(
                        "another user of the org has the email {}",
                        crate::core::error::echo(&email)
                    ),
                    resource: format!("users/{}", user.id),
                });
            }
            tracing::warn!(
                org = %user.org_id,
                user = %user.id,
                holder = %holder.id,
                "the token's email belongs to another user of the org: recording the user \
                 without it"
            );
            user.email = None;
            user.withheld_email = Some(email);
        }
    }
    let previous = user::Entity::find_by_id((user.org_id.clone(), user.id.clone()))
        .one(txn)
        .await?;
    let row = user::ActiveModel {
        org_id: Set(user.org_id.clone()),
        id: Set(user.id.clone()),
        tenant_id: Set(user.tenant_id.clone()),
        email: Set(user.email.clone()),
        display_name: Set(user.display_name.clone()),
        role: Set(user.role.as_str().to_string()),
        create_time: Set(user.create_time),
        update_time: Set(user.update_time),
        role_set_by_admin: Set(user.role_set_by_admin),
        withheld_email: Set(user.withheld_email.clone()),
    };
    let mut on_conflict = OnConflict::columns([user::Column::OrgId, user::Column::Id]);
    on_conflict.update_columns([
        user::Column::TenantId,
        user::Column::Email,
        user::Column::DisplayName,
        user::Column::Role,
        user::Column::UpdateTime,
        user::Column::RoleSetByAdmin,
        user::Column::WithheldEmail,
    ]);
    if source == Source::Token {
        // Decided in the statement itself, so a concurrent UpsertUser is never undone.
        on_conflict
            .action_and_where(Expr::col((user::Entity, user::Column::RoleSetByAdmin)).eq(false));
    }
    user::Entity::insert(row)
        .on_conflict(on_conflict)
        .exec_without_returning(txn)
        .await?;
    let stored = user::Entity::find_by_id((user.org_id.clone(), user.id.clone()))
        .one(txn)
        .await?
        .and_then(into_domain)
        .ok_or_else(|| Error::internal("upserted user vanished"))?;
    // A token's upsert that met an ADMIN-set row (a concurrent UpsertUser) changed nothing.
    let changed = source == Source::Admin || !stored.role_set_by_admin;
    let moved = previous.is_some_and(|p| p.tenant_id != stored.tenant_id);
    let left_groups = if changed && moved {
        super::groups::leave_other_tenants(txn, &stored, user.update_time).await?
    } else {
        Vec::new()
    };
    Ok(UserWrite {
        user: stored,
        changed,
        left_groups,
    })
}

fn into_domain(m: user::Model) -> Option<User> {
    let role: PlatformRole = match m.role.parse() {
        Ok(role) => role,
        Err(_) => {
            tracing::warn!(user = %m.id, role = %m.role, "skipping user with an unknown role");
            return None;
        }
    };
    Some(User {
        org_id: m.org_id,
        id: m.id,
        tenant_id: m.tenant_id,
        email: m.email,
        display_name: m.display_name,
        role,
        create_time: m.create_time,
        update_time: m.update_time,
        role_set_by_admin: m.role_set_by_admin,
        withheld_email: m.withheld_email,
    })
}

/// Who writes a user row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// Just-in-time recording from a verified token.
    Token,
    /// An ADMIN's UpsertUser.
    Admin,
}
