//! Query: what a Query node asks of a database connection, checked, and
//! what it makes of the answer. Reading maps columns to fields with a type
//! conversion each; writing turns an array of objects into INSERT (or
//! upsert) statements whose values are bound by name, never spliced into
//! the SQL text.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde_json::{Map, Number, Value};

/// Rows a read returns at most unless the node asks for fewer.
pub const DEFAULT_MAX_ROWS: usize = 100_000;
/// Highest row limit a node may set.
pub const MAX_ROWS: usize = 1_000_000;
/// Default and highest time limit, in seconds.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 60;
pub const MAX_TIMEOUT_SECONDS: u64 = 3_600;
/// Output ports that carry one mapped field each (the first four fields).
pub const FIELD_PORTS: [&str; 4] = ["field1", "field2", "field3", "field4"];
/// Bound values per write statement: below PostgreSQL's 65,535 and
/// comfortably below MySQL's prepared-statement limit.
pub const MAX_BOUND_VALUES: usize = 30_000;
/// Rows per write statement at most.
pub const MAX_ROWS_PER_STATEMENT: usize = 1_000;
/// Longest identifier part MySQL accepts (PostgreSQL's is 63).
const MAX_IDENTIFIER: usize = 63;

/// Why a Query node cannot run, or what it made of the answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryNodeError {
    #[error("`connection` names no connection")]
    NoConnection,
    #[error("`sql` is empty")]
    NoSql,
    #[error("`operation` must be read, insert or upsert")]
    Operation,
    #[error("`decimals` must be string or number")]
    Decimals,
    #[error("`maxRows` must be a whole number from 1 to {MAX_ROWS}")]
    MaxRows,
    #[error("`timeoutSeconds` must be a whole number from 1 to {MAX_TIMEOUT_SECONDS}")]
    Timeout,
    #[error("`table` is needed to insert or upsert")]
    NoTable,
    #[error("`keyColumns` are needed to upsert")]
    NoKeys,
    #[error("`{0}` is not a plain identifier (letters, digits and _, optionally schema.name)")]
    Identifier(String),
    #[error("field mapping line {line}: {message}")]
    Mapping { line: usize, message: String },
    #[error("the `rows` input must be an array of objects")]
    RowsShape,
    #[error("row {row} has no value for column `{column}`")]
    MissingValue { row: usize, column: String },
    #[error("the `params` input must be an object of named values")]
    ParamsShape,
    #[error("column `{column}`, row {row}: {message}")]
    Convert {
        column: String,
        row: usize,
        message: String,
    },
    #[error("the result has no column `{0}` (the field mapping names it)")]
    UnknownColumn(String),
}

/// What the node does with its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Runs `sql`; its rows are the output.
    Read,
    /// Inserts the `rows` input into `table`.
    Insert,
    /// Inserts the `rows` input into `table`, updating rows whose key
    /// columns already exist.
    Upsert,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Insert => "insert",
            Self::Upsert => "upsert",
        }
    }

    pub fn writes(self) -> bool {
        self != Self::Read
    }
}

/// How decimal columns reach the workflow when no field says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decimals {
    /// Exact, as text.
    String,
    /// As JSON numbers (binary floating point: may round).
    Number,
}

/// The type a mapped field is converted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// As the driver read it.
    Auto,
    String,
    Number,
    Integer,
    /// A decimal number kept exact, as text.
    Decimal,
    Boolean,
    /// `YYYY-MM-DD`.
    Date,
    /// ISO 8601 date and time.
    DateTime,
    /// Text holding JSON is parsed.
    Json,
    /// Binary columns arrive as base64 text; kept so.
    Binary,
}

impl FieldType {
    pub const NAMES: [&'static str; 10] = [
        "auto", "string", "number", "integer", "decimal", "boolean", "date", "datetime", "json",
        "binary",
    ];

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "auto" => Self::Auto,
            "string" | "text" => Self::String,
            "number" | "float" => Self::Number,
            "integer" | "int" => Self::Integer,
            "decimal" => Self::Decimal,
            "boolean" | "bool" => Self::Boolean,
            "date" => Self::Date,
            "datetime" | "timestamp" => Self::DateTime,
            "json" => Self::Json,
            "binary" | "bytes" => Self::Binary,
            _ => return None,
        })
    }
}

