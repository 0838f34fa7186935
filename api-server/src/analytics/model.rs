//! The analytics vocabularies (metric groups), the validated query and the
//! answer shapes.

use std::collections::BTreeSet;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use katalusis_analytics::{parse_tz, Bucket, Percentiles, Preset, Tz, Window, WindowError};
use katalusis_crds::FieldError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::tasks::model::Priority;

/// Metric groups of `GET /api/analytics/tasks`; each is one or two queries,
/// so a chart asks only for what it draws.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TaskGroup {
    /// Created vs completed per bucket, completion rate.
    Throughput,
    /// Open tasks now, by status and by priority.
    Open,
    /// Cumulative flow: arrived and done per bucket end.
    Flow,
    /// Cycle time percentiles and the scatter of completed tasks.
    Cycle,
    /// Open tasks by age band and status; the oldest ones.
    Aging,
    /// SLA breach rate (by priority, by client), breached and at-risk now.
    Sla,
    /// Completed and open per assignee, reassignments.
    People,
    /// Import rows applied and their error rate.
    Imports,
}

impl TaskGroup {
    pub const ALL: [Self; 8] = [
        Self::Throughput,
        Self::Open,
        Self::Flow,
        Self::Cycle,
        Self::Aging,
        Self::Sla,
        Self::People,
        Self::Imports,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Throughput => "throughput",
            Self::Open => "open",
            Self::Flow => "flow",
            Self::Cycle => "cycle",
            Self::Aging => "aging",
            Self::Sla => "sla",
            Self::People => "people",
            Self::Imports => "imports",
        }
    }
}

/// Metric groups of `GET /api/analytics/runs`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RunGroup {
    /// Runs per bucket by status, success rate.
    Volume,
    /// Per workflow: runs, success rate, duration p50/p95.
    Workflows,
    /// Per node: executions, failures, duration p50/p95; the most failing.
    Nodes,
    /// Failed node attempts by reason.
    Failures,
    /// Time from a run's creation to its start.
    Queue,
    /// Runs per local hour of day.
    Hours,
}

impl RunGroup {
    pub const ALL: [Self; 6] = [
        Self::Volume,
        Self::Workflows,
        Self::Nodes,
        Self::Failures,
        Self::Queue,
        Self::Hours,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Volume => "volume",
            Self::Workflows => "workflows",
            Self::Nodes => "nodes",
            Self::Failures => "failures",
            Self::Queue => "queue",
            Self::Hours => "hours",
        }
    }
}

macro_rules! group_from_str {
    ($t:ty) => {
        impl FromStr for $t {
            type Err = ();
            fn from_str(s: &str) -> Result<Self, ()> {
                Self::ALL.into_iter().find(|g| g.as_str() == s).ok_or(())
            }
        }
    };
}
group_from_str!(TaskGroup);
group_from_str!(RunGroup);

/// The query of both endpoints, as typed; every value is checked by
/// [`Request::parse`] so a bad one answers 422 naming its field.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AnalyticsQuery {
    /// First local day (`YYYY-MM-DD`), with `to`.
    #[param(format = Date)]
    pub from: Option<String>,
    /// Last local day, inclusive (`YYYY-MM-DD`), with `from`.
    #[param(format = Date)]
    pub to: Option<String>,
    /// `7d`, `30d` (the default without `from`/`to`), `90d` or `365d`: the
    /// last N local days including today.
    #[param(schema_with = preset_schema)]
    pub range: Option<String>,
    /// `day` (default) or `week` (ISO weeks; the range widens to whole weeks).
    #[param(schema_with = bucket_schema)]
    pub bucket: Option<String>,
    /// IANA time zone of the days and hours (default `UTC`).
    #[param(pattern = r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$")]
    pub tz: Option<String>,
    #[param(value_type = Option<u64>, minimum = 1)]
    pub client_id: Option<String>,
    /// Tasks only: tasks assigned to this user.
    #[param(value_type = Option<u64>, minimum = 1)]
    pub assignee_id: Option<String>,
    /// Runs of this workflow; for tasks, tasks created by its runs.
    #[param(value_type = Option<u64>, minimum = 1)]
    pub workflow_id: Option<String>,
    /// Metric groups, comma-separated (default: all of the endpoint's).
    pub groups: Option<String>,
}

