use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::db;
use crate::auth::CurrentUser;
use crate::error::ApiError;
use crate::http::extract::{Json, Query};
use crate::state::AppState;
use crate::tasks::model::NotificationKind;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub id: u64,
    pub kind: NotificationKind,
    pub task_id: Option<u64>,
    pub actor_id: Option<u64>,
    pub title: String,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

impl From<db::NotificationRow> for Notification {
    fn from(r: db::NotificationRow) -> Self {
        Self {
            id: r.notification_id,
            kind: r.kind,
            task_id: r.task_id,
            actor_id: r.actor_id,
            title: r.title,
            created_at: r.created_at,
            read_at: r.read_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Inbox {
    /// Newest first.
    pub items: Vec<Notification>,
    /// Unread notifications in all, for the bell.
    pub unread: u64,
    /// Pass as `before` for the next page; absent on the last page.
    pub next: Option<u64>,
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    #[serde(default)]
    pub unread_only: bool,
    /// A notification id: return older ones only.
    pub before: Option<u64>,
    /// 1-200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

/// The caller's notifications, newest first, with the unread count.
#[utoipa::path(get, path = "/api/notifications", tag = "notifications", security(("bearer" = [])),
    params(InboxQuery), responses((status = 200, body = Inbox)))]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<InboxQuery>,
) -> Result<axum::Json<Inbox>, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::field("limit", "must be between 1 and 200"));
    }
    let rows = db::list(&state.db, user.id, q.unread_only, q.before, limit).await?;
    let next = (rows.len() == limit as usize)
        .then(|| rows.last().map(|r| r.notification_id))
        .flatten();
    let unread = db::unread_count(&state.db, user.id).await?;
    Ok(axum::Json(Inbox {
        items: rows.into_iter().map(Notification::from).collect(),
        unread,
        next,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MarkRead {
    /// These notifications; ignored when `all` is true.
    #[serde(default)]
    pub ids: Vec<u64>,
    /// Every unread notification of the caller.
    #[serde(default)]
    pub all: bool,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Unread {
    pub unread: u64,
}

/// Marks notifications read (some or all); answers the new unread count.
#[utoipa::path(post, path = "/api/notifications/read", tag = "notifications", security(("bearer" = [])),
    request_body = MarkRead, responses((status = 200, body = Unread), (status = 422)))]
pub async fn read(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(body): Json<MarkRead>,
) -> Result<axum::Json<Unread>, ApiError> {
    if !body.all && body.ids.len() > 1000 {
        return Err(ApiError::field("ids", "at most 1000 ids at once"));
    }
    let ids = (!body.all).then_some(body.ids.as_slice());
    db::mark_read(&state.db, user.id, ids, Utc::now()).await?;
    Ok(axum::Json(Unread {
        unread: db::unread_count(&state.db, user.id).await?,
    }))
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Preference {
    pub kind: NotificationKind,
    /// Show in the in-app inbox.
    pub in_app: bool,
    /// Send by email (when the server has SMTP configured).
    pub email: bool,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Preferences {
    /// One entry per notification kind; kinds left out keep their setting.
    pub items: Vec<Preference>,
}

async fn current_preferences(state: &AppState, user_id: u64) -> Result<Preferences, ApiError> {
    let rows = db::preferences(&state.db, user_id).await?;
    Ok(Preferences {
        items: NotificationKind::ALL
            .into_iter()
            .map(|kind| {
                let row = rows.iter().find(|r| r.kind == kind);
                Preference {
                    kind,
                    in_app: row.is_none_or(|r| r.in_app),
                    email: row.is_none_or(|r| r.email),
                }
            })
            .collect(),
    })
}

/// The caller's notification preferences, one per kind (default: in-app and email).
#[utoipa::path(get, path = "/api/notifications/preferences", tag = "notifications",
    security(("bearer" = [])), responses((status = 200, body = Preferences)))]
pub async fn get_preferences(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<axum::Json<Preferences>, ApiError> {
    Ok(axum::Json(current_preferences(&state, user.id).await?))
}

/// Changes the caller's notification preferences.
#[utoipa::path(put, path = "/api/notifications/preferences", tag = "notifications",
    security(("bearer" = [])), request_body = Preferences,
    responses((status = 200, body = Preferences), (status = 422)))]
pub async fn put_preferences(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(body): Json<Preferences>,
) -> Result<axum::Json<Preferences>, ApiError> {
    for p in &body.items {
        db::set_preference(
            &state.db,
            db::PreferenceRow {
                user_id: user.id,
                kind: p.kind,
                in_app: p.in_app,
                email: p.email,
            },
        )
        .await?;
    }
    Ok(axum::Json(current_preferences(&state, user.id).await?))
}
