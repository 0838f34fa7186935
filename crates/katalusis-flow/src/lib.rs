//! Flow-control nodes the platform executes itself, without a sandboxed
//! process: the decision a Condition takes, the time a Wait ends and the rules of
//! an Approval.
//!
//! Pure functions of a node's parameters and inputs, so the local executor
//! and the Kubernetes operator store identical results for them.

mod approval;
mod condition;
mod notify;
mod query;
mod schedule;
mod task;
mod wait;

pub use approval::{
    decision_outputs, ApprovalError, ApprovalSpec, ApprovalStatus, Decider, TimeoutPolicy,
    TimeoutStep, Verdict, MAX_COMMENT_CHARS,
};
pub use condition::{switch_port, Condition, ConditionError, Decision, SWITCH_PORTS};
pub use notify::{
    render, render_plain, webhook_allowed, webhook_payload, NotifyError, NotifySpec, Rendered,
};
pub use query::{
    bound_params, identifier, map_rows, write_documents, write_statements, Decimals, Field,
    FieldType, Flavor, Mapped, Operation, QueryNodeError, QuerySpec, Statement, WriteColumn,
    FIELD_PORTS,
};
pub use schedule::{Due, MissedPolicy, Schedule, ScheduleError, GRACE_SECONDS};
pub use task::{TaskNodeError, TaskNodeSpec};
pub use wait::{wait_until_ms, WaitError};
