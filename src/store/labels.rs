//! The labels repository: org-scoped labels and their attachment to dashboards. Writes run
//! in the caller's write transaction; the rules (limit, uniqueness, etag) are decided by the
//! command, the unique index backs uniqueness against a concurrent create.

use std::collections::HashMap;

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query, SelectStatement};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait,
    Order, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::entities::{dashboard_label, label};
use super::{Store, is_unique_violation};
use crate::core::label::Label;
use crate::core::{Micros, Result};

/// What UpdateLabel changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct LabelChanges {
    pub display_name: Option<String>,
    pub color: Option<String>,
    pub description: Option<String>,
}

/// The outcome of a write that a unique display name can refuse.
#[derive(Debug)]
pub enum Saved {
    Ok(Label),
    /// Another label of the org has the display name.
    NameTaken,
    /// The label changed (or went) since the caller read it.
    Stale,
}

#[derive(Clone)]
pub struct LabelRepo {
    store: Store,
}

impl LabelRepo {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Creates the label; `NameTaken` when the org has a label of that display name.
    pub async fn create(&self, txn: &DatabaseTransaction, new: &Label) -> Result<Saved> {
        if self
            .by_display_name(txn, &new.org_id, &new.display_name)
            .await?
            .is_some()
        {
            return Ok(Saved::NameTaken);
        }
        let inserted = label::Entity::insert(label::ActiveModel {
            org_id: Set(new.org_id.clone()),
            id: Set(new.id.clone()),
            display_name: Set(new.display_name.clone()),
            color: Set(new.color.clone()),
            description: Set(new.description.clone()),
            creator_id: Set(new.creator_id.clone()),
            create_time: Set(new.create_time),
            update_time: Set(new.update_time),
            revision: Set(1),
        })
        .exec_without_returning(txn)
        .await;
        match inserted {
            Ok(_) => {}
            Err(err) if is_unique_violation(&err) => return Ok(Saved::NameTaken),
            Err(err) => return Err(err.into()),
        }
        Ok(match self.get_in(txn, &new.org_id, &new.id).await? {
            Some(l) => Saved::Ok(l),
            None => Saved::Stale,
        })
    }

    pub async fn get(&self, org_id: &str, id: &str) -> Result<Option<Label>> {
        self.get_in(self.store.db(), org_id, id).await
    }

    /// The id of the org's label named `display_name` (names are unique per org).
    pub async fn id_named(&self, org_id: &str, display_name: &str) -> Result<Option<String>> {
        let row = label::Entity::find()
            .filter(label::Column::OrgId.eq(org_id))
            .filter(label::Column::DisplayName.eq(display_name))
            .one(self.store.db())
            .await?;
        Ok(row.map(|l| l.id))
    }

    /// [`Self::get`] on a given connection (a write's transaction).
    pub async fn get_in(
        &self,
        conn: &impl ConnectionTrait,
        org_id: &str,
        id: &str,
    ) -> Result<Option<Label>> {
        let row = label::Entity::find()
            .filter(label::Column::OrgId.eq(org_id))
            .filter(label::Column::Id.eq(id))
            .one(conn)
            .await?;
        Ok(row.map(into_domain))
    }

    /// The label, its row locked for the rest of the write: exclusively (`for_update`) by
    /// a change of the label, shared by an attachment, so the two never interleave
    /// (SQLite's writer lock already serializes writers).
    pub async fn lock(
        &self,
        txn: &DatabaseTransaction,
        org_id: &str,
        id: &str,
        for_update: bool,
    ) -> Result<Option<Label>> {
        let query = label::Entity::find()
            .filter(label::Column::OrgId.eq(org_id))
            .filter(label::Column::Id.eq(id));
        let query = if for_update {
            query.lock_exclusive()
        } else {
            query.lock_shared()
        };
        Ok(query.one(txn).await?.map(into_domain))
    }

    async fn by_display_name(
        &self,
        conn: &impl ConnectionTrait,
        org_id: &str,
        display_name: &str,
    ) -> Result<Option<Label>> {
        let row = label::Entity::find()
            .filter(label::Column::OrgId.eq(org_id))
            .filter(label::Column::DisplayName.eq(display_name))
            .one(conn)
            .await?;
        Ok(row.map(into_domain))
    }

