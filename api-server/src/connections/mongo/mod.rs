//! MongoDB through the official driver (rustls): the connection test,
//! `find`/`aggregate` reads written as a JSON document (see [`command`]),
//! and writes as `insertMany` or upserts by key. The driver pools
//! connections itself, bounded like the SQL pools.
//!
//! MongoDB has no read-only transaction: reads cannot write because only
//! `find` and `aggregate` run and the writing stages are refused; writes go
//! through the Query node's insert and upsert, which read-only connections
//! refuse before anything reaches the server. A write is not one
//! transaction (standalone servers have none): insertMany stops at the
//! first failing document, upserts run one by one.

pub mod command;
pub mod value;

use std::time::Duration;

use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use mongodb::error::ErrorKind;
use mongodb::options::{ClientOptions, Credential, ServerAddress, Tls, TlsOptions};
use mongodb::Client;
use serde_json::{Map, Value};

use super::driver::Target;
use super::model::{TestOutcome, TlsMode};
use super::query::{Collector, Limits, QueryError, QueryResult, POOL_MAX_CONNECTIONS};
use command::Command;

/// A client (with its own pool) and the connection's database.
#[derive(Clone)]
pub struct Handle {
    client: Client,
    database: String,
}

impl std::fmt::Debug for Handle {
    // The client's options hold the password: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MongoHandle")
            .field("database", &self.database)
            .finish_non_exhaustive()
    }
}

/// How long the driver looks for a usable server; within the 5 s budget of
/// a connection test.
const SELECTION: Duration = Duration::from_secs(4);

fn options(t: &Target) -> Result<ClientOptions, String> {
    let mut o = ClientOptions::default();
    o.hosts = vec![ServerAddress::Tcp {
        host: t.host.clone(),
        port: Some(t.port),
    }];
    o.app_name = Some("katalusis".into());
    o.max_pool_size = Some(POOL_MAX_CONNECTIONS);
    o.connect_timeout = Some(SELECTION);
    o.server_selection_timeout = Some(SELECTION);
    if !t.user.is_empty() {
        let mut c = Credential::default();
        c.username = Some(t.user.clone());
        c.password = t.password.clone();
        // As in a MongoDB URI: the database, unless `authSource` says.
        c.source = Some(match t.options.get("authSource") {
            Some(s) => s.clone(),
            None if t.database.is_empty() => "admin".into(),
            None => t.database.clone(),
        });
        o.credential = Some(c);
    }
    if let Some(rs) = t.options.get("replicaSet") {
        o.repl_set_name = Some(rs.clone());
    }
    if let Some(d) = t.options.get("directConnection") {
        o.direct_connection = Some(d == "true");
    }
    o.tls = Some(match t.tls_mode {
        // MongoDB does not negotiate TLS: `prefer` connects in plain text.
        TlsMode::Disable | TlsMode::Prefer => Tls::Disabled,
        TlsMode::Require => {
            let mut x = TlsOptions::default();
            x.allow_invalid_certificates = Some(true);
            Tls::Enabled(x)
        }
        // With rustls the driver always checks the host name too.
        TlsMode::VerifyCa | TlsMode::VerifyFull => {
            let mut x = TlsOptions::default();
            if let Some(ca) = &t.ca_cert {
                x.ca_file_path = Some(super::driver::ca_file(ca)?);
            }
            Tls::Enabled(x)
        }
    });
    Ok(o)
}

/// A client that connects on first use.
pub fn connect_lazy(t: &Target) -> Result<Handle, QueryError> {
    let options = options(t).map_err(QueryError::Database)?;
    let client = Client::with_options(options).map_err(|e| QueryError::Database(classify(&e).1))?;
    Ok(Handle {
        client,
        database: t.database.clone(),
    })
}

