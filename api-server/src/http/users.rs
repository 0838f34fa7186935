use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::extract::{paging, Json, Paged, Path, Query};
use crate::audit::Audit;
use crate::auth::password::check_policy;
use crate::auth::{Admin, RequireRole, Role};
use crate::db::{self, users::User};
use crate::domain::{self, Errors};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateUser {
    /// `domain::USERNAME_*`; a test checks the schema says the same.
    #[schema(min_length = 3, max_length = 64, pattern = r"^[\w.-]{3,64}$")]
    pub username: String,
    #[schema(
        max_length = 254,
        pattern = r"^\s*[^\s@\x00-\x1f\x7f-\x9f]+@[^\s@\x00-\x1f\x7f-\x9f]+\s*$"
    )]
    pub email: String,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub display_name: String,
    pub role: Role,
    /// `password::MIN_PASSWORD_LEN`..`MAX_PASSWORD_LEN` characters.
    #[schema(min_length = 10, max_length = 1024)]
    pub password: String,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateUser {
    #[schema(
        max_length = 254,
        pattern = r"^\s*[^\s@\x00-\x1f\x7f-\x9f]+@[^\s@\x00-\x1f\x7f-\x9f]+\s*$"
    )]
    pub email: Option<String>,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub active: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResetPassword {
    #[schema(min_length = 10, max_length = 1024)]
    pub password: String,
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListUsers {
    pub role: Option<Role>,
    pub active: Option<bool>,
    /// Matches username, email or display name.
    pub q: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// Create a user.
#[utoipa::path(post, path = "/api/admin/users", tag = "users", security(("bearer" = [])),
    request_body = CreateUser,
    responses((status = 201, body = User), (status = 409), (status = 422)))]
pub async fn create(
    State(state): State<AppState>,
    RequireRole(_admin, ..): RequireRole<Admin>,
    audit: Audit,
    Json(req): Json<CreateUser>,
) -> Result<(StatusCode, axum::Json<User>), ApiError> {
    audit.action("user.create");
    let mut errs = Errors::default();
    let username = errs.check(domain::username("username", &req.username));
    let email = errs.check(domain::email("email", &req.email));
    let display = errs.check(domain::text("displayName", &req.display_name, 1, 200));
    if let Err(ApiError::Validation(mut v)) = check_policy("password", &req.password) {
        errs.0.append(&mut v);
    }
    errs.finish()?;
    let (Some(username), Some(email), Some(display)) = (username, email, display) else {
        unreachable!("validated above")
    };
    let hash = state.hasher.hash(req.password).await?;
    let id = db::users::insert(
        &state.db,
        &db::users::NewUser {
            username: &username,
            email: &email,
            display_name: &display,
            role: req.role,
            password_hash: &hash,
        },
    )
    .await?
    .ok_or_else(|| ApiError::conflict("a user with this username or email already exists"))?;
    audit.object("user", id);
    let user = db::users::get(&state.db, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok((StatusCode::CREATED, axum::Json(user)))
}

/// List users.
#[utoipa::path(get, path = "/api/admin/users", tag = "users", security(("bearer" = [])),
    params(ListUsers), responses((status = 200, body = Paged<User>)))]
pub async fn list(
    State(state): State<AppState>,
    RequireRole(_admin, ..): RequireRole<Admin>,
    Query(q): Query<ListUsers>,
) -> Result<axum::Json<Paged<User>>, ApiError> {
    let (page, per_page, offset) = paging(q.page, q.per_page)?;
    let filter = db::users::Filter {
        role: q.role,
        active: q.active,
        q: q.q.filter(|s| !s.trim().is_empty()),
    };
    let (items, total) = db::users::list(&state.db, &filter, per_page, offset).await?;
    Ok(axum::Json(Paged::numbered(items, total, page, per_page)))
}

/// Get a user.
#[utoipa::path(get, path = "/api/admin/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = u64, Path)), responses((status = 200, body = User), (status = 404)))]
pub async fn get(
    State(state): State<AppState>,
    RequireRole(_admin, ..): RequireRole<Admin>,
    Path(id): Path<u64>,
) -> Result<axum::Json<User>, ApiError> {
    Ok(axum::Json(
        db::users::get(&state.db, id)
            .await?
            .ok_or(ApiError::NotFound)?,
    ))
}

