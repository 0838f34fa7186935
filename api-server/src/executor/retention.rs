//! Retention: logs, log events and files of runs that finished more than N
//! days ago are deleted; the runs, their node executions and outputs stay.

use chrono::{Duration, Utc};
use sqlx::MySqlPool;

/// Deletes old logs and files; returns how many rows went.
pub async fn purge(db: &MySqlPool, days: u32) -> Result<u64, sqlx::Error> {
    let cutoff = Utc::now() - Duration::days(i64::from(days));
    let old = "SELECT run_id FROM run WHERE finished_at IS NOT NULL AND finished_at < ?";
    let mut deleted = 0;
    for sql in [
        format!("DELETE FROM node_log WHERE run_id IN ({old})"),
        format!("DELETE FROM run_file WHERE run_id IN ({old})"),
        format!("DELETE FROM run_event WHERE kind = 'log' AND run_id IN ({old})"),
    ] {
        deleted += sqlx::query(&sql)
            .bind(cutoff)
            .execute(db)
            .await?
            .rows_affected();
    }
    Ok(deleted)
}

/// Purges once an hour for as long as the server runs.
pub fn spawn(db: MySqlPool, days: u32) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match purge(&db, days).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(rows = n, days, "deleted old run logs and files"),
                Err(e) => tracing::error!(error = %e, "retention purge failed"),
            }
        }
    });
}
