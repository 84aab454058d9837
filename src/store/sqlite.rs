//! SQLite connection settings that sqlx has no option for.

use std::ffi::c_int;

use sea_orm::sqlx::SqliteConnection;

/// Turns on the query planner stability guarantee (`SQLITE_DBCONFIG_ENABLE_QPSG`) for a new
/// connection: a statement keeps the plan it was prepared with whatever values are bound.
///
/// Without it, once `ANALYZE` has written `sqlite_stat4` (the bundled SQLite is built with
/// STAT4), a statement whose plan looked at a bound value is re-planned whenever that value
/// changes, and a statement with more than 31 parameters is re-planned on every execution
/// (SQLite tracks parameters 32 and up with one shared bit). The listing statement of a caller
/// with ten groups has over a hundred: it spent more time being planned than run.
pub async fn enable_plan_stability(
    conn: &mut SqliteConnection,
) -> Result<(), sea_orm::sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    // SAFETY: `db` is this connection's open handle, held exclusively through `handle` for
    // the duration of the call; SQLITE_DBCONFIG_ENABLE_QPSG takes an int and an optional
    // int* to report the new setting, which we don't ask for.
    let rc = unsafe {
        libsqlite3_sys::sqlite3_db_config(
            db,
            libsqlite3_sys::SQLITE_DBCONFIG_ENABLE_QPSG,
            1 as c_int,
            std::ptr::null_mut::<c_int>(),
        )
    };
    if rc != libsqlite3_sys::SQLITE_OK {
        return Err(sea_orm::sqlx::Error::Configuration(
            format!("sqlite3_db_config(ENABLE_QPSG) failed with code {rc}").into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::store::{DbOptions, Store};

    /// Every pooled connection has the planner stability guarantee on (asked back from
    /// SQLite with -1, which reads the setting without changing it).
    #[tokio::test]
    async fn pooled_connections_keep_their_plans() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let store = Store::connect(&DbOptions {
            url,
            max_connections: 2,
            acquire_timeout: Duration::from_secs(5),
            sqlite_busy_timeout: Duration::from_secs(5),
            sqlite_synchronous: crate::store::SqliteSynchronous::Full,
        })
        .await
        .expect("connect");
        let pool = store.db().get_sqlite_connection_pool();
        // Both connections at once, so that neither is the other one handed back.
        let mut connections = vec![
            pool.acquire().await.expect("acquire"),
            pool.acquire().await.expect("acquire"),
        ];
        for conn in &mut connections {
            let mut handle = conn.lock_handle().await.expect("handle");
            let mut enabled: c_int = -1;
            // SAFETY: the handle is held exclusively; `enabled` outlives the call.
            let rc = unsafe {
                libsqlite3_sys::sqlite3_db_config(
                    handle.as_raw_handle().as_ptr(),
                    libsqlite3_sys::SQLITE_DBCONFIG_ENABLE_QPSG,
                    -1 as c_int,
                    &mut enabled as *mut c_int,
                )
            };
            assert_eq!(rc, libsqlite3_sys::SQLITE_OK);
            assert_eq!(enabled, 1, "QPSG is off on a pooled connection");
        }
    }

    /// The default is `synchronous = FULL` (2) on every pooled connection, so an acknowledged
    /// commit survives an OS crash; SQLITE_SYNCHRONOUS=normal opts out (1).
    #[tokio::test]
    async fn commits_are_durable_by_default() {
        use sea_orm::{ConnectionTrait, Statement};
        let dir = tempfile::tempdir().expect("temp dir");
        for (setting, expected) in [(None, 2), (Some("normal"), 1)] {
            let mut args = vec!["dashboard-service".to_string()];
            if let Some(setting) = setting {
                args.push(format!("--sqlite-synchronous={setting}"));
            }
            let mut config = <crate::config::Cli as clap::Parser>::parse_from(args).config;
            config.database_url = format!(
                "sqlite://{}?mode=rwc",
                dir.path().join(format!("{expected}.db")).display()
            );
            let store = Store::connect(&config.db_options()).await.expect("connect");
            for _ in 0..3 {
                let row = store
                    .db()
                    .query_one_raw(Statement::from_string(
                        store.backend(),
                        "PRAGMA synchronous",
                    ))
                    .await
                    .expect("pragma")
                    .expect("a row");
                let value: i32 = row.try_get_by_index(0).expect("an integer");
                assert_eq!(value, expected, "synchronous with {setting:?}");
            }
        }
    }
}
