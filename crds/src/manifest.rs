//! A workflow as the `Workflow` manifest people keep in Git and
//! `kubectl apply`: rendering (stable: sorted keys, no default values, no
//! database ids, so diffs stay small) and parsing with the position of the
//! first mistake, for the editor's YAML view, uploads and cluster adoption.
//! Pure: no I/O.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::contract::api::LABEL_CLIENT;
use crate::graph::Graph;
use crate::resources::{GROUP, VERSION};

/// Longest resource name we generate or accept (a DNS-1123 label, so the
/// name also fits in label values and Pod names derived from it).
pub const MAX_NAME: usize = 63;

/// A workflow as its manifest describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`, when the manifest names one.
    pub namespace: Option<String>,
    /// The client's username (label `katalusis.io/client`).
    pub client: String,
    /// `spec.displayName`; empty means the resource name.
    pub display_name: String,
    pub description: String,
    pub graph: Graph,
    /// `spec.triggers`: the schedule and event triggers (webhooks hold a
    /// secret URL and stay in the browser).
    pub triggers: Vec<ManifestTrigger>,
}

/// A trigger as a manifest writes it; `config` is the trigger API's
/// settings object (`{"kind": "schedule", "cron": …}`), checked by the
/// API server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ManifestTrigger {
    pub name: String,
    #[serde(default = "enabled", skip_serializing_if = "is_enabled")]
    pub enabled: bool,
    pub config: Value,
}

fn enabled() -> bool {
    true
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_enabled(b: &bool) -> bool {
    *b
}

impl Manifest {
    /// The name people see: the display name, else the resource name.
    pub fn title(&self) -> &str {
        if self.display_name.trim().is_empty() {
            &self.name
        } else {
            &self.display_name
        }
    }
}

/// Why a manifest was refused, with the place in the YAML when known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManifestError {
    pub message: String,
    /// 1-based line of the mistake in the YAML text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// 1-based column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

impl ManifestError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            line: None,
            column: None,
        }
    }
}

impl std::fmt::Display for ManifestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "line {l}, column {c}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ManifestError {}

/// The document as written. Metadata and status fields the cluster adds
/// (`kubectl get -o yaml` output) are accepted and ignored; anything
/// unknown in the spec is a mistake.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    api_version: String,
    kind: String,
    metadata: Metadata,
    spec: Spec,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    name: String,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Spec {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    graph: Graph,
    #[serde(default)]
    triggers: Vec<ManifestTrigger>,
    // A mirror's database ids, when a mirror was exported with kubectl:
    // ignored, the resource is identified by its namespace and name.
    #[serde(default, rename = "workflowId")]
    _workflow_id: Option<Value>,
    #[serde(default, rename = "clientId")]
    _client_id: Option<Value>,
    #[serde(default, rename = "revision")]
    _revision: Option<Value>,
    #[serde(default, rename = "nodeCount")]
    _node_count: Option<Value>,
}

/// The `apiVersion` of a Workflow.
pub fn api_version() -> String {
    format!("{GROUP}/{VERSION}")
}

