//! Users, groups, custom roles and public links as the service sees them.

use super::{Micros, PlatformRole};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub org_id: String,
    pub id: String,
    pub tenant_id: Option<String>,
    pub email: Option<String>,
    pub display_name: String,
    pub role: PlatformRole,
    pub create_time: Micros,
    pub update_time: Micros,
    /// True once an ADMIN set this user (UpsertUser): see [`User::effective_role`].
    pub role_set_by_admin: bool,
    /// The email the user's token claims but another user of the org holds: the user is
    /// recorded without an email while the clash lasts.
    pub withheld_email: Option<String>,
}

impl User {
    /// The principal this user would be, for "what may they do" questions.
    pub fn as_principal(&self) -> super::Principal {
        super::Principal {
            user_id: self.id.clone(),
            org_id: self.org_id.clone(),
            tenant_id: self.tenant_id.clone(),
            role: self.role,
            email: self.email.clone(),
            name: Some(self.display_name.clone()),
        }
    }

    /// True when this row already says what `claims` would record (so just-in-time
    /// recording has nothing to write). A withheld email counts as recorded.
    pub fn records(&self, claims: &super::Principal) -> bool {
        let email = claims.email.as_deref().filter(|e| !e.is_empty());
        let same_email = match &self.withheld_email {
            Some(withheld) => self.email.is_none() && Some(withheld.as_str()) == email,
            None => self.email.as_deref() == email,
        };
        same_email
            && self.tenant_id == claims.tenant_id
            && self.role == claims.role
            && self.display_name == claims.name.as_deref().unwrap_or_default()
    }

    /// The principal a verified token acts as, given this directory row of its user. Once
    /// an ADMIN set the user, the directory is the source of truth (DESIGN §4.3): the token
    /// must claim the directory's tenant (INVALID_CLAIMS otherwise) and the effective role
    /// is the lower of the two. Rows recorded from tokens change nothing.
    pub fn effective(&self, mut claims: super::Principal) -> super::Result<super::Principal> {
        if !self.role_set_by_admin {
            return Ok(claims);
        }
        if self.tenant_id != claims.tenant_id {
            return Err(super::Error::unauthenticated(
                "INVALID_CLAIMS",
                "the token's tenant is not the one an ADMIN set for this user in the directory",
            ));
        }
        claims.role = claims.role.lower(self.role);
        Ok(claims)
    }

    /// Tenant users see org users and users of their own tenant only.
    pub fn visible_to(&self, viewer: &super::Principal) -> bool {
        self.org_id == viewer.org_id && tenant_visible_to(viewer, self.tenant_id.as_deref())
    }
}

