//! The `library_widget` of a dashboard widget: linking (CreateWidget, UpdateWidget) needs
//! READ on the library widget, which is locked before the dashboard (the order every write
//! touching both takes, see `app::library_widgets`), so the content copied in is the
//! current one and no update of the library widget can miss the new link. While linked, the
//! widget's content is the library widget's: fields that would change it are refused.

use super::{actor, begin_on_dashboard};
use crate::app::{App, Write, library_widgets};
use crate::core::authz::Permission;
use crate::core::library_widget::{
    LibraryWidget, content_differences, given_content, library_widget_name, widget_linked,
};
use crate::core::widget::{Widget, WidgetFields};
use crate::core::{Error, Principal, Result};
use crate::store::library_widgets::LibraryWidgetRepo;
use crate::store::widgets::LockedDashboard;

/// The library widget `fields` link, if any (`Some(Some(id))`).
pub(super) fn linked_id(fields: &WidgetFields) -> Option<&str> {
    fields.library_widget.as_ref()?.as_deref()
}

/// Fails fast (before the write) when the caller cannot READ the library widget to link.
pub(super) async fn check_readable(app: &App, caller: &Principal, id: Option<&str>) -> Result<()> {
    if let Some(id) = id {
        library_widgets::authorize(app, caller, id, Permission::Read).await?;
    }
    Ok(())
}

/// Begins a widget command's write: locks the library widget to link (if any), then the
/// dashboard.
pub(super) async fn begin(
    app: &App,
    caller: &Principal,
    dashboard_id: &str,
    link: Option<&str>,
) -> Result<(Write, LockedDashboard, Option<LibraryWidget>)> {
    let Some(id) = link else {
        let (write, board) = begin_on_dashboard(app, caller, dashboard_id).await?;
        return Ok((write, board, None));
    };
    let mut write = app.write(&caller.org_id, actor(caller)).await?;
    let library = LibraryWidgetRepo
        .lock(write.txn(), &caller.org_id, id)
        .await?
        .ok_or_else(|| Error::not_found(library_widget_name(id)))?;
    let board = app
        .store
        .widgets()
        .lock_dashboard(write.txn(), &caller.org_id, dashboard_id)
        .await?;
    write.not_before(board.update_time());
    Ok((write, board, Some(library)))
}

/// Applies `fields` to `widget`, link first: a new link lends the library widget's content,
/// an unlink keeps the content as the widget's own. A widget linked afterwards may not have
/// its content changed by `fields` (WIDGET_LINKED); giving the content it already has is
/// fine (a read-modify-write of the whole widget). Returns the content fields the link
/// changed.
pub(super) fn apply(
    widget: &mut Widget,
    fields: &WidgetFields,
    library: Option<&LibraryWidget>,
) -> Result<Vec<&'static str>> {
    let before = widget.clone();
    match (&fields.library_widget, library) {
        (Some(Some(_)), Some(library)) => {
            library.lend_to(widget);
            widget.library_widget_id = Some(library.id.clone());
        }
        (Some(None), _) => widget.library_widget_id = None,
        _ => {}
    }
    let lent = content_differences(&before, widget);
    let mut probe = widget.clone();
    fields.apply_to(&mut probe);
    if widget.library_widget_id.is_some() && !content_differences(widget, &probe).is_empty() {
        return Err(widget_linked(&widget.name()));
    }
    *widget = probe;
    Ok(lent)
}

/// The fields of a new widget linking `library`: its content, the request's layout. Content
/// the request gives must be the library widget's (WIDGET_LINKED otherwise).
pub(super) fn lent_fields(fields: &WidgetFields, library: &LibraryWidget) -> Result<WidgetFields> {
    let lent = WidgetFields {
        widget_type: Some(library.widget_type),
        title: Some(library.title.clone()),
        subtitle: Some(library.subtitle.clone()),
        description: Some(library.description.clone()),
        layout: fields.layout,
        config: Some(library.config.clone()),
        data_sources: Some(library.data_sources.clone()),
        library_widget: None,
    };
    let given = given_content(fields);
    let conflicts = [
        given.widget_type.is_some_and(|t| t != library.widget_type),
        given.title.as_ref().is_some_and(|t| *t != library.title),
        given
            .subtitle
            .as_ref()
            .is_some_and(|t| *t != library.subtitle),
        given
            .description
            .as_ref()
            .is_some_and(|t| *t != library.description),
        given.config.as_ref().is_some_and(|c| *c != library.config),
        given
            .data_sources
            .as_ref()
            .is_some_and(|d| *d != library.data_sources),
    ];
    if conflicts.into_iter().any(|c| c) {
        return Err(widget_linked(&library.name()));
    }
    Ok(lent)
}