/// One column of the result, as the workflow sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub column: String,
    /// The key in each output row (and the field port's label).
    pub name: String,
    pub field_type: FieldType,
}

/// For writes: the table column and the key of the input row holding its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteColumn {
    pub column: String,
    pub source: String,
}

/// A Query node's parameters, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct QuerySpec {
    /// The connection's name (an admin allows it for the run's client).
    pub connection: String,
    pub operation: Operation,
    pub sql: String,
    pub table: String,
    pub key_columns: Vec<String>,
    /// Empty: every key of the first input row, by its own name.
    pub write_columns: Vec<WriteColumn>,
    /// Empty: every column as read.
    pub fields: Vec<Field>,
    pub decimals: Decimals,
    pub max_rows: usize,
    pub timeout_seconds: u64,
}

fn text<'a>(params: &'a BTreeMap<String, Value>, name: &str) -> &'a str {
    params
        .get(name)
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
}

fn whole(v: Option<&Value>, max: u64) -> Option<Option<u64>> {
    match v {
        None | Some(Value::Null) => Some(None),
        Some(Value::String(s)) if s.trim().is_empty() => Some(None),
        Some(v) => {
            let n = v
                .as_f64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))?;
            (n.fract() == 0.0 && n >= 1.0 && n <= max as f64).then_some(Some(n as u64))
        }
    }
}

/// A table or column name: letters, digits and `_`, with at most one
/// `schema.` prefix. Anything else could change the statement.
pub fn identifier(s: &str) -> Result<String, QueryNodeError> {
    let s = s.trim();
    let parts: Vec<&str> = s.split('.').collect();
    let ok = !s.is_empty()
        && parts.len() <= 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= MAX_IDENTIFIER
                && p.chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
    if ok {
        Ok(s.to_owned())
    } else {
        Err(QueryNodeError::Identifier(s.to_owned()))
    }
}

/// `column`, `column as name`, `column: type` or `column as name: type`,
/// one per line; `#` starts a comment.
fn parse_fields(src: &str) -> Result<Vec<Field>, QueryNodeError> {
    let mut fields: Vec<Field> = Vec::new();
    for (i, raw) in src.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let err = |message: String| QueryNodeError::Mapping {
            line: i + 1,
            message,
        };
        let (left, ty) = match line.rsplit_once(':') {
            Some((l, t)) => (l.trim(), t.trim().to_ascii_lowercase()),
            None => (line, "auto".to_owned()),
        };
        let field_type = FieldType::parse(&ty).ok_or_else(|| {
            err(format!(
                "unknown type `{ty}` (one of {})",
                FieldType::NAMES.join(", ")
            ))
        })?;
        let words: Vec<&str> = left.split_whitespace().collect();
        let (column, name) = match words.as_slice() {
            [c] => (*c, *c),
            [c, kw, n] if kw.eq_ignore_ascii_case("as") => (*c, *n),
            _ => {
                return Err(err(
                    "write `column`, `column as name` or add `: type`".into()
                ))
            }
        };
        if column.is_empty() || name.is_empty() {
            return Err(err("a column name is missing".into()));
        }
        if fields.iter().any(|f| f.name == name) {
            return Err(err(format!("the name `{name}` is used twice")));
        }
        fields.push(Field {
            column: column.to_owned(),
            name: name.to_owned(),
            field_type,
        });
    }
    Ok(fields)
}

/// `column` or `column = key`, one per line or separated by commas.
fn parse_write_columns(src: &str) -> Result<Vec<WriteColumn>, QueryNodeError> {
    let mut out: Vec<WriteColumn> = Vec::new();
    for (i, line) in src.lines().enumerate() {
        for item in line.split(',') {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            let (column, source) = match item.split_once('=') {
                Some((c, s)) => (identifier(c)?, s.trim().to_owned()),
                None => (identifier(item)?, item.to_owned()),
            };
            if source.is_empty() {
                return Err(QueryNodeError::Mapping {
                    line: i + 1,
                    message: format!("column `{column}` takes its value from no key"),
                });
            }
            if out.iter().any(|w| w.column == column) {
                return Err(QueryNodeError::Mapping {
                    line: i + 1,
                    message: format!("column `{column}` is listed twice"),
                });
            }
            out.push(WriteColumn { column, source });
        }
    }
    Ok(out)
}

