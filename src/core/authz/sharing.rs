//! The rules for changing access, apart from the handlers that apply them.

use super::{GranteeKind, PermissionSet};
use crate::core::{Error, Principal, Result};

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
