//! Rule suggestions: the platform finds patterns in the caller's runs,
//! imports and tasks (`stats`, SQL over their scope); the model, when one
//! is configured, only orders and words them through one forced tool call
//! (`model::apply_ranking` keeps the numbers and rules the platform's).
//! Without a model, or when it fails, the suggestions come in the
//! platform's own words and order, and the answer says so.

pub mod http;
pub mod model;
pub mod stats;

use serde::Serialize;
use utoipa::ToSchema;

use self::model::{RuleSuggestion, PHRASING_SYSTEM};
use super::client::{Message, Tool};
use super::usage::Feature;
use crate::auth::CurrentUser;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RuleSuggestions {
    pub items: Vec<RuleSuggestion>,
    /// The model that ordered and worded them; absent when they are in the
    /// platform's own words (no model configured, or it failed: see `notice`).
    pub phrased_by: Option<String>,
    pub notice: Option<String>,
}

pub async fn suggest(state: &AppState, user: &CurrentUser) -> Result<RuleSuggestions, ApiError> {
    let patterns = model::platform_order(stats::patterns(&state.db, user).await?);
    let Some(client) = state.ai.current(state).await? else {
        return Ok(RuleSuggestions {
            items: model::unphrased(patterns),
            phrased_by: None,
            notice: Some(
                "The AI assistant is off: suggestions are in the platform's words.".into(),
            ),
        });
    };
    if patterns.is_empty() {
        return Ok(RuleSuggestions {
            items: Vec::new(),
            phrased_by: None,
            notice: None,
        });
    }
    state.ai.admit(user.id)?;
    let (prompt, schema) = model::phrasing_prompt(&patterns);
    let mut req = client.request(vec![
        Message::system(PHRASING_SYSTEM),
        Message::user(prompt),
    ]);
    req.tools = vec![Tool::function(
        "rank_suggestions",
        "The suggestions, most useful first, each with a short title and text.",
        schema,
    )];
    req.tool_choice =
        Some(serde_json::json!({"type": "function", "function": {"name": "rank_suggestions"}}));
    let model_name = client.model.clone();
    let fallback = |patterns, why: &str| {
        RuleSuggestions {
        items: model::unphrased(patterns),
        phrased_by: None,
        notice: Some(format!(
            "The assistant could not phrase the suggestions ({why}); they are in the platform's words."
        )),
    }
    };
    let resp = match super::call(state, user.id, Feature::RuleSuggestions, &req).await {
        Ok(r) => r,
        Err(e @ ApiError::Internal(_)) => return Err(e),
        Err(e) => return Ok(fallback(patterns, &e.to_string())),
    };
    let arguments = resp
        .message()
        .and_then(|m| m.tool_calls.first())
        .map(|c| c.function.arguments.clone())
        .or_else(|| resp.message().and_then(|m| m.content.clone()));
    match arguments.and_then(|a| model::apply_ranking(patterns.clone(), &a)) {
        Some(items) => Ok(RuleSuggestions {
            items,
            phrased_by: Some(model_name),
            notice: None,
        }),
        None => Ok(fallback(patterns, "its answer was not the expected JSON")),
    }
}
