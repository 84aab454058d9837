//! RevokeShare: takes a share away; the caller must hold every permission of its role, and
//! the dashboard (or folder) keeps an owner.

use crate::app::{App, Written};
use crate::core::authz::check_role_change;
use crate::core::{Principal, Result, names};

use super::locked::{Locked, Trash};
use super::resolve::managed_target;

/// `name`: `dashboards/{d}/shares/{s}` or `folders/{f}/shares/{s}`.
pub async fn revoke(app: &App, caller: &Principal, name: &str) -> Result<Written<()>> {
    let (target, share_id) = names::parse_share_name("name", name)?;
    managed_target(app, caller, &target).await?;

    let (mut write, locked) = Locked::begin(app, caller, &target, Trash::Refuse).await?;
    let share = locked.share(&share_id)?;
    check_role_change(
        locked.access.permissions,
        None,
        Some((&share.role, locked.roles.permissions(&share.role))),
    )?;
    locked.apply(app, &mut write, caller, &[], &[share]).await?;
    write.commit(()).await
}
