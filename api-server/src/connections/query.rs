//! Running one query on a connection: named parameters bound (never
//! spliced), a read-only transaction on read-only connections, rows decoded
//! into JSON by column type, and limits on rows, bytes and time, each
//! failing with its own reason. Shared by the Query node and `ctx.query`.
//! MySQL/MariaDB and PostgreSQL run here through sqlx; SQL Server and
//! MongoDB have their own modules ([`super::mssql`], [`super::mongo`]) and
//! are dispatched from here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use futures::TryStreamExt;
use serde::Serialize;
use serde_json::{Map, Value};
use sqlx::mysql::{MySqlPool, MySqlPoolOptions, MySqlRow};
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::{Column, Row, TypeInfo, ValueRef};

use super::driver::Target;
use super::model::ConnectionKind;
use super::sql::{compile, Dialect};

/// Bounds of one query.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_rows: usize,
    /// Approximate size of the rows as JSON.
    pub max_bytes: usize,
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_rows: 100_000,
            max_bytes: 64 * 1024 * 1024,
            timeout: Duration::from_secs(60),
        }
    }
}

/// Why a query failed; each has its own code so a run shows what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("invalid query: {0}")]
    InvalidSql(String),
    #[error("parameter :{0} has no value")]
    MissingParameter(String),
    #[error("more than {0} rows (raise the row limit or narrow the query)")]
    RowLimit(usize),
    #[error("the rows exceed {0} bytes")]
    ByteLimit(usize),
    #[error("the query took longer than {0} s")]
    TimeLimit(u64),
    #[error("the connection is read-only: {0}")]
    ReadOnly(String),
    #[error("the database answered: {0}")]
    Database(String),
    #[error("column '{0}' has a type this build cannot read ({1})")]
    UnsupportedType(String, String),
    #[error("no connection named '{0}' is allowed for this client")]
    UnknownConnection(String),
    #[error("the connection's password cannot be decrypted with the vault's keys")]
    Sealed,
}

impl QueryError {
    /// The failure reason code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidSql(_) => "invalid_sql",
            Self::MissingParameter(_) => "missing_parameter",
            Self::RowLimit(_) => "row_limit",
            Self::ByteLimit(_) => "byte_limit",
            Self::TimeLimit(_) => "time_limit",
            Self::ReadOnly(_) => "read_only",
            Self::Database(_) => "database_error",
            Self::UnsupportedType(..) => "unsupported_type",
            Self::UnknownConnection(_) => "unknown_connection",
            Self::Sealed => "sealed",
        }
    }
}

/// Rows as objects keyed by column name, in column order.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct QueryResult {
    pub columns: Vec<String>,
    /// The columns the database types as decimal (read as exact text).
    pub decimal_columns: Vec<String>,
    pub rows: Vec<Map<String, Value>>,
    pub row_count: usize,
}

/// A pool for one connection.
#[derive(Clone, Debug)]
pub enum Pool {
    Mysql(MySqlPool),
    Postgres(PgPool),
    Sqlserver(super::mssql::Pool),
    /// The MongoDB client pools its connections itself.
    Mongodb(super::mongo::Handle),
}

/// What a write sends: SQL statements with `:named` values, or documents.
#[derive(Debug, Clone, PartialEq)]
pub enum Writes {
    Statements(Vec<(String, Map<String, Value>)>),
    Documents {
        collection: String,
        /// Upsert by these fields; empty: insert.
        keys: Vec<String>,
        documents: Vec<Map<String, Value>>,
    },
}

/// Pools by connection id, rebuilt when the connection changes.
#[derive(Clone, Default)]
pub struct Pools(Arc<Mutex<HashMap<u64, Versioned>>>);

/// A pool and the `updated_at` of the connection it was built from.
type Versioned = (chrono::DateTime<chrono::Utc>, Pool);

/// Connections one server keeps open to one database, at most.
pub const POOL_MAX_CONNECTIONS: u32 = 4;

impl Pools {
    pub fn get(
        &self,
        id: u64,
        version: chrono::DateTime<chrono::Utc>,
        target: &Target,
    ) -> Result<Pool, QueryError> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((v, pool)) = map.get(&id) {
            if *v == version {
                return Ok(pool.clone());
            }
        }
        let pool = connect_lazy(target)?;
        map.insert(id, (version, pool.clone()));
        Ok(pool)
    }
}

