//! The aggregations. Each query is scoped exactly like the list it summarises
//! (`tasks::db::push_visible` for tasks, `db::runs::push_scope` for runs), so
//! a dashboard never counts a row its viewer could not open. Timestamps are
//! grouped into 15-minute slots from the window's start (`SLOT_MINUTES`); the
//! time zone is applied when the slots are folded into local buckets.
//!
//! Numbers leave the database as signed BIGINT (`CAST(… AS SIGNED)`): MariaDB
//! answers SUM with DECIMAL and window counts unsigned, and one decoded type
//! keeps the row tuples simple.

use chrono::{DateTime, Utc};
use katalusis_analytics::{Window, AGE_BANDS, SLOT_MINUTES};
use sqlx::{MySql, MySqlPool, QueryBuilder};

use super::model::Filters;
use crate::auth::ClientScope;
use crate::tasks::db::{push_visible, Viewer};
use crate::tasks::model::Priority;

type Qb<'a> = QueryBuilder<'a, MySql>;

/// ` AND` the task filters; `t` is the task.
fn push_task_filters(qb: &mut Qb<'_>, v: Viewer, f: &Filters) {
    push_visible(qb, v);
    if let Some(c) = f.client_id {
        qb.push(" AND t.client_id = ").push_bind(c);
    }
    if let Some(a) = f.assignee_id {
        qb.push(" AND EXISTS (SELECT 1 FROM task_assignee fa WHERE fa.task_id = t.task_id AND fa.user_id = ")
            .push_bind(a)
            .push(")");
    }
    if let Some(w) = f.workflow_id {
        // A workflow's tasks are those its runs created.
        qb.push(" AND t.source_kind = 'workflow' AND t.source_ref_id IN (SELECT fr.run_id FROM run fr WHERE fr.workflow_id = ")
            .push_bind(w)
            .push(")");
    }
}

/// ` AND column` inside the window.
fn push_in_window(qb: &mut Qb<'_>, column: &str, w: &Window) {
    qb.push(format_args!(" AND {column} >= "))
        .push_bind(w.start())
        .push(format_args!(" AND {column} < "))
        .push_bind(w.end());
}

/// The slot of `column` (whole `SLOT_MINUTES` since the window's start).
fn push_slot(qb: &mut Qb<'_>, column: &str, w: &Window) {
    qb.push("CAST(TIMESTAMPDIFF(MINUTE, ")
        .push_bind(w.start())
        .push(format_args!(", {column}) DIV {SLOT_MINUTES} AS SIGNED)"));
}

/// One row per slot: (slot, tasks created, of which completed now).
pub async fn created_slots(
    db: &MySqlPool,
    v: Viewer,
    f: &Filters,
    w: &Window,
) -> Result<Vec<(i64, i64, i64)>, sqlx::Error> {
    let mut qb = Qb::new("SELECT ");
    push_slot(&mut qb, "t.created_at", w);
    qb.push(" AS slot, CAST(COUNT(*) AS SIGNED), CAST(COALESCE(SUM(t.completed_at IS NOT NULL), 0) AS SIGNED) FROM task t WHERE 1 = 1");
    push_in_window(&mut qb, "t.created_at", w);
    push_task_filters(&mut qb, v, f);
    qb.push(" GROUP BY slot");
    qb.build_query_as().fetch_all(db).await
}

/// One row per slot: (slot, tasks completed).
pub async fn completed_slots(
    db: &MySqlPool,
    v: Viewer,
    f: &Filters,
    w: &Window,
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    let mut qb = Qb::new("SELECT ");
    push_slot(&mut qb, "t.completed_at", w);
    qb.push(" AS slot, CAST(COUNT(*) AS SIGNED) FROM task t WHERE 1 = 1");
    push_in_window(&mut qb, "t.completed_at", w);
    push_task_filters(&mut qb, v, f);
    qb.push(" GROUP BY slot");
    qb.build_query_as().fetch_all(db).await
}

