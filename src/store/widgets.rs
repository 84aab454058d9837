//! The widgets repository: the only writer of the widgets table.
//!
//! Writes take the transaction of the caller's `app::Write` and never open their own. The
//! caller first locks the dashboard row ([`WidgetRepo::lock_dashboard`]), then reads what
//! its decision needs (the arrangement, the content totals) on the same transaction,
//! decides with the pure rules of `core::widget`, writes, and moves the dashboard's update
//! time. So the no-overlap, widget-count and size rules hold under concurrent calls on both
//! databases.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait,
    Order, QueryFilter, QueryOrder, QuerySelect, UpdateMany,
};
use serde::{Deserialize, Serialize};

use super::Store;
use super::entities::{dashboard, widget};
use crate::core::dashboard::etag_of;
use crate::core::widget::{
    Arrangement, ContentTotals, DataSource, Layout, LayoutPatch, Widget, WidgetType, content_bytes,
};
use crate::core::{Error, Micros, Result, names};

/// The sum of [`content_bytes`] (without the overhead) over the widgets selected.
const CONTENT_BYTES_SQL: &str = "CAST(COALESCE(SUM(octet_length(title) \
    + octet_length(subtitle) + octet_length(description) + octet_length(config) \
    + octet_length(data_sources)), 0) AS BIGINT)";
mod links;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WidgetOrder {
    /// By `(y, x, id)`: top to bottom, then left to right.
    Layout,
    /// By `(create_time, id)`.
    CreateTime { descending: bool },
}

/// The position after the last row of a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WidgetCursor {
    Position { y: i32, x: i32 },
    CreateTime(i64),
}

impl WidgetOrder {
    pub fn cursor_of(self, w: &Widget) -> WidgetCursor {
        match self {
            Self::Layout => WidgetCursor::Position {
                y: w.layout.y,
                x: w.layout.x,
            },
            Self::CreateTime { .. } => WidgetCursor::CreateTime(w.create_time),
        }
    }
}

#[derive(Debug, Clone)]
pub struct WidgetListQuery {
    pub org_id: String,
    pub dashboard_id: String,
    pub order: WidgetOrder,
    /// Must match `order` (the caller checks).
    pub after: Option<(WidgetCursor, String)>,
    pub limit: u64,
}

/// The new layout of one widget in a batch.
#[derive(Debug, Clone)]
pub struct LayoutMove {
    /// The request path of the layout, for violations (e.g. `layouts[2].layout`).
    pub field: String,
    pub widget_id: String,
    pub patch: LayoutPatch,
}

/// Which widget: ids of its org, dashboard and itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WidgetKey {
    pub org_id: String,
    pub dashboard_id: String,
    pub id: String,
}

impl WidgetKey {
    pub fn name(&self) -> String {
        names::widget_name(&self.dashboard_id, &self.id)
    }
}

#[derive(Clone)]
pub struct WidgetRepo {
    store: Store,
}

impl WidgetRepo {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// The widget, if it exists (in its dashboard and org).
    pub async fn get(
        &self,
        conn: &impl ConnectionTrait,
        key: &WidgetKey,
    ) -> Result<Option<Widget>> {
        find_widget(conn, key).await?.map(into_domain).transpose()
    }

    /// One page of a dashboard's widgets.
    pub async fn list(&self, query: &WidgetListQuery) -> Result<Vec<Widget>> {
        let mut condition = Condition::all()
            .add(widget::Column::OrgId.eq(&query.org_id))
            .add(widget::Column::DashboardId.eq(&query.dashboard_id));
        let col = |c: widget::Column| Expr::col((widget::Entity, c));
        let id = col(widget::Column::Id);
        let mut select = widget::Entity::find();
        match query.order {
            WidgetOrder::Layout => {
                if let Some((WidgetCursor::Position { y, x }, last)) = &query.after {
                    let (ycol, xcol) = (col(widget::Column::Y), col(widget::Column::X));
                    condition = condition.add(
                        ycol.clone().gt(*y).or(ycol.eq(*y).and(
                            xcol.clone()
                                .gt(*x)
                                .or(xcol.eq(*x).and(id.clone().gt(last.clone()))),
                        )),
                    );
                }
                select = select
                    .order_by(widget::Column::Y, Order::Asc)
                    .order_by(widget::Column::X, Order::Asc)
                    .order_by(widget::Column::Id, Order::Asc);
            }
            WidgetOrder::CreateTime { descending } => {
                if let Some((WidgetCursor::CreateTime(t), last)) = &query.after {
                    let tcol = col(widget::Column::CreateTime);
                    condition = condition.add(if descending {
                        tcol.clone()
                            .lt(*t)
                            .or(tcol.eq(*t).and(id.clone().lt(last.clone())))
                    } else {
                        tcol.clone()
                            .gt(*t)
                            .or(tcol.eq(*t).and(id.clone().gt(last.clone())))
                    });
                }
                let order = if descending { Order::Desc } else { Order::Asc };
                select = select
                    .order_by(widget::Column::CreateTime, order.clone())
                    .order_by(widget::Column::Id, order);
            }
        }
        let rows = select
            .filter(condition)
            .limit(query.limit)
            .all(self.store.db())
            .await?;
        rows.into_iter().map(into_domain).collect()
    }

