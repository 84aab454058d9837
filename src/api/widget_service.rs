//! WidgetService: parse -> one `app::widgets` call -> convert.

use tonic::{Request, Response, Status};

use super::{convert, page_fit, page_size, split, version_message, written};
use crate::app::App;
use crate::app::widgets::{
    self, LayoutBatch, LayoutEntry, NewWidgetRequest, WidgetPageRequest, WidgetUpdate,
};
use crate::core::dashboard::Limits;
use crate::core::library_widget::parse_library_widget_name;
use crate::core::mask::MaskFields;
use crate::core::widget::{LayoutPatch, WidgetFields, type_required};
use crate::core::{Error, Result, Violation, names};
use crate::pb;
use crate::pb::widget_service_server::WidgetService;

/// The fields an update mask may name (`layout.x` & co. select one coordinate), and those
/// the server sets.
const MASK: MaskFields = MaskFields {
    updatable: &[
        "type",
        "title",
        "subtitle",
        "description",
        "layout",
        "layout.x",
        "layout.y",
        "layout.w",
        "layout.h",
        "config",
        "data_sources",
        "library_widget",
    ],
    output_only: &["name", "create_time", "update_time", "etag"],
};
const LAYOUT_FIELD: &str = "widget.layout";

pub struct WidgetApi {
    app: App,
    limits: Limits,
}

impl WidgetApi {
    pub fn new(app: App, limits: Limits) -> Self {
        Self { app, limits }
    }
}

#[tonic::async_trait]
impl WidgetService for WidgetApi {
    async fn create_widget(
        &self,
        request: Request<pb::CreateWidgetRequest>,
    ) -> Result<Response<pb::Widget>, Status> {
        let (caller, request) = split(request)?;
        let dashboard_id = names::parse_dashboard_name("parent", &request.parent)?;
        let source = (!request.source_widget.is_empty())
            .then(|| names::parse_widget_name("source_widget", &request.source_widget))
            .transpose()?;
        let widget = match request.widget {
            Some(widget) => widget,
            None if source.is_some() => pb::Widget::default(),
            None => return Err(Error::invalid("widget", "required").into()),
        };
        let (fields, _) = fields_of(&widget, None)?;
        let library_widget = (!widget.library_widget.is_empty())
            .then(|| parse_library_widget_name("widget.library_widget", &widget.library_widget))
            .transpose()?;
        let new = NewWidgetRequest {
            dashboard_id,
            source,
            fields,
            library_widget,
            version_message: version_message(&request.version_message)?.to_string(),
        };
        let created = widgets::create(&self.app, &caller, &self.limits, new).await?;
        Ok(written(created.map(|w| convert::widget(&w))))
    }

    async fn get_widget(
        &self,
        request: Request<pb::GetWidgetRequest>,
    ) -> Result<Response<pb::Widget>, Status> {
        let (caller, request) = split(request)?;
        let (dashboard_id, id) = names::parse_widget_name("name", &request.name)?;
        let widget = widgets::get(&self.app, &caller, &dashboard_id, &id).await?;
        Ok(Response::new(convert::widget(&widget)))
    }

    async fn list_widgets(
        &self,
        request: Request<pb::ListWidgetsRequest>,
    ) -> Result<Response<pb::ListWidgetsResponse>, Status> {
        let (caller, request) = split(request)?;
        let dashboard_id = names::parse_dashboard_name("parent", &request.parent)?;
        let page_request = WidgetPageRequest {
            parent: &request.parent,
            dashboard_id,
            page_size: page_size(request.page_size, &self.limits)?,
            page_token: &request.page_token,
            order_by: &request.order_by,
        };
        let page = widgets::list(&self.app, &caller, page_request).await?;
        let mut widgets: Vec<pb::Widget> = page.widgets.iter().map(convert::widget).collect();
        page_fit::fit(&mut widgets, self.limits.max_response_bytes);
        Ok(Response::new(pb::ListWidgetsResponse {
            next_page_token: page.next_page_token(widgets.len()),
            widgets,
        }))
    }

