//! Talking to the databases behind connections: sqlx for MySQL/MariaDB and
//! PostgreSQL, tiberius for SQL Server, the official driver for MongoDB.
//! The connection test classifies what went wrong so an admin can tell a
//! typo in the host from a wrong password.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{ConnectOptions, Connection as _};

use super::model::{ConnectionKind, TestOutcome, TestResult, TlsMode};

/// Everything needed to connect, with the password already opened. Its
/// `Debug` leaves the password out.
pub struct Target {
    pub kind: ConnectionKind,
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
    pub password: Option<String>,
    pub tls_mode: TlsMode,
    pub ca_cert: Option<String>,
    /// The connection's extra options (e.g. MongoDB's `authSource`).
    pub options: BTreeMap<String, String>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("kind", &self.kind)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// A PEM CA certificate as a file, for drivers that read it from a path.
/// Named by its hash, so each certificate is written once.
pub fn ca_file(pem: &str) -> Result<PathBuf, String> {
    use sha2::Digest;
    let name = hex::encode(sha2::Sha256::digest(pem.as_bytes()));
    let path = std::env::temp_dir().join(format!("katalusis-ca-{}.pem", &name[..16]));
    if !path.exists() {
        std::fs::write(&path, pem)
            .map_err(|e| format!("the CA certificate cannot be stored: {e}"))?;
    }
    Ok(path)
}

/// How long a connection test may take in all.
pub const TEST_BUDGET: Duration = Duration::from_secs(5);

impl Target {
    /// The target of a stored connection, with its password already opened.
    pub fn from_row(row: &super::db::Row, password: Option<String>) -> anyhow::Result<Self> {
        Ok(Self {
            kind: row.kind()?,
            host: row.host.clone(),
            port: u16::try_from(row.port)?,
            database: row.database_name.clone(),
            user: row.username.clone(),
            password,
            tls_mode: row.tls_mode()?,
            ca_cert: row.ca_cert.clone(),
            options: row.options()?,
        })
    }

    pub fn mysql_options(&self) -> MySqlConnectOptions {
        let mut o = MySqlConnectOptions::new()
            .host(&self.host)
            .port(self.port)
            .username(&self.user)
            .charset("utf8mb4")
            .ssl_mode(match self.tls_mode {
                TlsMode::Disable => MySqlSslMode::Disabled,
                TlsMode::Prefer => MySqlSslMode::Preferred,
                TlsMode::Require => MySqlSslMode::Required,
                TlsMode::VerifyCa => MySqlSslMode::VerifyCa,
                TlsMode::VerifyFull => MySqlSslMode::VerifyIdentity,
            })
            // Statements carry user data; keep them out of the logs.
            .disable_statement_logging();
        if let Some(p) = &self.password {
            o = o.password(p);
        }
        if !self.database.is_empty() {
            o = o.database(&self.database);
        }
        if let Some(ca) = &self.ca_cert {
            o = o.ssl_ca_from_pem(ca.as_bytes().to_vec());
        }
        o
    }

