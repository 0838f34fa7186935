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

pub mod mirror;
pub mod resources;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use katalusis_crds::plan::NodeState;
use katalusis_crds::resources::{Run, Workflow};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use kube::runtime::WatchStreamExt;
use kube::{Api, Client, ResourceExt};
use serde_json::{json, Value};
use sqlx::MySqlPool;
use tokio::sync::{broadcast, watch};

use self::mirror::Step;
use self::resources::{managed_selector, run_id_of, run_name, workflow_name, FIELD_MANAGER};
use super::events::{EventSink, Op, RunEvent};
use super::outcome::{self, Ended};
use super::snapshot::Snapshot;
use crate::auth::ClientScope;
use crate::config::Settings;
use crate::db;

/// The cluster could not be reached or refused what the API server wrote.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ClusterError(pub String);

fn cluster_error(what: &str, e: &kube::Error) -> ClusterError {
    ClusterError(format!("{what}: {e}"))
}

/// One unfinished run as the mirror knows it.
pub(crate) struct Mirrored {
    pub snapshot: Snapshot,
    pub token_sha256: String,
    pub sink: EventSink,
    state: tokio::sync::Mutex<MirrorState>,
}

struct MirrorState {
    states: std::collections::BTreeMap<String, NodeState>,
    phase: String,
    queued: Vec<String>,
    finished: bool,
}

pub(crate) struct Cluster {
    client: Client,
    namespace: String,
    db: MySqlPool,
    settings: Arc<Settings>,
    live: broadcast::Sender<RunEvent>,
    runs: tokio::sync::Mutex<HashMap<u64, Arc<Mirrored>>>,
    /// Runs being created by Play right now: the resync must not take a
    /// missing Run for a deleted one.
    creating: Mutex<HashSet<u64>>,
    /// Runs whose final state MySQL already holds, so re-lists of finished
    /// Runs cost no database query.
    done: Mutex<HashSet<u64>>,
}

/// The outcome of an ingest call.
#[derive(Debug, PartialEq, Eq)]
pub enum IngestError {
    /// No such node in the run.
    NotFound,
    /// No token, a token of another run, or no such run.
    Unauthenticated,
    /// The run has finished; nothing more is accepted.
    Finished,
    BadEvent(String),
    Internal(String),
}

