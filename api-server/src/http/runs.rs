//! Runs: start (Play), list, read, cancel, publish, logs, outputs and live
//! events. Managers and admins start and control runs of the clients they may
//! see; clients read their own published runs, read-only.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use chrono::{DateTime, TimeZone, Utc};
use futures::Stream;
use katalusis_crds::plan::NodeState;
use katalusis_crds::{validate_graph, Graph, Problem, TemplateRef};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc};
use utoipa::{IntoParams, ToSchema};

use super::extract::{paging, Json, Paged, Path, Query};
use crate::audit::Audit;
use crate::auth::{ClientScope, CurrentUser, RequireRole, Role, Staff};
use crate::db;
use crate::error::ApiError;
use crate::executor::snapshot::{apply_overrides, PinnedTemplate, Snapshot};
use crate::executor::LaunchError;
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
    /// Every attempt, oldest first.
    pub executions: Vec<NodeExecution>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    pub id: u64,
    pub workflow_id: u64,
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
    pub workflow_revision: u32,
    pub client_id: u64,
    pub started_by: u64,
    pub status: String,
    pub published: bool,
    pub message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListRuns {
    pub workflow_id: Option<u64>,
    pub client_id: Option<u64>,
    /// pending, running, succeeded, failed or cancelled.
    pub status: Option<String>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    /// Only lines of this attempt (default: all attempts).
    pub attempt: Option<u32>,
    /// Only lines after this sequence number (the `next` of the previous page).
    pub after: Option<u64>,
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

const STATUSES: &[&str] = &["pending", "running", "succeeded", "failed", "cancelled"];

fn ms(t: Option<i64>) -> Option<DateTime<Utc>> {
    t.and_then(|t| Utc.timestamp_millis_opt(t).single())
}

async fn scoped(state: &AppState, user: &CurrentUser, id: u64) -> Result<db::runs::Row, ApiError> {
    db::runs::get(&state.db, ClientScope::of(user), id)
        .await?
        .ok_or(ApiError::NotFound)
}

async fn view(state: &AppState, row: db::runs::Row) -> Result<Run, ApiError> {
    let snapshot: Snapshot = serde_json::from_str(&row.snapshot)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("stored snapshot unreadable: {e}")))?;
    let states: BTreeMap<String, NodeState> = serde_json::from_str(&row.node_states)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("stored node states unreadable: {e}")))?;
    let queued: Vec<String> = row
        .queued
        .as_deref()
        .and_then(|q| serde_json::from_str(q).ok())
        .unwrap_or_default();
    let mut execs: HashMap<String, Vec<NodeExecution>> = HashMap::new();
    for e in db::runs::executions(&state.db, row.run_id).await? {
        execs.entry(e.node_id).or_default().push(NodeExecution {
            attempt: e.attempt,
            status: e.status,
            reason: e.reason,
            message: e.message,
            started_at: e.started_at,
            finished_at: e.finished_at,
            duration_ms: e.duration_ms,
            outputs: e.outputs.and_then(|o| serde_json::from_str(&o).ok()),
            output_bytes: e.output_bytes,
        });
    }
    let nodes = snapshot
        .graph
        .nodes
        .iter()
        .map(|n| {
            let st = states.get(&n.id).cloned().unwrap_or_default();
            RunNode {
                id: n.id.clone(),
                template: n.template.clone(),
                status: crate::executor::phase_str(st.phase).to_string(),
                attempt: st.attempt,
                reason: st.reason.map(|r| r.as_str().to_string()),
                message: st.message,
                started_at: ms(st.started_at_ms),
                finished_at: ms(st.finished_at_ms),
                queue_position: queued.iter().position(|q| q == &n.id).map(|i| i + 1),
                executions: execs.remove(&n.id).unwrap_or_default(),
            }
        })
        .collect();
    Ok(Run {
        id: row.run_id,
        workflow_id: row.workflow_id,
        workflow_revision: row.workflow_revision,
        client_id: row.client_id,
        started_by: row.started_by,
        status: row.status,
        failure_policy: row.failure_policy,
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

/// Play: validate the workflow, freeze it with its templates and start a run.
/// Invalid graphs or inputs answer 422 and create nothing.
#[utoipa::path(post, path = "/api/workflows/{id}/runs", tag = "runs", security(("bearer" = [])),
    params(("id" = u64, Path)), request_body = StartRun,
    responses((status = 202, body = RunStarted), (status = 200, body = Run), (status = 404), (status = 422), (status = 503)))]
