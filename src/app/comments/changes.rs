//! ResolveComment and DeleteComment: the author, or a holder of WRITE (resolve) or SHARE
//! (delete) on the dashboard (`authz::authorize_comment_change`).

use super::{begin_on_dashboard, existing};
use crate::app::{App, Written};
use crate::core::authz::{CommentChange, Permission, authorize_comment_change};
use crate::core::comment::{Comment, CommentKey, check_resolvable, comment_name};
use crate::core::event::{Change, EventType};
use crate::core::{Principal, Result, check_etag};
use crate::store::comments::Resolution;

/// Resolves (`resolved`) or reopens the thread comment `key` starts; doing what is already
/// done changes nothing.
pub async fn resolve(
    app: &App,
    caller: &Principal,
    key: &CommentKey,
    resolved: bool,
    etag: &str,
) -> Result<Written<Comment>> {
    let current = authorized(app, caller, key, CommentChange::Resolve).await?;
    check_resolvable(&current)?;
    let mut write = begin_on_dashboard(app, caller, &key.dashboard_id).await?;
    let current = existing(app, write.txn(), caller, key).await?;
    check_etag(etag, &current.etag(), &current.name())?;
    if current.resolved == resolved {
        return write.commit(current).await;
    }
    let now = write.now().max(current.update_time);
    write.not_before(now);
    let resolution = resolved.then(|| Resolution {
        resolver_id: caller.user_id.clone(),
        time: now,
    });
    let repo = app.store.comments();
    repo.set_resolved(write.txn(), &current.id, resolution.as_ref(), now)
        .await?;
    let updated = existing(app, write.txn(), caller, key).await?;
    let r#type = if resolved {
        EventType::CommentResolved
    } else {
        EventType::CommentReopened
    };
    write.record(
        Change::new(r#type, updated.name())
            .on_dashboard(&key.dashboard_id)
            .fields(["resolved"]),
    );
    write.commit(updated).await
}

/// Deletes comment `key`, and with a top-level comment its replies.
pub async fn delete(
    app: &App,
    caller: &Principal,
    key: &CommentKey,
    etag: &str,
) -> Result<Written<()>> {
    authorized(app, caller, key, CommentChange::Delete).await?;
    let mut write = begin_on_dashboard(app, caller, &key.dashboard_id).await?;
    let current = existing(app, write.txn(), caller, key).await?;
    check_etag(etag, &current.etag(), &current.name())?;
    let repo = app.store.comments();
    let replies = repo.replies_of(write.txn(), &current.id).await?;
    repo.delete(write.txn(), &current.id).await?;
    write.record(
        Change::new(EventType::CommentDeleted, current.name()).on_dashboard(&key.dashboard_id),
    );
    for reply in replies {
        write.record(
            Change::new(
                EventType::CommentDeleted,
                comment_name(&key.dashboard_id, &key.widget_id, &reply),
            )
            .on_dashboard(&key.dashboard_id),
        );
    }
    write.commit(()).await
}

/// The comment, if the caller may make `change` to it: NOT_FOUND without READ on the
/// dashboard or when it is not there, PERMISSION_DENIED when the caller is not its author
/// and lacks the change's permission. Decided before the write begins: a comment's author
/// never changes, and the write reads the comment again under the dashboard's lock.
async fn authorized(
    app: &App,
    caller: &Principal,
    key: &CommentKey,
    change: CommentChange,
) -> Result<Comment> {
    let (_, access) = app
        .authorizer
        .dashboard(caller, &key.dashboard_id, Permission::Read)
        .await?;
    let current = existing(app, app.store.db(), caller, key).await?;
    authorize_comment_change(
        &access,
        current.author_id == caller.user_id,
        change,
        &current.name(),
    )?;
    Ok(current)
}