/// Update a user's email, name, role or active flag. Changing the role drops the
/// user's assignments; deactivating ends their sessions.
#[utoipa::path(patch, path = "/api/admin/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = u64, Path)), request_body = UpdateUser,
    responses((status = 200, body = User), (status = 404), (status = 409), (status = 422)))]
pub async fn update(
    State(state): State<AppState>,
    RequireRole(admin, ..): RequireRole<Admin>,
    audit: Audit,
    Path(id): Path<u64>,
    Json(req): Json<UpdateUser>,
) -> Result<axum::Json<User>, ApiError> {
    audit.action("user.update").object("user", id);
    apply_update(&state, admin.id, id, req).await?;
    Ok(axum::Json(
        db::users::get(&state.db, id)
            .await?
            .ok_or(ApiError::NotFound)?,
    ))
}

async fn apply_update(
    state: &AppState,
    actor: u64,
    id: u64,
    req: UpdateUser,
) -> Result<(), ApiError> {
    let mut errs = Errors::default();
    let email = req
        .email
        .as_deref()
        .and_then(|e| errs.check(domain::email("email", e)));
    let display_name = req
        .display_name
        .as_deref()
        .and_then(|d| errs.check(domain::text("displayName", d, 1, 200)));
    errs.finish()?;
    let mut tx = state.db.begin().await?;
    let current = db::users::lock(&mut tx, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let demotes_admin = current.role == "admin"
        && (req.role.is_some_and(|r| r != Role::Admin) || req.active == Some(false));
    if demotes_admin && db::users::active_admins_other_than(&mut tx, id).await? == 0 {
        return Err(ApiError::conflict(
            "the last active administrator cannot be demoted or deactivated",
        ));
    }
    if id == actor && (req.active == Some(false) || req.role.is_some_and(|r| r != Role::Admin)) {
        return Err(ApiError::conflict(
            "administrators cannot demote or deactivate themselves",
        ));
    }
    let role_changes = req.role.is_some_and(|r| r.as_str() != current.role);
    let changes = db::users::Changes {
        email,
        display_name,
        role: req.role,
        active: req.active,
    };
    if !db::users::update(&mut tx, id, &changes).await? {
        return Err(ApiError::conflict("a user with this email already exists"));
    }
    if role_changes {
        db::assignments::remove_all_for(&mut tx, id).await?;
    }
    if req.active == Some(false) || role_changes {
        db::sessions::revoke_all_for_user(&mut *tx, id, None).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Deactivate a user (users are never hard-deleted: the audit log refers to them).
#[utoipa::path(delete, path = "/api/admin/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = u64, Path)), responses((status = 204), (status = 404), (status = 409)))]
pub async fn deactivate(
    State(state): State<AppState>,
    RequireRole(admin, ..): RequireRole<Admin>,
    audit: Audit,
    Path(id): Path<u64>,
) -> Result<StatusCode, ApiError> {
    audit.action("user.deactivate").object("user", id);
    let req = UpdateUser {
        active: Some(false),
        ..Default::default()
    };
    apply_update(&state, admin.id, id, req).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Set a new password for a user; their sessions end.
#[utoipa::path(post, path = "/api/admin/users/{id}/password", tag = "users", security(("bearer" = [])),
    params(("id" = u64, Path)), request_body = ResetPassword,
    responses((status = 204), (status = 404), (status = 422)))]
pub async fn reset_password(
    State(state): State<AppState>,
    RequireRole(_admin, ..): RequireRole<Admin>,
    audit: Audit,
    Path(id): Path<u64>,
    Json(req): Json<ResetPassword>,
) -> Result<StatusCode, ApiError> {
    audit.action("user.reset_password").object("user", id);
    check_policy("password", &req.password)?;
    if db::users::get(&state.db, id).await?.is_none() {
        return Err(ApiError::NotFound);
    }
    let hash = state.hasher.hash(req.password).await?;
    let mut tx = state.db.begin().await?;
    db::users::set_password(&mut *tx, id, &hash).await?;
    db::sessions::revoke_all_for_user(&mut *tx, id, None).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
