//! The assistant's handlers. Order of checks in each: role, then scope
//! (404 for a client the caller may not see), then whether the assistant is
//! on (503 `ai_disabled`), then limits; only then is the model called.

use axum::extract::State;
use katalusis_crds::{Graph, Problem};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::usage::{UsageQuery, UsageRow};
use crate::audit::Audit;
use crate::auth::{Admin, ClientScope, CurrentUser, RequireRole, Staff};
use crate::error::ApiError;
use crate::http::extract::{Json, Query};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AiStatus {
    /// False when no model is configured: the SPA hides the assistant.
    pub enabled: bool,
    pub model: Option<String>,
}

/// Whether the assistant is on, for the SPA.
#[utoipa::path(get, path = "/api/ai/status", tag = "ai", security(("bearer" = [])),
    responses((status = 200, body = AiStatus)))]
pub async fn status(
    State(state): State<AppState>,
    _user: CurrentUser,
) -> Result<axum::Json<AiStatus>, ApiError> {
    let client = state.ai.current(&state).await?;
    Ok(axum::Json(AiStatus {
        enabled: client.is_some(),
        model: client.map(|c| c.model.clone()),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenerateRequest {
    /// What the workflow should do, in the user's words (at most
    /// `KATALUSIS_LLM_MAX_PROMPT_CHARS` characters, 4000 by default: 422 above).
    #[schema(min_length = 1, max_length = 100000, pattern = r"\S")]
    pub prompt: String,
    /// The workflow's client: its scope decides which connections Query
    /// nodes may name.
    pub client_id: u64,
    /// The current graph, to change rather than start from nothing.
    #[serde(default)]
    pub graph: Option<Graph>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GenerateResponse {
    /// The proposal, laid out on the canvas; never saved by this call.
    pub graph: Graph,
    /// Warnings of the validator (a proposal with errors is never returned).
    pub problems: Vec<Problem>,
    /// How many times the model was asked (1 + repair rounds).
    pub rounds: u32,
}

/// Propose a workflow from a sentence. The proposal passed the workflow
/// validator; nothing is saved. 422 `ai_no_valid_proposal` lists the
/// problems left after the repair rounds; 502/504 when the model fails or
/// is too slow; 503 `ai_disabled` when no model is configured.
#[utoipa::path(post, path = "/api/ai/generate-workflow", tag = "ai", security(("bearer" = [])),
    request_body = GenerateRequest,
    responses((status = 200, body = GenerateResponse), (status = 404), (status = 429),
        (status = 502), (status = 503), (status = 504)))]
pub async fn generate_workflow(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    audit: Audit,
    Json(req): Json<GenerateRequest>,
) -> Result<axum::Json<GenerateResponse>, ApiError> {
    audit
        .action("ai.generate_workflow")
        .object("client", req.client_id);
    if !ClientScope::of(&user)
        .allows(&state.db, req.client_id)
        .await?
    {
        return Err(ApiError::NotFound);
    }
    state.ai.enabled(&state).await?;
    check_prompt(&state, &req.prompt)?;
    if req
        .graph
        .as_ref()
        .is_some_and(|g| g.nodes.len() > katalusis_crds::validate::MAX_NODES)
    {
        return Err(ApiError::field("graph.nodes", "too many nodes"));
    }
    state.ai.admit(user.id)?;
    let p =
        super::generate::propose(&state, user.id, req.client_id, &req.prompt, req.graph).await?;
    Ok(axum::Json(GenerateResponse {
        graph: p.graph,
        problems: p.problems,
        rounds: p.rounds,
    }))
}

fn check_prompt(state: &AppState, prompt: &str) -> Result<(), ApiError> {
    let max = state.settings.ai.max_prompt_chars;
    if prompt.trim().is_empty() {
        return Err(ApiError::field("prompt", "must not be blank"));
    }
    if prompt.chars().count() > max {
        return Err(ApiError::field(
            "prompt",
            &format!("must be at most {max} characters"),
        ));
    }
    Ok(())
}

/// Summarize a task, a run ("explain this run") or a client's last seven
/// days, within the caller's scope (404 outside it). The answer is labelled
/// AI-generated and lists the sources it was built from; nothing changes.
#[utoipa::path(post, path = "/api/ai/summaries", tag = "ai", security(("bearer" = [])),
    request_body = super::summaries::SummaryRequest,
    responses((status = 200, body = super::summaries::Summary), (status = 404), (status = 429),
        (status = 502), (status = 503), (status = 504)))]
pub async fn summarize(
    State(state): State<AppState>,
    user: CurrentUser,
    audit: Audit,
    Json(req): Json<super::summaries::SummaryRequest>,
) -> Result<axum::Json<super::summaries::Summary>, ApiError> {
    audit.action("ai.summarize").object(
        match req.kind {
            super::summaries::SummaryKind::Task => "task",
            super::summaries::SummaryKind::Run => "run",
            super::summaries::SummaryKind::ClientWeek => "client",
        },
        req.id,
    );
    Ok(axum::Json(
        super::summaries::summarize(&state, &user, &req).await?,
    ))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageReport {
    pub days: u32,
    /// Per user, feature and model, most calls first.
    pub rows: Vec<UsageRow>,
}

/// Calls to the language model per user, feature and model (no content is
/// ever recorded). Answers also while the assistant is off.
#[utoipa::path(get, path = "/api/admin/ai/usage", tag = "ai", security(("bearer" = [])),
    params(UsageQuery), responses((status = 200, body = UsageReport)))]
