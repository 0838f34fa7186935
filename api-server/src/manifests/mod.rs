//! Workflows as code: a workflow as the `Workflow` manifest people keep in
//! Git. `http` renders, parses, uploads and copies; `settings` holds the
//! admin's write-back switch; `clients` resolves the client a manifest
//! names. Adopting what is applied in the cluster is the cluster
//! executor's (`executor::cluster::adopt`), with the same validator. The
//! text format itself is pure, in `katalusis_crds::manifest`.

pub mod http;
pub mod settings;

use katalusis_crds::{Graph, Problem};
use sqlx::MySqlPool;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Role;
use crate::db;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(http::manifest))
        .routes(routes!(http::render))
        .routes(routes!(http::parse))
        .routes(routes!(http::apply))
        .routes(routes!(settings::get, settings::put))
}

/// The active client a manifest's `katalusis.io/client` label names.
pub async fn client_by_username(
    db: &MySqlPool,
    username: &str,
) -> Result<Option<db::users::User>, sqlx::Error> {
    Ok(db::users::by_username(db, username)
        .await?
        .filter(|u| u.role == Role::Client.as_str() && u.active))
}

/// Everything the graph validator and the connection check find, as Save
/// and Play see it.
pub async fn problems(
    db: &MySqlPool,
    client_id: u64,
    graph: &Graph,
) -> Result<Vec<Problem>, crate::error::ApiError> {
    let mut problems = crate::http::workflows::problems_in(db, graph).await?;
    problems.extend(crate::http::workflows::connection_problems_in(db, client_id, graph).await?);
    Ok(problems)
}
