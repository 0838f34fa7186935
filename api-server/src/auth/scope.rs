//! Which clients' objects a caller may see. Every query over client-owned data
//! takes a `ClientScope`, so the ownership check lives in the SQL itself.

use sqlx::{MySql, QueryBuilder};

use super::{CurrentUser, Role};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientScope {
    All,
    AssignedTo(u64),
    Only(u64),
}

impl ClientScope {
    pub fn of(user: &CurrentUser) -> Self {
        match user.role {
            Role::Admin => Self::All,
            Role::Manager => Self::AssignedTo(user.id),
            Role::Client => Self::Only(user.id),
        }
    }

    /// Appends ` AND <column> is visible` to a query whose WHERE clause is open.
    pub fn push_filter(&self, qb: &mut QueryBuilder<'_, MySql>, column: &str) {
        match *self {
            Self::All => {}
            Self::AssignedTo(manager) => {
                qb.push(format_args!(
                    " AND {column} IN (SELECT mc.client_id FROM manager_client mc WHERE mc.manager_id = "
                ));
                qb.push_bind(manager);
                qb.push(")");
            }
            Self::Only(client) => {
                qb.push(format_args!(" AND {column} = "));
                qb.push_bind(client);
            }
        }
    }

    /// Whether `client_id` is visible; answers from the database for managers.
    pub async fn allows(&self, db: &sqlx::MySqlPool, client_id: u64) -> Result<bool, sqlx::Error> {
        match *self {
            Self::All => Ok(true),
            Self::Only(c) => Ok(c == client_id),
            Self::AssignedTo(m) => Ok(sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM manager_client WHERE manager_id = ? AND client_id = ?",
            )
            .bind(m)
            .bind(client_id)
            .fetch_one(db)
            .await?
                > 0),
        }
    }
}
