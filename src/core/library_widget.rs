//! Library widgets (DESIGN §6): the content of a widget kept once, `library-widgets/{id}`,
//! shared like a dashboard and linked from dashboard widgets, which then show its content.

use super::dashboard::etag_of;
use super::widget::{DataSource, Widget, WidgetFields, WidgetType};
use super::{Error, Micros, Result, names};

/// The collection of library widget names.
pub const COLLECTION: &str = "library-widgets";

/// The content fields a library widget holds and lends to the widgets linking it, in the
/// order events name them.
pub const CONTENT_FIELDS: [&str; 6] = [
    "type",
    "title",
    "subtitle",
    "description",
    "config",
    "data_sources",
];

#[derive(Debug, Clone, PartialEq)]
pub struct LibraryWidget {
    pub id: String,
    pub org_id: String,
    pub widget_type: WidgetType,
    pub title: String,
    pub subtitle: String,
    pub description: String,
    /// `google.protobuf.Struct`, protobuf-encoded; empty when unset.
    pub config: Vec<u8>,
    pub data_sources: Vec<DataSource>,
    pub creator_id: String,
    /// Bumped by every change; the etag is derived from it.
    pub revision: i64,
    pub create_time: Micros,
    pub update_time: Micros,
}

impl LibraryWidget {
    pub fn name(&self) -> String {
        library_widget_name(&self.id)
    }

    pub fn etag(&self) -> String {
        etag_of(&self.id, self.revision)
    }

    /// `fields`' content fields applied (the layout is not a library widget's).
    pub fn apply(&mut self, fields: &WidgetFields) {
        if let Some(t) = fields.widget_type {
            self.widget_type = t;
        }
        for (value, target) in [
            (&fields.title, &mut self.title),
            (&fields.subtitle, &mut self.subtitle),
            (&fields.description, &mut self.description),
        ] {
            if let Some(value) = value {
                target.clone_from(value);
            }
        }
        if let Some(config) = &fields.config {
            self.config.clone_from(config);
        }
        if let Some(sources) = &fields.data_sources {
            self.data_sources.clone_from(sources);
        }
    }

    /// Gives `widget` this content (its layout, ids and link stay its own).
    pub fn lend_to(&self, widget: &mut Widget) {
        widget.widget_type = self.widget_type;
        widget.title.clone_from(&self.title);
        widget.subtitle.clone_from(&self.subtitle);
        widget.description.clone_from(&self.description);
        widget.config.clone_from(&self.config);
        widget.data_sources.clone_from(&self.data_sources);
    }
}

/// The content fields in which widgets `a` and `b` differ.
pub fn content_differences(a: &Widget, b: &Widget) -> Vec<&'static str> {
    [
        ("type", a.widget_type != b.widget_type),
        ("title", a.title != b.title),
        ("subtitle", a.subtitle != b.subtitle),
        ("description", a.description != b.description),
        ("config", a.config != b.config),
        ("data_sources", a.data_sources != b.data_sources),
    ]
    .into_iter()
    .filter_map(|(field, differs)| differs.then_some(field))
    .collect()
}

/// The content fields of `fields` that carry a value (on create, an empty text field is the
/// same as none); layout and link left out.
pub fn given_content(fields: &WidgetFields) -> WidgetFields {
    let text = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    WidgetFields {
        widget_type: fields.widget_type,
        title: text(&fields.title),
        subtitle: text(&fields.subtitle),
        description: text(&fields.description),
        layout: None,
        config: fields.config.clone().filter(|c| !c.is_empty()),
        data_sources: fields.data_sources.clone().filter(|d| !d.is_empty()),
        library_widget: None,
    }
}

/// `library-widgets/{id}`.
pub fn library_widget_name(id: &str) -> String {
    format!("{COLLECTION}/{id}")
}

/// The id of `library-widgets/{id}`.
pub fn parse_library_widget_name(field: &str, name: &str) -> Result<String> {
    names::parse_collection_name(field, name, COLLECTION)
}

/// FAILED_PRECONDITION `WIDGET_LINKED`: a linked widget's content is its library widget's.
pub fn widget_linked(widget: &str) -> Error {
    Error::failed_precondition(
        "WIDGET_LINKED",
        widget,
        "the widget shows a library widget: change the library widget, or unlink the widget \
         (update_mask library_widget, empty) first",
    )
}

/// FAILED_PRECONDITION `LIBRARY_WIDGET_IN_USE`: deleting a library widget that dashboard
/// widgets link, without `force`.
pub fn in_use(name: &str, links: usize) -> Error {
    Error::failed_precondition(
        "LIBRARY_WIDGET_IN_USE",
        name,
        format!(
            "{links} dashboard widget(s) link the library widget: unlink them, or delete with \
             force (they keep a copy of the content)"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(library_widget_name("a1"), "library-widgets/a1");
        assert_eq!(
            parse_library_widget_name("name", "library-widgets/a1").unwrap(),
            "a1"
        );
        for bad in [
            "",
            "library-widgets/",
            "dashboards/a",
            "library-widgets/a/b",
        ] {
            assert!(parse_library_widget_name("name", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn empty_create_fields_give_no_content() {
        let empty = WidgetFields {
            title: Some(String::new()),
            subtitle: Some(String::new()),
            description: Some(String::new()),
            ..Default::default()
        };
        assert_eq!(given_content(&empty), WidgetFields::default());
        let titled = WidgetFields {
            title: Some("x".into()),
            ..Default::default()
        };
        assert_eq!(given_content(&titled).title.as_deref(), Some("x"));
    }
}
