//! Queries over `run`, `node_execution`, `node_log`, `run_file` and `run_event`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use katalusis_crds::plan::{FailurePolicy, FailureReason, NodePhase, NodeState, RunPhase};
use katalusis_crds::resources::RunSnapshot;
use serde_json::{Map, Value};
use sqlx::types::Json;
use sqlx::{MySql, MySqlPool, QueryBuilder};

use super::paging::{explain_window, fetch_window, PlanStep, Start, Window};
use crate::auth::ClientScope;

/// Node states of a run by node id, as stored in `run.node_states`.
pub type NodeStates = BTreeMap<String, NodeState>;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Row {
    pub run_id: u64,
    pub workflow_id: u64,
    pub workflow_revision: u32,
    pub client_id: u64,
    pub started_by: u64,
    pub status: RunPhase,
    pub failure_policy: FailurePolicy,
    pub cancel_requested: bool,
    #[sqlx(json)]
    pub snapshot: RunSnapshot,
    #[sqlx(json)]
    pub node_states: NodeStates,
    /// Ready nodes held back by the parallelism caps, in start order.
    #[sqlx(json(nullable))]
    pub queued: Option<Vec<String>>,
    pub published: bool,
    pub logs_visible_to_client: bool,
    pub message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Set for runs started in `kubernetes` mode (see `set_ingest_token`).
    pub ingest_token_sha256: Option<String>,
}

const COLS: &str =
    "r.run_id, r.workflow_id, r.workflow_revision, r.client_id, r.started_by, r.status, \
                    r.failure_policy, r.cancel_requested, r.snapshot, r.node_states, r.queued, r.published, \
                    r.logs_visible_to_client, r.message, r.created_at, r.started_at, r.finished_at, \
                    r.ingest_token_sha256";

/// Clients only ever see runs that were published to them.
pub fn push_scope(qb: &mut QueryBuilder<'_, MySql>, scope: ClientScope) {
    scope.push_filter(qb, "r.client_id");
    if matches!(scope, ClientScope::Only(_)) {
        qb.push(" AND r.published = TRUE");
    }
}

/// A run inside the caller's scope.
pub async fn get(db: &MySqlPool, scope: ClientScope, id: u64) -> Result<Option<Row>, sqlx::Error> {
    let mut qb = QueryBuilder::<MySql>::new(format!("SELECT {COLS} FROM run r WHERE r.run_id = "));
    qb.push_bind(id);
    push_scope(&mut qb, scope);
    qb.build_query_as().fetch_optional(db).await
}

pub struct NewRun<'a> {
    pub workflow_id: u64,
    pub workflow_revision: u32,
    pub client_id: u64,
    pub started_by: u64,
    pub failure_policy: FailurePolicy,
    pub published: bool,
    pub snapshot: &'a RunSnapshot,
}

pub async fn insert(db: &MySqlPool, r: &NewRun<'_>) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "INSERT INTO run (workflow_id, workflow_revision, client_id, started_by, status, failure_policy, \
         snapshot, node_states, published, created_at, node_count, failed_nodes) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
    )
    .bind(r.workflow_id)
    .bind(r.workflow_revision)
    .bind(r.client_id)
    .bind(r.started_by)
    .bind(RunPhase::Pending)
    .bind(r.failure_policy)
    .bind(Json(r.snapshot))
    .bind(Json(NodeStates::new()))
    .bind(r.published)
    .bind(Utc::now())
    .bind(u32::try_from(r.snapshot.graph.nodes.len()).unwrap_or(u32::MAX))
    .execute(db)
    .await?
    .last_insert_id())
}

/// Runs the local executor must drive: not finished and not started on Kubernetes.
pub async fn unfinished(db: &MySqlPool) -> Result<Vec<Row>, sqlx::Error> {
    unfinished_where(db, "r.ingest_token_sha256 IS NULL").await
}

/// Unfinished runs that were started on Kubernetes.
pub async fn unfinished_on_cluster(db: &MySqlPool) -> Result<Vec<Row>, sqlx::Error> {
    unfinished_where(db, "r.ingest_token_sha256 IS NOT NULL").await
}

