//! ShareDashboard: gives a grantee a role on a dashboard or a folder, or changes the role or
//! expiry of its share.

use crate::app::{App, Written};
use crate::core::authz::{Grant, ShareUpsert};
use crate::core::dashboard::Limits;
use crate::core::{Error, Micros, Principal, Result, names};

use super::locked::{Locked, Trash};
use super::resolve::{GranteeRef, future_expiry, managed_target, resolve_grantee, resolve_role};

pub struct ShareRequest {
    /// `dashboards/{id}` or `folders/{id}`.
    pub name: String,
    pub grantee: Option<GranteeRef>,
    pub role: String,
    pub expire_time: Option<Micros>,
}

/// The share as it is after the call; unchanged (no revision) when the grantee already had
/// that role and expiry.
pub async fn share(
    app: &App,
    caller: &Principal,
    limits: &Limits,
    request: ShareRequest,
) -> Result<Written<Grant>> {
    let target = names::parse_share_target("name", &request.name)?;
    managed_target(app, caller, &target).await?;
    let role = resolve_role(app, &caller.org_id, &request.role, "role").await?;
    let (kind, grantee_id) =
        resolve_grantee(app, caller, request.grantee.as_ref(), "grantee").await?;
    let expire_time = future_expiry(request.expire_time, "expire_time")?;

    let (mut write, locked) = Locked::begin(app, caller, &target, Trash::Refuse).await?;
    let upsert = ShareUpsert {
        kind,
        grantee_id,
        role: role.name,
        expire_time,
    };
    let share = locked
        .grant(
            app,
            &mut write,
            caller,
            limits.max_shares_per_dashboard,
            &[(upsert, role.permissions)],
        )
        .await?
        .pop()
        .ok_or_else(|| Error::internal("share not returned"))?;
    write.commit(share).await
}
