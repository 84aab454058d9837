//! Dashboard commands and queries.

mod create;
mod duplicate;
mod label_filter;
mod labels;
mod list_page;
mod listing_facts;
mod moves;
mod read;
mod stars;
mod trash;
mod update;

pub use create::{NewDashboardFields, create};
pub use duplicate::{DuplicateRequest, duplicate};
pub use labels::{add_label, remove_label};
pub use list_page::{ListedPage, MAX_FULL_PAGE_SIZE, list_page, page_size_for};
pub use listing_facts::ListingFactsCache;
pub use moves::{MovedDashboard, move_dashboard};
pub use read::{batch_get, data_sources, get, list_ids, rows_of, with_caller_state};
pub use stars::{star, unstar};
pub use trash::{delete, purge_expired, undelete};
pub use update::{Update, update};

use super::{App, Write};
use crate::core::authz::Permission;
use crate::core::dashboard::Dashboard;
use crate::core::{Error, Principal, Result, names};

/// Authorizes `caller` for `needed` on the dashboard, begins the write and locks the
/// dashboard's row for it: the root row every decision of the command is made under.
/// NOT_FOUND if it vanished since the caller was authorized.
pub(crate) async fn begin_on_dashboard(
    app: &App,
    caller: &Principal,
    id: &str,
    needed: Permission,
) -> Result<(Write, Dashboard)> {
    app.authorizer.fresh().dashboard(caller, id, needed).await?;
    let mut write = app
        .write(&caller.org_id, names::user_name(&caller.user_id))
        .await?;
    let current = app
        .store
        .dashboards()
        .lock(write.txn(), &caller.org_id, id)
        .await?
        .ok_or_else(|| Error::not_found(names::dashboard_name(id)))?;
    // A write never moves the dashboard's time backwards.
    write.not_before(current.update_time);
    Ok((write, current))
}

/// A conditional statement found nothing to change although the row is locked.
fn changed_under_lock() -> Error {
    Error::internal("a locked dashboard changed under its lock")
}

/// An etag sent by the caller must be the current one (none sent: the write applies to
/// whatever is current).
fn check_etag(given: &str, current: &Dashboard) -> Result<()> {
    crate::core::check_etag(given, &current.etag(), &current.name())
}