async fn unfinished_where(db: &MySqlPool, condition: &str) -> Result<Vec<Row>, sqlx::Error> {
    let mut qb = QueryBuilder::<MySql>::new(format!("SELECT {COLS} FROM run r WHERE "));
    push_unfinished(&mut qb);
    qb.push(format!(" AND {condition} ORDER BY r.run_id"));
    qb.build_query_as().fetch_all(db).await
}

/// `r.status IN (…)` for the phases of a run that has not finished.
fn push_unfinished(qb: &mut QueryBuilder<'_, MySql>) {
    qb.push("r.status IN (");
    let mut list = qb.separated(", ");
    for phase in RunPhase::UNFINISHED {
        list.push_bind(phase);
    }
    list.push_unseparated(")");
}

/// Marks a run as executed on Kubernetes, authenticated by a token with this hash.
pub async fn set_ingest_token(db: &MySqlPool, id: u64, sha256: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE run SET ingest_token_sha256 = ? WHERE run_id = ?")
        .bind(sha256)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Removes a run that could not be started, with everything that belongs to it.
pub async fn delete(db: &MySqlPool, id: u64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM run WHERE run_id = ?")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn save_states<'c, E: sqlx::Executor<'c, Database = MySql>>(
    db: E,
    id: u64,
    status: RunPhase,
    node_states: &NodeStates,
    queued: &[String],
    started: bool,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let summary = Summary::of(node_states);
    sqlx::query(
        "UPDATE run SET status = ?, node_states = ?, failed_nodes = ?, failure_reasons = ?, queued = ?, \
         started_at = CASE WHEN ? AND started_at IS NULL THEN ? ELSE started_at END WHERE run_id = ?",
    )
    .bind(status)
    .bind(Json(node_states))
    .bind(summary.failed_nodes)
    .bind(Json(&summary.failure_reasons))
    .bind(Json(queued))
    .bind(started)
    .bind(at)
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn finish<'c, E: sqlx::Executor<'c, Database = MySql>>(
    db: E,
    id: u64,
    status: RunPhase,
    message: &str,
    node_states: &NodeStates,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let summary = Summary::of(node_states);
    sqlx::query(
        "UPDATE run SET status = ?, message = ?, node_states = ?, failed_nodes = ?, failure_reasons = ?, \
         queued = NULL, finished_at = ?, started_at = COALESCE(started_at, ?) WHERE run_id = ?",
    )
    .bind(status)
    .bind(message)
    .bind(Json(node_states))
    .bind(summary.failed_nodes)
    .bind(Json(&summary.failure_reasons))
    .bind(now)
    .bind(now)
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// Fails an unfinished run whose stored state cannot be read (so it cannot
/// be driven), keeping whatever else is stored of it.
pub async fn fail_unreadable(db: &MySqlPool, id: u64, message: &str) -> Result<(), sqlx::Error> {
    let mut qb = QueryBuilder::<MySql>::new("UPDATE run r SET r.status = ");
    qb.push_bind(RunPhase::Failed)
        .push(", r.message = ")
        .push_bind(message)
        .push(", r.queued = NULL, r.finished_at = NOW(3), r.started_at = COALESCE(r.started_at, NOW(3)) WHERE r.run_id = ")
        .push_bind(id)
        .push(" AND ");
    push_unfinished(&mut qb);
    qb.build().execute(db).await?;
    Ok(())
}

/// Marks a run for cancellation; false when it already finished.
pub async fn request_cancel(db: &MySqlPool, id: u64) -> Result<bool, sqlx::Error> {
    let mut qb =
        QueryBuilder::<MySql>::new("UPDATE run r SET r.cancel_requested = TRUE WHERE r.run_id = ");
    qb.push_bind(id).push(" AND ");
    push_unfinished(&mut qb);
    let r = qb.build().execute(db).await?;
    Ok(r.rows_affected() > 0)
}

pub async fn set_visibility(
    db: &MySqlPool,
    id: u64,
    published: Option<bool>,
    logs_visible: Option<bool>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE run SET published = COALESCE(?, published), \
         logs_visible_to_client = COALESCE(?, logs_visible_to_client) WHERE run_id = ?",
    )
    .bind(published)
    .bind(logs_visible)
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

pub struct Filter {
    pub workflow_id: Option<u64>,
    pub client_id: Option<u64>,
    pub started_by: Option<u64>,
    pub status: Option<RunPhase>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
}

/// What the run list shows: no snapshot, no node states (those are LONGTEXT
/// and were read for every candidate row); the node summary comes from the
/// columns written with the node states.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ListRow {
    pub run_id: u64,
    pub workflow_id: u64,
    pub workflow_revision: u32,
    pub client_id: u64,
    pub started_by: u64,
    pub status: RunPhase,
    pub published: bool,
    pub message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub node_count: Option<u32>,
    pub failed_nodes: Option<u32>,
    #[sqlx(json(nullable))]
    pub failure_reasons: Option<BTreeMap<String, u32>>,
}

const LIST_COLS: &str = "r.run_id, r.workflow_id, r.workflow_revision, r.client_id, r.started_by, \
    r.status, r.published, r.message, r.created_at, r.started_at, r.finished_at, r.node_count, \
    r.failed_nodes, r.failure_reasons";

/// `FROM … WHERE …` of the run list. A manager's scope is a join on
/// `manager_client`'s primary key driven from `run` (STRAIGHT_JOIN): the
/// runs are read newest first through the index that matches the filters and
/// each is checked against the assignment with one key lookup, so a page stops
/// after `limit` visible rows instead of materializing every run of the
/// manager's clients and sorting them (the `IN (SELECT …)` plan MariaDB chose).
fn push_list_from_where(qb: &mut QueryBuilder<'_, MySql>, scope: ClientScope, f: &Filter) {
    qb.push(format_args!(
        " FROM run r FORCE INDEX ({})",
        list_index(scope, f)
    ));
    if let ClientScope::AssignedTo(manager) = scope {
        qb.push(
            " STRAIGHT_JOIN manager_client mc ON mc.client_id = r.client_id AND mc.manager_id = ",
        )
        .push_bind(manager);
    }
    qb.push(" WHERE 1 = 1");
    if let ClientScope::Only(client) = scope {
        qb.push(" AND r.client_id = ")
            .push_bind(client)
            .push(" AND r.published = TRUE");
    }
    if let Some(w) = f.workflow_id {
        qb.push(" AND r.workflow_id = ").push_bind(w);
    }
    if let Some(c) = f.client_id {
        qb.push(" AND r.client_id = ").push_bind(c);
    }
    if let Some(u) = f.started_by {
        qb.push(" AND r.started_by = ").push_bind(u);
    }
    if let Some(s) = f.status {
        qb.push(" AND r.status = ").push_bind(s);
    }
    if let Some(t) = f.created_after {
        qb.push(" AND r.created_at >= ").push_bind(t);
    }
    if let Some(t) = f.created_before {
        qb.push(" AND r.created_at < ").push_bind(t);
    }
}

/// The index a run list reads: the most selective filter's `(column, run_id)`
/// index, else the primary key. Chosen here rather than by the optimizer
/// because, for an equality filter plus the cursor (`status = ? AND run_id <
/// ?`), MariaDB estimates `ref` on the status alone as cheaper and then skips
/// every newer row of that status to reach the cursor, so page 100 read
/// ~100× the rows of page 1 (measured: 305 ms against 50 ms); forced, the
/// cursor becomes part of the range. `FORCE INDEX` means the same in MySQL 8.
fn list_index(scope: ClientScope, f: &Filter) -> &'static str {
    if f.workflow_id.is_some() {
        "ix_run_workflow_id"
    } else if f.client_id.is_some() || matches!(scope, ClientScope::Only(_)) {
        "ix_run_client_id"
    } else if f.started_by.is_some() {
        "ix_run_starter_id"
    } else if f.status.is_some() {
        "ix_run_status_id"
    } else {
        "PRIMARY"
    }
}

fn push_list_keyset(qb: &mut QueryBuilder<'_, MySql>, after: &u64) {
    qb.push(" AND r.run_id < ").push_bind(*after);
}

const LIST_ORDER: &str = "r.run_id DESC";

/// One window of the runs the caller may see, newest first.
pub async fn list(
    db: &MySqlPool,
    scope: ClientScope,
    f: &Filter,
    start: &Start<u64>,
    limit: u32,
    count: bool,
) -> Result<Window<ListRow>, sqlx::Error> {
    fetch_window(
        db,
        LIST_COLS,
        |qb| push_list_from_where(qb, scope, f),
        push_list_keyset,
        LIST_ORDER,
        start,
        limit,
        count,
    )
    .await
}

/// The plan of `list`'s page query, for plan tests.
pub async fn explain_list(
    db: &MySqlPool,
    scope: ClientScope,
    f: &Filter,
    start: &Start<u64>,
    limit: u32,
) -> Result<Vec<PlanStep>, sqlx::Error> {
    explain_window(
        db,
        LIST_COLS,
        |qb| push_list_from_where(qb, scope, f),
        push_list_keyset,
        LIST_ORDER,
        start,
        limit,
    )
    .await
}

/// The summary columns of a run, derived from its node states when they are
/// written, so lists never parse the node states per row.
struct Summary {
    failed_nodes: u32,
    failure_reasons: BTreeMap<&'static str, u32>,
}

impl Summary {
    fn of(states: &NodeStates) -> Self {
        let mut failure_reasons = BTreeMap::new();
        let mut failed_nodes = 0;
        for st in states.values().filter(|s| s.phase == NodePhase::Failed) {
            failed_nodes += 1;
            if let Some(r) = st.reason {
                *failure_reasons.entry(r.as_str()).or_insert(0) += 1;
            }
        }
        Self {
            failed_nodes,
            failure_reasons,
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ExecutionRow {
    pub node_id: String,
    pub attempt: u32,
    pub status: NodePhase,
    pub reason: Option<FailureReason>,
    pub message: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    /// Output values by port, with files as references into `run_file`.
    #[sqlx(json(nullable))]
    pub outputs: Option<Map<String, Value>>,
    pub output_bytes: Option<i64>,
}

pub async fn executions(db: &MySqlPool, run_id: u64) -> Result<Vec<ExecutionRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT node_id, attempt, status, reason, message, started_at, finished_at, duration_ms, outputs, \
         output_bytes FROM node_execution WHERE run_id = ? ORDER BY node_id, attempt",
    )
    .bind(run_id)
    .fetch_all(db)
    .await
}

/// The columns and row of a new attempt, binding node id, attempt, status,
/// start and run id. The run's creation time, workflow and client are copied
/// from its row in the same statement (migration 0019: the analytics read
/// the attempts of a window without joining `run`). Every attempt row is
/// written through here. Without a run row nothing is written: the attempt
/// of a deleted run would have been deleted with it.
const NEW_EXECUTION: &str =
    "(run_id, node_id, attempt, status, started_at, run_created_at, workflow_id, client_id) \
     SELECT r.run_id, ?, ?, ?, ?, r.created_at, r.workflow_id, r.client_id FROM run r WHERE r.run_id = ?";

pub async fn start_execution<'c, E: sqlx::Executor<'c, Database = MySql>>(
    db: E,
    run_id: u64,
    node: &str,
    attempt: u32,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    // REPLACE: an attempt restarted after a crash that happened before its row was written.
    sqlx::query(&format!("REPLACE INTO node_execution {NEW_EXECUTION}"))
        .bind(node)
        .bind(attempt)
        .bind(NodePhase::Running)
        .bind(at)
        .bind(run_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Writes an attempt that started and ended before either was stored: its
/// whole row in one statement (the run store's batches under load).
#[allow(clippy::too_many_arguments)]
pub async fn record_execution<'c, E: sqlx::Executor<'c, Database = MySql>>(
    db: E,
    run_id: u64,
    node: &str,
    attempt: u32,
    started_at: DateTime<Utc>,
    o: &Outcome<'_>,
    finished_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "REPLACE INTO node_execution (run_id, node_id, attempt, status, started_at, run_created_at, \
         workflow_id, client_id, reason, message, finished_at, duration_ms, outputs, output_bytes) \
         SELECT r.run_id, ?, ?, ?, ?, r.created_at, r.workflow_id, r.client_id, ?, ?, ?, ?, ?, ? \
         FROM run r WHERE r.run_id = ?",
    )
    .bind(node)
    .bind(attempt)
    .bind(o.status)
    .bind(started_at)
    .bind(o.reason)
    .bind(o.message)
    .bind(finished_at)
    .bind(o.duration_ms)
    .bind(o.outputs)
    .bind(o.outputs.map(|s| s.len() as i64))
    .bind(run_id)
    .execute(db)
    .await?;
    Ok(())
}

/// Records that an attempt started unless its row exists already (the
/// Kubernetes mirror and the ingest endpoint may both get there first).
pub async fn ensure_execution<'c, E: sqlx::Executor<'c, Database = MySql>>(
    db: E,
    run_id: u64,
    node: &str,
    attempt: u32,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO node_execution {NEW_EXECUTION} ON DUPLICATE KEY UPDATE attempt = node_execution.attempt"
    ))
    .bind(node)
    .bind(attempt)
    .bind(NodePhase::Running)
    .bind(at)
    .bind(run_id)
    .execute(db)
    .await?;
    Ok(())
}

pub struct Outcome<'a> {
    pub status: NodePhase,
    pub reason: Option<FailureReason>,
    pub message: Option<&'a str>,
    pub duration_ms: Option<i64>,
    pub outputs: Option<&'a str>,
}

