//! DashboardService.

use std::collections::HashMap;
use std::time::Duration;

use tonic::{Request, Response, Status};

use super::{
    check_etag, convert, page_fit, page_size, pagination, parse_dashboard_names, principal, written,
};
use crate::app::dashboards::{self, NewDashboardFields};
use crate::app::{App, Authorizer};
use crate::core::authz::Permission;
use crate::core::dashboard::{Dashboard, DashboardFields, Limits};
use crate::core::error::echo;
use crate::core::widget::{Widget, unique_data_sources};
use crate::core::{Error, Principal, Result, Violation, filter, names, now_micros};
use crate::pb;
use crate::pb::dashboard_service_server::DashboardService;
use crate::store::Store;
use crate::store::dashboards::{ListQuery, SortKey};

/// Fields an update mask may name.
const UPDATABLE: [&str; 4] = ["title", "description", "metadata", "refresh_period"];
/// Fields the server sets; naming them in a mask is an error.
const OUTPUT_ONLY: [&str; 7] = [
    "name",
    "creator",
    "create_time",
    "update_time",
    "delete_time",
    "expire_time",
    "etag",
];
/// Server-side retries of an update that carries no etag and lost a race.
const MAX_REQUEST_ID_CHARS: usize = 128;

pub struct DashboardApi {
    app: App,
    store: Store,
    authorizer: Authorizer,
    limits: Limits,
    trash_retention: Duration,
}

impl DashboardApi {
    pub fn new(app: App, limits: Limits, trash_retention: Duration) -> Self {
        Self {
            store: app.store.clone(),
            authorizer: app.authorizer.clone(),
            app,
            limits,
            trash_retention,
        }
    }
}

#[tonic::async_trait]
impl DashboardService for DashboardApi {
    async fn create_dashboard(
        &self,
        request: Request<pb::CreateDashboardRequest>,
    ) -> Result<Response<pb::Dashboard>, Status> {
        let caller = principal(&request)?;
        let request = request.into_inner();
        let dashboard = request
            .dashboard
            .ok_or_else(|| Error::invalid("dashboard", "required"))?;
        let mut fields = fields_of(&dashboard, None)?;
        fields.title = Some(dashboard.title.clone());
        fields.description = Some(dashboard.description.clone());
        check_fields(&fields, &self.limits)?;
        if request.request_id.chars().count() > MAX_REQUEST_ID_CHARS {
            return Err(Error::invalid(
                "request_id",
                format!("must be at most {MAX_REQUEST_ID_CHARS} characters"),
            )
            .into());
        }
        let created = dashboards::create(
            &self.app,
            &caller,
            NewDashboardFields {
                request_id: Some(request.request_id).filter(|r| !r.is_empty()),
                title: dashboard.title,
                description: dashboard.description,
                metadata: fields.metadata.unwrap_or_default(),
                refresh_period_nanos: fields.refresh_period_nanos.flatten(),
            },
        )
        .await?;
        let rendered = self.render_one(&created.value).await?;
        Ok(written(created.map(|_| rendered)))
    }

    async fn get_dashboard(
        &self,
        request: Request<pb::GetDashboardRequest>,
    ) -> Result<Response<pb::Dashboard>, Status> {
        let caller = principal(&request)?;
        let request = request.into_inner();
        let id = names::parse_dashboard_name("name", &request.name)?;
        let full = is_full_view(request.view)?;
        let (dashboard, _) = self
            .authorizer
            .dashboard(&caller, &id, Permission::Read)
            .await?;
        let rendered = self.render_one(&dashboard).await?;
        if !full {
            return Ok(Response::new(rendered));
        }
        let widgets = self
            .store
            .widgets()
            .of_dashboards(&caller.org_id, std::slice::from_ref(&dashboard.id))
            .await?;
        Ok(Response::new(pb::Dashboard {
            widgets: widgets.iter().map(convert::widget).collect(),
            ..rendered
        }))
    }

