//! Node and run status vocabulary shared by the planner and the executors.
//!
//! Each vocabulary has two spellings: its serde form, used in the `Run`
//! resource and in stored node-state JSON (`Succeeded`), and its `as_str`
//! form, used in MySQL columns, the API and events (`succeeded`). Nothing
//! outside this module spells either by hand.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A name that is not part of a vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a valid {vocabulary}")]
pub struct UnknownName {
    /// Which vocabulary was asked, e.g. `run phase`.
    pub vocabulary: &'static str,
    /// The name that was given.
    pub value: String,
}

/// `Display` and `FromStr` through `as_str` and `ALL`, so the two can never disagree.
macro_rules! vocabulary {
    ($ty:ty, $what:literal) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = UnknownName;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .into_iter()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| UnknownName {
                        vocabulary: $what,
                        value: s.to_owned(),
                    })
            }
        }
    };
}

/// Lifecycle phase of one node of a run.
///
/// `Pending`, `Running` and `Waiting` are the only non-terminal phases. A terminal phase
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
    /// A started built-in node waits for a person (an approval, a task) or a
    /// time. It holds no execution slot and no process or Pod; only its
    /// downstream nodes wait for it.
    Waiting,
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
    /// Every phase, in lifecycle order.
    pub const ALL: [Self; 7] = [
        Self::Pending,
        Self::Running,
        Self::Waiting,
        Self::Succeeded,
        Self::Failed,
        Self::Skipped,
        Self::Cancelled,
    ];

    /// Whether the phase is final (everything except `Pending`, `Running` and `Waiting`).
    pub fn is_terminal(self) -> bool {
        !matches!(self, Self::Pending | Self::Running | Self::Waiting)
    }

    /// The lower-case name stored in MySQL and shown by the API, e.g. `succeeded`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Waiting => "waiting",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
            Self::Cancelled => "cancelled",
        }
    }
}

vocabulary!(NodePhase, "node phase");

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
    /// The node lies only on a branch a Condition or Approval did not take,
    /// or its trigger rule found no upstream branch that ran.
    Branch,
    /// The run's state could not be stored for longer than the platform
    /// allows (the database was unreachable), so the run was stopped.
    Storage,
}

impl FailureReason {
    /// Whether another attempt could plausibly succeed.
    ///
    /// Not retryable: `OutputType` and `Sandbox` (the code does the same thing
    /// again, so a retry only delays the failure), `Cancelled` (someone chose to
    /// stop the node), `UpstreamFailed` and `Branch` (the node never ran) and
    /// `Storage` (the whole run was stopped). Everything
    /// else, including `Interrupted`, `Timeout`, resource limits and `Image`
    /// (registries have outages), may be transient and is retried while
    /// attempts remain.
    pub fn is_retryable(self) -> bool {
        !matches!(
            self,
            Self::OutputType
                | Self::Sandbox
                | Self::Cancelled
                | Self::UpstreamFailed
                | Self::Branch
                | Self::Storage
        )
    }

    /// Every reason.
    pub const ALL: [Self; 13] = [
        Self::Error,
        Self::Timeout,
        Self::Memory,
        Self::Cpu,
        Self::OutputSize,
        Self::OutputType,
        Self::Sandbox,
        Self::Interrupted,
        Self::Image,
        Self::Cancelled,
        Self::UpstreamFailed,
        Self::Branch,
        Self::Storage,
    ];

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
            Self::Branch => "branch",
            Self::Storage => "storage",
        }
    }
}

vocabulary!(FailureReason, "failure reason");

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
    /// Nothing is running and at least one node waits for a person or a time.
    Waiting,
    /// Every node succeeded.
    Succeeded,
    /// Every node is terminal and at least one did not succeed.
    Failed,
    /// Cancellation was requested and every node is terminal.
    Cancelled,
}

impl RunPhase {
    /// Every phase, in lifecycle order.
    pub const ALL: [Self; 6] = [
        Self::Pending,
        Self::Running,
        Self::Waiting,
        Self::Succeeded,
        Self::Failed,
        Self::Cancelled,
    ];

