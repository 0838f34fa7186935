//! The writing half of the run store: one task per run commits the queue in
//! order, retrying a failed batch until it is durable, then publishes it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sqlx::{MySql, MySqlPool, QueryBuilder};
use tokio::sync::{broadcast, mpsc, watch};

use super::{LogLine, Op, Pending, RunEvent, StoreHealth, StoreStatus};

/// Most events written in one INSERT.
const MAX_BATCH: usize = 500;
/// How long a batch of only log lines waits for more lines.
const LOG_LINGER: Duration = Duration::from_millis(50);

/// First and longest pause between two attempts to store a failed batch.
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(5);

/// The task that commits one run's queue in order.
pub(super) struct Writer {
    pub(super) db: MySqlPool,
    pub(super) run_id: u64,
    pub(super) client_id: u64,
    /// The last sequence number committed.
    pub(super) seq: u64,
    pub(super) live: broadcast::Sender<RunEvent>,
    pub(super) unstored: Arc<AtomicUsize>,
    pub(super) health: Arc<StoreHealth>,
    pub(super) status: watch::Sender<StoreStatus>,
}

impl Writer {
    pub(super) async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Pending>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while let Some(first) = rx.recv().await {
            batch.push(first);
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(p) => batch.push(p),
                    Err(_) => break,
                }
            }
            // Log lines come in bursts: wait a little for the rest of the burst,
            // unless a status change is waiting to be shown.
            if batch.iter().all(Pending::is_log) && batch.len() < MAX_BATCH {
                let deadline = tokio::time::Instant::now() + LOG_LINGER;
                while batch.len() < MAX_BATCH {
                    match tokio::time::timeout_at(deadline, rx.recv()).await {
                        Ok(Some(p)) => {
                            let is_log = p.is_log();
                            batch.push(p);
                            if !is_log {
                                break;
                            }
                        }
                        _ => break,
                    }
                }
            }
            self.store(&batch).await;
            self.publish(&mut batch);
        }
    }

    /// Commits the batch, retrying with backoff until it is durable.
    async fn store(&mut self, batch: &[Pending]) {
        let first_seq = self.seq + 1;
        let mut delay = RETRY_FIRST;
        let mut failures = 0u32;
        loop {
            match write(&self.db, self.run_id, first_seq, batch, failures > 0).await {
                Ok(()) => break,
                Err(e) => {
                    if failures == 0 {
                        tracing::warn!(run_id = self.run_id, error = %e,
                            "could not store run state and events; retrying until the database answers");
                        self.health.failing.fetch_add(1, Ordering::Relaxed);
                        self.status.send_modify(|s| {
                            s.failing_since = Some(tokio::time::Instant::now());
                        });
                    }
                    failures += 1;
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(RETRY_MAX);
                }
            }
        }
        if failures > 0 {
            tracing::info!(
                run_id = self.run_id,
                attempts = failures + 1,
                "stored the run's state and events again"
            );
            self.health.failing.fetch_sub(1, Ordering::Relaxed);
            self.status.send_modify(|s| s.failing_since = None);
        }
        self.seq += batch.iter().filter(|p| p.op.is_none()).count() as u64;
        self.unstored.fetch_sub(batch.len(), Ordering::Relaxed);
        self.health
            .unstored
            .fetch_sub(batch.len(), Ordering::Relaxed);
    }

    /// Publishes a committed batch's events and answers its flushes.
    fn publish(&self, batch: &mut Vec<Pending>) {
        let events = batch.iter().filter(|p| p.op.is_none()).count() as u64;
        let first_seq = self.seq + 1 - events;
        let flushed: Vec<_> = batch
            .iter_mut()
            .filter_map(|p| match &mut p.op {
                Some(Op::Flush(tx)) => tx.take(),
                _ => None,
            })
            .collect();
        let published = batch.drain(..).filter(|p| p.op.is_none());
        for (i, p) in published.enumerate() {
            let _ = self.live.send(RunEvent {
                run_id: self.run_id,
                client_id: self.client_id,
                seq: first_seq + i as u64,
                kind: p.kind,
                data: p.data,
            });
        }
        for tx in flushed {
            let _ = tx.send(());
        }
    }
}