/// Tasks created before the window and, of all tasks, those completed
/// before it: the cumulative flow's starting point.
pub async fn before_window(
    db: &MySqlPool,
    v: Viewer,
    f: &Filters,
    w: &Window,
) -> Result<(i64, i64), sqlx::Error> {
    let mut qb = Qb::new("SELECT CAST(COUNT(*) AS SIGNED), CAST(COALESCE(SUM(t.completed_at < ");
    qb.push_bind(w.start())
        .push("), 0) AS SIGNED) FROM task t WHERE t.created_at < ")
        .push_bind(w.start());
    push_task_filters(&mut qb, v, f);
    qb.build_query_as().fetch_one(db).await
}

/// A group of open tasks: (status id, priority, age band index, count, past
/// their deadline, at risk).
pub type OpenRow = (u64, Priority, i64, i64, i64, i64);

/// Open tasks now, in one read for the open, aging and SLA groups. At risk:
/// past the risk point, before the deadline (the same inclusive boundaries
/// as `sla_state`); a task without an SLA is neither.
pub async fn open_summary(
    db: &MySqlPool,
    v: Viewer,
    f: &Filters,
    now: DateTime<Utc>,
) -> Result<Vec<OpenRow>, sqlx::Error> {
    let mut qb = Qb::new("SELECT t.status_id, t.priority, CAST(CASE");
    for (i, (_, max)) in AGE_BANDS.iter().enumerate() {
        match max {
            // Whole hours of age below h (TIMESTAMPDIFF truncates) is the
            // same as created after now - h; comparing with a bound saves a
            // date difference per band and open task.
            Some(h) => {
                qb.push(" WHEN t.created_at > ")
                    .push_bind(now - chrono::Duration::hours(*h))
                    .push(format_args!(" THEN {i}"));
            }
            None => {
                qb.push(format_args!(" ELSE {i}"));
            }
        }
    }
    qb.push(
        " END AS SIGNED) AS band, CAST(COUNT(*) AS SIGNED), CAST(COALESCE(SUM(t.sla_due_at <= ",
    )
    .push_bind(now)
    .push("), 0) AS SIGNED), CAST(COALESCE(SUM(t.sla_risk_at <= ")
    .push_bind(now)
    .push(" AND t.sla_due_at > ")
    .push_bind(now)
    .push("), 0) AS SIGNED) FROM task t WHERE t.completed_at IS NULL");
    push_task_filters(&mut qb, v, f);
    qb.push(" GROUP BY t.status_id, t.priority, band");
    qb.build_query_as().fetch_all(db).await
}

#[derive(Debug, sqlx::FromRow)]
pub struct TaskRefRow {
    pub task_id: u64,
    pub task_key: String,
    pub title: String,
    pub client_id: u64,
    pub priority: Priority,
    pub status_id: u64,
    pub created_at: DateTime<Utc>,
    pub sla_risk_at: Option<DateTime<Utc>>,
    pub sla_due_at: Option<DateTime<Utc>>,
}

const TASK_REF: &str =
    "SELECT t.task_id, t.task_key, t.title, t.client_id, t.priority, t.status_id, \
     t.created_at, t.sla_risk_at, t.sla_due_at FROM task t";

/// The oldest open tasks.
pub async fn oldest_open(
    db: &MySqlPool,
    v: Viewer,
    f: &Filters,
    limit: u32,
) -> Result<Vec<TaskRefRow>, sqlx::Error> {
    let mut qb = Qb::new(TASK_REF);
    qb.push(" WHERE t.completed_at IS NULL");
    push_task_filters(&mut qb, v, f);
    qb.push(" ORDER BY t.created_at, t.task_id LIMIT ")
        .push_bind(limit);
    qb.build_query_as().fetch_all(db).await
}

