//! Labels (DESIGN §6): org-scoped tags a dashboard carries (`labels/{id}`).

use super::{Micros, PlatformRole, Principal};

/// At most this many labels on one dashboard: a label is a tag, not a data store.
pub const MAX_LABELS_PER_DASHBOARD: usize = 50;
/// A label's display name is short: it is shown as a chip.
pub const MAX_LABEL_NAME_CHARS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub id: String,
    pub org_id: String,
    pub display_name: String,
    /// `#rrggbb`, or empty for the client's default.
    pub color: String,
    pub description: String,
    pub creator_id: String,
    pub revision: i64,
    pub create_time: Micros,
    pub update_time: Micros,
}

impl Label {
    /// `labels/{id}`.
    pub fn name(&self) -> String {
        format!("labels/{}", self.id)
    }
}

/// Labels are managed by org users with AUTHOR or ADMIN; everyone in the org reads them.
pub fn may_manage(principal: &Principal) -> bool {
    principal.tenant_id.is_none()
        && matches!(principal.role, PlatformRole::Author | PlatformRole::Admin)
}

/// True for `#rrggbb` (hex digits, either case) or empty.
pub fn valid_color(color: &str) -> bool {
    color.is_empty()
        || (color.len() == 7
            && color.starts_with('#')
            && color[1..].chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colors() {
        assert!(valid_color(""));
        assert!(valid_color("#ff00AA"));
        assert!(!valid_color("ff00aa"));
        assert!(!valid_color("#ff00a"));
        assert!(!valid_color("#gg0000"));
        assert!(!valid_color("#ff00aa0"));
    }
}
