//! TransferOwnership: makes another user an owner and keeps the caller's direct share at a
//! lower role. Only a holder of every permission (an owner) may.

use crate::app::{App, Written};
use crate::core::authz::{
    Access, BuiltinRole, GranteeKind, PermissionSet, ShareUpsert, check_share_limit,
};
use crate::core::dashboard::Limits;
use crate::core::directory::User;
use crate::core::{Error, Principal, Result, names};

use super::locked::{Locked, Trash};
use super::members::owners;
use super::resolve::{UserRef, managed_target, resolve_role, resolve_user};

pub struct TransferRequest {
    /// `dashboards/{id}` or `folders/{id}`.
    pub name: String,
    /// `users/{id}`.
    pub new_owner: String,
    /// The caller's role afterwards; empty means `roles/editor`.
    pub previous_owner_role: String,
}

/// The dashboard's (or folder's) owners after the transfer.
pub async fn transfer_ownership(
    app: &App,
    caller: &Principal,
    limits: &Limits,
    request: TransferRequest,
) -> Result<Written<Vec<User>>> {
    let target = names::parse_share_target("name", &request.name)?;
    let access = managed_target(app, caller, &target).await?;
    owner_required(&access)?;
    let new_owner =
        resolve_user(app, caller, UserRef::Name(&request.new_owner), "new_owner").await?;
    if new_owner.id == caller.user_id {
        return Err(Error::invalid(
            "new_owner",
            "the caller cannot transfer ownership to itself",
        ));
    }
    let keep = match request.previous_owner_role.as_str() {
        "" => "roles/editor",
        role => role,
    };
    let keep = resolve_role(app, &caller.org_id, keep, "previous_owner_role").await?;

    let (mut write, locked) = Locked::begin(app, caller, &target, Trash::Refuse).await?;
    owner_required(&locked.access)?;
    let mut upserts = vec![ShareUpsert {
        kind: GranteeKind::User,
        grantee_id: new_owner.id.clone(),
        role: BuiltinRole::Owner.name().to_string(),
        expire_time: None,
    }];
    if locked
        .shares
        .iter()
        .any(|g| g.kind == GranteeKind::User && g.grantee_id == caller.user_id)
    {
        upserts.push(ShareUpsert {
            kind: GranteeKind::User,
            grantee_id: caller.user_id.clone(),
            role: keep.name,
            expire_time: None,
        });
    }
    check_share_limit(
        &locked.shares,
        &upserts,
        limits.max_shares_per_dashboard,
        &target,
    )?;
    locked.apply(app, &mut write, caller, &upserts, &[]).await?;
    let written = write.commit(()).await?;
    let owners = owners(app, caller, &target).await?;
    Ok(written.map(|()| owners))
}

fn owner_required(access: &Access) -> Result<()> {
    if access.permissions != PermissionSet::ALL {
        return Err(Error::permission_denied(
            "OWNER_REQUIRED",
            "only a holder of every permission (an owner) can transfer ownership",
        ));
    }
    Ok(())
}