impl QuerySpec {
    pub fn from_params(params: &BTreeMap<String, Value>) -> Result<Self, QueryNodeError> {
        let connection = text(params, "connection").to_owned();
        if connection.is_empty() {
            return Err(QueryNodeError::NoConnection);
        }
        let operation = match text(params, "operation") {
            "" | "read" => Operation::Read,
            "insert" => Operation::Insert,
            "upsert" => Operation::Upsert,
            _ => return Err(QueryNodeError::Operation),
        };
        let decimals = match text(params, "decimals") {
            "" | "string" => Decimals::String,
            "number" => Decimals::Number,
            _ => return Err(QueryNodeError::Decimals),
        };
        let max_rows = whole(params.get("maxRows"), MAX_ROWS as u64)
            .ok_or(QueryNodeError::MaxRows)?
            .map_or(DEFAULT_MAX_ROWS, |n| n as usize);
        let timeout_seconds = whole(params.get("timeoutSeconds"), MAX_TIMEOUT_SECONDS)
            .ok_or(QueryNodeError::Timeout)?
            .unwrap_or(DEFAULT_TIMEOUT_SECONDS);
        let sql = text(params, "sql").to_owned();
        let fields = parse_fields(text(params, "fields"))?;
        let (table, key_columns, write_columns) = if operation.writes() {
            let table = text(params, "table");
            if table.is_empty() {
                return Err(QueryNodeError::NoTable);
            }
            let keys = text(params, "keyColumns")
                .split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(identifier)
                .collect::<Result<Vec<_>, _>>()?;
            if operation == Operation::Upsert && keys.is_empty() {
                return Err(QueryNodeError::NoKeys);
            }
            (
                identifier(table)?,
                keys,
                parse_write_columns(text(params, "columns"))?,
            )
        } else {
            if sql.is_empty() {
                return Err(QueryNodeError::NoSql);
            }
            (String::new(), Vec::new(), Vec::new())
        };
        Ok(Self {
            connection,
            operation,
            sql,
            table,
            key_columns,
            write_columns,
            fields,
            decimals,
            max_rows,
            timeout_seconds,
        })
    }
}

/// The named parameters of a read: the `params` input's members.
pub fn bound_params(input: Option<&Value>) -> Result<Map<String, Value>, QueryNodeError> {
    match input {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(_) => Err(QueryNodeError::ParamsShape),
    }
}