pub async fn finish_execution<'c, E: sqlx::Executor<'c, Database = MySql>>(
    db: E,
    run_id: u64,
    node: &str,
    attempt: u32,
    o: &Outcome<'_>,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    finish_execution_where(db, run_id, node, attempt, o, at, "").await?;
    Ok(())
}

/// Like `finish_execution`, but leaves an attempt that was already finished
/// alone: the first report of an outcome wins.
pub async fn finish_open_execution<'c, E: sqlx::Executor<'c, Database = MySql>>(
    db: E,
    run_id: u64,
    node: &str,
    attempt: u32,
    o: &Outcome<'_>,
    at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    finish_execution_where(db, run_id, node, attempt, o, at, " AND finished_at IS NULL").await
}

async fn finish_execution_where<'c, E: sqlx::Executor<'c, Database = MySql>>(
    db: E,
    run_id: u64,
    node: &str,
    attempt: u32,
    o: &Outcome<'_>,
    at: DateTime<Utc>,
    extra: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(&format!(
        "UPDATE node_execution SET status = ?, reason = ?, message = ?, finished_at = ?, duration_ms = ?, \
         outputs = ?, output_bytes = ? WHERE run_id = ? AND node_id = ? AND attempt = ?{extra}",
    ))
    .bind(o.status)
    .bind(o.reason)
    .bind(o.message)
    .bind(at)
    .bind(o.duration_ms)
    .bind(o.outputs)
    .bind(o.outputs.map(|s| s.len() as i64))
    .bind(run_id)
    .bind(node)
    .bind(attempt)
    .execute(db)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub struct NewFile<'a> {
    pub run_id: u64,
    pub node_id: &'a str,
    pub attempt: u32,
    pub port: &'a str,
    pub name: &'a str,
    pub content_type: &'a str,
    pub sha256: &'a str,
    pub content: &'a [u8],
}