/// A pool that connects on first use, bounded in size and waiting time.
pub fn connect_lazy(t: &Target) -> Result<Pool, QueryError> {
    let acquire = Duration::from_secs(5);
    match t.kind {
        ConnectionKind::Mysql => Ok(Pool::Mysql(
            MySqlPoolOptions::new()
                .max_connections(POOL_MAX_CONNECTIONS)
                .acquire_timeout(acquire)
                .idle_timeout(Duration::from_secs(300))
                .connect_lazy_with(t.mysql_options()),
        )),
        ConnectionKind::Postgres => Ok(Pool::Postgres(
            PgPoolOptions::new()
                .max_connections(POOL_MAX_CONNECTIONS)
                .acquire_timeout(acquire)
                .idle_timeout(Duration::from_secs(300))
                .connect_lazy_with(t.pg_options()),
        )),
        ConnectionKind::Sqlserver => Ok(Pool::Sqlserver(super::mssql::Pool::new(t)?)),
        ConnectionKind::Mongodb => Ok(Pool::Mongodb(super::mongo::connect_lazy(t)?)),
    }
}

fn db_error(e: sqlx::Error) -> QueryError {
    match &e {
        sqlx::Error::Database(d) => {
            let code = d.code().map(|c| c.to_string()).unwrap_or_default();
            let errno = d
                .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
                .map(|m| m.number());
            // PostgreSQL 25006 read_only_sql_transaction; MySQL 1792.
            if code == "25006" || errno == Some(1792) {
                QueryError::ReadOnly(d.message().to_string())
            } else {
                QueryError::Database(d.message().to_string())
            }
        }
        _ => QueryError::Database(super::driver::classify(e).1),
    }
}

/// Runs `sql` with `params` (by name) on `pool`.
pub async fn run(
    pool: &Pool,
    sql: &str,
    params: &Map<String, Value>,
    read_only: bool,
    limits: Limits,
) -> Result<QueryResult, QueryError> {
    let work = async {
        match pool {
            Pool::Postgres(p) => run_pg(p, sql, params, read_only, limits).await,
            Pool::Mysql(p) => run_mysql(p, sql, params, read_only, limits).await,
            Pool::Sqlserver(p) => super::mssql::run(p, sql, params, read_only, limits).await,
            // Only reads run: see the module's notes on writes.
            Pool::Mongodb(h) => super::mongo::run(h, sql, params, limits).await,
        }
    };
    tokio::time::timeout(limits.timeout, work)
        .await
        .map_err(|_| QueryError::TimeLimit(limits.timeout.as_secs()))?
}

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;
type MyQuery<'q> = sqlx::query::Query<'q, sqlx::MySql, sqlx::mysql::MySqlArguments>;

fn bind_pg<'q>(mut q: PgQuery<'q>, vals: &[&Value]) -> PgQuery<'q> {
    for v in vals {
        q = match v {
            Value::Null => q.bind(None::<String>),
            Value::Bool(b) => q.bind(*b),
            Value::Number(n) if n.is_i64() => q.bind(n.as_i64()),
            Value::Number(n) => q.bind(n.as_f64()),
            Value::String(s) => q.bind(s.clone()),
            other => q.bind(sqlx::types::Json((*other).clone())),
        };
    }
    q
}

fn bind_mysql<'q>(mut q: MyQuery<'q>, vals: &[&Value]) -> MyQuery<'q> {
    for v in vals {
        q = match v {
            Value::Null => q.bind(None::<String>),
            Value::Bool(b) => q.bind(*b),
            Value::Number(n) if n.is_i64() => q.bind(n.as_i64()),
            Value::Number(n) if n.is_u64() => q.bind(n.as_u64()),
            Value::Number(n) => q.bind(n.as_f64()),
            Value::String(s) => q.bind(s.clone()),
            other => q.bind(other.to_string()),
        };
    }
    q
}

/// Runs writes on a read-write connection (SQL statements in one
/// transaction); the rows they changed.
pub async fn execute(pool: &Pool, writes: &Writes, timeout: Duration) -> Result<u64, QueryError> {
    let limits = Limits {
        timeout,
        ..Limits::default()
    };
    let work = async {
        match (pool, writes) {
            (Pool::Postgres(p), Writes::Statements(s)) => execute_pg(p, s).await,
            (Pool::Mysql(p), Writes::Statements(s)) => execute_mysql(p, s).await,
            (Pool::Sqlserver(p), Writes::Statements(s)) => super::mssql::execute(p, s).await,
            (
                Pool::Mongodb(h),
                Writes::Documents {
                    collection,
                    keys,
                    documents,
                },
            ) => super::mongo::write(h, collection, keys, documents, limits).await,
            _ => Err(QueryError::InvalidSql(
                "this kind of connection cannot take this kind of write".into(),
            )),
        }
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| QueryError::TimeLimit(timeout.as_secs()))?
}

