//! Move previews: the access changes a move causes, from the one policy
//! (`core::authz::access_changes`) over the shares that count before or after it.

use sea_orm::ConnectionTrait;

use crate::app::App;
use crate::core::authz::{
    AccessChange, Audience, Grant, GranteeKind, Inheritance, MoveFacts, access_changes,
    grantee_audiences,
};
use crate::core::directory::tenant_visible_to;
use crate::core::{Principal, Result, now_micros};

/// The changes between `before` and `after` for the grantees of `own` (the moved thing's
/// shares) and of the shares on `chain_folders` and every folder above them (the folders
/// of both places): users as CheckAccess judges them, the other grantees by their own
/// shares. Users the caller may not see in the directory are left out, as CheckAccess
/// answers NOT_FOUND for them.
pub(crate) async fn preview(
    app: &App,
    conn: &impl ConnectionTrait,
    caller: &Principal,
    own: Vec<Grant>,
    chain_folders: &[String],
    before: &Inheritance,
    after: &Inheritance,
) -> Result<Vec<AccessChange>> {
    let mut grants = own;
    for g in app
        .store
        .folders()
        .all_grants_above(conn, &caller.org_id, chain_folders)
        .await?
    {
        if !grants.iter().any(|mine| mine.id == g.id) {
            grants.push(g);
        }
    }
    let roles = app.authorizer.role_book(&caller.org_id, &grants).await?;
    let mut user_ids: Vec<String> = grants
        .iter()
        .filter(|g| g.kind == GranteeKind::User)
        .map(|g| g.grantee_id.clone())
        .collect();
    user_ids.sort();
    user_ids.dedup();
    let mut audiences = Vec::new();
    for user in app
        .store
        .users()
        .get_many(&caller.org_id, &user_ids)
        .await?
    {
        if !user.visible_to(caller) {
            continue;
        }
        let principal = user.as_principal();
        let subjects = app.authorizer.subjects(&principal).await?;
        audiences.push(Audience::User {
            principal,
            subjects,
        });
    }
    // A tenant user hears of its own tenant only, as the directory shows it.
    audiences.extend(grantee_audiences(&grants).into_iter().filter(|a| match a {
        Audience::Grantee(s) if s.kind == GranteeKind::Tenant => {
            tenant_visible_to(caller, Some(&s.id))
        }
        _ => true,
    }));
    let facts = MoveFacts {
        org_id: &caller.org_id,
        grants: &grants,
        roles: &roles,
        now: now_micros(),
    };
    Ok(access_changes(&facts, &audiences, before, after))
}
