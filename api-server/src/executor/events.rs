//! The per-run store: one task per run writes the run's state changes and its
//! event log in order. Every status change, log line and progress report gets
//! the run's next sequence number, is written to `run_event` (log lines also
//! to `node_log`) and only then published to live listeners, so a listener
//! that replays from the database and then follows the live feed misses
//! nothing. State writes (`node_execution`, `run.node_states`) queue in the
//! same order and whatever is waiting is committed in one transaction, so a
//! node costs the driver no database round trip on its critical path.
//!
//! A batch that cannot be committed (the database went away) is retried, in
//! order and with backoff, until it is durable; nothing behind it is written
//! or published before it, so sequence numbers stay gap-free and listeners
//! never see an event that is not stored. While a run's store is failing its
//! driver starts no new node (see [`StoreStatus`]).
//!
//! After a crash the database may lag the driver by the last batch; resuming
//! then treats a node that had already finished as interrupted and retries it
//! if its policy allows, which is the documented at-least-once behaviour.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use katalusis_crds::plan::{FailureReason, NodePhase, NodeState, RunPhase};
use serde::Serialize;
use serde_json::{json, Value};
use sqlx::{MySql, MySqlPool, QueryBuilder};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;

/// The kinds of run events, as stored in `run_event.kind` and sent as SSE event names.
pub mod kind {
    /// The run's phase changed (`{status, message?}`); a final phase ends streams.
    pub const RUN: &str = "run";
    /// A node's state changed (`{node, status, attempt, reason, message}`).
    pub const NODE: &str = "node";
    /// A log line of a node attempt.
    pub const LOG: &str = "log";
    /// A progress report of a node attempt.
    pub const PROGRESS: &str = "progress";
}

/// The `run` event published when a run's phase changes.
pub fn run_event(phase: RunPhase, message: Option<&str>) -> Value {
    match message {
        Some(m) => json!({"status": phase.as_str(), "message": m}),
        None => json!({"status": phase.as_str()}),
    }
}

/// The `node` event published when a node's state changes.
pub fn node_event(node: &str, st: &NodeState) -> Value {
    json!({
        "node": node,
        "status": st.phase.as_str(),
        "attempt": st.attempt,
        "reason": st.reason.map(FailureReason::as_str),
        "message": st.message,
    })
}

/// Whether an event reports that its run reached a final phase.
pub fn is_final_run_event(kind: &str, data: &Value) -> bool {
    kind == kind::RUN
        && data["status"]
            .as_str()
            .and_then(|s| s.parse::<RunPhase>().ok())
            .is_some_and(RunPhase::is_terminal)
}

/// One published event.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunEvent {
    pub run_id: u64,
    pub client_id: u64,
    pub seq: u64,
    /// `run`, `node`, `log` or `progress`.
    pub kind: &'static str,
    pub data: Value,
}

/// A log line as stored in `node_log`.
#[derive(Debug, Clone)]
pub struct LogLine {
    pub node: String,
    pub attempt: u32,
    pub ts: DateTime<Utc>,
    pub level: String,
    pub stream: String,
    pub message: String,
}

/// A state write, applied in the order it was queued.
#[derive(Debug)]
pub enum Op {
    StartExecution {
        node: String,
        attempt: u32,
        at: DateTime<Utc>,
    },
    /// Inserts the attempt's row unless it exists (Kubernetes mirror).
    EnsureExecution {
        node: String,
        attempt: u32,
        at: DateTime<Utc>,
    },
    FinishExecution {
        node: String,
        attempt: u32,
        /// Leave an attempt that already has an outcome alone (the Kubernetes
        /// mirror: the outcome posted by the node's Pod wins).
        keep_first: bool,
        status: NodePhase,
        reason: Option<FailureReason>,
        message: Option<String>,
        duration_ms: Option<i64>,
        outputs: Option<String>,
        at: DateTime<Utc>,
    },
    SaveStates {
        status: RunPhase,
        states: crate::db::runs::NodeStates,
        queued: Vec<String>,
        started: bool,
        at: DateTime<Utc>,
    },
    FinishRun {
        status: RunPhase,
        message: String,
        states: crate::db::runs::NodeStates,
        at: DateTime<Utc>,
    },
    /// Signalled once everything queued before it is committed.
    Flush(Option<tokio::sync::oneshot::Sender<()>>),
}

