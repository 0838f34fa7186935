//! Flow-control nodes the platform executes itself, without a sandboxed
//! process: the decision a Condition takes and the time a Wait ends.
//!
//! Pure functions of a node's parameters and inputs, so the local executor
//! and the Kubernetes operator store identical results for them.

mod condition;
mod wait;

pub use condition::{Condition, ConditionError, Decision};
pub use wait::{wait_until_ms, WaitError};
