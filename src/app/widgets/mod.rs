//! Widget commands and queries. Every command authorizes the caller on the dashboard,
//! then runs in one [`crate::app::Write`]: it locks the dashboard row, reads what its
//! decision needs on the write's transaction, decides with the pure rules of
//! `core::widget`, writes, moves the dashboard's update time and records its events
//! (resource `dashboards/D/widgets/W`, on dashboard `D`):
//!
//! - CreateWidget: one `WIDGET_CREATED` naming every writable field;
//! - UpdateWidget: one `WIDGET_UPDATED` whose `changed_fields` are the update mask's fields;
//! - DeleteWidget: one `WIDGET_DELETED`;
//! - BatchUpdateWidgetLayouts: one `LAYOUT_CHANGED` per widget moved (`changed_fields`:
//!   `layout`), all at the call's one revision, in the order of the request; with
//!   `remove_unlisted`, first one `WIDGET_DELETED` per widget not named.

mod create;
mod delete;
mod layouts;
mod links;
mod queries;
mod update;

pub(crate) use create::CREATED_FIELDS;
pub use create::{NewWidgetRequest, create};
pub use delete::delete;
pub use layouts::{LayoutBatch, LayoutEntry, LayoutOutcome, batch_update_layouts};
pub use queries::{WidgetPage, WidgetPageRequest, get, list};
pub use update::{WidgetUpdate, update};

use sea_orm::ConnectionTrait;

use crate::app::{App, Write};
use crate::core::dashboard::Limits;
use crate::core::widget::{Widget, WidgetFields};
use crate::core::{Error, Principal, Result, names};
use crate::store::widgets::{LockedDashboard, WidgetKey};

/// The request path of a CreateWidget/UpdateWidget widget, and of its layout.
const WIDGET_FIELD: &str = "widget";
const LAYOUT_FIELD: &str = "widget.layout";

/// The caller as the change log names it.
fn actor(caller: &Principal) -> String {
    names::user_name(&caller.user_id)
}

/// Begins a widget command's write and locks its dashboard's row, the root every decision
/// of the command is made under (NOT_FOUND, or DASHBOARD_DELETED in the trash); the caller
/// was authorized for MANAGE_WIDGETS before. The write's time starts no earlier than the
/// dashboard's update time, so touching the dashboard never moves it backwards.
async fn begin_on_dashboard(
    app: &App,
    caller: &Principal,
    dashboard_id: &str,
) -> Result<(Write, LockedDashboard)> {
    let mut write = app.write(&caller.org_id, actor(caller)).await?;
    let board = app
        .store
        .widgets()
        .lock_dashboard(write.txn(), &caller.org_id, dashboard_id)
        .await?;
    write.not_before(board.update_time());
    Ok((write, board))
}

/// The key of widget `id` of `dashboard_id` in the caller's org.
fn key(caller: &Principal, dashboard_id: &str, id: &str) -> WidgetKey {
    WidgetKey {
        org_id: caller.org_id.clone(),
        dashboard_id: dashboard_id.to_string(),
        id: id.to_string(),
    }
}

/// Every given field within the limits.
fn check_fields(fields: &WidgetFields, limits: &Limits) -> Result<()> {
    let violations = fields.validate(WIDGET_FIELD, limits);
    if violations.is_empty() {
        Ok(())
    } else {
        Err(Error::invalid_fields(violations))
    }
}

/// The widget, checked against the caller's etag (any, when empty): NOT_FOUND when it is
/// not there, ABORTED when the etag is stale.
async fn current_widget(
    app: &App,
    conn: &impl ConnectionTrait,
    key: &WidgetKey,
    etag: &str,
) -> Result<Widget> {
    let name = key.name();
    let current = app
        .store
        .widgets()
        .get(conn, key)
        .await?
        .ok_or_else(|| Error::not_found(&name))?;
    if !etag.is_empty() && etag != current.etag() {
        return Err(Error::EtagMismatch { resource: name });
    }
    Ok(current)
}
