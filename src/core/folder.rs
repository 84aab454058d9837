//! Folders (DESIGN §5): an org's tree of `folders/{id}`, and the closure rows that describe
//! it. The access rule over the tree is `authz::inheritance`.

use std::collections::HashMap;

use super::{Error, Micros, Result, names};

/// The depth limit when none is configured: a folder directly under the root is at depth 1.
pub const DEFAULT_MAX_FOLDER_DEPTH: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    pub id: String,
    pub org_id: String,
    /// The parent folder's id; `None` at the root.
    pub parent_id: Option<String>,
    pub title: String,
    pub description: String,
    /// False stops the shares of the folders above from reaching this one and what it holds.
    pub inherit_access: bool,
    pub creator_id: String,
    /// Bumped by every change; the etag is derived from it.
    pub revision: i64,
    pub create_time: Micros,
    pub update_time: Micros,
    pub delete_time: Option<Micros>,
}

impl Folder {
    pub fn name(&self) -> String {
        folder_name(&self.id)
    }

    pub fn etag(&self) -> String {
        super::dashboard::etag_of(&self.id, self.revision)
    }
}

pub fn folder_name(id: &str) -> String {
    format!("folders/{id}")
}

/// Parses `folders/{id}`.
pub fn parse_folder_name(field: &str, name: &str) -> Result<String> {
    names::parse_collection_name(field, name, "folders")
}

/// One folder of the tree as its structure needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeNode {
    pub id: String,
    pub parent_id: Option<String>,
    pub inherit_access: bool,
}

/// One row of the closure table: `ancestor` is `depth` levels above `descendant` (0: the
/// folder itself); `inherits` when the ancestor's shares reach the descendant, that is when
/// no folder on the way down from the ancestor (the ancestor excluded, the descendant
/// included) has `inherit_access = false`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathRow {
    pub ancestor: String,
    pub descendant: String,
    pub depth: i32,
    pub inherits: bool,
}

/// The closure rows of every folder in `subtree`, computed from the parents of `nodes`
/// (which must hold the subtree and every folder above it). A folder whose chain leaves
/// `nodes` ends there.
pub fn paths_of(nodes: &[TreeNode], subtree: &[String]) -> Vec<PathRow> {
    let by_id: HashMap<&str, &TreeNode> = nodes.iter().map(|n| (n.id.as_str(), n)).collect();
    let mut rows = Vec::new();
    for id in subtree {
        let Some(mut node) = by_id.get(id.as_str()).copied() else {
            continue;
        };
        rows.push(PathRow {
            ancestor: id.clone(),
            descendant: id.clone(),
            depth: 0,
            inherits: true,
        });
        let mut inherits = true;
        let mut depth = 0;
        // Bounded by the number of nodes, so a corrupt (cyclic) input cannot loop.
        while let Some(parent) = node.parent_id.as_deref() {
            if depth as usize > nodes.len() {
                break;
            }
            inherits = inherits && node.inherit_access;
            depth += 1;
            rows.push(PathRow {
                ancestor: parent.to_string(),
                descendant: id.clone(),
                depth,
                inherits,
            });
            match by_id.get(parent) {
                Some(next) => node = next,
                None => break,
            }
        }
    }
    rows
}

/// ALREADY_EXISTS `FOLDER_TITLE_TAKEN`: a live sibling already has the title (`what` names
/// the title or the folder that cannot take it back).
pub fn title_taken(what: &str) -> Error {
    Error::AlreadyExists {
        reason: "FOLDER_TITLE_TAKEN",
        message: format!(
            "a live folder in the same parent already has the title of {}",
            super::error::echo(what)
        ),
        resource: what.to_string(),
    }
}

/// FAILED_PRECONDITION `FOLDER_DELETED`: a write that needs a live folder met one in the
/// trash.
pub fn folder_deleted(id: &str) -> Error {
    Error::failed_precondition(
        "FOLDER_DELETED",
        folder_name(id),
        "the folder is in the trash; undelete it first",
    )
}

/// Fails with INVALID_ARGUMENT `FOLDER_TOO_DEEP` when a folder at `depth` (1 = directly
/// under the root) would pass `max_depth`.
pub fn check_depth(depth: usize, max_depth: usize, field: &str) -> Result<()> {
    if depth > max_depth {
        return Err(Error::invalid_with_reason(
            "FOLDER_TOO_DEEP",
            field,
            format!("folders nest at most {max_depth} deep; this would make {depth}"),
        ));
    }
    Ok(())
}

