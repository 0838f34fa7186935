//! SQL Server through tiberius (TDS over rustls): the connection test, a
//! small pool, reads and writes with the same contract as the sqlx path.
//! SQL Server has no read-only transaction, so a read-only connection
//! refuses batches that contain a writing keyword and runs the rest inside
//! a transaction that is always rolled back.

pub mod value;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use serde_json::{Map, Value};
use tiberius::{
    AuthMethod, Client, ColumnData, ColumnType, Config, EncryptionLevel, FromSql, Query, QueryItem,
};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

use super::driver::Target;
use super::model::{TestOutcome, TlsMode};
use super::query::{values, Collector, Limits, QueryError, QueryResult, POOL_MAX_CONNECTIONS};
use super::sql::{compile, tsql_write_keyword, Dialect};
use value::{Cell, Param};

type Conn = Client<Compat<TcpStream>>;

/// How long a pooled connection may sit unused before it is closed.
const IDLE: Duration = Duration::from_secs(300);
/// How long a query waits for a free connection.
const ACQUIRE: Duration = Duration::from_secs(5);

/// The driver configuration for `t`. The CA certificate, when there is one,
/// goes through a file: the driver reads it from a path.
fn config(t: &Target) -> Result<Config, String> {
    let mut c = Config::new();
    c.host(&t.host);
    c.port(t.port);
    if !t.database.is_empty() {
        c.database(&t.database);
    }
    c.application_name("katalusis");
    c.authentication(AuthMethod::sql_server(
        &t.user,
        t.password.as_deref().unwrap_or(""),
    ));
    match t.tls_mode {
        TlsMode::Disable => c.encryption(EncryptionLevel::NotSupported),
        // `Off` encrypts the login and whatever the server asks for.
        TlsMode::Prefer => {
            c.encryption(EncryptionLevel::Off);
            c.trust_cert();
        }
        TlsMode::Require => {
            c.encryption(EncryptionLevel::Required);
            c.trust_cert();
        }
        // The driver checks the host name whenever it checks the chain.
        TlsMode::VerifyCa | TlsMode::VerifyFull => {
            c.encryption(EncryptionLevel::Required);
            if let Some(ca) = &t.ca_cert {
                c.trust_cert_ca(super::driver::ca_file(ca)?.display().to_string());
            }
        }
    }
    Ok(c)
}

async fn connect(config: &Config) -> Result<Conn, tiberius::error::Error> {
    let tcp = TcpStream::connect(config.get_addr()).await?;
    tcp.set_nodelay(true)?;
    match Client::connect(config.clone(), tcp.compat_write()).await {
        // Azure SQL may send the client to another gateway, once.
        Err(tiberius::error::Error::Routing { host, port }) => {
            let mut routed = config.clone();
            routed.host(&host);
            routed.port(port);
            let tcp = TcpStream::connect(routed.get_addr()).await?;
            tcp.set_nodelay(true)?;
            Client::connect(routed, tcp.compat_write()).await
        }
        other => other,
    }
}

/// Maps a driver error to an outcome and a message for a person.
pub fn classify(e: &tiberius::error::Error) -> (TestOutcome, String) {
    use std::io::ErrorKind;
    use tiberius::error::Error;
    match e {
        Error::Io { kind, message } => match kind {
            ErrorKind::ConnectionRefused => (
                TestOutcome::Refused,
                "the server refused the connection (nothing listens on that port?)".into(),
            ),
            ErrorKind::TimedOut => (TestOutcome::Timeout, "the connection timed out".into()),
            _ => (TestOutcome::Error, format!("network error: {message}")),
        },
        Error::Tls(m) => (TestOutcome::Tls, format!("TLS failed: {m}")),
        Error::Server(token) => match token.code() {
            // Login failed; password expired; must change password.
            18456 | 18487 | 18488 => (
                TestOutcome::Authentication,
                "the server refused the user name or password".into(),
            ),
            // Cannot open the database requested by the login.
            4060 => (
                TestOutcome::DatabaseMissing,
                "the database does not exist on that server (or the user may not open it)".into(),
            ),
            _ => (
                TestOutcome::Error,
                format!("the server answered: {}", token.message()),
            ),
        },
        other => (TestOutcome::Error, other.to_string()),
    }
}

fn db_error(e: tiberius::error::Error) -> QueryError {
    match &e {
        tiberius::error::Error::Server(token) => QueryError::Database(token.message().to_string()),
        _ => QueryError::Database(classify(&e).1),
    }
}

/// Connects once and asks for the server version.
pub async fn probe(t: &Target) -> Result<String, (TestOutcome, String)> {
    let config = config(t).map_err(|m| (TestOutcome::Tls, m))?;
    let mut c = connect(&config).await.map_err(|e| classify(&e))?;
    let row = c
        .simple_query("SELECT @@VERSION")
        .await
        .map_err(|e| classify(&e))?
        .into_row()
        .await
        .map_err(|e| classify(&e))?;
    let version = row
        .and_then(|r| r.get::<&str, _>(0).map(str::to_owned))
        .unwrap_or_default();
    let _ = c.close().await;
    // The first line names the product and build; the rest is the OS.
    Ok(version.lines().next().unwrap_or_default().trim().to_owned())
}

