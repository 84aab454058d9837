//! The widget limits and the checks of caller-given fields against them.

use super::{DataSource, WidgetFields};
use crate::core::dashboard::Limits;
use crate::core::{Error, Result, Violation};

/// Longest device/project id or name in a data source, in characters.
pub const MAX_DATA_SOURCE_FIELD_CHARS: usize = 200;

/// Configurable widget limits (DESIGN.md §6).
#[derive(Debug, Clone)]
pub struct WidgetLimits {
    /// The widget after the last one is FAILED_PRECONDITION `WIDGET_LIMIT_REACHED`.
    pub max_widgets_per_dashboard: usize,
    /// Largest `config` (protobuf-encoded) and largest data-source `query`, in bytes.
    pub max_config_bytes: usize,
    pub max_data_sources_per_widget: usize,
    /// The most widget content (see [`content_bytes`]) one dashboard may hold, so that its
    /// FULL view always fits one message (derived from `MAX_MESSAGE_BYTES`).
    pub max_content_bytes: usize,
}

impl Default for WidgetLimits {
    fn default() -> Self {
        Self {
            max_widgets_per_dashboard: 200,
            max_config_bytes: 64 * 1024,
            max_data_sources_per_widget: 50,
            max_content_bytes: 4 * 1024 * 1024 - 256 * 1024,
        }
    }
}

/// What a widget adds to its dashboard's FULL view beyond its text, config and data sources:
/// its name, etag, layout, type and times, with room to spare.
pub const WIDGET_OVERHEAD_BYTES: usize = 256;

/// A widget's share of its dashboard's FULL view, as the limit counts it: its texts, config
/// and stored data sources (`data_sources_json`, which is longer than their wire form), plus
/// [`WIDGET_OVERHEAD_BYTES`]. The store sums the same over a dashboard's widgets.
pub fn content_bytes(
    title: &str,
    subtitle: &str,
    description: &str,
    config: &[u8],
    data_sources_json: &str,
) -> usize {
    title.len()
        + subtitle.len()
        + description.len()
        + config.len()
        + data_sources_json.len()
        + WIDGET_OVERHEAD_BYTES
}

/// The violation for a missing widget type.
pub fn type_required(field: &str) -> Violation {
    Violation::new(
        field,
        "required: WIDGET_TYPE_UNSPECIFIED is not a widget type (use e.g. WIDGET_TYPE_CHART)",
    )
}

/// What a dashboard's stored widgets hold, as [`content_bytes`] counts it (without their
/// overhead), and how many they are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ContentTotals {
    pub bytes: i64,
    pub widgets: i64,
}

/// Refuses the widget after the last one a dashboard may hold (`count` are stored).
pub fn check_widget_count(count: usize, limits: &WidgetLimits, dashboard: &str) -> Result<()> {
    if count >= limits.max_widgets_per_dashboard {
        return Err(Error::failed_precondition(
            "WIDGET_LIMIT_REACHED",
            dashboard,
            format!(
                "the dashboard already has {count} widgets, the most one dashboard may hold \
                 (max widgets per dashboard: {})",
                limits.max_widgets_per_dashboard
            ),
        ));
    }
    Ok(())
}

