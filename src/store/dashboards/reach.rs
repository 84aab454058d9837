//! A member's reach through shares on folders, for the listing.
//!
//! A share on folder F reaches every folder G below it (F included) whose closure row
//! `(F, G)` has `inherits`, and every dashboard held by such a G that does not stop
//! inheritance itself (`core::authz::inheritance`, the same rule). So the dashboards a
//! member reads through folders are those with `inherit_access` whose `folder_id` is in
//! the set of folders its READ-bearing folder shares reach — one indexed join.
//!
//! How the listing walks them depends on how many folders that is, read before the page
//! (at most [`FEW_FOLDERS`] + 1 rows, in the same statement as the custom roles):
//! - none: no arm (orgs without folders pay one short index probe);
//! - a few: one arm per folder, each an ordered range of the folder's sort-key index,
//!   merged with the grant arms like the caller's subjects;
//! - many: one arm that walks the org's sort-key index in page order and keeps the
//!   dashboards whose folder is in the reached set (computed once per statement). A member
//!   who reaches many folders reaches much of the org, so the walk finds a page after about
//!   `page_size / share reached` entries — an ADMIN's walk, thinned. (On SQLite the folder
//!   column is written `+folder_id` there, so that the planner keeps the ordered walk
//!   instead of fetching every reached folder's dashboards and sorting them.)

use std::collections::HashSet;

use super::listing::{
    ReadableRoles, SORT_KEY, after_cursor, readable_grant_in, readable_page, readable_top,
};
use super::*;
use crate::store::entities::folder;
use crate::store::entities::{folder_grant, folder_path};

/// At most this many folders reached are listed as one arm each.
pub(super) const FEW_FOLDERS: usize = 32;

/// The folders a member's shares on folders reach, as the listing needs to know them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FolderReach {
    None,
    Few(Vec<String>),
    Many,
}

/// `SELECT descendant_id`: the folders reached by an active READ-bearing share on a folder
/// to one of `subjects` (with repeats).
pub(super) fn reached_folders(
    org_id: &str,
    subjects: &[Subject],
    custom: ReadableRoles,
    now: Micros,
) -> sea_orm::sea_query::SelectStatement {
    let mut kinds: Vec<GranteeKind> = subjects.iter().map(|s| s.kind).collect();
    kinds.sort_by_key(|k| k.as_str());
    kinds.dedup();
    let mut to_subjects = Condition::any();
    for kind in kinds {
        let ids: Vec<String> = subjects
            .iter()
            .filter(|s| s.kind == kind)
            .map(|s| s.id.clone())
            .collect();
        to_subjects = to_subjects.add(
            Condition::all()
                .add(
                    Expr::col((folder_grant::Entity, folder_grant::Column::GranteeKind))
                        .eq(kind.as_str()),
                )
                .add(Expr::col((folder_grant::Entity, folder_grant::Column::GranteeId)).is_in(ids)),
        );
    }
    if subjects.is_empty() {
        to_subjects = to_subjects.add(Expr::val(1).eq(0));
    }
    Query::select()
        .column((folder_path::Entity, folder_path::Column::DescendantId))
        .from(folder_grant::Entity)
        .inner_join(
            folder_path::Entity,
            Expr::col((folder_path::Entity, folder_path::Column::AncestorId))
                .equals((folder_grant::Entity, folder_grant::Column::FolderId)),
        )
        .and_where(Expr::col((folder_grant::Entity, folder_grant::Column::OrgId)).eq(org_id))
        .and_where(Expr::col((folder_path::Entity, folder_path::Column::Inherits)).eq(true))
        .cond_where(to_subjects)
        .cond_where(readable_grant_in(folder_grant::Entity, custom, now))
        .take()
}

/// `SELECT descendant_id`: the folders `subjects` may READ through shares on folders (what
/// ListFolders shows a member).
pub(crate) fn readable_folders(
    org_id: &str,
    subjects: &[Subject],
    now: Micros,
) -> sea_orm::sea_query::SelectStatement {
    reached_folders(org_id, subjects, ReadableRoles::OfOrg(org_id), now)
}

