//! The doorbell between replicas on PostgreSQL (DESIGN §7): one listening connection per
//! replica, not per stream. Every committed write queues `NOTIFY dashboards_revisions,
//! '{revision} {org}'` in its transaction (`store::events::bump_revision`); this task rings
//! the replica's [`Doorbell`] with it, so that its watch streams read the log at once.
//!
//! A notification is only a hint: whenever the connection is (re)made, notifications may
//! have been missed, so the bell rings for every org; the change-log tails also poll.

use std::time::Duration;

use sea_orm::sqlx::postgres::PgListener;

use crate::app::Doorbell;
use crate::store::events::REVISIONS_CHANNEL;

/// The wait before connecting again after the listening connection failed.
const RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// Listens while the database is PostgreSQL; returns at once otherwise.
pub(super) async fn listen(database_url: String, doorbell: Doorbell) {
    if !(database_url.starts_with("postgres:") || database_url.starts_with("postgresql:")) {
        return;
    }
    loop {
        match PgListener::connect(&database_url).await {
            Ok(mut listener) => match listener.listen(REVISIONS_CHANNEL).await {
                Ok(()) => {
                    tracing::debug!("listening for other replicas' writes");
                    // Whatever was committed while nobody listened.
                    doorbell.ring("", 0);
                    relay(&mut listener, &doorbell).await;
                }
                Err(err) => {
                    tracing::warn!(error = %err, "LISTEN for other replicas' writes failed")
                }
            },
            Err(err) => {
                tracing::warn!(error = %err, "cannot connect to listen for other replicas' writes")
            }
        }
        tokio::time::sleep(RECONNECT_DELAY).await;
    }
}

/// Rings the doorbell for each notification until the connection fails.
async fn relay(listener: &mut PgListener, doorbell: &Doorbell) {
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => match parse(notification.payload()) {
                Some((org, revision)) => doorbell.ring(org, revision),
                None => tracing::warn!("ignored a malformed revision notification"),
            },
            // The connection was lost (the next call reconnects): notifications may have
            // been missed.
            Ok(None) => doorbell.ring("", 0),
            Err(err) => {
                tracing::warn!(error = %err, "lost the connection listening for other replicas' writes");
                doorbell.ring("", 0);
                return;
            }
        }
    }
}

/// `"{revision} {org}"` (the org last: it may hold spaces).
fn parse(payload: &str) -> Option<(&str, i64)> {
    let (revision, org) = payload.split_once(' ')?;
    Some((org, revision.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn payloads_name_the_revision_then_the_org() {
        assert_eq!(parse("42 acme"), Some(("acme", 42)));
        assert_eq!(parse("7 org with spaces"), Some(("org with spaces", 7)));
        assert_eq!(parse("x acme"), None);
        assert_eq!(parse("42"), None);
    }
}
