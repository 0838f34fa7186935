use axum::extract::State;
use axum::http::StatusCode;

use super::extract::Path;
use crate::audit::Audit;
use crate::auth::{Admin, RequireRole, Role, Staff};
use crate::db::{self, users::User};
use crate::error::ApiError;
use crate::state::AppState;

/// The user the path names as a manager or a client: a user of another role
/// is no such manager or client (404, as for an id nobody has).
async fn user_with_role(state: &AppState, id: u64, role: Role) -> Result<User, ApiError> {
    db::users::get(&state.db, id)
        .await?
        .filter(|u| u.role == role.as_str())
        .ok_or(ApiError::NotFound)
}

/// Assign a client to a manager (idempotent).
#[utoipa::path(put, path = "/api/admin/managers/{managerId}/clients/{clientId}", tag = "assignments",
    security(("bearer" = [])), params(("managerId" = u64, Path), ("clientId" = u64, Path)),
    responses((status = 204), (status = 404, description = "no manager or no client with that id")))]
pub async fn link(
    State(state): State<AppState>,
    RequireRole(admin, ..): RequireRole<Admin>,
    audit: Audit,
    Path((manager_id, client_id)): Path<(u64, u64)>,
) -> Result<StatusCode, ApiError> {
    audit
        .action("assignment.link")
        .object("assignment", format!("{manager_id}:{client_id}"));
    user_with_role(&state, manager_id, Role::Manager).await?;
    user_with_role(&state, client_id, Role::Client).await?;
    db::assignments::link(&state.db, manager_id, client_id, admin.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove a client from a manager.
#[utoipa::path(delete, path = "/api/admin/managers/{managerId}/clients/{clientId}", tag = "assignments",
    security(("bearer" = [])), params(("managerId" = u64, Path), ("clientId" = u64, Path)),
    responses((status = 204), (status = 404)))]
pub async fn unlink(
    State(state): State<AppState>,
    RequireRole(_admin, ..): RequireRole<Admin>,
    audit: Audit,
    Path((manager_id, client_id)): Path<(u64, u64)>,
) -> Result<StatusCode, ApiError> {
    audit
        .action("assignment.unlink")
        .object("assignment", format!("{manager_id}:{client_id}"));
    if !db::assignments::unlink(&state.db, manager_id, client_id).await? {
        return Err(ApiError::NotFound);
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The clients assigned to a manager.
#[utoipa::path(get, path = "/api/admin/managers/{managerId}/clients", tag = "assignments",
    security(("bearer" = [])), params(("managerId" = u64, Path)),
    responses((status = 200, body = Vec<User>), (status = 404, description = "no manager with that id")))]
pub async fn clients_of_manager(
    State(state): State<AppState>,
    RequireRole(_admin, ..): RequireRole<Admin>,
    Path(manager_id): Path<u64>,
) -> Result<axum::Json<Vec<User>>, ApiError> {
    user_with_role(&state, manager_id, Role::Manager).await?;
    Ok(axum::Json(
        db::assignments::clients_of(&state.db, manager_id).await?,
    ))
}

/// The managers a client is assigned to.
#[utoipa::path(get, path = "/api/admin/clients/{clientId}/managers", tag = "assignments",
    security(("bearer" = [])), params(("clientId" = u64, Path)),
    responses((status = 200, body = Vec<User>), (status = 404, description = "no client with that id")))]
pub async fn managers_of_client(
    State(state): State<AppState>,
    RequireRole(_admin, ..): RequireRole<Admin>,
    Path(client_id): Path<u64>,
) -> Result<axum::Json<Vec<User>>, ApiError> {
    user_with_role(&state, client_id, Role::Client).await?;
    Ok(axum::Json(
        db::assignments::managers_of(&state.db, client_id).await?,
    ))
}

/// The clients the caller builds workflows for (all clients for an admin).
#[utoipa::path(get, path = "/api/manager/clients", tag = "assignments", security(("bearer" = [])),
    responses((status = 200, body = Vec<User>)))]
pub async fn my_clients(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
) -> Result<axum::Json<Vec<User>>, ApiError> {
    let clients = if user.is_admin() {
        db::assignments::all_clients(&state.db).await?
    } else {
        db::assignments::clients_of(&state.db, user.id).await?
    };
    Ok(axum::Json(clients))
}
