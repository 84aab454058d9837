//! UpdateDashboard: the fields a mask names, decided under the dashboard's lock.

use crate::app::{App, Written};
use crate::core::authz::Permission;
use crate::core::dashboard::{Dashboard, DashboardFields};
use crate::core::event::{Change, EventType};
use crate::core::{Error, Principal, Result};
use crate::store::folder_writes::place_dashboard;

use super::{begin_on_dashboard, changed_under_lock, check_etag};

/// What UpdateDashboard changes.
pub struct Update<'a> {
    /// Empty: whatever is current.
    pub etag: &'a str,
    pub fields: &'a DashboardFields,
    /// `Some`: stop (false) or restore (true) the inheritance of its folders' shares; needs
    /// SHARE, as it changes who has access.
    pub inherit_access: Option<bool>,
    pub version_message: &'a str,
}

pub async fn update(
    app: &App,
    caller: &Principal,
    id: &str,
    update: Update<'_>,
) -> Result<Written<Dashboard>> {
    let Update {
        etag,
        fields,
        inherit_access,
        version_message,
    } = update;
    let content = *fields != DashboardFields::default();
    if inherit_access.is_some() {
        app.authorizer
            .dashboard(caller, id, Permission::Share)
            .await?;
    }
    let needed = if content {
        Permission::Write
    } else {
        Permission::Share
    };
    let (mut write, current) = begin_on_dashboard(app, caller, id, needed).await?;
    if current.is_deleted() {
        return Err(Error::dashboard_deleted(current.name()));
    }
    check_etag(etag, &current)?;
    let repo = app.store.dashboards();
    let mut updated = current.clone();
    let mut names = fields.names();
    if content {
        updated = repo
            .update(write.txn(), &caller.org_id, id, None, fields, write.now())
            .await?
            .ok_or_else(changed_under_lock)?;
    }
    if let Some(inherit) = inherit_access.filter(|i| *i != current.inherit_access) {
        place_dashboard(
            write.txn(),
            &caller.org_id,
            id,
            None,
            Some(inherit),
            write.now(),
        )
        .await?;
        updated = repo
            .get_in(write.txn(), &caller.org_id, id)
            .await?
            .ok_or_else(changed_under_lock)?;
        names.push("inherit_access");
    }
    if names.is_empty() {
        drop(write);
        return Ok(Written::unchanged(updated));
    }
    write.record(
        Change::new(EventType::DashboardUpdated, updated.name())
            .on_dashboard(id)
            .fields(names),
    );
    write.version_message(version_message);
    write.commit(updated).await
}