pub async fn insert_file(db: &MySqlPool, f: &NewFile<'_>) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "INSERT INTO run_file (run_id, node_id, attempt, port, name, content_type, size, sha256, content, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(f.run_id)
    .bind(f.node_id)
    .bind(f.attempt)
    .bind(f.port)
    .bind(f.name)
    .bind(f.content_type)
    .bind(f.content.len() as u64)
    .bind(f.sha256)
    .bind(f.content)
    .bind(Utc::now())
    .execute(db)
    .await?
    .last_insert_id())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FileRow {
    pub name: String,
    pub content_type: String,
    pub sha256: String,
    pub content: Vec<u8>,
}

pub async fn file(
    db: &MySqlPool,
    run_id: u64,
    file_id: u64,
) -> Result<Option<FileRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT name, content_type, sha256, content FROM run_file WHERE run_id = ? AND file_id = ?",
    )
    .bind(run_id)
    .bind(file_id)
    .fetch_optional(db)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LogRow {
    pub seq: u64,
    pub attempt: u32,
    pub ts: DateTime<Utc>,
    pub level: String,
    pub stream: String,
    pub message: String,
}

pub async fn logs(
    db: &MySqlPool,
    run_id: u64,
    node: &str,
    attempt: Option<u32>,
    after_seq: u64,
    limit: u32,
) -> Result<Vec<LogRow>, sqlx::Error> {
    logs_query("", run_id, node, attempt, after_seq, limit)
        .build_query_as()
        .fetch_all(db)
        .await
}

