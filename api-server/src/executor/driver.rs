//! The loop that drives one run: plan, apply the actions, wait for the next
//! thing that can change the plan (a node finished, a cancel request, a free
//! global slot, a retry time), plan again.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::Utc;
use katalusis_crds::plan::{
    apply_action, plan, Action, FailurePolicy, FailureReason, NodePhase, NodeState, PlanGraph,
    PlanInput, RunPhase,
};
use katalusis_crds::TrustLevel;
use serde_json::json;
use tokio::sync::mpsc;

use super::events::{EventSink, Op};
use super::outcome::{self, node_event, Ended};
use super::pool::{Pool, PoolEvent};
use super::snapshot::{trust_str, NodeOutputs, Snapshot};
use super::{Inner, RunControl, Slot};
use crate::config::SandboxMode;
use crate::db;

enum PoolState {
    Ready(Box<Pool>),
    Failed(String),
}

struct RunningJob {
    node: String,
    attempt: u32,
    trust: TrustLevel,
    _slot: Slot,
}

pub(super) struct Driver {
    inner: Arc<Inner>,
    control: Arc<RunControl>,
    run_id: u64,
    snapshot: Snapshot,
    graph: PlanGraph,
    states: BTreeMap<String, NodeState>,
    failure_policy: FailurePolicy,
    cancel_requested: bool,
    recorded: RunPhase,
    /// Node states changed since they were last queued for saving.
    dirty: bool,
    /// The planner's queue as last saved.
    queued: Vec<String>,
    outputs: NodeOutputs,
    running: HashMap<String, RunningJob>,
    pools: HashMap<&'static str, PoolState>,
    sink: EventSink,
    pool_tx: mpsc::UnboundedSender<(TrustLevel, PoolEvent)>,
    pool_rx: mpsc::UnboundedReceiver<(TrustLevel, PoolEvent)>,
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

pub fn phase_str(p: NodePhase) -> &'static str {
    match p {
        NodePhase::Pending => "pending",
        NodePhase::Running => "running",
        NodePhase::Succeeded => "succeeded",
        NodePhase::Failed => "failed",
        NodePhase::Skipped => "skipped",
        NodePhase::Cancelled => "cancelled",
    }
}

pub fn run_phase_str(p: RunPhase) -> &'static str {
    match p {
        RunPhase::Pending => "pending",
        RunPhase::Running => "running",
        RunPhase::Succeeded => "succeeded",
        RunPhase::Failed => "failed",
        RunPhase::Cancelled => "cancelled",
    }
}

pub fn parse_failure_policy(s: &str) -> FailurePolicy {
    if s == "fail_fast" {
        FailurePolicy::FailFast
    } else {
        FailurePolicy::Continue
    }
}

fn job_id(node: &str, attempt: u32) -> String {
    format!("{node}#{attempt}")
}

impl Driver {
    pub async fn load(
        inner: Arc<Inner>,
        row: db::runs::Row,
        control: Arc<RunControl>,
        resumed: bool,
    ) -> anyhow::Result<Self> {
        let snapshot: Snapshot = serde_json::from_str(&row.snapshot)?;
        let graph = snapshot.plan_graph()?;
        let mut states: BTreeMap<String, NodeState> = serde_json::from_str(&row.node_states)?;
        let last_seq = db::runs::last_event_seq(&inner.db, row.run_id).await?;
        let sink = EventSink::start(
            inner.db.clone(),
            row.run_id,
            row.client_id,
            last_seq,
            inner.live.clone(),
        );
        let (pool_tx, pool_rx) = mpsc::unbounded_channel();
        let mut outputs = NodeOutputs::new();
        if resumed {
            let now = now_ms();
            for (node, st) in states.iter_mut() {
                if st.phase != NodePhase::Running {
                    continue;
                }
                let message = "the server stopped while this node was running";
                db::runs::finish_execution(
                    &inner.db,
                    row.run_id,
                    node,
                    st.attempt,
                    &db::runs::Outcome {
                        status: "failed",
                        reason: Some(FailureReason::Interrupted.as_str()),
                        message: Some(message),
                        duration_ms: None,
                        outputs: None,
                    },
                    Utc::now(),
                )
                .await?;
                st.phase = NodePhase::Failed;
                st.reason = Some(FailureReason::Interrupted);
                st.message = Some(message.into());
                st.finished_at_ms = Some(now);
                st.cancelling = false;
                sink.emit("node", node_event(node, st));
            }
            // Downstream nodes still need the outputs of nodes that succeeded before the restart.
            outputs = outcome::succeeded_outputs(&inner.db, row.run_id, |n| {
                states
                    .get(n)
                    .is_some_and(|s| s.phase == NodePhase::Succeeded)
            })
            .await?;
        }
        let recorded = match row.status.as_str() {
            "running" => RunPhase::Running,
            _ => RunPhase::Pending,
        };
        Ok(Self {
            inner,
            control,
            run_id: row.run_id,
            graph,
            snapshot,
            states,
            failure_policy: parse_failure_policy(&row.failure_policy),
            cancel_requested: row.cancel_requested,
            recorded,
            dirty: resumed,
            queued: Vec::new(),
            outputs,
            running: HashMap::new(),
            pools: HashMap::new(),
            sink,
            pool_tx,
            pool_rx,
        })
    }

