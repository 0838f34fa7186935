//! The Kubernetes custom resources `Workflow` (`kwf`) and `Run` (`krun`) in
//! the API group `katalusis.io/v1alpha1`.
//!
//! The API server writes both; the operator reconciles `Run`s into one Pod
//! per node and reports node phases back in `Run.status`. The CRD YAML under
//! `charts/katalusis/crds/` and `crds/yaml/` is generated from these types by
//! the operator's `crdgen` binary.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use k8s_openapi::jiff::Timestamp;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::builtin::BuiltinKind;
use crate::graph::{Graph, Node, TemplateRef};
use crate::plan::{
    BranchEdge, FailurePolicy, FailureReason, NodePhase, NodeState, PlanGraph, PlanGraphError,
    PlanNode, RetryPolicy, RunPhase,
};
use crate::template::{Limits, ModuleSettings, TemplateSpec, TrustLevel};

/// API group of the Katalusis custom resources.
pub const GROUP: &str = "katalusis.io";
/// API version of the Katalusis custom resources.
pub const VERSION: &str = "v1alpha1";

/// Schema for a field holding arbitrary JSON (any type, kept as is).
pub fn json_value_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "nullable": true,
        "x-kubernetes-preserve-unknown-fields": true
    })
}

/// Schema for a map from names to arbitrary JSON values.
pub fn json_map_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "additionalProperties": { "x-kubernetes-preserve-unknown-fields": true }
    })
}

/// A workflow as a Kubernetes resource. Two kinds live side by side:
///
/// - **Mirrors** of workflows edited in the UI: the API server
///   server-side-applies them with the field manager `katalusis-api` and the
///   label `app.kubernetes.io/managed-by=katalusis-api`; their spec carries
///   the database ids.
/// - **Cluster-authored** workflows (`kubectl apply`, GitOps): identified by
///   namespace and name, carrying the client's username in the label
///   `katalusis.io/client` and no database id. The API server adopts them:
///   it validates them, stores each change as a revision and reports the
///   outcome in `status`.
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "katalusis.io",
    version = "v1alpha1",
    kind = "Workflow",
    plural = "workflows",
    shortname = "kwf",
    namespaced,
    status = "WorkflowStatus",
    printcolumn = r#"{"name":"Client","type":"string","jsonPath":".status.client"}"#,
    printcolumn = r#"{"name":"Revision","type":"integer","jsonPath":".status.revision"}"#,
    printcolumn = r#"{"name":"Source","type":"string","jsonPath":".status.source"}"#,
    printcolumn = r#"{"name":"Valid","type":"string","jsonPath":".status.conditions[?(@.type==\"Valid\")].status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowSpec {
    /// Id of the workflow in the API server's database (mirrors only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_id: Option<u64>,
    /// Display name; a cluster-authored workflow without one shows its
    /// resource name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub display_name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Id of the client the workflow belongs to (mirrors only; cluster-authored
    /// workflows name the client by the label `katalusis.io/client`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<u64>,
    /// Revision number of the saved graph (mirrors only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<u32>,
    /// The graph.
    pub graph: Graph,
}

/// Where a workflow is edited.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum WorkflowSource {
    /// In the browser; the cluster holds a mirror.
    #[default]
    Ui,
    /// In the cluster (`kubectl apply`, GitOps); the browser shows it read-only.
    Cluster,
}

impl WorkflowSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ui => "ui",
            Self::Cluster => "cluster",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Ui, Self::Cluster]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// Observed state of a Workflow, written by the API server.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowStatus {
    /// The `metadata.generation` the status was written for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Username of the client the workflow belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// Id of the workflow in the API server's database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_id: Option<u64>,
    /// The revision stored for the current generation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<WorkflowSource>,
    /// Number of nodes in the stored graph.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_count: Option<u32>,
    /// Standard Kubernetes conditions; `Valid` says whether the spec was
    /// accepted, with the validator's problems in its message when not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// One execution of a workflow revision. The spec is a frozen snapshot: the