    /// Every widget of the given dashboards, each dashboard's in layout order.
    pub async fn of_dashboards(
        &self,
        org_id: &str,
        dashboard_ids: &[String],
    ) -> Result<Vec<Widget>> {
        if dashboard_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = widget::Entity::find()
            .filter(widget::Column::OrgId.eq(org_id))
            .filter(widget::Column::DashboardId.is_in(dashboard_ids.iter().cloned()))
            .order_by(widget::Column::DashboardId, Order::Asc)
            .order_by(widget::Column::Y, Order::Asc)
            .order_by(widget::Column::X, Order::Asc)
            .order_by(widget::Column::Id, Order::Asc)
            .all(self.store.db())
            .await?;
        rows.into_iter().map(into_domain).collect()
    }

    /// Locks the dashboard row for the rest of the write (`SELECT ... FOR UPDATE` on
    /// PostgreSQL; SQLite's writer lock already serializes writers): NOT_FOUND when it is
    /// gone, FAILED_PRECONDITION when it is in the trash.
    pub async fn lock_dashboard(
        &self,
        txn: &DatabaseTransaction,
        org_id: &str,
        id: &str,
    ) -> Result<LockedDashboard> {
        let name = names::dashboard_name(id);
        let row = super::dashboards::lock_row(txn, org_id, id)
            .await?
            .ok_or_else(|| Error::not_found(&name))?;
        if row.delete_time.is_some() {
            return Err(Error::dashboard_deleted(name));
        }
        Ok(LockedDashboard { row })
    }

    /// The layouts of a dashboard's widgets.
    pub async fn arrangement(
        &self,
        conn: &impl ConnectionTrait,
        dashboard_id: &str,
    ) -> Result<Arrangement> {
        let rows: Vec<(String, i32, i32, i32, i32)> = widget::Entity::find()
            .select_only()
            .column(widget::Column::Id)
            .column(widget::Column::X)
            .column(widget::Column::Y)
            .column(widget::Column::W)
            .column(widget::Column::H)
            .filter(widget::Column::DashboardId.eq(dashboard_id))
            .into_tuple()
            .all(conn)
            .await?;
        Ok(Arrangement {
            dashboard_id: dashboard_id.to_string(),
            widgets: rows
                .into_iter()
                .map(|(id, x, y, w, h)| (id, Layout { x, y, w, h }))
                .collect(),
        })
    }

    /// Every widget of one dashboard, in no particular order.
    pub async fn all_of(
        &self,
        conn: &impl ConnectionTrait,
        dashboard_id: &str,
    ) -> Result<Vec<Widget>> {
        let rows = widget::Entity::find()
            .filter(widget::Column::DashboardId.eq(dashboard_id))
            .all(conn)
            .await?;
        rows.into_iter().map(into_domain).collect()
    }

    /// The stored content of a dashboard's widgets other than `except`, as
    /// [`content_bytes`] counts it (without the per-widget overhead).
    pub async fn content_totals(
        &self,
        conn: &impl ConnectionTrait,
        dashboard_id: &str,
        except: Option<&str>,
    ) -> Result<ContentTotals> {
        let mut others = widget::Entity::find()
            .select_only()
            .column_as(Expr::cust(CONTENT_BYTES_SQL), "bytes")
            .column_as(widget::Column::Id.count(), "widgets")
            .filter(widget::Column::DashboardId.eq(dashboard_id));
        if let Some(id) = except {
            others = others.filter(widget::Column::Id.ne(id));
        }
        let (bytes, widgets): (i64, i64) = others.into_tuple().one(conn).await?.unwrap_or((0, 0));
        Ok(ContentTotals { bytes, widgets })
    }