async fn execute_pg(
    pool: &PgPool,
    statements: &[(String, Map<String, Value>)],
) -> Result<u64, QueryError> {
    let mut tx = pool.begin().await.map_err(db_error)?;
    let mut affected = 0;
    for (sql, params) in statements {
        let c = compile(sql, Dialect::Dollar).map_err(QueryError::InvalidSql)?;
        let vals = values(&c.params, params)?;
        let conn: &mut sqlx::PgConnection = &mut tx;
        let done = bind_pg(sqlx::query(&c.sql), &vals)
            .execute(conn)
            .await
            .map_err(db_error)?;
        affected += done.rows_affected();
    }
    tx.commit().await.map_err(db_error)?;
    Ok(affected)
}

async fn execute_mysql(
    pool: &MySqlPool,
    statements: &[(String, Map<String, Value>)],
) -> Result<u64, QueryError> {
    let mut tx = pool.begin().await.map_err(db_error)?;
    let mut affected = 0;
    for (sql, params) in statements {
        let c = compile(sql, Dialect::Question).map_err(QueryError::InvalidSql)?;
        let vals = values(&c.params, params)?;
        let conn: &mut sqlx::MySqlConnection = &mut tx;
        let done = bind_mysql(sqlx::query(&c.sql), &vals)
            .execute(conn)
            .await
            .map_err(db_error)?;
        affected += done.rows_affected();
    }
    tx.commit().await.map_err(db_error)?;
    Ok(affected)
}

pub(super) fn values<'a>(
    names: &[String],
    params: &'a Map<String, Value>,
) -> Result<Vec<&'a Value>, QueryError> {
    names
        .iter()
        .map(|n| {
            params
                .get(n)
                .ok_or_else(|| QueryError::MissingParameter(n.clone()))
        })
        .collect()
}

/// Adds a row to the result, enforcing the row and byte limits.
pub(super) struct Collector {
    limits: Limits,
    bytes: usize,
    result: QueryResult,
}

impl Collector {
    pub(super) fn new(limits: Limits) -> Self {
        Self {
            limits,
            bytes: 0,
            result: QueryResult {
                columns: vec![],
                decimal_columns: vec![],
                rows: vec![],
                row_count: 0,
            },
        }
    }

    pub(super) fn push(&mut self, row: Map<String, Value>) -> Result<(), QueryError> {
        if self.result.rows.len() >= self.limits.max_rows {
            return Err(QueryError::RowLimit(self.limits.max_rows));
        }
        self.bytes += row
            .iter()
            .map(|(k, v)| k.len() + approx_len(v) + 4)
            .sum::<usize>()
            + 2;
        if self.bytes > self.limits.max_bytes {
            return Err(QueryError::ByteLimit(self.limits.max_bytes));
        }
        self.result.rows.push(row);
        Ok(())
    }

    fn set_columns<C: Column>(&mut self, columns: &[C], decimal_types: &[&str]) {
        self.set_column_names(
            columns.iter().map(|c| c.name().to_string()).collect(),
            columns
                .iter()
                .filter(|c| decimal_types.contains(&c.type_info().name()))
                .map(|c| c.name().to_string())
                .collect(),
        );
    }

    pub(super) fn set_column_names(&mut self, columns: Vec<String>, decimal_columns: Vec<String>) {
        self.result.columns = columns;
        self.result.decimal_columns = decimal_columns;
    }

    pub(super) fn finish(mut self) -> QueryResult {
        self.result.row_count = self.result.rows.len();
        self.result
    }
}

fn approx_len(v: &Value) -> usize {
    match v {
        Value::Null => 4,
        Value::Bool(_) => 5,
        Value::Number(_) => 12,
        Value::String(s) => s.len() + 2,
        other => other.to_string().len(),
    }
}