/// Open tasks at risk now (past the risk point, before the deadline),
/// soonest deadline first. The same inclusive boundaries as `sla_state`.
pub async fn at_risk(
    db: &MySqlPool,
    v: Viewer,
    f: &Filters,
    now: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<TaskRefRow>, sqlx::Error> {
    let mut qb = Qb::new(TASK_REF);
    qb.push(" WHERE t.completed_at IS NULL AND t.sla_risk_at <= ")
        .push_bind(now)
        .push(" AND t.sla_due_at > ")
        .push_bind(now);
    push_task_filters(&mut qb, v, f);
    qb.push(" ORDER BY t.sla_due_at, t.task_id LIMIT ")
        .push_bind(limit);
    qb.build_query_as().fetch_all(db).await
}

/// Tasks created in the window with an SLA target: (priority, client id,
/// client name, with SLA, breached). Breached: the deadline passed before
/// completion, or before now for open tasks.
pub async fn breaches(
    db: &MySqlPool,
    v: Viewer,
    f: &Filters,
    w: &Window,
    now: DateTime<Utc>,
) -> Result<Vec<(Priority, u64, String, i64, i64)>, sqlx::Error> {
    // Grouped first, named after: joined before grouping, each task of the
    // range looked up its client's row.
    let mut qb = Qb::new(
        "SELECT g.priority, g.client_id, u.display_name, CAST(g.n AS SIGNED), CAST(g.breached AS SIGNED) \
         FROM (SELECT t.priority, t.client_id, COUNT(*) AS n, \
         COALESCE(SUM(t.sla_due_at <= COALESCE(t.completed_at, ",
    );
    qb.push_bind(now)
        .push(")), 0) AS breached FROM task t WHERE t.sla_due_at IS NOT NULL");
    push_in_window(&mut qb, "t.created_at", w);
    push_task_filters(&mut qb, v, f);
    qb.push(" GROUP BY t.priority, t.client_id) g JOIN app_user u ON u.user_id = g.client_id");
    qb.build_query_as().fetch_all(db).await
}

/// Per assignee: (user id, name, count) of tasks completed in the window,
/// or (`w` = None) of open tasks now.
pub async fn per_assignee(
    db: &MySqlPool,
    v: Viewer,
    f: &Filters,
    w: Option<&Window>,
) -> Result<Vec<(u64, String, i64)>, sqlx::Error> {
    // Counted from the tasks (an index-only read of the open or completed
    // ones) into their assignments, then named: driven from the users, the
    // join looked up every assigned task's row.
    let mut qb = Qb::new(
        "SELECT g.user_id, u.display_name, CAST(g.n AS SIGNED) FROM (SELECT a.user_id, COUNT(*) AS n \
         FROM task t STRAIGHT_JOIN task_assignee a ON a.task_id = t.task_id WHERE ",
    );
    match w {
        Some(w) => {
            qb.push("1 = 1");
            push_in_window(&mut qb, "t.completed_at", w);
        }
        None => {
            qb.push("t.completed_at IS NULL");
        }
    }
    push_task_filters(&mut qb, v, f);
    qb.push(
        " GROUP BY a.user_id) g JOIN app_user u ON u.user_id = g.user_id \
         ORDER BY g.n DESC, u.display_name LIMIT 100",
    );
    qb.build_query_as().fetch_all(db).await
}

/// Assignee changes in the window to tasks that had an assignee: (changes, tasks).
pub async fn reassignments(
    db: &MySqlPool,
    v: Viewer,
    f: &Filters,
    w: &Window,
) -> Result<(i64, i64), sqlx::Error> {
    let mut qb = Qb::new(
        "SELECT CAST(COUNT(*) AS SIGNED), CAST(COUNT(DISTINCT ac.task_id) AS SIGNED) \
         FROM task_activity ac JOIN task t ON t.task_id = ac.task_id \
         WHERE ac.field = 'assignees' AND ac.old_value IS NOT NULL AND ac.old_value <> ''",
    );
    push_in_window(&mut qb, "ac.at", w);
    push_task_filters(&mut qb, v, f);
    qb.build_query_as().fetch_one(db).await
}

/// Cycle times (seconds) of the tasks completed in the window, unordered:
/// an index-only read of the completion range.
pub async fn cycle_seconds(
    db: &MySqlPool,
    v: Viewer,
    f: &Filters,
    w: &Window,
) -> Result<Vec<i64>, sqlx::Error> {
    let mut qb = Qb::new(
        "SELECT CAST(TIMESTAMPDIFF(SECOND, t.created_at, t.completed_at) AS SIGNED) FROM task t WHERE 1 = 1",
    );
    push_in_window(&mut qb, "t.completed_at", w);
    push_task_filters(&mut qb, v, f);
    qb.build_query_scalar().fetch_all(db).await
}

/// The most recently completed tasks of the window: (id, key, completed
/// at, seconds from creation).
pub async fn cycle_points(
    db: &MySqlPool,
    v: Viewer,
    f: &Filters,
    w: &Window,
    limit: u32,
) -> Result<Vec<(u64, String, DateTime<Utc>, i64)>, sqlx::Error> {
    let mut qb = Qb::new(
        "SELECT t.task_id, t.task_key, t.completed_at, \
         CAST(TIMESTAMPDIFF(SECOND, t.created_at, t.completed_at) AS SIGNED) FROM task t WHERE 1 = 1",
    );
    push_in_window(&mut qb, "t.completed_at", w);
    push_task_filters(&mut qb, v, f);
    qb.push(" ORDER BY t.completed_at DESC, t.task_id DESC LIMIT ")
        .push_bind(limit);
    qb.build_query_as().fetch_all(db).await
}

/// Applied imports in the window: (imports, rows, imported rows, invalid rows).
pub async fn imports(
    db: &MySqlPool,
    scope: ClientScope,
    f: &Filters,
    w: &Window,
) -> Result<(i64, i64, i64, i64), sqlx::Error> {
    let mut qb = Qb::new(
        "SELECT CAST(COUNT(*) AS SIGNED), CAST(COALESCE(SUM(i.rows_total), 0) AS SIGNED), \
         CAST(COALESCE(SUM(i.created_count + i.updated_count), 0) AS SIGNED), \
         CAST(COALESCE(SUM(COALESCE(i.invalid_count, 0)), 0) AS SIGNED) \
         FROM import_session i WHERE i.state = 'applied'",
    );
    push_in_window(&mut qb, "i.applied_at", w);
    scope.push_filter(&mut qb, "i.client_id");
    if let Some(c) = f.client_id {
        qb.push(" AND i.client_id = ").push_bind(c);
    }
    qb.build_query_as().fetch_one(db).await
}

// ----------------------------------------------------------------- runs

/// ` FROM run r … WHERE` runs created in the window that the scope sees.
fn push_runs(qb: &mut Qb<'_>, scope: ClientScope, f: &Filters, w: &Window) {
    qb.push(" FROM run r WHERE 1 = 1");
    push_in_window(qb, "r.created_at", w);
    crate::db::runs::push_scope(qb, scope);
    push_run_filters(qb, f);
}

fn push_run_filters(qb: &mut Qb<'_>, f: &Filters) {
    if let Some(c) = f.client_id {
        qb.push(" AND r.client_id = ").push_bind(c);
    }
    if let Some(wf) = f.workflow_id {
        qb.push(" AND r.workflow_id = ").push_bind(wf);
    }
}

/// A run created in the window, as the run metrics read it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RunRow {
    /// The slot of its creation (see `push_slot`).
    pub slot: i64,
    pub workflow_id: u64,
    pub status: String,
    /// Start to finish; `None` until it started and finished.
    pub duration_ms: Option<i64>,
    /// Creation to start; `None` until it started.
    pub queue_ms: Option<i64>,
}

