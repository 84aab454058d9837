//! The groups repository: groups, their members, and "which groups is this user in".

use std::collections::HashMap;

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait,
    Order, QueryFilter, QueryOrder, QuerySelect, Select,
};

use super::entities::{folder_grant, grant, group, group_member};
use super::{Store, contains_ignoring_case};
use crate::core::authz::{Grant, GranteeKind};
use crate::core::directory::{Group, GroupKind, User};
use crate::core::{Error, Micros, Principal, Result};

#[derive(Clone)]
pub struct GroupRepo {
    store: Store,
}

#[derive(Debug, Clone, Default)]
pub struct GroupQuery {
    pub org_id: String,
    pub search: Option<String>,
    pub kind: Option<GroupKind>,
    pub tenant_id: Option<String>,
    pub after: Option<(String, String)>,
    pub limit: u64,
}

impl GroupRepo {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Creates the group with its initial members in the write's transaction.
    pub async fn create(
        &self,
        txn: &DatabaseTransaction,
        group: &Group,
        members: &[String],
    ) -> Result<Group> {
        group::Entity::insert(group::ActiveModel {
            id: Set(group.id.clone()),
            org_id: Set(group.org_id.clone()),
            display_name: Set(group.display_name.clone()),
            description: Set(group.description.clone()),
            kind: Set(group.kind.as_str().to_string()),
            tenant_id: Set(group.tenant_id.clone()),
            revision: Set(1),
            create_time: Set(group.create_time),
            update_time: Set(group.update_time),
            creator_id: Set(group.creator_id.clone()),
        })
        .exec_without_returning(txn)
        .await?;
        for user_id in members {
            group_member::Entity::insert(group_member::ActiveModel {
                group_id: Set(group.id.clone()),
                user_id: Set(user_id.clone()),
                org_id: Set(group.org_id.clone()),
                create_time: Set(group.create_time),
            })
            .exec_without_returning(txn)
            .await?;
        }
        self.get_in(txn, &group.org_id, &group.id)
            .await?
            .ok_or_else(|| Error::internal("created group vanished"))
    }

    pub async fn get(&self, org_id: &str, id: &str) -> Result<Option<Group>> {
        self.get_in(self.store.db(), org_id, id).await
    }

    /// [`Self::get`] on a given connection (a write's transaction).
    pub async fn get_in(
        &self,
        conn: &impl ConnectionTrait,
        org_id: &str,
        id: &str,
    ) -> Result<Option<Group>> {
        let row = by_id(org_id, id).one(conn).await?;
        with_counts(conn, row.into_iter().collect())
            .await
            .map(|mut g| g.pop())
    }

    /// The group, its row locked for the rest of the write (`SELECT ... FOR UPDATE` on
    /// PostgreSQL; SQLite's writer lock already serializes writers): what a command reads
    /// to decide about the group, it reads after this.
    pub async fn lock(
        &self,
        txn: &DatabaseTransaction,
        org_id: &str,
        id: &str,
    ) -> Result<Option<Group>> {
        let row = by_id(org_id, id).lock_exclusive().one(txn).await?;
        with_counts(txn, row.into_iter().collect())
            .await
            .map(|mut g| g.pop())
    }

    pub async fn get_many(&self, org_id: &str, ids: &[String]) -> Result<Vec<Group>> {
        let rows = group::Entity::find()
            .filter(group::Column::OrgId.eq(org_id))
            .filter(group::Column::Id.is_in(ids.iter().cloned()))
            .all(self.store.db())
            .await?;
        with_counts(self.store.db(), rows).await
    }

    /// One page ordered by (display_name, id).
    pub async fn list(&self, query: &GroupQuery) -> Result<Vec<Group>> {
        let mut condition = Condition::all().add(group::Column::OrgId.eq(&query.org_id));
        if let Some(search) = &query.search {
            condition = condition.add(contains_ignoring_case(
                (group::Entity, group::Column::DisplayName),
                search,
            ));
        }
        if let Some(kind) = query.kind {
            condition = condition.add(group::Column::Kind.eq(kind.as_str()));
        }
        if let Some(tenant) = &query.tenant_id {
            condition = condition.add(group::Column::TenantId.eq(tenant));
        }
        if let Some((name, id)) = &query.after {
            let key = Expr::col((group::Entity, group::Column::DisplayName));
            let id_col = Expr::col((group::Entity, group::Column::Id));
            condition = condition.add(
                key.clone()
                    .gt(name.clone())
                    .or(key.eq(name.clone()).and(id_col.gt(id.clone()))),
            );
        }
        let rows = group::Entity::find()
            .filter(condition)
            .order_by(group::Column::DisplayName, Order::Asc)
            .order_by(group::Column::Id, Order::Asc)
            .limit(query.limit)
            .all(self.store.db())
            .await?;
        with_counts(self.store.db(), rows).await
    }