/// The names the parser accepts, from the same enums, so the document
/// cannot drift from it.
fn name_schema(names: impl IntoIterator<Item = &'static str>) -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(names))
        .build()
}

fn preset_schema() -> utoipa::openapi::Object {
    name_schema(Preset::ALL.map(Preset::as_str))
}

fn bucket_schema() -> utoipa::openapi::Object {
    name_schema(Bucket::ALL.map(Bucket::as_str))
}

/// Filters shared by every query of a request.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filters {
    pub client_id: Option<u64>,
    pub assignee_id: Option<u64>,
    pub workflow_id: Option<u64>,
}

/// A validated request.
#[derive(Debug, Clone)]
pub struct Request<G> {
    pub window: Window,
    pub filters: Filters,
    pub groups: BTreeSet<G>,
    pub now: DateTime<Utc>,
}

fn id(field: &str, v: &Option<String>, errs: &mut Vec<FieldError>) -> Option<u64> {
    let v = v.as_deref()?;
    match v.trim().parse::<u64>() {
        Ok(n) if n > 0 => Some(n),
        _ => {
            errs.push(FieldError::new(field, format!("`{v}` is not an id")));
            None
        }
    }
}

fn date(field: &str, v: &Option<String>, errs: &mut Vec<FieldError>) -> Option<NaiveDate> {
    let v = v.as_deref()?;
    match NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            errs.push(FieldError::new(
                field,
                format!("`{v}` is not a date (YYYY-MM-DD)"),
            ));
            None
        }
    }
}

impl AnalyticsQuery {
    /// Validates everything at once, so one answer lists every bad field.
    pub fn parse<G: FromStr + Ord + Copy>(
        &self,
        all: &[G],
        group_name: impl Fn(G) -> &'static str,
        now: DateTime<Utc>,
    ) -> Result<Request<G>, Vec<FieldError>> {
        let mut errs = Vec::new();
        let tz = match self.tz.as_deref() {
            None => Some(Tz::UTC),
            Some(s) => match parse_tz(s) {
                Ok(tz) => Some(tz),
                Err(e) => {
                    errs.push(FieldError::new("tz", e.to_string()));
                    None
                }
            },
        };
        let bucket = match self.bucket.as_deref().map(Bucket::from_str) {
            None => Some(Bucket::Day),
            Some(Ok(b)) => Some(b),
            Some(Err(e)) => {
                errs.push(FieldError::new("bucket", e.to_string()));
                None
            }
        };
        let preset = match self.range.as_deref().map(Preset::from_str) {
            None => None,
            Some(Ok(p)) => Some(p),
            Some(Err(e)) => {
                errs.push(FieldError::new("range", e.to_string()));
                None
            }
        };
        let from = date("from", &self.from, &mut errs);
        let to = date("to", &self.to, &mut errs);
        let filters = Filters {
            client_id: id("clientId", &self.client_id, &mut errs),
            assignee_id: id("assigneeId", &self.assignee_id, &mut errs),
            workflow_id: id("workflowId", &self.workflow_id, &mut errs),
        };
        let mut groups = BTreeSet::new();
        match self.groups.as_deref() {
            None => groups.extend(all.iter().copied()),
            Some(list) => {
                for g in list.split(',').map(str::trim).filter(|g| !g.is_empty()) {
                    match g.parse::<G>() {
                        Ok(g) => {
                            groups.insert(g);
                        }
                        Err(_) => {
                            let names: Vec<&str> = all.iter().map(|g| group_name(*g)).collect();
                            errs.push(FieldError::new(
                                "groups",
                                format!("`{g}` is not a metric group: use {}", names.join(", ")),
                            ));
                        }
                    }
                }
                if groups.is_empty() && errs.is_empty() {
                    errs.push(FieldError::new("groups", "name at least one metric group"));
                }
            }
        }
        let (Some(tz), Some(bucket)) = (tz, bucket) else {
            return Err(errs);
        };
        if !errs.is_empty() {
            return Err(errs);
        }
        let window = match (
            preset,
            self.from.as_deref().is_some(),
            self.to.as_deref().is_some(),
            from,
            to,
        ) {
            (Some(_), true, _, _, _) | (Some(_), _, true, _, _) => Err(WindowError::Both),
            (Some(p), _, _, _, _) => Window::preset(p, now, bucket, tz),
            (None, false, false, _, _) => Window::preset(Preset::Last30Days, now, bucket, tz),
            (None, _, _, Some(f), Some(t)) => Window::new(f, t, bucket, tz),
            _ => Err(WindowError::HalfOpen),
        };
        match window {
            Ok(window) => Ok(Request {
                window,
                filters,
                groups,
                now,
            }),
            Err(e) => {
                let field = match e {
                    WindowError::Both | WindowError::Preset(_) => "range",
                    WindowError::HalfOpen if self.from.as_deref().is_none() => "from",
                    _ => "to",
                };
                Err(vec![FieldError::new(field, e.to_string())])
            }
        }
    }
}