pub async fn start(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    audit: Audit,
    Path(id): Path<u64>,
    Json(req): Json<StartRun>,
) -> Result<Response, ApiError> {
    audit.action("run.start").object("workflow", id);
    let wf = db::workflows::get(&state.db, ClientScope::of(&user), id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let mut graph: Graph = serde_json::from_str(&wf.graph)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("stored graph unreadable: {e}")))?;
    let catalog = db::templates::catalog_for(&state.db, &graph.template_refs()).await?;
    let problems: Vec<Problem> = validate_graph(&graph, &catalog)
        .into_iter()
        .filter(Problem::is_error)
        .collect();
    if !problems.is_empty() {
        return Err(ApiError::InvalidGraph(problems));
    }
    if graph.nodes.is_empty() {
        return Err(ApiError::field(
            "graph.nodes",
            "a workflow needs at least one node to run",
        ));
    }
    let templates: Vec<PinnedTemplate> = graph
        .template_refs()
        .into_iter()
        .filter_map(|r| {
            catalog.get(&r).map(|(spec, _)| PinnedTemplate {
                template: r.clone(),
                spec: spec.clone(),
            })
        })
        .collect();
    let errs = apply_overrides(&mut graph, &templates, &req.inputs);
    if !errs.is_empty() {
        return Err(ApiError::Validation(errs));
    }
    let modules = db::settings::modules(&state.db).await?;
    let snapshot = serde_json::to_string(&Snapshot {
        graph,
        templates,
        modules: Some(modules),
    })
    .map_err(anyhow::Error::from)?;
    let policy = match req.failure_policy {
        FailurePolicyBody::Continue => "continue",
        FailurePolicyBody::FailFast => "fail_fast",
    };
    let run_id = db::runs::insert(
        &state.db,
        &db::runs::NewRun {
            workflow_id: wf.workflow_id,
            workflow_revision: wf.revision,
            client_id: wf.client_id,
            started_by: user.id,
            failure_policy: policy,
            snapshot: &snapshot,
            node_states: "{}",
        },
    )
    .await?;
    audit.object("run", run_id);
    match state.executor.launch(run_id).await {
        Ok(()) => {}
        Err(LaunchError::Cluster(e)) => {
            // Nothing was left on the cluster; the run row goes too.
            db::runs::delete(&state.db, run_id).await?;
            tracing::warn!(run_id, error = %e, "could not create the Run");
            return Err(ApiError::Unavailable(format!(
                "the Kubernetes cluster is unavailable, nothing was started; try again later ({e})"
            )));
        }
        Err(LaunchError::Failed(e)) => {
            // The run is recorded as failed with the reason; the caller reads it there.
            tracing::error!(run_id, error = format!("{e:#}"), "could not launch run");
        }
    }
    if matches!(req.mode, RunMode::Sync) {
        let bound = Duration::from_secs(state.settings.sync_run_wait_seconds);
        if state.executor.wait(run_id, bound).await {
            let row = scoped(&state, &user, run_id).await?;
            if STATUSES[2..].contains(&row.status.as_str()) {
                return Ok((StatusCode::OK, axum::Json(view(&state, row).await?)).into_response());
            }
        }
    }
    let row = scoped(&state, &user, run_id).await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(RunStarted {
            id: run_id,
            status: row.status,
        }),
    )
        .into_response())
}

/// Runs the caller may see, newest first. Clients see only their own published runs.
#[utoipa::path(get, path = "/api/runs", tag = "runs", security(("bearer" = [])),
    params(ListRuns), responses((status = 200, body = Paged<RunSummary>)))]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<ListRuns>,
) -> Result<axum::Json<Paged<RunSummary>>, ApiError> {
    let (page, per_page, offset) = paging(q.page, q.per_page)?;
    if let Some(s) = &q.status {
        if !STATUSES.contains(&s.as_str()) {
            return Err(ApiError::field(
                "status",
                "must be pending, running, succeeded, failed or cancelled",
            ));
        }
    }
    let f = db::runs::Filter {
        workflow_id: q.workflow_id,
        client_id: q.client_id,
        status: q.status,
        created_after: q.created_after,
        created_before: q.created_before,
    };
    let (rows, total) =
        db::runs::list(&state.db, ClientScope::of(&user), &f, per_page, offset).await?;
    let items = rows
        .into_iter()
        .map(|r| RunSummary {
            id: r.run_id,
            workflow_id: r.workflow_id,
            workflow_revision: r.workflow_revision,
            client_id: r.client_id,
            started_by: r.started_by,
            status: r.status,
            published: r.published,
            message: r.message,
            created_at: r.created_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
        })
        .collect();
    Ok(axum::Json(Paged {
        items,
        total,
        page,
        per_page,
    }))
}