    /// [`Self::content_totals`] of several dashboards at once (one statement), by
    /// dashboard id; a dashboard without widgets is absent.
    pub async fn content_totals_of(
        &self,
        org_id: &str,
        dashboard_ids: &[String],
    ) -> Result<std::collections::HashMap<String, ContentTotals>> {
        if dashboard_ids.is_empty() {
            return Ok(Default::default());
        }
        let rows: Vec<(String, i64, i64)> = widget::Entity::find()
            .select_only()
            .column(widget::Column::DashboardId)
            .column_as(Expr::cust(CONTENT_BYTES_SQL), "bytes")
            .column_as(widget::Column::Id.count(), "widgets")
            .filter(widget::Column::OrgId.eq(org_id))
            .filter(widget::Column::DashboardId.is_in(dashboard_ids.iter().cloned()))
            .group_by(widget::Column::DashboardId)
            .into_tuple()
            .all(self.store.db())
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, bytes, widgets)| (id, ContentTotals { bytes, widgets }))
            .collect())
    }

    /// Inserts a new widget.
    pub async fn insert(&self, txn: &DatabaseTransaction, w: &Widget) -> Result<()> {
        widget::Entity::insert(active(w)?)
            .exec_without_returning(txn)
            .await?;
        Ok(())
    }

    /// Inserts new widgets, a few statements of many rows each (a copied dashboard's 200
    /// widgets in 4 round trips, not 200).
    pub async fn insert_many(&self, txn: &DatabaseTransaction, widgets: &[Widget]) -> Result<()> {
        // 50 rows of 16 columns stay under SQLite's oldest bound-parameter limit (999).
        const ROWS_PER_STATEMENT: usize = 50;
        for chunk in widgets.chunks(ROWS_PER_STATEMENT) {
            let rows = chunk.iter().map(active).collect::<Result<Vec<_>>>()?;
            widget::Entity::insert_many(rows)
                .exec_without_returning(txn)
                .await?;
        }
        Ok(())
    }

    /// Stores every caller-writable field of `w`, its revision and update time.
    pub async fn save(&self, txn: &DatabaseTransaction, w: &Widget) -> Result<()> {
        layout_update(w)
            .col_expr(
                widget::Column::WidgetType,
                Expr::val(w.widget_type.as_str()),
            )
            .col_expr(widget::Column::Title, Expr::val(w.title.clone()))
            .col_expr(widget::Column::Subtitle, Expr::val(w.subtitle.clone()))
            .col_expr(
                widget::Column::Description,
                Expr::val(w.description.clone()),
            )
            .col_expr(widget::Column::Config, Expr::val(w.config.clone()))
            .col_expr(
                widget::Column::DataSources,
                Expr::val(encode_sources(&w.data_sources)?),
            )
            .exec(txn)
            .await?;
        Ok(())
    }

    /// Stores `w`'s layout, revision and update time.
    pub async fn set_layout(&self, txn: &DatabaseTransaction, w: &Widget) -> Result<()> {
        layout_update(w).exec(txn).await?;
        Ok(())
    }

    /// Deletes a widget.
    pub async fn delete(&self, txn: &DatabaseTransaction, key: &WidgetKey) -> Result<()> {
        super::comments::delete_of_widget(txn, &key.org_id, &key.dashboard_id, &key.id).await?;
        widget::Entity::delete_many()
            .filter(widget::Column::Id.eq(&key.id))
            .filter(widget::Column::OrgId.eq(&key.org_id))
            .filter(widget::Column::DashboardId.eq(&key.dashboard_id))
            .exec(txn)
            .await?;
        Ok(())
    }

    /// Deletes the widgets `ids` of one dashboard (one statement).
    pub async fn delete_many(
        &self,
        txn: &DatabaseTransaction,
        org_id: &str,
        dashboard_id: &str,
        ids: &[String],
    ) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        widget::Entity::delete_many()
            .filter(widget::Column::OrgId.eq(org_id))
            .filter(widget::Column::DashboardId.eq(dashboard_id))
            .filter(widget::Column::Id.is_in(ids.iter().cloned()))
            .exec(txn)
            .await?;
        Ok(())
    }

    /// Moves the locked dashboard's update time. Its revision (the etag) covers the
    /// dashboard's own fields only: widgets have etags of their own, so a widget edit never
    /// makes an etag-guarded dashboard edit fail.
    pub async fn touch_dashboard(
        &self,
        txn: &DatabaseTransaction,
        board: &LockedDashboard,
        now: Micros,
    ) -> Result<()> {
        dashboard::Entity::update_many()
            .col_expr(dashboard::Column::UpdateTime, Expr::val(now))
            .filter(dashboard::Column::Id.eq(&board.row.id))
            .exec(txn)
            .await?;
        let touched = dashboard::Model {
            update_time: now,
            ..board.row.clone()
        };
        super::dashboards::copy_listing_keys(txn, &touched, super::dashboards::KeysChanged::TIME)
            .await
    }
}

