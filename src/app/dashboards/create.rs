//! CreateDashboard: the caller becomes the owner; a retry with the same `request_id`
//! returns the first dashboard and changes nothing.

use crate::app::{App, Written};
use crate::core::authz::may_create_dashboards;
use crate::core::dashboard::Dashboard;
use crate::core::event::{Change, EventType};
use crate::core::{Error, Principal, Result, names};
use crate::store::dashboards::NewDashboard;

/// The fields a DASHBOARD_CREATED event names: every writable one.
pub(super) const CREATED_FIELDS: [&str; 4] = ["title", "description", "metadata", "refresh_period"];

/// What a caller asks for; validated by the caller of this function.
pub struct NewDashboardFields {
    pub request_id: Option<String>,
    pub title: String,
    pub description: String,
    pub metadata: Vec<u8>,
    pub refresh_period_nanos: Option<i64>,
}

pub async fn create(
    app: &App,
    caller: &Principal,
    fields: NewDashboardFields,
) -> Result<Written<Dashboard>> {
    check_may_create(caller)?;
    let new = NewDashboard {
        org_id: caller.org_id.clone(),
        tenant_id: caller.tenant_id.clone(),
        creator_id: caller.user_id.clone(),
        request_id: fields.request_id,
        title: fields.title,
        description: fields.description,
        metadata: fields.metadata,
        refresh_period_nanos: fields.refresh_period_nanos,
        folder_id: None,
    };
    let repo = app.store.dashboards();
    if let Some(existing) = repo.find_by_request_id(app.store.db(), &new).await? {
        return Ok(Written::unchanged(existing));
    }
    let mut write = app
        .write(&caller.org_id, names::user_name(&caller.user_id))
        .await?;
    // Again under the writer lock: on SQLite a concurrent retry may have won.
    if let Some(existing) = repo.find_by_request_id(write.txn(), &new).await? {
        return Ok(Written::unchanged(existing));
    }
    let Some(created) = repo.create(write.txn(), &new, write.now()).await? else {
        // A concurrent retry won on PostgreSQL: its dashboard, read outside our rolled-back
        // transaction.
        drop(write);
        let existing = repo
            .find_by_request_id(app.store.db(), &new)
            .await?
            .ok_or_else(|| Error::internal("idempotent create lost its winner"))?;
        return Ok(Written::unchanged(existing));
    };
    write.record(
        Change::new(EventType::DashboardCreated, created.name())
            .on_dashboard(&created.id)
            .fields(CREATED_FIELDS),
    );
    write.commit(created).await
}

/// PERMISSION_DENIED `ROLE_CANNOT_CREATE` for a platform role that may not create
/// dashboards (VIEWER).
pub(super) fn check_may_create(caller: &Principal) -> Result<()> {
    if may_create_dashboards(caller.role) {
        Ok(())
    } else {
        Err(Error::permission_denied(
            "ROLE_CANNOT_CREATE",
            format!("role {} cannot create dashboards", caller.role),
        ))
    }
}