/// Maps a driver error to an outcome and a message for a person.
pub fn classify(e: &mongodb::error::Error) -> (TestOutcome, String) {
    let auth = || {
        (
            TestOutcome::Authentication,
            "the server refused the user name or password".to_string(),
        )
    };
    match e.kind.as_ref() {
        ErrorKind::Authentication { .. } => auth(),
        // AuthenticationFailed, Unauthorized.
        ErrorKind::Command(c) if matches!(c.code, 18 | 13) => auth(),
        ErrorKind::Command(c) => (
            TestOutcome::Error,
            format!("the server answered: {}", c.message),
        ),
        ErrorKind::DnsResolve { .. } => (
            TestOutcome::Dns,
            "the host name does not resolve".to_string(),
        ),
        ErrorKind::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => refused(),
            std::io::ErrorKind::TimedOut => {
                (TestOutcome::Timeout, "the connection timed out".into())
            }
            _ => (TestOutcome::Error, format!("network error: {io}")),
        },
        ErrorKind::InvalidTlsConfig { message, .. } => {
            (TestOutcome::Tls, format!("TLS: {message}"))
        }
        // The driver tells why no server was usable only in its message.
        ErrorKind::ServerSelection { message, .. } => classify_selection(message),
        _ => (TestOutcome::Error, e.to_string()),
    }
}

fn refused() -> (TestOutcome, String) {
    (
        TestOutcome::Refused,
        "the server refused the connection (nothing listens on that port?)".into(),
    )
}

/// Why no server could be selected, from the driver's message.
fn classify_selection(message: &str) -> (TestOutcome, String) {
    let m = message.to_ascii_lowercase();
    if m.contains("connection refused") {
        refused()
    } else if m.contains("authentication failed") || m.contains("auth error") {
        (
            TestOutcome::Authentication,
            "the server refused the user name or password".into(),
        )
    } else if m.contains("certificate") || m.contains("tls") || m.contains("handshake") {
        (TestOutcome::Tls, "TLS failed".into())
    } else if m.contains("lookup") || m.contains("resolve") || m.contains("name or service") {
        (TestOutcome::Dns, "the host name does not resolve".into())
    } else {
        (
            TestOutcome::Timeout,
            format!("no usable server within {} s", SELECTION.as_secs()),
        )
    }
}

fn db_error(e: mongodb::error::Error, limits: Limits) -> QueryError {
    match e.kind.as_ref() {
        // MaxTimeMSExpired: the server stopped the query at the time limit.
        ErrorKind::Command(c) if c.code == 50 => QueryError::TimeLimit(limits.timeout.as_secs()),
        ErrorKind::Command(c) => QueryError::Database(c.message.clone()),
        _ => QueryError::Database(classify(&e).1),
    }
}

/// Connects once and asks for the server version; a database the user
/// cannot see at all is reported as missing.
pub async fn probe(t: &Target) -> Result<String, (TestOutcome, String)> {
    let h = connect_lazy(t).map_err(|e| (TestOutcome::Error, e.to_string()))?;
    let info = h
        .client
        .database("admin")
        .run_command(doc! {"buildInfo": 1})
        .await
        .map_err(|e| classify(&e))?;
    if !t.database.is_empty() {
        // Databases appear on first write; an authorized list without it
        // means a typo or a database that was never written.
        if let Ok(names) = h
            .client
            .list_database_names()
            .authorized_databases(true)
            .await
        {
            if !names.contains(&t.database) {
                return Err((
                    TestOutcome::DatabaseMissing,
                    "the database does not exist on that server".into(),
                ));
            }
        }
    }
    Ok(format!(
        "MongoDB {}",
        info.get_str("version").unwrap_or("(unknown version)")
    ))
}

/// Runs a `find` or `aggregate` document with `params`.
pub async fn run(
    h: &Handle,
    text: &str,
    params: &Map<String, Value>,
    limits: Limits,
) -> Result<QueryResult, QueryError> {
    if h.database.is_empty() {
        return Err(QueryError::InvalidSql(
            "the connection names no database".into(),
        ));
    }
    let command = command::parse(text, params)?;
    let db = h.client.database(&h.database);
    // One row past the limit is enough to know it is exceeded.
    let cap = u64::try_from(limits.max_rows)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let cursor = match command {
        Command::Find(f) => {
            let f = *f;
            let limit = match f.limit {
                Some(l) if l > 0 => l.min(cap),
                _ => cap,
            };
            let coll = db.collection::<Document>(&f.collection);
            let mut a = coll
                .find(f.filter)
                .max_time(limits.timeout)
                .limit(i64::try_from(limit).unwrap_or(i64::MAX));
            if let Some(p) = f.projection {
                a = a.projection(p);
            }
            if let Some(s) = f.sort {
                a = a.sort(s);
            }
            if let Some(s) = f.skip {
                a = a.skip(s);
            }
            a.await
        }
        Command::Aggregate {
            collection,
            pipeline,
        } => {
            let coll = db.collection::<Document>(&collection);
            coll.aggregate(pipeline).max_time(limits.timeout).await
        }
    };
    let mut cursor = cursor.map_err(|e| db_error(e, limits))?;
    let mut out = Collector::new(limits);
    let (mut columns, mut decimals) = (Vec::new(), Vec::new());
    while let Some(d) = cursor.try_next().await.map_err(|e| db_error(e, limits))? {
        out.push(value::row(d, &mut columns, &mut decimals))?;
    }
    out.set_column_names(columns, decimals);
    Ok(out.finish())
}

