//! The pure rules of a dashboard's widget arrangement: overlaps, automatic placement and
//! atomic re-layout.

use super::layout::{DEFAULT_HEIGHT, DEFAULT_WIDTH, GRID_COLUMNS, Layout, LayoutPatch};
use crate::core::{Error, Result, Violation, names};

/// The layouts of one dashboard's widgets, as stored: the input of every grid decision.
#[derive(Debug, Clone)]
pub struct Arrangement {
    pub dashboard_id: String,
    /// `(widget id, layout)`; no two overlap.
    pub widgets: Vec<(String, Layout)>,
}

impl Arrangement {
    /// The first widget other than `skip` that `layout` overlaps, in reading order (top to
    /// bottom, left to right, then id): the same answer whatever order the widgets were read
    /// in (PostgreSQL returns them in none).
    fn collision(&self, layout: &Layout, skip: Option<&str>) -> Option<&(String, Layout)> {
        self.widgets
            .iter()
            .filter(|(id, other)| Some(id.as_str()) != skip && layout.overlaps(other))
            .min_by(|(a_id, a), (b_id, b)| (a.y, a.x, a_id).cmp(&(b.y, b.x, b_id)))
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
}
