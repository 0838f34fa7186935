//! `kubernetes` executor mode: runs become `Run` resources that the operator
//! reconciles into one Pod per node. This module creates them, mirrors their
//! status into MySQL and the SSE streams, and serves what node Pods fetch
//! and post through the ingest endpoint (`/internal`, see `http::internal`).
//!
//! - Play: the run row is inserted, then the `Run` (and, for a large
//!   snapshot, its ConfigMap) and the token Secret are created, both owned
//!   by the Run. A cluster error deletes whatever was created and the row, so
//!   nothing is half-created, and Play answers 503.
//! - Mirror: a watch on our Runs (resumed by resourceVersion by
//!   kube-runtime, with backoff) plus a periodic re-list feed
//!   [`mirror::mirror`], whose state writes and events go through the run's
//!   one event sink, so SSE sequence numbers stay gap-free.
//! - Ingest: a node Pod fetches its job (built from the stored snapshot and
//!   the stored upstream outputs, exactly as the local executor builds it)
//!   and posts its runner events, which are stored by the same code as the
//!   local executor's (`executor::outcome`).

pub mod adopt;
mod adopt_run;
mod flow;
mod ingest;
pub mod mirror;
pub mod resources;
mod sync;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use katalusis_crds::plan::RunPhase;
use katalusis_crds::resources::{Run, RunSnapshot, Workflow};
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, Client, ResourceExt};
use serde_json::json;
use sqlx::MySqlPool;
use tokio::sync::broadcast;

pub use self::ingest::{CtxQuery, IngestError};
use self::resources::{run_name, workflow_name, FIELD_MANAGER};
use super::events::{kind, EventSink, RunEvent, RunStore};
use crate::auth::ClientScope;
use crate::config::Settings;
use crate::db;
use crate::db::runs::NodeStates;

/// The cluster could not be reached or refused what the API server wrote.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ClusterError(pub String);

fn cluster_error(what: &str, e: &kube::Error) -> ClusterError {
    ClusterError(format!("{what}: {e}"))
}

/// One unfinished run as the mirror knows it.
pub(crate) struct Mirrored {
    pub snapshot: RunSnapshot,
    pub token_sha256: String,
    pub sink: EventSink,
    state: tokio::sync::Mutex<MirrorState>,
}

struct MirrorState {
    states: NodeStates,
    phase: RunPhase,
    queued: Vec<String>,
    finished: bool,
}

pub struct Cluster {
    client: Client,
    namespace: String,
    db: MySqlPool,
    settings: Arc<Settings>,
    live: broadcast::Sender<RunEvent>,
    store: RunStore,
    runs: tokio::sync::Mutex<HashMap<u64, Arc<Mirrored>>>,
    /// Runs being created by Play right now: the resync must not take a
    /// missing Run for a deleted one.
    creating: Mutex<HashSet<u64>>,
    /// Runs whose final state MySQL already holds, so re-lists of finished
    /// Runs cost no database query.
    done: Mutex<HashSet<u64>>,
    /// Built-in node attempts this process is running (run, node, attempt).
    flow_nodes: Mutex<HashSet<(u64, String, u32)>>,
    /// Delivers what built-in nodes change to people.
    announcer: crate::notifications::service::Announcer,
    /// Posts Notification nodes' webhooks.
    webhooks: reqwest::Client,
    /// Opens the database connections Query nodes and `ctx.query` use.
    pub(crate) connector: crate::connections::service::Connector,
}

impl Cluster {
    pub fn new(
        client: Client,
        db: MySqlPool,
        settings: Arc<Settings>,
        live: broadcast::Sender<RunEvent>,
        store: RunStore,
        announcer: crate::notifications::service::Announcer,
        connector: crate::connections::service::Connector,
    ) -> Arc<Self> {
        let namespace = settings
            .k8s_namespace
            .clone()
            .unwrap_or_else(|| client.default_namespace().to_owned());
        Arc::new(Self {
            client,
            namespace,
            db,
            settings,
            live,
            store,
            runs: tokio::sync::Mutex::new(HashMap::new()),
            creating: Mutex::new(HashSet::new()),
            done: Mutex::new(HashSet::new()),
            flow_nodes: Mutex::new(HashSet::new()),
            announcer,
            webhooks: crate::flow::notify::webhook_client(),
            connector,
        })
    }