fn convert(v: Value, ty: FieldType, decimal: bool, decimals: Decimals) -> Result<Value, String> {
    if v.is_null() {
        return Ok(v);
    }
    let as_text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Ok(match ty {
        FieldType::Auto if decimal && decimals == Decimals::Number => {
            return convert(v, FieldType::Number, decimal, decimals)
        }
        FieldType::Auto | FieldType::Binary => v,
        FieldType::String | FieldType::Decimal => match v {
            Value::Number(n) if ty == FieldType::Decimal => Value::String(n.to_string()),
            Value::String(s) if ty == FieldType::Decimal => {
                s.trim()
                    .parse::<f64>()
                    .map_err(|_| format!("`{s}` is not a decimal number"))?;
                Value::String(s.trim().to_owned())
            }
            other => Value::String(as_text(&other)),
        },
        FieldType::Number => match v {
            Value::Number(_) => v,
            Value::Bool(b) => Value::from(u8::from(b)),
            Value::String(s) => s
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| format!("`{s}` is not a number"))?,
            other => return Err(format!("{other} is not a number")),
        },
        FieldType::Integer => {
            let f = match &v {
                Value::Number(n) => n.as_i64().map(|i| i as f64).or(n.as_f64()),
                Value::Bool(b) => Some(f64::from(u8::from(*b))),
                Value::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            };
            match (&v, f) {
                (Value::Number(n), _) if n.is_i64() || n.is_u64() => v,
                (Value::String(s), _) if s.trim().parse::<i64>().is_ok() => {
                    Value::from(s.trim().parse::<i64>().unwrap_or_default())
                }
                (_, Some(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => Value::from(f as i64),
                _ => return Err(format!("{} is not a whole number", as_text(&v))),
            }
        }
        FieldType::Boolean => match &v {
            Value::Bool(_) => v,
            Value::Number(n) if n.as_f64() == Some(0.0) => Value::Bool(false),
            Value::Number(n) if n.as_f64() == Some(1.0) => Value::Bool(true),
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "t" | "yes" | "y" | "1" => Value::Bool(true),
                "false" | "f" | "no" | "n" | "0" => Value::Bool(false),
                _ => return Err(format!("`{s}` is not a boolean")),
            },
            other => return Err(format!("{other} is not a boolean")),
        },
        FieldType::Date => {
            let s = as_text(&v);
            let day = s.get(..10).unwrap_or(&s);
            NaiveDate::parse_from_str(day, "%Y-%m-%d")
                .map(|d| Value::String(d.to_string()))
                .map_err(|_| format!("`{s}` is not a date"))?
        }
        FieldType::DateTime => {
            let s = as_text(&v);
            if let Ok(t) = DateTime::parse_from_rfc3339(&s) {
                Value::String(t.to_rfc3339())
            } else {
                ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
                    .iter()
                    .find_map(|f| NaiveDateTime::parse_from_str(&s, f).ok())
                    .or_else(|| {
                        NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                            .ok()
                            .and_then(|d| d.and_hms_opt(0, 0, 0))
                    })
                    .map(|t| Value::String(t.format("%Y-%m-%dT%H:%M:%S%.f").to_string()))
                    .ok_or_else(|| format!("`{s}` is not a date and time"))?
            }
        }
        FieldType::Json => match v {
            Value::String(s) => {
                serde_json::from_str(&s).map_err(|e| format!("the text is not JSON ({e})"))?
            }
            other => other,
        },
    })
}

/// The rows as the workflow sees them, and the values of each field port.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    pub rows: Vec<Value>,
    /// One array per mapped field, for the first [`FIELD_PORTS`] fields.
    pub field_values: Vec<Vec<Value>>,
}

/// Applies the field mapping to the rows a read returned. `decimal_columns`
/// are the columns the database typed as decimal (the driver reads them as
/// exact text).
pub fn map_rows(
    spec: &QuerySpec,
    columns: &[String],
    decimal_columns: &[String],
    rows: Vec<Map<String, Value>>,
) -> Result<Mapped, QueryNodeError> {
    let fields: Vec<Field> = if spec.fields.is_empty() {
        columns
            .iter()
            .map(|c| Field {
                column: c.clone(),
                name: c.clone(),
                field_type: FieldType::Auto,
            })
            .collect()
    } else {
        if !columns.is_empty() {
            if let Some(f) = spec.fields.iter().find(|f| !columns.contains(&f.column)) {
                return Err(QueryNodeError::UnknownColumn(f.column.clone()));
            }
        }
        spec.fields.clone()
    };
    // Field ports exist for the fields a person mapped; without a mapping
    // they would only repeat the rows.
    let ports = if spec.fields.is_empty() {
        0
    } else {
        fields.len().min(FIELD_PORTS.len())
    };
    let mut field_values = vec![Vec::with_capacity(rows.len()); ports];
    let mut out = Vec::with_capacity(rows.len());
    for (i, mut row) in rows.into_iter().enumerate() {
        let mut m = Map::with_capacity(fields.len());
        for (k, f) in fields.iter().enumerate() {
            let raw = row.remove(&f.column).unwrap_or(Value::Null);
            let decimal = decimal_columns.contains(&f.column);
            let v = convert(raw, f.field_type, decimal, spec.decimals).map_err(|message| {
                QueryNodeError::Convert {
                    column: f.column.clone(),
                    row: i + 1,
                    message,
                }
            })?;
            if k < ports {
                field_values[k].push(v.clone());
            }
            m.insert(f.name.clone(), v);
        }
        out.push(Value::Object(m));
    }
    Ok(Mapped {
        rows: out,
        field_values,
    })
}