/// graph and the code, limits and retry policy of every template it uses, so
/// later edits of the workflow or the library do not change a started run.
/// The operator creates one Pod per node as its upstream nodes succeed.
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "katalusis.io",
    version = "v1alpha1",
    kind = "Run",
    plural = "runs",
    shortname = "krun",
    namespaced,
    status = "RunStatus",
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
    printcolumn = r#"{"name":"Nodes","type":"string","description":"succeeded/total nodes","jsonPath":".status.progress"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Duration","type":"string","jsonPath":".status.duration"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct RunSpec {
    /// Id of the run in the API server's database. A Run created in the
    /// cluster leaves it unset (0) and names only `workflow.name`: the API
    /// server adopts it, filling in the run id, client, snapshot and token
    /// Secret; the operator waits until then.
    #[serde(default)]
    pub run_id: u64,
    /// The workflow revision this run executes.
    pub workflow: RunWorkflowRef,
    /// Id of the client the run is for.
    #[serde(default)]
    pub client_id: u64,
    /// The frozen graph and templates. Exactly one of `snapshot` and
    /// `snapshotConfigMap` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<RunSnapshot>,
    /// Name of an immutable ConfigMap in the Run's namespace whose key
    /// `snapshot.json` holds the snapshot, used when it is too large to
    /// inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_config_map: Option<String>,
    /// Most nodes of this run that may run at once; unset means no per-run cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_parallel: Option<u32>,
    /// What happens to the rest of the run once a node failed for good.
    #[serde(default)]
    pub failure_policy: FailurePolicy,
    /// Set to true to cancel the run: running Pods are deleted and the run
    /// ends `Cancelled`.
    #[serde(default)]
    pub cancel: bool,
    /// Name of the Secret (owned by this Run) whose key `token` authenticates
    /// the run's Pods at the API server's ingest endpoint.
    #[serde(default)]
    pub token_secret: String,
    /// How the built-in (flow) nodes ended, by node id: the API server runs
    /// them (they reach the database and people) and writes their outcome
    /// here; the operator creates no Pod for them and applies these.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub decisions: BTreeMap<String, NodeDecision>,
}

/// The outcome of one attempt of a built-in node, written by the API server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeDecision {
    /// The attempt this outcome belongs to.
    pub attempt: u32,
    /// Whether the attempt succeeded; a failed one carries `message`.
    pub succeeded: bool,
    /// The branch a Condition, Switch or Approval took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The workflow revision a Run executes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunWorkflowRef {
    /// Id of the workflow in the API server's database (set by the API server).
    #[serde(default)]
    pub workflow_id: u64,
    /// Name of the Workflow resource, if one was applied.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The frozen revision (set by the API server).
    #[serde(default)]
    pub revision: u32,
}

/// The frozen content of a run: the graph (with the run's input overrides
/// merged into the nodes' literal inputs), every template version it pins and
/// the import policy for restricted nodes. The same value is stored in MySQL
/// and carried by the `Run` resource, so both executors run the same thing.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunSnapshot {
    /// The workflow graph.
    pub graph: Graph,
    /// Every template version the graph uses.
    pub templates: Vec<RunTemplate>,
    /// The admin's module allow/block lists for restricted nodes when the run
    /// started; unset leaves the runner's defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modules: Option<ModuleSettings>,
}

/// One template version frozen into a run.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunTemplate {
    /// Template version (the name is `template.name`).
    pub version: u32,
    /// Container image for this template's nodes; must be on the operator's
    /// allow-list. Unset means the node runtime image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The template content.
    pub template: TemplateSpec,
}

/// The forms a pinned template has been stored in. Runs started before the
/// snapshot was shared with the `Run` resource stored `{ref, spec}` in MySQL;
/// they still resume and display.
#[derive(Deserialize)]
#[serde(untagged)]
enum StoredRunTemplate {
    #[serde(rename_all = "camelCase")]
    Current {
        version: u32,
        #[serde(default)]
        image: Option<String>,
        template: TemplateSpec,
    },
    Pinned {
        #[serde(rename = "ref")]
        reference: TemplateRef,
        spec: TemplateSpec,
    },
}

impl<'de> Deserialize<'de> for RunTemplate {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match StoredRunTemplate::deserialize(deserializer)? {
            StoredRunTemplate::Current {
                version,
                image,
                template,
            } => Self {
                version,
                image,
                template,
            },
            StoredRunTemplate::Pinned { reference, spec } => Self::new(reference.version, spec),
        })
    }
}

