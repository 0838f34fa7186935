//! Built-in (flow) nodes, run in-process by both executors: a Condition
//! decides at once, a Wait parks its node until a deadline. The decisions
//! come from the pure `katalusis_flow` crate, so both executors store the
//! same results.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{TimeZone, Utc};
use katalusis_crds::plan::{FailureReason, NodePhase};
use katalusis_crds::resources::RunSnapshot;
use katalusis_crds::BuiltinKind;
use katalusis_flow::{
    switch_port, wait_until_ms, ApprovalSpec, Condition, NotifySpec, TaskNodeSpec, SWITCH_PORTS,
};
use serde_json::{Map, Value};

use super::job::{node_inputs, NodeOutputs};
use super::outcome::Ended;

/// What starting a built-in node amounts to.
pub(crate) enum Step {
    /// The node ended at once (a Condition, or any node that could not start).
    Ended(Ended),
    /// The node waits until the deadline (milliseconds since the Unix epoch).
    Wait { until_ms: i64, message: String },
}

/// Starts attempt `node` of kind `kind` at `started_ms`.
pub(crate) fn start(
    kind: BuiltinKind,
    snapshot: &RunSnapshot,
    node: &str,
    outputs: &NodeOutputs,
    started_ms: i64,
) -> Step {
    match try_start(kind, snapshot, node, outputs, started_ms) {
        Ok(step) => step,
        Err(message) => Step::Ended(Ended::failed(FailureReason::Error, message)),
    }
}

fn try_start(
    kind: BuiltinKind,
    snapshot: &RunSnapshot,
    node_id: &str,
    outputs: &NodeOutputs,
    started_ms: i64,
) -> Result<Step, String> {
    let inputs = node_inputs(snapshot, node_id, outputs).map_err(|e| format!("{e:#}"))?;
    let node = snapshot
        .graph
        .node(node_id)
        .ok_or_else(|| format!("unknown node {node_id}"))?;
    let spec = &snapshot
        .template_of(node)
        .map_err(|e| e.to_string())?
        .template;
    let param = |name: &str| {
        node.params
            .get(name)
            .or_else(|| spec.parameter(name).and_then(|p| p.default.as_ref()))
    };
    match kind {
        BuiltinKind::Condition => {
            let expression = param("expression").and_then(Value::as_str).unwrap_or("");
            let names: BTreeSet<String> = spec.inputs.iter().map(|p| p.name.clone()).collect();
            let decision = Condition::compile(expression, &names, &[])
                .and_then(|c| c.evaluate(&inputs))
                .map_err(|e| e.to_string())?;
            let value = inputs.get("value").cloned().unwrap_or(Value::Null);
            let mut outputs = Map::new();
            outputs.insert(decision.branch.clone(), value);
            Ok(Step::Ended(Ended {
                phase: NodePhase::Succeeded,
                reason: None,
                message: Some(format!(
                    "the expression returned {}: branch `{}`",
                    decision.result, decision.branch
                )),
                duration_ms: Some(0),
                outputs: Some(outputs),
                branch: Some(decision.branch),
            }))
        }
        BuiltinKind::Switch => {
            let expression = param("expression").and_then(Value::as_str).unwrap_or("");
            let names: BTreeSet<String> = spec.inputs.iter().map(|p| p.name.clone()).collect();
            let cases: Vec<(String, String)> = SWITCH_PORTS
                .iter()
                .filter_map(|port| {
                    param(port)
                        .map(|v| match v {
                            Value::String(s) => s.trim().to_owned(),
                            other => other.to_string(),
                        })
                        .filter(|v| !v.is_empty())
                        .map(|v| ((*port).to_owned(), v))
                })
                .collect();
            let (port, result) =
                switch_port(expression, &names, &cases, &inputs).map_err(|e| e.to_string())?;
            let value = inputs.get("value").cloned().unwrap_or(Value::Null);
            let mut outputs = Map::new();
            outputs.insert(port.clone(), value);
            Ok(Step::Ended(Ended {
                phase: NodePhase::Succeeded,
                reason: None,
                message: Some(format!("the expression returned {result}: branch `{port}`")),
                duration_ms: Some(0),
                outputs: Some(outputs),
                branch: Some(port),
            }))
        }
        // Run by the driver: they write to the database and reach people.
        BuiltinKind::Approval
        | BuiltinKind::Notification
        | BuiltinKind::Task
        | BuiltinKind::Query => Err("this node kind is run by the driver".into()),
        BuiltinKind::Wait => {
            let until_ms = wait_until_ms(started_ms, param("seconds"), inputs.get("until"))
                .map_err(|e| e.to_string())?;
            let until = Utc
                .timestamp_millis_opt(until_ms)
                .single()
                .map_or_else(|| until_ms.to_string(), |t| t.to_rfc3339());
            Ok(Step::Wait {
                until_ms,
                message: format!("waiting until {until}"),
            })
        }
    }
}

