//! The lifecycle of runner pools: the spare kept ready per trust level, the
//! warm pools the runs of one client share, and the pools one run uses until
//! it ends.
//!
//! A pool is shared only when its runner confines every job to its own
//! directory (Landlock, reported in its `ready` line): then jobs of two runs
//! of the same client cannot read each other's files, signal or trace each
//! other. Without that, or between clients, nothing is shared: every run
//! starts (or takes the spare of) a pool of its own.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use katalusis_crds::{ModuleSettings, TrustLevel};
use serde_json::Value;
use tokio::io::{BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::runner::{send_line, Launched, Pool, PoolEvent};
use super::Local;
use crate::config::SandboxMode;
use crate::executor::protocol::{JobIsolation, RunnerEvent};

type SpareStart = JoinHandle<Result<Pool, String>>;

/// What a spare must match to serve a run: its trust level and the module
/// allow-list its restricted standard library was built from.
type SpareKey = (TrustLevel, Option<Vec<String>>);

fn spare_key(trust: TrustLevel, modules: Option<&ModuleSettings>) -> SpareKey {
    let allow = match trust {
        TrustLevel::Restricted => modules.map(|m| m.allow.clone()),
        TrustLevel::Trusted => None,
    };
    (trust, allow)
}

/// One never used runner per trust level, started ahead and handed whole to
/// the next client (or unshared run) that needs one, so nobody waits for a
/// sandbox to start. A run that finds the spare still starting waits for
/// it, which is never slower than starting its own.
#[derive(Default)]
pub(super) struct Spares(tokio::sync::Mutex<HashMap<SpareKey, SpareStart>>);

impl Spares {
    /// Spares kept now (started or starting); 0 while a run is taking one,
    /// which a scrape can miss without harm.
    pub(super) fn count(&self) -> usize {
        self.0.try_lock().map_or(0, |m| m.len())
    }
}

/// A runner: the spare if there is one, else a fresh one; either way the
/// next spare starts in the background.
async fn take(
    local: &Arc<Local>,
    trust: TrustLevel,
    modules: Option<&ModuleSettings>,
) -> Result<Pool, String> {
    let key = spare_key(trust, modules);
    let spare = local.spares.0.lock().await.remove(&key);
    let spare = match spare {
        Some(handle) => handle.await.ok().and_then(Result::ok),
        None => None,
    };
    let pool = match spare.and_then(|mut p| p.is_alive().then_some(p)) {
        Some(p) => Ok(p),
        None => start_process(local, trust, modules).await,
    };
    if pool.is_ok() {
        let next = {
            let local = local.clone();
            let modules = modules.cloned();
            tokio::spawn(async move { start_process(&local, trust, modules.as_ref()).await })
        };
        // A spare started concurrently by another run is replaced (and killed when it finishes).
        if let Some(old) = local.spares.0.lock().await.insert(key, next) {
            old.abort();
        }
    }
    pool
}

async fn start_process(
    local: &Local,
    trust: TrustLevel,
    modules: Option<&ModuleSettings>,
) -> Result<Pool, String> {
    let runner = local.runner.as_ref().map_err(Clone::clone)?;
    Pool::start(&local.settings, runner, trust, modules).await
}

/// Where a pool sends a run's events.
type Route = mpsc::UnboundedSender<(TrustLevel, PoolEvent)>;

/// The id a job has on the wire of a pool: unique across the runs the pool
/// serves. Runs know their jobs by the part after the run id.
fn wire_id(run_id: u64, job: &str) -> String {
    format!("{run_id}/{job}")
}

fn split_wire(id: &str) -> Option<(u64, &str)> {
    let (run, job) = id.split_once('/')?;
    Some((run.parse().ok()?, job))
}

/// A started runner serving one run, or (when its jobs are confined) every
/// run of one client: writes their lines and routes each event to the run
/// whose job it is.
pub(super) struct LivePool {
    trust: TrustLevel,
    shared: bool,
    stdin: tokio::sync::Mutex<Option<ChildStdin>>,
    child: tokio::sync::Mutex<Option<Child>>,
    routes: Mutex<HashMap<u64, Route>>,
    alive: AtomicBool,
    /// When the last run left; `None` while a run uses the pool.
    idle_since: Mutex<Option<Instant>>,
}

impl LivePool {
    fn adopt(pool: Pool, trust: TrustLevel, may_share: bool) -> Arc<Self> {
        let Pool {
            child,
            stdin,
            lines,
            isolation,
        } = pool;
        let live = Arc::new(Self {
            trust,
            shared: may_share && isolation == JobIsolation::Landlock,
            stdin: tokio::sync::Mutex::new(stdin),
            child: tokio::sync::Mutex::new(Some(child)),
            routes: Mutex::new(HashMap::new()),
            alive: AtomicBool::new(true),
            idle_since: Mutex::new(None),
        });
        tokio::spawn(route_events(Arc::downgrade(&live), lines));
        live
    }

    fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Acquire)
    }

    fn join(&self, run_id: u64, route: Route) {
        if let Ok(mut routes) = self.routes.lock() {
            routes.insert(run_id, route);
        }
        if let Ok(mut idle) = self.idle_since.lock() {
            *idle = None;
        }
    }

    fn leave(&self, run_id: u64) {
        let empty = self.routes.lock().map_or(true, |mut r| {
            r.remove(&run_id);
            r.is_empty()
        });
        if empty {
            if let Ok(mut idle) = self.idle_since.lock() {
                *idle = Some(Instant::now());
            }
        }
    }

    /// Idle for at least `d` (no run has used it since).
    fn idle_for(&self, d: Duration) -> bool {
        self.idle_since
            .lock()
            .ok()
            .and_then(|i| *i)
            .is_some_and(|since| since.elapsed() >= d)
    }

    async fn send(&self, msg: &Value) -> std::io::Result<()> {
        let mut stdin = self.stdin.lock().await;
        send_line(stdin.as_mut(), msg).await
    }

    /// Closes stdin (the runner kills leftover jobs and exits), then waits
    /// briefly and kills it if it lingers.
    async fn stop(&self) {
        drop(self.stdin.lock().await.take());
        if let Some(mut child) = self.child.lock().await.take() {
            Launched::reap(&mut child, Duration::from_secs(5)).await;
        }
    }
}