    pub async fn run(mut self) -> anyhow::Result<()> {
        let result = self.drive().await;
        for (_, pool) in self.pools.drain() {
            if let PoolState::Ready(p) = pool {
                p.stop().await;
            }
        }
        self.sink.close().await;
        result
    }

    async fn drive(&mut self) -> anyhow::Result<()> {
        let mut freed = self.inner.freed.subscribe();
        if self.states.is_empty() {
            // A new run: show every node as pending before anything starts.
            for n in &self.snapshot.graph.nodes {
                self.sink
                    .emit("node", node_event(&n.id, &NodeState::default()));
            }
        }
        self.start_pools().await;
        loop {
            // Mark releases seen *before* reading the free slots, so a release
            // between planning and sleeping still wakes this run.
            freed.borrow_and_update();
            let now = now_ms();
            let input = PlanInput {
                graph: &self.graph,
                states: &self.states,
                failure_policy: self.failure_policy,
                max_parallel_in_run: self.inner.settings.max_parallel_nodes_per_run,
                free_global_slots: self.inner.slots.available_permits() as u32,
                cancel_requested: self.cancel_requested,
                now_ms: now,
                recorded_phase: self.recorded,
            };
            let p = plan(&input);
            let mut blocked = !p.queued.is_empty();
            let mut finished = None;
            for action in &p.actions {
                match action {
                    Action::Start { node, attempt } => {
                        let Ok(permit) = self.inner.slots.clone().try_acquire_owned() else {
                            // Another run took the slot between planning and now.
                            blocked = true;
                            continue;
                        };
                        let slot = Slot {
                            permit: Some(permit),
                            inner: self.inner.clone(),
                        };
                        apply_action(&mut self.states, action, now);
                        self.start_node(node, *attempt, slot).await?;
                    }
                    Action::Cancel { node } => {
                        apply_action(&mut self.states, action, now);
                        let st = &self.states[node];
                        if st.phase == NodePhase::Running {
                            self.cancel_job(node, st.attempt).await;
                        } else {
                            self.sink.emit("node", node_event(node, st));
                        }
                    }
                    Action::Finish { phase, message } => finished = Some((*phase, message.clone())),
                    _ => {
                        apply_action(&mut self.states, action, now);
                        if let Some(node) = action.node() {
                            self.sink.emit("node", node_event(node, &self.states[node]));
                        }
                    }
                }
            }
            if let Some((phase, message)) = finished {
                let states = serde_json::to_string(&self.states)?;
                self.sink.write(Op::FinishRun {
                    status: run_phase_str(phase),
                    message: message.clone(),
                    states,
                    at: Utc::now(),
                });
                self.recorded = phase;
                self.sink.emit(
                    "run",
                    json!({"status": run_phase_str(phase), "message": message}),
                );
                return Ok(());
            }
            let phase =
                katalusis_crds::plan::run_phase(self.states.values(), self.cancel_requested);
            let phase = if self.states.len() < self.graph.len() && phase != RunPhase::Pending {
                RunPhase::Running
            } else {
                phase
            };
            if phase != self.recorded
                || !p.actions.is_empty()
                || self.dirty
                || p.queued != self.queued
            {
                self.dirty = false;
                self.queued.clone_from(&p.queued);
                let states = serde_json::to_string(&self.states)?;
                self.sink.write(Op::SaveStates {
                    status: run_phase_str(phase),
                    states,
                    queued: serde_json::to_string(&p.queued)?,
                    started: phase != RunPhase::Pending,
                    at: Utc::now(),
                });
                if phase != self.recorded {
                    self.sink
                        .emit("run", json!({"status": run_phase_str(phase)}));
                    self.recorded = phase;
                }
            }
            if !p.actions.is_empty()
                && p.actions
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
                Some((trust, ev)) = self.pool_rx.recv() => self.on_pool_event(trust, ev).await?,
                _ = self.control.cancel.notified() => self.cancel_requested = true,
                _ = tokio::time::sleep_until(wake.unwrap_or_else(tokio::time::Instant::now)), if wake.is_some() => {}
                _ = freed.changed(), if blocked => {}
            }
            // Handle everything else that is already waiting before planning again.
            while let Ok((trust, ev)) = self.pool_rx.try_recv() {
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
            let t = self.snapshot.trust_of(&n.id);
            if !done && !needed.contains(&t) {
                needed.push(t);
            }
        }
        let starts = needed.into_iter().map(|trust| {
            let inner = self.inner.clone();
            let tx = self.pool_tx.clone();
            async move { (trust, start_pool(&inner, trust, tx).await) }
        });
        for (trust, state) in futures::future::join_all(starts).await {
            self.pools.insert(trust_str(trust), state);
        }
    }

