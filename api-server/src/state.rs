use std::sync::Arc;

use sqlx::MySqlPool;

use crate::auth::jwt::JwtKeys;
use crate::auth::password::Hasher;
use crate::config::Settings;
use crate::executor::Executor;

/// Cloned into every handler; cheap (pool and `Arc`s).
#[derive(Clone)]
pub struct AppState {
    pub db: MySqlPool,
    pub keys: JwtKeys,
    pub hasher: Hasher,
    pub settings: Arc<Settings>,
    pub executor: Executor,
    /// Task and notification events for the SPA's live views.
    pub live: crate::live::LiveBus,
    /// `None` without `KATALUSIS_SMTP_URL`: notifications stay in-app.
    pub mailer: Option<crate::notifications::service::Mailer>,
    /// Prometheus metrics, served on `KATALUSIS_METRICS_ADDR`.
    pub metrics: std::sync::Arc<crate::metrics::Metrics>,
    /// The AI assistant (off unless `KATALUSIS_LLM_*` is configured).
    pub ai: crate::ai::Assistant,
    /// The finished days of runs that an admin's run metrics read from memory.
    pub finished: std::sync::Arc<crate::analytics::finished::FinishedDays>,
}
