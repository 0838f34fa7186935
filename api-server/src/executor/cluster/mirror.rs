//! What changed between the node states the database holds and a `Run`'s
//! status as the operator wrote it, as the state writes and events that
//! bring the database and the SSE streams up to date (pure).
//!
//! The operator owns the phases; the node's Pod posts its logs and outcome
//! (with outputs) to the ingest endpoint before it exits. Both may describe
//! the same attempt, so attempt rows are only inserted when missing and
//! outcomes only written when none is recorded yet: the Pod's report, which
//! carries the outputs and the runner's duration, wins.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use katalusis_crds::plan::{FailureReason, NodePhase, NodeState, RunPhase};
use katalusis_crds::resources::RunStatus;
use serde_json::{json, Value};

use crate::executor::events::{kind, node_event, run_event, Op};

/// One step, applied in order through the run's event sink.
#[derive(Debug)]
pub enum Step {
    Write(Op),
    Emit(&'static str, Value),
}

/// The result of mirroring one observed status.
#[derive(Debug, Default)]
pub struct Update {
    pub steps: Vec<Step>,
    pub states: BTreeMap<String, NodeState>,
    /// The run reached a terminal phase with this update.
    pub finished: bool,
}

fn at(ms: Option<i64>, now: DateTime<Utc>) -> DateTime<Utc> {
    ms.and_then(|t| Utc.timestamp_millis_opt(t).single())
        .unwrap_or(now)
}

/// An attempt whose outcome is known: the node ended, or it failed and waits for a retry.
fn attempt_ended(s: &NodeState) -> bool {
    s.attempt >= 1
        && match s.phase {
            NodePhase::Succeeded | NodePhase::Failed | NodePhase::Cancelled => true,
            NodePhase::Pending => s.reason.is_some(),
            NodePhase::Running | NodePhase::Waiting | NodePhase::Skipped => false,
        }
}

fn same(a: &NodeState, b: &NodeState) -> bool {
    a.phase == b.phase
        && a.attempt == b.attempt
        && a.reason == b.reason
        && a.message == b.message
        && a.cancelling == b.cancelling
        && a.branch == b.branch
        && a.wait_until_ms == b.wait_until_ms
}

/// Mirrors `status` over `prev` (the node states last stored),
/// `prev_phase` (the run's stored status) and `prev_queued` (the stored queue).
pub fn mirror(
    prev: &BTreeMap<String, NodeState>,
    prev_phase: RunPhase,
    prev_queued: &[String],
    status: &RunStatus,
    now: DateTime<Utc>,
) -> Update {
    let mut steps = Vec::new();
    let mut states = prev.clone();
    let mut changed = false;
    for (node, observed) in &status.nodes {
        let new = observed.to_node_state();
        let old = prev.get(node).cloned().unwrap_or_default();
        if same(&old, &new) {
            continue;
        }
        changed = true;
        // Attempts that started since the last mirror (normally exactly one).
        for attempt in (old.attempt + 1)..=new.attempt {
            let started = if attempt == new.attempt {
                at(new.started_at_ms, now)
            } else {
                now
            };
            steps.push(Step::Write(Op::EnsureExecution {
                node: node.clone(),
                attempt,
                at: started,
            }));
            if attempt < new.attempt {
                // An attempt the mirror never saw end (its Pod's report, if
                // any, is already stored and is kept).
                steps.push(Step::Write(Op::FinishExecution {
                    node: node.clone(),
                    attempt,
                    keep_first: true,
                    status: NodePhase::Failed,
                    reason: Some(FailureReason::Interrupted),
                    message: Some(format!("superseded by attempt {}", new.attempt)),
                    duration_ms: None,
                    outputs: None,
                    at: now,
                }));
            }
        }
        let newly_ended =
            attempt_ended(&new) && (old.attempt != new.attempt || !attempt_ended(&old));
        let mut event = node_event(node, &new);
        if newly_ended {
            let duration_ms = match (new.started_at_ms, new.finished_at_ms) {
                (Some(s), Some(f)) if f >= s => Some(f - s),
                _ => None,
            };
            let status = if new.phase == NodePhase::Pending {
                NodePhase::Failed
            } else {
                new.phase
            };
            steps.push(Step::Write(Op::FinishExecution {
                node: node.clone(),
                attempt: new.attempt,
                keep_first: true,
                status,
                reason: new.reason,
                message: new.message.clone(),
                duration_ms,
                outputs: None,
                at: at(new.finished_at_ms, now),
            }));
            if let Some(d) = duration_ms {
                event["durationMs"] = json!(d);
            }
        }
        steps.push(Step::Emit(kind::NODE, event));
        states.insert(node.clone(), new);
    }
    let phase = status.phase;
    let finished = phase.is_terminal();
    if finished {
        let message = status.message.clone().unwrap_or_default();
        steps.push(Step::Write(Op::FinishRun {
            status: phase,
            message: message.clone(),
            states: states.clone(),
            at: at(
                status
                    .finished_at
                    .as_deref()
                    .and_then(katalusis_crds::resources::parse_time_ms),
                now,
            ),
        }));
        steps.push(Step::Emit(kind::RUN, run_event(phase, Some(&message))));
    } else if changed || phase != prev_phase || status.queued != prev_queued {
        steps.push(Step::Write(Op::SaveStates {
            status: phase,
            states: states.clone(),
            queued: status.queued.clone(),
            started: phase != RunPhase::Pending,
            at: now,
        }));
        if phase != prev_phase {
            steps.push(Step::Emit(kind::RUN, run_event(phase, None)));
        }
    }
    Update {
        steps,
        states,
        finished,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use katalusis_crds::resources::{format_time_ms, RunNodeStatus};

    fn node(phase: NodePhase, attempt: u32) -> RunNodeStatus {
        RunNodeStatus {
            phase,
            attempt,
            started_at: (attempt > 0).then(|| format_time_ms(1_000)),
            ..RunNodeStatus::default()
        }
    }

    fn status(phase: RunPhase, nodes: &[(&str, RunNodeStatus)]) -> RunStatus {
        RunStatus {
            phase,
            nodes: nodes
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
            ..RunStatus::default()
        }
    }

    fn kinds(u: &Update) -> Vec<String> {
        u.steps
            .iter()
            .map(|s| match s {
                Step::Write(Op::EnsureExecution { node, attempt, .. }) => {
                    format!("ensure {node}#{attempt}")
                }
                Step::Write(Op::FinishExecution {
                    node,
                    attempt,
                    status,
                    keep_first,
                    ..
                }) => {
                    assert!(keep_first, "the mirror never overwrites a reported outcome");
                    format!("finish {node}#{attempt} {status}")
                }
                Step::Write(Op::SaveStates { status, .. }) => format!("save {status}"),
                Step::Write(Op::FinishRun { status, .. }) => format!("finish run {status}"),
                Step::Write(op) => format!("{op:?}"),
                Step::Emit(kind, data) => format!("{kind} {}", data["status"].as_str().unwrap()),
            })
            .collect()
    }

    #[test]
    fn a_node_that_starts_gets_its_attempt_row_and_the_run_turns_running() {
        let s = status(
            RunPhase::Running,
            &[
                ("a", node(NodePhase::Running, 1)),
                ("b", node(NodePhase::Pending, 0)),
            ],
        );
        let u = mirror(&BTreeMap::new(), RunPhase::Pending, &[], &s, Utc::now());
        assert_eq!(
            kinds(&u),
            ["ensure a#1", "node running", "save running", "run running"]
        );
        assert_eq!(u.states["a"].phase, NodePhase::Running);
        assert!(!u.finished);
        // The same status again changes nothing.
        let again = mirror(&u.states, RunPhase::Running, &[], &s, Utc::now());
        assert!(again.steps.is_empty(), "{:?}", kinds(&again));
    }

    #[test]
    fn a_changed_queue_alone_is_saved_so_queue_positions_show() {
        let mut prev = BTreeMap::new();
        for n in ["a", "b"] {
            prev.insert(n.to_owned(), node(NodePhase::Pending, 0).to_node_state());
        }
        let mut s = status(
            RunPhase::Pending,
            &[
                ("a", node(NodePhase::Pending, 0)),
                ("b", node(NodePhase::Pending, 0)),
            ],
        );
        s.queued = vec!["a".into(), "b".into()];
        let u = mirror(&prev, RunPhase::Pending, &[], &s, Utc::now());
        assert_eq!(kinds(&u), ["save pending"]);
        let Step::Write(Op::SaveStates { queued, .. }) = &u.steps[0] else {
            panic!("a save")
        };
        assert_eq!(queued, &["a", "b"]);
        let same = mirror(&prev, RunPhase::Pending, &s.queued, &s, Utc::now());
        assert!(same.steps.is_empty());
    }

    #[test]
    fn a_finished_node_records_its_outcome_once_with_the_duration() {
        let mut prev = BTreeMap::new();
        prev.insert("a".to_owned(), node(NodePhase::Running, 1).to_node_state());
        let mut done = node(NodePhase::Failed, 1);
        done.reason = Some(FailureReason::Memory);
        done.pod_reason = Some("OOMKilled".into());
        done.finished_at = Some(format_time_ms(3_500));
        let s = status(RunPhase::Failed, &[("a", done)]);
        let u = mirror(&prev, RunPhase::Running, &[], &s, Utc::now());
        assert_eq!(
            kinds(&u),
            [
                "finish a#1 failed",
                "node failed",
                "finish run failed",
                "run failed"
            ]
        );
        let Step::Write(Op::FinishExecution {
            reason,
            duration_ms,
            ..
        }) = &u.steps[0]
        else {
            panic!("a finish first")
        };
        assert_eq!(*reason, Some(FailureReason::Memory));
        assert_eq!(*duration_ms, Some(2_500));
        let Step::Emit(_, ev) = &u.steps[1] else {
            panic!("then the node event")
        };
        assert_eq!(ev["reason"], "memory");
        assert_eq!(ev["durationMs"], 2_500);
        assert!(u.finished);
    }

    #[test]
    fn a_failed_attempt_waiting_for_its_retry_is_recorded_as_failed() {
        let mut prev = BTreeMap::new();
        prev.insert("a".to_owned(), node(NodePhase::Running, 1).to_node_state());
        let mut waiting = node(NodePhase::Pending, 1);
        waiting.reason = Some(FailureReason::Interrupted);
        let u = mirror(
            &prev,
            RunPhase::Running,
            &[],
            &status(RunPhase::Running, &[("a", waiting)]),
            Utc::now(),
        );
        assert_eq!(
            kinds(&u),
            ["finish a#1 failed", "node pending", "save running"]
        );
    }

    #[test]
    fn attempts_the_mirror_missed_are_filled_in() {
        let u = mirror(
            &BTreeMap::new(),
            RunPhase::Running,
            &[],
            &status(RunPhase::Running, &[("a", node(NodePhase::Running, 3))]),
            Utc::now(),
        );
        assert_eq!(
            kinds(&u),
            [
                "ensure a#1",
                "finish a#1 failed",
                "ensure a#2",
                "finish a#2 failed",
                "ensure a#3",
                "node running",
                "save running"
            ]
        );
    }

    #[test]
    fn skipped_nodes_get_no_attempt_rows_and_a_cancelled_run_finishes() {
        let mut prev = BTreeMap::new();
        prev.insert("a".to_owned(), node(NodePhase::Running, 1).to_node_state());
        let mut cancelled = node(NodePhase::Cancelled, 1);
        cancelled.reason = Some(FailureReason::Cancelled);
        let mut skipped = node(NodePhase::Skipped, 0);
        skipped.reason = Some(FailureReason::Cancelled);
        let mut s = status(RunPhase::Cancelled, &[("a", cancelled), ("b", skipped)]);
        s.message = Some("cancelled by a user".into());
        let u = mirror(&prev, RunPhase::Running, &[], &s, Utc::now());
        assert_eq!(
            kinds(&u),
            [
                "finish a#1 cancelled",
                "node cancelled",
                "node skipped",
                "finish run cancelled",
                "run cancelled"
            ]
        );
        let Some(Step::Emit(_, run)) = u.steps.last() else {
            panic!()
        };
        assert_eq!(run["message"], "cancelled by a user");
    }
}