/// Reads a pool's events and hands each to the run of its job; when the
/// runner ends, every run it served learns it.
async fn route_events(pool: Weak<LivePool>, mut lines: Lines<BufReader<ChildStdout>>) {
    loop {
        let line = lines.next_line().await;
        let Some(pool) = pool.upgrade() else { return };
        let died = match line {
            Ok(Some(line)) => {
                match RunnerEvent::parse(&line) {
                    Ok(mut ev) => {
                        let run = ev.job_mut().and_then(|id| {
                            let (run, job) = split_wire(id)?;
                            *id = job.to_owned();
                            Some(run)
                        });
                        let route = run.and_then(|run| {
                            pool.routes.lock().ok().and_then(|r| r.get(&run).cloned())
                        });
                        match route {
                            Some(route) => {
                                let _ = route.send((pool.trust, PoolEvent::Job(ev)));
                            }
                            // A run that already left (its cancelled jobs' last words).
                            None if run.is_some() => {}
                            None => tracing::warn!(line = %line, "runner event without a run"),
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "unreadable runner line"),
                }
                None
            }
            Ok(None) => Some("the node runner exited".to_owned()),
            Err(e) => Some(format!("reading the node runner failed: {e}")),
        };
        if let Some(message) = died {
            pool.alive.store(false, Ordering::Release);
            let routes: Vec<Route> = pool
                .routes
                .lock()
                .map(|r| r.values().cloned().collect())
                .unwrap_or_default();
            for route in routes {
                let _ = route.send((pool.trust, PoolEvent::Died(message.clone())));
            }
            return;
        }
    }
}

/// What the registry knows of one client's pool of one kind.
enum Slot {
    Empty,
    Live(Arc<LivePool>),
    /// The runner here cannot confine jobs: each run gets its own pool.
    Unshareable,
}

/// A client's warm pool per trust level and module allow-list.
type PoolKey = (u64, TrustLevel, Option<Vec<String>>);

/// The pools runs of one client share, kept warm between runs for
/// `KATALUSIS_POOL_IDLE_SECONDS`.
#[derive(Default)]
pub(super) struct SharedPools(Mutex<HashMap<PoolKey, Arc<tokio::sync::Mutex<Slot>>>>);

impl SharedPools {
    fn slot(&self, key: PoolKey) -> Arc<tokio::sync::Mutex<Slot>> {
        let mut slots = self.0.lock().unwrap_or_else(|e| e.into_inner());
        slots
            .entry(key)
            .or_insert_with(|| Arc::new(tokio::sync::Mutex::new(Slot::Empty)))
            .clone()
    }

    /// Warm pools kept for clients now.
    pub(super) fn count(&self) -> usize {
        let slots = self.0.lock().unwrap_or_else(|e| e.into_inner());
        slots
            .values()
            .filter(|s| {
                s.try_lock()
                    .is_ok_and(|s| matches!(&*s, Slot::Live(p) if p.is_alive()))
            })
            .count()
    }

    /// Stops the pools no run has used for `idle` (and forgets dead ones).
    pub(super) async fn reap_idle(&self, idle: Duration) {
        let slots: Vec<(PoolKey, Arc<tokio::sync::Mutex<Slot>>)> = {
            let slots = self.0.lock().unwrap_or_else(|e| e.into_inner());
            slots.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
        };
        for (key, slot) in slots {
            let Ok(mut s) = slot.try_lock() else { continue };
            let stale = match &*s {
                Slot::Live(p) => !p.is_alive() || p.idle_for(idle),
                Slot::Empty => true,
                Slot::Unshareable => false,
            };
            if !stale {
                continue;
            }
            if let Slot::Live(p) = std::mem::replace(&mut *s, Slot::Empty) {
                tracing::debug!(
                    client_id = key.0,
                    trust = key.1.as_str(),
                    "stopping idle runner pool"
                );
                p.stop().await;
            }
            drop(s);
            let mut slots = self.0.lock().unwrap_or_else(|e| e.into_inner());
            // Only if nobody took the slot meanwhile.
            if slots.get(&key).is_some_and(|v| Arc::ptr_eq(v, &slot))
                && Arc::strong_count(&slot) <= 2
            {
                slots.remove(&key);
            }
        }
    }
}

/// A run's pool of one trust level, or why it has none.
enum PoolState {
    Ready(Arc<LivePool>),
    Failed(String),
}

/// The pools one run uses, at most one per trust level, and the events
/// they send it.
pub(super) struct RunPools {
    run_id: u64,
    client_id: u64,
    pools: HashMap<TrustLevel, PoolState>,
    /// The run's module allow-list, which shapes its restricted pool.
    modules: Option<ModuleSettings>,
    /// Jobs handed to a pool and not finished (wire ids), to cancel when the
    /// run ends before them: a shared pool outlives the run.
    inflight: HashMap<String, TrustLevel>,
    tx: mpsc::UnboundedSender<(TrustLevel, PoolEvent)>,
    rx: mpsc::UnboundedReceiver<(TrustLevel, PoolEvent)>,
}

impl RunPools {
    pub fn new(run_id: u64, client_id: u64, modules: Option<ModuleSettings>) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            run_id,
            client_id,
            pools: HashMap::new(),
            modules,
            inflight: HashMap::new(),
            tx,
            rx,
        }
    }

    /// Acquires the pools of these trust levels concurrently.
    pub async fn start(&mut self, local: &Arc<Local>, needed: Vec<TrustLevel>) {
        let modules = self.modules.as_ref();
        let (run_id, client_id) = (self.run_id, self.client_id);
        let starts = needed.into_iter().map(|trust| {
            let tx = self.tx.clone();
            async move {
                (
                    trust,
                    acquire(local, run_id, client_id, trust, modules, tx).await,
                )
            }
        });
        for (trust, state) in futures::future::join_all(starts).await {
            self.pools.insert(trust, state);
        }
    }

    /// Sends a job to the pool of its trust level, acquiring that pool first
    /// if the run has none (for example after it died). The error is a
    /// sentence for the node's failure message.
    pub async fn send_job(
        &mut self,
        local: &Arc<Local>,
        trust: TrustLevel,
        job: &Value,
    ) -> Result<(), String> {
        if !self.pools.contains_key(&trust) {
            let state = acquire(
                local,
                self.run_id,
                self.client_id,
                trust,
                self.modules.as_ref(),
                self.tx.clone(),
            )
            .await;
            self.pools.insert(trust, state);
        }
        let mut job = job.clone();
        let wire = self.to_wire(&mut job);
        match self.pools.get(&trust) {
            Some(PoolState::Ready(pool)) => {
                pool.send(&job)
                    .await
                    .map_err(|e| format!("could not hand the node to its runner: {e}"))?;
                if let Some(wire) = wire {
                    self.inflight.insert(wire, trust);
                }
                Ok(())
            }
            Some(PoolState::Failed(e)) => Err(e.clone()),
            None => Err("no runner for this trust level".into()),
        }
    }

    /// Rewrites the message's job id to its wire id, which it returns.
    fn to_wire(&self, msg: &mut Value) -> Option<String> {
        let slot = msg.get_mut("job")?;
        let wire = wire_id(self.run_id, slot.as_str()?);
        *slot = Value::String(wire.clone());
        Some(wire)
    }

    /// Sends a control message (such as `cancel`) to a running pool; a pool
    /// that is gone has nothing left to cancel.
    pub async fn send_control(&mut self, trust: TrustLevel, msg: &Value) {
        let mut msg = msg.clone();
        self.to_wire(&mut msg);
        if let Some(PoolState::Ready(pool)) = self.pools.get(&trust) {
            let _ = pool.send(&msg).await;
        }
    }

    /// Forgets a pool whose process died; the next job of its trust level
    /// acquires a fresh one.
    pub async fn remove(&mut self, trust: TrustLevel) {
        self.inflight.retain(|_, t| *t != trust);
        if let Some(PoolState::Ready(dead)) = self.pools.remove(&trust) {
            self.release(&dead).await;
        }
    }

    async fn release(&self, pool: &LivePool) {
        pool.leave(self.run_id);
        if !pool.shared {
            pool.stop().await;
        }
    }

    fn seen(&mut self, ev: &(TrustLevel, PoolEvent)) {
        if let (_, PoolEvent::Job(RunnerEvent::Finished { job, .. })) = ev {
            self.inflight.remove(&wire_id(self.run_id, job));
        }
    }

    /// The next event of any of the run's pools.
    pub async fn recv(&mut self) -> Option<(TrustLevel, PoolEvent)> {
        let ev = self.rx.recv().await?;
        self.seen(&ev);
        Some(ev)
    }

    /// An event that is already waiting, if any.
    pub fn try_recv(&mut self) -> Option<(TrustLevel, PoolEvent)> {
        let ev = self.rx.try_recv().ok()?;
        self.seen(&ev);
        Some(ev)
    }

    /// Leaves every pool (the run ended): jobs of the run still running are
    /// cancelled, a pool of its own is stopped.
    pub async fn stop_all(&mut self) {
        let inflight = std::mem::take(&mut self.inflight);
        for (wire, trust) in inflight {
            if let Some(PoolState::Ready(pool)) = self.pools.get(&trust) {
                let _ = pool
                    .send(&serde_json::json!({"v": 1, "type": "cancel", "job": wire}))
                    .await;
            }
        }
        for (_, pool) in std::mem::take(&mut self.pools) {
            if let PoolState::Ready(p) = pool {
                self.release(&p).await;
            }
        }
    }
}

