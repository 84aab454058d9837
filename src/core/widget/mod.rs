//! The widget as the service sees it: its type, data sources and caller-writable fields.
//! The grid rules live in [`layout`], the limits and field checks in [`validation`].

mod arrangement;
mod layout;
mod validation;

pub use arrangement::Arrangement;
pub use layout::{DEFAULT_HEIGHT, DEFAULT_WIDTH, GRID_COLUMNS, Layout, LayoutPatch};
pub use validation::{
    ContentTotals, MAX_DATA_SOURCE_FIELD_CHARS, WIDGET_OVERHEAD_BYTES, WidgetLimits, check_content,
    check_copy, check_widget_count, content_bytes, type_required,
};

use serde::{Deserialize, Serialize};

use super::dashboard::etag_of;
use super::{Micros, names};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WidgetType {
    Chart,
    Stat,
    Gauge,
    Table,
    Text,
    Map,
}

impl WidgetType {
    pub const ALL: [WidgetType; 6] = [
        Self::Chart,
        Self::Stat,
        Self::Gauge,
        Self::Table,
        Self::Text,
        Self::Map,
    ];

    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Chart => "CHART",
            Self::Stat => "STAT",
            Self::Gauge => "GAUGE",
            Self::Table => "TABLE",
            Self::Text => "TEXT",
            Self::Map => "MAP",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// One device or query a widget reads. Stored as JSON (see the widgets migration).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct DataSource {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub device_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub device_name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub project_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub project_name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub query: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Widget {
    pub id: String,
    pub org_id: String,
    pub dashboard_id: String,
    pub widget_type: WidgetType,
    pub title: String,
    pub subtitle: String,
    pub description: String,
    pub layout: Layout,
    /// `google.protobuf.Struct`, protobuf-encoded; empty when unset.
    pub config: Vec<u8>,
    pub data_sources: Vec<DataSource>,
    /// Bumped by every change; the etag is derived from it.
    pub revision: i64,
    pub create_time: Micros,
    pub update_time: Micros,
    /// The library widget it shows (its content is a copy of that one's), if linked.
    pub library_widget_id: Option<String>,
}

impl Widget {
    pub fn name(&self) -> String {
        names::widget_name(&self.dashboard_id, &self.id)
    }

    pub fn etag(&self) -> String {
        etag_of(&self.id, self.revision)
    }
}

/// The caller-writable fields of a widget; `None` leaves a field unchanged (on update) or
/// takes the default/copied value (on create).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WidgetFields {
    pub widget_type: Option<WidgetType>,
    pub title: Option<String>,
    pub subtitle: Option<String>,
    pub description: Option<String>,
    pub layout: Option<LayoutPatch>,
    pub config: Option<Vec<u8>>,
    pub data_sources: Option<Vec<DataSource>>,
    /// `Some(Some(id))` links the library widget `id`, `Some(None)` unlinks.
    pub library_widget: Option<Option<String>>,
}

impl WidgetFields {
    /// `widget` with the given fields replaced; the layout patch applies to its current
    /// layout (checking the result against the arrangement is the caller's part).
    pub fn apply_to(&self, widget: &mut Widget) {
        if let Some(t) = self.widget_type {
            widget.widget_type = t;
        }
        for (value, target) in [
            (&self.title, &mut widget.title),
            (&self.subtitle, &mut widget.subtitle),
            (&self.description, &mut widget.description),
        ] {
            if let Some(value) = value {
                target.clone_from(value);
            }
        }
        if let Some(patch) = &self.layout {
            widget.layout = patch.apply(widget.layout);
        }
        if let Some(config) = &self.config {
            widget.config.clone_from(config);
        }
        if let Some(sources) = &self.data_sources {
            widget.data_sources.clone_from(sources);
        }
    }

    /// Whether the fields change the widget's content (what the dashboard size limit counts).
    pub fn changes_content(&self) -> bool {
        self.title.is_some()
            || self.subtitle.is_some()
            || self.description.is_some()
            || self.config.is_some()
            || self.data_sources.is_some()
    }
}

/// The unique data sources of `widgets` (in the order given): those naming a device once
/// per `device_id`, with the ids and names of their first use and no query (a query belongs
/// to one widget); the others once per distinct content.
pub fn unique_data_sources<'a>(widgets: impl IntoIterator<Item = &'a Widget>) -> Vec<DataSource> {
    let mut devices = std::collections::HashSet::new();
    let mut others = std::collections::HashSet::new();
    let mut unique = Vec::new();
    for source in widgets.into_iter().flat_map(|w| &w.data_sources) {
        if source.device_id.is_empty() {
            if others.insert(source) {
                unique.push(source.clone());
            }
        } else if devices.insert(source.device_id.as_str()) {
            unique.push(DataSource {
                query: String::new(),
                ..source.clone()
            });
        }
    }
    unique
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_apply_only_what_they_set() {
        let mut widget = Widget {
            id: "w".into(),
            org_id: "o".into(),
            dashboard_id: "d".into(),
            widget_type: WidgetType::Chart,
            title: "T".into(),
            subtitle: "S".into(),
            description: "D".into(),
            layout: Layout::new(0, 0, 12, 8),
            config: vec![1],
            data_sources: Vec::new(),
            revision: 1,
            create_time: 0,
            update_time: 0,
            library_widget_id: None,
        };
        let fields = WidgetFields {
            title: Some("T2".into()),
            layout: Some(LayoutPatch {
                x: Some(12),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(fields.changes_content());
        fields.apply_to(&mut widget);
        assert_eq!(widget.title, "T2");
        assert_eq!(widget.subtitle, "S");
        assert_eq!(widget.config, [1]);
        assert_eq!(widget.layout, Layout::new(12, 0, 12, 8));
        let layout_only = WidgetFields {
            layout: Some(LayoutPatch::default()),
            ..Default::default()
        };
        assert!(!layout_only.changes_content());
    }

    #[test]
    fn data_sources_dedupe_by_device() {
        let source = |device: &str, name: &str, query: &str| DataSource {
            device_id: device.into(),
            device_name: name.into(),
            query: query.into(),
            ..Default::default()
        };
        let widget = |sources: Vec<DataSource>| Widget {
            id: "w".into(),
            org_id: "o".into(),
            dashboard_id: "d".into(),
            widget_type: WidgetType::Chart,
            title: String::new(),
            subtitle: String::new(),
            description: String::new(),
            layout: Layout::new(0, 0, 1, 1),
            config: Vec::new(),
            data_sources: sources,
            revision: 1,
            create_time: 0,
            update_time: 0,
            library_widget_id: None,
        };
        let widgets = [
            widget(vec![source("d1", "First", "q1"), source("", "", "raw")]),
            widget(vec![
                source("d2", "Second", ""),
                source("d1", "Again", "q2"),
                source("", "", "raw"),
                source("", "", "other"),
            ]),
        ];
        let unique = unique_data_sources(&widgets);
        assert_eq!(
            unique,
            [
                source("d1", "First", ""),
                source("", "", "raw"),
                source("d2", "Second", ""),
                source("", "", "other"),
            ]
        );
    }
}
