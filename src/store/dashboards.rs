//! The dashboards repository: CRUD, grants lookup, keyset-paginated listing, trash purge.

use sea_orm::sea_query::{
    Alias, Asterisk, Expr, ExprTrait, Func, IntoColumnRef, JoinType, LikeExpr, Query, UnionType,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseBackend,
    DatabaseTransaction, EntityTrait, FromQueryResult, IdenStatic, Order, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::entities::{dashboard, grant, public_link, role, widget};
use super::{Store, escape_like, is_unique_violation};
use crate::core::authz::{BuiltinRole, Grant, GranteeKind, Subject, subjects_of};
use crate::core::dashboard::{Dashboard, DashboardFields};
use crate::core::filter::Flag;
use crate::core::filter::{Comparison, Filter, Ordering, TextField, TimeField};
use crate::core::{Error, Micros, Principal, Result, new_id, now_micros};

/// What CreateDashboard stores.
#[derive(Debug, Clone)]
pub struct NewDashboard {
    pub org_id: String,
    pub tenant_id: Option<String>,
    pub creator_id: String,
    pub request_id: Option<String>,
    pub title: String,
    pub description: String,
    pub metadata: Vec<u8>,
    pub refresh_period_nanos: Option<i64>,
}

pub use crate::core::dashboard::SortKey;

pub use crate::core::page_token::CursorValue;

#[derive(Debug, Clone)]
pub struct ListQuery {
    pub org_id: String,
    pub caller_id: String,
    /// The caller's subjects (for access and for `shared_with_me`).
    pub subjects: Vec<Subject>,
    /// False for an ADMIN: every dashboard of the org is readable.
    pub only_readable: bool,
    pub now: Micros,
    pub filter: Option<Filter>,
    pub sort: SortKey,
    pub descending: bool,
    pub after: Option<(CursorValue, String)>,
    pub show_deleted: bool,
    pub limit: u64,
}

impl SortKey {
    fn column(self) -> dashboard::Column {
        match self {
            Self::CreateTime => dashboard::Column::CreateTime,
            Self::UpdateTime => dashboard::Column::UpdateTime,
            Self::Title => dashboard::Column::Title,
        }
    }

    /// The grants' copy of the key.
    fn grant_column(self) -> grant::Column {
        match self {
            Self::CreateTime => grant::Column::DashboardCreateTime,
            Self::UpdateTime => grant::Column::DashboardUpdateTime,
            Self::Title => grant::Column::DashboardTitle,
        }
    }

    pub fn cursor_of(self, d: &Dashboard) -> CursorValue {
        match self {
            Self::CreateTime => CursorValue::Int(d.create_time),
            Self::UpdateTime => CursorValue::Int(d.update_time),
            Self::Title => CursorValue::Text(d.title.clone()),
        }
    }
}

#[derive(Clone)]
pub struct DashboardRepo {
    store: Store,
}

impl DashboardRepo {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Creates the dashboard and the creator's owner grant in the write's transaction.
    /// `Ok(None)`: a concurrent create with the same `request_id` won (PostgreSQL; the
    /// transaction is then unusable and the caller reads the winner with
    /// [`Self::find_by_request_id`] outside it).
    pub async fn create(
        &self,
        txn: &DatabaseTransaction,
        new: &NewDashboard,
        now: Micros,
    ) -> Result<Option<Dashboard>> {
        let id = new_id();
        let row = dashboard::ActiveModel {
            id: Set(id.clone()),
            org_id: Set(new.org_id.clone()),
            tenant_id: Set(new.tenant_id.clone()),
            title: Set(new.title.clone()),
            description: Set(new.description.clone()),
            metadata: Set(new.metadata.clone()),
            refresh_period_nanos: Set(new.refresh_period_nanos),
            creator_id: Set(new.creator_id.clone()),
            request_id: Set(new.request_id.clone()),
            revision: Set(1),
            create_time: Set(now),
            update_time: Set(now),
            delete_time: Set(None),
            expire_time: Set(None),
        };
        let owner = grant::ActiveModel {
            id: Set(new_id()),
            org_id: Set(new.org_id.clone()),
            dashboard_id: Set(id.clone()),
            grantee_kind: Set(GranteeKind::User.as_str().to_string()),
            grantee_id: Set(new.creator_id.clone()),
            role: Set(BuiltinRole::Owner.name().to_string()),
            expire_time: Set(None),
            creator_id: Set(new.creator_id.clone()),
            create_time: Set(now),
            update_time: Set(now),
            dashboard_title: Set(new.title.clone()),
            dashboard_create_time: Set(now),
            dashboard_update_time: Set(now),
            dashboard_delete_time: Set(None),
        };
        let inserted = async {
            dashboard::Entity::insert(row)
                .exec_without_returning(txn)
                .await?;
            grant::Entity::insert(owner)
                .exec_without_returning(txn)
                .await?;
            Ok::<_, sea_orm::DbErr>(())
        }
        .await;
        match inserted {
            Ok(()) => {
                Ok(Some(self.get_in(txn, &new.org_id, &id).await?.ok_or_else(
                    || Error::internal("created dashboard vanished"),
                )?))
            }
            Err(err) if new.request_id.is_some() && is_unique_violation(&err) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    /// The dashboard an earlier create of the same creator and `request_id` made.
    pub async fn find_by_request_id(
        &self,
        conn: &impl ConnectionTrait,
        new: &NewDashboard,
    ) -> Result<Option<Dashboard>> {
        let Some(request_id) = &new.request_id else {
            return Ok(None);
        };
        let row = dashboard::Entity::find()
            .filter(dashboard::Column::OrgId.eq(&new.org_id))
            .filter(dashboard::Column::CreatorId.eq(&new.creator_id))
            .filter(dashboard::Column::RequestId.eq(request_id))
            .one(conn)
            .await?;
        match row {
            Some(row) => self.get_in(conn, &new.org_id, &row.id).await,
            None => Ok(None),
        }
    }

    /// The dashboard `id` of `org`, deleted or not, with its public-link state.
    // Lookups by id go through the primary key alone and check the org in Rust: with
    // `org_id = ?` in the statement, SQLite (without statistics) prefers the org index and
    // scans the whole org.
    pub async fn get(&self, org_id: &str, id: &str) -> Result<Option<Dashboard>> {
        self.get_in(self.store.db(), org_id, id).await
    }

    /// [`Self::get`] on a given connection (a write's transaction).
    pub async fn get_in(
        &self,
        conn: &impl ConnectionTrait,
        org_id: &str,
        id: &str,
    ) -> Result<Option<Dashboard>> {
        let statement = with_visibility(now_micros())
            .and_where(Expr::col((dashboard::Entity, dashboard::Column::Id)).eq(id))
            .take();
        let row = conn.query_one(&statement).await?;
        let dashboard = row.as_ref().map(from_row).transpose()?;
        Ok(dashboard.filter(|d| d.org_id == org_id))
    }

    /// The dashboards among `ids` that exist in `org`, in no particular order.
    pub async fn get_many(&self, org_id: &str, ids: &[String]) -> Result<Vec<Dashboard>> {
        let statement = with_visibility(now_micros())
            .and_where(
                Expr::col((dashboard::Entity, dashboard::Column::Id)).is_in(ids.iter().cloned()),
            )
            .take();
        let rows = self.store.db().query_all(&statement).await?;
        let dashboards = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
        Ok(dashboards
            .into_iter()
            .filter(|d| d.org_id == org_id)
            .collect())
    }

    /// The grants on the given dashboards that apply to `principal` (expired ones included:
    /// the policy decides): its own, its groups', its tenant's and the org-wide audiences'.
    ///
    /// One statement over the `(dashboard, kind, grantee)` index (SQLite probes it per
    /// subject, PostgreSQL ORs bitmap scans of it); see [`applies_to`]. The ids are bound
    /// once: a BatchCheckAccess of 100 binds about 100 values, not 400.
    pub async fn grants_for(
        &self,
        dashboard_ids: &[String],
        principal: &Principal,
    ) -> Result<Vec<Grant>> {
        let on_dashboards = Expr::col((grant::Entity, grant::Column::DashboardId))
            .is_in(dashboard_ids.iter().cloned());
        let rows = grant::Entity::find()
            .filter(
                Condition::all()
                    .add(on_dashboards)
                    .add(applies_to(principal, grant::Entity)),
            )
            .all(self.store.db())
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(super::shares::into_domain)
            .collect())
    }

    /// The dashboard, if it exists in `principal`'s org, with the grants on it that apply to
    /// `principal`: what [`Self::get`] and [`Self::grants_for`] read, in one statement (the
    /// dashboard by primary key, its matching grants joined to it, one row each; a
    /// dashboard without any comes back as one row with no grant). One round trip fewer for
    /// every non-admin decision on a single dashboard.
    pub async fn get_with_grants(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<Option<(Dashboard, Vec<Grant>)>> {
        let joined = Alias::new(JOINED_GRANT);
        let mut statement = with_visibility(now_micros());
        for column in <grant::Column as sea_orm::Iterable>::iter() {
            statement.expr_as(
                Expr::col((joined.clone(), column)),
                Alias::new(format!("{JOINED_GRANT}_{}", column.as_str())),
            );
        }
        let statement = statement
            .join_as(
                JoinType::LeftJoin,
                grant::Entity,
                joined.clone(),
                Condition::all()
                    .add(
                        Expr::col((joined.clone(), grant::Column::DashboardId))
                            .equals((dashboard::Entity, dashboard::Column::Id)),
                    )
                    .add(applies_to(principal, joined.clone())),
            )
            .and_where(Expr::col((dashboard::Entity, dashboard::Column::Id)).eq(id))
            .take();
        let rows = self.store.db().query_all(&statement).await?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let dashboard = from_row(first)?;
        if dashboard.org_id != principal.org_id {
            return Ok(None);
        }
        let prefix = format!("{JOINED_GRANT}_");
        let mut grants = Vec::new();
        for row in &rows {
            // No grant joined: the grant columns are all NULL.
            let grant_id: Option<String> = row.try_get(&prefix, grant::Column::Id.as_str())?;
            if grant_id.is_some() {
                grants.extend(super::shares::into_domain(grant::Model::from_query_result(
                    row, &prefix,
                )?));
            }
        }
        Ok(Some((dashboard, grants)))
    }

    /// Applies `fields` to the live (not trashed) dashboard; with `expected_revision`, only
    /// if it is still at that revision (the caller's etag). `Ok(None)` means it changed, went
    /// to the trash or vanished since it was read.
    pub async fn update(
        &self,
        txn: &DatabaseTransaction,
        org_id: &str,
        id: &str,
        expected_revision: Option<i64>,
        fields: &DashboardFields,
        now: Micros,
    ) -> Result<Option<Dashboard>> {
        let mut update = dashboard::Entity::update_many()
            .col_expr(
                dashboard::Column::Revision,
                Expr::col(dashboard::Column::Revision).add(1),
            )
            .col_expr(dashboard::Column::UpdateTime, Expr::val(now))
            .filter(dashboard::Column::DeleteTime.is_null());
        if let Some(title) = &fields.title {
            update = update.col_expr(dashboard::Column::Title, Expr::val(title.clone()));
        }
        if let Some(description) = &fields.description {
            update = update.col_expr(
                dashboard::Column::Description,
                Expr::val(description.clone()),
            );
        }
        if let Some(metadata) = &fields.metadata {
            update = update.col_expr(dashboard::Column::Metadata, Expr::val(metadata.clone()));
        }
        if let Some(refresh) = fields.refresh_period_nanos {
            update = update.col_expr(dashboard::Column::RefreshPeriodNanos, Expr::val(refresh));
        }
        self.conditional_update(txn, org_id, id, expected_revision, update)
            .await
    }

    /// Moves a live dashboard to (`Some` times) or a trashed one out of (`None`) the trash;
    /// with `expected_revision`, only if it is still at that revision. `Ok(None)` means it
    /// changed state, changed revision or vanished since it was read.
    pub async fn set_deleted(
        &self,
        txn: &DatabaseTransaction,
        org_id: &str,
        id: &str,
        expected_revision: Option<i64>,
        trash: Option<(Micros, Micros)>,
        now: Micros,
    ) -> Result<Option<Dashboard>> {
        let in_state = match trash {
            Some(_) => dashboard::Column::DeleteTime.is_null(),
            None => dashboard::Column::DeleteTime.is_not_null(),
        };
        let update = dashboard::Entity::update_many()
            .col_expr(
                dashboard::Column::Revision,
                Expr::col(dashboard::Column::Revision).add(1),
            )
            .filter(in_state)
            .col_expr(dashboard::Column::UpdateTime, Expr::val(now))
            .col_expr(dashboard::Column::DeleteTime, Expr::val(trash.map(|t| t.0)))
            .col_expr(dashboard::Column::ExpireTime, Expr::val(trash.map(|t| t.1)));
        self.conditional_update(txn, org_id, id, expected_revision, update)
            .await
    }

    /// One statement, compare-and-set on the revision when the caller sent an etag: no lost
    /// updates, on either database, without holding a transaction across the caller's read.
    async fn conditional_update(
        &self,
        txn: &DatabaseTransaction,
        org_id: &str,
        id: &str,
        expected_revision: Option<i64>,
        mut update: sea_orm::UpdateMany<dashboard::Entity>,
    ) -> Result<Option<Dashboard>> {
        if let Some(revision) = expected_revision {
            update = update.filter(dashboard::Column::Revision.eq(revision));
        }
        let result = update
            .filter(dashboard::Column::Id.eq(id))
            .filter(dashboard::Column::OrgId.eq(org_id))
            .exec(txn)
            .await?;
        if result.rows_affected == 0 {
            return Ok(None);
        }
        let row = dashboard::Entity::find_by_id(id.to_string())
            .one(txn)
            .await?;
        if let Some(row) = &row {
            copy_listing_keys(txn, row).await?;
        }
        Ok(row.map(into_domain))
    }

    /// Locks the dashboard row for the rest of the write (SELECT ... FOR UPDATE on
    /// PostgreSQL; SQLite's writers are already serialized) and reads it: the root row every
    /// decision about the dashboard is made under.
    pub async fn lock(
        &self,
        txn: &DatabaseTransaction,
        org_id: &str,
        id: &str,
    ) -> Result<Option<Dashboard>> {
        let row = dashboard::Entity::find_by_id(id.to_string())
            .lock_exclusive()
            .one(txn)
            .await?;
        if row.is_none_or(|r| r.org_id != org_id) {
            return Ok(None);
        }
        self.get_in(txn, org_id, id).await
    }

    /// One page of the dashboards the query's subjects may READ, in sort order.
    pub async fn list(&self, query: &ListQuery) -> Result<Vec<Dashboard>> {
        let statement = if query.only_readable {
            // Read once and bound in every arm (a subquery per arm measured no faster).
            let custom = self.store.roles().readable_names(&query.org_id).await?;
            readable_page(query, &custom, self.store.backend())
        } else {
            org_page(query)
        };
        let rows = self.store.db().query_all(&statement).await?;
        rows.iter().map(from_row).collect()
    }

    /// Trashed dashboards whose `expire_time` has passed: `(org, id)`, at most `limit`.
    pub async fn expired(&self, now: Micros, limit: u64) -> Result<Vec<(String, String)>> {
        let rows = dashboard::Entity::find()
            .filter(dashboard::Column::DeleteTime.is_not_null())
            .filter(dashboard::Column::ExpireTime.lte(now))
            .order_by(dashboard::Column::OrgId, Order::Asc)
            .limit(limit)
            .all(self.store.db())
            .await?;
        Ok(rows.into_iter().map(|r| (r.org_id, r.id)).collect())
    }

    /// Deletes the trashed, expired dashboards among `ids` of `org`, with their grants,
    /// widgets and public links (explicitly, not only by the foreign keys' cascade); returns
    /// the ids it deleted.
    pub async fn purge(
        &self,
        txn: &DatabaseTransaction,
        org_id: &str,
        ids: &[String],
        now: Micros,
    ) -> Result<Vec<String>> {
        let rows = dashboard::Entity::find()
            .filter(dashboard::Column::OrgId.eq(org_id))
            .filter(dashboard::Column::Id.is_in(ids.iter().cloned()))
            .filter(dashboard::Column::DeleteTime.is_not_null())
            .filter(dashboard::Column::ExpireTime.lte(now))
            .lock_exclusive()
            .all(txn)
            .await?;
        let purged: Vec<String> = rows.into_iter().map(|r| r.id).collect();
        if purged.is_empty() {
            return Ok(purged);
        }
        widget::Entity::delete_many()
            .filter(widget::Column::DashboardId.is_in(purged.iter().cloned()))
            .exec(txn)
            .await?;
        grant::Entity::delete_many()
            .filter(grant::Column::DashboardId.is_in(purged.iter().cloned()))
            .exec(txn)
            .await?;
        public_link::Entity::delete_many()
            .filter(public_link::Column::DashboardId.is_in(purged.iter().cloned()))
            .exec(txn)
            .await?;
        dashboard::Entity::delete_many()
            .filter(dashboard::Column::Id.is_in(purged.iter().cloned()))
            .exec(txn)
            .await?;
        Ok(purged)
    }
}

/// Copies the dashboard's sort keys and trash state into its grants (see migration
/// `m20261122_000005_grant_listing_keys`). Every write of those dashboard columns calls this
/// in the same transaction, with the dashboard row locked, so listing never sees them apart.
pub(crate) async fn copy_listing_keys(
    conn: &impl ConnectionTrait,
    row: &dashboard::Model,
) -> Result<()> {
    grant::Entity::update_many()
        .col_expr(grant::Column::DashboardTitle, Expr::val(row.title.clone()))
        .col_expr(
            grant::Column::DashboardCreateTime,
            Expr::val(row.create_time),
        )
        .col_expr(
            grant::Column::DashboardUpdateTime,
            Expr::val(row.update_time),
        )
        .col_expr(
            grant::Column::DashboardDeleteTime,
            Expr::val(row.delete_time),
        )
        .filter(grant::Column::DashboardId.eq(&row.id))
        .exec(conn)
        .await?;
    Ok(())
}

/// A page of every dashboard of the org (an ADMIN's view): one walk of the sort-key index.
fn org_page(query: &ListQuery) -> sea_orm::sea_query::SelectStatement {
    let mut condition = Condition::all().add(dashboard::Column::OrgId.eq(&query.org_id));
    if !query.show_deleted {
        condition = condition.add(dashboard::Column::DeleteTime.is_null());
    }
    if let Some(filter) = &query.filter {
        condition = condition.add(filter_condition(filter, query));
    }
    let sort_col = query.sort.column();
    if let Some(after) = after_cursor(
        query,
        (dashboard::Entity, sort_col),
        (dashboard::Entity, dashboard::Column::Id),
    ) {
        condition = condition.add(after);
    }
    let order = sort_order(query);
    with_visibility(query.now)
        .cond_where(condition)
        .order_by((dashboard::Entity, sort_col), order.clone())
        .order_by((dashboard::Entity, dashboard::Column::Id), order)
        .limit(query.limit)
        .take()
}

/// A page of the dashboards the caller's subjects may READ, as one statement:
///
/// - one arm per subject (the user, each of its groups, its tenant, the org-wide audiences):
///   that subject's active READ-bearing grants in page order, from the grant index of the
///   sort key (the covering index: the arms never touch the dashboards);
/// - the union of the arms, deduplicated (a dashboard reached twice carries the same copied
///   key), in page order;
/// - those dashboards, by primary key, and (only there, once) the filter; the first `limit`.
///
/// Without a filter each arm stops after `limit` entries past the cursor: the global first
/// `limit` are each within the first `limit` of any arm that reaches them, so the page is
/// exact, and its cost is at most `subjects x limit` index entries however many grants the
/// caller has. With a filter an arm cannot know how many of its entries the filter keeps,
/// so the arms run unlimited and the merged stream is filtered until the page is full:
/// each readable dashboard is tested once, and the statement holds the filter once (it used
/// to be repeated in every arm: a 110-term filter times 60 groups made a statement of 6,600
/// terms that took seconds to plan and megabytes to cache).
///
/// The arms are combined per backend. PostgreSQL runs each arm under its own LIMIT (none
/// with a filter) and deduplicates the union; with a filter its planner hashes the caller's
/// readable grants (index-only) and then walks them in page order, seen with `EXPLAIN` on a
/// 100,000-grant dataset. SQLite runs `arm UNION arm ... ORDER BY key` as a merge of
/// co-routines, each already in page order: it pulls from each arm only what the page needs
/// and drops a duplicate where the arms meet, about `limit + subjects` entries in all (a
/// third of the time of the limited arms with ten groups).
fn readable_page(
    query: &ListQuery,
    custom_readable: &[String],
    backend: DatabaseBackend,
) -> sea_orm::sea_query::SelectStatement {
    let key = query.sort.grant_column();
    let order = sort_order(query);
    let arm = |subject: &Subject| {
        let mut arm = Query::select();
        arm.column((grant::Entity, grant::Column::DashboardId))
            .expr_as(Expr::col((grant::Entity, key)), SORT_KEY)
            .from(grant::Entity)
            .and_where(Expr::col((grant::Entity, grant::Column::OrgId)).eq(&query.org_id))
            .and_where(
                Expr::col((grant::Entity, grant::Column::GranteeKind)).eq(subject.kind.as_str()),
            )
            .and_where(Expr::col((grant::Entity, grant::Column::GranteeId)).eq(&subject.id))
            .cond_where(readable_grant(
                ReadableRoles::Listed(custom_readable),
                query.now,
            ));
        if !query.show_deleted {
            arm.and_where(Expr::col((grant::Entity, grant::Column::DashboardDeleteTime)).is_null());
        }
        if let Some(after) = after_cursor(
            query,
            (grant::Entity, key),
            (grant::Entity, grant::Column::DashboardId),
        ) {
            arm.cond_where(after);
        }
        arm
    };
    // Without a filter every arm (and the merge) stops at the page size.
    let arm_limit = query.filter.is_none().then_some(query.limit);
    let limited_arm = |subject: &Subject| {
        let mut arm = arm(subject);
        arm.order_by((grant::Entity, key), order.clone())
            .order_by((grant::Entity, grant::Column::DashboardId), order.clone());
        if let Some(limit) = arm_limit {
            arm.limit(limit);
        }
        // Wrapped, so that each union member keeps its own ORDER BY and LIMIT.
        Query::select()
            .column(Asterisk)
            .from_subquery(arm.take(), Alias::new("arm"))
            .take()
    };
    let mut subjects = query.subjects.iter();
    let Some(first) = subjects.next() else {
        // No subjects: nothing is readable.
        return Query::select()
            .column(Asterisk)
            .from(dashboard::Entity)
            .and_where(Expr::val(1).eq(0))
            .take();
    };
    let top = if backend == DatabaseBackend::Sqlite {
        // The compound's ORDER BY and LIMIT follow the last arm and apply to the whole. A
        // LIMIT is kept with a filter too (as large as it gets): SQLite drops the ORDER BY of
        // a subquery without one, and with it the ordered merge of the arms.
        let mut compound = arm(first);
        for subject in subjects {
            compound.union(UnionType::Distinct, arm(subject));
        }
        compound
            .order_by(SORT_KEY, order.clone())
            .order_by(grant::Column::DashboardId, order.clone())
            .limit(arm_limit.unwrap_or(i64::MAX as u64))
            .take()
    } else {
        let mut reachable = limited_arm(first);
        for subject in subjects {
            reachable.union(UnionType::All, limited_arm(subject));
        }
        let mut top = Query::select();
        top.distinct()
            .column(grant::Column::DashboardId)
            .column(SORT_KEY)
            .from_subquery(reachable, Alias::new("reachable"));
        // In page order even without a LIMIT (with a filter): the planner can then merge
        // the arms' index scans and stop when the filtered page is full, rather than hash
        // every readable grant first.
        top.order_by(SORT_KEY, order.clone())
            .order_by(grant::Column::DashboardId, order.clone());
        if let Some(limit) = arm_limit {
            top.limit(limit);
        }
        top.take()
    };
    let mut page = with_visibility(query.now);
    page.join_subquery(
        JoinType::InnerJoin,
        top,
        Alias::new("page"),
        Expr::col((dashboard::Entity, dashboard::Column::Id))
            .equals((Alias::new("page"), grant::Column::DashboardId)),
    );
    if let Some(filter) = &query.filter {
        page.cond_where(filter_condition(filter, query))
            .limit(query.limit);
    }
    page.order_by((Alias::new("page"), SORT_KEY), order.clone())
        .order_by((Alias::new("page"), grant::Column::DashboardId), order)
        .take()
}

/// The alias of the grants joined to a dashboard in [`DashboardRepo::get_with_grants`]; its
/// columns come back as `g_<column>`.
const JOINED_GRANT: &str = "g";

/// The grants (of table `grants` known as `table`) that apply to `principal`: its own, its
/// tenant's and the org-wide audiences' (exact `(kind, grantee)` pairs), and its groups',
/// matched against its memberships in a subquery, so that a decision reads the caller's
/// groups as they are now, with no cache to invalidate.
fn applies_to<T>(principal: &Principal, table: T) -> Condition
where
    T: sea_orm::sea_query::IntoIden + Clone,
{
    let kind = || Expr::col((table.clone(), grant::Column::GranteeKind));
    let grantee = || Expr::col((table.clone(), grant::Column::GranteeId));
    let mut applies = Condition::any();
    for subject in subjects_of(principal, &[]) {
        applies = applies.add(
            Condition::all()
                .add(kind().eq(subject.kind.as_str()))
                .add(grantee().eq(subject.id)),
        );
    }
    let my_groups = super::groups::memberships_of(principal);
    applies.add(
        Condition::all()
            .add(kind().eq(GranteeKind::Group.as_str()))
            .add(grantee().in_subquery(my_groups)),
    )
}

/// The column alias of the copied sort key in the listing arms.
const SORT_KEY: &str = "sort_key";

fn sort_order(query: &ListQuery) -> Order {
    if query.descending {
        Order::Desc
    } else {
        Order::Asc
    }
}

/// `(key, id)` strictly after the cursor in page order, as a row-value comparison: both
/// databases turn it into an index range.
fn after_cursor<K, I>(query: &ListQuery, key: K, id: I) -> Option<Expr>
where
    K: IntoColumnRef,
    I: IntoColumnRef,
{
    let (value, last_id) = query.after.as_ref()?;
    let value = match value {
        CursorValue::Int(v) => Expr::val(*v),
        CursorValue::Text(s) => Expr::val(s.clone()),
    };
    let row = Expr::tuple([Expr::col(key), Expr::col(id)]);
    let cursor = Expr::tuple([value, Expr::val(last_id.clone())]);
    Some(if query.descending {
        row.lt(cursor)
    } else {
        row.gt(cursor)
    })
}

/// The org's custom roles that include READ: listed (read just before the statement) or
/// as a subquery of the statement.
enum ReadableRoles<'a> {
    Listed(&'a [String]),
    OfOrg(&'a str),
}

/// An unexpired grant whose role includes READ (a built-in one, or a custom one of the org).
fn readable_grant(custom: ReadableRoles, now: Micros) -> Condition {
    let role = || Expr::col((grant::Entity, grant::Column::Role));
    let expire = || Expr::col((grant::Entity, grant::Column::ExpireTime));
    let builtin = crate::core::authz::readable_roles()
        .into_iter()
        .map(str::to_string);
    let readable = match custom {
        ReadableRoles::Listed(names) => {
            Condition::all().add(role().is_in(builtin.chain(names.iter().cloned())))
        }
        ReadableRoles::OfOrg(org_id) => Condition::any().add(role().is_in(builtin)).add(
            role().in_subquery(
                Query::select()
                    .column(role::Column::Name)
                    .from(role::Entity)
                    .and_where(role::Column::OrgId.eq(org_id))
                    .and_where(role::Column::CanRead.eq(true))
                    .take(),
            ),
        ),
    };
    Condition::all().add(readable).add(
        Condition::any()
            .add(expire().is_null())
            .add(expire().gt(now)),
    )
}

/// `dashboards.id IN (ids reached by an active READ-bearing grant of one of the subjects)`.
///
/// One arm per grantee kind (`kind = k AND grantee_id IN (...)`), joined with UNION ALL, so
/// that each arm is a range scan of the `(org, kind, grantee, dashboard)` index instead of
/// one scan under a long OR.
fn readable_by(org_id: &str, subjects: &[Subject], now: Micros) -> Condition {
    let mut kinds: Vec<GranteeKind> = subjects.iter().map(|s| s.kind).collect();
    kinds.dedup();
    let arm = |kind: GranteeKind| {
        let ids: Vec<String> = subjects
            .iter()
            .filter(|s| s.kind == kind)
            .map(|s| s.id.clone())
            .collect();
        Query::select()
            .column(grant::Column::DashboardId)
            .from(grant::Entity)
            .and_where(grant::Column::OrgId.eq(org_id))
            .and_where(grant::Column::GranteeKind.eq(kind.as_str()))
            .and_where(grant::Column::GranteeId.is_in(ids))
            .cond_where(readable_grant(ReadableRoles::OfOrg(org_id), now))
            .take()
    };
    let mut kinds = kinds.into_iter();
    let Some(first) = kinds.next() else {
        // No subjects: nothing is readable.
        return Condition::all().add(Expr::val(1).eq(0));
    };
    let mut reachable = arm(first);
    for kind in kinds {
        reachable.union(UnionType::All, arm(kind));
    }
    Condition::all().add(dashboard::Column::Id.in_subquery(reachable))
}

/// Compiles a parsed filter into bound conditions: values are parameters, never SQL.
fn filter_condition(filter: &Filter, query: &ListQuery) -> Condition {
    match filter {
        Filter::And(a, b) => Condition::all()
            .add(filter_condition(a, query))
            .add(filter_condition(b, query)),
        Filter::Or(a, b) => Condition::any()
            .add(filter_condition(a, query))
            .add(filter_condition(b, query)),
        Filter::Not(inner) => filter_condition(inner, query).not(),
        Filter::Compare(comparison) => Condition::all().add(comparison_expr(comparison, query)),
    }
}

/// `users/me` in a filter is the caller.
fn resolve_me<'a>(id: &'a str, query: &'a ListQuery) -> &'a str {
    if id == "me" { &query.caller_id } else { id }
}

fn comparison_expr(comparison: &Comparison, query: &ListQuery) -> Expr {
    let id_col = || Expr::col((dashboard::Entity, dashboard::Column::Id));
    let text_col = |f: &TextField| match f {
        TextField::Title => dashboard::Column::Title,
        TextField::Description => dashboard::Column::Description,
    };
    match comparison {
        Comparison::TextContains(field, needle) => {
            let pattern = format!("%{}%", escape_like(&needle.to_lowercase()));
            Expr::expr(Func::lower(Expr::col((dashboard::Entity, text_col(field)))))
                .like(LikeExpr::new(pattern).escape('\\'))
        }
        Comparison::TextEquals(field, value, true) => {
            Expr::col((dashboard::Entity, text_col(field))).eq(value.clone())
        }
        Comparison::TextEquals(field, value, false) => {
            Expr::col((dashboard::Entity, text_col(field))).ne(value.clone())
        }
        Comparison::CreatorEquals(id, equal) => {
            let col = Expr::col((dashboard::Entity, dashboard::Column::CreatorId));
            let id = resolve_me(id, query).to_string();
            if *equal { col.eq(id) } else { col.ne(id) }
        }
        Comparison::OwnerEquals(id, equal) => {
            let owned = Query::select()
                .column(grant::Column::DashboardId)
                .from(grant::Entity)
                .and_where(grant::Column::OrgId.eq(&query.org_id))
                .and_where(grant::Column::GranteeKind.eq(GranteeKind::User.as_str()))
                .and_where(grant::Column::GranteeId.eq(resolve_me(id, query)))
                .and_where(grant::Column::Role.eq(BuiltinRole::Owner.name()))
                // An expired owner share makes nobody an owner (as ListOwners says).
                .cond_where(
                    Condition::any()
                        .add(grant::Column::ExpireTime.is_null())
                        .add(grant::Column::ExpireTime.gt(query.now)),
                )
                .take();
            if *equal {
                id_col().in_subquery(owned)
            } else {
                id_col().not_in_subquery(owned)
            }
        }
        Comparison::Flag(Flag::SharedWithMe, value) => {
            // Reached through a share, and not the caller's own creation. A non-admin's
            // listing reaches only through shares already.
            let mut shared =
                Condition::all().add(dashboard::Column::CreatorId.ne(&query.caller_id));
            if !query.only_readable {
                shared = shared.add(readable_by(&query.org_id, &query.subjects, query.now));
            }
            Expr::from(if *value { shared } else { shared.not() })
        }
        Comparison::Flag(Flag::Public, value) => {
            let public = Query::select()
                .column(public_link::Column::DashboardId)
                .from(public_link::Entity)
                .and_where(public_link::Column::OrgId.eq(&query.org_id))
                .cond_where(
                    Condition::any()
                        .add(public_link::Column::ExpireTime.is_null())
                        .add(public_link::Column::ExpireTime.gt(query.now)),
                )
                .take();
            if *value {
                id_col().in_subquery(public)
            } else {
                id_col().not_in_subquery(public)
            }
        }
        Comparison::Time(field, ordering, micros) => {
            let col = Expr::col((
                dashboard::Entity,
                match field {
                    TimeField::CreateTime => dashboard::Column::CreateTime,
                    TimeField::UpdateTime => dashboard::Column::UpdateTime,
                },
            ));
            let v = *micros;
            match ordering {
                Ordering::Eq => col.eq(v),
                Ordering::Ne => col.ne(v),
                Ordering::Lt => col.lt(v),
                Ordering::Le => col.lte(v),
                Ordering::Gt => col.gt(v),
                Ordering::Ge => col.gte(v),
            }
        }
    }
}

/// The alias of the computed public-link column.
const IS_PUBLIC: &str = "is_public";

/// `SELECT dashboards.*, EXISTS (an active public link) AS is_public FROM dashboards`: the
/// visibility comes with the row, so rendering needs no second statement.
fn with_visibility(now: Micros) -> sea_orm::sea_query::SelectStatement {
    let link = Query::select()
        .expr(Expr::val(1))
        .from(public_link::Entity)
        .and_where(
            Expr::col((public_link::Entity, public_link::Column::DashboardId))
                .equals((dashboard::Entity, dashboard::Column::Id)),
        )
        .cond_where(super::public_links::active(now))
        .take();
    Query::select()
        .column((dashboard::Entity, Asterisk))
        .expr_as(Expr::exists(link), Alias::new(IS_PUBLIC))
        .from(dashboard::Entity)
        .take()
}

fn from_row(row: &sea_orm::QueryResult) -> Result<Dashboard> {
    let model = dashboard::Model::from_query_result(row, "")?;
    let is_public = row.try_get::<bool>("", IS_PUBLIC)?;
    Ok(Dashboard {
        is_public: Some(is_public),
        ..into_domain(model)
    })
}

fn into_domain(m: dashboard::Model) -> Dashboard {
    Dashboard {
        id: m.id,
        org_id: m.org_id,
        tenant_id: m.tenant_id,
        title: m.title,
        description: m.description,
        metadata: m.metadata,
        refresh_period_nanos: m.refresh_period_nanos,
        creator_id: m.creator_id,
        revision: m.revision,
        create_time: m.create_time,
        update_time: m.update_time,
        delete_time: m.delete_time,
        expire_time: m.expire_time,
        is_public: None,
    }
}