    /// Renames/re-describes `current` if it is still at its revision; `Ok(None)` when it
    /// changed in between.
    pub async fn update(
        &self,
        txn: &DatabaseTransaction,
        current: &Group,
        display_name: Option<String>,
        description: Option<String>,
        now: Micros,
    ) -> Result<Option<Group>> {
        let (org_id, id, expected_revision) = (&current.org_id, &current.id, current.revision);
        let mut update = group::Entity::update_many()
            .col_expr(group::Column::Revision, Expr::val(expected_revision + 1))
            .col_expr(group::Column::UpdateTime, Expr::val(now));
        if let Some(name) = display_name {
            update = update.col_expr(group::Column::DisplayName, Expr::val(name));
        }
        if let Some(description) = description {
            update = update.col_expr(group::Column::Description, Expr::val(description));
        }
        let result = update
            .filter(group::Column::Id.eq(id))
            .filter(group::Column::OrgId.eq(org_id))
            .filter(group::Column::Revision.eq(expected_revision))
            .exec(txn)
            .await?;
        if result.rows_affected == 0 {
            return Ok(None);
        }
        self.get_in(txn, org_id, id).await
    }

    /// Deletes the group, its memberships and every share granted to it (on dashboards,
    /// folders and library widgets); returns the shares it deleted, or `None` when there was no such group.
    pub async fn delete(
        &self,
        txn: &DatabaseTransaction,
        org_id: &str,
        id: &str,
    ) -> Result<Option<Vec<Grant>>> {
        let grants = self.grants_to_in(txn, org_id, id).await?;
        grant::Entity::delete_many()
            .filter(grant::Column::OrgId.eq(org_id))
            .filter(grant::Column::GranteeKind.eq(GranteeKind::Group.as_str()))
            .filter(grant::Column::GranteeId.eq(id))
            .exec(txn)
            .await?;
        folder_grant::Entity::delete_many()
            .filter(folder_grant::Column::OrgId.eq(org_id))
            .filter(folder_grant::Column::GranteeKind.eq(GranteeKind::Group.as_str()))
            .filter(folder_grant::Column::GranteeId.eq(id))
            .exec(txn)
            .await?;
        super::library_widgets::LibraryWidgetRepo
            .revoke_group(txn, org_id, id)
            .await?;
        group_member::Entity::delete_many()
            .filter(group_member::Column::GroupId.eq(id))
            .exec(txn)
            .await?;
        let result = group::Entity::delete_many()
            .filter(group::Column::Id.eq(id))
            .filter(group::Column::OrgId.eq(org_id))
            .exec(txn)
            .await?;
        Ok((result.rows_affected > 0).then_some(grants))
    }

    /// Adds a member; returns false (and changes nothing) when it already was one.
    pub async fn add_member(
        &self,
        txn: &DatabaseTransaction,
        org_id: &str,
        group_id: &str,
        user_id: &str,
        now: Micros,
    ) -> Result<bool> {
        let exists = group_member::Entity::find_by_id((group_id.to_string(), user_id.to_string()))
            .one(txn)
            .await?
            .is_some();
        if exists {
            return Ok(false);
        }
        group_member::Entity::insert(group_member::ActiveModel {
            group_id: Set(group_id.to_string()),
            user_id: Set(user_id.to_string()),
            org_id: Set(org_id.to_string()),
            create_time: Set(now),
        })
        .exec_without_returning(txn)
        .await?;
        bump(txn, group_id, now).await?;
        Ok(true)
    }

    /// Removes a member; returns whether it was one.
    pub async fn remove_member(
        &self,
        txn: &DatabaseTransaction,
        group_id: &str,
        user_id: &str,
        now: Micros,
    ) -> Result<bool> {
        let result = group_member::Entity::delete_many()
            .filter(group_member::Column::GroupId.eq(group_id))
            .filter(group_member::Column::UserId.eq(user_id))
            .exec(txn)
            .await?;
        if result.rows_affected > 0 {
            bump(txn, group_id, now).await?;
        }
        Ok(result.rows_affected > 0)
    }

