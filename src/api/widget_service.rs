//! WidgetService.

use std::collections::HashSet;

use tonic::{Request, Response, Status};

use super::{convert, page_fit, pagination, principal};
use crate::app::Authorizer;
use crate::core::authz::Permission;
use crate::core::dashboard::Limits;
use crate::core::error::echo;
use crate::core::widget::{LayoutPatch, WidgetFields};
use crate::core::{Error, Result, Violation, names, now_micros};
use crate::pb;
use crate::pb::widget_service_server::WidgetService;
use crate::store::Store;
use crate::store::widgets::{
    LayoutMove, NewWidget, WidgetCursor, WidgetKey, WidgetListQuery, WidgetOrder,
};

/// Fields an update mask may name (`layout.x` & co. select one coordinate).
const UPDATABLE: [&str; 11] = [
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
];
/// Fields the server sets; naming them in a mask is an error.
const OUTPUT_ONLY: [&str; 4] = ["name", "create_time", "update_time", "etag"];
const LAYOUT_FIELD: &str = "widget.layout";

pub struct WidgetApi {
    store: Store,
    authorizer: Authorizer,
    limits: Limits,
}

impl WidgetApi {
    pub fn new(store: Store, limits: Limits) -> Self {
        let authorizer = Authorizer::new(store.clone());
        Self {
            store,
            authorizer,
            limits,
        }
    }

    fn check(&self, fields: &WidgetFields) -> Result<()> {
        let violations = fields.validate("widget", &self.limits);
        if violations.is_empty() {
            Ok(())
        } else {
            Err(Error::invalid_fields(violations))
        }
    }
}

#[tonic::async_trait]
impl WidgetService for WidgetApi {
    async fn create_widget(
        &self,
        request: Request<pb::CreateWidgetRequest>,
    ) -> Result<Response<pb::Widget>, Status> {
        let caller = principal(&request)?;
        let request = request.into_inner();
        let dashboard_id = names::parse_dashboard_name("parent", &request.parent)?;
        let source = (!request.source_widget.is_empty())
            .then(|| names::parse_widget_name("source_widget", &request.source_widget))
            .transpose()?;
        let widget = match request.widget {
            Some(widget) => widget,
            None if source.is_some() => pb::Widget::default(),
            None => return Err(Error::invalid("widget", "required").into()),
        };
        let mut fields = fields_of(&widget, None)?;
        self.check(&fields)?;
        if fields.widget_type.is_none() && source.is_none() {
            return Err(Error::invalid_fields(vec![convert::type_required("widget.type")]).into());
        }
        self.authorizer
            .dashboard(&caller, &dashboard_id, Permission::ManageWidgets)
            .await?;
        if let Some((source_dashboard, source_id)) = source {
            // The source must be readable: NOT_FOUND otherwise, like any unreadable widget.
            self.authorizer
                .dashboard(&caller, &source_dashboard, Permission::Read)
                .await?;
            let key = WidgetKey {
                org_id: caller.org_id.clone(),
                dashboard_id: source_dashboard,
                id: source_id,
            };
            let source = self
                .store
                .widgets()
                .get(&key)
                .await?
                .ok_or_else(|| Error::not_found(key.name()))?;
            // Explicit fields win over copied ones.
            fields.widget_type = fields.widget_type.or(Some(source.widget_type));
            if fields.config.is_none() {
                fields.config = Some(source.config);
            }
            if fields.data_sources.as_ref().is_none_or(Vec::is_empty) {
                fields.data_sources = Some(source.data_sources);
            }
            // The copy obeys today's limits too.
            self.check(&fields)?;
        }
        let widget_type = fields
            .widget_type
            .ok_or_else(|| Error::invalid_fields(vec![convert::type_required("widget.type")]))?;
        let new = NewWidget {
            org_id: caller.org_id.clone(),
            dashboard_id,
            widget_type,
            title: fields.title.unwrap_or_default(),
            subtitle: fields.subtitle.unwrap_or_default(),
            description: fields.description.unwrap_or_default(),
            layout: fields.layout,
            config: fields.config.unwrap_or_default(),
            data_sources: fields.data_sources.unwrap_or_default(),
        };
        let created = self
            .store
            .widgets()
            .create(new, &self.limits.widgets, LAYOUT_FIELD, now_micros())
            .await?;
        Ok(Response::new(convert::widget(&created)))
    }

