//! Connections used by workflows: looked up by name among those an admin
//! allowed for the run's client, the password opened here and nowhere
//! else, one pool per connection. The Query node and `ctx.query` (on both
//! executors) come through this one place, so they apply the same checks.

use std::sync::Arc;
use std::time::Duration;

use katalusis_vault::Keyring;
use serde_json::{Map, Value};
use sqlx::MySqlPool;

use super::db;
use super::driver::Target;
use super::model::ConnectionKind;
use super::query::{self, Limits, Pool, Pools, QueryError, QueryResult, Writes};

/// Whether a connection named `name` exists and is allowed for `client_id`
/// (workflows are checked with this when they are saved).
pub async fn is_allowed(db: &MySqlPool, client_id: u64, name: &str) -> Result<bool, sqlx::Error> {
    Ok(db::allowed_by_name(db, client_id, name).await?.is_some())
}

/// A connection ready for use by one client's workflow.
pub struct Opened {
    pub pool: Pool,
    pub kind: ConnectionKind,
    pub read_only: bool,
}

#[derive(Clone)]
pub struct Connector {
    db: MySqlPool,
    vault: Arc<Keyring>,
    pools: Pools,
}

impl Connector {
    pub fn new(db: MySqlPool, vault: Arc<Keyring>) -> Self {
        Self {
            db,
            vault,
            pools: Pools::default(),
        }
    }

    /// The connection `name`, if it is allowed for `client_id`.
    pub async fn open(&self, client_id: u64, name: &str) -> Result<Opened, QueryError> {
        let row = db::allowed_by_name(&self.db, client_id, name)
            .await
            .map_err(|e| QueryError::Database(format!("the platform database: {e}")))?
            .ok_or_else(|| QueryError::UnknownConnection(name.to_owned()))?;
        let password = match &row.password_sealed {
            Some(s) => Some(self.vault.open(s).map_err(|_| QueryError::Sealed)?),
            None => None,
        };
        let target =
            Target::from_row(&row, password).map_err(|e| QueryError::Database(e.to_string()))?;
        let kind = target.kind;
        Ok(Opened {
            pool: self.pools.get(row.connection_id, row.updated_at, &target)?,
            kind,
            read_only: row.read_only,
        })
    }

    /// Runs a read (or, on a read-write connection, any statement).
    pub async fn query(
        &self,
        client_id: u64,
        name: &str,
        sql: &str,
        params: &Map<String, Value>,
        limits: Limits,
    ) -> Result<QueryResult, QueryError> {
        let c = self.open(client_id, name).await?;
        query::run(&c.pool, sql, params, c.read_only, limits).await
    }

    /// Runs writes (in one transaction where the database has them);
    /// refused on read-only connections before anything reaches the database.
    pub async fn write(
        &self,
        client_id: u64,
        name: &str,
        writes: &Writes,
        timeout: Duration,
    ) -> Result<u64, QueryError> {
        let c = self.open(client_id, name).await?;
        if c.read_only {
            return Err(QueryError::ReadOnly(format!(
                "'{name}' only allows reading; writing needs a read-write connection"
            )));
        }
        query::execute(&c.pool, writes, timeout).await
    }
}
