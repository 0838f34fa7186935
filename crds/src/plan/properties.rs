//! Property tests: a simulated executor drives random runs to completion by
//! calling `plan`, applying its actions and completing running nodes with
//! pre-drawn outcomes, checking the planner's invariants at every step.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::{
    apply_action, plan, run_phase, Action, BranchEdge, FailurePolicy, FailureReason, NodePhase,
    NodeState, Plan, PlanGraph, PlanInput, PlanNode, RetryPolicy, RunPhase, TriggerRule,
};

/// What one attempt of a node does when it completes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Success,
    Failure(FailureReason),
}

/// What a node is, for the simulator.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// Ordinary work: completes with its pre-drawn outcome.
    Work,
    /// A Condition: on success takes branch `yes` (true) or `no` (false).
    Branch(bool),
    /// An Approval or Wait: on success it waits, with a deadline this many
    /// milliseconds after it started or for a person to decide.
    Wait(Option<i64>),
}

const BRANCHES: [&str; 2] = ["no", "yes"];

#[derive(Debug, Clone)]
struct Scenario {
    /// Node ids in graph order; node `k` of the hidden topological labelling is `n{k}`.
    ids: Vec<String>,
    /// Edges between hidden labels, always from a lower to a higher label.
    edges: Vec<(usize, usize)>,
    /// Per edge: the branch of its upstream node it needs, for edges leaving a `Branch` node.
    edge_branch: Vec<Option<bool>>,
    kinds: Vec<Kind>,
    rules: Vec<TriggerRule>,
    retries: Vec<RetryPolicy>,
    /// `outcomes[k][a]`: the outcome of attempt `a + 1` of node `n{k}`.
    outcomes: Vec<Vec<Outcome>>,
    failure_policy: FailurePolicy,
    max_parallel_in_run: Option<u32>,
    global_cap: u32,
    cancel_at_step: Option<usize>,
    seed: u64,
}

fn outcome() -> impl Strategy<Value = Outcome> {
    use FailureReason::*;
    prop_oneof![
        6 => Just(Outcome::Success),
        2 => prop::sample::select(vec![Error, Timeout, Memory, Cpu, OutputSize, Interrupted, Image])
            .prop_map(Outcome::Failure),
        1 => prop::sample::select(vec![OutputType, Sandbox]).prop_map(Outcome::Failure),
    ]
}

fn retry_policy() -> impl Strategy<Value = RetryPolicy> {
    (
        1u32..=4,
        0u32..=3,
        prop::sample::select(vec![0.5, 1.0, 2.0, 3.0]),
    )
        .prop_map(
            |(max_attempts, backoff_seconds, backoff_multiplier)| RetryPolicy {
                max_attempts,
                backoff_seconds,
                backoff_multiplier,
            },
        )
}

fn kind(flow: bool) -> BoxedStrategy<Kind> {
    if flow {
        prop_oneof![
            4 => Just(Kind::Work),
            2 => any::<bool>().prop_map(Kind::Branch),
            1 => prop::option::of(0i64..5_000).prop_map(Kind::Wait),
        ]
        .boxed()
    } else {
        Just(Kind::Work).boxed()
    }
}

fn rule(flow: bool) -> BoxedStrategy<TriggerRule> {
    if flow {
        prop_oneof![
            3 => Just(TriggerRule::AllSucceeded),
            1 => Just(TriggerRule::AnySucceeded),
            1 => Just(TriggerRule::NoneFailedMinOneSuccess),
            1 => Just(TriggerRule::AllDone),
        ]
        .boxed()
    } else {
        Just(TriggerRule::AllSucceeded).boxed()
    }
}

fn scenario(
    cancel: impl Strategy<Value = Option<usize>>,
    policy: impl Strategy<Value = FailurePolicy>,
) -> impl Strategy<Value = Scenario> {
    flow_scenario(cancel, policy, false, false)
}

