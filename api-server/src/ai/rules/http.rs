use axum::extract::State;

use crate::auth::{RequireRole, Staff};
use crate::error::ApiError;
use crate::state::AppState;

/// Suggested triggers from patterns in the caller's runs, imports and
/// tasks over the last 30 days, each with the statistic it comes from and
/// (when a trigger kind does it) the trigger to create. Nothing is created:
/// the SPA opens the trigger editor prefilled. With a model configured it
/// orders and words them; without one, or when it fails, they come in the
/// platform's words (`phrasedBy` absent, `notice` says why).
#[utoipa::path(get, path = "/api/ai/rule-suggestions", tag = "ai", security(("bearer" = [])),
    responses((status = 200, body = super::RuleSuggestions), (status = 429)))]
pub async fn suggestions(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
) -> Result<axum::Json<super::RuleSuggestions>, ApiError> {
    Ok(axum::Json(super::suggest(&state, &user).await?))
}
