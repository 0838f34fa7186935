//! Katalusis domain model shared by the API server, the local executor and the
//! operator: node templates, workflow graphs and their validation, the status
//! vocabulary, the pure run planner, the run snapshot and the Kubernetes
//! custom resource types. Nothing here does I/O.

pub mod builtin;
pub mod contract;
pub mod graph;
pub mod manifest;
pub mod plan;
pub mod resources;
pub mod template;
pub mod types;
pub mod validate;

pub use builtin::{builtin_templates, BuiltinKind, BUILTIN_PREFIX};
pub use graph::{Edge, Graph, Node, NodeLimits, Position, TemplateRef};
pub use template::{
    ExecutionMode, LimitMaxima, Limits, ModuleSettings, ParamKind, ParamSpec, PortSpec, RetrySpec,
    TemplateSpec, TrustLevel,
};
pub use types::PortType;
pub use validate::{validate_graph, FieldError, Problem, Severity, TemplateCatalog};
