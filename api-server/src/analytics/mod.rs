//! Analytics: task, SLA, productivity and run metrics for the dashboards.
//! `db` aggregates tasks in SQL, scoped like the lists it summarises;
//! `run_rows` reads the window's runs and attempts, which `finished` keeps
//! in memory for the days that can no longer change; `http`
//! validates the query and folds the database's time slots into local
//! buckets with the pure `katalusis-analytics` crate; `runs` folds the
//! window's runs and attempts into the run metrics; `model` holds the
//! metric groups and answer shapes; `rollup` keeps the task counts per
//! time slot that an admin's unfiltered series read.

pub mod db;
pub mod finished;
pub mod http;
pub mod model;
pub mod rollup;
pub mod run_rows;
pub mod runs;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// Every role may ask; each sees numbers over their own scope only.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(http::tasks))
        .routes(routes!(http::runs))
}
