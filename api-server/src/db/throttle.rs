//! Failed-login counters with a fixed window and a lockout.

use chrono::{DateTime, Duration, Utc};
use sqlx::MySqlPool;

/// Seconds until `key` may try again, if it is locked.
pub async fn locked_for(db: &MySqlPool, key: &str) -> Result<Option<u64>, sqlx::Error> {
    let until: Option<Option<DateTime<Utc>>> =
        sqlx::query_scalar("SELECT locked_until FROM login_throttle WHERE throttle_key = ?")
            .bind(key)
            .fetch_optional(db)
            .await?;
    let now = Utc::now();
    Ok(until
        .flatten()
        .filter(|u| *u > now)
        .map(|u| (u - now).num_seconds().max(1) as u64))
}

/// Counts a failure; locks the key once `max` failures fall within `window`.
pub async fn record_failure(
    db: &MySqlPool,
    key: &str,
    max: u32,
    window: Duration,
) -> Result<(), sqlx::Error> {
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let row: Option<(i32, DateTime<Utc>)> = sqlx::query_as(
        "SELECT failures, window_start FROM login_throttle WHERE throttle_key = ? FOR UPDATE",
    )
    .bind(key)
    .fetch_optional(&mut *tx)
    .await?;
    let (failures, start) = match row {
        Some((f, start)) if now - start < window => (f + 1, start),
        _ => (1, now),
    };
    let locked_until = (failures as u32 >= max).then(|| now + window);
    sqlx::query(
        "INSERT INTO login_throttle (throttle_key, failures, window_start, locked_until) VALUES (?, ?, ?, ?) \
         ON DUPLICATE KEY UPDATE failures = VALUES(failures), window_start = VALUES(window_start), \
         locked_until = VALUES(locked_until)",
    )
    .bind(key)
    .bind(failures)
    .bind(start)
    .bind(locked_until)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

pub async fn clear(db: &MySqlPool, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM login_throttle WHERE throttle_key = ?")
        .bind(key)
        .execute(db)
        .await?;
    Ok(())
}
