//! Runs on one of two backends behind one handle: the local executor
//! (`local/`, sandboxed runner processes on this machine) or the cluster
//! (`cluster/`, `Run` resources that the operator turns into Pods, mirrored
//! back into MySQL). Both take their decisions from the pure planner in
//! `katalusis_crds::plan`, build node jobs with [`job`], store node outcomes
//! with `outcome` and publish through the per-run event log in [`events`],
//! which [`stream`] replays and follows for the SSE endpoints.

pub(crate) mod builtin;
pub mod cluster;
pub mod events;
pub mod job;
pub mod local;
pub(crate) mod outcome;
pub mod protocol;
pub mod retention;
pub mod stream;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use katalusis_crds::{ModuleSettings, TemplateRef, TemplateSpec};
use serde_json::Value;
use sqlx::MySqlPool;
use tokio::sync::{broadcast, watch};

pub use events::RunEvent;
pub use local::{TestLogLine, TestOutcome};

use crate::config::Settings;
use crate::db;
use crate::notifications::service::Announcer;
use crate::replicas::{Lease, Message, Replica, Signal};

/// Why a run could not be started.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The cluster is unreachable or refused the Run; nothing was created
    /// there, and the caller removes the run row.
    #[error("the Kubernetes cluster is unavailable: {0}")]
    Cluster(#[from] cluster::ClusterError),
    /// The run could not be driven; it was recorded as failed with the reason.
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

/// Where runs execute.
enum Backend {
    Local,
    Cluster(Arc<cluster::Cluster>),
}

/// Handle to the executor; cheap to clone.
#[derive(Clone)]
pub struct Executor(Arc<Inner>);

struct Inner {
    backend: Backend,
    /// Test node always runs locally, in both modes.
    local: Arc<local::Local>,
    live: broadcast::Sender<RunEvent>,
    store: events::RunStore,
    /// Set when the server shuts down, so long-lived event streams end.
    stopping: watch::Sender<bool>,
    replica: Replica,
}

impl Executor {
    /// The local executor.
    pub fn new(
        db: MySqlPool,
        settings: Arc<Settings>,
        announcer: Announcer,
        replica: Replica,
    ) -> Self {
        Self::build(db, settings, announcer, replica, None)
    }

    /// `kubernetes` mode: runs become `Run` resources; a task mirrors their
    /// status until `shutdown`.
    pub fn with_cluster(
        db: MySqlPool,
        settings: Arc<Settings>,
        announcer: Announcer,
        replica: Replica,
        client: kube::Client,
    ) -> Self {
        Self::build(db, settings, announcer, replica, Some(client))
    }

    fn build(
        db: MySqlPool,
        settings: Arc<Settings>,
        announcer: Announcer,
        replica: Replica,
        client: Option<kube::Client>,
    ) -> Self {
        let (live, _) = broadcast::channel(4096);
        let (stopping, _) = watch::channel(false);
        let store = events::RunStore::start(db.clone(), replica.clone());
        let connector =
            crate::connections::service::Connector::new(db.clone(), settings.vault.clone());
        let local = local::Local::new(
            db.clone(),
            settings.clone(),
            live.clone(),
            store.clone(),
            announcer.clone(),
            connector.clone(),
            replica.clone(),
        );
        let backend = match client {
            Some(c) => {
                let cluster = cluster::Cluster::new(
                    c,
                    db,
                    settings,
                    live.clone(),
                    store.clone(),
                    announcer,
                    connector,
                );
                tokio::spawn(mirror_while_leased(
                    cluster.clone(),
                    replica.want(Lease::RunMirror),
                    stopping.subscribe(),
                ));
                Backend::Cluster(cluster)
            }
            None => Backend::Local,
        };
        let executor = Self(Arc::new(Inner {
            backend,
            local,
            live,
            store,
            stopping,
            replica,
        }));
        tokio::spawn(executor.clone().listen_to_peers());
        executor
    }

    /// Shows the other replicas' run phases here and passes their signals
    /// to the drivers of this one.
    async fn listen_to_peers(self) {
        let mut inbound = self.0.replica.bus().subscribe();
        let stopped = self.stopped();
        tokio::pin!(stopped);
        loop {
            let m = tokio::select! {
                m = inbound.recv() => m,
                () = &mut stopped => return,
            };
            match m.as_deref() {
                Ok(Message::RunPhase {
                    run_id,
                    client_id,
                    seq,
                    data,
                }) => {
                    let _ = self.0.live.send(RunEvent {
                        run_id: *run_id,
                        client_id: *client_id,
                        seq: *seq,
                        kind: events::kind::RUN,
                        data: data.clone(),
                        peer: true,
                    });
                }
                Ok(Message::Signal { run_id, signal }) => {
                    // A run not driven here is driven by the sender's peers, or resumed later.
                    let _ = match signal {
                        Signal::Cancel => self.0.local.cancel(*run_id),
                        Signal::Decided => self.0.local.decided(*run_id),
                    };
                }
                Ok(Message::Live { .. }) => {}
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(dropped = n, "missed messages of other replicas");
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    /// This replica.
    pub fn replica(&self) -> &Replica {
        &self.0.replica
    }

    /// Whether this replica stores the run's events (it drives the run, or
    /// mirrors every Run); otherwise they are read from the database.
    pub fn stores_events_of(&self, run_id: u64) -> bool {
        match &self.0.backend {
            Backend::Cluster(_) => self.0.replica.holds(Lease::RunMirror),
            Backend::Local => self.0.local.drives(run_id),
        }
    }

    /// The cluster in `kubernetes` mode.
    pub fn cluster(&self) -> Option<&Arc<cluster::Cluster>> {
        match &self.0.backend {
            Backend::Cluster(c) => Some(c),
            Backend::Local => None,
        }
    }

    /// A workflow revision was saved: in `kubernetes` mode its `Workflow`
    /// resource is applied in the background (the mirror's re-list retries
    /// what fails; MySQL stays the system of record).
    pub fn workflow_saved(&self, row: db::workflows::Row) {
        if let Some(cluster) = self.cluster().cloned() {
            tokio::spawn(async move {
                if let Err(e) = cluster.apply_workflow(&row).await {
                    tracing::warn!(workflow_id = row.workflow_id, error = %e, "could not apply the Workflow yet");
                }
            });
        }
    }

    /// A workflow was deleted: in `kubernetes` mode its `Workflow` resource goes too.
    pub fn workflow_deleted(&self, workflow_id: u64) {
        if let Some(cluster) = self.cluster().cloned() {
            tokio::spawn(async move {
                if let Err(e) = cluster.delete_workflow(workflow_id).await {
                    tracing::warn!(workflow_id, error = %e, "could not delete the Workflow yet");
                }
            });
        }
    }

    /// Starts executing a run whose row was just inserted.
    pub async fn launch(&self, row: &db::runs::Row) -> Result<(), LaunchError> {
        match &self.0.backend {
            Backend::Cluster(cluster) => Ok(cluster.start(row).await?),
            Backend::Local => Ok(self.0.local.launch(row.clone()).await?),
        }
    }

    /// Resumes every run left unfinished by a previous process (local mode:
    /// nodes that were running are failed as `interrupted` and retried if
    /// their policy allows; cluster mode: the mirror's first re-list catches
    /// up). Returns how many runs were resumed here.
    pub async fn resume_all(&self) -> anyhow::Result<usize> {
        match &self.0.backend {
            Backend::Cluster(_) => Ok(0),
            Backend::Local => self.0.local.take_over(true).await,
        }
    }

    /// Acts on `cancel_requested`, which the caller has set in the database.
    pub fn cancel(&self, run_id: u64) {
        match &self.0.backend {
            Backend::Cluster(cluster) => {
                // If the cluster is unreachable now, the mirror's re-list sends it again.
                let cluster = cluster.clone();
                tokio::spawn(async move {
                    if let Err(e) = cluster.cancel(run_id).await {
                        tracing::warn!(run_id, error = %e, "could not cancel the Run yet");
                    }
                });
            }
            Backend::Local => {
                if !self.0.local.cancel(run_id) {
                    self.0.replica.bus().publish(Message::Signal {
                        run_id,
                        signal: Signal::Cancel,
                    });
                }
            }
        }
    }

    /// A decision on one of the run's approvals was committed: its driver
    /// picks it up. (Flow nodes run on the local executor only for now.)
    pub fn decided(&self, run_id: u64) {
        if !self.0.local.decided(run_id) {
            self.0.replica.bus().publish(Message::Signal {
                run_id,
                signal: Signal::Decided,
            });
        }
    }

    /// Claims and resumes the local runs no live replica drives (left by a
    /// replica that died); returns how many.
    pub async fn take_over_orphans(&self) -> anyhow::Result<usize> {
        match &self.0.backend {
            Backend::Cluster(_) => Ok(0),
            Backend::Local => self.0.local.take_over(false).await,
        }
    }

    /// Waits until the run finished, at most `timeout`; true when it did.
    pub async fn wait(&self, run_id: u64, timeout: Duration) -> bool {
        match &self.0.backend {
            Backend::Cluster(cluster) => cluster.wait(run_id, timeout).await,
            Backend::Local => self.0.local.wait(run_id, timeout).await,
        }
    }

    /// Runs one template version once ("Test node"); see `local::test_node`.
    pub(crate) async fn test_node(
        &self,
        template: TemplateRef,
        spec: TemplateSpec,
        inputs: BTreeMap<String, Value>,
        params: BTreeMap<String, Value>,
        modules: ModuleSettings,
    ) -> anyhow::Result<TestOutcome> {
        self.0
            .local
            .test_node(template, spec, inputs, params, modules)
            .await
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

    /// What waits to be stored over all runs (readiness reports it).
    pub fn storage_backlog(&self) -> events::Backlog {
        self.0.store.health().backlog()
    }

    /// Runs this process is driving now.
    pub fn active_runs(&self) -> usize {
        self.0.local.active_runs()
    }

    /// Sandboxed runner pools started ahead and waiting for the next run.
    pub fn warm_sandboxes(&self) -> usize {
        self.0.local.warm_spares()
    }
}

/// Runs the Run mirror while this replica holds its lease: started when the
/// lease is won, stopped when it is lost or the server stops.
async fn mirror_while_leased(
    cluster: Arc<cluster::Cluster>,
    mut held: watch::Receiver<bool>,
    mut stopping: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            r = held.wait_for(|h| *h) => if r.is_err() { return },
            _ = stopping.wait_for(|s| *s) => return,
        }
        tracing::info!("this replica mirrors the cluster's Runs");
        let (stop_tx, stop_rx) = watch::channel(false);
        let watching = tokio::spawn(cluster.clone().watch(stop_rx));
        tokio::select! {
            _ = held.wait_for(|h| !*h) => {}
            _ = stopping.wait_for(|s| *s) => {}
        }
        stop_tx.send_replace(true);
        let _ = watching.await;
        // Another replica mirrors now: what this one kept open is its to store.
        cluster.forget_mirrors().await;
        if *stopping.borrow() {
            return;
        }
    }
}
