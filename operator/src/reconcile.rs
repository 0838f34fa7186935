//! The pure half of a reconcile: observed Run and Pods in, Pods to create or
//! delete, the next status and the events to publish out. No client, no clock.
//!
//! Node scheduling is entirely the shared planner's ([`katalusis_crds::plan`]);
//! this module only translates between Pods and planner node states.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;
use katalusis_crds::plan::{
    apply_action, plan, Action, FailureReason, NodePhase, NodeState, PlanInput, RunPhase,
};
use katalusis_crds::resources::{
    format_duration_ms, format_time_ms, parse_time_ms, Run, RunSnapshot, RunStatus, SnapshotError,
};

use crate::pods::{build_pod, PodError, PodSettings, CONTAINER};

/// Longest node message kept in the status (the tail of the log for `error`).
pub const MAX_MESSAGE_BYTES: usize = 1024;

/// What the controller observed for one Run.
#[derive(Debug, Clone, Copy)]
pub struct Observed<'a> {
    /// The Run as last read.
    pub run: &'a Run,
    /// The frozen snapshot (inline or read from its ConfigMap).
    pub snapshot: &'a RunSnapshot,
    /// The Run's Pods, read live (labelled with the Run's name).
    pub pods: &'a [Pod],
    /// How many more node Pods may run in the Run's namespace right now.
    pub free_namespace_slots: u32,
    /// Current time, milliseconds since the Unix epoch.
    pub now_ms: i64,
}

/// Severity of a [`RunEvent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// Progress.
    Normal,
    /// A failure.
    Warning,
}

/// A Kubernetes Event to publish on the Run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunEvent {
    /// Normal or Warning.
    pub kind: EventKind,
    /// PascalCase reason, e.g. `NodeStarted`.
    pub reason: String,
    /// Human-readable note.
    pub note: String,
    /// The node Pod the event is about, if any. Events are deduplicated by
    /// reason and related object, so naming the Pod keeps one Event per node
    /// attempt instead of a single series per reason.
    pub pod: Option<String>,
}

impl RunEvent {
    fn normal(reason: &str, note: String) -> Self {
        Self {
            kind: EventKind::Normal,
            reason: reason.into(),
            note,
            pod: None,
        }
    }

    fn warning(reason: &str, note: String) -> Self {
        Self {
            kind: EventKind::Warning,
            reason: reason.into(),
            note,
            pod: None,
        }
    }

    fn about(mut self, pod: &str) -> Self {
        if !pod.is_empty() {
            self.pod = Some(pod.to_owned());
        }
        self
    }
}

/// What to do for one Run now.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReconcilePlan {
    /// Pods to create (`AlreadyExists` counts as success).
    pub create: Vec<Pod>,
    /// Names of Pods to delete (`NotFound` counts as success).
    pub delete: Vec<String>,
    /// The status to write.
    pub status: RunStatus,
    /// Whether `status` differs from the Run's current status.
    pub status_changed: bool,
    /// Events to publish on the Run.
    pub events: Vec<RunEvent>,
    /// Reconcile again at this time even if nothing changes (retry backoff).
    pub wake_at_ms: Option<i64>,
    /// Node Pods of this Run that are still active after the plan is applied.
    pub active_pods: u32,
}

/// Why a Run cannot be reconciled.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReconcileError {
    /// The snapshot is unusable.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// A Pod could not be built.
    #[error(transparent)]
    Pod(#[from] PodError),
}

/// What a node's Pod tells about its attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum PodOutcome {
    /// Scheduled or starting, nothing to report yet.
    Waiting,
    /// The container runs.
    Running {
        /// When the container started.
        started_ms: Option<i64>,
    },
    /// The node succeeded.
    Succeeded {
        /// When the container finished.
        finished_ms: Option<i64>,
    },
    /// The attempt failed.
    Failed {
        /// The planner's reason.
        reason: FailureReason,
        /// The Kubernetes reason (`OOMKilled`, `DeadlineExceeded`, `ErrImagePull`, `Error`, ...).
        pod_reason: String,
        /// Detail, at most [`MAX_MESSAGE_BYTES`].
        message: String,
        /// When the container finished.
        finished_ms: Option<i64>,
    },
}

