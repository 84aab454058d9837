//! UpdateDashboard: the fields a mask names, decided under the dashboard's lock.

use crate::app::{App, Written};
use crate::core::authz::Permission;
use crate::core::dashboard::{Dashboard, DashboardFields};
use crate::core::event::{Change, EventType};
use crate::core::{Error, Principal, Result};

use super::{begin_on_dashboard, changed_under_lock, check_etag};

pub async fn update(
    app: &App,
    caller: &Principal,
    id: &str,
    etag: &str,
    fields: &DashboardFields,
    version_message: &str,
) -> Result<Written<Dashboard>> {
    let (mut write, current) = begin_on_dashboard(app, caller, id, Permission::Write).await?;
    if current.is_deleted() {
        return Err(Error::dashboard_deleted(current.name()));
    }
    check_etag(etag, &current)?;
    let updated = app
        .store
        .dashboards()
        .update(write.txn(), &caller.org_id, id, None, fields, write.now())
        .await?
        .ok_or_else(changed_under_lock)?;
    write.record(
        Change::new(EventType::DashboardUpdated, updated.name())
            .on_dashboard(id)
            .fields(fields.names()),
    );
    write.version_message(version_message);
    write.commit(updated).await
}
