//! Persistence: sea-orm entities, migrations, and one repository per aggregate.
//!
//! SQLite (embedded default) and PostgreSQL share every query. SQLite allows one writer at a
//! time, so write transactions take an in-process lock first: they queue instead of failing
//! with SQLITE_BUSY, and a transaction that reads before it writes cannot deadlock on the
//! lock upgrade. PostgreSQL needs no such lock.
//!
//! Whether the database answers at all is the breaker's business (`breaker`): calls fail fast
//! while it is known to be unreachable, and health follows it.

pub mod breaker;
pub mod comments;
pub mod dashboards;
pub mod entities;
mod error;
pub mod events;
pub mod folder_listing;
pub mod folder_shares;
pub mod folder_writes;
pub mod folders;
pub mod groups;
pub mod labels;
pub mod library_widgets;
pub mod migration;
pub mod public_links;
pub mod roles;
pub mod shares;
mod sqlite;
pub mod stars;
pub mod users;
pub mod versions;
pub mod widgets;

use std::ops::Deref;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sea_orm::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DatabaseTransaction,
    SqliteTransactionMode, SqlxPostgresConnector, SqlxSqliteConnector, Statement,
    TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::core::{Error, Result};
use breaker::{Breaker, DatabaseHealth, MIN_PROBE_SPACING, ProbeTarget, Prober, Transition};

pub use dashboards::DashboardRepo;
pub use groups::GroupRepo;
pub use labels::LabelRepo;
pub use public_links::PublicLinkRepo;
pub use roles::RoleRepo;
pub use sea_orm::sqlx::sqlite::SqliteSynchronous;
pub use shares::ShareRepo;
pub use stars::StarRepo;
pub use users::UserRepo;
pub use widgets::WidgetRepo;

/// Connection settings.
#[derive(Debug, Clone)]
pub struct DbOptions {
    pub url: String,
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// How long SQLite waits on a lock held by another process.
    pub sqlite_busy_timeout: Duration,
    /// SQLite durability of a commit (`FULL` survives an OS crash or power loss).
    pub sqlite_synchronous: SqliteSynchronous,
    /// PostgreSQL: the longest a statement of a call may run (`statement_timeout`); the
    /// server sets it to REQUEST_TIMEOUT, so the database stops working on a call the
    /// server has given up on. Migrations run without it.
    pub statement_timeout: Option<Duration>,
    /// How often the breaker's prober pings the database (`breaker`); also the retry delay
    /// callers are told while the breaker is open.
    pub health_check_interval: Duration,
    /// How long a ping may take before the database counts as unreachable.
    pub health_check_timeout: Duration,
}

/// Prepared statements each pooled connection keeps (sqlx's default is 100). A listing's
/// statement differs with the caller's number of groups and with its filter, so the cache
/// fills with one-off statements: bounded here, memory stays bounded whatever callers send.
pub const STATEMENT_CACHE_CAPACITY: usize = 64;

/// A snapshot of the connection pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    pub in_use: u32,
    pub idle: u32,
}

#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
    /// SQLite: the one connection writes go through, and the lock that serializes them;
    /// `None` on PostgreSQL. One connection, so that its page cache survives from write to
    /// write: SQLite drops a connection's whole cache when another connection committed
    /// since its last transaction, so writes spread over the pool read every page again
    /// (UpdateDashboard spent a tenth of its time in `pread`).
    writer: Option<(DatabaseConnection, Arc<Mutex<()>>)>,
    /// PostgreSQL: how to connect for migrations (without the statement timeout).
    migration_connect: Option<PgConnectOptions>,
    /// The breaker and the prober that keeps it (`breaker`).
    health: Arc<DatabaseHealth>,
}

/// A write transaction; on SQLite it holds the writer lock until commit or drop.
pub struct WriteTxn {
    txn: DatabaseTransaction,
    _writer: Option<OwnedMutexGuard<()>>,
}

impl WriteTxn {
    pub async fn commit(self) -> Result<()> {
        self.txn.commit().await?;
        Ok(())
    }
}

impl Deref for WriteTxn {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &Self::Target {
        &self.txn
    }
}