async fn run_pg(
    pool: &PgPool,
    sql: &str,
    params: &Map<String, Value>,
    read_only: bool,
    limits: Limits,
) -> Result<QueryResult, QueryError> {
    let compiled = compile(sql, Dialect::Dollar).map_err(QueryError::InvalidSql)?;
    let vals = values(&compiled.params, params)?;
    let mut tx = pool.begin().await.map_err(db_error)?;
    if read_only {
        sqlx::query("SET TRANSACTION READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
    }
    let out = pg_rows(&mut tx, &compiled.sql, &vals, limits).await?;
    // Read-only work is never committed; writes on read-write connections are.
    if read_only {
        tx.rollback().await.map_err(db_error)?;
    } else {
        tx.commit().await.map_err(db_error)?;
    }
    Ok(out)
}

async fn pg_rows(
    conn: &mut sqlx::PgConnection,
    sql: &str,
    vals: &[&Value],
    limits: Limits,
) -> Result<QueryResult, QueryError> {
    let q = bind_pg(sqlx::query(sql), vals);
    let mut out = Collector::new(limits);
    let mut rows = q.fetch(conn);
    while let Some(row) = rows.try_next().await.map_err(db_error)? {
        if out.result.columns.is_empty() {
            out.set_columns(row.columns(), &["NUMERIC"]);
        }
        out.push(pg_row(&row)?)?;
    }
    Ok(out.finish())
}

fn pg_row(row: &PgRow) -> Result<Map<String, Value>, QueryError> {
    let mut m = Map::with_capacity(row.columns().len());
    for (i, col) in row.columns().iter().enumerate() {
        let raw = row.try_get_raw(i).map_err(db_error)?;
        let v = if raw.is_null() {
            Value::Null
        } else {
            let ty = col.type_info().name().to_string();
            let get = |e: sqlx::Error| QueryError::Database(e.to_string());
            match ty.as_str() {
                "BOOL" => Value::Bool(row.try_get(i).map_err(get)?),
                "INT2" => Value::from(row.try_get::<i16, _>(i).map_err(get)?),
                "INT4" => Value::from(row.try_get::<i32, _>(i).map_err(get)?),
                "INT8" => Value::from(row.try_get::<i64, _>(i).map_err(get)?),
                "OID" => Value::from(
                    row.try_get::<sqlx::postgres::types::Oid, _>(i)
                        .map_err(get)?
                        .0,
                ),
                "FLOAT4" => Value::from(row.try_get::<f32, _>(i).map_err(get)? as f64),
                "FLOAT8" => Value::from(row.try_get::<f64, _>(i).map_err(get)?),
                // Decimals travel as exact strings; the field mapping may make numbers.
                "NUMERIC" => Value::String(
                    row.try_get::<rust_decimal::Decimal, _>(i)
                        .map_err(get)?
                        .to_string(),
                ),
                "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CHAR" | "CITEXT" | "XML" => {
                    Value::String(row.try_get(i).map_err(get)?)
                }
                "UUID" => Value::String(row.try_get::<uuid::Uuid, _>(i).map_err(get)?.to_string()),
                "JSON" | "JSONB" => row.try_get::<Value, _>(i).map_err(get)?,
                "DATE" => Value::String(
                    row.try_get::<chrono::NaiveDate, _>(i)
                        .map_err(get)?
                        .to_string(),
                ),
                "TIME" => Value::String(
                    row.try_get::<chrono::NaiveTime, _>(i)
                        .map_err(get)?
                        .to_string(),
                ),
                "TIMESTAMP" => Value::String(
                    row.try_get::<chrono::NaiveDateTime, _>(i)
                        .map_err(get)?
                        .format("%Y-%m-%dT%H:%M:%S%.f")
                        .to_string(),
                ),
                "TIMESTAMPTZ" => Value::String(
                    row.try_get::<chrono::DateTime<chrono::Utc>, _>(i)
                        .map_err(get)?
                        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                ),
                "BYTEA" => Value::String(
                    base64::engine::general_purpose::STANDARD
                        .encode(row.try_get::<Vec<u8>, _>(i).map_err(get)?),
                ),
                other => {
                    return Err(QueryError::UnsupportedType(
                        col.name().to_string(),
                        other.to_string(),
                    ))
                }
            }
        };
        m.insert(col.name().to_string(), v);
    }
    Ok(m)
}

async fn run_mysql(
    pool: &MySqlPool,
    sql: &str,
    params: &Map<String, Value>,
    read_only: bool,
    limits: Limits,
) -> Result<QueryResult, QueryError> {
    let compiled = compile(sql, Dialect::Question).map_err(QueryError::InvalidSql)?;
    let vals = values(&compiled.params, params)?;
    let begin = if read_only {
        "START TRANSACTION READ ONLY"
    } else {
        "START TRANSACTION"
    };
    let mut tx = pool.begin_with(begin).await.map_err(db_error)?;
    let result = mysql_rows(&mut tx, &compiled.sql, &vals, limits).await;
    // Read-only work is never committed; writes on read-write connections are.
    if read_only || result.is_err() {
        tx.rollback().await.map_err(db_error)?;
    } else {
        tx.commit().await.map_err(db_error)?;
    }
    result
}

async fn mysql_rows(
    conn: &mut sqlx::MySqlConnection,
    sql: &str,
    vals: &[&Value],
    limits: Limits,
) -> Result<QueryResult, QueryError> {
    let q = bind_mysql(sqlx::query(sql), vals);
    let mut out = Collector::new(limits);
    let mut rows = q.fetch(conn);
    while let Some(row) = rows.try_next().await.map_err(db_error)? {
        if out.result.columns.is_empty() {
            out.set_columns(row.columns(), &["DECIMAL"]);
        }
        out.push(mysql_row(&row)?)?;
    }
    Ok(out.finish())
}

fn mysql_row(row: &MySqlRow) -> Result<Map<String, Value>, QueryError> {
    let mut m = Map::with_capacity(row.columns().len());
    for (i, col) in row.columns().iter().enumerate() {
        let raw = row.try_get_raw(i).map_err(db_error)?;
        let v = if raw.is_null() {
            Value::Null
        } else {
            let ty = col.type_info().name().to_string();
            let get = |e: sqlx::Error| QueryError::Database(e.to_string());
            match ty.as_str() {
                "BOOLEAN" => Value::Bool(row.try_get(i).map_err(get)?),
                "TINYINT" | "SMALLINT" | "INT" | "MEDIUMINT" | "BIGINT" | "YEAR" => {
                    Value::from(row.try_get::<i64, _>(i).map_err(get)?)
                }
                "TINYINT UNSIGNED" | "SMALLINT UNSIGNED" | "INT UNSIGNED"
                | "MEDIUMINT UNSIGNED" | "BIGINT UNSIGNED" => {
                    Value::from(row.try_get::<u64, _>(i).map_err(get)?)
                }
                "FLOAT" => Value::from(row.try_get::<f32, _>(i).map_err(get)? as f64),
                "DOUBLE" => Value::from(row.try_get::<f64, _>(i).map_err(get)?),
                "DECIMAL" => Value::String(
                    row.try_get::<rust_decimal::Decimal, _>(i)
                        .map_err(get)?
                        .to_string(),
                ),
                "VARCHAR" | "CHAR" | "TEXT" | "TINYTEXT" | "MEDIUMTEXT" | "LONGTEXT" | "ENUM"
                | "SET" => Value::String(row.try_get(i).map_err(get)?),
                "JSON" => row.try_get::<Value, _>(i).map_err(get)?,
                "DATE" => Value::String(
                    row.try_get::<chrono::NaiveDate, _>(i)
                        .map_err(get)?
                        .to_string(),
                ),
                "TIME" => Value::String(
                    row.try_get::<chrono::NaiveTime, _>(i)
                        .map_err(get)?
                        .to_string(),
                ),
                "DATETIME" => Value::String(
                    row.try_get::<chrono::NaiveDateTime, _>(i)
                        .map_err(get)?
                        .format("%Y-%m-%dT%H:%M:%S%.f")
                        .to_string(),
                ),
                "TIMESTAMP" => Value::String(
                    row.try_get::<chrono::DateTime<chrono::Utc>, _>(i)
                        .map_err(get)?
                        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                ),
                "BLOB" | "TINYBLOB" | "MEDIUMBLOB" | "LONGBLOB" | "BINARY" | "VARBINARY"
                | "BIT" => Value::String(
                    base64::engine::general_purpose::STANDARD
                        .encode(row.try_get::<Vec<u8>, _>(i).map_err(get)?),
                ),
                other => {
                    return Err(QueryError::UnsupportedType(
                        col.name().to_string(),
                        other.to_string(),
                    ))
                }
            }
        };
        m.insert(col.name().to_string(), v);
    }
    Ok(m)
}
