//! Persistence: sea-orm entities, migrations, and one repository per aggregate.
//!
//! SQLite (embedded default) and PostgreSQL share every query. SQLite allows one writer at a
//! time, so write transactions take an in-process lock first: they queue instead of failing
//! with SQLITE_BUSY, and a transaction that reads before it writes cannot deadlock on the
//! lock upgrade. PostgreSQL needs no such lock.

pub mod dashboards;
pub mod entities;
pub mod groups;
pub mod migration;
pub mod public_links;
pub mod roles;
pub mod shares;
mod sqlite;
pub mod users;
pub mod widgets;

use std::ops::Deref;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sea_orm::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sea_orm::sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DatabaseTransaction,
    SqlxPostgresConnector, SqlxSqliteConnector, Statement, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::domain::{Error, Result};

pub use dashboards::DashboardRepo;
pub use groups::GroupRepo;
pub use public_links::PublicLinkRepo;
pub use roles::RoleRepo;
pub use shares::ShareRepo;
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
}

/// A snapshot of the connection pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    pub in_use: u32,
    pub idle: u32,
}

#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
    /// Serializes writers on SQLite; `None` on PostgreSQL.
    write_lock: Option<Arc<Mutex<()>>>,
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
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(options.sqlite_busy_timeout)
                .foreign_keys(true)
                // Each connection keeps 8 MiB of hot pages (the default is 2 MiB): index
                // descents of the grants table stay in memory, and the pool's total stays
                // well inside the memory budget.
                .pragma("cache_size", "-8192")
                .pragma("temp_store", "memory");
            let pool = SqlitePoolOptions::new()
                // An embedded database cannot drop a connection: no ping (a round trip to
                // the connection's worker thread) before every statement.
                .test_before_acquire(false)
                .after_connect(|conn, _| Box::pin(sqlite::enable_plan_stability(conn)))
                .max_connections(options.max_connections)
                .acquire_timeout(options.acquire_timeout)
                .connect_with(connect)
                .await
                .map_err(|e| Error::Unavailable(Box::new(e)))?;
            Ok(Self {
                db: SqlxSqliteConnector::from_sqlx_sqlite_pool(pool),
                write_lock: Some(Arc::new(Mutex::new(()))),
            })
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let connect = PgConnectOptions::from_str(url).map_err(invalid_url)?;
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
                write_lock: None,
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
                let lock = self.db.begin().await?;
                lock.execute_raw(Statement::from_string(
                    DatabaseBackend::Postgres,
                    "SELECT pg_advisory_xact_lock(7230419981)",
                ))
                .await?;
                migration::Migrator::up(&self.db, None).await?;
                lock.commit().await?;
            }
            _ => {
                let _writer = self.lock_writer().await;
                migration::Migrator::up(&self.db, None).await?;
            }
        }
        Ok(())
    }

    /// Connections the pool holds and how many of them are idle, for the metrics gauges.
    pub fn pool_stats(&self) -> PoolStats {
        let (open, idle) = match self.backend() {
            DatabaseBackend::Sqlite => {
                let pool = self.db.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle())
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

    /// True when the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        self.db.ping().await.is_ok()
    }

    pub async fn begin_write(&self) -> Result<WriteTxn> {
        let writer = self.lock_writer().await;
        let txn = self.db.begin().await?;
        Ok(WriteTxn {
            txn,
            _writer: writer,
        })
    }

    async fn lock_writer(&self) -> Option<OwnedMutexGuard<()>> {
        match &self.write_lock {
            Some(lock) => Some(lock.clone().lock_owned().await),
            None => None,
        }
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
        ShareRepo::new(self.clone())
    }

    pub fn public_links(&self) -> PublicLinkRepo {
        PublicLinkRepo::new(self.clone())
    }
}

/// Makes `%`, `_` and `\` match themselves in a LIKE pattern with `ESCAPE '\'`.
pub(crate) fn escape_like(s: &str) -> String {
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
    use super::escape_like;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(escape_like(r"50%_a\b"), r"50\%\_a\\b");
    }
}
