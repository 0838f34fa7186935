//! Every call to the model leaves one `ai_usage` row: who, which feature,
//! which model, token counts, duration and outcome. Never the content.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::MySqlPool;
use utoipa::{IntoParams, ToSchema};

/// What the assistant was asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    GenerateWorkflow,
    Summary,
    Chat,
    RuleSuggestions,
}

impl Feature {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GenerateWorkflow => "generate_workflow",
            Self::Summary => "summary",
            Self::Chat => "chat",
            Self::RuleSuggestions => "rule_suggestions",
        }
    }
}

/// How one call to the model ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    Timeout,
    Upstream,
    TooLarge,
    Malformed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Timeout => "timeout",
            Self::Upstream => "upstream",
            Self::TooLarge => "too_large",
            Self::Malformed => "malformed",
        }
    }
}

pub struct Record<'a> {
    pub user_id: u64,
    pub feature: Feature,
    pub model: &'a str,
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    pub duration_ms: u32,
    pub outcome: Outcome,
}

pub async fn record(db: &MySqlPool, r: &Record<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO ai_usage (user_id, feature, model, prompt_tokens, completion_tokens, duration_ms, outcome, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(r.user_id)
    .bind(r.feature.as_str())
    .bind(r.model)
    .bind(r.prompt_tokens)
    .bind(r.completion_tokens)
    .bind(r.duration_ms)
    .bind(r.outcome.as_str())
    .bind(Utc::now())
    .execute(db)
    .await?;
    Ok(())
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// Days back from now (default 30).
    #[param(minimum = 1, maximum = 366)]
    pub days: Option<u32>,
}

/// Calls and tokens of one user, feature and model over the window.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct UsageRow {
    pub user_id: u64,
    pub username: String,
    pub feature: String,
    pub model: String,
    pub calls: i64,
    pub failed_calls: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub duration_ms: i64,
    pub last_at: DateTime<Utc>,
}

pub async fn summary(db: &MySqlPool, days: u32) -> Result<Vec<UsageRow>, sqlx::Error> {
    let since = Utc::now() - chrono::Duration::days(days.into());
    sqlx::query_as(
        "SELECT u.user_id, a.username, u.feature, u.model, COUNT(*) AS calls, \
         CAST(SUM(u.outcome <> 'ok') AS SIGNED) AS failed_calls, \
         CAST(SUM(u.prompt_tokens) AS SIGNED) AS prompt_tokens, \
         CAST(SUM(u.completion_tokens) AS SIGNED) AS completion_tokens, \
         CAST(SUM(u.duration_ms) AS SIGNED) AS duration_ms, MAX(u.created_at) AS last_at \
         FROM ai_usage u JOIN app_user a ON a.user_id = u.user_id \
         WHERE u.created_at >= ? \
         GROUP BY u.user_id, a.username, u.feature, u.model \
         ORDER BY calls DESC, u.user_id LIMIT 1000",
    )
    .bind(since)
    .fetch_all(db)
    .await
}