/// The runs created in the window that the scope sees: one read of the
/// creation index (`ix_run_created` holds every column) serves the volume,
/// hours, workflow and queue metrics, instead of a grouped read and a window
/// sort in a temporary table per metric.
pub async fn window_runs(
    db: &MySqlPool,
    scope: ClientScope,
    f: &Filters,
    w: &Window,
) -> Result<Vec<RunRow>, sqlx::Error> {
    let mut qb = Qb::new("SELECT ");
    push_slot(&mut qb, "r.created_at", w);
    qb.push(
        " AS slot, r.workflow_id, r.status, \
         CAST(TIMESTAMPDIFF(MICROSECOND, r.started_at, r.finished_at) DIV 1000 AS SIGNED) AS duration_ms, \
         CAST(TIMESTAMPDIFF(MICROSECOND, r.created_at, r.started_at) DIV 1000 AS SIGNED) AS queue_ms",
    );
    push_runs(&mut qb, scope, f, w);
    qb.build_query_as().fetch_all(db).await
}

/// A node attempt of a run created in the window.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttemptRow {
    pub workflow_id: u64,
    pub node_id: String,
    /// 1 when the attempt failed.
    pub failed: i64,
    /// Why it failed, when recorded.
    pub reason: Option<String>,
    pub duration_ms: Option<i64>,
}