/// The folder arms of a member's page (see the module comment): each selects
/// `(dashboard_id, sort_key)` of dashboards reached through folders, unordered and
/// unlimited (the caller orders and limits them as it does the grant arms).
pub(super) fn folder_arms(
    query: &ListQuery,
    custom_readable: &[String],
    reach: &FolderReach,
    backend: DatabaseBackend,
) -> Vec<sea_orm::sea_query::SelectStatement> {
    let sort_col = query.page.sort.column();
    let base = || {
        let mut arm = Query::select();
        arm.expr_as(
            Expr::col((dashboard::Entity, dashboard::Column::Id)),
            Alias::new(grant::Column::DashboardId.as_str()),
        )
        .expr_as(Expr::col((dashboard::Entity, sort_col)), SORT_KEY)
        .from(dashboard::Entity)
        .and_where(Expr::col((dashboard::Entity, dashboard::Column::OrgId)).eq(&query.org_id))
        .and_where(Expr::col((dashboard::Entity, dashboard::Column::InheritAccess)).eq(true));
        if !query.page.show_deleted {
            arm.and_where(Expr::col((dashboard::Entity, dashboard::Column::DeleteTime)).is_null());
        }
        if let Some(after) = after_cursor(
            query,
            (dashboard::Entity, sort_col),
            (dashboard::Entity, dashboard::Column::Id),
        ) {
            arm.and_where(after);
        }
        arm
    };
    match reach {
        FolderReach::None => Vec::new(),
        FolderReach::Few(folders) => folders
            .iter()
            .map(|f| {
                let mut arm = base();
                arm.and_where(
                    Expr::col((dashboard::Entity, dashboard::Column::FolderId)).eq(f.clone()),
                );
                arm
            })
            .collect(),
        FolderReach::Many => {
            let reached = reached_folders(
                &query.org_id,
                &query.subjects,
                ReadableRoles::Listed(custom_readable),
                query.now,
            );
            let folder = if backend == DatabaseBackend::Sqlite {
                // Unary plus: no index on the folder for this term, so the walk stays in
                // page order.
                Expr::cust("+\"dashboards\".\"folder_id\"")
            } else {
                Expr::col((dashboard::Entity, dashboard::Column::FolderId))
            };
            let mut arm = base();
            arm.and_where(folder.in_subquery(reached));
            vec![arm]
        }
    }
}

/// What a member's listing reads about folders before its page: the org's custom roles that
/// include READ, the folders its shares on folders reach, and how many live folders the org
/// has. Facts, not decisions: the app keeps them between calls while the org's revision
/// stays the same and until `valid_until` (the first expiry among the shares they came
/// from), and the page is still decided by SQL on every call.
#[derive(Debug, Clone, Default)]
pub struct ReachFacts {
    pub custom_readable: Vec<String>,
    pub reach: HashSet<String>,
    pub org_folders: usize,
    /// The earliest expiry of a folder share the reach came through (after which it may
    /// shrink without a write).
    pub valid_until: Option<Micros>,
}

impl ReachFacts {
    /// A size for a bounded cache: the folder ids held.
    pub fn weight(&self) -> u32 {
        (self.reach.len() + self.custom_readable.len() + 1).min(u32::MAX as usize) as u32
    }

    /// How the page reaches dashboards through folders (see the module comment); a walk
    /// (see [`DashboardRepo::walk_page`]) when the member reaches at least a tenth of the
    /// org's folders and there is no filter to thin the walk further.
    fn strategy(&self, filtered: bool) -> Strategy {
        if self.reach.is_empty() {
            Strategy::Sql(FolderReach::None)
        } else if self.reach.len() <= FEW_FOLDERS {
            let mut few: Vec<String> = self.reach.iter().cloned().collect();
            few.sort();
            Strategy::Sql(FolderReach::Few(few))
        } else if !filtered && self.reach.len() * 10 >= self.org_folders {
            Strategy::Walk
        } else {
            Strategy::Sql(FolderReach::Many)
        }
    }
}

enum Strategy {
    Sql(FolderReach),
    Walk,
}

/// Walk batches before a walk that finds too few reached dashboards gives way to the SQL
/// arm (the reach was not as dense as the folder count suggested).
const MAX_WALK_BATCHES: usize = 3;