/// The SQL family a write statement is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Mysql,
    Postgres,
    /// Microsoft SQL Server (T-SQL).
    SqlServer,
}

impl Flavor {
    fn quote(self, ident: &str) -> String {
        let (open, close) = match self {
            Self::Mysql => ('`', '`'),
            Self::Postgres => ('"', '"'),
            Self::SqlServer => ('[', ']'),
        };
        ident
            .split('.')
            .map(|p| format!("{open}{p}{close}"))
            .collect::<Vec<_>>()
            .join(".")
    }

    /// Bound values one statement may carry: SQL Server takes at most
    /// 2,100 parameters per call.
    fn max_bound_values(self) -> usize {
        match self {
            Self::Mysql | Self::Postgres => MAX_BOUND_VALUES,
            Self::SqlServer => MAX_BOUND_VALUES_SQLSERVER,
        }
    }
}

/// Bound values per SQL Server statement (its limit is 2,100).
pub const MAX_BOUND_VALUES_SQLSERVER: usize = 2_000;

/// One write statement with its named values (`:v0`, `:v1`, …).
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub sql: String,
    pub params: Map<String, Value>,
    pub rows: usize,
}

/// The input rows to write and the columns written from them.
struct WriteRows<'a> {
    rows: Vec<&'a Map<String, Value>>,
    columns: Vec<WriteColumn>,
}

/// The `rows` input as objects, and the columns written from them.
fn write_rows<'a>(spec: &QuerySpec, rows: &'a Value) -> Result<WriteRows<'a>, QueryNodeError> {
    let rows: Vec<&Map<String, Value>> = match rows {
        Value::Array(a) => a
            .iter()
            .map(Value::as_object)
            .collect::<Option<Vec<_>>>()
            .ok_or(QueryNodeError::RowsShape)?,
        Value::Object(m) => vec![m],
        _ => return Err(QueryNodeError::RowsShape),
    };
    let Some(first) = rows.first() else {
        return Ok(WriteRows {
            rows,
            columns: Vec::new(),
        });
    };
    let columns: Vec<WriteColumn> = if spec.write_columns.is_empty() {
        first
            .keys()
            .map(|k| {
                identifier(k).map(|column| WriteColumn {
                    column,
                    source: k.clone(),
                })
            })
            .collect::<Result<_, _>>()?
    } else {
        spec.write_columns.clone()
    };
    if columns.is_empty() {
        return Err(QueryNodeError::RowsShape);
    }
    Ok(WriteRows { rows, columns })
}

/// The value of `column` in input row `row` (1-based in errors).
fn cell(
    row: &Map<String, Value>,
    col: &WriteColumn,
    row_no: usize,
) -> Result<Value, QueryNodeError> {
    row.get(&col.source)
        .cloned()
        .ok_or_else(|| QueryNodeError::MissingValue {
            row: row_no,
            column: col.column.clone(),
        })
}

