//! The loop that drives one run: plan, apply the actions, wait for the next
//! thing that can change the plan (a node finished, a cancel request, a free
//! global slot, a retry time), plan again.

mod load;
mod storage;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use katalusis_crds::plan::{
    apply_action, plan, Action, FailurePolicy, FailureReason, NodePhase, PlanGraph, PlanInput,
    RunPhase,
};
use katalusis_crds::resources::RunSnapshot;
use katalusis_crds::{BuiltinKind, TrustLevel};
use katalusis_flow::ApprovalStatus;
use serde_json::json;
use tokio::sync::OwnedSemaphorePermit;

use super::pools::RunPools;
use super::runner::PoolEvent;
use super::{Local, RunControl, Slot};
use crate::approvals::db::ApprovalRow;
use crate::approvals::service::{self as approvals, AfterDeadline, RunRef};
use crate::db::runs::NodeStates;
use crate::executor::builtin;
use crate::executor::events::{kind, node_event, run_event, EventSink, Op};
use crate::executor::job::{self, job_id, NodeOutputs};
use crate::executor::outcome::{self, Ended};
use crate::executor::protocol::RunnerEvent;

struct RunningJob {
    node: String,
    attempt: u32,
    trust: TrustLevel,
    _slot: Slot,
}

pub(super) struct Driver {
    local: Arc<Local>,
    control: Arc<RunControl>,
    run_id: u64,
    /// The run's client and starter, for the approvals it opens.
    run: RunRef,
    snapshot: RunSnapshot,
    graph: PlanGraph,
    states: NodeStates,
    failure_policy: FailurePolicy,
    cancel_requested: bool,
    recorded: RunPhase,
    /// Node states changed since they were last queued for saving.
    dirty: bool,
    /// The planner's queue as last saved.
    queued: Vec<String>,
    outputs: NodeOutputs,
    running: HashMap<String, RunningJob>,
    /// A global slot the semaphore handed to this run while it waited for one.
    granted: Option<OwnedSemaphorePermit>,
    pools: RunPools,
    sink: EventSink,
    /// Set when storing failed for longer than allowed: the run is stopped.
    storage_failure: Option<String>,
    /// Task events, read while a Task node waits for its task to be done.
    task_feed: tokio::sync::broadcast::Receiver<crate::live::LiveEvent>,
    /// The tasks waiting Task nodes wait for, by task id.
    awaited_tasks: HashMap<u64, String>,
    /// Built-in nodes found running after a restart, started again first.
    restart: Vec<(String, u32)>,
    /// Query nodes running in their own task, by node: attempt and handle.
    queries: HashMap<String, (u32, tokio::task::AbortHandle)>,
    /// Where work done in the background (Query nodes, `ctx.query`) reports.
    builtin_done: tokio::sync::mpsc::UnboundedSender<Background>,
    builtin_results: tokio::sync::mpsc::UnboundedReceiver<Background>,
}

/// What a background task of the run reports to its driver.
pub(super) enum Background {
    /// A Query node's attempt ended.
    Ended(String, u32, Ended),
    /// The answer to a job's `ctx.query`, for its runner's stdin.
    Reply(TrustLevel, serde_json::Value),
}

/// Rows a `ctx.query` returns at most unless the call asks for fewer.
const CTX_QUERY_MAX_ROWS: usize = 100_000;

/// How often a run whose store is failing checks the outage bound.
const STORAGE_CHECK: Duration = Duration::from_secs(1);

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

impl Driver {
    pub async fn run(mut self) -> anyhow::Result<()> {
        let result = self.drive().await;
        self.pools.stop_all().await;
        self.sink.close().await;
        result
    }

    /// Takes the global slots this run could use right now, so the planner
    /// plans with slots that are really held and every `Start` it returns
    /// can be applied (which makes `Plan::run_phase` trustworthy).
    fn reserve_slots(&mut self) -> Vec<OwnedSemaphorePermit> {
        let waiting = self.graph.len().saturating_sub(
            self.states
                .values()
                .filter(|s| s.phase != NodePhase::Pending)
                .count(),
        );
        let run_cap = self
            .local
            .settings
            .max_parallel_nodes_per_run
            .map_or(usize::MAX, |cap| {
                (cap as usize).saturating_sub(self.running.len())
            });
        let wanted = waiting.min(run_cap);
        let mut held = Vec::with_capacity(wanted.min(64));
        // The slot handed to this run while it waited counts first.
        held.extend(self.granted.take().filter(|_| wanted > 0));
        while held.len() < wanted {
            match self.local.slots.clone().try_acquire_owned() {
                Ok(p) => held.push(p),
                Err(_) => break,
            }
        }
        held
    }

