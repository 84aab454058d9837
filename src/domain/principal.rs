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
                "unknown role {s:?}: expected VIEWER, POWER_USER, AUTHOR or ADMIN"
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
