//! Listing, reading, publishing and cancelling runs.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use katalusis_crds::plan::RunPhase;

/// The name cursors of the run list carry, so a cursor of another list is refused.
const RUNS_CURSOR: &str = "runs";

use super::dto::{view, ListRuns, Run, RunStarted, RunSummary, UpdateRun};
use super::scoped;
use crate::audit::Audit;
use crate::auth::{ClientScope, CurrentUser, RequireRole, Staff};
use crate::db;
use crate::error::ApiError;
use crate::http::extract::{list_window, Json, Paged, Path, Query};
use crate::state::AppState;

/// Runs the caller may see, newest first. Clients see only their own published runs.
#[utoipa::path(get, path = "/api/runs", tag = "runs", security(("bearer" = [])),
    params(ListRuns), responses((status = 200, body = Paged<RunSummary>)))]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<ListRuns>,
) -> Result<axum::Json<Paged<RunSummary>>, ApiError> {
    let w = list_window::<u64>(RUNS_CURSOR, q.page, q.per_page, q.after.as_deref(), q.count)?;
    let status = match q
        .status
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(str::parse::<RunPhase>)
    {
        None => None,
        Some(Ok(phase)) => Some(phase),
        Some(Err(_)) => {
            let names: Vec<&str> = RunPhase::ALL.iter().map(|p| p.as_str()).collect();
            let (last, rest) = names.split_last().unwrap_or((&"", &[]));
            return Err(ApiError::field(
                "status",
                &format!("must be {} or {last}", rest.join(", ")),
            ));
        }
    };
    let f = db::runs::Filter {
        workflow_id: q.workflow_id,
        client_id: q.client_id,
        started_by: q.started_by,
        status,
        created_after: q.created_after,
        created_before: q.created_before,
    };
    let rows = db::runs::list(
        &state.db,
        ClientScope::of(&user),
        &f,
        &w.start,
        w.per_page,
        w.count,
    )
    .await?;
    // Names of the page's workflows by primary key: at most one lookup per
    // page, and a rename shows in the history at once.
    let mut ids: Vec<u64> = rows.items.iter().map(|r| r.workflow_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let names = db::workflows::names(&state.db, &ids).await?;
    let now = Utc::now();
    Ok(axum::Json(w.page(
        RUNS_CURSOR,
        rows,
        |r| r.run_id,
        |r| {
            let (workflow_name, workflow_description) =
                names.get(&r.workflow_id).cloned().unwrap_or_default();
            let duration_ms = r
                .started_at
                .map(|s| (r.finished_at.unwrap_or(now) - s).num_milliseconds());
            RunSummary {
                id: r.run_id,
                workflow_id: r.workflow_id,
                workflow_name,
                workflow_description,
                workflow_revision: r.workflow_revision,
                client_id: r.client_id,
                started_by: r.started_by,
                status: r.status.as_str().to_owned(),
                published: r.published,
                message: r.message,
                created_at: r.created_at,
                started_at: r.started_at,
                finished_at: r.finished_at,
                node_count: r.node_count,
                failed_nodes: r.failed_nodes,
                failure_reasons: r.failure_reasons,
                duration_ms,
            }
        },
    )))
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
            row.status.as_str()
        )));
    }
    state.executor.cancel(id);
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(RunStarted {
            id,
            status: row.status.as_str().to_owned(),
        }),
    ))
}
