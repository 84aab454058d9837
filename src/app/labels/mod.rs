//! Labels (DESIGN §6): CreateLabel, GetLabel, ListLabels, UpdateLabel, DeleteLabel. Anyone in
//! the org reads labels; org AUTHORs and ADMINs write them.

use crate::app::{App, Write, Written};
use crate::core::dashboard::etag_of;
use crate::core::error::echo;
use crate::core::event::{Change, EventType};
use crate::core::label::{self, Label, MAX_LABEL_NAME_CHARS};
use crate::core::page_token::{self, CursorValue};
use crate::core::{Error, Principal, Result, Violation, names, new_id};
use crate::store::labels::{LabelChanges, Saved};

/// Descriptions are notes, not documents.
const MAX_DESCRIPTION_CHARS: usize = 1_000;
const UPDATABLE: [&str; 3] = ["display_name", "color", "description"];

/// A label as a request sends it.
#[derive(Debug, Clone, Default)]
pub struct LabelFields {
    pub name: String,
    pub display_name: String,
    pub color: String,
    pub description: String,
    pub etag: String,
}

pub struct LabelPage {
    pub labels: Vec<Label>,
    pub next_page_token: String,
}

pub fn etag(label: &Label) -> String {
    etag_of(&label.id, label.revision)
}

pub async fn create(
    app: &App,
    caller: &Principal,
    fields: Option<LabelFields>,
) -> Result<Written<Label>> {
    require_manager(caller)?;
    let fields = fields.ok_or_else(|| Error::invalid("label", "required"))?;
    let mut violations = Vec::new();
    check_display_name(&mut violations, &fields.display_name);
    check_color(&mut violations, &fields.color);
    check_description(&mut violations, &fields.description);
    ok_or_invalid(violations)?;
    let mut write = app.write(&caller.org_id, caller.user_name()).await?;
    let now = write.now();
    let new = Label {
        id: new_id(),
        org_id: caller.org_id.clone(),
        display_name: fields.display_name.trim().to_string(),
        color: fields.color,
        description: fields.description,
        creator_id: caller.user_id.clone(),
        revision: 1,
        create_time: now,
        update_time: now,
    };
    let created = saved(app.store.labels().create(write.txn(), &new).await?, &new)?;
    write.record(
        Change::new(EventType::LabelCreated, created.name()).fields([
            "display_name",
            "color",
            "description",
        ]),
    );
    write.commit(created).await
}

pub async fn get(app: &App, caller: &Principal, name: &str) -> Result<Label> {
    let id = parse_name("name", name)?;
    app.store
        .labels()
        .get(&caller.org_id, &id)
        .await?
        .ok_or_else(|| Error::not_found(name))
}

pub async fn list(
    app: &App,
    caller: &Principal,
    page_size: usize,
    page_token: &str,
) -> Result<LabelPage> {
    let fingerprint = page_token::fingerprint(&["labels"]);
    let after = match page_token::decode::<CursorValue>(page_token, &fingerprint)? {
        None => None,
        Some((CursorValue::Text(display_name), id)) => Some((display_name, id)),
        Some(_) => {
            return Err(Error::invalid(
                "page_token",
                "is not a token of this listing",
            ));
        }
    };
    let mut labels = app
        .store
        .labels()
        .list(&caller.org_id, after, page_size as u64 + 1)
        .await?;
    let mut next_page_token = String::new();
    if labels.len() > page_size {
        labels.truncate(page_size);
        if let Some(last) = labels.last() {
            next_page_token = page_token::encode(
                &fingerprint,
                CursorValue::Text(last.display_name.clone()),
                &last.id,
            );
        }
    }
    Ok(LabelPage {
        labels,
        next_page_token,
    })
}

