use axum::extract::State;
use axum::http::StatusCode;
use axum::Extension;
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::Json;
use crate::audit::{Audit, ClientIp};
use crate::auth::password::check_policy;
use crate::auth::tokens::{new_refresh_token, sha256_hex};
use crate::auth::CurrentUser;
use crate::db::{self, users::User};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginRequest {
    /// Username or email.
    pub login: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    pub refresh_token: String,
    pub user: User,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    #[schema(min_length = 10, max_length = 1024)]
    pub new_password: String,
}

async fn issue_tokens(
    state: &AppState,
    tx: &mut sqlx::Transaction<'_, sqlx::MySql>,
    user_id: u64,
    session_id: &str,
) -> Result<(String, String), ApiError> {
    let refresh = new_refresh_token();
    db::sessions::insert_refresh(tx, &sha256_hex(&refresh), session_id).await?;
    let access = state
        .keys
        .issue(user_id, session_id, Utc::now().timestamp())?;
    Ok((access, refresh))
}

async fn token_response(
    state: &AppState,
    user_id: u64,
    access: String,
    refresh: String,
) -> Result<TokenResponse, ApiError> {
    let user = db::users::get(&state.db, user_id)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    Ok(TokenResponse {
        access_token: access,
        token_type: "Bearer",
        expires_in: state.keys.ttl_seconds,
        refresh_token: refresh,
        user,
    })
}

/// Log in with a username or email and a password.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = TokenResponse), (status = 401), (status = 429)))]
pub async fn login(
    State(state): State<AppState>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    headers: axum::http::HeaderMap,
    audit: Audit,
    Json(req): Json<LoginRequest>,
) -> Result<axum::Json<TokenResponse>, ApiError> {
    audit.action("auth.login");
    let s = &state.settings;
    let window = Duration::seconds(s.login_lockout_seconds as i64);
    let login = req.login.trim().to_lowercase();
    if login.is_empty() || login.chars().count() > 254 || req.password.len() > 4096 {
        return Err(ApiError::InvalidCredentials);
    }
    let acct_key = format!("acct:{login}");
    let ip_key = format!("ip:{}", ip.as_deref().unwrap_or("unknown"));
    for key in [&acct_key, &ip_key] {
        if let Some(secs) = db::throttle::locked_for(&state.db, key).await? {
            return Err(ApiError::TooManyRequests {
                retry_after_seconds: secs,
            });
        }
    }
    let creds = db::users::credentials(&state.db, &login).await?;
    let ok = state
        .hasher
        .verify(
            req.password,
            creds.as_ref().map(|c| c.password_hash.clone()),
        )
        .await?;
    let creds = match creds {
        Some(c) if ok && c.active => c,
        other => {
            if let Some(c) = other {
                audit.object("user", c.user_id);
            }
            db::throttle::record_failure(&state.db, &acct_key, s.login_max_failures, window)
                .await?;
            db::throttle::record_failure(&state.db, &ip_key, s.login_ip_max_failures, window)
                .await?;
            return Err(ApiError::InvalidCredentials);
        }
    };
    db::throttle::clear(&state.db, &acct_key).await?;
    let session_id = uuid::Uuid::new_v4().to_string();
    let expires = Utc::now() + Duration::seconds(s.refresh_token_ttl_seconds as i64);
    let mut tx = state.db.begin().await?;
    let agent = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    db::sessions::create(
        &mut tx,
        &session_id,
        creds.user_id,
        expires,
        ip.as_deref(),
        agent,
    )
    .await?;
    let (access, refresh) = issue_tokens(&state, &mut tx, creds.user_id, &session_id).await?;
    tx.commit().await?;
    let resp = token_response(&state, creds.user_id, access, refresh).await?;
    audit.object("user", creds.user_id);
    audit.0.set_actor(
        creds.user_id,
        crate::auth::Role::parse(&resp.user.role).unwrap_or(crate::auth::Role::Client),
    );
    Ok(axum::Json(resp))
}

/// Exchange a refresh token for a new access token and a new refresh token.
/// Each refresh token works once; presenting a used one ends the session.
#[utoipa::path(post, path = "/api/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenResponse), (status = 401)))]
pub async fn refresh(
    State(state): State<AppState>,
    audit: Audit,
    Json(req): Json<RefreshRequest>,
) -> Result<axum::Json<TokenResponse>, ApiError> {
    audit.action("auth.refresh");
    let hash = sha256_hex(&req.refresh_token);
    let mut tx = state.db.begin().await?;
    let row = db::sessions::lock_refresh(&mut tx, &hash)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    audit.object("session", &row.session_id);
    if row.used_at.is_some() {
        // Reuse of a rotated token means it leaked: end the whole session.
        db::sessions::revoke(&mut *tx, &row.session_id).await?;
        tx.commit().await?;
        tracing::warn!(session = %row.session_id, "refresh token reuse; session revoked");
        return Err(ApiError::Unauthenticated);
    }
    if row.revoked_at.is_some() || row.expires_at <= Utc::now() || !row.active {
        return Err(ApiError::Unauthenticated);
    }
    db::sessions::mark_used(&mut tx, &hash).await?;
    let (access, refresh) = issue_tokens(&state, &mut tx, row.user_id, &row.session_id).await?;
    tx.commit().await?;
    Ok(axum::Json(
        token_response(&state, row.user_id, access, refresh).await?,
    ))
}

/// End the current session: its access and refresh tokens stop working at once.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401)))]
pub async fn logout(
    State(state): State<AppState>,
    user: CurrentUser,
    audit: Audit,
) -> Result<StatusCode, ApiError> {
    audit
        .action("auth.logout")
        .object("session", &user.session_id);
    db::sessions::revoke(&state.db, &user.session_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The current user.
#[utoipa::path(get, path = "/api/auth/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = User), (status = 401)))]
pub async fn me(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<axum::Json<User>, ApiError> {
    Ok(axum::Json(
        db::users::get(&state.db, user.id)
            .await?
            .ok_or(ApiError::Unauthenticated)?,
    ))
}

/// Change your own password; your other sessions are ended.
#[utoipa::path(post, path = "/api/auth/password", tag = "auth", security(("bearer" = [])),
    request_body = ChangePasswordRequest, responses((status = 204), (status = 422)))]
pub async fn change_password(
    State(state): State<AppState>,
    user: CurrentUser,
    audit: Audit,
    Json(req): Json<ChangePasswordRequest>,
) -> Result<StatusCode, ApiError> {
    audit.action("user.change_password").object("user", user.id);
    check_policy("newPassword", &req.new_password)?;
    let hash = db::users::password_hash(&state.db, user.id).await?;
    if !state.hasher.verify(req.current_password, hash).await? {
        return Err(ApiError::field("currentPassword", "is incorrect"));
    }
    let new_hash = state.hasher.hash(req.new_password).await?;
    let mut tx = state.db.begin().await?;
    db::users::set_password(&mut *tx, user.id, &new_hash).await?;
    db::sessions::revoke_all_for_user(&mut *tx, user.id, Some(&user.session_id)).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