/// The attempts of the window's runs that the scope sees, from one range of
/// `ix_exec_window` (migration 0019: each attempt carries its run's creation
/// time, workflow and client, so no join to `run`). Only a client's scope
/// looks at the run, whose `published` flag may change.
pub async fn window_attempts(
    db: &MySqlPool,
    scope: ClientScope,
    f: &Filters,
    w: &Window,
) -> Result<Vec<AttemptRow>, sqlx::Error> {
    let mut qb = Qb::new(
        "SELECT ne.workflow_id, ne.node_id, CAST(ne.status = 'failed' AS SIGNED) AS failed, \
         CASE WHEN ne.status = 'failed' THEN ne.reason END AS reason, ne.duration_ms \
         FROM node_execution ne WHERE 1 = 1",
    );
    push_in_window(&mut qb, "ne.run_created_at", w);
    scope.push_filter(&mut qb, "ne.client_id");
    if matches!(scope, ClientScope::Only(_)) {
        qb.push(" AND EXISTS (SELECT 1 FROM run r WHERE r.run_id = ne.run_id AND r.published = TRUE)");
    }
    if let Some(c) = f.client_id {
        qb.push(" AND ne.client_id = ").push_bind(c);
    }
    if let Some(wf) = f.workflow_id {
        qb.push(" AND ne.workflow_id = ").push_bind(wf);
    }
    qb.build_query_as().fetch_all(db).await
}

/// The names of `ids` that still exist: (workflow id, name).
pub async fn workflow_names(
    db: &MySqlPool,
    ids: impl IntoIterator<Item = u64>,
) -> Result<Vec<(u64, String)>, sqlx::Error> {
    let mut ids = ids.into_iter().peekable();
    if ids.peek().is_none() {
        return Ok(vec![]);
    }
    let mut qb = Qb::new("SELECT workflow_id, name FROM workflow WHERE workflow_id IN (");
    let mut list = qb.separated(", ");
    for id in ids {
        list.push_bind(id);
    }
    list.push_unseparated(")");
    qb.build_query_as().fetch_all(db).await
}

/// Runs pending now, whatever their creation time.
pub async fn pending_now(
    db: &MySqlPool,
    scope: ClientScope,
    f: &Filters,
) -> Result<i64, sqlx::Error> {
    let mut qb = Qb::new("SELECT CAST(COUNT(*) AS SIGNED) FROM run r WHERE r.status = 'pending'");
    crate::db::runs::push_scope(&mut qb, scope);
    push_run_filters(&mut qb, f);
    qb.build_query_scalar().fetch_one(db).await
}
