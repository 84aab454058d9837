//! ListDashboardVersions, GetDashboardVersion and DiffDashboardVersions.

use super::authorize_history;
use crate::app::App;
use crate::core::page_token as pagination;
use crate::core::version::{VersionContent, VersionDiff, VersionInfo, diff as diff_contents};
use crate::core::{Error, Principal, Result, names};
use crate::store::versions;

/// One page of versions, newest first.
pub struct VersionPage {
    pub versions: Vec<VersionInfo>,
    pub next_page_token: String,
}

pub async fn list(
    app: &App,
    caller: &Principal,
    dashboard_id: &str,
    page_size: usize,
    page_token: &str,
) -> Result<VersionPage> {
    let parent = names::dashboard_name(dashboard_id);
    let fingerprint = pagination::fingerprint(&[&parent, "versions"]);
    let before: Option<(i64, String)> = pagination::decode(page_token, &fingerprint)?;
    authorize_history(app, caller, dashboard_id).await?;
    let mut page = versions::list(
        app.store.db(),
        &caller.org_id,
        dashboard_id,
        before.map(|(v, _)| v),
        page_size as u64 + 1,
    )
    .await?;
    let more = page.len() > page_size;
    page.truncate(page_size);
    let next_page_token = match page.last() {
        Some(last) if more => pagination::encode(&fingerprint, last.version, dashboard_id),
        _ => String::new(),
    };
    Ok(VersionPage {
        versions: page,
        next_page_token,
    })
}

/// The whole content of one version: NOT_FOUND when it never existed or was pruned.
pub async fn get(
    app: &App,
    caller: &Principal,
    dashboard_id: &str,
    version: i64,
) -> Result<VersionContent> {
    authorize_history(app, caller, dashboard_id).await?;
    load(app, &caller.org_id, dashboard_id, version).await
}

/// What changed from version `base` to version `target`.
pub async fn diff(
    app: &App,
    caller: &Principal,
    dashboard_id: &str,
    base: i64,
    target: i64,
) -> Result<VersionDiff> {
    authorize_history(app, caller, dashboard_id).await?;
    let base = load(app, &caller.org_id, dashboard_id, base).await?;
    let target = load(app, &caller.org_id, dashboard_id, target).await?;
    Ok(diff_contents(&base, &target))
}

pub(super) async fn load(
    app: &App,
    org_id: &str,
    dashboard_id: &str,
    version: i64,
) -> Result<VersionContent> {
    versions::get(app.store.db(), org_id, dashboard_id, version)
        .await?
        .ok_or_else(|| Error::not_found(names::version_name(dashboard_id, version)))
}
