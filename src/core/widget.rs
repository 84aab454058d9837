//! The widget as the service sees it, and the pure rules of its grid: bounds, overlaps,
//! automatic placement and atomic re-layout, plus the per-widget limits.
//!
//! The grid is [`GRID_COLUMNS`] wide and unbounded downwards. A layout covers the columns
//! `[x, x + w)` and the rows `[y, y + h)`; two widgets overlap when both ranges intersect.

use serde::{Deserialize, Serialize};

use super::dashboard::{Limits, etag_of};
use super::{Error, Micros, Result, Violation, names};

/// Columns of the dashboard grid.
pub const GRID_COLUMNS: i32 = 24;
/// Size of a widget created without one.
pub const DEFAULT_WIDTH: i32 = 12;
pub const DEFAULT_HEIGHT: i32 = 8;
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

/// A rectangle on the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub x: i32,
    pub y: i32,
    pub w: i32,
    pub h: i32,
}

impl Layout {
    pub fn new(x: i32, y: i32, w: i32, h: i32) -> Self {
        Self { x, y, w, h }
    }

    fn right(&self) -> i64 {
        i64::from(self.x) + i64::from(self.w)
    }

    fn bottom(&self) -> i64 {
        i64::from(self.y) + i64::from(self.h)
    }

    pub fn overlaps(&self, other: &Layout) -> bool {
        i64::from(self.x) < other.right()
            && i64::from(other.x) < self.right()
            && i64::from(self.y) < other.bottom()
            && i64::from(other.y) < self.bottom()
    }

    /// The grid rules, one violation per broken rule; `field` is the request path of the
    /// layout (e.g. `widget.layout`).
    pub fn violations(&self, field: &str) -> Vec<Violation> {
        LayoutPatch::from(*self).violations(field)
    }
}

impl std::fmt::Display for Layout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{{x: {}, y: {}, w: {}, h: {}}}",
            self.x, self.y, self.w, self.h
        )
    }
}

/// A layout as a request gives it: every field optional.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LayoutPatch {
    pub x: Option<i32>,
    pub y: Option<i32>,
    pub w: Option<i32>,
    pub h: Option<i32>,
}