    async fn update_widget(
        &self,
        request: Request<pb::UpdateWidgetRequest>,
    ) -> Result<Response<pb::Widget>, Status> {
        let (caller, request) = split(request)?;
        let widget = request
            .widget
            .ok_or_else(|| Error::invalid("widget", "required"))?;
        let (dashboard_id, id) = names::parse_widget_name("widget.name", &widget.name)?;
        let paths = request.update_mask.map(|m| m.paths).unwrap_or_default();
        let (fields, changed_fields) = fields_of(&widget, Some(&paths))?;
        let update = WidgetUpdate {
            dashboard_id,
            id,
            etag: widget.etag,
            fields,
            changed_fields,
            version_message: version_message(&request.version_message)?.to_string(),
        };
        let updated = widgets::update(&self.app, &caller, &self.limits, update).await?;
        Ok(written(updated.map(|w| convert::widget(&w))))
    }

    async fn delete_widget(
        &self,
        request: Request<pb::DeleteWidgetRequest>,
    ) -> Result<Response<()>, Status> {
        let (caller, request) = split(request)?;
        let (dashboard_id, id) = names::parse_widget_name("name", &request.name)?;
        let message = version_message(&request.version_message)?;
        let deleted = widgets::delete(
            &self.app,
            &caller,
            &dashboard_id,
            &id,
            &request.etag,
            message,
        )
        .await?;
        Ok(written(deleted))
    }

    async fn batch_update_widget_layouts(
        &self,
        request: Request<pb::BatchUpdateWidgetLayoutsRequest>,
    ) -> Result<Response<pb::BatchUpdateWidgetLayoutsResponse>, Status> {
        let (caller, request) = split(request)?;
        let dashboard_id = names::parse_dashboard_name("parent", &request.parent)?;
        let entries: Vec<LayoutEntry> = request
            .layouts
            .iter()
            .map(|entry| LayoutEntry {
                widget: entry.widget.clone(),
                layout: entry.layout.as_ref().map(convert::layout_patch),
            })
            .collect();
        let batch = LayoutBatch {
            dashboard_id: &dashboard_id,
            etag: &request.etag,
            entries: &entries,
            version_message: version_message(&request.version_message)?,
            remove_unlisted: request.remove_unlisted,
        };
        let done = widgets::batch_update_layouts(&self.app, &caller, &self.limits, batch).await?;
        Ok(written(done.map(|done| {
            pb::BatchUpdateWidgetLayoutsResponse {
                widgets: done.widgets.iter().map(convert::widget).collect(),
                removed_widgets: done.removed,
            }
        })))
    }
}

