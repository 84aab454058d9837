//! Public links: anyone with the token reads the dashboard (FULL view) without signing in.

use base64::Engine;

use crate::app::{App, Written};
use crate::core::authz::{Permission, ShareTarget};
use crate::core::dashboard::Dashboard;
use crate::core::directory::PublicLink;
use crate::core::event::{Change, EventType};
use crate::core::widget::Widget;
use crate::core::{Error, Micros, Principal, Result, names, new_id, now_micros};

use super::locked::{Locked, Trash};
use super::resolve::{future_expiry, managed};

/// Creates a link to `name` (`dashboards/{id}`); returns it with its token, which is shown
/// only here (the store keeps a hash).
pub async fn create_public_link(
    app: &App,
    caller: &Principal,
    name: &str,
    expire_time: Option<Micros>,
) -> Result<Written<(PublicLink, String)>> {
    let id = names::parse_dashboard_name("name", name)?;
    managed(app, caller, &id).await?;
    let expire_time = future_expiry(expire_time, "expire_time")?;
    let mut secret = [0u8; 32];
    rand::fill(&mut secret);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);

    let (mut write, _) = Locked::begin(
        app,
        caller,
        &ShareTarget::Dashboard(id.clone()),
        Trash::Refuse,
    )
    .await?;
    let link = PublicLink {
        id: new_id(),
        org_id: caller.org_id.clone(),
        dashboard_id: id.clone(),
        expire_time,
        creator_id: caller.user_id.clone(),
        create_time: write.now(),
    };
    let created = app
        .store
        .public_links()
        .create(write.txn(), &link, &token)
        .await?;
    write.record(Change::new(EventType::PublicLinkCreated, created.name()).on_dashboard(&id));
    write.commit((created, token)).await
}

/// Revokes `name` (`dashboards/{d}/publicLinks/{l}`); SHARE needed, in the trash or not.
pub async fn revoke_public_link(app: &App, caller: &Principal, name: &str) -> Result<Written<()>> {
    let (dashboard_id, link_id) = names::parse_child_name("name", name, "publicLinks")?;
    app.authorizer
        .dashboard(caller, &dashboard_id, Permission::Share)
        .await?;

    let (mut write, _) = Locked::begin(
        app,
        caller,
        &ShareTarget::Dashboard(dashboard_id.clone()),
        Trash::Allow,
    )
    .await?;
    if !app
        .store
        .public_links()
        .revoke(write.txn(), &dashboard_id, &link_id)
        .await?
    {
        return Err(Error::not_found(name));
    }
    write.record(
        Change::new(
            EventType::PublicLinkRevoked,
            format!("dashboards/{dashboard_id}/publicLinks/{link_id}"),
        )
        .on_dashboard(&dashboard_id),
    );
    write.commit(()).await
}

/// The unexpired links of `parent` (`dashboards/{id}`); SHARE needed.
pub async fn list_public_links(
    app: &App,
    caller: &Principal,
    parent: &str,
) -> Result<Vec<PublicLink>> {
    let id = names::parse_dashboard_name("parent", parent)?;
    let (dashboard, _) = app
        .authorizer
        .dashboard(caller, &id, Permission::Share)
        .await?;
    app.store
        .public_links()
        .list(&dashboard.id, now_micros())
        .await
}

/// Anonymous: the dashboard an unexpired link opens, with its widgets. Unknown, expired and
/// trashed are the same NOT_FOUND.
pub async fn shared_dashboard(app: &App, token: &str) -> Result<(Dashboard, Vec<Widget>)> {
    if token.is_empty() || token.len() > 256 {
        return Err(Error::invalid(
            "token",
            "required: the token of a public link",
        ));
    }
    let not_found = || Error::not_found("shared dashboard");
    let link = app
        .store
        .public_links()
        .find_by_token(token, now_micros())
        .await?
        .ok_or_else(not_found)?;
    let dashboard = app
        .store
        .dashboards()
        .get(&link.org_id, &link.dashboard_id)
        .await?
        .filter(|d| !d.is_deleted())
        .ok_or_else(not_found)?;
    let widgets = app
        .store
        .widgets()
        .of_dashboards(&link.org_id, std::slice::from_ref(&dashboard.id))
        .await?;
    Ok((dashboard, widgets))
}
