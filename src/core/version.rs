//! Dashboard versions (DESIGN §7): what a version holds, how its parts are stored once and
//! shared, and the field-level diff between two versions.
//!
//! A version is the dashboard's own fields plus its widgets, each with a layout. Storage
//! grows with what changed, not with the dashboard's size: the fields and every widget's
//! content are encoded canonically (protobuf, fields in tag order) and stored once under
//! their SHA-256 (`version_contents`); a widget's state is a row valid over a range of
//! versions (`widget_states`), so a version that changes one widget adds one row and at most
//! one content.

use prost::Message;
use sha2::{Digest, Sha256};

use super::Micros;
use super::dashboard::Dashboard;
use super::widget::{DataSource, Layout, Widget, WidgetType};

/// A dashboard's own fields as versions keep them.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StoredFields {
    #[prost(string, tag = "1")]
    pub title: String,
    #[prost(string, tag = "2")]
    pub description: String,
    #[prost(bytes = "vec", tag = "3")]
    pub metadata: Vec<u8>,
    #[prost(int64, optional, tag = "4")]
    pub refresh_period_nanos: Option<i64>,
}

/// A widget's content (everything but its id and layout) as versions keep it.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StoredWidget {
    #[prost(string, tag = "1")]
    pub widget_type: String,
    #[prost(string, tag = "2")]
    pub title: String,
    #[prost(string, tag = "3")]
    pub subtitle: String,
    #[prost(string, tag = "4")]
    pub description: String,
    #[prost(bytes = "vec", tag = "5")]
    pub config: Vec<u8>,
    #[prost(message, repeated, tag = "6")]
    pub data_sources: Vec<StoredDataSource>,
    /// When the widget was first created: a widget restored after its deletion keeps it.
    #[prost(int64, tag = "7")]
    pub create_time: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct StoredDataSource {
    #[prost(string, tag = "1")]
    pub device_id: String,
    #[prost(string, tag = "2")]
    pub device_name: String,
    #[prost(string, tag = "3")]
    pub project_id: String,
    #[prost(string, tag = "4")]
    pub project_name: String,
    #[prost(string, tag = "5")]
    pub query: String,
}

impl From<&DataSource> for StoredDataSource {
    fn from(s: &DataSource) -> Self {
        let DataSource {
            device_id,
            device_name,
            project_id,
            project_name,
            query,
        } = s.clone();
        Self {
            device_id,
            device_name,
            project_id,
            project_name,
            query,
        }
    }
}

impl From<&StoredDataSource> for DataSource {
    fn from(s: &StoredDataSource) -> Self {
        let StoredDataSource {
            device_id,
            device_name,
            project_id,
            project_name,
            query,
        } = s.clone();
        Self {
            device_id,
            device_name,
            project_id,
            project_name,
            query,
        }
    }
}

/// The key a content is stored under.
pub fn content_hash(encoded: &[u8]) -> Vec<u8> {
    Sha256::digest(encoded).to_vec()
}

impl StoredFields {
    pub fn of(d: &Dashboard) -> Self {
        Self {
            title: d.title.clone(),
            description: d.description.clone(),
            metadata: d.metadata.clone(),
            refresh_period_nanos: d.refresh_period_nanos,
        }
    }

    /// The field paths (as UpdateDashboard's mask names them) whose values differ.
    pub fn changed_fields(&self, other: &Self) -> Vec<&'static str> {
        let mut fields = Vec::new();
        if self.title != other.title {
            fields.push("title");
        }
        if self.description != other.description {
            fields.push("description");
        }
        if self.metadata != other.metadata {
            fields.push("metadata");
        }
        if self.refresh_period_nanos != other.refresh_period_nanos {
            fields.push("refresh_period");
        }
        fields
    }
}

impl StoredWidget {
    pub fn of(w: &Widget) -> Self {
        Self {
            widget_type: w.widget_type.as_str().to_string(),
            title: w.title.clone(),
            subtitle: w.subtitle.clone(),
            description: w.description.clone(),
            config: w.config.clone(),
            data_sources: w.data_sources.iter().map(StoredDataSource::from).collect(),
            create_time: w.create_time,
        }
    }

    pub fn encoded(&self) -> Vec<u8> {
        self.encode_to_vec()
    }

    /// The field paths (as UpdateWidget's mask names them) whose values differ.
    pub fn changed_fields(&self, other: &Self) -> Vec<&'static str> {
        let mut fields = Vec::new();
        if self.widget_type != other.widget_type {
            fields.push("type");
        }
        if self.title != other.title {
            fields.push("title");
        }
        if self.subtitle != other.subtitle {
            fields.push("subtitle");
        }
        if self.description != other.description {
            fields.push("description");
        }
        if self.config != other.config {
            fields.push("config");
        }
        if self.data_sources != other.data_sources {
            fields.push("data_sources");
        }
        fields
    }

    /// The widget this content describes, as widget `id` of `dashboard_id` in `org_id`.
    pub fn to_widget(&self, org_id: &str, dashboard_id: &str, id: &str, layout: Layout) -> Widget {
        Widget {
            id: id.to_string(),
            org_id: org_id.to_string(),
            dashboard_id: dashboard_id.to_string(),
            // Only types the service wrote are stored; an unknown one reads as CHART rather
            // than failing a read of history.
            widget_type: WidgetType::parse(&self.widget_type).unwrap_or(WidgetType::Chart),
            title: self.title.clone(),
            subtitle: self.subtitle.clone(),
            description: self.description.clone(),
            layout,
            config: self.config.clone(),
            data_sources: self.data_sources.iter().map(DataSource::from).collect(),
            revision: 0,
            create_time: self.create_time,
            update_time: self.create_time,
            // Versions keep content, not links: a restored widget is the content it had.
            library_widget_id: None,
        }
    }
}