impl DashboardRepo {
    /// Reads [`ReachFacts`] for `subjects` in one statement.
    pub async fn reach_facts(
        &self,
        org_id: &str,
        subjects: &[Subject],
        now: Micros,
    ) -> Result<ReachFacts> {
        let mut reached = reached_folders(org_id, subjects, ReadableRoles::OfOrg(org_id), now);
        reached.column((folder_grant::Entity, folder_grant::Column::ExpireTime));
        let mut statement = Query::select()
            .expr_as(Expr::val("role"), Alias::new("fact"))
            .expr_as(Expr::col(role::Column::Name), Alias::new("value"))
            .expr_as(Expr::val(None::<i64>), Alias::new("number"))
            .from(role::Entity)
            .and_where(role::Column::OrgId.eq(org_id))
            .and_where(role::Column::CanRead.eq(true))
            .take();
        statement.union(
            UnionType::All,
            Query::select()
                .expr_as(Expr::val("folder"), Alias::new("fact"))
                .expr_as(
                    Expr::col((Alias::new("reached"), folder_path::Column::DescendantId)),
                    Alias::new("value"),
                )
                .expr_as(
                    Expr::col((Alias::new("reached"), folder_grant::Column::ExpireTime)),
                    Alias::new("number"),
                )
                .from_subquery(reached, Alias::new("reached"))
                .take(),
        );
        statement.union(
            UnionType::All,
            Query::select()
                .expr_as(Expr::val("folders"), Alias::new("fact"))
                .expr_as(Expr::val(""), Alias::new("value"))
                .expr_as(Expr::col(Asterisk).count(), Alias::new("number"))
                .from(folder::Entity)
                .and_where(folder::Column::OrgId.eq(org_id))
                .and_where(folder::Column::DeleteTime.is_null())
                .take(),
        );
        let rows = self.store.db().query_all(&statement).await?;
        let mut facts = ReachFacts::default();
        for row in rows {
            let fact: String = row.try_get("", "fact")?;
            let value: String = row.try_get("", "value")?;
            let number: Option<i64> = row.try_get("", "number")?;
            match fact.as_str() {
                "role" => facts.custom_readable.push(value),
                "folder" => {
                    if let Some(expiry) = number {
                        facts.valid_until =
                            Some(facts.valid_until.map_or(expiry, |v| Ord::min(v, expiry)));
                    }
                    facts.reach.insert(value);
                }
                _ => facts.org_folders = Ord::max(number.unwrap_or_default(), 0) as usize,
            }
        }
        Ok(facts)
    }

    /// One page of what a member may READ, given its [`ReachFacts`].
    pub(super) async fn member_page(
        &self,
        query: &ListQuery,
        facts: &ReachFacts,
    ) -> Result<Vec<Dashboard>> {
        let backend = self.store.backend();
        let reach = match facts.strategy(query.page.filter.is_some()) {
            Strategy::Sql(reach) => reach,
            Strategy::Walk => match self.walk_page(query, facts).await? {
                Some(page) => return Ok(page),
                None => FolderReach::Many,
            },
        };
        let statement = readable_page(query, &facts.custom_readable, &reach, backend);
        let rows = self.store.db().query_all(&statement).await?;
        rows.iter().map(from_row).collect()
    }

