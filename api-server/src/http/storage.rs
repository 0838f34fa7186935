//! How big the database has grown: table sizes for the admin's storage page,
//! next to the retention settings that bound them.

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{Admin, RequireRole};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct TableSize {
    pub table: String,
    /// InnoDB's estimate (information_schema), not an exact count.
    pub approx_rows: u64,
    pub data_bytes: u64,
    pub index_bytes: u64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Storage {
    /// Largest first.
    pub tables: Vec<TableSize>,
    pub total_bytes: u64,
    pub retention: RetentionView,
}

/// The retention in force, in days; absent keeps rows forever.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetentionView {
    pub run_events_days: Option<u32>,
    pub log_lines_days: Option<u32>,
    pub files_days: Option<u32>,
    pub audit_days: Option<u32>,
    pub batch_rows: u32,
}

/// Table sizes of this database (estimates from `information_schema`, which
/// costs no table scan) and the retention settings.
#[utoipa::path(get, path = "/api/admin/storage", tag = "settings", security(("bearer" = [])),
    responses((status = 200, body = Storage)))]
pub async fn get(
    State(state): State<AppState>,
    RequireRole(_admin, ..): RequireRole<Admin>,
) -> Result<axum::Json<Storage>, ApiError> {
    let tables: Vec<TableSize> = sqlx::query_as(
        "SELECT CAST(table_name AS CHAR) AS `table`, \
         CAST(COALESCE(table_rows, 0) AS UNSIGNED) AS approx_rows, \
         CAST(COALESCE(data_length, 0) AS UNSIGNED) AS data_bytes, \
         CAST(COALESCE(index_length, 0) AS UNSIGNED) AS index_bytes \
         FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' \
         ORDER BY data_length + index_length DESC, table_name",
    )
    .fetch_all(&state.db)
    .await?;
    let total_bytes = tables.iter().map(|t| t.data_bytes + t.index_bytes).sum();
    let r = state.settings.retention();
    Ok(axum::Json(Storage {
        tables,
        total_bytes,
        retention: RetentionView {
            run_events_days: r.run_events_days,
            log_lines_days: r.log_lines_days,
            files_days: r.files_days,
            audit_days: r.audit_days,
            batch_rows: r.batch_rows,
        },
    }))
}
