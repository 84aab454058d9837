//! RevokeShare: takes a share away; the caller must hold every permission of its role, and
//! the dashboard keeps an owner.

use crate::app::{App, Written};
use crate::core::authz::{Permission, check_role_change};
use crate::core::{Principal, Result, names};

use super::locked::{Locked, Trash, subjects};
use super::resolve::managed;

/// `name`: `dashboards/{d}/shares/{s}`.
pub async fn revoke(app: &App, caller: &Principal, name: &str) -> Result<Written<()>> {
    let (dashboard_id, share_id) = names::parse_child_name("name", name, "shares")?;
    managed(app, caller, &dashboard_id).await?;
    let subjects = subjects(app, caller).await?;

    let mut write = app
        .write(&caller.org_id, names::user_name(&caller.user_id))
        .await?;
    let locked = Locked::acquire(
        app,
        &write,
        caller,
        &subjects,
        &dashboard_id,
        Permission::Share,
        Trash::Refuse,
    )
    .await?;
    let share = locked.share(&share_id)?;
    check_role_change(
        locked.access.permissions,
        None,
        Some((&share.role, locked.roles.permissions(&share.role))),
    )?;
    locked.apply(app, &mut write, caller, &[], &[share]).await?;
    write.commit(()).await
}
