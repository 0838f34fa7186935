//! The local executor: drives runs on this machine with warm, sandboxed
//! runner processes per trust level, shared by the runs of one client where
//! the runner confines each job (see `pools`). Scheduling decisions come from the
//! pure planner in `katalusis_crds::plan`; this module only applies them.

mod driver;
mod pools;
mod runner;
mod test_node;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::MySqlPool;
use tokio::sync::{broadcast, watch, Notify, OwnedSemaphorePermit, Semaphore};

pub use test_node::{TestLogLine, TestOutcome};

use super::events::{RunEvent, RunStore};
use crate::config::Settings;
use crate::db;
use crate::replicas::db as claims;

/// Signals into and out of one active run.
pub(crate) struct RunControl {
    cancel: Notify,
    /// An approval of the run was decided.
    decided: Notify,
    done: watch::Sender<bool>,
}

pub(crate) struct Local {
    db: MySqlPool,
    settings: Arc<Settings>,
    /// The runner script, or why it could not be found.
    runner: Result<PathBuf, String>,
    /// Global cap on running nodes across all runs.
    slots: Arc<Semaphore>,
    runs: Mutex<HashMap<u64, Arc<RunControl>>>,
    live: broadcast::Sender<RunEvent>,
    store: RunStore,
    spares: pools::Spares,
    shared: pools::SharedPools,
    /// Delivers what built-in nodes change (approval tasks) to people.
    announcer: crate::notifications::service::Announcer,
    /// Posts Notification nodes' webhooks.
    webhooks: reqwest::Client,
    /// Opens the database connections Query nodes and `ctx.query` use.
    pub(crate) connector: crate::connections::service::Connector,
    /// Runs are claimed in its name.
    replica: crate::replicas::Replica,
}

