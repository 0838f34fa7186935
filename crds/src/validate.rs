//! Graph validation: every problem at once, addressed by node, edge and port so
//! an editor can highlight them. Shared by the API, the executors and the SPA
//! (through `POST /api/workflows/validate`).

use std::collections::{HashMap, HashSet};

use petgraph::graph::{DiGraph, NodeIndex};
use serde::{Deserialize, Serialize};

use crate::graph::{Graph, Node, TemplateRef};
use crate::template::{check_param_value, ParamKind, TemplateSpec};
use crate::types::Compatibility;

/// Upper bound on nodes in one workflow; keeps validation and runs bounded.
pub const MAX_NODES: usize = 5_000;
pub const MAX_EDGES: usize = 20_000;

/// A validation error attached to a request field path (`inputs[2].name`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

/// One graph problem. `code` is stable for programs; `message` is for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    pub severity: Severity,
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edge_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    /// For cycles: the nodes on the cycle.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<String>,
}

impl Problem {
    /// An error-level problem with a machine-readable code.
    pub fn error(code: &str, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            code: code.into(),
            message: message.into(),
            node_id: None,
            edge_id: None,
            port: None,
            nodes: vec![],
        }
    }
    fn warning(code: &str, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(code, message)
        }
    }
    fn node(mut self, id: &str) -> Self {
        self.node_id = Some(id.to_string());
        self
    }
    fn edge(mut self, id: &str) -> Self {
        self.edge_id = Some(id.to_string());
        self
    }
    fn port(mut self, p: &str) -> Self {
        self.port = Some(p.to_string());
        self
    }
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// A template as the catalog knows it.
pub struct CatalogEntry<'a> {
    pub spec: &'a TemplateSpec,
    pub deleted: bool,
}

/// Resolves the template versions a graph pins.
pub trait TemplateCatalog {
    fn get(&self, r: &TemplateRef) -> Option<CatalogEntry<'_>>;
}

impl TemplateCatalog for HashMap<TemplateRef, (TemplateSpec, bool)> {
    fn get(&self, r: &TemplateRef) -> Option<CatalogEntry<'_>> {
        HashMap::get(self, r).map(|(spec, deleted)| CatalogEntry {
            spec,
            deleted: *deleted,
        })
    }
}

