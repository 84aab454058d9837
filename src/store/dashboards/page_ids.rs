//! ListDashboards' page as ids: the statements of `listing` and `reach`, selecting each
//! dashboard's id and sort key only, folded into **one row** (a JSON array in page order).
//!
//! Why one row: sqlx hands every SQLite row from its worker thread to the caller over a
//! channel, and each hand-over is a wake-up; a page of 51 rows cost more in wake-ups and
//! decoding than SQLite spent finding them. The rows themselves come from the per-replica
//! fact cache (`app::facts`), which holds them for decisions anyway.

use sea_orm::sea_query::IntoColumnRef;

use super::filter_sql::{filter_condition_on, needs_row};
use super::listing::{SORT_KEY, org_page, readable_page, readable_top, sort_order};
use super::*;

/// One dashboard of a page: its id and its sort key (what the next page starts after).
pub type PageEntry = (String, CursorValue);

/// The aliases of the folded statement.
const ID: &str = "page_id";
const KEY: &str = "page_key";
const FOLDED: &str = "page";

impl DashboardRepo {
    /// One page of the ids of the dashboards the query's subjects may READ (every one of the
    /// org for an ADMIN), with their sort keys, in page order: at most `page.limit`.
    pub async fn list_ids(&self, query: &ListQuery) -> Result<Vec<PageEntry>> {
        if !query.only_readable {
            let mut page = org_page(query);
            page.clear_selects()
                .expr_as(
                    Expr::col((dashboard::Entity, dashboard::Column::Id)),
                    Alias::new(ID),
                )
                .expr_as(
                    Expr::col((dashboard::Entity, query.page.sort.column())),
                    Alias::new(KEY),
                );
            return self.folded(query, page).await;
        }
        let facts = match &query.facts {
            Some(facts) => facts.clone(),
            None => std::sync::Arc::new(
                self.reach_facts(&query.org_id, &query.subjects, query.now)
                    .await?,
            ),
        };
        let reach = facts.folder_reach(query.plan);
        let backend = self.store.backend();
        if backend == DatabaseBackend::Postgres
            && let Some(page) = self.filtered_rounds(query, &facts, &reach).await?
        {
            return Ok(page);
        }
        let page_col = |c: &str| Expr::col((Alias::new("page"), Alias::new(c)));
        let mut page = if query.page.filter.is_none() {
            // Unfiltered, the merged arms are the page: index entries only.
            match readable_top(query, &facts.custom_readable, &reach, backend) {
                Some(top) => Query::select()
                    .expr_as(
                        page_col(grant::Column::DashboardId.as_str()),
                        Alias::new(ID),
                    )
                    .expr_as(page_col(SORT_KEY), Alias::new(KEY))
                    .from_subquery(top, Alias::new("page"))
                    .take(),
                None => return Ok(Vec::new()),
            }
        } else if let Some(filter) = query.page.filter.as_ref().filter(|f| !needs_row(f)) {
            // A filter of facts kept by dashboard id (a label, a star): the merged arms'
            // index entries are tested as they come, each by a primary-key probe, without
            // fetching its row.
            let Some(top) = readable_top(query, &facts.custom_readable, &reach, backend) else {
                return Ok(Vec::new());
            };
            let page_id = (Alias::new("page"), grant::Column::DashboardId).into_column_ref();
            let order = sort_order(query);
            Query::select()
                .expr_as(Expr::col(page_id.clone()), Alias::new(ID))
                .expr_as(page_col(SORT_KEY), Alias::new(KEY))
                .from_subquery(top, Alias::new("page"))
                .cond_where(filter_condition_on(filter, query, &page_id))
                .order_by((Alias::new("page"), SORT_KEY), order.clone())
                .order_by(page_id, order)
                .take()
        } else {
            let mut page = readable_page(query, &facts.custom_readable, &reach, backend);
            page.clear_selects()
                .expr_as(
                    page_col(grant::Column::DashboardId.as_str()),
                    Alias::new(ID),
                )
                .expr_as(page_col(SORT_KEY), Alias::new(KEY));
            page
        };
        page.limit(query.page.limit);
        self.folded(query, page).await
    }

    /// `page` (selecting [`ID`] and [`KEY`], in page order) as one row: a JSON array of
    /// `[id, key]` pairs, ordered again inside the aggregate (an aggregate keeps no order of
    /// its input by itself).
    async fn folded(
        &self,
        query: &ListQuery,
        page: sea_orm::sea_query::SelectStatement,
    ) -> Result<Vec<PageEntry>> {
        let backend = self.store.backend();
        let direction = if query.page.descending { "DESC" } else { "ASC" };
        let order =
            format!("\"{FOLDED}\".\"{KEY}\" {direction}, \"{FOLDED}\".\"{ID}\" {direction}");
        let pair = format!("\"{FOLDED}\".\"{ID}\", \"{FOLDED}\".\"{KEY}\"");
        let folded = if backend == DatabaseBackend::Postgres {
            format!("CAST(json_agg(json_build_array({pair}) ORDER BY {order}) AS TEXT)")
        } else {
            format!("json_group_array(json_array({pair}) ORDER BY {order})")
        };
        let statement = Query::select()
            .expr_as(Expr::cust(folded), Alias::new("entries"))
            .from_subquery(page, Alias::new(FOLDED))
            .take();
        let Some(row) = self.store.db().query_one(&statement).await? else {
            return Ok(Vec::new());
        };
        // No rows: PostgreSQL's json_agg is NULL, SQLite's json_group_array `[]`.
        let Some(json) = row.try_get::<Option<String>>("", "entries")? else {
            return Ok(Vec::new());
        };
        parse_entries(&json, query.page.sort)
    }
}

/// The folded page's `[[id, key], ...]`.
fn parse_entries(json: &str, sort: SortKey) -> Result<Vec<PageEntry>> {
    let pairs: Vec<(String, serde_json::Value)> = serde_json::from_str(json)
        .map_err(|_| Error::internal("a listing page came back malformed"))?;
    pairs
        .into_iter()
        .map(|(id, key)| {
            let key = match (sort, key) {
                (SortKey::Title, serde_json::Value::String(title)) => CursorValue::Text(title),
                (SortKey::CreateTime | SortKey::UpdateTime, serde_json::Value::Number(n)) => {
                    CursorValue::Int(
                        n.as_i64()
                            .ok_or_else(|| Error::internal("a listing key came back malformed"))?,
                    )
                }
                _ => return Err(Error::internal("a listing key came back malformed")),
            };
            Ok((id, key))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_titles_times_and_the_empty_page() {
        let page = parse_entries(r#"[["a","x, \"y\""],["b","z"]]"#, SortKey::Title);
        assert_eq!(
            page.ok(),
            Some(vec![
                ("a".to_string(), CursorValue::Text("x, \"y\"".into())),
                ("b".to_string(), CursorValue::Text("z".into())),
            ])
        );
        let page = parse_entries(r#"[["a",17]]"#, SortKey::CreateTime);
        assert_eq!(
            page.ok(),
            Some(vec![("a".to_string(), CursorValue::Int(17))])
        );
        assert_eq!(
            parse_entries("[]", SortKey::UpdateTime).ok(),
            Some(Vec::new())
        );
    }

    #[test]
    fn a_key_of_the_wrong_kind_is_an_internal_error_not_a_panic() {
        assert!(parse_entries(r#"[["a","x"]]"#, SortKey::CreateTime).is_err());
        assert!(parse_entries("not json", SortKey::Title).is_err());
    }
}
