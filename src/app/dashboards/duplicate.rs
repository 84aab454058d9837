//! DuplicateDashboard: a new dashboard, owned by the caller, with the source's fields and a
//! copy of every widget, made in one write (all or nothing) and recorded as the events the
//! create paths record: DASHBOARD_CREATED, then one WIDGET_CREATED per widget in layout
//! order. Shares, public links, stars and version history stay with the source.

use crate::app::widgets::CREATED_FIELDS as WIDGET_CREATED_FIELDS;
use crate::app::{App, Written};
use crate::core::authz::Permission;
use crate::core::dashboard::{Dashboard, Limits, copy_title};
use crate::core::event::{Change, EventType};
use crate::core::widget::{Widget, check_copy};
use crate::core::{Error, Principal, Result, names, new_id};
use crate::store::dashboards::NewDashboard;
use crate::store::widgets::stored_content_bytes;

use super::create::{CREATED_FIELDS, begin_in_folder, check_may_create};

/// What a caller asks for; `title` was validated by the caller of this function.
pub struct DuplicateRequest {
    pub source_id: String,
    /// The copy's title; `None`: the source's, marked as a copy.
    pub title: Option<String>,
    pub request_id: Option<String>,
    /// The folder to put the copy in (needs WRITE on it); `None`: the root.
    pub folder_id: Option<String>,
}

pub async fn duplicate(
    app: &App,
    caller: &Principal,
    limits: &Limits,
    request: DuplicateRequest,
) -> Result<Written<Dashboard>> {
    let DuplicateRequest {
        source_id,
        title,
        request_id,
        folder_id,
    } = request;
    // Cannot READ the source: NOT_FOUND, before anything else says it exists.
    app.authorizer
        .dashboard(caller, &source_id, Permission::Read)
        .await?;
    check_may_create(caller)?;
    if folder_id.is_some() {
        crate::app::folders::authorize_destination(app, caller, folder_id.as_deref(), "folder")
            .await?;
    }
    // The copy's fields come from the source as read under its lock below; the request id
    // (what an earlier copy is found by) needs only the caller.
    let mut new = NewDashboard {
        org_id: caller.org_id.clone(),
        tenant_id: caller.tenant_id.clone(),
        creator_id: caller.user_id.clone(),
        request_id,
        title: String::new(),
        description: String::new(),
        metadata: Vec::new(),
        refresh_period_nanos: None,
        folder_id,
    };
    let repo = app.store.dashboards();
    // A retry returns the first copy, as CreateDashboard does (same key space).
    if let Some(existing) = repo.find_by_request_id(app.store.db(), &new).await? {
        return Ok(Written::unchanged(existing));
    }
    let mut write = begin_in_folder(app, caller, new.folder_id.as_deref()).await?;
    // Again under the writer lock: on SQLite a concurrent retry may have won.
    if let Some(existing) = repo.find_by_request_id(write.txn(), &new).await? {
        return Ok(Written::unchanged(existing));
    }
    // The source's lock keeps its widgets still while they are copied: the copy is one
    // state of the source, never half of two.
    let source = repo
        .lock(write.txn(), &caller.org_id, &source_id)
        .await?
        .ok_or_else(|| Error::not_found(names::dashboard_name(&source_id)))?;
    if source.is_deleted() {
        return Err(Error::dashboard_deleted(source.name()));
    }
    let widgets_repo = app.store.widgets();
    let mut widgets = widgets_repo.all_of(write.txn(), &source_id).await?;
    widgets.sort_by(|a, b| (a.layout.y, a.layout.x, &a.id).cmp(&(b.layout.y, b.layout.x, &b.id)));
    let mut content = 0usize;
    for widget in &widgets {
        content = content.saturating_add(stored_content_bytes(widget)?);
    }
    // The copy obeys today's limits, which may be lower than when the source was written.
    check_copy(widgets.len(), content, &limits.widgets, &source.name())?;

    new.title = title.unwrap_or_else(|| copy_title(&source.title, limits.max_title_chars));
    new.description = source.description;
    new.metadata = source.metadata;
    new.refresh_period_nanos = source.refresh_period_nanos;
    let Some(created) = repo.create(write.txn(), &new, write.now()).await? else {
        // A concurrent retry won on PostgreSQL: its copy, read outside our rolled-back
        // transaction.
        drop(write);
        let existing = repo
            .find_by_request_id(app.store.db(), &new)
            .await?
            .ok_or_else(|| Error::internal("idempotent duplicate lost its winner"))?;
        return Ok(Written::unchanged(existing));
    };
    let now = write.now();
    let copies: Vec<Widget> = widgets
        .into_iter()
        .map(|w| Widget {
            id: new_id(),
            org_id: created.org_id.clone(),
            dashboard_id: created.id.clone(),
            revision: 1,
            create_time: now,
            update_time: now,
            ..w
        })
        .collect();
    widgets_repo.insert_many(write.txn(), &copies).await?;
    // The source's labels, in the order they were attached.
    let labels = app.store.labels();
    let attached = labels
        .names_on(
            write.txn(),
            &caller.org_id,
            std::slice::from_ref(&source_id),
        )
        .await?
        .remove(&source_id)
        .unwrap_or_default();
    let mut copied_labels = Vec::with_capacity(attached.len());
    for label in attached {
        let label_id = label.trim_start_matches("labels/");
        labels
            .attach(write.txn(), &caller.org_id, &created.id, label_id, now)
            .await?;
        copied_labels.push(label);
    }
    write.record(
        Change::new(EventType::DashboardCreated, created.name())
            .on_dashboard(&created.id)
            .fields(CREATED_FIELDS),
    );
    for copy in &copies {
        write.record(
            Change::new(EventType::WidgetCreated, copy.name())
                .on_dashboard(&created.id)
                .fields(WIDGET_CREATED_FIELDS),
        );
    }
    for label in copied_labels {
        write.record(Change::new(EventType::LabelAdded, label).on_dashboard(&created.id));
    }
    write.commit(created).await
}
