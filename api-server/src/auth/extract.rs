//! `CurrentUser` and `RequireRole`: a handler that takes one cannot run for an
//! unauthenticated caller or the wrong role.

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};

use super::Role;
use crate::audit::AuditSlot;
use crate::error::ApiError;
use crate::state::AppState;

/// The authenticated caller, loaded fresh from the database on every request so
/// deactivation, role changes and logout take effect immediately.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub id: u64,
    pub username: String,
    pub role: Role,
    pub session_id: String,
}

impl CurrentUser {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(u) = parts.extensions.get::<CurrentUser>() {
            return Ok(u.clone());
        }
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthenticated)?;
        let claims = state.keys.verify(token).ok_or(ApiError::Unauthenticated)?;
        let user_id: u64 = claims.sub.parse().map_err(|_| ApiError::Unauthenticated)?;
        let row = crate::db::sessions::active_user(&state.db, user_id, &claims.sid)
            .await?
            .ok_or(ApiError::Unauthenticated)?;
        let stale = row.last_seen_at.is_none_or(|t| {
            chrono::Utc::now() - t
                > chrono::Duration::seconds(crate::db::sessions::LAST_SEEN_GRANULARITY_SECONDS)
        });
        if stale {
            let ip = parts
                .extensions
                .get::<crate::audit::ClientIp>()
                .and_then(|c| c.0.clone());
            crate::db::sessions::touch(&state.db, &claims.sid, ip.as_deref()).await?;
        }
        let user = CurrentUser {
            id: row.user_id,
            username: row.username,
            role: Role::parse(&row.role).ok_or(ApiError::Unauthenticated)?,
            session_id: claims.sid,
        };
        if let Some(slot) = parts.extensions.get::<AuditSlot>() {
            slot.set_actor(user.id, user.role);
        }
        parts.extensions.insert(user.clone());
        Ok(user)
    }
}

/// A set of roles allowed to call an endpoint.
pub trait RoleSet: Send + Sync + 'static {
    const ALLOWED: &'static [Role];
}

/// Administrators only.
pub struct Admin;
impl RoleSet for Admin {
    const ALLOWED: &'static [Role] = &[Role::Admin];
}

/// Administrators and managers (the people who build workflows).
pub struct Staff;
impl RoleSet for Staff {
    const ALLOWED: &'static [Role] = &[Role::Admin, Role::Manager];
}

/// `CurrentUser` whose role is in `R`; any other role gets 403.
pub struct RequireRole<R: RoleSet>(pub CurrentUser, pub PhantomData<R>);

impl<R: RoleSet> FromRequestParts<AppState> for RequireRole<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let user = CurrentUser::from_request_parts(parts, state).await?;
        if !R::ALLOWED.contains(&user.role) {
            return Err(ApiError::Forbidden);
        }
        Ok(Self(user, PhantomData))
    }
}
