//! Queries grouped by table. Functions take an executor so callers choose the
//! transaction scope.

pub mod assignments;
pub mod audit;
pub mod paging;
pub mod runs;
pub mod sessions;
pub mod settings;
pub mod templates;
pub mod throttle;
pub mod users;
pub mod workflows;

/// Whether an error is a unique-key violation (MySQL/MariaDB error 1062).
pub fn is_duplicate(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|c| c == "23000")
        && e.as_database_error()
            .is_some_and(|d| d.message().contains("Duplicate"))
}

/// Whether an error means the database cannot be reached right now (no
/// connection within the acquire timeout, a dropped connection, a server
/// that went away), as opposed to a problem with the query.
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        // 1053 shutdown in progress, 1927 connection killed (MariaDB),
        // 2002/2003 cannot connect, 2006 server gone away, 2013 lost connection.
        sqlx::Error::Database(d) => d
            .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
            .is_some_and(|m| matches!(m.number(), 1053 | 1927 | 2002 | 2003 | 2006 | 2013)),
        _ => false,
    }
}

/// Whether an error chain contains an unreachable-database error.
pub fn is_outage(e: &anyhow::Error) -> bool {
    e.chain()
        .any(|c| c.downcast_ref::<sqlx::Error>().is_some_and(is_unavailable))
}

/// Escapes `%`, `_` and `\` so user text is matched literally in `LIKE`.
pub fn like_pattern(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('%');
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}