    /// The phases of a run that has not finished.
    pub const UNFINISHED: [Self; 3] = [Self::Pending, Self::Running, Self::Waiting];

    /// Whether the phase is final (`Succeeded`, `Failed` or `Cancelled`).
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }

    /// The lower-case name stored in MySQL and shown by the API, e.g. `running`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Waiting => "waiting",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }
}

vocabulary!(RunPhase, "run phase");

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

impl FailurePolicy {
    /// Every policy.
    pub const ALL: [Self; 2] = [Self::Continue, Self::FailFast];

    /// The snake-case name stored in MySQL and accepted by the API, e.g. `fail_fast`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Continue => "continue",
            Self::FailFast => "fail_fast",
        }
    }
}

vocabulary!(FailurePolicy, "failure policy");

/// When a node may start, judged from its upstream nodes once they are
/// decided (the vocabulary of Airflow's trigger rules).
///
/// An upstream edge is *taken* when its node succeeded and the edge is not a
/// branch the node did not take; *not taken* when its node skipped for a
/// branch or took another branch; *failed* when its node failed, was
/// cancelled or was skipped because of a failure.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Default,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TriggerRule {
    /// Every upstream edge is taken. A failed upstream skips the node at once
    /// (`upstream_failed`), an untaken one skips it for `branch`.
    #[default]
    AllSucceeded,
    /// Every upstream is decided and at least one edge is taken; failures are
    /// tolerated.
    AnySucceeded,
    /// Every upstream is decided, none failed and at least one edge is taken:
    /// the join after a Condition's branches.
    NoneFailedMinOneSuccess,
    /// Every upstream is decided, whatever the outcome: clean-up and reports.
    AllDone,
}

impl TriggerRule {
    /// Every rule.
    pub const ALL: [Self; 4] = [
        Self::AllSucceeded,
        Self::AnySucceeded,
        Self::NoneFailedMinOneSuccess,
        Self::AllDone,
    ];

    /// The snake-case name used in the graph and the API, e.g. `all_done`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AllSucceeded => "all_succeeded",
            Self::AnySucceeded => "any_succeeded",
            Self::NoneFailedMinOneSuccess => "none_failed_min_one_success",
            Self::AllDone => "all_done",
        }
    }

    /// Whether this is the default, so graphs can omit it.
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

