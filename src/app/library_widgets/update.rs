//! UpdateLibraryWidget: the fields an update mask selects, under the library widget's etag;
//! every dashboard widget linking it takes the new content in the same write.

use super::{FIELD, LibraryWidgetRepo, authorize, check_fields};
use crate::app::{App, Write, Written};
use crate::core::authz::Permission;
use crate::core::dashboard::Limits;
use crate::core::event::{Change, EventType};
use crate::core::library_widget::{LibraryWidget, content_differences, library_widget_name};
use crate::core::widget::{Widget, WidgetFields, check_content};
use crate::core::{Error, Principal, Result, check_etag};

pub struct LibraryWidgetUpdate {
    pub id: String,
    /// The library widget's etag (any, when empty).
    pub etag: String,
    pub fields: WidgetFields,
    /// The update mask's fields: the event's `changed_fields`.
    pub changed_fields: Vec<String>,
}

pub async fn update(
    app: &App,
    caller: &Principal,
    limits: &Limits,
    request: LibraryWidgetUpdate,
) -> Result<Written<LibraryWidget>> {
    let LibraryWidgetUpdate {
        id,
        etag,
        fields,
        changed_fields,
    } = request;
    check_fields(&fields, limits)?;
    if fields == WidgetFields::default() {
        return Err(Error::invalid("update_mask", "names no field to update"));
    }
    authorize(app, caller, &id, Permission::Write).await?;
    let mut write = app.write(&caller.org_id, caller.user_name()).await?;
    let mut library = locked(&write, caller, &id).await?;
    check_etag(&etag, &library.etag(), &library.name())?;
    let linked = lock_linked(app, &mut write, caller, &id).await?;
    library.apply(&fields);
    library.revision += 1;
    library.update_time = write.now();
    LibraryWidgetRepo.save(write.txn(), &library).await?;
    let repo = app.store.widgets();
    for (board, widgets) in &linked {
        let mut touched = false;
        for before in widgets {
            let mut widget = before.clone();
            library.lend_to(&mut widget);
            let changed = content_differences(before, &widget);
            if changed.is_empty() {
                continue;
            }
            widget.revision += 1;
            widget.update_time = write.now();
            repo.save(write.txn(), &widget).await?;
            write.record(
                Change::new(EventType::WidgetUpdated, widget.name())
                    .on_dashboard(&widget.dashboard_id)
                    .fields(changed),
            );
            touched = true;
        }
        if touched {
            // The dashboard's content as it now stands must fit its limit, counted as for
            // a widget edit (every widget but one as "others", the last one's bytes added).
            let mut totals = repo.content_totals(write.txn(), board.id(), None).await?;
            totals.widgets = totals.widgets.saturating_sub(1);
            check_content(totals, 0, &limits.widgets, FIELD)?;
            repo.touch_dashboard(write.txn(), board, write.now())
                .await?;
        }
    }
    write.record(
        Change::new(EventType::LibraryWidgetUpdated, library.name()).fields(changed_fields),
    );
    write.commit(library).await
}

/// The library widget locked in the write: NOT_FOUND when it has gone since the caller was
/// authorized.
pub(super) async fn locked(write: &Write, caller: &Principal, id: &str) -> Result<LibraryWidget> {
    LibraryWidgetRepo
        .lock(write.txn(), &caller.org_id, id)
        .await?
        .ok_or_else(|| Error::not_found(library_widget_name(id)))
}

/// The widgets linking library widget `id`, by dashboard, each dashboard locked (in id
/// order, after the library widget: every write that touches both takes them in this
/// order). The write's time starts no earlier than any of their update times.
pub(super) async fn lock_linked(
    app: &App,
    write: &mut Write,
    caller: &Principal,
    id: &str,
) -> Result<Vec<(crate::store::widgets::LockedDashboard, Vec<Widget>)>> {
    let repo = app.store.widgets();
    let widgets = repo.linked_to(write.txn(), &caller.org_id, id).await?;
    let mut linked: Vec<(crate::store::widgets::LockedDashboard, Vec<Widget>)> = Vec::new();
    for widget in widgets {
        if let Some((board, of_board)) = linked.last_mut()
            && board.id() == widget.dashboard_id
        {
            of_board.push(widget);
            continue;
        }
        let Some(board) = repo
            .lock_any_dashboard(write.txn(), &caller.org_id, &widget.dashboard_id)
            .await?
        else {
            continue;
        };
        write.not_before(board.update_time());
        linked.push((board, vec![widget]));
    }
    // Re-read under the locks: a widget edited between the first read and its lock.
    let mut fresh = Vec::with_capacity(linked.len());
    for (board, _) in linked {
        let widgets: Vec<Widget> = repo
            .all_of(write.txn(), board.id())
            .await?
            .into_iter()
            .filter(|w| w.library_widget_id.as_deref() == Some(id))
            .collect();
        fresh.push((board, widgets));
    }
    Ok(fresh)
}
