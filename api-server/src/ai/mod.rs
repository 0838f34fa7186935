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

pub mod chat;
pub mod client;
pub mod config;
pub mod context;
pub mod generate;
pub mod http;
pub mod rules;
pub mod settings;
pub mod summaries;
pub mod usage;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use self::client::{ChatRequest, ChatResponse, LlmClient, LlmError, Streamed};
use self::usage::{Feature, Outcome};
use crate::error::ApiError;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(http::status))
        .routes(routes!(http::generate_workflow))
        .routes(routes!(http::summarize))
        .routes(routes!(http::usage))
        .routes(routes!(http::admin_settings, http::update_admin_settings))
        .routes(routes!(chat::http::list, chat::http::create))
        .routes(routes!(chat::http::get, chat::http::delete))
        .routes(routes!(chat::http::send))
        .routes(routes!(rules::http::suggestions))
}

/// The assistant as the handlers reach it: the model client (absent when
/// not configured) and the per-user rate limiter. Cheap to clone.
///
/// The client is built from the environment's settings merged with the
/// ones an administrator stored (`settings`); it is rebuilt when the
/// stored document changes, which every replica notices on its next call.
#[derive(Clone, Default)]
pub struct Assistant {
    env: Arc<config::AiSettings>,
    cached: Arc<Mutex<Cached>>,
    limiter: Arc<RateLimiter>,
}

#[derive(Default)]
struct Cached {
    /// The stored settings text the client was built from (`Some(None)`:
    /// nothing stored); `None` before the first call.
    from: Option<Option<String>>,
    client: Option<Arc<LlmClient>>,
}

impl Assistant {
    pub fn new(s: &config::AiSettings) -> anyhow::Result<Self> {
        // Fails early on a configuration reqwest cannot use.
        LlmClient::new(s)?;
        Ok(Self {
            env: Arc::new(s.clone()),
            cached: Default::default(),
            limiter: Arc::new(RateLimiter::new(s.rate_per_minute, Duration::from_secs(60))),
        })
    }

    /// The environment's part of the settings.
    pub fn env(&self) -> &config::AiSettings {
        &self.env
    }

    /// The client for the settings in force, or `None` when the assistant
    /// is off. One primary-key read of the stored settings per call.
    pub async fn current(&self, state: &AppState) -> Result<Option<Arc<LlmClient>>, ApiError> {
        let raw = settings::raw(&state.db).await?;
        {
            let c = self.cached.lock().unwrap_or_else(|e| e.into_inner());
            if c.from.as_ref() == Some(&raw) {
                return Ok(c.client.clone());
            }
        }
        let stored = settings::parse(raw.as_deref()).map_err(ApiError::Internal)?;
        let merged = settings::effective(&self.env, &stored, &state.settings.vault)
            .map_err(ApiError::Internal)?;
        let client = LlmClient::new(&merged)
            .map_err(ApiError::Internal)?
            .map(Arc::new);
        let mut c = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        c.from = Some(raw);
        c.client = client.clone();
        Ok(client)
    }

    /// The client, or 503 `ai_disabled`.
    pub async fn enabled(&self, state: &AppState) -> Result<Arc<LlmClient>, ApiError> {
        self.current(state)
            .await?
            .ok_or_else(|| ApiError::Dependency {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "ai_disabled",
                message: "the AI assistant is not configured on this server \
                      (an administrator sets its endpoint in the admin settings, \
                      or KATALUSIS_LLM_BASE_URL and KATALUSIS_LLM_MODEL)"
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
    let client = state.ai.enabled(state).await?;
    let started = Instant::now();
    let result = client.complete(req).await;
    let tokens = result.as_ref().ok().and_then(|r| r.usage);
    account(state, &client, user, feature, started, &result, tokens).await?;
    result.map_err(into_api)
}

/// One streaming call (`req` is made a streaming request): `on_text` gets
/// the answer's text as it arrives. Recorded like [`call`].
pub async fn call_streaming(
    state: &AppState,
    user: u64,
    feature: Feature,
    req: ChatRequest,
    on_text: &mut (dyn FnMut(&str) + Send),
) -> Result<Streamed, ApiError> {
    let client = state.ai.enabled(state).await?;
    let started = Instant::now();
    let result = client.stream(&req.streaming(), on_text).await;
    let tokens = result.as_ref().ok().and_then(|r| r.usage);
    account(state, &client, user, feature, started, &result, tokens).await?;
    result.map_err(into_api)
}

async fn account<T>(
    state: &AppState,
    client: &LlmClient,
    user: u64,
    feature: Feature,
    started: Instant,
    result: &Result<T, LlmError>,
    tokens: Option<client::Usage>,
) -> Result<(), ApiError> {
    let outcome = match result {
        Ok(_) => Outcome::Ok,
        Err(LlmError::Timeout(_)) => Outcome::Timeout,
        Err(LlmError::TooLarge(_)) => Outcome::TooLarge,
        Err(LlmError::Upstream(_)) => Outcome::Upstream,
        Err(LlmError::Malformed(_)) => Outcome::Malformed,
    };
    let tokens = tokens.unwrap_or_default();
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
    Ok(())
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