struct Pending {
    kind: &'static str,
    data: Value,
    log: Option<LogLine>,
    op: Option<Op>,
}

impl Pending {
    fn is_log(&self) -> bool {
        self.log.is_some()
    }
}

/// Most events written in one INSERT.
const MAX_BATCH: usize = 500;
/// How long a batch of only log lines waits for more lines.
const LOG_LINGER: Duration = Duration::from_millis(50);

/// First and longest pause between two attempts to store a failed batch.
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(5);

/// Counters over every run's store in this process, for readiness.
#[derive(Debug, Default)]
pub struct StoreHealth {
    unstored: AtomicUsize,
    failing: AtomicUsize,
}

/// What is waiting to be stored, over all runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backlog {
    /// Events and state writes queued but not committed yet.
    pub unstored: usize,
    /// Runs whose store is retrying a failed write right now.
    pub failing_runs: usize,
}

impl StoreHealth {
    pub fn backlog(&self) -> Backlog {
        Backlog {
            unstored: self.unstored.load(Ordering::Relaxed),
            failing_runs: self.failing.load(Ordering::Relaxed),
        }
    }
}

/// The state of one run's store, as its driver sees it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStatus {
    /// Since when the oldest unstored batch has been failing, if it is.
    pub failing_since: Option<tokio::time::Instant>,
    /// Entries queued but not committed yet.
    pub unstored: usize,
}

pub struct EventSink {
    tx: mpsc::UnboundedSender<Pending>,
    task: JoinHandle<()>,
    unstored: Arc<AtomicUsize>,
    health: Arc<StoreHealth>,
    status: watch::Receiver<StoreStatus>,
}

impl EventSink {
    pub fn start(
        db: MySqlPool,
        run_id: u64,
        client_id: u64,
        last_seq: u64,
        live: broadcast::Sender<RunEvent>,
        health: Arc<StoreHealth>,
    ) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let unstored = Arc::new(AtomicUsize::new(0));
        let (status_tx, status) = watch::channel(StoreStatus::default());
        let writer = Writer {
            db,
            run_id,
            client_id,
            seq: last_seq,
            live,
            unstored: unstored.clone(),
            health: health.clone(),
            status: status_tx,
        };
        let task = tokio::spawn(writer.run(rx));
        Self {
            tx,
            task,
            unstored,
            health,
            status,
        }
    }

    fn send(&self, p: Pending) {
        self.unstored.fetch_add(1, Ordering::Relaxed);
        self.health.unstored.fetch_add(1, Ordering::Relaxed);
        if self.tx.send(p).is_err() {
            self.unstored.fetch_sub(1, Ordering::Relaxed);
            self.health.unstored.fetch_sub(1, Ordering::Relaxed);
        }
    }

    pub fn emit(&self, kind: &'static str, data: Value) {
        self.send(Pending {
            kind,
            data,
            log: None,
            op: None,
        });
    }

    pub fn log(&self, line: LogLine, data: Value) {
        self.send(Pending {
            kind: kind::LOG,
            data,
            log: Some(line),
            op: None,
        });
    }

    /// Queues a state write; it is committed before any event emitted after it.
    pub fn write(&self, op: Op) {
        self.send(Pending {
            kind: "",
            data: Value::Null,
            log: None,
            op: Some(op),
        });
    }

    /// Waits until everything queued so far is committed (and published).
    pub async fn flush(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.write(Op::Flush(Some(tx)));
        let _ = rx.await;
    }

    /// Whether the store is failing, and how much waits to be stored.
    pub fn status(&self) -> StoreStatus {
        StoreStatus {
            unstored: self.unstored.load(Ordering::Relaxed),
            ..*self.status.borrow()
        }
    }

    /// Changes whenever the store starts or stops failing.
    pub fn status_changes(&self) -> watch::Receiver<StoreStatus> {
        self.status.clone()
    }

    /// Writes everything emitted so far and stops the writer.
    pub async fn close(self) {
        drop(self.tx);
        let _ = self.task.await;
    }
}

/// The task that commits one run's queue in order.
struct Writer {
    db: MySqlPool,
    run_id: u64,
    client_id: u64,
    /// The last sequence number committed.
    seq: u64,
    live: broadcast::Sender<RunEvent>,
    unstored: Arc<AtomicUsize>,
    health: Arc<StoreHealth>,
    status: watch::Sender<StoreStatus>,
}

impl Writer {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Pending>) {
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
