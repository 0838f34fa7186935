use k8s_openapi::api::core::v1::{
    ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
    ContainerStatus, Pod, PodStatus,
};
use katalusis_crds::plan::{FailurePolicy, FailureReason, NodePhase, RunPhase};
use katalusis_crds::resources::{Run, RunSnapshot};
use katalusis_crds::RetrySpec;

use super::*;
use crate::pods::{pod_name, PodSettings};
use crate::testdata::{run_with, snapshot_chain};

const NOW: i64 = 1_700_000_000_000;

/// Reconciles `run` against `pods`, then writes the planned status back into
/// `run` and applies creations and deletions to `pods`, like the controller.
fn step(run: &mut Run, pods: &mut Vec<Pod>, now_ms: i64) -> ReconcilePlan {
    let snapshot = run.spec.snapshot.clone().unwrap();
    let plan = reconcile_run(
        Observed {
            run,
            snapshot: &snapshot,
            pods,
            free_namespace_slots: 100,
            now_ms,
        },
        &PodSettings::default(),
    )
    .unwrap();
    run.status = Some(plan.status.clone());
    pods.retain(|p| !plan.delete.contains(p.metadata.name.as_ref().unwrap()));
    for pod in &plan.create {
        if !pods.iter().any(|p| p.metadata.name == pod.metadata.name) {
            pods.push(pod.clone());
        }
    }
    plan
}

