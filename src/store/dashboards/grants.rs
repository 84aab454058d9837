//! Dashboards with every grant on them: what the per-replica fact cache keeps and every
//! decision reads.

use super::listing::JOINED_GRANT;
use super::*;

/// A dashboard with every grant on it, whoever it is for: what a per-replica cache of access
/// facts keeps (`app::facts`), so that any caller's decision can be made from it.
#[derive(Debug, Clone)]
pub struct DashboardWithGrants {
    pub dashboard: Dashboard,
    pub grants: Vec<Grant>,
    /// When the dashboard's public state next changes without a write: the earliest future
    /// expiry among its public links.
    pub public_changes_at: Option<Micros>,
}

/// The column of [`DashboardRepo::with_all_grants`]'s rows with the earliest future link
/// expiry.
const LINK_EXPIRY: &str = "next_link_expiry";

impl DashboardRepo {
    /// The dashboards among `ids` that exist in `org_id`, each with every grant on it, in one
    /// statement (the dashboards by primary key, their grants joined, one row each).
    pub async fn with_all_grants(
        &self,
        org_id: &str,
        ids: &[String],
    ) -> Result<Vec<DashboardWithGrants>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let now = now_micros();
        let joined = Alias::new(JOINED_GRANT);
        let mut statement = with_visibility(now);
        for column in <grant::Column as sea_orm::Iterable>::iter() {
            statement.expr_as(
                Expr::col((joined.clone(), column)),
                Alias::new(format!("{JOINED_GRANT}_{}", column.as_str())),
            );
        }
        let next_expiry = Query::select()
            .expr(Expr::col((public_link::Entity, public_link::Column::ExpireTime)).min())
            .from(public_link::Entity)
            .and_where(
                Expr::col((public_link::Entity, public_link::Column::DashboardId))
                    .equals((dashboard::Entity, dashboard::Column::Id)),
            )
            .and_where(Expr::col((public_link::Entity, public_link::Column::ExpireTime)).gt(now))
            .take();
        let statement = statement
            .expr_as(
                sea_orm::sea_query::SubQueryStatement::SelectStatement(next_expiry),
                Alias::new(LINK_EXPIRY),
            )
            .join_as(
                JoinType::LeftJoin,
                grant::Entity,
                joined.clone(),
                Expr::col((joined.clone(), grant::Column::DashboardId))
                    .equals((dashboard::Entity, dashboard::Column::Id)),
            )
            .and_where(
                Expr::col((dashboard::Entity, dashboard::Column::Id)).is_in(ids.iter().cloned()),
            )
            .and_where(Expr::col((dashboard::Entity, dashboard::Column::OrgId)).eq(org_id))
            .take();
        let rows = self.store.db().query_all(&statement).await?;
        let prefix = format!("{JOINED_GRANT}_");
        let mut found: Vec<DashboardWithGrants> = Vec::new();
        let mut at: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for row in &rows {
            let id: String = row.try_get("", dashboard::Column::Id.as_str())?;
            let index = match at.get(&id) {
                Some(index) => *index,
                None => {
                    found.push(DashboardWithGrants {
                        dashboard: from_row(row)?,
                        grants: Vec::new(),
                        public_changes_at: row.try_get("", LINK_EXPIRY)?,
                    });
                    at.insert(id, found.len() - 1);
                    found.len() - 1
                }
            };
            // No grant joined: the grant columns are all NULL.
            let grant_id: Option<String> = row.try_get(&prefix, grant::Column::Id.as_str())?;
            if grant_id.is_some()
                && let Some(grant) = crate::store::shares::into_domain(
                    grant::Model::from_query_result(row, &prefix)?,
                )
                && let Some(entry) = found.get_mut(index)
            {
                entry.grants.push(grant);
            }
        }
        Ok(found)
    }
}