/// Inserts `documents` into `collection`, or with `keys` upserts each by
/// its key fields; how many were written.
pub async fn write(
    h: &Handle,
    collection: &str,
    keys: &[String],
    documents: &[Map<String, Value>],
    limits: Limits,
) -> Result<u64, QueryError> {
    let row_error = |i: usize, e: String| QueryError::InvalidSql(format!("row {}: {e}", i + 1));
    let docs = documents
        .iter()
        .enumerate()
        .map(|(i, d)| value::plain_document(d).map_err(|e| row_error(i, e)))
        .collect::<Result<Vec<_>, _>>()?;
    if docs.is_empty() {
        return Ok(0);
    }
    let coll = h
        .client
        .database(&h.database)
        .collection::<Document>(collection);
    if keys.is_empty() {
        let done = coll
            .insert_many(docs)
            .ordered(true)
            .await
            .map_err(|e| db_error(e, limits))?;
        return Ok(done.inserted_ids.len() as u64);
    }
    // Every row's key is checked before the first one is written.
    let filters = docs
        .iter()
        .enumerate()
        .map(|(i, d)| value::key_filter(d, keys).map_err(|e| row_error(i, e)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut written = 0;
    for (filter, d) in filters.into_iter().zip(docs) {
        let done = coll
            .update_one(filter, doc! {"$set": d})
            .upsert(true)
            .await
            .map_err(|e| db_error(e, limits))?;
        if done.matched_count > 0 || done.upserted_id.is_some() {
            written += 1;
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_failures_are_classified_from_the_message() {
        for (message, outcome) in [
            (
                "Server selection timeout: ... Connection refused (os error 111)",
                TestOutcome::Refused,
            ),
            (
                "... SCRAM failure: Authentication failed.",
                TestOutcome::Authentication,
            ),
            (
                "... invalid peer certificate: UnknownIssuer",
                TestOutcome::Tls,
            ),
            ("... failed to lookup address information", TestOutcome::Dns),
            (
                "Server selection timeout: No available servers",
                TestOutcome::Timeout,
            ),
        ] {
            assert_eq!(classify_selection(message).0, outcome, "{message}");
        }
    }

    #[tokio::test]
    async fn options_carry_auth_source_and_tls_without_printing_the_password() {
        let mut t = Target {
            kind: super::super::model::ConnectionKind::Mongodb,
            host: "db.local".into(),
            port: 27017,
            database: "shop".into(),
            user: "app".into(),
            password: Some("s3cret-pw".into()),
            tls_mode: TlsMode::Disable,
            ca_cert: None,
            options: Default::default(),
        };
        let o = options(&t).unwrap();
        assert_eq!(
            o.credential.as_ref().unwrap().source.as_deref(),
            Some("shop")
        );
        assert!(matches!(o.tls, Some(Tls::Disabled)));
        assert_eq!(o.max_pool_size, Some(POOL_MAX_CONNECTIONS));
        t.options.insert("authSource".into(), "admin".into());
        t.tls_mode = TlsMode::Require;
        let o = options(&t).unwrap();
        assert_eq!(
            o.credential.as_ref().unwrap().source.as_deref(),
            Some("admin")
        );
        assert!(
            matches!(&o.tls, Some(Tls::Enabled(x)) if x.allow_invalid_certificates == Some(true))
        );
        let h = connect_lazy(&t).unwrap();
        assert!(!format!("{h:?}").contains("s3cret-pw"));
    }
}
