//! The planning function and the actions it returns.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::graph::PlanGraph;
use super::state::{FailurePolicy, FailureReason, NodePhase, NodeState, RunPhase, TriggerRule};

/// Everything the planner looks at for one run at one moment.
///
/// Borrowed, because executors call [`plan`] after every observed change and
/// should not have to copy the graph or the state map for it. Serializable
/// (for logs and debugging) but not deserializable, since it only borrows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanInput<'a> {
    /// The run's frozen graph.
    pub graph: &'a PlanGraph,
    /// Observed node states keyed by node id. Missing nodes count as pending
    /// and never attempted; ids that are not in the graph are ignored.
    pub states: &'a BTreeMap<String, NodeState>,
    /// What happens to the rest of the run after a node fails for good.
    pub failure_policy: FailurePolicy,
    /// Most nodes of this run that may run at once; `None` means no limit.
    /// `Some(0)` counts as 1 so a run can always make progress.
    pub max_parallel_in_run: Option<u32>,
    /// How many more nodes the executor may start right now, across all runs.
    pub free_global_slots: u32,
    /// Someone asked to cancel the run.
    pub cancel_requested: bool,
    /// The current time, in milliseconds since the Unix epoch.
    pub now_ms: i64,
    /// The run phase the executor has recorded so far (the `run_phase` of the
    /// previous plan, or the phase of the last applied `Finish`). Once it is
    /// terminal the run is frozen and the planner returns no actions.
    pub recorded_phase: RunPhase,
}

/// One thing the executor should do. Applying it to the node states (see
/// [`apply_action`]) records its immediate effect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Action {
    /// Start attempt number `attempt` (1-based) of a pending node.
    Start {
        /// Node id.
        node: String,
        /// The attempt being started.
        attempt: u32,
    },
    /// Mark a pending node skipped: its trigger rule can never be satisfied.
    Skip {
        /// Node id.
        node: String,
        /// `upstream_failed` when an upstream node did not succeed, `branch`
        /// when the node lies on a branch that was not taken.
        reason: FailureReason,
        /// The earliest (in topological order) node that caused it: the one
        /// that failed or was cancelled, or the Condition or Approval whose
        /// other branch was taken.
        because_of: String,
    },
    /// A waiting node's deadline has passed: the executor resolves it by the
    /// node's kind (a Wait node succeeds, an Approval applies its timeout
    /// policy). The deadline is cleared so the action is not repeated.
    Expire {
        /// Node id.
        node: String,
    },
    /// Stop a node. A running node keeps running until the executor reports
    /// that it stopped; a pending node becomes `Cancelled` at once.
    Cancel {
        /// Node id.
        node: String,
    },
    /// A failed node will be retried: it goes back to pending and its next
    /// attempt is started no earlier than `not_before_ms`.
    ScheduleRetry {
        /// Node id.
        node: String,
        /// The attempt that will be started.
        attempt: u32,
        /// Earliest start time, in milliseconds since the Unix epoch.
        not_before_ms: i64,
    },
    /// Fail a pending node that has already used all its attempts without a
    /// recorded outcome (for example after an executor lost track of it), so
    /// attempts never exceed the retry policy.
    FailNode {
        /// Node id.
        node: String,
        /// Why it failed.
        reason: FailureReason,
        /// Human-readable detail.
        message: String,
    },
    /// Every node is terminal: record the run's final phase.
    Finish {
        /// The final phase: `Succeeded`, `Failed` or `Cancelled`.
        phase: RunPhase,
        /// Human-readable summary naming the nodes that did not succeed.
        message: String,
    },
}

impl Action {
    /// The node the action is about, if any (`Finish` is about the run).
    pub fn node(&self) -> Option<&str> {
        match self {
            Self::Start { node, .. }
            | Self::Skip { node, .. }
            | Self::Cancel { node }
            | Self::Expire { node }
            | Self::ScheduleRetry { node, .. }
            | Self::FailNode { node, .. } => Some(node),
            Self::Finish { .. } => None,
        }
    }
}

/// What the executor should do now for one run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// Actions in the order they should be applied.
    pub actions: Vec<Action>,
    /// Ready nodes that were not started because of the run's or the
    /// executor's parallelism caps, in the order they will be started.
    pub queued: Vec<String>,
    /// The earliest time a node waiting for a retry becomes ready, so the
    /// executor can sleep until then if nothing else happens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wake_at_ms: Option<i64>,
    /// The run phase once the actions have been applied.
    pub run_phase: RunPhase,
}