impl RunTemplate {
    /// Pins version `version` of a template.
    pub fn new(version: u32, template: TemplateSpec) -> Self {
        Self {
            version,
            image: template.image.clone(),
            template,
        }
    }

    /// Whether this is the template version a node refers to.
    pub fn is(&self, r: &TemplateRef) -> bool {
        self.template.name == r.name && self.version == r.version
    }
}

/// A snapshot the operator cannot execute.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SnapshotError {
    /// A node names a template version the snapshot does not carry.
    #[error("node `{node}` uses template {name} v{version}, which is not in the run's snapshot")]
    MissingTemplate {
        /// The node id.
        node: String,
        /// Template name.
        name: String,
        /// Template version.
        version: u32,
    },
    /// The graph is not a valid DAG for the planner.
    #[error(transparent)]
    Graph(#[from] PlanGraphError),
}

impl RunSnapshot {
    /// The pinned template a node refers to, if the snapshot carries it.
    pub fn pinned(&self, r: &TemplateRef) -> Option<&TemplateSpec> {
        self.templates.iter().find(|t| t.is(r)).map(|t| &t.template)
    }

    /// The template of the node with this id, if both exist.
    pub fn spec(&self, node_id: &str) -> Option<&TemplateSpec> {
        self.pinned(&self.graph.node(node_id)?.template)
    }

    /// The trust level a node runs with (restricted when unknown).
    pub fn trust_of(&self, node_id: &str) -> TrustLevel {
        self.spec(node_id)
            .map_or(TrustLevel::Restricted, |s| s.trust_level)
    }

    /// The template a node runs.
    pub fn template_of(&self, node: &Node) -> Result<&RunTemplate, SnapshotError> {
        self.templates
            .iter()
            .find(|t| t.is(&node.template))
            .ok_or_else(|| SnapshotError::MissingTemplate {
                node: node.id.clone(),
                name: node.template.name.clone(),
                version: node.template.version,
            })
    }

    /// The limits a node runs with: the template's, tightened by the node's overrides.
    pub fn effective_limits(&self, node: &Node) -> Result<Limits, SnapshotError> {
        let base = self.template_of(node)?.template.limits;
        let tighten = |over: Option<u32>, base: u32| over.map_or(base, |o| o.min(base));
        Ok(Limits {
            timeout_seconds: tighten(node.limits.timeout_seconds, base.timeout_seconds),
            memory_mib: tighten(node.limits.memory_mib, base.memory_mib),
            cpu_millicores: tighten(node.limits.cpu_millicores, base.cpu_millicores),
        })
    }

    /// The retry policy of a node: its own override, else its template's.
    pub fn retry_policy(&self, node: &Node) -> Result<RetryPolicy, SnapshotError> {
        let spec = match node.retry {
            Some(retry) => retry,
            None => self.template_of(node)?.template.retry,
        };
        Ok(RetryPolicy {
            max_attempts: spec.max_attempts,
            backoff_seconds: spec.backoff_seconds,
            backoff_multiplier: spec.backoff_multiplier,
        })
    }

    /// The graph as the planner sees it: node ids, retry policies, trigger
    /// rules, and edges, those leaving a branch port of a built-in node
    /// (a Condition's `true`/`false`) active only on that branch.
    pub fn plan_graph(&self) -> Result<PlanGraph, SnapshotError> {
        let nodes = self
            .graph
            .nodes
            .iter()
            .map(|n| {
                Ok(PlanNode::new(n.id.clone())
                    .with_retry(self.retry_policy(n)?)
                    .with_trigger(n.trigger))
            })
            .collect::<Result<Vec<_>, SnapshotError>>()?;
        let mut edges = Vec::new();
        let mut branch_edges = Vec::new();
        for e in &self.graph.edges {
            match self.builtin_of(&e.source)? {
                Some(kind) if kind.is_branch_port(&e.source_port) => {
                    branch_edges.push(BranchEdge {
                        from: e.source.clone(),
                        to: e.target.clone(),
                        branch: e.source_port.clone(),
                    })
                }
                _ => edges.push((e.source.clone(), e.target.clone())),
            }
        }
        Ok(PlanGraph::with_branch_edges(nodes, edges, branch_edges)?)
    }

