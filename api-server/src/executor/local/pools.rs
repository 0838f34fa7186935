//! The lifecycle of runner pools, keyed by trust level: the spare pool kept
//! ready per trust level, handing a pool to a run, and the set of pools one
//! run owns until it ends. Pools are never shared between runs.

use std::collections::HashMap;
use std::sync::Arc;

use katalusis_crds::{ModuleSettings, TrustLevel};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::runner::{Pool, PoolEvent};
use super::Local;
use crate::config::SandboxMode;

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
/// the next run that needs it, so a run does not wait for a sandbox to
/// start. A run that finds the spare still starting waits for it, which is
/// never slower than starting its own. Filled after the first run of each
/// trust level.
#[derive(Default)]
pub(super) struct Spares(tokio::sync::Mutex<HashMap<SpareKey, SpareStart>>);

impl Spares {
    /// Spares kept now (started or starting); 0 while a run is taking one,
    /// which a scrape can miss without harm.
    pub(super) fn count(&self) -> usize {
        self.0.try_lock().map_or(0, |m| m.len())
    }
}

/// A runner for one run: the spare if there is one, else a fresh one; either
/// way the next spare starts in the background.
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

/// A run's pool of one trust level, or why it has none.
enum PoolState {
    Ready(Box<Pool>),
    Failed(String),
}

/// The pools one run owns, at most one per trust level, and the events
/// they send it.
pub(super) struct RunPools {
    pools: HashMap<TrustLevel, PoolState>,
    /// The run's module allow-list, which shapes its restricted pool.
    modules: Option<ModuleSettings>,
    tx: mpsc::UnboundedSender<(TrustLevel, PoolEvent)>,
    rx: mpsc::UnboundedReceiver<(TrustLevel, PoolEvent)>,
}

impl RunPools {
    pub fn new(modules: Option<ModuleSettings>) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            pools: HashMap::new(),
            modules,
            tx,
            rx,
        }
    }

    /// Starts the pools of these trust levels concurrently.
    pub async fn start(&mut self, local: &Arc<Local>, needed: Vec<TrustLevel>) {
        let modules = self.modules.as_ref();
        let starts = needed.into_iter().map(|trust| {
            let tx = self.tx.clone();
            async move { (trust, acquire(local, trust, modules, tx).await) }
        });
        for (trust, state) in futures::future::join_all(starts).await {
            self.pools.insert(trust, state);
        }
    }

    /// Sends a job to the pool of its trust level, starting that pool first
    /// if the run has none (for example after it died). The error is a
    /// sentence for the node's failure message.
    pub async fn send_job(
        &mut self,
        local: &Arc<Local>,
        trust: TrustLevel,
        job: &Value,
    ) -> Result<(), String> {
        if !self.pools.contains_key(&trust) {
            let state = acquire(local, trust, self.modules.as_ref(), self.tx.clone()).await;
            self.pools.insert(trust, state);
        }
        match self.pools.get_mut(&trust) {
            Some(PoolState::Ready(pool)) => pool
                .send(job)
                .await
                .map_err(|e| format!("could not hand the node to its runner: {e}")),
            Some(PoolState::Failed(e)) => Err(e.clone()),
            None => Err("no runner for this trust level".into()),
        }
    }

    /// Sends a control message (such as `cancel`) to a running pool; a pool
    /// that is gone has nothing left to cancel.
    pub async fn send_control(&mut self, trust: TrustLevel, msg: &Value) {
        if let Some(PoolState::Ready(pool)) = self.pools.get_mut(&trust) {
            let _ = pool.send(msg).await;
        }
    }

    /// Forgets a pool whose process died; the next job of its trust level starts a fresh one.
    pub async fn remove(&mut self, trust: TrustLevel) {
        if let Some(PoolState::Ready(dead)) = self.pools.remove(&trust) {
            dead.stop().await;
        }
    }

    /// The next event of any of the run's pools.
    pub async fn recv(&mut self) -> Option<(TrustLevel, PoolEvent)> {
        self.rx.recv().await
    }

    /// An event that is already waiting, if any.
    pub fn try_recv(&mut self) -> Option<(TrustLevel, PoolEvent)> {
        self.rx.try_recv().ok()
    }

    /// Stops every pool (the run ended).
    pub async fn stop_all(&mut self) {
        for (_, pool) in self.pools.drain() {
            if let PoolState::Ready(p) = pool {
                p.stop().await;
            }
        }
    }
}

/// A pool of this trust level for one run, or why there is none.
async fn acquire(
    local: &Arc<Local>,
    trust: TrustLevel,
    modules: Option<&ModuleSettings>,
    tx: mpsc::UnboundedSender<(TrustLevel, PoolEvent)>,
) -> PoolState {
    let state = match (&local.runner, trust, local.settings.sandbox) {
        (_, TrustLevel::Restricted, SandboxMode::None) => PoolState::Failed(
            "restricted nodes only run inside the bubblewrap sandbox, and this server runs with \
             KATALUSIS_SANDBOX=none"
                .into(),
        ),
        (Err(e), _, _) => PoolState::Failed(e.clone()),
        (Ok(_), _, _) => match take(local, trust, modules).await {
            Ok(mut p) => {
                p.attach(trust, tx);
                PoolState::Ready(Box::new(p))
            }
            Err(e) => PoolState::Failed(e),
        },
    };
    if let PoolState::Failed(e) = &state {
        tracing::warn!(trust = trust.as_str(), error = %e, "runner pool unavailable");
    }
    state
}
