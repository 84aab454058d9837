//! The links of dashboard widgets to library widgets (`widgets.library_widget_id`). A linked
//! widget's content columns hold a copy of its library widget's content, rewritten (through
//! [`WidgetRepo::save`]) in the same transaction as every change of the library widget, so
//! every read of a widget shows the library widget's content without a join.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, Order, QueryFilter, QueryOrder,
};

use super::{LockedDashboard, WidgetRepo, into_domain};
use crate::core::Result;
use crate::core::widget::Widget;
use crate::store::entities::widget;

impl WidgetRepo {
    /// Every widget of the org that links library widget `library_widget_id`, by dashboard
    /// then widget id.
    pub async fn linked_to(
        &self,
        conn: &impl ConnectionTrait,
        org_id: &str,
        library_widget_id: &str,
    ) -> Result<Vec<Widget>> {
        let rows = widget::Entity::find()
            .filter(widget::Column::OrgId.eq(org_id))
            .filter(widget::Column::LibraryWidgetId.eq(library_widget_id))
            .order_by(widget::Column::DashboardId, Order::Asc)
            .order_by(widget::Column::Id, Order::Asc)
            .all(conn)
            .await?;
        rows.into_iter().map(into_domain).collect()
    }

    /// Stores `w`'s link (and its revision and update time).
    pub async fn set_link(&self, txn: &DatabaseTransaction, w: &Widget) -> Result<()> {
        widget::Entity::update_many()
            .col_expr(
                widget::Column::LibraryWidgetId,
                Expr::val(w.library_widget_id.clone()),
            )
            .col_expr(widget::Column::Revision, Expr::val(w.revision))
            .col_expr(widget::Column::UpdateTime, Expr::val(w.update_time))
            .filter(widget::Column::Id.eq(&w.id))
            .filter(widget::Column::DashboardId.eq(&w.dashboard_id))
            .exec(txn)
            .await?;
        Ok(())
    }

    /// Locks a dashboard row for the rest of the write, in the trash or not (a library
    /// widget's change reaches its links on trashed dashboards too, so an undelete shows the
    /// current content); `None` when it is gone.
    pub async fn lock_any_dashboard(
        &self,
        txn: &DatabaseTransaction,
        org_id: &str,
        id: &str,
    ) -> Result<Option<LockedDashboard>> {
        Ok(crate::store::dashboards::lock_row(txn, org_id, id)
            .await?
            .map(|row| LockedDashboard { row }))
    }
}