    /// A member's page when it reaches much of the org through folders: the page of its
    /// direct shares (the grant arms), then a walk of the org's sort-key index in batches,
    /// keeping the dashboards whose folder is in the reach (a set in memory, not rebuilt in
    /// SQL for every page), until the walk found a page of them or ended; then the
    /// candidates are read in page order by the database (its collation orders titles). The
    /// first `limit` of the direct page and of the walk's finds hold the first `limit` of
    /// their union. `None` when the walk thinned out (see [`MAX_WALK_BATCHES`]).
    async fn walk_page(
        &self,
        query: &ListQuery,
        facts: &ReachFacts,
    ) -> Result<Option<Vec<Dashboard>>> {
        let backend = self.store.backend();
        let db = self.store.db();
        let sort_col = query.page.sort.column();
        let order = if query.page.descending {
            Order::Desc
        } else {
            Order::Asc
        };
        let limit = query.page.limit;
        // Sized so that one batch usually holds a page: the share of the org's folders
        // reached stands for the share of the walk's entries kept (with a margin).
        let density = facts.reach.len() as f64 / Ord::max(facts.org_folders, 1) as f64;
        let batch =
            ((limit as f64 * 1.5 / density.max(0.05)).ceil() as u64).clamp(limit, limit * 20);
        // The walk from `after`, one batch: `(id, folder_id, sort_key)` in page order.
        let walk = |after: Option<(CursorValue, String)>| {
            let walk_query = ListQuery {
                page: ListPage {
                    after,
                    ..query.page.clone()
                },
                ..query.clone()
            };
            let mut walk = Query::select();
            walk.expr_as(
                Expr::col((dashboard::Entity, dashboard::Column::Id)),
                Alias::new("id"),
            )
            .column((dashboard::Entity, dashboard::Column::FolderId))
            .expr_as(Expr::col((dashboard::Entity, sort_col)), SORT_KEY)
            .from(dashboard::Entity)
            .and_where(Expr::col((dashboard::Entity, dashboard::Column::OrgId)).eq(&query.org_id))
            .and_where(Expr::col((dashboard::Entity, dashboard::Column::InheritAccess)).eq(true))
            .and_where(Expr::col((dashboard::Entity, dashboard::Column::FolderId)).is_not_null());
            if !query.page.show_deleted {
                walk.and_where(
                    Expr::col((dashboard::Entity, dashboard::Column::DeleteTime)).is_null(),
                );
            }
            if let Some(cursor) = after_cursor(
                &walk_query,
                (dashboard::Entity, sort_col),
                (dashboard::Entity, dashboard::Column::Id),
            ) {
                walk.and_where(cursor);
            }
            walk.order_by((dashboard::Entity, sort_col), order.clone())
                .order_by((dashboard::Entity, dashboard::Column::Id), order.clone())
                .limit(batch);
            Query::select()
                .expr_as(Expr::val("walk"), Alias::new("source"))
                .column(Asterisk)
                .from_subquery(walk.take(), Alias::new("walk"))
                .take()
        };
        // The direct shares' page and the first batch of the walk, in one statement.
        let mut first = walk(query.page.after.clone());
        if let Some(top) = readable_top(query, &facts.custom_readable, &FolderReach::None, backend)
        {
            let mut direct = Query::select()
                .expr_as(Expr::val("direct"), Alias::new("source"))
                .expr_as(
                    Expr::col((Alias::new("direct"), grant::Column::DashboardId)),
                    Alias::new("id"),
                )
                .expr_as(Expr::val(None::<String>), Alias::new("folder_id"))
                .expr_as(
                    Expr::col((Alias::new("direct"), Alias::new(SORT_KEY))),
                    SORT_KEY,
                )
                .from_subquery(top, Alias::new("direct"))
                .take();
            first = direct.union(UnionType::All, first).take();
        }
        let mut candidates: Vec<String> = Vec::new();
        let mut statement = first;
        let mut found = 0u64;
        let mut batches = 0;
        loop {
            batches += 1;
            let rows = db.query_all(&statement).await?;
            let mut walked = 0u64;
            let mut last = None;
            for row in &rows {
                let source: String = row.try_get("", "source")?;
                let id: String = row.try_get("", "id")?;
                if source == "direct" {
                    candidates.push(id);
                    continue;
                }
                walked += 1;
                let folder: Option<String> = row.try_get("", "folder_id")?;
                if folder.is_some_and(|f| facts.reach.contains(&f)) {
                    candidates.push(id.clone());
                    found += 1;
                }
                last = Some((row, id));
            }
            if walked < batch || found >= limit {
                break;
            }
            if batches >= MAX_WALK_BATCHES {
                return Ok(None);
            }
            let Some((row, id)) = last else { break };
            let key = match query.page.sort {
                SortKey::Title => CursorValue::Text(row.try_get("", SORT_KEY)?),
                _ => CursorValue::Int(row.try_get("", SORT_KEY)?),
            };
            statement = walk(Some((key, id)));
        }
        candidates.sort();
        candidates.dedup();
        let mut page = with_visibility(query.now);
        page.and_where(Expr::col((dashboard::Entity, dashboard::Column::Id)).is_in(candidates))
            .order_by((dashboard::Entity, sort_col), order.clone())
            .order_by((dashboard::Entity, dashboard::Column::Id), order)
            .limit(limit);
        let rows = db.query_all(&page).await?;
        Ok(Some(rows.iter().map(from_row).collect::<Result<Vec<_>>>()?))
    }
}