    pub fn pg_options(&self) -> PgConnectOptions {
        let mut o = PgConnectOptions::new()
            .host(&self.host)
            .port(self.port)
            .username(&self.user)
            .application_name("katalusis")
            .ssl_mode(match self.tls_mode {
                TlsMode::Disable => PgSslMode::Disable,
                TlsMode::Prefer => PgSslMode::Prefer,
                TlsMode::Require => PgSslMode::Require,
                TlsMode::VerifyCa => PgSslMode::VerifyCa,
                TlsMode::VerifyFull => PgSslMode::VerifyFull,
            })
            .disable_statement_logging();
        if let Some(p) = &self.password {
            o = o.password(p);
        }
        if !self.database.is_empty() {
            o = o.database(&self.database);
        }
        if let Some(ca) = &self.ca_cert {
            o = o.ssl_root_cert_from_pem(ca.as_bytes().to_vec());
        }
        o
    }
}

/// Connects once and asks for the server version, within [`TEST_BUDGET`].
pub async fn test(t: &Target) -> TestResult {
    let started = Instant::now();
    let (outcome, message, server_version) = match tokio::time::timeout(TEST_BUDGET, probe(t)).await
    {
        Ok(Ok(version)) => (TestOutcome::Ok, "connected".to_string(), Some(version)),
        Ok(Err((outcome, message))) => (outcome, message, None),
        Err(_) => (
            TestOutcome::Timeout,
            format!("no answer within {} s", TEST_BUDGET.as_secs()),
            None,
        ),
    };
    TestResult {
        outcome,
        message: scrub(message, t.password.as_deref()),
        server_version,
        elapsed_ms: started.elapsed().as_millis() as u64,
    }
}

/// Never echo the password, whatever a driver puts into its messages.
fn scrub(message: String, password: Option<&str>) -> String {
    match password.filter(|p| p.len() >= 3) {
        Some(p) => message.replace(p, "***"),
        None => message,
    }
}

async fn probe(t: &Target) -> Result<String, (TestOutcome, String)> {
    // Resolve first: a DNS failure is the clearest of all answers.
    let resolved = tokio::net::lookup_host((t.host.as_str(), t.port))
        .await
        .is_ok_and(|mut addrs| addrs.next().is_some());
    if !resolved {
        return Err((
            TestOutcome::Dns,
            format!("the host name '{}' does not resolve", t.host),
        ));
    }
    match t.kind {
        ConnectionKind::Mysql => {
            let mut c = t.mysql_options().connect().await.map_err(classify)?;
            let v: String = sqlx::query_scalar("SELECT VERSION()")
                .fetch_one(&mut c)
                .await
                .map_err(classify)?;
            let _ = c.close().await;
            Ok(v)
        }
        ConnectionKind::Postgres => {
            let mut c = t.pg_options().connect().await.map_err(classify)?;
            let v: String = sqlx::query_scalar("SELECT version()")
                .fetch_one(&mut c)
                .await
                .map_err(classify)?;
            let _ = c.close().await;
            Ok(v)
        }
        ConnectionKind::Sqlserver => super::mssql::probe(t).await,
        ConnectionKind::Mongodb => super::mongo::probe(t).await,
    }
}

/// Maps a driver error to an outcome and a message for a person.
pub fn classify(e: sqlx::Error) -> (TestOutcome, String) {
    use std::io::ErrorKind;
    match &e {
        sqlx::Error::Io(io) => match io.kind() {
            ErrorKind::ConnectionRefused => (
                TestOutcome::Refused,
                "the server refused the connection (nothing listens on that port?)".into(),
            ),
            ErrorKind::TimedOut => (TestOutcome::Timeout, "the connection timed out".into()),
            _ => (TestOutcome::Error, format!("network error: {io}")),
        },
        sqlx::Error::Tls(err) => (TestOutcome::Tls, format!("TLS failed: {err}")),
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.to_string()).unwrap_or_default();
            let mysql_errno = db
                .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
                .map(|m| m.number());
            match (code.as_str(), mysql_errno) {
                // PostgreSQL: invalid_password, invalid_authorization_specification.
                ("28P01" | "28000", _) | (_, Some(1045 | 1044 | 1698)) => (
                    TestOutcome::Authentication,
                    "the server refused the user name or password".into(),
                ),
                ("3D000", _) | (_, Some(1049)) => (
                    TestOutcome::DatabaseMissing,
                    "the database does not exist on that server".into(),
                ),
                _ => (
                    TestOutcome::Error,
                    format!("the server answered: {}", db.message()),
                ),
            }
        }
        sqlx::Error::PoolTimedOut => (TestOutcome::Timeout, "the connection timed out".into()),
        other => (TestOutcome::Error, other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_never_carry_the_password() {
        assert_eq!(
            scrub("bad pw hunter2!".into(), Some("hunter2")),
            "bad pw ***!"
        );
    }

    #[test]
    fn a_ca_certificate_becomes_one_pem_file_per_content() {
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let a = ca_file(pem).unwrap();
        assert_eq!(a, ca_file(pem).unwrap());
        assert_eq!(a.extension().and_then(|e| e.to_str()), Some("pem"));
        assert_eq!(std::fs::read_to_string(&a).unwrap(), pem);
        assert_ne!(a, ca_file(&pem.replace("MIIB", "MIIC")).unwrap());
    }

    #[test]
    fn io_errors_are_classified() {
        let refused = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(classify(refused).0, TestOutcome::Refused);
        let timeout = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::TimedOut));
        assert_eq!(classify(timeout).0, TestOutcome::Timeout);
    }
}