/// Connections to one server, at most [`POOL_MAX_CONNECTIONS`], opened on
/// first use and kept for [`IDLE`].
#[derive(Clone)]
pub struct Pool(Arc<Inner>);

struct Inner {
    config: Config,
    idle: Mutex<Vec<(Instant, Conn)>>,
    permits: Arc<Semaphore>,
}

impl std::fmt::Debug for Pool {
    // The configuration holds the password: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlServerPool").finish_non_exhaustive()
    }
}

/// A connection taken from the pool. Dropped, it is closed (and the server
/// rolls back whatever it left open); [`Lease::release`] gives it back.
struct Lease {
    pool: Arc<Inner>,
    conn: Option<Conn>,
    _permit: OwnedSemaphorePermit,
}

impl Lease {
    fn conn(&mut self) -> &mut Conn {
        self.conn
            .as_mut()
            .expect("a lease holds its connection until released")
    }

    fn release(mut self) {
        if let Some(c) = self.conn.take() {
            let mut idle = self.pool.idle.lock().unwrap_or_else(|p| p.into_inner());
            idle.push((Instant::now(), c));
        }
    }
}

impl Pool {
    pub fn new(t: &Target) -> Result<Self, QueryError> {
        Ok(Self(Arc::new(Inner {
            config: config(t).map_err(QueryError::Database)?,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(POOL_MAX_CONNECTIONS as usize)),
        })))
    }

    async fn lease(&self) -> Result<Lease, QueryError> {
        let permit = tokio::time::timeout(ACQUIRE, self.0.permits.clone().acquire_owned())
            .await
            .map_err(|_| QueryError::Database("no free connection within 5 s".into()))?
            .map_err(|_| QueryError::Database("the pool is closed".into()))?;
        let reused = {
            let mut idle = self.0.idle.lock().unwrap_or_else(|p| p.into_inner());
            idle.retain(|(since, _)| since.elapsed() < IDLE);
            idle.pop().map(|(_, c)| c)
        };
        let conn = match reused {
            Some(c) => c,
            None => connect(&self.0.config).await.map_err(db_error)?,
        };
        Ok(Lease {
            pool: self.0.clone(),
            conn: Some(conn),
            _permit: permit,
        })
    }
}

/// Runs a batch without parameters and reads it to the end.
async fn batch(conn: &mut Conn, sql: &str) -> Result<(), QueryError> {
    conn.simple_query(sql)
        .await
        .map_err(db_error)?
        .into_results()
        .await
        .map_err(db_error)?;
    Ok(())
}

fn bound<'a>(sql: &'a str, vals: &[&Value]) -> Query<'a> {
    let mut q = Query::new(sql);
    for v in vals {
        match Param::from_json(v) {
            Param::Null => q.bind(Option::<String>::None),
            Param::Bool(b) => q.bind(b),
            Param::Int(i) => q.bind(i),
            Param::Float(f) => q.bind(f),
            Param::Text(s) => q.bind(s),
        }
    }
    q
}

/// Runs `sql` with `params`; read-only connections never commit.
pub async fn run(
    pool: &Pool,
    sql: &str,
    params: &Map<String, Value>,
    read_only: bool,
    limits: Limits,
) -> Result<QueryResult, QueryError> {
    let compiled = compile(sql, Dialect::AtP).map_err(QueryError::InvalidSql)?;
    if read_only {
        if let Some(k) = tsql_write_keyword(&compiled.sql) {
            return Err(QueryError::ReadOnly(format!(
                "{k} is not allowed; a read-only connection runs queries only"
            )));
        }
    }
    let vals = values(&compiled.params, params)?;
    let mut lease = pool.lease().await?;
    let conn = lease.conn();
    batch(conn, "SET XACT_ABORT ON; BEGIN TRANSACTION").await?;
    // On an error the lease is dropped: closing the connection rolls back.
    let out = rows(conn, &compiled.sql, &vals, limits).await?;
    batch(
        conn,
        if read_only {
            "ROLLBACK TRANSACTION"
        } else {
            "COMMIT TRANSACTION"
        },
    )
    .await?;
    lease.release();
    Ok(out)
}

/// What the result's columns hold, by position.
struct Columns {
    names: Vec<String>,
    money: Vec<bool>,
}