fn set_pod_status(pods: &mut [Pod], name: &str, status: PodStatus) {
    let pod = pods
        .iter_mut()
        .find(|p| p.metadata.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no Pod {name}"));
    pod.status = Some(status);
}

fn terminated(phase: &str, reason: &str, exit_code: i32, message: Option<&str>) -> PodStatus {
    PodStatus {
        phase: Some(phase.into()),
        container_statuses: Some(vec![ContainerStatus {
            name: "node".into(),
            state: Some(ContainerState {
                terminated: Some(ContainerStateTerminated {
                    exit_code,
                    reason: Some(reason.into()),
                    message: message.map(Into::into),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }]),
        ..Default::default()
    }
}

fn running() -> PodStatus {
    PodStatus {
        phase: Some("Running".into()),
        container_statuses: Some(vec![ContainerStatus {
            name: "node".into(),
            state: Some(ContainerState {
                running: Some(ContainerStateRunning { started_at: None }),
                ..Default::default()
            }),
            ..Default::default()
        }]),
        ..Default::default()
    }
}

fn succeeded() -> PodStatus {
    terminated("Succeeded", "Completed", 0, None)
}

fn node<'a>(run: &'a Run, id: &str) -> &'a katalusis_crds::resources::RunNodeStatus {
    &run.status.as_ref().unwrap().nodes[id]
}

fn chain(ids: &[&str]) -> (Run, Vec<Pod>) {
    (run_with(snapshot_chain(ids)), Vec::new())
}

fn with_retries(mut snapshot: RunSnapshot, max_attempts: u32) -> RunSnapshot {
    snapshot.templates[0].template.retry = RetrySpec {
        max_attempts,
        backoff_seconds: 0,
        backoff_multiplier: 1.0,
    };
    snapshot
}

#[test]
fn a_new_run_gets_a_pod_for_its_first_node_only() {
    let (mut run, mut pods) = chain(&["a", "b"]);
    let plan = step(&mut run, &mut pods, NOW);
    let names: Vec<_> = plan
        .create
        .iter()
        .map(|p| p.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(names, [pod_name("demo", "a", 1)]);
    let status = run.status.as_ref().unwrap();
    assert_eq!(status.phase, RunPhase::Running);
    assert_eq!(status.progress, "0/2");
    assert_eq!(node(&run, "a").phase, NodePhase::Running);
    assert_eq!(node(&run, "a").pod_name.as_deref(), Some(names[0].as_str()));
    assert_eq!(node(&run, "b").phase, NodePhase::Pending);
    assert_eq!(plan.events[0].reason, "NodeStarted");
    assert_eq!(status.observed_generation, Some(1));
}

#[test]
fn reconciling_again_without_changes_creates_nothing_and_keeps_the_status() {
    let (mut run, mut pods) = chain(&["a", "b"]);
    step(&mut run, &mut pods, NOW);
    let before = run.status.clone();
    let plan = step(&mut run, &mut pods, NOW);
    assert!(plan.create.is_empty());
    assert!(plan.delete.is_empty());
    assert!(!plan.status_changed);
    assert_eq!(run.status, before);
}

#[test]
fn a_lost_status_write_recreates_the_same_pod_name() {
    // The operator created the Pod but crashed before writing the status.
    let (mut run, mut pods) = chain(&["a"]);
    let first = step(&mut run, &mut pods, NOW);
    run.status = None;
    let again = step(&mut run, &mut pods, NOW + 1000);
    assert_eq!(again.create[0].metadata.name, first.create[0].metadata.name);
    assert_eq!(pods.len(), 1, "the create answers AlreadyExists");
}

#[test]
fn a_succeeded_pod_starts_the_downstream_node_and_the_last_one_finishes_the_run() {
    let (mut run, mut pods) = chain(&["a", "b"]);
    step(&mut run, &mut pods, NOW);
    set_pod_status(&mut pods, &pod_name("demo", "a", 1), running());
    step(&mut run, &mut pods, NOW + 500);
    set_pod_status(&mut pods, &pod_name("demo", "a", 1), succeeded());
    let plan = step(&mut run, &mut pods, NOW + 1000);
    assert_eq!(plan.create[0].metadata.name, Some(pod_name("demo", "b", 1)));
    assert_eq!(node(&run, "a").phase, NodePhase::Succeeded);
    set_pod_status(&mut pods, &pod_name("demo", "b", 1), succeeded());
    let plan = step(&mut run, &mut pods, NOW + 61_000);
    let status = run.status.as_ref().unwrap();
    assert_eq!(status.phase, RunPhase::Succeeded);
    assert_eq!(status.progress, "2/2");
    assert_eq!(status.duration.as_deref(), Some("1m1s"));
    assert!(status.finished_at.is_some());
    assert!(plan.events.iter().any(|e| e.reason == "RunSucceeded"));
    let completed = status
        .conditions
        .iter()
        .find(|c| c.type_ == "Completed")
        .unwrap();
    assert_eq!(
        (completed.status.as_str(), completed.reason.as_str()),
        ("True", "Succeeded")
    );
}

#[test]
fn oom_killed_fails_the_node_with_reason_memory_and_skips_downstream() {
    let (mut run, mut pods) = chain(&["a", "b"]);
    step(&mut run, &mut pods, NOW);
    set_pod_status(
        &mut pods,
        &pod_name("demo", "a", 1),
        terminated("Failed", "OOMKilled", 137, None),
    );
    let plan = step(&mut run, &mut pods, NOW + 1000);
    let a = node(&run, "a");
    assert_eq!(
        (a.phase, a.reason),
        (NodePhase::Failed, Some(FailureReason::Memory))
    );
    assert_eq!(a.pod_reason.as_deref(), Some("OOMKilled"));
    assert_eq!(node(&run, "b").phase, NodePhase::Skipped);
    assert_eq!(run.status.as_ref().unwrap().phase, RunPhase::Failed);
    assert!(plan
        .events
        .iter()
        .any(|e| e.reason == "NodeFailed" && e.kind == EventKind::Warning));
    assert!(plan.create.is_empty());
}

#[test]
fn deadline_exceeded_fails_the_node_with_reason_timeout() {
    let (mut run, mut pods) = chain(&["a"]);
    step(&mut run, &mut pods, NOW);
    set_pod_status(
        &mut pods,
        &pod_name("demo", "a", 1),
        PodStatus {
            phase: Some("Failed".into()),
            reason: Some("DeadlineExceeded".into()),
            message: Some("Pod was active on the node longer than the specified deadline".into()),
            ..Default::default()
        },
    );
    step(&mut run, &mut pods, NOW + 1000);
    let a = node(&run, "a");
    assert_eq!(a.reason, Some(FailureReason::Timeout));
    assert_eq!(a.pod_reason.as_deref(), Some("DeadlineExceeded"));
}

#[test]
fn an_image_pull_error_fails_the_node_with_reason_image_and_deletes_the_pod() {
    let (mut run, mut pods) = chain(&["a"]);
    step(&mut run, &mut pods, NOW);
    let name = pod_name("demo", "a", 1);
    set_pod_status(
        &mut pods,
        &name,
        PodStatus {
            phase: Some("Pending".into()),
            container_statuses: Some(vec![ContainerStatus {
                name: "node".into(),
                state: Some(ContainerState {
                    waiting: Some(ContainerStateWaiting {
                        reason: Some("ImagePullBackOff".into()),
                        message: Some("Back-off pulling image \"nope:1\"".into()),
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }]),
            ..Default::default()
        },
    );
    let plan = step(&mut run, &mut pods, NOW + 1000);
    let a = node(&run, "a");
    assert_eq!(a.reason, Some(FailureReason::Image));
    assert_eq!(
        a.message.as_deref(),
        Some("Back-off pulling image \"nope:1\"")
    );
    assert_eq!(plan.delete, [name]);
}

#[test]
fn a_non_zero_exit_uses_the_runner_reason_from_the_termination_message() {
    let (mut run, mut pods) = chain(&["a"]);
    step(&mut run, &mut pods, NOW);
    set_pod_status(
        &mut pods,
        &pod_name("demo", "a", 1),
        terminated(
            "Failed",
            "Error",
            1,
            Some(r#"{"reason":"output_type","message":"port text: expected string"}"#),
        ),
    );
    step(&mut run, &mut pods, NOW + 1000);
    let a = node(&run, "a");
    assert_eq!(a.reason, Some(FailureReason::OutputType));
    assert_eq!(a.message.as_deref(), Some("port text: expected string"));
}

#[test]
fn a_non_zero_exit_without_a_runner_report_is_an_error_with_the_log_tail() {
    let (mut run, mut pods) = chain(&["a"]);
    step(&mut run, &mut pods, NOW);
    let log = format!("{}\nTraceback: boom", "x".repeat(5000));
    set_pod_status(
        &mut pods,
        &pod_name("demo", "a", 1),
        terminated("Failed", "Error", 2, Some(&log)),
    );
    step(&mut run, &mut pods, NOW + 1000);
    let a = node(&run, "a");
    assert_eq!(a.reason, Some(FailureReason::Error));
    let message = a.message.as_deref().unwrap();
    assert!(message.ends_with("Traceback: boom"), "{message}");
    assert!(message.len() <= MAX_MESSAGE_BYTES + 3);
}

#[test]
fn an_externally_deleted_pod_is_retried_per_the_retry_policy() {
    let mut run = run_with(with_retries(snapshot_chain(&["a"]), 2));
    let mut pods = Vec::new();
    step(&mut run, &mut pods, NOW);
    pods.clear();
    let plan = step(&mut run, &mut pods, NOW + 1000);
    assert_eq!(plan.create[0].metadata.name, Some(pod_name("demo", "a", 2)));
    let a = node(&run, "a");
    assert_eq!((a.phase, a.attempt), (NodePhase::Running, 2));
    assert!(plan.events.iter().any(|e| e.reason == "NodeInterrupted"));
    assert!(plan.events.iter().any(|e| e.reason == "NodeRetrying"));
}

#[test]
fn an_externally_deleted_pod_without_retries_fails_the_node_as_interrupted() {
    let (mut run, mut pods) = chain(&["a"]);
    step(&mut run, &mut pods, NOW);
    pods.clear();
    step(&mut run, &mut pods, NOW + 1000);
    let a = node(&run, "a");
    assert_eq!(
        (a.phase, a.reason),
        (NodePhase::Failed, Some(FailureReason::Interrupted))
    );
    assert_eq!(a.pod_reason.as_deref(), Some("PodDeleted"));
    assert_eq!(run.status.as_ref().unwrap().phase, RunPhase::Failed);
}

#[test]
fn cancel_deletes_running_pods_and_ends_cancelled() {
    let (mut run, mut pods) = chain(&["a", "b"]);
    step(&mut run, &mut pods, NOW);
    let name = pod_name("demo", "a", 1);
    set_pod_status(&mut pods, &name, running());
    run.spec.cancel = true;
    // Keep the Pod in the list for one round: deletion takes a moment.
    let snapshot = run.spec.snapshot.clone().unwrap();
    let plan = reconcile_run(
        Observed {
            run: &run,
            snapshot: &snapshot,
            pods: &pods,
            free_namespace_slots: 100,
            now_ms: NOW + 1000,
        },
        &PodSettings::default(),
    )
    .unwrap();
    assert_eq!(plan.delete, std::slice::from_ref(&name));
    assert!(plan.status.nodes["a"].cancelling);
    assert_eq!(plan.status.nodes["b"].phase, NodePhase::Cancelled);
    assert_eq!(plan.status.phase, RunPhase::Running);
    run.status = Some(plan.status);
    pods.clear();
    let plan = step(&mut run, &mut pods, NOW + 2000);
    assert_eq!(node(&run, "a").phase, NodePhase::Cancelled);
    assert_eq!(run.status.as_ref().unwrap().phase, RunPhase::Cancelled);
    assert!(plan.events.iter().any(|e| e.reason == "RunCancelled"));
}

#[test]
fn the_namespace_cap_keeps_excess_nodes_pending() {
    let mut snapshot = snapshot_chain(&["a", "b", "c"]);
    snapshot.graph.edges.clear();
    let run = run_with(snapshot.clone());
    let plan = reconcile_run(
        Observed {
            run: &run,
            snapshot: &snapshot,
            pods: &[],
            free_namespace_slots: 1,
            now_ms: NOW,
        },
        &PodSettings::default(),
    )
    .unwrap();
    assert_eq!(plan.create.len(), 1);
    assert_eq!(plan.status.nodes["b"].phase, NodePhase::Pending);
    assert_eq!(plan.active_pods, 1);
    assert_eq!(
        plan.status.queued,
        ["b", "c"],
        "waiting nodes in start order"
    );
}

#[test]
fn the_per_run_cap_limits_parallel_pods() {
    let mut snapshot = snapshot_chain(&["a", "b", "c"]);
    snapshot.graph.edges.clear();
    let mut run = run_with(snapshot);
    run.spec.max_parallel = Some(2);
    let mut pods = Vec::new();
    let plan = step(&mut run, &mut pods, NOW);
    assert_eq!(plan.create.len(), 2);
    assert_eq!(plan.status.queued, ["c"]);
}

#[test]
fn fail_fast_deletes_the_pods_of_other_running_nodes() {
    let mut snapshot = snapshot_chain(&["a", "b"]);
    snapshot.graph.edges.clear();
    let mut run = run_with(snapshot);
    run.spec.failure_policy = FailurePolicy::FailFast;
    let mut pods = Vec::new();
    step(&mut run, &mut pods, NOW);
    set_pod_status(
        &mut pods,
        &pod_name("demo", "a", 1),
        terminated("Failed", "Error", 1, Some("boom")),
    );
    set_pod_status(&mut pods, &pod_name("demo", "b", 1), running());
    let plan = step(&mut run, &mut pods, NOW + 1000);
    assert_eq!(plan.delete, [pod_name("demo", "b", 1)]);
    pods.clear();
    step(&mut run, &mut pods, NOW + 2000);
    assert_eq!(node(&run, "b").phase, NodePhase::Cancelled);
    assert_eq!(run.status.as_ref().unwrap().phase, RunPhase::Failed);
}

#[test]
fn a_finished_run_is_left_alone() {
    let (mut run, mut pods) = chain(&["a"]);
    step(&mut run, &mut pods, NOW);
    set_pod_status(&mut pods, &pod_name("demo", "a", 1), succeeded());
    step(&mut run, &mut pods, NOW + 1000);
    let done = run.status.clone();
    run.spec.cancel = true;
    let plan = step(&mut run, &mut pods, NOW + 5000);
    assert!(plan.create.is_empty() && plan.delete.is_empty());
    assert_eq!(run.status, done, "terminal phases never change");
}

#[test]
fn tail_keeps_the_end_and_respects_character_boundaries() {
    assert_eq!(tail("short", 10), "short");
    let t = tail("ääää", 3);
    assert_eq!(t, "…ä");
}

#[test]
fn pod_phases_are_parsed_once_and_unknown_names_are_unknown() {
    for phase in PodPhase::ALL {
        assert_eq!(PodPhase::parse(phase.as_str()), phase);
    }
    assert_eq!(PodPhase::parse("Terminating"), PodPhase::Unknown);
    assert_eq!(PodPhase::parse("running"), PodPhase::Unknown);
    let mut pod = Pod::default();
    assert_eq!(PodPhase::of(&pod), PodPhase::Pending, "no status yet");
    pod.status = Some(terminated("Failed", "Error", 1, None));
    assert_eq!(PodPhase::of(&pod), PodPhase::Failed);
    let finished: Vec<_> = PodPhase::ALL
        .into_iter()
        .filter(|p| p.is_finished())
        .collect();
    assert_eq!(finished, [PodPhase::Succeeded, PodPhase::Failed]);
}

#[test]
fn a_pod_in_an_unknown_phase_keeps_its_slot_and_its_node_running() {
    let (mut run, mut pods) = chain(&["a"]);
    step(&mut run, &mut pods, NOW);
    let name = pod_name("demo", "a", 1);
    set_pod_status(
        &mut pods,
        &name,
        PodStatus {
            phase: Some("Unknown".into()),
            ..PodStatus::default()
        },
    );
    let plan = step(&mut run, &mut pods, NOW + 1000);
    assert!(plan.delete.is_empty() && plan.create.is_empty());
    assert_eq!(plan.active_pods, 1);
    assert_eq!(node(&run, "a").phase, NodePhase::Running);
}

#[test]
fn a_built_in_node_gets_no_pod_and_ends_with_the_decision_the_api_server_writes() {
    use katalusis_crds::resources::{NodeDecision, RunTemplate};
    use katalusis_crds::BuiltinKind;
    // a → cond (a Condition) with `yes` on its true branch and `no` on false.
    let mut snapshot = snapshot_chain(&["a"]);
    snapshot
        .templates
        .push(RunTemplate::new(1, BuiltinKind::Condition.template()));
    let graph: katalusis_crds::Graph = serde_json::from_value(serde_json::json!({
        "nodes": [
            {"id": "a", "template": {"name": snapshot.graph.nodes[0].template.name, "version": 1}},
            {"id": "cond", "template": {"name": "flow.condition", "version": 1}},
            {"id": "yes", "template": {"name": snapshot.graph.nodes[0].template.name, "version": 1}},
            {"id": "no", "template": {"name": snapshot.graph.nodes[0].template.name, "version": 1}}
        ],
        "edges": [
            {"id": "e1", "source": "a", "sourcePort": "text", "target": "cond", "targetPort": "value"},
            {"id": "e2", "source": "cond", "sourcePort": "true", "target": "yes", "targetPort": "text"},
            {"id": "e3", "source": "cond", "sourcePort": "false", "target": "no", "targetPort": "text"}
        ]
    }))
    .unwrap();
    snapshot.graph = graph;
    let mut run = run_with(snapshot);
    let mut pods = Vec::new();
    step(&mut run, &mut pods, NOW);
    let a = pod_name("demo", "a", 1);
    set_pod_status(&mut pods, &a, succeeded());
    step(&mut run, &mut pods, NOW + 1);
    let status = run.status.clone().unwrap();
    assert_eq!(status.nodes["cond"].phase, NodePhase::Waiting);
    assert_eq!(status.phase, RunPhase::Waiting);
    assert_eq!(pods.len(), 1, "no Pod for the Condition");

    // Nothing changes until the decision for this attempt is written.
    run.spec.decisions.insert(
        "cond".into(),
        NodeDecision {
            attempt: 2,
            succeeded: true,
            branch: Some("true".into()),
            message: None,
        },
    );
    step(&mut run, &mut pods, NOW + 2);
    assert_eq!(
        run.status.as_ref().unwrap().nodes["cond"].phase,
        NodePhase::Waiting
    );
    run.spec.decisions.get_mut("cond").unwrap().attempt = 1;
    step(&mut run, &mut pods, NOW + 3);
    let status = run.status.clone().unwrap();
    assert_eq!(status.nodes["cond"].phase, NodePhase::Succeeded);
    assert_eq!(status.nodes["cond"].branch.as_deref(), Some("true"));
    assert_eq!(status.nodes["no"].phase, NodePhase::Skipped);
    assert!(pods
        .iter()
        .any(|p| p.metadata.name.as_deref() == Some(pod_name("demo", "yes", 1).as_str())));
}