    fn runs_api(&self) -> Api<Run> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    /// Creates the Run, its snapshot ConfigMap (if large) and its token
    /// Secret for a run row that was just inserted. On error everything
    /// created is deleted again.
    pub async fn start(&self, row: &db::runs::Row) -> Result<(), ClusterError> {
        let run_id = row.run_id;
        self.creating
            .lock()
            .map_err(|_| ClusterError("poisoned".into()))?
            .insert(run_id);
        let result = self.create(row).await;
        if let Ok(mut c) = self.creating.lock() {
            c.remove(&run_id);
        }
        result
    }

    async fn create(&self, row: &db::runs::Row) -> Result<(), ClusterError> {
        let run_id = row.run_id;
        let token = crate::auth::tokens::new_refresh_token();
        db::runs::set_ingest_token(&self.db, run_id, &crate::auth::tokens::sha256_hex(&token))
            .await
            .map_err(|e| ClusterError(format!("database: {e}")))?;
        let (run, config_map) = resources::run_object(
            &resources::NewRun {
                run_id,
                workflow_id: row.workflow_id,
                workflow_revision: row.workflow_revision,
                client_id: row.client_id,
                failure_policy: row.failure_policy,
                max_parallel: self.settings.max_parallel_nodes_per_run,
                snapshot: &row.snapshot,
            },
            &self.namespace,
        );
        let runs = self.runs_api();
        let created = runs
            .create(&PostParams::default(), &run)
            .await
            .map_err(|e| cluster_error("creating the Run", &e))?;
        let owned = self.create_owned(&created, config_map, &token).await;
        if let Err(e) = owned {
            // Owner references take the ConfigMap and Secret with the Run.
            if let Err(d) = runs
                .delete(&run_name(run_id), &DeleteParams::background())
                .await
            {
                tracing::error!(run_id, error = %d, "could not delete a half-created Run");
            }
            return Err(e);
        }
        tracing::info!(run_id, run = %created.name_any(), namespace = %self.namespace, "created Run");
        Ok(())
    }

    /// Creates what a Run owns: its snapshot ConfigMap (if large) and its
    /// token Secret, both deleted with the Run by the garbage collector.
    pub(crate) async fn create_owned(
        &self,
        run: &Run,
        config_map: Option<ConfigMap>,
        token: &str,
    ) -> Result<(), ClusterError> {
        if let Some(mut cm) = config_map {
            cm.metadata.owner_references = resources::owned_by(run).map(|o| vec![o]);
            Api::<ConfigMap>::namespaced(self.client.clone(), &self.namespace)
                .create(&PostParams::default(), &cm)
                .await
                .map_err(|e| cluster_error("creating the snapshot ConfigMap", &e))?;
        }
        Api::<Secret>::namespaced(self.client.clone(), &self.namespace)
            .create(&PostParams::default(), &resources::token_secret(run, token))
            .await
            .map_err(|e| cluster_error("creating the token Secret", &e))?;
        Ok(())
    }

