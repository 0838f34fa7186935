//! The runner `job` message for one node attempt, built from the run's
//! snapshot, and the run's input overrides merged into that snapshot.
//! Both executors build jobs here, so a node gets the same job locally and
//! in a Pod.

use std::collections::{BTreeMap, HashMap};

use katalusis_crds::resources::{RunSnapshot, RunTemplate};
use katalusis_crds::{ExecutionMode, FieldError, Graph, ParamKind};
use serde_json::{json, Map, Value};

use crate::config::Settings;

/// Outputs of the succeeded nodes of a run, in runner wire form, by node id.
pub type NodeOutputs = HashMap<String, Map<String, Value>>;

/// The id a job carries: unique among the running jobs of one runner.
pub fn job_id(node: &str, attempt: u32) -> String {
    format!("{node}#{attempt}")
}

/// The inputs of a node: port defaults, then literal values, then the
/// outputs of connected upstream nodes (an untaken branch carries nothing).
pub fn node_inputs(
    snapshot: &RunSnapshot,
    node_id: &str,
    outputs: &NodeOutputs,
) -> anyhow::Result<Map<String, Value>> {
    let node = snapshot
        .graph
        .node(node_id)
        .ok_or_else(|| anyhow::anyhow!("unknown node {node_id}"))?;
    let spec = &snapshot.template_of(node)?.template;
    let mut inputs = Map::new();
    for p in &spec.inputs {
        if let Some(d) = &p.default {
            inputs.insert(p.name.clone(), d.clone());
        }
    }
    for (k, v) in &node.inputs {
        inputs.insert(k.clone(), v.clone());
    }
    for e in snapshot.graph.edges.iter().filter(|e| e.target == node_id) {
        if let Some(v) = outputs.get(&e.source).and_then(|o| o.get(&e.source_port)) {
            inputs.insert(e.target_port.clone(), v.clone());
        }
    }
    Ok(inputs)
}

/// The runner `job` message for attempt `attempt` of `node_id`.
pub fn build(
    snapshot: &RunSnapshot,
    run_id: u64,
    node_id: &str,
    attempt: u32,
    outputs: &NodeOutputs,
    settings: &Settings,
) -> anyhow::Result<Value> {
    let node = snapshot
        .graph
        .node(node_id)
        .ok_or_else(|| anyhow::anyhow!("unknown node {node_id}"))?;
    let spec = &snapshot.template_of(node)?.template;
    let inputs = node_inputs(snapshot, node_id, outputs)?;

    let mut params = Map::new();
    for p in &spec.parameters {
        if let Some(d) = &p.default {
            params.insert(p.name.clone(), d.clone());
        }
    }
    // The one place secret parameters are opened: here, at dispatch, for
    // both executors. The job goes to the runner's stdin or to the Pod that
    // fetches it with its run token; it is never logged or stored.
    for (k, v) in &node.params {
        params.insert(
            k.clone(),
            crate::secrets::params::reveal(&settings.vault, node_id, k, v)?,
        );
    }
    let secret_params: Vec<&str> = spec
        .parameters
        .iter()
        .filter(|p| p.kind == ParamKind::Secret)
        .map(|p| p.name.as_str())
        .collect();

    let limits = snapshot.effective_limits(node)?;
    // CPU time budget: the share of a core the node may use for its whole wall-clock time.
    let cpu_seconds = (u64::from(limits.timeout_seconds) * u64::from(limits.cpu_millicores))
        .div_ceil(1000)
        .max(1);

    let outputs_decl: Vec<Value> = spec
        .outputs
        .iter()
        .map(|p| json!({"name": p.name, "type": p.port_type.as_str(), "required": p.required}))
        .collect();
    let mut job = json!({
        "v": 1,
        "type": "job",
        "job": job_id(node_id, attempt),
        "run_id": run_id.to_string(),
        "node_id": node_id,
        "attempt": attempt,
        "code": spec.code,
        "mode": match spec.execution_mode { ExecutionMode::Sync => "sync", ExecutionMode::Async => "async" },
        "trust": spec.trust_level.as_str(),
        "inputs": inputs,
        "params": params,
        "secret_params": secret_params,
        "outputs": outputs_decl,
        "limits": {
            "timeout_seconds": limits.timeout_seconds,
            "memory_mib": limits.memory_mib,
            "cpu_seconds": cpu_seconds,
            "max_output_bytes": settings.max_output_bytes,
            "max_log_bytes": settings.max_log_bytes,
            "max_file_bytes": settings.max_file_bytes,
        },
    });
    if let Some(m) = &snapshot.modules {
        job["modules"] = json!({"allow": m.allow, "block": m.block});
    }
    Ok(job)
}

/// Applies run input overrides `{nodeId: {port: value}}` to the graph's
/// literal inputs; unknown nodes or ports are reported by path.
pub fn apply_overrides(
    graph: &mut Graph,
    templates: &[RunTemplate],
    overrides: &BTreeMap<String, BTreeMap<String, Value>>,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (node_id, ports) in overrides {
        let Some(node) = graph.nodes.iter_mut().find(|n| &n.id == node_id) else {
            errs.push(FieldError::new(format!("inputs.{node_id}"), "no such node"));
            continue;
        };
        let spec = templates
            .iter()
            .find(|t| t.is(&node.template))
            .map(|t| &t.template);
        for (port, value) in ports {
            match spec.and_then(|s| s.input(port)) {
                Some(p) if p.port_type.accepts(value) => {
                    node.inputs.insert(port.clone(), value.clone());
                }
                Some(p) => errs.push(FieldError::new(
                    format!("inputs.{node_id}.{port}"),
                    format!("is not a valid {}", p.port_type.as_str()),
                )),
                None => errs.push(FieldError::new(
                    format!("inputs.{node_id}.{port}"),
                    "no such input port",
                )),
            }
        }
    }
    errs
}