vocabulary!(TriggerRule, "trigger rule");

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
    /// The output branch a succeeded Condition or Approval took; edges from
    /// its other branch ports are inactive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// A waiting node's deadline (milliseconds since the Unix epoch): once it
    /// passes, the planner asks the executor to act on it
    /// ([`Action::Expire`](super::Action::Expire)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_until_ms: Option<i64>,
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

    /// Attempt `attempt` started now: everything about the previous attempt is forgotten.
    pub fn start(&mut self, attempt: u32, now_ms: i64) {
        *self = Self {
            phase: NodePhase::Running,
            attempt,
            started_at_ms: Some(now_ms),
            ..Self::default()
        };
    }

    /// The running attempt succeeded.
    pub fn succeed(&mut self, at_ms: i64) {
        self.end(NodePhase::Succeeded, None, None, at_ms);
    }

    /// A branching node succeeded and took `branch`.
    pub fn succeed_on_branch(&mut self, branch: impl Into<String>, at_ms: i64) {
        self.succeed(at_ms);
        self.branch = Some(branch.into());
    }

    /// The started node now waits for a person or a time, optionally until a
    /// deadline; it keeps its attempt and start time.
    pub fn wait(&mut self, until_ms: Option<i64>, message: Option<String>) {
        self.phase = NodePhase::Waiting;
        self.wait_until_ms = until_ms;
        self.message = message;
        self.cancelling = false;
    }

    /// The running attempt failed; the planner decides whether it is retried.
    pub fn fail(&mut self, reason: FailureReason, message: impl Into<String>, at_ms: i64) {
        self.end(NodePhase::Failed, Some(reason), Some(message.into()), at_ms);
    }

    /// The node stopped (or never started) because the run was cancelled.
    pub fn cancel(&mut self, message: Option<String>, at_ms: i64) {
        self.end(
            NodePhase::Cancelled,
            Some(FailureReason::Cancelled),
            message,
            at_ms,
        );
    }

    /// Records how an attempt ended: `Succeeded`, `Failed` with a reason, or
    /// `Cancelled`. A failure reported with reason `cancelled` is a cancel.
    pub fn finish(
        &mut self,
        phase: NodePhase,
        reason: Option<FailureReason>,
        message: Option<String>,
        at_ms: i64,
    ) {
        match (phase, reason) {
            (NodePhase::Succeeded, _) => self.succeed(at_ms),
            (_, Some(FailureReason::Cancelled)) | (NodePhase::Cancelled, _) => {
                self.cancel(message, at_ms)
            }
            (_, reason) => self.end(
                NodePhase::Failed,
                Some(reason.unwrap_or(FailureReason::Error)),
                message,
                at_ms,
            ),
        }
    }

    fn end(
        &mut self,
        phase: NodePhase,
        reason: Option<FailureReason>,
        message: Option<String>,
        at_ms: i64,
    ) {
        self.phase = phase;
        self.reason = reason;
        self.message = message;
        self.retry_not_before_ms = None;
        self.finished_at_ms = Some(at_ms);
        self.cancelling = false;
        self.branch = None;
        self.wait_until_ms = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vocabulary_round_trips_through_its_stored_name() {
        for p in NodePhase::ALL {
            assert_eq!(p.as_str().parse::<NodePhase>(), Ok(p));
        }
        for p in RunPhase::ALL {
            assert_eq!(p.as_str().parse::<RunPhase>(), Ok(p));
        }
        for p in FailurePolicy::ALL {
            assert_eq!(p.as_str().parse::<FailurePolicy>(), Ok(p));
        }
        for r in TriggerRule::ALL {
            assert_eq!(r.as_str().parse::<TriggerRule>(), Ok(r));
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
        for r in FailureReason::ALL {
            assert_eq!(r.as_str().parse::<FailureReason>(), Ok(r));
            // The stored name and the serde name are the same for reasons.
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
        let err = "Running".parse::<RunPhase>().unwrap_err();
        assert_eq!(err.to_string(), "`Running` is not a valid run phase");
    }

    #[test]
    fn terminal_phases_are_decided_in_one_place() {
        let terminal: Vec<_> = NodePhase::ALL
            .into_iter()
            .filter(|p| p.is_terminal())
            .collect();
        assert_eq!(
            terminal,
            [
                NodePhase::Succeeded,
                NodePhase::Failed,
                NodePhase::Skipped,
                NodePhase::Cancelled
            ]
        );
        let unfinished: Vec<_> = RunPhase::ALL
            .into_iter()
            .filter(|p| !p.is_terminal())
            .collect();
        assert_eq!(unfinished, RunPhase::UNFINISHED);
    }

    #[test]
    fn an_attempt_is_started_then_finished_by_the_state_methods() {
        let mut st = NodeState::default();
        st.fail(FailureReason::Timeout, "slow", 5);
        st.retry_not_before_ms = Some(9);
        st.start(2, 10);
        assert_eq!(st.phase, NodePhase::Running);
        assert_eq!((st.attempt, st.started_at_ms), (2, Some(10)));
        assert_eq!((st.reason, st.retry_not_before_ms), (None, None));

        st.cancelling = true;
        st.finish(NodePhase::Failed, Some(FailureReason::Cancelled), None, 20);
        assert_eq!(st.phase, NodePhase::Cancelled);
        assert!(!st.cancelling);
        assert_eq!(st.finished_at_ms, Some(20));

        st.start(3, 30);
        st.finish(NodePhase::Failed, None, Some("boom".into()), 40);
        assert_eq!(st.phase, NodePhase::Failed);
        assert_eq!(st.reason, Some(FailureReason::Error));
        assert_eq!(st.message.as_deref(), Some("boom"));

        st.start(4, 50);
        st.succeed(60);
        assert_eq!(
            (st.phase, st.reason, st.message.clone()),
            (NodePhase::Succeeded, None, None)
        );
        assert_eq!(st.started_at_ms, Some(50), "the start time stays");
    }
}