/// How a waiting built-in node ends when its deadline passes.
pub(crate) fn expire(
    kind: BuiltinKind,
    snapshot: &RunSnapshot,
    node: &str,
    outputs: &NodeOutputs,
) -> Ended {
    match kind {
        BuiltinKind::Wait => match node_inputs(snapshot, node, outputs) {
            Ok(inputs) => {
                let mut out = Map::new();
                out.insert(
                    "value".into(),
                    inputs.get("value").cloned().unwrap_or(Value::Null),
                );
                Ended {
                    phase: NodePhase::Succeeded,
                    reason: None,
                    message: None,
                    duration_ms: None,
                    outputs: Some(out),
                    branch: None,
                }
            }
            Err(e) => Ended::failed(FailureReason::Error, format!("{e:#}")),
        },
        // Conditions and Notifications never wait, Tasks wait without a
        // deadline, and an Approval's deadline is applied by the driver: an
        // expiry here can only come from stale state.
        BuiltinKind::Condition
        | BuiltinKind::Switch
        | BuiltinKind::Approval
        | BuiltinKind::Notification
        | BuiltinKind::Query
        | BuiltinKind::Task => Ended::failed(
            FailureReason::Interrupted,
            "a node that does not wait for a deadline was found expiring",
        ),
    }
}

/// A node's parameters with the template's defaults filled in.
fn merged_params(snapshot: &RunSnapshot, node_id: &str) -> Result<BTreeMap<String, Value>, String> {
    let node = snapshot
        .graph
        .node(node_id)
        .ok_or_else(|| format!("unknown node {node_id}"))?;
    let spec = &snapshot
        .template_of(node)
        .map_err(|e| e.to_string())?
        .template;
    let mut params: BTreeMap<String, Value> = spec
        .parameters
        .iter()
        .filter_map(|p| p.default.clone().map(|d| (p.name.clone(), d)))
        .collect();
    params.extend(node.params.iter().map(|(k, v)| (k.clone(), v.clone())));
    Ok(params)
}

/// An Approval node's parameters, checked.
pub(crate) fn approval_spec(snapshot: &RunSnapshot, node: &str) -> Result<ApprovalSpec, String> {
    ApprovalSpec::from_params(&merged_params(snapshot, node)?).map_err(|e| e.to_string())
}

/// The value an Approval node's approvers review: its `value` input.
pub(crate) fn approval_subject(
    snapshot: &RunSnapshot,
    node: &str,
    outputs: &NodeOutputs,
) -> Result<Value, String> {
    let inputs = node_inputs(snapshot, node, outputs).map_err(|e| format!("{e:#}"))?;
    Ok(inputs.get("value").cloned().unwrap_or(Value::Null))
}

/// A node's parameters read by `parse` (template defaults filled in), and
/// its inputs.
fn spec_and_inputs<S, E: std::fmt::Display>(
    snapshot: &RunSnapshot,
    node: &str,
    outputs: &NodeOutputs,
    parse: impl FnOnce(&BTreeMap<String, Value>) -> Result<S, E>,
) -> Result<(S, BTreeMap<String, Value>), String> {
    let spec = parse(&merged_params(snapshot, node)?).map_err(|e| e.to_string())?;
    let inputs = node_inputs(snapshot, node, outputs).map_err(|e| format!("{e:#}"))?;
    Ok((spec, inputs.into_iter().collect()))
}

