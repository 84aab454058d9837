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

use super::listing::{ReadableRoles, SORT_KEY, after_cursor, readable_grant_in};
use super::*;
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

impl DashboardRepo {
    /// What a member's listing reads before its page, in one statement: the org's custom
    /// roles that include READ, and the folders its shares on folders reach (up to
    /// [`FEW_FOLDERS`] + 1 rows: beyond that it only matters that they are many).
    pub(super) async fn listing_facts(
        &self,
        query: &ListQuery,
    ) -> Result<(Vec<String>, FolderReach)> {
        let mut reached = reached_folders(
            &query.org_id,
            &query.subjects,
            ReadableRoles::OfOrg(&query.org_id),
            query.now,
        );
        reached.limit(FEW_FOLDERS as u64 + 1);
        let mut statement = Query::select()
            .expr_as(Expr::val("role"), Alias::new("fact"))
            .expr_as(Expr::col(role::Column::Name), Alias::new("value"))
            .from(role::Entity)
            .and_where(role::Column::OrgId.eq(&query.org_id))
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
                .from_subquery(reached, Alias::new("reached"))
                .take(),
        );
        let rows = self.store.db().query_all(&statement).await?;
        let mut custom = Vec::new();
        let mut folders = Vec::new();
        for row in rows {
            let fact: String = row.try_get("", "fact")?;
            let value: String = row.try_get("", "value")?;
            if fact == "role" {
                custom.push(value);
            } else {
                folders.push(value);
            }
        }
        let reach = if folders.is_empty() {
            FolderReach::None
        } else if folders.len() > FEW_FOLDERS {
            FolderReach::Many
        } else {
            folders.sort();
            folders.dedup();
            FolderReach::Few(folders)
        };
        Ok((custom, reach))
    }
}