    async fn list_dashboards(
        &self,
        request: Request<pb::ListDashboardsRequest>,
    ) -> Result<Response<pb::ListDashboardsResponse>, Status> {
        let caller = principal(&request)?;
        let request = request.into_inner();
        let page_size = page_size(request.page_size, &self.limits)?;
        let filter = filter::parse(&request.filter)?;
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
        let after = pagination::decode(&request.page_token, &fingerprint)?;
        // An ADMIN reads every dashboard: its subjects matter only to a filter
        // (`shared_with_me`).
        let subjects = if caller.is_admin() && filter.is_none() {
            Vec::new()
        } else {
            self.authorizer.subjects(&caller).await?
        };
        if let Some(filter) = &filter {
            filter::check_cost(filter, subjects.len())?;
        }
        let query = ListQuery {
            org_id: caller.org_id.clone(),
            caller_id: caller.user_id.clone(),
            subjects,
            only_readable: !caller.is_admin(),
            now: now_micros(),
            filter,
            sort,
            descending,
            after,
            show_deleted: request.show_deleted,
            limit: page_size as u64 + 1,
        };
        let mut rows = self.store.dashboards().list(&query).await?;
        let mut more = rows.len() > page_size;
        rows.truncate(page_size);
        let mut dashboards = self.render(&rows).await?;
        more |= page_fit::fit(&mut dashboards, self.limits.max_response_bytes);
        rows.truncate(dashboards.len());
        let next_page_token = match rows.last() {
            Some(last) if more => pagination::encode(&fingerprint, sort.cursor_of(last), &last.id),
            _ => String::new(),
        };
        Ok(Response::new(pb::ListDashboardsResponse {
            dashboards,
            next_page_token,
        }))
    }

    async fn update_dashboard(
        &self,
        request: Request<pb::UpdateDashboardRequest>,
    ) -> Result<Response<pb::Dashboard>, Status> {
        let caller = principal(&request)?;
        let request = request.into_inner();
        let dashboard = request
            .dashboard
            .ok_or_else(|| Error::invalid("dashboard", "required"))?;
        let id = names::parse_dashboard_name("dashboard.name", &dashboard.name)?;
        let paths = request.update_mask.map(|m| m.paths).unwrap_or_default();
        let fields = fields_of(&dashboard, Some(&paths))?;
        check_fields(&fields, &self.limits)?;
        if fields == DashboardFields::default() {
            return Err(Error::invalid("update_mask", "names no field to update").into());
        }
        let (current, _) = self
            .authorizer
            .dashboard(&caller, &id, Permission::Write)
            .await?;
        if current.is_deleted() {
            return Err(deleted(&current.name()).into());
        }
        check_etag(&dashboard.etag, &current.etag(), &current.name())?;
        // With an etag the caller asked for that exact version; without one the mask applies
        // to whatever version is current when the statement runs.
        let expected = (!dashboard.etag.is_empty()).then_some(current.revision);
        let now = now_micros().max(current.update_time);
        match self
            .store
            .dashboards()
            .update(&caller.org_id, &id, expected, &fields, now)
            .await?
        {
            Some(updated) => Ok(Response::new(self.render_one(&updated).await?)),
            None => Err(self
                .lost_race(&caller, &id, expected.is_some(), |d| deleted(&d.name()))
                .await
                .into()),
        }
    }

    async fn delete_dashboard(
        &self,
        request: Request<pb::DeleteDashboardRequest>,
    ) -> Result<Response<pb::Dashboard>, Status> {
        let caller = principal(&request)?;
        let request = request.into_inner();
        let id = names::parse_dashboard_name("name", &request.name)?;
        let (current, _) = self
            .authorizer
            .dashboard(&caller, &id, Permission::Delete)
            .await?;
        if current.is_deleted() {
            return Err(already_deleted(&current).into());
        }
        check_etag(&request.etag, &current.etag(), &current.name())?;
        let now = now_micros().max(current.update_time);
        let expire =
            now.saturating_add(self.trash_retention.as_micros().min(i64::MAX as u128) as i64);
        let expected = (!request.etag.is_empty()).then_some(current.revision);
        let Some(deleted) = self
            .store
            .dashboards()
            .set_deleted(&caller.org_id, &id, expected, Some((now, expire)), now)
            .await?
        else {
            return Err(self
                .lost_race(&caller, &id, expected.is_some(), already_deleted)
                .await
                .into());
        };
        Ok(Response::new(self.render_one(&deleted).await?))
    }