/// A Notification node's parameters, checked, and its inputs.
pub(crate) fn notify_spec(
    snapshot: &RunSnapshot,
    node: &str,
    outputs: &NodeOutputs,
) -> Result<(NotifySpec, BTreeMap<String, Value>), String> {
    spec_and_inputs(snapshot, node, outputs, NotifySpec::from_params)
}

/// A Task node's parameters, checked, and its inputs.
pub(crate) fn task_spec(
    snapshot: &RunSnapshot,
    node: &str,
    outputs: &NodeOutputs,
) -> Result<(TaskNodeSpec, BTreeMap<String, Value>), String> {
    spec_and_inputs(snapshot, node, outputs, TaskNodeSpec::from_params)
}

/// A Query node's parameters, checked, and its inputs.
pub(crate) fn query_spec(
    snapshot: &RunSnapshot,
    node: &str,
    outputs: &NodeOutputs,
) -> Result<(katalusis_flow::QuerySpec, BTreeMap<String, Value>), String> {
    spec_and_inputs(
        snapshot,
        node,
        outputs,
        katalusis_flow::QuerySpec::from_params,
    )
}

/// Runs a Query node for the run's client: how it ends.
pub(crate) async fn query_ended(
    connector: &crate::connections::service::Connector,
    client_id: u64,
    spec: katalusis_flow::QuerySpec,
    inputs: BTreeMap<String, Value>,
    max_bytes: usize,
) -> Ended {
    let started = std::time::Instant::now();
    match crate::flow::query::execute(connector, client_id, &spec, &inputs, max_bytes).await {
        Ok(out) => {
            let n = out.get("rowCount").and_then(Value::as_u64).unwrap_or(0);
            let verb = if spec.operation == katalusis_flow::Operation::Read {
                "read"
            } else {
                "written"
            };
            Ended {
                phase: NodePhase::Succeeded,
                reason: None,
                message: Some(format!("{n} rows {verb} via {}", spec.connection)),
                duration_ms: i64::try_from(started.elapsed().as_millis()).ok(),
                outputs: Some(out),
                branch: None,
            }
        }
        Err((reason, message)) => Ended {
            duration_ms: i64::try_from(started.elapsed().as_millis()).ok(),
            ..Ended::failed(reason, message)
        },
    }
}

/// How an Approval node ends with its decided approval (taking the
/// verdict's branch), on either executor.
pub(crate) fn decision_ended(
    row: &crate::approvals::db::ApprovalRow,
    verdict: katalusis_flow::Verdict,
) -> Ended {
    use katalusis_flow::{decision_outputs, Decider};
    let subject = row
        .subject
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(Value::Null);
    let decider = match row.decided_via.as_deref() {
        Some("timeout") => Decider::Timeout,
        _ => Decider::Person(row.decided_by_name.clone().unwrap_or_default()),
    };
    let decided_at = row.decided_at.unwrap_or_else(Utc::now);
    let outputs = decision_outputs(
        verdict,
        subject,
        row.comment.as_deref(),
        &decider,
        &decided_at.to_rfc3339(),
    );
    let message = match &decider {
        Decider::Person(by) => format!("{} by {by}", row.status),
        Decider::Timeout => format!("{} by the timeout policy", row.status),
    };
    Ended {
        phase: NodePhase::Succeeded,
        reason: None,
        message: Some(message),
        duration_ms: Some((decided_at - row.created_at).num_milliseconds().max(0)),
        outputs: Some(outputs),
        branch: Some(verdict.branch().to_owned()),
    }
}

/// How a Task node ends: its input passed on and the task's fields.
pub(crate) async fn task_ended(db: &sqlx::MySqlPool, task_id: u64, value: Value) -> Ended {
    match crate::flow::tasks::state(db, task_id).await {
        Ok(Some((task, _))) => {
            let mut outputs = Map::new();
            outputs.insert("value".into(), value);
            outputs.insert("task".into(), task);
            Ended {
                phase: NodePhase::Succeeded,
                reason: None,
                message: None,
                duration_ms: None,
                outputs: Some(outputs),
                branch: None,
            }
        }
        Ok(None) => Ended::failed(FailureReason::Error, "the task was deleted"),
        Err(e) => Ended::failed(FailureReason::Error, e.to_string()),
    }
}
