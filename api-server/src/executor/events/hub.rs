//! The writing half of the run store: one task commits the queues of every
//! run of this process, in order per run, retrying a run's failed batch
//! until it is durable, then publishes it.
//!
//! Under load most runs have something waiting at the same moment, so one
//! transaction (one commit, one fsync, one `INSERT` of all their events)
//! carries the changes of many runs. A run's entries are committed and
//! published strictly in the order they were queued; runs do not wait for
//! each other, except that a failing run is retried on its own schedule
//! while the others go on.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::MySqlPool;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::time::Instant;

use super::write::{write_runs, RunBatch};
use super::{Op, Pending, RunEvent, StoreHealth, StoreStatus};

/// Most entries of one run in one transaction.
const MAX_PER_RUN: usize = 500;
/// Most entries in one transaction, over all runs.
const MAX_BATCH: usize = 2000;
/// How long a batch of only log lines waits for more lines.
const LOG_LINGER: Duration = Duration::from_millis(50);

/// First and longest pause between two attempts to store a failed batch.
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(5);

/// What a run's store sends to the hub, in the order it happened.
// Entries are nearly every message: boxing them would allocate per entry.
#[allow(clippy::large_enum_variant)]
pub(super) enum Msg {
    Open(Box<RunLog>),
    Entry(u64, Pending),
    /// Answered once everything the run queued is committed and published;
    /// the hub then forgets the run.
    Close(u64, oneshot::Sender<()>),
}

/// One run's place in the hub.
pub(super) struct RunLog {
    pub(super) run_id: u64,
    pub(super) client_id: u64,
    /// The last sequence number committed.
    pub(super) seq: u64,
    pub(super) live: broadcast::Sender<RunEvent>,
    pub(super) unstored: Arc<AtomicUsize>,
    pub(super) status: watch::Sender<StoreStatus>,
    /// Stored only while this replica holds the run's claim.
    pub(super) claimed: bool,
    /// Another replica took the run over: entries are dropped.
    fenced: bool,
    queue: VecDeque<Pending>,
    failing: Option<Backoff>,
    closing: Option<oneshot::Sender<()>>,
}

impl RunLog {
    pub(super) fn new(
        run_id: u64,
        client_id: u64,
        seq: u64,
        live: broadcast::Sender<RunEvent>,
        unstored: Arc<AtomicUsize>,
        status: watch::Sender<StoreStatus>,
        claimed: bool,
    ) -> Self {
        Self {
            run_id,
            client_id,
            seq,
            live,
            unstored,
            status,
            claimed,
            fenced: false,
            queue: VecDeque::new(),
            failing: None,
            closing: None,
        }
    }

    fn due(&self, now: Instant) -> bool {
        !self.queue.is_empty() && self.failing.as_ref().is_none_or(|b| b.next_try <= now)
    }
}

struct Backoff {
    attempts: u32,
    delay: Duration,
    next_try: Instant,
}

pub(super) struct Hub {
    pub(super) db: MySqlPool,
    pub(super) health: Arc<StoreHealth>,
    runs: HashMap<u64, RunLog>,
    replica: crate::replicas::Replica,
}

impl Hub {
    pub(super) fn new(
        db: MySqlPool,
        health: Arc<StoreHealth>,
        replica: crate::replicas::Replica,
    ) -> Self {
        Self {
            db,
            health,
            runs: HashMap::new(),
            replica,
        }
    }

