//! Database connections: admin-managed (credentials sealed by the vault),
//! tested with a classified result, usable by name from the workflows of the
//! clients they are allowed for.

pub mod db;
pub mod driver;
pub mod http;
pub mod model;
pub mod mongo;
pub mod mssql;
pub mod query;
pub mod service;
pub mod sql;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(http::list, http::create))
        .routes(routes!(http::get, http::update, http::delete))
        .routes(routes!(http::test))
        .routes(routes!(http::usable))
}
