//! Inbox and preference queries.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, MySql, MySqlConnection, QueryBuilder};

use crate::tasks::model::NotificationKind;

#[derive(Debug, Clone, FromRow)]
pub struct NotificationRow {
    pub notification_id: u64,
    pub user_id: u64,
    pub kind: NotificationKind,
    pub task_id: Option<u64>,
    pub actor_id: Option<u64>,
    pub title: String,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str =
    "notification_id, user_id, kind, task_id, actor_id, title, created_at, read_at";

pub async fn insert(
    conn: &mut MySqlConnection,
    user_id: u64,
    kind: NotificationKind,
    task_id: Option<u64>,
    actor_id: Option<u64>,
    title: &str,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let r = sqlx::query(
        "INSERT INTO notification (user_id, kind, task_id, actor_id, title, created_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(user_id)
    .bind(kind)
    .bind(task_id)
    .bind(actor_id)
    .bind(title)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(r.last_insert_id())
}

/// One inbox row of [`insert_many`].
pub struct NewNotification<'a> {
    pub user_id: u64,
    pub task_id: Option<u64>,
    pub actor_id: Option<u64>,
    pub title: &'a str,
}

/// [`insert`] for many rows of one kind with multi-row INSERTs.
pub async fn insert_many(
    conn: &mut MySqlConnection,
    kind: NotificationKind,
    rows: &[NewNotification<'_>],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    for chunk in rows.chunks(2000) {
        let mut q = QueryBuilder::<MySql>::new(
            "INSERT INTO notification (user_id, kind, task_id, actor_id, title, created_at) ",
        );
        q.push_values(chunk, |mut b, n| {
            b.push_bind(n.user_id)
                .push_bind(kind)
                .push_bind(n.task_id)
                .push_bind(n.actor_id)
                .push_bind(n.title)
                .push_bind(now);
        });
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Newest first, before `before` (a notification id) when given.
pub async fn list(
    db: impl sqlx::MySqlExecutor<'_>,
    user_id: u64,
    unread_only: bool,
    before: Option<u64>,
    limit: u32,
) -> Result<Vec<NotificationRow>, sqlx::Error> {
    list_query("", user_id, unread_only, before, limit)
        .build_query_as()
        .fetch_all(db)
        .await
}

/// `list`'s query (`ix_notification_user`, or `ix_notification_unread` for
/// unread ones, both ending in the id); `prefix` is empty or `EXPLAIN `.
fn list_query<'a>(
    prefix: &str,
    user_id: u64,
    unread_only: bool,
    before: Option<u64>,
    limit: u32,
) -> QueryBuilder<'a, MySql> {
    let mut q = QueryBuilder::<MySql>::new(format!(
        "{prefix}SELECT {COLUMNS} FROM notification WHERE user_id = "
    ));
    q.push_bind(user_id);
    if unread_only {
        q.push(" AND read_at IS NULL");
    }
    if let Some(b) = before {
        q.push(" AND notification_id < ").push_bind(b);
    }
    q.push(" ORDER BY notification_id DESC LIMIT ")
        .push_bind(limit);
    q
}

/// The plan of `list`'s query, for plan tests.
pub async fn explain_list(
    db: &sqlx::MySqlPool,
    user_id: u64,
    unread_only: bool,
    before: Option<u64>,
    limit: u32,
) -> Result<Vec<crate::db::paging::PlanStep>, sqlx::Error> {
    let rows = list_query("EXPLAIN ", user_id, unread_only, before, limit)
        .build()
        .fetch_all(db)
        .await?;
    rows.iter().map(sqlx::FromRow::from_row).collect()
}

pub async fn unread_count(
    db: impl sqlx::MySqlExecutor<'_>,
    user_id: u64,
) -> Result<u64, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM notification WHERE user_id = ? AND read_at IS NULL",
    )
    .bind(user_id)
    .fetch_one(db)
    .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Marks the user's notifications read: `ids`, or all when `ids` is `None`.
/// Other users' ids are silently not matched.
pub async fn mark_read(
    db: impl sqlx::MySqlExecutor<'_>,
    user_id: u64,
    ids: Option<&[u64]>,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let mut q = QueryBuilder::<MySql>::new("UPDATE notification SET read_at = ");
    q.push_bind(now)
        .push(" WHERE read_at IS NULL AND user_id = ")
        .push_bind(user_id);
    if let Some(ids) = ids {
        if ids.is_empty() {
            return Ok(0);
        }
        q.push(" AND notification_id IN (");
        let mut sep = q.separated(", ");
        for id in ids {
            sep.push_bind(*id);
        }
        q.push(")");
    }
    Ok(q.build().execute(db).await?.rows_affected())
}

#[derive(Debug, Clone, Copy, FromRow)]
pub struct PreferenceRow {
    pub user_id: u64,
    pub kind: NotificationKind,
    pub in_app: bool,
    pub email: bool,
}

pub async fn preferences(
    db: impl sqlx::MySqlExecutor<'_>,
    user_id: u64,
) -> Result<Vec<PreferenceRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT user_id, kind, in_app, email FROM notification_preference WHERE user_id = ?",
    )
    .bind(user_id)
    .fetch_all(db)
    .await
}

pub async fn preferences_for(
    db: impl sqlx::MySqlExecutor<'_>,
    kind: NotificationKind,
    users: &[u64],
) -> Result<Vec<PreferenceRow>, sqlx::Error> {
    if users.is_empty() {
        return Ok(vec![]);
    }
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT user_id, kind, in_app, email FROM notification_preference WHERE kind = ",
    );
    q.push_bind(kind).push(" AND user_id IN (");
    let mut sep = q.separated(", ");
    for u in users {
        sep.push_bind(*u);
    }
    q.push(")");
    q.build_query_as().fetch_all(db).await
}

pub async fn set_preference(
    db: impl sqlx::MySqlExecutor<'_>,
    p: PreferenceRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO notification_preference (user_id, kind, in_app, email) VALUES (?, ?, ?, ?) \
         ON DUPLICATE KEY UPDATE in_app = VALUES(in_app), email = VALUES(email)",
    )
    .bind(p.user_id)
    .bind(p.kind)
    .bind(p.in_app)
    .bind(p.email)
    .execute(db)
    .await?;
    Ok(())
}