    /// Adds the users `added` (none a member yet) to `group` and removes `removed` (each a
    /// member), moving its revision once: UpdateGroup's replacement of the member set.
    pub async fn replace_members(
        &self,
        txn: &DatabaseTransaction,
        group: &Group,
        added: &[String],
        removed: &[String],
        now: Micros,
    ) -> Result<()> {
        // 4 columns: well under SQLite's oldest bound-parameter limit (999).
        for chunk in added.chunks(200) {
            let rows = chunk.iter().map(|user_id| group_member::ActiveModel {
                group_id: Set(group.id.clone()),
                user_id: Set(user_id.clone()),
                org_id: Set(group.org_id.clone()),
                create_time: Set(now),
            });
            group_member::Entity::insert_many(rows)
                .exec_without_returning(txn)
                .await?;
        }
        for chunk in removed.chunks(500) {
            group_member::Entity::delete_many()
                .filter(group_member::Column::GroupId.eq(&group.id))
                .filter(group_member::Column::UserId.is_in(chunk.iter().cloned()))
                .exec(txn)
                .await?;
        }
        bump(txn, &group.id, now).await
    }

    /// Member user ids of a group, in id order, after `after_id`; all of them without a
    /// limit.
    pub async fn member_ids(
        &self,
        conn: &impl ConnectionTrait,
        group_id: &str,
        after_id: Option<&str>,
        limit: Option<u64>,
    ) -> Result<Vec<String>> {
        let mut select =
            group_member::Entity::find().filter(group_member::Column::GroupId.eq(group_id));
        if let Some(after) = after_id {
            select = select.filter(group_member::Column::UserId.gt(after));
        }
        let rows = select
            .order_by(group_member::Column::UserId, Order::Asc)
            .limit(limit)
            .all(conn)
            .await?;
        Ok(rows.into_iter().map(|r| r.user_id).collect())
    }

    /// Members of several groups: `(group_id, user_id)` pairs.
    pub async fn members_of(&self, group_ids: &[String]) -> Result<Vec<(String, String)>> {
        let rows = group_member::Entity::find()
            .filter(group_member::Column::GroupId.is_in(group_ids.iter().cloned()))
            .all(self.store.db())
            .await?;
        Ok(rows.into_iter().map(|r| (r.group_id, r.user_id)).collect())
    }

    /// The groups whose membership counts for `principal` (see [`memberships_of`]).
    pub async fn group_ids_of(&self, principal: &Principal) -> Result<Vec<String>> {
        let rows = group_member::Entity::find()
            .filter(counting_memberships(principal))
            .all(self.store.db())
            .await?;
        Ok(rows.into_iter().map(|r| r.group_id).collect())
    }

    /// The active and expiring grants given to a group, on any dashboard, folder or library
    /// widget of its
    /// org, read on `conn` (inside a write: after locking the group).
    pub async fn grants_to_in(
        &self,
        conn: &impl ConnectionTrait,
        org_id: &str,
        group_id: &str,
    ) -> Result<Vec<Grant>> {
        let rows = grant::Entity::find()
            .filter(grant::Column::OrgId.eq(org_id))
            .filter(grant::Column::GranteeKind.eq(GranteeKind::Group.as_str()))
            .filter(grant::Column::GranteeId.eq(group_id))
            .all(conn)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(super::shares::into_domain)
            .chain(
                super::folder_shares::FolderShareRepo
                    .grants_to_group(conn, org_id, group_id)
                    .await?,
            )
            .chain(
                super::library_widgets::LibraryWidgetRepo
                    .grants_to_group(conn, org_id, group_id)
                    .await?,
            )
            .collect())
    }
}

/// `SELECT group_id` of the memberships that count for `principal`: those in org groups,
/// and those in tenant groups of the principal's own tenant (the token's, which for a user
/// an ADMIN set is the directory's). A tenant group's membership never reaches a token of
/// another tenant or an org token. Decisions (the grants of a dashboard, listings'
/// subjects, GetPrincipalContext) all read memberships through this one statement, as
/// they are now.
pub(crate) fn memberships_of(principal: &Principal) -> SelectStatement {
    Query::select()
        .column((group_member::Entity, group_member::Column::GroupId))
        .from(group_member::Entity)
        .cond_where(counting_memberships(principal))
        .take()
}

