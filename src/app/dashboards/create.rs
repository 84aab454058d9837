//! CreateDashboard: the caller becomes the owner; a retry with the same `request_id`
//! returns the first dashboard and changes nothing.

use crate::app::{App, Write, Written, folders};
use crate::core::authz::may_create_dashboards;
use crate::core::dashboard::Dashboard;
use crate::core::event::{Change, EventType};
use crate::core::{Error, Principal, Result, names};
use crate::store::dashboards::NewDashboard;
use crate::store::folder_writes::place_dashboard;

/// The fields a DASHBOARD_CREATED event names: every writable one.
pub(super) const CREATED_FIELDS: [&str; 4] = ["title", "description", "metadata", "refresh_period"];

/// What a caller asks for; validated by the caller of this function.
pub struct NewDashboardFields {
    pub request_id: Option<String>,
    pub title: String,
    pub description: String,
    pub metadata: Vec<u8>,
    pub refresh_period_nanos: Option<i64>,
    /// The folder to create it in (needs WRITE on it); `None`: the root.
    pub folder_id: Option<String>,
    /// False: created stopping the inheritance of its folders' shares.
    pub inherit_access: bool,
}

pub async fn create(
    app: &App,
    caller: &Principal,
    fields: NewDashboardFields,
) -> Result<Written<Dashboard>> {
    check_may_create(caller)?;
    let folder_id = fields.folder_id;
    if folder_id.is_some() {
        folders::authorize_destination(app, caller, folder_id.as_deref(), "dashboard.folder")
            .await?;
    }
    let new = NewDashboard {
        org_id: caller.org_id.clone(),
        tenant_id: caller.tenant_id.clone(),
        creator_id: caller.user_id.clone(),
        request_id: fields.request_id,
        title: fields.title,
        description: fields.description,
        metadata: fields.metadata,
        refresh_period_nanos: fields.refresh_period_nanos,
        folder_id,
    };
    let repo = app.store.dashboards();
    if let Some(existing) = repo.find_by_request_id(app.store.db(), &new).await? {
        return Ok(Written::unchanged(existing));
    }
    let mut write = begin_in_folder(app, caller, new.folder_id.as_deref()).await?;
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
    let created = if fields.inherit_access {
        created
    } else {
        // Created private: the row is new in this write, nobody else sees it yet.
        place_dashboard(
            write.txn(),
            &caller.org_id,
            &created.id,
            None,
            Some(false),
            write.now(),
        )
        .await?;
        repo.get_in(write.txn(), &caller.org_id, &created.id)
            .await?
            .ok_or_else(|| Error::internal("created dashboard vanished"))?
    };
    write.record(
        Change::new(EventType::DashboardCreated, created.name())
            .on_dashboard(&created.id)
            .fields(CREATED_FIELDS),
    );
    write.commit(created).await
}

/// Begins the write of a dashboard placed in `folder_id`: in a folder, under the org's
/// tree lock, with the folder checked live (it may have gone to the trash since the caller
/// was authorized); at the root, a plain write.
pub(super) async fn begin_in_folder(
    app: &App,
    caller: &Principal,
    folder_id: Option<&str>,
) -> Result<Write> {
    match folder_id {
        None => {
            app.write(&caller.org_id, names::user_name(&caller.user_id))
                .await
        }
        Some(_) => {
            let write = folders::begin_structure(app, caller).await?;
            folders::live_chain(app, write.txn(), caller, folder_id).await?;
            Ok(write)
        }
    }
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