    /// One page of the org's labels ordered by display name (then id), after the
    /// `(display_name, id)` cursor; `limit + 1` rows tell whether another page follows.
    pub async fn list(
        &self,
        org_id: &str,
        after: Option<(String, String)>,
        limit: u64,
    ) -> Result<Vec<Label>> {
        let mut query = label::Entity::find().filter(label::Column::OrgId.eq(org_id));
        if let Some((name, id)) = after {
            query = query.filter(
                Condition::any()
                    .add(label::Column::DisplayName.gt(name.clone()))
                    .add(
                        Condition::all()
                            .add(label::Column::DisplayName.eq(name))
                            .add(label::Column::Id.gt(id)),
                    ),
            );
        }
        let rows = query
            .order_by(label::Column::DisplayName, Order::Asc)
            .order_by(label::Column::Id, Order::Asc)
            .limit(limit)
            .all(self.store.db())
            .await?;
        Ok(rows.into_iter().map(into_domain).collect())
    }

    /// Applies the changes if the label is still at `expected_revision`.
    pub async fn update(
        &self,
        txn: &DatabaseTransaction,
        org_id: &str,
        id: &str,
        expected_revision: i64,
        changes: LabelChanges,
        now: Micros,
    ) -> Result<Saved> {
        if let Some(name) = &changes.display_name
            && let Some(other) = self.by_display_name(txn, org_id, name).await?
            && other.id != id
        {
            return Ok(Saved::NameTaken);
        }
        let mut update = label::Entity::update_many()
            .col_expr(label::Column::Revision, Expr::val(expected_revision + 1))
            .col_expr(label::Column::UpdateTime, Expr::val(now));
        if let Some(v) = changes.display_name {
            update = update.col_expr(label::Column::DisplayName, Expr::val(v));
        }
        if let Some(v) = changes.color {
            update = update.col_expr(label::Column::Color, Expr::val(v));
        }
        if let Some(v) = changes.description {
            update = update.col_expr(label::Column::Description, Expr::val(v));
        }
        let result = update
            .filter(label::Column::OrgId.eq(org_id))
            .filter(label::Column::Id.eq(id))
            .filter(label::Column::Revision.eq(expected_revision))
            .exec(txn)
            .await;
        let result = match result {
            Ok(r) => r,
            Err(err) if is_unique_violation(&err) => return Ok(Saved::NameTaken),
            Err(err) => return Err(err.into()),
        };
        if result.rows_affected == 0 {
            return Ok(Saved::Stale);
        }
        Ok(match self.get_in(txn, org_id, id).await? {
            Some(l) => Saved::Ok(l),
            None => Saved::Stale,
        })
    }

    /// Deletes the label and detaches it from every dashboard; false when there was none.
    pub async fn delete(&self, txn: &DatabaseTransaction, org_id: &str, id: &str) -> Result<bool> {
        dashboard_label::Entity::delete_many()
            .filter(dashboard_label::Column::OrgId.eq(org_id))
            .filter(dashboard_label::Column::LabelId.eq(id))
            .exec(txn)
            .await?;
        let result = label::Entity::delete_many()
            .filter(label::Column::OrgId.eq(org_id))
            .filter(label::Column::Id.eq(id))
            .exec(txn)
            .await?;
        Ok(result.rows_affected > 0)
    }

