//! Readable builders for planner tests.

use std::collections::BTreeMap;

use super::{
    apply_action, plan, Action, BranchEdge, FailurePolicy, FailureReason, NodePhase, NodeState,
    Plan, PlanGraph, PlanInput, PlanNode, RetryPolicy, RunPhase, TriggerRule,
};

/// Start time of every fixture, far enough from zero to notice offsets.
pub const T0: i64 = 1_000_000;

/// A run under test: graph, node states, policy, caps and clock.
#[derive(Debug, Clone)]
pub struct RunFixture {
    nodes: Vec<PlanNode>,
    edges: Vec<(String, String)>,
    branch_edges: Vec<BranchEdge>,
    pub states: BTreeMap<String, NodeState>,
    pub failure_policy: FailurePolicy,
    pub max_parallel_in_run: Option<u32>,
    pub free_global_slots: u32,
    pub cancel_requested: bool,
    pub now_ms: i64,
    pub recorded_phase: RunPhase,
}

impl RunFixture {
    pub fn new() -> Self {
        Self {
            nodes: Vec::new(),
            edges: Vec::new(),
            branch_edges: Vec::new(),
            states: BTreeMap::new(),
            failure_policy: FailurePolicy::Continue,
            max_parallel_in_run: None,
            free_global_slots: 100,
            cancel_requested: false,
            now_ms: T0,
            recorded_phase: RunPhase::Pending,
        }
    }

    /// Adds a node (once) with a single attempt.
    pub fn node(mut self, id: &str) -> Self {
        if !self.nodes.iter().any(|n| n.id == id) {
            self.nodes.push(PlanNode::new(id));
        }
        self
    }

    /// Adds several nodes in order.
    pub fn nodes(self, ids: &[&str]) -> Self {
        ids.iter().fold(self, |fixture, id| fixture.node(id))
    }

    /// Adds an edge, adding missing ends as nodes.
    pub fn edge(mut self, from: &str, to: &str) -> Self {
        self = self.node(from).node(to);
        self.edges.push((from.into(), to.into()));
        self
    }

    /// Gives `id` a retry policy (adding the node if missing).
    pub fn retry(
        mut self,
        id: &str,
        max_attempts: u32,
        backoff_seconds: u32,
        backoff_multiplier: f64,
    ) -> Self {
        self = self.node(id);
        let node = self
            .nodes
            .iter_mut()
            .find(|n| n.id == id)
            .expect("node was just added");
        node.retry = RetryPolicy {
            max_attempts,
            backoff_seconds,
            backoff_multiplier,
        };
        self
    }

    fn state(&mut self, id: &str) -> &mut NodeState {
        self.states.entry(id.into()).or_default()
    }

    pub fn running(mut self, id: &str) -> Self {
        let state = self.state(id);
        state.phase = NodePhase::Running;
        state.attempt = state.attempt.max(1);
        self
    }

    /// `id` succeeded and took `branch`.
    pub fn took(mut self, id: &str, branch: &str) -> Self {
        let state = self.state(id);
        state.attempt = state.attempt.max(1);
        state.succeed_on_branch(branch, T0);
        self
    }

    /// `id` was started and now waits, optionally until `until_ms`.
    pub fn waiting(mut self, id: &str, until_ms: Option<i64>) -> Self {
        let state = self.state(id);
        state.attempt = state.attempt.max(1);
        state.wait(until_ms, None);
        self
    }

    /// Adds an edge from `from`'s branch `branch` to `to`.
    pub fn branch_edge(mut self, from: &str, branch: &str, to: &str) -> Self {
        self = self.node(from).node(to);
        self.branch_edges.push(BranchEdge {
            from: from.into(),
            to: to.into(),
            branch: branch.into(),
        });
        self
    }

    /// Gives `id` a trigger rule (adding the node if missing).
    pub fn trigger(mut self, id: &str, rule: TriggerRule) -> Self {
        self = self.node(id);
        if let Some(node) = self.nodes.iter_mut().find(|n| n.id == id) {
            node.trigger = rule;
        }
        self
    }

