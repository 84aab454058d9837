//! RestoreDashboardVersion: the dashboard's content becomes that of an older version, as a
//! new version on top (later versions stay; lightdash#5237). Decided under the dashboard's
//! lock: its fields are set, widgets added since are deleted, widgets changed since are put
//! back, and widgets deleted since come back with their old ids. The write path then
//! records the new version, whose content equals the restored one.

use std::collections::BTreeMap;

use super::read::load;
use crate::app::dashboards::begin_on_dashboard;
use crate::app::{App, Written};
use crate::core::authz::Permission;
use crate::core::dashboard::{Dashboard, DashboardFields};
use crate::core::event::{Change, EventType};
use crate::core::version::StoredWidget;
use crate::core::{Error, Principal, Result, check_etag, names};
use crate::store::widgets::WidgetKey;

pub async fn restore(
    app: &App,
    caller: &Principal,
    dashboard_id: &str,
    version: i64,
    etag: &str,
    version_message: &str,
) -> Result<Written<Dashboard>> {
    let resource = names::dashboard_name(dashboard_id);
    app.authorizer
        .dashboard(caller, dashboard_id, Permission::ManageWidgets)
        .await?;
    let (mut write, current) =
        begin_on_dashboard(app, caller, dashboard_id, Permission::Write).await?;
    if current.is_deleted() {
        return Err(Error::dashboard_deleted(current.name()));
    }
    check_etag(etag, &current.etag(), &resource)?;
    let target = load(app, &caller.org_id, dashboard_id, version).await?;
    let now = write.now();

    let fields = DashboardFields {
        title: Some(target.fields.title.clone()),
        description: Some(target.fields.description.clone()),
        metadata: Some(target.fields.metadata.clone()),
        refresh_period_nanos: Some(target.fields.refresh_period_nanos),
    };
    let restored = app
        .store
        .dashboards()
        .update(
            write.txn(),
            &caller.org_id,
            dashboard_id,
            None,
            &fields,
            now,
        )
        .await?
        .ok_or_else(|| Error::internal("a locked dashboard changed under its lock"))?;

    let repo = app.store.widgets();
    let live: BTreeMap<String, _> = repo
        .all_of(write.txn(), dashboard_id)
        .await?
        .into_iter()
        .map(|w| (w.id.clone(), w))
        .collect();
    let key = |id: &str| WidgetKey {
        org_id: caller.org_id.clone(),
        dashboard_id: dashboard_id.to_string(),
        id: id.to_string(),
    };
    let mut changes = Vec::new();
    // Widgets added since go first, so the restored layout never meets them.
    for id in live.keys() {
        if !target.widgets.iter().any(|w| &w.id == id) {
            repo.delete(write.txn(), &key(id)).await?;
            changes.push(Change::new(EventType::WidgetDeleted, key(id).name()));
        }
    }
    for old in &target.widgets {
        let mut widget = old
            .content
            .to_widget(&caller.org_id, dashboard_id, &old.id, old.layout);
        widget.update_time = now;
        match live.get(&old.id) {
            Some(current) => {
                let mut fields = StoredWidget::of(current).changed_fields(&old.content);
                if current.layout != old.layout {
                    fields.push("layout");
                }
                if fields.is_empty() {
                    continue;
                }
                widget.revision = current.revision + 1;
                repo.save(write.txn(), &widget).await?;
                // Versions keep content, not links: a linked widget given back other content
                // than its library widget's is unlinked (the restored content is its own).
                if current.library_widget_id.is_some() && fields.iter().any(|f| *f != "layout") {
                    repo.set_link(write.txn(), &widget).await?;
                    fields.push("library_widget");
                }
                changes.push(Change::new(EventType::WidgetUpdated, widget.name()).fields(fields));
            }
            None => {
                // A fresh revision: an etag the widget had before its deletion must not
                // match the widget that comes back.
                widget.revision = now.max(1);
                repo.insert(write.txn(), &widget).await?;
                changes.push(Change::new(EventType::WidgetCreated, widget.name()));
            }
        }
    }
    for change in changes {
        write.record(change.on_dashboard(dashboard_id));
    }
    write.record(
        Change::new(EventType::DashboardRestored, restored.name())
            .on_dashboard(dashboard_id)
            .fields(
                target
                    .fields
                    .changed_fields(&crate::core::version::StoredFields::of(&current)),
            ),
    );
    write.restored_from(version);
    write.version_message(version_message);
    write.commit(restored).await
}
