//! CreateWidget: a new widget on a dashboard, placed automatically when its layout gives no
//! position. A `source` widget (readable by the caller) lends its type, config and data
//! sources to the fields the request leaves unset.

use super::{LAYOUT_FIELD, WIDGET_FIELD, check_fields, key, links};
use crate::app::{App, Written};
use crate::core::authz::Permission;
use crate::core::dashboard::Limits;
use crate::core::event::{Change, EventType};
use crate::core::widget::{Widget, WidgetFields, check_content, check_widget_count, type_required};
use crate::core::{Error, Principal, Result, names, new_id};
use crate::store::widgets::stored_content_bytes;

/// The fields a WIDGET_CREATED event names: every writable one.
pub(crate) const CREATED_FIELDS: [&str; 7] = [
    "type",
    "title",
    "subtitle",
    "description",
    "layout",
    "config",
    "data_sources",
];

/// What a caller asks for; the fields are checked here.
pub struct NewWidgetRequest {
    pub dashboard_id: String,
    /// `(dashboard id, widget id)` of the widget to copy from.
    pub source: Option<(String, String)>,
    pub fields: WidgetFields,
    /// The library widget to link (its id), whose content the widget then shows.
    pub library_widget: Option<String>,
    /// The message of the dashboard version this makes (empty: none).
    pub version_message: String,
}

pub async fn create(
    app: &App,
    caller: &Principal,
    limits: &Limits,
    request: NewWidgetRequest,
) -> Result<Written<Widget>> {
    let NewWidgetRequest {
        dashboard_id,
        source,
        mut fields,
        library_widget,
        version_message,
    } = request;
    check_fields(&fields, limits)?;
    if library_widget.is_some() && source.is_some() {
        return Err(Error::invalid(
            "source_widget",
            "a widget linking a library widget takes its content from it, not from a source",
        ));
    }
    if fields.widget_type.is_none() && source.is_none() && library_widget.is_none() {
        return Err(Error::invalid_fields(vec![type_required("widget.type")]));
    }
    app.authorizer
        .dashboard(caller, &dashboard_id, Permission::ManageWidgets)
        .await?;
    links::check_readable(app, caller, library_widget.as_deref()).await?;
    let repo = app.store.widgets();
    if let Some((source_dashboard, source_id)) = source {
        // The source must be readable: NOT_FOUND otherwise, like any unreadable widget.
        app.authorizer
            .dashboard(caller, &source_dashboard, Permission::Read)
            .await?;
        let source_key = key(caller, &source_dashboard, &source_id);
        let source = repo
            .get(app.store.db(), &source_key)
            .await?
            .ok_or_else(|| Error::not_found(source_key.name()))?;
        // Explicit fields win over copied ones.
        fields.widget_type = fields.widget_type.or(Some(source.widget_type));
        if fields.config.is_none() {
            fields.config = Some(source.config);
        }
        if fields.data_sources.as_ref().is_none_or(Vec::is_empty) {
            fields.data_sources = Some(source.data_sources);
        }
        // The copy obeys today's limits too.
        check_fields(&fields, limits)?;
    }
    let (mut write, board, library) =
        links::begin(app, caller, &dashboard_id, library_widget.as_deref()).await?;
    if let Some(library) = &library {
        fields = links::lent_fields(&fields, library)?;
    }
    let widget_type = fields
        .widget_type
        .ok_or_else(|| Error::invalid_fields(vec![type_required("widget.type")]))?;
    let arrangement = repo.arrangement(write.txn(), &dashboard_id).await?;
    check_widget_count(
        arrangement.widgets.len(),
        &limits.widgets,
        &names::dashboard_name(&dashboard_id),
    )?;
    let layout = arrangement.place_new(fields.layout, LAYOUT_FIELD)?;
    let now = write.now();
    let created = Widget {
        id: new_id(),
        org_id: caller.org_id.clone(),
        dashboard_id,
        widget_type,
        title: fields.title.unwrap_or_default(),
        subtitle: fields.subtitle.unwrap_or_default(),
        description: fields.description.unwrap_or_default(),
        layout,
        config: fields.config.unwrap_or_default(),
        data_sources: fields.data_sources.unwrap_or_default(),
        revision: 1,
        create_time: now,
        update_time: now,
        library_widget_id: library.as_ref().map(|l| l.id.clone()),
    };
    let others = repo
        .content_totals(write.txn(), &created.dashboard_id, None)
        .await?;
    check_content(
        others,
        stored_content_bytes(&created)?,
        &limits.widgets,
        WIDGET_FIELD,
    )?;
    repo.insert(write.txn(), &created).await?;
    repo.touch_dashboard(write.txn(), &board, now).await?;
    write.record(
        Change::new(EventType::WidgetCreated, created.name())
            .on_dashboard(&created.dashboard_id)
            .fields(
                CREATED_FIELDS
                    .into_iter()
                    .chain(library.is_some().then_some("library_widget")),
            ),
    );
    write.version_message(&version_message);
    write.commit(created).await
}