    /// The built-in kind of a node, if its template is one of the platform's.
    pub fn builtin_of(&self, node_id: &str) -> Result<Option<BuiltinKind>, SnapshotError> {
        match self.graph.node(node_id) {
            Some(node) => Ok(self.template_of(node)?.template.builtin),
            None => Ok(None),
        }
    }
}

/// Observed state of a Run, written by the operator with status patches.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunStatus {
    /// Pending, Running, Succeeded, Failed or Cancelled. Terminal phases never change.
    #[serde(default)]
    pub phase: RunPhase,
    /// When the first node started (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When the run reached a terminal phase (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// Wall-clock time from start to finish (or to the last status update), e.g. `1m5s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// Human-readable summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Succeeded and total nodes, e.g. `2/3`.
    #[serde(default)]
    pub progress: String,
    /// The `metadata.generation` this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Per-node status keyed by node id.
    #[serde(default)]
    pub nodes: BTreeMap<String, RunNodeStatus>,
    /// Ready nodes held back by the run's or the namespace's cap on running
    /// Pods, in the order they will start.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queued: Vec<String>,
    /// Standard Kubernetes conditions: `Started` and `Completed`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// Observed state of one node of a Run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunNodeStatus {
    /// Pending, Running, Succeeded, Failed, Skipped or Cancelled.
    #[serde(default)]
    pub phase: NodePhase,
    /// Attempts started so far.
    #[serde(default)]
    pub attempt: u32,
    /// The Pod of the current or last attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_name: Option<String>,
    /// When the current or last attempt started (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When the node reached its terminal phase (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// Why the node failed, was skipped or was cancelled (`memory`, `timeout`,
    /// `image`, `interrupted`, `error`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<FailureReason>,
    /// The Kubernetes reason behind `reason`, such as `OOMKilled`,
    /// `DeadlineExceeded`, `ErrImagePull` or `Error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_reason: Option<String>,
    /// Human-readable detail (for `error`, the tail of the node's log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// A node waiting for a retry is not started before this time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_not_before: Option<String>,
    /// The node's Pod is being deleted because the run was cancelled or failed fast.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cancelling: bool,
    /// The branch a Condition took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// When a waiting node's wait ends (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_until: Option<String>,
}

