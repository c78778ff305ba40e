//! Which database errors mean what: a transient conflict worth retrying, a database that
//! cannot be reached or cannot write (a 503: the request may succeed later), or a failure
//! (a 500).

use sea_orm::DbErr;

use crate::core::error::StoreError;

/// The database's own error code: SQLSTATE on PostgreSQL, the (extended) result code on
/// SQLite.
fn db_code(err: &DbErr) -> Option<String> {
    use sea_orm::RuntimeErr;
    let (DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e))) = err
    else {
        return None;
    };
    e.as_database_error()
        .and_then(|d| d.code())
        .map(|c| c.into_owned())
}

/// SQLite's primary result code (extended codes keep it in the low byte).
fn sqlite_primary(code: &str) -> Option<i32> {
    code.parse::<i32>().ok().map(|c| c & 0xff)
}

pub fn is_transient(err: &DbErr) -> bool {
    // 40001 serialization_failure, 40P01 deadlock_detected; SQLite 5 BUSY, 6 LOCKED.
    db_code(err).is_some_and(|code| {
        matches!(code.as_str(), "40001" | "40P01") || matches!(sqlite_primary(&code), Some(5 | 6))
    })
}

impl From<DbErr> for StoreError {
    fn from(err: DbErr) -> Self {
        if is_out_of_space(&err) {
            Self::Unavailable(format!("its disk is full or failing: {err}"))
        } else if is_unreachable(&err) {
            Self::Unavailable(err.to_string())
        } else {
            Self::Failed(err.to_string())
        }
    }
}

/// True when the database cannot be reached (rather than refusing a statement): like running
/// out of space, a 503 rather than a 500, since the request may succeed later. PostgreSQL's
/// SQLSTATE class 08 (connection exception) and 57P01–57P03 (shut down by the operator or a
/// crash, not accepting connections yet) count: a server being stopped says so.
pub fn is_unreachable(err: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    use sea_orm::sqlx::Error as Sqlx;
    if db_code(err).is_some_and(|code| {
        code.len() == 5
            && (code.starts_with("08") || matches!(code.as_str(), "57P01" | "57P02" | "57P03"))
    }) {
        return true;
    }
    match err {
        DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => matches!(
            e.as_ref(),
            Sqlx::Io(_)
                | Sqlx::Tls(_)
                | Sqlx::PoolTimedOut
                | Sqlx::PoolClosed
                | Sqlx::WorkerCrashed
                | Sqlx::Protocol(_)
        ),
        _ => false,
    }
}

/// True when the database cannot write for want of space or a working disk: SQLite's FULL
/// (13) or IOERR (10, also what a write past a file-size limit gives); PostgreSQL's
/// SQLSTATE class 53, insufficient resources (disk_full, out_of_memory, too_many_connections).
fn is_out_of_space(err: &DbErr) -> bool {
    db_code(err).is_some_and(|code| {
        if code.len() == 5 {
            code.starts_with("53")
        } else {
            matches!(sqlite_primary(&code), Some(10 | 13))
        }
    })
}
