//! Dashboard roles (named permission sets) and platform-role ceilings.

use super::{Permission, PermissionSet};
use crate::core::{PlatformRole, Principal};

use Permission::*;

/// The built-in dashboard roles. Custom per-org roles join these later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BuiltinRole {
    Viewer,
    Editor,
    Contributor,
    Owner,
}

impl BuiltinRole {
    pub const ALL: [BuiltinRole; 4] = [
        BuiltinRole::Viewer,
        BuiltinRole::Editor,
        BuiltinRole::Contributor,
        BuiltinRole::Owner,
    ];

    /// `roles/{id}`, the form stored and returned.
    pub fn name(self) -> &'static str {
        match self {
            Self::Viewer => "roles/viewer",
            Self::Editor => "roles/editor",
            Self::Contributor => "roles/contributor",
            Self::Owner => "roles/owner",
        }
    }

    pub fn permissions(self) -> PermissionSet {
        match self {
            Self::Viewer => PermissionSet::of(&[Read]),
            Self::Editor => PermissionSet::of(&[Read, Write, ManageWidgets, UpdateLabels]),
            Self::Contributor => {
                PermissionSet::of(&[Read, Write, ManageWidgets, UpdateLabels, Share])
            }
            Self::Owner => PermissionSet::ALL,
        }
    }

    /// The built-in role stored as `name` (`roles/viewer`, ...), exactly.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == name)
    }

    pub fn display_name(self) -> &'static str {
        match self {
            Self::Viewer => "Viewer",
            Self::Editor => "Editor",
            Self::Contributor => "Contributor",
            Self::Owner => "Owner",
        }
    }

    /// Accepts `roles/viewer`, `viewer` and the Qubitro aliases `readonly`, `readwrite`,
    /// `admin`.
    pub fn parse(input: &str) -> Option<Self> {
        let id = input.strip_prefix("roles/").unwrap_or(input);
        match id.to_ascii_lowercase().as_str() {
            "viewer" | "readonly" => Some(Self::Viewer),
            "editor" | "readwrite" => Some(Self::Editor),
            "contributor" => Some(Self::Contributor),
            "owner" | "admin" => Some(Self::Owner),
            _ => None,
        }
    }
}

/// The most any grant can give a holder of this platform role.
pub fn ceiling(role: PlatformRole) -> PermissionSet {
    match role {
        PlatformRole::Viewer => PermissionSet::of(&[Read]),
        PlatformRole::PowerUser | PlatformRole::Author | PlatformRole::Admin => PermissionSet::ALL,
    }
}

pub fn may_create_dashboards(role: PlatformRole) -> bool {
    role != PlatformRole::Viewer
}

/// Groups are managed by org users with AUTHOR or ADMIN.
pub fn may_manage_groups(principal: &Principal) -> bool {
    principal.tenant_id.is_none()
        && matches!(principal.role, PlatformRole::Author | PlatformRole::Admin)
}

/// Custom roles and users are managed by ADMINs.
pub fn may_manage_directory(principal: &Principal) -> bool {
    principal.role == PlatformRole::Admin
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_resolve_to_builtin_roles() {
        assert_eq!(BuiltinRole::parse("readonly"), Some(BuiltinRole::Viewer));
        assert_eq!(BuiltinRole::parse("readwrite"), Some(BuiltinRole::Editor));
        assert_eq!(BuiltinRole::parse("admin"), Some(BuiltinRole::Owner));
        assert_eq!(
            BuiltinRole::parse("roles/contributor"),
            Some(BuiltinRole::Contributor)
        );
        assert_eq!(BuiltinRole::parse("roles/superuser"), None);
    }

    #[test]
    fn readwrite_cannot_delete_or_share() {
        let editor = BuiltinRole::Editor.permissions();
        assert!(!editor.contains(Delete));
        assert!(!editor.contains(Share));
        assert!(BuiltinRole::Contributor.permissions().contains(Share));
        assert!(!BuiltinRole::Contributor.permissions().contains(Delete));
    }

    #[test]
    fn viewer_ceiling_is_read_only() {
        assert_eq!(ceiling(PlatformRole::Viewer), PermissionSet::of(&[Read]));
        assert!(!may_create_dashboards(PlatformRole::Viewer));
        assert!(may_create_dashboards(PlatformRole::PowerUser));
    }
}
