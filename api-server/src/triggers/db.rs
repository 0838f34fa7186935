//! Queries on `workflow_trigger` and `trigger_firing`.

use chrono::{DateTime, Utc};
use sqlx::{MySqlExecutor, MySqlPool};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TriggerRow {
    pub trigger_id: u64,
    pub workflow_id: u64,
    pub client_id: u64,
    pub kind: String,
    pub name: String,
    pub enabled: bool,
    pub config: String,
    pub hmac_secret: Option<String>,
    pub owner_id: u64,
    pub next_fire_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const SELECT: &str = "SELECT t.trigger_id, t.workflow_id, w.client_id, t.kind, t.name, t.enabled, \
     t.config, t.hmac_secret, t.owner_id, t.next_fire_at, t.created_at, t.updated_at \
     FROM workflow_trigger t JOIN workflow w ON w.workflow_id = t.workflow_id AND w.deleted_at IS NULL";

pub async fn get(db: impl MySqlExecutor<'_>, id: u64) -> Result<Option<TriggerRow>, sqlx::Error> {
    sqlx::query_as(&format!("{SELECT} WHERE t.trigger_id = ?"))
        .bind(id)
        .fetch_optional(db)
        .await
}

pub async fn by_token(
    db: impl MySqlExecutor<'_>,
    sha256: &str,
) -> Result<Option<TriggerRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{SELECT} WHERE t.token_sha256 = ? AND t.kind = 'webhook'"
    ))
    .bind(sha256)
    .fetch_optional(db)
    .await
}

pub async fn of_workflow(db: &MySqlPool, workflow_id: u64) -> Result<Vec<TriggerRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{SELECT} WHERE t.workflow_id = ? ORDER BY t.trigger_id"
    ))
    .bind(workflow_id)
    .fetch_all(db)
    .await
}

/// Enabled schedule triggers whose next instant has come.
pub async fn due_schedules(
    db: &MySqlPool,
    now: DateTime<Utc>,
) -> Result<Vec<TriggerRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{SELECT} WHERE t.kind = 'schedule' AND t.enabled = TRUE AND t.next_fire_at <= ? \
         ORDER BY t.next_fire_at LIMIT 200"
    ))
    .bind(now)
    .fetch_all(db)
    .await
}

/// Enabled event triggers.
pub async fn events(db: &MySqlPool) -> Result<Vec<TriggerRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{SELECT} WHERE t.kind = 'event' AND t.enabled = TRUE ORDER BY t.trigger_id"
    ))
    .fetch_all(db)
    .await
}

pub struct NewTrigger<'a> {
    pub workflow_id: u64,
    pub kind: &'a str,
    pub name: &'a str,
    pub enabled: bool,
    pub config: &'a str,
    pub token_sha256: Option<&'a str>,
    pub hmac_secret: Option<&'a str>,
    pub owner_id: u64,
    pub next_fire_at: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
}

pub async fn insert(db: &MySqlPool, t: &NewTrigger<'_>) -> Result<u64, sqlx::Error> {
    let r = sqlx::query(
        "INSERT INTO workflow_trigger (workflow_id, kind, name, enabled, config, token_sha256, \
         hmac_secret, owner_id, next_fire_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(t.workflow_id)
    .bind(t.kind)
    .bind(t.name)
    .bind(t.enabled)
    .bind(t.config)
    .bind(t.token_sha256)
    .bind(t.hmac_secret)
    .bind(t.owner_id)
    .bind(t.next_fire_at)
    .bind(t.now)
    .bind(t.now)
    .execute(db)
    .await?;
    Ok(r.last_insert_id())
}

pub async fn update(
    db: &MySqlPool,
    id: u64,
    name: &str,
    enabled: bool,
    config: &str,
    next_fire_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE workflow_trigger SET name = ?, enabled = ?, config = ?, next_fire_at = ?, updated_at = ? \
         WHERE trigger_id = ?",
    )
    .bind(name)
    .bind(enabled)
    .bind(config)
    .bind(next_fire_at)
    .bind(now)
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn delete(db: &MySqlPool, id: u64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM workflow_trigger WHERE trigger_id = ?")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Moves a schedule's next instant on, unless another process did already.
pub async fn advance(
    db: &MySqlPool,
    id: u64,
    from: DateTime<Utc>,
    to: Option<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE workflow_trigger SET next_fire_at = ? WHERE trigger_id = ? AND next_fire_at = ?",
    )
    .bind(to)
    .bind(id)
    .bind(from)
    .execute(db)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FiringRow {
    pub firing_id: u64,
    pub trigger_id: u64,
    pub fire_key: String,
    pub fired_at: DateTime<Utc>,
    pub outcome: String,
    pub run_id: Option<u64>,
    pub message: Option<String>,
}

/// Claims a firing key; false when that key fired already.
pub async fn claim(
    db: &MySqlPool,
    trigger_id: u64,
    key: &str,
    outcome: &str,
    message: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<u64>, sqlx::Error> {
    let r = sqlx::query(
        "INSERT IGNORE INTO trigger_firing (trigger_id, fire_key, fired_at, outcome, message) \
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(trigger_id)
    .bind(key)
    .bind(now)
    .bind(outcome)
    .bind(message)
    .execute(db)
    .await?;
    Ok((r.rows_affected() == 1).then(|| r.last_insert_id()))
}

pub async fn finish(
    db: &MySqlPool,
    firing_id: u64,
    outcome: &str,
    run_id: Option<u64>,
    message: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE trigger_firing SET outcome = ?, run_id = ?, message = ? WHERE firing_id = ?",
    )
    .bind(outcome)
    .bind(run_id)
    .bind(message.map(|m| m.chars().take(1000).collect::<String>()))
    .bind(firing_id)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn firings(db: &MySqlPool, trigger_id: u64) -> Result<Vec<FiringRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT firing_id, trigger_id, fire_key, fired_at, outcome, run_id, message FROM trigger_firing \
         WHERE trigger_id = ? ORDER BY firing_id DESC LIMIT 100",
    )
    .bind(trigger_id)
    .fetch_all(db)
    .await
}

/// Calls accepted since `since` (the webhook rate limit).
pub async fn started_since(
    db: &MySqlPool,
    trigger_id: u64,
    since: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM trigger_firing WHERE trigger_id = ? AND fired_at >= ? AND outcome IN ('started', 'failed')",
    )
    .bind(trigger_id)
    .bind(since)
    .fetch_one(db)
    .await
}
