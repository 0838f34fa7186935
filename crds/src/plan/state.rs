//! Node and run status vocabulary shared by the planner and the executors.

use serde::{Deserialize, Serialize};

/// Lifecycle phase of one node of a run.
///
/// `Pending` and `Running` are the only non-terminal phases. A terminal phase
/// never changes again, with one exception decided by the planner: a `Failed`
/// node that will be retried goes back to `Pending` through
/// [`Action::ScheduleRetry`](super::Action::ScheduleRetry).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
pub enum NodePhase {
    /// Waiting for its upstream nodes, for a free slot or for a retry time.
    #[default]
    Pending,
    /// An attempt has been started and has not reported an outcome yet.
    Running,
    /// The last attempt succeeded.
    Succeeded,
    /// The last attempt failed; see the node's `reason`.
    Failed,
    /// Never ran because an upstream node did not succeed.
    Skipped,
    /// Stopped or never started because the run was cancelled or failed fast.
    Cancelled,
}

impl NodePhase {
    /// Whether the phase is final (everything except `Pending` and `Running`).
    pub fn is_terminal(self) -> bool {
        !matches!(self, Self::Pending | Self::Running)
    }
}

/// Why a node attempt failed or why a node did not run.
///
/// Kept apart from [`NodePhase`] so the phase set stays small.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FailureReason {
    /// The node's code raised an error or exited with a non-zero status.
    Error,
    /// The attempt ran longer than its time limit.
    Timeout,
    /// The attempt exceeded its memory limit.
    Memory,
    /// The attempt exceeded its CPU limit.
    Cpu,
    /// The node produced more output than allowed.
    OutputSize,
    /// The node's output did not match its declared type.
    OutputType,
    /// The node attempted something the sandbox forbids.
    Sandbox,
    /// The attempt was interrupted from outside (evicted Pod, executor restart).
    Interrupted,
    /// The container image could not be pulled or started.
    Image,
    /// The node was cancelled.
    Cancelled,
    /// An upstream node did not succeed, so this node never ran.
    UpstreamFailed,
}

impl FailureReason {
    /// Whether another attempt could plausibly succeed.
    ///
    /// Not retryable: `OutputType` and `Sandbox` (the code does the same thing
    /// again, so a retry only delays the failure), `Cancelled` (someone chose to
    /// stop the node) and `UpstreamFailed` (the node never ran). Everything
    /// else, including `Interrupted`, `Timeout`, resource limits and `Image`
    /// (registries have outages), may be transient and is retried while
    /// attempts remain.
    pub fn is_retryable(self) -> bool {
        !matches!(
            self,
            Self::OutputType | Self::Sandbox | Self::Cancelled | Self::UpstreamFailed
        )
    }

    /// The serialized name, e.g. `output_size`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Timeout => "timeout",
            Self::Memory => "memory",
            Self::Cpu => "cpu",
            Self::OutputSize => "output_size",
            Self::OutputType => "output_type",
            Self::Sandbox => "sandbox",
            Self::Interrupted => "interrupted",
            Self::Image => "image",
            Self::Cancelled => "cancelled",
            Self::UpstreamFailed => "upstream_failed",
        }
    }
}

/// Lifecycle phase of a whole run, derived from its node phases by
/// [`run_phase`](super::run_phase).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
pub enum RunPhase {
    /// No node has started yet.
    #[default]
    Pending,
    /// At least one node has started and some node is not terminal yet.
    Running,
    /// Every node succeeded.
    Succeeded,
    /// Every node is terminal and at least one did not succeed.
    Failed,
    /// Cancellation was requested and every node is terminal.
    Cancelled,
}

impl RunPhase {
    /// Whether the phase is final (`Succeeded`, `Failed` or `Cancelled`).
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }
}

/// What the rest of a run does once a node has failed for good.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
pub enum FailurePolicy {
    /// Skip the failed node's downstream nodes; independent branches keep running.
    #[default]
    Continue,
    /// Skip the failed node's downstream nodes, cancel everything else that has
    /// not finished and start nothing new.
    FailFast,
}

/// Observed state of one node, kept by the executor in a map keyed by node id.
///
/// Executors record outcomes here (`Running` becomes `Succeeded`, or `Failed`
/// with a `reason`); the planner decides retries. A node missing from the map
/// is treated as `NodeState::default()`: pending, never attempted.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeState {
    /// Current phase.
    pub phase: NodePhase,
    /// Number of attempts started so far (0 before the first start).
    #[serde(default)]
    pub attempt: u32,
    /// Why the node failed, was skipped or was cancelled. On a pending node
    /// waiting for a retry it keeps the reason of the failed attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<FailureReason>,
    /// Human-readable detail for the phase or reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// A pending node waiting for a retry is not started before this time
    /// (milliseconds since the Unix epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_not_before_ms: Option<i64>,
    /// When the current or last attempt started (milliseconds since the Unix epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at_ms: Option<i64>,
    /// When the node reached its terminal phase (milliseconds since the Unix epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at_ms: Option<i64>,
    /// A `Cancel` was issued for this running node; it stays `Running` until
    /// the executor reports that the attempt has stopped, and the planner does
    /// not issue the `Cancel` again.
    #[serde(default, skip_serializing_if = "is_false")]
    pub cancelling: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
}

impl NodeState {
    /// A state in the given phase with every other field empty.
    pub fn with_phase(phase: NodePhase) -> Self {
        Self {
            phase,
            ..Self::default()
        }
    }
}
