//! A member's reach through shares on folders, for the listing.
//!
//! A share on folder F reaches every folder G below it (F included) whose closure row
//! `(F, G)` has `inherits`, and every dashboard held by such a G that does not stop
//! inheritance itself (`core::authz::inheritance`, the same rule). So the dashboards a
//! member reads through folders are those with `inherit_access` whose `folder_id` is in
//! the set of folders its READ-bearing folder shares reach — one indexed join.
//!
//! How the listing walks them depends on how many folders that is (read before the page
//! and kept between calls, see [`ReachFacts`]):
//! - none: no arm;
//! - a few: one arm per folder, each an ordered range of the folder's sort-key index,
//!   merged with the grant arms like the caller's subjects;
//! - a dense share of the org's folders: one arm that walks the org's sort-key index in page
//!   order and keeps the entries whose folder's bit is set in the member's reach, a bitmap
//!   by folder number (`folders.seq`, copied to `dashboards.folder_seq`, in the index) bound
//!   as one parameter — `substr(reach, folder_seq + 1, 1) = x'01'`, a byte read per entry.
//!   A member who reaches a tenth of the folders finds a page within about
//!   `10 x page_size` entries: an ADMIN's walk, thinned, in the same one statement as the
//!   grant arms and the rows;
//! - otherwise (sparse): the same walk tested against the reached folders as a subquery of
//!   the statement. (On SQLite the folder column is written `+folder_id` there, so that the
//!   planner keeps the ordered walk instead of fetching every reached folder's dashboards
//!   and sorting them.)

use std::collections::HashSet;

use super::filter_sql::filter_condition;
use super::listing::{ReadableRoles, SORT_KEY, after_cursor, readable_grant_in, readable_top};
use super::*;
use crate::store::entities::folder;
use crate::store::entities::{folder_grant, folder_path};

/// How a member's page chooses among the strategies of the module comment (settings
/// `LISTING_FOLDER_ARMS` and `LISTING_DENSE_REACH_PERCENT`; tests force each strategy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReachPlan {
    /// At most this many folders reached are listed as one arm each.
    pub folder_arms: usize,
    /// From this share of the org's folders reached (in percent) the walk is tested against
    /// the bitmap; below it, against the subquery. Above 100: never.
    pub dense_reach_percent: usize,
}

impl Default for ReachPlan {
    fn default() -> Self {
        Self {
            folder_arms: 32,
            dense_reach_percent: 10,
        }
    }
}

/// The folders a member's shares on folders reach, as the listing needs to know them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FolderReach {
    None,
    Few(Vec<String>),
    /// The reach as a bitmap by folder number: byte `seq` is 1 for a reached folder.
    Dense(Vec<u8>),
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
        FolderReach::Dense(bitmap) => {
            let reached = sea_orm::sea_query::Func::cust("substr")
                .arg(Expr::val(bitmap.clone()))
                .arg(Expr::col((dashboard::Entity, dashboard::Column::FolderSeq)).add(1))
                .arg(1);
            let mut arm = base();
            arm.and_where(Expr::from(reached).eq(vec![1u8]));
            vec![arm]
        }
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
    /// The reach by folder number: byte `seq` is 1 for a reached folder (as long as the
    /// highest reached number).
    pub bitmap: Vec<u8>,
    pub org_folders: usize,
    /// The earliest expiry of a folder share the reach came through (after which it may
    /// shrink without a write).
    pub valid_until: Option<Micros>,
}

impl ReachFacts {
    /// A size for a bounded cache: the folder ids held (the bitmap counts about as much as
    /// one id per 64 folders).
    pub fn weight(&self) -> u32 {
        (self.reach.len() + self.custom_readable.len() + self.bitmap.len() / 64 + 1)
            .min(u32::MAX as usize) as u32
    }

    /// How the page reaches dashboards through folders (see the module comment and
    /// [`ReachPlan`]).
    pub(super) fn folder_reach(&self, plan: ReachPlan) -> FolderReach {
        if self.reach.is_empty() {
            FolderReach::None
        } else if self.reach.len() <= plan.folder_arms {
            let mut few: Vec<String> = self.reach.iter().cloned().collect();
            few.sort();
            FolderReach::Few(few)
        } else if plan.dense_reach_percent <= 100
            && self.reach.len() * 100 >= self.org_folders * plan.dense_reach_percent
        {
            FolderReach::Dense(self.bitmap.clone())
        } else {
            FolderReach::Many
        }
    }
}

