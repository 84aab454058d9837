//! The widgets repository.
//!
//! Every write runs in one `Store::begin_write` transaction that first locks the dashboard
//! row (`SELECT ... FOR UPDATE` on PostgreSQL; SQLite's writer lock already serializes
//! writers), then reads the dashboard's arrangement, decides with the pure rules of
//! `domain::widget`, writes, and bumps the dashboard's revision and update time. So the
//! no-overlap and widget-count rules hold under concurrent calls on both databases, and a
//! widget change always changes the dashboard's etag with it.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, Order, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};

use super::Store;
use super::entities::{dashboard, widget};
use crate::core::dashboard::etag_of;
use crate::core::widget::{
    Arrangement, DataSource, Layout, LayoutPatch, WIDGET_OVERHEAD_BYTES, Widget, WidgetFields,
    WidgetLimits, WidgetType, content_bytes,
};
use crate::core::{Error, Micros, Result, names, new_id};

/// What CreateWidget stores; the layout is resolved against the arrangement.
#[derive(Debug, Clone)]
pub struct NewWidget {
    pub org_id: String,
    pub dashboard_id: String,
    pub widget_type: WidgetType,
    pub title: String,
    pub subtitle: String,
    pub description: String,
    /// `None` (or no `x`/`y`): automatic placement.
    pub layout: Option<LayoutPatch>,
    pub config: Vec<u8>,
    pub data_sources: Vec<DataSource>,
}

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
    pub async fn get(&self, key: &WidgetKey) -> Result<Option<Widget>> {
        find_widget(self.store.db(), key)
            .await?
            .map(into_domain)
            .transpose()
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

    /// Creates a widget, placing it automatically when its layout gives no position.
    /// `layout_field` is the request path of the layout, for violations.
    pub async fn create(
        &self,
        new: NewWidget,
        limits: &WidgetLimits,
        layout_field: &str,
        now: Micros,
    ) -> Result<Widget> {
        let txn = self.store.begin_write().await?;
        let board = lock_dashboard(&*txn, &new.org_id, &new.dashboard_id).await?;
        let arrangement = arrangement(&*txn, &new.dashboard_id).await?;
        if arrangement.widgets.len() >= limits.max_widgets_per_dashboard {
            return Err(Error::failed_precondition(
                "WIDGET_LIMIT_REACHED",
                names::dashboard_name(&new.dashboard_id),
                format!(
                    "the dashboard already has {} widgets, the most one dashboard may hold \
                     (max widgets per dashboard: {})",
                    arrangement.widgets.len(),
                    limits.max_widgets_per_dashboard
                ),
            ));
        }
        let layout = arrangement.place_new(new.layout, layout_field)?;
        let sources_json = encode_sources(&new.data_sources)?;
        let adds = content_bytes(
            &new.title,
            &new.subtitle,
            &new.description,
            &new.config,
            &sources_json,
        );
        check_content(&*txn, &new.dashboard_id, None, adds, limits, "widget").await?;
        let now = Ord::max(now, board.update_time);
        let created = Widget {
            id: new_id(),
            org_id: new.org_id,
            dashboard_id: new.dashboard_id,
            widget_type: new.widget_type,
            title: new.title,
            subtitle: new.subtitle,
            description: new.description,
            layout,
            config: new.config,
            data_sources: new.data_sources,
            revision: 1,
            create_time: now,
            update_time: now,
        };
        let row = widget::ActiveModel {
            id: Set(created.id.clone()),
            org_id: Set(created.org_id.clone()),
            dashboard_id: Set(created.dashboard_id.clone()),
            widget_type: Set(created.widget_type.as_str().to_string()),
            title: Set(created.title.clone()),
            subtitle: Set(created.subtitle.clone()),
            description: Set(created.description.clone()),
            x: Set(layout.x),
            y: Set(layout.y),
            w: Set(layout.w),
            h: Set(layout.h),
            config: Set(created.config.clone()),
            data_sources: Set(sources_json),
            revision: Set(created.revision),
            create_time: Set(now),
            update_time: Set(now),
        };
        widget::Entity::insert(row)
            .exec_without_returning(&*txn)
            .await?;
        touch_dashboard(&*txn, &board, now).await?;
        txn.commit().await?;
        Ok(created)
    }

    /// Applies `fields` to a widget whose etag is `etag` (any, when empty).
    pub async fn update(
        &self,
        key: &WidgetKey,
        etag: &str,
        fields: &WidgetFields,
        limits: &WidgetLimits,
        layout_field: &str,
        now: Micros,
    ) -> Result<Widget> {
        let txn = self.store.begin_write().await?;
        let board = lock_dashboard(&*txn, &key.org_id, &key.dashboard_id).await?;
        let mut current = locked_widget(&*txn, key, etag).await?;
        let now = Ord::max(now, board.update_time);
        let mut update = widget::Entity::update_many();
        if let Some(patch) = &fields.layout {
            let layout = patch.apply(current.layout);
            arrangement(&*txn, &key.dashboard_id).await?.check(
                &layout,
                Some(&key.id),
                layout_field,
            )?;
            current.layout = layout;
            update = update
                .col_expr(widget::Column::X, Expr::val(layout.x))
                .col_expr(widget::Column::Y, Expr::val(layout.y))
                .col_expr(widget::Column::W, Expr::val(layout.w))
                .col_expr(widget::Column::H, Expr::val(layout.h));
        }
        if let Some(widget_type) = fields.widget_type {
            current.widget_type = widget_type;
            update = update.col_expr(widget::Column::WidgetType, Expr::val(widget_type.as_str()));
        }
        for (value, target, column) in [
            (&fields.title, &mut current.title, widget::Column::Title),
            (
                &fields.subtitle,
                &mut current.subtitle,
                widget::Column::Subtitle,
            ),
            (
                &fields.description,
                &mut current.description,
                widget::Column::Description,
            ),
        ] {
            if let Some(value) = value {
                target.clone_from(value);
                update = update.col_expr(column, Expr::val(value.clone()));
            }
        }
        if let Some(config) = &fields.config {
            current.config.clone_from(config);
            update = update.col_expr(widget::Column::Config, Expr::val(config.clone()));
        }
        if let Some(sources) = &fields.data_sources {
            current.data_sources.clone_from(sources);
            update = update.col_expr(
                widget::Column::DataSources,
                Expr::val(encode_sources(sources)?),
            );
        }
        let grows = fields.title.is_some()
            || fields.subtitle.is_some()
            || fields.description.is_some()
            || fields.config.is_some()
            || fields.data_sources.is_some();
        if grows {
            let adds = content_bytes(
                &current.title,
                &current.subtitle,
                &current.description,
                &current.config,
                &encode_sources(&current.data_sources)?,
            );
            let prefix = layout_field.strip_suffix(".layout").unwrap_or("widget");
            check_content(
                &*txn,
                &key.dashboard_id,
                Some(&key.id),
                adds,
                limits,
                prefix,
            )
            .await?;
        }
        current.revision += 1;
        current.update_time = now;
        update
            .col_expr(widget::Column::Revision, Expr::val(current.revision))
            .col_expr(widget::Column::UpdateTime, Expr::val(now))
            .filter(widget::Column::Id.eq(&key.id))
            .exec(&*txn)
            .await?;
        touch_dashboard(&*txn, &board, now).await?;
        txn.commit().await?;
        Ok(current)
    }

    /// Deletes a widget whose etag is `etag` (any, when empty).
    pub async fn delete(&self, key: &WidgetKey, etag: &str, now: Micros) -> Result<()> {
        let txn = self.store.begin_write().await?;
        let board = lock_dashboard(&*txn, &key.org_id, &key.dashboard_id).await?;
        locked_widget(&*txn, key, etag).await?;
        widget::Entity::delete_many()
            .filter(widget::Column::Id.eq(&key.id))
            .exec(&*txn)
            .await?;
        touch_dashboard(&*txn, &board, Ord::max(now, board.update_time)).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Moves many widgets of one dashboard at once, all or nothing; `dashboard_etag`, when
    /// not empty, must be the dashboard's current etag. Returns the moved widgets in the
    /// order of `moves` (each widget at most once: the caller checks).
    pub async fn relayout(
        &self,
        org_id: &str,
        dashboard_id: &str,
        dashboard_etag: &str,
        moves: &[LayoutMove],
        now: Micros,
    ) -> Result<Vec<Widget>> {
        let txn = self.store.begin_write().await?;
        let board = lock_dashboard(&*txn, org_id, dashboard_id).await?;
        if !dashboard_etag.is_empty() && dashboard_etag != etag_of(&board.id, board.revision) {
            return Err(Error::EtagMismatch {
                resource: names::dashboard_name(dashboard_id),
            });
        }
        let rows = widget::Entity::find()
            .filter(widget::Column::DashboardId.eq(dashboard_id))
            .all(&*txn)
            .await?;
        let mut widgets = rows
            .into_iter()
            .map(into_domain)
            .collect::<Result<Vec<_>>>()?;
        if let Some(missing) = moves
            .iter()
            .find(|m| !widgets.iter().any(|w| w.id == m.widget_id))
        {
            return Err(Error::not_found(names::widget_name(
                dashboard_id,
                &missing.widget_id,
            )));
        }
        let current = Arrangement {
            dashboard_id: dashboard_id.to_string(),
            widgets: widgets.iter().map(|w| (w.id.clone(), w.layout)).collect(),
        };
        let layouts = current.relayout(
            &moves
                .iter()
                .map(|m| (m.field.clone(), m.widget_id.clone(), m.patch))
                .collect::<Vec<_>>(),
        )?;
        let now = Ord::max(now, board.update_time);
        let mut moved = Vec::with_capacity(moves.len());
        for (m, layout) in moves.iter().zip(layouts) {
            let Some(w) = widgets.iter_mut().find(|w| w.id == m.widget_id) else {
                return Err(Error::internal("moved widget vanished"));
            };
            w.layout = layout;
            w.revision += 1;
            w.update_time = now;
            set_layout(&*txn, w).await?;
            moved.push(w.clone());
        }
        touch_dashboard(&*txn, &board, now).await?;
        txn.commit().await?;
        Ok(moved)
    }
}

/// Refuses a write that would take the dashboard's widget content past
/// `limits.max_content_bytes`: `adds` is the written widget's size, replacing widget
/// `replacing`'s. Runs under the dashboard's lock, so concurrent writes cannot both pass.
async fn check_content(
    conn: &impl ConnectionTrait,
    dashboard_id: &str,
    replacing: Option<&str>,
    adds: usize,
    limits: &WidgetLimits,
    field_prefix: &str,
) -> Result<()> {
    let mut others = widget::Entity::find()
        .select_only()
        .column_as(
            Expr::cust(
                "CAST(COALESCE(SUM(octet_length(title) + octet_length(subtitle) \
                 + octet_length(description) + octet_length(config) \
                 + octet_length(data_sources)), 0) AS BIGINT)",
            ),
            "bytes",
        )
        .column_as(widget::Column::Id.count(), "widgets")
        .filter(widget::Column::DashboardId.eq(dashboard_id));
    if let Some(id) = replacing {
        others = others.filter(widget::Column::Id.ne(id));
    }
    let (bytes, widgets): (i64, i64) = others.into_tuple().one(conn).await?.unwrap_or((0, 0));
    let total = usize::try_from(bytes).unwrap_or(usize::MAX)
        + usize::try_from(widgets).unwrap_or(usize::MAX) * WIDGET_OVERHEAD_BYTES
        + adds;
    if total > limits.max_content_bytes {
        return Err(Error::InvalidArgument {
            reason: "DASHBOARD_TOO_LARGE",
            message: format!(
                "the dashboard's widgets would hold {total} bytes, more than the {} one \
                 dashboard may hold (so that its FULL view fits MAX_MESSAGE_BYTES); make this \
                 widget smaller or move content to another dashboard",
                limits.max_content_bytes
            ),
            violations: vec![crate::core::Violation::new(
                format!("{field_prefix}.config"),
                format!(
                    "the dashboard's widget content may total at most {} bytes (would be {total})",
                    limits.max_content_bytes
                ),
            )],
        });
    }
    Ok(())
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

/// Locks the dashboard row for the rest of the transaction: NOT_FOUND when it is gone,
/// FAILED_PRECONDITION when it is in the trash.
async fn lock_dashboard(
    conn: &impl ConnectionTrait,
    org_id: &str,
    id: &str,
) -> Result<dashboard::Model> {
    let name = names::dashboard_name(id);
    let board = dashboard::Entity::find_by_id(id.to_string())
        .filter(dashboard::Column::OrgId.eq(org_id))
        .lock_exclusive()
        .one(conn)
        .await?
        .ok_or_else(|| Error::not_found(&name))?;
    if board.delete_time.is_some() {
        return Err(Error::failed_precondition(
            "DASHBOARD_DELETED",
            name,
            "the dashboard is in the trash; undelete it first",
        ));
    }
    Ok(board)
}

/// A widget of the locked dashboard, checked against the caller's etag.
async fn locked_widget(conn: &impl ConnectionTrait, key: &WidgetKey, etag: &str) -> Result<Widget> {
    let name = key.name();
    let current = find_widget(conn, key)
        .await?
        .map(into_domain)
        .transpose()?
        .ok_or_else(|| Error::not_found(&name))?;
    if !etag.is_empty() && etag != current.etag() {
        return Err(Error::EtagMismatch { resource: name });
    }
    Ok(current)
}

/// The layouts of a dashboard's widgets.
async fn arrangement(conn: &impl ConnectionTrait, dashboard_id: &str) -> Result<Arrangement> {
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

async fn set_layout(conn: &impl ConnectionTrait, w: &Widget) -> Result<()> {
    widget::Entity::update_many()
        .col_expr(widget::Column::X, Expr::val(w.layout.x))
        .col_expr(widget::Column::Y, Expr::val(w.layout.y))
        .col_expr(widget::Column::W, Expr::val(w.layout.w))
        .col_expr(widget::Column::H, Expr::val(w.layout.h))
        .col_expr(widget::Column::Revision, Expr::val(w.revision))
        .col_expr(widget::Column::UpdateTime, Expr::val(w.update_time))
        .filter(widget::Column::Id.eq(&w.id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Moves the locked dashboard's update time. Its revision (the etag) covers the dashboard's
/// own fields only: widgets have etags of their own, so a widget edit never makes an
/// etag-guarded dashboard edit fail.
async fn touch_dashboard(
    conn: &impl ConnectionTrait,
    board: &dashboard::Model,
    now: Micros,
) -> Result<()> {
    dashboard::Entity::update_many()
        .col_expr(dashboard::Column::UpdateTime, Expr::val(now))
        .filter(dashboard::Column::Id.eq(&board.id))
        .exec(conn)
        .await?;
    let touched = dashboard::Model {
        update_time: now,
        ..board.clone()
    };
    super::dashboards::copy_listing_keys(conn, &touched).await
}

fn encode_sources(sources: &[DataSource]) -> Result<String> {
    serde_json::to_string(sources).map_err(Error::internal)
}

fn into_domain(m: widget::Model) -> Result<Widget> {
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
    })
}