impl From<sqlx::Error> for IngestError {
    fn from(e: sqlx::Error) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<anyhow::Error> for IngestError {
    fn from(e: anyhow::Error) -> Self {
        Self::Internal(format!("{e:#}"))
    }
}

/// Compares two hex digests without an early exit.
fn digest_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl Cluster {
    pub fn new(
        client: Client,
        db: MySqlPool,
        settings: Arc<Settings>,
        live: broadcast::Sender<RunEvent>,
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
            runs: tokio::sync::Mutex::new(HashMap::new()),
            creating: Mutex::new(HashSet::new()),
            done: Mutex::new(HashSet::new()),
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
        let snapshot: Snapshot = serde_json::from_str(&row.snapshot)
            .map_err(|e| ClusterError(format!("stored snapshot unreadable: {e}")))?;
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
                failure_policy: super::driver::parse_failure_policy(&row.failure_policy),
                max_parallel: self.settings.max_parallel_nodes_per_run,
                snapshot: &snapshot,
            },
            &self.namespace,
        );
        let runs = self.runs_api();
        let created = runs
            .create(&PostParams::default(), &run)
            .await
            .map_err(|e| cluster_error("creating the Run", &e))?;
        let owned = async {
            if let Some(mut cm) = config_map {
                cm.metadata.owner_references = resources::owned_by(&created).map(|o| vec![o]);
                Api::<ConfigMap>::namespaced(self.client.clone(), &self.namespace)
                    .create(&PostParams::default(), &cm)
                    .await
                    .map_err(|e| cluster_error("creating the snapshot ConfigMap", &e))?;
            }
            Api::<Secret>::namespaced(self.client.clone(), &self.namespace)
                .create(
                    &PostParams::default(),
                    &resources::token_secret(&created, &token),
                )
                .await
                .map_err(|e| cluster_error("creating the token Secret", &e))?;
            Ok::<(), ClusterError>(())
        }
        .await;
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
        let graph = serde_json::from_str(&row.graph)
            .map_err(|e| ClusterError(format!("stored graph unreadable: {e}")))?;
        let wf = resources::workflow_object(row, graph, &self.namespace);
        Api::<Workflow>::namespaced(self.client.clone(), &self.namespace)
            .patch(
                &workflow_name(row.workflow_id),
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(&wf),
            )
            .await
            .map(drop)
            .map_err(|e| cluster_error("applying the Workflow", &e))
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
        if !matches!(row.status.as_str(), "pending" | "running") {
            self.mark_done(run_id);
            return Ok(None);
        }
        let (Ok(snapshot), Ok(states)) = (
            serde_json::from_str::<Snapshot>(&row.snapshot),
            serde_json::from_str(&row.node_states),
        ) else {
            tracing::error!(run_id, "stored snapshot or node states unreadable");
            return Ok(None);
        };
        let last_seq = db::runs::last_event_seq(&self.db, run_id).await?;
        let sink = EventSink::start(
            self.db.clone(),
            run_id,
            row.client_id,
            last_seq,
            self.live.clone(),
        );
        let m = Arc::new(Mirrored {
            snapshot,
            token_sha256,
            sink,
            state: tokio::sync::Mutex::new(MirrorState {
                states,
                phase: row.status.clone(),
                queued: row
                    .queued
                    .as_deref()
                    .and_then(|q| serde_json::from_str(q).ok())
                    .unwrap_or_default(),
                finished: false,
            }),
        });
        runs.insert(run_id, m.clone());
        Ok(Some(m))
    }

    fn mark_done(&self, run_id: u64) {
        if let Ok(mut d) = self.done.lock() {
            d.insert(run_id);
        }
    }

    fn is_done(&self, run_id: u64) -> bool {
        self.done.lock().is_ok_and(|d| d.contains(&run_id))
    }

    /// Brings MySQL and the SSE streams up to date with one observed Run.
    pub async fn observe(&self, run: &Run) {
        let Some(run_id) = run_id_of(run) else {
            return;
        };
        if self.is_done(run_id) {
            return;
        }
        let Some(status) = &run.status else {
            return;
        };
        let m = match self.mirrored(run_id).await {
            Ok(Some(m)) => m,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(run_id, error = %e, "could not load run to mirror");
                return;
            }
        };
        let mut st = m.state.lock().await;
        if st.finished {
            return;
        }
        let update = mirror::mirror(&st.states, &st.phase, &st.queued, status, Utc::now());
        if update.steps.is_empty() {
            return;
        }
        for step in update.steps {
            match step {
                Step::Write(op) => m.sink.write(op),
                Step::Emit(kind, data) => m.sink.emit(kind, data),
            }
        }
        st.states = update.states;
        st.queued.clone_from(&status.queued);
        super::run_phase_str(status.phase).clone_into(&mut st.phase);
        if update.finished {
            st.finished = true;
            drop(st);
            m.sink.flush().await;
            self.runs.lock().await.remove(&run_id);
            self.mark_done(run_id);
            tracing::info!(
                run_id,
                phase = super::run_phase_str(status.phase),
                "run finished on the cluster"
            );
        }
    }

    /// Deletes a finished Run (its Pods, Secret and ConfigMap go with it
    /// through owner references) once MySQL holds its final state.
    async fn expire(&self, run_id: u64) {
        let stored = db::runs::get(&self.db, ClientScope::All, run_id).await;
        let finished =
            matches!(&stored, Ok(Some(r)) if !matches!(r.status.as_str(), "pending" | "running"));
        if !finished {
            return;
        }
        match self
            .runs_api()
            .delete(&run_name(run_id), &DeleteParams::background())
            .await
        {
            Ok(_) => tracing::info!(run_id, "deleted the finished Run from the cluster"),
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => tracing::warn!(run_id, error = %e, "could not delete a finished Run"),
        }
    }

    /// A Run of an unfinished run disappeared: the run fails with the reason.
    async fn vanished(&self, run_id: u64, message: &str) {
        let Ok(Some(m)) = self.mirrored(run_id).await else {
            return;
        };
        let mut st = m.state.lock().await;
        if st.finished {
            return;
        }
        let states = serde_json::to_string(&st.states).unwrap_or_else(|_| "{}".into());
        m.sink.write(Op::FinishRun {
            status: "failed",
            message: message.to_owned(),
            states,
            at: Utc::now(),
        });
        m.sink
            .emit("run", json!({"status": "failed", "message": message}));
        st.finished = true;
        drop(st);
        m.sink.flush().await;
        self.runs.lock().await.remove(&run_id);
        self.mark_done(run_id);
        tracing::warn!(run_id, message, "run failed: its Run resource is gone");
    }

    /// Re-lists every Run and Workflow: catches up on anything a broken
    /// watch missed, fails runs whose Run is gone, re-sends cancels and
    /// re-applies Workflow mirrors that are missing or outdated.
    pub async fn resync(&self) -> Result<(), ClusterError> {
        let lp = ListParams::default().labels(&managed_selector());
        let listed = self
            .runs_api()
            .list(&lp)
            .await
            .map_err(|e| cluster_error("listing Runs", &e))?;
        let mut present = HashMap::new();
        let ttl_ms = i64::try_from(self.settings.k8s_run_ttl_seconds.saturating_mul(1000))
            .unwrap_or(i64::MAX);
        let now_ms = Utc::now().timestamp_millis();
        for run in &listed.items {
            if let Some(id) = run_id_of(run) {
                present.insert(id, run.spec.cancel);
            }
            self.observe(run).await;
            let finished_ms = run
                .status
                .as_ref()
                .and_then(|s| s.finished_at.as_deref())
                .and_then(katalusis_crds::resources::parse_time_ms);
            if let (Some(id), Some(f)) = (run_id_of(run), finished_ms) {
                if now_ms.saturating_sub(f) >= ttl_ms && self.is_done(id) {
                    self.expire(id).await;
                }
            }
        }
        let db_err = |e: sqlx::Error| ClusterError(format!("database: {e}"));
        let creating = self.creating.lock().map(|c| c.clone()).unwrap_or_default();
        for row in db::runs::unfinished_on_cluster(&self.db)
            .await
            .map_err(db_err)?
        {
            match present.get(&row.run_id) {
                None if !creating.contains(&row.run_id) => {
                    self.vanished(
                        row.run_id,
                        "the run's Run resource was deleted from the cluster",
                    )
                    .await;
                }
                Some(false) if row.cancel_requested => {
                    if let Err(e) = self.cancel(row.run_id).await {
                        tracing::warn!(run_id = row.run_id, error = %e, "could not re-send cancel");
                    }
                }
                _ => {}
            }
        }
        let workflows: Api<Workflow> = Api::namespaced(self.client.clone(), &self.namespace);
        let applied: HashMap<u64, u32> = workflows
            .list(&lp)
            .await
            .map_err(|e| cluster_error("listing Workflows", &e))?
            .items
            .iter()
            .map(|w| (w.spec.workflow_id, w.spec.revision))
            .collect();
        let current = db::workflows::current_revisions(&self.db)
            .await
            .map_err(db_err)?;
        for (id, revision) in &current {
            if applied.get(id) == Some(revision) {
                continue;
            }
            if let Ok(Some(row)) = db::workflows::get(&self.db, ClientScope::All, *id).await {
                if let Err(e) = self.apply_workflow(&row).await {
                    tracing::warn!(workflow_id = id, error = %e, "could not apply Workflow");
                }
            }
        }
        let live: HashSet<u64> = current.iter().map(|(id, _)| *id).collect();
        for id in applied.keys().filter(|id| !live.contains(id)) {
            if let Err(e) = self.delete_workflow(*id).await {
                tracing::warn!(workflow_id = id, error = %e, "could not delete Workflow");
            }
        }
        Ok(())
    }

    /// Watches our Runs until `stopping` turns true, re-listing every
    /// `KATALUSIS_K8S_RESYNC_SECONDS`.
    pub async fn watch(self: Arc<Self>, mut stopping: watch::Receiver<bool>) {
        let config = watcher::Config::default().labels(&managed_selector());
        let events = watcher(self.runs_api(), config).default_backoff();
        futures::pin_mut!(events);
        let mut resync =
            tokio::time::interval(Duration::from_secs(self.settings.k8s_resync_seconds));
        resync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let stop = async move {
            let _ = stopping.wait_for(|s| *s).await;
        };
        futures::pin_mut!(stop);
        loop {
            tokio::select! {
                event = events.next() => match event {
                    Some(Ok(watcher::Event::Apply(run) | watcher::Event::InitApply(run))) => {
                        self.observe(&run).await;
                    }
                    Some(Ok(watcher::Event::Delete(run))) => {
                        if let Some(id) = run_id_of(&run) {
                            if !self.is_done(id) {
                                self.vanished(id, "the run's Run resource was deleted from the cluster").await;
                            }
                            if let Ok(mut d) = self.done.lock() {
                                d.remove(&id);
                            }
                        }
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => tracing::warn!(error = %e, "watching Runs"),
                    None => break,
                },
                _ = resync.tick() => {
                    if let Err(e) = self.resync().await {
                        tracing::warn!(error = %e, "re-listing Runs");
                    }
                }
                () = &mut stop => break,
            }
        }
    }

    /// The job a node Pod fetches: the runner job line the local executor
    /// would write for this attempt.
    pub async fn job(
        &self,
        run_id: u64,
        token: &str,
        node: &str,
        attempt: u32,
    ) -> Result<Value, IngestError> {
        let m = self.authenticated(run_id, token).await?;
        if m.snapshot.graph.node(node).is_none() || attempt == 0 {
            return Err(IngestError::NotFound);
        }
        let upstream: HashSet<&str> = m
            .snapshot
            .graph
            .edges
            .iter()
            .filter(|e| e.target == node)
            .map(|e| e.source.as_str())
            .collect();
        let outputs =
            outcome::succeeded_outputs(&self.db, run_id, |n| upstream.contains(n)).await?;
        let job = m.snapshot.job(
            &format!("{node}#{attempt}"),
            run_id,
            node,
            attempt,
            &outputs,
            &self.settings,
        )?;
        Ok(job)
    }

    /// Stores the runner events a node Pod posts (JSON lines), then answers
    /// once they are committed.
    pub async fn ingest(
        &self,
        run_id: u64,
        token: &str,
        node: &str,
        attempt: u32,
        body: &str,
    ) -> Result<usize, IngestError> {
        let m = self.authenticated(run_id, token).await?;
        if m.snapshot.graph.node(node).is_none() || attempt == 0 {
            return Err(IngestError::NotFound);
        }
        let mut events = Vec::new();
        for (i, line) in body.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(line)
                .map_err(|e| IngestError::BadEvent(format!("line {}: {e}", i + 1)))?;
            events.push(v);
        }
        let expected_job = format!("{node}#{attempt}");
        let mut accepted = 0;
        for v in &events {
            if v["job"].as_str().is_some_and(|j| j != expected_job) {
                continue;
            }
            accepted += 1;
            match v["type"].as_str() {
                Some("log") => outcome::log(&m.sink, node, attempt, v),
                Some("progress") => outcome::progress(&m.sink, node, attempt, v),
                Some("finished") => {
                    outcome::log_traceback(&m.sink, node, attempt, v);
                    let ended = Ended::from_finished(v);
                    let stored = match &ended.outputs {
                        Some(o) => Some(
                            outcome::store_outputs(&self.db, &m.snapshot, run_id, node, attempt, o)
                                .await?,
                        ),
                        None => None,
                    };
                    m.sink.write(Op::EnsureExecution {
                        node: node.to_owned(),
                        attempt,
                        at: Utc::now(),
                    });
                    let mut op = ended.op(node, attempt, stored.as_ref());
                    if let Op::FinishExecution { keep_first, .. } = &mut op {
                        *keep_first = true;
                    }
                    m.sink.write(op);
                }
                _ => accepted -= 1,
            }
        }
        // The Pod exits only after this answer, and the operator starts
        // downstream nodes only after it exits: their job reads these outputs.
        m.sink.flush().await;
        Ok(accepted)
    }

    async fn authenticated(&self, run_id: u64, token: &str) -> Result<Arc<Mirrored>, IngestError> {
        let sha = crate::auth::tokens::sha256_hex(token);
        match self.mirrored(run_id).await? {
            Some(m) if digest_eq(&m.token_sha256, &sha) => {
                if m.state.lock().await.finished {
                    return Err(IngestError::Finished);
                }
                Ok(m)
            }
            Some(_) => Err(IngestError::Unauthenticated),
            None => {
                // A finished run still answers who may ask, so a late Pod
                // learns that the run is over rather than that it is unknown.
                let row = db::runs::get(&self.db, ClientScope::All, run_id).await?;
                match row.and_then(|r| r.ingest_token_sha256) {
                    Some(stored) if digest_eq(&stored, &sha) => Err(IngestError::Finished),
                    // Unknown runs look like wrong tokens: run ids are not disclosed.
                    _ => Err(IngestError::Unauthenticated),
                }
            }
        }
    }
}