/// Node ids are used in URLs, Pod names and logs, so keep them tame.
pub fn is_node_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Validates `graph` against the catalog. Errors make the graph unrunnable;
/// warnings do not.
pub fn validate_graph(graph: &Graph, catalog: &dyn TemplateCatalog) -> Vec<Problem> {
    let mut problems = Vec::new();
    if graph.nodes.len() > MAX_NODES {
        problems.push(Problem::error(
            "too_many_nodes",
            format!("a workflow may have at most {MAX_NODES} nodes"),
        ));
        return problems;
    }
    if graph.edges.len() > MAX_EDGES {
        problems.push(Problem::error(
            "too_many_edges",
            format!("a workflow may have at most {MAX_EDGES} edges"),
        ));
        return problems;
    }

    let mut nodes: HashMap<&str, (&Node, Option<&TemplateSpec>)> = HashMap::new();
    for n in &graph.nodes {
        if !is_node_id(&n.id) {
            problems.push(
                Problem::error(
                    "invalid_node_id",
                    "node ids must be 1-64 characters of letters, digits, '_' or '-'",
                )
                .node(&n.id),
            );
        }
        let spec = match catalog.get(&n.template) {
            None => {
                problems.push(
                    Problem::error(
                        "template_missing",
                        format!(
                            "template {} version {} does not exist",
                            n.template.name, n.template.version
                        ),
                    )
                    .node(&n.id),
                );
                None
            }
            Some(e) if e.deleted => {
                problems.push(
                    Problem::error(
                        "template_deleted",
                        format!("template {} has been deleted", n.template.name),
                    )
                    .node(&n.id),
                );
                None
            }
            Some(e) => Some(e.spec),
        };
        if nodes.insert(n.id.as_str(), (n, spec)).is_some() {
            problems.push(
                Problem::error(
                    "duplicate_node_id",
                    format!("node id '{}' is used twice", n.id),
                )
                .node(&n.id),
            );
        }
        if let Some(spec) = spec {
            check_node_config(n, spec, &mut problems);
        }
    }

    let mut edge_ids = HashSet::new();
    let mut connected_inputs: HashMap<(&str, &str), &str> = HashMap::new();
    let mut pg: DiGraph<&str, ()> = DiGraph::with_capacity(graph.nodes.len(), graph.edges.len());
    let index: HashMap<&str, NodeIndex> = graph
        .nodes
        .iter()
        .map(|n| (n.id.as_str(), pg.add_node(n.id.as_str())))
        .collect();

    for e in &graph.edges {
        if e.id.is_empty() || !edge_ids.insert(e.id.as_str()) {
            problems.push(
                Problem::error("duplicate_edge_id", "edge ids must be unique and non-empty")
                    .edge(&e.id),
            );
        }
        let src = nodes.get(e.source.as_str());
        let dst = nodes.get(e.target.as_str());
        if src.is_none() {
            problems.push(
                Problem::error(
                    "edge_unknown_node",
                    format!("edge source node '{}' does not exist", e.source),
                )
                .edge(&e.id),
            );
        }
        if dst.is_none() {
            problems.push(
                Problem::error(
                    "edge_unknown_node",
                    format!("edge target node '{}' does not exist", e.target),
                )
                .edge(&e.id),
            );
        }
        let (Some((_, src_spec)), Some((_, dst_spec))) = (src, dst) else {
            continue;
        };
        pg.add_edge(index[e.source.as_str()], index[e.target.as_str()], ());

        if let Some(prev) =
            connected_inputs.insert((e.target.as_str(), e.target_port.as_str()), &e.id)
        {
            problems.push(
                Problem::error(
                    "input_already_connected",
                    format!(
                        "input '{}' of node '{}' already has a connection (edge '{prev}')",
                        e.target_port, e.target
                    ),
                )
                .edge(&e.id)
                .node(&e.target)
                .port(&e.target_port),
            );
        }
        // Without both templates the port checks would only repeat the template error.
        let (Some(src_spec), Some(dst_spec)) = (src_spec, dst_spec) else {
            continue;
        };
        let out = src_spec.output(&e.source_port);
        let inp = dst_spec.input(&e.target_port);
        if out.is_none() {
            problems.push(
                Problem::error(
                    "unknown_port",
                    format!("node '{}' has no output '{}'", e.source, e.source_port),
                )
                .edge(&e.id)
                .node(&e.source)
                .port(&e.source_port),
            );
        }
        if inp.is_none() {
            problems.push(
                Problem::error(
                    "unknown_port",
                    format!("node '{}' has no input '{}'", e.target, e.target_port),
                )
                .edge(&e.id)
                .node(&e.target)
                .port(&e.target_port),
            );
        }
        if let (Some(out), Some(inp)) = (out, inp) {
            let (from, to) = (out.port_type, inp.port_type);
            match from.compatibility(to) {
                Compatibility::Ok => {}
                Compatibility::Warn => problems.push(
                    Problem::warning(
                        "json_narrowing",
                        format!(
                            "json output '{}' feeds {} input '{}': the value is checked when the node runs",
                            e.source_port,
                            to.as_str(),
                            e.target_port
                        ),
                    )
                    .edge(&e.id)
                    .node(&e.target)
                    .port(&e.target_port),
                ),
                Compatibility::Incompatible => problems.push(
                    Problem::error(
                        "incompatible_types",
                        format!(
                            "output '{}' ({}) cannot feed input '{}' ({})",
                            e.source_port,
                            from.as_str(),
                            e.target_port,
                            to.as_str()
                        ),
                    )
                    .edge(&e.id)
                    .node(&e.target)
                    .port(&e.target_port),
                ),
            }
        }
    }

    // Required inputs: connected, a literal on the node, or a template default.
    for n in &graph.nodes {
        let Some((_, Some(spec))) = nodes.get(n.id.as_str()) else {
            continue;
        };
        for p in spec.inputs.iter().filter(|p| p.required) {
            let satisfied = connected_inputs.contains_key(&(n.id.as_str(), p.name.as_str()))
                || n.inputs.contains_key(&p.name)
                || p.default.is_some();
            if !satisfied {
                problems.push(
                    Problem::error(
                        "required_input_missing",
                        format!(
                            "required input '{}' is not connected and has no value",
                            p.name
                        ),
                    )
                    .node(&n.id)
                    .port(&p.name),
                );
            }
        }
    }

    let spec_of: HashMap<&str, Option<&TemplateSpec>> =
        nodes.iter().map(|(id, (_, spec))| (*id, *spec)).collect();
    problems.extend(branches::unreachable_joins(graph, &spec_of));

    for scc in petgraph::algo::tarjan_scc(&pg) {
        let is_cycle = scc.len() > 1 || pg.contains_edge(scc[0], scc[0]);
        if is_cycle {
            let mut ids: Vec<String> = scc.iter().map(|i| pg[*i].to_string()).collect();
            ids.sort();
            let mut p = Problem::error(
                "cycle",
                format!("these nodes form a cycle: {}", ids.join(" → ")),
            );
            p.nodes = ids;
            problems.push(p);
        }
    }
    problems
}