/// The one rule for what a viewer sees of tenants: org users see every tenant; tenant users
/// see the org level (`None`) and their own tenant, never another tenant's users, groups or
/// ids (directory listings, ListMembers and ListShares all apply it).
pub fn tenant_visible_to(viewer: &super::Principal, tenant: Option<&str>) -> bool {
    match (viewer.tenant_id.as_deref(), tenant) {
        (None, _) | (Some(_), None) => true,
        (Some(mine), Some(theirs)) => mine == theirs,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupKind {
    Org,
    Tenant,
}

impl GroupKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Org => "org",
            Self::Tenant => "tenant",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "org" => Some(Self::Org),
            "tenant" => Some(Self::Tenant),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub id: String,
    pub org_id: String,
    pub display_name: String,
    pub description: String,
    pub kind: GroupKind,
    pub tenant_id: Option<String>,
    pub revision: i64,
    pub create_time: Micros,
    pub update_time: Micros,
    pub member_count: i64,
    /// The user who created the group; `None` for groups older than the record of it.
    pub creator_id: Option<String>,
}

impl Group {
    pub fn name(&self) -> String {
        format!("groups/{}", self.id)
    }

    pub fn etag(&self) -> String {
        super::dashboard::etag_of(&self.id, self.revision)
    }

    /// Who manages the group's membership and fields: the org's ADMINs, and its creator
    /// while the creator may still manage groups at all (an org AUTHOR).
    pub fn managed_by(&self, caller: &super::Principal) -> bool {
        self.org_id == caller.org_id
            && (caller.is_admin()
                || (crate::core::authz::may_manage_groups(caller)
                    && self.creator_id.as_deref() == Some(caller.user_id.as_str())))
    }

    /// Tenant users see only the groups of their own tenant.
    pub fn visible_to(&self, viewer: &super::Principal) -> bool {
        self.org_id == viewer.org_id
            && match &viewer.tenant_id {
                None => true,
                Some(tenant) => self.tenant_id.as_deref() == Some(tenant.as_str()),
            }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomRole {
    pub id: String,
    pub org_id: String,
    /// `roles/{id}`.
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub permissions: crate::core::authz::PermissionSet,
    pub revision: i64,
    pub create_time: Micros,
    pub update_time: Micros,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicLink {
    pub id: String,
    pub org_id: String,
    pub dashboard_id: String,
    pub expire_time: Option<Micros>,
    pub creator_id: String,
    pub create_time: Micros,
}

impl PublicLink {
    pub fn name(&self) -> String {
        format!("dashboards/{}/publicLinks/{}", self.dashboard_id, self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Principal;

    fn claims(role: PlatformRole, tenant: Option<&str>) -> Principal {
        Principal {
            user_id: "bob".into(),
            org_id: "acme".into(),
            tenant_id: tenant.map(str::to_string),
            role,
            email: Some("bob@acme.io".into()),
            name: Some("Bob".into()),
        }
    }

    fn row(role: PlatformRole, tenant: Option<&str>, by_admin: bool) -> User {
        User {
            org_id: "acme".into(),
            id: "bob".into(),
            tenant_id: tenant.map(str::to_string),
            email: Some("bob@acme.io".into()),
            display_name: "Bob".into(),
            role,
            create_time: 0,
            update_time: 0,
            role_set_by_admin: by_admin,
            withheld_email: None,
        }
    }

    #[test]
    fn the_lower_role_wins_once_an_admin_set_it() {
        use PlatformRole::*;
        assert_eq!(Admin.lower(Viewer), Viewer);
        assert_eq!(Viewer.lower(Author), Viewer);
        assert_eq!(Author.lower(Admin), Author);
        assert_eq!(PowerUser.lower(Viewer), Viewer);
        let demoted = row(Viewer, None, true);
        assert_eq!(
            demoted.effective(claims(Author, None)).unwrap().role,
            Viewer
        );
        let promoted = row(Admin, None, true);
        assert_eq!(
            promoted.effective(claims(Author, None)).unwrap().role,
            Author
        );
        // A row recorded from tokens caps nothing.
        let recorded = row(Viewer, None, false);
        assert_eq!(recorded.effective(claims(Admin, None)).unwrap().role, Admin);
        // The ADMIN-set tenant is the one.
        let tenant = row(PowerUser, Some("t1"), true);
        assert!(tenant.effective(claims(PowerUser, Some("t2"))).is_err());
        assert!(tenant.effective(claims(PowerUser, Some("t1"))).is_ok());
        assert!(tenant.effective(claims(Author, None)).is_err());
    }

    #[test]
    fn role_and_tenant_must_agree() {
        use PlatformRole::*;
        assert!(Admin.check_tenant(Some("t")).is_err());
        assert!(Author.check_tenant(Some("t")).is_err());
        assert!(PowerUser.check_tenant(None).is_err());
        assert!(PowerUser.check_tenant(Some("t")).is_ok());
        assert!(Viewer.check_tenant(Some("t")).is_ok() && Viewer.check_tenant(None).is_ok());
    }

    #[test]
    fn a_withheld_email_counts_as_recorded() {
        let mut user = row(PlatformRole::Author, None, false);
        let token = claims(PlatformRole::Author, None);
        assert!(user.records(&token));
        user.email = None;
        assert!(!user.records(&token));
        user.withheld_email = Some("bob@acme.io".into());
        assert!(user.records(&token));
        let moved = Principal {
            email: Some("other@acme.io".into()),
            ..token.clone()
        };
        assert!(!user.records(&moved));
        assert!(!user.records(&claims(PlatformRole::Viewer, None)));
    }
}
