//! Dashboard versions: recording one inside a write's transaction, reading one back, listing
//! and pruning them. The layout of the tables is in the versions migration; what a version
//! holds and how contents are shared is in `core::version`. The only writer is
//! `app::write` (through [`prepare`] and [`insert`]) and the retention job (through [`prune`]).

use std::collections::{BTreeMap, BTreeSet};

use prost::Message;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, Order, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use super::entities::{dashboard, dashboard_version, version_content, widget, widget_state};
use super::widgets::into_domain;
use crate::core::version::{
    StoredFields, StoredWidget, VersionContent, VersionInfo, VersionWidget, content_hash,
};
use crate::core::widget::Layout;
use crate::core::{Error, Micros, Result};

/// What a write changed of one dashboard's content.
#[derive(Debug, Clone, Default)]
pub struct Touched {
    /// The widgets created, updated, moved or deleted.
    pub widgets: BTreeSet<String>,
}

/// Who made a version, and why.
#[derive(Debug, Clone, Default)]
pub struct VersionMeta {
    pub revision: i64,
    pub actor: String,
    pub time: Micros,
    pub message: Option<String>,
    pub restored_from: Option<i64>,
}

/// A version about to be recorded: its content is stored, its row waits for the write's
/// revision ([`insert`]).
#[derive(Debug, Clone)]
pub struct Pending {
    org_id: String,
    dashboard_id: String,
    version: i64,
    fields_hash: Vec<u8>,
}

/// Stores the dashboard's content after the write as its next version (its fields and the
/// widgets the write touched) and returns what [`insert`] records once the write has its
/// revision; `None` when the dashboard was purged in this very write. The first version of
/// a dashboard snapshots every widget; later ones only look at the widgets the write
/// touched (the rest are unchanged by construction: every content write records its
/// widgets' events). Needs nothing of the org's revision, so it runs before the write
/// takes the org's counter: the dashboard's own lock keeps its versions in order.
pub async fn prepare(
    txn: &DatabaseTransaction,
    org_id: &str,
    dashboard_id: &str,
    touched: &Touched,
) -> Result<Option<Pending>> {
    let Some(board) = dashboard::Entity::find_by_id(dashboard_id.to_string())
        .filter(dashboard::Column::OrgId.eq(org_id))
        .one(txn)
        .await?
    else {
        return Ok(None);
    };
    let latest = latest_version(txn, org_id, dashboard_id).await?;
    let version = latest.unwrap_or(0) + 1;

    let fields = StoredFields {
        title: board.title,
        description: board.description,
        metadata: board.metadata,
        refresh_period_nanos: board.refresh_period_nanos,
    };
    let fields_hash = store_content(txn, org_id, &fields.encode_to_vec()).await?;

    let ids: Vec<String> = match latest {
        None => {
            widget::Entity::find()
                .select_only()
                .column(widget::Column::Id)
                .filter(widget::Column::DashboardId.eq(dashboard_id))
                .into_tuple()
                .all(txn)
                .await?
        }
        Some(_) => touched.widgets.iter().cloned().collect(),
    };
    for id in ids {
        record_widget(txn, org_id, dashboard_id, &id, version).await?;
    }
    Ok(Some(Pending {
        org_id: org_id.to_string(),
        dashboard_id: dashboard_id.to_string(),
        version,
        fields_hash,
    }))
}

/// Records the prepared versions, made at `meta.revision`, in one statement; returns their
/// numbers.
pub async fn insert(
    txn: &DatabaseTransaction,
    pending: Vec<Pending>,
    meta: &VersionMeta,
) -> Result<Vec<i64>> {
    if pending.is_empty() {
        return Ok(Vec::new());
    }
    let numbers = pending.iter().map(|p| p.version).collect();
    let rows = pending.into_iter().map(|p| dashboard_version::ActiveModel {
        org_id: Set(p.org_id),
        dashboard_id: Set(p.dashboard_id),
        version: Set(p.version),
        revision: Set(meta.revision),
        actor: Set(meta.actor.clone()),
        create_time: Set(meta.time),
        message: Set(meta.message.clone()),
        restored_from: Set(meta.restored_from),
        fields_hash: Set(p.fields_hash),
    });
    dashboard_version::Entity::insert_many(rows)
        .exec_without_returning(txn)
        .await?;
    Ok(numbers)
}

