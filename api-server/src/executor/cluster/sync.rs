//! The mirror's I/O: a watch on our Runs plus a periodic re-list, each
//! observed status turned into state writes and events by the pure
//! [`mirror::mirror`](super::mirror::mirror) and applied through the run's
//! one event sink; runs whose Run vanished are failed, cancels re-sent,
//! finished Runs expired and Workflow mirrors re-applied.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures::StreamExt;
use katalusis_crds::plan::RunPhase;
use katalusis_crds::resources::{Run, Workflow};
use kube::api::{DeleteParams, ListParams};
use kube::runtime::watcher;
use kube::runtime::WatchStreamExt;
use kube::Api;
use tokio::sync::watch;

use super::mirror::{self, Step};
use super::resources::{created_here, managed_selector, run_id_of, run_name};
use super::{cluster_error, Cluster, ClusterError};
use crate::auth::ClientScope;
use crate::db;
use crate::executor::events::{kind, run_event, Op};

impl Cluster {
    /// Brings MySQL and the SSE streams up to date with one observed Run.
    pub async fn observe(self: &Arc<Self>, run: &Run) {
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
        // Built-in nodes the operator parked for this process to run.
        self.run_parked(run, &m).await;
        let mut st = m.state.lock().await;
        if st.finished {
            return;
        }
        let update = mirror::mirror(&st.states, st.phase, &st.queued, status, Utc::now());
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
        st.phase = status.phase;
        if update.finished {
            st.finished = true;
            drop(st);
            m.sink.flush().await;
            self.runs.lock().await.remove(&run_id);
            self.mark_done(run_id);
            tracing::info!(
                run_id,
                phase = status.phase.as_str(),
                "run finished on the cluster"
            );
        }
    }

    /// Deletes a finished Run (its Pods, Secret and ConfigMap go with it
    /// through owner references) once MySQL holds its final state.
    async fn expire(&self, run_id: u64) {
        let stored = db::runs::get(&self.db, ClientScope::All, run_id).await;
        let finished = matches!(&stored, Ok(Some(r)) if r.status.is_terminal());
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
        m.sink.write(Op::FinishRun {
            status: RunPhase::Failed,
            message: message.to_owned(),
            states: st.states.clone(),
            at: Utc::now(),
        });
        m.sink
            .emit(kind::RUN, run_event(RunPhase::Failed, Some(message)));
        st.finished = true;
        drop(st);
        m.sink.flush().await;
        self.runs.lock().await.remove(&run_id);
        self.mark_done(run_id);
        tracing::warn!(run_id, message, "run failed: its Run resource is gone");
    }

    /// Whether the run's Run is gone from the cluster now (an unanswered
    /// read says no: the next re-list asks again).
    async fn is_gone(&self, run_id: u64) -> bool {
        match self.runs_api().get_opt(&run_name(run_id)).await {
            Ok(run) => run.is_none(),
            Err(e) => {
                tracing::warn!(run_id, error = %e, "could not read a Run missing from the list");
                false
            }
        }
    }

    /// Re-lists every Run and Workflow: catches up on anything a broken
    /// watch missed, fails runs whose Run is gone, re-sends cancels and
    /// re-applies Workflow mirrors that are missing or outdated.
    pub(super) async fn resync(self: &Arc<Self>) -> Result<(), ClusterError> {
        let lp = ListParams::default().labels(&managed_selector());
        // Every Run: ours, adopted ones and ones waiting for adoption.
        let listed = self
            .runs_api()
            .list(&ListParams::default())
            .await
            .map_err(|e| cluster_error("listing Runs", &e))?;
        let mut present = HashMap::new();
        let ttl_ms = i64::try_from(self.settings.k8s_run_ttl_seconds.saturating_mul(1000))
            .unwrap_or(i64::MAX);
        let now_ms = Utc::now().timestamp_millis();
        for run in &listed.items {
            if let Some(id) = run_id_of(run) {
                present.insert(id, run.spec.cancel);
            } else {
                self.adopt_run(run).await;
                continue;
            }
            self.observe(run).await;
            let finished_ms = run
                .status
                .as_ref()
                .and_then(|s| s.finished_at.as_deref())
                .and_then(katalusis_crds::resources::parse_time_ms);
            if let (Some(id), Some(f)) = (run_id_of(run), finished_ms) {
                // Runs created in the cluster are their creator's to delete.
                if created_here(run) && now_ms.saturating_sub(f) >= ttl_ms && self.is_done(id) {
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
                // Absent from the list, but its Run may have been created
                // after the list was taken (and left `creating` before the
                // snapshot above): only a Run that is gone now has vanished.
                None if !creating.contains(&row.run_id) && self.is_gone(row.run_id).await => {
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
            .filter_map(|w| Some((w.spec.workflow_id?, w.spec.revision?)))
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
        self.resync_adopted().await
    }

    /// Watches our Runs until `stopping` turns true, re-listing every
    /// `KATALUSIS_K8S_RESYNC_SECONDS`.
    pub async fn watch(self: Arc<Self>, mut stopping: watch::Receiver<bool>) {
        // Every Run: Runs created in the cluster are adopted from this watch.
        let config = watcher::Config::default();
        let events = watcher(self.runs_api(), config).default_backoff();
        futures::pin_mut!(events);
        let adopting = tokio::spawn(self.clone().watch_workflows());
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
                        if run_id_of(&run).is_some() {
                            self.observe(&run).await;
                        } else {
                            self.adopt_run(&run).await;
                        }
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
        adopting.abort();
    }
}
