//! The listing statements of ListDashboards: an ADMIN's walk of the org's sort-key index,
//! and a non-ADMIN's merge of the arms reached through its grants; the filter compiled into
//! bound conditions. The access rule they encode is core::authz::policy's (a grant of a
//! READ-bearing role, unexpired, to one of the caller's subjects); tests/differential.rs
//! checks that both agree.

use super::filter_sql::filter_condition;
use super::reach::{self, FolderReach};
use super::*;
/// A page of every dashboard of the org (an ADMIN's view): one walk of the sort-key index.
pub(super) fn org_page(query: &ListQuery) -> sea_orm::sea_query::SelectStatement {
    let mut condition = Condition::all().add(dashboard::Column::OrgId.eq(&query.org_id));
    if !query.page.show_deleted {
        condition = condition.add(dashboard::Column::DeleteTime.is_null());
    }
    if let Some(filter) = &query.page.filter {
        condition = condition.add(filter_condition(filter, query));
    }
    let sort_col = query.page.sort.column();
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
        .limit(query.page.limit)
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
pub(super) fn readable_page(
    query: &ListQuery,
    custom_readable: &[String],
    reach: &FolderReach,
    backend: DatabaseBackend,
) -> sea_orm::sea_query::SelectStatement {
    let Some(top) = readable_top(query, custom_readable, reach, backend) else {
        // No subjects: nothing is readable.
        return Query::select()
            .column(Asterisk)
            .from(dashboard::Entity)
            .and_where(Expr::val(1).eq(0))
            .take();
    };
    let order = sort_order(query);
    let mut page = with_visibility(query.now);
    page.join_subquery(
        JoinType::InnerJoin,
        top,
        Alias::new("page"),
        Expr::col((dashboard::Entity, dashboard::Column::Id))
            .equals((Alias::new("page"), grant::Column::DashboardId)),
    );
    if let Some(filter) = &query.page.filter {
        page.cond_where(filter_condition(filter, query))
            .limit(query.page.limit);
    }
    page.order_by((Alias::new("page"), SORT_KEY), order.clone())
        .order_by((Alias::new("page"), grant::Column::DashboardId), order)
        .take()
}

/// The `(dashboard_id, sort_key)` of the page's dashboards, in page order (before the
/// filter): the merged arms of [`readable_page`]. `None` without subjects.
pub(super) fn readable_top(
    query: &ListQuery,
    custom_readable: &[String],
    reach: &FolderReach,
    backend: DatabaseBackend,
) -> Option<sea_orm::sea_query::SelectStatement> {
    let key = query.page.sort.grant_column();
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
        if !query.page.show_deleted {
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
    let arm_limit = query.page.filter.is_none().then_some(query.page.limit);
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
    // The dashboards reached through shares on folders: one arm per folder reached when
    // they are few, else one walk of the sort key's index (see `reach`).
    let folder_arms = reach::folder_arms(query, custom_readable, reach, backend);
    let limited_folder_arm = |arm: &sea_orm::sea_query::SelectStatement| {
        let mut arm = arm.clone();
        arm.order_by(SORT_KEY, order.clone())
            .order_by(grant::Column::DashboardId, order.clone());
        if let Some(limit) = arm_limit {
            arm.limit(limit);
        }
        Query::select()
            .column(Asterisk)
            .from_subquery(arm, Alias::new("arm"))
            .take()
    };
    let mut subjects = query.subjects.iter();
    let first = subjects.next()?;
    let top = if backend == DatabaseBackend::Sqlite {
        // The compound's ORDER BY and LIMIT follow the last arm and apply to the whole. A
        // LIMIT is kept with a filter too (as large as it gets): SQLite drops the ORDER BY of
        // a subquery without one, and with it the ordered merge of the arms.
        let mut compound = arm(first);
        for subject in subjects {
            compound.union(UnionType::Distinct, arm(subject));
        }
        for arm in &folder_arms {
            compound.union(UnionType::Distinct, arm.clone());
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
        for arm in &folder_arms {
            reachable.union(UnionType::All, limited_folder_arm(arm));
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
    Some(top)
}

/// The alias of the grants joined to a dashboard in [`DashboardRepo::with_all_grants`]; its
/// columns come back as `g_<column>`.
pub(super) const JOINED_GRANT: &str = "g";

/// The grants (of table `grants` known as `table`) that apply to `principal`: its own, its
/// tenant's and the org-wide audiences' (exact `(kind, grantee)` pairs), and its groups',
/// matched against its memberships in a subquery, so that a decision reads the caller's
/// groups as they are now, with no cache to invalidate.
pub(crate) fn applies_to<T>(principal: &Principal, table: T) -> Condition
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
    let my_groups = crate::store::groups::memberships_of(principal);
    applies.add(
        Condition::all()
            .add(kind().eq(GranteeKind::Group.as_str()))
            .add(grantee().in_subquery(my_groups)),
    )
}

/// The column alias of the copied sort key in the listing arms.
pub(super) const SORT_KEY: &str = "sort_key";

pub(super) fn sort_order(query: &ListQuery) -> Order {
    if query.page.descending {
        Order::Desc
    } else {
        Order::Asc
    }
}

/// `(key, id)` strictly after the cursor in page order, as a row-value comparison: both
/// databases turn it into an index range.
pub(super) fn after_cursor<K, I>(query: &ListQuery, key: K, id: I) -> Option<Expr>
where
    K: IntoColumnRef,
    I: IntoColumnRef,
{
    let (value, last_id) = query.page.after.as_ref()?;
    let value = match value {
        CursorValue::Int(v) => Expr::val(*v),
        CursorValue::Text(s) => Expr::val(s.clone()),
    };
    let row = Expr::tuple([Expr::col(key), Expr::col(id)]);
    let cursor = Expr::tuple([value, Expr::val(last_id.clone())]);
    Some(if query.page.descending {
        row.lt(cursor)
    } else {
        row.gt(cursor)
    })
}

/// The org's custom roles that include READ: listed (read just before the statement) or
/// as a subquery of the statement.
#[derive(Clone, Copy)]
pub(super) enum ReadableRoles<'a> {
    Listed(&'a [String]),
    OfOrg(&'a str),
}

/// An unexpired grant whose role includes READ (a built-in one, or a custom one of the org).
fn readable_grant(custom: ReadableRoles, now: Micros) -> Condition {
    readable_grant_in(grant::Entity, custom, now)
}

/// [`readable_grant`] for the grants of table `table` (dashboard or folder shares: the same
/// columns).
pub(super) fn readable_grant_in<T>(table: T, custom: ReadableRoles, now: Micros) -> Condition
where
    T: sea_orm::sea_query::IntoIden + Clone,
{
    let role = || Expr::col((table.clone(), grant::Column::Role));
    let expire = || Expr::col((table.clone(), grant::Column::ExpireTime));
    let builtin = crate::core::authz::readable_roles()
        .into_iter()
        .map(str::to_string);
    let readable = match custom {
        ReadableRoles::Listed(names) => one_of(role, builtin.chain(names.iter().cloned())),
        ReadableRoles::OfOrg(org_id) => Condition::any().add(one_of(role, builtin)).add(
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

/// `col = v1 OR col = v2 OR ...`: what `col IN (v1, v2, ...)` means, written out because
/// SQLite builds an ephemeral index for an IN list of three values or more on every run of
/// the statement, once per arm of a listing's merge (14 of them for a member in 10 groups:
/// two thirds of the page statement's time, measured), while it tests ORed equalities in
/// place.
fn one_of(col: impl Fn() -> Expr, values: impl IntoIterator<Item = String>) -> Condition {
    values
        .into_iter()
        .fold(Condition::any(), |any, value| any.add(col().eq(value)))
}

/// `dashboards.id IN (ids reached by an active READ-bearing grant of one of the subjects)`.
///
/// One arm per grantee kind (`kind = k AND grantee_id IN (...)`), joined with UNION ALL, so
/// that each arm is a range scan of the `(org, kind, grantee, dashboard)` index instead of
/// one scan under a long OR.
pub(super) fn readable_by(org_id: &str, subjects: &[Subject], now: Micros) -> Condition {
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
    // Or through a share on a folder above it.
    let folders =
        super::reach::reached_folders(org_id, subjects, ReadableRoles::OfOrg(org_id), now);
    Condition::any()
        .add(dashboard::Column::Id.in_subquery(reachable))
        .add(
            // NOT NULL stated: under `shared_with_me = false` (a NOT) an unknown would hide
            // a dashboard at the root.
            Condition::all()
                .add(Expr::col((dashboard::Entity, dashboard::Column::FolderId)).is_not_null())
                .add(Expr::col((dashboard::Entity, dashboard::Column::InheritAccess)).eq(true))
                .add(
                    Expr::col((dashboard::Entity, dashboard::Column::FolderId))
                        .in_subquery(folders),
                ),
        )
}

impl DashboardRepo {
    /// The live dashboards among `ids` that the query's filter matches (every live one
    /// without a filter), ignoring access: what a watch asks of the dashboards a batch of
    /// changes touched, whose access the policy decides separately.
    pub async fn matching(&self, query: &ListQuery, ids: &[String]) -> Result<Vec<String>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut statement = org_page(query);
        statement
            .and_where(
                Expr::col((dashboard::Entity, dashboard::Column::Id)).is_in(ids.iter().cloned()),
            )
            .reset_limit();
        let rows = self.store.db().query_all(&statement).await?;
        rows.iter().map(|row| Ok(from_row(row)?.id)).collect()
    }
}
