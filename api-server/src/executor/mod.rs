//! The local executor: drives runs on this machine with one warm, sandboxed
//! runner process per run and trust level. Scheduling decisions come from the
//! pure planner in `katalusis_crds::plan`; this module only applies them.

mod driver;
pub mod events;
pub mod kubernetes;
pub(crate) mod outcome;
mod pool;
pub mod retention;
pub mod snapshot;
mod test_node;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::MySqlPool;
use tokio::sync::{broadcast, watch, Notify, OwnedSemaphorePermit, Semaphore};

pub use driver::{phase_str, run_phase_str};
pub use events::RunEvent;
pub use test_node::{TestLogLine, TestOutcome};

use crate::config::Settings;
use crate::db;

/// Signals into and out of one active run.
pub(crate) struct RunControl {
    cancel: Notify,
    done: watch::Sender<bool>,
}

pub(crate) struct Inner {
    db: MySqlPool,
    settings: Arc<Settings>,
    /// The runner script, or why it could not be found.
    runner: Result<PathBuf, String>,
    /// Global cap on running nodes across all runs.
    slots: Arc<Semaphore>,
    /// Bumped whenever a slot is released, so runs with queued nodes wake up.
    freed: watch::Sender<u64>,
    runs: Mutex<HashMap<u64, Arc<RunControl>>>,
    live: broadcast::Sender<RunEvent>,
    /// Set when the server shuts down, so long-lived event streams end.
    stopping: watch::Sender<bool>,
    /// One never used runner per trust level, started ahead and handed whole
    /// to the next run that needs it (never shared between runs), so a run
    /// does not wait for a sandbox to start. A run that finds the spare still
    /// starting waits for it, which is never slower than starting its own.
    /// Filled after the first run of each trust level.
    spares: tokio::sync::Mutex<HashMap<&'static str, SpareStart>>,
    /// Set in `kubernetes` mode: runs go to the cluster instead of the local driver.
    cluster: Option<Arc<kubernetes::Cluster>>,
}

