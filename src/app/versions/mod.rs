//! Dashboard history (DESIGN §7): listing versions, reading one whole, diffing two, and
//! restoring one as a new version. Versions are recorded by the write path itself
//! (`app::write`), so no command can forget one.
//!
//! Who may read history: READ on a live dashboard; on a trashed one, whoever may undelete
//! it (DELETE). Restoring needs WRITE and MANAGE_WIDGETS.

mod read;
mod restore;
mod retention;

pub use read::{VersionPage, diff, get, list};
pub use restore::restore;
pub use retention::{Retention, prune_expired};

use crate::app::App;
use crate::core::authz::{Permission, authorize};
use crate::core::dashboard::Dashboard;
use crate::core::{Principal, Result, names};

/// The dashboard, if the caller may read its history.
async fn authorize_history(app: &App, caller: &Principal, dashboard_id: &str) -> Result<Dashboard> {
    let (dashboard, access) = app
        .authorizer
        .dashboard(caller, dashboard_id, Permission::Read)
        .await?;
    if dashboard.is_deleted() {
        authorize(
            &access,
            Permission::Delete,
            &names::dashboard_name(dashboard_id),
        )?;
    }
    Ok(dashboard)
}
