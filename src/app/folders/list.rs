//! ListFolders: a parent's children by title, or (`recursive`) the subtree below it depth
//! first, each folder followed by its own subtree; only folders the caller may READ.

use std::collections::{HashMap, HashSet};

use crate::app::App;
use crate::core::authz::Permission;
use crate::core::folder::{Folder, parse_title_filter};
use crate::core::page_token::{self, CursorValue};
use crate::core::{Error, Principal, Result, now_micros};
use crate::store::folder_listing::FolderScope;

use super::{Placed, depth_of, depths_of};

pub struct ListFolders {
    pub parent_id: Option<String>,
    pub filter: String,
    pub page_size: usize,
    pub page_token: String,
    pub show_deleted: bool,
    pub recursive: bool,
}

pub struct FolderPage {
    pub folders: Vec<Placed>,
    pub next_page_token: String,
}

pub async fn list(app: &App, caller: &Principal, request: ListFolders) -> Result<FolderPage> {
    let title = parse_title_filter(&request.filter)?;
    let parent = request.parent_id.as_deref();
    if let Some(p) = parent {
        app.authorizer.folder(caller, p, Permission::Read).await?;
    }
    let fingerprint = page_token::fingerprint(&[
        "folders",
        parent.unwrap_or_default(),
        request.filter.trim(),
        if request.show_deleted {
            "deleted"
        } else {
            "live"
        },
        if request.recursive {
            "tree"
        } else {
            "children"
        },
    ]);
    let after = page_token::decode::<CursorValue>(&request.page_token, &fingerprint)?;
    let subjects = if caller.is_admin() {
        None
    } else {
        Some(app.authorizer.subjects(caller).await?)
    };
    let scope = FolderScope {
        org_id: &caller.org_id,
        subjects: subjects.as_deref(),
        show_deleted: request.show_deleted,
        now: now_micros(),
    };
    let repo = app.store.folders();
    let conn = app.store.db();
    if !request.recursive {
        let after = match after {
            None => None,
            Some((CursorValue::Text(title), id)) => Some((title, id)),
            Some(_) => return Err(foreign_token()),
        };
        let mut rows = repo
            .folder_children(
                conn,
                &scope,
                parent,
                &title,
                after,
                request.page_size as u64 + 1,
            )
            .await?;
        let more = rows.len() > request.page_size;
        rows.truncate(request.page_size);
        let next_page_token = match rows.last() {
            Some(last) if more => page_token::encode(
                &fingerprint,
                CursorValue::Text(last.title.clone()),
                &last.id,
            ),
            _ => String::new(),
        };
        let ids: Vec<String> = rows.iter().map(|f| f.id.clone()).collect();
        let depths = depths_of(app, conn, &ids).await?;
        let folders = rows
            .into_iter()
            .map(|folder| Placed {
                depth: depths.get(&folder.id).copied().unwrap_or(1),
                folder,
            })
            .collect();
        return Ok(FolderPage {
            folders,
            next_page_token,
        });
    }
    let start = match after {
        None => 0,
        Some((CursorValue::Int(position), _)) if position >= 0 => position as usize,
        Some(_) => return Err(foreign_token()),
    };
    let (all, shown) = repo.folder_subtree(conn, &scope, parent, &title).await?;
    let base = match parent {
        Some(p) => depth_of(app, conn, p).await?,
        None => 0,
    };
    let walked = depth_first(all, parent, base, &shown.into_iter().collect());
    let end = (start + request.page_size).min(walked.len());
    let next_page_token = match walked.get(end.saturating_sub(1)) {
        Some(last) if end < walked.len() => {
            page_token::encode(&fingerprint, CursorValue::Int(end as i64), &last.folder.id)
        }
        _ => String::new(),
    };
    let folders = walked
        .into_iter()
        .skip(start)
        .take(end.saturating_sub(start))
        .collect();
    Ok(FolderPage {
        folders,
        next_page_token,
    })
}

/// The folders of `all` below `parent` in depth-first order (siblings in the order given),
/// keeping those in `shown`, each with its depth (`base` is the parent's).
fn depth_first(
    all: Vec<Folder>,
    parent: Option<&str>,
    base: usize,
    shown: &HashSet<String>,
) -> Vec<Placed> {
    let mut children: HashMap<String, Vec<Folder>> = HashMap::new();
    for f in all {
        children
            .entry(f.parent_id.clone().unwrap_or_default())
            .or_default()
            .push(f);
    }
    let mut out = Vec::new();
    // A stack of pending siblings, last-in first-out: reversed so the first comes first.
    let mut stack: Vec<(Folder, usize)> = children
        .remove(parent.unwrap_or_default())
        .unwrap_or_default()
        .into_iter()
        .rev()
        .map(|f| (f, base + 1))
        .collect();
    while let Some((folder, depth)) = stack.pop() {
        if let Some(kids) = children.remove(&folder.id) {
            stack.extend(kids.into_iter().rev().map(|f| (f, depth + 1)));
        }
        if shown.contains(&folder.id) {
            out.push(Placed { folder, depth });
        }
    }
    out
}

fn foreign_token() -> Error {
    Error::invalid("page_token", "is not a token of this listing")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(id: &str, parent: Option<&str>) -> Folder {
        Folder {
            id: id.into(),
            org_id: "o".into(),
            parent_id: parent.map(str::to_string),
            title: id.into(),
            description: String::new(),
            inherit_access: true,
            creator_id: "u".into(),
            revision: 1,
            create_time: 0,
            update_time: 0,
            delete_time: None,
        }
    }

    #[test]
    fn walks_depth_first_and_keeps_what_is_shown() {
        // a > (b > d), c ; e at the root
        let all = vec![
            folder("a", None),
            folder("b", Some("a")),
            folder("c", Some("a")),
            folder("d", Some("b")),
            folder("e", None),
        ];
        let shown: HashSet<String> = ["a", "b", "c", "d", "e"].map(String::from).into();
        let walk = depth_first(all.clone(), None, 0, &shown);
        let got: Vec<(&str, usize)> = walk
            .iter()
            .map(|p| (p.folder.id.as_str(), p.depth))
            .collect();
        assert_eq!(got, vec![("a", 1), ("b", 2), ("d", 3), ("c", 2), ("e", 1)]);
        // Below a, without b (not readable): d still comes, under its place.
        let shown: HashSet<String> = ["c", "d"].map(String::from).into();
        let walk = depth_first(all, Some("a"), 1, &shown);
        let got: Vec<(&str, usize)> = walk
            .iter()
            .map(|p| (p.folder.id.as_str(), p.depth))
            .collect();
        assert_eq!(got, vec![("d", 3), ("c", 2)]);
    }
}
