//! `POST /api/workflows/{id}/runs`: Play over HTTP; the use case is `crate::runs::play`.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::dto::{view, Run, RunMode, RunStarted, StartRun};
use super::scoped;
use crate::audit::Audit;
use crate::auth::{RequireRole, Staff};
use crate::error::ApiError;
use crate::http::extract::{Json, Path};
use crate::runs::play::{play, PlayRequest};
use crate::state::AppState;

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
    let request = PlayRequest {
        inputs: req.inputs,
        failure_policy: req.failure_policy.into(),
        published: req.published.unwrap_or(true),
    };
    let run_id = play(&state.db, &state.executor, &user, id, request).await?;
    audit.object("run", run_id);
    if matches!(req.mode, RunMode::Sync) {
        let bound = Duration::from_secs(state.settings.sync_run_wait_seconds);
        if state.executor.wait(run_id, bound).await {
            let row = scoped(&state, &user, run_id).await?;
            if row.status.is_terminal() {
                return Ok((StatusCode::OK, axum::Json(view(&state, row).await?)).into_response());
            }
        }
    }
    let row = scoped(&state, &user, run_id).await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(RunStarted {
            id: run_id,
            status: row.status.as_str().to_owned(),
        }),
    )
        .into_response())
}
