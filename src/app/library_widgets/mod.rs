//! Library widgets (DESIGN §6): CreateLibraryWidget, GetLibraryWidget, ListLibraryWidgets,
//! UpdateLibraryWidget, DeleteLibraryWidget, ListLibraryWidgetConnections. Access is a
//! dashboard's rule applied to the library widget's own shares (no folders above it):
//! `core::authz::effective_access` over the shares that match the caller, and
//! `core::authz::authorize` (NOT_FOUND without READ, PERMISSION_DENIED without the
//! permission). Shares themselves go through SharingService (`app::sharing`).
//!
//! Events: LIBRARY_WIDGET_CREATED / UPDATED / DELETED on `library-widgets/{id}`; an update
//! also records WIDGET_UPDATED on every linked dashboard widget (so each such dashboard gets
//! a version), and a forced delete WIDGET_UPDATED (`library_widget`) on each widget it
//! unlinks. All in the one write.

mod delete;
mod list;
mod update;

pub use delete::delete;
pub use list::{ConnectionPage, LibraryWidgetPage, connections, list};
pub use update::{LibraryWidgetUpdate, update};

use std::collections::HashMap;

use crate::app::{App, Written};
use crate::core::authz::{
    Access, BuiltinRole, GranteeKind, Inheritance, Permission, PermissionSet, ShareTarget,
    ShareUpsert, authorize as decide, effective_access, may_create_dashboards,
};
use crate::core::dashboard::Limits;
use crate::core::event::{Change, EventType};
use crate::core::library_widget::{CONTENT_FIELDS, LibraryWidget, library_widget_name};
use crate::core::widget::{WidgetFields, type_required};
use crate::core::{Error, Principal, Result, new_id, now_micros};
use crate::store::library_widgets::LibraryWidgetRepo;

/// The request path of a library widget's fields.
const FIELD: &str = "library_widget";

/// The library widget, if `caller` holds `needed` on it: NOT_FOUND when it does not exist
/// for the caller (missing, other org, or no READ), PERMISSION_DENIED when it lacks `needed`.
pub async fn authorize(
    app: &App,
    caller: &Principal,
    id: &str,
    needed: Permission,
) -> Result<(LibraryWidget, Access)> {
    let resource = library_widget_name(id);
    let found = LibraryWidgetRepo
        .get(app.store.db(), &caller.org_id, id)
        .await?
        .ok_or_else(|| Error::not_found(&resource))?;
    let access = access_on(app, caller, &found).await?;
    decide(&access, needed, &resource)?;
    Ok((found, access))
}

/// The caller's access on a loaded library widget: the policy over its own shares that
/// match the caller (an ADMIN's needs none).
pub async fn access_on(app: &App, caller: &Principal, on: &LibraryWidget) -> Result<Access> {
    let grants = if caller.is_admin() {
        Vec::new()
    } else {
        LibraryWidgetRepo
            .grants_for(app.store.db(), caller, Some(std::slice::from_ref(&on.id)))
            .await?
    };
    let roles = app.authorizer.role_book(&caller.org_id, &grants).await?;
    Ok(effective_access(
        caller,
        &on.org_id,
        grants,
        Inheritance::none(ShareTarget::LibraryWidget(on.id.clone())),
        &roles,
        now_micros(),
    ))
}

/// How many of the library widgets `held` names (id -> permissions a group holds there) the
/// caller does not hold those permissions on (GROUP_GRANTS_EXCEED_CALLER counts them).
pub async fn exceeded_by(
    app: &App,
    caller: &Principal,
    held: &HashMap<String, PermissionSet>,
) -> Result<usize> {
    let mut exceeded = 0;
    for (id, permissions) in held {
        let Some(on) = LibraryWidgetRepo
            .get(app.store.db(), &caller.org_id, id)
            .await?
        else {
            continue;
        };
        if !permissions.is_subset_of(access_on(app, caller, &on).await?.permissions) {
            exceeded += 1;
        }
    }
    Ok(exceeded)
}

/// Every given field within a widget's limits.
fn check_fields(fields: &WidgetFields, limits: &Limits) -> Result<()> {
    let violations = fields.validate(FIELD, limits);
    if violations.is_empty() {
        Ok(())
    } else {
        Err(Error::invalid_fields(violations))
    }
}

/// CreateLibraryWidget: the caller (not a VIEWER) becomes its owner.
pub async fn create(
    app: &App,
    caller: &Principal,
    limits: &Limits,
    fields: WidgetFields,
) -> Result<Written<LibraryWidget>> {
    if !may_create_dashboards(caller.role) {
        return Err(Error::permission_denied(
            "ROLE_CANNOT_CREATE",
            format!("role {} cannot create library widgets", caller.role),
        ));
    }
    check_fields(&fields, limits)?;
    let widget_type = fields
        .widget_type
        .ok_or_else(|| Error::invalid_fields(vec![type_required("library_widget.type")]))?;
    let mut write = app.write(&caller.org_id, caller.user_name()).await?;
    let now = write.now();
    let created = LibraryWidget {
        id: new_id(),
        org_id: caller.org_id.clone(),
        widget_type,
        title: fields.title.unwrap_or_default(),
        subtitle: fields.subtitle.unwrap_or_default(),
        description: fields.description.unwrap_or_default(),
        config: fields.config.unwrap_or_default(),
        data_sources: fields.data_sources.unwrap_or_default(),
        creator_id: caller.user_id.clone(),
        revision: 1,
        create_time: now,
        update_time: now,
    };
    LibraryWidgetRepo.insert(write.txn(), &created).await?;
    let owner = ShareUpsert {
        kind: GranteeKind::User,
        grantee_id: caller.user_id.clone(),
        role: BuiltinRole::Owner.name().to_string(),
        expire_time: None,
    };
    LibraryWidgetRepo
        .change_shares(write.txn(), &created, &caller.user_id, &[owner], &[], now)
        .await?;
    write.record(
        Change::new(EventType::LibraryWidgetCreated, created.name()).fields(CONTENT_FIELDS),
    );
    write.commit(created).await
}

/// GetLibraryWidget: READ needed.
pub async fn get(app: &App, caller: &Principal, id: &str) -> Result<LibraryWidget> {
    Ok(authorize(app, caller, id, Permission::Read).await?.0)
}
