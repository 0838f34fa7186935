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
}

impl Executor {
    /// The local executor.
    pub fn new(db: MySqlPool, settings: Arc<Settings>, announcer: Announcer) -> Self {
        Self::build(db, settings, announcer, None)
    }

    /// `kubernetes` mode: runs become `Run` resources; a task mirrors their
    /// status until `shutdown`.
    pub fn with_cluster(
        db: MySqlPool,
        settings: Arc<Settings>,
        announcer: Announcer,
        client: kube::Client,
    ) -> Self {
        Self::build(db, settings, announcer, Some(client))
    }

    fn build(
        db: MySqlPool,
        settings: Arc<Settings>,
        announcer: Announcer,
        client: Option<kube::Client>,
    ) -> Self {
        let (live, _) = broadcast::channel(4096);
        let (stopping, _) = watch::channel(false);
        let store = events::RunStore::start(db.clone());
        let connector =
            crate::connections::service::Connector::new(db.clone(), settings.vault.clone());
        let local = local::Local::new(
            db.clone(),
            settings.clone(),
            live.clone(),
            store.clone(),
            announcer.clone(),
            connector.clone(),
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
                tokio::spawn(cluster.clone().watch(stopping.subscribe()));
                Backend::Cluster(cluster)
            }
            None => Backend::Local,
        };
        Self(Arc::new(Inner {
            backend,
            local,
            live,
            store,
            stopping,
        }))
    }

    /// The cluster in `kubernetes` mode.
    pub(crate) fn cluster(&self) -> Option<&Arc<cluster::Cluster>> {
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
            Backend::Local => self.0.local.resume_all().await,
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
            Backend::Local => self.0.local.cancel(run_id),
        }
    }

    /// A decision on one of the run's approvals was committed: its driver
    /// picks it up. (Flow nodes run on the local executor only for now.)
    pub fn decided(&self, run_id: u64) {
        self.0.local.decided(run_id);
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
