use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::json;

use crate::state::AppState;

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "up")))]
pub async fn healthz() -> impl IntoResponse {
    axum::Json(json!({"status": "ok"}))
}

/// Longest a readiness probe waits for the database (probes time out after 1 s).
const READY_CHECK_TIMEOUT: Duration = Duration::from_millis(800);

/// The database answers, every migration this build knows is applied, this
/// replica's heartbeat is stored (its leases are its own), and no run's
/// state is waiting to be stored. Answers within a second.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses((status = 200, description = "ready"), (status = 503, description = "not ready")))]
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if !state.executor.replica().heartbeat_fresh() {
        // Its leases and runs may be passing to another replica.
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "not_ready", "reason": "replica heartbeat not stored"})),
        );
    }
    let backlog = state.executor.storage_backlog();
    let check = tokio::time::timeout(READY_CHECK_TIMEOUT, crate::migrations_applied(&state.db));
    let Ok(applied) = check.await else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "not_ready", "reason": "database unreachable"})),
        );
    };
    if applied.as_ref().is_ok_and(|a| *a) && backlog.failing_runs > 0 {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "not_ready", "reason": "storage backlog",
                "failingRuns": backlog.failing_runs, "unstoredEvents": backlog.unstored})),
        );
    }
    match applied {
        Ok(true) => (
            StatusCode::OK,
            axum::Json(json!({"status": "ready", "unstoredEvents": backlog.unstored})),
        ),
        Ok(false) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "not_ready", "reason": "migrations pending"})),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({"status": "not_ready", "reason": "database unreachable"})),
            )
        }
    }
}