/// Derives the run phase from its node states.
///
/// - some node not terminal: `Running` if a node is running, else `Waiting`
///   if a node waits for a person or a time, else `Pending` if no node has
///   started or finished yet, else `Running`;
/// - every node terminal (or no nodes): `Succeeded` if all succeeded, else
///   `Cancelled` if cancellation was requested, else `Failed`.
pub fn run_phase<'a>(
    states: impl IntoIterator<Item = &'a NodeState>,
    cancel_requested: bool,
) -> RunPhase {
    let mut all_terminal = true;
    let mut all_succeeded = true;
    let mut any_progress = false;
    let mut any_running = false;
    let mut any_waiting = false;
    for state in states {
        all_terminal &= state.phase.is_terminal();
        all_succeeded &= matches!(state.phase, NodePhase::Succeeded)
            || (state.phase == NodePhase::Skipped && state.reason == Some(FailureReason::Branch));
        any_progress |= state.phase != NodePhase::Pending || state.attempt > 0;
        any_running |= state.phase == NodePhase::Running;
        any_waiting |= state.phase == NodePhase::Waiting;
    }
    if !all_terminal {
        if any_running {
            RunPhase::Running
        } else if any_waiting {
            RunPhase::Waiting
        } else if any_progress {
            RunPhase::Running
        } else {
            RunPhase::Pending
        }
    } else if all_succeeded {
        RunPhase::Succeeded
    } else if cancel_requested {
        RunPhase::Cancelled
    } else {
        RunPhase::Failed
    }
}

/// Records the immediate effect of `action` in `states` (see each [`Action`]
/// variant); `Finish` changes no node. Executors may use it so that the next
/// call to [`plan`] does not repeat the action.
pub fn apply_action(states: &mut BTreeMap<String, NodeState>, action: &Action, now_ms: i64) {
    if let Some(node) = action.node() {
        let state = states.entry(node.to_owned()).or_default();
        apply_to_state(state, action, now_ms);
    }
}

fn apply_to_state(state: &mut NodeState, action: &Action, now_ms: i64) {
    match action {
        Action::Start { attempt, .. } => state.start(*attempt, now_ms),
        Action::Skip {
            reason, because_of, ..
        } => {
            state.phase = NodePhase::Skipped;
            state.reason = Some(*reason);
            state.message = Some(if *reason == FailureReason::Branch {
                format!("on a branch `{because_of}` did not take")
            } else {
                format!("upstream node `{because_of}` did not succeed")
            });
            state.retry_not_before_ms = None;
            state.finished_at_ms = Some(now_ms);
        }
        Action::Cancel { .. } => match state.phase {
            NodePhase::Running => state.cancelling = true,
            NodePhase::Pending | NodePhase::Waiting => state.cancel(None, now_ms),
            _ => {}
        },
        Action::Expire { .. } => state.wait_until_ms = None,
        Action::ScheduleRetry { not_before_ms, .. } => {
            state.phase = NodePhase::Pending;
            state.retry_not_before_ms = Some(*not_before_ms);
            state.finished_at_ms = None;
            state.cancelling = false;
        }
        Action::FailNode {
            reason, message, ..
        } => state.fail(*reason, message.clone(), now_ms),
        Action::Finish { .. } => {}
    }
}

/// Decides what to do next for one run. Pure: no I/O, no clock, no randomness.
///
/// In order:
/// 1. A pending node that already used all its attempts is failed (`FailNode`).
/// 2. The run halts if cancellation was requested, or if the policy is
///    `FailFast` and some node failed for good. Otherwise every failed node
///    with a retryable reason and attempts left gets `ScheduleRetry`.
/// 3. Every pending node whose trigger rule can no longer be satisfied is
///    skipped (`Skip`): for `upstream_failed` below a node that failed for
///    good or was cancelled, for `branch` below a branch that was not taken.
/// 4. A halted run cancels every running, waiting and pending node and
///    starts nothing. Otherwise waiting nodes whose deadline passed get
///    `Expire`, and ready nodes (trigger rule satisfied, retry time reached)
///    start in topological order, within the run's cap minus its running
///    nodes and within `free_global_slots`; the rest are `queued`. Waiting
///    nodes hold no slot.
/// 5. Once every node is terminal, `Finish` records the run's final phase.
///
/// The effects of earlier steps are visible to later ones, so one call can
/// schedule a retry with no backoff and start it.
pub fn plan(input: &PlanInput) -> Plan {
    if input.recorded_phase.is_terminal() {
        return Plan {
            run_phase: input.recorded_phase,
            ..Plan::default()
        };
    }
    let mut planner = Planner::new(input);
    if !input.cancel_requested {
        planner.fail_exhausted_pending();
    }
    let halted = input.cancel_requested
        || (input.failure_policy == FailurePolicy::FailFast && planner.has_final_failure());
    if !halted {
        planner.schedule_retries();
    }
    planner.skip_unreachable();
    if halted {
        planner.cancel_unfinished();
    } else {
        planner.expire_deadlines();
        planner.start_ready();
    }
    planner.finish()
}

