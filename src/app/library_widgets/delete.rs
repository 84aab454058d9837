//! DeleteLibraryWidget: refused while dashboard widgets link it, unless `force`: then each
//! linked widget keeps its copy of the content and loses the link, in the same write.

use super::update::{lock_linked, locked};
use super::{LibraryWidgetRepo, authorize};
use crate::app::{App, Written};
use crate::core::authz::Permission;
use crate::core::event::{Change, EventType};
use crate::core::library_widget::in_use;
use crate::core::{Principal, Result, check_etag};

pub async fn delete(
    app: &App,
    caller: &Principal,
    id: &str,
    etag: &str,
    force: bool,
) -> Result<Written<()>> {
    authorize(app, caller, id, Permission::Delete).await?;
    let mut write = app.write(&caller.org_id, caller.user_name()).await?;
    let library = locked(&write, caller, id).await?;
    check_etag(etag, &library.etag(), &library.name())?;
    let linked = lock_linked(app, &mut write, caller, id).await?;
    let links: usize = linked.iter().map(|(_, widgets)| widgets.len()).sum();
    if links > 0 && !force {
        return Err(in_use(&library.name(), links));
    }
    let repo = app.store.widgets();
    for (board, widgets) in &linked {
        for widget in widgets {
            let mut unlinked = widget.clone();
            unlinked.library_widget_id = None;
            unlinked.revision += 1;
            unlinked.update_time = write.now();
            repo.set_link(write.txn(), &unlinked).await?;
            write.record(
                Change::new(EventType::WidgetUpdated, unlinked.name())
                    .on_dashboard(&unlinked.dashboard_id)
                    .fields(["library_widget"]),
            );
        }
        repo.touch_dashboard(write.txn(), board, write.now())
            .await?;
    }
    LibraryWidgetRepo
        .delete(write.txn(), &caller.org_id, id)
        .await?;
    write.record(Change::new(EventType::LibraryWidgetDeleted, library.name()));
    write.commit(()).await
}