    async fn get_widget(
        &self,
        request: Request<pb::GetWidgetRequest>,
    ) -> Result<Response<pb::Widget>, Status> {
        let caller = principal(&request)?;
        let request = request.into_inner();
        let (dashboard_id, id) = names::parse_widget_name("name", &request.name)?;
        self.authorizer
            .dashboard(&caller, &dashboard_id, Permission::Read)
            .await?;
        let key = WidgetKey {
            org_id: caller.org_id.clone(),
            dashboard_id,
            id,
        };
        let widget = self
            .store
            .widgets()
            .get(&key)
            .await?
            .ok_or_else(|| Error::not_found(key.name()))?;
        Ok(Response::new(convert::widget(&widget)))
    }

    async fn list_widgets(
        &self,
        request: Request<pb::ListWidgetsRequest>,
    ) -> Result<Response<pb::ListWidgetsResponse>, Status> {
        let caller = principal(&request)?;
        let request = request.into_inner();
        let dashboard_id = names::parse_dashboard_name("parent", &request.parent)?;
        let page_size = match request.page_size {
            n if n < 0 => return Err(Error::invalid("page_size", "must not be negative").into()),
            0 => self.limits.default_page_size,
            n => (n as usize).min(self.limits.max_page_size),
        };
        let order = parse_order_by(&request.order_by)?;
        let fingerprint =
            pagination::fingerprint(&[request.parent.as_str(), &format!("{order:?}")]);
        let after: Option<(WidgetCursor, String)> =
            pagination::decode(&request.page_token, &fingerprint)?;
        let matches_order = matches!(
            (&after, order),
            (None, _)
                | (
                    Some((WidgetCursor::Position { .. }, _)),
                    WidgetOrder::Layout
                )
                | (
                    Some((WidgetCursor::CreateTime(_), _)),
                    WidgetOrder::CreateTime { .. }
                )
        );
        if !matches_order {
            return Err(
                Error::invalid("page_token", "not a page token returned by this method").into(),
            );
        }
        self.authorizer
            .dashboard(&caller, &dashboard_id, Permission::Read)
            .await?;
        let query = WidgetListQuery {
            org_id: caller.org_id.clone(),
            dashboard_id,
            order,
            after,
            limit: page_size as u64 + 1,
        };
        let mut rows = self.store.widgets().list(&query).await?;
        let mut more = rows.len() > page_size;
        rows.truncate(page_size);
        let mut widgets: Vec<pb::Widget> = rows.iter().map(convert::widget).collect();
        more |= page_fit::fit(&mut widgets, self.limits.max_response_bytes);
        rows.truncate(widgets.len());
        let next_page_token = match rows.last() {
            Some(last) if more => pagination::encode(&fingerprint, order.cursor_of(last), &last.id),
            _ => String::new(),
        };
        Ok(Response::new(pb::ListWidgetsResponse {
            widgets,
            next_page_token,
        }))
    }

    async fn update_widget(
        &self,
        request: Request<pb::UpdateWidgetRequest>,
    ) -> Result<Response<pb::Widget>, Status> {
        let caller = principal(&request)?;
        let request = request.into_inner();
        let widget = request
            .widget
            .ok_or_else(|| Error::invalid("widget", "required"))?;
        let (dashboard_id, id) = names::parse_widget_name("widget.name", &widget.name)?;
        let paths = request.update_mask.map(|m| m.paths).unwrap_or_default();
        let fields = fields_of(&widget, Some(&paths))?;
        self.check(&fields)?;
        if fields == WidgetFields::default() {
            return Err(Error::invalid("update_mask", "names no field to update").into());
        }
        self.authorizer
            .dashboard(&caller, &dashboard_id, Permission::ManageWidgets)
            .await?;
        let key = WidgetKey {
            org_id: caller.org_id.clone(),
            dashboard_id,
            id,
        };
        let updated = self
            .store
            .widgets()
            .update(
                &key,
                &widget.etag,
                &fields,
                &self.limits.widgets,
                LAYOUT_FIELD,
                now_micros(),
            )
            .await?;
        Ok(Response::new(convert::widget(&updated)))
    }

