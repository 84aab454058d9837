//! RevokeShare: takes a share away; the caller must hold every permission of its role, and
//! the dashboard keeps an owner.

use crate::app::{App, Written};
use crate::core::authz::check_role_change;
use crate::core::{Principal, Result, names};

use super::locked::{Locked, Trash};
use super::resolve::managed;

/// `name`: `dashboards/{d}/shares/{s}`.
pub async fn revoke(app: &App, caller: &Principal, name: &str) -> Result<Written<()>> {
    let (dashboard_id, share_id) = names::parse_child_name("name", name, "shares")?;
    managed(app, caller, &dashboard_id).await?;

    let (mut write, locked) = Locked::begin(app, caller, &dashboard_id, Trash::Refuse).await?;
    let share = locked.share(&share_id)?;
    check_role_change(
        locked.access.permissions,
        None,
        Some((&share.role, locked.roles.permissions(&share.role))),
    )?;
    locked.apply(app, &mut write, caller, &[], &[share]).await?;
    write.commit(()).await
}