/// Scenarios with Conditions, waiting nodes and trigger rules when `flow`;
/// `all_succeed` draws only successful outcomes.
fn flow_scenario(
    cancel: impl Strategy<Value = Option<usize>>,
    policy: impl Strategy<Value = FailurePolicy>,
    flow: bool,
    all_succeed: bool,
) -> impl Strategy<Value = Scenario> {
    (0usize..=30, cancel, policy).prop_flat_map(move |(n, cancel_at_step, failure_policy)| {
        let ids = (0..n).map(|k| format!("n{k}")).collect::<Vec<_>>();
        let edges = if n < 2 {
            Just(Vec::new()).boxed()
        } else {
            prop::collection::vec((0..n, 0..n), 0..=2 * n)
                .prop_map(|pairs| {
                    pairs
                        .into_iter()
                        .filter(|(a, b)| a != b)
                        .map(|(a, b)| (a.min(b), a.max(b)))
                        .collect()
                })
                .boxed()
        };
        let outcomes = if all_succeed {
            Just(vec![vec![Outcome::Success; 4]; n]).boxed()
        } else {
            prop::collection::vec(prop::collection::vec(outcome(), 4), n).boxed()
        };
        (
            Just(ids).prop_shuffle(),
            edges,
            prop::collection::vec(retry_policy(), n),
            outcomes,
            Just(failure_policy),
            prop::option::of(1u32..=4),
            1u32..=6,
            Just(cancel_at_step),
            any::<u64>(),
            prop::collection::vec(kind(flow), n),
            prop::collection::vec(if all_succeed { rule(false) } else { rule(flow) }, n),
            prop::collection::vec(any::<bool>(), 2 * n),
        )
            .prop_map(
                |(
                    ids,
                    edges,
                    retries,
                    outcomes,
                    failure_policy,
                    max_parallel_in_run,
                    global_cap,
                    cancel_at_step,
                    seed,
                    kinds,
                    rules,
                    labels,
                ): (
                    _,
                    Vec<(usize, usize)>,
                    _,
                    _,
                    _,
                    _,
                    _,
                    _,
                    _,
                    Vec<Kind>,
                    _,
                    Vec<bool>,
                )| {
                    let edge_branch = edges
                        .iter()
                        .zip(labels)
                        .map(|(&(a, _), yes)| matches!(kinds[a], Kind::Branch(_)).then_some(yes))
                        .collect();
                    Scenario {
                        ids,
                        edges,
                        edge_branch,
                        kinds,
                        rules,
                        retries,
                        outcomes,
                        failure_policy,
                        max_parallel_in_run,
                        global_cap,
                        cancel_at_step,
                        seed,
                    }
                },
            )
    })
}

fn any_policy() -> impl Strategy<Value = FailurePolicy> {
    prop_oneof![Just(FailurePolicy::Continue), Just(FailurePolicy::FailFast)]
}

/// xorshift64*, so completion order and timing are reproducible from the seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % bound.max(1)
    }
}

/// The end of a simulated run.
struct Finished {
    scenario: Scenario,
    states: BTreeMap<String, NodeState>,
    phase: RunPhase,
    cancel_requested: bool,
}

impl Scenario {
    fn label(&self, id: &str) -> usize {
        id[1..].parse().expect("ids are n<label>")
    }

    fn graph(&self) -> PlanGraph {
        let nodes = self
            .ids
            .iter()
            .map(|id| {
                let label = self.label(id);
                PlanNode::new(id.clone())
                    .with_retry(self.retries[label].clone())
                    .with_trigger(self.rules[label])
            })
            .collect();
        let mut edges = Vec::new();
        let mut branch_edges = Vec::new();
        for (&(a, b), branch) in self.edges.iter().zip(&self.edge_branch) {
            let (from, to) = (format!("n{a}"), format!("n{b}"));
            match branch {
                None => edges.push((from, to)),
                Some(yes) => branch_edges.push(BranchEdge {
                    from,
                    to,
                    branch: BRANCHES[usize::from(*yes)].to_owned(),
                }),
            }
        }
        PlanGraph::with_branch_edges(nodes, edges, branch_edges)
            .expect("generated graphs are acyclic")
    }

