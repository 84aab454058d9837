//! A widget's rectangle on the grid and the grid's bounds.
//!
//! The grid is [`GRID_COLUMNS`] wide and unbounded downwards. A layout covers the columns
//! `[x, x + w)` and the rows `[y, y + h)`; two widgets overlap when both ranges intersect.

use crate::core::Violation;

/// Columns of the dashboard grid.
pub const GRID_COLUMNS: i32 = 24;
/// Size of a widget created without one.
pub const DEFAULT_WIDTH: i32 = 12;
pub const DEFAULT_HEIGHT: i32 = 8;

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

    pub(super) fn right(&self) -> i64 {
        i64::from(self.x) + i64::from(self.w)
    }

    pub(super) fn bottom(&self) -> i64 {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
