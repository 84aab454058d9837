//! DeleteWidget, under the widget's etag.

use super::{begin_on_dashboard, current_widget, key};
use crate::app::{App, Written};
use crate::core::Principal;
use crate::core::Result;
use crate::core::authz::Permission;
use crate::core::event::{Change, EventType};

/// Deletes widget `id` of `dashboard_id` whose etag is `etag` (any, when empty).
pub async fn delete(
    app: &App,
    caller: &Principal,
    dashboard_id: &str,
    id: &str,
    etag: &str,
    version_message: &str,
) -> Result<Written<()>> {
    app.authorizer
        .dashboard(caller, dashboard_id, Permission::ManageWidgets)
        .await?;
    let key = key(caller, dashboard_id, id);
    let repo = app.store.widgets();
    let (mut write, board) = begin_on_dashboard(app, caller, dashboard_id).await?;
    current_widget(app, write.txn(), &key, etag).await?;
    repo.delete(write.txn(), &key).await?;
    repo.touch_dashboard(write.txn(), &board, write.now())
        .await?;
    write.record(Change::new(EventType::WidgetDeleted, key.name()).on_dashboard(dashboard_id));
    write.version_message(version_message);
    write.commit(()).await
}