    async fn start_node(&mut self, node: &str, attempt: u32, slot: Slot) -> anyhow::Result<()> {
        self.sink.write(Op::StartExecution {
            node: node.to_string(),
            attempt,
            at: Utc::now(),
        });
        self.sink.emit("node", node_event(node, &self.states[node]));
        let trust = self.snapshot.trust_of(node);
        let id = job_id(node, attempt);
        let job = self.snapshot.job(
            &id,
            self.run_id,
            node,
            attempt,
            &self.outputs,
            &self.inner.settings,
        )?;
        if !self.pools.contains_key(trust_str(trust)) {
            let state = start_pool(&self.inner, trust, self.pool_tx.clone()).await;
            self.pools.insert(trust_str(trust), state);
        }
        let sent = match self.pools.get_mut(trust_str(trust)) {
            Some(PoolState::Ready(pool)) => pool
                .send(&job)
                .await
                .map_err(|e| format!("could not hand the node to its runner: {e}")),
            Some(PoolState::Failed(e)) => Err(e.clone()),
            None => Err("no runner for this trust level".into()),
        };
        match sent {
            Ok(()) => {
                self.running.insert(
                    id,
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
            }
        }
        Ok(())
    }

    async fn cancel_job(&mut self, node: &str, attempt: u32) {
        let id = job_id(node, attempt);
        if let Some(job) = self.running.get(&id) {
            if let Some(PoolState::Ready(pool)) = self.pools.get_mut(trust_str(job.trust)) {
                let _ = pool
                    .send(&json!({"v": 1, "type": "cancel", "job": id}))
                    .await;
            }
        }
    }

    async fn on_pool_event(&mut self, trust: TrustLevel, ev: PoolEvent) -> anyhow::Result<()> {
        match ev {
            PoolEvent::Died(message) => {
                tracing::warn!(run_id = self.run_id, %message, "runner pool died");
                // The next node of this trust level starts a fresh runner; the
                // attempts that were running fail (retryable) with the cause.
                if let Some(PoolState::Ready(dead)) = self.pools.remove(trust_str(trust)) {
                    dead.stop().await;
                }
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
            PoolEvent::Job(v) => {
                let Some(id) = v["job"].as_str() else {
                    return Ok(());
                };
                let Some(job) = self.running.get(id) else {
                    return Ok(());
                };
                let (node, attempt) = (job.node.clone(), job.attempt);
                match v["type"].as_str() {
                    Some("log") => outcome::log(&self.sink, &node, attempt, &v),
                    Some("progress") => outcome::progress(&self.sink, &node, attempt, &v),
                    Some("finished") => {
                        let id = id.to_string();
                        let job = self.running.remove(&id);
                        outcome::log_traceback(&self.sink, &node, attempt, &v);
                        let ended = Ended::from_finished(&v);
                        drop(job);
                        self.record(&node, attempt, ended).await?;
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// Records the end of an attempt: node_execution row, node state, event.
    async fn record(&mut self, node: &str, attempt: u32, ended: Ended) -> anyhow::Result<()> {
        let stored = match &ended.outputs {
            Some(o) => Some(
                outcome::store_outputs(
                    &self.inner.db,
                    &self.snapshot,
                    self.run_id,
                    node,
                    attempt,
                    o,
                )
                .await?,
            ),
            None => None,
        };
        self.sink.write(ended.op(node, attempt, stored.as_ref()));
        self.dirty = true;
        if let Some(o) = ended.outputs {
            self.outputs.insert(node.to_string(), o);
        }
        let st = self.states.entry(node.to_string()).or_default();
        st.phase = ended.phase;
        st.reason = ended.reason;
        st.message = ended.message;
        st.finished_at_ms = Some(now_ms());
        st.cancelling = false;
        let mut ev = node_event(node, st);
        if let Some(d) = ended.duration_ms {
            ev["durationMs"] = json!(d);
        }
        self.sink.emit("node", ev);
        Ok(())
    }
}

async fn start_pool(
    inner: &Arc<Inner>,
    trust: TrustLevel,
    tx: mpsc::UnboundedSender<(TrustLevel, PoolEvent)>,
) -> PoolState {
    let state = match (&inner.runner, trust, inner.settings.sandbox) {
        (_, TrustLevel::Restricted, SandboxMode::None) => PoolState::Failed(
            "restricted nodes only run inside the bubblewrap sandbox, and this server runs with \
             KATALUSIS_SANDBOX=none"
                .into(),
        ),
        (Err(e), _, _) => PoolState::Failed(e.clone()),
        (Ok(_), _, _) => match super::take_pool(inner, trust).await {
            Ok(mut p) => {
                p.attach(trust, tx);
                PoolState::Ready(Box::new(p))
            }
            Err(e) => PoolState::Failed(e),
        },
    };
    if let PoolState::Failed(e) = &state {
        tracing::warn!(trust = trust_str(trust), error = %e, "runner pool unavailable");
    }
    state
}
