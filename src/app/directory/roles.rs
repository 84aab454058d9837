//! Custom roles: CreateRole, GetRole, ListRoles, UpdateRole, DeleteRole (ADMINs write).

use super::{
    check_description, check_display_name, check_etag, masked, ok_or_invalid, require_admin,
};
use crate::app::{App, Write, Written};
use crate::core::authz::{BuiltinRole, Permission, PermissionSet};
use crate::core::dashboard::etag_of;
use crate::core::directory::CustomRole;
use crate::core::error::echo;
use crate::core::event::{Change, EventType};
use crate::core::{Error, Principal, Result, Violation, names, new_id};
use crate::store::roles::RoleChanges;

/// A role as a request sends it: each permission `None` when unknown or unspecified.
#[derive(Debug, Clone, Default)]
pub struct RoleFields {
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub permissions: Vec<Option<Permission>>,
    pub etag: String,
}

/// A built-in or custom role.
#[derive(Debug, Clone)]
pub enum Role {
    BuiltIn(BuiltinRole),
    Custom(CustomRole),
}

/// A custom role's etag.
pub fn etag(role: &CustomRole) -> String {
    etag_of(&role.id, role.revision)
}

pub async fn create(
    app: &App,
    caller: &Principal,
    fields: Option<RoleFields>,
) -> Result<Written<CustomRole>> {
    require_admin(caller, "roles")?;
    let fields = fields.ok_or_else(|| Error::invalid("role", "required"))?;
    let mut violations = Vec::new();
    check_display_name(&mut violations, "role", &fields.display_name);
    check_description(&mut violations, "role", &fields.description);
    let permissions = permission_set(&fields.permissions, "role.permissions", &mut violations);
    ok_or_invalid(violations)?;
    let mut write = app.write(&caller.org_id, caller.user_name()).await?;
    let now = write.now();
    let id = new_id();
    let role = CustomRole {
        name: format!("roles/{id}"),
        id,
        org_id: caller.org_id.clone(),
        display_name: fields.display_name.trim().to_string(),
        description: fields.description,
        permissions,
        revision: 1,
        create_time: now,
        update_time: now,
    };
    let created = app.store.roles().create(write.txn(), &role).await?;
    write.record(Change::new(EventType::RoleCreated, &created.name).fields([
        "display_name",
        "description",
        "permissions",
    ]));
    write.commit(created).await
}

pub async fn get(app: &App, caller: &Principal, name: &str) -> Result<Role> {
    if name.is_empty() {
        return Err(Error::invalid("name", "required: roles/{id}"));
    }
    if let Some(builtin) = BuiltinRole::parse(name) {
        return Ok(Role::BuiltIn(builtin));
    }
    Ok(Role::Custom(custom(app, caller, name, "name").await?))
}

/// The built-in roles, then the org's custom roles.
pub async fn list(app: &App, caller: &Principal) -> Result<Vec<Role>> {
    let mut roles: Vec<Role> = BuiltinRole::ALL.into_iter().map(Role::BuiltIn).collect();
    let custom = app.store.roles().list(&caller.org_id).await?;
    roles.extend(custom.into_iter().map(Role::Custom));
    Ok(roles)
}

