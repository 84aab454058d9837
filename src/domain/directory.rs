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

    /// Tenant users see org users and users of their own tenant only.
    pub fn visible_to(&self, viewer: &super::Principal) -> bool {
        self.org_id == viewer.org_id
            && match (&viewer.tenant_id, &self.tenant_id) {
                (None, _) | (Some(_), None) => true,
                (Some(mine), Some(theirs)) => mine == theirs,
            }
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
}

impl Group {
    pub fn name(&self) -> String {
        format!("groups/{}", self.id)
    }

    pub fn etag(&self) -> String {
        super::dashboard::etag_of(&self.id, self.revision)
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
    pub permissions: crate::authz::PermissionSet,
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