/// Whether `name` is a DNS-1123 label (what Kubernetes accepts as a name here).
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// A resource name derived from a display name: lowercase letters, digits
/// and dashes, at most [`MAX_NAME`] characters, `workflow` when nothing is left.
pub fn name_from_title(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
        if out.len() >= MAX_NAME {
            break;
        }
    }
    let trimmed = out.trim_end_matches('-');
    if trimmed.is_empty() {
        "workflow".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// The manifest as a JSON object (what the cluster stores).
pub fn to_object(m: &Manifest) -> Value {
    let mut graph = serde_json::to_value(&m.graph).unwrap_or_else(|_| json!({}));
    // Empty parameter maps are the default: leave them out of the text.
    if let Some(nodes) = graph["nodes"].as_array_mut() {
        for node in nodes {
            if let Some(n) = node.as_object_mut() {
                if n.get("params")
                    .and_then(Value::as_object)
                    .is_some_and(serde_json::Map::is_empty)
                {
                    n.remove("params");
                }
            }
        }
    }
    let mut spec = serde_json::Map::new();
    if !m.display_name.is_empty() {
        spec.insert("displayName".into(), json!(m.display_name));
    }
    if !m.description.is_empty() {
        spec.insert("description".into(), json!(m.description));
    }
    spec.insert("graph".into(), graph);
    if !m.triggers.is_empty() {
        let mut triggers = m.triggers.clone();
        triggers.sort_by(|a, b| a.name.cmp(&b.name));
        spec.insert(
            "triggers".into(),
            serde_json::to_value(triggers).unwrap_or_default(),
        );
    }
    let mut metadata = serde_json::Map::new();
    metadata.insert("name".into(), json!(m.name));
    if let Some(ns) = &m.namespace {
        metadata.insert("namespace".into(), json!(ns));
    }
    metadata.insert("labels".into(), json!({ LABEL_CLIENT: m.client }));
    json!({
        "apiVersion": api_version(),
        "kind": "Workflow",
        "metadata": metadata,
        "spec": spec,
    })
}

/// The manifest as YAML. Keys are sorted and defaults left out, so the same
/// workflow always gives the same text.
pub fn render(m: &Manifest) -> String {
    serde_yaml::to_string(&sort(to_object(m))).unwrap_or_default()
}

/// Object keys in sorted order at every level, whatever map the JSON
/// library keeps.
fn sort(v: Value) -> Value {
    match v {
        Value::Object(map) => {
            let sorted: BTreeMap<String, Value> =
                map.into_iter().map(|(k, v)| (k, sort(v))).collect();
            Value::Object(sorted.into_iter().collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sort).collect()),
        other => other,
    }
}

/// Parses a manifest written as YAML (or JSON, which is YAML too).
pub fn parse(text: &str) -> Result<Manifest, ManifestError> {
    let doc: Document = serde_yaml::from_str(text).map_err(|e| {
        let location = e.location();
        let mut message = e.to_string();
        // The position is reported in its own fields (and shown once).
        if let Some(l) = &location {
            let suffix = format!(" at line {} column {}", l.line(), l.column());
            if let Some(stripped) = message.strip_suffix(&suffix) {
                message = stripped.to_owned();
            }
        }
        ManifestError {
            message,
            line: location.as_ref().map(serde_yaml::Location::line),
            column: location.as_ref().map(serde_yaml::Location::column),
        }
    })?;
    check(doc)
}

/// Parses a manifest the cluster holds (a Workflow object as JSON).
pub fn from_object(object: Value) -> Result<Manifest, ManifestError> {
    let doc: Document =
        serde_json::from_value(object).map_err(|e| ManifestError::new(e.to_string()))?;
    check(doc)
}

fn check(doc: Document) -> Result<Manifest, ManifestError> {
    if doc.api_version != api_version() {
        return Err(ManifestError::new(format!(
            "apiVersion must be {}, not '{}'",
            api_version(),
            doc.api_version
        )));
    }
    if doc.kind != "Workflow" {
        return Err(ManifestError::new(format!(
            "kind must be Workflow, not '{}'",
            doc.kind
        )));
    }
    if !is_valid_name(&doc.metadata.name) {
        return Err(ManifestError::new(format!(
            "metadata.name '{}' must be 1 to {MAX_NAME} lowercase letters, digits or dashes, \
             starting and ending with a letter or digit",
            doc.metadata.name
        )));
    }
    let client = doc
        .metadata
        .labels
        .get(LABEL_CLIENT)
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            ManifestError::new(format!(
                "metadata.labels must name the client: {LABEL_CLIENT}: <client username>"
            ))
        })?;
    Ok(Manifest {
        name: doc.metadata.name,
        namespace: doc.metadata.namespace,
        client,
        display_name: doc.spec.display_name,
        description: doc.spec.description,
        graph: doc.spec.graph,
        triggers: doc.spec.triggers,
    })
}

#[cfg(test)]
mod tests;