    async fn delete_widget(
        &self,
        request: Request<pb::DeleteWidgetRequest>,
    ) -> Result<Response<()>, Status> {
        let caller = principal(&request)?;
        let request = request.into_inner();
        let (dashboard_id, id) = names::parse_widget_name("name", &request.name)?;
        self.authorizer
            .dashboard(&caller, &dashboard_id, Permission::ManageWidgets)
            .await?;
        let key = WidgetKey {
            org_id: caller.org_id.clone(),
            dashboard_id,
            id,
        };
        self.store
            .widgets()
            .delete(&key, &request.etag, now_micros())
            .await?;
        Ok(Response::new(()))
    }

    async fn batch_update_widget_layouts(
        &self,
        request: Request<pb::BatchUpdateWidgetLayoutsRequest>,
    ) -> Result<Response<pb::BatchUpdateWidgetLayoutsResponse>, Status> {
        let caller = principal(&request)?;
        let request = request.into_inner();
        let dashboard_id = names::parse_dashboard_name("parent", &request.parent)?;
        let moves = layout_moves(
            &dashboard_id,
            &request.layouts,
            self.limits.widgets.max_widgets_per_dashboard,
        )?;
        self.authorizer
            .dashboard(&caller, &dashboard_id, Permission::ManageWidgets)
            .await?;
        let moved = self
            .store
            .widgets()
            .relayout(
                &caller.org_id,
                &dashboard_id,
                &request.etag,
                &moves,
                now_micros(),
            )
            .await?;
        Ok(Response::new(pb::BatchUpdateWidgetLayoutsResponse {
            widgets: moved.iter().map(convert::widget).collect(),
        }))
    }
}

