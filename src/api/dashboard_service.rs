//! DashboardService: parse -> one `app::dashboards` call -> convert.

use std::time::Duration;

use tonic::{Request, Response, Status};

use super::{
    convert, page_fit, page_size, pagination, parse_dashboard_names, split, version_message, watch,
    written,
};
use crate::app::dashboards::{self, DuplicateRequest, NewDashboardFields};
use crate::app::watch as app_watch;
use crate::app::{App, Written};
use crate::core::dashboard::{Dashboard, DashboardFields, Limits, ListPage, SortKey};
use crate::core::error::echo;
use crate::core::mask::MaskFields;
use crate::core::widget::Widget;
use crate::core::{Error, Principal, Result, filter, names};
use crate::pb;
use crate::pb::dashboard_service_server::DashboardService;

/// The fields an update mask may name, and those the server sets.
const MASK: MaskFields = MaskFields {
    updatable: &[
        "title",
        "description",
        "metadata",
        "refresh_period",
        "inherit_access",
    ],
    output_only: &[
        "name",
        "creator",
        "create_time",
        "update_time",
        "delete_time",
        "expire_time",
        "etag",
        "folder",
    ],
};
/// What `*` and an empty mask select: the content fields. `inherit_access` changes who has
/// access (it needs SHARE), so only a mask that names it changes it.
const CONTENT: [&str; 4] = ["title", "description", "metadata", "refresh_period"];
const MAX_REQUEST_ID_CHARS: usize = 128;

pub struct DashboardApi {
    app: App,
    limits: Limits,
    trash_retention: Duration,
    watch_bookmark_interval: Duration,
}

impl DashboardApi {
    pub fn new(
        app: App,
        limits: Limits,
        trash_retention: Duration,
        watch_bookmark_interval: Duration,
    ) -> Self {
        Self {
            app,
            limits,
            trash_retention,
            watch_bookmark_interval,
        }
    }
}

#[tonic::async_trait]
impl DashboardService for DashboardApi {
    async fn create_dashboard(
        &self,
        request: Request<pb::CreateDashboardRequest>,
    ) -> Result<Response<pb::Dashboard>, Status> {
        let (caller, request) = split(request)?;
        let dashboard = request
            .dashboard
            .ok_or_else(|| Error::invalid("dashboard", "required"))?;
        let mut fields = fields_of(&dashboard, None)?;
        fields.title = Some(dashboard.title.clone());
        fields.description = Some(dashboard.description.clone());
        check_fields(&fields, "dashboard", &self.limits)?;
        let new = NewDashboardFields {
            request_id: request_id(request.request_id)?,
            title: dashboard.title,
            description: dashboard.description,
            metadata: fields.metadata.unwrap_or_default(),
            refresh_period_nanos: fields.refresh_period_nanos.flatten(),
            folder_id: super::folder_service::parent_of("dashboard.folder", &dashboard.folder)?,
            inherit_access: dashboard.inherit_access.unwrap_or(true),
        };
        let created = dashboards::create(&self.app, &caller, new).await?;
        self.respond(&caller, created).await
    }

    async fn get_dashboard(
        &self,
        request: Request<pb::GetDashboardRequest>,
    ) -> Result<Response<pb::Dashboard>, Status> {
        let (caller, request) = split(request)?;
        let id = names::parse_dashboard_name("name", &request.name)?;
        let full = is_full_view(request.view)?;
        let (dashboard, widgets) = dashboards::get(&self.app, &caller, &id, full).await?;
        Ok(Response::new(
            self.render_full(&caller, dashboard, &widgets).await?,
        ))
    }

    async fn list_dashboards(
        &self,
        request: Request<pb::ListDashboardsRequest>,
    ) -> Result<Response<pb::ListDashboardsResponse>, Status> {
        let (caller, request) = split(request)?;
        let full = is_full_view(request.view)?;
        let page_size =
            dashboards::page_size_for(page_size(request.page_size, &self.limits)?, full);
        let (sort, descending) = parse_order_by(&request.order_by)?;
        let fingerprint = pagination::fingerprint(&[
            request.filter.trim(),
            &format!("{sort:?}:{descending}"),
            if request.show_deleted {
                "deleted"
            } else {
                "live"
            },
        ]);
        let list = ListPage {
            filter: filter::parse(&request.filter)?,
            sort,
            descending,
            after: pagination::decode(&request.page_token, &fingerprint)?,
            show_deleted: request.show_deleted,
            limit: page_size as u64 + 1,
        };
        let budget = self.limits.max_response_bytes;
        let listed = dashboards::list_page(&self.app, &caller, list, page_size, full, budget);
        let dashboards::ListedPage {
            revision,
            dashboards: mut rows,
            widgets,
            mut more,
        } = listed.await?;
        let mut rendered = self.render(&caller, rows.clone()).await?;
        for (one, widgets) in rendered.iter_mut().zip(&widgets) {
            one.widgets = widgets.iter().map(convert::widget).collect();
        }
        more |= page_fit::fit(&mut rendered, budget);
        rows.truncate(rendered.len());
        let next_page_token = match rows.last() {
            Some(last) if more => pagination::encode(&fingerprint, sort.cursor_of(last), &last.id),
            _ => String::new(),
        };
        Ok(Response::new(pb::ListDashboardsResponse {
            dashboards: rendered,
            next_page_token,
            revision,
        }))
    }

