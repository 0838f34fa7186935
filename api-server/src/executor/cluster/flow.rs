//! Built-in (flow) nodes in `kubernetes` mode. The operator creates no Pod
//! for them: it parks the node in `waiting` ("run by the API server"). The
//! mirror sees that and runs the node here with the same code as the local
//! executor (`executor::builtin`, `flow`, `approvals`), stores its outcome
//! and outputs, then writes `spec.decisions` for the operator to apply.
//!
//! Everything it does is keyed by run, node and attempt (the approval row,
//! the task's source, the stored execution), so after a restart the mirror's
//! re-list starts the node again and it picks up where it was. Waits for a
//! person or a task are checked every second from the database.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use katalusis_crds::plan::{FailureReason, NodePhase};
use katalusis_crds::resources::{NodeDecision, Run};
use katalusis_crds::BuiltinKind;
use katalusis_flow::ApprovalStatus;
use kube::api::{Patch, PatchParams};
use kube::Api;
use serde_json::{json, Value};

use super::resources::run_name;
use super::{Cluster, Mirrored};
use crate::approvals::service::{self as approvals, AfterDeadline};
use crate::executor::builtin::{self, Step};
use crate::executor::outcome::{self, Ended};
use crate::flow::RunRef;

/// How often a waiting node looks at the database.
const POLL: Duration = Duration::from_secs(1);

impl Cluster {
    /// Starts the built-in nodes the operator parked for this process, once
    /// per attempt.
    pub(super) async fn run_parked(self: &Arc<Self>, run: &Run, m: &Arc<Mirrored>) {
        let Some(status) = &run.status else { return };
        for (node, st) in &status.nodes {
            if st.phase != NodePhase::Waiting
                || !matches!(m.snapshot.builtin_of(node), Ok(Some(_)))
                || run
                    .spec
                    .decisions
                    .get(node)
                    .is_some_and(|d| d.attempt == st.attempt)
            {
                continue;
            }
            let key = (run.spec.run_id, node.clone(), st.attempt);
            let fresh = self
                .flow_nodes
                .lock()
                .map(|mut s| s.insert(key.clone()))
                .unwrap_or(false);
            if !fresh {
                continue;
            }
            let cluster = self.clone();
            let m = m.clone();
            let node = node.clone();
            let attempt = st.attempt;
            let run_id = run.spec.run_id;
            tokio::spawn(async move {
                if let Err(e) = cluster.run_node(&m, run_id, &node, attempt).await {
                    tracing::warn!(
                        run_id,
                        node,
                        error = format!("{e:#}"),
                        "built-in node did not finish"
                    );
                }
                if let Ok(mut s) = cluster.flow_nodes.lock() {
                    s.remove(&(run_id, node, attempt));
                }
            });
        }
    }

