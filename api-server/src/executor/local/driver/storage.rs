//! What a run does when its state cannot be stored: its file outputs are
//! retried while the database is unreachable, and once the outage outlasts
//! its bound (or the unstored backlog grows past its limit) the run is
//! stopped and fails with reason `storage`.

use std::time::Duration;

use chrono::Utc;
use katalusis_crds::plan::{FailureReason, NodePhase, RunPhase};
use serde_json::{json, Map, Value};

use super::{now_ms, Driver, RunningJob};
use crate::db;
use crate::executor::events::{kind, node_event, run_event, Op, StoreStatus};
use crate::executor::outcome::{self, Ended};

impl Driver {
    /// Why the run must stop because its state cannot be stored, if it must:
    /// the store has been failing for longer than the allowed outage, or
    /// more is waiting to be stored than the buffer may hold.
    pub(super) fn storage_exceeded(&self, store: StoreStatus) -> Option<String> {
        if let Some(why) = &self.storage_failure {
            return Some(why.clone());
        }
        let settings = &self.local.settings;
        let outage = Duration::from_secs(settings.storage_outage_seconds);
        if store.failing_since.is_some_and(|t| t.elapsed() >= outage) {
            return Some(format!(
                "the run's state could not be stored for {} s (the database was unreachable)",
                settings.storage_outage_seconds
            ));
        }
        (store.unstored > settings.storage_backlog_max).then(|| {
            format!(
                "more than {} events of this run were waiting to be stored (the database was unreachable)",
                settings.storage_backlog_max
            )
        })
    }

    /// Stops the run because its state cannot be stored: running attempts
    /// are killed, every unfinished node fails with reason `storage` and the
    /// run fails. These writes wait in the store's ordered queue like all
    /// others and are committed once the database answers again.
    pub(super) async fn stop_for_storage(&mut self, why: String) {
        tracing::error!(run_id = self.run_id, reason = %why, "stopping the run: storage unavailable");
        let now = now_ms();
        let running: Vec<(String, RunningJob)> = self.running.drain().collect();
        for (id, job) in &running {
            self.pools
                .send_control(job.trust, &json!({"v": 1, "type": "cancel", "job": id}))
                .await;
            let ended = Ended::failed(FailureReason::Storage, why.clone());
            self.sink.write(ended.op(&job.node, job.attempt, None));
        }
        drop(running);
        for n in &self.snapshot.graph.nodes {
            let st = self.states.entry(n.id.clone()).or_default();
            if !st.phase.is_terminal() {
                if st.phase == NodePhase::Waiting {
                    let ended = Ended::failed(FailureReason::Storage, why.clone());
                    self.sink.write(ended.op(&n.id, st.attempt, None));
                }
                st.fail(FailureReason::Storage, why.clone(), now);
                self.sink.emit(kind::NODE, node_event(&n.id, st));
            }
        }
        self.sink.write(Op::FinishRun {
            status: RunPhase::Failed,
            message: why.clone(),
            states: self.states.clone(),
            at: Utc::now(),
        });
        self.sink
            .emit(kind::RUN, run_event(RunPhase::Failed, Some(&why)));
    }

    /// Stores an attempt's file outputs, retrying while the database is
    /// unreachable; `None` once the outage outlasted its bound (the run is
    /// then stopped).
    pub(super) async fn store_outputs(
        &mut self,
        node: &str,
        attempt: u32,
        outputs: &Map<String, Value>,
    ) -> anyhow::Result<Option<Map<String, Value>>> {
        let bound = Duration::from_secs(self.local.settings.storage_outage_seconds);
        let started = tokio::time::Instant::now();
        let mut delay = Duration::from_millis(100);
        loop {
            let db = &self.local.db;
            match outcome::store_outputs(db, &self.snapshot, self.run_id, node, attempt, outputs)
                .await
            {
                Ok(stored) => return Ok(Some(stored)),
                Err(e) if db::is_outage(&e) && started.elapsed() < bound => {
                    tracing::warn!(
                        run_id = self.run_id,
                        node,
                        error = format!("{e:#}"),
                        "could not store a node's files yet; retrying"
                    );
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                Err(e) if db::is_outage(&e) => {
                    self.storage_failure = Some(format!(
                        "the files of node `{node}` could not be stored for {} s (the database was unreachable)",
                        bound.as_secs()
                    ));
                    return Ok(None);
                }
                Err(e) => return Err(e),
            }
        }
    }
}
