//! GetComment and ListComments: READ on the dashboard.

use super::existing;
use crate::app::App;
use crate::core::authz::Permission;
use crate::core::comment::{self, Comment, CommentKey};
use crate::core::page_token::{self, CursorValue};
use crate::core::{Error, Principal, Result, names};
use crate::store::comments::CommentListQuery;
use crate::store::widgets::WidgetKey;

pub async fn get(app: &App, caller: &Principal, key: &CommentKey) -> Result<Comment> {
    app.authorizer
        .dashboard(caller, &key.dashboard_id, Permission::Read)
        .await?;
    existing(app, app.store.db(), caller, key).await
}

/// One ListComments request, its page size already resolved.
pub struct CommentPageRequest<'a> {
    pub dashboard_id: String,
    pub widget_id: String,
    pub page_size: usize,
    pub page_token: &'a str,
    pub filter: &'a str,
}

/// A page of comments; the caller may keep fewer (to fit a response) and asks for the token
/// that continues after what it kept.
pub struct CommentPage {
    pub comments: Vec<Comment>,
    more: bool,
    fingerprint: String,
}

impl CommentPage {
    /// The token of the page after the first `kept` comments (empty at the end).
    pub fn next_page_token(&self, kept: usize) -> String {
        let more = self.more || kept < self.comments.len();
        match kept.checked_sub(1).and_then(|i| self.comments.get(i)) {
            Some(last) if more => page_token::encode(
                &self.fingerprint,
                CursorValue::Int(last.create_time),
                &last.id,
            ),
            _ => String::new(),
        }
    }
}

pub async fn list(
    app: &App,
    caller: &Principal,
    request: CommentPageRequest<'_>,
) -> Result<CommentPage> {
    let resolved = comment::parse_filter(request.filter)?;
    let parent = names::widget_name(&request.dashboard_id, &request.widget_id);
    let fingerprint = page_token::fingerprint(&["comments", &parent, &format!("{resolved:?}")]);
    let after = match page_token::decode::<CursorValue>(request.page_token, &fingerprint)? {
        None => None,
        Some((CursorValue::Int(time), id)) => Some((time, id)),
        Some(_) => {
            return Err(Error::invalid(
                "page_token",
                "is not a token of this listing",
            ));
        }
    };
    app.authorizer
        .dashboard(caller, &request.dashboard_id, Permission::Read)
        .await?;
    let widget = WidgetKey {
        org_id: caller.org_id.clone(),
        dashboard_id: request.dashboard_id.clone(),
        id: request.widget_id.clone(),
    };
    let db = app.store.db();
    if app.store.widgets().get(db, &widget).await?.is_none() {
        return Err(Error::not_found(parent));
    }
    let query = CommentListQuery {
        org_id: caller.org_id.clone(),
        dashboard_id: request.dashboard_id,
        widget_id: request.widget_id,
        resolved,
        after,
        limit: request.page_size as u64 + 1,
    };
    let mut comments = app.store.comments().list(db, &query).await?;
    let more = comments.len() > request.page_size;
    comments.truncate(request.page_size);
    Ok(CommentPage {
        comments,
        more,
        fingerprint,
    })
}