/// A Pod's `status.phase`, parsed once; [`PodPhase::as_str`] is the only place
/// that spells Kubernetes phase names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodPhase {
    /// Accepted, not all containers running yet (also: no status written yet).
    Pending,
    /// Bound to a node, at least one container running or starting.
    Running,
    /// Every container exited with status 0.
    Succeeded,
    /// Every container exited and at least one failed (or the Pod was evicted
    /// or ran past its deadline).
    Failed,
    /// Kubernetes' own `Unknown`, or a name this operator does not know.
    Unknown,
}

impl PodPhase {
    /// Every phase.
    pub const ALL: [Self; 5] = [
        Self::Pending,
        Self::Running,
        Self::Succeeded,
        Self::Failed,
        Self::Unknown,
    ];

    /// The Kubernetes name, e.g. `Succeeded`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Running => "Running",
            Self::Succeeded => "Succeeded",
            Self::Failed => "Failed",
            Self::Unknown => "Unknown",
        }
    }

    /// Parses a Kubernetes phase name; a name this operator does not know is `Unknown`.
    pub fn parse(name: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == name)
            .unwrap_or(Self::Unknown)
    }

    /// The phase of `pod`; a Pod without one has just been created, so it is `Pending`.
    pub fn of(pod: &Pod) -> Self {
        pod.status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .map_or(Self::Pending, Self::parse)
    }

    /// Whether every container has exited (`Succeeded` or `Failed`).
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed)
    }
}

fn time_ms(t: &Time) -> i64 {
    t.0.as_millisecond()
}

/// The last `max` bytes of `s`, cut at a character boundary.
pub fn tail(s: &str, max: usize) -> String {
    let s = s.trim_end();
    if s.len() <= max {
        return s.to_owned();
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &s[start..])
}

fn node_container(pod: &Pod) -> Option<&ContainerStatus> {
    pod.status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .iter()
        .find(|c| c.name == CONTAINER)
}

const IMAGE_ERRORS: [&str; 5] = [
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
    "ImageInspectError",
];

/// Maps the termination message the Pod entrypoint writes
/// (`{"reason": "memory", "message": "..."}`) or, without one, the log tail
/// Kubernetes falls back to.
fn failure_from_message(text: &str) -> (FailureReason, String) {
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
        let reason = value
            .get("reason")
            .cloned()
            .and_then(|r| serde_json::from_value::<FailureReason>(r).ok());
        if let Some(reason) = reason {
            let message = value
                .get("message")
                .and_then(|m| m.as_str())
                .unwrap_or_default();
            return (reason, tail(message, MAX_MESSAGE_BYTES));
        }
    }
    (FailureReason::Error, tail(text, MAX_MESSAGE_BYTES))
}

