//! ListDashboards' page: the dashboards the caller may READ ([`super::list_ids`], their rows
//! from [`super::rows_of`]) and, in the
//! FULL view, their widgets (Qubitro's list entries carry their widgets).
//!
//! A FULL page reads its widgets in one statement for the whole page, never one per
//! dashboard, and only for as many dashboards as one response can carry: the widget
//! content of the page's dashboards is summed first (one statement), and the page stops
//! before the dashboard whose widgets would take it past the response budget (keeping at
//! least one: a dashboard's FULL view always fits, writes see to that).

use std::collections::HashMap;

use crate::app::App;
use crate::core::dashboard::{Dashboard, ListPage};
use crate::core::widget::{WIDGET_OVERHEAD_BYTES, Widget};
use crate::core::{Principal, Result};

/// The most dashboards a FULL page holds; a larger page size is lowered to it.
pub const MAX_FULL_PAGE_SIZE: usize = 100;

/// A page of ListDashboards.
#[derive(Debug, Clone, Default)]
pub struct ListedPage {
    /// The org's revision read just before the page.
    pub revision: i64,
    /// At most the page size.
    pub dashboards: Vec<Dashboard>,
    /// FULL: the widgets of each of `dashboards`, in the same order, each in layout
    /// order. BASIC: empty.
    pub widgets: Vec<Vec<Widget>>,
    /// Whether rows follow the last of `dashboards`.
    pub more: bool,
}

/// One page of at most `page_size` dashboards (`page.limit` must be `page_size + 1`; use
/// [`page_size_for`]), with their widgets when `full`, within `budget` bytes of widget
/// content.
pub async fn list_page(
    app: &App,
    caller: &Principal,
    page: ListPage,
    page_size: usize,
    full: bool,
    budget: usize,
) -> Result<ListedPage> {
    let (revision, mut entries) = super::list_ids(app, caller, page).await?;
    let mut more = entries.len() > page_size;
    entries.truncate(page_size);
    let mut dashboards = super::rows_of(app, caller, &entries).await?;
    if !full || dashboards.is_empty() {
        return Ok(ListedPage {
            revision,
            dashboards,
            widgets: Vec::new(),
            more,
        });
    }
    let ids: Vec<String> = dashboards.iter().map(|d| d.id.clone()).collect();
    let repo = app.store.widgets();
    let totals = repo.content_totals_of(&caller.org_id, &ids).await?;
    let mut used = 0usize;
    let fitting = ids
        .iter()
        .position(|id| {
            let t = totals.get(id).copied().unwrap_or_default();
            let bytes = usize::try_from(t.bytes)
                .unwrap_or(usize::MAX)
                .saturating_add(
                    usize::try_from(t.widgets)
                        .unwrap_or(usize::MAX)
                        .saturating_mul(WIDGET_OVERHEAD_BYTES),
                );
            used = used.saturating_add(bytes);
            used > budget
        })
        .map_or(ids.len(), |first_over| first_over.max(1));
    if fitting < dashboards.len() {
        dashboards.truncate(fitting);
        more = true;
    }
    let mut by_dashboard: HashMap<String, Vec<Widget>> = HashMap::new();
    for widget in repo.of_dashboards(&caller.org_id, &ids[..fitting]).await? {
        by_dashboard
            .entry(widget.dashboard_id.clone())
            .or_default()
            .push(widget);
    }
    let widgets = dashboards
        .iter()
        .map(|d| by_dashboard.remove(&d.id).unwrap_or_default())
        .collect();
    Ok(ListedPage {
        revision,
        dashboards,
        widgets,
        more,
    })
}

/// The page size a listing reads: `asked` (already bounded by the service's maximum),
/// lowered to [`MAX_FULL_PAGE_SIZE`] for the FULL view.
pub fn page_size_for(asked: usize, full: bool) -> usize {
    if full {
        asked.min(MAX_FULL_PAGE_SIZE)
    } else {
        asked
    }
}