/// Refuses a write that would take the dashboard's widget content past
/// `limits.max_content_bytes`: `others` are the dashboard's other widgets (all but the one
/// written), `adds` the written widget's [`content_bytes`]. Decided under the dashboard's
/// lock, so concurrent writes cannot both pass.
pub fn check_content(
    others: ContentTotals,
    adds: usize,
    limits: &WidgetLimits,
    field_prefix: &str,
) -> Result<()> {
    let total = usize::try_from(others.bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(
            usize::try_from(others.widgets)
                .unwrap_or(usize::MAX)
                .saturating_mul(WIDGET_OVERHEAD_BYTES),
        )
        .saturating_add(adds);
    if total > limits.max_content_bytes {
        return Err(Error::InvalidArgument {
            reason: "DASHBOARD_TOO_LARGE",
            message: format!(
                "the dashboard's widgets would hold {total} bytes, more than the {} one \
                 dashboard may hold (so that its FULL view fits MAX_MESSAGE_BYTES); make this \
                 widget smaller or move content to another dashboard",
                limits.max_content_bytes
            ),
            violations: vec![Violation::new(
                format!("{field_prefix}.config"),
                format!(
                    "the dashboard's widget content may total at most {} bytes (would be {total})",
                    limits.max_content_bytes
                ),
            )],
        });
    }
    Ok(())
}

/// Refuses a copy of a whole dashboard that today's limits would not let one dashboard hold
/// (limits may have shrunk since the source was written): `widgets` widgets whose
/// [`content_bytes`] sum to `content`. The source's state, not the request, is at fault:
/// FAILED_PRECONDITION naming the source.
pub fn check_copy(
    widgets: usize,
    content: usize,
    limits: &WidgetLimits,
    source: &str,
) -> Result<()> {
    if widgets > limits.max_widgets_per_dashboard {
        return Err(Error::failed_precondition(
            "WIDGET_LIMIT_REACHED",
            source,
            format!(
                "the dashboard has {widgets} widgets, more than one dashboard may hold \
                 (max widgets per dashboard: {})",
                limits.max_widgets_per_dashboard
            ),
        ));
    }
    if content > limits.max_content_bytes {
        return Err(Error::failed_precondition(
            "DASHBOARD_TOO_LARGE",
            source,
            format!(
                "the dashboard's widgets hold {content} bytes, more than the {} one dashboard \
                 may hold",
                limits.max_content_bytes
            ),
        ));
    }
    Ok(())
}

impl WidgetFields {
    /// Checks every set field against the limits, and the layout's fields on their own (the
    /// final layout and overlaps need the arrangement: see [`super::Arrangement`]); `prefix` is the
    /// request path of the widget.
    pub fn validate(&self, prefix: &str, limits: &Limits) -> Vec<Violation> {
        let mut violations = Vec::new();
        if let Some(layout) = &self.layout {
            violations.extend(layout.violations(&format!("{prefix}.layout")));
        }
        let mut check_chars = |field: &str, value: &Option<String>, max: usize| {
            if let Some(value) = value {
                let chars = value.chars().count();
                if chars > max {
                    violations.push(Violation::new(
                        format!("{prefix}.{field}"),
                        format!("must be at most {max} characters (got {chars})"),
                    ));
                }
            }
        };
        check_chars("title", &self.title, limits.max_title_chars);
        check_chars("subtitle", &self.subtitle, limits.max_title_chars);
        check_chars(
            "description",
            &self.description,
            limits.max_description_chars,
        );
        let widget_limits = &limits.widgets;
        if let Some(config) = &self.config
            && config.len() > widget_limits.max_config_bytes
        {
            violations.push(Violation::new(
                format!("{prefix}.config"),
                format!(
                    "must be at most {} bytes encoded, the config size limit (got {})",
                    widget_limits.max_config_bytes,
                    config.len()
                ),
            ));
        }
        if let Some(sources) = &self.data_sources {
            if sources.len() > widget_limits.max_data_sources_per_widget {
                violations.push(Violation::new(
                    format!("{prefix}.data_sources"),
                    format!(
                        "at most {} data sources per widget, the limit (got {})",
                        widget_limits.max_data_sources_per_widget,
                        sources.len()
                    ),
                ));
            } else {
                for (i, source) in sources.iter().enumerate() {
                    violations.extend(
                        source.violations(&format!("{prefix}.data_sources[{i}]"), widget_limits),
                    );
                }
            }
        }
        violations
    }
}

impl DataSource {
    fn violations(&self, field: &str, limits: &WidgetLimits) -> Vec<Violation> {
        let mut violations = Vec::new();
        if self.device_id.is_empty() && self.project_id.is_empty() && self.query.is_empty() {
            violations.push(Violation::new(
                field,
                "needs a device_id, a project_id or a query",
            ));
        }
        for (name, value) in [
            ("device_id", &self.device_id),
            ("device_name", &self.device_name),
            ("project_id", &self.project_id),
            ("project_name", &self.project_name),
        ] {
            let chars = value.chars().count();
            if chars > MAX_DATA_SOURCE_FIELD_CHARS {
                violations.push(Violation::new(
                    format!("{field}.{name}"),
                    format!(
                        "must be at most {MAX_DATA_SOURCE_FIELD_CHARS} characters (got {chars})"
                    ),
                ));
            }
        }
        if self.query.len() > limits.max_config_bytes {
            violations.push(Violation::new(
                format!("{field}.query"),
                format!(
                    "must be at most {} bytes (got {})",
                    limits.max_config_bytes,
                    self.query.len()
                ),
            ));
        }
        violations
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widget_count_and_content_limits() {
        let limits = WidgetLimits {
            max_widgets_per_dashboard: 2,
            max_content_bytes: 1000,
            ..Default::default()
        };
        assert!(check_widget_count(1, &limits, "dashboards/d").is_ok());
        match check_widget_count(2, &limits, "dashboards/d") {
            Err(Error::FailedPrecondition { reason, .. }) => {
                assert_eq!(reason, "WIDGET_LIMIT_REACHED")
            }
            other => panic!("not WIDGET_LIMIT_REACHED: {other:?}"),
        }
        // Two stored widgets of 100 bytes: 2 * (100 + overhead) + what is added.
        let others = ContentTotals {
            bytes: 200,
            widgets: 2,
        };
        let room = 1000 - 200 - 2 * WIDGET_OVERHEAD_BYTES;
        assert!(check_content(others, room, &limits, "widget").is_ok());
        match check_content(others, room + 1, &limits, "widget") {
            Err(Error::InvalidArgument {
                reason, violations, ..
            }) => {
                assert_eq!(reason, "DASHBOARD_TOO_LARGE");
                assert_eq!(violations[0].field, "widget.config");
            }
            other => panic!("not DASHBOARD_TOO_LARGE: {other:?}"),
        }
        let huge = ContentTotals {
            bytes: i64::MAX,
            widgets: i64::MAX,
        };
        assert!(check_content(huge, usize::MAX, &limits, "widget").is_err());
    }

    #[test]
    fn field_limits() {
        let limits = Limits::default();
        let ok = WidgetFields {
            title: Some("t".repeat(200)),
            data_sources: Some(vec![
                DataSource {
                    device_id: "d".into(),
                    ..Default::default()
                };
                50
            ]),
            config: Some(vec![0; 64 * 1024]),
            ..Default::default()
        };
        assert!(ok.validate("widget", &limits).is_empty());
        let bad = WidgetFields {
            title: Some("t".repeat(201)),
            subtitle: Some("s".repeat(201)),
            config: Some(vec![0; 64 * 1024 + 1]),
            data_sources: Some(vec![DataSource::default()]),
            ..Default::default()
        };
        let v: Vec<_> = bad
            .validate("widget", &limits)
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(
            v,
            [
                "widget.title",
                "widget.subtitle",
                "widget.config",
                "widget.data_sources[0]"
            ]
        );
        let many = WidgetFields {
            data_sources: Some(vec![DataSource::default(); 51]),
            ..Default::default()
        };
        assert_eq!(
            many.validate("widget", &limits)[0].field,
            "widget.data_sources"
        );
    }
}
