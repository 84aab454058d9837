//! UpdateWidget: the fields an update mask selects, under the widget's etag.

use super::{LAYOUT_FIELD, WIDGET_FIELD, check_fields, current_widget, key, links};
use crate::app::{App, Written};
use crate::core::authz::Permission;
use crate::core::dashboard::Limits;
use crate::core::event::{Change, EventType};
use crate::core::widget::{Widget, WidgetFields, check_content};
use crate::core::{Error, Principal, Result};
use crate::store::widgets::stored_content_bytes;

/// What a caller asks for; the fields are checked here.
pub struct WidgetUpdate {
    pub dashboard_id: String,
    pub id: String,
    /// The widget's etag (any, when empty).
    pub etag: String,
    pub fields: WidgetFields,
    /// The update mask's fields (`title`, `layout.x`, ...): the event's `changed_fields`.
    pub changed_fields: Vec<String>,
    /// The message of the dashboard version this makes (empty: none).
    pub version_message: String,
}

pub async fn update(
    app: &App,
    caller: &Principal,
    limits: &Limits,
    request: WidgetUpdate,
) -> Result<Written<Widget>> {
    let WidgetUpdate {
        dashboard_id,
        id,
        etag,
        fields,
        mut changed_fields,
        version_message,
    } = request;
    check_fields(&fields, limits)?;
    if fields == WidgetFields::default() {
        return Err(Error::invalid("update_mask", "names no field to update"));
    }
    app.authorizer
        .dashboard(caller, &dashboard_id, Permission::ManageWidgets)
        .await?;
    let link = links::linked_id(&fields).map(str::to_string);
    let key = key(caller, &dashboard_id, &id);
    let repo = app.store.widgets();
    let (mut write, board, library) =
        links::begin(app, caller, &dashboard_id, link.as_deref()).await?;
    let mut widget = current_widget(app, write.txn(), &key, &etag).await?;
    // Linking needs READ on the library widget; keeping the link it has does not.
    if link.is_some() && widget.library_widget_id != link {
        links::check_readable(app, caller, link.as_deref()).await?;
    }
    let lent = links::apply(&mut widget, &fields, library.as_ref())?;
    for field in lent {
        if !changed_fields.iter().any(|f| f == field) {
            changed_fields.push(field.to_string());
        }
    }
    if fields.layout.is_some() {
        repo.arrangement(write.txn(), &dashboard_id).await?.check(
            &widget.layout,
            Some(&key.id),
            LAYOUT_FIELD,
        )?;
    }
    if fields.changes_content() || library.is_some() {
        let others = repo
            .content_totals(write.txn(), &dashboard_id, Some(&key.id))
            .await?;
        check_content(
            others,
            stored_content_bytes(&widget)?,
            &limits.widgets,
            WIDGET_FIELD,
        )?;
    }
    widget.revision += 1;
    widget.update_time = write.now();
    repo.save(write.txn(), &widget).await?;
    if fields.library_widget.is_some() {
        repo.set_link(write.txn(), &widget).await?;
    }
    repo.touch_dashboard(write.txn(), &board, write.now())
        .await?;
    write.record(
        Change::new(EventType::WidgetUpdated, key.name())
            .on_dashboard(&dashboard_id)
            .fields(changed_fields),
    );
    write.version_message(&version_message);
    write.commit(widget).await
}