    async fn watch_dashboards(
        &self,
        request: Request<pb::WatchDashboardsRequest>,
    ) -> Result<Response<watch::WatchStream>, Status> {
        let (caller, request) = split(request)?;
        let request = watch::parse(request, self.watch_bookmark_interval)?;
        let events = app_watch::watch(&self.app, &caller, request).await?;
        Ok(Response::new(watch::stream(events)))
    }

    async fn update_dashboard(
        &self,
        request: Request<pb::UpdateDashboardRequest>,
    ) -> Result<Response<pb::Dashboard>, Status> {
        let (caller, request) = split(request)?;
        let dashboard = request
            .dashboard
            .ok_or_else(|| Error::invalid("dashboard", "required"))?;
        let id = names::parse_dashboard_name("dashboard.name", &dashboard.name)?;
        let paths = request.update_mask.map(|m| m.paths).unwrap_or_default();
        let fields = fields_of(&dashboard, Some(&paths))?;
        check_fields(&fields, "dashboard", &self.limits)?;
        // Named in the mask but unset: the default, true.
        let inherit_access = paths
            .iter()
            .any(|p| p.trim() == "inherit_access")
            .then_some(dashboard.inherit_access != Some(false));
        if fields == DashboardFields::default() && inherit_access.is_none() {
            return Err(Error::invalid("update_mask", "names no field to update").into());
        }
        let message = version_message(&request.version_message)?;
        let update = dashboards::Update {
            etag: &dashboard.etag,
            fields: &fields,
            inherit_access,
            version_message: message,
        };
        let updated = dashboards::update(&self.app, &caller, &id, update).await?;
        self.respond(&caller, updated).await
    }

    async fn delete_dashboard(
        &self,
        request: Request<pb::DeleteDashboardRequest>,
    ) -> Result<Response<pb::Dashboard>, Status> {
        let (caller, request) = split(request)?;
        let id = names::parse_dashboard_name("name", &request.name)?;
        let deleted =
            dashboards::delete(&self.app, &caller, &id, &request.etag, self.trash_retention)
                .await?;
        self.respond(&caller, deleted).await
    }

    async fn undelete_dashboard(
        &self,
        request: Request<pb::UndeleteDashboardRequest>,
    ) -> Result<Response<pb::Dashboard>, Status> {
        let (caller, request) = split(request)?;
        let id = names::parse_dashboard_name("name", &request.name)?;
        let restored = dashboards::undelete(&self.app, &caller, &id).await?;
        self.respond(&caller, restored).await
    }

    async fn duplicate_dashboard(
        &self,
        request: Request<pb::DuplicateDashboardRequest>,
    ) -> Result<Response<pb::Dashboard>, Status> {
        let (caller, request) = split(request)?;
        let source_id = names::parse_dashboard_name("name", &request.name)?;
        let title = Some(request.title).filter(|t| !t.is_empty());
        let fields = DashboardFields {
            title: title.clone(),
            ..Default::default()
        };
        // The title is the request's own field (`title`), not `dashboard.title`.
        check_fields(&fields, "", &self.limits)?;
        let duplicate = DuplicateRequest {
            source_id,
            title,
            request_id: request_id(request.request_id)?,
            folder_id: super::folder_service::parent_of("folder", &request.folder)?,
        };
        let copy = dashboards::duplicate(&self.app, &caller, &self.limits, duplicate).await?;
        self.respond(&caller, copy).await
    }

