//! InviteToDashboard: shares with many users (by email) and groups at once; every entry is
//! validated first and nothing is applied unless all are valid.

use crate::app::{App, Written};
use crate::core::authz::{Grant, GranteeKind, PermissionSet, ShareTarget, ShareUpsert};
use crate::core::dashboard::Limits;
use crate::core::{Error, Micros, Principal, Result, Violation, names};

use super::locked::{Locked, Trash};
use super::resolve::{
    GranteeRef, UserRef, future_expiry, managed, resolve_grantee, resolve_role, resolve_user,
};

pub const MAX_INVITES: usize = 1_000;

pub struct InviteRequest {
    /// `dashboards/{id}`.
    pub name: String,
    pub entries: Vec<InviteEntry>,
    pub expire_time: Option<Micros>,
}

/// One invitation; `field` names it in errors (`users[0]`, `groups[1]`).
pub struct InviteEntry {
    pub field: String,
    pub target: InviteTarget,
    pub role: String,
}

pub enum InviteTarget {
    Email(String),
    /// `groups/{id}`.
    Group(String),
}

pub async fn invite(
    app: &App,
    caller: &Principal,
    limits: &Limits,
    request: InviteRequest,
) -> Result<Written<Vec<Grant>>> {
    let id = names::parse_dashboard_name("name", &request.name)?;
    managed(app, caller, &id).await?;
    if request.entries.is_empty() {
        return Err(Error::invalid("users", "invite at least one user or group"));
    }
    if request.entries.len() > MAX_INVITES {
        return Err(Error::invalid(
            "users",
            format!("at most {MAX_INVITES} invitations per call"),
        ));
    }
    let expire_time = future_expiry(request.expire_time, "expire_time")?;
    let upserts = resolve_entries(app, caller, &request.entries, expire_time).await?;

    let (mut write, locked) = Locked::begin(
        app,
        caller,
        &ShareTarget::Dashboard(id.clone()),
        Trash::Refuse,
    )
    .await?;
    let shares = locked
        .grant(
            app,
            &mut write,
            caller,
            limits.max_shares_per_dashboard,
            &upserts,
        )
        .await?;
    write.commit(shares).await
}

/// Every entry as a share to make, with its role's permissions; all violations at once.
async fn resolve_entries(
    app: &App,
    caller: &Principal,
    entries: &[InviteEntry],
    expire_time: Option<Micros>,
) -> Result<Vec<(ShareUpsert, PermissionSet)>> {
    let mut violations = Vec::new();
    let mut upserts: Vec<(ShareUpsert, PermissionSet)> = Vec::new();
    for entry in entries {
        let field = &entry.field;
        let grantee = match &entry.target {
            InviteTarget::Email(email) => resolve_user(
                app,
                caller,
                UserRef::Email(email),
                &format!("{field}.email"),
            )
            .await
            .map(|u| (GranteeKind::User, u.id)),
            InviteTarget::Group(group) => {
                let g = GranteeRef::Group(group.clone());
                resolve_grantee(app, caller, Some(&g), field)
                    .await
                    .map_err(|e| match e {
                        Error::InvalidArgument { .. } => {
                            Error::invalid(format!("{field}.id"), "unknown group")
                        }
                        other => other,
                    })
            }
        };
        let role = resolve_role(app, &caller.org_id, &entry.role, &format!("{field}.role")).await;
        match (grantee, role) {
            (Ok((kind, grantee_id)), Ok(role)) => {
                if upserts
                    .iter()
                    .any(|(u, _)| u.kind == kind && u.grantee_id == grantee_id)
                {
                    violations.push(Violation::new(field.clone(), "invited twice"));
                } else {
                    upserts.push((
                        ShareUpsert {
                            kind,
                            grantee_id,
                            role: role.name,
                            expire_time,
                        },
                        role.permissions,
                    ));
                }
            }
            (a, b) => {
                for err in [a.err(), b.err()].into_iter().flatten() {
                    match err {
                        Error::InvalidArgument { violations: v, .. } => violations.extend(v),
                        other => return Err(other),
                    }
                }
            }
        }
    }
    if violations.is_empty() {
        Ok(upserts)
    } else {
        Err(Error::invalid_fields(violations))
    }
}