/// A run with every node's status and every attempt (timestamps, duration,
/// exit reason, outputs).
#[utoipa::path(get, path = "/api/runs/{id}", tag = "runs", security(("bearer" = [])),
    params(("id" = u64, Path)), responses((status = 200, body = Run), (status = 404)))]
pub async fn get(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<u64>,
) -> Result<axum::Json<Run>, ApiError> {
    let row = scoped(&state, &user, id).await?;
    Ok(axum::Json(view(&state, row).await?))
}

/// Publish a run to its client (or not) and choose whether the client sees its logs.
#[utoipa::path(patch, path = "/api/runs/{id}", tag = "runs", security(("bearer" = [])),
    params(("id" = u64, Path)), request_body = UpdateRun,
    responses((status = 200, body = Run), (status = 404)))]
pub async fn update(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    audit: Audit,
    Path(id): Path<u64>,
    Json(req): Json<UpdateRun>,
) -> Result<axum::Json<Run>, ApiError> {
    audit.action("run.update").object("run", id);
    scoped(&state, &user, id).await?;
    db::runs::set_visibility(&state.db, id, req.published, req.logs_visible_to_client).await?;
    let row = scoped(&state, &user, id).await?;
    Ok(axum::Json(view(&state, row).await?))
}

/// Cancel a run: pending nodes are cancelled, running ones are killed.
#[utoipa::path(post, path = "/api/runs/{id}/cancel", tag = "runs", security(("bearer" = [])),
    params(("id" = u64, Path)),
    responses((status = 202, body = RunStarted), (status = 404), (status = 409)))]
pub async fn cancel(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    audit: Audit,
    Path(id): Path<u64>,
) -> Result<(StatusCode, axum::Json<RunStarted>), ApiError> {
    audit.action("run.cancel").object("run", id);
    let row = scoped(&state, &user, id).await?;
    if !db::runs::request_cancel(&state.db, id).await? {
        return Err(ApiError::conflict(format!(
            "the run has already finished ({})",
            row.status
        )));
    }
    state.executor.cancel(id);
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(RunStarted {
            id,
            status: row.status,
        }),
    ))
}

/// Log lines of one node, oldest first. Clients see them only when the
/// manager made the run's logs visible.
#[utoipa::path(get, path = "/api/runs/{id}/nodes/{node}/logs", tag = "runs", security(("bearer" = [])),
    params(("id" = u64, Path), ("node" = String, Path), LogQuery),
    responses((status = 200, body = LogPage),
        (status = 200, content_type = "text/event-stream", body = String, description = "with follow=true"),
        (status = 404)))]
pub async fn logs(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, node)): Path<(u64, String)>,
    Query(q): Query<LogQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let row = scoped(&state, &user, id).await?;
    if user.role == Role::Client && !row.logs_visible_to_client {
        return Err(ApiError::NotFound);
    }
    if q.follow == Some(true) {
        let filter = StreamFilter {
            show_logs: true,
            only_node_logs: Some(node),
        };
        let last = last_event_id(&headers, None);
        return Ok(run_stream(&state, &row, last, filter).into_response());
    }
    let limit = q.limit.unwrap_or(500);
    if limit == 0 || limit > 5000 {
        return Err(ApiError::field("limit", "must be between 1 and 5000"));
    }
    let rows = db::runs::logs(&state.db, id, &node, q.attempt, q.after.unwrap_or(0), limit).await?;
    let next = (rows.len() == limit as usize)
        .then(|| rows.last().map(|r| r.seq))
        .flatten();
    Ok(axum::Json(LogPage {
        items: rows
            .into_iter()
            .map(|r| LogLineView {
                seq: r.seq,
                attempt: r.attempt,
                ts: r.ts,
                level: r.level,
                stream: r.stream,
                message: r.message,
            })
            .collect(),
        next,
    })
    .into_response())
}

