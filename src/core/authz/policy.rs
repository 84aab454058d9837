//! Grant resolution and the access decision.

use std::collections::HashMap;

use super::inheritance::Inheritance;
use super::{BuiltinRole, Permission, PermissionSet, ceiling};
use crate::core::{Error, Micros, Principal, Result};

/// Who a grant is for. Every kind is matched the same way: a grant applies to principal P when
/// its `(kind, grantee_id)` is one of P's subjects (see [`subjects_of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GranteeKind {
    User,
    Group,
    Tenant,
    AllTenants,
    OrgMembers,
    Everyone,
}

impl GranteeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Group => "group",
            Self::Tenant => "tenant",
            Self::AllTenants => "all_tenants",
            Self::OrgMembers => "org_members",
            Self::Everyone => "everyone",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::User,
            Self::Group,
            Self::Tenant,
            Self::AllTenants,
            Self::OrgMembers,
            Self::Everyone,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// The grantee as the change log names it: `users/u`, `groups/g`, `tenants/t`,
    /// `all_tenants`, `org_members`, `everyone`.
    pub fn resource_name(self, grantee_id: &str) -> String {
        match self {
            Self::User => format!("users/{grantee_id}"),
            Self::Group => format!("groups/{grantee_id}"),
            Self::Tenant => format!("tenants/{grantee_id}"),
            Self::AllTenants | Self::OrgMembers | Self::Everyone => self.as_str().to_string(),
        }
    }
}

/// One `(kind, id)` a principal answers to; org-wide kinds have an empty id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Subject {
    pub kind: GranteeKind,
    pub id: String,
}

/// Every subject principal P answers to: itself, its groups, its tenant, and the org-wide
/// audiences it belongs to. Grant lookups (single dashboard and listing alike) match grants
/// against this list, so new grantee kinds only add subjects here.
pub fn subjects_of(principal: &Principal, group_ids: &[String]) -> Vec<Subject> {
    let mut subjects = vec![Subject {
        kind: GranteeKind::User,
        id: principal.user_id.clone(),
    }];
    subjects.extend(group_ids.iter().map(|g| Subject {
        kind: GranteeKind::Group,
        id: g.clone(),
    }));
    match &principal.tenant_id {
        Some(tenant) => {
            subjects.push(Subject {
                kind: GranteeKind::Tenant,
                id: tenant.clone(),
            });
            subjects.push(Subject {
                kind: GranteeKind::AllTenants,
                id: String::new(),
            });
        }
        None => subjects.push(Subject {
            kind: GranteeKind::OrgMembers,
            id: String::new(),
        }),
    }
    subjects.push(Subject {
        kind: GranteeKind::Everyone,
        id: String::new(),
    });
    subjects
}

/// What a share sits on: a dashboard, a folder (whose shares reach what inherits from it),
/// or a library widget (whose shares reach nothing else).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ShareTarget {
    Dashboard(String),
    Folder(String),
    LibraryWidget(String),
}

impl ShareTarget {
    /// `dashboards/{id}` or `folders/{id}`.
    pub fn name(&self) -> String {
        match self {
            Self::Dashboard(id) => crate::core::names::dashboard_name(id),
            Self::Folder(id) => crate::core::folder::folder_name(id),
            Self::LibraryWidget(id) => crate::core::library_widget::library_widget_name(id),
        }
    }

    /// The name of share `share_id` of it: `dashboards/{d}/shares/{s}` or `folders/{f}/shares/{s}`.
    pub fn share_name(&self, share_id: &str) -> String {
        format!("{}/shares/{share_id}", self.name())
    }

    pub fn dashboard_id(&self) -> Option<&str> {
        match self {
            Self::Dashboard(id) => Some(id),
            Self::Folder(_) | Self::LibraryWidget(_) => None,
        }
    }

    pub fn folder_id(&self) -> Option<&str> {
        match self {
            Self::Folder(id) => Some(id),
            Self::Dashboard(_) | Self::LibraryWidget(_) => None,
        }
    }
}

/// A grant (share) of a role on a dashboard or a folder, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub id: String,
    pub on: ShareTarget,
    pub kind: GranteeKind,
    pub grantee_id: String,
    /// `roles/{id}`.
    pub role: String,
    pub expire_time: Option<Micros>,
    pub creator_id: String,
    pub create_time: Micros,
    pub update_time: Micros,
}

