//! The in-app inbox: notifications, read marks and per-user preferences.
//! Other slices raise notifications through [`service::notify`].

pub mod db;
pub mod http;
pub mod service;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// The inbox routes; every one needs an authenticated caller and acts on
/// the caller's own inbox only.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(http::list))
        .routes(routes!(http::read))
        .routes(routes!(http::get_preferences, http::put_preferences))
}
