//! Dashboard commands and queries.

mod create;
mod read;
mod trash;
mod update;

pub use create::{NewDashboardFields, create};
pub use read::{ListRequest, batch_get, data_sources, get, list, with_public_state};
pub use trash::{delete, purge_expired, undelete};
pub use update::update;

use super::{App, Write};
use crate::core::dashboard::Dashboard;
use crate::core::{Error, Result, names};

/// The dashboard, locked for the rest of `write` (the root row its decisions are made
/// under). NOT_FOUND if it vanished since the caller was authorized.
async fn locked(app: &App, write: &Write, id: &str) -> Result<Dashboard> {
    app.store
        .dashboards()
        .lock(write.txn(), write.org_id(), id)
        .await?
        .ok_or_else(|| Error::not_found(names::dashboard_name(id)))
}

/// An etag sent by the caller must be the current one (none sent: the write applies to
/// whatever is current).
fn check_etag(given: &str, current: &Dashboard) -> Result<()> {
    if !given.is_empty() && given != current.etag() {
        return Err(Error::EtagMismatch {
            resource: current.name(),
        });
    }
    Ok(())
}

pub fn dashboard_deleted(resource: &str) -> Error {
    Error::failed_precondition(
        "DASHBOARD_DELETED",
        resource,
        "the dashboard is in the trash; undelete it first",
    )
}