/// One output of a node: files with their content type, binary values as
/// bytes, everything else as JSON.
#[utoipa::path(get, path = "/api/runs/{id}/nodes/{node}/outputs/{port}", tag = "runs",
    security(("bearer" = [])),
    params(("id" = u64, Path), ("node" = String, Path), ("port" = String, Path), OutputQuery),
    responses((status = 200, description = "the output value"), (status = 404)))]
pub async fn output(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, node, port)): Path<(u64, String, String)>,
    Query(q): Query<OutputQuery>,
) -> Result<Response, ApiError> {
    scoped(&state, &user, id).await?;
    let exec = db::runs::executions(&state.db, id)
        .await?
        .into_iter()
        .filter(|e| e.node_id == node && e.status == "succeeded")
        .filter(|e| q.attempt.is_none_or(|a| a == e.attempt))
        .max_by_key(|e| e.attempt)
        .ok_or(ApiError::NotFound)?;
    let outputs: Value = exec
        .outputs
        .as_deref()
        .and_then(|o| serde_json::from_str(o).ok())
        .unwrap_or(Value::Null);
    let value = outputs.get(&port).ok_or(ApiError::NotFound)?;
    if let Some(file_id) = value.get("$file").and_then(|f| f["id"].as_u64()) {
        let f = db::runs::file(&state.db, id, file_id)
            .await?
            .ok_or(ApiError::NotFound)?;
        let disposition = format!(
            "attachment; filename=\"{}\"",
            f.name.replace(['"', '\\', '\r', '\n'], "_")
        );
        return Ok((
            [
                (header::CONTENT_TYPE, f.content_type),
                (header::CONTENT_DISPOSITION, disposition),
                (header::ETAG, format!("\"{}\"", f.sha256)),
            ],
            f.content,
        )
            .into_response());
    }
    if let Some(b64) = value.get("$bytes").and_then(Value::as_str) {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| {
                ApiError::Internal(anyhow::anyhow!("stored binary output unreadable: {e}"))
            })?;
        return Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response());
    }
    Ok(axum::Json(value.clone()).into_response())
}

fn is_terminal_run_event(kind: &str, data: &Value) -> bool {
    kind == "run"
        && data["status"]
            .as_str()
            .is_some_and(|s| STATUSES[2..].contains(&s))
}

fn sse_event(seq: u64, kind: &str, data: &str) -> Event {
    Event::default().id(seq.to_string()).event(kind).data(data)
}

/// Live events of one run as Server-Sent Events: `node` (status changes),
/// `log`, `progress` and `run` (status, ends the stream once final). Each
/// event's id is its sequence number; reconnect with `Last-Event-ID` to
/// continue without gaps.
#[utoipa::path(get, path = "/api/runs/{id}/events", tag = "runs", security(("bearer" = [])),
    params(("id" = u64, Path), EventsQuery),
    responses((status = 200, content_type = "text/event-stream", body = String), (status = 404)))]
pub async fn events(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<u64>,
    Query(q): Query<EventsQuery>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let row = scoped(&state, &user, id).await?;
    let filter = StreamFilter {
        show_logs: user.role != Role::Client || row.logs_visible_to_client,
        only_node_logs: None,
    };
    let last = last_event_id(&headers, q.last_event_id);
    Ok(run_stream(&state, &row, last, filter))
}

fn last_event_id(headers: &HeaderMap, fallback: Option<u64>) -> u64 {
    headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .or(fallback)
        .unwrap_or(0)
}

/// Which stored run events a stream forwards.
#[derive(Clone)]
struct StreamFilter {
    show_logs: bool,
    /// Only log lines of this node (and the final run event).
    only_node_logs: Option<String>,
}

impl StreamFilter {
    fn passes(&self, kind: &str, data: &Value) -> bool {
        match &self.only_node_logs {
            Some(node) => (kind == "log" && data["node"].as_str() == Some(node)) || kind == "run",
            None => kind != "log" || self.show_logs,
        }
    }
}

