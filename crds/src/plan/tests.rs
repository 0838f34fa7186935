use std::collections::BTreeMap;

use super::fixture::{cancel, finish_of, node_actions, retry, skip, start, RunFixture, T0};
use super::{
    plan, run_phase, Action, FailurePolicy, FailureReason, NodePhase, NodeState, PlanGraph,
    PlanGraphError, PlanInput, PlanNode, RetryPolicy, RunPhase,
};

use FailureReason::*;

#[test]
fn empty_graph_finishes_succeeded_immediately() {
    let plan = RunFixture::new().plan();

    assert_eq!(plan.run_phase, RunPhase::Succeeded);
    assert_eq!(
        plan.actions,
        vec![Action::Finish {
            phase: RunPhase::Succeeded,
            message: "the run has no nodes".into()
        }]
    );
}

#[test]
fn roots_start_and_downstream_nodes_wait() {
    let plan = RunFixture::new().edge("a", "c").edge("b", "c").plan();

    assert_eq!(plan.actions, vec![start("a", 1), start("b", 1)]);
    assert!(plan.queued.is_empty());
    assert_eq!(plan.run_phase, RunPhase::Running);
}

#[test]
fn node_starts_only_when_all_upstream_nodes_succeeded() {
    let fixture = RunFixture::new().edge("a", "c").edge("b", "c");

    assert!(node_actions(&fixture.clone().succeeded("a").running("b").plan()).is_empty());
    assert_eq!(
        fixture.succeeded("a").succeeded("b").plan().actions,
        vec![start("c", 1)]
    );
}

#[test]
fn ready_nodes_start_in_topological_order_with_ties_by_graph_order() {
    // Graph order: z, y, x; y depends on x, so x comes before y.
    let plan = RunFixture::new()
        .nodes(&["z", "y", "x"])
        .edge("x", "y")
        .max_parallel(1)
        .plan();
    assert_eq!(plan.actions, vec![start("z", 1)]);
    assert_eq!(plan.queued, vec!["x"]);

    let fixture = RunFixture::new()
        .nodes(&["r", "q", "p"])
        .edge("r", "q")
        .edge("r", "p")
        .succeeded("r");
    assert_eq!(fixture.plan().actions, vec![start("q", 1), start("p", 1)]);
}

#[test]
fn run_cap_limits_starts_and_queues_the_rest_in_order() {
    let plan = RunFixture::new()
        .nodes(&["a", "b", "c", "d"])
        .max_parallel(2)
        .plan();

    assert_eq!(plan.actions, vec![start("a", 1), start("b", 1)]);
    assert_eq!(plan.queued, vec!["c", "d"]);
}

#[test]
fn running_nodes_count_against_the_run_cap() {
    let plan = RunFixture::new()
        .nodes(&["a", "b", "c"])
        .running("a")
        .max_parallel(2)
        .plan();

    assert_eq!(plan.actions, vec![start("b", 1)]);
    assert_eq!(plan.queued, vec!["c"]);
}

#[test]
fn free_global_slots_limit_starts_across_runs() {
    let plan = RunFixture::new()
        .nodes(&["a", "b", "c"])
        .max_parallel(5)
        .free_slots(1)
        .plan();
    assert_eq!(plan.actions, vec![start("a", 1)]);
    assert_eq!(plan.queued, vec!["b", "c"]);

    let plan = RunFixture::new().nodes(&["a"]).free_slots(0).plan();
    assert!(plan.actions.is_empty());
    assert_eq!(plan.queued, vec!["a"]);
    assert_eq!(plan.run_phase, RunPhase::Pending);
}

#[test]
fn a_run_cap_of_zero_counts_as_one() {
    let plan = RunFixture::new().nodes(&["a", "b"]).max_parallel(0).plan();

    assert_eq!(plan.actions, vec![start("a", 1)]);
    assert_eq!(plan.queued, vec!["b"]);
}

#[test]
fn retryable_failure_schedules_a_retry_with_exponential_backoff() {
    let fixture = RunFixture::new().retry("a", 4, 10, 2.0);

    let first = fixture.clone().failed_attempt("a", 1, Timeout).plan();
    assert_eq!(first.actions, vec![retry("a", 2, T0 + 10_000)]);
    assert_eq!(first.wake_at_ms, Some(T0 + 10_000));
    assert_eq!(first.run_phase, RunPhase::Running);

    let second = fixture.failed_attempt("a", 2, Error).plan();
    assert_eq!(second.actions, vec![retry("a", 3, T0 + 20_000)]);
}

