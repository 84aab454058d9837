//! AuditService: the change log as an audit trail.

use tonic::{Request, Response, Status};

use super::{convert, page_size, split};
use crate::app::{App, events};
use crate::core::dashboard::Limits;
use crate::core::event::Event;
use crate::core::names;
use crate::pb;
use crate::pb::audit_service_server::AuditService;

pub struct AuditApi {
    app: App,
    limits: Limits,
}

impl AuditApi {
    pub fn new(app: App, limits: Limits) -> Self {
        Self { app, limits }
    }
}

#[tonic::async_trait]
impl AuditService for AuditApi {
    async fn list_events(
        &self,
        request: Request<pb::ListEventsRequest>,
    ) -> Result<Response<pb::ListEventsResponse>, Status> {
        let (caller, request) = split(request)?;
        let page_size = page_size(request.page_size, &self.limits)?;
        let page = events::list_events(
            &self.app,
            &caller,
            &request.filter,
            page_size,
            &request.page_token,
        )
        .await?;
        Ok(Response::new(pb::ListEventsResponse {
            events: page.events.iter().map(event).collect(),
            next_page_token: page.next_page_token,
            revision: page.revision,
        }))
    }
}

fn event(e: &Event) -> pb::Event {
    pb::Event {
        name: format!("events/{}", e.revision),
        revision: e.revision,
        index: e.index,
        time: Some(convert::timestamp(e.time)),
        actor: e.actor.clone(),
        r#type: e.change.r#type.as_str().to_string(),
        resource: e.change.resource.clone(),
        dashboard: e
            .change
            .dashboard_id
            .as_deref()
            .map(names::dashboard_name)
            .unwrap_or_default(),
        changed_fields: e.change.changed_fields.clone(),
        grantee: e.change.grantee.clone().unwrap_or_default(),
        role: e.change.role.clone().unwrap_or_default(),
    }
}
