//! Active sessions: people list and end their own (a lost laptop, a shared
//! computer); admins end all of a user's. A revoked session's access token
//! stops at its next request (`CurrentUser` reads the session row) and its
//! refresh token is refused (`/api/auth/refresh` checks `revoked_at`).

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::extract::Path;
use crate::audit::Audit;
use crate::auth::{Admin, CurrentUser, RequireRole};
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    pub session_id: String,
    /// The `User-Agent` of the login that opened the session.
    pub user_agent: Option<String>,
    /// The address of the most recent request (refreshed once a minute).
    pub ip: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Accurate to a minute.
    pub last_seen_at: Option<DateTime<Utc>>,
    /// When the refresh token stops working unless renewed.
    pub expires_at: DateTime<Utc>,
    /// The session this request was made with.
    pub current: bool,
}

fn info(row: db::sessions::SessionRow, current: Option<&str>) -> SessionInfo {
    SessionInfo {
        current: current == Some(row.session_id.as_str()),
        session_id: row.session_id,
        user_agent: row.user_agent,
        ip: row.client_ip,
        created_at: row.created_at,
        last_seen_at: row.last_seen_at,
        expires_at: row.expires_at,
    }
}

/// Your active sessions, most recently used first.
#[utoipa::path(get, path = "/api/auth/sessions", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = Vec<SessionInfo>)))]
pub async fn list_own(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<axum::Json<Vec<SessionInfo>>, ApiError> {
    let rows = db::sessions::list_active(&state.db, user.id).await?;
    Ok(axum::Json(
        rows.into_iter()
            .map(|r| info(r, Some(&user.session_id)))
            .collect(),
    ))
}

/// End one of your sessions (the current one too: that is a logout).
#[utoipa::path(delete, path = "/api/auth/sessions/{sessionId}", tag = "auth", security(("bearer" = [])),
    params(("sessionId" = String, Path, max_length = 36)),
    responses((status = 204), (status = 404)))]
pub async fn revoke_own(
    State(state): State<AppState>,
    user: CurrentUser,
    audit: Audit,
    Path(session_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    audit
        .action("session.revoke")
        .object("session", &session_id);
    // Another user's session answers 404 like a missing one.
    if !db::sessions::revoke_own(&state.db, user.id, &session_id).await? {
        return Err(ApiError::NotFound);
    }
    Ok(StatusCode::NO_CONTENT)
}

/// A user's active sessions.
#[utoipa::path(get, path = "/api/admin/users/{id}/sessions", tag = "users", security(("bearer" = [])),
    params(("id" = u64, Path)), responses((status = 200, body = Vec<SessionInfo>), (status = 404)))]
pub async fn list_for_user(
    State(state): State<AppState>,
    RequireRole(admin, ..): RequireRole<Admin>,
    Path(id): Path<u64>,
) -> Result<axum::Json<Vec<SessionInfo>>, ApiError> {
    if db::users::get(&state.db, id).await?.is_none() {
        return Err(ApiError::NotFound);
    }
    let rows = db::sessions::list_active(&state.db, id).await?;
    Ok(axum::Json(
        rows.into_iter()
            .map(|r| info(r, Some(&admin.session_id)))
            .collect(),
    ))
}

/// End every session of a user (they must log in again). An admin ending
/// their own sessions keeps the one they are using.
#[utoipa::path(delete, path = "/api/admin/users/{id}/sessions", tag = "users", security(("bearer" = [])),
    params(("id" = u64, Path)), responses((status = 204), (status = 404)))]
pub async fn revoke_for_user(
    State(state): State<AppState>,
    RequireRole(admin, ..): RequireRole<Admin>,
    audit: Audit,
    Path(id): Path<u64>,
) -> Result<StatusCode, ApiError> {
    audit.action("session.revoke_all").object("user", id);
    if db::users::get(&state.db, id).await?.is_none() {
        return Err(ApiError::NotFound);
    }
    let keep = (id == admin.id).then_some(admin.session_id.as_str());
    db::sessions::revoke_all_for_user(&state.db, id, keep).await?;
    Ok(StatusCode::NO_CONTENT)
}
