//! Approvals: a run waiting at an Approval node until one of its approvers
//! decides. The rules shared by both executors (who may decide, what a
//! timeout does, the outputs) are in `katalusis_flow`; this slice stores
//! approvals (`db`), opens and decides them with their task (`service`)
//! and serves the decision endpoints (`http`). A decision is committed
//! before the run's driver is woken, so it survives any restart.

pub mod db;
pub mod http;
pub mod service;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(http::get))
        .routes(routes!(http::of_run))
        .routes(routes!(http::decide_by_id))
        .routes(routes!(http::decide_at_node))
}