/// Classifies a node Pod. Pure; the failure mapping lives here:
/// `OOMKilled` → `memory`, `DeadlineExceeded` → `timeout`, image pull errors
/// → `image`, eviction → `interrupted`, any other non-zero exit → the
/// reason the runner reported, else `error` with the log tail.
pub fn classify_pod(pod: &Pod) -> PodOutcome {
    let status = pod.status.as_ref();
    let phase = PodPhase::of(pod);
    let pod_reason = status.and_then(|s| s.reason.clone());
    let container = node_container(pod);
    let terminated = container
        .and_then(|c| c.state.as_ref())
        .and_then(|s| s.terminated.as_ref());
    let finished_ms = terminated.and_then(|t| t.finished_at.as_ref()).map(time_ms);
    match phase {
        PodPhase::Succeeded => PodOutcome::Succeeded { finished_ms },
        PodPhase::Failed => {
            let pod_message = status.and_then(|s| s.message.clone()).unwrap_or_default();
            if pod_reason.as_deref() == Some("DeadlineExceeded") {
                return PodOutcome::Failed {
                    reason: FailureReason::Timeout,
                    pod_reason: "DeadlineExceeded".into(),
                    message: tail(&pod_message, MAX_MESSAGE_BYTES),
                    finished_ms,
                };
            }
            if pod_reason.as_deref() == Some("Evicted") {
                return PodOutcome::Failed {
                    reason: FailureReason::Interrupted,
                    pod_reason: "Evicted".into(),
                    message: tail(&pod_message, MAX_MESSAGE_BYTES),
                    finished_ms,
                };
            }
            match terminated {
                Some(t) if t.reason.as_deref() == Some("OOMKilled") => PodOutcome::Failed {
                    reason: FailureReason::Memory,
                    pod_reason: "OOMKilled".into(),
                    message: "the node exceeded its memory limit".into(),
                    finished_ms,
                },
                Some(t) => {
                    let (reason, message) =
                        failure_from_message(t.message.as_deref().unwrap_or_default());
                    PodOutcome::Failed {
                        reason,
                        pod_reason: t.reason.clone().unwrap_or_else(|| "Error".into()),
                        message: if message.is_empty() {
                            format!("the node exited with code {}", t.exit_code)
                        } else {
                            message
                        },
                        finished_ms,
                    }
                }
                None => PodOutcome::Failed {
                    reason: FailureReason::Interrupted,
                    pod_reason: pod_reason.unwrap_or_else(|| PodPhase::Failed.as_str().into()),
                    message: tail(&pod_message, MAX_MESSAGE_BYTES),
                    finished_ms,
                },
            }
        }
        PodPhase::Pending | PodPhase::Running | PodPhase::Unknown => {
            let waiting = container
                .and_then(|c| c.state.as_ref())
                .and_then(|s| s.waiting.as_ref());
            if let Some(w) = waiting {
                let reason = w.reason.as_deref().unwrap_or_default();
                if IMAGE_ERRORS.contains(&reason) {
                    return PodOutcome::Failed {
                        reason: FailureReason::Image,
                        pod_reason: reason.into(),
                        message: tail(w.message.as_deref().unwrap_or(reason), MAX_MESSAGE_BYTES),
                        finished_ms: None,
                    };
                }
            }
            let running = container
                .and_then(|c| c.state.as_ref())
                .and_then(|s| s.running.as_ref());
            match (phase, running) {
                (PodPhase::Running, r) => PodOutcome::Running {
                    started_ms: r.and_then(|r| r.started_at.as_ref()).map(time_ms),
                },
                _ => PodOutcome::Waiting,
            }
        }
    }
}

/// Whether a Pod still occupies a slot (not finished, not being deleted).
pub fn is_active(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_none() && !PodPhase::of(pod).is_finished()
}