/// One node's log lines after a sequence number (`ix_log_node_seq`); `prefix`
/// is empty or `EXPLAIN `.
fn logs_query<'a>(
    prefix: &str,
    run_id: u64,
    node: &str,
    attempt: Option<u32>,
    after_seq: u64,
    limit: u32,
) -> QueryBuilder<'a, MySql> {
    let mut qb = QueryBuilder::<MySql>::new(format!(
        "{prefix}SELECT seq, attempt, ts, level, stream, message FROM node_log WHERE run_id = "
    ));
    qb.push_bind(run_id)
        .push(" AND node_id = ")
        .push_bind(node.to_string());
    if let Some(a) = attempt {
        qb.push(" AND attempt = ").push_bind(a);
    }
    qb.push(" AND seq > ").push_bind(after_seq);
    qb.push(" ORDER BY seq LIMIT ").push_bind(limit);
    qb
}

/// The plan of `logs`' query, for plan tests.
pub async fn explain_logs(
    db: &MySqlPool,
    run_id: u64,
    node: &str,
    attempt: Option<u32>,
    after_seq: u64,
    limit: u32,
) -> Result<Vec<PlanStep>, sqlx::Error> {
    let rows = logs_query("EXPLAIN ", run_id, node, attempt, after_seq, limit)
        .build()
        .fetch_all(db)
        .await?;
    rows.iter().map(sqlx::FromRow::from_row).collect()
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub seq: u64,
    pub kind: String,
    pub data: String,
}