impl Store {
    pub async fn connect(options: &DbOptions) -> Result<Self> {
        let url = options.url.as_str();
        let invalid_url = |e: sea_orm::sqlx::Error| {
            Error::invalid("database_url", format!("cannot parse {url:?}: {e}"))
        };
        if url.starts_with("sqlite:") {
            let connect = SqliteConnectOptions::from_str(url)
                .map_err(invalid_url)?
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(options.sqlite_synchronous)
                .busy_timeout(options.sqlite_busy_timeout)
                .foreign_keys(true)
                // Each connection keeps 8 MiB of hot pages (the default is 2 MiB): index
                // descents of the grants table stay in memory, and the pool's total stays
                // well inside the memory budget.
                .pragma("cache_size", "-8192")
                .pragma("temp_store", "memory")
                .statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
            let probe = ProbeTarget::Sqlite(connect.clone());
            let pool = |max_connections: u32| {
                SqlitePoolOptions::new()
                    // An embedded database cannot drop a connection: no ping (a round trip
                    // to the connection's worker thread) before every statement.
                    .test_before_acquire(false)
                    .after_connect(|conn, _| Box::pin(sqlite::on_connect(conn)))
                    .max_connections(max_connections)
                    .acquire_timeout(options.acquire_timeout)
                    .connect_with(connect.clone())
            };
            let readers = pool(options.max_connections)
                .await
                .map_err(|e| Error::Unavailable(Box::new(e)))?;
            let writer = pool(1).await.map_err(|e| Error::Unavailable(Box::new(e)))?;
            Ok(Self {
                db: SqlxSqliteConnector::from_sqlx_sqlite_pool(readers),
                writer: Some((
                    SqlxSqliteConnector::from_sqlx_sqlite_pool(writer),
                    Arc::new(Mutex::new(())),
                )),
                migration_connect: None,
                health: database_health(probe, options),
            })
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let migration_connect = PgConnectOptions::from_str(url)
                .map_err(invalid_url)?
                .statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
            let mut connect = migration_connect.clone();
            if let Some(timeout) = options.statement_timeout {
                connect = connect.options([("statement_timeout", timeout.as_millis().max(1))]);
            }
            let pool = PgPoolOptions::new()
                // No ping round trip before every statement: a connection the server closed
                // fails its next statement (UNAVAILABLE, retryable) and leaves the pool.
                .test_before_acquire(false)
                .max_connections(options.max_connections)
                .acquire_timeout(options.acquire_timeout)
                .connect_with(connect)
                .await
                .map_err(|e| Error::Unavailable(Box::new(e)))?;
            Ok(Self {
                db: SqlxPostgresConnector::from_sqlx_postgres_pool(pool),
                writer: None,
                health: database_health(
                    // Named, so that it can be told apart in pg_stat_activity.
                    ProbeTarget::Postgres(
                        migration_connect
                            .clone()
                            .application_name("dashboard-service health check"),
                    ),
                    options,
                ),
                migration_connect: Some(migration_connect),
            })
        } else {
            Err(Error::invalid(
                "database_url",
                format!("{url:?}: expected sqlite://... or postgres://..."),
            ))
        }
    }