    pub fn succeeded(mut self, id: &str) -> Self {
        let state = self.state(id);
        state.phase = NodePhase::Succeeded;
        state.attempt = state.attempt.max(1);
        self
    }

    /// Attempt `attempt` of `id` failed with `reason`.
    pub fn failed_attempt(mut self, id: &str, attempt: u32, reason: FailureReason) -> Self {
        let state = self.state(id);
        state.phase = NodePhase::Failed;
        state.attempt = attempt;
        state.reason = Some(reason);
        self
    }

    /// The first attempt of `id` failed with `reason`.
    pub fn failed(self, id: &str, reason: FailureReason) -> Self {
        self.failed_attempt(id, 1, reason)
    }

    pub fn with_state(mut self, id: &str, state: NodeState) -> Self {
        self.states.insert(id.into(), state);
        self
    }

    pub fn fail_fast(mut self) -> Self {
        self.failure_policy = FailurePolicy::FailFast;
        self
    }

    pub fn max_parallel(mut self, cap: u32) -> Self {
        self.max_parallel_in_run = Some(cap);
        self
    }

    pub fn free_slots(mut self, slots: u32) -> Self {
        self.free_global_slots = slots;
        self
    }

    pub fn cancel(mut self) -> Self {
        self.cancel_requested = true;
        self
    }

    pub fn at(mut self, now_ms: i64) -> Self {
        self.now_ms = now_ms;
        self
    }

    pub fn recorded(mut self, phase: RunPhase) -> Self {
        self.recorded_phase = phase;
        self
    }

    pub fn graph(&self) -> PlanGraph {
        PlanGraph::with_branch_edges(
            self.nodes.clone(),
            self.edges.clone(),
            self.branch_edges.clone(),
        )
        .expect("fixture graph is valid")
    }

    pub fn plan(&self) -> Plan {
        let graph = self.graph();
        plan(&PlanInput {
            graph: &graph,
            states: &self.states,
            failure_policy: self.failure_policy,
            max_parallel_in_run: self.max_parallel_in_run,
            free_global_slots: self.free_global_slots,
            cancel_requested: self.cancel_requested,
            now_ms: self.now_ms,
            recorded_phase: self.recorded_phase,
        })
    }

    /// Applies a plan the way an executor would: node effects via
    /// `apply_action`, and the resulting run phase as the recorded phase.
    pub fn apply(&mut self, plan: &Plan) {
        for action in &plan.actions {
            apply_action(&mut self.states, action, self.now_ms);
        }
        self.recorded_phase = plan.run_phase;
    }

    pub fn phase_of(&self, id: &str) -> NodePhase {
        self.states.get(id).map(|s| s.phase).unwrap_or_default()
    }
}

pub fn start(node: &str, attempt: u32) -> Action {
    Action::Start {
        node: node.into(),
        attempt,
    }
}

pub fn skip(node: &str, because_of: &str) -> Action {
    Action::Skip {
        node: node.into(),
        reason: FailureReason::UpstreamFailed,
        because_of: because_of.into(),
    }
}

/// A skip because `node` lies on a branch `because_of` did not take.
pub fn skip_branch(node: &str, because_of: &str) -> Action {
    Action::Skip {
        node: node.into(),
        reason: FailureReason::Branch,
        because_of: because_of.into(),
    }
}

pub fn cancel(node: &str) -> Action {
    Action::Cancel { node: node.into() }
}

pub fn retry(node: &str, attempt: u32, not_before_ms: i64) -> Action {
    Action::ScheduleRetry {
        node: node.into(),
        attempt,
        not_before_ms,
    }
}

/// The node actions of a plan, without `Finish`.
pub fn node_actions(plan: &Plan) -> Vec<Action> {
    plan.actions
        .iter()
        .filter(|a| !matches!(a, Action::Finish { .. }))
        .cloned()
        .collect()
}

/// The `Finish` action of a plan, if any.
pub fn finish_of(plan: &Plan) -> Option<(RunPhase, String)> {
    plan.actions.iter().find_map(|a| match a {
        Action::Finish { phase, message } => Some((*phase, message.clone())),
        _ => None,
    })
}
