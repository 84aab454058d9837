//! LabelService: org-scoped labels (the rules live in `app::labels`).

use tonic::{Request, Response, Status};

use super::{convert, page_size, split, written};
use crate::app::App;
use crate::app::labels::{self, LabelFields};
use crate::core::dashboard::Limits;
use crate::core::label::Label;
use crate::core::names;
use crate::pb;
use crate::pb::label_service_server::LabelService;

pub struct LabelApi {
    app: App,
    limits: Limits,
}

impl LabelApi {
    pub fn new(app: App, limits: Limits) -> Self {
        Self { app, limits }
    }
}

#[tonic::async_trait]
impl LabelService for LabelApi {
    async fn create_label(
        &self,
        request: Request<pb::CreateLabelRequest>,
    ) -> Result<Response<pb::Label>, Status> {
        let (caller, request) = split(request)?;
        let done = labels::create(&self.app, &caller, request.label.map(fields)).await?;
        Ok(written(done.map(|l| label(&l))))
    }

    async fn get_label(
        &self,
        request: Request<pb::GetLabelRequest>,
    ) -> Result<Response<pb::Label>, Status> {
        let (caller, request) = split(request)?;
        let found = labels::get(&self.app, &caller, &request.name).await?;
        Ok(Response::new(label(&found)))
    }

    async fn list_labels(
        &self,
        request: Request<pb::ListLabelsRequest>,
    ) -> Result<Response<pb::ListLabelsResponse>, Status> {
        let (caller, request) = split(request)?;
        let page_size = page_size(request.page_size, &self.limits)?;
        let page = labels::list(&self.app, &caller, page_size, &request.page_token).await?;
        Ok(Response::new(pb::ListLabelsResponse {
            labels: page.labels.iter().map(label).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn update_label(
        &self,
        request: Request<pb::UpdateLabelRequest>,
    ) -> Result<Response<pb::Label>, Status> {
        let (caller, request) = split(request)?;
        let mask = request.update_mask.map(|m| m.paths).unwrap_or_default();
        let done = labels::update(&self.app, &caller, request.label.map(fields), mask).await?;
        Ok(written(done.map(|l| label(&l))))
    }

    async fn delete_label(
        &self,
        request: Request<pb::DeleteLabelRequest>,
    ) -> Result<Response<pb::DeleteLabelResponse>, Status> {
        let (caller, request) = split(request)?;
        let done = labels::delete(&self.app, &caller, &request.name, &request.etag).await?;
        Ok(written(done.map(|()| pb::DeleteLabelResponse {})))
    }
}

fn fields(l: pb::Label) -> LabelFields {
    LabelFields {
        name: l.name,
        display_name: l.display_name,
        color: l.color,
        description: l.description,
        etag: l.etag,
    }
}

fn label(l: &Label) -> pb::Label {
    pb::Label {
        name: l.name(),
        display_name: l.display_name.clone(),
        color: l.color.clone(),
        description: l.description.clone(),
        creator: names::user_name(&l.creator_id),
        create_time: Some(convert::timestamp(l.create_time)),
        update_time: Some(convert::timestamp(l.update_time)),
        etag: labels::etag(l),
    }
}
