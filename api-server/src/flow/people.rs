//! The people a flow node names (approvers, recipients): usernames or
//! emails of active users, each a manager of the run's client, the client
//! itself, or an admin.

use sqlx::MySqlConnection;

use crate::auth::Role;

#[derive(Debug, thiserror::Error)]
pub enum PeopleError {
    /// A name matches nobody in the client's scope.
    #[error("{0}")]
    Unknown(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// An active user matched by username or email.
#[derive(Debug, Clone, sqlx::FromRow)]
struct NamedUser {
    user_id: u64,
    username: String,
    email: String,
    role: String,
}

async fn users_named(
    conn: &mut MySqlConnection,
    names: &[String],
) -> Result<Vec<NamedUser>, sqlx::Error> {
    let mut q = sqlx::QueryBuilder::<sqlx::MySql>::new(
        "SELECT user_id, username, email, role FROM app_user WHERE active = TRUE AND (username IN (",
    );
    let mut sep = q.separated(", ");
    for n in names {
        sep.push_bind(n.clone());
    }
    q.push(") OR email IN (");
    let mut sep = q.separated(", ");
    for n in names {
        sep.push_bind(n.clone());
    }
    q.push("))");
    q.build_query_as().fetch_all(conn).await
}

/// The user ids of `names`, sorted and unique; the first name that matches
/// nobody in the client's scope is the error.
pub async fn named(
    conn: &mut MySqlConnection,
    client_id: u64,
    names: &[String],
) -> Result<Vec<u64>, PeopleError> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let found = users_named(&mut *conn, names).await?;
    let managers = crate::tasks::db::managers_of(&mut *conn, client_id).await?;
    let mut ids = Vec::with_capacity(names.len());
    for name in names {
        let Some(u) = found
            .iter()
            .find(|u| u.username.eq_ignore_ascii_case(name) || u.email.eq_ignore_ascii_case(name))
        else {
            return Err(PeopleError::Unknown(format!(
                "no active user is called `{name}`"
            )));
        };
        let in_scope = match Role::parse(&u.role) {
            Some(Role::Admin) => true,
            Some(Role::Manager) => managers.contains(&u.user_id),
            Some(Role::Client) => u.user_id == client_id,
            None => false,
        };
        if !in_scope {
            return Err(PeopleError::Unknown(format!(
                "`{name}` is neither a manager of this run's client nor the client"
            )));
        }
        ids.push(u.user_id);
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// `names` plus, when asked, every manager of the client.
pub async fn with_managers(
    conn: &mut MySqlConnection,
    client_id: u64,
    names: &[String],
    client_managers: bool,
) -> Result<Vec<u64>, PeopleError> {
    let mut ids = named(&mut *conn, client_id, names).await?;
    if client_managers {
        ids.extend(crate::tasks::db::managers_of(&mut *conn, client_id).await?);
        ids.sort_unstable();
        ids.dedup();
    }
    Ok(ids)
}