/// Closes the widget's current state if it changed (or the widget is gone) and opens its
/// new one at `version`.
async fn record_widget(
    txn: &DatabaseTransaction,
    org_id: &str,
    dashboard_id: &str,
    widget_id: &str,
    version: i64,
) -> Result<()> {
    let live = widget::Entity::find_by_id(widget_id.to_string())
        .filter(widget::Column::DashboardId.eq(dashboard_id))
        .one(txn)
        .await?
        .map(into_domain)
        .transpose()?;
    let open = widget_state::Entity::find()
        .filter(widget_state::Column::DashboardId.eq(dashboard_id))
        .filter(widget_state::Column::WidgetId.eq(widget_id))
        .order_by(widget_state::Column::ValidFrom, Order::Desc)
        .one(txn)
        .await?
        .filter(|s| s.valid_to.is_none());
    let new = match &live {
        Some(w) => {
            let encoded = StoredWidget::of(w).encode_to_vec();
            Some((content_hash(&encoded), encoded, w.layout))
        }
        None => None,
    };
    if let (Some(open), Some((hash, _, layout))) = (&open, &new)
        && open.content_hash == *hash
        && Layout::new(open.x, open.y, open.w, open.h) == *layout
    {
        return Ok(());
    }
    if let Some(open) = open {
        widget_state::Entity::update_many()
            .col_expr(widget_state::Column::ValidTo, Expr::value(version))
            .filter(widget_state::Column::DashboardId.eq(dashboard_id))
            .filter(widget_state::Column::WidgetId.eq(widget_id))
            .filter(widget_state::Column::ValidFrom.eq(open.valid_from))
            .exec(txn)
            .await?;
    }
    if let Some((_, encoded, layout)) = new {
        let hash = store_content(txn, org_id, &encoded).await?;
        widget_state::Entity::insert(widget_state::ActiveModel {
            org_id: Set(org_id.to_string()),
            dashboard_id: Set(dashboard_id.to_string()),
            widget_id: Set(widget_id.to_string()),
            valid_from: Set(version),
            valid_to: Set(None),
            content_hash: Set(hash),
            x: Set(layout.x),
            y: Set(layout.y),
            w: Set(layout.w),
            h: Set(layout.h),
        })
        .exec_without_returning(txn)
        .await?;
    }
    Ok(())
}

/// Stores `encoded` under its hash unless it is there already; returns the hash.
async fn store_content(txn: &DatabaseTransaction, org_id: &str, encoded: &[u8]) -> Result<Vec<u8>> {
    let hash = content_hash(encoded);
    let insert = Query::insert()
        .into_table(version_content::Entity)
        .columns([
            version_content::Column::OrgId,
            version_content::Column::Hash,
            version_content::Column::Content,
        ])
        .values([org_id.into(), hash.clone().into(), encoded.to_vec().into()])
        .map_err(Error::internal)?
        .on_conflict(
            OnConflict::columns([
                version_content::Column::OrgId,
                version_content::Column::Hash,
            ])
            .do_nothing()
            .to_owned(),
        )
        .to_owned();
    let backend = txn.get_database_backend();
    txn.execute_raw(backend.build(&insert)).await?;
    Ok(hash)
}

/// The newest version of a dashboard, if it has any.
pub async fn latest_version(
    conn: &impl ConnectionTrait,
    org_id: &str,
    dashboard_id: &str,
) -> Result<Option<i64>> {
    let latest: Option<Option<i64>> = dashboard_version::Entity::find()
        .select_only()
        .column_as(dashboard_version::Column::Version.max(), "latest")
        .filter(dashboard_version::Column::OrgId.eq(org_id))
        .filter(dashboard_version::Column::DashboardId.eq(dashboard_id))
        .into_tuple()
        .one(conn)
        .await?;
    Ok(latest.flatten())
}

fn info_of(row: dashboard_version::Model) -> VersionInfo {
    VersionInfo {
        dashboard_id: row.dashboard_id,
        version: row.version,
        revision: row.revision,
        actor: row.actor,
        create_time: row.create_time,
        message: row.message,
        restored_from: row.restored_from,
    }
}

/// One page of a dashboard's versions, newest first, older than `before` when given.
pub async fn list(
    conn: &impl ConnectionTrait,
    org_id: &str,
    dashboard_id: &str,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<VersionInfo>> {
    let mut query = dashboard_version::Entity::find()
        .filter(dashboard_version::Column::OrgId.eq(org_id))
        .filter(dashboard_version::Column::DashboardId.eq(dashboard_id));
    if let Some(before) = before {
        query = query.filter(dashboard_version::Column::Version.lt(before));
    }
    let rows = query
        .order_by(dashboard_version::Column::Version, Order::Desc)
        .limit(limit)
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(info_of).collect())
}