/// The window an answer covers.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WindowView {
    /// First local day.
    pub from: NaiveDate,
    /// Last local day (inclusive).
    pub to: NaiveDate,
    pub bucket: String,
    pub tz: String,
    /// The window's first instant (UTC, inclusive).
    pub start: DateTime<Utc>,
    /// The window's end (UTC, exclusive).
    pub end: DateTime<Utc>,
    /// The first local day of each bucket; every per-bucket array has this length.
    pub buckets: Vec<String>,
    /// When the numbers were computed; "now" for the snapshot metrics.
    pub generated_at: DateTime<Utc>,
}

impl WindowView {
    pub fn of(w: &Window, now: DateTime<Utc>) -> Self {
        Self {
            from: w.first_day(),
            to: w.last_day(),
            bucket: w.bucket().as_str().into(),
            tz: w.tz().name().into(),
            start: w.start(),
            end: w.end(),
            buckets: w.labels(),
            generated_at: now,
        }
    }
}

/// Percentiles by nearest rank (a value that was observed).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Quantiles {
    pub count: u64,
    pub p50: Option<f64>,
    pub p85: Option<f64>,
    pub p95: Option<f64>,
}

impl From<Percentiles> for Quantiles {
    fn from(p: Percentiles) -> Self {
        Self {
            count: p.count,
            p50: p.p50,
            p85: p.p85,
            p95: p.p95,
        }
    }
}

