//! The task vocabularies and the SLA rule. Each vocabulary has one spelling,
//! its `as_str` name, used in MySQL columns, the API and events; nothing
//! outside this module spells it by hand.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::mysql::{MySql, MySqlTypeInfo, MySqlValueRef};
use sqlx::{Decode, Encode, Type};
use utoipa::ToSchema;

/// A name that is not part of a vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a valid {vocabulary}")]
pub struct UnknownName {
    pub vocabulary: &'static str,
    pub value: String,
}

/// `Display`, `FromStr` and the MySQL text codec through `as_str` and `ALL`,
/// so the spellings can never disagree; an unknown stored name is a decode
/// error rather than a silent default.
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

        impl Type<MySql> for $ty {
            fn type_info() -> MySqlTypeInfo {
                <str as Type<MySql>>::type_info()
            }

            fn compatible(ty: &MySqlTypeInfo) -> bool {
                <str as Type<MySql>>::compatible(ty)
            }
        }

        impl Encode<'_, MySql> for $ty {
            fn encode_by_ref(&self, buf: &mut Vec<u8>) -> Result<IsNull, BoxDynError> {
                <&str as Encode<'_, MySql>>::encode(self.as_str(), buf)
            }
        }

        impl<'r> Decode<'r, MySql> for $ty {
            fn decode(value: MySqlValueRef<'r>) -> Result<Self, BoxDynError> {
                let name = <&str as Decode<'r, MySql>>::decode(value)?;
                Ok(name.parse()?)
            }
        }
    };
}

/// How urgent a task is; each priority may carry an SLA resolution target.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Medium,
    High,
    Critical,
}

impl Priority {
    pub const ALL: [Self; 4] = [Self::Low, Self::Medium, Self::High, Self::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }

    /// Sort rank, most urgent highest.
    pub fn rank(self) -> u8 {
        self as u8
    }
}
vocabulary!(Priority, "priority");

/// Where a task came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// Created by a person.
    Manual,
    /// Created by an import batch (`sourceRefId` is the batch).
    Import,
    /// Created by a workflow run (`sourceRefId` is the run, `sourceNode` the node).
    Workflow,
    /// Created by an approval request (`sourceRefId` is the approval).
    Approval,
}

impl SourceKind {
    pub const ALL: [Self; 4] = [Self::Manual, Self::Import, Self::Workflow, Self::Approval];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Import => "import",
            Self::Workflow => "workflow",
            Self::Approval => "approval",
        }
    }
}
vocabulary!(SourceKind, "task source");

/// Where a task stands against its resolution target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SlaState {
    OnTrack,
    /// At least [`AT_RISK_PERCENT`] of the target has elapsed.
    AtRisk,
    /// The whole target has elapsed.
    Breached,
}

impl SlaState {
    pub const ALL: [Self; 3] = [Self::OnTrack, Self::AtRisk, Self::Breached];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OnTrack => "on_track",
            Self::AtRisk => "at_risk",
            Self::Breached => "breached",
        }
    }
}
vocabulary!(SlaState, "SLA state");

/// The share of the target after which a task is at risk.
pub const AT_RISK_PERCENT: i64 = 80;

/// When an SLA target turns a task at risk and breached. Frozen into the task
/// row when it is created or its priority changes, so a list can filter and
/// sort by SLA state in SQL with the same boundaries as [`sla_state`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaDeadlines {
    pub risk_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
}

impl SlaDeadlines {
    /// Deadlines of a task started at `start` with `target_minutes` to resolve.
    /// Whole seconds: the client recomputes them from the same numbers.
    pub fn new(start: DateTime<Utc>, target_minutes: u32) -> Self {
        let target = i64::from(target_minutes) * 60;
        Self {
            risk_at: start + Duration::seconds(target * AT_RISK_PERCENT / 100),
            due_at: start + Duration::seconds(target),
        }
    }
}

/// The SLA state of a task with `deadlines` at `now`; a completed task is
/// judged at the moment it was completed, so its state stops changing.
/// Boundaries are inclusive: exactly 80 % elapsed is at risk, exactly 100 %
/// is breached.
pub fn sla_state(
    deadlines: Option<SlaDeadlines>,
    completed_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<SlaState> {
    let d = deadlines?;
    let at = completed_at.unwrap_or(now);
    Some(if at >= d.due_at {
        SlaState::Breached
    } else if at >= d.risk_at {
        SlaState::AtRisk
    } else {
        SlaState::OnTrack
    })
}

/// What a notification is about; users choose per kind whether it reaches
/// their inbox and their email.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    Assigned,
    Mentioned,
    /// A watched task changed status.
    StatusChanged,
    SlaAtRisk,
    SlaBreached,
    /// A workflow's Notification node.
    Workflow,
}

impl NotificationKind {
    pub const ALL: [Self; 6] = [
        Self::Assigned,
        Self::Mentioned,
        Self::StatusChanged,
        Self::SlaAtRisk,
        Self::SlaBreached,
        Self::Workflow,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Assigned => "assigned",
            Self::Mentioned => "mentioned",
            Self::StatusChanged => "status_changed",
            Self::SlaAtRisk => "sla_at_risk",
            Self::SlaBreached => "sla_breached",
            Self::Workflow => "workflow",
        }
    }
}
vocabulary!(NotificationKind, "notification kind");

/// Orders of the task list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskSort {
    /// Newest first.
    #[default]
    CreatedDesc,
    CreatedAsc,
    UpdatedDesc,
    /// Soonest due first; tasks without a due date last.
    DueAsc,
    DueDesc,
    /// Most urgent first, then newest.
    PriorityDesc,
    /// Kanban order: status position, then position within the column.
    Board,
    /// Key order (per client, by number).
    Key,
}