/// The writable fields of `widget` selected by `mask` (`None`: create, every field given;
/// empty mask: every populated field; `*`: every updatable field).
fn fields_of(widget: &pb::Widget, mask: Option<&[String]>) -> Result<WidgetFields> {
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
        return Ok(WidgetFields {
            widget_type,
            title: Some(widget.title.clone()),
            subtitle: Some(widget.subtitle.clone()),
            description: Some(widget.description.clone()),
            layout: given_layout,
            config: config(),
            data_sources: (!widget.data_sources.is_empty()).then(sources),
        });
    };
    let mut selected: Vec<&str> = Vec::new();
    if paths.is_empty() {
        for (path, populated) in [
            ("type", widget.r#type != 0),
            ("title", !widget.title.is_empty()),
            ("subtitle", !widget.subtitle.is_empty()),
            ("description", !widget.description.is_empty()),
            ("layout", widget.layout.is_some()),
            ("config", widget.config.is_some()),
            ("data_sources", !widget.data_sources.is_empty()),
        ] {
            if populated {
                selected.push(path);
            }
        }
    } else {
        for path in paths {
            let path = path.trim();
            if path == "*" {
                selected.extend(
                    [
                        "type",
                        "title",
                        "subtitle",
                        "description",
                        "config",
                        "data_sources",
                    ]
                    .into_iter()
                    .chain(widget.layout.is_some().then_some("layout")),
                );
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
    }
    let mut fields = WidgetFields::default();
    for path in selected {
        match path {
            "type" => match widget_type {
                Some(t) => fields.widget_type = Some(t),
                None if widget.r#type == 0 => {
                    violations.push(convert::type_required("widget.type"));
                }
                None => {} // Unknown number: already reported.
            },
            "title" => fields.title = Some(widget.title.clone()),
            "subtitle" => fields.subtitle = Some(widget.subtitle.clone()),
            "description" => fields.description = Some(widget.description.clone()),
            "config" => fields.config = Some(config().unwrap_or_default()),
            "data_sources" => fields.data_sources = Some(sources()),
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
    Ok(fields)
}

/// The entries of a BatchUpdateWidgetLayouts request, checked on their own: names of
/// widgets of `dashboard_id`, each once, with a layout that sets something valid.
fn layout_moves(
    dashboard_id: &str,
    layouts: &[pb::WidgetLayoutUpdate],
    max: usize,
) -> Result<Vec<LayoutMove>> {
    if layouts.is_empty() {
        return Err(Error::invalid("layouts", "required: at least one entry"));
    }
    if layouts.len() > max {
        return Err(Error::invalid(
            "layouts",
            format!(
                "at most {max} entries, the most widgets a dashboard holds (got {})",
                layouts.len()
            ),
        ));
    }
    let mut violations = Vec::new();
    let mut seen = HashSet::new();
    let mut moves = Vec::with_capacity(layouts.len());
    for (i, entry) in layouts.iter().enumerate() {
        let widget_field = format!("layouts[{i}].widget");
        let layout_field = format!("layouts[{i}].layout");
        let widget_id = match names::parse_widget_name(&widget_field, &entry.widget) {
            Ok((d, _)) if d != dashboard_id => {
                violations.push(Violation::new(
                    &widget_field,
                    format!(
                        "{} is not a widget of {}",
                        echo(&entry.widget),
                        names::dashboard_name(dashboard_id)
                    ),
                ));
                None
            }
            Ok((_, id)) => {
                if !seen.insert(id.clone()) {
                    violations.push(Violation::new(
                        &widget_field,
                        format!("{} is named more than once", entry.widget),
                    ));
                }
                Some(id)
            }
            Err(Error::InvalidArgument { violations: v, .. }) => {
                violations.extend(v);
                None
            }
            Err(other) => return Err(other),
        };
        let patch = entry
            .layout
            .as_ref()
            .map(convert::layout_patch)
            .unwrap_or_default();
        if patch.is_empty() {
            violations.push(Violation::new(
                &layout_field,
                "required: give at least one of x, y, w, h",
            ));
        }
        violations.extend(patch.violations(&layout_field));
        if let Some(widget_id) = widget_id {
            moves.push(LayoutMove {
                field: layout_field,
                widget_id,
                patch,
            });
        }
    }
    if !violations.is_empty() {
        return Err(Error::invalid_fields(violations));
    }
    Ok(moves)
}

/// `layout` (the default) or `create_time [asc|desc]`.
fn parse_order_by(order_by: &str) -> Result<WidgetOrder> {
    let words: Vec<&str> = order_by.split_whitespace().collect();
    match words.as_slice() {
        [] | ["layout"] | ["layout", "asc"] => Ok(WidgetOrder::Layout),
        ["create_time"] | ["create_time", "asc"] => {
            Ok(WidgetOrder::CreateTime { descending: false })
        }
        ["create_time", "desc"] => Ok(WidgetOrder::CreateTime { descending: true }),
        _ => Err(Error::invalid(
            "order_by",
            format!(
                "cannot order by {}: use `layout` or `create_time` (optionally \
                 followed by asc or desc)",
                echo(order_by)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_by() {
        assert_eq!(parse_order_by("").unwrap(), WidgetOrder::Layout);
        assert_eq!(
            parse_order_by(" create_time desc ").unwrap(),
            WidgetOrder::CreateTime { descending: true }
        );
        for bad in [
            "layout desc",
            "title",
            "create_time up",
            "create_time asc x",
        ] {
            assert!(parse_order_by(bad).is_err(), "{bad}");
        }
    }

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
        let fields = fields_of(&widget, Some(&["layout.x".into(), "subtitle".into()])).unwrap();
        assert_eq!(
            fields.layout,
            Some(LayoutPatch {
                x: Some(4),
                ..Default::default()
            })
        );
        assert_eq!(fields.subtitle.as_deref(), Some(""));
        assert_eq!(fields.title, None);
        let populated = fields_of(&widget, Some(&[])).unwrap();
        assert_eq!(populated.title.as_deref(), Some("T"));
        assert!(populated.layout.is_some());
        assert!(populated.subtitle.is_none());
        for bad in ["layout.y", "type", "etag", "owner"] {
            assert!(fields_of(&widget, Some(&[bad.into()])).is_err(), "{bad}");
        }
    }
}
