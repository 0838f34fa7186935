//! Named parameters in SQL text: `:name` placeholders are replaced by the
//! driver's positional markers and the values are bound, never spliced into
//! the text. Quoted strings, quoted identifiers, comments and PostgreSQL
//! `::type` casts are left alone.

/// How a driver writes positional parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `$1`, `$2`, … (PostgreSQL)
    Dollar,
    /// `?` (MySQL, MariaDB)
    Question,
}

/// SQL ready for the driver and the parameter name for each marker, in order
/// (a name used twice appears twice for `?`, once for `$n`).
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
            '\'' | '"' | '`' => {
                // Copy the quoted run; a doubled quote is an escaped quote.
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
                    if d == c {
                        if chars.get(i) == Some(&c) {
                            out.push(c);
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
                    Dialect::Dollar => {
                        let n = match params.iter().position(|p| p == &name) {
                            Some(n) => n + 1,
                            None => {
                                params.push(name);
                                params.len()
                            }
                        };
                        out.push('$');
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
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(Compiled { sql: out, params })
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
}