impl TaskSort {
    /// The ORDER BY clause; a fixed string per variant, never built from input.
    pub fn order_by(self) -> &'static str {
        match self {
            Self::CreatedDesc => "t.created_at DESC, t.task_id DESC",
            Self::CreatedAsc => "t.created_at ASC, t.task_id ASC",
            Self::UpdatedDesc => "t.updated_at DESC, t.task_id DESC",
            // due_sort is a stored generated column (migration 0016): the due
            // date, or the end of time when there is none.
            Self::DueAsc => "t.due_sort ASC, t.task_id ASC",
            Self::DueDesc => "t.due_at IS NULL, t.due_at DESC, t.task_id DESC",
            Self::PriorityDesc => {
                // priority_rank is a stored generated column (migration 0008)
                // with the same mapping as `Priority::rank`, indexed with created_at.
                "t.priority_rank DESC, t.created_at DESC, t.task_id DESC"
            }
            Self::Board => "s.position ASC, t.position ASC, t.task_id ASC",
            Self::Key => "t.client_id ASC, t.task_number ASC",
        }
    }
}

/// The key prefix of a client's tasks, from the client's username:
/// upper-case letters and digits, at most 10, `T` when none are left.
pub fn key_prefix(username: &str) -> String {
    let p: String = username
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(10)
        .collect::<String>()
        .to_ascii_uppercase();
    if p.is_empty() {
        "T".into()
    } else {
        p
    }
}

/// Usernames mentioned as `@name` in Markdown: an `@` at the start or after a
/// character that cannot be part of an email address, followed by
/// username characters. Deduplicated, in order of first mention.
pub fn mentions(body: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let chars: Vec<char> = body.chars().collect();
    let is_name = |c: char| c.is_alphanumeric() || "._-".contains(c);
    let mut i = 0;
    while i < chars.len() {
        let starts = chars[i] == '@' && (i == 0 || !(chars[i - 1].is_alphanumeric()));
        if starts {
            let mut j = i + 1;
            while j < chars.len() && is_name(chars[j]) {
                j += 1;
            }
            // A trailing '.' or '-' is punctuation, not part of the name.
            let mut end = j;
            while end > i + 1 && matches!(chars[end - 1], '.' | '-') {
                end -= 1;
            }
            if end > i + 1 {
                let name: String = chars[i + 1..end].iter().collect();
                if !out.contains(&name) {
                    out.push(name);
                }
            }
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 1, 6, 9, 0, 0).unwrap()
    }

    #[test]
    fn vocabularies_round_trip_through_their_names() {
        for p in Priority::ALL {
            assert_eq!(p.as_str().parse::<Priority>().unwrap(), p);
            assert_eq!(serde_json::to_value(p).unwrap(), p.as_str());
        }
        for s in SlaState::ALL {
            assert_eq!(s.as_str().parse::<SlaState>().unwrap(), s);
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for k in NotificationKind::ALL {
            assert_eq!(k.as_str().parse::<NotificationKind>().unwrap(), k);
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        for k in SourceKind::ALL {
            assert_eq!(k.as_str().parse::<SourceKind>().unwrap(), k);
        }
        let e = "urgent".parse::<Priority>().unwrap_err();
        assert_eq!(e.to_string(), "`urgent` is not a valid priority");
        assert!(Priority::Critical.rank() > Priority::Low.rank());
    }

    #[test]
    fn sla_boundaries_are_exact() {
        // A four-hour target: at risk from 3h12m, breached from 4h.
        let d = SlaDeadlines::new(t0(), 240);
        let at = |secs: i64| sla_state(Some(d), None, t0() + Duration::seconds(secs));
        assert_eq!(at(0), Some(SlaState::OnTrack));
        assert_eq!(at(3 * 3600 + 12 * 60 - 1), Some(SlaState::OnTrack));
        assert_eq!(at(3 * 3600 + 12 * 60), Some(SlaState::AtRisk));
        assert_eq!(at(4 * 3600 - 1), Some(SlaState::AtRisk));
        assert_eq!(at(4 * 3600), Some(SlaState::Breached));
        assert_eq!(at(30 * 24 * 3600), Some(SlaState::Breached));
    }

    #[test]
    fn a_completed_task_keeps_the_state_it_was_completed_in() {
        let d = SlaDeadlines::new(t0(), 60);
        let done = t0() + Duration::minutes(30);
        let much_later = t0() + Duration::days(3);
        assert_eq!(
            sla_state(Some(d), Some(done), much_later),
            Some(SlaState::OnTrack)
        );
        let late = t0() + Duration::minutes(60);
        assert_eq!(
            sla_state(Some(d), Some(late), much_later),
            Some(SlaState::Breached)
        );
    }

    #[test]
    fn no_target_means_no_sla_state() {
        assert_eq!(sla_state(None, None, t0()), None);
    }

    #[test]
    fn key_prefixes_come_from_the_username() {
        assert_eq!(key_prefix("acme"), "ACME");
        assert_eq!(key_prefix("acme-corp.eu"), "ACMECORPEU");
        assert_eq!(key_prefix("a.very.long.client.name"), "AVERYLONGC");
        assert_eq!(key_prefix("ü-ö"), "T");
    }

    #[test]
    fn mentions_are_found_but_email_addresses_are_not() {
        assert_eq!(
            mentions("@mia please look, cc @carl. Mail bob@example.com @mia"),
            ["mia", "carl"]
        );
        assert_eq!(mentions("(@max-) and `@ana_b`"), ["max", "ana_b"]);
        assert!(mentions("@ alone, email@host").is_empty());
    }
}