#[test]
fn retry_waits_for_its_time_then_starts_the_next_attempt() {
    let mut fixture = RunFixture::new()
        .retry("a", 3, 5, 1.0)
        .failed("a", Interrupted);
    let scheduled = fixture.plan();
    fixture.apply(&scheduled);
    assert_eq!(fixture.phase_of("a"), NodePhase::Pending);

    let waiting = fixture.clone().at(T0 + 4_999).plan();
    assert!(waiting.actions.is_empty());
    assert!(waiting.queued.is_empty());
    assert_eq!(waiting.wake_at_ms, Some(T0 + 5_000));

    let due = fixture.at(T0 + 5_000).plan();
    assert_eq!(due.actions, vec![start("a", 2)]);
    assert_eq!(due.wake_at_ms, None);
}

#[test]
fn retry_without_backoff_starts_in_the_same_plan() {
    let plan = RunFixture::new()
        .retry("a", 2, 0, 2.0)
        .failed("a", Memory)
        .plan();

    assert_eq!(plan.actions, vec![retry("a", 2, T0), start("a", 2)]);
}

#[test]
fn a_due_retry_waits_in_the_queue_when_no_slot_is_free() {
    let mut fixture = RunFixture::new()
        .retry("a", 2, 1, 1.0)
        .failed("a", Error)
        .free_slots(0);
    let scheduled = fixture.plan();
    fixture.apply(&scheduled);

    let plan = fixture.at(T0 + 1_000).plan();
    assert!(plan.actions.is_empty());
    assert_eq!(plan.queued, vec!["a"]);
}

#[test]
fn deterministic_failures_are_not_retried_but_interruptions_are() {
    for reason in [OutputType, Sandbox, Cancelled, UpstreamFailed] {
        let plan = RunFixture::new()
            .retry("a", 3, 0, 1.0)
            .failed("a", reason)
            .plan();
        assert_eq!(
            finish_of(&plan).map(|(phase, _)| phase),
            Some(RunPhase::Failed),
            "{reason:?}"
        );
    }
    for reason in [Error, Timeout, Memory, Cpu, OutputSize, Interrupted, Image] {
        let plan = RunFixture::new()
            .retry("a", 3, 1, 1.0)
            .failed("a", reason)
            .plan();
        assert_eq!(plan.actions, vec![retry("a", 2, T0 + 1_000)], "{reason:?}");
    }
}

#[test]
fn a_failure_without_a_reason_counts_as_a_retryable_error() {
    let state = NodeState {
        phase: NodePhase::Failed,
        attempt: 1,
        ..NodeState::default()
    };
    let plan = RunFixture::new()
        .retry("a", 2, 0, 1.0)
        .with_state("a", state)
        .plan();

    assert_eq!(plan.actions[0], retry("a", 2, T0));
}

#[test]
fn exhausted_retries_leave_the_node_failed_and_skip_its_downstream_closure() {
    let plan = RunFixture::new()
        .retry("a", 2, 0, 1.0)
        .edge("a", "b")
        .edge("b", "c")
        .node("d")
        .failed_attempt("a", 2, Error)
        .succeeded("d")
        .plan();

    assert_eq!(node_actions(&plan), vec![skip("b", "a"), skip("c", "a")]);
    let (phase, message) = finish_of(&plan).expect("run finished");
    assert_eq!(phase, RunPhase::Failed);
    assert_eq!(message, "failed: a (error); skipped: 2");
}

#[test]
fn continue_policy_keeps_independent_branches_running() {
    let plan = RunFixture::new()
        .edge("a", "b")
        .edge("c", "d")
        .edge("b", "e")
        .edge("d", "e")
        .failed("a", Error)
        .succeeded("c")
        .plan();

    assert_eq!(
        plan.actions,
        vec![skip("b", "a"), skip("e", "a"), start("d", 1)]
    );
    assert_eq!(plan.run_phase, RunPhase::Running);
}

#[test]
fn skip_names_the_earliest_failed_ancestor() {
    let plan = RunFixture::new()
        .nodes(&["a", "b"])
        .edge("b", "c")
        .edge("a", "c")
        .failed("b", Error)
        .failed("a", Error)
        .plan();

    assert_eq!(node_actions(&plan), vec![skip("c", "a")]);
}

#[test]
fn fail_fast_cancels_everything_unfinished_and_starts_nothing() {
    let plan = RunFixture::new()
        .fail_fast()
        .edge("a", "b")
        .nodes(&["c", "d", "e"])
        .failed("a", Sandbox)
        .running("c")
        .plan();

    assert_eq!(
        plan.actions,
        vec![skip("b", "a"), cancel("c"), cancel("d"), cancel("e")]
    );
    assert!(plan.queued.is_empty());
    assert_eq!(plan.run_phase, RunPhase::Running);
}

