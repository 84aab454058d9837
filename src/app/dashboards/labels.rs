//! AddDashboardLabel / RemoveDashboardLabel (needs UPDATE_LABELS) and `Dashboard.labels`.
//! Labels are not dashboard content: attaching one records LABEL_ADDED / LABEL_REMOVED (which
//! make no version) and leaves the dashboard's revision and etag as they were.

use std::collections::HashMap;
use std::sync::Arc;

use super::begin_on_dashboard;
use crate::app::labels::parse_name;
use crate::app::{App, Written};
use crate::core::authz::Permission;
use crate::core::dashboard::Dashboard;
use crate::core::event::{Change, EventType};
use crate::core::label::MAX_LABELS_PER_DASHBOARD;
use crate::core::{Error, Principal, Result};

/// Attaches the label to the dashboard. Idempotent: an attached label stays attached and
/// nothing is recorded. At most MAX_LABELS_PER_DASHBOARD labels (FAILED_PRECONDITION
/// `LABEL_LIMIT_REACHED`), counted under the dashboard's lock.
pub async fn add_label(
    app: &App,
    caller: &Principal,
    id: &str,
    label: &str,
) -> Result<Written<Dashboard>> {
    let label_id = parse_name("label", label)?;
    let (mut write, current) =
        begin_on_dashboard(app, caller, id, Permission::UpdateLabels).await?;
    if current.is_deleted() {
        return Err(Error::dashboard_deleted(current.name()));
    }
    let labels = app.store.labels();
    // Locked (shared) so that a DeleteLabel in flight cannot leave this attachment behind.
    let Some(found) = labels
        .lock(write.txn(), &caller.org_id, &label_id, false)
        .await?
    else {
        return Err(Error::not_found(format!("labels/{label_id}")));
    };
    let attached = labels.count_on(write.txn(), &caller.org_id, id).await?;
    let now = write.now();
    if attached >= MAX_LABELS_PER_DASHBOARD as u64
        && !labels
            .names_on(write.txn(), &caller.org_id, &[id.to_string()])
            .await?
            .get(id)
            .is_some_and(|names| names.contains(&found.name()))
    {
        return Err(Error::failed_precondition(
            "LABEL_LIMIT_REACHED",
            current.name(),
            format!("a dashboard carries at most {MAX_LABELS_PER_DASHBOARD} labels"),
        ));
    }
    if labels
        .attach(write.txn(), &caller.org_id, id, &label_id, now)
        .await?
    {
        write.record(Change::new(EventType::LabelAdded, found.name()).on_dashboard(id));
    }
    write.commit(current).await
}

/// Detaches the label from the dashboard. Idempotent: a label that is not attached (or no
/// longer exists) stays so and nothing is recorded.
pub async fn remove_label(
    app: &App,
    caller: &Principal,
    id: &str,
    label: &str,
) -> Result<Written<Dashboard>> {
    let label_id = parse_name("label", label)?;
    let (mut write, current) =
        begin_on_dashboard(app, caller, id, Permission::UpdateLabels).await?;
    if app
        .store
        .labels()
        .detach(write.txn(), &caller.org_id, id, &label_id)
        .await?
    {
        write.record(
            Change::new(EventType::LabelRemoved, format!("labels/{label_id}")).on_dashboard(id),
        );
    }
    write.commit(current).await
}

/// Fills in each dashboard's labels: from the fact cache, the rest in one statement.
pub async fn with_labels(
    app: &App,
    caller: &Principal,
    mut dashboards: Vec<Dashboard>,
) -> Result<Vec<Dashboard>> {
    let unknown: Vec<String> = dashboards
        .iter()
        .filter(|d| d.labels.is_none())
        .map(|d| d.id.clone())
        .collect();
    if unknown.is_empty() {
        return Ok(dashboards);
    }
    let mut on = labels_of(app, &caller.org_id, &unknown).await?;
    for d in &mut dashboards {
        if d.labels.is_none() {
            let labels = on.remove(&d.id).unwrap_or_default();
            d.labels = Some(Arc::unwrap_or_clone(labels));
        }
    }
    Ok(dashboards)
}

/// The labels (`labels/{id}`) on each of the dashboards `ids` of `org_id`: from the fact
/// cache, the rest in one statement.
pub async fn labels_of(
    app: &App,
    org_id: &str,
    ids: &[String],
) -> Result<HashMap<String, Arc<Vec<String>>>> {
    let load = |ids: Vec<String>| async move {
        let on = app
            .store
            .labels()
            .names_on(app.store.db(), org_id, &ids)
            .await?;
        Ok(on.into_iter().map(|(id, l)| (id, Arc::new(l))).collect())
    };
    match &app.facts {
        Some(cache) => {
            let revision = cache.revision(org_id).await?;
            cache
                .many(
                    cache.labels(),
                    org_id,
                    ids,
                    revision,
                    load,
                    Default::default,
                )
                .await
                .map(|found| found.into_iter().collect())
        }
        None => load(ids.to_vec()).await,
    }
}