// ---------------------------------------------------------------- tasks

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskAnalytics {
    pub window: WindowView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throughput: Option<Throughput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open: Option<OpenTasks>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow: Option<CumulativeFlow>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cycle: Option<CycleTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aging: Option<Aging>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sla: Option<SlaMetrics>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub people: Option<People>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imports: Option<Imports>,
    /// Metrics the dashboard would like but the database does not store.
    pub not_stored: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Throughput {
    /// Tasks created per bucket.
    pub created: Vec<u64>,
    /// Tasks completed per bucket (by their current completion time).
    pub completed: Vec<u64>,
    pub created_total: u64,
    pub completed_total: u64,
    /// Of the tasks created in the window, how many are completed now.
    pub created_and_completed: u64,
    /// `createdAndCompleted / createdTotal`; null without tasks.
    pub completion_rate: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusTally {
    pub status_id: u64,
    pub name: String,
    pub count: u64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PriorityCount {
    pub priority: Priority,
    pub count: u64,
}

/// Open (not done) tasks now; the window does not apply.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OpenTasks {
    pub total: u64,
    /// Every not-done status in board order, zero counts included.
    pub by_status: Vec<StatusTally>,
    /// Every priority, most urgent first.
    pub by_priority: Vec<PriorityCount>,
}

/// The cumulative flow from creation and completion times: at each bucket's
/// end, tasks that have arrived and are done, and those still open.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CumulativeFlow {
    pub arrived: Vec<u64>,
    pub done: Vec<u64>,
    pub open: Vec<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CyclePoint {
    pub task_id: u64,
    pub key: String,
    pub completed_at: DateTime<Utc>,
    pub hours: f64,
}

/// Cycle time: creation to completion, of tasks completed in the window.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CycleTime {
    pub hours: Quantiles,
    /// The most recently completed tasks (at most `CYCLE_POINTS`), for a scatter.
    pub points: Vec<CyclePoint>,
    /// Whether more tasks completed than `points` holds.
    pub points_truncated: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgeBandCount {
    /// `<1d`, `1-3d`, `3-7d`, `7-14d`, `14-30d`, `>30d` since creation.
    pub band: String,
    pub total: u64,
    pub by_status: Vec<StatusTally>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskRef {
    pub task_id: u64,
    pub key: String,
    pub title: String,
    pub client_id: u64,
    pub priority: Priority,
    pub status_id: u64,
    pub created_at: DateTime<Utc>,
    pub sla_risk_at: Option<DateTime<Utc>>,
    pub sla_due_at: Option<DateTime<Utc>>,
}

/// Open tasks now by age.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Aging {
    pub bands: Vec<AgeBandCount>,
    /// The ten oldest open tasks.
    pub oldest: Vec<TaskRef>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BreachCount {
    pub with_sla: u64,
    pub breached: u64,
    pub breach_rate: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PriorityBreach {
    pub priority: Priority,
    #[serde(flatten)]
    pub counts: BreachCount,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientBreach {
    pub client_id: u64,
    pub name: String,
    #[serde(flatten)]
    pub counts: BreachCount,
}

/// SLA: the breach rate of tasks created in the window that carry a target
/// (breached = the deadline passed before completion, or before now while
/// open), and the open tasks breached or at risk now.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SlaMetrics {
    #[serde(flatten)]
    pub window: BreachCount,
    pub by_priority: Vec<PriorityBreach>,
    pub by_client: Vec<ClientBreach>,
    /// Open tasks past their deadline now.
    pub open_breached: u64,
    /// Open tasks past their risk point but not their deadline now.
    pub open_at_risk: u64,
    /// The at-risk tasks, soonest deadline first (at most `AT_RISK_LIST`).
    pub at_risk: Vec<TaskRef>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserCount {
    pub user_id: u64,
    pub name: String,
    pub count: u64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct People {
    /// Tasks completed in the window per assignee (a task with two
    /// assignees counts for both), most first.
    pub completed_by_assignee: Vec<UserCount>,
    /// Open tasks now per assignee: the workload.
    pub open_by_assignee: Vec<UserCount>,
    /// Assignee changes in the window to tasks that already had an
    /// assignee (a first assignment is not a reassignment).
    pub reassignments: u64,
    /// How many tasks those changes touched.
    pub reassigned_tasks: u64,
}

/// Applied imports in the window (undone ones excluded).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Imports {
    pub imports: u64,
    pub rows_total: u64,
    /// Rows that created or updated a task.
    pub rows_imported: u64,
    /// Rows the validation refused.
    pub rows_invalid: u64,
    /// `rowsInvalid / rowsTotal`.
    pub error_rate: Option<f64>,
}

// ----------------------------------------------------------------- runs

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunAnalytics {
    pub window: WindowView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume: Option<RunVolume>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflows: Option<Vec<WorkflowStats>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nodes: Option<NodeStats>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failures: Option<Vec<ReasonCount>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<QueueWait>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hours: Option<Vec<u64>>,
    pub not_stored: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusSeries {
    /// `pending`, `running`, `waiting`, `succeeded`, `failed` or `cancelled`.
    pub status: String,
    pub counts: Vec<u64>,
    pub total: u64,
}

/// Runs created in the window, per bucket and status.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunVolume {
    pub by_status: Vec<StatusSeries>,
    pub total: u64,
    /// `succeeded / (succeeded + failed)`; runs still going or cancelled
    /// do not count.
    pub success_rate: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowStats {
    pub workflow_id: u64,
    pub name: String,
    pub runs: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub success_rate: Option<f64>,
    /// Start to finish of finished runs, in milliseconds.
    pub duration_ms: Quantiles,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeStat {
    pub workflow_id: u64,
    pub workflow_name: String,
    pub node_id: String,
    /// Attempts in runs of the window.
    pub executions: u64,
    pub failures: u64,
    pub failure_rate: Option<f64>,
    pub duration_ms: Quantiles,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeStats {
    /// Every node that ran, by workflow then node id.
    pub by_node: Vec<NodeStat>,
    /// The ten nodes with the most failures (at least one).
    pub most_failing: Vec<NodeStat>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReasonCount {
    /// `timeout`, `memory`, `error`, `sandbox`, … (`unknown` when not recorded).
    pub reason: String,
    pub count: u64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueueWait {
    /// Creation to start of the runs of the window that started, in ms.
    pub wait_ms: Quantiles,
    /// Runs pending now (not started), whatever their creation time.
    pub pending_now: u64,
}
