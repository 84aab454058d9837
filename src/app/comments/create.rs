//! CreateComment: a comment on a widget, or a reply to a top-level one, with mentions of
//! users who can read the dashboard.

use super::{begin_on_dashboard, existing};
use crate::app::{App, Written};
use crate::core::authz::Permission;
use crate::core::comment::{
    self, Comment, NewComment, check_reply_target, mentioned_user_cannot_read,
    mentioned_user_not_found,
};
use crate::core::dashboard::Dashboard;
use crate::core::event::{Change, EventType};
use crate::core::{Error, Principal, Result, names, new_id};
use crate::store::widgets::WidgetKey;

/// Creates a comment on widget `widget_id` of `dashboard_id`.
pub async fn create(
    app: &App,
    caller: &Principal,
    dashboard_id: &str,
    widget_id: &str,
    new: Option<NewComment>,
) -> Result<Written<Comment>> {
    let new = new.ok_or_else(|| Error::invalid("comment", "required"))?;
    let checked = comment::check_new(dashboard_id, widget_id, new)?;
    let (dashboard, _) = app
        .authorizer
        .dashboard(caller, dashboard_id, Permission::Read)
        .await?;
    check_mentions(app, caller, &dashboard, &checked.mentions).await?;

    let mut write = begin_on_dashboard(app, caller, dashboard_id).await?;
    let widget = WidgetKey {
        org_id: caller.org_id.clone(),
        dashboard_id: dashboard_id.to_string(),
        id: widget_id.to_string(),
    };
    if app
        .store
        .widgets()
        .get(write.txn(), &widget)
        .await?
        .is_none()
    {
        return Err(Error::not_found(widget.name()));
    }
    // A reply joins its thread as it is: resolved with it, or open.
    let (resolved, resolver_id, resolve_time) = match &checked.reply_to {
        Some(key) => {
            let target = existing(app, write.txn(), caller, key).await?;
            check_reply_target(&target)?;
            // Listed after what it answers, whatever the clocks of the replicas say.
            write.not_before(target.create_time + 1);
            (target.resolved, target.resolver_id, target.resolve_time)
        }
        None => (false, None, None),
    };
    let now = write.now();
    let created = Comment {
        id: new_id(),
        org_id: caller.org_id.clone(),
        dashboard_id: dashboard_id.to_string(),
        widget_id: widget_id.to_string(),
        reply_to: checked.reply_to.map(|k| k.id),
        author_id: caller.user_id.clone(),
        text: checked.text,
        mentions: checked.mentions,
        resolved,
        resolver_id,
        resolve_time,
        revision: 1,
        create_time: now,
        update_time: now,
    };
    app.store.comments().insert(write.txn(), &created).await?;
    let name = created.name();
    let mut fields = vec!["text"];
    if created.reply_to.is_some() {
        fields.push("reply_to");
    }
    if !created.mentions.is_empty() {
        fields.push("mentions");
    }
    write.record(
        Change::new(EventType::CommentCreated, name.clone())
            .on_dashboard(dashboard_id)
            .fields(fields),
    );
    for user_id in &created.mentions {
        let mut mention =
            Change::new(EventType::CommentMentioned, name.clone()).on_dashboard(dashboard_id);
        mention.grantee = Some(names::user_name(user_id));
        write.record(mention);
    }
    write.commit(created).await
}

/// Every mentioned user is a user of the org the caller can see (MENTIONED_USER_NOT_FOUND)
/// who can READ the dashboard (MENTIONED_USER_CANNOT_READ), as the policy decides for them
/// now; the first one that is not answers.
async fn check_mentions(
    app: &App,
    caller: &Principal,
    dashboard: &Dashboard,
    mentions: &[String],
) -> Result<()> {
    let others: Vec<String> = mentions
        .iter()
        .filter(|id| **id != caller.user_id)
        .cloned()
        .collect();
    if others.is_empty() {
        return Ok(());
    }
    let users = app.store.users().get_many(&caller.org_id, &others).await?;
    for id in &others {
        let user = users
            .iter()
            .find(|u| &u.id == id && u.visible_to(caller))
            .ok_or_else(|| mentioned_user_not_found(id))?;
        let access = app
            .authorizer
            .access(&user.as_principal(), dashboard)
            .await?;
        if !access.permissions.contains(Permission::Read) {
            return Err(mentioned_user_cannot_read(id, &dashboard.id));
        }
    }
    Ok(())
}