/// Formats milliseconds since the Unix epoch as RFC 3339.
pub fn format_time_ms(ms: i64) -> String {
    Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// Parses an RFC 3339 time into milliseconds since the Unix epoch.
pub fn parse_time_ms(s: &str) -> Option<i64> {
    s.parse::<Timestamp>().ok().map(|t| t.as_millisecond())
}

/// Formats a duration in whole seconds like `kubectl` does: `45s`, `3m5s`, `2h4m`.
pub fn format_duration_ms(ms: i64) -> String {
    let secs = ms.max(0) / 1000;
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    if h > 0 {
        format!("{h}h{m}m")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

impl RunNodeStatus {
    /// The planner's view of this node.
    pub fn to_node_state(&self) -> NodeState {
        NodeState {
            phase: self.phase,
            attempt: self.attempt,
            reason: self.reason,
            message: self.message.clone(),
            retry_not_before_ms: self.retry_not_before.as_deref().and_then(parse_time_ms),
            started_at_ms: self.started_at.as_deref().and_then(parse_time_ms),
            finished_at_ms: self.finished_at.as_deref().and_then(parse_time_ms),
            cancelling: self.cancelling,
            branch: self.branch.clone(),
            wait_until_ms: self.wait_until.as_deref().and_then(parse_time_ms),
        }
    }

    /// Takes over the planner's fields from `state`, keeping `pod_name` and
    /// `pod_reason`, which the planner does not know about.
    pub fn update_from(&mut self, state: &NodeState) {
        self.phase = state.phase;
        self.attempt = state.attempt;
        self.reason = state.reason;
        self.message = state.message.clone();
        self.retry_not_before = state.retry_not_before_ms.map(format_time_ms);
        self.started_at = state.started_at_ms.map(format_time_ms);
        self.finished_at = state.finished_at_ms.map(format_time_ms);
        self.cancelling = state.cancelling;
        self.branch.clone_from(&state.branch);
        self.wait_until = state.wait_until_ms.map(format_time_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{Edge, NodeLimits};
    use crate::template::RetrySpec;
    use kube::CustomResourceExt;

    fn template(name: &str) -> RunTemplate {
        RunTemplate {
            version: 1,
            image: None,
            template: TemplateSpec {
                name: name.into(),
                title: name.into(),
                description: String::new(),
                category: String::new(),
                code: "def run(inputs, params, ctx):\n    return {}\n".into(),
                execution_mode: Default::default(),
                inputs: vec![],
                outputs: vec![],
                parameters: vec![],
                trust_level: Default::default(),
                limits: Limits {
                    timeout_seconds: 60,
                    memory_mib: 256,
                    cpu_millicores: 500,
                },
                retry: RetrySpec {
                    max_attempts: 3,
                    backoff_seconds: 5,
                    backoff_multiplier: 2.0,
                },
                image: None,
                builtin: None,
            },
        }
    }

    fn node(id: &str) -> Node {
        serde_json::from_value(serde_json::json!({
            "id": id, "template": {"name": "t", "version": 1}
        }))
        .unwrap()
    }

    #[test]
    fn node_overrides_only_tighten_the_template_limits() {
        let snapshot = RunSnapshot {
            graph: Graph::default(),
            templates: vec![template("t")],
            modules: None,
        };
        let mut n = node("a");
        n.limits = NodeLimits {
            timeout_seconds: Some(10),
            memory_mib: Some(4096),
            cpu_millicores: None,
        };
        let limits = snapshot.effective_limits(&n).unwrap();
        assert_eq!(limits.timeout_seconds, 10);
        assert_eq!(limits.memory_mib, 256, "an override may not loosen a limit");
        assert_eq!(limits.cpu_millicores, 500);
    }

    #[test]
    fn plan_graph_uses_node_retry_override_and_edges() {
        let mut b = node("b");
        b.retry = Some(RetrySpec {
            max_attempts: 1,
            backoff_seconds: 0,
            backoff_multiplier: 1.0,
        });
        let snapshot = RunSnapshot {
            graph: Graph {
                nodes: vec![node("a"), b],
                edges: vec![Edge {
                    id: "e".into(),
                    source: "a".into(),
                    source_port: "x".into(),
                    target: "b".into(),
                    target_port: "y".into(),
                }],
            },
            templates: vec![template("t")],
            modules: None,
        };
        let graph = snapshot.plan_graph().unwrap();
        assert_eq!(graph.nodes()[0].retry.max_attempts, 3);
        assert_eq!(graph.nodes()[1].retry.max_attempts, 1);
        assert_eq!(graph.upstream_of("b").collect::<Vec<_>>(), ["a"]);
    }

    #[test]
    fn a_node_with_an_unknown_template_is_reported() {
        let mut n = node("a");
        n.template = TemplateRef {
            name: "missing".into(),
            version: 2,
        };
        let snapshot = RunSnapshot {
            graph: Graph {
                nodes: vec![n],
                edges: vec![],
            },
            templates: vec![template("t")],
            modules: None,
        };
        let err = snapshot.plan_graph().unwrap_err();
        assert!(err.to_string().contains("missing v2"), "{err}");
    }

    #[test]
    fn a_retry_policy_with_no_attempts_is_refused_rather_than_clamped() {
        // The local executor used to clamp 0 to 1 while the operator refused
        // the run; with one plan graph both refuse it.
        let mut t = template("t");
        t.template.retry.max_attempts = 0;
        let snapshot = RunSnapshot {
            graph: Graph {
                nodes: vec![node("a")],
                edges: vec![],
            },
            templates: vec![t],
            modules: None,
        };
        let err = snapshot.plan_graph().unwrap_err();
        assert!(
            err.to_string().contains("maxAttempts must be at least 1"),
            "{err}"
        );
    }

    #[test]
    fn snapshots_stored_with_pinned_refs_still_read() {
        let spec = serde_json::to_value(template("t").template).unwrap();
        let stored = serde_json::json!({
            "graph": {"nodes": [], "edges": []},
            "templates": [{"ref": {"name": "t", "version": 4}, "spec": spec}],
            "modules": {"allow": ["json"], "block": []}
        });
        let snapshot: RunSnapshot = serde_json::from_value(stored).unwrap();
        assert_eq!(snapshot.templates[0].version, 4);
        assert_eq!(snapshot.templates[0].template.name, "t");
        assert_eq!(snapshot.modules.unwrap().allow, ["json"]);
        let current = serde_json::to_value(RunTemplate::new(4, template("t").template)).unwrap();
        assert_eq!(current["version"], 4);
        let back: RunTemplate = serde_json::from_value(current).unwrap();
        assert_eq!(back.version, 4);
    }

    #[test]
    fn a_node_finds_its_pinned_template_and_trust_level() {
        let mut t = template("t");
        t.template.trust_level = TrustLevel::Trusted;
        let snapshot = RunSnapshot {
            graph: Graph {
                nodes: vec![node("a")],
                edges: vec![],
            },
            templates: vec![template("other"), t],
            modules: None,
        };
        assert_eq!(snapshot.spec("a").map(|s| s.name.as_str()), Some("t"));
        assert_eq!(snapshot.trust_of("a"), TrustLevel::Trusted);
        assert_eq!(snapshot.trust_of("missing"), TrustLevel::Restricted);
    }

    #[test]
    fn node_status_round_trips_through_the_planner_state() {
        let state = NodeState {
            phase: NodePhase::Pending,
            attempt: 2,
            reason: Some(FailureReason::Memory),
            message: Some("OOMKilled".into()),
            retry_not_before_ms: Some(1_700_000_000_123),
            started_at_ms: Some(1_700_000_000_000),
            finished_at_ms: None,
            cancelling: false,
            branch: Some("true".into()),
            wait_until_ms: Some(1_700_000_000_500),
        };
        let mut status = RunNodeStatus {
            pod_name: Some("r-a-1".into()),
            ..Default::default()
        };
        status.update_from(&state);
        assert_eq!(status.to_node_state(), state);
        assert_eq!(status.pod_name.as_deref(), Some("r-a-1"));
        assert_eq!(
            status.retry_not_before.as_deref(),
            Some("2023-11-14T22:13:20.123Z")
        );
    }

    #[test]
    fn durations_read_like_kubectl() {
        assert_eq!(format_duration_ms(45_900), "45s");
        assert_eq!(format_duration_ms(185_000), "3m5s");
        assert_eq!(format_duration_ms(7_440_000), "2h4m");
    }

    #[test]
    fn run_crd_has_status_subresource_short_name_and_printer_columns() {
        let crd = serde_json::to_value(Run::crd()).unwrap();
        assert_eq!(crd["spec"]["group"], "katalusis.io");
        assert_eq!(crd["spec"]["scope"], "Namespaced");
        assert_eq!(crd["spec"]["names"]["shortNames"][0], "krun");
        let version = &crd["spec"]["versions"][0];
        assert_eq!(version["name"], "v1alpha1");
        assert!(version["subresources"]["status"].is_object());
        let columns: Vec<&str> = version["additionalPrinterColumns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(columns, ["Phase", "Nodes", "Age", "Duration"]);
        let phase = &version["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]
            ["phase"]["enum"];
        assert_eq!(
            phase,
            &serde_json::json!([
                "Pending",
                "Running",
                "Waiting",
                "Succeeded",
                "Failed",
                "Cancelled"
            ])
        );
    }

    #[test]
    fn workflow_crd_uses_short_name_kwf() {
        let crd = serde_json::to_value(Workflow::crd()).unwrap();
        assert_eq!(crd["spec"]["names"]["shortNames"][0], "kwf");
        assert_eq!(crd["spec"]["names"]["plural"], "workflows");
    }
}

impl RunSpec {
    /// Whether the API server has filled the spec in (a Run created in the
    /// cluster waits for adoption).
    pub fn is_ready(&self) -> bool {
        self.run_id != 0 && !self.token_secret.is_empty()
    }
}
