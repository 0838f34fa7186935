//! Named parameters in SQL text: `:name` placeholders are replaced by the
//! driver's positional markers and the values are bound, never spliced into
//! the text. Quoted strings, quoted identifiers (also SQL Server's
//! `[name]`), comments and `::` (PostgreSQL casts, T-SQL static methods) are
//! left alone.

/// How a driver writes positional parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `$1`, `$2`, … (PostgreSQL)
    Dollar,
    /// `?` (MySQL, MariaDB)
    Question,
    /// `@P1`, `@P2`, … (SQL Server, through `sp_executesql`)
    AtP,
}

/// SQL ready for the driver and the parameter name for each marker, in order
/// (a name used twice appears twice for `?`, once for `$n` and `@Pn`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compiled {
    pub sql: String,
    pub params: Vec<String>,
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

pub fn compile(sql: &str, dialect: Dialect) -> Result<Compiled, String> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = String::with_capacity(sql.len());
    let mut params: Vec<String> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\'' | '"' | '`' | '[' if c != '[' || dialect == Dialect::AtP => {
                // Copy the quoted run; a doubled closing quote is an escaped one.
                let close = if c == '[' { ']' } else { c };
                out.push(c);
                i += 1;
                loop {
                    let Some(&d) = chars.get(i) else {
                        return Err("unterminated quoted text".into());
                    };
                    out.push(d);
                    i += 1;
                    if d == '\\' && c == '\'' && dialect == Dialect::Question {
                        // MySQL backslash escapes inside strings.
                        if let Some(&e) = chars.get(i) {
                            out.push(e);
                            i += 1;
                        }
                        continue;
                    }
                    if d == close {
                        if chars.get(i) == Some(&close) {
                            out.push(close);
                            i += 1;
                            continue;
                        }
                        break;
                    }
                }
            }
            '-' if chars.get(i + 1) == Some(&'-') => {
                while i < chars.len() && chars[i] != '\n' {
                    out.push(chars[i]);
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                let start = i;
                i += 2;
                while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                    i += 1;
                }
                if i >= chars.len() {
                    return Err("unterminated comment".into());
                }
                i += 2;
                out.extend(&chars[start..i]);
            }
            ':' if chars.get(i + 1) == Some(&':') => {
                out.push_str("::");
                i += 2;
            }
            ':' if chars.get(i + 1).is_some_and(|&n| is_name_start(n)) => {
                let start = i + 1;
                let mut end = start;
                while end < chars.len() && is_name_char(chars[end]) {
                    end += 1;
                }
                let name: String = chars[start..end].iter().collect();
                match dialect {
                    Dialect::Question => {
                        out.push('?');
                        params.push(name);
                    }
                    Dialect::Dollar | Dialect::AtP => {
                        let n = match params.iter().position(|p| p == &name) {
                            Some(n) => n + 1,
                            None => {
                                params.push(name);
                                params.len()
                            }
                        };
                        out.push_str(if dialect == Dialect::Dollar {
                            "$"
                        } else {
                            "@P"
                        });
                        out.push_str(&n.to_string());
                    }
                }
                i = end;
            }
            '?' if dialect == Dialect::Question => {
                return Err("use named parameters (:name), not '?'".into());
            }
            '$' if dialect == Dialect::Dollar
                && chars.get(i + 1).is_some_and(|n| n.is_ascii_digit()) =>
            {
                return Err("use named parameters (:name), not '$n'".into());
            }
            // `@P1` is what names become; one written by hand would collide.
            '@' if dialect == Dialect::AtP
                && chars
                    .get(i + 1)
                    .is_some_and(|p| p.eq_ignore_ascii_case(&'p'))
                && chars.get(i + 2).is_some_and(char::is_ascii_digit)
                && !chars
                    .get(i.wrapping_sub(1))
                    .is_some_and(|&p| is_name_char(p) || p == '@') =>
            {
                return Err("use named parameters (:name), not '@Pn'".into());
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(Compiled { sql: out, params })
}

/// T-SQL keywords that change data, schema, permissions or the server, or
/// run code that may. All are reserved words, so outside quotes and
/// comments they cannot be names.
const TSQL_WRITES: &[&str] = &[
    "INSERT",
    "UPDATE",
    "DELETE",
    "MERGE",
    "TRUNCATE",
    "DROP",
    "CREATE",
    "ALTER",
    "EXEC",
    "EXECUTE",
    "GRANT",
    "REVOKE",
    "DENY",
    "INTO",
    "BULK",
    "WRITETEXT",
    "UPDATETEXT",
    "DBCC",
    "BACKUP",
    "RESTORE",
    "SHUTDOWN",
    "KILL",
    "RECONFIGURE",
    "SETUSER",
    "OPENROWSET",
    "OPENDATASOURCE",
];