#[test]
fn fail_fast_run_finishes_failed_once_cancelled_nodes_stop() {
    let mut fixture = RunFixture::new()
        .fail_fast()
        .nodes(&["a", "c"])
        .failed("a", Error)
        .running("c");
    let first = fixture.plan();
    fixture.apply(&first);
    fixture.states.get_mut("c").expect("c").phase = NodePhase::Cancelled;

    let plan = fixture.plan();
    assert_eq!(
        finish_of(&plan),
        Some((RunPhase::Failed, "failed: a (error); cancelled: c".into()))
    );
}

#[test]
fn fail_fast_does_not_halt_while_a_retry_remains() {
    let plan = RunFixture::new()
        .fail_fast()
        .retry("a", 2, 3, 1.0)
        .node("b")
        .failed("a", Timeout)
        .plan();

    assert_eq!(plan.actions, vec![retry("a", 2, T0 + 3_000), start("b", 1)]);
}

#[test]
fn fail_fast_stops_retries_of_other_failed_nodes() {
    let plan = RunFixture::new()
        .fail_fast()
        .retry("a", 3, 0, 1.0)
        .node("b")
        .failed("a", Timeout)
        .failed("b", OutputType)
        .plan();

    assert_eq!(
        finish_of(&plan),
        Some((
            RunPhase::Failed,
            "failed: a (timeout), b (output_type)".into()
        ))
    );
    assert_eq!(node_actions(&plan), vec![]);
}

#[test]
fn cancel_request_cancels_running_and_pending_nodes_and_starts_nothing() {
    let plan = RunFixture::new()
        .edge("a", "b")
        .node("c")
        .running("a")
        .cancel()
        .plan();

    assert_eq!(plan.actions, vec![cancel("a"), cancel("b"), cancel("c")]);
    assert!(plan.queued.is_empty());
    assert_eq!(plan.run_phase, RunPhase::Running);
}

#[test]
fn cancelled_run_finishes_once_nothing_is_running() {
    let mut fixture = RunFixture::new().edge("a", "b").running("a").cancel();
    let first = fixture.plan();
    fixture.apply(&first);
    assert!(fixture.states["a"].cancelling);
    assert_eq!(fixture.phase_of("b"), NodePhase::Cancelled);

    let still_running = fixture.plan();
    assert!(still_running.actions.is_empty(), "cancel is not repeated");
    assert_eq!(still_running.run_phase, RunPhase::Running);

    fixture.states.get_mut("a").expect("a").phase = NodePhase::Cancelled;
    let done = fixture.plan();
    assert_eq!(
        done.actions,
        vec![Action::Finish {
            phase: RunPhase::Cancelled,
            message: "cancelled on request; 0 of 2 nodes succeeded".into()
        }]
    );
}

#[test]
fn cancel_request_does_not_retry_failed_nodes() {
    let plan = RunFixture::new()
        .retry("a", 3, 0, 1.0)
        .failed("a", Error)
        .cancel()
        .plan();

    assert_eq!(
        finish_of(&plan).map(|(phase, _)| phase),
        Some(RunPhase::Cancelled)
    );
}

#[test]
fn a_run_whose_nodes_all_succeeded_finishes_succeeded_even_if_cancel_came_late() {
    let plan = RunFixture::new()
        .edge("a", "b")
        .succeeded("a")
        .succeeded("b")
        .cancel()
        .plan();

    assert_eq!(
        plan.actions,
        vec![Action::Finish {
            phase: RunPhase::Succeeded,
            message: "all 2 nodes succeeded".into()
        }]
    );
}

#[test]
fn a_finished_run_is_frozen() {
    let plan = RunFixture::new()
        .node("a")
        .succeeded("a")
        .recorded(RunPhase::Succeeded)
        .plan();

    assert!(plan.actions.is_empty());
    assert_eq!(plan.run_phase, RunPhase::Succeeded);
}

#[test]
fn planning_is_idempotent_and_applied_actions_are_not_repeated() {
    let mut fixture = RunFixture::new().edge("a", "b").node("c").max_parallel(1);

    let first = fixture.plan();
    assert_eq!(first, fixture.plan());
    fixture.apply(&first);
    let second = fixture.plan();
    assert!(second.actions.is_empty());
    assert_eq!(second.queued, vec!["c"]);

    fixture = fixture.succeeded("a").succeeded("c");
    let third = fixture.plan();
    assert_eq!(third.actions, vec![start("b", 1)]);
    fixture.apply(&third);
    fixture = fixture.succeeded("b");
    let fourth = fixture.plan();
    assert_eq!(
        finish_of(&fourth).map(|(phase, _)| phase),
        Some(RunPhase::Succeeded)
    );
    fixture.apply(&fourth);
    assert!(fixture.plan().actions.is_empty(), "finish is emitted once");
}

