//! StarDashboard and UnstarDashboard: the caller's bookmarks. Stars are the caller's own
//! preference, not a change of the dashboard: they append no event (DESIGN §7: stars are
//! not audited), so they take no revision, make no version and wake no watcher.

use std::collections::HashSet;
use std::sync::Arc;

use crate::app::{App, Written};
use crate::core::authz::Permission;
use crate::core::dashboard::Dashboard;
use crate::core::{Error, Principal, Result, names};

/// Stars the dashboard for the caller (needs READ). Idempotent: starring it again keeps
/// the one star. A dashboard in the trash cannot be starred (DASHBOARD_DELETED), as no
/// other write applies to one.
pub async fn star(app: &App, caller: &Principal, id: &str) -> Result<Written<Dashboard>> {
    let (dashboard, _) = app
        .authorizer
        .dashboard(caller, id, Permission::Read)
        .await?;
    let write = app
        .write(&caller.org_id, names::user_name(&caller.user_id))
        .await?;
    // A shared lock: the dashboard cannot go to the trash (or be purged) before the star
    // commits, while other readers and starrers of it go on.
    let current = app
        .store
        .dashboards()
        .lock_shared(write.txn(), &caller.org_id, id)
        .await?
        .ok_or_else(|| Error::not_found(names::dashboard_name(id)))?;
    if current.is_deleted() {
        return Err(Error::dashboard_deleted(current.name()));
    }
    app.store
        .stars()
        .star(
            write.txn(),
            &caller.org_id,
            &caller.user_id,
            id,
            write.now(),
        )
        .await?;
    // Nothing recorded: the write commits without a revision or an event.
    let written = write
        .commit(Dashboard {
            starred: Some(true),
            ..dashboard
        })
        .await?;
    stars_changed(app);
    Ok(written)
}

/// After a star's commit: the callers' cached stars are read again.
fn stars_changed(app: &App) {
    if let Some(cache) = &app.facts {
        cache.stars_changed();
    }
}

/// Removes the caller's star of the dashboard (needs READ). Idempotent: a dashboard that
/// is not starred stays so. Allowed in the trash too: it only takes back the caller's own
/// bookmark.
pub async fn unstar(app: &App, caller: &Principal, id: &str) -> Result<Written<Dashboard>> {
    let (dashboard, _) = app
        .authorizer
        .dashboard(caller, id, Permission::Read)
        .await?;
    let write = app
        .write(&caller.org_id, names::user_name(&caller.user_id))
        .await?;
    app.store
        .stars()
        .unstar(write.txn(), &caller.org_id, &caller.user_id, id)
        .await?;
    let written = write
        .commit(Dashboard {
            starred: Some(false),
            ..dashboard
        })
        .await?;
    stars_changed(app);
    Ok(written)
}

/// Fills in whether the caller starred each dashboard: one statement for them all.
pub async fn with_stars(
    app: &App,
    caller: &Principal,
    mut dashboards: Vec<Dashboard>,
) -> Result<Vec<Dashboard>> {
    let unknown: Vec<String> = dashboards
        .iter()
        .filter(|d| d.starred.is_none())
        .map(|d| d.id.clone())
        .collect();
    if unknown.is_empty() {
        return Ok(dashboards);
    }
    let starred: Arc<HashSet<String>> = match &app.facts {
        // The caller's stars, kept while its org is unwritten (starring is a write).
        Some(cache) => {
            let key = (
                crate::app::authorizer::user_key(caller),
                cache.stars_epoch(),
            );
            let revision = cache.revision(&caller.org_id).await?;
            let load = || async {
                Ok(Arc::new(
                    app.store
                        .stars()
                        .all_starred_by(&caller.org_id, &caller.user_id)
                        .await?,
                ))
            };
            cache.one(cache.stars(), key, revision, load).await?
        }
        None => Arc::new(
            app.store
                .stars()
                .starred_among(&caller.org_id, &caller.user_id, &unknown)
                .await?,
        ),
    };
    for d in &mut dashboards {
        if d.starred.is_none() {
            d.starred = Some(starred.contains(&d.id));
        }
    }
    Ok(dashboards)
}
