//! LibraryWidgetService: parse -> one `app::library_widgets` call -> convert.

use tonic::{Request, Response, Status};

use super::{convert, page_size, split, written};
use crate::app::App;
use crate::app::library_widgets::{self, LibraryWidgetUpdate};
use crate::core::dashboard::Limits;
use crate::core::library_widget::{LibraryWidget, parse_library_widget_name};
use crate::core::mask::MaskFields;
use crate::core::widget::{DataSource, WidgetFields, type_required};
use crate::core::{Error, Result, names};
use crate::pb;
use crate::pb::library_widget_service_server::LibraryWidgetService;

const CONTENT: [&str; 6] = [
    "type",
    "title",
    "subtitle",
    "description",
    "config",
    "data_sources",
];
const MASK: MaskFields = MaskFields {
    updatable: &CONTENT,
    output_only: &["name", "creator", "create_time", "update_time", "etag"],
};

pub struct LibraryWidgetApi {
    app: App,
    limits: Limits,
}

impl LibraryWidgetApi {
    pub fn new(app: App, limits: Limits) -> Self {
        Self { app, limits }
    }
}

#[tonic::async_trait]
impl LibraryWidgetService for LibraryWidgetApi {
    async fn create_library_widget(
        &self,
        request: Request<pb::CreateLibraryWidgetRequest>,
    ) -> Result<Response<pb::LibraryWidget>, Status> {
        let (caller, request) = split(request)?;
        let given = request
            .library_widget
            .ok_or_else(|| Error::invalid("library_widget", "required"))?;
        let fields = fields_of(&given, None)?.0;
        let created = library_widgets::create(&self.app, &caller, &self.limits, fields).await?;
        Ok(written(created.map(|l| library_widget(&l))))
    }

    async fn get_library_widget(
        &self,
        request: Request<pb::GetLibraryWidgetRequest>,
    ) -> Result<Response<pb::LibraryWidget>, Status> {
        let (caller, request) = split(request)?;
        let id = parse_library_widget_name("name", &request.name)?;
        let found = library_widgets::get(&self.app, &caller, &id).await?;
        Ok(Response::new(library_widget(&found)))
    }

