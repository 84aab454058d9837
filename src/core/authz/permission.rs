use std::fmt;

/// One thing a caller may do to a dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    Read,
    Write,
    ManageWidgets,
    UpdateLabels,
    Share,
    Delete,
}

impl Permission {
    pub const ALL: [Permission; 6] = [
        Permission::Read,
        Permission::Write,
        Permission::ManageWidgets,
        Permission::UpdateLabels,
        Permission::Share,
        Permission::Delete,
    ];

    fn bit(self) -> u8 {
        1 << (self as u8)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "READ",
            Self::Write => "WRITE",
            Self::ManageWidgets => "MANAGE_WIDGETS",
            Self::UpdateLabels => "UPDATE_LABELS",
            Self::Share => "SHARE",
            Self::Delete => "DELETE",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of permissions.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PermissionSet(u8);

impl PermissionSet {
    pub const EMPTY: PermissionSet = PermissionSet(0);
    pub const ALL: PermissionSet = PermissionSet(0b11_1111);

    pub fn of(permissions: &[Permission]) -> Self {
        Self(permissions.iter().fold(0, |bits, p| bits | p.bit()))
    }

    pub fn contains(self, permission: Permission) -> bool {
        self.0 & permission.bit() != 0
    }

    pub fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    pub fn intersect(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }

    pub fn is_subset_of(self, other: Self) -> bool {
        self.0 & !other.0 == 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The stored form.
    pub fn bits(self) -> i32 {
        i32::from(self.0)
    }

    pub fn from_bits(bits: i32) -> Self {
        Self((bits & i32::from(Self::ALL.0)) as u8)
    }

    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .into_iter()
            .filter(move |p| self.contains(*p))
    }
}

impl fmt::Debug for PermissionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_algebra() {
        let rw = PermissionSet::of(&[Permission::Read, Permission::Write]);
        let r = PermissionSet::of(&[Permission::Read]);
        assert!(r.is_subset_of(rw));
        assert!(!rw.is_subset_of(r));
        assert_eq!(rw.intersect(r), r);
        assert_eq!(r.union(rw), rw);
        assert_eq!(PermissionSet::ALL.iter().count(), 6);
        assert!(PermissionSet::EMPTY.is_empty());
    }
}
