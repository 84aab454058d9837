//! DirectoryService's use cases: users, groups and their members, custom roles. Every
//! mutation runs in one [`Write`](crate::app::Write) and records its events; group and role
//! commands lock the row they change and decide under that lock.

pub mod group_members;
pub mod groups;
pub mod roles;
pub mod users;

use crate::core::authz::{may_manage_directory, may_manage_groups};
use crate::core::check_etag;
use crate::core::directory::Group;
use crate::core::page_token::{self, CursorValue};
use crate::core::{Error, Principal, Result, Violation};

const MAX_NAME_CHARS: usize = 200;
const MAX_DESCRIPTION_CHARS: usize = 4_000;

/// One page of a listing and the token of the next (empty on the last page).
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_page_token: String,
}

/// A page request: the size (already bounded by the caller) and the token.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest<'a> {
    pub size: usize,
    pub token: &'a str,
}

/// A listing's rows, fetched with one extra row, as a page with the token of the next.
fn page_of<T>(
    mut rows: Vec<T>,
    size: usize,
    fingerprint: &str,
    cursor: impl Fn(&T) -> (CursorValue, String),
) -> Page<T> {
    let next_page_token = if rows.len() > size {
        rows.truncate(size);
        rows.last()
            .map(|last| {
                let (value, id) = cursor(last);
                page_token::encode(fingerprint, value, &id)
            })
            .unwrap_or_default()
    } else {
        String::new()
    };
    Page {
        items: rows,
        next_page_token,
    }
}

fn require_group_manager(caller: &Principal) -> Result<()> {
    if may_manage_groups(caller) {
        Ok(())
    } else {
        Err(Error::permission_denied(
            "ROLE_CANNOT_MANAGE_GROUPS",
            "only org AUTHORs and ADMINs manage groups",
        ))
    }
}

/// A group's fields and membership are managed by its creator (while an org AUTHOR) and
/// the org's ADMINs: being allowed to manage groups at all is not enough to change someone
/// else's.
fn require_manager_of(caller: &Principal, group: &Group) -> Result<()> {
    require_group_manager(caller)?;
    if group.managed_by(caller) {
        Ok(())
    } else {
        Err(Error::permission_denied(
            "NOT_GROUP_MANAGER",
            format!("only the creator of {} and ADMINs manage it", group.name()),
        ))
    }
}

fn require_admin(caller: &Principal, what: &str) -> Result<()> {
    if may_manage_directory(caller) {
        Ok(())
    } else {
        Err(Error::permission_denied(
            "ADMIN_REQUIRED",
            format!("only ADMINs manage {what}"),
        ))
    }
}

/// A resource's display name (`{resource}.display_name`): required, at most
/// MAX_NAME_CHARS. Create checks it always, update when its mask names it.
fn check_display_name(violations: &mut Vec<Violation>, resource: &str, value: &str) {
    check_text(
        violations,
        &format!("{resource}.display_name"),
        value,
        MAX_NAME_CHARS,
        true,
    );
}

/// A resource's description (`{resource}.description`): optional, at most
/// MAX_DESCRIPTION_CHARS.
fn check_description(violations: &mut Vec<Violation>, resource: &str, value: &str) {
    check_text(
        violations,
        &format!("{resource}.description"),
        value,
        MAX_DESCRIPTION_CHARS,
        false,
    );
}

/// The fields of `updatable` that `mask` names, in `updatable`'s order: what an update
/// event lists as changed.
fn masked<'a>(updatable: &[&'a str], mask: &[String]) -> Vec<&'a str> {
    updatable
        .iter()
        .copied()
        .filter(|field| mask.iter().any(|p| p == field))
        .collect()
}

fn check_text(
    violations: &mut Vec<Violation>,
    field: &str,
    value: &str,
    max: usize,
    required: bool,
) {
    let chars = value.chars().count();
    if required && value.trim().is_empty() {
        violations.push(Violation::new(field, "required: must not be empty"));
    } else if chars > max {
        violations.push(Violation::new(
            field,
            format!("must be at most {max} characters (got {chars})"),
        ));
    }
}

fn ok_or_invalid(violations: Vec<Violation>) -> Result<()> {
    if violations.is_empty() {
        Ok(())
    } else {
        Err(Error::invalid_fields(violations))
    }
}
