//! Work management: tasks on a Kanban board with data-driven statuses,
//! comments with mentions, attachments judged by content, activity history
//! and SLA tracking. `service` holds the rules, `db` the queries, `http` the
//! handlers and DTOs, `model` the vocabularies and the pure SLA rule.

pub mod batch;
pub mod db;
pub mod http;
pub mod model;
pub mod service;
pub mod settings;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// The task routes; all need an authenticated caller, and visibility is
/// decided in each query (out of scope answers 404).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(http::list, http::create))
        .routes(routes!(http::events))
        .routes(routes!(http::bulk))
        .routes(routes!(http::get, http::update, http::delete))
        .routes(routes!(http::move_task))
        .routes(routes!(http::comments, http::add_comment))
        .routes(routes!(http::edit_comment, http::delete_comment))
        .routes(routes!(http::attachments, http::upload))
        .routes(routes!(http::download, http::delete_attachment))
        .routes(routes!(http::watch, http::unwatch))
        .routes(routes!(http::people))
        .routes(routes!(http::activity))
        .routes(routes!(http::statuses))
        .routes(routes!(http::get_settings, http::put_settings))
}