    /// Asks the operator to cancel a run (`spec.cancel: true`).
    pub async fn cancel(&self, run_id: u64) -> Result<(), ClusterError> {
        self.runs_api()
            .patch(
                &run_name(run_id),
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"cancel": true}})),
            )
            .await
            .map(drop)
            .map_err(|e| cluster_error("cancelling the Run", &e))
    }

    /// Server-side-applies the Workflow mirror of a saved workflow.
    pub async fn apply_workflow(&self, row: &db::workflows::Row) -> Result<(), ClusterError> {
        // A cluster-managed workflow's resource is its own; nothing to mirror.
        if row.source.0 == katalusis_crds::resources::WorkflowSource::Cluster {
            return Ok(());
        }
        let graph = serde_json::from_str(&row.graph)
            .map_err(|e| ClusterError(format!("stored graph unreadable: {e}")))?;
        let wf = resources::workflow_object(row, graph, &self.namespace);
        let applied = Api::<Workflow>::namespaced(self.client.clone(), &self.namespace)
            .patch(
                &workflow_name(row.workflow_id),
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(&wf),
            )
            .await
            .map_err(|e| cluster_error("applying the Workflow", &e))?;
        let generation = applied.metadata.generation.unwrap_or(1);
        self.write_mirror_status(row, &wf.spec.graph, generation)
            .await
    }

    /// The status of a mirror, for `kubectl get kwf`: client, revision,
    /// source and whether the saved draft can run.
    async fn write_mirror_status(
        &self,
        row: &db::workflows::Row,
        graph: &katalusis_crds::Graph,
        generation: i64,
    ) -> Result<(), ClusterError> {
        let client = db::users::get(&self.db, row.client_id)
            .await
            .map_err(|e| ClusterError(format!("database: {e}")))?
            .map(|u| u.username);
        let errors = crate::http::workflows::problems_in(&self.db, graph)
            .await
            .map_err(|e| ClusterError(e.to_string()))?
            .into_iter()
            .filter(katalusis_crds::Problem::is_error)
            .count();
        let status = katalusis_crds::resources::WorkflowStatus {
            observed_generation: Some(generation),
            client,
            workflow_id: Some(row.workflow_id),
            revision: Some(row.revision),
            source: Some(katalusis_crds::resources::WorkflowSource::Ui),
            node_count: u32::try_from(graph.nodes.len()).ok(),
            conditions: vec![adopt::condition(
                errors == 0,
                if errors == 0 {
                    "Saved"
                } else {
                    "DraftHasErrors"
                },
                &if errors == 0 {
                    format!("revision {} saved in the browser", row.revision)
                } else {
                    format!("revision {} has {errors} validation error(s); it cannot run until they are fixed", row.revision)
                },
                generation,
            )],
        };
        self.write_status(&workflow_name(row.workflow_id), &status)
            .await
    }

    /// Deletes the Workflow mirror of a deleted workflow (absent is fine).
    pub async fn delete_workflow(&self, workflow_id: u64) -> Result<(), ClusterError> {
        match Api::<Workflow>::namespaced(self.client.clone(), &self.namespace)
            .delete(&workflow_name(workflow_id), &DeleteParams::default())
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(cluster_error("deleting the Workflow", &e)),
        }
    }

    /// The mirror of an unfinished run started on the cluster, loaded on first use.
    pub(crate) async fn mirrored(&self, run_id: u64) -> Result<Option<Arc<Mirrored>>, sqlx::Error> {
        let mut runs = self.runs.lock().await;
        if let Some(m) = runs.get(&run_id) {
            return Ok(Some(m.clone()));
        }
        let Some(row) = db::runs::get(&self.db, ClientScope::All, run_id).await? else {
            return Ok(None);
        };
        let Some(token_sha256) = row.ingest_token_sha256.clone() else {
            return Ok(None);
        };
        if row.status.is_terminal() {
            self.mark_done(run_id);
            return Ok(None);
        }
        let last_seq = db::runs::last_event_seq(&self.db, run_id).await?;
        let sink = EventSink::start(
            &self.store,
            run_id,
            row.client_id,
            last_seq,
            self.live.clone(),
            false,
        );
        let m = Arc::new(Mirrored {
            snapshot: row.snapshot,
            token_sha256,
            sink,
            state: tokio::sync::Mutex::new(MirrorState {
                states: row.node_states,
                phase: row.status,
                queued: row.queued.unwrap_or_default(),
                finished: false,
            }),
        });
        runs.insert(run_id, m.clone());
        Ok(Some(m))
    }

    /// Forgets the runs mirrored so far (another replica mirrors them now).
    pub(crate) async fn forget_mirrors(&self) {
        self.runs.lock().await.clear();
        if let Ok(mut d) = self.done.lock() {
            d.clear();
        }
    }

    fn mark_done(&self, run_id: u64) {
        if let Ok(mut d) = self.done.lock() {
            d.insert(run_id);
        }
    }

    fn is_done(&self, run_id: u64) -> bool {
        self.done.lock().is_ok_and(|d| d.contains(&run_id))
    }

    /// Waits until MySQL holds a final phase for the run, at most `timeout`;
    /// true when it finished. Woken by the run's events, or every second.
    pub async fn wait(&self, run_id: u64, timeout: Duration) -> bool {
        let mut events = self.live.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match db::runs::get(&self.db, ClientScope::All, run_id).await {
                Ok(Some(r)) if r.status.is_terminal() => return true,
                Ok(Some(_)) => {}
                _ => return true,
            }
            let next = tokio::time::timeout_at(deadline, async {
                let tick = tokio::time::sleep(Duration::from_secs(1));
                tokio::pin!(tick);
                loop {
                    tokio::select! {
                        ev = events.recv() => match ev {
                            Ok(e) if e.run_id == run_id && e.kind == kind::RUN => return,
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
}
