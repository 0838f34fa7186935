use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{MySql, MySqlPool, QueryBuilder};
use utoipa::ToSchema;

use crate::auth::Role;

/// A user as the API shows it: never the password hash.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    #[sqlx(rename = "user_id")]
    pub id: u64,
    pub username: String,
    pub email: String,
    pub display_name: String,
    #[schema(value_type = Role)]
    pub role: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str =
    "user_id, username, email, display_name, role, active, created_at, updated_at";

pub struct NewUser<'a> {
    pub username: &'a str,
    pub email: &'a str,
    pub display_name: &'a str,
    pub role: Role,
    pub password_hash: &'a str,
}

/// Inserts a user; `Ok(None)` when the username or email is taken.
pub async fn insert<'e>(
    db: impl sqlx::Executor<'e, Database = MySql>,
    u: &NewUser<'_>,
) -> Result<Option<u64>, sqlx::Error> {
    let now = Utc::now();
    let r = sqlx::query(
        "INSERT INTO app_user (username, email, display_name, role, password_hash, active, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, TRUE, ?, ?)",
    )
    .bind(u.username)
    .bind(u.email)
    .bind(u.display_name)
    .bind(u.role.as_str())
    .bind(u.password_hash)
    .bind(now)
    .bind(now)
    .execute(db)
    .await;
    match r {
        Ok(r) => Ok(Some(r.last_insert_id())),
        Err(e) if super::is_duplicate(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

pub async fn count(db: &MySqlPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM app_user")
        .fetch_one(db)
        .await
}

pub async fn get(db: &MySqlPool, id: u64) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM app_user WHERE user_id = ?"))
        .bind(id)
        .fetch_optional(db)
        .await
}

#[derive(sqlx::FromRow)]
pub struct Credentials {
    pub user_id: u64,
    pub password_hash: String,
    pub active: bool,
}

/// Looks a login identifier up as a username or an email.
pub async fn credentials(db: &MySqlPool, login: &str) -> Result<Option<Credentials>, sqlx::Error> {
    sqlx::query_as(
        "SELECT user_id, password_hash, active FROM app_user WHERE username = ? OR email = ? LIMIT 1",
    )
    .bind(login)
    .bind(login.to_lowercase())
    .fetch_optional(db)
    .await
}

pub async fn password_hash(db: &MySqlPool, id: u64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT password_hash FROM app_user WHERE user_id = ?")
        .bind(id)
        .fetch_optional(db)
        .await
}

pub async fn set_password<'e>(
    db: impl sqlx::Executor<'e, Database = MySql>,
    id: u64,
    hash: &str,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query("UPDATE app_user SET password_hash = ?, updated_at = ? WHERE user_id = ?")
        .bind(hash)
        .bind(Utc::now())
        .bind(id)
        .execute(db)
        .await?;
    Ok(r.rows_affected() == 1)
}

#[derive(Default)]
pub struct Changes {
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub active: Option<bool>,
}

/// Applies `changes`; `Ok(false)` when the new email is taken.
pub async fn update(
    tx: &mut sqlx::Transaction<'_, MySql>,
    id: u64,
    c: &Changes,
) -> Result<bool, sqlx::Error> {
    let mut qb = QueryBuilder::<MySql>::new("UPDATE app_user SET updated_at = ");
    qb.push_bind(Utc::now());
    if let Some(e) = &c.email {
        qb.push(", email = ").push_bind(e.clone());
    }
    if let Some(d) = &c.display_name {
        qb.push(", display_name = ").push_bind(d.clone());
    }
    if let Some(r) = c.role {
        qb.push(", role = ").push_bind(r.as_str());
    }
    if let Some(a) = c.active {
        qb.push(", active = ").push_bind(a);
    }
    qb.push(" WHERE user_id = ").push_bind(id);
    match qb.build().execute(&mut **tx).await {
        Ok(_) => Ok(true),
        Err(e) if super::is_duplicate(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

pub async fn lock<'c>(
    tx: &mut sqlx::Transaction<'c, MySql>,
    id: u64,
) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM app_user WHERE user_id = ? FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
}

pub async fn active_admins_other_than(
    tx: &mut sqlx::Transaction<'_, MySql>,
    id: u64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM app_user WHERE role = 'admin' AND active = TRUE AND user_id <> ?",
    )
    .bind(id)
    .fetch_one(&mut **tx)
    .await
}

#[derive(Default)]
pub struct Filter {
    pub role: Option<Role>,
    pub active: Option<bool>,
    pub q: Option<String>,
}

pub async fn list(
    db: &MySqlPool,
    f: &Filter,
    limit: u32,
    offset: u64,
) -> Result<(Vec<User>, u64), sqlx::Error> {
    let from_where = |qb: &mut QueryBuilder<'_, MySql>| {
        qb.push(" FROM app_user WHERE 1=1");
        if let Some(r) = f.role {
            qb.push(" AND role = ").push_bind(r.as_str());
        }
        if let Some(a) = f.active {
            qb.push(" AND active = ").push_bind(a);
        }
        if let Some(q) = &f.q {
            let p = super::like_pattern(q);
            qb.push(" AND (username LIKE ")
                .push_bind(p.clone())
                .push(" OR email LIKE ")
                .push_bind(p.clone())
                .push(" OR display_name LIKE ")
                .push_bind(p)
                .push(")");
        }
    };
    super::paging::fetch_page(db, COLUMNS, from_where, "username", limit, offset).await
}

/// The longest-standing active administrator (the one bootstrap created, usually).
pub async fn first_admin(db: &MySqlPool) -> Result<Option<u64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT user_id FROM app_user WHERE role = 'admin' AND active = TRUE ORDER BY user_id LIMIT 1",
    )
    .fetch_optional(db)
    .await
}

/// A user by username.
pub async fn by_username(db: &MySqlPool, username: &str) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM app_user WHERE username = ?"
    ))
    .bind(username)
    .fetch_optional(db)
    .await
}