    pub fn backend(&self) -> DatabaseBackend {
        self.db.get_database_backend()
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Applies pending migrations. On PostgreSQL an advisory lock makes replicas that start
    /// together take turns.
    pub async fn migrate(&self) -> Result<()> {
        match self.backend() {
            DatabaseBackend::Postgres => {
                // Connections of their own, without the calls' statement timeout: a
                // migration of a large table may take longer than any call.
                let db = match &self.migration_connect {
                    Some(connect) => SqlxPostgresConnector::from_sqlx_postgres_pool(
                        PgPoolOptions::new()
                            // The lock's transaction holds one, the migrator uses another.
                            .max_connections(2)
                            .connect_with(connect.clone())
                            .await
                            .map_err(|e| Error::Unavailable(Box::new(e)))?,
                    ),
                    None => self.db.clone(),
                };
                let lock = db.begin().await?;
                lock.execute_raw(Statement::from_string(
                    DatabaseBackend::Postgres,
                    "SELECT pg_advisory_xact_lock(7230419981)",
                ))
                .await?;
                migration::Migrator::up(&db, None).await?;
                lock.commit().await?;
                if self.migration_connect.is_some() {
                    db.close().await?;
                }
            }
            _ => {
                let _turn = match &self.writer {
                    Some((_, lock)) => Some(lock.clone().lock_owned().await),
                    None => None,
                };
                migration::Migrator::up(&self.db, None).await?;
            }
        }
        Ok(())
    }

    /// Connections the pool holds and how many of them are idle, for the metrics gauges.
    pub fn pool_stats(&self) -> PoolStats {
        let (open, idle) = match self.backend() {
            DatabaseBackend::Sqlite => {
                let pools = std::iter::once(&self.db).chain(self.writer.as_ref().map(|(w, _)| w));
                pools.fold((0, 0), |(open, idle), db| {
                    let pool = db.get_sqlite_connection_pool();
                    (open + pool.size(), idle + pool.num_idle())
                })
            }
            DatabaseBackend::Postgres => {
                let pool = self.db.get_postgres_connection_pool();
                (pool.size(), pool.num_idle())
            }
            _ => (0, 0),
        };
        let idle = u32::try_from(idle).unwrap_or(u32::MAX).min(open);
        PoolStats {
            in_use: open - idle,
            idle,
        }
    }

    /// The breaker: open while the database is known to be unreachable (`breaker`).
    pub fn breaker(&self) -> Arc<Breaker> {
        self.health.breaker.clone()
    }

    /// Pings the database once (on the prober's own connection, within the health check
    /// timeout) and records the outcome in the breaker; true when it answered. Before the
    /// breaker closes, pooled connections that died while it was open are dropped.
    pub async fn check_health(&self) -> bool {
        let DatabaseHealth { breaker, prober } = &*self.health;
        match prober.probe().await {
            Ok(()) => {
                if breaker.is_open() {
                    self.drop_dead_idle_connections(prober.timeout).await;
                    if breaker.record(true) == Some(Transition::Closed) {
                        let outage_ms = prober.outage().map_or(0, |d| d.as_millis());
                        tracing::info!(
                            outage_ms,
                            "database reachable again: calls go through, health SERVING"
                        );
                    }
                }
                true
            }
            Err(cause) => {
                if breaker.record(false) == Some(Transition::Opened) {
                    prober.mark_opened();
                    tracing::warn!(
                        %cause,
                        "database unreachable: calls fail fast with UNAVAILABLE, health NOT_SERVING"
                    );
                }
                false
            }
        }
    }

    /// Keeps the breaker: a probe every health check interval, and one as soon as a call asks
    /// ([`Breaker::suspect`]); probes the database answers are spaced by [`MIN_PROBE_SPACING`].
    /// Runs until dropped.
    pub async fn watch_health(&self) {
        let DatabaseHealth { breaker, prober } = &*self.health;
        let mut tick = tokio::time::interval(prober.interval.max(MIN_PROBE_SPACING));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = breaker.suspicion() => {}
            }
            if self.check_health().await {
                tokio::time::sleep(MIN_PROBE_SPACING).await;
            }
        }
    }

    /// PostgreSQL: pings every idle pooled connection (together, each within `timeout`) and
    /// closes those that fail, e.g. the ones the server terminated when it stopped; the pool
    /// would otherwise hand them to the first calls after an outage.
    async fn drop_dead_idle_connections(&self, timeout: Duration) {
        use sea_orm::sqlx::Connection;
        if self.backend() != DatabaseBackend::Postgres {
            return;
        }
        let pool = self.db.get_postgres_connection_pool();
        let mut idle = Vec::new();
        while let Some(connection) = pool.try_acquire() {
            idle.push(connection);
        }
        let pings = idle.iter_mut().map(|connection| async move {
            let alive = matches!(
                tokio::time::timeout(timeout, connection.ping()).await,
                Ok(Ok(()))
            );
            if !alive {
                connection.close_on_drop();
            }
            alive
        });
        let alive = futures_util::future::join_all(pings).await;
        let dead = alive.iter().filter(|alive| !**alive).count();
        if dead > 0 {
            tracing::info!(dead, "dropped pooled connections that died in the outage");
        }
    }

    /// A write transaction. On SQLite it takes the in-process writer lock and begins with
    /// `BEGIN IMMEDIATE`: a write reads its root row before it writes, and a deferred
    /// transaction that has read cannot upgrade to a writer while another process writes
    /// (SQLITE_BUSY at once, with no busy wait); immediate takes the write lock up front and
    /// waits for it (busy_timeout, bounded by the call's deadline).
    pub async fn begin_write(&self) -> Result<WriteTxn> {
        let Some((writer, lock)) = &self.writer else {
            return Ok(WriteTxn {
                txn: self.db.begin().await?,
                _writer: None,
            });
        };
        let turn = lock.clone().lock_owned().await;
        let txn = writer
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await?;
        Ok(WriteTxn {
            txn,
            _writer: Some(turn),
        })
    }

    pub fn dashboards(&self) -> DashboardRepo {
        DashboardRepo::new(self.clone())
    }

    pub fn users(&self) -> UserRepo {
        UserRepo::new(self.clone())
    }

    pub fn widgets(&self) -> WidgetRepo {
        WidgetRepo::new(self.clone())
    }
    pub fn groups(&self) -> GroupRepo {
        GroupRepo::new(self.clone())
    }

    pub fn roles(&self) -> RoleRepo {
        RoleRepo::new(self.clone())
    }

    pub fn shares(&self) -> ShareRepo {
        // Every share statement runs on the connection or transaction it is handed.
        ShareRepo
    }

    pub fn public_links(&self) -> PublicLinkRepo {
        PublicLinkRepo::new(self.clone())
    }

    pub fn folder_shares(&self) -> folder_shares::FolderShareRepo {
        // Every folder share statement runs on the connection or transaction it is handed.
        folder_shares::FolderShareRepo
    }

    pub fn folders(&self) -> folders::FolderRepo {
        // Every folder read runs on the connection or transaction it is handed.
        folders::FolderRepo
    }

    pub fn stars(&self) -> StarRepo {
        StarRepo::new(self.clone())
    }

    pub fn labels(&self) -> LabelRepo {
        LabelRepo::new(self.clone())
    }

    pub fn comments(&self) -> comments::CommentRepo {
        // Every comment statement runs on the connection or transaction it is handed.
        comments::CommentRepo
    }
}

