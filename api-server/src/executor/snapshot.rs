//! The frozen content of a run and the runner job built from it for one node.

use std::collections::{BTreeMap, HashMap};

use katalusis_crds::plan::{PlanGraph, PlanNode, RetryPolicy};
use katalusis_crds::{ExecutionMode, Graph, ParamKind, TemplateRef, TemplateSpec, TrustLevel};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::config::Settings;

/// One template version exactly as it was when the run started.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PinnedTemplate {
    #[serde(rename = "ref")]
    pub template: TemplateRef,
    pub spec: TemplateSpec,
}

/// What a run executes: the workflow graph (with the run's input overrides
/// merged into the nodes' literal inputs) and every template it pins.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub graph: Graph,
    pub templates: Vec<PinnedTemplate>,
    /// The admin's module allow/block lists for restricted nodes, as they
    /// were when the run started; `None` leaves the runner's defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modules: Option<crate::db::settings::ModuleSettings>,
}

/// Outputs of the succeeded nodes of a run, in runner wire form, by node id.
pub type NodeOutputs = HashMap<String, Map<String, Value>>;

impl Snapshot {
    pub fn spec(&self, node_id: &str) -> Option<&TemplateSpec> {
        let node = self.graph.node(node_id)?;
        self.templates
            .iter()
            .find(|t| t.template == node.template)
            .map(|t| &t.spec)
    }

    /// The planner's view: node ids, edges and each node's retry policy
    /// (the node's override, else the template's).
    pub fn plan_graph(&self) -> anyhow::Result<PlanGraph> {
        let mut nodes = Vec::with_capacity(self.graph.nodes.len());
        for n in &self.graph.nodes {
            let spec = self
                .spec(&n.id)
                .ok_or_else(|| anyhow::anyhow!("snapshot lacks the template of node {}", n.id))?;
            let r = n.retry.unwrap_or(spec.retry);
            nodes.push(PlanNode::new(n.id.clone()).with_retry(RetryPolicy {
                max_attempts: r.max_attempts.max(1),
                backoff_seconds: r.backoff_seconds,
                backoff_multiplier: r.backoff_multiplier,
            }));
        }
        let edges = self
            .graph
            .edges
            .iter()
            .map(|e| (e.source.clone(), e.target.clone()))
            .collect();
        Ok(PlanGraph::new(nodes, edges)?)
    }

    pub fn trust_of(&self, node_id: &str) -> TrustLevel {
        self.spec(node_id)
            .map_or(TrustLevel::Restricted, |s| s.trust_level)
    }

    /// The runner `job` message for one attempt of `node_id`.
    pub fn job(
        &self,
        job_id: &str,
        run_id: u64,
        node_id: &str,
        attempt: u32,
        outputs: &NodeOutputs,
        settings: &Settings,
    ) -> anyhow::Result<Value> {
        let node = self
            .graph
            .node(node_id)
            .ok_or_else(|| anyhow::anyhow!("unknown node {node_id}"))?;
        let spec = self
            .spec(node_id)
            .ok_or_else(|| anyhow::anyhow!("snapshot lacks the template of node {node_id}"))?;

        // Port defaults, then literal values, then connected upstream outputs.
        let mut inputs = Map::new();
        for p in &spec.inputs {
            if let Some(d) = &p.default {
                inputs.insert(p.name.clone(), d.clone());
            }
        }
        for (k, v) in &node.inputs {
            inputs.insert(k.clone(), v.clone());
        }
        for e in self.graph.edges.iter().filter(|e| e.target == node_id) {
            if let Some(v) = outputs.get(&e.source).and_then(|o| o.get(&e.source_port)) {
                inputs.insert(e.target_port.clone(), v.clone());
            }
        }

        let mut params = Map::new();
        for p in &spec.parameters {
            if let Some(d) = &p.default {
                params.insert(p.name.clone(), d.clone());
            }
        }
        for (k, v) in &node.params {
            params.insert(k.clone(), v.clone());
        }
        let secret_params: Vec<&str> = spec
            .parameters
            .iter()
            .filter(|p| p.kind == ParamKind::Secret)
            .map(|p| p.name.as_str())
            .collect();

        let limits = &spec.limits;
        let timeout = node
            .limits
            .timeout_seconds
            .map_or(limits.timeout_seconds, |t| t.min(limits.timeout_seconds));
        let memory = node
            .limits
            .memory_mib
            .map_or(limits.memory_mib, |m| m.min(limits.memory_mib));
        let millicores = node
            .limits
            .cpu_millicores
            .map_or(limits.cpu_millicores, |c| c.min(limits.cpu_millicores));
        // CPU time budget: the share of a core the node may use for its whole wall-clock time.
        let cpu_seconds = (u64::from(timeout) * u64::from(millicores))
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
            "job": job_id,
            "run_id": run_id.to_string(),
            "node_id": node_id,
            "attempt": attempt,
            "code": spec.code,
            "mode": match spec.execution_mode { ExecutionMode::Sync => "sync", ExecutionMode::Async => "async" },
            "trust": trust_str(spec.trust_level),
            "inputs": inputs,
            "params": params,
            "secret_params": secret_params,
            "outputs": outputs_decl,
            "limits": {
                "timeout_seconds": timeout,
                "memory_mib": memory,
                "cpu_seconds": cpu_seconds,
                "max_output_bytes": settings.max_output_bytes,
                "max_log_bytes": settings.max_log_bytes,
                "max_file_bytes": settings.max_file_bytes,
            },
        });
        if let Some(m) = &self.modules {
            job["modules"] = json!({"allow": m.allow, "block": m.block});
        }
        Ok(job)
    }
}

pub fn trust_str(t: TrustLevel) -> &'static str {
    match t {
        TrustLevel::Restricted => "restricted",
        TrustLevel::Trusted => "trusted",
    }
}

/// Applies run input overrides `{nodeId: {port: value}}` to the graph's
/// literal inputs; unknown nodes or ports are reported by path.
pub fn apply_overrides(
    graph: &mut Graph,
    templates: &[PinnedTemplate],
    overrides: &BTreeMap<String, BTreeMap<String, Value>>,
) -> Vec<katalusis_crds::FieldError> {
    let mut errs = Vec::new();
    for (node_id, ports) in overrides {
        let Some(node) = graph.nodes.iter_mut().find(|n| &n.id == node_id) else {
            errs.push(katalusis_crds::FieldError::new(
                format!("inputs.{node_id}"),
                "no such node",
            ));
            continue;
        };
        let spec = templates
            .iter()
            .find(|t| t.template == node.template)
            .map(|t| &t.spec);
        for (port, value) in ports {
            match spec.and_then(|s| s.input(port)) {
                Some(p) if p.port_type.accepts(value) => {
                    node.inputs.insert(port.clone(), value.clone());
                }
                Some(p) => errs.push(katalusis_crds::FieldError::new(
                    format!("inputs.{node_id}.{port}"),
                    format!("is not a valid {}", p.port_type.as_str()),
                )),
                None => errs.push(katalusis_crds::FieldError::new(
                    format!("inputs.{node_id}.{port}"),
                    "no such input port",
                )),
            }
        }
    }
    errs
}
