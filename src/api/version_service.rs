//! VersionService: a dashboard's history.

use tonic::{Request, Response, Status};

use super::{convert, page_size, split, version_message, written};
use crate::app::{App, versions};
use crate::core::dashboard::Limits;
use crate::core::version::{VersionContent, VersionInfo};
use crate::core::{Error, Result, names};
use crate::pb;
use crate::pb::version_service_server::VersionService;

pub struct VersionApi {
    app: App,
    limits: Limits,
}

impl VersionApi {
    pub fn new(app: App, limits: Limits) -> Self {
        Self { app, limits }
    }
}

#[tonic::async_trait]
impl VersionService for VersionApi {
    async fn list_dashboard_versions(
        &self,
        request: Request<pb::ListDashboardVersionsRequest>,
    ) -> Result<Response<pb::ListDashboardVersionsResponse>, Status> {
        let (caller, request) = split(request)?;
        let dashboard_id = names::parse_dashboard_name("parent", &request.parent)?;
        let page_size = page_size(request.page_size, &self.limits)?;
        let page = versions::list(
            &self.app,
            &caller,
            &dashboard_id,
            page_size,
            &request.page_token,
        )
        .await?;
        Ok(Response::new(pb::ListDashboardVersionsResponse {
            versions: page.versions.iter().map(version).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn get_dashboard_version(
        &self,
        request: Request<pb::GetDashboardVersionRequest>,
    ) -> Result<Response<pb::DashboardVersion>, Status> {
        let (caller, request) = split(request)?;
        let (dashboard_id, number) = names::parse_version_name("name", &request.name)?;
        let content = versions::get(&self.app, &caller, &dashboard_id, number).await?;
        Ok(Response::new(with_content(&caller.org_id, &content)))
    }

    async fn diff_dashboard_versions(
        &self,
        request: Request<pb::DiffDashboardVersionsRequest>,
    ) -> Result<Response<pb::DiffDashboardVersionsResponse>, Status> {
        let (caller, request) = split(request)?;
        let dashboard_id = names::parse_dashboard_name("name", &request.name)?;
        let base = version_number("base", &request.base)?;
        let target = version_number("target", &request.target)?;
        let diff = versions::diff(&self.app, &caller, &dashboard_id, base, target).await?;
        let widget = |id: &String| names::widget_name(&dashboard_id, id);
        Ok(Response::new(pb::DiffDashboardVersionsResponse {
            fields: diff.fields.iter().map(|f| f.to_string()).collect(),
            widgets_added: diff.widgets_added.iter().map(widget).collect(),
            widgets_removed: diff.widgets_removed.iter().map(widget).collect(),
            widgets_changed: diff
                .widgets_changed
                .iter()
                .map(|(id, fields)| pb::WidgetChange {
                    widget: widget(id),
                    fields: fields.iter().map(|f| f.to_string()).collect(),
                })
                .collect(),
        }))
    }

    async fn restore_dashboard_version(
        &self,
        request: Request<pb::RestoreDashboardVersionRequest>,
    ) -> Result<Response<pb::Dashboard>, Status> {
        let (caller, request) = split(request)?;
        let (dashboard_id, number) = names::parse_version_name("name", &request.name)?;
        let message = version_message(&request.version_message)?;
        let restored = versions::restore(
            &self.app,
            &caller,
            &dashboard_id,
            number,
            &request.etag,
            message,
        )
        .await?;
        Ok(written(restored.map(|d| convert::dashboard(&d))))
    }
}

/// A version number given as text (`"3"`).
fn version_number(field: &str, text: &str) -> Result<i64> {
    match text.trim().parse::<i64>() {
        Ok(n) if n > 0 => Ok(n),
        _ if text.is_empty() => Err(Error::invalid(field, "required: a version number")),
        _ => Err(Error::invalid(
            field,
            format!("{} is not a version number", crate::core::error::echo(text)),
        )),
    }
}

fn version(info: &VersionInfo) -> pb::DashboardVersion {
    pb::DashboardVersion {
        name: names::version_name(&info.dashboard_id, info.version),
        version: info.version,
        revision: info.revision,
        actor: info.actor.clone(),
        create_time: Some(convert::timestamp(info.create_time)),
        version_message: info.message.clone().unwrap_or_default(),
        restored_from: info.restored_from.unwrap_or(0),
        dashboard: None,
    }
}

fn with_content(org_id: &str, content: &VersionContent) -> pb::DashboardVersion {
    let dashboard_id = &content.info.dashboard_id;
    let fields = &content.fields;
    let dashboard = pb::Dashboard {
        name: names::dashboard_name(dashboard_id),
        title: fields.title.clone(),
        description: fields.description.clone(),
        metadata: convert::decode_struct(&fields.metadata),
        refresh_period: fields.refresh_period_nanos.map(convert::duration),
        widgets: content
            .widgets
            .iter()
            .map(|w| {
                let mut widget =
                    convert::widget(&w.content.to_widget(org_id, dashboard_id, &w.id, w.layout));
                // Not part of a version: the widget's etag and update time are today's.
                widget.etag = String::new();
                widget.update_time = None;
                widget
            })
            .collect(),
        ..Default::default()
    };
    pb::DashboardVersion {
        dashboard: Some(dashboard),
        ..version(&content.info)
    }
}
