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
use katalusis_analytics::{Window, AGE_BANDS, PERCENTILES, SLOT_MINUTES};
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

/// Open tasks now: (status id, priority, count).
pub async fn open_counts(
    db: &MySqlPool,
    v: Viewer,
    f: &Filters,
) -> Result<Vec<(u64, Priority, i64)>, sqlx::Error> {
    let mut qb = Qb::new(
        "SELECT t.status_id, t.priority, CAST(COUNT(*) AS SIGNED) FROM task t WHERE t.completed_at IS NULL",
    );
    push_task_filters(&mut qb, v, f);
    qb.push(" GROUP BY t.status_id, t.priority");
    qb.build_query_as().fetch_all(db).await
}

/// Open tasks now: (status id, age band index, count).
pub async fn open_ages(
    db: &MySqlPool,
    v: Viewer,
    f: &Filters,
    now: DateTime<Utc>,
) -> Result<Vec<(u64, i64, i64)>, sqlx::Error> {
    let mut qb = Qb::new("SELECT t.status_id, CAST(CASE");
    for (i, (_, max)) in AGE_BANDS.iter().enumerate() {
        match max {
            Some(h) => {
                qb.push(" WHEN TIMESTAMPDIFF(HOUR, t.created_at, ")
                    .push_bind(now)
                    .push(format_args!(") < {h} THEN {i}"));
            }
            None => {
                qb.push(format_args!(" ELSE {i}"));
            }
        }
    }
    qb.push(" END AS SIGNED) AS band, CAST(COUNT(*) AS SIGNED) FROM task t WHERE t.completed_at IS NULL");
    push_task_filters(&mut qb, v, f);
    qb.push(" GROUP BY t.status_id, band");
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

/// Open tasks now: (breached, at risk).
pub async fn open_sla(
    db: &MySqlPool,
    v: Viewer,
    f: &Filters,
    now: DateTime<Utc>,
) -> Result<(i64, i64), sqlx::Error> {
    let mut qb = Qb::new("SELECT CAST(COALESCE(SUM(t.sla_due_at <= ");
    qb.push_bind(now)
        .push("), 0) AS SIGNED), CAST(COALESCE(SUM(t.sla_risk_at <= ")
        .push_bind(now)
        .push(" AND t.sla_due_at > ")
        .push_bind(now)
        .push("), 0) AS SIGNED) FROM task t WHERE t.completed_at IS NULL AND t.sla_due_at IS NOT NULL");
    push_task_filters(&mut qb, v, f);
    qb.build_query_as().fetch_one(db).await
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
    let mut qb = Qb::new(
        "SELECT t.priority, t.client_id, u.display_name, CAST(COUNT(*) AS SIGNED), \
         CAST(COALESCE(SUM(t.sla_due_at <= COALESCE(t.completed_at, ",
    );
    qb.push_bind(now).push(
        ")), 0) AS SIGNED) FROM task t JOIN app_user u ON u.user_id = t.client_id \
         WHERE t.sla_due_at IS NOT NULL",
    );
    push_in_window(&mut qb, "t.created_at", w);
    push_task_filters(&mut qb, v, f);
    qb.push(" GROUP BY t.priority, t.client_id, u.display_name");
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

/// The ranks of `PERCENTILES` within each group: (key, rank, group size,
/// value). Groups are `partition` (columns; `None` for one group), named by
/// `key`. `from_where` pushes the FROM and WHERE clauses.
async fn ranked(
    db: &MySqlPool,
    partition: Option<&str>,
    key: &str,
    value: &str,
    from_where: impl FnOnce(&mut Qb<'_>),
) -> Result<Vec<(String, i64, i64, i64)>, sqlx::Error> {
    // Partitioning by plain columns (not an expression of them) lets the
    // window sort use the values as they are.
    let over = partition.map_or(String::new(), |p| format!("PARTITION BY {p}"));
    let mut qb = Qb::new(format!(
        "SELECT k, CAST(rn AS SIGNED), CAST(n AS SIGNED), CAST(v AS SIGNED) FROM (SELECT CAST({key} AS CHAR) AS k, {value} AS v, \
         ROW_NUMBER() OVER ({over} ORDER BY {value}) AS rn, \
         COUNT(*) OVER ({over}) AS n"
    ));
    from_where(&mut qb);
    qb.push(") x WHERE ");
    let picks: Vec<String> = PERCENTILES
        .iter()
        .map(|p| format!("rn = GREATEST(1, CEIL(n * {p} / 100))"))
        .collect();
    qb.push(picks.join(" OR "));
    qb.build_query_as().fetch_all(db).await
}

/// Cycle time ranks (seconds) of tasks completed in the window.
pub async fn cycle_ranks(
    db: &MySqlPool,
    v: Viewer,
    f: &Filters,
    w: &Window,
) -> Result<Vec<(String, i64, i64, i64)>, sqlx::Error> {
    ranked(
        db,
        None,
        "''",
        "TIMESTAMPDIFF(SECOND, t.created_at, t.completed_at)",
        |qb| {
            qb.push(" FROM task t WHERE 1 = 1");
            push_in_window(qb, "t.completed_at", w);
            push_task_filters(qb, v, f);
        },
    )
    .await
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

/// A run's attempts read through the index that holds their status, reason
/// and duration (migration 0017): MariaDB otherwise joins through the
/// primary key and reads each attempt's row with its outputs.
const NODE_EXECUTIONS: &str = "node_execution ne FORCE INDEX (ix_exec_run_stats)";

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

/// (slot, status, count) of runs created in the window.
pub async fn run_slots(
    db: &MySqlPool,
    scope: ClientScope,
    f: &Filters,
    w: &Window,
) -> Result<Vec<(i64, String, i64)>, sqlx::Error> {
    let mut qb = Qb::new("SELECT ");
    push_slot(&mut qb, "r.created_at", w);
    qb.push(" AS slot, r.status, CAST(COUNT(*) AS SIGNED)");
    push_runs(&mut qb, scope, f, w);
    qb.push(" GROUP BY slot, r.status");
    qb.build_query_as().fetch_all(db).await
}

/// (workflow id, name, status, count) of runs created in the window.
pub async fn workflow_counts(
    db: &MySqlPool,
    scope: ClientScope,
    f: &Filters,
    w: &Window,
) -> Result<Vec<(u64, String, String, i64)>, sqlx::Error> {
    // Grouped first, named after: joined before grouping, the workflow
    // drove the plan and each run's row was read.
    let mut qb = Qb::new(
        "SELECT g.workflow_id, wf.name, g.status, CAST(g.n AS SIGNED) FROM \
         (SELECT r.workflow_id, r.status, COUNT(*) AS n",
    );
    push_runs(&mut qb, scope, f, w);
    qb.push(
        " GROUP BY r.workflow_id, r.status) g JOIN workflow wf ON wf.workflow_id = g.workflow_id",
    );
    qb.build_query_as().fetch_all(db).await
}

/// Run duration ranks (ms) per workflow of finished runs of the window.
pub async fn run_duration_ranks(
    db: &MySqlPool,
    scope: ClientScope,
    f: &Filters,
    w: &Window,
) -> Result<Vec<(String, i64, i64, i64)>, sqlx::Error> {
    ranked(
        db,
        Some("r.workflow_id"),
        "r.workflow_id",
        "TIMESTAMPDIFF(MICROSECOND, r.started_at, r.finished_at) DIV 1000",
        |qb| {
            push_runs(qb, scope, f, w);
            qb.push(" AND r.started_at IS NOT NULL AND r.finished_at IS NOT NULL");
        },
    )
    .await
}

/// Per node of the window's runs: (workflow id, workflow name, node id,
/// attempts, failed attempts).
pub async fn node_counts(
    db: &MySqlPool,
    scope: ClientScope,
    f: &Filters,
    w: &Window,
) -> Result<Vec<(u64, String, String, i64, i64)>, sqlx::Error> {
    let mut qb = Qb::new(format!(
        "SELECT g.workflow_id, wf.name, g.node_id, CAST(g.n AS SIGNED), CAST(g.failed AS SIGNED) FROM \
         (SELECT r.workflow_id, ne.node_id, COUNT(*) AS n, COALESCE(SUM(ne.status = 'failed'), 0) AS failed \
         FROM run r JOIN {NODE_EXECUTIONS} ON ne.run_id = r.run_id WHERE 1 = 1"
    ));
    push_in_window(&mut qb, "r.created_at", w);
    crate::db::runs::push_scope(&mut qb, scope);
    push_run_filters(&mut qb, f);
    qb.push(
        " GROUP BY r.workflow_id, ne.node_id) g JOIN workflow wf ON wf.workflow_id = g.workflow_id",
    );
    qb.build_query_as().fetch_all(db).await
}

/// Attempt duration ranks (ms) per `workflowId:nodeId`.
pub async fn node_duration_ranks(
    db: &MySqlPool,
    scope: ClientScope,
    f: &Filters,
    w: &Window,
) -> Result<Vec<(String, i64, i64, i64)>, sqlx::Error> {
    ranked(
        db,
        Some("r.workflow_id, ne.node_id"),
        "CONCAT(r.workflow_id, ':', ne.node_id)",
        "ne.duration_ms",
        |qb| {
            qb.push(format_args!(
                " FROM run r JOIN {NODE_EXECUTIONS} ON ne.run_id = r.run_id WHERE ne.duration_ms IS NOT NULL"
            ));
            push_in_window(qb, "r.created_at", w);
            crate::db::runs::push_scope(qb, scope);
            push_run_filters(qb, f);
        },
    )
    .await
}

/// Failed attempts of the window's runs by reason (NULL: not recorded).
pub async fn failure_reasons(
    db: &MySqlPool,
    scope: ClientScope,
    f: &Filters,
    w: &Window,
) -> Result<Vec<(Option<String>, i64)>, sqlx::Error> {
    let mut qb = Qb::new(format!(
        "SELECT ne.reason, CAST(COUNT(*) AS SIGNED) FROM run r \
         JOIN {NODE_EXECUTIONS} ON ne.run_id = r.run_id WHERE ne.status = 'failed'"
    ));
    push_in_window(&mut qb, "r.created_at", w);
    crate::db::runs::push_scope(&mut qb, scope);
    push_run_filters(&mut qb, f);
    qb.push(" GROUP BY ne.reason ORDER BY 2 DESC, ne.reason");
    qb.build_query_as().fetch_all(db).await
}

/// Creation-to-start ranks (ms) of the window's started runs.
pub async fn queue_ranks(
    db: &MySqlPool,
    scope: ClientScope,
    f: &Filters,
    w: &Window,
) -> Result<Vec<(String, i64, i64, i64)>, sqlx::Error> {
    ranked(
        db,
        None,
        "''",
        "TIMESTAMPDIFF(MICROSECOND, r.created_at, r.started_at) DIV 1000",
        |qb| {
            push_runs(qb, scope, f, w);
            qb.push(" AND r.started_at IS NOT NULL");
        },
    )
    .await
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
