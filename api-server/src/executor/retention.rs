//! Retention: run events, log lines, files and audit rows older than their
//! setting are deleted, each table on its own clock, in small batches
//! (`DELETE … ORDER BY <age> LIMIT n` over an index on the age column), so no
//! statement holds locks on many rows and a purge never stalls the writers.
//! The runs themselves, their node executions and outputs stay.
//!
//! Deleting the same old rows twice is harmless, so replicas need no lease:
//! a second purger finds nothing left and stops after one empty batch.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::MySqlPool;

/// Days to keep each kind of row; `None` keeps it forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Policy {
    pub run_events_days: Option<u32>,
    pub log_lines_days: Option<u32>,
    pub files_days: Option<u32>,
    pub audit_days: Option<u32>,
    /// Rows per DELETE statement.
    pub batch_rows: u32,
}

impl Policy {
    pub fn is_empty(&self) -> bool {
        self.run_events_days.is_none()
            && self.log_lines_days.is_none()
            && self.files_days.is_none()
            && self.audit_days.is_none()
    }
}

/// What one purge deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Purged {
    pub run_events: u64,
    pub log_lines: u64,
    pub files: u64,
    pub audit: u64,
    /// DELETE statements issued (the last one of each table deletes fewer
    /// rows than the batch size, often none).
    pub batches: u64,
}

impl Purged {
    pub fn rows(&self) -> u64 {
        self.run_events + self.log_lines + self.files + self.audit
    }
}

/// The DELETE of one batch per table. Fixed strings; the cutoff and the
/// batch size are bound. Events and log lines of unfinished runs stay: the
/// live stream of a long run resumes from them.
const RUN_EVENTS: &str = "DELETE FROM run_event WHERE created_at < ? AND EXISTS \
    (SELECT 1 FROM run r WHERE r.run_id = run_event.run_id AND r.finished_at IS NOT NULL) \
    ORDER BY created_at LIMIT ?";
const LOG_LINES: &str = "DELETE FROM node_log WHERE ts < ? AND EXISTS \
    (SELECT 1 FROM run r WHERE r.run_id = node_log.run_id AND r.finished_at IS NOT NULL) \
    ORDER BY ts LIMIT ?";
const FILES: &str = "DELETE FROM run_file WHERE created_at < ? ORDER BY created_at LIMIT ?";
const AUDIT: &str = "DELETE FROM audit_log WHERE at < ? ORDER BY at LIMIT ?";

/// Deletes what `policy` says is too old at `now`, batch by batch, with a
/// short pause between batches so other writers get the tables.
pub async fn purge(
    db: &MySqlPool,
    policy: &Policy,
    now: DateTime<Utc>,
    pause: Duration,
) -> Result<Purged, sqlx::Error> {
    let mut out = Purged::default();
    let batch = policy.batch_rows.max(1);
    for (sql, days, counter) in [
        (RUN_EVENTS, policy.run_events_days, &mut out.run_events),
        (LOG_LINES, policy.log_lines_days, &mut out.log_lines),
        (FILES, policy.files_days, &mut out.files),
        (AUDIT, policy.audit_days, &mut out.audit),
    ] {
        let Some(days) = days else { continue };
        let cutoff = now - chrono::Duration::days(i64::from(days));
        loop {
            let n = sqlx::query(sql)
                .bind(cutoff)
                .bind(batch)
                .execute(db)
                .await?
                .rows_affected();
            *counter += n;
            out.batches += 1;
            if n < u64::from(batch) {
                break;
            }
            tokio::time::sleep(pause).await;
        }
    }
    Ok(out)
}

/// Purges once an hour for as long as the server runs, on the replica
/// holding the retention lease (`held`).
pub fn spawn(db: MySqlPool, policy: Policy, mut held: tokio::sync::watch::Receiver<bool>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            if held.wait_for(|h| *h).await.is_err() {
                return;
            }
            match purge(&db, &policy, Utc::now(), Duration::from_millis(50)).await {
                Ok(p) if p.rows() == 0 => {}
                Ok(p) => tracing::info!(
                    run_events = p.run_events,
                    log_lines = p.log_lines,
                    files = p.files,
                    audit = p.audit,
                    batches = p.batches,
                    "deleted rows past retention"
                ),
                Err(e) => tracing::error!(error = %e, "retention purge failed"),
            }
        }
    });
}
