//! Inheritance down the folder tree (DESIGN §5): which folders' shares reach a resource.
//!
//! A resource (dashboard or folder) gets the shares on itself and, unless it stops
//! inheritance (`inherit_access = false`), those of the folder holding it, then that
//! folder's parent, and so on up to the root or to the first folder that stops inheritance,
//! that folder included. The closure table's `inherits` flag (`core::folder::paths_of`) is
//! the same rule stored per (ancestor, descendant) pair, for the listing's SQL;
//! tests/differential.rs checks that the two agree.

use super::policy::ShareTarget;

/// One folder of a resource's chain: the folder holding it first, then its parent, and so on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainLink {
    pub folder_id: String,
    pub inherit_access: bool,
}

/// Where the shares that count for one resource sit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inheritance {
    /// The resource itself: its own shares always count.
    pub resource: ShareTarget,
    /// The folders whose shares reach it, nearest first.
    pub folders: Vec<String>,
    /// Where inheritance stops: the resource itself or the folder that has
    /// `inherit_access = false`; `None` when the chain reaches the root (or there is none).
    pub cut_at: Option<ShareTarget>,
}

impl Inheritance {
    /// A resource with no folder above it: only its own shares count.
    pub fn none(resource: ShareTarget) -> Self {
        Self {
            resource,
            folders: Vec::new(),
            cut_at: None,
        }
    }

    /// True when shares on `on` count for the resource.
    pub fn reaches(&self, on: &ShareTarget) -> bool {
        on == &self.resource
            || on
                .folder_id()
                .is_some_and(|f| self.folders.iter().any(|mine| mine == f))
    }

    /// The way a share on `on` came down to the resource, as resource names from where it
    /// sits to the resource (`folders/F -> folders/G -> dashboards/D`); empty when `on` does
    /// not reach it.
    pub fn path_from(&self, on: &ShareTarget) -> Vec<String> {
        if on == &self.resource {
            return vec![self.resource.name()];
        }
        let Some(position) = on
            .folder_id()
            .and_then(|f| self.folders.iter().position(|mine| mine == f))
        else {
            return Vec::new();
        };
        self.folders[..=position]
            .iter()
            .rev()
            .map(|f| crate::core::folder::folder_name(f))
            .chain(std::iter::once(self.resource.name()))
            .collect()
    }
}

/// The inheritance of `resource`, which stops inheritance itself when `resource_inherits` is
/// false, from its chain (the folder holding it first).
pub fn inheritance(
    resource: ShareTarget,
    resource_inherits: bool,
    chain: &[ChainLink],
) -> Inheritance {
    let mut folders = Vec::new();
    let mut cut_at = None;
    if !resource_inherits {
        if !chain.is_empty() {
            cut_at = Some(resource.clone());
        }
    } else {
        for link in chain {
            folders.push(link.folder_id.clone());
            if !link.inherit_access {
                cut_at = Some(ShareTarget::Folder(link.folder_id.clone()));
                break;
            }
        }
    }
    Inheritance {
        resource,
        folders,
        cut_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(id: &str, inherit: bool) -> ChainLink {
        ChainLink {
            folder_id: id.into(),
            inherit_access: inherit,
        }
    }

    fn dashboard() -> ShareTarget {
        ShareTarget::Dashboard("d".into())
    }

    /// (resource inherits, chain nearest first) -> (folders reached, cut at)
    type Case = (bool, Vec<ChainLink>, Vec<&'static str>, Option<ShareTarget>);

    #[test]
    fn the_chain_stops_at_the_first_cut_inclusive() {
        let cases: Vec<Case> = vec![
            (true, vec![], vec![], None),
            (false, vec![], vec![], None),
            (
                true,
                vec![link("g", true), link("f", true)],
                vec!["g", "f"],
                None,
            ),
            (
                true,
                vec![link("g", false), link("f", true)],
                vec!["g"],
                Some(ShareTarget::Folder("g".into())),
            ),
            (
                true,
                vec![link("h", true), link("g", false), link("f", true)],
                vec!["h", "g"],
                Some(ShareTarget::Folder("g".into())),
            ),
            (
                false,
                vec![link("g", true), link("f", true)],
                vec![],
                Some(dashboard()),
            ),
        ];
        for (inherits, chain, folders, cut) in cases {
            let got = inheritance(dashboard(), inherits, &chain);
            assert_eq!(got.folders, folders, "{inherits} {chain:?}");
            assert_eq!(got.cut_at, cut, "{inherits} {chain:?}");
        }
    }

    #[test]
    fn reach_and_path() {
        let got = inheritance(
            dashboard(),
            true,
            &[link("g", true), link("f", false), link("e", true)],
        );
        assert!(got.reaches(&dashboard()));
        assert!(got.reaches(&ShareTarget::Folder("f".into())));
        assert!(!got.reaches(&ShareTarget::Folder("e".into())));
        assert!(!got.reaches(&ShareTarget::Dashboard("other".into())));
        assert_eq!(
            got.path_from(&ShareTarget::Folder("f".into())),
            vec!["folders/f", "folders/g", "dashboards/d"]
        );
        assert_eq!(got.path_from(&dashboard()), vec!["dashboards/d"]);
        assert!(got.path_from(&ShareTarget::Folder("e".into())).is_empty());
    }

    /// The rule here and the closure table's `inherits` flag say the same thing.
    #[test]
    fn agrees_with_the_closure_rows() {
        use crate::core::folder::{TreeNode, paths_of};
        // a > b (cut) > c > d
        let nodes = vec![
            TreeNode {
                id: "a".into(),
                parent_id: None,
                inherit_access: true,
            },
            TreeNode {
                id: "b".into(),
                parent_id: Some("a".into()),
                inherit_access: false,
            },
            TreeNode {
                id: "c".into(),
                parent_id: Some("b".into()),
                inherit_access: true,
            },
            TreeNode {
                id: "d".into(),
                parent_id: Some("c".into()),
                inherit_access: true,
            },
        ];
        let chain: Vec<ChainLink> = ["d", "c", "b", "a"]
            .iter()
            .map(|id| {
                let n = nodes.iter().find(|n| n.id == *id).unwrap();
                link(id, n.inherit_access)
            })
            .collect();
        // A dashboard in d.
        let rule = inheritance(dashboard(), true, &chain);
        let rows = paths_of(&nodes, &["d".into()]);
        let by_closure: Vec<String> = rows
            .iter()
            .filter(|r| r.inherits)
            .map(|r| r.ancestor.clone())
            .collect();
        assert_eq!(rule.folders, by_closure);
    }
}