    async fn run_node(
        &self,
        m: &Mirrored,
        run_id: u64,
        node: &str,
        attempt: u32,
    ) -> anyhow::Result<()> {
        let row = crate::db::runs::get(&self.db, crate::auth::ClientScope::All, run_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("run {run_id} vanished"))?;
        let run = RunRef {
            run_id,
            client_id: row.client_id,
            started_by: row.started_by,
        };
        // Upstream nodes' Pods stored their outputs before they ended.
        let outputs = outcome::succeeded_outputs(&self.db, run_id, |_| true).await?;
        let states = row.node_states;
        let started_ms = states
            .get(node)
            .and_then(|s| s.started_at_ms)
            .unwrap_or_else(|| Utc::now().timestamp_millis());
        let snapshot = &m.snapshot;
        let Some(kind) = snapshot.builtin_of(node)? else {
            return Ok(());
        };
        let value = builtin::approval_subject(snapshot, node, &outputs).unwrap_or(Value::Null);
        let ended = match kind {
            BuiltinKind::Condition | BuiltinKind::Switch | BuiltinKind::Wait => {
                match builtin::start(kind, snapshot, node, &outputs, started_ms) {
                    Step::Ended(e) => e,
                    Step::Wait { until_ms, .. } => {
                        let delay = until_ms - Utc::now().timestamp_millis();
                        if delay > 0 {
                            tokio::time::sleep(Duration::from_millis(delay as u64)).await;
                        }
                        builtin::expire(kind, snapshot, node, &outputs)
                    }
                }
            }
            BuiltinKind::Notification => match builtin::notify_spec(snapshot, node, &outputs) {
                Ok((spec, inputs)) => {
                    match crate::flow::notify::send(
                        &self.db,
                        &self.webhooks,
                        run,
                        node,
                        &spec,
                        &inputs,
                        Utc::now(),
                    )
                    .await
                    {
                        Ok((delivered, out)) => {
                            self.announcer.deliver(out);
                            let mut o = serde_json::Map::new();
                            o.insert("value".into(), value);
                            o.insert("delivered".into(), delivered);
                            Ended {
                                phase: NodePhase::Succeeded,
                                reason: None,
                                message: None,
                                duration_ms: None,
                                outputs: Some(o),
                                branch: None,
                            }
                        }
                        Err(m) => Ended::failed(FailureReason::Error, m),
                    }
                }
                Err(m) => Ended::failed(FailureReason::Error, m),
            },
            BuiltinKind::Task => match builtin::task_spec(snapshot, node, &outputs) {
                Ok((spec, inputs)) => {
                    match crate::flow::tasks::open(&self.db, run, node, &spec, &inputs, Utc::now())
                        .await
                    {
                        Ok((task_id, out)) => {
                            self.announcer.deliver(out);
                            if spec.wait {
                                loop {
                                    if ended_meanwhile(m, node, attempt).await {
                                        return Ok(());
                                    }
                                    match crate::flow::tasks::state(&self.db, task_id).await? {
                                        Some((_, false)) => tokio::time::sleep(POLL).await,
                                        _ => break,
                                    }
                                }
                            }
                            builtin::task_ended(&self.db, task_id, value).await
                        }
                        Err(m) => Ended::failed(FailureReason::Error, m),
                    }
                }
                Err(m) => Ended::failed(FailureReason::Error, m),
            },
            BuiltinKind::Query => match builtin::query_spec(snapshot, node, &outputs) {
                Ok((spec, inputs)) => {
                    let max_bytes =
                        usize::try_from(self.settings.max_output_bytes).unwrap_or(usize::MAX);
                    builtin::query_ended(&self.connector, run.client_id, spec, inputs, max_bytes)
                        .await
                }
                Err(m) => Ended::failed(FailureReason::Error, m),
            },
            BuiltinKind::Approval => match self.approve(m, run, node, attempt, value).await? {
                Some(e) => e,
                None => return Ok(()),
            },
        };
        let stored = match &ended.outputs {
            Some(o) => {
                Some(outcome::store_outputs(&self.db, snapshot, run_id, node, attempt, o).await?)
            }
            None => None,
        };
        m.sink.write(ended.op(node, attempt, stored.as_ref()));
        m.sink.flush().await;
        let decision = NodeDecision {
            attempt,
            succeeded: ended.phase == NodePhase::Succeeded,
            branch: ended.branch.clone(),
            message: ended.message.clone(),
        };
        Api::<Run>::namespaced(self.client.clone(), &self.namespace)
            .patch(
                &run_name(run_id),
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"decisions": {node: decision}}})),
            )
            .await?;
        Ok(())
    }

    /// Opens the node's approval (or finds it) and waits for its decision,
    /// applying the timeout policy at its deadline.
    async fn approve(
        &self,
        m: &Mirrored,
        run: RunRef,
        node: &str,
        attempt: u32,
        value: Value,
    ) -> anyhow::Result<Option<Ended>> {
        let spec = match builtin::approval_spec(&m.snapshot, node) {
            Ok(s) => s,
            Err(e) => return Ok(Some(Ended::failed(FailureReason::Error, e))),
        };
        let (opened, out) =
            match approvals::open(&self.db, run, node, attempt, &spec, &value, Utc::now()).await {
                Ok(o) => o,
                Err(e) => return Ok(Some(Ended::failed(FailureReason::Error, e.to_string()))),
            };
        self.announcer.deliver(out);
        let mut row = opened.row;
        loop {
            let status = ApprovalStatus::parse(&row.status).unwrap_or(ApprovalStatus::Cancelled);
            if let Some(verdict) = status.verdict() {
                return Ok(Some(builtin::decision_ended(&row, verdict)));
            }
            if status == ApprovalStatus::Cancelled {
                return Ok(None);
            }
            if ended_meanwhile(m, node, attempt).await {
                // The run was cancelled: a later decision answers 409.
                approvals::cancel(&self.db, run.run_id, node, Utc::now()).await?;
                return Ok(None);
            }
            if row.deadline_at.is_some_and(|d| d <= Utc::now()) {
                match approvals::on_deadline(&self.db, run, node, attempt, &spec, Utc::now()).await
                {
                    Ok((AfterDeadline::Decided(r), out)) => {
                        self.announcer.deliver(out);
                        row = *r;
                        continue;
                    }
                    Ok((AfterDeadline::Escalated { .. }, out)) => self.announcer.deliver(out),
                    Err(e) => return Ok(Some(Ended::failed(FailureReason::Error, e.to_string()))),
                }
            }
            tokio::time::sleep(POLL).await;
            row = crate::approvals::db::by_id(&self.db, row.approval_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("the approval vanished"))?;
        }
    }
}

/// Whether the mirror saw this attempt end without us (e.g. cancelled).
async fn ended_meanwhile(m: &Mirrored, node: &str, attempt: u32) -> bool {
    let st = m.state.lock().await;
    st.finished
        || st
            .states
            .get(node)
            .is_some_and(|s| s.attempt == attempt && s.phase.is_terminal())
}
