use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{MySqlPool, QueryBuilder};

use super::paging::{explain_window, fetch_window, PlanStep, Start, Window};
use utoipa::ToSchema;

pub struct NewEntry {
    pub user_id: Option<u64>,
    pub role: Option<&'static str>,
    pub action: String,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub outcome: &'static str,
    pub status: u16,
    pub request_id: String,
    pub client_ip: Option<String>,
}

pub async fn insert(db: &MySqlPool, e: &NewEntry) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log (at, user_id, role, action, object_type, object_id, outcome, status, request_id, client_ip) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(Utc::now())
    .bind(e.user_id)
    .bind(e.role)
    .bind(truncate(&e.action, 100))
    .bind(e.object_type.as_deref())
    .bind(e.object_id.as_deref().map(|s| truncate(s, 100)))
    .bind(e.outcome)
    .bind(e.status)
    .bind(truncate(&e.request_id, 64))
    .bind(e.client_ip.as_deref())
    .execute(db)
    .await?;
    Ok(())
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub audit_id: u64,
    pub at: DateTime<Utc>,
    pub user_id: Option<u64>,
    pub role: Option<String>,
    pub action: String,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub outcome: String,
    pub status: i16,
    pub request_id: String,
    pub client_ip: Option<String>,
}

#[derive(Debug, Default)]
pub struct Filter {
    pub user_id: Option<u64>,
    pub action: Option<String>,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub outcome: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

fn push_where(qb: &mut QueryBuilder<'_, sqlx::MySql>, f: &Filter) {
    qb.push(" WHERE 1=1");
    if let Some(u) = f.user_id {
        qb.push(" AND user_id = ").push_bind(u);
    }
    if let Some(a) = &f.action {
        qb.push(" AND action LIKE ")
            .push_bind(super::like_pattern(a));
    }
    if let Some(t) = &f.object_type {
        qb.push(" AND object_type = ").push_bind(t.clone());
    }
    if let Some(o) = &f.object_id {
        qb.push(" AND object_id = ").push_bind(o.clone());
    }
    if let Some(o) = &f.outcome {
        qb.push(" AND outcome = ").push_bind(o.clone());
    }
    if let Some(t) = f.from {
        qb.push(" AND at >= ").push_bind(t);
    }
    if let Some(t) = f.to {
        qb.push(" AND at < ").push_bind(t);
    }
}

const COLUMNS: &str =
    "audit_id, at, user_id, role, action, object_type, object_id, outcome, status, \
    request_id, client_ip";

fn push_from_where(qb: &mut QueryBuilder<'_, sqlx::MySql>, f: &Filter) {
    qb.push(" FROM audit_log");
    push_where(qb, f);
}

fn push_keyset(qb: &mut QueryBuilder<'_, sqlx::MySql>, after: &u64) {
    qb.push(" AND audit_id < ").push_bind(*after);
}

/// One window of the audit log, newest first.
pub async fn list(
    db: &MySqlPool,
    f: &Filter,
    start: &Start<u64>,
    limit: u32,
    count: bool,
) -> Result<Window<Entry>, sqlx::Error> {
    fetch_window(
        db,
        COLUMNS,
        |qb| push_from_where(qb, f),
        push_keyset,
        "audit_id DESC",
        start,
        limit,
        count,
    )
    .await
}

/// The plan of `list`'s page query, for plan tests.
pub async fn explain_list(
    db: &MySqlPool,
    f: &Filter,
    start: &Start<u64>,
    limit: u32,
) -> Result<Vec<PlanStep>, sqlx::Error> {
    explain_window(
        db,
        COLUMNS,
        |qb| push_from_where(qb, f),
        push_keyset,
        "audit_id DESC",
        start,
        limit,
    )
    .await
}
