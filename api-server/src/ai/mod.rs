//! The AI assistant: natural language to a validated workflow proposal, and
//! summaries, on any OpenAI-compatible Chat Completions endpoint.
//!
//! Safety model: the assistant only proposes. It has no write tools; its
//! proposals go through the same validator as a person's edit and are
//! returned, never saved. Context for the model is built through the same
//! scoped reads as the API (`context`), without secrets or credentials.
//! Every call is recorded in `ai_usage` (no content).
//!
//! `config` reads the settings, `client` speaks the protocol, `generate`
//! holds the proposal prompt, parsing, layout and repair loop, `summaries`
//! the summary features, `usage` the accounting, `http` the handlers.

pub mod client;
pub mod config;
pub mod context;
pub mod generate;
pub mod http;
pub mod summaries;
pub mod usage;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use self::client::{ChatRequest, ChatResponse, LlmClient, LlmError};
use self::usage::{Feature, Outcome};
use crate::error::ApiError;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(http::status))
        .routes(routes!(http::generate_workflow))
        .routes(routes!(http::summarize))
        .routes(routes!(http::usage))
}

/// The assistant as the handlers reach it: the model client (absent when
/// not configured) and the per-user rate limiter. Cheap to clone.
#[derive(Clone, Default)]
pub struct Assistant {
    client: Option<Arc<LlmClient>>,
    limiter: Arc<RateLimiter>,
}

impl Assistant {
    pub fn new(s: &config::AiSettings) -> anyhow::Result<Self> {
        Ok(Self {
            client: LlmClient::new(s)?.map(Arc::new),
            limiter: Arc::new(RateLimiter::new(s.rate_per_minute, Duration::from_secs(60))),
        })
    }

    /// The model's name when the assistant is on.
    pub fn model(&self) -> Option<&str> {
        self.client.as_deref().map(|c| c.model.as_str())
    }

    /// The client, or 503 `ai_disabled`.
    pub fn enabled(&self) -> Result<&LlmClient, ApiError> {
        self.client.as_deref().ok_or_else(|| ApiError::Dependency {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "ai_disabled",
            message: "the AI assistant is not configured on this server \
                      (an administrator sets KATALUSIS_LLM_BASE_URL and KATALUSIS_LLM_MODEL)"
                .into(),
        })
    }

    /// Counts one request of `user` against the per-minute limit, or 429.
    pub fn admit(&self, user: u64) -> Result<(), ApiError> {
        self.limiter
            .admit(user, Instant::now())
            .map_err(|wait| ApiError::TooManyRequests {
                retry_after_seconds: wait.as_secs().max(1),
            })
    }
}

/// A sliding one-minute window per user, in memory: a replica limits its
/// own traffic, which bounds the cost a single user can cause per replica.
pub struct RateLimiter {
    per_window: u32,
    window: Duration,
    seen: Mutex<HashMap<u64, VecDeque<Instant>>>,
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self::new(10, Duration::from_secs(60))
    }
}

impl RateLimiter {
    pub fn new(per_window: u32, window: Duration) -> Self {
        Self {
            per_window,
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Ok when `user` may make another request at `now`; otherwise how long
    /// until the oldest request leaves the window.
    pub fn admit(&self, user: u64, now: Instant) -> Result<(), Duration> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let times = seen.entry(user).or_default();
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            times.pop_front();
        }
        if times.len() >= self.per_window as usize {
            let oldest = times.front().copied().unwrap_or(now);
            return Err(self.window.saturating_sub(now.duration_since(oldest)));
        }
        times.push_back(now);
        Ok(())
    }
}

/// One call to the model on behalf of `user`, recorded in `ai_usage`
/// whatever its outcome. Errors are already the API's answer.
pub async fn call(
    state: &AppState,
    user: u64,
    feature: Feature,
    req: &ChatRequest,
) -> Result<ChatResponse, ApiError> {
    let client = state.ai.enabled()?;
    let started = Instant::now();
    let result = client.complete(req).await;
    let (outcome, tokens) = match &result {
        Ok(r) => (Outcome::Ok, r.usage.unwrap_or_default()),
        Err(LlmError::Timeout(_)) => (Outcome::Timeout, Default::default()),
        Err(LlmError::TooLarge(_)) => (Outcome::TooLarge, Default::default()),
        Err(LlmError::Upstream(_)) => (Outcome::Upstream, Default::default()),
        Err(LlmError::Malformed(_)) => (Outcome::Malformed, Default::default()),
    };
    let duration_ms = started.elapsed().as_millis().min(u32::MAX as u128) as u32;
    tracing::info!(
        user,
        feature = feature.as_str(),
        model = %client.model,
        prompt_tokens = tokens.prompt_tokens,
        completion_tokens = tokens.completion_tokens,
        duration_ms,
        outcome = outcome.as_str(),
        "language model call"
    );
    usage::record(
        &state.db,
        &usage::Record {
            user_id: user,
            feature,
            model: &client.model,
            prompt_tokens: tokens.prompt_tokens,
            completion_tokens: tokens.completion_tokens,
            duration_ms,
            outcome,
        },
    )
    .await?;
    result.map_err(into_api)
}

fn into_api(e: LlmError) -> ApiError {
    let (status, code) = match &e {
        LlmError::Timeout(_) => (StatusCode::GATEWAY_TIMEOUT, "ai_timeout"),
        LlmError::TooLarge(_) => (StatusCode::BAD_GATEWAY, "ai_answer_too_large"),
        LlmError::Upstream(_) => (StatusCode::BAD_GATEWAY, "ai_upstream"),
        LlmError::Malformed(_) => (StatusCode::BAD_GATEWAY, "ai_bad_answer"),
    };
    ApiError::Dependency {
        status,
        code,
        message: format!("{e}; nothing was changed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limiter_admits_up_to_the_limit_per_window_and_says_how_long_to_wait() {
        let l = RateLimiter::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        assert!(l.admit(1, t0).is_ok());
        assert!(l.admit(1, t0 + Duration::from_secs(10)).is_ok());
        let wait = l.admit(1, t0 + Duration::from_secs(20)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(40));
        // Another user has their own window.
        assert!(l.admit(2, t0 + Duration::from_secs(20)).is_ok());
        // Once the first request leaves the window there is room again.
        assert!(l.admit(1, t0 + Duration::from_secs(61)).is_ok());
    }
}
