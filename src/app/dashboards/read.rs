//! The dashboard queries: Get, List, BatchGet, ListDashboardDataSources.

use std::collections::{HashMap, HashSet};

use crate::app::App;
use crate::core::authz::Permission;
use crate::core::dashboard::{Dashboard, ListPage};
use crate::core::filter;
use crate::core::widget::{DataSource, Widget, unique_data_sources};
use crate::core::{Error, Principal, Result, names, now_micros};
use crate::store::dashboards::{ListQuery, PageEntry};

/// The dashboard (with its public-link state), and its widgets when `full`.
pub async fn get(
    app: &App,
    caller: &Principal,
    id: &str,
    full: bool,
) -> Result<(Dashboard, Vec<Widget>)> {
    let (dashboard, _) = app
        .authorizer
        .dashboard(caller, id, Permission::Read)
        .await?;
    let widgets = if full {
        app.store
            .widgets()
            .of_dashboards(&caller.org_id, std::slice::from_ref(&dashboard.id))
            .await?
    } else {
        Vec::new()
    };
    Ok((dashboard, widgets))
}

/// One page of the ids (with their sort keys) of the dashboards the caller may READ, in
/// the order asked, and the org's revision read just before it (the page reflects at least
/// that revision: a watch started from it misses nothing).
pub async fn list_ids(
    app: &App,
    caller: &Principal,
    page: ListPage,
) -> Result<(i64, Vec<PageEntry>)> {
    let revision = crate::app::freshness::latest_revision(app, &caller.org_id).await?;
    // An ADMIN reads every dashboard: its subjects matter only to a filter
    // (`shared_with_me`).
    let (subjects, facts) = if caller.is_admin() {
        if page.filter.is_none() {
            (Vec::new(), None)
        } else {
            (app.authorizer.subjects(caller).await?, None)
        }
    } else {
        let (subjects, facts) = super::listing_facts::facts_for(app, caller, revision).await?;
        (subjects, Some(facts))
    };
    if let Some(filter) = &page.filter {
        filter::check_cost(filter, subjects.len())?;
    }
    let query = ListQuery {
        org_id: caller.org_id.clone(),
        caller_id: caller.user_id.clone(),
        subjects,
        only_readable: !caller.is_admin(),
        facts,
        plan: app.reach_plan,
        now: now_micros(),
        page,
    };
    if query.only_readable
        && let Some(page) = super::label_filter::page(app, &query).await?
    {
        return Ok((revision, page));
    }
    Ok((revision, app.store.dashboards().list_ids(&query).await?))
}

/// The dashboards of a listed page, in its order, from the fact cache (the rest in one
/// statement). One deleted since the page was read is left out.
pub async fn rows_of(app: &App, caller: &Principal, page: &[PageEntry]) -> Result<Vec<Dashboard>> {
    let ids: Vec<String> = page.iter().map(|(id, _)| id.clone()).collect();
    let mut found = app.authorizer.with_grants(&caller.org_id, &ids).await?;
    Ok(ids
        .iter()
        .filter_map(|id| found.remove(id).map(|d| d.dashboard.clone()))
        .collect())
}

/// The dashboards of `ids` (in that order, repeats allowed), each with its widgets when
/// `full`; NOT_FOUND for the first one the caller cannot READ, as if it did not exist.
pub async fn batch_get(
    app: &App,
    caller: &Principal,
    ids: &[String],
    full: bool,
) -> Result<Vec<(Dashboard, Vec<Widget>)>> {
    let mut unique = ids.to_vec();
    unique.sort();
    unique.dedup();
    let (found, access) = app
        .authorizer
        .dashboards_with_access(caller, &unique)
        .await?;
    let readable: HashMap<&str, &Dashboard> = found
        .iter()
        .zip(access)
        .filter(|(_, a)| a.permissions.contains(Permission::Read))
        .map(|(d, _)| (d.id.as_str(), d))
        .collect();
    let mut widgets: HashMap<String, Vec<Widget>> = HashMap::new();
    if full && !readable.is_empty() {
        let readable_ids: Vec<String> = readable.keys().map(|id| id.to_string()).collect();
        for widget in app
            .store
            .widgets()
            .of_dashboards(&caller.org_id, &readable_ids)
            .await?
        {
            widgets
                .entry(widget.dashboard_id.clone())
                .or_default()
                .push(widget);
        }
    }
    ids.iter()
        .map(|id| {
            let dashboard = readable
                .get(id.as_str())
                .map(|d| (*d).clone())
                .ok_or_else(|| Error::not_found(names::dashboard_name(id)))?;
            let ws = widgets.get(id).cloned().unwrap_or_default();
            Ok((dashboard, ws))
        })
        .collect()
}

/// The distinct data sources the dashboard's widgets query.
pub async fn data_sources(app: &App, caller: &Principal, id: &str) -> Result<Vec<DataSource>> {
    let (_, widgets) = get(app, caller, id, true).await?;
    Ok(unique_data_sources(&widgets))
}

/// Fills in what the wire form shows beyond the rows: whether the caller starred each
/// dashboard, and the public-link state of those fresh from a write (reads carry it). One
/// statement each for a whole page.
pub async fn with_caller_state(
    app: &App,
    caller: &Principal,
    dashboards: Vec<Dashboard>,
) -> Result<Vec<Dashboard>> {
    let dashboards = with_public_state(app, dashboards).await?;
    let dashboards = super::labels::with_labels(app, caller, dashboards).await?;
    super::stars::with_stars(app, caller, dashboards).await
}

async fn with_public_state(app: &App, mut dashboards: Vec<Dashboard>) -> Result<Vec<Dashboard>> {
    let unknown: Vec<String> = dashboards
        .iter()
        .filter(|d| d.is_public.is_none())
        .map(|d| d.id.clone())
        .collect();
    if unknown.is_empty() {
        return Ok(dashboards);
    }
    let public: HashSet<String> = app
        .store
        .public_links()
        .public_among(&unknown, now_micros())
        .await?
        .into_iter()
        .collect();
    for d in &mut dashboards {
        if d.is_public.is_none() {
            d.is_public = Some(public.contains(&d.id));
        }
    }
    Ok(dashboards)
}