    /// Whether `label`'s trigger rule is satisfied by the given states,
    /// judged independently of the planner: per upstream node, taken when it
    /// succeeded and one of its edges into `label` is active.
    fn rule_satisfied(&self, states: &BTreeMap<String, NodeState>, label: usize) -> bool {
        let mut taken: BTreeMap<usize, bool> = BTreeMap::new();
        for (i, &(a, b)) in self.edges.iter().enumerate() {
            if b == label {
                let up = states.get(&format!("n{a}")).cloned().unwrap_or_default();
                let active = self.edge_branch[i]
                    .is_none_or(|yes| up.branch.as_deref() == Some(BRANCHES[usize::from(yes)]));
                *taken.entry(a).or_default() |= active && up.phase == NodePhase::Succeeded;
            }
        }
        let phase = |a: usize| states.get(&format!("n{a}")).cloned().unwrap_or_default();
        let decided = taken.keys().all(|&a| phase(a).phase.is_terminal());
        let failed = taken.keys().any(|&a| {
            let up = phase(a);
            matches!(up.phase, NodePhase::Failed | NodePhase::Cancelled)
                || (up.phase == NodePhase::Skipped && up.reason != Some(FailureReason::Branch))
        });
        let any_taken = taken.is_empty() || taken.values().any(|&t| t);
        match self.rules[label] {
            TriggerRule::AllSucceeded => taken.values().all(|&t| t),
            TriggerRule::AnySucceeded => decided && any_taken,
            TriggerRule::NoneFailedMinOneSuccess => decided && !failed && any_taken,
            TriggerRule::AllDone => decided,
        }
    }

    /// Labels downstream of a node that is waiting (excluding it).
    fn downstream_of_waiting(&self, states: &BTreeMap<String, NodeState>) -> BTreeSet<usize> {
        (0..self.ids.len())
            .filter(|&k| states.get(&format!("n{k}")).map(|s| s.phase) == Some(NodePhase::Waiting))
            .flat_map(|k| self.downstream_closure(k))
            .collect()
    }

