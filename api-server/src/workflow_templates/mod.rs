//! Workflow templates: a gallery of graphs with named parameters (and
//! triggers) that managers instantiate for a client. `model` holds the
//! document and the pure instantiation, `db` the queries, `service` the
//! install, save and pin steps, `http` the endpoints.

pub mod db;
pub mod http;
pub mod model;
pub mod service;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(http::list, http::save))
        .routes(routes!(http::get, http::delete))
        .routes(routes!(http::instantiate))
}
