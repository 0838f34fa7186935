//! Request and response bodies of the run endpoints, and the run view
//! assembled from the stored run and its attempts.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, TimeZone, Utc};
use katalusis_crds::plan::FailurePolicy;
use katalusis_crds::TemplateRef;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::db;
use crate::error::ApiError;
use crate::http::extract::CountMode;
use crate::state::AppState;

#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunMode {
    /// Answer 202 with the run id at once.
    #[default]
    Async,
    /// Wait for the run to finish (up to the server's bound), then answer with it.
    Sync,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FailurePolicyBody {
    /// Skip what depends on a failed node; independent branches keep running.
    #[default]
    Continue,
    /// Cancel everything once a node failed for good.
    FailFast,
}

impl From<FailurePolicyBody> for FailurePolicy {
    fn from(p: FailurePolicyBody) -> Self {
        match p {
            FailurePolicyBody::Continue => Self::Continue,
            FailurePolicyBody::FailFast => Self::FailFast,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartRun {
    #[serde(default)]
    pub mode: RunMode,
    /// Input values by node id and input port, replacing the nodes' literal inputs.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub inputs: BTreeMap<String, BTreeMap<String, Value>>,
    #[serde(default)]
    pub failure_policy: FailurePolicyBody,
    /// Whether the client sees the run (default true). The editor's "Test run"
    /// sends false; a manager can publish it later (`PATCH /api/runs/{id}`).
    pub published: Option<bool>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunStarted {
    pub id: u64,
    pub status: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateRun {
    pub published: Option<bool>,
    pub logs_visible_to_client: Option<bool>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeExecution {
    pub attempt: u32,
    pub status: String,
    pub reason: Option<String>,
    pub message: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    /// Output values by port; files appear as `{"$file": {id, name, size, sha256, contentType}}`.
    #[schema(value_type = Object)]
    pub outputs: Option<Value>,
    pub output_bytes: Option<i64>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunNode {
    pub id: String,
    pub template: TemplateRef,
    pub status: String,
    pub attempt: u32,
    pub reason: Option<String>,
    pub message: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// 1-based place among the ready nodes waiting for a free slot.
    pub queue_position: Option<usize>,
    /// The branch a Condition took (`true`/`false`).
    pub branch: Option<String>,
    /// When a waiting node's wait ends, if it waits for a time.
    pub wait_until: Option<DateTime<Utc>>,
    /// Every attempt, oldest first.
    pub executions: Vec<NodeExecution>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    pub id: u64,
    pub workflow_id: u64,
    /// The workflow's current name and description (what the client reads as
    /// "what is this result").
    pub workflow_name: String,
    pub workflow_description: String,
    pub workflow_revision: u32,
    pub client_id: u64,
    pub started_by: u64,
    pub status: String,
    pub failure_policy: String,
    pub cancel_requested: bool,
    pub published: bool,
    pub logs_visible_to_client: bool,
    pub message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub nodes: Vec<RunNode>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    pub id: u64,
    pub workflow_id: u64,
    pub workflow_name: String,
    pub workflow_description: String,
    pub workflow_revision: u32,
    pub client_id: u64,
    pub started_by: u64,
    pub status: String,
    pub published: bool,
    pub message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Nodes in the run's graph (absent for runs recorded before this was stored).
    pub node_count: Option<u32>,
    /// Nodes that ended failed.
    pub failed_nodes: Option<u32>,
    /// Failed nodes by failure reason (`timeout`, `memory`, `error`, …).
    pub failure_reasons: Option<BTreeMap<String, u32>>,
    /// From start to finish (or to now for a running run), in milliseconds.
    pub duration_ms: Option<i64>,
}

/// The run statuses, named as the list filter accepts them.
fn run_phase_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(
            katalusis_crds::plan::RunPhase::ALL
                .iter()
                .map(|p| p.as_str()),
        ))
        .build()
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListRuns {
    pub workflow_id: Option<u64>,
    pub client_id: Option<u64>,
    /// Only runs started by this user (a manager or an admin).
    pub started_by: Option<u64>,
    /// A run status; empty means any.
    #[param(schema_with = run_phase_schema)]
    pub status: Option<String>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    /// Page number (OFFSET paging, answers with `total` unless `count=none`); prefer `after`.
    pub page: Option<u32>,
    pub per_page: Option<u32>,
    /// The `nextCursor` of the previous page.
    pub after: Option<String>,
    /// `exact` to get `total` without page numbers; `none` for no `total`
    /// with page numbers.
    #[param(inline)]
    pub count: Option<CountMode>,
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    /// Only lines of this attempt (default: all attempts).
    pub attempt: Option<u32>,
    /// Only lines after this sequence number (the `next` of the previous page).
    pub after: Option<u64>,
    #[param(minimum = 1, maximum = 5000)]
    pub limit: Option<u32>,
    /// Answer with a Server-Sent Events stream of this node's log lines
    /// (replayed from the start, or after `Last-Event-ID`) that ends with the run.
    pub follow: Option<bool>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogLineView {
    pub seq: u64,
    pub attempt: u32,
    pub ts: DateTime<Utc>,
    pub level: String,
    pub stream: String,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogPage {
    pub items: Vec<LogLineView>,
    /// Pass as `after` to read on; absent when this page was not full.
    pub next: Option<u64>,
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OutputQuery {
    /// Attempt to read (default: the latest succeeded attempt).
    pub attempt: Option<u32>,
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Same as the `Last-Event-ID` header, for clients that cannot set headers.
    pub last_event_id: Option<u64>,
}

fn ms(t: Option<i64>) -> Option<DateTime<Utc>> {
    t.and_then(|t| Utc.timestamp_millis_opt(t).single())
}

pub(super) async fn view(state: &AppState, row: db::runs::Row) -> Result<Run, ApiError> {
    let states = &row.node_states;
    let queued = row.queued.unwrap_or_default();
    let mut execs: HashMap<String, Vec<NodeExecution>> = HashMap::new();
    for e in db::runs::executions(&state.db, row.run_id).await? {
        execs.entry(e.node_id).or_default().push(NodeExecution {
            attempt: e.attempt,
            status: e.status.as_str().to_owned(),
            reason: e.reason.map(|r| r.as_str().to_owned()),
            message: e.message,
            started_at: e.started_at,
            finished_at: e.finished_at,
            duration_ms: e.duration_ms,
            outputs: e.outputs.map(Value::Object),
            output_bytes: e.output_bytes,
        });
    }
    let nodes = row
        .snapshot
        .graph
        .nodes
        .iter()
        .map(|n| {
            let st = states.get(&n.id).cloned().unwrap_or_default();
            RunNode {
                id: n.id.clone(),
                template: n.template.clone(),
                status: st.phase.as_str().to_owned(),
                attempt: st.attempt,
                reason: st.reason.map(|r| r.as_str().to_string()),
                message: st.message,
                started_at: ms(st.started_at_ms),
                finished_at: ms(st.finished_at_ms),
                queue_position: queued.iter().position(|q| q == &n.id).map(|i| i + 1),
                branch: st.branch,
                wait_until: ms(st.wait_until_ms),
                executions: execs.remove(&n.id).unwrap_or_default(),
            }
        })
        .collect();
    let (workflow_name, workflow_description) = db::workflows::names(&state.db, &[row.workflow_id])
        .await?
        .remove(&row.workflow_id)
        .unwrap_or_default();
    Ok(Run {
        id: row.run_id,
        workflow_id: row.workflow_id,
        workflow_name,
        workflow_description,
        workflow_revision: row.workflow_revision,
        client_id: row.client_id,
        started_by: row.started_by,
        status: row.status.as_str().to_owned(),
        failure_policy: row.failure_policy.as_str().to_owned(),
        cancel_requested: row.cancel_requested,
        published: row.published,
        logs_visible_to_client: row.logs_visible_to_client,
        message: row.message,
        created_at: row.created_at,
        started_at: row.started_at,
        finished_at: row.finished_at,
        nodes,
    })
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DashboardQuery {
    /// Close the stream after this many seconds (default: stay open).
    pub close_after_seconds: Option<u64>,
}