    pub(super) async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Msg>) {
        loop {
            let retry_at = self
                .runs
                .values()
                .filter(|r| !r.queue.is_empty())
                .filter_map(|r| r.failing.as_ref().map(|b| b.next_try))
                .min();
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(m) => self.absorb(m),
                    // Every sender is gone: nothing more will be queued.
                    None if self.runs.values().all(|r| r.queue.is_empty()) => return,
                    None => tokio::time::sleep(RETRY_FIRST).await,
                },
                _ = tokio::time::sleep_until(retry_at.unwrap_or_else(Instant::now)), if retry_at.is_some() => {}
            }
            while let Ok(m) = rx.try_recv() {
                self.absorb(m);
            }
            self.linger_for_logs(&mut rx).await;
            self.commit_due().await;
            self.close_finished();
        }
    }

    fn absorb(&mut self, msg: Msg) {
        match msg {
            Msg::Open(log) => {
                self.runs.insert(log.run_id, *log);
            }
            Msg::Entry(run_id, p) => {
                if let Some(r) = self.runs.get_mut(&run_id) {
                    r.queue.push_back(p);
                    if r.fenced {
                        self.drop_fenced(run_id);
                    }
                }
            }
            Msg::Close(run_id, done) => match self.runs.get_mut(&run_id) {
                Some(r) => r.closing = Some(done),
                None => {
                    let _ = done.send(());
                }
            },
        }
    }

    /// Log lines come in bursts: when only log lines wait, wait a little for
    /// the rest of the burst, unless a status change comes to be shown.
    async fn linger_for_logs(&mut self, rx: &mut mpsc::UnboundedReceiver<Msg>) {
        let now = Instant::now();
        let waiting = || {
            self.runs
                .values()
                .filter(|r| r.due(now))
                .flat_map(|r| r.queue.iter())
        };
        let mut count = 0;
        for p in waiting() {
            if !p.is_log() {
                return;
            }
            count += 1;
        }
        if count == 0 {
            return;
        }
        let deadline = now + LOG_LINGER;
        while count < MAX_BATCH {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(m)) => {
                    let is_log = matches!(&m, Msg::Entry(_, p) if p.is_log());
                    self.absorb(m);
                    if !is_log {
                        return;
                    }
                    count += 1;
                }
                _ => return,
            }
        }
    }

    /// Commits what every due run has waiting, in one transaction when it can.
    async fn commit_due(&mut self) {
        let now = Instant::now();
        let mut due: Vec<(u64, usize)> = Vec::new();
        let mut total = 0;
        for r in self.runs.values_mut() {
            if total >= MAX_BATCH {
                break;
            }
            if r.due(now) {
                let n = r.queue.len().min(MAX_PER_RUN).min(MAX_BATCH - total);
                total += n;
                due.push((r.run_id, n));
            }
        }
        if due.is_empty() {
            return;
        }
        let result = {
            let batches: Vec<RunBatch<'_>> = due
                .iter()
                .map(|(id, n)| self.batch_of(*id, *n, false))
                .collect();
            write_runs(&self.db, &batches, self.replica.id()).await
        };
        match result {
            Ok(fenced) => {
                for (id, n) in due {
                    if fenced.contains(&id) {
                        self.fence(id);
                    } else {
                        self.committed(id, n);
                    }
                }
            }
            Err(e) if due.len() == 1 || crate::db::is_unavailable(&e) => {
                // The database is away: every run in the batch waits for it.
                for (id, _) in due {
                    self.failed(id, &e);
                }
            }
            Err(_) => {
                // A problem with one run's data: find it, and let the others go on.
                for (id, n) in due {
                    let one = [self.batch_of(id, n, true)];
                    match write_runs(&self.db, &one, self.replica.id()).await {
                        Ok(fenced) if fenced.contains(&id) => self.fence(id),
                        Ok(_) => self.committed(id, n),
                        Err(e) => self.failed(id, &e),
                    }
                }
            }
        }
    }

    /// The first `n` entries of a run's queue. `retry`: an earlier attempt
    /// may have committed them (its answer lost), so look before writing.
    fn batch_of(&self, run_id: u64, n: usize, retry: bool) -> RunBatch<'_> {
        let r = &self.runs[&run_id];
        RunBatch {
            run_id,
            claimed: r.claimed,
            first_seq: r.seq + 1,
            entries: r.queue.range(..n).collect(),
            retry: retry || r.failing.is_some(),
        }
    }

    fn committed(&mut self, run_id: u64, n: usize) {
        let Some(r) = self.runs.get_mut(&run_id) else {
            return;
        };
        if let Some(b) = r.failing.take() {
            tracing::info!(
                run_id,
                attempts = b.attempts + 1,
                "stored the run's state and events again"
            );
            self.health.failing.fetch_sub(1, Ordering::Relaxed);
            r.status.send_modify(|s| s.failing_since = None);
        }
        r.unstored.fetch_sub(n, Ordering::Relaxed);
        self.health.unstored.fetch_sub(n, Ordering::Relaxed);
        let mut flushed = Vec::new();
        let mut events = false;
        for mut p in r.queue.drain(..n) {
            match p.op.as_mut() {
                Some(Op::Flush(tx)) => flushed.extend(tx.take()),
                Some(_) => {}
                None => {
                    events = true;
                    r.seq += 1;
                    if p.kind == super::kind::RUN {
                        // Dashboards on the other replicas show phase changes too.
                        self.replica
                            .bus()
                            .publish(crate::replicas::Message::RunPhase {
                                run_id,
                                client_id: r.client_id,
                                seq: r.seq,
                                data: p.data.clone(),
                            });
                    }
                    let _ = r.live.send(RunEvent {
                        run_id,
                        client_id: r.client_id,
                        seq: r.seq,
                        kind: p.kind,
                        data: p.data,
                        peer: false,
                    });
                }
            }
        }
        if events {
            // Streams of this run on other replicas read it now (with Redis).
            self.replica.doorbell().ring(crate::replicas::Ring::Events);
        }
        for tx in flushed {
            let _ = tx.send(());
        }
    }

    /// Another replica claimed the run: its driver here stops, and nothing
    /// it queued is stored or published.
    fn fence(&mut self, run_id: u64) {
        let Some(r) = self.runs.get_mut(&run_id) else {
            return;
        };
        if !r.fenced {
            tracing::warn!(
                run_id,
                "another replica has taken this run over; this replica stops driving it"
            );
            r.fenced = true;
            if r.failing.take().is_some() {
                self.health.failing.fetch_sub(1, Ordering::Relaxed);
            }
            r.status.send_modify(|s| {
                s.fenced = true;
                s.failing_since = None;
            });
        }
        self.drop_fenced(run_id);
    }

    /// Drops what a fenced run queued, answering its flushes.
    fn drop_fenced(&mut self, run_id: u64) {
        let Some(r) = self.runs.get_mut(&run_id) else {
            return;
        };
        let n = r.queue.len();
        r.unstored.fetch_sub(n, Ordering::Relaxed);
        self.health.unstored.fetch_sub(n, Ordering::Relaxed);
        for mut p in r.queue.drain(..) {
            if let Some(Op::Flush(tx)) = p.op.as_mut() {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(());
                }
            }
        }
    }

    fn failed(&mut self, run_id: u64, e: &sqlx::Error) {
        let Some(r) = self.runs.get_mut(&run_id) else {
            return;
        };
        match &mut r.failing {
            Some(b) => {
                b.attempts += 1;
                b.delay = (b.delay * 2).min(RETRY_MAX);
                b.next_try = Instant::now() + b.delay;
            }
            None => {
                tracing::warn!(run_id, error = %e,
                    "could not store run state and events; retrying until the database answers");
                self.health.failing.fetch_add(1, Ordering::Relaxed);
                r.status
                    .send_modify(|s| s.failing_since = Some(Instant::now()));
                r.failing = Some(Backoff {
                    attempts: 1,
                    delay: RETRY_FIRST,
                    next_try: Instant::now() + RETRY_FIRST,
                });
            }
        }
    }

    /// Answers the closes of runs whose queues are empty, and forgets them.
    fn close_finished(&mut self) {
        let done: Vec<u64> = self
            .runs
            .values()
            .filter(|r| r.closing.is_some() && r.queue.is_empty())
            .map(|r| r.run_id)
            .collect();
        for id in done {
            if let Some(mut r) = self.runs.remove(&id) {
                if let Some(tx) = r.closing.take() {
                    let _ = tx.send(());
                }
            }
        }
    }
}
