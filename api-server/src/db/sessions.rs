use chrono::{DateTime, Utc};
use sqlx::{MySql, MySqlPool};

#[derive(Debug, sqlx::FromRow)]
pub struct ActiveUser {
    pub user_id: u64,
    pub username: String,
    pub role: String,
    pub last_seen_at: Option<DateTime<Utc>>,
}

/// How stale `last_seen_at` may get before a request refreshes it: the list
/// of sessions shows minutes, and this keeps the write off most requests.
pub const LAST_SEEN_GRANULARITY_SECONDS: i64 = 60;

pub async fn active_user(
    db: &MySqlPool,
    user_id: u64,
    session_id: &str,
) -> Result<Option<ActiveUser>, sqlx::Error> {
    sqlx::query_as(
        "SELECT u.user_id, u.username, u.role, s.last_seen_at FROM app_user u \
         JOIN user_session s ON s.user_id = u.user_id \
         WHERE u.user_id = ? AND s.session_id = ? AND u.active = TRUE \
           AND s.revoked_at IS NULL AND s.expires_at > ?",
    )
    .bind(user_id)
    .bind(session_id)
    .bind(Utc::now())
    .fetch_optional(db)
    .await
}

/// The longest user agent kept; longer ones are cut (at a character boundary).
pub const USER_AGENT_MAX_CHARS: usize = 255;

pub async fn create(
    tx: &mut sqlx::Transaction<'_, MySql>,
    session_id: &str,
    user_id: u64,
    expires_at: DateTime<Utc>,
    ip: Option<&str>,
    user_agent: Option<&str>,
) -> Result<(), sqlx::Error> {
    let now = Utc::now();
    let agent: Option<String> = user_agent.map(|a| a.chars().take(USER_AGENT_MAX_CHARS).collect());
    sqlx::query(
        "INSERT INTO user_session (session_id, user_id, created_at, expires_at, client_ip, user_agent, last_seen_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(session_id)
    .bind(user_id)
    .bind(now)
    .bind(expires_at)
    .bind(ip)
    .bind(agent)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Records that the session was used now, from `ip`.
pub async fn touch(db: &MySqlPool, session_id: &str, ip: Option<&str>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE user_session SET last_seen_at = ?, client_ip = COALESCE(?, client_ip) WHERE session_id = ?",
    )
    .bind(Utc::now())
    .bind(ip)
    .bind(session_id)
    .execute(db)
    .await?;
    Ok(())
}

/// An active session as its owner (or an admin) sees it.
#[derive(Debug, sqlx::FromRow)]
pub struct SessionRow {
    pub session_id: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
}

/// The user's sessions that are neither revoked nor expired, most recent first.
pub async fn list_active(db: &MySqlPool, user_id: u64) -> Result<Vec<SessionRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT session_id, created_at, expires_at, last_seen_at, client_ip, user_agent \
         FROM user_session WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? \
         ORDER BY COALESCE(last_seen_at, created_at) DESC, session_id",
    )
    .bind(user_id)
    .bind(Utc::now())
    .fetch_all(db)
    .await
}

/// Revokes one session of `user_id`; false if it is not theirs or not active.
pub async fn revoke_own(
    db: &MySqlPool,
    user_id: u64,
    session_id: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE user_session SET revoked_at = ? \
         WHERE session_id = ? AND user_id = ? AND revoked_at IS NULL AND expires_at > ?",
    )
    .bind(Utc::now())
    .bind(session_id)
    .bind(user_id)
    .bind(Utc::now())
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn insert_refresh(
    tx: &mut sqlx::Transaction<'_, MySql>,
    token_hash: &str,
    session_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO refresh_token (token_hash, session_id, created_at) VALUES (?, ?, ?)")
        .bind(token_hash)
        .bind(session_id)
        .bind(Utc::now())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[derive(Debug, sqlx::FromRow)]
pub struct RefreshRow {
    pub session_id: String,
    pub user_id: u64,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    pub active: bool,
}

/// Locks the token row so two concurrent refreshes cannot both succeed.
pub async fn lock_refresh(
    tx: &mut sqlx::Transaction<'_, MySql>,
    token_hash: &str,
) -> Result<Option<RefreshRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT s.session_id, s.user_id, r.used_at, s.revoked_at, s.expires_at, u.active \
         FROM refresh_token r JOIN user_session s ON s.session_id = r.session_id \
         JOIN app_user u ON u.user_id = s.user_id \
         WHERE r.token_hash = ? FOR UPDATE",
    )
    .bind(token_hash)
    .fetch_optional(&mut **tx)
    .await
}

pub async fn mark_used(
    tx: &mut sqlx::Transaction<'_, MySql>,
    token_hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE refresh_token SET used_at = ? WHERE token_hash = ?")
        .bind(Utc::now())
        .bind(token_hash)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn revoke<'e>(
    db: impl sqlx::Executor<'e, Database = MySql>,
    session_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE user_session SET revoked_at = ? WHERE session_id = ? AND revoked_at IS NULL",
    )
    .bind(Utc::now())
    .bind(session_id)
    .execute(db)
    .await?;
    Ok(())
}

/// Ends every session of a user, optionally keeping one (the caller's own).
pub async fn revoke_all_for_user<'e>(
    db: impl sqlx::Executor<'e, Database = MySql>,
    user_id: u64,
    keep: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE user_session SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL AND session_id <> ?",
    )
    .bind(Utc::now())
    .bind(user_id)
    .bind(keep.unwrap_or(""))
    .execute(db)
    .await?;
    Ok(())
}