/// The row that stores `w`.
fn active(w: &Widget) -> Result<widget::ActiveModel> {
    Ok(widget::ActiveModel {
        id: Set(w.id.clone()),
        org_id: Set(w.org_id.clone()),
        dashboard_id: Set(w.dashboard_id.clone()),
        widget_type: Set(w.widget_type.as_str().to_string()),
        title: Set(w.title.clone()),
        subtitle: Set(w.subtitle.clone()),
        description: Set(w.description.clone()),
        x: Set(w.layout.x),
        y: Set(w.layout.y),
        w: Set(w.layout.w),
        h: Set(w.layout.h),
        config: Set(w.config.clone()),
        data_sources: Set(encode_sources(&w.data_sources)?),
        revision: Set(w.revision),
        create_time: Set(w.create_time),
        update_time: Set(w.update_time),
        library_widget_id: Set(w.library_widget_id.clone()),
    })
}

/// The update of `w`'s row that stores its layout, revision and update time: all of
/// [`WidgetRepo::set_layout`], and the part of [`WidgetRepo::save`] every edit shares.
fn layout_update(w: &Widget) -> UpdateMany<widget::Entity> {
    widget::Entity::update_many()
        .col_expr(widget::Column::X, Expr::val(w.layout.x))
        .col_expr(widget::Column::Y, Expr::val(w.layout.y))
        .col_expr(widget::Column::W, Expr::val(w.layout.w))
        .col_expr(widget::Column::H, Expr::val(w.layout.h))
        .col_expr(widget::Column::Revision, Expr::val(w.revision))
        .col_expr(widget::Column::UpdateTime, Expr::val(w.update_time))
        .filter(widget::Column::Id.eq(&w.id))
        .filter(widget::Column::DashboardId.eq(&w.dashboard_id))
}

/// A dashboard row locked by [`WidgetRepo::lock_dashboard`] for the rest of its write.
#[derive(Debug, Clone)]
pub struct LockedDashboard {
    row: dashboard::Model,
}

impl LockedDashboard {
    pub fn id(&self) -> &str {
        &self.row.id
    }

    /// The dashboard's etag (its own fields; see [`WidgetRepo::touch_dashboard`]).
    pub fn etag(&self) -> String {
        etag_of(&self.row.id, self.row.revision)
    }

    pub fn update_time(&self) -> Micros {
        self.row.update_time
    }
}

/// A widget's share of its dashboard's content, with its data sources in their stored form
/// (what [`WidgetRepo::content_totals`] sums).
pub fn stored_content_bytes(w: &Widget) -> Result<usize> {
    Ok(content_bytes(
        &w.title,
        &w.subtitle,
        &w.description,
        &w.config,
        &encode_sources(&w.data_sources)?,
    ))
}

async fn find_widget(
    conn: &impl ConnectionTrait,
    key: &WidgetKey,
) -> Result<Option<widget::Model>> {
    Ok(widget::Entity::find_by_id(key.id.clone())
        .filter(widget::Column::OrgId.eq(&key.org_id))
        .filter(widget::Column::DashboardId.eq(&key.dashboard_id))
        .one(conn)
        .await?)
}

fn encode_sources(sources: &[DataSource]) -> Result<String> {
    serde_json::to_string(sources).map_err(Error::internal)
}

pub(super) fn into_domain(m: widget::Model) -> Result<Widget> {
    let widget_type = WidgetType::parse(&m.widget_type).ok_or_else(|| {
        Error::internal(format!(
            "widget {} has an unknown stored type {:?}",
            m.id, m.widget_type
        ))
    })?;
    let data_sources: Vec<DataSource> = if m.data_sources.is_empty() {
        Vec::new()
    } else {
        serde_json::from_str(&m.data_sources).map_err(|e| {
            Error::internal(format!("widget {} has unreadable data sources: {e}", m.id))
        })?
    };
    Ok(Widget {
        id: m.id,
        org_id: m.org_id,
        dashboard_id: m.dashboard_id,
        widget_type,
        title: m.title,
        subtitle: m.subtitle,
        description: m.description,
        layout: Layout {
            x: m.x,
            y: m.y,
            w: m.w,
            h: m.h,
        },
        config: m.config,
        data_sources,
        revision: m.revision,
        create_time: m.create_time,
        update_time: m.update_time,
        library_widget_id: m.library_widget_id,
    })
}