    async fn drive(&mut self) -> anyhow::Result<()> {
        let mut store_changes = self.sink.status_changes();
        if self.states.is_empty() {
            // A new run: show every node as pending before anything starts.
            for n in &self.snapshot.graph.nodes {
                self.sink
                    .emit(kind::NODE, node_event(&n.id, &Default::default()));
            }
        }
        self.start_pools().await;
        for (node, attempt) in std::mem::take(&mut self.restart) {
            if let Some(kind) = self.snapshot.builtin_of(&node)? {
                self.start_builtin(kind, &node, attempt).await?;
            }
        }
        // Decisions taken, and tasks done, while no process drove this run.
        self.collect_decisions().await;
        self.collect_tasks().await;
        loop {
            store_changes.borrow_and_update();
            let store = self.sink.status();
            if store.fenced {
                // Another replica drives the run now; the running attempts
                // end with this driver (their outcomes would not be stored).
                return Ok(());
            }
            if let Some(why) = self.storage_exceeded(store) {
                self.stop_for_storage(why).await;
                return Ok(());
            }
            // While the run's state cannot be stored, no new node starts;
            // running ones finish and their outcomes wait in the queue.
            let storing = store.failing_since.is_none();
            let mut reserved = if storing {
                self.reserve_slots()
            } else {
                Vec::new()
            };
            let now = now_ms();
            let input = PlanInput {
                graph: &self.graph,
                states: &self.states,
                failure_policy: self.failure_policy,
                max_parallel_in_run: self.local.settings.max_parallel_nodes_per_run,
                free_global_slots: u32::try_from(reserved.len()).unwrap_or(u32::MAX),
                cancel_requested: self.cancel_requested,
                now_ms: now,
                recorded_phase: self.recorded,
            };
            let p = plan(&input);
            let blocked = !p.queued.is_empty();
            let mut finished = None;
            // A node whose runner could not take it failed on the spot: the
            // plan's phase is stale, so plan again before recording it.
            let mut replan = false;
            for action in &p.actions {
                let was_waiting = action
                    .node()
                    .and_then(|n| self.states.get(n))
                    .is_some_and(|s| s.phase == NodePhase::Waiting);
                apply_action(&mut self.states, action, now);
                match action {
                    Action::Start { node, attempt } => {
                        let Some(permit) = reserved.pop() else {
                            anyhow::bail!(
                                "the planner started more nodes than slots were reserved"
                            );
                        };
                        let slot = Slot { _permit: permit };
                        replan |= !self.start_node(node, *attempt, slot).await?;
                    }
                    Action::Cancel { node } => {
                        let st = &self.states[node];
                        if st.phase == NodePhase::Running {
                            self.cancel_job(node, st.attempt).await;
                        } else {
                            if was_waiting {
                                self.awaited_tasks.retain(|_, n| n != node);
                                if let Err(e) =
                                    approvals::cancel(&self.local.db, self.run_id, node, Utc::now())
                                        .await
                                {
                                    tracing::warn!(run_id = self.run_id, node = %node, error = %e, "could not close the approval");
                                }
                                // Its attempt was recorded as started: close it.
                                let ended = Ended::failed(
                                    FailureReason::Cancelled,
                                    "cancelled while waiting",
                                );
                                self.sink.write(ended.op(node, st.attempt, None));
                            }
                            self.sink.emit(kind::NODE, node_event(node, st));
                        }
                    }
                    Action::Expire { node } => self.expire(node).await?,
                    Action::Finish { phase, message } => finished = Some((*phase, message.clone())),
                    _ => {
                        if let Some(node) = action.node() {
                            self.sink
                                .emit(kind::NODE, node_event(node, &self.states[node]));
                        }
                    }
                }
            }
            if !reserved.is_empty() {
                // Slots this plan did not use go back, to the runs waiting longest.
                drop(reserved);
            }
            if let Some((phase, message)) = finished {
                self.sink.write(Op::FinishRun {
                    status: phase,
                    message: message.clone(),
                    states: self.states.clone(),
                    at: Utc::now(),
                });
                self.recorded = phase;
                self.sink.emit(kind::RUN, run_event(phase, Some(&message)));
                return Ok(());
            }
            if replan {
                continue;
            }
            let phase = p.run_phase;
            if phase != self.recorded
                || !p.actions.is_empty()
                || self.dirty
                || p.queued != self.queued
            {
                self.dirty = false;
                self.queued.clone_from(&p.queued);
                self.sink.write(Op::SaveStates {
                    status: phase,
                    states: self.states.clone(),
                    queued: p.queued.clone(),
                    started: phase != RunPhase::Pending,
                    at: Utc::now(),
                });
                if phase != self.recorded {
                    self.sink.emit(kind::RUN, run_event(phase, None));
                    self.recorded = phase;
                }
            }
            if p.actions
                .iter()
                .any(|a| !matches!(a, Action::Start { .. } | Action::Cancel { .. }))
            {
                // Skips and retries can make more work ready at once: plan again before sleeping.
                continue;
            }
            let wake = p.wake_at_ms.map(|t| {
                let delay = u64::try_from(t - now_ms()).unwrap_or(0);
                tokio::time::Instant::now() + std::time::Duration::from_millis(delay)
            });
            tokio::select! {
                Some((trust, ev)) = self.pools.recv() => self.on_pool_event(trust, ev).await?,
                Some(msg) = self.builtin_results.recv() => match msg {
                    Background::Ended(node, attempt, ended) => {
                        self.on_builtin_done(node, attempt, ended).await?;
                    }
                    Background::Reply(trust, reply) => {
                        self.pools.send_control(trust, &reply).await;
                    }
                },
                _ = self.control.cancel.notified() => self.cancel_requested = true,
                _ = self.control.decided.notified() => self.collect_decisions().await,
                ev = self.task_feed.recv(), if !self.awaited_tasks.is_empty() => {
                    use tokio::sync::broadcast::error::RecvError;
                    let relevant = match ev {
                        Ok(crate::live::LiveEvent::Task { data, .. }) => data["taskId"]
                            .as_u64()
                            .is_some_and(|id| self.awaited_tasks.contains_key(&id)),
                        Ok(_) | Err(RecvError::Closed) => false,
                        // Events were dropped: look at every awaited task.
                        Err(RecvError::Lagged(_)) => true,
                    };
                    if relevant {
                        self.collect_tasks().await;
                    }
                }
                _ = tokio::time::sleep_until(wake.unwrap_or_else(tokio::time::Instant::now)), if wake.is_some() => {}
                // Only this run wakes when the semaphore hands it a slot (no
                // herd of every queued run planning again at each release).
                permit = self.local.slots.clone().acquire_owned(), if blocked => {
                    self.granted = permit.ok();
                }
                _ = store_changes.changed() => {}
                // While storing fails, look at the outage bound now and then.
                _ = tokio::time::sleep(STORAGE_CHECK), if !storing => {}
            }
            // Handle everything else that is already waiting before planning again.
            while let Some((trust, ev)) = self.pools.try_recv() {
                self.on_pool_event(trust, ev).await?;
            }
        }
    }