pub async fn usage(
    State(state): State<AppState>,
    _admin: RequireRole<Admin>,
    Query(q): Query<UsageQuery>,
) -> Result<axum::Json<UsageReport>, ApiError> {
    let days = q.days.unwrap_or(30);
    if !(1..=366).contains(&days) {
        return Err(ApiError::field("days", "must be between 1 and 366"));
    }
    let rows = super::usage::summary(&state.db, days).await?;
    Ok(axum::Json(UsageReport { days, rows }))
}

async fn admin_view(state: &AppState) -> Result<super::settings::AiAdminSettings, ApiError> {
    use super::settings;
    let row = crate::db::settings::get(&state.db, settings::KEY).await?;
    let stored =
        settings::parse(row.as_ref().map(|r| r.value.as_str())).map_err(ApiError::Internal)?;
    let client = state.ai.current(state).await?;
    Ok(settings::AiAdminSettings {
        base_url: stored.base_url,
        model: stored.model,
        api_key: settings::KeyState {
            set: stored.api_key_sealed.is_some(),
        },
        overridden_by_environment: settings::overriding_vars(state.ai.env()),
        enabled: client.is_some(),
        effective_model: client.map(|c| c.model.clone()),
        updated_at: row.as_ref().map(|r| r.updated_at),
        updated_by: row.and_then(|r| r.updated_by),
    })
}

/// The assistant's endpoint as stored by an administrator: base URL and
/// model, and whether an API key is stored (never the key). Environment
/// variables that are set win over these fields and are listed.
#[utoipa::path(get, path = "/api/admin/ai/settings", tag = "ai", security(("bearer" = [])),
    responses((status = 200, body = super::settings::AiAdminSettings)))]
pub async fn admin_settings(
    State(state): State<AppState>,
    _admin: RequireRole<Admin>,
) -> Result<axum::Json<super::settings::AiAdminSettings>, ApiError> {
    Ok(axum::Json(admin_view(&state).await?))
}

/// Replace the assistant's stored endpoint. The API key is write-only:
/// a string sets it (sealed by the vault), `{"set": true}` or leaving it
/// out keeps it, `null` clears it. Takes effect on the next call.
#[utoipa::path(put, path = "/api/admin/ai/settings", tag = "ai", security(("bearer" = [])),
    request_body = super::settings::AiSettingsInput,
    responses((status = 200, body = super::settings::AiAdminSettings), (status = 422)))]
pub async fn update_admin_settings(
    State(state): State<AppState>,
    RequireRole(admin, ..): RequireRole<Admin>,
    audit: Audit,
    Json(input): Json<super::settings::AiSettingsInput>,
) -> Result<axum::Json<super::settings::AiAdminSettings>, ApiError> {
    use super::settings;
    audit
        .action("ai.settings.update")
        .object("setting", settings::KEY);
    let valid = input.validate().map_err(ApiError::Validation)?;
    let current =
        settings::parse(settings::raw(&state.db).await?.as_deref()).map_err(ApiError::Internal)?;
    let next = settings::apply(&current, valid, &state.settings.vault);
    let text = serde_json::to_string(&next).map_err(|e| ApiError::Internal(e.into()))?;
    crate::db::settings::put(&state.db, settings::KEY, &text, admin.id).await?;
    Ok(axum::Json(admin_view(&state).await?))
}