fn check_node_config(n: &Node, spec: &TemplateSpec, problems: &mut Vec<Problem>) {
    for (name, value) in &n.params {
        match spec.parameter(name) {
            None => problems.push(
                Problem::error("unknown_parameter", format!("unknown parameter '{name}'"))
                    .node(&n.id)
                    .port(name),
            ),
            Some(p) => {
                if let Err(msg) = check_param_value(p, value) {
                    problems.push(
                        Problem::error("invalid_parameter", format!("parameter '{name}' {msg}"))
                            .node(&n.id)
                            .port(name),
                    );
                }
            }
        }
    }
    for p in spec.parameters.iter().filter(|p| p.required) {
        let set = n.params.get(&p.name).is_some_and(|v| match p.kind {
            ParamKind::Secret => {
                v.as_str().is_some_and(|s| !s.is_empty())
                    || crate::template::is_secret_placeholder(v)
            }
            ParamKind::Text | ParamKind::Textarea | ParamKind::File => {
                v.as_str().is_some_and(|s| !s.is_empty())
            }
            _ => !v.is_null(),
        });
        if !set && p.default.is_none() {
            problems.push(
                Problem::error(
                    "required_parameter_missing",
                    format!("required parameter '{}' is not set", p.name),
                )
                .node(&n.id)
                .port(&p.name),
            );
        }
    }
    for (name, value) in &n.inputs {
        match spec.input(name) {
            None => problems.push(
                Problem::error("unknown_port", format!("node has no input '{name}'"))
                    .node(&n.id)
                    .port(name),
            ),
            Some(port) if !port.port_type.accepts(value) => problems.push(
                Problem::error(
                    "invalid_input_value",
                    format!(
                        "value for input '{name}' is not a valid {}",
                        port.port_type.as_str()
                    ),
                )
                .node(&n.id)
                .port(name),
            ),
            Some(_) => {}
        }
    }
    let l = &n.limits;
    let checks = [
        (
            "timeoutSeconds",
            l.timeout_seconds,
            spec.limits.timeout_seconds,
        ),
        ("memoryMib", l.memory_mib, spec.limits.memory_mib),
        (
            "cpuMillicores",
            l.cpu_millicores,
            spec.limits.cpu_millicores,
        ),
    ];
    for (name, v, max) in checks {
        if let Some(v) = v {
            if v == 0 || v > max {
                problems.push(
                    Problem::error(
                        "limit_out_of_bounds",
                        format!("limit {name} must be between 1 and the template's {max}"),
                    )
                    .node(&n.id)
                    .port(name),
                );
            }
        }
    }
    if let Some(r) = &n.retry {
        if r.max_attempts == 0 || r.max_attempts > crate::template::MAX_RETRY_ATTEMPTS {
            problems.push(
                Problem::error(
                    "invalid_retry",
                    format!(
                        "retry attempts must be between 1 and {}",
                        crate::template::MAX_RETRY_ATTEMPTS
                    ),
                )
                .node(&n.id),
            );
        }
    }
    if n.label.as_ref().is_some_and(|l| l.chars().count() > 200) {
        problems
            .push(Problem::error("invalid_label", "labels are at most 200 characters").node(&n.id));
    }
}

mod branches;
#[cfg(test)]
mod tests;
