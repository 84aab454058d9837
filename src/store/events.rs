//! The change log's tables: the per-org revision counter and the events. The only writer of
//! both is `app::write`, through [`bump_revision`] and [`append`], inside the write's own
//! transaction.

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait, Order, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::entities::{event, org_revision};
use crate::core::event::{Change, Event, EventType};
use crate::core::event_filter::{EventComparison, EventFilter};
use crate::core::filter::{Filter, Ordering};
use crate::core::{Error, Micros, Result};

/// The PostgreSQL channel every committed write notifies with `"{revision} {org}"`: the
/// doorbell between replicas (DESIGN §7); `server::notify` listens to it.
pub const REVISIONS_CHANNEL: &str = "dashboards_revisions";

/// Orgs longer than this are not named in a notification (its payload is limited to 8,000
/// bytes); their watchers on other replicas learn of writes by polling instead.
const MAX_NOTIFIED_ORG_BYTES: usize = 1_000;

/// Makes the org's next revision and returns it. The counter row stays locked until the
/// transaction ends, so writers of one org take revisions in commit order, without gaps;
/// callers bump last, after every other lock they take, so the wait is one commit long.
///
/// On PostgreSQL the same statement queues a `NOTIFY` on [`REVISIONS_CHANNEL`], which the
/// server delivers to listeners when (and only if) the transaction commits.
pub async fn bump_revision(txn: &DatabaseTransaction, org_id: &str) -> Result<i64> {
    let backend = txn.get_database_backend();
    if backend == sea_orm::DatabaseBackend::Postgres && org_id.len() <= MAX_NOTIFIED_ORG_BYTES {
        let statement = sea_orm::Statement::from_sql_and_values(
            backend,
            format!(
                "WITH bumped AS (\
                   INSERT INTO org_revisions (org_id, revision) VALUES ($1, 1) \
                   ON CONFLICT (org_id) DO UPDATE SET revision = org_revisions.revision + 1 \
                   RETURNING revision) \
                 SELECT b.revision FROM bumped b CROSS JOIN LATERAL \
                   (SELECT pg_notify('{REVISIONS_CHANNEL}', b.revision::text || ' ' || $1)) n"
            ),
            [org_id.into()],
        );
        let row = txn
            .query_one_raw(statement)
            .await?
            .ok_or_else(|| Error::internal("the revision counter returned no row"))?;
        return Ok(row.try_get_by_index::<i64>(0)?);
    }
    let insert = Query::insert()
        .into_table(org_revision::Entity)
        .columns([org_revision::Column::OrgId, org_revision::Column::Revision])
        .values([org_id.into(), 1i64.into()])
        .map_err(Error::internal)?
        .on_conflict(
            OnConflict::column(org_revision::Column::OrgId)
                .value(
                    org_revision::Column::Revision,
                    Expr::col((org_revision::Entity, org_revision::Column::Revision)).add(1),
                )
                .to_owned(),
        )
        .returning_col(org_revision::Column::Revision)
        .to_owned();
    let row = txn
        .query_one_raw(backend.build(&insert))
        .await?
        .ok_or_else(|| Error::internal("the revision counter returned no row"))?;
    Ok(row.try_get_by_index::<i64>(0)?)
}

/// Appends a write's changes at `revision`, in the order recorded.
pub async fn append(
    txn: &DatabaseTransaction,
    org_id: &str,
    revision: i64,
    time: Micros,
    actor: &str,
    changes: &[Change],
) -> Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let mut rows = Vec::with_capacity(changes.len());
    for (index, change) in changes.iter().enumerate() {
        rows.push(event::ActiveModel {
            org_id: sea_orm::Set(org_id.to_string()),
            revision: sea_orm::Set(revision),
            seq: sea_orm::Set(i32::try_from(index).map_err(Error::internal)?),
            time: sea_orm::Set(time),
            actor: sea_orm::Set(actor.to_string()),
            r#type: sea_orm::Set(change.r#type.as_str().to_string()),
            resource: sea_orm::Set(change.resource.clone()),
            dashboard_id: sea_orm::Set(change.dashboard_id.clone()),
            changed_fields: sea_orm::Set(
                serde_json::to_string(&change.changed_fields).map_err(Error::internal)?,
            ),
            grantee: sea_orm::Set(change.grantee.clone()),
            role: sea_orm::Set(change.role.clone()),
        });
    }
    event::Entity::insert_many(rows)
        .exec_without_returning(txn)
        .await?;
    Ok(())
}

/// Deletes the events older than `before`, of every org: the change log's retention. Not a
/// write of any org (it changes no resource, so it takes no revision); the counters stay,
/// so revisions never repeat. Run every purge interval, so one run deletes about one
/// interval's worth of events.
pub async fn purge_before(conn: &impl ConnectionTrait, before: Micros) -> Result<u64> {
    Ok(event::Entity::delete_many()
        .filter(event::Column::Time.lt(before))
        .exec(conn)
        .await?
        .rows_affected)
}

/// The org's latest committed revision (0 before its first write).
pub async fn latest_revision(conn: &impl ConnectionTrait, org_id: &str) -> Result<i64> {
    Ok(org_revision::Entity::find_by_id(org_id.to_string())
        .one(conn)
        .await?
        .map_or(0, |r| r.revision))
}

