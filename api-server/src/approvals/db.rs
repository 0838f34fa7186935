//! Queries on `approval` and `approval_approver`.

use chrono::{DateTime, Utc};
use sqlx::{MySqlConnection, MySqlExecutor};

/// One approval of one node attempt.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApprovalRow {
    pub approval_id: u64,
    pub run_id: u64,
    pub node_id: String,
    pub attempt: u32,
    pub client_id: u64,
    pub task_id: Option<u64>,
    pub status: String,
    pub subject: Option<String>,
    pub escalated: bool,
    pub deadline_at: Option<DateTime<Utc>>,
    pub decided_by: Option<u64>,
    pub decided_by_name: Option<String>,
    pub decided_via: Option<String>,
    pub comment: Option<String>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

const SELECT: &str =
    "SELECT a.approval_id, a.run_id, a.node_id, a.attempt, a.client_id, a.task_id, \
     a.status, a.subject, a.escalated, a.deadline_at, a.decided_by, u.username AS decided_by_name, \
     a.decided_via, a.comment, a.created_at, a.decided_at \
     FROM approval a LEFT JOIN app_user u ON u.user_id = a.decided_by";

/// The approval of one attempt, locked for the caller's transaction.
pub async fn lock_attempt(
    conn: &mut MySqlConnection,
    run_id: u64,
    node_id: &str,
    attempt: u32,
) -> Result<Option<ApprovalRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{SELECT} WHERE a.run_id = ? AND a.node_id = ? AND a.attempt = ? FOR UPDATE"
    ))
    .bind(run_id)
    .bind(node_id)
    .bind(attempt)
    .fetch_optional(conn)
    .await
}

/// The newest attempt's approval at a node, locked.
pub async fn lock_latest(
    conn: &mut MySqlConnection,
    run_id: u64,
    node_id: &str,
) -> Result<Option<ApprovalRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{SELECT} WHERE a.run_id = ? AND a.node_id = ? ORDER BY a.attempt DESC LIMIT 1 FOR UPDATE"
    ))
    .bind(run_id)
    .bind(node_id)
    .fetch_optional(conn)
    .await
}

pub async fn lock_by_id(
    conn: &mut MySqlConnection,
    approval_id: u64,
) -> Result<Option<ApprovalRow>, sqlx::Error> {
    sqlx::query_as(&format!("{SELECT} WHERE a.approval_id = ? FOR UPDATE"))
        .bind(approval_id)
        .fetch_optional(conn)
        .await
}

pub async fn by_id(
    db: impl MySqlExecutor<'_>,
    approval_id: u64,
) -> Result<Option<ApprovalRow>, sqlx::Error> {
    sqlx::query_as(&format!("{SELECT} WHERE a.approval_id = ?"))
        .bind(approval_id)
        .fetch_optional(db)
        .await
}

/// Every approval of a run, oldest attempt first.
pub async fn of_run(
    db: impl MySqlExecutor<'_>,
    run_id: u64,
) -> Result<Vec<ApprovalRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{SELECT} WHERE a.run_id = ? ORDER BY a.node_id, a.attempt"
    ))
    .bind(run_id)
    .fetch_all(db)
    .await
}

pub struct NewApproval<'a> {
    pub run_id: u64,
    pub node_id: &'a str,
    pub attempt: u32,
    pub client_id: u64,
    pub subject: &'a str,
    pub deadline_at: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
}

pub async fn insert(conn: &mut MySqlConnection, a: &NewApproval<'_>) -> Result<u64, sqlx::Error> {
    let r = sqlx::query(
        "INSERT INTO approval (run_id, node_id, attempt, client_id, status, subject, deadline_at, created_at) \
         VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)",
    )
    .bind(a.run_id)
    .bind(a.node_id)
    .bind(a.attempt)
    .bind(a.client_id)
    .bind(a.subject)
    .bind(a.deadline_at)
    .bind(a.now)
    .execute(conn)
    .await?;
    Ok(r.last_insert_id())
}

pub async fn set_task(
    conn: &mut MySqlConnection,
    approval_id: u64,
    task_id: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE approval SET task_id = ? WHERE approval_id = ?")
        .bind(task_id)
        .bind(approval_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn add_approvers(
    conn: &mut MySqlConnection,
    approval_id: u64,
    users: &[u64],
    escalation: bool,
) -> Result<(), sqlx::Error> {
    if users.is_empty() {
        return Ok(());
    }
    let mut q = sqlx::QueryBuilder::<sqlx::MySql>::new(
        "INSERT IGNORE INTO approval_approver (approval_id, user_id, escalation) ",
    );
    q.push_values(users, |mut b, u| {
        b.push_bind(approval_id).push_bind(*u).push_bind(escalation);
    });
    q.build().execute(conn).await?;
    Ok(())
}

/// The approvers of an approval: (user id, username, added by escalation).
pub async fn approvers(
    db: impl MySqlExecutor<'_>,
    approval_id: u64,
) -> Result<Vec<(u64, String, bool)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT p.user_id, u.username, p.escalation FROM approval_approver p \
         JOIN app_user u ON u.user_id = p.user_id WHERE p.approval_id = ? ORDER BY u.username",
    )
    .bind(approval_id)
    .fetch_all(db)
    .await
}

pub async fn is_approver(
    db: impl MySqlExecutor<'_>,
    approval_id: u64,
    user_id: u64,
) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM approval_approver WHERE approval_id = ? AND user_id = ?",
    )
    .bind(approval_id)
    .bind(user_id)
    .fetch_one(db)
    .await?;
    Ok(n > 0)
}

/// Records a decision on a pending approval; false when it was not pending.
pub async fn decide(
    conn: &mut MySqlConnection,
    approval_id: u64,
    status: &str,
    by: Option<u64>,
    via: &str,
    comment: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE approval SET status = ?, decided_by = ?, decided_via = ?, comment = ?, decided_at = ? \
         WHERE approval_id = ? AND status = 'pending'",
    )
    .bind(status)
    .bind(by)
    .bind(via)
    .bind(comment)
    .bind(now)
    .bind(approval_id)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn escalate(
    conn: &mut MySqlConnection,
    approval_id: u64,
    deadline_at: Option<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE approval SET escalated = TRUE, deadline_at = ? WHERE approval_id = ?")
        .bind(deadline_at)
        .bind(approval_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Marks the pending approvals of a node cancelled; how many were.
pub async fn cancel(
    db: impl MySqlExecutor<'_>,
    run_id: u64,
    node_id: &str,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE approval SET status = 'cancelled', decided_at = ? \
         WHERE run_id = ? AND node_id = ? AND status = 'pending'",
    )
    .bind(now)
    .bind(run_id)
    .bind(node_id)
    .execute(db)
    .await?;
    Ok(r.rows_affected())
}