impl LayoutPatch {
    /// `current` with the given fields replaced.
    pub fn apply(&self, current: Layout) -> Layout {
        Layout {
            x: self.x.unwrap_or(current.x),
            y: self.y.unwrap_or(current.y),
            w: self.w.unwrap_or(current.w),
            h: self.h.unwrap_or(current.h),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The grid rules that the given fields break (all of them for a complete layout);
    /// `field` is the request path of the layout. Each field is checked on its own, and
    /// `x + w` and `y + h` when both of a pair are given and valid.
    pub fn violations(&self, field: &str) -> Vec<Violation> {
        let mut violations = Vec::new();
        let mut check = |name: &str, value: Option<i32>, ok: bool, rule: &str| {
            if let Some(value) = value
                && !ok
            {
                violations.push(Violation::new(
                    format!("{field}.{name}"),
                    format!("{rule} (got {value})"),
                ));
            }
        };
        let x_ok = self.x.is_none_or(|x| x >= 0);
        let y_ok = self.y.is_none_or(|y| y >= 0);
        let w_ok = self.w.is_none_or(|w| (1..=GRID_COLUMNS).contains(&w));
        let h_ok = self.h.is_none_or(|h| h >= 1);
        check("x", self.x, x_ok, "must be at least 0");
        check("y", self.y, y_ok, "must be at least 0");
        check(
            "w",
            self.w,
            w_ok,
            &format!("must be 1..{GRID_COLUMNS} columns"),
        );
        check("h", self.h, h_ok, "must be at least 1");
        if let (Some(x), Some(w), true, true) = (self.x, self.w, x_ok, w_ok) {
            let right = i64::from(x) + i64::from(w);
            if right > i64::from(GRID_COLUMNS) {
                violations.push(Violation::new(
                    field,
                    format!(
                        "x + w must be at most {GRID_COLUMNS}, the width of the grid \
                         (got {x} + {w} = {right})"
                    ),
                ));
            }
        }
        if let (Some(y), Some(h), true, true) = (self.y, self.h, y_ok, h_ok)
            && i64::from(y) + i64::from(h) > i64::from(i32::MAX)
        {
            violations.push(Violation::new(
                field,
                format!("y + h must be at most {}", i32::MAX),
            ));
        }
        violations
    }
}

impl From<Layout> for LayoutPatch {
    fn from(l: Layout) -> Self {
        Self {
            x: Some(l.x),
            y: Some(l.y),
            w: Some(l.w),
            h: Some(l.h),
        }
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
}

impl WidgetFields {
    /// Checks every set field against the limits, and the layout's fields on their own (the
    /// final layout and overlaps need the arrangement: see [`Arrangement`]); `prefix` is the
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

/// The layouts of one dashboard's widgets, as stored: the input of every grid decision.
#[derive(Debug, Clone)]
pub struct Arrangement {
    pub dashboard_id: String,
    /// `(widget id, layout)`; no two overlap.
    pub widgets: Vec<(String, Layout)>,
}

impl Arrangement {
    /// The first widget other than `skip` that `layout` overlaps.
    fn collision(&self, layout: &Layout, skip: Option<&str>) -> Option<&(String, Layout)> {
        self.widgets
            .iter()
            .find(|(id, other)| Some(id.as_str()) != skip && layout.overlaps(other))
    }

    fn collision_violation(
        &self,
        field: &str,
        layout: &Layout,
        with: &(String, Layout),
    ) -> Violation {
        Violation::new(
            field,
            format!(
                "{layout} overlaps {} at {}",
                names::widget_name(&self.dashboard_id, &with.0),
                with.1
            ),
        )
    }

    /// The layout of a new widget. Neither `x` nor `y` given: the first free slot (see
    /// [`Arrangement::first_free_slot`]); both: exactly there. `w`/`h` default to
    /// [`DEFAULT_WIDTH`] x [`DEFAULT_HEIGHT`]. `field` is the request path of the layout.
    pub fn place_new(&self, patch: Option<LayoutPatch>, field: &str) -> Result<Layout> {
        let patch = patch.unwrap_or_default();
        let w = patch.w.unwrap_or(DEFAULT_WIDTH);
        let h = patch.h.unwrap_or(DEFAULT_HEIGHT);
        let layout = match (patch.x, patch.y) {
            (Some(x), Some(y)) => Layout { x, y, w, h },
            (None, None) => {
                // Validate the size alone, at a position that is always valid.
                let sized = Layout { x: 0, y: 0, w, h };
                let violations = sized.violations(field);
                if !violations.is_empty() {
                    return Err(Error::invalid_fields(violations));
                }
                return self.first_free_slot(w, h).ok_or_else(|| {
                    Error::invalid(
                        field,
                        "no free slot for a widget of this size below the lowest widget",
                    )
                });
            }
            (Some(_), None) => {
                return Err(Error::invalid(
                    format!("{field}.y"),
                    "set both x and y, or neither for automatic placement",
                ));
            }
            (None, Some(_)) => {
                return Err(Error::invalid(
                    format!("{field}.x"),
                    "set both x and y, or neither for automatic placement",
                ));
            }
        };
        self.check(&layout, None, field)?;
        Ok(layout)
    }

    /// Checks `layout` for widget `id` (or a new widget: `None`) against the grid and every
    /// other widget.
    pub fn check(&self, layout: &Layout, id: Option<&str>, field: &str) -> Result<()> {
        let violations = layout.violations(field);
        if !violations.is_empty() {
            return Err(Error::invalid_fields(violations));
        }
        if let Some(other) = self.collision(layout, id) {
            return Err(Error::invalid_fields(vec![
                self.collision_violation(field, layout, other),
            ]));
        }
        Ok(())
    }

    /// The first free `w` x `h` slot: the smallest `(y, x)` (rows top to bottom, then
    /// columns left to right) where the widget fits the grid and overlaps nothing. `None`
    /// only when the grid's bottom would pass `i32::MAX`.
    ///
    /// Only `y` in {0} ∪ {bottom edges} and `x` in {0} ∪ {right edges} need trying: moving
    /// the smallest free slot up (or left) by one would make it overlap a widget, so a
    /// widget's edge is right above (or left of) it.
    pub fn first_free_slot(&self, w: i32, h: i32) -> Option<Layout> {
        let mut ys: Vec<i64> = std::iter::once(0)
            .chain(self.widgets.iter().map(|(_, l)| l.bottom()))
            .collect();
        ys.sort_unstable();
        ys.dedup();
        let mut xs: Vec<i64> = std::iter::once(0)
            .chain(self.widgets.iter().map(|(_, l)| l.right()))
            .filter(|x| x + i64::from(w) <= i64::from(GRID_COLUMNS))
            .collect();
        xs.sort_unstable();
        xs.dedup();
        for y in ys {
            for &x in &xs {
                let (Ok(x), Ok(y)) = (i32::try_from(x), i32::try_from(y)) else {
                    return None;
                };
                let candidate = Layout { x, y, w, h };
                if candidate.bottom() > i64::from(i32::MAX) {
                    return None;
                }
                if self.collision(&candidate, None).is_none() {
                    return Some(candidate);
                }
            }
        }
        None
    }

    /// Applies many moves at once: `moves` are `(request field, widget id, patch)`, each id
    /// at most once and present in the arrangement. Every moved widget is checked against
    /// the final arrangement (widgets not moved keep their places), so swaps work; every
    /// problem is reported, and nothing is applied unless all pass. Returns the new layouts
    /// in the order of `moves`.
    pub fn relayout(&self, moves: &[(String, String, LayoutPatch)]) -> Result<Vec<Layout>> {
        let mut finals = Vec::with_capacity(moves.len());
        let mut target = self.clone();
        for (field, id, patch) in moves {
            let slot = target
                .widgets
                .iter_mut()
                .find(|(w, _)| w == id)
                .ok_or_else(|| Error::internal(format!("widget {id} is not in the arrangement")))?;
            slot.1 = patch.apply(slot.1);
            finals.push((field, id, slot.1));
        }
        let mut violations = Vec::new();
        for (field, id, layout) in &finals {
            let grid = layout.violations(field);
            if !grid.is_empty() {
                violations.extend(grid);
                continue;
            }
            if let Some(other) = target.collision(layout, Some(id)) {
                violations.push(target.collision_violation(field, layout, other));
            }
        }
        if !violations.is_empty() {
            return Err(Error::invalid_fields(violations));
        }
        Ok(finals.into_iter().map(|(_, _, layout)| layout).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrangement(widgets: &[(&str, Layout)]) -> Arrangement {
        Arrangement {
            dashboard_id: "d".into(),
            widgets: widgets.iter().map(|(id, l)| (id.to_string(), *l)).collect(),
        }
    }

    fn fields(err: Error) -> Vec<(String, String)> {
        match err {
            Error::InvalidArgument { violations, .. } => violations
                .into_iter()
                .map(|v| (v.field, v.description))
                .collect(),
            other => panic!("not INVALID_ARGUMENT: {other:?}"),
        }
    }

    #[test]
    fn partial_layouts_check_what_they_give() {
        let f = |p: LayoutPatch| {
            p.violations("l")
                .into_iter()
                .map(|v| v.field)
                .collect::<Vec<_>>()
        };
        assert!(f(LayoutPatch::default()).is_empty());
        let x = |x| LayoutPatch {
            x: Some(x),
            ..Default::default()
        };
        assert!(f(x(23)).is_empty(), "w unknown: x + w not checked");
        assert_eq!(f(x(-1)), ["l.x"]);
        assert_eq!(
            f(LayoutPatch {
                x: Some(20),
                w: Some(8),
                ..Default::default()
            }),
            ["l"]
        );
        assert_eq!(
            f(LayoutPatch {
                h: Some(0),
                ..Default::default()
            }),
            ["l.h"]
        );
    }

    #[test]
    fn overlap_is_half_open() {
        let a = Layout::new(0, 0, 12, 8);
        assert!(!a.overlaps(&Layout::new(12, 0, 12, 8)), "touching edges");
        assert!(!a.overlaps(&Layout::new(0, 8, 12, 8)));
        assert!(a.overlaps(&Layout::new(11, 7, 2, 2)));
        assert!(a.overlaps(&Layout::new(2, 2, 1, 1)), "contained");
        assert!(Layout::new(2, 2, 1, 1).overlaps(&a));
    }

    #[test]
    fn grid_rules_name_their_fields() {
        let f = |l: Layout| {
            l.violations("widget.layout")
                .into_iter()
                .map(|v| v.field)
                .collect::<Vec<_>>()
        };
        assert!(f(Layout::new(0, 0, 24, 1)).is_empty());
        assert_eq!(f(Layout::new(-1, 0, 1, 1)), ["widget.layout.x"]);
        assert_eq!(f(Layout::new(0, -1, 1, 1)), ["widget.layout.y"]);
        assert_eq!(f(Layout::new(0, 0, 0, 1)), ["widget.layout.w"]);
        assert_eq!(f(Layout::new(0, 0, 25, 1)), ["widget.layout.w"]);
        assert_eq!(f(Layout::new(0, 0, 1, 0)), ["widget.layout.h"]);
        assert_eq!(f(Layout::new(20, 0, 5, 1)), ["widget.layout"]);
        assert_eq!(f(Layout::new(0, i32::MAX, 1, 1)), ["widget.layout"]);
        assert_eq!(
            f(Layout::new(-1, -1, 0, 0)),
            [
                "widget.layout.x",
                "widget.layout.y",
                "widget.layout.w",
                "widget.layout.h"
            ]
        );
    }

    #[test]
    fn auto_placement_fills_rows_top_to_bottom_left_to_right() {
        let mut a = arrangement(&[]);
        let mut placed = Vec::new();
        for i in 0..3 {
            let l = a.place_new(None, "widget.layout").unwrap();
            a.widgets.push((format!("w{i}"), l));
            placed.push(l);
        }
        assert_eq!(
            placed,
            [
                Layout::new(0, 0, 12, 8),
                Layout::new(12, 0, 12, 8),
                Layout::new(0, 8, 12, 8)
            ]
        );
        // A hole left of an existing widget is found first.
        let a = arrangement(&[("a", Layout::new(6, 0, 18, 4))]);
        assert_eq!(a.first_free_slot(6, 4), Some(Layout::new(0, 0, 6, 4)));
        assert_eq!(a.first_free_slot(7, 4), Some(Layout::new(0, 4, 7, 4)));
        // Partial size.
        let patch = LayoutPatch {
            w: Some(24),
            ..Default::default()
        };
        assert_eq!(
            a.place_new(Some(patch), "widget.layout").unwrap(),
            Layout::new(0, 4, 24, 8)
        );
        // A gap between widgets in a row.
        let a = arrangement(&[
            ("a", Layout::new(0, 0, 4, 2)),
            ("b", Layout::new(10, 0, 14, 2)),
        ]);
        assert_eq!(a.first_free_slot(6, 2), Some(Layout::new(4, 0, 6, 2)));
        assert_eq!(a.first_free_slot(6, 3), Some(Layout::new(4, 0, 6, 3)));
        assert_eq!(a.first_free_slot(7, 1), Some(Layout::new(0, 2, 7, 1)));
    }

    #[test]
    fn auto_placement_agrees_with_a_brute_force_scan() {
        // Deterministic pseudo-random arrangements.
        let mut seed = 0x2545_f491_u64;
        let mut next = |n: i32| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as i32
        };
        for _ in 0..200 {
            let mut a = arrangement(&[]);
            for i in 0..next(12) {
                let l = Layout::new(next(20), next(20), 1 + next(8), 1 + next(6));
                if l.violations("f").is_empty() && a.collision(&l, None).is_none() {
                    a.widgets.push((format!("w{i}"), l));
                }
            }
            let (w, h) = (1 + next(24), 1 + next(10));
            let brute = (0..100)
                .flat_map(|y| (0..=GRID_COLUMNS - w).map(move |x| Layout::new(x, y, w, h)))
                .find(|l| a.collision(l, None).is_none());
            assert_eq!(a.first_free_slot(w, h), brute, "{a:?} {w}x{h}");
        }
    }

    #[test]
    fn explicit_placement_reports_the_collision() {
        let a = arrangement(&[("a", Layout::new(0, 0, 12, 8))]);
        let explicit = LayoutPatch {
            x: Some(6),
            y: Some(4),
            w: Some(4),
            h: Some(4),
        };
        let v = fields(a.place_new(Some(explicit), "widget.layout").unwrap_err());
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].0, "widget.layout");
        assert!(v[0].1.contains("dashboards/d/widgets/a"), "{}", v[0].1);
        let half = LayoutPatch {
            x: Some(1),
            ..Default::default()
        };
        assert_eq!(
            fields(a.place_new(Some(half), "widget.layout").unwrap_err())[0].0,
            "widget.layout.y"
        );
        let too_wide = LayoutPatch {
            w: Some(30),
            ..Default::default()
        };
        assert_eq!(
            fields(a.place_new(Some(too_wide), "widget.layout").unwrap_err())[0].0,
            "widget.layout.w"
        );
    }

    #[test]
    fn relayout_checks_the_final_arrangement() {
        let a = arrangement(&[
            ("a", Layout::new(0, 0, 12, 8)),
            ("b", Layout::new(12, 0, 12, 8)),
            ("c", Layout::new(0, 8, 24, 4)),
        ]);
        let to = |x, y| LayoutPatch {
            x: Some(x),
            y: Some(y),
            ..Default::default()
        };
        // Swap: each alone would collide, together they fit.
        let swapped = a
            .relayout(&[
                ("layouts[0].layout".into(), "a".into(), to(12, 0)),
                ("layouts[1].layout".into(), "b".into(), to(0, 0)),
            ])
            .unwrap();
        assert_eq!(
            swapped,
            [Layout::new(12, 0, 12, 8), Layout::new(0, 0, 12, 8)]
        );
        assert!(
            a.relayout(&[("layouts[0].layout".into(), "a".into(), to(12, 0))])
                .is_err()
        );
        // Onto an unmoved widget, and out of the grid: both reported.
        let v = fields(
            a.relayout(&[
                ("layouts[0].layout".into(), "a".into(), to(0, 6)),
                (
                    "layouts[1].layout".into(),
                    "b".into(),
                    LayoutPatch {
                        x: Some(20),
                        ..Default::default()
                    },
                ),
            ])
            .unwrap_err(),
        );
        assert_eq!(v.len(), 2, "{v:?}");
        assert_eq!(v[0].0, "layouts[0].layout");
        assert!(v[0].1.contains("dashboards/d/widgets/c"), "{}", v[0].1);
        assert_eq!(v[1].0, "layouts[1].layout");
        // Two moved widgets onto each other.
        let v = fields(
            a.relayout(&[
                ("layouts[0].layout".into(), "a".into(), to(0, 20)),
                ("layouts[1].layout".into(), "b".into(), to(6, 20)),
            ])
            .unwrap_err(),
        );
        assert!(v[0].1.contains("dashboards/d/widgets/b"), "{v:?}");
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
