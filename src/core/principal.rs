//! Who is calling: built by the authentication layer from a verified token.

use std::fmt;
use std::str::FromStr;

/// The platform role from the token's `role` claim. It sets the ceiling of what any grant can
/// give (see `authz`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlatformRole {
    Viewer,
    PowerUser,
    Author,
    Admin,
}

impl PlatformRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "VIEWER",
            Self::PowerUser => "POWER_USER",
            Self::Author => "AUTHOR",
            Self::Admin => "ADMIN",
        }
    }

    /// The less privileged of two roles (VIEWER < POWER_USER < AUTHOR < ADMIN): the
    /// effective role when an ADMIN-set directory role and a token's role disagree. Both
    /// sides share one tenant (a token must claim an ADMIN-set user's tenant), so the
    /// result is again a valid role for that tenant.
    pub fn lower(self, other: Self) -> Self {
        let rank = |r: Self| match r {
            Self::Viewer => 0,
            Self::PowerUser => 1,
            Self::Author => 2,
            Self::Admin => 3,
        };
        if rank(other) < rank(self) {
            other
        } else {
            self
        }
    }

    /// AUTHOR and ADMIN are org roles, POWER_USER is a tenant role, VIEWER is either
    /// (DESIGN §4.3): the one check tokens, the `token` command and UpsertUser share.
    pub fn check_tenant(self, tenant: Option<&str>) -> Result<(), &'static str> {
        match (self, tenant) {
            (Self::Author | Self::Admin, Some(_)) => {
                Err("AUTHOR and ADMIN are org roles: no tenant")
            }
            (Self::PowerUser, None) => Err("POWER_USER is a tenant role: a tenant is required"),
            _ => Ok(()),
        }
    }
}

impl fmt::Display for PlatformRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PlatformRole {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "VIEWER" => Ok(Self::Viewer),
            "POWER_USER" => Ok(Self::PowerUser),
            "AUTHOR" => Ok(Self::Author),
            "ADMIN" => Ok(Self::Admin),
            _ => Err(format!(
                "unknown role {}: expected VIEWER, POWER_USER, AUTHOR or ADMIN",
                super::error::echo(s)
            )),
        }
    }
}

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    /// The token's `sub`.
    pub user_id: String,
    /// The token's `org`: the hard wall around everything the caller can see.
    pub org_id: String,
    /// The token's `tenant`, for users of a customer tenant inside the org.
    pub tenant_id: Option<String>,
    pub role: PlatformRole,
    pub email: Option<String>,
    pub name: Option<String>,
}

impl Principal {
    /// `users/{id}`.
    pub fn user_name(&self) -> String {
        format!("users/{}", self.user_id)
    }

    pub fn is_admin(&self) -> bool {
        self.role == PlatformRole::Admin
    }
}