/// The first keyword of a T-SQL batch that would write (`INTO` covers
/// `SELECT … INTO`), outside quotes, `[names]` and comments; `None` for a
/// plain query. SQL Server has no read-only transaction, so read-only
/// connections refuse such batches before they reach the server.
pub fn tsql_write_keyword(sql: &str) -> Option<&'static str> {
    let chars: Vec<char> = sql.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\'' | '"' | '[' => {
                let close = if c == '[' { ']' } else { c };
                i += 1;
                while i < chars.len() {
                    if chars[i] == close {
                        if chars.get(i + 1) == Some(&close) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
            }
            '-' if chars.get(i + 1) == Some(&'-') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                // T-SQL block comments nest.
                let mut depth = 0;
                while i < chars.len() {
                    if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                        depth += 1;
                        i += 2;
                    } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            c if is_name_start(c) || c == '@' || c == '#' => {
                let start = i;
                i += 1;
                while i < chars.len()
                    && (is_name_char(chars[i]) || matches!(chars[i], '@' | '#' | '$'))
                {
                    i += 1;
                }
                // Variables and temporary tables are the batch's own.
                if c == '@' || c == '#' {
                    continue;
                }
                let word: String = chars[start..i]
                    .iter()
                    .collect::<String>()
                    .to_ascii_uppercase();
                if let Some(k) = TSQL_WRITES.iter().copied().find(|k| *k == word) {
                    return Some(k);
                }
            }
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_positional_markers() {
        let c = compile(
            "SELECT * FROM t WHERE a = :a AND b = :b OR a2 = :a",
            Dialect::Dollar,
        )
        .unwrap();
        assert_eq!(c.sql, "SELECT * FROM t WHERE a = $1 AND b = $2 OR a2 = $1");
        assert_eq!(c.params, ["a", "b"]);
        let c = compile(
            "SELECT * FROM t WHERE a = :a AND b = :b OR a2 = :a",
            Dialect::Question,
        )
        .unwrap();
        assert_eq!(c.sql, "SELECT * FROM t WHERE a = ? AND b = ? OR a2 = ?");
        assert_eq!(c.params, ["a", "b", "a"]);
    }

    #[test]
    fn quotes_comments_and_casts_are_untouched() {
        let sql = "SELECT ':no', \"x:y\", `q:z`, 'it''s :no', v::text -- :no\n/* :no */ FROM t WHERE id = :id";
        let c = compile(sql, Dialect::Dollar).unwrap();
        assert_eq!(c.params, ["id"]);
        assert!(c.sql.ends_with("id = $1"));
        assert!(
            c.sql.contains("'it''s :no'")
                && c.sql.contains("v::text")
                && c.sql.contains("/* :no */")
        );
    }

    #[test]
    fn positional_markers_and_broken_text_are_refused() {
        assert!(compile("SELECT ?", Dialect::Question).is_err());
        assert!(compile("SELECT $1", Dialect::Dollar).is_err());
        assert!(compile("SELECT 'open", Dialect::Dollar).is_err());
        assert!(compile("SELECT /* open", Dialect::Dollar).is_err());
    }

    #[test]
    fn sql_server_gets_numbered_at_markers() {
        let c = compile(
            "SELECT [a:b], N'x:y' FROM t WHERE a = :a AND b = :b OR c = :a -- :no",
            Dialect::AtP,
        )
        .unwrap();
        assert_eq!(
            c.sql,
            "SELECT [a:b], N'x:y' FROM t WHERE a = @P1 AND b = @P2 OR c = @P1 -- :no"
        );
        assert_eq!(c.params, ["a", "b"]);
        // Bracketed names may hold a doubled `]`; static methods keep `::`.
        let c = compile(
            "SELECT [odd]]:name], geography::Point(:lat, :lon, 4326)",
            Dialect::AtP,
        )
        .unwrap();
        assert_eq!(c.params, ["lat", "lon"]);
        assert!(c
            .sql
            .starts_with("SELECT [odd]]:name], geography::Point(@P1, @P2"));
        // `[` is not a quote elsewhere (PostgreSQL arrays).
        let c = compile("SELECT arr[:i]", Dialect::Dollar).unwrap();
        assert_eq!(c.sql, "SELECT arr[$1]");
    }

    #[test]
    fn sql_server_refuses_hand_written_markers_only() {
        assert!(compile("SELECT @P1", Dialect::AtP).is_err());
        assert!(compile("SELECT @p12", Dialect::AtP).is_err());
        assert!(compile("SELECT 'x", Dialect::AtP).is_err());
        assert!(compile("SELECT [x", Dialect::AtP).is_err());
        // Other variables are the batch's own business.
        let c = compile(
            "DECLARE @Price int = :p; SELECT @Price, @@VERSION",
            Dialect::AtP,
        )
        .unwrap();
        assert_eq!(c.sql, "DECLARE @Price int = @P1; SELECT @Price, @@VERSION");
    }

    #[test]
    fn tsql_writes_are_found_outside_quotes_and_comments() {
        for (sql, found) in [
            ("SELECT id, [update] FROM t WHERE note = 'DELETE me'", None),
            ("SELECT 1 -- DROP TABLE x\n", None),
            ("SELECT 1 /* outer /* DROP */ still comment INSERT */", None),
            ("SELECT \"insert\" FROM t", None),
            ("DECLARE @delete int = 1; SELECT @delete FROM #into", None),
            ("SELECT * INTO copy FROM t", Some("INTO")),
            ("select 1; drop table x", Some("DROP")),
            ("WITH c AS (SELECT 1 a) UPDATE t SET a = 1", Some("UPDATE")),
            ("EXEC sp_who", Some("EXEC")),
            ("SELECT 1 /* a */ MERGE t USING s ON 1=1", Some("MERGE")),
        ] {
            assert_eq!(tsql_write_keyword(sql), found, "{sql}");
        }
    }
}
