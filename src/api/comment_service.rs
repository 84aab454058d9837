//! CommentService: parse -> one `app::comments` call -> convert.

use tonic::{Request, Response, Status};

use super::{convert, page_fit, page_size, split, written};
use crate::app::App;
use crate::app::comments::{self, CommentPageRequest};
use crate::core::comment::{Comment, NewComment, comment_name, parse_comment_name};
use crate::core::dashboard::Limits;
use crate::core::names;
use crate::pb;
use crate::pb::comment_service_server::CommentService;

pub struct CommentApi {
    app: App,
    limits: Limits,
}

impl CommentApi {
    pub fn new(app: App, limits: Limits) -> Self {
        Self { app, limits }
    }
}

#[tonic::async_trait]
impl CommentService for CommentApi {
    async fn create_comment(
        &self,
        request: Request<pb::CreateCommentRequest>,
    ) -> Result<Response<pb::Comment>, Status> {
        let (caller, request) = split(request)?;
        let (dashboard_id, widget_id) = names::parse_widget_name("parent", &request.parent)?;
        let new = request.comment.map(|c| NewComment {
            text: c.text,
            reply_to: c.reply_to,
            mentions: c.mentions,
        });
        let done = comments::create(&self.app, &caller, &dashboard_id, &widget_id, new).await?;
        Ok(written(done.map(|c| comment(&c))))
    }

    async fn get_comment(
        &self,
        request: Request<pb::GetCommentRequest>,
    ) -> Result<Response<pb::Comment>, Status> {
        let (caller, request) = split(request)?;
        let key = parse_comment_name("name", &request.name)?;
        let found = comments::get(&self.app, &caller, &key).await?;
        Ok(Response::new(comment(&found)))
    }

    async fn list_comments(
        &self,
        request: Request<pb::ListCommentsRequest>,
    ) -> Result<Response<pb::ListCommentsResponse>, Status> {
        let (caller, request) = split(request)?;
        let (dashboard_id, widget_id) = names::parse_widget_name("parent", &request.parent)?;
        let page_request = CommentPageRequest {
            dashboard_id,
            widget_id,
            page_size: page_size(request.page_size, &self.limits)?,
            page_token: &request.page_token,
            filter: &request.filter,
        };
        let page = comments::list(&self.app, &caller, page_request).await?;
        let mut listed: Vec<pb::Comment> = page.comments.iter().map(comment).collect();
        page_fit::fit(&mut listed, self.limits.max_response_bytes);
        Ok(Response::new(pb::ListCommentsResponse {
            next_page_token: page.next_page_token(listed.len()),
            comments: listed,
        }))
    }

    async fn resolve_comment(
        &self,
        request: Request<pb::ResolveCommentRequest>,
    ) -> Result<Response<pb::Comment>, Status> {
        let (caller, request) = split(request)?;
        let key = parse_comment_name("name", &request.name)?;
        let resolved = request.resolved.unwrap_or(true);
        let done = comments::resolve(&self.app, &caller, &key, resolved, &request.etag).await?;
        Ok(written(done.map(|c| comment(&c))))
    }

    async fn delete_comment(
        &self,
        request: Request<pb::DeleteCommentRequest>,
    ) -> Result<Response<pb::DeleteCommentResponse>, Status> {
        let (caller, request) = split(request)?;
        let key = parse_comment_name("name", &request.name)?;
        let done = comments::delete(&self.app, &caller, &key, &request.etag).await?;
        Ok(written(done.map(|()| pb::DeleteCommentResponse {})))
    }
}

fn comment(c: &Comment) -> pb::Comment {
    pb::Comment {
        name: c.name(),
        author: names::user_name(&c.author_id),
        text: c.text.clone(),
        reply_to: c
            .reply_to
            .as_ref()
            .map(|id| comment_name(&c.dashboard_id, &c.widget_id, id))
            .unwrap_or_default(),
        mentions: c.mentions.iter().map(|u| names::user_name(u)).collect(),
        resolved: c.resolved,
        resolver: c
            .resolver_id
            .as_ref()
            .map(|u| names::user_name(u))
            .unwrap_or_default(),
        resolve_time: c.resolve_time.map(convert::timestamp),
        create_time: Some(convert::timestamp(c.create_time)),
        update_time: Some(convert::timestamp(c.update_time)),
        etag: c.etag(),
    }
}