    /// Starts one runner per trust level the run may still need, concurrently.
    async fn start_pools(&mut self) {
        let mut needed = Vec::new();
        for n in &self.snapshot.graph.nodes {
            let done = self.states.get(&n.id).is_some_and(|s| {
                matches!(
                    s.phase,
                    NodePhase::Succeeded | NodePhase::Skipped | NodePhase::Cancelled
                )
            });
            let builtin = matches!(self.snapshot.builtin_of(&n.id), Ok(Some(_)));
            let t = self.snapshot.trust_of(&n.id);
            if !done && !builtin && !needed.contains(&t) {
                needed.push(t);
            }
        }
        self.pools.start(&self.local, needed).await;
    }

    /// Hands an attempt to its runner; false when the runner could not take
    /// it and the attempt was recorded as failed.
    async fn start_node(&mut self, node: &str, attempt: u32, slot: Slot) -> anyhow::Result<bool> {
        self.sink.write(Op::StartExecution {
            node: node.to_string(),
            attempt,
            at: Utc::now(),
        });
        self.sink
            .emit(kind::NODE, node_event(node, &self.states[node]));
        if let Some(kind) = self.snapshot.builtin_of(node)? {
            // Run in-process: no runner job and no slot held afterwards.
            drop(slot);
            self.start_builtin(kind, node, attempt).await?;
            return Ok(false);
        }
        let trust = self.snapshot.trust_of(node);
        let job = match job::build(
            &self.snapshot,
            self.run_id,
            node,
            attempt,
            &self.outputs,
            &self.local.settings,
        ) {
            Ok(job) => job,
            // E.g. a secret parameter that does not decrypt: this node fails
            // with the reason, the run goes on by its failure policy.
            Err(e) => {
                drop(slot);
                self.record(
                    node,
                    attempt,
                    Ended::failed(FailureReason::Error, format!("{e:#}")),
                )
                .await?;
                return Ok(false);
            }
        };
        match self.pools.send_job(&self.local, trust, &job).await {
            Ok(()) => {
                self.running.insert(
                    job_id(node, attempt),
                    RunningJob {
                        node: node.to_string(),
                        attempt,
                        trust,
                        _slot: slot,
                    },
                );
            }
            Err(message) => {
                drop(slot);
                self.record(
                    node,
                    attempt,
                    Ended::failed(FailureReason::Sandbox, message),
                )
                .await?;
                return Ok(false);
            }
        }
        Ok(true)
    }