/// Fails with FAILED_PRECONDITION `FOLDER_CYCLE` when `destination` is the folder moved or
/// one of its descendants (`subtree` holds the moved folder and every folder under it).
pub fn check_no_cycle(moved: &str, destination: Option<&str>, subtree: &[String]) -> Result<()> {
    match destination {
        Some(dest) if subtree.iter().any(|f| f == dest) => Err(Error::failed_precondition(
            "FOLDER_CYCLE",
            folder_name(moved),
            "a folder cannot move into itself or a folder under it",
        )),
        _ => Ok(()),
    }
}

/// ListFolders' filter: a condition on the title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TitleMatch {
    Any,
    Equals(String),
    /// Contains, ignoring case.
    Contains(String),
}

/// Parses ListFolders' `filter`: empty, `title = "text"` or `title : "text"` (`\"` and
/// `\\` escape inside the quotes). Kept to the title on purpose: a folder has little else
/// to find it by.
pub fn parse_title_filter(filter: &str) -> Result<TitleMatch> {
    let filter = filter.trim();
    if filter.is_empty() {
        return Ok(TitleMatch::Any);
    }
    let invalid = || {
        Error::invalid(
            "filter",
            format!(
                "{} is not a folder filter: expected title = \"text\" or title : \"text\"",
                super::error::echo(filter)
            ),
        )
    };
    let Some(rest) = filter.strip_prefix("title") else {
        return Err(invalid());
    };
    let rest = rest.trim_start();
    let (contains, rest) = match rest.chars().next() {
        Some(':') => (true, &rest[1..]),
        Some('=') => (false, &rest[1..]),
        _ => return Err(invalid()),
    };
    let quoted = rest.trim();
    let inner = quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .filter(|_| quoted.len() >= 2)
        .ok_or_else(invalid)?;
    let mut text = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => text.push(chars.next().ok_or_else(invalid)?),
            '"' => return Err(invalid()),
            c => text.push(c),
        }
    }
    Ok(if contains {
        TitleMatch::Contains(text)
    } else {
        TitleMatch::Equals(text)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, parent: Option<&str>, inherit: bool) -> TreeNode {
        TreeNode {
            id: id.into(),
            parent_id: parent.map(str::to_string),
            inherit_access: inherit,
        }
    }

    fn row(a: &str, d: &str, depth: i32, inherits: bool) -> PathRow {
        PathRow {
            ancestor: a.into(),
            descendant: d.into(),
            depth,
            inherits,
        }
    }

    #[test]
    fn closure_rows_carry_depth_and_the_cut() {
        // a > b (cut) > c
        let nodes = [
            node("a", None, true),
            node("b", Some("a"), false),
            node("c", Some("b"), true),
        ];
        let rows = paths_of(&nodes, &["c".into(), "b".into()]);
        assert_eq!(
            rows,
            vec![
                row("c", "c", 0, true),
                // b's shares reach c: only c lies between, and it inherits.
                row("b", "c", 1, true),
                // a's do not: b stops them.
                row("a", "c", 2, false),
                row("b", "b", 0, true),
                row("a", "b", 1, false),
            ]
        );
    }

    #[test]
    fn a_cut_below_stops_everything_above_it() {
        let nodes = [
            node("a", None, true),
            node("b", Some("a"), true),
            node("c", Some("b"), false),
        ];
        let rows = paths_of(&nodes, &["c".into()]);
        assert!(rows.iter().all(|r| r.inherits == (r.ancestor == "c")));
    }

    #[test]
    fn title_filters() {
        assert_eq!(parse_title_filter(" ").unwrap(), TitleMatch::Any);
        assert_eq!(
            parse_title_filter("title : \"op\"").unwrap(),
            TitleMatch::Contains("op".into())
        );
        assert_eq!(
            parse_title_filter("title=\"a \\\"b\\\"\"").unwrap(),
            TitleMatch::Equals("a \"b\"".into())
        );
        for bad in [
            "name = \"x\"",
            "title",
            "title = x",
            "title = \"x",
            "title : \"a\"b\"",
        ] {
            assert!(parse_title_filter(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn limits() {
        assert!(check_depth(8, 8, "parent").is_ok());
        assert!(matches!(
            check_depth(9, 8, "parent"),
            Err(Error::InvalidArgument { .. })
        ));
        let subtree = ["f".to_string(), "g".to_string()];
        assert!(check_no_cycle("f", Some("h"), &subtree).is_ok());
        assert!(check_no_cycle("f", None, &subtree).is_ok());
        assert!(matches!(
            check_no_cycle("f", Some("g"), &subtree),
            Err(Error::FailedPrecondition { .. })
        ));
    }
}
