use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;

use super::extract::{list_window, CountMode, Paged, Query};
use crate::auth::{Admin, RequireRole};
use crate::db::{self, audit::Entry};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListAudit {
    pub user_id: Option<u64>,
    /// Substring of the action, e.g. `workflow.` or `user.create`.
    pub action: Option<String>,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    /// success, denied, rejected or error.
    pub outcome: Option<String>,
    /// Inclusive lower bound (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Exclusive upper bound (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// Page number (OFFSET paging, answers with `total` unless `count=none`); prefer `after`.
    pub page: Option<u32>,
    pub per_page: Option<u32>,
    /// The `nextCursor` of the previous page.
    pub after: Option<String>,
    /// `exact` to get `total` without page numbers; `none` for no `total`
    /// with page numbers.
    #[param(inline)]
    pub count: Option<CountMode>,
}

/// The name cursors of the audit list carry.
const AUDIT_CURSOR: &str = "audit";

/// The audit log, newest first.
#[utoipa::path(get, path = "/api/admin/audit", tag = "audit", security(("bearer" = [])),
    params(ListAudit), responses((status = 200, body = Paged<Entry>)))]
pub async fn list(
    State(state): State<AppState>,
    RequireRole(_admin, ..): RequireRole<Admin>,
    audit: crate::audit::Audit,
    Query(q): Query<ListAudit>,
) -> Result<axum::Json<Paged<Entry>>, ApiError> {
    audit.read(
        crate::audit::SensitiveRead::View,
        "audit.view",
        "audit_log",
        "",
    );
    let w = list_window::<u64>(
        AUDIT_CURSOR,
        q.page,
        q.per_page,
        q.after.as_deref(),
        q.count,
    )?;
    let f = db::audit::Filter {
        user_id: q.user_id,
        action: q.action.filter(|s| !s.is_empty()),
        object_type: q.object_type.filter(|s| !s.is_empty()),
        object_id: q.object_id.filter(|s| !s.is_empty()),
        outcome: q.outcome.filter(|s| !s.is_empty()),
        from: q.from,
        to: q.to,
    };
    let rows = db::audit::list(&state.db, &f, &w.start, w.per_page, w.count).await?;
    Ok(axum::Json(w.page(
        AUDIT_CURSOR,
        rows,
        |e| e.audit_id,
        |e| e,
    )))
}