    async fn undelete_dashboard(
        &self,
        request: Request<pb::UndeleteDashboardRequest>,
    ) -> Result<Response<pb::Dashboard>, Status> {
        let caller = principal(&request)?;
        let request = request.into_inner();
        let id = names::parse_dashboard_name("name", &request.name)?;
        let (current, _) = self
            .authorizer
            .dashboard(&caller, &id, Permission::Delete)
            .await?;
        if !current.is_deleted() {
            return Err(not_deleted(&current).into());
        }
        let now = now_micros().max(current.update_time);
        let Some(restored) = self
            .store
            .dashboards()
            .set_deleted(&caller.org_id, &id, None, None, now)
            .await?
        else {
            return Err(self
                .lost_race(&caller, &id, false, not_deleted)
                .await
                .into());
        };
        Ok(Response::new(self.render_one(&restored).await?))
    }

    async fn batch_get_dashboards(
        &self,
        request: Request<pb::BatchGetDashboardsRequest>,
    ) -> Result<Response<pb::BatchGetDashboardsResponse>, Status> {
        let caller = principal(&request)?;
        let request = request.into_inner();
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
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        let found = self
            .store
            .dashboards()
            .get_many(&caller.org_id, &unique)
            .await?;
        let access = self.authorizer.access_many(&caller, &found).await?;
        let readable: HashMap<&str, _> = found
            .iter()
            .zip(access)
            .filter(|(_, a)| a.permissions.contains(Permission::Read))
            .map(|(d, _)| (d.id.as_str(), d))
            .collect();
        let mut widgets: HashMap<String, Vec<Widget>> = HashMap::new();
        if full && !readable.is_empty() {
            let readable_ids: Vec<String> = readable.keys().map(|id| id.to_string()).collect();
            for widget in self
                .store
                .widgets()
                .of_dashboards(&caller.org_id, &readable_ids)
                .await?
            {
                widgets
                    .entry(widget.dashboard_id.clone())
                    .or_default()
                    .push(widget);
            }
        }
        let dashboards = ids
            .iter()
            .map(|id| {
                readable
                    .get(id.as_str())
                    .map(|d| (*d).clone())
                    .ok_or_else(|| Error::not_found(names::dashboard_name(id)))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut rendered = self.render(&dashboards).await?;
        for dashboard in &mut rendered {
            if let Some(ws) = widgets.get(dashboard.name.trim_start_matches("dashboards/")) {
                dashboard.widgets = ws.iter().map(convert::widget).collect();
            }
        }
        page_fit::check_fits(&rendered, self.limits.max_response_bytes)?;
        Ok(Response::new(pb::BatchGetDashboardsResponse {
            dashboards: rendered,
        }))
    }

    async fn list_dashboard_data_sources(
        &self,
        request: Request<pb::ListDashboardDataSourcesRequest>,
    ) -> Result<Response<pb::ListDashboardDataSourcesResponse>, Status> {
        let caller = principal(&request)?;
        let request = request.into_inner();
        let id = names::parse_dashboard_name("name", &request.name)?;
        let (dashboard, _) = self
            .authorizer
            .dashboard(&caller, &id, Permission::Read)
            .await?;
        let widgets = self
            .store
            .widgets()
            .of_dashboards(&caller.org_id, std::slice::from_ref(&dashboard.id))
            .await?;
        Ok(Response::new(pb::ListDashboardDataSourcesResponse {
            data_sources: unique_data_sources(&widgets)
                .iter()
                .map(convert::data_source)
                .collect(),
        }))
    }
}

impl DashboardApi {
    /// Why a conditional write changed nothing. With an etag: the caller's version is gone.
    /// Without one: the dashboard left the state the call needs since it was read (`state`
    /// says how), or the caller can no longer see it.
    async fn lost_race(
        &self,
        caller: &Principal,
        id: &str,
        had_etag: bool,
        state: fn(&Dashboard) -> Error,
    ) -> Error {
        if had_etag {
            return Error::EtagMismatch {
                resource: names::dashboard_name(id),
            };
        }
        match self
            .authorizer
            .dashboard(caller, id, Permission::Read)
            .await
        {
            Ok((current, _)) => state(&current),
            Err(err) => err,
        }
    }

    /// The wire form of dashboards, with their public-link state.
    async fn render(&self, dashboards: &[Dashboard]) -> Result<Vec<pb::Dashboard>> {
        // Reads carry their public-link state; only dashboards fresh from a write need it
        // looked up.
        let unknown: Vec<String> = dashboards
            .iter()
            .filter(|d| d.is_public.is_none())
            .map(|d| d.id.clone())
            .collect();
        let public = self
            .store
            .public_links()
            .public_among(&unknown, now_micros())
            .await?;
        Ok(dashboards
            .iter()
            .map(|d| pb::Dashboard {
                is_public: d.is_public.unwrap_or_else(|| public.contains(&d.id)),
                ..convert::dashboard(d)
            })
            .collect())
    }

    async fn render_one(&self, dashboard: &Dashboard) -> Result<pb::Dashboard> {
        let mut rendered = self.render(std::slice::from_ref(dashboard)).await?;
        rendered
            .pop()
            .ok_or_else(|| Error::internal("render lost a dashboard"))
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
    let mut selected: Vec<&str> = Vec::new();
    if paths.is_empty() {
        if !dashboard.title.is_empty() {
            selected.push("title");
        }
        if !dashboard.description.is_empty() {
            selected.push("description");
        }
        if dashboard.metadata.is_some() {
            selected.push("metadata");
        }
        if dashboard.refresh_period.is_some() {
            selected.push("refresh_period");
        }
    } else {
        let mut violations = Vec::new();
        for path in paths {
            let path = path.trim();
            if path == "*" {
                selected.extend(UPDATABLE);
            } else if UPDATABLE.contains(&path) {
                selected.push(path);
            } else if OUTPUT_ONLY.contains(&path) {
                violations.push(Violation::new(
                    "update_mask",
                    format!("{} is output only", echo(path)),
                ));
            } else {
                violations.push(Violation::new(
                    "update_mask",
                    format!(
                        "unknown field {}: updatable fields are {}",
                        echo(path),
                        UPDATABLE.join(", ")
                    ),
                ));
            }
        }
        if !violations.is_empty() {
            return Err(Error::invalid_fields(violations));
        }
    }
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

fn check_fields(fields: &DashboardFields, limits: &Limits) -> Result<()> {
    let violations = fields.validate("dashboard", limits);
    if violations.is_empty() {
        Ok(())
    } else {
        Err(Error::invalid_fields(violations))
    }
}

/// True for DASHBOARD_VIEW_FULL; BASIC and UNSPECIFIED are the dashboard alone.
fn is_full_view(view: i32) -> Result<bool> {
    match pb::DashboardView::try_from(view) {
        Ok(pb::DashboardView::Full) => Ok(true),
        Ok(_) => Ok(false),
        Err(_) => Err(Error::invalid("view", format!("unknown view {view}"))),
    }
}

fn already_deleted(dashboard: &Dashboard) -> Error {
    Error::failed_precondition(
        "ALREADY_DELETED",
        dashboard.name(),
        "the dashboard is already in the trash",
    )
}

fn not_deleted(dashboard: &Dashboard) -> Error {
    Error::failed_precondition(
        "NOT_DELETED",
        dashboard.name(),
        "the dashboard is not in the trash",
    )
}

fn deleted(resource: &str) -> Error {
    Error::failed_precondition(
        "DASHBOARD_DELETED",
        resource,
        "the dashboard is in the trash; undelete it first",
    )
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