async fn rows(
    conn: &mut Conn,
    sql: &str,
    vals: &[&Value],
    limits: Limits,
) -> Result<QueryResult, QueryError> {
    let mut stream = bound(sql, vals).query(conn).await.map_err(db_error)?;
    let mut out = Collector::new(limits);
    let mut columns: Option<Columns> = None;
    while let Some(item) = stream.try_next().await.map_err(db_error)? {
        match item {
            QueryItem::Metadata(meta) => {
                if meta.columns().is_empty() {
                    continue;
                }
                if columns.is_some() {
                    return Err(QueryError::InvalidSql(
                        "the batch returns more than one result set; a query reads one".into(),
                    ));
                }
                let is_decimal = |t: ColumnType| {
                    matches!(
                        t,
                        ColumnType::Decimaln
                            | ColumnType::Numericn
                            | ColumnType::Money
                            | ColumnType::Money4
                    )
                };
                out.set_column_names(
                    meta.columns().iter().map(|c| c.name().to_owned()).collect(),
                    meta.columns()
                        .iter()
                        .filter(|c| is_decimal(c.column_type()))
                        .map(|c| c.name().to_owned())
                        .collect(),
                );
                columns = Some(Columns {
                    names: meta.columns().iter().map(|c| c.name().to_owned()).collect(),
                    money: meta
                        .columns()
                        .iter()
                        .map(|c| matches!(c.column_type(), ColumnType::Money | ColumnType::Money4))
                        .collect(),
                });
            }
            QueryItem::Row(row) => {
                let Some(cols) = &columns else { continue };
                let mut m = Map::with_capacity(cols.names.len());
                for (i, data) in row.into_iter().enumerate() {
                    let name = cols.names.get(i).cloned().unwrap_or_default();
                    let cell = cell(data, cols.money.get(i).copied().unwrap_or(false))
                        .map_err(|ty| QueryError::UnsupportedType(name.clone(), ty))?;
                    m.insert(name, cell.into_json());
                }
                out.push(m)?;
            }
        }
    }
    Ok(out.finish())
}

/// Reads one cell; the type name when this build cannot read it.
fn cell(data: ColumnData<'static>, money: bool) -> Result<Cell, String> {
    fn get<'a, T: FromSql<'a>>(
        data: &'a ColumnData<'static>,
        f: impl FnOnce(T) -> Cell,
    ) -> Result<Cell, String> {
        T::from_sql(data)
            .map(|v| v.map_or(Cell::Null, f))
            .map_err(|e| e.to_string())
    }
    match &data {
        ColumnData::Date(_) => return get(&data, Cell::Date),
        ColumnData::Time(_) => return get(&data, Cell::Time),
        ColumnData::DateTime(_) | ColumnData::SmallDateTime(_) | ColumnData::DateTime2(_) => {
            return get(&data, Cell::DateTime)
        }
        ColumnData::DateTimeOffset(_) => return get(&data, Cell::DateTimeOffset),
        _ => {}
    }
    Ok(match data {
        ColumnData::U8(v) => v.map_or(Cell::Null, |x| Cell::Int(x.into())),
        ColumnData::I16(v) => v.map_or(Cell::Null, |x| Cell::Int(x.into())),
        ColumnData::I32(v) => v.map_or(Cell::Null, |x| Cell::Int(x.into())),
        ColumnData::I64(v) => v.map_or(Cell::Null, Cell::Int),
        ColumnData::F32(v) => v.map_or(Cell::Null, |x| Cell::Float(x.into())),
        ColumnData::F64(v) if money => v.map_or(Cell::Null, Cell::Money),
        ColumnData::F64(v) => v.map_or(Cell::Null, Cell::Float),
        ColumnData::Bit(v) => v.map_or(Cell::Null, Cell::Bool),
        ColumnData::String(v) => v.map_or(Cell::Null, |s| Cell::Text(s.into_owned())),
        ColumnData::Guid(v) => v.map_or(Cell::Null, Cell::Guid),
        ColumnData::Binary(v) => v.map_or(Cell::Null, |b| Cell::Bytes(b.into_owned())),
        ColumnData::Numeric(v) => v.map_or(Cell::Null, |n| Cell::Decimal {
            value: n.value(),
            scale: n.scale(),
        }),
        ColumnData::Xml(v) => v.map_or(Cell::Null, |x| Cell::Text(x.into_owned().into_string())),
        // Dates and times were read above.
        _ => return Err("an unexpected date or time".into()),
    })
}

/// Runs write statements in one transaction; the rows they changed.
pub async fn execute(
    pool: &Pool,
    statements: &[(String, Map<String, Value>)],
) -> Result<u64, QueryError> {
    let mut lease = pool.lease().await?;
    let conn = lease.conn();
    batch(conn, "SET XACT_ABORT ON; BEGIN TRANSACTION").await?;
    let mut affected = 0;
    for (sql, params) in statements {
        let c = compile(sql, Dialect::AtP).map_err(QueryError::InvalidSql)?;
        let vals = values(&c.params, params)?;
        // On an error the lease is dropped: closing the connection rolls back.
        let done = bound(&c.sql, &vals).execute(conn).await.map_err(db_error)?;
        affected += done.total();
    }
    batch(conn, "COMMIT TRANSACTION").await?;
    lease.release();
    Ok(affected)
}
