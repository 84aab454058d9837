//! ListEvents: the change log read as an audit trail (DESIGN §7).
//!
//! ADMINs see every event of their org. Other callers see the events of dashboards they can
//! READ now, and share or public-link events only where they hold SHARE (shares on folders:
//! SHARE on the folder); other events that belong to no dashboard (groups, roles, users,
//! folders) are for ADMINs only.

use std::collections::HashMap;

use super::App;
use crate::core::authz::{Access, Permission};
use crate::core::event::Event;
use crate::core::event_filter::{self, EventComparison, EventFilter};
use crate::core::filter::Filter;
use crate::core::page_token::{self, CursorValue};
use crate::core::{Error, Principal, Result, names};
use crate::store::{Store, events};

/// The most events one call reads while looking for ones the caller may see: a caller who
/// may see few events gets a short page and a token to go on, never an unbounded scan.
const MAX_SCANNED_PER_CALL: usize = 5_000;

pub struct EventPage {
    pub events: Vec<Event>,
    pub next_page_token: String,
    /// The org's latest revision when the page was read.
    pub revision: i64,
}

pub async fn list_events(
    app: &App,
    caller: &Principal,
    filter: &str,
    page_size: usize,
    page_token: &str,
) -> Result<EventPage> {
    let parsed = event_filter::parse(filter)?;
    let parsed = parsed.map(|f| resolve_me(f, &names::user_name(&caller.user_id)));
    let fingerprint = page_token::fingerprint(&["events", filter.trim()]);
    let mut before = match page_token::decode::<CursorValue>(page_token, &fingerprint)? {
        None => None,
        Some((CursorValue::Int(revision), index)) => Some((
            revision,
            index
                .parse::<i32>()
                .map_err(|_| Error::invalid("page_token", "is not a token of this listing"))?,
        )),
        Some(_) => {
            return Err(Error::invalid(
                "page_token",
                "is not a token of this listing",
            ));
        }
    };
    let (store, authorizer) = (&app.store, &app.authorizer);
    // Read before the page: the page holds nothing newer than this.
    let revision = events::latest_revision(store.db(), &caller.org_id).await?;
    let condition = events::condition(parsed.as_ref());
    let batch = if caller.is_admin() {
        page_size + 1
    } else {
        (page_size * 2).clamp(100, 1_000)
    };
    let mut page = Vec::with_capacity(page_size);
    let mut scanned = 0usize;
    let mut access: HashMap<String, Access> = HashMap::new();
    let mut more = false;
    loop {
        let rows = events::page(
            store.db(),
            &caller.org_id,
            condition.clone(),
            before,
            batch as u64,
        )
        .await?;
        let exhausted = rows.len() < batch;
        if !caller.is_admin() {
            learn_access(store, authorizer, caller, &rows, &mut access).await?;
        }
        for event in rows {
            if page.len() == page_size {
                more = true;
                break;
            }
            scanned += 1;
            before = Some((event.revision, event.index));
            if caller.is_admin() || visible(&event, &access) {
                page.push(event);
            }
        }
        if more || exhausted {
            break;
        }
        if scanned >= MAX_SCANNED_PER_CALL {
            more = true;
            break;
        }
    }
    let next_page_token = match before {
        Some((revision, index)) if more => {
            page_token::encode(&fingerprint, CursorValue::Int(revision), &index.to_string())
        }
        _ => String::new(),
    };
    Ok(EventPage {
        events: page,
        next_page_token,
        revision,
    })
}

/// The caller's access now on the dashboards of `rows`, and on the folders their shares
/// on folders sit on, that it has not been asked about yet. Keys: dashboard ids, and
/// `folders/{id}` for folders.
async fn learn_access(
    store: &Store,
    authorizer: &super::Authorizer,
    caller: &Principal,
    rows: &[Event],
    access: &mut HashMap<String, Access>,
) -> Result<()> {
    let mut ids: Vec<String> = rows
        .iter()
        .filter_map(|e| e.change.dashboard_id.clone())
        .filter(|id| !access.contains_key(id))
        .collect();
    ids.sort();
    ids.dedup();
    if !ids.is_empty() {
        let dashboards = store.dashboards().get_many(&caller.org_id, &ids).await?;
        let found = authorizer.access_many(caller, &dashboards).await?;
        for (dashboard, a) in dashboards.iter().zip(found) {
            access.insert(dashboard.id.clone(), a);
        }
    }
    let mut folders: Vec<String> = rows
        .iter()
        .filter_map(folder_share_of)
        .filter(|key| !access.contains_key(key))
        .filter_map(|key| key.strip_prefix("folders/").map(str::to_string))
        .collect();
    folders.sort();
    folders.dedup();
    if !folders.is_empty() {
        let found = store
            .folder_shares()
            .folders(store.db(), &caller.org_id, &folders)
            .await?;
        for folder in &found {
            let a = authorizer.folder_access(caller, folder, false).await?;
            access.insert(folder.name(), a);
        }
    }
    Ok(())
}

/// `folders/{id}` for a share event on a folder (`folders/{id}/shares/{s}`).
fn folder_share_of(event: &Event) -> Option<String> {
    if event.change.dashboard_id.is_some() || !event.change.r#type.is_sharing() {
        return None;
    }
    let rest = event.change.resource.strip_prefix("folders/")?;
    let (folder, _) = rest.split_once('/')?;
    Some(crate::core::folder::folder_name(folder))
}

/// The visibility rule for a non-ADMIN caller.
fn visible(event: &Event, access: &HashMap<String, Access>) -> bool {
    let Some(a) = event
        .change
        .dashboard_id
        .clone()
        .or_else(|| folder_share_of(event))
        .and_then(|key| access.get(&key))
    else {
        return false;
    };
    let needed = if event.change.r#type.is_sharing() {
        Permission::Share
    } else {
        Permission::Read
    };
    a.permissions.contains(Permission::Read) && a.permissions.contains(needed)
}

fn resolve_me(filter: EventFilter, me: &str) -> EventFilter {
    match filter {
        Filter::And(a, b) => {
            Filter::And(Box::new(resolve_me(*a, me)), Box::new(resolve_me(*b, me)))
        }
        Filter::Or(a, b) => Filter::Or(Box::new(resolve_me(*a, me)), Box::new(resolve_me(*b, me))),
        Filter::Not(a) => Filter::Not(Box::new(resolve_me(*a, me))),
        Filter::Compare(EventComparison::Actor(actor, eq)) if actor == "users/me" => {
            Filter::Compare(EventComparison::Actor(me.to_string(), eq))
        }
        other => other,
    }
}

/// Purges the change log's events older than `retention` (EVENT_RETENTION).
pub async fn purge_expired(
    app: &App,
    now: crate::core::Micros,
    retention: std::time::Duration,
) -> Result<u64> {
    let retention = i64::try_from(retention.as_micros()).unwrap_or(i64::MAX);
    events::purge_before(app.store.db(), now.saturating_sub(retention)).await
}