impl Grant {
    pub fn is_active(&self, now: Micros) -> bool {
        self.expire_time.is_none_or(|t| t > now)
    }

    /// True for a direct owner grant: what makes a user an owner.
    pub fn is_owner_grant(&self) -> bool {
        self.kind == GranteeKind::User && self.role == BuiltinRole::Owner.name()
    }

    /// `dashboards/{d}/shares/{s}` or `folders/{f}/shares/{s}`.
    pub fn name(&self) -> String {
        self.on.share_name(&self.id)
    }
}

/// Permission sets of the roles a decision needs: the built-ins plus the custom roles the
/// grants at hand name.
#[derive(Debug, Clone, Default)]
pub struct RoleBook {
    custom: HashMap<String, PermissionSet>,
}

impl RoleBook {
    pub fn new(custom: HashMap<String, PermissionSet>) -> Self {
        Self { custom }
    }

    /// The custom roles it knows, with their permissions.
    pub fn into_custom(self) -> HashMap<String, PermissionSet> {
        self.custom
    }

    /// The permissions of `role` (`roles/{id}`); unknown roles give nothing.
    pub fn permissions(&self, role: &str) -> PermissionSet {
        match BuiltinRole::from_name(role) {
            Some(builtin) => builtin.permissions(),
            None => self.custom.get(role).copied().unwrap_or_default(),
        }
    }
}

/// What a principal may do on one dashboard, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Access {
    pub permissions: PermissionSet,
    pub ceiling: PermissionSet,
    /// The active grants that matched the principal.
    pub grants: Vec<Grant>,
    /// True when the principal is an ADMIN of the dashboard's org (implicit owner).
    pub implicit_owner: bool,
    /// The folders whose shares reach the resource, and where inheritance stops.
    pub inheritance: Inheritance,
}

/// Computes the access of `principal` on a resource of `resource_org` from the grants that
/// match the principal's subjects (the store fetched them with [`subjects_of`]), on the
/// resource itself and on its folders: only those on the folders `inheritance` names count
/// (DESIGN §5: the union down the chain until the first folder that stops inheritance).
pub fn effective_access(
    principal: &Principal,
    resource_org: &str,
    matching_grants: Vec<Grant>,
    inheritance: Inheritance,
    roles: &RoleBook,
    now: Micros,
) -> Access {
    let ceiling = ceiling(principal.role);
    if principal.org_id != resource_org {
        return Access {
            permissions: PermissionSet::EMPTY,
            ceiling,
            grants: Vec::new(),
            implicit_owner: false,
            inheritance,
        };
    }
    let grants: Vec<Grant> = matching_grants
        .into_iter()
        .filter(|g| g.is_active(now) && inheritance.reaches(&g.on))
        .collect();
    if principal.is_admin() {
        return Access {
            permissions: PermissionSet::ALL,
            ceiling,
            grants,
            implicit_owner: true,
            inheritance,
        };
    }
    let granted = grants.iter().fold(PermissionSet::EMPTY, |acc, g| {
        acc.union(roles.permissions(&g.role))
    });
    Access {
        permissions: granted.intersect(ceiling),
        ceiling,
        grants,
        implicit_owner: false,
        inheritance,
    }
}

/// The decision rule: no READ means the resource does not exist for the caller.
pub fn authorize(access: &Access, needed: Permission, resource: &str) -> Result<()> {
    if !access.permissions.contains(Permission::Read) {
        return Err(Error::not_found(resource));
    }
    if !access.permissions.contains(needed) {
        return Err(Error::permission_denied(
            "MISSING_PERMISSION",
            format!("the caller lacks {needed} on {resource}"),
        ));
    }
    Ok(())
}