/// The whole content of one version, if it exists (and was not pruned).
pub async fn get(
    conn: &impl ConnectionTrait,
    org_id: &str,
    dashboard_id: &str,
    version: i64,
) -> Result<Option<VersionContent>> {
    let Some(row) = dashboard_version::Entity::find_by_id((dashboard_id.to_string(), version))
        .filter(dashboard_version::Column::OrgId.eq(org_id))
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let states = widget_state::Entity::find()
        .filter(widget_state::Column::DashboardId.eq(dashboard_id))
        .filter(widget_state::Column::ValidFrom.lte(version))
        .filter(
            widget_state::Column::ValidTo
                .is_null()
                .or(widget_state::Column::ValidTo.gt(version)),
        )
        .all(conn)
        .await?;
    let mut hashes: Vec<Vec<u8>> = states.iter().map(|s| s.content_hash.clone()).collect();
    hashes.push(row.fields_hash.clone());
    let contents = load_contents(conn, org_id, hashes).await?;
    let fields = decode::<StoredFields>(&contents, &row.fields_hash)?;
    let mut widgets = states
        .into_iter()
        .map(|s| {
            Ok(VersionWidget {
                content: decode::<StoredWidget>(&contents, &s.content_hash)?,
                layout: Layout::new(s.x, s.y, s.w, s.h),
                id: s.widget_id,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    widgets.sort_by(|a, b| (a.layout.y, a.layout.x, &a.id).cmp(&(b.layout.y, b.layout.x, &b.id)));
    Ok(Some(VersionContent {
        info: info_of(row),
        fields,
        widgets,
    }))
}

async fn load_contents(
    conn: &impl ConnectionTrait,
    org_id: &str,
    mut hashes: Vec<Vec<u8>>,
) -> Result<BTreeMap<Vec<u8>, Vec<u8>>> {
    hashes.sort();
    hashes.dedup();
    let mut contents = BTreeMap::new();
    // Bounded IN lists (SQLite's default variable limit is 32,766).
    for chunk in hashes.chunks(500) {
        let rows = version_content::Entity::find()
            .filter(version_content::Column::OrgId.eq(org_id))
            .filter(version_content::Column::Hash.is_in(chunk.iter().cloned()))
            .all(conn)
            .await?;
        contents.extend(rows.into_iter().map(|r| (r.hash, r.content)));
    }
    Ok(contents)
}

fn decode<M: Message + Default>(contents: &BTreeMap<Vec<u8>, Vec<u8>>, hash: &[u8]) -> Result<M> {
    let bytes = contents
        .get(hash)
        .ok_or_else(|| Error::internal("a version refers to a content that is not stored"))?;
    M::decode(bytes.as_slice()).map_err(|e| Error::internal(format!("stored version content: {e}")))
}

/// `(org, dashboard)` of dashboards retention may prune: more than `keep_min` versions, the
/// oldest made before `oldest_kept`.
pub async fn prunable_dashboards(
    conn: &impl ConnectionTrait,
    keep_min: usize,
    oldest_kept: Micros,
    limit: u64,
) -> Result<Vec<(String, String)>> {
    let rows: Vec<(String, String)> = dashboard_version::Entity::find()
        .select_only()
        .column(dashboard_version::Column::OrgId)
        .column(dashboard_version::Column::DashboardId)
        .group_by(dashboard_version::Column::OrgId)
        .group_by(dashboard_version::Column::DashboardId)
        .having(
            Expr::col(dashboard_version::Column::Version)
                .count()
                .gt(i64::try_from(keep_min).unwrap_or(i64::MAX)),
        )
        .having(
            Expr::col(dashboard_version::Column::CreateTime)
                .min()
                .lt(oldest_kept),
        )
        .limit(limit)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows)
}

/// `(version, create_time, named)` of every version of one dashboard.
pub async fn retention_view(
    conn: &impl ConnectionTrait,
    org_id: &str,
    dashboard_id: &str,
) -> Result<Vec<(i64, Micros, bool)>> {
    let rows: Vec<(i64, i64, Option<String>)> = dashboard_version::Entity::find()
        .select_only()
        .column(dashboard_version::Column::Version)
        .column(dashboard_version::Column::CreateTime)
        .column(dashboard_version::Column::Message)
        .filter(dashboard_version::Column::OrgId.eq(org_id))
        .filter(dashboard_version::Column::DashboardId.eq(dashboard_id))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(v, t, m)| (v, t, m.is_some()))
        .collect())
}

/// Deletes the given versions of one dashboard, the widget states no remaining version
/// reads, and the contents nothing refers to any more. Returns how many versions went.
pub async fn prune(
    txn: &DatabaseTransaction,
    org_id: &str,
    dashboard_id: &str,
    versions: &[i64],
) -> Result<u64> {
    if versions.is_empty() {
        return Ok(0);
    }
    let doomed = dashboard_version::Entity::find()
        .filter(dashboard_version::Column::OrgId.eq(org_id))
        .filter(dashboard_version::Column::DashboardId.eq(dashboard_id))
        .filter(dashboard_version::Column::Version.is_in(versions.iter().copied()))
        .all(txn)
        .await?;
    let mut candidates: BTreeSet<Vec<u8>> = doomed.into_iter().map(|v| v.fields_hash).collect();
    let deleted = dashboard_version::Entity::delete_many()
        .filter(dashboard_version::Column::OrgId.eq(org_id))
        .filter(dashboard_version::Column::DashboardId.eq(dashboard_id))
        .filter(dashboard_version::Column::Version.is_in(versions.iter().copied()))
        .exec(txn)
        .await?
        .rows_affected;
    let kept: Vec<i64> = dashboard_version::Entity::find()
        .select_only()
        .column(dashboard_version::Column::Version)
        .filter(dashboard_version::Column::DashboardId.eq(dashboard_id))
        .into_tuple()
        .all(txn)
        .await?;
    let states = widget_state::Entity::find()
        .filter(widget_state::Column::DashboardId.eq(dashboard_id))
        .all(txn)
        .await?;
    for state in states {
        let read = kept
            .iter()
            .any(|v| *v >= state.valid_from && state.valid_to.is_none_or(|to| *v < to));
        // The open state is the live widget's: kept while the dashboard has versions.
        if !read && state.valid_to.is_some() {
            widget_state::Entity::delete_many()
                .filter(widget_state::Column::DashboardId.eq(dashboard_id))
                .filter(widget_state::Column::WidgetId.eq(&state.widget_id))
                .filter(widget_state::Column::ValidFrom.eq(state.valid_from))
                .exec(txn)
                .await?;
            candidates.insert(state.content_hash);
        }
    }
    delete_unreferenced(txn, org_id, candidates).await?;
    Ok(deleted)
}

/// Deletes every version of the dashboards `ids` (purged from the trash).
pub async fn delete_all(txn: &DatabaseTransaction, org_id: &str, ids: &[String]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let states = widget_state::Entity::find()
        .filter(widget_state::Column::DashboardId.is_in(ids.iter().cloned()))
        .all(txn)
        .await?;
    let versions = dashboard_version::Entity::find()
        .filter(dashboard_version::Column::DashboardId.is_in(ids.iter().cloned()))
        .all(txn)
        .await?;
    let mut candidates: BTreeSet<Vec<u8>> = states.into_iter().map(|s| s.content_hash).collect();
    candidates.extend(versions.into_iter().map(|v| v.fields_hash));
    widget_state::Entity::delete_many()
        .filter(widget_state::Column::DashboardId.is_in(ids.iter().cloned()))
        .exec(txn)
        .await?;
    dashboard_version::Entity::delete_many()
        .filter(dashboard_version::Column::OrgId.eq(org_id))
        .filter(dashboard_version::Column::DashboardId.is_in(ids.iter().cloned()))
        .exec(txn)
        .await?;
    delete_unreferenced(txn, org_id, candidates).await
}

/// Deletes the contents among `candidates` that no widget state and no version refers to.
async fn delete_unreferenced(
    txn: &DatabaseTransaction,
    org_id: &str,
    candidates: BTreeSet<Vec<u8>>,
) -> Result<()> {
    for hash in candidates {
        let in_states = widget_state::Entity::find()
            .filter(widget_state::Column::OrgId.eq(org_id))
            .filter(widget_state::Column::ContentHash.eq(hash.clone()))
            .one(txn)
            .await?
            .is_some();
        let in_versions = !in_states
            && dashboard_version::Entity::find()
                .filter(dashboard_version::Column::OrgId.eq(org_id))
                .filter(dashboard_version::Column::FieldsHash.eq(hash.clone()))
                .one(txn)
                .await?
                .is_some();
        if !in_states && !in_versions {
            version_content::Entity::delete_many()
                .filter(version_content::Column::OrgId.eq(org_id))
                .filter(version_content::Column::Hash.eq(hash))
                .exec(txn)
                .await?;
        }
    }
    Ok(())
}
