//! The trigger vocabularies and each kind's settings.

use std::collections::BTreeMap;

use katalusis_flow::MissedPolicy;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// Run inputs by node id and input port.
pub type RunInputs = BTreeMap<String, BTreeMap<String, Value>>;

/// What a firing came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FiringOutcome {
    /// A run was started.
    Started,
    /// Starting the run failed (the message says why).
    Failed,
    /// Schedule instants passed over while the server was down.
    Skipped,
    /// A webhook call was refused (bad signature or body).
    Refused,
}

impl FiringOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Started => "started",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
            Self::Refused => "refused",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Started, Self::Failed, Self::Skipped, Self::Refused]
            .into_iter()
            .find(|o| o.as_str() == s)
    }
}

/// The events an event trigger can start a run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A task of the workflow's client was created.
    TaskCreated,
    /// A task of the workflow's client reached `status` (once per task and status).
    TaskStatusChanged,
    /// A run of `sourceWorkflowId` (same client) ended, optionally with `status`.
    RunFinished,
    /// A task import into the workflow's client finished, optionally with
    /// `status` (`applied` or `failed`).
    ImportFinished,
}

/// A schedule: a cron expression in a time zone.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScheduleConfig {
    /// Five fields (minute, hour, day of month, month, day of week) or six
    /// with seconds first, e.g. `0 9 * * MON-FRI`.
    #[schema(max_length = 200)]
    pub cron: String,
    /// An IANA zone name, e.g. `Europe/Berlin`.
    #[schema(max_length = 64)]
    pub timezone: String,
    #[serde(default)]
    pub missed: MissedPolicy,
    /// Inputs of each run, by node id and port.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub inputs: RunInputs,
}

/// A webhook: a secret URL whose JSON body becomes run inputs.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookConfig {
    /// `node.port` → a JSON pointer into the body (`""` is the whole body).
    #[serde(default)]
    pub inputs: BTreeMap<String, String>,
    /// Require `X-Katalusis-Signature: sha256=<hex HMAC-SHA256 of the body>`.
    #[serde(default)]
    pub signed: bool,
    /// Calls accepted per minute; more answer 429.
    #[serde(default = "default_rate")]
    #[schema(minimum = 1, maximum = 600)]
    pub rate_per_minute: u32,
}

fn default_rate() -> u32 {
    60
}

/// An event: start a run when something happens in the workflow's client.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventConfig {
    pub on: EventKind,
    /// Task status name (required for `task_status_changed`), run status
    /// (`succeeded`, `failed`, `cancelled`) for `run_finished`, or
    /// `applied` / `failed` for `import_finished`.
    pub status: Option<String>,
    /// The workflow whose runs are watched (`run_finished`).
    pub source_workflow_id: Option<u64>,
    /// `node.port` that receives the event as JSON.
    pub input: Option<String>,
}

/// A trigger's kind and settings.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TriggerConfig {
    Schedule(ScheduleConfig),
    Webhook(WebhookConfig),
    Event(EventConfig),
}

impl TriggerConfig {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Schedule(_) => "schedule",
            Self::Webhook(_) => "webhook",
            Self::Event(_) => "event",
        }
    }
}

/// Splits `node.port`.
pub fn node_port(s: &str) -> Option<(&str, &str)> {
    s.split_once('.')
        .filter(|(n, p)| !n.is_empty() && !p.is_empty())
}
