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