/// Plans one reconcile of a Run. See the module documentation.
pub fn reconcile_run(
    observed: Observed<'_>,
    settings: &PodSettings,
) -> Result<ReconcilePlan, ReconcileError> {
    let Observed {
        run,
        snapshot,
        pods,
        free_namespace_slots,
        now_ms,
    } = observed;
    let old_status = run.status.clone().unwrap_or_default();
    let mut status = old_status.clone();
    let mut out = ReconcilePlan::default();
    let graph = snapshot.plan_graph()?;
    let pods_by_name: HashMap<&str, &Pod> = pods
        .iter()
        .filter_map(|p| p.metadata.name.as_deref().map(|n| (n, p)))
        .collect();

    let mut states: BTreeMap<String, NodeState> = status
        .nodes
        .iter()
        .map(|(id, s)| (id.clone(), s.to_node_state()))
        .collect();

    // 1. Record what the Pods of running nodes tell.
    let mut to_delete: Vec<String> = Vec::new();
    for node in graph.nodes() {
        let id = node.id.as_str();
        let Some(node_status) = status.nodes.get_mut(id) else {
            continue;
        };
        if node_status.phase != NodePhase::Running {
            continue;
        }
        let state = states.entry(id.to_owned()).or_default();
        let pod_name = node_status.pod_name.clone().unwrap_or_default();
        let pod = pods_by_name.get(pod_name.as_str()).copied();
        let outcome = pod.map(classify_pod);
        if state.cancelling {
            match (pod, outcome) {
                (Some(p), Some(PodOutcome::Waiting | PodOutcome::Running { .. })) => {
                    if p.metadata.deletion_timestamp.is_none() {
                        to_delete.push(pod_name.clone());
                    }
                }
                _ => {
                    let message = state.message.take();
                    state.cancel(message, now_ms);
                    out.events.push(
                        RunEvent::normal("NodeCancelled", format!("node {id} was cancelled"))
                            .about(&pod_name),
                    );
                }
            }
            continue;
        }
        match outcome {
            None => {
                state.fail(
                    FailureReason::Interrupted,
                    format!("Pod {pod_name} was deleted before the node finished"),
                    now_ms,
                );
                node_status.pod_reason = Some("PodDeleted".into());
                out.events.push(
                    RunEvent::warning(
                        "NodeInterrupted",
                        format!("node {id}: Pod {pod_name} was deleted before it finished"),
                    )
                    .about(&pod_name),
                );
            }
            Some(PodOutcome::Waiting) => {}
            Some(PodOutcome::Running { started_ms }) => {
                // Not a transition: the container's real start time replaces
                // the time the operator created the Pod.
                if let Some(started) = started_ms {
                    state.started_at_ms = Some(started);
                }
            }
            Some(PodOutcome::Succeeded { finished_ms }) => {
                state.succeed(finished_ms.unwrap_or(now_ms));
                node_status.pod_reason = None;
                out.events.push(
                    RunEvent::normal(
                        "NodeSucceeded",
                        format!("node {id} succeeded (attempt {})", state.attempt),
                    )
                    .about(&pod_name),
                );
            }
            Some(PodOutcome::Failed {
                reason,
                pod_reason,
                message,
                finished_ms,
            }) => {
                state.fail(reason, message.clone(), finished_ms.unwrap_or(now_ms));
                out.events.push(
                    RunEvent::warning(
                        "NodeFailed",
                        tail(
                            &format!(
                                "node {id} failed ({}, {pod_reason}) on attempt {}: {message}",
                                reason.as_str(),
                                state.attempt
                            ),
                            MAX_MESSAGE_BYTES,
                        ),
                    )
                    .about(&pod_name),
                );
                node_status.pod_reason = Some(pod_reason);
                if pod.is_some_and(is_active) {
                    // Image errors leave the Pod waiting forever.
                    to_delete.push(pod_name.clone());
                }
            }
        }
    }

    // 1b. Built-in nodes wait for the outcome the API server writes.
    for (id, decision) in &run.spec.decisions {
        let Some(state) = states.get_mut(id) else {
            continue;
        };
        if state.phase != NodePhase::Waiting || state.attempt != decision.attempt {
            continue;
        }
        if decision.succeeded {
            state.succeed(now_ms);
            state.branch.clone_from(&decision.branch);
            state.message.clone_from(&decision.message);
            out.events.push(RunEvent::normal(
                "NodeSucceeded",
                format!("node {id} (built in) succeeded"),
            ));
        } else {
            let message = decision.message.clone().unwrap_or_default();
            state.fail(FailureReason::Error, message.clone(), now_ms);
            out.events.push(RunEvent::warning(
                "NodeFailed",
                tail(
                    &format!("node {id} (built in) failed: {message}"),
                    MAX_MESSAGE_BYTES,
                ),
            ));
        }
    }

    // 2. The shared planner decides what happens next.
    let cancel = run.spec.cancel;
    let input = PlanInput {
        graph: &graph,
        states: &states,
        failure_policy: run.spec.failure_policy,
        max_parallel_in_run: run.spec.max_parallel,
        free_global_slots: free_namespace_slots,
        cancel_requested: cancel,
        now_ms,
        recorded_phase: old_status.phase,
    };
    let planned = plan(&input);
    let mut pod_names: BTreeMap<String, String> = BTreeMap::new();
    for action in &planned.actions {
        let was_running = action
            .node()
            .and_then(|n| states.get(n))
            .is_some_and(|s| s.phase == NodePhase::Running);
        apply_action(&mut states, action, now_ms);
        match action {
            Action::Start { node, attempt } if matches!(snapshot.builtin_of(node), Ok(Some(_))) => {
                // No Pod: the API server runs it and writes `spec.decisions`.
                if let Some(state) = states.get_mut(node) {
                    state.wait(None, Some("run by the API server".into()));
                }
                out.events.push(RunEvent::normal(
                    "NodeWaiting",
                    format!("node {node} attempt {attempt} is built in: the API server runs it"),
                ));
            }
            Action::Start { node, attempt } => {
                let pod = build_pod(run, snapshot, node, *attempt, settings)?;
                let name = pod.metadata.name.clone().unwrap_or_default();
                out.events.push(
                    RunEvent::normal(
                        "NodeStarted",
                        format!("node {node} attempt {attempt}: created Pod {name}"),
                    )
                    .about(&name),
                );
                pod_names.insert(node.clone(), name);
                out.create.push(pod);
            }
            Action::Cancel { node } if was_running => {
                if let Some(name) = status.nodes.get(node).and_then(|s| s.pod_name.clone()) {
                    if pods_by_name
                        .get(name.as_str())
                        .is_some_and(|p| is_active(p))
                    {
                        to_delete.push(name);
                    }
                }
            }
            Action::ScheduleRetry {
                node,
                attempt,
                not_before_ms,
            } => {
                let last_pod = status.nodes.get(node).and_then(|s| s.pod_name.clone());
                out.events.push(
                    RunEvent::normal(
                        "NodeRetrying",
                        format!(
                            "node {node} will start attempt {attempt} at {}",
                            format_time_ms(*not_before_ms)
                        ),
                    )
                    .about(last_pod.as_deref().unwrap_or_default()),
                );
            }
            Action::FailNode { node, message, .. } => {
                let last_pod = status.nodes.get(node).and_then(|s| s.pod_name.clone());
                out.events.push(
                    RunEvent::warning("NodeFailed", format!("node {node}: {message}"))
                        .about(last_pod.as_deref().unwrap_or_default()),
                );
            }
            Action::Finish { phase, message } => {
                let (kind, reason) = match phase {
                    RunPhase::Succeeded => (EventKind::Normal, "RunSucceeded"),
                    RunPhase::Cancelled => (EventKind::Normal, "RunCancelled"),
                    _ => (EventKind::Warning, "RunFailed"),
                };
                out.events.push(RunEvent {
                    kind,
                    reason: reason.into(),
                    note: message.clone(),
                    pod: None,
                });
                status.message = Some(message.clone());
            }
            _ => {}
        }
    }

    // 3. Active Pods no node status points to (a stale attempt) are deleted.
    let current: Vec<String> = graph
        .nodes()
        .iter()
        .filter_map(|n| {
            pod_names
                .get(&n.id)
                .cloned()
                .or_else(|| status.nodes.get(&n.id).and_then(|s| s.pod_name.clone()))
        })
        .collect();
    for pod in pods {
        let name = pod.metadata.name.clone().unwrap_or_default();
        if is_active(pod) && !current.contains(&name) && !to_delete.contains(&name) {
            to_delete.push(name);
        }
    }
    if planned.run_phase.is_terminal() {
        for pod in pods.iter().filter(|p| is_active(p)) {
            let name = pod.metadata.name.clone().unwrap_or_default();
            if !to_delete.contains(&name) {
                to_delete.push(name);
            }
        }
    }

    // 4. The next status.
    for node in graph.nodes() {
        let entry = status.nodes.entry(node.id.clone()).or_default();
        if let Some(state) = states.get(&node.id) {
            entry.update_from(state);
        }
        if let Some(name) = pod_names.remove(&node.id) {
            entry.pod_name = Some(name);
            entry.pod_reason = None;
        }
    }
    status.queued = if planned.run_phase.is_terminal() {
        Vec::new()
    } else {
        planned.queued.clone()
    };
    // A built-in node parked in this reconcile was planned as started: with
    // nothing else running, the run waits.
    let phase = if planned.run_phase == RunPhase::Running
        && !states.values().any(|s| s.phase == NodePhase::Running)
        && states.values().any(|s| s.phase == NodePhase::Waiting)
    {
        RunPhase::Waiting
    } else {
        planned.run_phase
    };
    finish_status(&mut status, run, phase, now_ms);
    out.active_pods = u32::try_from(
        pods.iter()
            .filter(|p| is_active(p))
            .filter(|p| {
                let name = p.metadata.name.as_deref().unwrap_or_default();
                !to_delete.iter().any(|d| d == name)
            })
            .count()
            + out.create.len(),
    )
    .unwrap_or(u32::MAX);
    out.delete = to_delete;
    out.wake_at_ms = planned.wake_at_ms;
    out.status_changed = status != old_status;
    out.status = status;
    Ok(out)
}