impl DashboardRepo {
    /// Reads [`ReachFacts`] for `subjects` in one statement.
    pub async fn reach_facts(
        &self,
        org_id: &str,
        subjects: &[Subject],
        now: Micros,
    ) -> Result<ReachFacts> {
        let mut reached = reached_folders(org_id, subjects, ReadableRoles::OfOrg(org_id), now);
        reached
            .column((folder_grant::Entity, folder_grant::Column::ExpireTime))
            .column((folder::Entity, folder::Column::Seq))
            .inner_join(
                folder::Entity,
                Expr::col((folder::Entity, folder::Column::Id))
                    .equals((folder_path::Entity, folder_path::Column::DescendantId)),
            );
        let mut statement = Query::select()
            .expr_as(Expr::val("role"), Alias::new("fact"))
            .expr_as(Expr::col(role::Column::Name), Alias::new("value"))
            .expr_as(Expr::val(None::<i64>), Alias::new("number"))
            .expr_as(Expr::val(None::<i32>), Alias::new("seq"))
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
                .expr_as(
                    Expr::col((Alias::new("reached"), folder::Column::Seq)),
                    Alias::new("seq"),
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
                .expr_as(Expr::val(None::<i32>), Alias::new("seq"))
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
                    let seq: Option<i32> = row.try_get("", "seq")?;
                    if let Some(seq) = seq.and_then(|s| usize::try_from(s).ok()) {
                        if facts.bitmap.len() <= seq {
                            facts.bitmap.resize(seq + 1, 0);
                        }
                        facts.bitmap[seq] = 1;
                    }
                    facts.reach.insert(value);
                }
                _ => facts.org_folders = Ord::max(number.unwrap_or_default(), 0) as usize,
            }
        }
        Ok(facts)
    }

    /// PostgreSQL, with a filter: the arms without a LIMIT let its planner read and hash
    /// every readable dashboard and every one the filter matches (150 ms for a member who
    /// reaches 36,000 dashboards, filtered by a label on 60% of the org), where SQLite's
    /// merge stops at the page. So the arms are read in rounds, each limited like an
    /// unfiltered page: `batch` candidates in page order, each with the filter's verdict,
    /// kept until the page is full; the next round starts after the round's last candidate,
    /// four times larger. `None` (the one unlimited statement decides) after
    /// [`FILTER_ROUNDS`]: a filter that keeps so few is better served by the planner.
    pub(super) async fn filtered_rounds(
        &self,
        query: &ListQuery,
        facts: &ReachFacts,
        reach: &FolderReach,
    ) -> Result<Option<Vec<PageEntry>>> {
        let Some(filter) = &query.page.filter else {
            return Ok(None);
        };
        let backend = self.store.backend();
        let order = if query.page.descending {
            Order::Desc
        } else {
            Order::Asc
        };
        let matched = Expr::from(filter_condition(filter, query));
        in_rounds(query, |round: ListQuery| {
            let matched = matched.clone();
            let order = order.clone();
            async move {
                let Some(top) = readable_top(&round, &facts.custom_readable, reach, backend) else {
                    return Ok(Vec::new());
                };
                // Every candidate comes back with its place in the page order; only those
                // the filter keeps carry their id (the filter sits in the join's ON).
                let page_col = |c: &str| Expr::col((Alias::new("page"), Alias::new(c)));
                let statement = Query::select()
                    .column((dashboard::Entity, dashboard::Column::Id))
                    .expr_as(page_col(SORT_KEY), Alias::new(ROUND_KEY))
                    .expr_as(
                        page_col(grant::Column::DashboardId.as_str()),
                        Alias::new(ROUND_ID),
                    )
                    .from_subquery(top, Alias::new("page"))
                    .join(
                        JoinType::LeftJoin,
                        dashboard::Entity,
                        Condition::all()
                            .add(
                                Expr::col((dashboard::Entity, dashboard::Column::Id))
                                    .equals((Alias::new("page"), grant::Column::DashboardId)),
                            )
                            .add(matched),
                    )
                    .order_by((Alias::new("page"), SORT_KEY), order.clone())
                    .order_by((Alias::new("page"), grant::Column::DashboardId), order)
                    .take();
                let rows = self.store.db().query_all(&statement).await?;
                let mut candidates = Vec::with_capacity(rows.len());
                for row in &rows {
                    let id: String = row.try_get("", ROUND_ID)?;
                    let key = match round.page.sort {
                        SortKey::Title => CursorValue::Text(row.try_get("", ROUND_KEY)?),
                        SortKey::CreateTime | SortKey::UpdateTime => {
                            CursorValue::Int(row.try_get("", ROUND_KEY)?)
                        }
                    };
                    // No row joined: the filter does not keep it (NULL is no match either).
                    let kept: Option<String> = row.try_get("", dashboard::Column::Id.as_str())?;
                    candidates.push(((id, key), kept.is_some()));
                }
                Ok(candidates)
            }
        })
        .await
    }
}

/// A filtered page read in rounds of candidates: `round` reads one (the query unfiltered,
/// after the previous round's last candidate, limited to the round's size: 2, then 8, then
/// 32 pages), each candidate in page order with whether the filter keeps it; the kept ones
/// fill the page. `None` when [`FILTER_ROUNDS`] rounds did not fill it (the caller then
/// lets one statement decide).
pub async fn in_rounds<F, Fut>(query: &ListQuery, mut round: F) -> Result<Option<Vec<PageEntry>>>
where
    F: FnMut(ListQuery) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<(PageEntry, bool)>>>,
{
    let mut batch = Ord::max(query.page.limit.saturating_mul(2), 16);
    let mut after = query.page.after.clone();
    let mut page = Vec::new();
    for _ in 0..FILTER_ROUNDS {
        let candidates = round(ListQuery {
            page: ListPage {
                filter: None,
                after: after.clone(),
                limit: batch,
                ..query.page.clone()
            },
            ..query.clone()
        })
        .await?;
        let read = candidates.len() as u64;
        after = candidates
            .last()
            .map(|((id, key), _)| (key.clone(), id.clone()));
        for (entry, kept) in candidates {
            if kept {
                page.push(entry);
                if page.len() as u64 >= query.page.limit {
                    return Ok(Some(page));
                }
            }
        }
        if read < batch || after.is_none() {
            // The candidates ran out: the page is all there is.
            return Ok(Some(page));
        }
        batch = batch.saturating_mul(4);
    }
    Ok(None)
}

/// Rounds of [`in_rounds`] (2, 8 and 32 pages of candidates).
const FILTER_ROUNDS: usize = 3;

/// The columns of a round's rows with the candidate's sort key and id.
const ROUND_KEY: &str = "round_sort_key";
const ROUND_ID: &str = "round_dashboard_id";