/// One version's metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionInfo {
    pub dashboard_id: String,
    pub version: i64,
    /// The org revision of the write that made it.
    pub revision: i64,
    /// `users/{id}` (or `system`).
    pub actor: String,
    pub create_time: Micros,
    /// Named versions are kept forever.
    pub message: Option<String>,
    pub restored_from: Option<i64>,
}

/// A widget as a version holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionWidget {
    pub id: String,
    pub layout: Layout,
    pub content: StoredWidget,
}

/// The whole content of one version.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionContent {
    pub info: VersionInfo,
    pub fields: StoredFields,
    /// In layout order (top to bottom, then left to right), then by id.
    pub widgets: Vec<VersionWidget>,
}

/// What changed from a base version to a target version.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VersionDiff {
    /// The dashboard's own fields that differ.
    pub fields: Vec<&'static str>,
    /// Widget ids in the target only.
    pub widgets_added: Vec<String>,
    /// Widget ids in the base only.
    pub widgets_removed: Vec<String>,
    /// Widgets in both whose content or layout differ, with the fields (`layout` for a move).
    pub widgets_changed: Vec<(String, Vec<&'static str>)>,
}

pub fn diff(base: &VersionContent, target: &VersionContent) -> VersionDiff {
    use std::collections::BTreeMap;
    let base_widgets: BTreeMap<&str, &VersionWidget> =
        base.widgets.iter().map(|w| (w.id.as_str(), w)).collect();
    let target_widgets: BTreeMap<&str, &VersionWidget> =
        target.widgets.iter().map(|w| (w.id.as_str(), w)).collect();
    let mut result = VersionDiff {
        fields: base.fields.changed_fields(&target.fields),
        ..Default::default()
    };
    for (id, after) in &target_widgets {
        match base_widgets.get(id) {
            None => result.widgets_added.push(id.to_string()),
            Some(before) => {
                let mut fields = before.content.changed_fields(&after.content);
                if before.layout != after.layout {
                    fields.push("layout");
                }
                if !fields.is_empty() {
                    result.widgets_changed.push((id.to_string(), fields));
                }
            }
        }
    }
    for id in base_widgets.keys() {
        if !target_widgets.contains_key(id) {
            result.widgets_removed.push(id.to_string());
        }
    }
    result
}

/// Retention (DESIGN §7): the newest `keep_min` versions are always kept, older ones for
/// `retention`, and named versions forever. Returns the versions to prune of one dashboard's
/// `versions` (any order).
pub fn to_prune(
    versions: &[(i64, Micros, bool)],
    keep_min: usize,
    oldest_kept_time: Micros,
) -> Vec<i64> {
    let mut newest_first: Vec<&(i64, Micros, bool)> = versions.iter().collect();
    newest_first.sort_by_key(|v| std::cmp::Reverse(v.0));
    newest_first
        .into_iter()
        .skip(keep_min)
        .filter(|(_, time, named)| !named && *time < oldest_kept_time)
        .map(|(version, _, _)| *version)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widget(id: &str, title: &str, x: i32) -> VersionWidget {
        VersionWidget {
            id: id.into(),
            layout: Layout::new(x, 0, 4, 4),
            content: StoredWidget {
                widget_type: "CHART".into(),
                title: title.into(),
                ..Default::default()
            },
        }
    }

    fn content(title: &str, widgets: Vec<VersionWidget>) -> VersionContent {
        VersionContent {
            info: VersionInfo {
                dashboard_id: "d".into(),
                version: 1,
                revision: 1,
                actor: "users/u".into(),
                create_time: 0,
                message: None,
                restored_from: None,
            },
            fields: StoredFields {
                title: title.into(),
                ..Default::default()
            },
            widgets,
        }
    }

    #[test]
    fn diff_names_fields_widgets_and_moves() {
        let base = content("a", vec![widget("w1", "one", 0), widget("w2", "two", 4)]);
        let target = content("b", vec![widget("w1", "uno", 8), widget("w3", "three", 0)]);
        let d = diff(&base, &target);
        assert_eq!(d.fields, vec!["title"]);
        assert_eq!(d.widgets_added, vec!["w3"]);
        assert_eq!(d.widgets_removed, vec!["w2"]);
        assert_eq!(
            d.widgets_changed,
            vec![("w1".to_string(), vec!["title", "layout"])]
        );
        assert_eq!(diff(&base, &base), VersionDiff::default());
    }

    #[test]
    fn retention_keeps_the_newest_and_the_named() {
        // (version, time, named)
        let versions = [
            (1, 10, false),
            (2, 20, true),
            (3, 30, false),
            (4, 40, false),
            (5, 50, false),
        ];
        // Keep 2 newest (4, 5); older than time 35 pruned unless named: 1 and 3.
        let mut pruned = to_prune(&versions, 2, 35);
        pruned.sort();
        assert_eq!(pruned, vec![1, 3]);
        // Nothing is old enough.
        assert!(to_prune(&versions, 2, 5).is_empty());
        // keep_min covers everything.
        assert!(to_prune(&versions, 10, 1_000).is_empty());
    }

    #[test]
    fn equal_content_hashes_equal() {
        let a = widget("w1", "one", 0).content;
        let b = widget("w9", "one", 8).content;
        assert_eq!(content_hash(&a.encoded()), content_hash(&b.encoded()));
        let c = widget("w1", "two", 0).content;
        assert_ne!(content_hash(&a.encoded()), content_hash(&c.encoded()));
    }
}