/// How an upstream edge looks from the node below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Upstream {
    /// The upstream node is not decided yet.
    Undecided,
    /// It succeeded and the edge's branch was taken.
    Taken,
    /// It skipped for a branch, or took another branch.
    NotTaken,
    /// It failed for good, was cancelled or skipped after a failure.
    Failed,
}

/// What a pending node's trigger rule says about it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Ready,
    Undecided,
    Skip(FailureReason),
}

/// Applies a trigger rule to the upstream edges of one node.
fn judge(rule: TriggerRule, ups: impl IntoIterator<Item = Upstream>) -> Verdict {
    let (mut undecided, mut taken, mut not_taken, mut failed) = (false, false, false, false);
    for up in ups {
        match up {
            Upstream::Undecided => undecided = true,
            Upstream::Taken => taken = true,
            Upstream::NotTaken => not_taken = true,
            Upstream::Failed => failed = true,
        }
    }
    let none = !(undecided || taken || not_taken || failed);
    match rule {
        TriggerRule::AllSucceeded if failed => Verdict::Skip(FailureReason::UpstreamFailed),
        TriggerRule::AllSucceeded if not_taken => Verdict::Skip(FailureReason::Branch),
        TriggerRule::NoneFailedMinOneSuccess if failed => {
            Verdict::Skip(FailureReason::UpstreamFailed)
        }
        _ if undecided => Verdict::Undecided,
        TriggerRule::AllSucceeded | TriggerRule::AllDone => Verdict::Ready,
        TriggerRule::AnySucceeded | TriggerRule::NoneFailedMinOneSuccess if taken || none => {
            Verdict::Ready
        }
        TriggerRule::AnySucceeded if failed => Verdict::Skip(FailureReason::UpstreamFailed),
        TriggerRule::AnySucceeded | TriggerRule::NoneFailedMinOneSuccess => {
            Verdict::Skip(FailureReason::Branch)
        }
    }
}

struct Planner<'a> {
    input: &'a PlanInput<'a>,
    graph: &'a PlanGraph,
    /// Node states indexed like `graph.nodes()`, updated as actions are planned.
    work: Vec<NodeState>,
    actions: Vec<Action>,
    queued: Vec<String>,
}

impl<'a> Planner<'a> {
    fn new(input: &'a PlanInput<'a>) -> Self {
        let work = input
            .graph
            .nodes()
            .iter()
            .map(|node| input.states.get(&node.id).cloned().unwrap_or_default())
            .collect();
        Self {
            input,
            graph: input.graph,
            work,
            actions: Vec::new(),
            queued: Vec::new(),
        }
    }

