//! Comments on widgets (DESIGN §6, issue 16): CreateComment, GetComment, ListComments,
//! ResolveComment, DeleteComment.
//!
//! Every call authorizes the caller on the comment's dashboard (READ; NOT_FOUND without it).
//! Writes run in one [`crate::app::Write`] that locks the dashboard row first (NOT_FOUND, or
//! DASHBOARD_DELETED in the trash), reads what they decide on in that transaction and
//! records their events on the dashboard (no version: comments are not content):
//!
//! - CreateComment: `COMMENT_CREATED`, then one `COMMENT_MENTIONED` per mentioned user (its
//!   grantee the user), all at one revision;
//! - ResolveComment: `COMMENT_RESOLVED` or `COMMENT_REOPENED` on the top-level comment;
//! - DeleteComment: one `COMMENT_DELETED` for the comment, then one per reply deleted with it.

mod changes;
mod create;
mod queries;

pub use changes::{delete, resolve};
pub use create::create;
pub use queries::{CommentPage, CommentPageRequest, get, list};

use crate::app::{App, Write};
use crate::core::comment::{Comment, CommentKey};
use crate::core::{Error, Principal, Result};

/// Begins a comment write on `dashboard_id` and locks the dashboard's row: NOT_FOUND when
/// it is gone, DASHBOARD_DELETED in the trash.
async fn begin_on_dashboard(app: &App, caller: &Principal, dashboard_id: &str) -> Result<Write> {
    let write = app.write(&caller.org_id, caller.user_name()).await?;
    app.store
        .widgets()
        .lock_dashboard(write.txn(), &caller.org_id, dashboard_id)
        .await?;
    Ok(write)
}

/// The comment `key`, read on `conn`: NOT_FOUND when it is not there.
async fn existing(
    app: &App,
    conn: &impl sea_orm::ConnectionTrait,
    caller: &Principal,
    key: &CommentKey,
) -> Result<Comment> {
    app.store
        .comments()
        .get(conn, &caller.org_id, key)
        .await?
        .ok_or_else(|| Error::not_found(key.name()))
}
