//! BatchUpdateWidgetLayouts: many widgets of one dashboard move at once, all or nothing,
//! checked against the final arrangement (so swaps work). With `remove_unlisted` (InfluxDB's
//! PUT cells) the widgets not named are deleted in the same transaction, and the final
//! arrangement is checked without them. One `WIDGET_DELETED` per widget removed (in name
//! order), then one `LAYOUT_CHANGED` per widget moved, in the order of the request, all at
//! the call's revision.

use std::collections::HashSet;

use super::begin_on_dashboard;
use crate::app::{App, Written};
use crate::core::authz::Permission;
use crate::core::dashboard::Limits;
use crate::core::error::echo;
use crate::core::event::{Change, EventType};
use crate::core::widget::{Arrangement, LayoutPatch, Widget};
use crate::core::{Error, Principal, Result, Violation, names};
use crate::store::widgets::LayoutMove;

/// One entry of the request: a widget name as given, and its new layout (fields optional).
pub struct LayoutEntry {
    pub widget: String,
    pub layout: Option<LayoutPatch>,
}

/// A BatchUpdateWidgetLayouts request, parsed.
pub struct LayoutBatch<'a> {
    pub dashboard_id: &'a str,
    /// When not empty, must be the dashboard's current etag.
    pub etag: &'a str,
    pub entries: &'a [LayoutEntry],
    pub version_message: &'a str,
    /// Delete the dashboard's widgets that `entries` do not name.
    pub remove_unlisted: bool,
}

/// What a batch did: the widgets named, in the order of the entries (moved, or kept where
/// they were), and the names of those removed.
#[derive(Debug, Clone, Default)]
pub struct LayoutOutcome {
    pub widgets: Vec<Widget>,
    pub removed: Vec<String>,
}

/// Moves the widgets of the batch's dashboard named by its entries (and with
/// `remove_unlisted`, deletes the others). Needs MANAGE_WIDGETS, which DeleteWidget needs
/// too.
pub async fn batch_update_layouts(
    app: &App,
    caller: &Principal,
    limits: &Limits,
    batch: LayoutBatch<'_>,
) -> Result<Written<LayoutOutcome>> {
    let dashboard_id = batch.dashboard_id;
    let moves = layout_moves(
        dashboard_id,
        batch.entries,
        limits.widgets.max_widgets_per_dashboard,
        batch.remove_unlisted,
    )?;
    app.authorizer
        .dashboard(caller, dashboard_id, Permission::ManageWidgets)
        .await?;
    let repo = app.store.widgets();
    let (mut write, board) = begin_on_dashboard(app, caller, dashboard_id).await?;
    if !batch.etag.is_empty() && batch.etag != board.etag() {
        return Err(Error::EtagMismatch {
            resource: names::dashboard_name(dashboard_id),
        });
    }
    let mut widgets = repo.all_of(write.txn(), dashboard_id).await?;
    if let Some(missing) = moves
        .iter()
        .find(|m| !widgets.iter().any(|w| w.id == m.widget_id))
    {
        return Err(Error::not_found(names::widget_name(
            dashboard_id,
            &missing.widget_id,
        )));
    }
    let mut removed: Vec<Widget> = Vec::new();
    if batch.remove_unlisted {
        let named: HashSet<&str> = moves.iter().map(|m| m.widget_id.as_str()).collect();
        let (kept, gone): (Vec<Widget>, Vec<Widget>) = widgets
            .into_iter()
            .partition(|w| named.contains(w.id.as_str()));
        widgets = kept;
        removed = gone;
        removed.sort_by(|a, b| a.id.cmp(&b.id));
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
    let ids: Vec<String> = removed.iter().map(|w| w.id.clone()).collect();
    repo.delete_many(write.txn(), &caller.org_id, dashboard_id, &ids)
        .await?;
    for w in &removed {
        write.record(Change::new(EventType::WidgetDeleted, w.name()).on_dashboard(dashboard_id));
    }
    let now = write.now();
    let mut named = Vec::with_capacity(moves.len());
    for (m, layout) in moves.iter().zip(layouts) {
        let Some(w) = widgets.iter_mut().find(|w| w.id == m.widget_id) else {
            return Err(Error::internal("moved widget vanished"));
        };
        // An entry without a layout (allowed with remove_unlisted) keeps its widget as is.
        if !m.patch.is_empty() {
            w.layout = layout;
            w.revision += 1;
            w.update_time = now;
            repo.set_layout(write.txn(), w).await?;
            write.record(
                Change::new(EventType::LayoutChanged, w.name())
                    .on_dashboard(dashboard_id)
                    .fields(["layout"]),
            );
        }
        named.push(w.clone());
    }
    let outcome = LayoutOutcome {
        widgets: named,
        removed: removed.iter().map(Widget::name).collect(),
    };
    if outcome.removed.is_empty() && moves.iter().all(|m| m.patch.is_empty()) {
        // Nothing changed (every widget named and kept where it is): no revision.
        return write.commit(outcome).await;
    }
    repo.touch_dashboard(write.txn(), &board, now).await?;
    write.version_message(batch.version_message);
    write.commit(outcome).await
}

/// The entries of a request, checked on their own: names of widgets of `dashboard_id`,
/// each once, with a layout that sets something valid (or, with `remove_unlisted`, none:
/// the widget is kept as it is; and there may be no entries at all).
fn layout_moves(
    dashboard_id: &str,
    entries: &[LayoutEntry],
    max: usize,
    remove_unlisted: bool,
) -> Result<Vec<LayoutMove>> {
    if entries.is_empty() && !remove_unlisted {
        return Err(Error::invalid("layouts", "required: at least one entry"));
    }
    if entries.len() > max {
        return Err(Error::invalid(
            "layouts",
            format!(
                "at most {max} entries, the most widgets a dashboard holds (got {})",
                entries.len()
            ),
        ));
    }
    let mut violations = Vec::new();
    let mut seen = HashSet::new();
    let mut moves = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let widget_field = format!("layouts[{i}].widget");
        let layout_field = format!("layouts[{i}].layout");
        let widget_id = match names::parse_widget_name(&widget_field, &entry.widget) {
            Ok((d, _)) if d != dashboard_id => {
                violations.push(Violation::new(
                    &widget_field,
                    format!(
                        "{} is not a widget of {}",
                        echo(&entry.widget),
                        names::dashboard_name(dashboard_id)
                    ),
                ));
                None
            }
            Ok((_, id)) => {
                if !seen.insert(id.clone()) {
                    violations.push(Violation::new(
                        &widget_field,
                        format!("{} is named more than once", entry.widget),
                    ));
                }
                Some(id)
            }
            Err(Error::InvalidArgument { violations: v, .. }) => {
                violations.extend(v);
                None
            }
            Err(other) => return Err(other),
        };
        let patch = entry.layout.unwrap_or_default();
        if patch.is_empty() && !remove_unlisted {
            violations.push(Violation::new(
                &layout_field,
                "required: give at least one of x, y, w, h",
            ));
        }
        violations.extend(patch.violations(&layout_field));
        if let Some(widget_id) = widget_id {
            moves.push(LayoutMove {
                field: layout_field,
                widget_id,
                patch,
            });
        }
    }
    if !violations.is_empty() {
        return Err(Error::invalid_fields(violations));
    }
    Ok(moves)
}
