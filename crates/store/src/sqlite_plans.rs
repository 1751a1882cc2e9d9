//! SQLite's query planner stability guarantee, turned on for every connection.
//!
//! The bundled SQLite is built with `SQLITE_ENABLE_STAT4`. Once `ANALYZE` has filled
//! `sqlite_stat4`, the planner reads the values bound to a statement's parameters to estimate
//! how many rows an index range holds, and marks the prepared statement as expired whenever
//! such a parameter is bound again. Every execution of a cached statement that filters an
//! indexed column by a parameter, such as a customer list filtered by white label, then parses
//! and plans its SQL again. A `perf` profile of the `GET /api/v1/customers/{id}` phase of
//! `tandem-bench --scale --profile small` (SQLite 3.46.0, 2 vCPUs) put about a third of the
//! process's CPU time in `sqlite3Reprepare`.
//!
//! With the guarantee on (`SQLITE_DBCONFIG_ENABLE_QPSG`), the planner ignores bound values, so
//! a statement is planned once per connection and keeps that plan. Plans then come from the
//! `sqlite_stat1` averages, the same for every tenant.

use std::ffi::{c_char, c_int};
use std::sync::Once;

use libsqlite3_sys::{
    sqlite3, sqlite3_api_routines, sqlite3_auto_extension, sqlite3_db_config,
    SQLITE_DBCONFIG_ENABLE_QPSG, SQLITE_OK,
};

/// Registers [`enable_stability`] to run on every SQLite connection this process opens from now
/// on. Only the first call registers it.
pub(crate) fn keep_plans_stable() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // SAFETY: `enable_stability` has the signature that `sqlite3_auto_extension` expects and
        // stays valid for the life of the process, as the function requires.
        let code = unsafe { sqlite3_auto_extension(Some(enable_stability)) };
        if code != SQLITE_OK {
            tracing::warn!(
                code,
                "registering SQLite's query planner stability guarantee failed; statements \
                 will be planned again whenever their bound values change"
            );
        }
    });
}

/// Turns the query planner stability guarantee on for one new connection. SQLite calls it from
/// `sqlite3_open_v2` with the connection being opened.
unsafe extern "C" fn enable_stability(
    db: *mut sqlite3,
    _error_message: *mut *mut c_char,
    _api: *const sqlite3_api_routines,
) -> c_int {
    // SAFETY: `db` is the open connection that SQLite passes to its automatic extensions. The
    // option takes an int (1 turns it on) and an optional int pointer for the new setting,
    // which may be null.
    let code = unsafe {
        sqlite3_db_config(
            db,
            SQLITE_DBCONFIG_ENABLE_QPSG,
            1 as c_int,
            std::ptr::null_mut::<c_int>(),
        )
    };
    if code != SQLITE_OK {
        tracing::warn!(
            code,
            "turning on SQLite's query planner stability guarantee failed for a connection"
        );
    }
    // A failure above leaves the connection usable, only slower, so the connection opens.
    SQLITE_OK
}

#[cfg(test)]
mod tests {
    use std::ffi::CString;

    use libsqlite3_sys::{
        sqlite3_close, sqlite3_exec, sqlite3_memory_highwater, sqlite3_open_v2, SQLITE_OPEN_CREATE,
        SQLITE_OPEN_READWRITE,
    };

    use super::*;

    /// Opens a connection to a new in-memory database, asserting that it opened.
    fn open_memory() -> *mut sqlite3 {
        let path = CString::new(":memory:").expect("no NUL in the path");
        let mut db: *mut sqlite3 = std::ptr::null_mut();
        // SAFETY: `path` is a NUL-terminated string and `db` receives the new connection,
        // which the caller closes.
        let opened = unsafe {
            sqlite3_open_v2(
                path.as_ptr(),
                &mut db,
                SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                std::ptr::null(),
            )
        };
        assert_eq!(opened, SQLITE_OK);
        db
    }

    /// The workspace's `.cargo/config.toml` builds SQLite without memory statistics, whose
    /// upkeep takes a process-wide mutex on every allocation. Statistics that are kept record
    /// a high-water mark once a connection has allocated anything.
    #[test]
    fn sqlite_keeps_no_memory_statistics() {
        let db = open_memory();
        let sql =
            CString::new("CREATE TABLE t (v TEXT); INSERT INTO t VALUES (hex(randomblob(4096)));")
                .expect("no NUL in the statement");
        // SAFETY: `db` is open and `sql` is NUL-terminated. No callback or error message is
        // requested.
        let executed = unsafe {
            sqlite3_exec(
                db,
                sql.as_ptr(),
                None,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        // SAFETY: reading the statistic without resetting it has no preconditions.
        let highest = unsafe { sqlite3_memory_highwater(0) };
        // SAFETY: `db` came from `sqlite3_open_v2` and is not used afterwards.
        unsafe { sqlite3_close(db) };

        assert_eq!(executed, SQLITE_OK);
        assert_eq!(
            highest, 0,
            "SQLite keeps memory statistics; build it with SQLITE_DEFAULT_MEMSTATUS=0"
        );
    }

    #[test]
    fn new_connection_has_stable_plans() {
        keep_plans_stable();
        let db = open_memory();
        let mut enabled: c_int = -1;
        // SAFETY: a negative value reads the setting without changing it, into `enabled`.
        let read = unsafe {
            sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_QPSG, -1 as c_int, &mut enabled)
        };
        // SAFETY: `db` came from `sqlite3_open_v2` and is not used afterwards.
        unsafe { sqlite3_close(db) };

        assert_eq!(read, SQLITE_OK);
        assert_eq!(enabled, 1);
    }
}
