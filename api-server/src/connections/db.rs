//! Queries on `db_connection` and `db_connection_client`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::{MySql, MySqlPool, QueryBuilder, Transaction};

use super::model::{ConnectionKind, TlsMode, UsableConnection};
use crate::auth::ClientScope;

/// A stored connection; `password_sealed` is a vault envelope.
#[derive(Clone, sqlx::FromRow)]
pub struct Row {
    pub connection_id: u64,
    pub name: String,
    pub kind: String,
    pub host: String,
    pub port: u32,
    pub database_name: String,
    pub username: String,
    pub password_sealed: Option<String>,
    pub tls_mode: String,
    pub ca_cert: Option<String>,
    pub options: String,
    pub read_only: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Row")
            .field("connection_id", &self.connection_id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Row {
    pub fn kind(&self) -> anyhow::Result<ConnectionKind> {
        self.kind.parse().map_err(anyhow::Error::msg)
    }
    pub fn tls_mode(&self) -> anyhow::Result<TlsMode> {
        self.tls_mode.parse().map_err(anyhow::Error::msg)
    }
    pub fn options(&self) -> anyhow::Result<BTreeMap<String, String>> {
        Ok(serde_json::from_str(&self.options)?)
    }
}

const COLS: &str = "connection_id, name, kind, host, port, database_name, username, \
    password_sealed, tls_mode, ca_cert, options, read_only, created_at, updated_at";

pub struct Write<'a> {
    pub name: &'a str,
    pub kind: ConnectionKind,
    pub host: &'a str,
    pub port: u16,
    pub database: &'a str,
    pub user: &'a str,
    pub password_sealed: Option<&'a str>,
    pub tls_mode: TlsMode,
    pub ca_cert: Option<&'a str>,
    pub options: &'a str,
    pub read_only: bool,
    pub by: u64,
}

/// `Ok(None)` when the name is taken.
pub async fn insert(
    tx: &mut Transaction<'_, MySql>,
    w: &Write<'_>,
) -> Result<Option<u64>, sqlx::Error> {
    let r = sqlx::query(
        "INSERT INTO db_connection (name, kind, host, port, database_name, username, password_sealed, \
         tls_mode, ca_cert, options, read_only, created_by, created_at, updated_by, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6), ?, UTC_TIMESTAMP(6))",
    )
    .bind(w.name)
    .bind(w.kind.as_str())
    .bind(w.host)
    .bind(w.port)
    .bind(w.database)
    .bind(w.user)
    .bind(w.password_sealed)
    .bind(w.tls_mode.as_str())
    .bind(w.ca_cert)
    .bind(w.options)
    .bind(w.read_only)
    .bind(w.by)
    .bind(w.by)
    .execute(&mut **tx)
    .await;
    match r {
        Ok(r) => Ok(Some(r.last_insert_id())),
        Err(e) if crate::db::is_duplicate(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `Ok(false)` when the name is taken.
pub async fn update(
    tx: &mut Transaction<'_, MySql>,
    id: u64,
    w: &Write<'_>,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE db_connection SET name = ?, kind = ?, host = ?, port = ?, database_name = ?, username = ?, \
         password_sealed = ?, tls_mode = ?, ca_cert = ?, options = ?, read_only = ?, updated_by = ?, \
         updated_at = UTC_TIMESTAMP(6) WHERE connection_id = ?",
    )
    .bind(w.name)
    .bind(w.kind.as_str())
    .bind(w.host)
    .bind(w.port)
    .bind(w.database)
    .bind(w.user)
    .bind(w.password_sealed)
    .bind(w.tls_mode.as_str())
    .bind(w.ca_cert)
    .bind(w.options)
    .bind(w.read_only)
    .bind(w.by)
    .bind(id)
    .execute(&mut **tx)
    .await;
    match r {
        Ok(_) => Ok(true),
        Err(e) if crate::db::is_duplicate(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

pub async fn set_clients(
    tx: &mut Transaction<'_, MySql>,
    id: u64,
    clients: &[u64],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM db_connection_client WHERE connection_id = ?")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    for c in clients {
        sqlx::query("INSERT INTO db_connection_client (connection_id, client_id) VALUES (?, ?)")
            .bind(id)
            .bind(c)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Which of `ids` are active client accounts.
pub async fn existing_clients(db: &MySqlPool, ids: &[u64]) -> Result<Vec<u64>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let mut qb = QueryBuilder::<MySql>::new(
        "SELECT user_id FROM app_user WHERE role = 'client' AND user_id IN (",
    );
    let mut sep = qb.separated(", ");
    for id in ids {
        sep.push_bind(*id);
    }
    sep.push_unseparated(")");
    qb.build_query_scalar().fetch_all(db).await
}

pub async fn get(db: &MySqlPool, id: u64) -> Result<Option<Row>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM db_connection WHERE connection_id = ?"
    ))
    .bind(id)
    .fetch_optional(db)
    .await
}

pub async fn list(db: &MySqlPool) -> Result<Vec<Row>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLS} FROM db_connection ORDER BY name"))
        .fetch_all(db)
        .await
}

pub async fn clients_of(db: &MySqlPool, id: u64) -> Result<Vec<u64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT client_id FROM db_connection_client WHERE connection_id = ? ORDER BY client_id",
    )
    .bind(id)
    .fetch_all(db)
    .await
}

pub async fn delete(db: &MySqlPool, id: u64) -> Result<bool, sqlx::Error> {
    let r = sqlx::query("DELETE FROM db_connection WHERE connection_id = ?")
        .bind(id)
        .execute(db)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Connections allowed for at least one client in `scope` (or for `client`
/// when given), by name.
pub async fn usable(
    db: &MySqlPool,
    scope: ClientScope,
    client: Option<u64>,
) -> Result<Vec<UsableConnection>, sqlx::Error> {
    let mut qb = QueryBuilder::<MySql>::new(
        "SELECT DISTINCT c.name, c.kind, c.read_only FROM db_connection c \
         JOIN db_connection_client cc ON cc.connection_id = c.connection_id WHERE TRUE",
    );
    scope.push_filter(&mut qb, "cc.client_id");
    if let Some(client) = client {
        qb.push(" AND cc.client_id = ").push_bind(client);
    }
    qb.push(" ORDER BY c.name");
    let rows: Vec<(String, String, bool)> = qb.build_query_as().fetch_all(db).await?;
    Ok(rows
        .into_iter()
        .filter_map(|(name, kind, read_only)| {
            Some(UsableConnection {
                name,
                kind: kind.parse().ok()?,
                read_only,
            })
        })
        .collect())
}

/// The connection `name`, when it is allowed for `client_id`.
pub async fn allowed_by_name(
    db: &MySqlPool,
    client_id: u64,
    name: &str,
) -> Result<Option<Row>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM db_connection WHERE name = ? AND connection_id IN \
         (SELECT connection_id FROM db_connection_client WHERE client_id = ?)"
    ))
    .bind(name)
    .bind(client_id)
    .fetch_optional(db)
    .await
}