async fn apply(
    tx: &mut sqlx::Transaction<'_, MySql>,
    run_id: u64,
    op: &Op,
) -> Result<(), sqlx::Error> {
    use crate::db::runs;
    match op {
        Op::StartExecution { node, attempt, at } => {
            runs::start_execution(&mut **tx, run_id, node, *attempt, *at).await
        }
        Op::EnsureExecution { node, attempt, at } => {
            runs::ensure_execution(&mut **tx, run_id, node, *attempt, *at).await
        }
        Op::Flush(_) => Ok(()),
        Op::FinishExecution {
            node,
            attempt,
            keep_first,
            status,
            reason,
            message,
            duration_ms,
            outputs,
            at,
        } => {
            let outcome = runs::Outcome {
                status: *status,
                reason: *reason,
                message: message.as_deref(),
                duration_ms: *duration_ms,
                outputs: outputs.as_deref(),
            };
            if *keep_first {
                runs::finish_open_execution(&mut **tx, run_id, node, *attempt, &outcome, *at)
                    .await
                    .map(drop)
            } else {
                runs::finish_execution(&mut **tx, run_id, node, *attempt, &outcome, *at).await
            }
        }
        Op::SaveStates {
            status,
            states,
            queued,
            started,
            at,
        } => runs::save_states(&mut **tx, run_id, *status, states, queued, *started, *at).await,
        Op::FinishRun {
            status,
            message,
            states,
            at,
        } => runs::finish(&mut **tx, run_id, *status, message, states, *at).await,
    }
}

/// Writes one batch in one transaction. On a retry, a batch whose events are
/// already stored was committed by an attempt whose answer was lost: it is
/// not written twice. (Its state writes are idempotent anyway.)
async fn write(
    db: &MySqlPool,
    run_id: u64,
    first_seq: u64,
    batch: &[Pending],
    retry: bool,
) -> Result<(), sqlx::Error> {
    let now = Utc::now();
    let has_events = batch.iter().any(|p| p.op.is_none());
    if retry && has_events && crate::db::runs::last_event_seq(db, run_id).await? >= first_seq {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    // Only the last snapshot of the node state map in a batch matters.
    let last_save = batch
        .iter()
        .rposition(|p| matches!(p.op, Some(Op::SaveStates { .. })));
    for (i, p) in batch.iter().enumerate() {
        match &p.op {
            Some(Op::SaveStates { .. }) if Some(i) != last_save => {}
            Some(op) => apply(&mut tx, run_id, op).await?,
            None => {}
        }
    }
    let events: Vec<&Pending> = batch.iter().filter(|p| p.op.is_none()).collect();
    if events.is_empty() {
        return tx.commit().await;
    }
    let mut qb =
        QueryBuilder::<MySql>::new("INSERT INTO run_event (run_id, seq, kind, data, created_at) ");
    qb.push_values(events.iter().enumerate(), |mut b, (i, p)| {
        b.push_bind(run_id)
            .push_bind(first_seq + i as u64)
            .push_bind(p.kind)
            .push_bind(p.data.to_string())
            .push_bind(now);
    });
    qb.build().execute(&mut *tx).await?;
    let logs: Vec<(u64, &LogLine)> = events
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.log.as_ref().map(|l| (first_seq + i as u64, l)))
        .collect();
    if !logs.is_empty() {
        let mut qb = QueryBuilder::<MySql>::new(
            "INSERT INTO node_log (run_id, seq, node_id, attempt, ts, level, stream, message) ",
        );
        qb.push_values(logs, |mut b, (seq, l)| {
            b.push_bind(run_id)
                .push_bind(seq)
                .push_bind(l.node.clone())
                .push_bind(l.attempt)
                .push_bind(l.ts)
                .push_bind(l.level.clone())
                .push_bind(l.stream.clone())
                .push_bind(l.message.clone());
        });
        qb.build().execute(&mut *tx).await?;
    }
    tx.commit().await
}
