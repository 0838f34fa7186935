//! The workflow graph as saved by the editor and frozen into runs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::plan::TriggerRule;
use crate::template::RetrySpec;

/// A pinned version of a node template.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TemplateRef {
    pub name: String,
    pub version: u32,
}

/// Canvas position of a node; meaningless to execution.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Default,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Position {
    pub x: f64,
    pub y: f64,
}

/// Per-node limit overrides; each may only tighten the template's limit.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeLimits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mib: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_millicores: Option<u32>,
}

impl NodeLimits {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// One node of a workflow: an instance of a template with its configuration.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Node {
    pub id: String,
    pub template: TemplateRef,
    #[serde(default)]
    pub position: Position,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Parameter values by parameter name.
    #[serde(default)]
    #[schemars(schema_with = "crate::resources::json_map_schema")]
    pub params: BTreeMap<String, Value>,
    /// Literal values for input ports that are not connected.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "crate::resources::json_map_schema")]
    pub inputs: BTreeMap<String, Value>,
    #[serde(default, skip_serializing_if = "NodeLimits::is_empty")]
    pub limits: NodeLimits,
    /// Overrides the template's retry policy for this node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetrySpec>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
    /// When the node may start, judged from its upstream nodes.
    #[serde(default, skip_serializing_if = "TriggerRule::is_default")]
    pub trigger: TriggerRule,
}

/// A data connection from an output port to an input port.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Edge {
    pub id: String,
    pub source: String,
    pub source_port: String,
    pub target: String,
    pub target_port: String,
}

/// A directed graph of nodes; validated by [`crate::validate_graph`].
#[derive(
    Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Graph {
    #[serde(default)]
    pub nodes: Vec<Node>,
    #[serde(default)]
    pub edges: Vec<Edge>,
}

impl Graph {
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// The distinct template versions the graph uses, sorted.
    pub fn template_refs(&self) -> Vec<TemplateRef> {
        let mut refs: Vec<TemplateRef> = self.nodes.iter().map(|n| n.template.clone()).collect();
        refs.sort();
        refs.dedup();
        refs
    }
}