    async fn move_dashboard(
        &self,
        request: Request<pb::MoveDashboardRequest>,
    ) -> Result<Response<pb::MoveDashboardResponse>, Status> {
        let (caller, request) = split(request)?;
        let id = names::parse_dashboard_name("name", &request.name)?;
        let folder_id = super::folder_service::parent_of("folder", &request.folder)?;
        let Written { value, revision } =
            dashboards::move_dashboard(&self.app, &caller, &id, folder_id, request.validate_only)
                .await?;
        let dashboard = self.render_full(&caller, value.dashboard, &[]).await?;
        Ok(written(Written {
            value: pb::MoveDashboardResponse {
                dashboard: Some(dashboard),
                access_changes: value
                    .access_changes
                    .iter()
                    .map(convert::access_change)
                    .collect(),
            },
            revision,
        }))
    }

    async fn batch_get_dashboards(
        &self,
        request: Request<pb::BatchGetDashboardsRequest>,
    ) -> Result<Response<pb::BatchGetDashboardsResponse>, Status> {
        let (caller, request) = split(request)?;
        let full = is_full_view(request.view)?;
        if request.names.is_empty() {
            return Err(Error::invalid("names", "required: at least one name").into());
        }
        if request.names.len() > self.limits.max_batch_get {
            return Err(Error::invalid(
                "names",
                format!(
                    "at most {} names per call (got {})",
                    self.limits.max_batch_get,
                    request.names.len()
                ),
            )
            .into());
        }
        let ids = parse_dashboard_names(&request.names)?;
        let found = dashboards::batch_get(&self.app, &caller, &ids, full).await?;
        // Rendered together: the caller's stars are read once for the whole batch.
        let (found, widgets): (Vec<Dashboard>, Vec<Vec<Widget>>) = found.into_iter().unzip();
        let mut rendered = self.render(&caller, found).await?;
        for (one, widgets) in rendered.iter_mut().zip(&widgets) {
            one.widgets = widgets.iter().map(convert::widget).collect();
        }
        page_fit::check_fits(&rendered, self.limits.max_response_bytes)?;
        Ok(Response::new(pb::BatchGetDashboardsResponse {
            dashboards: rendered,
        }))
    }

    async fn star_dashboard(
        &self,
        request: Request<pb::StarDashboardRequest>,
    ) -> Result<Response<pb::Dashboard>, Status> {
        let (caller, request) = split(request)?;
        let id = names::parse_dashboard_name("name", &request.name)?;
        let starred = dashboards::star(&self.app, &caller, &id).await?;
        self.respond(&caller, starred).await
    }

    async fn unstar_dashboard(
        &self,
        request: Request<pb::UnstarDashboardRequest>,
    ) -> Result<Response<pb::Dashboard>, Status> {
        let (caller, request) = split(request)?;
        let id = names::parse_dashboard_name("name", &request.name)?;
        let unstarred = dashboards::unstar(&self.app, &caller, &id).await?;
        self.respond(&caller, unstarred).await
    }

    async fn add_dashboard_label(
        &self,
        request: Request<pb::AddDashboardLabelRequest>,
    ) -> Result<Response<pb::Dashboard>, Status> {
        let (caller, request) = split(request)?;
        let id = names::parse_dashboard_name("name", &request.name)?;
        let done = dashboards::add_label(&self.app, &caller, &id, &request.label).await?;
        self.respond(&caller, done).await
    }

    async fn remove_dashboard_label(
        &self,
        request: Request<pb::RemoveDashboardLabelRequest>,
    ) -> Result<Response<pb::Dashboard>, Status> {
        let (caller, request) = split(request)?;
        let id = names::parse_dashboard_name("name", &request.name)?;
        let done = dashboards::remove_label(&self.app, &caller, &id, &request.label).await?;
        self.respond(&caller, done).await
    }

    async fn list_dashboard_data_sources(
        &self,
        request: Request<pb::ListDashboardDataSourcesRequest>,
    ) -> Result<Response<pb::ListDashboardDataSourcesResponse>, Status> {
        let (caller, request) = split(request)?;
        let id = names::parse_dashboard_name("name", &request.name)?;
        let sources = dashboards::data_sources(&self.app, &caller, &id).await?;
        Ok(Response::new(pb::ListDashboardDataSourcesResponse {
            data_sources: sources.iter().map(convert::data_source).collect(),
        }))
    }
}

impl DashboardApi {
    /// The wire form of dashboards, with their public-link state and the caller's stars.
    async fn render(
        &self,
        caller: &Principal,
        dashboards: Vec<Dashboard>,
    ) -> Result<Vec<pb::Dashboard>> {
        let dashboards = dashboards::with_caller_state(&self.app, caller, dashboards).await?;
        Ok(dashboards.iter().map(convert::dashboard).collect())
    }