/// The writable fields of `widget` selected by `mask` (`None`: create, every field given;
/// empty mask: every populated field; `*`: every updatable field), and the mask's fields
/// in the order of [`UPDATABLE`] (empty on create).
fn fields_of(widget: &pb::Widget, mask: Option<&[String]>) -> Result<(WidgetFields, Vec<String>)> {
    let mut violations = Vec::new();
    let widget_type = match convert::widget_type_in("widget.type", widget.r#type) {
        Ok(t) => t,
        Err(v) => {
            violations.push(v);
            None
        }
    };
    let config = || widget.config.as_ref().map(convert::encode_struct);
    let sources = || {
        widget
            .data_sources
            .iter()
            .map(convert::data_source_in)
            .collect::<Vec<_>>()
    };
    let given_layout = widget.layout.as_ref().map(convert::layout_patch);
    let Some(paths) = mask else {
        if !violations.is_empty() {
            return Err(Error::invalid_fields(violations));
        }
        let fields = WidgetFields {
            widget_type,
            title: Some(widget.title.clone()),
            subtitle: Some(widget.subtitle.clone()),
            description: Some(widget.description.clone()),
            layout: given_layout,
            config: config(),
            data_sources: (!widget.data_sources.is_empty()).then(sources),
            library_widget: None,
        };
        return Ok((fields, Vec::new()));
    };
    let populated: Vec<&'static str> = [
        ("type", widget.r#type != 0),
        ("title", !widget.title.is_empty()),
        ("subtitle", !widget.subtitle.is_empty()),
        ("description", !widget.description.is_empty()),
        ("layout", widget.layout.is_some()),
        ("config", widget.config.is_some()),
        ("data_sources", !widget.data_sources.is_empty()),
        ("library_widget", !widget.library_widget.is_empty()),
    ]
    .into_iter()
    .filter_map(|(field, set)| set.then_some(field))
    .collect();
    let star: Vec<&'static str> = [
        "type",
        "title",
        "subtitle",
        "description",
        "config",
        "data_sources",
    ]
    .into_iter()
    .chain(widget.layout.is_some().then_some("layout"))
    .collect();
    let selected = match MASK.select(paths, &star, &populated) {
        Ok(selected) => selected,
        Err(Error::InvalidArgument { violations: v, .. }) => {
            violations.extend(v);
            Vec::new()
        }
        Err(other) => return Err(other),
    };
    let changed: Vec<String> = MASK
        .updatable
        .iter()
        .filter(|p| selected.contains(p))
        .map(|p| p.to_string())
        .collect();
    let mut fields = WidgetFields::default();
    for path in selected {
        match path {
            "type" => match widget_type {
                Some(t) => fields.widget_type = Some(t),
                None if widget.r#type == 0 => {
                    violations.push(type_required("widget.type"));
                }
                None => {} // Unknown number: already reported.
            },
            "title" => fields.title = Some(widget.title.clone()),
            "subtitle" => fields.subtitle = Some(widget.subtitle.clone()),
            "description" => fields.description = Some(widget.description.clone()),
            "config" => fields.config = Some(config().unwrap_or_default()),
            "data_sources" => fields.data_sources = Some(sources()),
            "library_widget" if widget.library_widget.is_empty() => {
                fields.library_widget = Some(None);
            }
            "library_widget" => {
                match parse_library_widget_name("widget.library_widget", &widget.library_widget) {
                    Ok(id) => fields.library_widget = Some(Some(id)),
                    Err(Error::InvalidArgument { violations: v, .. }) => violations.extend(v),
                    Err(other) => return Err(other),
                }
            }
            "layout" => match given_layout {
                Some(given) if !given.is_empty() => {
                    let patch = fields.layout.get_or_insert_with(LayoutPatch::default);
                    patch.x = given.x.or(patch.x);
                    patch.y = given.y.or(patch.y);
                    patch.w = given.w.or(patch.w);
                    patch.h = given.h.or(patch.h);
                }
                _ => violations.push(Violation::new(
                    LAYOUT_FIELD,
                    "required: the update_mask names layout, so give at least one of x, y, w, h",
                )),
            },
            coordinate => {
                let name = coordinate.trim_start_matches("layout.");
                let given = given_layout.unwrap_or_default();
                let value = match name {
                    "x" => given.x,
                    "y" => given.y,
                    "w" => given.w,
                    _ => given.h,
                };
                let Some(value) = value else {
                    violations.push(Violation::new(
                        format!("{LAYOUT_FIELD}.{name}"),
                        format!("required: the update_mask names {coordinate}"),
                    ));
                    continue;
                };
                let patch = fields.layout.get_or_insert_with(LayoutPatch::default);
                match name {
                    "x" => patch.x = Some(value),
                    "y" => patch.y = Some(value),
                    "w" => patch.w = Some(value),
                    _ => patch.h = Some(value),
                }
            }
        }
    }
    if !violations.is_empty() {
        return Err(Error::invalid_fields(violations));
    }
    Ok((fields, changed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_select_fields_and_coordinates() {
        let widget = pb::Widget {
            title: "T".into(),
            layout: Some(pb::WidgetLayout {
                x: Some(4),
                ..Default::default()
            }),
            ..Default::default()
        };
        let (fields, changed) =
            fields_of(&widget, Some(&["layout.x".into(), "subtitle".into()])).unwrap();
        assert_eq!(changed, ["subtitle", "layout.x"]);
        assert_eq!(
            fields.layout,
            Some(LayoutPatch {
                x: Some(4),
                ..Default::default()
            })
        );
        assert_eq!(fields.subtitle.as_deref(), Some(""));
        assert_eq!(fields.title, None);
        let (populated, changed) = fields_of(&widget, Some(&[])).unwrap();
        assert_eq!(changed, ["title", "layout"]);
        assert_eq!(populated.title.as_deref(), Some("T"));
        assert!(populated.layout.is_some());
        assert!(populated.subtitle.is_none());
        for bad in ["layout.y", "type", "etag", "owner"] {
            assert!(fields_of(&widget, Some(&[bad.into()])).is_err(), "{bad}");
        }
    }
}
