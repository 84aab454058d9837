//! Who a verified token acts as (DESIGN §4.3), and the just-in-time record of its user.
//!
//! On every authenticated call: one primary-key read of the user's row. When the row
//! already records the claims, or an ADMIN set the user, nothing is written (no revision
//! is spent on a read). Otherwise the token's user is recorded in a write of its own, with
//! the user as its actor: USER_UPSERTED, and GROUP_MEMBER_REMOVED for each group of a former
//! tenant it left. Once an ADMIN set the user, the directory is the source of truth: the
//! token must claim its tenant and the effective role is the lower of the two.

use super::App;
use super::directory::users::record_user_write;
use super::facts::UserKey;
use crate::core::directory::User;
use crate::core::{Principal, Result};

/// The effective principal of verified `claims`, recording its user just in time; with
/// `fresh`, the user's row is read from the database, not the fact cache.
pub async fn resolve(app: &App, claims: Principal, fresh: bool) -> Result<Principal> {
    let users = app.store.users();
    let stored = if fresh {
        users.get(&claims.org_id, &claims.user_id).await?
    } else {
        stored_user(app, &claims).await?
    };
    let stored = match stored {
        // Tokens never rewrite a user an ADMIN set.
        Some(user) if user.role_set_by_admin || user.records(&claims) => user,
        _ => {
            let mut write = app.write(&claims.org_id, claims.user_name()).await?;
            let now = write.now();
            let written = users.upsert_from_claims(write.txn(), &claims, now).await?;
            if written.changed {
                record_user_write(&mut write, &written.user, &written.left_groups);
            }
            write.commit(written.user).await?.value
        }
    };
    stored.effective(claims)
}

/// The user's row: from the fact cache while the org has not been written since it was
/// read (a demotion is a write: the next call reads the row again).
async fn stored_user(app: &App, claims: &Principal) -> Result<Option<User>> {
    let load = || async { app.store.users().get(&claims.org_id, &claims.user_id).await };
    let Some(cache) = &app.facts else {
        return load().await;
    };
    let key: UserKey = (claims.org_id.clone(), claims.user_id.clone(), None);
    let revision = cache.revision(&claims.org_id).await?;
    cache.one(cache.users(), key, revision, load).await
}