    async fn render_full(
        &self,
        caller: &Principal,
        dashboard: Dashboard,
        widgets: &[Widget],
    ) -> Result<pb::Dashboard> {
        let mut rendered = self.render(caller, vec![dashboard]).await?;
        let mut one = rendered
            .pop()
            .ok_or_else(|| Error::internal("render lost a dashboard"))?;
        one.widgets = widgets.iter().map(convert::widget).collect();
        Ok(one)
    }

    /// A write's response: the dashboard and `x-dashboards-revision`.
    async fn respond(
        &self,
        caller: &Principal,
        written_: Written<Dashboard>,
    ) -> Result<Response<pb::Dashboard>, Status> {
        let Written { value, revision } = written_;
        let rendered = self.render_full(caller, value, &[]).await?;
        Ok(written(Written {
            value: rendered,
            revision,
        }))
    }
}

/// The writable fields of `dashboard` selected by `mask` (`None`: create, every field;
/// empty mask: every populated field; `*`: every updatable field).
fn fields_of(dashboard: &pb::Dashboard, mask: Option<&[String]>) -> Result<DashboardFields> {
    let metadata = || dashboard.metadata.as_ref().map(convert::encode_struct);
    let refresh = || -> Result<Option<i64>> {
        dashboard
            .refresh_period
            .as_ref()
            .map(|d| convert::duration_nanos("dashboard.refresh_period", d))
            .transpose()
    };
    let Some(paths) = mask else {
        return Ok(DashboardFields {
            title: None,
            description: None,
            metadata: metadata(),
            refresh_period_nanos: Some(refresh()?),
        });
    };
    let populated: Vec<&'static str> = [
        ("title", !dashboard.title.is_empty()),
        ("description", !dashboard.description.is_empty()),
        ("metadata", dashboard.metadata.is_some()),
        ("refresh_period", dashboard.refresh_period.is_some()),
    ]
    .into_iter()
    .filter_map(|(field, set)| set.then_some(field))
    .collect();
    let selected = MASK.select(paths, &CONTENT, &populated)?;
    let mut fields = DashboardFields::default();
    for path in selected {
        match path {
            "title" => fields.title = Some(dashboard.title.clone()),
            "description" => fields.description = Some(dashboard.description.clone()),
            "metadata" => fields.metadata = Some(metadata().unwrap_or_default()),
            "refresh_period" => fields.refresh_period_nanos = Some(refresh()?),
            _ => {}
        }
    }
    Ok(fields)
}

fn check_fields(fields: &DashboardFields, prefix: &str, limits: &Limits) -> Result<()> {
    let violations = fields.validate(prefix, limits);
    if violations.is_empty() {
        Ok(())
    } else {
        Err(Error::invalid_fields(violations))
    }
}

/// An optional idempotency key: `None` when empty.
fn request_id(given: String) -> Result<Option<String>> {
    if given.chars().count() > MAX_REQUEST_ID_CHARS {
        return Err(Error::invalid(
            "request_id",
            format!("must be at most {MAX_REQUEST_ID_CHARS} characters"),
        ));
    }
    Ok(Some(given).filter(|r| !r.is_empty()))
}

/// True for DASHBOARD_VIEW_FULL; BASIC and UNSPECIFIED are the dashboard alone.
fn is_full_view(view: i32) -> Result<bool> {
    match pb::DashboardView::try_from(view) {
        Ok(pb::DashboardView::Full) => Ok(true),
        Ok(_) => Ok(false),
        Err(_) => Err(Error::invalid("view", format!("unknown view {view}"))),
    }
}

/// `create_time`, `update_time` or `title`, with optional `asc`/`desc`. Default
/// `create_time desc`.
fn parse_order_by(order_by: &str) -> Result<(SortKey, bool)> {
    let mut words = order_by.split_whitespace();
    let Some(field) = words.next() else {
        return Ok((SortKey::CreateTime, true));
    };
    let sort = match field {
        "create_time" => SortKey::CreateTime,
        "update_time" => SortKey::UpdateTime,
        "title" => SortKey::Title,
        other => {
            return Err(Error::invalid(
                "order_by",
                format!(
                    "cannot order by {}: use create_time, update_time or title",
                    echo(other)
                ),
            ));
        }
    };
    let descending = match words.next() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(other) => {
            return Err(Error::invalid(
                "order_by",
                format!("expected asc or desc, got {}", echo(other)),
            ));
        }
    };
    if words.next().is_some() {
        return Err(Error::invalid(
            "order_by",
            "orders by one field: `<field> [asc|desc]`",
        ));
    }
    Ok((sort, descending))
}
