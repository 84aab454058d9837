//! Background jobs: the database breaker's probes with health following it, the purges, and
//! on PostgreSQL the listener for other replicas' writes.

use std::sync::Arc;

use tonic_health::ServingStatus;

use crate::app::App;
use crate::core::now_micros;
use crate::server::Health;
use crate::server::config::Config;
use crate::store::breaker::Breaker;

/// The database breaker and health in step with it, and the purges. They run side by side: a
/// purge waiting on a frozen database must not hold up the probes that find it frozen.
pub(super) async fn background_jobs(config: Config, app: App, health: Health) {
    let store = app.store.clone();
    tokio::join!(
        store.watch_health(),
        health_follows_the_breaker(store.breaker(), health),
        purge_periodically(&config, &app),
        super::notify::listen(config.database_url.clone(), app.doorbell.clone()),
    );
}

/// NOT_SERVING exactly while the breaker is open (the breaker logs its changes).
async fn health_follows_the_breaker(breaker: Arc<Breaker>, health: Health) {
    let mut open = breaker.subscribe();
    loop {
        let status = if *open.borrow_and_update() {
            ServingStatus::NotServing
        } else {
            ServingStatus::Serving
        };
        health.set(status).await;
        if open.changed().await.is_err() {
            return;
        }
    }
}

/// Purges the trash, the change log and dashboard versions past their retention every
/// `PURGE_INTERVAL`; skipped
/// while the database is known to be down.
async fn purge_periodically(config: &Config, app: &App) {
    let mut tick = tokio::time::interval(config.purge_interval);
    loop {
        tick.tick().await;
        if app.store.breaker().is_open() {
            continue;
        }
        match crate::app::dashboards::purge_expired(app, now_micros()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "purged expired dashboards from the trash"),
            Err(err) => tracing::warn!(error = %err, "trash purge failed"),
        }
        match crate::app::events::purge_expired(app, now_micros(), config.event_retention).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "purged events past EVENT_RETENTION"),
            Err(err) => tracing::warn!(error = %err, "event purge failed"),
        }
        let versions = crate::app::versions::Retention {
            keep_min: config.versions_keep_min,
            retention: config.version_retention,
        };
        match crate::app::versions::prune_expired(app, now_micros(), &versions).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                pruned = n,
                "pruned dashboard versions past VERSION_RETENTION"
            ),
            Err(err) => tracing::warn!(error = %err, "version pruning failed"),
        }
    }
}