fn database_health(probe: ProbeTarget, options: &DbOptions) -> Arc<DatabaseHealth> {
    Arc::new(DatabaseHealth {
        breaker: Arc::new(Breaker::new(options.health_check_interval)),
        prober: Prober::new(
            probe,
            options.health_check_interval,
            options.health_check_timeout,
        ),
    })
}

/// `column` contains `needle`, ignoring case: `LOWER(column) LIKE '%needle%' ESCAPE '\'`
/// with the needle lowercased and its wildcards escaped, so it means the same on SQLite
/// and PostgreSQL. Every search and `contains` filter is this.
pub(crate) fn contains_ignoring_case(
    column: impl sea_orm::sea_query::IntoColumnRef,
    needle: &str,
) -> sea_orm::sea_query::Expr {
    use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
    let pattern = format!("%{}%", escape_like(&needle.to_lowercase()));
    Expr::expr(Func::lower(Expr::col(column))).like(LikeExpr::new(pattern).escape('\\'))
}

/// Makes `%`, `_` and `\` match themselves in a LIKE pattern with `ESCAPE '\'`.
fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// True for a unique-constraint violation (e.g. a concurrent create with the same key).
pub fn is_unique_violation(err: &sea_orm::DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(escape_like(r"50%_a\b"), r"50\%\_a\\b");
    }

    /// On PostgreSQL (`TEST_DATABASE_URL`), every pooled connection of the calls carries the
    /// statement timeout; migrations ran without it.
    #[tokio::test]
    async fn postgres_connections_carry_the_statement_timeout() {
        let Ok(url) = std::env::var("TEST_DATABASE_URL") else {
            return;
        };
        if !url.starts_with("postgres") {
            return;
        }
        let store = Store::connect(&DbOptions {
            url,
            max_connections: 2,
            acquire_timeout: Duration::from_secs(5),
            sqlite_busy_timeout: Duration::from_secs(5),
            sqlite_synchronous: SqliteSynchronous::Full,
            statement_timeout: Some(Duration::from_millis(1234)),
            health_check_interval: Duration::from_secs(1),
            health_check_timeout: Duration::from_millis(500),
        })
        .await
        .expect("connect");
        store.migrate().await.expect("migrate");
        let row = store
            .db()
            .query_one_raw(Statement::from_string(
                DatabaseBackend::Postgres,
                "SHOW statement_timeout",
            ))
            .await
            .expect("show")
            .expect("row");
        let timeout: String = row.try_get("", "statement_timeout").expect("value");
        assert_eq!(timeout, "1234ms");
    }
}