#[test]
fn a_pending_node_that_used_all_attempts_is_failed_instead_of_started() {
    let state = NodeState {
        attempt: 2,
        ..NodeState::default()
    };
    let plan = RunFixture::new()
        .retry("a", 2, 0, 1.0)
        .edge("a", "b")
        .with_state("a", state)
        .plan();

    assert_eq!(
        node_actions(&plan),
        vec![
            Action::FailNode {
                node: "a".into(),
                reason: Interrupted,
                message: "all 2 attempts were started without a recorded outcome".into()
            },
            skip("b", "a")
        ]
    );
}

#[test]
fn a_node_cancelled_from_outside_skips_its_downstream_nodes() {
    let state = NodeState {
        phase: NodePhase::Cancelled,
        reason: Some(Cancelled),
        ..NodeState::default()
    };
    let plan = RunFixture::new()
        .edge("a", "b")
        .with_state("a", state)
        .plan();

    assert_eq!(node_actions(&plan), vec![skip("b", "a")]);
    assert_eq!(
        finish_of(&plan),
        Some((RunPhase::Failed, "cancelled: a; skipped: 1".into()))
    );
}

#[test]
fn states_of_unknown_nodes_are_ignored() {
    let plan = RunFixture::new().node("a").succeeded("ghost").plan();

    assert_eq!(plan.actions, vec![start("a", 1)]);
}

#[test]
fn run_phase_is_derived_from_node_phases() {
    use NodePhase::{
        Cancelled as C, Failed as F, Pending as P, Running as R, Skipped as S, Succeeded as Ok,
    };

    let cases: &[(&[NodePhase], bool, RunPhase)] = &[
        (&[], false, RunPhase::Succeeded),
        (&[], true, RunPhase::Succeeded),
        (&[P, P], false, RunPhase::Pending),
        (&[P, P], true, RunPhase::Pending),
        (&[R, P], false, RunPhase::Running),
        (&[Ok, P], false, RunPhase::Running),
        (&[F, P], false, RunPhase::Running),
        (&[R, C], true, RunPhase::Running),
        (&[Ok, Ok], false, RunPhase::Succeeded),
        (&[Ok, Ok], true, RunPhase::Succeeded),
        (&[Ok, F], false, RunPhase::Failed),
        (&[Ok, S], false, RunPhase::Failed),
        (&[Ok, C], false, RunPhase::Failed),
        (&[F, S, C], false, RunPhase::Failed),
        (&[Ok, C], true, RunPhase::Cancelled),
        (&[F, S, C], true, RunPhase::Cancelled),
    ];
    for (phases, cancel_requested, expected) in cases {
        let states: Vec<NodeState> = phases.iter().map(|&p| NodeState::with_phase(p)).collect();
        assert_eq!(
            run_phase(&states, *cancel_requested),
            *expected,
            "{phases:?} cancel={cancel_requested}"
        );
    }
}

#[test]
fn a_pending_node_awaiting_a_retry_keeps_the_run_running() {
    let state = NodeState {
        attempt: 1,
        ..NodeState::default()
    };
    assert_eq!(run_phase([&state], false), RunPhase::Running);
}

#[test]
fn retry_delay_grows_by_the_multiplier_and_is_capped() {
    let policy = RetryPolicy {
        max_attempts: 10,
        backoff_seconds: 3,
        backoff_multiplier: 1.5,
    };
    assert_eq!(policy.delay_ms(1), 3_000);
    assert_eq!(policy.delay_ms(2), 4_500);
    assert_eq!(policy.delay_ms(3), 6_750);

    let huge = RetryPolicy {
        backoff_multiplier: 1e300,
        ..policy
    };
    assert_eq!(huge.delay_ms(5), 30 * 24 * 3600 * 1000);
}

