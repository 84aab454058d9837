//! The dashboards repository: CRUD, grants lookup, keyset-paginated listing, trash purge.

use sea_orm::sea_query::{
    Alias, Asterisk, Expr, ExprTrait, IntoColumnRef, JoinType, LockType, Query, UnionType,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseBackend,
    DatabaseTransaction, EntityTrait, FromQueryResult, IdenStatic, Order, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait,
};

use super::entities::{dashboard, grant, public_link, role, widget};
use super::{Store, contains_ignoring_case, is_unique_violation};
use crate::core::authz::{BuiltinRole, Grant, GranteeKind, Subject, subjects_of};
use crate::core::dashboard::{Dashboard, DashboardFields};
use crate::core::filter::Flag;
use crate::core::filter::{Comparison, Filter, LabelRef, Ordering, TextField, TimeField};
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
    /// The folder to create it in (`None`: the root).
    pub folder_id: Option<String>,
}

pub use crate::core::dashboard::{ListPage, SortKey};

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
    /// What the caller asked for.
    pub page: ListPage,
    /// A member's facts about folders, when the caller already has them (read otherwise).
    pub facts: Option<std::sync::Arc<ReachFacts>>,
    /// How a member's page reaches dashboards through folders.
    pub plan: ReachPlan,
}

mod filter_sql;
mod grants;
pub use grants::DashboardWithGrants;
mod listing;
mod page_ids;
mod reach;

pub use page_ids::PageEntry;

pub use reach::{ReachFacts, ReachPlan, in_rounds};