    fn upstream(&self, label: usize) -> impl Iterator<Item = usize> + '_ {
        self.edges.iter().filter(move |e| e.1 == label).map(|e| e.0)
    }

    /// Whether the node's own work eventually succeeds, given its retry policy.
    fn eventually_succeeds(&self, label: usize) -> bool {
        let max = self.retries[label].max_attempts as usize;
        for (a, outcome) in self.outcomes[label].iter().take(max).enumerate() {
            match outcome {
                Outcome::Success => return true,
                Outcome::Failure(reason) if !reason.is_retryable() || a + 1 == max => return false,
                Outcome::Failure(_) => {}
            }
        }
        false
    }

    /// Labels reachable from `label`, excluding itself.
    fn downstream_closure(&self, label: usize) -> BTreeSet<usize> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![label];
        while let Some(k) = stack.pop() {
            for &(a, b) in &self.edges {
                if a == k && seen.insert(b) {
                    stack.push(b);
                }
            }
        }
        seen
    }

    /// Runs the simulated executor, asserting per-step invariants, and
    /// returns the final state.
    fn simulate(self) -> Finished {
        let graph = self.graph();
        let mut rng = Rng(self.seed | 1);
        let mut states: BTreeMap<String, NodeState> = BTreeMap::new();
        let mut recorded = RunPhase::Pending;
        let mut cancel_requested = false;
        let mut now: i64 = 0;
        let mut finishes = 0;
        let attempt_budget: usize = self.retries.iter().map(|r| r.max_attempts as usize).sum();
        let max_steps = 4 * attempt_budget + 2 * self.ids.len() + 10;

        for step in 0..max_steps {
            if self.cancel_at_step == Some(step) {
                cancel_requested = true;
            }
            let running_here = count(&states, NodePhase::Running) as u32;
            let busy_elsewhere = rng.below(u64::from(self.global_cap)) as u32;
            let free_global_slots = self
                .global_cap
                .saturating_sub(running_here + busy_elsewhere);
            let observed = states.clone();
            let input = PlanInput {
                graph: &graph,
                states: &observed,
                failure_policy: self.failure_policy,
                max_parallel_in_run: self.max_parallel_in_run,
                free_global_slots,
                cancel_requested,
                now_ms: now,
                recorded_phase: recorded,
            };
            let planned = plan(&input);
            assert_eq!(planned, plan(&input), "planning is deterministic");

            let starts = self.apply_checked(&graph, &mut states, &planned, &input);
            assert!(
                starts <= free_global_slots,
                "started {starts} with {free_global_slots} free slots"
            );
            if let Some(cap) = self.max_parallel_in_run {
                assert!(
                    count(&states, NodePhase::Running) as u32 <= cap,
                    "run cap exceeded"
                );
            }
            if self.failure_policy == FailurePolicy::FailFast && starts > 0 {
                assert_eq!(
                    count(&states, NodePhase::Failed),
                    0,
                    "fail-fast started a node while a node had failed for good"
                );
            }
            finishes += planned
                .actions
                .iter()
                .filter(|a| matches!(a, Action::Finish { .. }))
                .count();
            recorded = planned.run_phase;

            // Planning again after applying everything yields nothing new.
            let again = plan(&PlanInput {
                states: &states,
                free_global_slots: free_global_slots - starts,
                recorded_phase: recorded,
                ..input
            });
            assert!(
                again.actions.is_empty(),
                "repeated actions: {:?}",
                again.actions
            );
            if recorded == RunPhase::Waiting {
                assert_eq!(
                    count(&states, NodePhase::Running),
                    0,
                    "waiting while running"
                );
                assert!(count(&states, NodePhase::Waiting) > 0);
            }
            // A Wait node whose time has come succeeds.
            for action in &planned.actions {
                if let Action::Expire { node } = action {
                    states.get_mut(node).expect("expired node").succeed(now);
                }
            }

            if recorded.is_terminal() {
                assert_eq!(finishes, 1, "finish is emitted exactly once");
                return Finished {
                    scenario: self,
                    states,
                    phase: recorded,
                    cancel_requested,
                };
            }

            let running: Vec<String> = states
                .iter()
                .filter(|(_, s)| s.phase == NodePhase::Running)
                .map(|(id, _)| id.clone())
                .collect();
            let waiting: Vec<String> = states
                .iter()
                .filter(|(_, s)| s.phase == NodePhase::Waiting)
                .map(|(id, _)| id.clone())
                .collect();
            let quiet = planned.actions.is_empty() && planned.wake_at_ms.is_none();
            if running.is_empty() && quiet && !waiting.is_empty() {
                // Only people can move the run now: whatever still waits must
                // be below a waiting node.
                let blocked = self.downstream_of_waiting(&states);
                for (id, state) in &states {
                    if state.phase == NodePhase::Pending {
                        assert!(
                            blocked.contains(&self.label(id)),
                            "{id} stalled: {states:?}"
                        );
                    }
                }
                for k in 0..self.ids.len() {
                    let pending = states
                        .get(&format!("n{k}"))
                        .is_none_or(|s| s.phase == NodePhase::Pending);
                    assert!(!pending || blocked.contains(&k), "n{k} stalled: {states:?}");
                }
                let decided = &waiting[rng.below(waiting.len() as u64) as usize];
                states.get_mut(decided).expect("waiting").succeed(now);
                now += rng.below(3_000) as i64;
            } else if running.is_empty() {
                let started_or_changed = !planned.actions.is_empty();
                match planned.wake_at_ms {
                    Some(wake) if !started_or_changed => now = now.max(wake),
                    Some(_) => now += rng.below(3_000) as i64,
                    None => assert!(
                        started_or_changed || self.cancel_at_step.is_some_and(|s| s > step),
                        "run stalled: {states:?}"
                    ),
                }
            } else {
                let forced = rng.below(running.len() as u64) as usize;
                for (i, id) in running.iter().enumerate() {
                    if i == forced || rng.below(3) == 0 {
                        self.complete(&mut states, id, now);
                    }
                }
                now += rng.below(3_000) as i64;
            }
        }
        panic!("run did not finish within {max_steps} steps: {states:?}");
    }

    /// Applies a plan's actions one by one, checking each against the state
    /// it applies to. Returns the number of starts.
    fn apply_checked(
        &self,
        graph: &PlanGraph,
        states: &mut BTreeMap<String, NodeState>,
        planned: &Plan,
        input: &PlanInput,
    ) -> u32 {
        let mut starts = 0;
        for action in &planned.actions {
            let current = action
                .node()
                .map(|id| states.get(id).cloned().unwrap_or_default());
            match action {
                Action::Start { node, attempt } => {
                    let current = current.expect("start names a node");
                    assert!(!input.cancel_requested, "started {node} after cancellation");
                    assert_eq!(current.phase, NodePhase::Pending, "started {node} twice");
                    assert!(current
                        .retry_not_before_ms
                        .is_none_or(|t| t <= input.now_ms));
                    assert_eq!(*attempt, current.attempt + 1);
                    let max = graph.node(node).expect("known node").retry.max_attempts;
                    assert!(*attempt <= max, "{node} attempt {attempt} exceeds {max}");
                    assert!(
                        self.rule_satisfied(states, self.label(node)),
                        "{node} started before its trigger rule {:?} was satisfied",
                        self.rules[self.label(node)]
                    );
                    starts += 1;
                }
                Action::ScheduleRetry {
                    node,
                    attempt,
                    not_before_ms,
                } => {
                    let current = current.expect("retry names a node");
                    assert!(!input.cancel_requested);
                    assert_eq!(current.phase, NodePhase::Failed, "{node}");
                    assert!(current.reason.is_none_or(FailureReason::is_retryable));
                    assert_eq!(*attempt, current.attempt + 1);
                    assert!(*not_before_ms >= input.now_ms);
                }
                Action::Skip { node, .. } => {
                    assert_eq!(
                        current.map(|s| s.phase),
                        Some(NodePhase::Pending),
                        "skipped {node}"
                    );
                }
                Action::Cancel { node } => {
                    assert!(
                        input.cancel_requested || input.failure_policy == FailurePolicy::FailFast
                    );
                    let current = current.expect("cancel names a node");
                    assert!(
                        !current.phase.is_terminal() && !current.cancelling,
                        "cancelled {node} twice"
                    );
                }
                Action::FailNode { node, .. } => {
                    panic!("the simulator never loses track of {node}")
                }
                Action::Expire { node } => {
                    let current = current.expect("expire names a node");
                    assert_eq!(current.phase, NodePhase::Waiting, "expired {node}");
                    assert!(current.wait_until_ms.is_some_and(|t| t <= input.now_ms));
                }
                Action::Finish { .. } => {
                    assert!(
                        graph
                            .nodes()
                            .iter()
                            .all(|n| states.get(&n.id).is_some_and(|s| s.phase.is_terminal())),
                        "finished with unfinished nodes"
                    );
                }
            }
            apply_action(states, action, input.now_ms);
        }
        starts
    }

    /// Reports the end of a running node's current attempt.
    fn complete(&self, states: &mut BTreeMap<String, NodeState>, id: &str, now: i64) {
        let label = self.label(id);
        let state = states.get_mut(id).expect("running node has a state");
        if state.cancelling {
            state.phase = NodePhase::Cancelled;
            state.reason = Some(FailureReason::Cancelled);
        } else {
            match self.outcomes[label][state.attempt as usize - 1] {
                Outcome::Success => match self.kinds[label] {
                    Kind::Work => state.phase = NodePhase::Succeeded,
                    Kind::Branch(yes) => state.succeed_on_branch(BRANCHES[usize::from(yes)], now),
                    Kind::Wait(deadline) => {
                        state.wait(deadline.map(|d| now + d), None);
                        return;
                    }
                },
                Outcome::Failure(reason) => {
                    state.phase = NodePhase::Failed;
                    state.reason = Some(reason);
                }
            }
        }
        state.finished_at_ms = Some(now);
    }
}

