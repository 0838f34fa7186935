//! Whether browser edits of cluster-managed workflows are written back to
//! their resources (off by default: the cluster, often Git, is their source
//! of truth).

use axum::extract::State;
use serde::{Deserialize, Serialize};
use sqlx::MySqlPool;
use utoipa::ToSchema;

use crate::audit::Audit;
use crate::auth::{Admin, RequireRole};
use crate::db;
use crate::error::ApiError;
use crate::http::extract::Json;
use crate::state::AppState;

const KEY: &str = "workflows_as_code";

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterWorkflowSettings {
    /// Browser edits of cluster-managed workflows are applied to their
    /// resources (server-side apply, field manager `katalusis-api`) instead
    /// of being refused; a resource changed in the cluster meanwhile is a
    /// conflict.
    pub write_back: bool,
}

/// The stored settings (defaults when never set).
pub async fn load(db: &MySqlPool) -> Result<ClusterWorkflowSettings, sqlx::Error> {
    Ok(db::settings::get(db, KEY)
        .await?
        .and_then(|s| serde_json::from_str(&s.value).ok())
        .unwrap_or_default())
}

/// Settings for cluster-managed workflows.
#[utoipa::path(get, path = "/api/admin/settings/cluster-workflows", tag = "settings",
    security(("bearer" = [])), responses((status = 200, body = ClusterWorkflowSettings)))]
pub async fn get(
    State(state): State<AppState>,
    RequireRole(_user, ..): RequireRole<Admin>,
) -> Result<axum::Json<ClusterWorkflowSettings>, ApiError> {
    Ok(axum::Json(load(&state.db).await?))
}

/// Change the settings for cluster-managed workflows.
#[utoipa::path(put, path = "/api/admin/settings/cluster-workflows", tag = "settings",
    security(("bearer" = [])), request_body = ClusterWorkflowSettings,
    responses((status = 200, body = ClusterWorkflowSettings), (status = 422)))]
pub async fn put(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Admin>,
    audit: Audit,
    Json(req): Json<ClusterWorkflowSettings>,
) -> Result<axum::Json<ClusterWorkflowSettings>, ApiError> {
    audit.action("settings.cluster_workflows");
    let value = serde_json::to_string(&req).map_err(anyhow::Error::from)?;
    db::settings::put(&state.db, KEY, &value, user.id).await?;
    Ok(axum::Json(req))
}