fn finish_status(status: &mut RunStatus, run: &Run, phase: RunPhase, now_ms: i64) {
    status.phase = phase;
    let total = status.nodes.len();
    let succeeded = status
        .nodes
        .values()
        .filter(|n| n.phase == NodePhase::Succeeded)
        .count();
    status.progress = format!("{succeeded}/{total}");
    if status.started_at.is_none() {
        status.started_at = status
            .nodes
            .values()
            .filter_map(|n| n.started_at.as_deref().and_then(parse_time_ms))
            .min()
            .map(format_time_ms);
    }
    if phase.is_terminal() && status.finished_at.is_none() {
        status.finished_at = Some(format_time_ms(now_ms));
    }
    if let Some(start) = status.started_at.as_deref().and_then(parse_time_ms) {
        let end = status
            .finished_at
            .as_deref()
            .and_then(parse_time_ms)
            .unwrap_or(now_ms);
        status.duration = Some(format_duration_ms(end - start));
    }
    if !phase.is_terminal() {
        let running = status
            .nodes
            .values()
            .filter(|n| n.phase == NodePhase::Running)
            .count();
        status.message = Some(format!(
            "{running} running, {succeeded} of {total} nodes succeeded"
        ));
    }
    status.observed_generation = run.metadata.generation;
    let generation = run.metadata.generation;
    let started = phase != RunPhase::Pending;
    set_condition(
        &mut status.conditions,
        "Started",
        started,
        if started { "NodesStarted" } else { "Waiting" },
        if started {
            "at least one node has started"
        } else {
            "no node has started yet"
        },
        generation,
        now_ms,
    );
    let phase_name = format!("{phase:?}");
    set_condition(
        &mut status.conditions,
        "Completed",
        phase.is_terminal(),
        if phase.is_terminal() {
            &phase_name
        } else {
            "InProgress"
        },
        status.message.clone().unwrap_or_default().as_str(),
        generation,
        now_ms,
    );
}

/// Sets a condition, keeping `lastTransitionTime` when the status did not change.
fn set_condition(
    conditions: &mut Vec<Condition>,
    type_: &str,
    value: bool,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    now_ms: i64,
) {
    let status = if value { "True" } else { "False" };
    let now = Time(Timestamp::from_millisecond(now_ms).unwrap_or(Timestamp::UNIX_EPOCH));
    match conditions.iter_mut().find(|c| c.type_ == type_) {
        Some(c) => {
            if c.status != status {
                c.last_transition_time = now;
            }
            c.status = status.into();
            c.reason = reason.into();
            c.message = message.into();
            c.observed_generation = generation;
        }
        None => conditions.push(Condition {
            type_: type_.into(),
            status: status.into(),
            reason: reason.into(),
            message: message.into(),
            observed_generation: generation,
            last_transition_time: now,
        }),
    }
}

#[cfg(test)]
mod tests;