#[test]
fn graph_construction_rejects_invalid_graphs() {
    let nodes = |ids: &[&str]| ids.iter().map(|id| PlanNode::new(*id)).collect::<Vec<_>>();
    let edge = |a: &str, b: &str| (a.to_owned(), b.to_owned());

    assert_eq!(
        PlanGraph::new(nodes(&["a", "a"]), vec![]),
        Err(PlanGraphError::DuplicateNode("a".into()))
    );
    assert_eq!(
        PlanGraph::new(nodes(&["a"]), vec![edge("a", "x")]),
        Err(PlanGraphError::UnknownNode {
            from: "a".into(),
            to: "x".into(),
            unknown: "x".into()
        })
    );
    assert!(matches!(
        PlanGraph::new(nodes(&["a", "b"]), vec![edge("a", "b"), edge("b", "a")]),
        Err(PlanGraphError::Cycle(_))
    ));
    assert_eq!(
        PlanGraph::new(nodes(&["a"]), vec![edge("a", "a")]),
        Err(PlanGraphError::Cycle("a".into()))
    );
    let zero_attempts = PlanNode::new("a").with_retry(RetryPolicy {
        max_attempts: 0,
        ..RetryPolicy::default()
    });
    assert!(matches!(
        PlanGraph::new(vec![zero_attempts], vec![]),
        Err(PlanGraphError::InvalidRetry { .. })
    ));
    let nan_multiplier = PlanNode::new("a").with_retry(RetryPolicy {
        backoff_multiplier: f64::NAN,
        ..RetryPolicy::default()
    });
    assert!(matches!(
        PlanGraph::new(vec![nan_multiplier], vec![]),
        Err(PlanGraphError::InvalidRetry { .. })
    ));
}

#[test]
fn graph_exposes_neighbours_and_topological_order() {
    let graph = RunFixture::new()
        .nodes(&["c", "b"])
        .edge("a", "b")
        .edge("a", "b")
        .graph();

    assert_eq!(graph.len(), 3);
    assert_eq!(graph.upstream_of("b").collect::<Vec<_>>(), vec!["a"]);
    assert_eq!(graph.downstream_of("a").collect::<Vec<_>>(), vec!["b"]);
    assert_eq!(graph.downstream_of("nope").count(), 0);
    assert_eq!(
        graph.topological_order().collect::<Vec<_>>(),
        vec!["c", "a", "b"]
    );
}

#[test]
fn graph_round_trips_through_json_and_validates_on_the_way_in() {
    let graph = RunFixture::new()
        .retry("a", 3, 2, 2.0)
        .edge("a", "b")
        .graph();
    let json = serde_json::to_value(&graph).expect("serialize");
    assert_eq!(
        json,
        serde_json::json!({
            "nodes": [
                {"id": "a", "retry": {"maxAttempts": 3, "backoffSeconds": 2, "backoffMultiplier": 2.0}},
                {"id": "b", "retry": {"maxAttempts": 1, "backoffSeconds": 0, "backoffMultiplier": 1.0}}
            ],
            "edges": [["a", "b"]]
        })
    );
    assert_eq!(
        serde_json::from_value::<PlanGraph>(json).expect("deserialize"),
        graph
    );

    let cyclic = serde_json::json!({"nodes": [{"id": "a"}], "edges": [["a", "a"]]});
    assert!(serde_json::from_value::<PlanGraph>(cyclic).is_err());
}

#[test]
fn actions_and_states_serialize_in_camel_case() {
    let action = retry("a", 2, 5);
    assert_eq!(
        serde_json::to_value(&action).expect("serialize"),
        serde_json::json!({"type": "scheduleRetry", "node": "a", "attempt": 2, "notBeforeMs": 5})
    );
    let skip_json = serde_json::to_value(skip("b", "a")).expect("serialize");
    assert_eq!(
        skip_json,
        serde_json::json!({"type": "skip", "node": "b", "reason": "upstream_failed", "becauseOf": "a"})
    );

    let state = NodeState {
        phase: NodePhase::Failed,
        attempt: 1,
        reason: Some(OutputSize),
        retry_not_before_ms: Some(7),
        ..NodeState::default()
    };
    let json = serde_json::to_value(&state).expect("serialize");
    assert_eq!(
        json,
        serde_json::json!({"phase": "Failed", "attempt": 1, "reason": "output_size", "retryNotBeforeMs": 7})
    );
    assert_eq!(
        serde_json::from_value::<NodeState>(json).expect("deserialize"),
        state
    );
    assert_eq!(
        serde_json::to_value(FailurePolicy::FailFast).expect("serialize"),
        serde_json::json!("FailFast")
    );
}

#[test]
fn plan_input_borrows_the_graph_and_states() {
    let graph = PlanGraph::new(vec![PlanNode::new("a")], vec![]).expect("valid");
    let states = BTreeMap::new();
    let input = PlanInput {
        graph: &graph,
        states: &states,
        failure_policy: FailurePolicy::Continue,
        max_parallel_in_run: None,
        free_global_slots: 1,
        cancel_requested: false,
        now_ms: 0,
        recorded_phase: RunPhase::Pending,
    };

    assert_eq!(plan(&input).actions, vec![start("a", 1)]);
}
