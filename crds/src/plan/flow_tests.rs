//! Branches, trigger rules and waiting nodes.

use super::fixture::{cancel, finish_of, node_actions, skip, skip_branch, start, RunFixture, T0};
use super::{Action, FailureReason, NodePhase, NodeState, PlanGraph, RunPhase, TriggerRule};

use TriggerRule::*;

/// `c` is a Condition: `t` hangs on its `true` branch, `f` on `false`, and
/// both lead on to `j`.
fn diamond(join: TriggerRule) -> RunFixture {
    RunFixture::new()
        .branch_edge("c", "true", "t")
        .branch_edge("c", "false", "f")
        .edge("t", "j")
        .edge("f", "j")
        .trigger("j", join)
}

#[test]
fn a_condition_routes_to_the_branch_it_took_and_skips_the_other() {
    let plan = diamond(AllSucceeded).took("c", "true").plan();
    assert_eq!(
        node_actions(&plan),
        vec![skip_branch("f", "c"), skip_branch("j", "c"), start("t", 1)]
    );

    let plan = diamond(AllSucceeded).took("c", "false").plan();
    assert_eq!(
        node_actions(&plan),
        vec![skip_branch("t", "c"), skip_branch("j", "c"), start("f", 1)]
    );
}

#[test]
fn a_join_with_none_failed_min_one_success_runs_after_the_branch_that_ran() {
    let mut fixture = diamond(NoneFailedMinOneSuccess).took("c", "true");
    let plan = fixture.plan();
    assert_eq!(
        node_actions(&plan),
        vec![skip_branch("f", "c"), start("t", 1)]
    );
    fixture.apply(&plan);

    let plan = fixture.clone().succeeded("t").plan();
    assert_eq!(node_actions(&plan), vec![start("j", 1)]);

    let plan = fixture.failed("t", FailureReason::Error).plan();
    assert_eq!(node_actions(&plan), vec![skip("j", "t")]);
    assert_eq!(finish_of(&plan).map(|f| f.0), Some(RunPhase::Failed));
}

#[test]
fn a_run_whose_only_skips_are_untaken_branches_succeeds() {
    let mut fixture = diamond(NoneFailedMinOneSuccess).took("c", "false");
    fixture.apply(&fixture.plan());
    let mut fixture = fixture.succeeded("f");
    fixture.apply(&fixture.plan());
    let plan = fixture.succeeded("j").plan();
    assert_eq!(
        finish_of(&plan),
        Some((
            RunPhase::Succeeded,
            "3 of 4 nodes succeeded; 1 skipped on branches not taken".into()
        ))
    );
}

#[test]
fn any_succeeded_and_all_done_run_after_a_failure_once_every_upstream_is_decided() {
    let base = RunFixture::new()
        .edge("a", "x")
        .edge("b", "x")
        .edge("a", "y")
        .edge("b", "y")
        .trigger("x", AnySucceeded)
        .trigger("y", AllDone)
        .failed("a", FailureReason::Error);

    assert!(node_actions(&base.clone().running("b").plan()).is_empty());
    assert_eq!(
        node_actions(&base.clone().succeeded("b").plan()),
        vec![start("x", 1), start("y", 1)]
    );
    // Nothing succeeded: any_succeeded gives up, all_done still runs.
    assert_eq!(
        node_actions(&base.failed("b", FailureReason::Error).plan()),
        vec![skip("x", "a"), start("y", 1)]
    );
}

#[test]
fn an_edge_on_both_branches_is_always_taken() {
    let plan = RunFixture::new()
        .branch_edge("c", "true", "n")
        .branch_edge("c", "false", "n")
        .took("c", "false")
        .plan();
    assert_eq!(node_actions(&plan), vec![start("n", 1)]);
}

#[test]
fn a_waiting_node_holds_no_slot_and_blocks_only_its_downstream() {
    let fixture = RunFixture::new()
        .edge("approve", "after")
        .node("other")
        .max_parallel(1)
        .waiting("approve", None);
    let plan = fixture.plan();
    assert_eq!(node_actions(&plan), vec![start("other", 1)]);
    assert_eq!(plan.run_phase, RunPhase::Running);

    let plan = fixture.succeeded("other").plan();
    assert!(node_actions(&plan).is_empty());
    assert_eq!(plan.run_phase, RunPhase::Waiting);
    assert_eq!(plan.wake_at_ms, None, "a person decides, not a clock");
}

#[test]
fn a_deadline_wakes_the_executor_and_expires_once() {
    let mut fixture = RunFixture::new()
        .edge("wait", "after")
        .waiting("wait", Some(T0 + 5_000));
    let plan = fixture.plan();
    assert!(node_actions(&plan).is_empty());
    assert_eq!(plan.wake_at_ms, Some(T0 + 5_000));

    fixture = fixture.at(T0 + 5_000);
    let plan = fixture.plan();
    assert_eq!(
        node_actions(&plan),
        vec![Action::Expire {
            node: "wait".into()
        }]
    );
    fixture.apply(&plan);
    assert_eq!(fixture.states["wait"].wait_until_ms, None);
    assert_eq!(fixture.phase_of("wait"), NodePhase::Waiting);
    assert!(node_actions(&fixture.plan()).is_empty(), "expired once");
}

#[test]
fn cancel_ends_waiting_nodes_at_once() {
    let mut fixture = RunFixture::new()
        .edge("approve", "after")
        .waiting("approve", Some(T0 + 1))
        .cancel();
    let plan = fixture.plan();
    assert_eq!(
        node_actions(&plan),
        vec![cancel("approve"), cancel("after")]
    );
    fixture.apply(&plan);
    assert_eq!(fixture.phase_of("approve"), NodePhase::Cancelled);
    assert_eq!(finish_of(&plan).map(|f| f.0), Some(RunPhase::Cancelled));
}

#[test]
fn fail_fast_cancels_a_waiting_node() {
    let plan = RunFixture::new()
        .nodes(&["a", "approve"])
        .waiting("approve", None)
        .failed("a", FailureReason::Error)
        .fail_fast()
        .plan();
    assert_eq!(node_actions(&plan), vec![cancel("approve")]);
    assert_eq!(plan.run_phase, RunPhase::Failed);
}

#[test]
fn branch_edges_and_trigger_rules_survive_serialization() {
    let graph = diamond(AllDone).graph();
    let json = serde_json::to_value(&graph).expect("serialize");
    assert_eq!(
        json["branchEdges"],
        serde_json::json!([
            {"from": "c", "to": "t", "branch": "true"},
            {"from": "c", "to": "f", "branch": "false"}
        ])
    );
    let j = json["nodes"]
        .as_array()
        .and_then(|nodes| nodes.iter().find(|n| n["id"] == "j"))
        .expect("j is a node");
    assert_eq!(j["trigger"], "all_done");
    assert_eq!(
        serde_json::from_value::<PlanGraph>(json).expect("deserialize"),
        graph
    );

    let mut state = NodeState::default();
    state.start(1, 5);
    state.wait(Some(9), Some("waiting for ada".into()));
    let json = serde_json::to_value(&state).expect("serialize");
    assert_eq!(json["phase"], "Waiting");
    assert_eq!(json["waitUntilMs"], 9);
    state.succeed_on_branch("approved", 10);
    assert_eq!(state.branch.as_deref(), Some("approved"));
    assert_eq!(state.wait_until_ms, None);
}
