//! The rules for changing access, apart from the handlers that apply them. Every function
//! here is pure: the command reads its inputs under the dashboard's lock and decides here.

use super::{Grant, GranteeKind, PermissionSet, ShareTarget};
use crate::core::event::EventType;
use crate::core::{Error, Micros, Principal, Result};

/// A share to create or replace (matched on dashboard + grantee).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareUpsert {
    pub kind: GranteeKind,
    pub grantee_id: String,
    pub role: String,
    pub expire_time: Option<Micros>,
}

impl ShareUpsert {
    /// The existing share of the same grantee, if any.
    pub fn previous<'a>(&self, existing: &'a [Grant]) -> Option<&'a Grant> {
        existing
            .iter()
            .find(|g| g.kind == self.kind && g.grantee_id == self.grantee_id)
    }

    /// What applying it to `previous` records: a new share, a changed one, or nothing (the
    /// same role and expiry again).
    pub fn event(&self, previous: Option<&Grant>) -> Option<EventType> {
        match previous {
            None => Some(EventType::ShareGranted),
            Some(g) if g.role == self.role && g.expire_time == self.expire_time => None,
            Some(_) => Some(EventType::ShareChanged),
        }
    }
}

/// The kind of thing a share sits on, for messages.
fn noun(target: &ShareTarget) -> &'static str {
    match target {
        ShareTarget::Dashboard(_) => "dashboard",
        ShareTarget::Folder(_) => "folder",
        ShareTarget::LibraryWidget(_) => "library widget",
    }
}

/// Fails when applying `upserts` to `existing` would pass the share limit of `target` (a
/// dashboard or a folder: the same limit).
pub fn check_share_limit(
    existing: &[Grant],
    upserts: &[ShareUpsert],
    max_shares: usize,
    target: &ShareTarget,
) -> Result<()> {
    let added = upserts
        .iter()
        .filter(|u| u.previous(existing).is_none())
        .count();
    if existing.len() + added > max_shares {
        return Err(Error::failed_precondition(
            "SHARE_LIMIT_REACHED",
            target.name(),
            format!("a {} has at most {max_shares} shares", noun(target)),
        ));
    }
    Ok(())
}

/// A dashboard or folder that has an owner keeps at least one: fails with `LAST_OWNER` when
/// revoking `revoked` (share ids) and applying `upserts` to `existing` would leave none.
pub fn check_keeps_owner(
    existing: &[Grant],
    upserts: &[ShareUpsert],
    revoked: &[String],
    now: Micros,
    target: &ShareTarget,
) -> Result<()> {
    let is_owner = |kind: GranteeKind, role: &str, expire: Option<Micros>| {
        kind == GranteeKind::User
            && role == super::BuiltinRole::Owner.name()
            && expire.is_none_or(|t| t > now)
    };
    let before = existing
        .iter()
        .filter(|g| is_owner(g.kind, &g.role, g.expire_time))
        .count();
    let kept = existing
        .iter()
        .filter(|g| !revoked.contains(&g.id))
        .filter(|g| {
            upserts
                .iter()
                .all(|u| u.previous(std::slice::from_ref(g)).is_none())
        })
        .filter(|g| is_owner(g.kind, &g.role, g.expire_time))
        .count();
    let made = upserts
        .iter()
        .filter(|u| is_owner(u.kind, &u.role, u.expire_time))
        .count();
    if before > 0 && kept + made == 0 {
        return Err(Error::failed_precondition(
            "LAST_OWNER",
            target.name(),
            format!(
                "a {} must keep at least one owner; make someone else owner first",
                noun(target)
            ),
        ));
    }
    Ok(())
}

