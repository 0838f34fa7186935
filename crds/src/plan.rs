//! The run planner: a pure, synchronous function that decides what an executor
//! should do next with one run.
//!
//! Both executors (the local process executor and the Kubernetes operator) call
//! [`plan`] after every change they observe, apply the returned [`Action`]s and
//! record node outcomes in the node state map. The planner performs no I/O and
//! keeps no state of its own: everything it needs is in [`PlanInput`], so the
//! same input always yields the same [`Plan`], and calling it again after the
//! actions were applied never repeats a `Start`.

#[cfg(feature = "sqlx")]
mod codec;
mod graph;
mod planner;
mod state;

#[cfg(test)]
mod fixture;
#[cfg(test)]
mod flow_tests;
#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;

pub use graph::{BranchEdge, PlanGraph, PlanGraphError, PlanNode, RetryPolicy};
pub use planner::{apply_action, plan, run_phase, Action, Plan, PlanInput};
pub use state::{
    FailurePolicy, FailureReason, NodePhase, NodeState, RunPhase, TriggerRule, UnknownName,
};