const EVENTS_AFTER: &str =
    "SELECT seq, kind, data FROM run_event WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?";

pub async fn events_after(
    db: &MySqlPool,
    run_id: u64,
    after: u64,
    limit: u32,
) -> Result<Vec<EventRow>, sqlx::Error> {
    sqlx::query_as(EVENTS_AFTER)
        .bind(run_id)
        .bind(after)
        .bind(limit)
        .fetch_all(db)
        .await
}

/// The plan of `events_after`' query, for plan tests.
pub async fn explain_events_after(
    db: &MySqlPool,
    run_id: u64,
    after: u64,
    limit: u32,
) -> Result<Vec<PlanStep>, sqlx::Error> {
    let rows = sqlx::query(&format!("EXPLAIN {EVENTS_AFTER}"))
        .bind(run_id)
        .bind(after)
        .bind(limit)
        .fetch_all(db)
        .await?;
    rows.iter().map(sqlx::FromRow::from_row).collect()
}

pub async fn last_event_seq(db: &MySqlPool, run_id: u64) -> Result<u64, sqlx::Error> {
    let v: Option<u64> = sqlx::query_scalar("SELECT MAX(seq) FROM run_event WHERE run_id = ?")
        .bind(run_id)
        .fetch_one(db)
        .await?;
    Ok(v.unwrap_or(0))
}

/// How many runs are stored in each phase (for the metrics scrape).
pub async fn count_by_phase(db: &MySqlPool) -> Result<Vec<(RunPhase, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT status, COUNT(*) FROM run GROUP BY status")
        .fetch_all(db)
        .await
}