pub async fn update(
    app: &App,
    caller: &Principal,
    fields: Option<LabelFields>,
    mask: Vec<String>,
) -> Result<Written<Label>> {
    require_manager(caller)?;
    let fields = fields.ok_or_else(|| Error::invalid("label", "required"))?;
    let id = parse_name("label.name", &fields.name)?;
    if mask.is_empty() {
        return Err(Error::invalid(
            "update_mask",
            "required: display_name, color and/or description",
        ));
    }
    let mut violations = Vec::new();
    let mut changes = LabelChanges::default();
    for path in &mask {
        match path.as_str() {
            "display_name" => {
                check_display_name(&mut violations, &fields.display_name);
                changes.display_name = Some(fields.display_name.trim().to_string());
            }
            "color" => {
                check_color(&mut violations, &fields.color);
                changes.color = Some(fields.color.clone());
            }
            "description" => {
                check_description(&mut violations, &fields.description);
                changes.description = Some(fields.description.clone());
            }
            other => violations.push(Violation::new(
                "update_mask",
                format!(
                    "cannot update {}: updatable fields are display_name, color, description",
                    echo(other)
                ),
            )),
        }
    }
    ok_or_invalid(violations)?;
    let (mut write, current) = begin_change(app, caller, &id, &fields.etag).await?;
    let now = write.now();
    let outcome = app
        .store
        .labels()
        .update(
            write.txn(),
            &caller.org_id,
            &id,
            current.revision,
            changes.clone(),
            now,
        )
        .await?;
    let display_name = changes.display_name.unwrap_or_default();
    let updated = match outcome {
        Saved::Stale => {
            return Err(Error::EtagMismatch {
                resource: current.name(),
            });
        }
        other => saved(
            other,
            &Label {
                display_name,
                ..current
            },
        )?,
    };
    let changed: Vec<&str> = UPDATABLE
        .into_iter()
        .filter(|f| mask.iter().any(|p| p == f))
        .collect();
    write.record(Change::new(EventType::LabelUpdated, updated.name()).fields(changed));
    write.commit(updated).await
}

/// DeleteLabel: the label goes, and with it its attachment to every dashboard.
pub async fn delete(
    app: &App,
    caller: &Principal,
    name: &str,
    etag_given: &str,
) -> Result<Written<()>> {
    require_manager(caller)?;
    let id = parse_name("name", name)?;
    let (mut write, current) = begin_change(app, caller, &id, etag_given).await?;
    if !app
        .store
        .labels()
        .delete(write.txn(), &caller.org_id, &id)
        .await?
    {
        return Err(Error::not_found(current.name()));
    }
    write.record(Change::new(EventType::LabelDeleted, current.name()));
    write.commit(()).await
}

/// `labels/{id}` → the id, or INVALID_ARGUMENT naming `field`.
pub fn parse_name(field: &str, name: &str) -> Result<String> {
    if name.is_empty() {
        return Err(Error::invalid(field, "required: labels/{id}"));
    }
    match name.strip_prefix("labels/") {
        Some(id) if names::is_valid_id(id) => Ok(id.to_string()),
        _ => Err(Error::invalid(
            field,
            format!(
                "{} is not a valid resource name: expected labels/{{id}}",
                echo(name)
            ),
        )),
    }
}

/// Begins a write that changes label `id`: reads it in the write's transaction (whose
/// writer lock serializes label writes) and checks `etag_given` against it.
async fn begin_change(
    app: &App,
    caller: &Principal,
    id: &str,
    etag_given: &str,
) -> Result<(Write, Label)> {
    let write = app.write(&caller.org_id, caller.user_name()).await?;
    let current = app
        .store
        .labels()
        .lock(write.txn(), &caller.org_id, id, true)
        .await?
        .ok_or_else(|| Error::not_found(format!("labels/{id}")))?;
    crate::core::check_etag(etag_given, &etag(&current), &current.name())?;
    Ok((write, current))
}

fn saved(outcome: Saved, asked: &Label) -> Result<Label> {
    match outcome {
        Saved::Ok(label) => Ok(label),
        Saved::NameTaken => Err(Error::AlreadyExists {
            reason: "LABEL_NAME_TAKEN",
            message: format!(
                "the org already has a label named {}",
                echo(&asked.display_name)
            ),
            resource: asked.name(),
        }),
        Saved::Stale => Err(Error::EtagMismatch {
            resource: asked.name(),
        }),
    }
}

fn require_manager(caller: &Principal) -> Result<()> {
    if label::may_manage(caller) {
        Ok(())
    } else {
        Err(Error::permission_denied(
            "AUTHOR_REQUIRED",
            "only org AUTHORs and ADMINs manage labels",
        ))
    }
}

fn check_display_name(violations: &mut Vec<Violation>, value: &str) {
    let chars = value.trim().chars().count();
    if chars == 0 {
        violations.push(Violation::new(
            "label.display_name",
            "required: must not be empty",
        ));
    } else if chars > MAX_LABEL_NAME_CHARS {
        violations.push(Violation::new(
            "label.display_name",
            format!("must be at most {MAX_LABEL_NAME_CHARS} characters (got {chars})"),
        ));
    }
}

fn check_color(violations: &mut Vec<Violation>, value: &str) {
    if !label::valid_color(value) {
        violations.push(Violation::new(
            "label.color",
            format!("{} is not a color: expected #rrggbb or empty", echo(value)),
        ));
    }
}

fn check_description(violations: &mut Vec<Violation>, value: &str) {
    let chars = value.chars().count();
    if chars > MAX_DESCRIPTION_CHARS {
        violations.push(Violation::new(
            "label.description",
            format!("must be at most {MAX_DESCRIPTION_CHARS} characters (got {chars})"),
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
