//! Approval: who may decide, what a timeout does, and the outputs a
//! decision produces. The platform keeps the approval itself (a row and a
//! task); this module holds the rules both executors share.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// Longest timeout accepted (one year).
pub const MAX_TIMEOUT_SECONDS: i64 = 366 * 24 * 3600;
/// Longest decision comment, in characters.
pub const MAX_COMMENT_CHARS: usize = 10_000;
/// Most people named on one approval (approvers plus escalation).
pub const MAX_PEOPLE: usize = 50;

/// What an approver decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Approve,
    Reject,
}

impl Verdict {
    /// The output branch the verdict takes.
    pub fn branch(self) -> &'static str {
        match self {
            Self::Approve => "approved",
            Self::Reject => "rejected",
        }
    }
}

/// Where an approval stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalStatus {
    /// Waiting for a decision.
    Pending,
    Approved,
    Rejected,
    /// The run was cancelled (or the node gave up) before anyone decided.
    Cancelled,
}

impl ApprovalStatus {
    pub const ALL: [Self; 4] = [
        Self::Pending,
        Self::Approved,
        Self::Rejected,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// The status a verdict leads to.
    pub fn of(verdict: Verdict) -> Self {
        match verdict {
            Verdict::Approve => Self::Approved,
            Verdict::Reject => Self::Rejected,
        }
    }

    /// The verdict of a decided approval.
    pub fn verdict(self) -> Option<Verdict> {
        match self {
            Self::Approved => Some(Verdict::Approve),
            Self::Rejected => Some(Verdict::Reject),
            Self::Pending | Self::Cancelled => None,
        }
    }
}

/// What happens when nobody decided in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimeoutPolicy {
    Reject,
    Approve,
    /// Hand the approval to the escalation approvers for another timeout;
    /// if they do not decide either, it is rejected.
    Escalate,
}

impl TimeoutPolicy {
    pub const ALL: [Self; 3] = [Self::Reject, Self::Approve, Self::Escalate];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reject => "reject",
            Self::Approve => "approve",
            Self::Escalate => "escalate",
        }
    }
}

/// What a passed deadline does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutStep {
    /// Decide on the approvers' behalf.
    Decide(Verdict),
    /// Add the escalation approvers and wait another timeout.
    Escalate,
}

/// An Approval node's parameters, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalSpec {
    /// The task's title.
    pub title: String,
    /// Usernames or emails of the approvers.
    pub approvers: Vec<String>,
    /// Whether every manager of the run's client may decide too.
    pub client_managers: bool,
    /// Seconds until the timeout policy applies; `None` waits forever.
    pub timeout_seconds: Option<i64>,
    pub on_timeout: TimeoutPolicy,
    /// Usernames or emails who get the approval when it escalates.
    pub escalate_to: Vec<String>,
}

/// Why an Approval node's parameters cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApprovalError {
    #[error("name at least one approver, or let the client's managers decide")]
    NoApprovers,
    #[error("`timeoutSeconds` must be a whole number between 0 and {MAX_TIMEOUT_SECONDS}")]
    Timeout,
    #[error("`onTimeout` must be one of reject, approve, escalate")]
    Policy,
    #[error("escalating needs a timeout and at least one person in `escalateTo`")]
    Escalation,
    #[error("at most {MAX_PEOPLE} people may be named")]
    TooMany,
}

