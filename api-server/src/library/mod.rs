//! The starter node library: curated templates shipped with the server
//! (`library/starter/`), installed on first start and re-installable by admins.

mod db;
pub mod service;

use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit::Audit;
use crate::auth::{Admin, RequireRole};
use crate::error::ApiError;
use crate::state::AppState;

pub use service::{install_builtins, install_on_first_start, InstallReport, SkipReason, Skipped};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(install_starter))
}

/// Install the starter node library: missing templates are created, unedited
/// starter templates are updated to the shipped version, templates an admin
/// edited or deleted are left alone and reported as skipped.
#[utoipa::path(post, path = "/api/admin/library/starter", tag = "templates",
    security(("bearer" = [])), responses((status = 200, body = InstallReport)))]
pub async fn install_starter(
    State(state): State<AppState>,
    RequireRole(admin, ..): RequireRole<Admin>,
    audit: Audit,
) -> Result<axum::Json<InstallReport>, ApiError> {
    audit.action("library.install").object("library", "starter");
    let report = service::install(&state.db, &state.settings.limit_maxima, admin.id)
        .await
        .map_err(anyhow::Error::from)?;
    Ok(axum::Json(report))
}
