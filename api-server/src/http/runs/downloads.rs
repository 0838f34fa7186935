//! What a run produced: node log pages (or their live stream) and output values.

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use katalusis_crds::plan::NodePhase;
use serde_json::Value;

use super::dto::{LogLineView, LogPage, LogQuery, OutputQuery};
use super::live::{last_event_id, sse};
use super::scoped;
use crate::audit::{Audit, SensitiveRead};
use crate::auth::{CurrentUser, Role};
use crate::db;
use crate::error::ApiError;
use crate::executor::stream::StreamFilter;
use crate::http::extract::{Path, Query};
use crate::state::AppState;

/// Log lines of one node, oldest first. Clients see them only when the
/// manager made the run's logs visible.
#[utoipa::path(get, path = "/api/runs/{id}/nodes/{node}/logs", tag = "runs", security(("bearer" = [])),
    params(("id" = u64, Path), ("node" = String, Path), LogQuery),
    responses((status = 200, description = "a page of lines; with `follow=true` a Server-Sent Events stream of them",
            content((LogPage = "application/json"), (Object = "text/event-stream"))),
        (status = 404)))]
pub async fn logs(
    State(state): State<AppState>,
    user: CurrentUser,
    audit: Audit,
    Path((id, node)): Path<(u64, String)>,
    Query(q): Query<LogQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    audit.read(
        SensitiveRead::View,
        "run.logs.view",
        "run",
        format!("{id}/{node}"),
    );
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
        return Ok(sse(&state, &row, last, filter).into_response());
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
    audit: Audit,
    Path((id, node, port)): Path<(u64, String, String)>,
    Query(q): Query<OutputQuery>,
) -> Result<Response, ApiError> {
    audit.read(
        SensitiveRead::Download,
        "run.output.download",
        "run",
        format!("{id}/{node}/{port}"),
    );
    scoped(&state, &user, id).await?;
    let exec = db::runs::executions(&state.db, id)
        .await?
        .into_iter()
        .filter(|e| e.node_id == node && e.status == NodePhase::Succeeded)
        .filter(|e| q.attempt.is_none_or(|a| a == e.attempt))
        .max_by_key(|e| e.attempt)
        .ok_or(ApiError::NotFound)?;
    let outputs = exec.outputs.unwrap_or_default();
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