    /// Attaches the label to the dashboard; false when it was attached already.
    pub async fn attach(
        &self,
        txn: &DatabaseTransaction,
        org_id: &str,
        dashboard_id: &str,
        label_id: &str,
        now: Micros,
    ) -> Result<bool> {
        let inserted = dashboard_label::Entity::insert(dashboard_label::ActiveModel {
            org_id: Set(org_id.to_string()),
            dashboard_id: Set(dashboard_id.to_string()),
            label_id: Set(label_id.to_string()),
            create_time: Set(now),
        })
        .on_conflict(
            OnConflict::columns([
                dashboard_label::Column::OrgId,
                dashboard_label::Column::DashboardId,
                dashboard_label::Column::LabelId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
        Ok(inserted > 0)
    }

    /// Detaches the label from the dashboard; false when it was not attached.
    pub async fn detach(
        &self,
        txn: &DatabaseTransaction,
        org_id: &str,
        dashboard_id: &str,
        label_id: &str,
    ) -> Result<bool> {
        let result = dashboard_label::Entity::delete_many()
            .filter(dashboard_label::Column::OrgId.eq(org_id))
            .filter(dashboard_label::Column::DashboardId.eq(dashboard_id))
            .filter(dashboard_label::Column::LabelId.eq(label_id))
            .exec(txn)
            .await?;
        Ok(result.rows_affected > 0)
    }

    /// How many labels the dashboard carries (under the dashboard's lock: the limit).
    pub async fn count_on(
        &self,
        conn: &impl ConnectionTrait,
        org_id: &str,
        dashboard_id: &str,
    ) -> Result<u64> {
        Ok(dashboard_label::Entity::find()
            .filter(dashboard_label::Column::OrgId.eq(org_id))
            .filter(dashboard_label::Column::DashboardId.eq(dashboard_id))
            .count(conn)
            .await?)
    }

    /// The label names (`labels/{id}`) of each of the dashboards, oldest attachment first:
    /// one statement for a whole page.
    pub async fn names_on(
        &self,
        conn: &impl ConnectionTrait,
        org_id: &str,
        dashboard_ids: &[String],
    ) -> Result<HashMap<String, Vec<String>>> {
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        if dashboard_ids.is_empty() {
            return Ok(out);
        }
        let rows = dashboard_label::Entity::find()
            .filter(dashboard_label::Column::OrgId.eq(org_id))
            .filter(dashboard_label::Column::DashboardId.is_in(dashboard_ids.iter().cloned()))
            .order_by(dashboard_label::Column::CreateTime, Order::Asc)
            .order_by(dashboard_label::Column::LabelId, Order::Asc)
            .all(conn)
            .await?;
        for row in rows {
            out.entry(row.dashboard_id)
                .or_default()
                .push(format!("labels/{}", row.label_id));
        }
        Ok(out)
    }
}

/// `EXISTS (the listed dashboard carries the label)`, the label given by id or by display
/// name: the `label = ...` filter, correlated with the listing statement's column
/// `dashboard_id`.
pub(super) fn carries_label(
    org_id: &str,
    by_id: Option<&str>,
    by_name: Option<&str>,
    dashboard_id: sea_orm::sea_query::ColumnRef,
) -> SelectStatement {
    let mut q = Query::select()
        .expr(Expr::val(1))
        .from(dashboard_label::Entity)
        .and_where(Expr::col((dashboard_label::Entity, dashboard_label::Column::OrgId)).eq(org_id))
        .and_where(
            Expr::col((
                dashboard_label::Entity,
                dashboard_label::Column::DashboardId,
            ))
            .equals(dashboard_id),
        )
        .take();
    if let Some(id) = by_id {
        q.and_where(Expr::col((dashboard_label::Entity, dashboard_label::Column::LabelId)).eq(id));
    }
    if let Some(name) = by_name {
        let ids = Query::select()
            .column(label::Column::Id)
            .from(label::Entity)
            .and_where(Expr::col((label::Entity, label::Column::OrgId)).eq(org_id))
            .and_where(Expr::col((label::Entity, label::Column::DisplayName)).eq(name))
            .take();
        q.and_where(
            Expr::col((dashboard_label::Entity, dashboard_label::Column::LabelId)).in_subquery(ids),
        );
    }
    q
}

/// Detaches every label from the dashboards (a purge).
pub(super) async fn delete_all(conn: &impl ConnectionTrait, ids: &[String]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    dashboard_label::Entity::delete_many()
        .filter(dashboard_label::Column::DashboardId.is_in(ids.iter().cloned()))
        .exec(conn)
        .await?;
    Ok(())
}

fn into_domain(m: label::Model) -> Label {
    Label {
        id: m.id,
        org_id: m.org_id,
        display_name: m.display_name,
        color: m.color,
        description: m.description,
        creator_id: m.creator_id,
        revision: m.revision,
        create_time: m.create_time,
        update_time: m.update_time,
    }
}
