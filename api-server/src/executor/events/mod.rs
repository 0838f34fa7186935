//! The run store: each run's state changes and event log are written in
//! order, by one task that commits the queues of every run of this process
//! (see [`hub`]). Every status change, log line and progress report gets
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

mod hub;
mod write;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use katalusis_crds::plan::{FailureReason, NodePhase, NodeState, RunPhase};
use serde::Serialize;
use serde_json::{json, Value};
use sqlx::MySqlPool;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

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

    /// The kind named `s`, as stored.
    pub fn parse(s: &str) -> Option<&'static str> {
        [RUN, NODE, LOG, PROGRESS].into_iter().find(|k| *k == s)
    }
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
        // Only once the attempt has ended (the metrics read it).
        "durationMs": st.finished_at_ms.zip(st.started_at_ms).map(|(f, s)| (f - s).max(0)),
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
    /// Read from another replica's work: counted and acted on there, only shown here.
    #[serde(skip)]
    pub peer: bool,
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
    Flush(Option<oneshot::Sender<()>>),
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
    /// Another replica claimed the run: nothing more of this driver is stored.
    pub fenced: bool,
    /// Entries queued but not committed yet.
    pub unstored: usize,
}

/// The run store of this process: where every run's store sends its
/// entries. Cheap to clone.
#[derive(Clone)]
pub struct RunStore {
    tx: mpsc::UnboundedSender<hub::Msg>,
    health: Arc<StoreHealth>,
}

impl RunStore {
    /// Starts the task that commits every run's entries of `replica`.
    pub fn start(db: MySqlPool, replica: crate::replicas::Replica) -> Self {
        let health = Arc::new(StoreHealth::default());
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(hub::Hub::new(db, health.clone(), replica).run(rx));
        Self { tx, health }
    }

    pub fn health(&self) -> &StoreHealth {
        &self.health
    }
}

/// One run's store.
pub struct EventSink {
    run_id: u64,
    tx: mpsc::UnboundedSender<hub::Msg>,
    unstored: Arc<AtomicUsize>,
    health: Arc<StoreHealth>,
    status: watch::Receiver<StoreStatus>,
}

impl EventSink {
    /// Opens a run's store; `last_seq` is the last sequence number stored.
    /// A `claimed` run (local executor) is stored only while this replica
    /// holds its claim; once another replica took it over, the store drops
    /// what comes and reports the run as fenced.
    pub fn start(
        store: &RunStore,
        run_id: u64,
        client_id: u64,
        last_seq: u64,
        live: broadcast::Sender<RunEvent>,
        claimed: bool,
    ) -> Self {
        let unstored = Arc::new(AtomicUsize::new(0));
        let (status_tx, status) = watch::channel(StoreStatus::default());
        let log = hub::RunLog::new(
            run_id,
            client_id,
            last_seq,
            live,
            unstored.clone(),
            status_tx,
            claimed,
        );
        let _ = store.tx.send(hub::Msg::Open(Box::new(log)));
        Self {
            run_id,
            tx: store.tx.clone(),
            unstored,
            health: store.health.clone(),
            status,
        }
    }

    fn send(&self, p: Pending) {
        self.unstored.fetch_add(1, Ordering::Relaxed);
        self.health.unstored.fetch_add(1, Ordering::Relaxed);
        if self.tx.send(hub::Msg::Entry(self.run_id, p)).is_err() {
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
        let (tx, rx) = oneshot::channel();
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

    /// Waits until everything emitted so far is written, and closes the store.
    pub async fn close(self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(hub::Msg::Close(self.run_id, tx)).is_ok() {
            let _ = rx.await;
        }
    }
}