/// The rows of `group_members` that [`memberships_of`] selects.
fn counting_memberships(principal: &Principal) -> Condition {
    let foreign = Alias::new("foreign_group");
    let mut other_tenants = Query::select();
    other_tenants
        .expr(Expr::val(1))
        .from_as(group::Entity, foreign.clone())
        .and_where(
            Expr::col((foreign.clone(), group::Column::Id))
                .equals((group_member::Entity, group_member::Column::GroupId)),
        )
        .and_where(Expr::col((foreign.clone(), group::Column::TenantId)).is_not_null());
    if let Some(tenant) = &principal.tenant_id {
        other_tenants.and_where(Expr::col((foreign, group::Column::TenantId)).ne(tenant));
    }
    Condition::all()
        .add(Expr::col((group_member::Entity, group_member::Column::OrgId)).eq(&principal.org_id))
        .add(Expr::col((group_member::Entity, group_member::Column::UserId)).eq(&principal.user_id))
        .add(Expr::exists(other_tenants).not())
}

/// Ends `user`'s memberships in tenant groups of any tenant but its own (all of them for
/// an org user), in the transaction that moved it: a user that moves to another tenant
/// leaves the old tenant's groups, so nothing of the old tenant lists it as a member.
pub(crate) async fn leave_other_tenants(
    txn: &sea_orm::DatabaseTransaction,
    user: &User,
    now: Micros,
) -> Result<Vec<String>> {
    let mine: Vec<String> = group_member::Entity::find()
        .select_only()
        .column(group_member::Column::GroupId)
        .filter(group_member::Column::OrgId.eq(&user.org_id))
        .filter(group_member::Column::UserId.eq(&user.id))
        .into_tuple()
        .all(txn)
        .await?;
    if mine.is_empty() {
        return Ok(Vec::new());
    }
    let mut foreign = Condition::all()
        .add(group::Column::Id.is_in(mine))
        .add(group::Column::TenantId.is_not_null());
    if let Some(tenant) = &user.tenant_id {
        foreign = foreign.add(group::Column::TenantId.ne(tenant));
    }
    let left: Vec<String> = group::Entity::find()
        .select_only()
        .column(group::Column::Id)
        .filter(foreign)
        .into_tuple()
        .all(txn)
        .await?;
    for group_id in &left {
        group_member::Entity::delete_many()
            .filter(group_member::Column::GroupId.eq(group_id))
            .filter(group_member::Column::UserId.eq(&user.id))
            .exec(txn)
            .await?;
        bump(txn, group_id, now).await?;
        tracing::info!(user = %user.id, group = %group_id, "user left a group of its former tenant");
    }
    Ok(left)
}

async fn bump(txn: &sea_orm::DatabaseTransaction, group_id: &str, now: Micros) -> Result<()> {
    group::Entity::update_many()
        .col_expr(
            group::Column::Revision,
            Expr::col(group::Column::Revision).add(1),
        )
        .col_expr(group::Column::UpdateTime, Expr::val(now))
        .filter(group::Column::Id.eq(group_id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Group `id` of `org_id`, by its primary key.
fn by_id(org_id: &str, id: &str) -> Select<group::Entity> {
    group::Entity::find_by_id(id.to_string()).filter(group::Column::OrgId.eq(org_id))
}

/// The groups of `rows`, in their order, with their member counts (one query for all).
async fn with_counts(conn: &impl ConnectionTrait, rows: Vec<group::Model>) -> Result<Vec<Group>> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let counts = member_counts(conn, &ids).await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| into_domain(r, &counts))
        .collect())
}

async fn member_counts(
    conn: &impl ConnectionTrait,
    group_ids: &[String],
) -> Result<HashMap<String, i64>> {
    if group_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, i64)> = group_member::Entity::find()
        .select_only()
        .column(group_member::Column::GroupId)
        .column_as(group_member::Column::UserId.count(), "count")
        .filter(group_member::Column::GroupId.is_in(group_ids.iter().cloned()))
        .group_by(group_member::Column::GroupId)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows.into_iter().collect())
}

fn into_domain(m: group::Model, counts: &HashMap<String, i64>) -> Option<Group> {
    let Some(kind) = GroupKind::parse(&m.kind) else {
        tracing::warn!(group = %m.id, kind = %m.kind, "skipping group of unknown kind");
        return None;
    };
    Some(Group {
        member_count: counts.get(&m.id).copied().unwrap_or(0),
        id: m.id,
        org_id: m.org_id,
        display_name: m.display_name,
        description: m.description,
        kind,
        tenant_id: m.tenant_id,
        revision: m.revision,
        create_time: m.create_time,
        update_time: m.update_time,
        creator_id: m.creator_id,
    })
}