fn count(states: &BTreeMap<String, NodeState>, phase: NodePhase) -> usize {
    states.values().filter(|s| s.phase == phase).count()
}

impl Finished {
    fn phase_of(&self, label: usize) -> NodePhase {
        self.states
            .get(&format!("n{label}"))
            .map(|s| s.phase)
            .unwrap_or_default()
    }

    fn labels_in(&self, phase: NodePhase) -> BTreeSet<usize> {
        (0..self.scenario.ids.len())
            .filter(|&k| self.phase_of(k) == phase)
            .collect()
    }

    fn assert_common(&self) {
        let n = self.scenario.ids.len();
        for k in 0..n {
            let state = &self.states[&format!("n{k}")];
            assert!(state.phase.is_terminal(), "n{k} ended {:?}", state.phase);
            assert!(state.attempt <= self.scenario.retries[k].max_attempts);
        }
        let node_states = (0..n).map(|k| &self.states[&format!("n{k}")]);
        assert_eq!(self.phase, run_phase(node_states, self.cancel_requested));
        if self.labels_in(NodePhase::Succeeded).len() == n {
            assert_eq!(self.phase, RunPhase::Succeeded);
        }
        // Every node skipped for a branch is below a Condition; every other
        // skipped node is below a node that did not succeed.
        let conditions: BTreeSet<usize> = (0..n)
            .filter(|&k| matches!(self.scenario.kinds[k], Kind::Branch(_)))
            .flat_map(|k| self.scenario.downstream_closure(k))
            .collect();
        for k in self.labels_in(NodePhase::Skipped) {
            if self.states[&format!("n{k}")].reason == Some(FailureReason::Branch) {
                assert!(
                    conditions.contains(&k),
                    "n{k} skipped for a branch below no Condition"
                );
            }
        }
        let not_succeeded: BTreeSet<usize> = (0..n)
            .filter(|&k| matches!(self.phase_of(k), NodePhase::Failed | NodePhase::Cancelled))
            .collect();
        let doomed: BTreeSet<usize> = not_succeeded
            .iter()
            .flat_map(|&k| self.scenario.downstream_closure(k))
            .collect();
        for k in self.labels_in(NodePhase::Skipped) {
            if self.states[&format!("n{k}")].reason == Some(FailureReason::Branch) {
                continue;
            }
            assert!(
                doomed.contains(&k),
                "n{k} skipped without a failed ancestor"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn every_run_terminates_with_every_node_in_a_terminal_state(
        scenario in scenario(prop::option::of(0usize..40), any_policy())
    ) {
        scenario.simulate().assert_common();
    }

    #[test]
    fn with_continue_a_failure_skips_exactly_its_downstream_closure(
        scenario in scenario(Just(None), Just(FailurePolicy::Continue))
    ) {
        let finished = scenario.simulate();
        finished.assert_common();
        let scenario = &finished.scenario;
        let n = scenario.ids.len();
        let failed = finished.labels_in(NodePhase::Failed);
        let closure: BTreeSet<usize> = failed.iter().flat_map(|&k| scenario.downstream_closure(k)).collect();
        prop_assert_eq!(finished.labels_in(NodePhase::Skipped), closure.clone());
        prop_assert!(finished.labels_in(NodePhase::Cancelled).is_empty());
        for k in 0..n {
            if !closure.contains(&k) {
                let expected = if scenario.eventually_succeeds(k) { NodePhase::Succeeded } else { NodePhase::Failed };
                prop_assert_eq!(finished.phase_of(k), expected, "n{}", k);
            }
        }
        // Hidden labels are topological, so walking them in order sees every upstream first.
        for k in 0..n {
            if finished.phase_of(k) == NodePhase::Succeeded {
                for up in scenario.upstream(k) {
                    prop_assert_eq!(finished.phase_of(up), NodePhase::Succeeded);
                }
            }
        }
    }

    #[test]
    fn with_fail_fast_the_first_final_failure_stops_the_run(
        scenario in scenario(Just(None), Just(FailurePolicy::FailFast))
    ) {
        // The simulator asserts that no node starts while a final failure exists.
        let finished = scenario.simulate();
        finished.assert_common();
        let failed = finished.labels_in(NodePhase::Failed);
        if failed.is_empty() {
            prop_assert_eq!(finished.phase, RunPhase::Succeeded);
        } else {
            prop_assert_eq!(finished.phase, RunPhase::Failed);
            for k in finished.labels_in(NodePhase::Succeeded) {
                prop_assert!(finished.scenario.eventually_succeeds(k));
            }
        }
    }

    #[test]
    fn cancellation_leaves_nothing_running_or_pending(
        scenario in scenario((0usize..20).prop_map(Some), any_policy())
    ) {
        let finished = scenario.simulate();
        finished.assert_common();
        prop_assert_eq!(finished.labels_in(NodePhase::Running).len(), 0);
        prop_assert_eq!(finished.labels_in(NodePhase::Pending).len(), 0);
        let n = finished.scenario.ids.len();
        if finished.cancel_requested && finished.labels_in(NodePhase::Succeeded).len() < n {
            prop_assert_eq!(finished.phase, RunPhase::Cancelled);
        }
    }

    #[test]
    fn with_conditions_waits_and_trigger_rules_every_run_terminates(
        scenario in flow_scenario(prop::option::of(0usize..40), any_policy(), true, false)
    ) {
        // The simulator checks each start against the trigger rule and that
        // waiting nodes block only their downstream nodes.
        scenario.simulate().assert_common();
    }

    #[test]
    fn exactly_the_closure_of_untaken_branches_is_skipped(
        scenario in flow_scenario(Just(None), Just(FailurePolicy::Continue), true, true)
    ) {
        let finished = scenario.simulate();
        finished.assert_common();
        let scenario = &finished.scenario;
        // Hidden labels are topological: a node is on an untaken branch when
        // some upstream node is, or is a Condition none of whose edges into
        // it is plain or on the branch it took.
        let mut untaken: BTreeSet<usize> = BTreeSet::new();
        for k in 0..scenario.ids.len() {
            let ups: BTreeSet<usize> = scenario.upstream(k).collect();
            let cut = ups.iter().any(|&a| {
                untaken.contains(&a)
                    || !scenario.edges.iter().zip(&scenario.edge_branch).any(|(&(from, to), branch)| {
                        from == a
                            && to == k
                            && match (scenario.kinds[a], branch) {
                                (Kind::Branch(taken), Some(yes)) => taken == *yes,
                                _ => true,
                            }
                    })
            });
            if cut {
                untaken.insert(k);
            }
        }
        let skipped = finished.labels_in(NodePhase::Skipped);
        prop_assert_eq!(&skipped, &untaken);
        for k in &skipped {
            prop_assert_eq!(finished.states[&format!("n{k}")].reason, Some(FailureReason::Branch));
        }
        for k in 0..scenario.ids.len() {
            if !skipped.contains(&k) {
                prop_assert_eq!(finished.phase_of(k), NodePhase::Succeeded, "n{}", k);
            }
        }
        prop_assert_eq!(finished.phase, RunPhase::Succeeded);
    }

    #[test]
    fn cancellation_ends_waiting_nodes(
        scenario in flow_scenario((0usize..20).prop_map(Some), any_policy(), true, false)
    ) {
        let finished = scenario.simulate();
        finished.assert_common();
        prop_assert_eq!(finished.labels_in(NodePhase::Waiting).len(), 0);
    }
}