    async fn list_library_widgets(
        &self,
        request: Request<pb::ListLibraryWidgetsRequest>,
    ) -> Result<Response<pb::ListLibraryWidgetsResponse>, Status> {
        let (caller, request) = split(request)?;
        let page_size = page_size(request.page_size, &self.limits)?;
        let page =
            library_widgets::list(&self.app, &caller, page_size, &request.page_token).await?;
        Ok(Response::new(pb::ListLibraryWidgetsResponse {
            library_widgets: page.library_widgets.iter().map(library_widget).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn update_library_widget(
        &self,
        request: Request<pb::UpdateLibraryWidgetRequest>,
    ) -> Result<Response<pb::LibraryWidget>, Status> {
        let (caller, request) = split(request)?;
        let given = request
            .library_widget
            .ok_or_else(|| Error::invalid("library_widget", "required"))?;
        let id = parse_library_widget_name("library_widget.name", &given.name)?;
        let paths = request.update_mask.map(|m| m.paths).unwrap_or_default();
        let (fields, changed_fields) = fields_of(&given, Some(&paths))?;
        let update = LibraryWidgetUpdate {
            id,
            etag: given.etag,
            fields,
            changed_fields,
        };
        let updated = library_widgets::update(&self.app, &caller, &self.limits, update).await?;
        Ok(written(updated.map(|l| library_widget(&l))))
    }

    async fn delete_library_widget(
        &self,
        request: Request<pb::DeleteLibraryWidgetRequest>,
    ) -> Result<Response<()>, Status> {
        let (caller, request) = split(request)?;
        let id = parse_library_widget_name("name", &request.name)?;
        let deleted =
            library_widgets::delete(&self.app, &caller, &id, &request.etag, request.force).await?;
        Ok(written(deleted))
    }

    async fn list_library_widget_connections(
        &self,
        request: Request<pb::ListLibraryWidgetConnectionsRequest>,
    ) -> Result<Response<pb::ListLibraryWidgetConnectionsResponse>, Status> {
        let (caller, request) = split(request)?;
        let id = parse_library_widget_name("name", &request.name)?;
        let page_size = page_size(request.page_size, &self.limits)?;
        let page =
            library_widgets::connections(&self.app, &caller, &id, page_size, &request.page_token)
                .await?;
        Ok(Response::new(pb::ListLibraryWidgetConnectionsResponse {
            connections: page
                .connections
                .iter()
                .map(|(d, w)| pb::LibraryWidgetConnection {
                    dashboard: names::dashboard_name(d),
                    widget: names::widget_name(d, w),
                })
                .collect(),
            next_page_token: page.next_page_token,
            hidden_count: i32::try_from(page.hidden_count).unwrap_or(i32::MAX),
        }))
    }
}

/// The content fields of `given` selected by `mask` (`None`: create, every field given;
/// empty mask: every populated field; `*`: all), and the mask's fields in order.
fn fields_of(
    given: &pb::LibraryWidget,
    mask: Option<&[String]>,
) -> Result<(WidgetFields, Vec<String>)> {
    let widget_type = convert::widget_type_in("library_widget.type", given.r#type)
        .map_err(|v| Error::invalid_fields(vec![v]))?;
    let config = || given.config.as_ref().map(convert::encode_struct);
    let sources = || -> Vec<DataSource> {
        given
            .data_sources
            .iter()
            .map(convert::data_source_in)
            .collect()
    };
    let Some(paths) = mask else {
        return Ok((
            WidgetFields {
                widget_type,
                title: Some(given.title.clone()),
                subtitle: Some(given.subtitle.clone()),
                description: Some(given.description.clone()),
                config: config(),
                data_sources: Some(sources()),
                ..Default::default()
            },
            Vec::new(),
        ));
    };
    let populated: Vec<&'static str> = [
        ("type", given.r#type != 0),
        ("title", !given.title.is_empty()),
        ("subtitle", !given.subtitle.is_empty()),
        ("description", !given.description.is_empty()),
        ("config", given.config.is_some()),
        ("data_sources", !given.data_sources.is_empty()),
    ]
    .into_iter()
    .filter_map(|(field, set)| set.then_some(field))
    .collect();
    let selected = MASK.select(paths, &CONTENT, &populated)?;
    let mut fields = WidgetFields::default();
    for path in &selected {
        match *path {
            "type" => {
                fields.widget_type = Some(widget_type.ok_or_else(|| {
                    Error::invalid_fields(vec![type_required("library_widget.type")])
                })?);
            }
            "title" => fields.title = Some(given.title.clone()),
            "subtitle" => fields.subtitle = Some(given.subtitle.clone()),
            "description" => fields.description = Some(given.description.clone()),
            "config" => fields.config = Some(config().unwrap_or_default()),
            _ => fields.data_sources = Some(sources()),
        }
    }
    let changed = CONTENT
        .iter()
        .filter(|f| selected.contains(f))
        .map(|f| f.to_string())
        .collect();
    Ok((fields, changed))
}

fn library_widget(l: &LibraryWidget) -> pb::LibraryWidget {
    pb::LibraryWidget {
        name: l.name(),
        r#type: convert::widget_type(l.widget_type) as i32,
        title: l.title.clone(),
        subtitle: l.subtitle.clone(),
        description: l.description.clone(),
        config: convert::decode_struct(&l.config),
        data_sources: l.data_sources.iter().map(convert::data_source).collect(),
        creator: names::user_name(&l.creator_id),
        create_time: Some(convert::timestamp(l.create_time)),
        update_time: Some(convert::timestamp(l.update_time)),
        etag: l.etag(),
    }
}
