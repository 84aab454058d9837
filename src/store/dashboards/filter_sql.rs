//! The ListDashboards filter compiled into bound conditions: values are parameters, never
//! SQL. Comparisons of the row's own columns read `dashboards`; those of facts kept by
//! dashboard id (labels, stars, owners, public links) are subqueries tied to an id column,
//! so a page of index entries can be filtered by them without fetching its rows.

use sea_orm::sea_query::{ColumnRef, IntoColumnRef};

use super::listing::readable_by;
use super::*;
use crate::core::filter::FolderScope;
use crate::store::entities::folder_path;

/// Compiles a parsed filter into bound conditions on the `dashboards` row: values are
/// parameters, never SQL.
pub(super) fn filter_condition(filter: &Filter, query: &ListQuery) -> Condition {
    let id = (dashboard::Entity, dashboard::Column::Id).into_column_ref();
    filter_condition_on(filter, query, &id)
}

/// [`filter_condition`] where the comparisons that need only the dashboard's id are tied
/// to `id`, another table's column holding it (a page of index entries, see
/// [`needs_row`]).
pub(super) fn filter_condition_on(filter: &Filter, query: &ListQuery, id: &ColumnRef) -> Condition {
    match filter {
        Filter::And(a, b) => Condition::all()
            .add(filter_condition_on(a, query, id))
            .add(filter_condition_on(b, query, id)),
        Filter::Or(a, b) => Condition::any()
            .add(filter_condition_on(a, query, id))
            .add(filter_condition_on(b, query, id)),
        Filter::Not(inner) => filter_condition_on(inner, query, id).not(),
        Filter::Compare(comparison) => Condition::all().add(comparison_expr(comparison, query, id)),
    }
}

/// Whether the filter reads the `dashboards` row, or only facts kept by dashboard id
/// (labels, stars, owners, public links), which a page of index entries can test without
/// fetching the row.
pub(super) fn needs_row(filter: &Filter) -> bool {
    match filter {
        Filter::And(a, b) | Filter::Or(a, b) => needs_row(a) || needs_row(b),
        Filter::Not(inner) => needs_row(inner),
        Filter::Compare(comparison) => !matches!(
            comparison,
            Comparison::Label(..)
                | Comparison::OwnerEquals(..)
                | Comparison::Flag(Flag::Starred | Flag::Public, _)
        ),
    }
}

/// `users/me` in a filter is the caller.
fn resolve_me<'a>(id: &'a str, query: &'a ListQuery) -> &'a str {
    if id == "me" { &query.caller_id } else { id }
}

fn comparison_expr(comparison: &Comparison, query: &ListQuery, id: &ColumnRef) -> Expr {
    let id_col = || Expr::col(id.clone());
    let text_col = |f: &TextField| match f {
        TextField::Title => dashboard::Column::Title,
        TextField::Description => dashboard::Column::Description,
    };
    match comparison {
        Comparison::TextContains(field, needle) => {
            contains_ignoring_case((dashboard::Entity, text_col(field)), needle)
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
        Comparison::Flag(Flag::Starred, value) => {
            // The caller's own star. The listing applies it after access, so a star of a
            // dashboard the caller can no longer read never shows.
            let starred = Expr::exists(crate::store::stars::starred_by(
                &query.org_id,
                &query.caller_id,
                id.clone(),
            ));
            if *value { starred } else { starred.not() }
        }
        Comparison::Label(label, value) => {
            let (by_id, by_name) = match label {
                LabelRef::Id(id) => (Some(id.as_str()), None),
                LabelRef::DisplayName(name) => (None, Some(name.as_str())),
            };
            let carries = Expr::exists(crate::store::labels::carries_label(
                &query.org_id,
                by_id,
                by_name,
                id.clone(),
            ));
            if *value { carries } else { carries.not() }
        }
        Comparison::Folder(scope, folder_id, value) => {
            let col = Expr::col((dashboard::Entity, dashboard::Column::FolderId));
            let within = match scope {
                FolderScope::Direct => col.clone().eq(folder_id.clone()),
                FolderScope::Subtree => col.clone().in_subquery(
                    Query::select()
                        .column(folder_path::Column::DescendantId)
                        .from(folder_path::Entity)
                        .and_where(folder_path::Column::AncestorId.eq(folder_id.clone()))
                        .take(),
                ),
            };
            // A dashboard at the root is in no folder: `!=` keeps it.
            if *value {
                within
            } else {
                Expr::from(
                    Condition::any()
                        .add(col.is_null())
                        .add(Condition::all().add(within).not()),
                )
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::filter::parse;

    /// Whether the parsed filter needs the row (`None`: the filter does not parse).
    fn needs(filter: &str) -> Option<bool> {
        parse(filter).ok().flatten().map(|f| needs_row(&f))
    }

    #[test]
    fn labels_stars_owners_and_links_are_tested_without_the_row() {
        assert_eq!(needs(r#"label = "prod""#), Some(false));
        assert_eq!(
            needs(r#"label != "labels/abc" AND starred = true"#),
            Some(false)
        );
        assert_eq!(
            needs(r#"NOT (owner = "users/me" OR visibility = public)"#),
            Some(false)
        );
    }

    #[test]
    fn any_column_of_the_row_needs_it() {
        assert_eq!(needs(r#"title : "sales""#), Some(true));
        assert_eq!(
            needs(r#"label = "prod" AND creator = "users/me""#),
            Some(true)
        );
        assert_eq!(
            needs(r#"starred = true OR shared_with_me = true"#),
            Some(true)
        );
        assert_eq!(
            needs(r#"label = "prod" AND folder = "folders/f1""#),
            Some(true)
        );
        assert_eq!(
            needs(r#"NOT (update_time > "2026-01-01T00:00:00Z")"#),
            Some(true)
        );
    }
}