/// Roles whose permissions include READ: a grant of one of these makes a dashboard listable.
pub fn readable_roles() -> Vec<&'static str> {
    BuiltinRole::ALL
        .into_iter()
        .filter(|r| r.permissions().contains(Permission::Read))
        .map(BuiltinRole::name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::PlatformRole;

    fn principal(role: PlatformRole, tenant: Option<&str>) -> Principal {
        Principal {
            user_id: "u1".into(),
            org_id: "acme".into(),
            tenant_id: tenant.map(str::to_string),
            role,
            email: None,
            name: None,
        }
    }

    fn own() -> Inheritance {
        Inheritance::none(ShareTarget::Dashboard("d".into()))
    }

    fn grant(role: BuiltinRole, expire_time: Option<Micros>) -> Grant {
        Grant {
            id: "g".into(),
            on: ShareTarget::Dashboard("d".into()),
            kind: GranteeKind::User,
            grantee_id: "u1".into(),
            role: role.name().into(),
            expire_time,
            creator_id: "u1".into(),
            create_time: 0,
            update_time: 0,
        }
    }

    #[test]
    fn ceiling_caps_grants() {
        let p = principal(PlatformRole::Viewer, None);
        let access = effective_access(
            &p,
            "acme",
            vec![grant(BuiltinRole::Editor, None)],
            own(),
            &RoleBook::default(),
            0,
        );
        assert_eq!(access.permissions, PermissionSet::of(&[Permission::Read]));
        assert!(authorize(&access, Permission::Write, "dashboards/d").is_err());
    }

    #[test]
    fn expired_grants_give_nothing() {
        let p = principal(PlatformRole::Author, None);
        let access = effective_access(
            &p,
            "acme",
            vec![grant(BuiltinRole::Owner, Some(10))],
            own(),
            &RoleBook::default(),
            11,
        );
        assert!(matches!(
            authorize(&access, Permission::Read, "dashboards/d"),
            Err(Error::NotFound { .. })
        ));
    }

    #[test]
    fn org_wall_beats_admin() {
        let p = principal(PlatformRole::Admin, None);
        let access = effective_access(&p, "other", vec![], own(), &RoleBook::default(), 0);
        assert!(access.permissions.is_empty());
        let home = effective_access(&p, "acme", vec![], own(), &RoleBook::default(), 0);
        assert_eq!(home.permissions, PermissionSet::ALL);
        assert!(home.implicit_owner);
    }

    #[test]
    fn read_without_permission_is_denied_not_hidden() {
        let p = principal(PlatformRole::Author, None);
        let access = effective_access(
            &p,
            "acme",
            vec![grant(BuiltinRole::Viewer, None)],
            own(),
            &RoleBook::default(),
            0,
        );
        assert!(matches!(
            authorize(&access, Permission::Delete, "dashboards/d"),
            Err(Error::PermissionDenied { .. })
        ));
    }

    #[test]
    fn custom_roles_give_their_permissions() {
        let p = principal(PlatformRole::Author, None);
        let mut g = grant(BuiltinRole::Viewer, None);
        g.role = "roles/labeler".into();
        let labeler = PermissionSet::of(&[Permission::Read, Permission::UpdateLabels]);
        let book = RoleBook::new([("roles/labeler".to_string(), labeler)].into());
        let access = effective_access(&p, "acme", vec![g.clone()], own(), &book, 0);
        assert_eq!(access.permissions, labeler);
        let unknown = effective_access(&p, "acme", vec![g], own(), &RoleBook::default(), 0);
        assert!(unknown.permissions.is_empty());
    }

    #[test]
    fn tenant_users_answer_to_tenant_scopes_not_org_members() {
        let tenant_user = principal(PlatformRole::PowerUser, Some("t1"));
        let kinds: Vec<_> = subjects_of(&tenant_user, &[])
            .into_iter()
            .map(|s| s.kind)
            .collect();
        assert!(kinds.contains(&GranteeKind::Tenant));
        assert!(kinds.contains(&GranteeKind::AllTenants));
        assert!(!kinds.contains(&GranteeKind::OrgMembers));
        let org_user = principal(PlatformRole::Author, None);
        let kinds: Vec<_> = subjects_of(&org_user, &["g1".into()])
            .into_iter()
            .map(|s| s.kind)
            .collect();
        assert!(kinds.contains(&GranteeKind::OrgMembers));
        assert!(kinds.contains(&GranteeKind::Group));
        assert!(!kinds.contains(&GranteeKind::AllTenants));
    }
}