/// Splits a comma-, semicolon- or whitespace-separated list of names.
fn names(v: Option<&Value>) -> Vec<String> {
    let mut out: Vec<String> = match v {
        Some(Value::String(s)) => s
            .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    out.sort_unstable_by_key(|s| s.to_lowercase());
    out.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    out
}

impl ApprovalSpec {
    /// Reads the node's parameters (defaults already applied by the caller).
    pub fn from_params(params: &BTreeMap<String, Value>) -> Result<Self, ApprovalError> {
        let approvers = names(params.get("approvers"));
        let client_managers = params
            .get("clientManagers")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if approvers.is_empty() && !client_managers {
            return Err(ApprovalError::NoApprovers);
        }
        let timeout_seconds = match params.get("timeoutSeconds") {
            None | Some(Value::Null) => None,
            Some(v) => {
                let s = v
                    .as_f64()
                    .filter(|s| s.fract() == 0.0 && (0.0..=MAX_TIMEOUT_SECONDS as f64).contains(s))
                    .ok_or(ApprovalError::Timeout)? as i64;
                (s > 0).then_some(s)
            }
        };
        let on_timeout = match params.get("onTimeout").and_then(Value::as_str) {
            None | Some("") => TimeoutPolicy::Reject,
            Some(s) => TimeoutPolicy::ALL
                .into_iter()
                .find(|p| p.as_str() == s)
                .ok_or(ApprovalError::Policy)?,
        };
        let escalate_to = names(params.get("escalateTo"));
        if on_timeout == TimeoutPolicy::Escalate
            && (escalate_to.is_empty() || timeout_seconds.is_none())
        {
            return Err(ApprovalError::Escalation);
        }
        if approvers.len() + escalate_to.len() > MAX_PEOPLE {
            return Err(ApprovalError::TooMany);
        }
        let title = params
            .get("title")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .unwrap_or("Approval needed")
            .to_owned();
        Ok(Self {
            title,
            approvers,
            client_managers,
            timeout_seconds,
            on_timeout,
            escalate_to,
        })
    }

    /// The deadline of a wait that starts at `from_ms`.
    pub fn deadline_ms(&self, from_ms: i64) -> Option<i64> {
        self.timeout_seconds.map(|s| from_ms + s * 1000)
    }

    /// What the deadline passing does, given whether it already escalated.
    pub fn on_deadline(&self, escalated: bool) -> TimeoutStep {
        match self.on_timeout {
            TimeoutPolicy::Reject => TimeoutStep::Decide(Verdict::Reject),
            TimeoutPolicy::Approve => TimeoutStep::Decide(Verdict::Approve),
            TimeoutPolicy::Escalate if escalated => TimeoutStep::Decide(Verdict::Reject),
            TimeoutPolicy::Escalate => TimeoutStep::Escalate,
        }
    }
}

/// Who decided, as the node's outputs name them.
#[derive(Debug, Clone, PartialEq)]
pub enum Decider {
    Person(String),
    /// The timeout policy decided.
    Timeout,
}

/// The outputs of a decided approval: the reviewed value on the branch the
/// verdict takes, and the decision itself on `decision`.
pub fn decision_outputs(
    verdict: Verdict,
    value: Value,
    comment: Option<&str>,
    decider: &Decider,
    decided_at: &str,
) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert(verdict.branch().to_owned(), value);
    let (by, via) = match decider {
        Decider::Person(name) => (Value::String(name.clone()), "person"),
        Decider::Timeout => (Value::Null, "timeout"),
    };
    out.insert(
        "decision".to_owned(),
        json!({
            "verdict": verdict,
            "comment": comment,
            "decidedBy": by,
            "via": via,
            "decidedAt": decided_at,
        }),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(v: Value) -> BTreeMap<String, Value> {
        serde_json::from_value(v).expect("params")
    }

    #[test]
    fn names_are_split_trimmed_and_deduplicated_ignoring_case() {
        let spec = ApprovalSpec::from_params(&params(
            json!({"approvers": " ana, Bob;bob  carol@example.com ,"}),
        ))
        .expect("spec");
        assert_eq!(spec.approvers, ["ana", "Bob", "carol@example.com"]);
        assert_eq!(spec.on_timeout, TimeoutPolicy::Reject);
        assert_eq!(spec.timeout_seconds, None);
        assert_eq!(spec.title, "Approval needed");
    }

    #[test]
    fn somebody_must_be_able_to_decide() {
        assert_eq!(
            ApprovalSpec::from_params(&params(json!({"approvers": " , "}))),
            Err(ApprovalError::NoApprovers)
        );
        let spec = ApprovalSpec::from_params(&params(json!({"clientManagers": true})))
            .expect("managers decide");
        assert!(spec.approvers.is_empty());
    }

    #[test]
    fn escalation_needs_a_timeout_and_people() {
        for p in [
            json!({"approvers": "a", "onTimeout": "escalate", "escalateTo": "b"}),
            json!({"approvers": "a", "onTimeout": "escalate", "timeoutSeconds": 60}),
        ] {
            assert_eq!(
                ApprovalSpec::from_params(&params(p)),
                Err(ApprovalError::Escalation)
            );
        }
        let spec = ApprovalSpec::from_params(&params(json!({
            "approvers": "a", "onTimeout": "escalate", "timeoutSeconds": 60, "escalateTo": "b"
        })))
        .expect("spec");
        assert_eq!(spec.on_deadline(false), TimeoutStep::Escalate);
        assert_eq!(spec.on_deadline(true), TimeoutStep::Decide(Verdict::Reject));
        assert_eq!(spec.deadline_ms(1_000), Some(61_000));
    }

    #[test]
    fn timeouts_are_whole_bounded_seconds_and_zero_means_none() {
        for bad in [json!(-1), json!(1.5), json!("60"), json!(1e12)] {
            assert_eq!(
                ApprovalSpec::from_params(&params(
                    json!({"approvers": "a", "timeoutSeconds": bad})
                )),
                Err(ApprovalError::Timeout),
            );
        }
        let spec =
            ApprovalSpec::from_params(&params(json!({"approvers": "a", "timeoutSeconds": 0})))
                .expect("spec");
        assert_eq!(spec.deadline_ms(5), None);
        assert_eq!(
            ApprovalSpec::from_params(&params(json!({"approvers": "a", "onTimeout": "later"}))),
            Err(ApprovalError::Policy)
        );
    }

    #[test]
    fn policies_decide_on_the_approvers_behalf() {
        for (policy, verdict) in [("reject", Verdict::Reject), ("approve", Verdict::Approve)] {
            let spec = ApprovalSpec::from_params(&params(
                json!({"approvers": "a", "timeoutSeconds": 5, "onTimeout": policy}),
            ))
            .expect("spec");
            assert_eq!(spec.on_deadline(false), TimeoutStep::Decide(verdict));
        }
    }

    #[test]
    fn outputs_carry_the_value_on_the_taken_branch_and_the_decision() {
        let out = decision_outputs(
            Verdict::Reject,
            json!({"amount": 5}),
            Some("too much"),
            &Decider::Person("ana".into()),
            "2026-11-30T10:00:00Z",
        );
        assert_eq!(out["rejected"], json!({"amount": 5}));
        assert!(!out.contains_key("approved"));
        assert_eq!(out["decision"]["verdict"], "reject");
        assert_eq!(out["decision"]["decidedBy"], "ana");
        assert_eq!(out["decision"]["via"], "person");
        let out = decision_outputs(Verdict::Approve, Value::Null, None, &Decider::Timeout, "t");
        assert_eq!(out["decision"]["via"], "timeout");
        assert!(out["decision"]["decidedBy"].is_null());
        assert_eq!(
            ApprovalStatus::of(Verdict::Approve).verdict(),
            Some(Verdict::Approve)
        );
    }
}
