//! Names the API server and the operator must agree on: keys inside the
//! objects one writes and the other reads, and the labels each puts on its
//! objects. Both sides use these constants, so the contract is one place.

/// Key of the run token in the Run's Secret; node Pods read it through a
/// `secretKeyRef` and send it to the API server's ingest endpoint.
pub const TOKEN_SECRET_KEY: &str = "token";
/// Key of the snapshot JSON in a Run's snapshot ConfigMap (`spec.snapshotConfigMap`).
pub const SNAPSHOT_CONFIG_MAP_KEY: &str = "snapshot.json";

/// Labels on the objects the API server creates (Run, Secret, ConfigMap, Workflow).
pub mod api {
    /// Field manager of everything the API server applies.
    pub const FIELD_MANAGER: &str = "katalusis-api";
    /// Label selecting the objects the API server created.
    pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "katalusis-api");
    /// Label holding the run id.
    pub const LABEL_RUN_ID: &str = "katalusis.io/run-id";
    /// Label holding the workflow id.
    pub const LABEL_WORKFLOW_ID: &str = "katalusis.io/workflow-id";
    /// Label holding the client id.
    pub const LABEL_CLIENT_ID: &str = "katalusis.io/client-id";
    /// Label naming the client (by username) of a cluster-authored Workflow.
    pub const LABEL_CLIENT: &str = "katalusis.io/client";
    /// Label the API server puts on a Run it adopted (one created in the
    /// cluster), holding the run id it was given.
    pub const LABEL_ADOPTED_RUN_ID: &str = "katalusis.io/adopted-run-id";
}

/// Labels and annotations on the Pods the operator creates.
pub mod pod {
    /// Label on every Pod the operator creates; the operator lists Pods by it.
    pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "katalusis-operator");
    /// Label holding the Run's name.
    pub const LABEL_RUN: &str = "katalusis.io/run";
    /// Label holding a label-safe form of the node id (see [`ANNOTATION_NODE_ID`] for the exact id).
    pub const LABEL_NODE: &str = "katalusis.io/node";
    /// Label holding the workflow id.
    pub const LABEL_WORKFLOW: &str = "katalusis.io/workflow";
    /// Label holding the client id.
    pub const LABEL_CLIENT: &str = "katalusis.io/client";
    /// Label holding the node's trust level; the chart's NetworkPolicies select on it.
    pub const LABEL_TRUST: &str = "katalusis.io/trust";
    /// Label holding the attempt number.
    pub const LABEL_ATTEMPT: &str = "katalusis.io/attempt";
    /// Annotation holding the exact node id.
    pub const ANNOTATION_NODE_ID: &str = "katalusis.io/node-id";
}
