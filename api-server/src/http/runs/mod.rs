//! Runs: start (Play), list, read, cancel, publish, logs, outputs and live
//! events. Managers and admins start and control runs of the clients they may
//! see; clients read their own published runs, read-only.

pub mod downloads;
pub mod dto;
pub mod live;
pub mod play;
pub mod read;

use crate::auth::{ClientScope, CurrentUser};
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// A run inside the caller's scope; 404 outside it.
async fn scoped(state: &AppState, user: &CurrentUser, id: u64) -> Result<db::runs::Row, ApiError> {
    db::runs::get(&state.db, ClientScope::of(user), id)
        .await?
        .ok_or(ApiError::NotFound)
}