/// A global slot held by a running node. Dropping it hands the permit to
/// the run that has waited longest for one (the semaphore is fair), which
/// wakes that run alone.
pub(crate) struct Slot {
    pub(crate) _permit: OwnedSemaphorePermit,
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

impl Local {
    pub fn new(
        db: MySqlPool,
        settings: Arc<Settings>,
        live: broadcast::Sender<RunEvent>,
        store: RunStore,
        announcer: crate::notifications::service::Announcer,
        connector: crate::connections::service::Connector,
        replica: crate::replicas::Replica,
    ) -> Arc<Self> {
        let runner = find_runner(settings.runner_path.as_ref());
        if let Err(e) = &runner {
            tracing::warn!(error = %e, "runs cannot execute nodes");
        }
        let local = Arc::new(Self {
            slots: Arc::new(Semaphore::new(settings.max_parallel_nodes as usize)),
            db,
            settings,
            runner,
            runs: Mutex::new(HashMap::new()),
            live,
            store,
            spares: pools::Spares::default(),
            shared: pools::SharedPools::default(),
            announcer,
            webhooks: crate::flow::notify::webhook_client(),
            connector,
            replica,
        });
        let weak = Arc::downgrade(&local);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                let Some(local) = weak.upgrade() else { return };
                local.shared.reap_idle(local.settings.pool_idle).await;
            }
        });
        local
    }

    /// Claims and starts driving a run whose row was just inserted (as Play
    /// read it back). A run another replica claimed first is driven there.
    pub async fn launch(self: &Arc<Self>, row: db::runs::Row) -> anyhow::Result<()> {
        if !claims::claim_new(&self.db, row.run_id, self.replica.id()).await? {
            return Ok(());
        }
        self.spawn(row, false).await
    }

    /// Claims the unfinished local runs no live replica drives and resumes
    /// them: nodes that were running are failed as `interrupted` and retried
    /// if their policy allows. At startup (`own_past`) the runs claimed under
    /// this replica's id by an earlier process count as orphans too. Returns
    /// how many runs were resumed.
    pub async fn take_over(self: &Arc<Self>, own_past: bool) -> anyhow::Result<usize> {
        let me = self.replica.id();
        let mut alive = claims::alive(&self.db, self.replica.ttl().as_secs()).await?;
        if own_past {
            alive.retain(|r| r != me);
        }
        let mut resumed = 0;
        let mut after = 0;
        loop {
            let ids = claims::claim_orphans(&self.db, me, &alive, after, 100).await?;
            let Some(last) = ids.last() else {
                return Ok(resumed);
            };
            after = *last;
            for id in ids {
                if self.drives(id) {
                    // Its own run, claimed again after this replica's heartbeat lapsed.
                    continue;
                }
                let row = match db::runs::get(&self.db, crate::auth::ClientScope::All, id).await {
                    Ok(Some(row)) => row,
                    Ok(None) => continue,
                    Err(e @ (sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_))) => {
                        // Reading it again will not help, and no run may stay
                        // unfinished forever: it fails with the reason.
                        tracing::error!(run_id = id, error = %e, "a run to resume cannot be read");
                        let message = format!("the executor could not read this run: {e}");
                        db::runs::fail_unreadable(&self.db, id, &message).await?;
                        continue;
                    }
                    Err(e) => {
                        // The database hiccuped: the next round tries again.
                        let _ = claims::release(&self.db, id, me).await;
                        return Err(e.into());
                    }
                };
                if row.status.is_terminal() {
                    continue;
                }
                tracing::info!(run_id = id, "resuming a run no live replica drives");
                resumed += 1;
                if let Err(e) = self.spawn(row, true).await {
                    tracing::error!(
                        run_id = id,
                        error = format!("{e:#}"),
                        "could not resume run"
                    );
                }
            }
        }
    }

    async fn spawn(self: &Arc<Self>, row: db::runs::Row, resumed: bool) -> anyhow::Result<()> {
        let (done, _) = watch::channel(false);
        let control = Arc::new(RunControl {
            cancel: Notify::new(),
            decided: Notify::new(),
            done,
        });
        {
            let mut runs = self
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
        let driver = match driver::Driver::load(self.clone(), row, control.clone(), resumed).await {
            Ok(d) => d,
            Err(e) => {
                // No run may stay pending or running forever: one that cannot
                // be driven is failed with the reason.
                let message = format!("the executor could not drive this run: {e:#}");
                let _ = db::runs::finish(
                    &self.db,
                    run_id,
                    katalusis_crds::plan::RunPhase::Failed,
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
        if let Ok(mut runs) = self.runs.lock() {
            runs.remove(&run_id);
        }
    }

    fn control(&self, run_id: u64) -> Option<Arc<RunControl>> {
        self.runs.lock().ok().and_then(|r| r.get(&run_id).cloned())
    }

    /// Wakes the run's driver after `cancel_requested` was set in the
    /// database; false when the run is not driven here.
    pub fn cancel(&self, run_id: u64) -> bool {
        self.control(run_id)
            .map(|c| c.cancel.notify_one())
            .is_some()
    }

    /// Wakes the run's driver to read its decided approvals; false when the
    /// run is not driven here (its driver reads them when it is told or resumed).
    pub fn decided(&self, run_id: u64) -> bool {
        self.control(run_id)
            .map(|c| c.decided.notify_one())
            .is_some()
    }

    /// Whether this replica drives the run now.
    pub fn drives(&self, run_id: u64) -> bool {
        self.control(run_id).is_some()
    }

    /// Waits until the run is no longer driven here, at most `timeout`; true when it finished.
    pub async fn wait(&self, run_id: u64, timeout: Duration) -> bool {
        let Some(c) = self.control(run_id) else {
            return true;
        };
        let mut rx = c.done.subscribe();
        let finished = tokio::time::timeout(timeout, rx.wait_for(|d| *d)).await;
        finished.is_ok()
    }

    /// Runs this process is driving now.
    pub fn active_runs(&self) -> usize {
        self.runs.lock().map_or(0, |r| r.len())
    }

    /// Warm sandboxes: spares waiting for a client, and clients' pools.
    pub fn warm_spares(&self) -> usize {
        self.spares.count() + self.shared.count()
    }
}