    async fn start_builtin(
        &mut self,
        kind: BuiltinKind,
        node: &str,
        attempt: u32,
    ) -> anyhow::Result<()> {
        match kind {
            BuiltinKind::Approval => return self.start_approval(node, attempt).await,
            BuiltinKind::Notification => return self.start_notification(node, attempt).await,
            BuiltinKind::Task => return self.start_task(node, attempt).await,
            BuiltinKind::Query => {
                self.start_query(node, attempt);
                return Ok(());
            }
            BuiltinKind::Condition | BuiltinKind::Switch | BuiltinKind::Wait => {}
        }
        match builtin::start(kind, &self.snapshot, node, &self.outputs, now_ms()) {
            builtin::Step::Ended(ended) => self.record(node, attempt, ended).await,
            builtin::Step::Wait { until_ms, message } => {
                let st = self.states.entry(node.to_string()).or_default();
                st.wait(Some(until_ms), Some(message));
                self.dirty = true;
                self.sink.emit(kind::NODE, node_event(node, st));
                Ok(())
            }
        }
    }

    /// Runs a Query node in its own task, so a slow database never holds
    /// up the rest of the run; it reports on `builtin_done`.
    fn start_query(&mut self, node: &str, attempt: u32) {
        let connector = self.local.connector.clone();
        let client_id = self.run.client_id;
        let max_bytes = usize::try_from(self.local.settings.max_output_bytes).unwrap_or(usize::MAX);
        let checked = builtin::query_spec(&self.snapshot, node, &self.outputs);
        let done = self.builtin_done.clone();
        let node_id = node.to_owned();
        let task = tokio::spawn(async move {
            let ended = match checked {
                Ok((spec, inputs)) => {
                    builtin::query_ended(&connector, client_id, spec, inputs, max_bytes).await
                }
                Err(m) => Ended::failed(FailureReason::Error, m),
            };
            let _ = done.send(Background::Ended(node_id, attempt, ended));
        });
        self.queries
            .insert(node.to_owned(), (attempt, task.abort_handle()));
    }

    /// Answers a job's `ctx.query` in the background: the same connection
    /// checks and limits as a Query node, for the run's client.
    #[allow(clippy::too_many_arguments)]
    fn ctx_query(
        &self,
        trust: TrustLevel,
        job: String,
        id: u64,
        connection: String,
        sql: String,
        params: serde_json::Map<String, serde_json::Value>,
        max_rows: Option<usize>,
    ) {
        let connector = self.local.connector.clone();
        let client_id = self.run.client_id;
        let done = self.builtin_done.clone();
        let limits = crate::connections::query::Limits {
            max_rows: max_rows
                .unwrap_or(CTX_QUERY_MAX_ROWS)
                .clamp(1, CTX_QUERY_MAX_ROWS),
            ..Default::default()
        };
        tokio::spawn(async move {
            let result = connector
                .query(client_id, &connection, &sql, &params, limits)
                .await;
            let reply = crate::executor::protocol::query_reply(&job, id, result);
            let _ = done.send(Background::Reply(trust, reply));
        });
    }

