//! Triggers: runs started by a schedule, a webhook or an event instead of
//! Play. `model` holds the kinds and their settings, `db` the queries,
//! `service` the firing rules (shared by the scheduler, the webhook
//! endpoint and the event listener), `http` the endpoints. The schedule
//! arithmetic is pure, in `katalusis_flow::Schedule`.

pub mod db;
pub mod http;
pub mod manifest;
pub mod model;
pub mod service;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// Trigger management (staff, scoped by the workflow).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(http::list, http::create))
        .routes(routes!(http::update, http::delete))
        .routes(routes!(http::firings))
}

/// The webhook endpoint: public, the secret URL is the credential.
pub fn public_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(http::hook))
}
