//! UpdateDashboard: the fields a mask names, decided under the dashboard's lock.

use crate::app::{App, Written};
use crate::core::authz::Permission;
use crate::core::dashboard::{Dashboard, DashboardFields};
use crate::core::event::{Change, EventType};
use crate::core::{Error, Principal, Result, names};

use super::{check_etag, dashboard_deleted, locked};

pub async fn update(
    app: &App,
    caller: &Principal,
    id: &str,
    etag: &str,
    fields: &DashboardFields,
) -> Result<Written<Dashboard>> {
    app.authorizer
        .dashboard(caller, id, Permission::Write)
        .await?;
    let mut write = app
        .write(&caller.org_id, names::user_name(&caller.user_id))
        .await?;
    let current = locked(app, &write, id).await?;
    if current.is_deleted() {
        return Err(dashboard_deleted(&current.name()));
    }
    check_etag(etag, &current)?;
    write.not_before(current.update_time);
    let updated = app
        .store
        .dashboards()
        .update(write.txn(), &caller.org_id, id, None, fields, write.now())
        .await?
        .ok_or_else(|| Error::internal("a locked dashboard changed under its lock"))?;
    write.record(
        Change::new(EventType::DashboardUpdated, updated.name())
            .on_dashboard(id)
            .fields(fields.names()),
    );
    write.commit(updated).await
}
