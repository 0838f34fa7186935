//! Bulk import of tasks from CSV and XLSX. Parsing, mapping and validation
//! live in the pure `katalusis-import` crate; this slice stores sessions,
//! checks scope, and applies in the background through the task service's
//! own create and update rules. `service` holds the rules, `db` the
//! queries, `http` the handlers and DTOs, `model` the vocabularies.

pub mod db;
pub mod http;
pub mod model;
pub mod service;

use axum::extract::DefaultBodyLimit;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::state::AppState;

/// The import routes; managers and admins only, sessions visible to their
/// creator (another user's id answers 404).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        // The upload counts its own bytes against KATALUSIS_IMPORT_MAX_BYTES
        // while streaming, instead of the global request body limit.
        .routes(routes!(http::upload).layer(DefaultBodyLimit::disable()))
        .routes(routes!(http::list))
        .routes(routes!(http::get))
        .routes(routes!(http::preview))
        .routes(routes!(http::dry_run))
        .routes(routes!(http::report))
        .routes(routes!(http::apply))
        .routes(routes!(http::undo))
        .routes(routes!(http::events))
        .routes(routes!(http::mappings, http::save_mapping))
}
