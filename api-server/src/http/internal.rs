//! The ingest endpoint of node Pods in `kubernetes` mode (see
//! `runner/pod_entrypoint.py` and `executor::cluster`). Authenticated by
//! the run's token from its Secret, never by a user's JWT; not part of the
//! public API document and not audited (one call per batch of log lines).
//!
//! - `GET  /internal/runs/{run}/nodes/{node}/job?attempt=N` → the runner job;
//! - `POST /internal/runs/{run}/nodes/{node}/events?attempt=N` with runner
//!   events as JSON lines → 204 once they are stored;
//! - `POST /internal/runs/{run}/nodes/{node}/query?attempt=N` with a node's
//!   `ctx.query` → its `query_result` (the platform runs it; no credential
//!   enters the Pod).

use axum::extract::{DefaultBodyLimit, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::extract::{Json, Path, Query};
use crate::error::ApiError;
use crate::executor::cluster::IngestError;
use crate::state::AppState;

/// The bearer token of a run (checked against the run by the handler).
pub struct RunToken(String);

impl<S: Send + Sync> FromRequestParts<S> for RunToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(ApiError::Unauthenticated)?;
        Ok(Self(token.to_owned()))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attempt {
    attempt: u32,
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::NotFound => ApiError::NotFound,
            IngestError::Unauthenticated => ApiError::Unauthenticated,
            IngestError::Finished => ApiError::conflict("the run has finished"),
            IngestError::BadEvent(m) => ApiError::BadRequest(format!("invalid event: {m}")),
            IngestError::Unavailable => ApiError::Unavailable(
                "the run's state cannot be stored right now; send the events again later".into(),
            ),
            IngestError::Internal(m) => ApiError::Internal(anyhow::anyhow!(m)),
        }
    }
}

fn cluster(
    state: &AppState,
) -> Result<&std::sync::Arc<crate::executor::cluster::Cluster>, ApiError> {
    state.executor.cluster().ok_or(ApiError::NotFound)
}

async fn job(
    State(state): State<AppState>,
    RunToken(token): RunToken,
    Path((run_id, node)): Path<(u64, String)>,
    Query(q): Query<Attempt>,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let job = cluster(&state)?
        .job(run_id, &token, &node, q.attempt)
        .await?;
    Ok(axum::Json(job))
}

async fn events(
    State(state): State<AppState>,
    RunToken(token): RunToken,
    Path((run_id, node)): Path<(u64, String)>,
    Query(q): Query<Attempt>,
    body: String,
) -> Result<StatusCode, ApiError> {
    let cluster = cluster(&state)?;
    if !state.executor.stores_events_of(run_id) {
        // One replica stores every Run's events (the mirror's lease holder);
        // the Pod sends again and the Service routes it anew.
        return Err(IngestError::Unavailable.into());
    }
    cluster
        .ingest(run_id, &token, &node, q.attempt, &body)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn query(
    State(state): State<AppState>,
    RunToken(token): RunToken,
    Path((run_id, node)): Path<(u64, String)>,
    Query(q): Query<Attempt>,
    Json(body): Json<crate::executor::cluster::CtxQuery>,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let reply = cluster(&state)?
        .query(run_id, &token, &node, q.attempt, body)
        .await?;
    Ok(axum::Json(reply))
}

/// The ingest routes; mounted only in `kubernetes` mode.
pub fn routes(state: &AppState) -> Router<AppState> {
    let s = &state.settings;
    // A `finished` event carries the outputs (files base64-encoded).
    let limit = (s.max_output_bytes + s.max_file_bytes)
        .saturating_mul(4)
        .div_ceil(3)
        .saturating_add(1 << 20);
    Router::new()
        .route("/internal/runs/{run}/nodes/{node}/job", get(job))
        .route("/internal/runs/{run}/nodes/{node}/events", post(events))
        .route("/internal/runs/{run}/nodes/{node}/query", post(query))
        .layer(DefaultBodyLimit::max(
            usize::try_from(limit).unwrap_or(usize::MAX),
        ))
}