/// Why a run could not be started.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The cluster is unreachable or refused the Run; nothing was created
    /// there, and the caller removes the run row.
    #[error("the Kubernetes cluster is unavailable: {0}")]
    Cluster(#[from] kubernetes::ClusterError),
    /// The run could not be driven; it was recorded as failed with the reason.
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

type SpareStart = tokio::task::JoinHandle<Result<pool::Pool, String>>;

/// A runner for one run: the spare if there is one, else a fresh one; either
/// way the next spare starts in the background.
pub(crate) async fn take_pool(
    inner: &Arc<Inner>,
    trust: katalusis_crds::TrustLevel,
) -> Result<pool::Pool, String> {
    let key = snapshot::trust_str(trust);
    let spare = inner.spares.lock().await.remove(key);
    let spare = match spare {
        Some(handle) => handle.await.ok().and_then(Result::ok),
        None => None,
    };
    let pool = match spare.and_then(|mut p| p.is_alive().then_some(p)) {
        Some(p) => Ok(p),
        None => start_pool_process(inner, trust).await,
    };
    if pool.is_ok() {
        let next = {
            let inner = inner.clone();
            tokio::spawn(async move { start_pool_process(&inner, trust).await })
        };
        // A spare started concurrently by another run is replaced (and killed when it finishes).
        if let Some(old) = inner.spares.lock().await.insert(key, next) {
            old.abort();
        }
    }
    pool
}

async fn start_pool_process(
    inner: &Inner,
    trust: katalusis_crds::TrustLevel,
) -> Result<pool::Pool, String> {
    let runner = inner.runner.as_ref().map_err(Clone::clone)?;
    pool::Pool::start(&inner.settings, runner, trust).await
}

/// Handle to the executor; cheap to clone.
#[derive(Clone)]
pub struct Executor(Arc<Inner>);

/// A global slot held by a running node; releasing it wakes queued runs.
pub(crate) struct Slot {
    permit: Option<OwnedSemaphorePermit>,
    inner: Arc<Inner>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        drop(self.permit.take());
        self.inner.freed.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// Finds `runner/katalusis_runner.py` in the working directory or a parent,
/// then next to the source tree this binary was built from.
fn find_runner(configured: Option<&PathBuf>) -> Result<PathBuf, String> {
    if let Some(p) = configured {
        return if p.is_file() {
            Ok(p.clone())
        } else {
            Err(format!(
                "KATALUSIS_RUNNER_PATH {} does not exist",
                p.display()
            ))
        };
    }
    let rel = std::path::Path::new("runner").join("katalusis_runner.py");
    if let Ok(cwd) = std::env::current_dir() {
        for dir in cwd.ancestors() {
            let candidate = dir.join(&rel);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    let built = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(&rel);
    if built.is_file() {
        return Ok(built);
    }
    Err("runner/katalusis_runner.py was not found; set KATALUSIS_RUNNER_PATH".into())
}

impl Executor {
    /// The executor `settings.executor` asks for; `kubernetes` mode needs a client.
    pub fn new(db: MySqlPool, settings: Arc<Settings>) -> Self {
        Self::build(db, settings, None)
    }

    /// `kubernetes` mode: runs become `Run` resources; a task mirrors their
    /// status until `shutdown`.
    pub fn with_cluster(db: MySqlPool, settings: Arc<Settings>, client: kube::Client) -> Self {
        Self::build(db, settings, Some(client))
    }

    fn build(db: MySqlPool, settings: Arc<Settings>, client: Option<kube::Client>) -> Self {
        let runner = find_runner(settings.runner_path.as_ref());
        if let Err(e) = &runner {
            tracing::warn!(error = %e, "runs cannot execute nodes");
        }
        let (live, _) = broadcast::channel(4096);
        let (freed, _) = watch::channel(0);
        let (stopping, _) = watch::channel(false);
        let cluster = client.map(|c| {
            let cluster = kubernetes::Cluster::new(c, db.clone(), settings.clone(), live.clone());
            tokio::spawn(cluster.clone().watch(stopping.subscribe()));
            cluster
        });
        Self(Arc::new(Inner {
            slots: Arc::new(Semaphore::new(settings.max_parallel_nodes as usize)),
            db,
            settings,
            runner,
            freed,
            runs: Mutex::new(HashMap::new()),
            live,
            stopping,
            spares: tokio::sync::Mutex::new(HashMap::new()),
            cluster,
        }))
    }

    /// The cluster in `kubernetes` mode.
    pub(crate) fn cluster(&self) -> Option<&Arc<kubernetes::Cluster>> {
        self.0.cluster.as_ref()
    }

    /// A workflow revision was saved: in `kubernetes` mode its `Workflow`
    /// resource is applied in the background (the mirror's re-list retries
    /// what fails; MySQL stays the system of record).
    pub fn workflow_saved(&self, row: db::workflows::Row) {
        if let Some(cluster) = self.0.cluster.clone() {
            tokio::spawn(async move {
                if let Err(e) = cluster.apply_workflow(&row).await {
                    tracing::warn!(workflow_id = row.workflow_id, error = %e, "could not apply the Workflow yet");
                }
            });
        }
    }

    /// A workflow was deleted: in `kubernetes` mode its `Workflow` resource goes too.
    pub fn workflow_deleted(&self, workflow_id: u64) {
        if let Some(cluster) = self.0.cluster.clone() {
            tokio::spawn(async move {
                if let Err(e) = cluster.delete_workflow(workflow_id).await {
                    tracing::warn!(workflow_id, error = %e, "could not delete the Workflow yet");
                }
            });
        }
    }

    /// Starts driving a run whose row was just inserted.
    pub async fn launch(&self, run_id: u64) -> Result<(), LaunchError> {
        let row = db::runs::get(&self.0.db, crate::auth::ClientScope::All, run_id)
            .await
            .map_err(anyhow::Error::from)?
            .ok_or_else(|| anyhow::anyhow!("run {run_id} vanished"))?;
        match &self.0.cluster {
            Some(cluster) => Ok(cluster.start(&row).await?),
            None => Ok(self.spawn(row, false).await?),
        }
    }

    /// Resumes every run left unfinished by a previous process: nodes that
    /// were running are failed as `interrupted` and retried if their policy
    /// allows. Returns how many runs were resumed.
    pub async fn resume_all(&self) -> anyhow::Result<usize> {
        if self.0.cluster.is_some() {
            // The operator drives cluster runs; the mirror's first re-list catches up.
            return Ok(0);
        }
        let rows = db::runs::unfinished(&self.0.db).await?;
        let n = rows.len();
        for row in rows {
            let id = row.run_id;
            if let Err(e) = self.spawn(row, true).await {
                tracing::error!(
                    run_id = id,
                    error = format!("{e:#}"),
                    "could not resume run"
                );
            }
        }
        Ok(n)
    }

    async fn spawn(&self, row: db::runs::Row, resumed: bool) -> anyhow::Result<()> {
        let (done, _) = watch::channel(false);
        let control = Arc::new(RunControl {
            cancel: Notify::new(),
            done,
        });
        {
            let mut runs = self
                .0
                .runs
                .lock()
                .map_err(|_| anyhow::anyhow!("run registry poisoned"))?;
            if runs.contains_key(&row.run_id) {
                return Ok(());
            }
            runs.insert(row.run_id, control.clone());
        }
        let run_id = row.run_id;
        let states = row.node_states.clone();
        let driver = match driver::Driver::load(self.0.clone(), row, control.clone(), resumed).await
        {
            Ok(d) => d,
            Err(e) => {
                // No run may stay pending or running forever: one that cannot
                // be driven is failed with the reason.
                let message = format!("the executor could not drive this run: {e:#}");
                let _ = db::runs::finish(
                    &self.0.db,
                    run_id,
                    "failed",
                    &message,
                    &states,
                    chrono::Utc::now(),
                )
                .await;
                self.forget(run_id);
                control.done.send_replace(true);
                return Err(e);
            }
        };
        let this = self.clone();
        tokio::spawn(async move {
            if let Err(e) = driver.run().await {
                tracing::error!(run_id, error = format!("{e:#}"), "run driver stopped");
            }
            this.forget(run_id);
            control.done.send_replace(true);
        });
        Ok(())
    }

    fn forget(&self, run_id: u64) {
        if let Ok(mut runs) = self.0.runs.lock() {
            runs.remove(&run_id);
        }
    }

    fn control(&self, run_id: u64) -> Option<Arc<RunControl>> {
        self.0
            .runs
            .lock()
            .ok()
            .and_then(|r| r.get(&run_id).cloned())
    }

    /// Wakes the run's driver after `cancel_requested` was set in the database.
    pub fn cancel(&self, run_id: u64) {
        if let Some(cluster) = &self.0.cluster {
            // If the cluster is unreachable now, the mirror's re-list sends it again.
            let cluster = cluster.clone();
            tokio::spawn(async move {
                if let Err(e) = cluster.cancel(run_id).await {
                    tracing::warn!(run_id, error = %e, "could not cancel the Run yet");
                }
            });
            return;
        }
        if let Some(c) = self.control(run_id) {
            c.cancel.notify_one();
        }
    }

    /// Waits until the run is no longer driven by this executor, at most
    /// `timeout`; true when it finished.
    pub async fn wait(&self, run_id: u64, timeout: Duration) -> bool {
        if self.0.cluster.is_some() {
            let mut events = self.subscribe();
            let deadline = tokio::time::Instant::now() + timeout;
            loop {
                let row = db::runs::get(&self.0.db, crate::auth::ClientScope::All, run_id).await;
                match row {
                    Ok(Some(r)) if !matches!(r.status.as_str(), "pending" | "running") => {
                        return true
                    }
                    Ok(Some(_)) => {}
                    _ => return true,
                }
                // Woken by this run's events, or at the latest every second.
                let next = tokio::time::timeout_at(deadline, async {
                    let tick = tokio::time::sleep(Duration::from_secs(1));
                    tokio::pin!(tick);
                    loop {
                        tokio::select! {
                            ev = events.recv() => match ev {
                                Ok(e) if e.run_id == run_id && e.kind == "run" => return,
                                Ok(_) => {}
                                Err(broadcast::error::RecvError::Lagged(_)) => return,
                                Err(broadcast::error::RecvError::Closed) => return,
                            },
                            _ = &mut tick => return,
                        }
                    }
                })
                .await;
                if next.is_err() {
                    return false;
                }
            }
        }
        let Some(c) = self.control(run_id) else {
            return true;
        };
        let mut rx = c.done.subscribe();
        let finished = tokio::time::timeout(timeout, rx.wait_for(|d| *d)).await;
        finished.is_ok()
    }

    /// Live events of every run (filter by run and scope before showing them).
    pub fn subscribe(&self) -> broadcast::Receiver<RunEvent> {
        self.0.live.subscribe()
    }

    /// Ends every event stream (the server is shutting down; runs stay
    /// `running` in the database and resume at the next start).
    pub fn shutdown(&self) {
        self.0.stopping.send_replace(true);
    }

    /// Resolves once `shutdown` was called.
    pub fn stopped(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.0.stopping.subscribe();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    }

    /// Runs this process is driving now.
    pub fn active_runs(&self) -> usize {
        self.0.runs.lock().map_or(0, |r| r.len())
    }
}
