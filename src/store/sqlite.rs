//! SQLite connection settings that sqlx has no option for.

use std::ffi::{c_char, c_int};

use libsqlite3_sys::{sqlite3_context, sqlite3_value};
use sea_orm::sqlx::SqliteConnection;

/// Everything a new pooled connection needs before its first statement.
pub async fn on_connect(conn: &mut SqliteConnection) -> Result<(), sea_orm::sqlx::Error> {
    enable_plan_stability(conn).await?;
    register_unicode_lower(conn).await
}

/// Replaces SQLite's `lower()`, which folds ASCII letters only, on this connection with one
/// that lowercases every Unicode letter (Rust's `str::to_lowercase`), so that the
/// case-insensitive `:` of filters and the directory searches (`lower(column) LIKE
/// lower(needle)`) give the answers PostgreSQL's `lower()` gives: `title:"äpfel"` finds
/// "Äpfel". No index or stored value depends on `lower()`, so replacing it changes nothing
/// else; it stays deterministic (plan stability and the planner may rely on that).
pub async fn register_unicode_lower(
    conn: &mut SqliteConnection,
) -> Result<(), sea_orm::sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    // SAFETY: `db` is this connection's open handle, held exclusively through `handle`; the
    // name is a NUL-terminated static string; the function has no user data to destroy.
    let rc = unsafe {
        libsqlite3_sys::sqlite3_create_function_v2(
            db,
            c"lower".as_ptr(),
            1,
            libsqlite3_sys::SQLITE_UTF8
                | libsqlite3_sys::SQLITE_DETERMINISTIC
                | libsqlite3_sys::SQLITE_INNOCUOUS,
            std::ptr::null_mut(),
            Some(unicode_lower),
            None,
            None,
            None,
        )
    };
    if rc != libsqlite3_sys::SQLITE_OK {
        return Err(sea_orm::sqlx::Error::Configuration(
            format!("sqlite3_create_function_v2(lower) failed with code {rc}").into(),
        ));
    }
    Ok(())
}

/// `lower(x)`: NULL stays NULL; anything else is read as UTF-8 text and lowercased.
unsafe extern "C" fn unicode_lower(
    ctx: *mut sqlite3_context,
    argc: c_int,
    argv: *mut *mut sqlite3_value,
) {
    // SAFETY: SQLite calls this with `argc` valid values in `argv` (1, as registered) and a
    // valid context; the text pointer stays valid until the value is touched again, and the
    // result is copied by SQLite (SQLITE_TRANSIENT) before the String is dropped.
    unsafe {
        if argc != 1 {
            libsqlite3_sys::sqlite3_result_null(ctx);
            return;
        }
        let value = *argv;
        if libsqlite3_sys::sqlite3_value_type(value) == libsqlite3_sys::SQLITE_NULL {
            libsqlite3_sys::sqlite3_result_null(ctx);
            return;
        }
        let text = libsqlite3_sys::sqlite3_value_text(value);
        let len = libsqlite3_sys::sqlite3_value_bytes(value);
        if text.is_null() {
            if len == 0 {
                libsqlite3_sys::sqlite3_result_text(ctx, c"".as_ptr(), 0, None);
            } else {
                libsqlite3_sys::sqlite3_result_error_nomem(ctx);
            }
            return;
        }
        let bytes = std::slice::from_raw_parts(text, len.max(0) as usize);
        let lowered = String::from_utf8_lossy(bytes).to_lowercase();
        match c_int::try_from(lowered.len()) {
            Ok(n) => libsqlite3_sys::sqlite3_result_text(
                ctx,
                lowered.as_ptr() as *const c_char,
                n,
                libsqlite3_sys::SQLITE_TRANSIENT(),
            ),
            Err(_) => libsqlite3_sys::sqlite3_result_error_toobig(ctx),
        }
    }
}

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
    use crate::store::{DbOptions, SqliteSynchronous, Store};

    /// A store on a fresh database file in `dir`, with `connections` pooled connections.
    async fn store_in(dir: &tempfile::TempDir, connections: u32) -> Store {
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        Store::connect(&DbOptions {
            url,
            max_connections: connections,
            acquire_timeout: Duration::from_secs(5),
            sqlite_busy_timeout: Duration::from_secs(5),
            sqlite_synchronous: crate::store::SqliteSynchronous::Full,
            statement_timeout: None,
            health_check_interval: Duration::from_secs(1),
            health_check_timeout: Duration::from_millis(500),
        })
        .await
        .expect("connect")
    }

    /// Every pooled connection has the planner stability guarantee on (asked back from
    /// SQLite with -1, which reads the setting without changing it).
    #[tokio::test]
    async fn pooled_connections_keep_their_plans() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = store_in(&dir, 2).await;
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
        for (setting, expected) in [(SqliteSynchronous::Full, 2), (SqliteSynchronous::Normal, 1)] {
            let options = DbOptions {
                url: format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join(format!("{expected}.db")).display()
                ),
                max_connections: 2,
                acquire_timeout: std::time::Duration::from_secs(5),
                sqlite_busy_timeout: std::time::Duration::from_secs(5),
                sqlite_synchronous: setting,
                statement_timeout: None,
                health_check_interval: Duration::from_secs(1),
                health_check_timeout: Duration::from_millis(500),
            };
            let store = Store::connect(&options).await.expect("connect");
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

    /// `lower()` folds non-ASCII letters on every pooled connection, and keeps NULL.
    #[tokio::test]
    async fn lower_folds_unicode() {
        use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
        let dir = tempfile::tempdir().expect("temp dir");
        let store = store_in(&dir, 1).await;
        let row = store
            .db()
            .query_one_raw(Statement::from_string(
                DatabaseBackend::Sqlite,
                "SELECT lower('ÄPFEL Ωμέγα ABC') AS l, lower(NULL) IS NULL AS n, lower('') AS e",
            ))
            .await
            .expect("query")
            .expect("row");
        assert_eq!(row.try_get::<String>("", "l").unwrap(), "äpfel ωμέγα abc");
        assert!(row.try_get::<bool>("", "n").unwrap());
        assert_eq!(row.try_get::<String>("", "e").unwrap(), "");
    }
}