/// The text around the `(…), (…)` value rows of one statement.
fn frame(spec: &QuerySpec, columns: &[WriteColumn], flavor: Flavor) -> (String, String) {
    let q = |c: &str| flavor.quote(c);
    let column_list = columns
        .iter()
        .map(|c| q(&c.column))
        .collect::<Vec<_>>()
        .join(", ");
    let updated: Vec<&WriteColumn> = columns
        .iter()
        .filter(|c| !spec.key_columns.contains(&c.column))
        .collect();
    let insert = format!("INSERT INTO {} ({column_list}) VALUES ", q(&spec.table));
    if spec.operation != Operation::Upsert {
        return (insert, String::new());
    }
    match flavor {
        Flavor::Mysql => {
            // Updating a key column to itself turns "nothing to update"
            // into a no-op instead of a syntax error.
            let sets: Vec<String> = if updated.is_empty() {
                let k = q(&spec.key_columns[0]);
                vec![format!("{k} = {k}")]
            } else {
                updated
                    .iter()
                    .map(|c| {
                        let c = q(&c.column);
                        format!("{c} = VALUES({c})")
                    })
                    .collect()
            };
            (
                insert,
                format!(" ON DUPLICATE KEY UPDATE {}", sets.join(", ")),
            )
        }
        Flavor::Postgres => {
            let keys = spec
                .key_columns
                .iter()
                .map(|k| q(k))
                .collect::<Vec<_>>()
                .join(", ");
            let tail = if updated.is_empty() {
                format!(" ON CONFLICT ({keys}) DO NOTHING")
            } else {
                let sets: Vec<String> = updated
                    .iter()
                    .map(|c| {
                        let c = q(&c.column);
                        format!("{c} = EXCLUDED.{c}")
                    })
                    .collect();
                format!(" ON CONFLICT ({keys}) DO UPDATE SET {}", sets.join(", "))
            };
            (insert, tail)
        }
        Flavor::SqlServer => {
            // MERGE is SQL Server's upsert; HOLDLOCK keeps two concurrent
            // upserts of the same new key from both taking the insert branch.
            let on = spec
                .key_columns
                .iter()
                .map(|k| format!("[t].{0} = [s].{0}", q(k)))
                .collect::<Vec<_>>()
                .join(" AND ");
            let when_matched = if updated.is_empty() {
                String::new()
            } else {
                let sets: Vec<String> = updated
                    .iter()
                    .map(|c| format!("[t].{0} = [s].{0}", q(&c.column)))
                    .collect();
                format!(" WHEN MATCHED THEN UPDATE SET {}", sets.join(", "))
            };
            let source_values = columns
                .iter()
                .map(|c| format!("[s].{}", q(&c.column)))
                .collect::<Vec<_>>()
                .join(", ");
            (
                format!(
                    "MERGE INTO {} WITH (HOLDLOCK) AS [t] USING (VALUES ",
                    q(&spec.table)
                ),
                format!(
                    ") AS [s] ({column_list}) ON {on}{when_matched} WHEN NOT MATCHED THEN \
                     INSERT ({column_list}) VALUES ({source_values});"
                ),
            )
        }
    }
}

/// The statements that write `rows` (the `rows` input) as the spec says.
pub fn write_statements(
    spec: &QuerySpec,
    rows: &Value,
    flavor: Flavor,
) -> Result<Vec<Statement>, QueryNodeError> {
    let WriteRows { rows, columns } = write_rows(spec, rows)?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let per_statement =
        (flavor.max_bound_values() / columns.len()).clamp(1, MAX_ROWS_PER_STATEMENT);
    let (head, tail) = frame(spec, &columns, flavor);
    let mut out = Vec::new();
    for (chunk_no, chunk) in rows.chunks(per_statement).enumerate() {
        let mut sql = head.clone();
        let mut params = Map::new();
        for (r, row) in chunk.iter().enumerate() {
            if r > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for (c, col) in columns.iter().enumerate() {
                let value = cell(row, col, chunk_no * per_statement + r + 1)?;
                let name = format!("v{}", params.len());
                if c > 0 {
                    sql.push_str(", ");
                }
                sql.push(':');
                sql.push_str(&name);
                params.insert(name, value);
            }
            sql.push(')');
        }
        sql.push_str(&tail);
        out.push(Statement {
            sql,
            params,
            rows: chunk.len(),
        });
    }
    Ok(out)
}

/// For document databases: each input row as the document to write, keyed
/// by column, with the same column mapping and checks as
/// [`write_statements`].
pub fn write_documents(
    spec: &QuerySpec,
    rows: &Value,
) -> Result<Vec<Map<String, Value>>, QueryNodeError> {
    let WriteRows { rows, columns } = write_rows(spec, rows)?;
    rows.iter()
        .enumerate()
        .map(|(i, row)| {
            columns
                .iter()
                .map(|col| Ok((col.column.clone(), cell(row, col, i + 1)?)))
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests;
