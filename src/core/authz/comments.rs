//! Who may change a comment (DESIGN §6, issue 16): anyone who can READ the dashboard creates
//! and reads comments; its author or a holder of WRITE resolves a thread; its author or a
//! holder of SHARE deletes a comment. Without READ the comment does not exist for the caller.

use super::permission::Permission;
use super::policy::{Access, authorize};
use crate::core::{Error, Result};

/// What a caller does to an existing comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentChange {
    /// Resolve or reopen the thread the comment starts.
    Resolve,
    Delete,
}

impl CommentChange {
    /// The permission on the dashboard that allows the change to a comment of someone else.
    pub fn permission(self) -> Permission {
        match self {
            Self::Resolve => Permission::Write,
            Self::Delete => Permission::Share,
        }
    }
}

/// Allows `change` on a comment of the dashboard `dashboard` (its name) to a caller with
/// `access` there: NOT_FOUND without READ (reported as the comment's `resource`), the author
/// may, others need the change's permission (PERMISSION_DENIED, MISSING_PERMISSION).
pub fn authorize_comment_change(
    access: &Access,
    is_author: bool,
    change: CommentChange,
    resource: &str,
) -> Result<()> {
    authorize(access, Permission::Read, resource)?;
    if is_author || access.permissions.contains(change.permission()) {
        return Ok(());
    }
    let what = match change {
        CommentChange::Resolve => "resolving another user's comment needs WRITE",
        CommentChange::Delete => "deleting another user's comment needs SHARE",
    };
    Err(Error::permission_denied(
        "MISSING_PERMISSION",
        format!("{what} on the dashboard of {resource}"),
    ))
}