/// The events after revision `after`, oldest first, in whole revisions: about `limit` of
/// them (more only when a single revision holds more), and whether more may follow. What a
/// watch reads.
pub async fn after(
    conn: &impl ConnectionTrait,
    org_id: &str,
    after: i64,
    limit: u64,
) -> Result<(Vec<Event>, bool)> {
    let of_org = || event::Entity::find().filter(event::Column::OrgId.eq(org_id));
    let mut rows = of_org()
        .filter(event::Column::Revision.gt(after))
        .order_by(event::Column::Revision, Order::Asc)
        .order_by(event::Column::Seq, Order::Asc)
        .limit(limit + 1)
        .all(conn)
        .await?;
    let more = rows.len() as u64 > limit;
    if more {
        let (first, last) = (rows[0].revision, rows[rows.len() - 1].revision);
        if first == last {
            // One revision larger than the limit: read it whole.
            rows = of_org()
                .filter(event::Column::Revision.eq(first))
                .order_by(event::Column::Seq, Order::Asc)
                .all(conn)
                .await?;
        } else {
            // The last revision may be cut short: it is read next time.
            rows.retain(|e| e.revision < last);
        }
    }
    let events = rows.into_iter().map(into_domain).collect::<Result<_>>()?;
    Ok((events, more))
}

/// The oldest revision the log still holds for the org (`None`: it holds none).
pub async fn oldest_revision(conn: &impl ConnectionTrait, org_id: &str) -> Result<Option<i64>> {
    let row = event::Entity::find()
        .select_only()
        .column(event::Column::Revision)
        .filter(event::Column::OrgId.eq(org_id))
        .order_by(event::Column::Revision, Order::Asc)
        .limit(1)
        .into_tuple::<i64>()
        .one(conn)
        .await?;
    Ok(row)
}

/// A page of events, newest first, strictly before `before` (revision, index) when given.
pub async fn page(
    conn: &impl ConnectionTrait,
    org_id: &str,
    condition: Condition,
    before: Option<(i64, i32)>,
    limit: u64,
) -> Result<Vec<Event>> {
    let mut query = event::Entity::find()
        .filter(event::Column::OrgId.eq(org_id))
        .filter(condition);
    if let Some((revision, index)) = before {
        query = query.filter(
            Condition::any()
                .add(event::Column::Revision.lt(revision))
                .add(
                    Condition::all()
                        .add(event::Column::Revision.eq(revision))
                        .add(event::Column::Seq.lt(index)),
                ),
        );
    }
    let rows = query
        .order_by(event::Column::Revision, Order::Desc)
        .order_by(event::Column::Seq, Order::Desc)
        .limit(limit)
        .all(conn)
        .await?;
    rows.into_iter().map(into_domain).collect()
}

/// The SQL condition of a ListEvents filter (values are bound, never spliced).
pub fn condition(filter: Option<&EventFilter>) -> Condition {
    match filter {
        None => Condition::all(),
        Some(f) => condition_of(f),
    }
}

fn condition_of(filter: &EventFilter) -> Condition {
    match filter {
        Filter::And(a, b) => Condition::all().add(condition_of(a)).add(condition_of(b)),
        Filter::Or(a, b) => Condition::any().add(condition_of(a)).add(condition_of(b)),
        Filter::Not(a) => condition_of(a).not(),
        Filter::Compare(c) => {
            let eq = |column: event::Column, value: String, equal: bool| {
                let expr = if equal {
                    column.eq(value)
                } else {
                    column.ne(value)
                };
                Condition::all().add(expr)
            };
            match c {
                EventComparison::Resource(v, e) => eq(event::Column::Resource, v.clone(), *e),
                EventComparison::Dashboard(id, true) => {
                    Condition::all().add(event::Column::DashboardId.eq(id.clone()))
                }
                // Events of no dashboard are "not D" too.
                EventComparison::Dashboard(id, false) => Condition::any()
                    .add(event::Column::DashboardId.is_null())
                    .add(event::Column::DashboardId.ne(id.clone())),
                EventComparison::Actor(v, e) => eq(event::Column::Actor, v.clone(), *e),
                EventComparison::Type(t, e) => eq(event::Column::Type, t.as_str().to_string(), *e),
                EventComparison::Time(ordering, t) => {
                    let column = event::Column::Time;
                    Condition::all().add(match ordering {
                        Ordering::Eq => column.eq(*t),
                        Ordering::Ne => column.ne(*t),
                        Ordering::Lt => column.lt(*t),
                        Ordering::Le => column.lte(*t),
                        Ordering::Gt => column.gt(*t),
                        Ordering::Ge => column.gte(*t),
                    })
                }
            }
        }
    }
}

fn into_domain(m: event::Model) -> Result<Event> {
    let r#type = EventType::parse(&m.r#type)
        .ok_or_else(|| Error::internal(format!("unknown event type {:?} in the log", m.r#type)))?;
    let changed_fields: Vec<String> =
        serde_json::from_str(&m.changed_fields).map_err(Error::internal)?;
    Ok(Event {
        org_id: m.org_id,
        revision: m.revision,
        index: m.seq,
        time: m.time,
        actor: m.actor,
        change: Change {
            r#type,
            resource: m.resource,
            dashboard_id: m.dashboard_id,
            changed_fields,
            grantee: m.grantee,
            role: m.role,
        },
    })
}
