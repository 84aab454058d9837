//! ListLibraryWidgets (those the caller can READ, in id order) and
//! ListLibraryWidgetConnections (the widgets linking one, on dashboards the caller can READ).

use std::collections::{BTreeMap, HashSet};

use super::{LibraryWidgetRepo, authorize};
use crate::app::App;
use crate::core::authz::{Grant, Inheritance, Permission, ShareTarget, effective_access};
use crate::core::library_widget::LibraryWidget;
use crate::core::page_token;
use crate::core::{Principal, Result, now_micros};

pub struct LibraryWidgetPage {
    pub library_widgets: Vec<LibraryWidget>,
    pub next_page_token: String,
}

/// One widget linking a library widget: `(dashboard id, widget id)`.
pub struct ConnectionPage {
    pub connections: Vec<(String, String)>,
    pub next_page_token: String,
    /// Links on dashboards the caller cannot READ.
    pub hidden_count: usize,
}

pub async fn list(
    app: &App,
    caller: &Principal,
    page_size: usize,
    page_token: &str,
) -> Result<LibraryWidgetPage> {
    let fingerprint = page_token::fingerprint(&["library-widgets"]);
    let after = page_token::decode::<()>(page_token, &fingerprint)?.map(|((), id)| id);
    let limit = page_size as u64 + 1;
    let db = app.store.db();
    let mut found = if caller.is_admin() {
        LibraryWidgetRepo
            .page(db, &caller.org_id, None, after.as_deref(), limit)
            .await?
    } else {
        // The ids the caller can READ, decided by the policy over its shares, in id order;
        // the page's rows read by id.
        let readable = readable_ids(app, caller).await?;
        let ids: Vec<String> = readable
            .into_iter()
            .filter(|id| after.as_ref().is_none_or(|a| id > a))
            .take(page_size + 1)
            .collect();
        LibraryWidgetRepo
            .page(db, &caller.org_id, Some(&ids), None, limit)
            .await?
    };
    let mut next_page_token = String::new();
    if found.len() > page_size {
        found.truncate(page_size);
        if let Some(last) = found.last() {
            next_page_token = page_token::encode(&fingerprint, (), &last.id);
        }
    }
    Ok(LibraryWidgetPage {
        library_widgets: found,
        next_page_token,
    })
}

/// The ids of the library widgets a (non-ADMIN) caller can READ, sorted.
async fn readable_ids(app: &App, caller: &Principal) -> Result<Vec<String>> {
    let grants = LibraryWidgetRepo
        .grants_for(app.store.db(), caller, None)
        .await?;
    let roles = app.authorizer.role_book(&caller.org_id, &grants).await?;
    let mut by_target: BTreeMap<String, Vec<Grant>> = BTreeMap::new();
    for grant in grants {
        if let ShareTarget::LibraryWidget(id) = &grant.on {
            by_target.entry(id.clone()).or_default().push(grant);
        }
    }
    let now = now_micros();
    Ok(by_target
        .into_iter()
        .filter(|(id, grants)| {
            effective_access(
                caller,
                &caller.org_id,
                grants.clone(),
                Inheritance::none(ShareTarget::LibraryWidget(id.clone())),
                &roles,
                now,
            )
            .permissions
            .contains(Permission::Read)
        })
        .map(|(id, _)| id)
        .collect())
}

pub async fn connections(
    app: &App,
    caller: &Principal,
    id: &str,
    page_size: usize,
    page_token: &str,
) -> Result<ConnectionPage> {
    let (library, _) = authorize(app, caller, id, Permission::Read).await?;
    let fingerprint = page_token::fingerprint(&["library-widget-connections", &library.id]);
    let after = page_token::decode::<String>(page_token, &fingerprint)?;
    let linked = app
        .store
        .widgets()
        .linked_to(app.store.db(), &caller.org_id, &library.id)
        .await?;
    let mut dashboard_ids: Vec<String> = linked.iter().map(|w| w.dashboard_id.clone()).collect();
    dashboard_ids.dedup();
    let dashboards = app
        .store
        .dashboards()
        .get_many(&caller.org_id, &dashboard_ids)
        .await?;
    let access = app.authorizer.access_many(caller, &dashboards).await?;
    let readable: HashSet<&str> = dashboards
        .iter()
        .zip(&access)
        .filter(|(_, a)| a.permissions.contains(Permission::Read))
        .map(|(d, _)| d.id.as_str())
        .collect();
    let (visible, hidden): (Vec<_>, Vec<_>) = linked
        .iter()
        .partition(|w| readable.contains(w.dashboard_id.as_str()));
    let mut keys: Vec<(String, String)> = visible
        .into_iter()
        .map(|w| (w.dashboard_id.clone(), w.id.clone()))
        .collect();
    keys.sort();
    let mut connections: Vec<(String, String)> = keys
        .into_iter()
        .filter(|key| {
            after
                .as_ref()
                .is_none_or(|(d, w)| (key.0.as_str(), key.1.as_str()) > (d.as_str(), w.as_str()))
        })
        .take(page_size + 1)
        .collect();
    let mut next_page_token = String::new();
    if connections.len() > page_size {
        connections.truncate(page_size);
        if let Some((d, w)) = connections.last() {
            next_page_token = page_token::encode(&fingerprint, d.clone(), w);
        }
    }
    Ok(ConnectionPage {
        connections,
        next_page_token,
        hidden_count: hidden.len(),
    })
}