/// Replays a run's events after `last`, then follows the live feed until the
/// run ends or the server stops.
fn run_stream(
    state: &AppState,
    row: &db::runs::Row,
    last: u64,
    filter: StreamFilter,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let id = row.run_id;
    // Subscribe before replaying, so nothing falls between the replay and the live feed.
    let live = state.executor.subscribe();
    let (tx, rx) = mpsc::channel::<Event>(256);
    let db = state.db.clone();
    let finished = STATUSES[2..].contains(&row.status.as_str());
    let stopped = state.executor.stopped();
    tokio::spawn(async move {
        tokio::select! {
            r = stream_run(db, id, last, filter, finished, live, tx) => {
                if let Err(e) = r {
                    tracing::warn!(run_id = id, error = %e, "event stream stopped");
                }
            }
            _ = stopped => {}
        }
    });
    let stream =
        futures::stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.map(|e| (Ok(e), rx)) },
        );
    Sse::new(stream).keep_alive(KeepAlive::default())
}

async fn stream_run(
    db: sqlx::MySqlPool,
    run_id: u64,
    mut last: u64,
    filter: StreamFilter,
    finished: bool,
    mut live: broadcast::Receiver<crate::executor::RunEvent>,
    tx: mpsc::Sender<Event>,
) -> anyhow::Result<()> {
    loop {
        // Replay what is stored after `last`.
        loop {
            let rows = db::runs::events_after(&db, run_id, last, 500).await?;
            if rows.is_empty() {
                break;
            }
            for r in rows {
                last = r.seq;
                let data: Value = serde_json::from_str(&r.data).unwrap_or(Value::Null);
                if !filter.passes(&r.kind, &data) {
                    continue;
                }
                if tx.send(sse_event(r.seq, &r.kind, &r.data)).await.is_err() {
                    return Ok(());
                }
                if is_terminal_run_event(&r.kind, &data) {
                    return Ok(());
                }
            }
        }
        if finished {
            return Ok(());
        }
        // Follow the live feed until the run ends; after a lag, replay again.
        loop {
            match live.recv().await {
                Ok(ev) if ev.run_id == run_id && ev.seq > last => {
                    last = ev.seq;
                    if !filter.passes(ev.kind, &ev.data) {
                        continue;
                    }
                    if tx
                        .send(sse_event(ev.seq, ev.kind, &ev.data.to_string()))
                        .await
                        .is_err()
                    {
                        return Ok(());
                    }
                    if is_terminal_run_event(ev.kind, &ev.data) {
                        return Ok(());
                    }
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => break,
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            }
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DashboardQuery {
    /// Close the stream after this many seconds (default: stay open).
    pub close_after_seconds: Option<u64>,
}

/// A dashboard feed of the runs the caller may see starting, changing status
/// and finishing (`run` events with `runId` and `clientId`).
#[utoipa::path(get, path = "/api/events", tag = "runs", security(("bearer" = [])),
    params(DashboardQuery),
    responses((status = 200, content_type = "text/event-stream", body = String)))]
pub async fn dashboard(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    Query(q): Query<DashboardQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let scope = ClientScope::of(&user);
    let mut live = state.executor.subscribe();
    let (tx, rx) = mpsc::channel::<Event>(256);
    let db = state.db.clone();
    let feed = async move {
        let mut allowed: HashMap<u64, bool> = HashMap::new();
        loop {
            let ev = match live.recv().await {
                Ok(ev) => ev,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return,
            };
            if ev.kind != "run" {
                continue;
            }
            let ok = match allowed.get(&ev.client_id) {
                Some(ok) => *ok,
                None => {
                    let ok = scope.allows(&db, ev.client_id).await.unwrap_or(false);
                    allowed.insert(ev.client_id, ok);
                    ok
                }
            };
            if !ok {
                continue;
            }
            let mut data = ev.data.clone();
            data["runId"] = json!(ev.run_id);
            data["clientId"] = json!(ev.client_id);
            let event = Event::default().event("run").data(data.to_string());
            if tx.send(event).await.is_err() {
                return;
            }
        }
    };
    let stopped = state.executor.stopped();
    tokio::spawn(async move {
        let bounded = async move {
            match q.close_after_seconds {
                Some(s) => {
                    let _ = tokio::time::timeout(Duration::from_secs(s), feed).await;
                }
                None => feed.await,
            }
        };
        tokio::select! {
            _ = bounded => {}
            _ = stopped => {}
        }
    });
    let stream =
        futures::stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.map(|e| (Ok(e), rx)) },
        );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