/// A caller may give, change or take away a role only when it holds every permission of
/// that role (and of the role being replaced). So only holders of every permission may
/// make owners, and a contributor cannot demote an owner.
pub fn check_role_change(
    granter: PermissionSet,
    new_role: Option<(&str, PermissionSet)>,
    old_role: Option<(&str, PermissionSet)>,
) -> Result<()> {
    for (name, permissions) in [new_role, old_role].into_iter().flatten() {
        if !permissions.is_subset_of(granter) {
            let missing: Vec<_> = permissions
                .iter()
                .filter(|p| !granter.contains(*p))
                .map(|p| p.as_str())
                .collect();
            return Err(Error::permission_denied(
                "ROLE_EXCEEDS_GRANTER",
                format!(
                    "{name} includes {} which the caller does not hold",
                    missing.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// Tenant users share only within their tenant: with users and groups of their own tenant
/// (`grantee_tenant`: the tenant the directory gives the user or group; `None` for org
/// users and org groups, which a tenant user may see but not share with) and with their own
/// tenant, never with other tenants or the org-wide audiences.
pub fn check_grantee_scope(
    granter: &Principal,
    kind: GranteeKind,
    grantee_id: &str,
    grantee_tenant: Option<&str>,
) -> Result<()> {
    let Some(tenant) = &granter.tenant_id else {
        return Ok(());
    };
    let allowed = match kind {
        GranteeKind::User | GranteeKind::Group => grantee_tenant == Some(tenant.as_str()),
        GranteeKind::Tenant => grantee_id == tenant,
        GranteeKind::AllTenants | GranteeKind::OrgMembers | GranteeKind::Everyone => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(Error::permission_denied(
            "OUTSIDE_TENANT",
            "tenant users can share only within their own tenant",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::PlatformRole;
    use crate::core::authz::{BuiltinRole, Permission};

    #[test]
    fn contributors_cannot_make_or_unmake_owners() {
        let contributor = BuiltinRole::Contributor.permissions();
        let owner = ("roles/owner", BuiltinRole::Owner.permissions());
        let viewer = ("roles/viewer", BuiltinRole::Viewer.permissions());
        assert!(check_role_change(contributor, Some(viewer), None).is_ok());
        assert!(check_role_change(contributor, Some(owner), None).is_err());
        assert!(check_role_change(contributor, Some(viewer), Some(owner)).is_err());
        assert!(check_role_change(PermissionSet::ALL, Some(owner), Some(viewer)).is_ok());
        let custom = (
            "roles/x",
            PermissionSet::of(&[Permission::Read, Permission::Delete]),
        );
        let err = check_role_change(contributor, Some(custom), None).unwrap_err();
        assert!(err.to_string().contains("DELETE"), "{err}");
    }

    fn d() -> ShareTarget {
        ShareTarget::Dashboard("d".into())
    }

    fn grant(id: &str, user: &str, role: &str) -> Grant {
        Grant {
            id: id.into(),
            on: d(),
            kind: GranteeKind::User,
            grantee_id: user.into(),
            role: role.into(),
            expire_time: None,
            creator_id: "c".into(),
            create_time: 0,
            update_time: 0,
        }
    }

    fn upsert(user: &str, role: &str) -> ShareUpsert {
        ShareUpsert {
            kind: GranteeKind::User,
            grantee_id: user.into(),
            role: role.into(),
            expire_time: None,
        }
    }

    #[test]
    fn share_limit_counts_new_grantees_only() {
        let existing = [
            grant("1", "a", "roles/owner"),
            grant("2", "b", "roles/viewer"),
        ];
        let again = [upsert("b", "roles/editor")];
        assert!(check_share_limit(&existing, &again, 2, &d()).is_ok());
        let new = [upsert("c", "roles/viewer")];
        let err = check_share_limit(&existing, &new, 2, &d()).unwrap_err();
        assert_eq!(err.reason(), "SHARE_LIMIT_REACHED");
        assert!(check_share_limit(&existing, &new, 3, &d()).is_ok());
    }

    #[test]
    fn the_last_owner_stays() {
        let existing = [
            grant("1", "a", "roles/owner"),
            grant("2", "b", "roles/viewer"),
        ];
        let demote = [upsert("a", "roles/editor")];
        let err = check_keeps_owner(&existing, &demote, &[], 0, &d()).unwrap_err();
        assert_eq!(err.reason(), "LAST_OWNER");
        let err = check_keeps_owner(&existing, &[], &["1".into()], 0, &d()).unwrap_err();
        assert_eq!(err.reason(), "LAST_OWNER");
        let transfer = [upsert("b", "roles/owner"), upsert("a", "roles/editor")];
        assert!(check_keeps_owner(&existing, &transfer, &[], 0, &d()).is_ok());
        assert!(check_keeps_owner(&existing, &[], &["2".into()], 0, &d()).is_ok());
        // Without an owner to begin with, nothing to keep.
        let ownerless = [grant("2", "b", "roles/viewer")];
        assert!(check_keeps_owner(&ownerless, &[], &["2".into()], 0, &d()).is_ok());
    }

    #[test]
    fn share_events() {
        let existing = grant("1", "a", "roles/viewer");
        assert_eq!(
            upsert("a", "roles/viewer").event(Some(&existing)),
            None,
            "the same share again changes nothing"
        );
        assert_eq!(
            upsert("a", "roles/editor").event(Some(&existing)),
            Some(EventType::ShareChanged)
        );
        assert_eq!(
            upsert("b", "roles/viewer").event(None),
            Some(EventType::ShareGranted)
        );
    }

    #[test]
    fn tenant_users_stay_in_their_tenant() {
        let p = Principal {
            user_id: "t".into(),
            org_id: "o".into(),
            tenant_id: Some("t1".into()),
            role: PlatformRole::PowerUser,
            email: None,
            name: None,
        };
        assert!(check_grantee_scope(&p, GranteeKind::Tenant, "t1", None).is_ok());
        assert!(check_grantee_scope(&p, GranteeKind::Tenant, "t2", None).is_err());
        assert!(check_grantee_scope(&p, GranteeKind::Everyone, "", None).is_err());
        assert!(check_grantee_scope(&p, GranteeKind::OrgMembers, "", None).is_err());
        assert!(check_grantee_scope(&p, GranteeKind::User, "u", Some("t1")).is_ok());
        assert!(check_grantee_scope(&p, GranteeKind::User, "u", Some("t2")).is_err());
        assert!(check_grantee_scope(&p, GranteeKind::User, "u", None).is_err());
        assert!(check_grantee_scope(&p, GranteeKind::Group, "g", None).is_err());
        let org = Principal {
            tenant_id: None,
            ..p
        };
        assert!(check_grantee_scope(&org, GranteeKind::Everyone, "", None).is_ok());
        assert!(check_grantee_scope(&org, GranteeKind::User, "u", Some("t1")).is_ok());
    }
}