    fn id(&self, i: usize) -> &'a str {
        &self.graph.nodes()[i].id
    }

    fn push(&mut self, i: usize, action: Action) {
        apply_to_state(&mut self.work[i], &action, self.input.now_ms);
        self.actions.push(action);
    }

    fn fail_exhausted_pending(&mut self) {
        for &i in self.graph.topo_indices() {
            let state = &self.work[i];
            let retry = &self.graph.nodes()[i].retry;
            if state.phase == NodePhase::Pending && !retry.has_attempts_left(state.attempt) {
                let message = format!(
                    "all {} attempts were started without a recorded outcome",
                    retry.max_attempts
                );
                let node = self.id(i).to_owned();
                self.push(
                    i,
                    Action::FailNode {
                        node,
                        reason: FailureReason::Interrupted,
                        message,
                    },
                );
            }
        }
    }

    /// Whether a failed node may be retried (ignoring whether the run halted).
    fn is_retryable(&self, i: usize) -> bool {
        let state = &self.work[i];
        state.phase == NodePhase::Failed
            && state.reason.is_none_or(FailureReason::is_retryable)
            && self.graph.nodes()[i].retry.has_attempts_left(state.attempt)
    }

    fn has_final_failure(&self) -> bool {
        (0..self.work.len())
            .any(|i| self.work[i].phase == NodePhase::Failed && !self.is_retryable(i))
    }

    fn schedule_retries(&mut self) {
        for &i in self.graph.topo_indices() {
            if self.is_retryable(i) {
                let attempt = self.work[i].attempt;
                let delay = self.graph.nodes()[i].retry.delay_ms(attempt);
                let action = Action::ScheduleRetry {
                    node: self.id(i).to_owned(),
                    attempt: attempt.saturating_add(1),
                    not_before_ms: self.input.now_ms.saturating_add(delay),
                };
                self.push(i, action);
            }
        }
    }

    /// How the edge from upstream node `u` into its downstream node looks,
    /// given the branches that activate it.
    fn upstream_view(
        &self,
        u: usize,
        gate: Option<&std::collections::BTreeSet<String>>,
    ) -> Upstream {
        let state = &self.work[u];
        match state.phase {
            NodePhase::Succeeded => match (gate, &state.branch) {
                (None, _) => Upstream::Taken,
                (Some(gate), Some(branch)) if gate.contains(branch) => Upstream::Taken,
                (Some(_), _) => Upstream::NotTaken,
            },
            NodePhase::Skipped if state.reason == Some(FailureReason::Branch) => Upstream::NotTaken,
            NodePhase::Failed | NodePhase::Cancelled | NodePhase::Skipped => Upstream::Failed,
            NodePhase::Pending | NodePhase::Running | NodePhase::Waiting => Upstream::Undecided,
        }
    }

    fn verdict(&self, i: usize) -> Verdict {
        let ups = self
            .graph
            .upstream_gates(i)
            .map(|(u, gate)| self.upstream_view(u, gate));
        judge(self.graph.nodes()[i].trigger, ups)
    }

    /// Skips every pending node whose trigger rule can no longer be
    /// satisfied, in topological order so a skip is seen by the nodes below
    /// it in the same pass. Each skipped node names the earliest node that
    /// caused it: for a failure the node that failed or was cancelled, for a
    /// branch the Condition or Approval that took another branch.
    fn skip_unreachable(&mut self) {
        let n = self.work.len();
        let mut failure_cause: Vec<Option<usize>> = vec![None; n];
        let mut branch_cause: Vec<Option<usize>> = vec![None; n];
        for &i in self.graph.topo_indices() {
            let earliest = |causes: &mut dyn Iterator<Item = usize>| {
                causes.min_by_key(|&c| self.graph.rank(c))
            };
            let inherited_failure = earliest(
                &mut self
                    .graph
                    .upstream_indices(i)
                    .iter()
                    .filter_map(|&u| failure_cause[u]),
            );
            let inherited_branch =
                earliest(&mut self.graph.upstream_gates(i).filter_map(|(u, gate)| {
                    match self.upstream_view(u, gate) {
                        Upstream::NotTaken if self.work[u].phase == NodePhase::Succeeded => Some(u),
                        Upstream::NotTaken => branch_cause[u],
                        _ => None,
                    }
                }));
            let state = &self.work[i];
            match state.phase {
                NodePhase::Failed | NodePhase::Cancelled => {
                    failure_cause[i] = inherited_failure.or(Some(i));
                }
                NodePhase::Skipped if state.reason == Some(FailureReason::Branch) => {
                    branch_cause[i] = inherited_branch.or(Some(i));
                }
                NodePhase::Skipped => failure_cause[i] = inherited_failure.or(Some(i)),
                NodePhase::Pending => {
                    if let Verdict::Skip(reason) = self.verdict(i) {
                        let cause = if reason == FailureReason::Branch {
                            branch_cause[i] = inherited_branch.or(Some(i));
                            branch_cause[i]
                        } else {
                            failure_cause[i] = inherited_failure.or(Some(i));
                            failure_cause[i]
                        };
                        let because_of = self.id(cause.unwrap_or(i)).to_owned();
                        let action = Action::Skip {
                            node: self.id(i).to_owned(),
                            reason,
                            because_of,
                        };
                        self.push(i, action);
                    }
                }
                NodePhase::Running | NodePhase::Waiting | NodePhase::Succeeded => {}
            }
        }
    }

    /// Asks the executor to resolve every waiting node whose deadline passed.
    fn expire_deadlines(&mut self) {
        for &i in self.graph.topo_indices() {
            let state = &self.work[i];
            if state.phase == NodePhase::Waiting
                && state.wait_until_ms.is_some_and(|t| t <= self.input.now_ms)
            {
                let node = self.id(i).to_owned();
                self.push(i, Action::Expire { node });
            }
        }
    }

    fn cancel_unfinished(&mut self) {
        for &i in self.graph.topo_indices() {
            let state = &self.work[i];
            let needs_cancel = match state.phase {
                NodePhase::Running => !state.cancelling,
                NodePhase::Pending | NodePhase::Waiting => true,
                _ => false,
            };
            if needs_cancel {
                let node = self.id(i).to_owned();
                self.push(i, Action::Cancel { node });
            }
        }
    }

    fn start_ready(&mut self) {
        let running = self
            .work
            .iter()
            .filter(|s| s.phase == NodePhase::Running)
            .count();
        let run_room = match self.input.max_parallel_in_run {
            Some(cap) => (cap.max(1) as usize).saturating_sub(running),
            None => usize::MAX,
        };
        let mut room = run_room.min(self.input.free_global_slots as usize);
        for &i in self.graph.topo_indices() {
            if !self.is_ready(i) {
                continue;
            }
            if room == 0 {
                self.queued.push(self.id(i).to_owned());
                continue;
            }
            room -= 1;
            let action = Action::Start {
                node: self.id(i).to_owned(),
                attempt: self.work[i].attempt.saturating_add(1),
            };
            self.push(i, action);
        }
    }

    fn is_ready(&self, i: usize) -> bool {
        let state = &self.work[i];
        state.phase == NodePhase::Pending
            && state
                .retry_not_before_ms
                .is_none_or(|t| t <= self.input.now_ms)
            && self.verdict(i) == Verdict::Ready
    }

    fn finish(mut self) -> Plan {
        let now = self.input.now_ms;
        let wake_at_ms = self
            .work
            .iter()
            .filter_map(|s| match s.phase {
                NodePhase::Pending => s.retry_not_before_ms,
                NodePhase::Waiting => s.wait_until_ms,
                _ => None,
            })
            .filter(|&t| t > now)
            .min();
        let mut phase = run_phase(&self.work, self.input.cancel_requested);
        // Nodes held back only by slot caps are work in progress, not a wait.
        if phase == RunPhase::Waiting && !self.queued.is_empty() {
            phase = RunPhase::Running;
        }
        if phase.is_terminal() {
            let message = self.finish_message(phase);
            self.actions.push(Action::Finish { phase, message });
        }
        Plan {
            actions: self.actions,
            queued: self.queued,
            wake_at_ms,
            run_phase: phase,
        }
    }

    fn finish_message(&self, phase: RunPhase) -> String {
        let total = self.work.len();
        let count = |phase: NodePhase| self.work.iter().filter(|s| s.phase == phase).count();
        let ids_in = |phase: NodePhase| -> Vec<&str> {
            self.graph
                .topo_indices()
                .iter()
                .filter(|&&i| self.work[i].phase == phase)
                .map(|&i| self.id(i))
                .collect()
        };
        match phase {
            RunPhase::Succeeded if total == 0 => "the run has no nodes".to_owned(),
            RunPhase::Succeeded if count(NodePhase::Skipped) > 0 => format!(
                "{} of {total} nodes succeeded; {} skipped on branches not taken",
                count(NodePhase::Succeeded),
                count(NodePhase::Skipped)
            ),
            RunPhase::Succeeded => format!("all {total} nodes succeeded"),
            RunPhase::Cancelled => format!(
                "cancelled on request; {} of {total} nodes succeeded",
                count(NodePhase::Succeeded)
            ),
            _ => {
                let failed: Vec<String> = self
                    .graph
                    .topo_indices()
                    .iter()
                    .filter(|&&i| self.work[i].phase == NodePhase::Failed)
                    .map(|&i| {
                        let reason = self.work[i].reason.map_or("unknown", FailureReason::as_str);
                        format!("{} ({reason})", self.id(i))
                    })
                    .collect();
                let mut parts = Vec::new();
                if !failed.is_empty() {
                    parts.push(format!("failed: {}", failed.join(", ")));
                }
                let cancelled = ids_in(NodePhase::Cancelled);
                if !cancelled.is_empty() {
                    parts.push(format!("cancelled: {}", cancelled.join(", ")));
                }
                let skipped = count(NodePhase::Skipped);
                if skipped > 0 {
                    parts.push(format!("skipped: {skipped}"));
                }
                parts.join("; ")
            }
        }
    }
}