/// A pool of this trust level for one run of a client, or why there is none.
async fn acquire(
    local: &Arc<Local>,
    run_id: u64,
    client_id: u64,
    trust: TrustLevel,
    modules: Option<&ModuleSettings>,
    route: Route,
) -> PoolState {
    let state = match (&local.runner, trust, local.settings.sandbox) {
        (_, TrustLevel::Restricted, SandboxMode::None) => PoolState::Failed(
            "restricted nodes only run inside the bubblewrap sandbox, and this server runs with \
             KATALUSIS_SANDBOX=none"
                .into(),
        ),
        (Err(e), _, _) => PoolState::Failed(e.clone()),
        (Ok(_), _, _) => match client_pool(local, client_id, trust, modules).await {
            Ok(p) => {
                p.join(run_id, route);
                PoolState::Ready(p)
            }
            Err(e) => PoolState::Failed(e),
        },
    };
    if let PoolState::Failed(e) = &state {
        tracing::warn!(trust = trust.as_str(), error = %e, "runner pool unavailable");
    }
    state
}

/// The client's warm pool, started (from the spare) if there is none; a
/// pool of the run's own where jobs cannot be confined.
async fn client_pool(
    local: &Arc<Local>,
    client_id: u64,
    trust: TrustLevel,
    modules: Option<&ModuleSettings>,
) -> Result<Arc<LivePool>, String> {
    let (_, allow) = spare_key(trust, modules);
    let slot = local.shared.slot((client_id, trust, allow));
    let mut slot = slot.lock().await;
    match &*slot {
        Slot::Live(p) if p.is_alive() => return Ok(p.clone()),
        Slot::Unshareable => {
            drop(slot);
            return Ok(LivePool::adopt(
                take(local, trust, modules).await?,
                trust,
                false,
            ));
        }
        Slot::Live(_) | Slot::Empty => {}
    }
    let live = LivePool::adopt(take(local, trust, modules).await?, trust, true);
    *slot = if live.shared {
        Slot::Live(live.clone())
    } else {
        tracing::warn!(
            trust = trust.as_str(),
            "the node runner cannot confine jobs (no Landlock): every run starts its own sandbox"
        );
        Slot::Unshareable
    };
    Ok(live)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_ids_carry_the_run() {
        let id = wire_id(42, "node/with/slash#3");
        assert_eq!(split_wire(&id), Some((42, "node/with/slash#3")));
        assert_eq!(split_wire("node#1"), None);
        assert_eq!(split_wire("x/node#1"), None);
    }
}