    /// A Query node's task reported: recorded unless the attempt is over.
    async fn on_builtin_done(
        &mut self,
        node: String,
        attempt: u32,
        ended: Ended,
    ) -> anyhow::Result<()> {
        match self.queries.get(&node) {
            Some((a, _)) if *a == attempt => {
                self.queries.remove(&node);
                self.record(&node, attempt, ended).await
            }
            _ => Ok(()),
        }
    }

    /// Parks the node in `waiting` until `until_ms` (or a decision).
    fn park(&mut self, node: &str, until_ms: Option<i64>, message: String) {
        let st = self.states.entry(node.to_string()).or_default();
        st.wait(until_ms, Some(message));
        self.dirty = true;
        self.sink.emit(kind::NODE, node_event(node, st));
    }

    /// Opens the node's approval (or finds it after a restart) and waits.
    async fn start_approval(&mut self, node: &str, attempt: u32) -> anyhow::Result<()> {
        let opened = match builtin::approval_spec(&self.snapshot, node).and_then(|spec| {
            builtin::approval_subject(&self.snapshot, node, &self.outputs).map(|v| (spec, v))
        }) {
            Ok((spec, subject)) => approvals::open(
                &self.local.db,
                self.run,
                node,
                attempt,
                &spec,
                &subject,
                Utc::now(),
            )
            .await
            .map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        match opened {
            Ok((opened, out)) => {
                self.local.announcer.deliver(out);
                if opened.row.status != ApprovalStatus::Pending.as_str() {
                    return self.record_decision(node, opened.row).await;
                }
                let until = opened.row.deadline_at.map(|t| t.timestamp_millis());
                let message = format!("waiting for {}", opened.approvers.join(", "));
                self.park(node, until, message);
                Ok(())
            }
            Err(message) => {
                self.record(node, attempt, Ended::failed(FailureReason::Error, message))
                    .await
            }
        }
    }

    /// Sends a Notification node's message; it ends at once either way.
    async fn start_notification(&mut self, node: &str, attempt: u32) -> anyhow::Result<()> {
        let started = std::time::Instant::now();
        let sent = match builtin::notify_spec(&self.snapshot, node, &self.outputs) {
            Ok((spec, inputs)) => crate::flow::notify::send(
                &self.local.db,
                &self.local.webhooks,
                self.run,
                node,
                &spec,
                &inputs,
                Utc::now(),
            )
            .await
            .map(|(delivered, out)| (delivered, out, inputs.get("value").cloned())),
            Err(e) => Err(e),
        };
        let ended = match sent {
            Ok((delivered, out, value)) => {
                self.local.announcer.deliver(out);
                let mut outputs = serde_json::Map::new();
                outputs.insert("value".into(), value.unwrap_or(serde_json::Value::Null));
                outputs.insert("delivered".into(), delivered);
                Ended {
                    phase: NodePhase::Succeeded,
                    reason: None,
                    message: None,
                    duration_ms: i64::try_from(started.elapsed().as_millis()).ok(),
                    outputs: Some(outputs),
                    branch: None,
                }
            }
            Err(message) => Ended::failed(FailureReason::Error, message),
        };
        self.record(node, attempt, ended).await
    }

    /// Creates a Task node's task; ends the node, or waits for the task.
    async fn start_task(&mut self, node: &str, attempt: u32) -> anyhow::Result<()> {
        let opened = match builtin::task_spec(&self.snapshot, node, &self.outputs) {
            Ok((spec, inputs)) => {
                crate::flow::tasks::open(&self.local.db, self.run, node, &spec, &inputs, Utc::now())
                    .await
                    .map(|(id, out)| (id, out, spec.wait))
            }
            Err(e) => Err(e),
        };
        match opened {
            Ok((task_id, out, wait)) => {
                self.local.announcer.deliver(out);
                if wait {
                    self.awaited_tasks.insert(task_id, node.to_owned());
                    self.park(node, None, "waiting for its task to be done".into());
                    // It may be done already (found again after a restart).
                    self.collect_tasks().await;
                    Ok(())
                } else {
                    self.end_task_node(node, attempt, task_id).await
                }
            }
            Err(message) => {
                self.record(node, attempt, Ended::failed(FailureReason::Error, message))
                    .await
            }
        }
    }

    /// Ends a Task node with its task's fields.
    async fn end_task_node(
        &mut self,
        node: &str,
        attempt: u32,
        task_id: u64,
    ) -> anyhow::Result<()> {
        let value = builtin::approval_subject(&self.snapshot, node, &self.outputs)
            .unwrap_or(serde_json::Value::Null);
        let ended = builtin::task_ended(&self.local.db, task_id, value).await;
        self.record(node, attempt, ended).await
    }

    /// Ends waiting Task nodes whose task is done (or gone).
    async fn collect_tasks(&mut self) {
        let waiting: Vec<(String, u32)> = self
            .states
            .iter()
            .filter(|(n, s)| {
                s.phase == NodePhase::Waiting
                    && matches!(self.snapshot.builtin_of(n), Ok(Some(BuiltinKind::Task)))
            })
            .map(|(n, s)| (n.clone(), s.attempt))
            .collect();
        for (node, attempt) in waiting {
            let task_id = match crate::flow::tasks::find(&self.local.db, self.run_id, &node).await {
                Ok(Some(id)) => id,
                Ok(None) => {
                    let ended = Ended::failed(FailureReason::Error, "the task was deleted");
                    if let Err(e) = self.record(&node, attempt, ended).await {
                        tracing::warn!(run_id = self.run_id, node = %node, error = format!("{e:#}"), "could not end a task node");
                    }
                    continue;
                }
                Err(e) => {
                    tracing::warn!(run_id = self.run_id, node = %node, error = %e, "could not read a task node's task");
                    continue;
                }
            };
            self.awaited_tasks.insert(task_id, node.clone());
            match crate::flow::tasks::state(&self.local.db, task_id).await {
                Ok(Some((_, true)) | None) => {
                    self.awaited_tasks.remove(&task_id);
                    if let Err(e) = self.end_task_node(&node, attempt, task_id).await {
                        tracing::warn!(run_id = self.run_id, node = %node, error = format!("{e:#}"), "could not end a task node");
                    }
                }
                Ok(Some((_, false))) => {}
                Err(e) => {
                    tracing::warn!(run_id = self.run_id, node = %node, error = %e, "could not read a task node's task");
                }
            }
        }
    }

    /// Ends waiting approval nodes whose approval was decided. A read that
    /// fails is retried on the next decision or restart.
    async fn collect_decisions(&mut self) {
        let waiting = self.states.iter().any(|(n, s)| {
            s.phase == NodePhase::Waiting
                && matches!(self.snapshot.builtin_of(n), Ok(Some(BuiltinKind::Approval)))
        });
        if !waiting {
            return;
        }
        let rows = match approvals::decided_of_run(&self.local.db, self.run_id).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(run_id = self.run_id, error = %e, "could not read approval decisions");
                return;
            }
        };
        for row in rows {
            let node = row.node_id.clone();
            if let Err(e) = self.record_decision(&node, row).await {
                tracing::warn!(run_id = self.run_id, node = %node, error = format!("{e:#}"), "could not record a decision");
            }
        }
    }

    /// Ends a waiting approval node with its decision (once).
    async fn record_decision(&mut self, node: &str, row: ApprovalRow) -> anyhow::Result<()> {
        let waiting = self
            .states
            .get(node)
            .is_some_and(|s| s.phase == NodePhase::Waiting && s.attempt == row.attempt);
        let Some(verdict) = ApprovalStatus::parse(&row.status).and_then(ApprovalStatus::verdict)
        else {
            return Ok(());
        };
        if !waiting {
            return Ok(());
        }
        let ended = builtin::decision_ended(&row, verdict);
        self.record(node, row.attempt, ended).await
    }

    /// An approval's deadline passed: decide by its policy or escalate.
    async fn expire_approval(&mut self, node: &str, attempt: u32) -> anyhow::Result<()> {
        let spec = match builtin::approval_spec(&self.snapshot, node) {
            Ok(spec) => spec,
            Err(m) => {
                return self
                    .record(node, attempt, Ended::failed(FailureReason::Error, m))
                    .await
            }
        };
        match approvals::on_deadline(&self.local.db, self.run, node, attempt, &spec, Utc::now())
            .await
        {
            Ok((AfterDeadline::Decided(row), out)) => {
                self.local.announcer.deliver(out);
                self.record_decision(node, *row).await
            }
            Ok((
                AfterDeadline::Escalated {
                    until_ms,
                    approvers,
                },
                out,
            )) => {
                self.local.announcer.deliver(out);
                self.park(
                    node,
                    until_ms,
                    format!("escalated; waiting for {}", approvers.join(", ")),
                );
                Ok(())
            }
            Err(e) => {
                self.record(
                    node,
                    attempt,
                    Ended::failed(FailureReason::Error, e.to_string()),
                )
                .await
            }
        }
    }

    /// A waiting node's deadline passed: end it by its kind.
    async fn expire(&mut self, node: &str) -> anyhow::Result<()> {
        let attempt = self.states.get(node).map_or(1, |s| s.attempt);
        if self.snapshot.builtin_of(node)? == Some(BuiltinKind::Approval) {
            return self.expire_approval(node, attempt).await;
        }
        let ended = match self.snapshot.builtin_of(node)? {
            Some(kind) => builtin::expire(kind, &self.snapshot, node, &self.outputs),
            None => Ended::failed(
                FailureReason::Interrupted,
                "a node that is not built in was found waiting",
            ),
        };
        self.record(node, attempt, ended).await
    }

    async fn cancel_job(&mut self, node: &str, attempt: u32) {
        if let Some((a, task)) = self.queries.get(node) {
            if *a == attempt {
                task.abort();
                let _ = self.builtin_done.send(Background::Ended(
                    node.to_owned(),
                    attempt,
                    Ended::failed(FailureReason::Cancelled, "cancelled while querying"),
                ));
            }
            return;
        }
        let id = job_id(node, attempt);
        if let Some(job) = self.running.get(&id) {
            let trust = job.trust;
            self.pools
                .send_control(trust, &json!({"v": 1, "type": "cancel", "job": id}))
                .await;
        }
    }

    async fn on_pool_event(&mut self, trust: TrustLevel, ev: PoolEvent) -> anyhow::Result<()> {
        match ev {
            PoolEvent::Died(message) => {
                tracing::warn!(run_id = self.run_id, %message, "runner pool died");
                // The next node of this trust level starts a fresh runner; the
                // attempts that were running fail (retryable) with the cause.
                self.pools.remove(trust).await;
                let lost: Vec<String> = self
                    .running
                    .iter()
                    .filter(|(_, j)| j.trust == trust)
                    .map(|(id, _)| id.clone())
                    .collect();
                for id in lost {
                    if let Some(job) = self.running.remove(&id) {
                        self.record(
                            &job.node,
                            job.attempt,
                            Ended::failed(FailureReason::Error, message.clone()),
                        )
                        .await?;
                    }
                }
            }
            PoolEvent::Job(ev) => {
                let Some(id) = ev.job().map(str::to_owned) else {
                    return Ok(());
                };
                let Some(job) = self.running.get(&id) else {
                    return Ok(());
                };
                let (node, attempt) = (job.node.clone(), job.attempt);
                if let RunnerEvent::Query {
                    job,
                    id,
                    connection,
                    sql,
                    params,
                    max_rows,
                } = ev
                {
                    self.ctx_query(trust, job, id, connection, sql, params, max_rows);
                    return Ok(());
                }
                let is_last = matches!(ev, RunnerEvent::Finished { .. });
                if is_last {
                    // The slot is released before the outcome is recorded.
                    self.running.remove(&id);
                }
                if let Some(ended) = outcome::report(&self.sink, &node, attempt, ev) {
                    self.record(&node, attempt, ended).await?;
                }
            }
        }
        Ok(())
    }

    /// Records the end of an attempt: node_execution row, node state, event.
    async fn record(&mut self, node: &str, attempt: u32, mut ended: Ended) -> anyhow::Result<()> {
        let stored = match &ended.outputs {
            Some(o) => match self.store_outputs(node, attempt, o).await? {
                Some(stored) => Some(stored),
                None => {
                    let why = self.storage_failure.clone().unwrap_or_default();
                    ended = Ended::failed(FailureReason::Storage, why);
                    None
                }
            },
            None => None,
        };
        self.sink.write(ended.op(node, attempt, stored.as_ref()));
        self.dirty = true;
        let st = self.states.entry(node.to_string()).or_default();
        ended.apply_to(st, now_ms());
        let mut ev = node_event(node, st);
        if let Some(d) = ended.duration_ms {
            ev["durationMs"] = json!(d);
        }
        self.sink.emit(kind::NODE, ev);
        if let Some(o) = ended.outputs {
            self.outputs.insert(node.to_string(), o);
        }
        Ok(())
    }
}