pub async fn update(
    app: &App,
    caller: &Principal,
    fields: Option<RoleFields>,
    mask: Vec<String>,
) -> Result<Written<CustomRole>> {
    require_admin(caller, "roles")?;
    let fields = fields.ok_or_else(|| Error::invalid("role", "required"))?;
    if BuiltinRole::parse(&fields.name).is_some() {
        return Err(built_in(&fields.name));
    }
    let current = custom(app, caller, &fields.name, "role.name").await?;
    if mask.is_empty() {
        return Err(Error::invalid(
            "update_mask",
            "required: display_name, description and/or permissions",
        ));
    }
    let mut violations = Vec::new();
    let mut changes = RoleChanges::default();
    for path in &mask {
        match path.as_str() {
            "display_name" => {
                check_display_name(&mut violations, "role", &fields.display_name);
                changes.display_name = Some(fields.display_name.trim().to_string());
            }
            "description" => {
                check_description(&mut violations, "role", &fields.description);
                changes.description = Some(fields.description.clone());
            }
            "permissions" => {
                changes.permissions = Some(permission_set(
                    &fields.permissions,
                    "role.permissions",
                    &mut violations,
                ));
            }
            other => violations.push(Violation::new(
                "update_mask",
                format!(
                    "cannot update {}: updatable fields are display_name, description, \
                     permissions",
                    echo(other)
                ),
            )),
        }
    }
    ok_or_invalid(violations)?;
    let (mut write, current) = begin_change(app, caller, &current.name, &fields.etag).await?;
    let now = write.now();
    let updated = app
        .store
        .roles()
        .update(
            write.txn(),
            &caller.org_id,
            &current.name,
            current.revision,
            changes,
            now,
        )
        .await?
        .ok_or_else(|| Error::EtagMismatch {
            resource: current.name.clone(),
        })?;
    let changed = masked(&["display_name", "description", "permissions"], &mask);
    write.record(Change::new(EventType::RoleUpdated, &updated.name).fields(changed));
    write.commit(updated).await
}

/// DeleteRole: an unused custom role. Whether a share holds it is read after locking the
/// role (FAILED_PRECONDITION `ROLE_IN_USE`).
pub async fn delete(
    app: &App,
    caller: &Principal,
    name: &str,
    etag_given: &str,
) -> Result<Written<()>> {
    require_admin(caller, "roles")?;
    if BuiltinRole::parse(name).is_some() {
        return Err(built_in(name));
    }
    let current = custom(app, caller, name, "name").await?;
    check_etag(etag_given, &etag(&current), &current.name)?;
    let (mut write, current) = begin_change(app, caller, &current.name, etag_given).await?;
    let roles = app.store.roles();
    if roles
        .in_use(write.txn(), &caller.org_id, &current.name)
        .await?
    {
        return Err(Error::failed_precondition(
            "ROLE_IN_USE",
            &current.name,
            "the role is still held by shares; revoke or change them first",
        ));
    }
    if !roles
        .delete(write.txn(), &caller.org_id, &current.name)
        .await?
    {
        return Err(Error::not_found(&current.name));
    }
    write.record(Change::new(EventType::RoleDeleted, &current.name));
    write.commit(()).await
}

/// Begins a write that changes custom role `name` (read before the write): locks the
/// role's row and checks `etag_given` against it under the lock, which is what counts.
async fn begin_change(
    app: &App,
    caller: &Principal,
    name: &str,
    etag_given: &str,
) -> Result<(Write, CustomRole)> {
    let write = app.write(&caller.org_id, caller.user_name()).await?;
    let current = app
        .store
        .roles()
        .lock(write.txn(), &caller.org_id, name)
        .await?
        .ok_or_else(|| Error::not_found(name))?;
    check_etag(etag_given, &etag(&current), &current.name)?;
    Ok((write, current))
}

/// A custom role of the caller's org by name, or NOT_FOUND.
async fn custom(app: &App, caller: &Principal, name: &str, field: &str) -> Result<CustomRole> {
    let valid = name.strip_prefix("roles/").is_some_and(names::is_valid_id);
    if !valid {
        return Err(Error::invalid(
            field,
            format!(
                "{} is not a valid resource name: expected roles/{{id}}",
                echo(name)
            ),
        ));
    }
    app.store
        .roles()
        .get(&caller.org_id, name)
        .await?
        .ok_or_else(|| Error::not_found(name))
}

fn built_in(name: &str) -> Error {
    Error::failed_precondition(
        "BUILT_IN_ROLE",
        name,
        "built-in roles cannot be changed or deleted",
    )
}

/// At least one permission, each a known value.
fn permission_set(
    values: &[Option<Permission>],
    field: &str,
    violations: &mut Vec<Violation>,
) -> PermissionSet {
    if values.is_empty() {
        violations.push(Violation::new(field, "required: at least one permission"));
    }
    let mut set = PermissionSet::EMPTY;
    for (i, value) in values.iter().enumerate() {
        match value {
            Some(p) => set = set.union(PermissionSet::of(&[*p])),
            None => violations.push(Violation::new(
                format!("{field}[{i}]"),
                "unknown or unspecified permission",
            )),
        }
    }
    set
}