pub(crate) use listing::applies_to;
pub(crate) use reach::readable_folders;

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
        let folder_seq = match &new.folder_id {
            None => None,
            Some(folder_id) => {
                crate::store::entities::folder::Entity::find_by_id(folder_id.clone())
                    .select_only()
                    .column(crate::store::entities::folder::Column::Seq)
                    .into_tuple::<i32>()
                    .one(txn)
                    .await?
            }
        };
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
            folder_id: Set(new.folder_id.clone()),
            folder_seq: Set(folder_seq),
            inherit_access: Set(true),
            trashed_with: Set(None),
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
        let changed = KeysChanged {
            title: fields.title.is_some(),
            delete_time: false,
        };
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
        self.conditional_update(txn, org_id, id, expected_revision, update, changed)
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
        let changed = KeysChanged {
            title: false,
            delete_time: true,
        };
        self.conditional_update(txn, org_id, id, expected_revision, update, changed)
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
        changed: KeysChanged,
    ) -> Result<Option<Dashboard>> {
        if let Some(revision) = expected_revision {
            update = update.filter(dashboard::Column::Revision.eq(revision));
        }
        // The row as updated comes back with the UPDATE (RETURNING), not from a second read.
        let mut statement = update
            .filter(dashboard::Column::Id.eq(id))
            .filter(dashboard::Column::OrgId.eq(org_id))
            .into_query();
        statement.returning_all();
        let Some(row) = txn.query_one(&statement).await? else {
            return Ok(None);
        };
        let row = dashboard::Model::from_query_result(&row, "")?;
        copy_listing_keys(txn, &row, changed).await?;
        Ok(Some(into_domain(row)))
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
        // One statement: the row with its visibility, locked (SQLite has no row locks and
        // needs none: its writers take turns).
        let statement = with_visibility(now_micros())
            .and_where(Expr::col((dashboard::Entity, dashboard::Column::Id)).eq(id))
            .and_where(Expr::col((dashboard::Entity, dashboard::Column::OrgId)).eq(org_id))
            .lock_with_tables(LockType::Update, [dashboard::Entity])
            .take();
        let row = txn.query_one(&statement).await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Reads the dashboard under a shared lock for the rest of the write (SELECT ... FOR
    /// SHARE on PostgreSQL: it waits for a trash or purge in flight and holds the next one
    /// off, yet never blocks another shared reader; SQLite's writers are serialized). What a
    /// write that does not change the dashboard itself (a star) decides on.
    pub async fn lock_shared(
        &self,
        txn: &DatabaseTransaction,
        org_id: &str,
        id: &str,
    ) -> Result<Option<Dashboard>> {
        let row = dashboard::Entity::find_by_id(id.to_string())
            .filter(dashboard::Column::OrgId.eq(org_id))
            .lock_shared()
            .one(txn)
            .await?;
        Ok(row.map(into_domain))
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
    /// widgets, public links, stars and versions (explicitly, not only by the foreign keys' cascade); returns
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
        super::comments::delete_all(txn, &purged).await?;
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
        super::stars::delete_all(txn, &purged).await?;
        super::labels::delete_all(txn, &purged).await?;
        super::versions::delete_all(txn, org_id, &purged).await?;
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
/// Locks dashboard `id` of `org_id` for the rest of the write (SELECT ... FOR UPDATE; on
/// SQLite the write already holds the database's writer lock) and returns its row: the one
/// lock every command on a dashboard, its widgets or its shares takes first. `None` when
/// the org has no such dashboard, in the trash or not.
pub(crate) async fn lock_row(
    txn: &DatabaseTransaction,
    org_id: &str,
    id: &str,
) -> Result<Option<dashboard::Model>> {
    Ok(dashboard::Entity::find_by_id(id.to_string())
        .filter(dashboard::Column::OrgId.eq(org_id))
        .lock_exclusive()
        .one(txn)
        .await?)
}

/// Which of a dashboard's listing keys (copied into its grants) a write changed; its
/// update time always moves.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct KeysChanged {
    pub title: bool,
    pub delete_time: bool,
}

impl KeysChanged {
    /// Only the update time.
    pub const TIME: Self = Self {
        title: false,
        delete_time: false,
    };
}

/// Copies the changed listing keys of `row` into every grant on it. Only those: SQLite
/// rewrites an index entry for every column an UPDATE sets, changed or not, and each grant
/// sits in one listing index per key (an UpdateDashboard rewrote three entries per grant
/// where two changed).
pub(crate) async fn copy_listing_keys(
    conn: &impl ConnectionTrait,
    row: &dashboard::Model,
    changed: KeysChanged,
) -> Result<()> {
    let mut update = grant::Entity::update_many().col_expr(
        grant::Column::DashboardUpdateTime,
        Expr::val(row.update_time),
    );
    if changed.title {
        update = update.col_expr(grant::Column::DashboardTitle, Expr::val(row.title.clone()));
    }
    if changed.delete_time {
        update = update.col_expr(
            grant::Column::DashboardDeleteTime,
            Expr::val(row.delete_time),
        );
    }
    update
        .filter(grant::Column::DashboardId.eq(&row.id))
        .exec(conn)
        .await?;
    Ok(())
}

/// The alias of the computed public-link column.
const IS_PUBLIC: &str = "is_public";

/// `SELECT dashboards.*, EXISTS (an active public link) AS is_public FROM dashboards`: the
/// visibility comes with the row, so rendering needs no second statement.
fn with_visibility(now: Micros) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column((dashboard::Entity, Asterisk))
        .expr_as(is_public_now(now), Alias::new(IS_PUBLIC))
        .from(dashboard::Entity)
        .take()
}

/// `EXISTS (an active public link of the row's dashboard)`.
fn is_public_now(now: Micros) -> Expr {
    let link = Query::select()
        .expr(Expr::val(1))
        .from(public_link::Entity)
        .and_where(
            Expr::col((public_link::Entity, public_link::Column::DashboardId))
                .equals((dashboard::Entity, dashboard::Column::Id)),
        )
        .cond_where(super::public_links::active(now))
        .take();
    Expr::exists(link)
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
        folder_id: m.folder_id,
        inherit_access: m.inherit_access,
        is_public: None,
        starred: None,
        labels: None,
    }
}
