//! Task queries. Visibility lives in the SQL (`push_visible`), so a query
//! cannot return a task its caller may not see. Functions take an executor or
//! a transaction; the service decides transaction scope.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{FromRow, MySql, MySqlConnection, MySqlPool, QueryBuilder};

use super::model::{Priority, SlaState, SourceKind, TaskSort};
use crate::analytics::rollup::{Counted, TaskDeltas};
use crate::auth::Role;
use crate::db::paging::{push_keyset, KeyColumn, KeyValue, PlanStep, Start, Window};

/// Who is looking: the visibility rules depend on the role and the id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer {
    pub user_id: u64,
    pub role: Role,
}

/// ` JOIN` the tasks client `v` sees, after `task t`: the same rows as
/// `push_visible` for a client. A client sees the few tasks assigned or
/// shared to them: starting from those ids (a small derived table over the
/// `(user_id, …)` indexes) instead of walking every task and probing both
/// tables per task took seconds off lists at 100,000 tasks.
pub fn push_client_join(qb: &mut QueryBuilder<'_, MySql>, v: Viewer) {
    qb.push(" JOIN (SELECT va.task_id FROM task_assignee va WHERE va.user_id = ")
        .push_bind(v.user_id)
        .push(" UNION SELECT vs.task_id FROM task_share vs WHERE vs.user_id = ")
        .push_bind(v.user_id)
        .push(") mine ON mine.task_id = t.task_id");
}

/// Appends ` AND <task t is visible to viewer>` to an open WHERE clause.
/// Admins see every task; managers the tasks of their clients and the tasks
/// assigned to or reported by them; clients the tasks assigned or shared to them.
pub fn push_visible(qb: &mut QueryBuilder<'_, MySql>, v: Viewer) {
    match v.role {
        Role::Admin => {}
        Role::Manager => {
            qb.push(" AND (t.client_id IN (SELECT mc.client_id FROM manager_client mc WHERE mc.manager_id = ")
                .push_bind(v.user_id)
                .push(") OR t.reporter_id = ")
                .push_bind(v.user_id)
                .push(" OR EXISTS (SELECT 1 FROM task_assignee va WHERE va.task_id = t.task_id AND va.user_id = ")
                .push_bind(v.user_id)
                .push("))");
        }
        Role::Client => {
            qb.push(" AND (EXISTS (SELECT 1 FROM task_assignee va WHERE va.task_id = t.task_id AND va.user_id = ")
                .push_bind(v.user_id)
                .push(") OR EXISTS (SELECT 1 FROM task_share vs WHERE vs.task_id = t.task_id AND vs.user_id = ")
                .push_bind(v.user_id)
                .push("))");
        }
    }
}

#[derive(Debug, Clone, FromRow)]
pub struct StatusRow {
    pub status_id: u64,
    pub name: String,
    pub position: i32,
    pub is_done: bool,
}

pub async fn statuses(db: impl sqlx::MySqlExecutor<'_>) -> Result<Vec<StatusRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT status_id, name, position, is_done FROM task_status ORDER BY position, status_id",
    )
    .fetch_all(db)
    .await
}

pub async fn status(
    db: impl sqlx::MySqlExecutor<'_>,
    id: u64,
) -> Result<Option<StatusRow>, sqlx::Error> {
    sqlx::query_as("SELECT status_id, name, position, is_done FROM task_status WHERE status_id = ?")
        .bind(id)
        .fetch_optional(db)
        .await
}

pub async fn transitions(db: impl sqlx::MySqlExecutor<'_>) -> Result<Vec<(u64, u64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT from_status_id, to_status_id FROM task_transition ORDER BY from_status_id, to_status_id",
    )
    .fetch_all(db)
    .await
}

pub async fn transition_allowed(
    db: impl sqlx::MySqlExecutor<'_>,
    from: u64,
    to: u64,
) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM task_transition WHERE from_status_id = ? AND to_status_id = ?",
    )
    .bind(from)
    .bind(to)
    .fetch_one(db)
    .await?;
    Ok(n > 0)
}

pub const TASK_COLUMNS: &str = "t.task_id, t.client_id, t.task_number, t.task_key, t.title, t.description, \
    t.status_id, t.priority, t.reporter_id, t.due_at, t.position, t.source_kind, t.source_ref_id, \
    t.source_node, t.sla_risk_at, t.sla_due_at, t.version, t.created_at, t.updated_at, t.completed_at";

#[derive(Debug, Clone, FromRow)]
pub struct TaskRow {
    pub task_id: u64,
    pub client_id: u64,
    pub task_number: u64,
    pub task_key: String,
    pub title: String,
    pub description: String,
    pub status_id: u64,
    pub priority: Priority,
    pub reporter_id: u64,
    pub due_at: Option<DateTime<Utc>>,
    pub position: f64,
    pub source_kind: SourceKind,
    pub source_ref_id: Option<u64>,
    pub source_node: Option<String>,
    pub sla_risk_at: Option<DateTime<Utc>>,
    pub sla_due_at: Option<DateTime<Utc>>,
    pub version: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

impl TaskRow {
    /// What the analytics counts see of the task.
    pub fn counted(&self) -> Counted {
        Counted {
            created: self.created_at,
            completed: self.completed_at,
            status_id: self.status_id,
            priority: self.priority,
            client_id: self.client_id,
            sla_due: self.sla_due_at,
        }
    }
}

/// The task if `v` may see it.
pub async fn get_visible(
    db: &MySqlPool,
    v: Viewer,
    task_id: u64,
) -> Result<Option<TaskRow>, sqlx::Error> {
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {TASK_COLUMNS} FROM task t WHERE t.task_id = "
    ));
    q.push_bind(task_id);
    push_visible(&mut q, v);
    q.build_query_as().fetch_optional(db).await
}

/// The task if `v` may see it, locked for the rest of the transaction so
/// compare-and-set and transition checks see the row they change.
pub async fn lock_visible(
    conn: &mut MySqlConnection,
    v: Viewer,
    task_id: u64,
) -> Result<Option<TaskRow>, sqlx::Error> {
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {TASK_COLUMNS} FROM task t WHERE t.task_id = "
    ));
    q.push_bind(task_id);
    push_visible(&mut q, v);
    q.push(" FOR UPDATE");
    q.build_query_as().fetch_optional(conn).await
}

/// Whether `v` may see `task_id`.
pub async fn is_visible(
    db: impl sqlx::MySqlExecutor<'_>,
    v: Viewer,
    task_id: u64,
) -> Result<bool, sqlx::Error> {
    let mut q = QueryBuilder::<MySql>::new("SELECT COUNT(*) FROM task t WHERE t.task_id = ");
    q.push_bind(task_id);
    push_visible(&mut q, v);
    let n: i64 = q.build_query_scalar().fetch_one(db).await?;
    Ok(n > 0)
}

/// Allocates the next key of a client's tasks. The counter row stays locked
/// until the caller's transaction ends, so concurrent creates serialise per
/// client and numbers are never reused.
pub async fn next_key(
    conn: &mut MySqlConnection,
    client_id: u64,
    wanted_prefix: &str,
) -> Result<(u64, String), sqlx::Error> {
    let (prefix, number) = reserve_numbers(conn, client_id, wanted_prefix, 1).await?;
    Ok((number, task_key(&prefix, number)))
}

/// A task's key: the client's prefix and the task's number.
pub fn task_key(prefix: &str, number: u64) -> String {
    format!("{prefix}-{number}")
}

/// Reserves `n` consecutive numbers of a client's tasks and returns the
/// prefix and the first of them, under the same row lock as [`next_key`]:
/// a batch takes its numbers in one step and concurrent creates of the
/// client wait for its transaction.
pub async fn reserve_numbers(
    conn: &mut MySqlConnection,
    client_id: u64,
    wanted_prefix: &str,
    n: u64,
) -> Result<(String, u64), sqlx::Error> {
    let existing: Option<(String, u64)> = sqlx::query_as(
        "SELECT prefix, last_number FROM task_counter WHERE client_id = ? FOR UPDATE",
    )
    .bind(client_id)
    .fetch_optional(&mut *conn)
    .await?;
    match existing {
        Some((prefix, last)) => {
            sqlx::query(
                "UPDATE task_counter SET last_number = last_number + ? WHERE client_id = ?",
            )
            .bind(n)
            .bind(client_id)
            .execute(&mut *conn)
            .await?;
            Ok((prefix, last + 1))
        }
        None => {
            // Two clients whose names give the same prefix: the later one
            // gets its id appended, so keys stay globally unique.
            let taken: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM task_counter WHERE prefix = ?")
                    .bind(wanted_prefix)
                    .fetch_one(&mut *conn)
                    .await?;
            let prefix = if taken > 0 {
                format!("{wanted_prefix}{client_id}")
            } else {
                wanted_prefix.to_string()
            };
            sqlx::query(
                "INSERT INTO task_counter (client_id, prefix, last_number) VALUES (?, ?, ?)",
            )
            .bind(client_id)
            .bind(&prefix)
            .bind(n)
            .execute(&mut *conn)
            .await?;
            Ok((prefix, 1))
        }
    }
}

pub struct NewTask<'a> {
    pub client_id: u64,
    pub number: u64,
    pub key: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    pub status_id: u64,
    pub priority: Priority,
    pub reporter_id: u64,
    pub due_at: Option<DateTime<Utc>>,
    pub position: f64,
    pub source_kind: SourceKind,
    pub source_ref_id: Option<u64>,
    pub source_node: Option<&'a str>,
    pub sla_risk_at: Option<DateTime<Utc>>,
    pub sla_due_at: Option<DateTime<Utc>>,
    /// Set when the task starts in a done column.
    pub completed_at: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
}

/// Rows per multi-row INSERT: 17 parameters a task keeps a statement far
/// below MySQL's 65,535 placeholders and its packet limit.
pub const INSERT_CHUNK: usize = 1000;

/// Inserts one task; its id.
pub async fn insert(conn: &mut MySqlConnection, t: &NewTask<'_>) -> Result<u64, sqlx::Error> {
    insert_many(conn, std::slice::from_ref(t)).await
}

/// Inserts tasks with multi-row INSERTs: the one place that says what a new
/// task row holds. Callers find the ids by `(client_id, task_number)`, the
/// task's unique key, rather than assuming consecutive auto-increment ids.
/// Returns the id of the first row of the last statement (for one task, its id).
pub async fn insert_many(
    conn: &mut MySqlConnection,
    tasks: &[NewTask<'_>],
) -> Result<u64, sqlx::Error> {
    let mut last_id = 0;
    for chunk in tasks.chunks(INSERT_CHUNK) {
        let mut q = QueryBuilder::<MySql>::new(
            "INSERT INTO task (client_id, task_number, task_key, title, description, status_id, priority, \
             reporter_id, due_at, position, source_kind, source_ref_id, source_node, sla_risk_at, sla_due_at, \
             completed_at, version, created_at, updated_at) ",
        );
        q.push_values(chunk, |mut b, t| {
            b.push_bind(t.client_id)
                .push_bind(t.number)
                .push_bind(t.key)
                .push_bind(t.title)
                .push_bind(t.description)
                .push_bind(t.status_id)
                .push_bind(t.priority)
                .push_bind(t.reporter_id)
                .push_bind(t.due_at)
                .push_bind(t.position)
                .push_bind(t.source_kind)
                .push_bind(t.source_ref_id)
                .push_bind(t.source_node)
                .push_bind(t.sla_risk_at)
                .push_bind(t.sla_due_at)
                .push_bind(t.completed_at)
                .push("1")
                .push_bind(t.now)
                .push_bind(t.now);
        });
        last_id = q.build().execute(&mut *conn).await?.last_insert_id();
    }
    let mut counts = TaskDeltas::default();
    for t in tasks {
        let counted = Counted {
            created: t.now,
            completed: t.completed_at,
            status_id: t.status_id,
            priority: t.priority,
            client_id: t.client_id,
            sla_due: t.sla_due_at,
        };
        counts.task(&counted, 1);
    }
    counts.apply(conn).await?;
    Ok(last_id)
}

/// `(task_number, task_id)` of a client's tasks numbered `first..=last`.
pub async fn ids_by_number(
    conn: &mut MySqlConnection,
    client_id: u64,
    first: u64,
    last: u64,
) -> Result<Vec<(u64, u64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT task_number, task_id FROM task WHERE client_id = ? AND task_number BETWEEN ? AND ?",
    )
    .bind(client_id)
    .bind(first)
    .bind(last)
    .fetch_all(conn)
    .await
}

/// The position after the last card of a column.
pub async fn end_of_column(conn: &mut MySqlConnection, status_id: u64) -> Result<f64, sqlx::Error> {
    let max: Option<f64> = sqlx::query_scalar("SELECT MAX(position) FROM task WHERE status_id = ?")
        .bind(status_id)
        .fetch_one(conn)
        .await?;
    Ok(max.map_or(1024.0, |m| m.floor() + 1024.0))
}

/// Writes the mutable columns of `t` if the stored task is still `old` (its
/// version), and bumps the version; `false` when another writer got there
/// first.
pub async fn update_if_version(
    conn: &mut MySqlConnection,
    t: &TaskRow,
    old: &TaskRow,
) -> Result<bool, sqlx::Error> {
    let expected = old.version;
    let r = sqlx::query(
        "UPDATE task SET title = ?, description = ?, status_id = ?, priority = ?, due_at = ?, \
         position = ?, sla_risk_at = ?, sla_due_at = ?, completed_at = ?, updated_at = ?, version = version + 1 WHERE task_id = ? AND version = ?",
    )
    .bind(&t.title)
    .bind(&t.description)
    .bind(t.status_id)
    .bind(t.priority)
    .bind(t.due_at)
    .bind(t.position)
    .bind(t.sla_risk_at)
    .bind(t.sla_due_at)
    .bind(t.completed_at)
    .bind(t.updated_at)
    .bind(t.task_id)
    .bind(expected)
    .execute(&mut *conn)
    .await?;
    if r.rows_affected() != 1 {
        return Ok(false);
    }
    // The assignments' copy of the task's openness (migration 0019), in the
    // same transaction; rows already right are left alone.
    let open = t.completed_at.is_none();
    sqlx::query("UPDATE task_assignee SET task_open = ? WHERE task_id = ? AND task_open <> ?")
        .bind(open)
        .bind(t.task_id)
        .bind(open)
        .execute(&mut *conn)
        .await?;
    let mut counts = TaskDeltas::default();
    counts.changed(&old.counted(), &t.counted());
    counts.apply(conn).await?;
    Ok(true)
}

/// A new SLA clock (the priority changed): the once-only notifications may fire again.
pub async fn reset_sla_notifications(
    conn: &mut MySqlConnection,
    task_id: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE task SET sla_risk_notified_at = NULL, sla_breach_notified_at = NULL WHERE task_id = ?",
    )
    .bind(task_id)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete(conn: &mut MySqlConnection, task_id: u64) -> Result<bool, sqlx::Error> {
    let counted: Option<Counted> = sqlx::query_as(
        "SELECT created_at AS created, completed_at AS completed, status_id, priority, client_id, \
         sla_due_at AS sla_due FROM task WHERE task_id = ? FOR UPDATE",
    )
    .bind(task_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(counted) = counted else {
        return Ok(false);
    };
    let r = sqlx::query("DELETE FROM task WHERE task_id = ?")
        .bind(task_id)
        .execute(&mut *conn)
        .await?;
    let mut counts = TaskDeltas::default();
    counts.task(&counted, -1);
    counts.apply(conn).await?;
    Ok(r.rows_affected() == 1)
}

/// One of the task's user sets (assignees, watchers, shares).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserSet {
    Assignees,
    Watchers,
    Shares,
}

impl UserSet {
    fn table(self) -> &'static str {
        match self {
            Self::Assignees => "task_assignee",
            Self::Watchers => "task_watcher",
            Self::Shares => "task_share",
        }
    }
}

pub async fn users_of(
    db: impl sqlx::MySqlExecutor<'_>,
    set: UserSet,
    task_id: u64,
) -> Result<Vec<u64>, sqlx::Error> {
    sqlx::query_scalar(&format!(
        "SELECT user_id FROM {} WHERE task_id = ? ORDER BY user_id",
        set.table()
    ))
    .bind(task_id)
    .fetch_all(db)
    .await
}

/// Replaces a user set with `users`.
pub async fn set_users(
    conn: &mut MySqlConnection,
    set: UserSet,
    task_id: u64,
    users: &[u64],
    by: u64,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(&format!("DELETE FROM {} WHERE task_id = ?", set.table()))
        .bind(task_id)
        .execute(&mut *conn)
        .await?;
    add_users(conn, set, task_id, users, by, now).await
}

/// Adds users to a set, keeping those already in it.
pub async fn add_users(
    conn: &mut MySqlConnection,
    set: UserSet,
    task_id: u64,
    users: &[u64],
    by: u64,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    if users.is_empty() {
        return Ok(());
    }
    let pairs: Vec<(u64, u64)> = users.iter().map(|u| (task_id, *u)).collect();
    add_users_many(conn, set, &pairs, by, now).await
}

pub async fn tags_of(
    db: impl sqlx::MySqlExecutor<'_>,
    task_id: u64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT tag FROM task_tag WHERE task_id = ? ORDER BY tag")
        .bind(task_id)
        .fetch_all(db)
        .await
}

pub async fn set_tags(
    conn: &mut MySqlConnection,
    task_id: u64,
    tags: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM task_tag WHERE task_id = ?")
        .bind(task_id)
        .execute(&mut *conn)
        .await?;
    if tags.is_empty() {
        return Ok(());
    }
    let mut q = QueryBuilder::<MySql>::new("INSERT INTO task_tag (task_id, tag) ");
    q.push_values(tags, |mut b, t| {
        b.push_bind(task_id).push_bind(t);
    });
    q.build().execute(conn).await?;
    Ok(())
}

/// Rows per multi-row INSERT of `(task, user)` or `(task, tag)` pairs.
const PAIR_CHUNK: usize = 5000;

/// Adds `(task_id, user_id)` pairs to a user set of several new tasks.
pub async fn add_users_many(
    conn: &mut MySqlConnection,
    set: UserSet,
    pairs: &[(u64, u64)],
    by: u64,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    for chunk in pairs.chunks(PAIR_CHUNK) {
        let mut q = QueryBuilder::<MySql>::new(match set {
            UserSet::Shares => {
                "INSERT IGNORE INTO task_share (task_id, user_id, created_by, created_at) "
            }
            // The assignee rows carry the task's client (migration 0018),
            // for the manager's "assigned to me elsewhere" part of the list,
            // and whether it is open (0019), for the analytics workload.
            UserSet::Assignees => {
                "INSERT IGNORE INTO task_assignee (task_id, user_id, client_id, task_open) "
            }
            UserSet::Watchers => "INSERT IGNORE INTO task_watcher (task_id, user_id) ",
        });
        q.push_values(chunk, |mut b, (task, user)| {
            b.push_bind(*task).push_bind(*user);
            match set {
                UserSet::Shares => {
                    b.push_bind(by).push_bind(now);
                }
                UserSet::Assignees => {
                    b.push("(SELECT ct.client_id FROM task ct WHERE ct.task_id = ")
                        .push_bind_unseparated(*task)
                        .push_unseparated(")");
                    b.push("(SELECT ct.completed_at IS NULL FROM task ct WHERE ct.task_id = ")
                        .push_bind_unseparated(*task)
                        .push_unseparated(")");
                }
                UserSet::Watchers => {}
            }
        });
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Adds `(task_id, tag)` pairs of several new tasks.
pub async fn add_tags_many(
    conn: &mut MySqlConnection,
    pairs: &[(u64, &str)],
) -> Result<(), sqlx::Error> {
    for chunk in pairs.chunks(PAIR_CHUNK) {
        let mut q = QueryBuilder::<MySql>::new("INSERT INTO task_tag (task_id, tag) ");
        q.push_values(chunk, |mut b, (task, tag)| {
            b.push_bind(*task).push_bind(*tag);
        });
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// `(task_id, value)` pairs for a page of tasks, so a list costs two extra
/// queries rather than two per task.
pub async fn assignees_of_many(
    db: &MySqlPool,
    ids: &[u64],
) -> Result<Vec<(u64, u64)>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let mut q =
        QueryBuilder::<MySql>::new("SELECT task_id, user_id FROM task_assignee WHERE task_id IN (");
    let mut sep = q.separated(", ");
    for id in ids {
        sep.push_bind(*id);
    }
    q.push(") ORDER BY task_id, user_id");
    q.build_query_as().fetch_all(db).await
}

pub async fn tags_of_many(db: &MySqlPool, ids: &[u64]) -> Result<Vec<(u64, String)>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let mut q = QueryBuilder::<MySql>::new("SELECT task_id, tag FROM task_tag WHERE task_id IN (");
    let mut sep = q.separated(", ");
    for id in ids {
        sep.push_bind(*id);
    }
    q.push(") ORDER BY task_id, tag");
    q.build_query_as().fetch_all(db).await
}

/// List filters; every value is bound, never spliced.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub status_ids: Vec<u64>,
    pub priorities: Vec<Priority>,
    pub assignee_id: Option<u64>,
    pub tag: Option<String>,
    pub client_id: Option<u64>,
    pub due_from: Option<DateTime<Utc>>,
    pub due_to: Option<DateTime<Utc>>,
    pub sla: Option<SlaState>,
    pub q: Option<String>,
    pub source_kind: Option<SourceKind>,
    pub source_ref_id: Option<u64>,
    pub reporter_id: Option<u64>,
}

/// How one branch of a list query finds the tasks its viewer sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope<'a> {
    /// What an admin or a client sees: every task, or a client's from their
    /// assignment and share ids.
    Visible,
    /// The following are the disjoint parts of what a manager sees, each
    /// found through its own index; their union is `Visible`. The manager's
    /// clients are read beforehand and named as constants, so that
    /// `client_id NOT IN (…)` becomes index ranges skipping them.
    ///
    /// The tasks of one of the manager's clients, read through `index` (the
    /// client's index in the list's order, so the branch stops after its
    /// page) when the order has one.
    Client(u64, Option<&'static str>),
    /// The tasks of the manager's clients.
    Clients(&'a [u64]),
    /// Tasks of clients other than these (the manager's) reported by the manager.
    Reported(&'a [u64]),
    /// Tasks of clients other than these (the manager's) assigned to the
    /// manager and not reported by them.
    Assigned(&'a [u64]),
}

/// Up to this many clients, a manager's list reads each client's tasks in
/// list order through the client's index (a few index entries each) and
/// merges them; beyond, the clients' tasks are one branch.
const PER_CLIENT_BRANCHES: usize = 16;

/// The index that holds one client's tasks in `sort` order, if there is one.
fn client_index(sort: TaskSort) -> Option<&'static str> {
    match sort {
        TaskSort::CreatedDesc | TaskSort::CreatedAsc => Some("ix_task_client_created_id"),
        TaskSort::UpdatedDesc => Some("ix_task_client_updated_id"),
        TaskSort::DueAsc => Some("ix_task_client_due_sort"),
        TaskSort::Key => Some("uq_task_client_number"),
        TaskSort::DueDesc | TaskSort::PriorityDesc | TaskSort::Board => None,
    }
}

/// The clients a manager manages.
pub(crate) async fn managed_clients(db: &MySqlPool, manager: u64) -> Result<Vec<u64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT client_id FROM manager_client WHERE manager_id = ? ORDER BY client_id",
    )
    .bind(manager)
    .fetch_all(db)
    .await
}

/// The branches of a list query. Admins and clients have one. A manager's
/// list merges their parts, each read in its own index order. `managed` is
/// the manager's clients, `mine` those of them the filter admits.
fn branches<'a>(
    v: Viewer,
    sort: Option<TaskSort>,
    managed: &'a [u64],
    mine: &'a [u64],
) -> Vec<Scope<'a>> {
    if v.role != Role::Manager {
        return vec![Scope::Visible];
    }
    let mut out = Vec::new();
    match sort.and_then(client_index) {
        Some(index) if mine.len() <= PER_CLIENT_BRANCHES => {
            out.extend(mine.iter().map(|c| Scope::Client(*c, Some(index))));
        }
        _ if mine.is_empty() => {}
        _ => out.push(Scope::Clients(mine)),
    }
    out.push(Scope::Reported(managed));
    out.push(Scope::Assigned(managed));
    out
}

fn push_ids(qb: &mut QueryBuilder<'_, MySql>, ids: &[u64]) {
    qb.push("(");
    let mut sep = qb.separated(", ");
    for id in ids {
        sep.push_bind(*id);
    }
    qb.push(")");
}

fn push_from_where(
    qb: &mut QueryBuilder<'_, MySql>,
    v: Viewer,
    f: &Filter,
    now: DateTime<Utc>,
    join_status: bool,
    scope: Scope<'_>,
) {
    match scope {
        Scope::Client(_, Some(index)) => {
            qb.push(format_args!(" FROM task t FORCE INDEX ({index})"));
        }
        // Both driven from the manager's own rows, the reporter's index and
        // the assignee's, as ranges over the clients other than the
        // manager's; the assignments come first even when a cursor makes a
        // range of `task` look cheaper (it would then probe them per task).
        Scope::Reported(_) => {
            qb.push(" FROM task t FORCE INDEX (ix_task_reporter_client)");
        }
        Scope::Assigned(managed) => {
            qb.push(" FROM task_assignee vpa FORCE INDEX (ix_task_assignee_user_client)")
                .push(" STRAIGHT_JOIN task t ON t.task_id = vpa.task_id AND vpa.user_id = ")
                .push_bind(v.user_id);
            if !managed.is_empty() {
                qb.push(" AND vpa.client_id NOT IN ");
                push_ids(qb, managed);
            }
        }
        _ => {
            qb.push(" FROM task t");
        }
    }
    if v.role == Role::Client {
        push_client_join(qb, v);
    }
    if join_status {
        qb.push(" JOIN task_status s ON s.status_id = t.status_id");
    }
    qb.push(" WHERE 1 = 1");
    match scope {
        Scope::Visible if v.role != Role::Client => push_visible(qb, v),
        Scope::Visible => {}
        Scope::Client(c, _) => {
            qb.push(" AND t.client_id = ").push_bind(c);
        }
        Scope::Clients(ids) => {
            qb.push(" AND t.client_id IN ");
            push_ids(qb, ids);
        }
        Scope::Reported(managed) => {
            qb.push(" AND t.reporter_id = ").push_bind(v.user_id);
            if !managed.is_empty() {
                qb.push(" AND t.client_id NOT IN ");
                push_ids(qb, managed);
            }
        }
        // The assignment's client is the task's (a task never changes
        // client), so the join already left out the manager's clients.
        Scope::Assigned(_) => {
            qb.push(" AND t.reporter_id <> ").push_bind(v.user_id);
        }
    }
    if !f.status_ids.is_empty() {
        qb.push(" AND t.status_id IN (");
        let mut sep = qb.separated(", ");
        for s in &f.status_ids {
            sep.push_bind(*s);
        }
        qb.push(")");
    }
    if !f.priorities.is_empty() {
        qb.push(" AND t.priority IN (");
        let mut sep = qb.separated(", ");
        for p in &f.priorities {
            sep.push_bind(*p);
        }
        qb.push(")");
    }
    if let Some(a) = f.assignee_id {
        qb.push(" AND EXISTS (SELECT 1 FROM task_assignee fa WHERE fa.task_id = t.task_id AND fa.user_id = ")
            .push_bind(a)
            .push(")");
    }
    if let Some(tag) = &f.tag {
        qb.push(
            " AND EXISTS (SELECT 1 FROM task_tag ft WHERE ft.task_id = t.task_id AND ft.tag = ",
        )
        .push_bind(tag.clone())
        .push(")");
    }
    if let Some(c) = f.client_id {
        qb.push(" AND t.client_id = ").push_bind(c);
    }
    if let Some(r) = f.reporter_id {
        qb.push(" AND t.reporter_id = ").push_bind(r);
    }
    if let Some(d) = f.due_from {
        qb.push(" AND t.due_at >= ").push_bind(d);
    }
    if let Some(d) = f.due_to {
        qb.push(" AND t.due_at < ").push_bind(d);
    }
    if let Some(k) = f.source_kind {
        qb.push(" AND t.source_kind = ").push_bind(k);
    }
    if let Some(r) = f.source_ref_id {
        qb.push(" AND t.source_ref_id = ").push_bind(r);
    }
    // The same inclusive boundaries as `model::sla_state`, judged at
    // completion for completed tasks.
    if let Some(sla) = f.sla {
        match sla {
            SlaState::Breached => {
                qb.push(" AND t.sla_due_at <= COALESCE(t.completed_at, ")
                    .push_bind(now)
                    .push(")");
            }
            SlaState::AtRisk => {
                qb.push(" AND t.sla_risk_at <= COALESCE(t.completed_at, ")
                    .push_bind(now)
                    .push(") AND t.sla_due_at > COALESCE(t.completed_at, ")
                    .push_bind(now)
                    .push(")");
            }
            SlaState::OnTrack => {
                qb.push(" AND t.sla_risk_at > COALESCE(t.completed_at, ")
                    .push_bind(now)
                    .push(")");
            }
        }
    }
    if let Some(text) = &f.q {
        let escaped = text
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        qb.push(" AND (t.title LIKE ")
            .push_bind(format!("%{escaped}%"))
            .push(" OR t.task_key = ")
            .push_bind(text.clone())
            .push(")");
    }
}

/// The sort key of each task order, matching `TaskSort::order_by` column for
/// column, so a cursor can continue any order.
fn key_columns(sort: TaskSort) -> &'static [KeyColumn] {
    const fn asc(expr: &'static str) -> KeyColumn {
        KeyColumn {
            expr,
            descending: false,
        }
    }
    const fn desc(expr: &'static str) -> KeyColumn {
        KeyColumn {
            expr,
            descending: true,
        }
    }
    const CREATED_DESC: &[KeyColumn] = &[desc("t.created_at"), desc("t.task_id")];
    const CREATED_ASC: &[KeyColumn] = &[asc("t.created_at"), asc("t.task_id")];
    const UPDATED_DESC: &[KeyColumn] = &[desc("t.updated_at"), desc("t.task_id")];
    const DUE_ASC: &[KeyColumn] = &[asc("t.due_sort"), asc("t.task_id")];
    const DUE_DESC: &[KeyColumn] = &[
        asc("(t.due_at IS NULL)"),
        desc("t.due_at"),
        desc("t.task_id"),
    ];
    const PRIORITY_DESC: &[KeyColumn] = &[
        desc("t.priority_rank"),
        desc("t.created_at"),
        desc("t.task_id"),
    ];
    const BOARD: &[KeyColumn] = &[asc("s.position"), asc("t.position"), asc("t.task_id")];
    const KEY: &[KeyColumn] = &[asc("t.client_id"), asc("t.task_number")];
    match sort {
        TaskSort::CreatedDesc => CREATED_DESC,
        TaskSort::CreatedAsc => CREATED_ASC,
        TaskSort::UpdatedDesc => UPDATED_DESC,
        TaskSort::DueAsc => DUE_ASC,
        TaskSort::DueDesc => DUE_DESC,
        TaskSort::PriorityDesc => PRIORITY_DESC,
        TaskSort::Board => BOARD,
        TaskSort::Key => KEY,
    }
}

/// Where tasks without a due date sort in `due_asc`, as migration 0016's
/// `due_sort` column puts them.
fn end_of_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("9999-12-31T00:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Whether a cursor's key fits the sort (right length); a mismatched one is refused.
pub fn key_fits(sort: TaskSort, key: &[KeyValue]) -> bool {
    key.len() == key_columns(sort).len()
}

/// The sort key of `row` under `sort`; `status_position` is the position of
/// the row's status (board order only).
fn row_key(sort: TaskSort, row: &TaskRow, status_position: i32) -> Vec<KeyValue> {
    let id = KeyValue::Int(i64::try_from(row.task_id).unwrap_or(i64::MAX));
    let time = |t: Option<DateTime<Utc>>| t.map_or(KeyValue::Null, KeyValue::Time);
    match sort {
        TaskSort::CreatedDesc | TaskSort::CreatedAsc => vec![time(Some(row.created_at)), id],
        TaskSort::UpdatedDesc => vec![time(Some(row.updated_at)), id],
        TaskSort::DueAsc => vec![time(Some(row.due_at.unwrap_or_else(end_of_time))), id],
        TaskSort::DueDesc => vec![
            KeyValue::Int(i64::from(row.due_at.is_none())),
            time(row.due_at),
            id,
        ],
        TaskSort::PriorityDesc => vec![
            KeyValue::Int(i64::from(row.priority.rank())),
            time(Some(row.created_at)),
            id,
        ],
        TaskSort::Board => vec![
            KeyValue::Int(i64::from(status_position)),
            KeyValue::Float(row.position),
            id,
        ],
        TaskSort::Key => vec![
            KeyValue::Int(i64::try_from(row.client_id).unwrap_or(i64::MAX)),
            KeyValue::Int(i64::try_from(row.task_number).unwrap_or(i64::MAX)),
        ],
    }
}

/// The page query of `list`: the page's ids picked by one `ORDER BY … LIMIT`
/// per branch (ids and sort keys only, so a sort over many matching tasks
/// never carries their descriptions), merged by one more `ORDER BY … LIMIT`
/// over at most `branches × (limit + 1)` of them when there are several, and
/// joined to their rows, all in one statement. The rows come back unordered.
/// With page numbers, each branch reads up to the end of the page and the
/// merge skips the offset: the first `offset + limit + 1` rows of the union
/// are among the first `offset + limit + 1` of each branch.
#[allow(clippy::too_many_arguments)]
fn list_query<'a>(
    prefix: &str,
    v: Viewer,
    f: &'a Filter,
    sort: TaskSort,
    start: &'a Start<Vec<KeyValue>>,
    limit: u32,
    now: DateTime<Utc>,
    branches: &[Scope<'_>],
) -> QueryBuilder<'a, MySql> {
    let columns = key_columns(sort);
    let keys: String = columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!(", {} AS k{i}", c.expr))
        .collect();
    let mut q =
        QueryBuilder::<MySql>::new(format!("{prefix}SELECT {TASK_COLUMNS} FROM task t JOIN ("));
    let merged = branches.len() > 1;
    let offset = start.offset();
    if merged {
        q.push("SELECT u.task_id FROM (");
    }
    for (i, scope) in branches.iter().enumerate() {
        if i > 0 {
            q.push(" UNION ALL ");
        }
        if merged {
            q.push("(");
        }
        q.push(format_args!("SELECT t.task_id{keys}"));
        push_from_where(&mut q, v, f, now, sort == TaskSort::Board, *scope);
        if let Some(k) = start.after() {
            push_keyset(&mut q, columns, k);
        }
        // Literal numbers (not bound): counts, never input text.
        q.push(format_args!(" ORDER BY {} LIMIT ", sort.order_by()));
        if merged {
            q.push(format_args!("{})", offset + u64::from(limit) + 1));
        } else {
            q.push(format_args!("{}", limit + 1));
            if offset > 0 {
                q.push(format_args!(" OFFSET {offset}"));
            }
        }
    }
    if merged {
        let order: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| format!("u.k{i}{}", if c.descending { " DESC" } else { "" }))
            .collect();
        q.push(format_args!(
            ") u ORDER BY {} LIMIT {}",
            order.join(", "),
            limit + 1
        ));
        if offset > 0 {
            q.push(format_args!(" OFFSET {offset}"));
        }
    }
    q.push(") page ON page.task_id = t.task_id");
    q
}

/// One window of visible tasks matching `f` in `sort` order, the total when
/// `count` is set, and the sort key of the last row when more rows follow
/// (the next cursor).
#[allow(clippy::too_many_arguments)]
pub async fn list(
    db: &MySqlPool,
    v: Viewer,
    f: &Filter,
    sort: TaskSort,
    start: &Start<Vec<KeyValue>>,
    limit: u32,
    count: bool,
    now: DateTime<Utc>,
) -> Result<(Window<TaskRow>, Option<Vec<KeyValue>>), sqlx::Error> {
    let managed = if v.role == Role::Manager {
        managed_clients(db, v.user_id).await?
    } else {
        Vec::new()
    };
    let mine = admitted(&managed, f);
    let branches = branches(v, Some(sort), &managed, &mine);
    let mut items: Vec<TaskRow> = list_query("", v, f, sort, start, limit, now, &branches)
        .build_query_as()
        .fetch_all(db)
        .await?;
    let positions: HashMap<u64, i32> = if sort == TaskSort::Board {
        statuses(db)
            .await?
            .into_iter()
            .map(|s| (s.status_id, s.position))
            .collect()
    } else {
        HashMap::new()
    };
    let key_of = |r: &TaskRow| row_key(sort, r, positions.get(&r.status_id).copied().unwrap_or(0));
    items.sort_by(|a, b| compare_keys(&key_of(a), &key_of(b), key_columns(sort)));
    let has_more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let total = if count {
        // The parts of a manager's list, counted in one statement.
        let parts = self::branches(v, None, &managed, &mine);
        let mut c = QueryBuilder::<MySql>::new("SELECT ");
        for (i, scope) in parts.iter().enumerate() {
            if i > 0 {
                c.push(" + ");
            }
            c.push("(SELECT COUNT(*)");
            push_from_where(&mut c, v, f, now, false, *scope);
            c.push(")");
        }
        let n: i64 = c.build_query_scalar().fetch_one(db).await?;
        Some(u64::try_from(n).unwrap_or(0))
    } else {
        None
    };
    let next = match items.last() {
        Some(last) if has_more => Some(key_of(last)),
        _ => None,
    };
    Ok((
        Window {
            items,
            has_more,
            total,
        },
        next,
    ))
}

/// The manager's clients that `f`'s client filter admits.
fn admitted(managed: &[u64], f: &Filter) -> Vec<u64> {
    managed
        .iter()
        .copied()
        .filter(|c| f.client_id.is_none_or(|only| only == *c))
        .collect()
}

fn compare_value(a: &KeyValue, b: &KeyValue) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (KeyValue::Null, KeyValue::Null) => Ordering::Equal,
        // As MySQL orders NULL: first ascending, last descending.
        (KeyValue::Null, _) => Ordering::Less,
        (_, KeyValue::Null) => Ordering::Greater,
        (KeyValue::Int(x), KeyValue::Int(y)) => x.cmp(y),
        (KeyValue::Float(x), KeyValue::Float(y)) => x.total_cmp(y),
        (KeyValue::Int(x), KeyValue::Float(y)) => (*x as f64).total_cmp(y),
        (KeyValue::Float(x), KeyValue::Int(y)) => x.total_cmp(&(*y as f64)),
        (KeyValue::Time(x), KeyValue::Time(y)) => x.cmp(y),
        _ => Ordering::Equal,
    }
}

/// Orders two sort keys as `ORDER BY` over `columns` would.
fn compare_keys(a: &[KeyValue], b: &[KeyValue], columns: &[KeyColumn]) -> std::cmp::Ordering {
    for ((x, y), c) in a.iter().zip(b).zip(columns) {
        let o = compare_value(x, y);
        let o = if c.descending { o.reverse() } else { o };
        if o != std::cmp::Ordering::Equal {
            return o;
        }
    }
    std::cmp::Ordering::Equal
}

/// The plan of `list`'s page query (`EXPLAIN` of exactly the statement
/// `list` runs), for plan tests.
pub async fn explain_list(
    db: &MySqlPool,
    v: Viewer,
    f: &Filter,
    sort: TaskSort,
    start: &Start<Vec<KeyValue>>,
    limit: u32,
    now: DateTime<Utc>,
) -> Result<Vec<PlanStep>, sqlx::Error> {
    let managed = if v.role == Role::Manager {
        managed_clients(db, v.user_id).await?
    } else {
        Vec::new()
    };
    let mine = admitted(&managed, f);
    let branches = branches(v, Some(sort), &managed, &mine);
    let rows = list_query("EXPLAIN ", v, f, sort, start, limit, now, &branches)
        .build()
        .fetch_all(db)
        .await?;
    rows.iter().map(PlanStep::from_row).collect()
}

/// How many visible tasks matching `f` each status holds (Kanban column counts).
pub async fn count_by_status(
    db: &MySqlPool,
    v: Viewer,
    f: &Filter,
    now: DateTime<Utc>,
) -> Result<Vec<(u64, i64)>, sqlx::Error> {
    let managed = if v.role == Role::Manager {
        managed_clients(db, v.user_id).await?
    } else {
        Vec::new()
    };
    let mine = admitted(&managed, f);
    let mut counts: std::collections::BTreeMap<u64, i64> = std::collections::BTreeMap::new();
    for scope in branches(v, None, &managed, &mine) {
        let mut q = QueryBuilder::<MySql>::new("SELECT t.status_id, COUNT(*)");
        push_from_where(&mut q, v, f, now, false, scope);
        q.push(" GROUP BY t.status_id");
        for (status, n) in q.build_query_as::<(u64, i64)>().fetch_all(db).await? {
            *counts.entry(status).or_default() += n;
        }
    }
    Ok(counts.into_iter().collect())
}

pub async fn add_activity(
    conn: &mut MySqlConnection,
    task_id: u64,
    actor: Option<u64>,
    field: &str,
    old: Option<&str>,
    new: Option<&str>,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO task_activity (task_id, actor_id, field, old_value, new_value, at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(task_id)
    .bind(actor)
    .bind(field)
    .bind(old)
    .bind(new)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// One activity entry of [`add_activity_many`].
pub struct NewActivity<'a> {
    pub task_id: u64,
    pub actor: Option<u64>,
    pub field: &'a str,
    pub old: Option<&'a str>,
    pub new: Option<&'a str>,
}

/// [`add_activity`] for several entries at the same time.
pub async fn add_activity_many(
    conn: &mut MySqlConnection,
    entries: &[NewActivity<'_>],
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    for chunk in entries.chunks(PAIR_CHUNK) {
        let mut q = QueryBuilder::<MySql>::new(
            "INSERT INTO task_activity (task_id, actor_id, field, old_value, new_value, at) ",
        );
        q.push_values(chunk, |mut b, e| {
            b.push_bind(e.task_id)
                .push_bind(e.actor)
                .push_bind(e.field)
                .push_bind(e.old)
                .push_bind(e.new)
                .push_bind(at);
        });
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

#[derive(Debug, Clone, FromRow)]
pub struct ActivityRow {
    pub activity_id: u64,
    pub actor_id: Option<u64>,
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub at: DateTime<Utc>,
}

pub async fn activity(
    db: &MySqlPool,
    task_id: u64,
    after: u64,
    limit: u32,
) -> Result<Vec<ActivityRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT activity_id, actor_id, field, old_value, new_value, at FROM task_activity \
         WHERE task_id = ? AND activity_id > ? ORDER BY activity_id LIMIT ?",
    )
    .bind(task_id)
    .bind(after)
    .bind(limit)
    .fetch_all(db)
    .await
}

#[derive(Debug, Clone, FromRow)]
pub struct UserRow {
    pub user_id: u64,
    pub username: String,
    pub email: String,
    pub role: String,
    pub active: bool,
}

pub async fn users_by_ids(
    db: impl sqlx::MySqlExecutor<'_>,
    ids: &[u64],
) -> Result<Vec<UserRow>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT user_id, username, email, role, active FROM app_user WHERE user_id IN (",
    );
    let mut sep = q.separated(", ");
    for id in ids {
        sep.push_bind(*id);
    }
    q.push(")");
    q.build_query_as().fetch_all(db).await
}

pub async fn users_by_names(
    db: impl sqlx::MySqlExecutor<'_>,
    names: &[String],
) -> Result<Vec<UserRow>, sqlx::Error> {
    if names.is_empty() {
        return Ok(vec![]);
    }
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT user_id, username, email, role, active FROM app_user WHERE active = TRUE AND username IN (",
    );
    let mut sep = q.separated(", ");
    for n in names {
        sep.push_bind(n.clone());
    }
    q.push(")");
    q.build_query_as().fetch_all(db).await
}

/// Managers linked to `client_id`.
pub async fn managers_of(
    db: impl sqlx::MySqlExecutor<'_>,
    client_id: u64,
) -> Result<Vec<u64>, sqlx::Error> {
    sqlx::query_scalar("SELECT manager_id FROM manager_client WHERE client_id = ?")
        .bind(client_id)
        .fetch_all(db)
        .await
}

// ---- comments ----

#[derive(Debug, Clone, FromRow)]
pub struct CommentRow {
    pub comment_id: u64,
    pub task_id: u64,
    pub author_id: u64,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub async fn comments(db: &MySqlPool, task_id: u64) -> Result<Vec<CommentRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT comment_id, task_id, author_id, body, created_at, updated_at FROM task_comment \
         WHERE task_id = ? ORDER BY comment_id",
    )
    .bind(task_id)
    .fetch_all(db)
    .await
}

/// A comment on a task `v` may see, locked for the caller's transaction.
pub async fn lock_comment_visible(
    conn: &mut MySqlConnection,
    v: Viewer,
    comment_id: u64,
) -> Result<Option<CommentRow>, sqlx::Error> {
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT c.comment_id, c.task_id, c.author_id, c.body, c.created_at, c.updated_at \
         FROM task_comment c JOIN task t ON t.task_id = c.task_id WHERE c.comment_id = ",
    );
    q.push_bind(comment_id);
    push_visible(&mut q, v);
    q.push(" FOR UPDATE");
    q.build_query_as().fetch_optional(conn).await
}

pub async fn insert_comment(
    conn: &mut MySqlConnection,
    task_id: u64,
    author: u64,
    body: &str,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let r = sqlx::query(
        "INSERT INTO task_comment (task_id, author_id, body, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(task_id)
    .bind(author)
    .bind(body)
    .bind(now)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(r.last_insert_id())
}

/// Replaces a comment's body, keeping the previous one in its history.
pub async fn edit_comment(
    conn: &mut MySqlConnection,
    c: &CommentRow,
    body: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO task_comment_edit (comment_id, body, edited_at) VALUES (?, ?, ?)")
        .bind(c.comment_id)
        .bind(&c.body)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE task_comment SET body = ?, updated_at = ? WHERE comment_id = ?")
        .bind(body)
        .bind(now)
        .bind(c.comment_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn delete_comment(conn: &mut MySqlConnection, id: u64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM task_comment WHERE comment_id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, FromRow)]
pub struct CommentEditRow {
    pub comment_id: u64,
    pub body: String,
    pub edited_at: DateTime<Utc>,
}

pub async fn comment_edits(
    db: &MySqlPool,
    task_id: u64,
) -> Result<Vec<CommentEditRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT e.comment_id, e.body, e.edited_at FROM task_comment_edit e \
         JOIN task_comment c ON c.comment_id = e.comment_id WHERE c.task_id = ? ORDER BY e.edit_id",
    )
    .bind(task_id)
    .fetch_all(db)
    .await
}

// ---- attachments ----

#[derive(Debug, Clone, FromRow)]
pub struct AttachmentRow {
    pub attachment_id: u64,
    pub task_id: u64,
    pub comment_id: Option<u64>,
    pub name: String,
    pub content_type: String,
    pub size: u64,
    pub sha256: String,
    pub uploaded_by: u64,
    pub created_at: DateTime<Utc>,
}

const ATTACHMENT_COLUMNS: &str =
    "a.attachment_id, a.task_id, a.comment_id, a.name, a.content_type, \
    a.size, a.sha256, a.uploaded_by, a.created_at";

pub struct NewAttachment<'a> {
    pub task_id: u64,
    pub comment_id: Option<u64>,
    pub name: &'a str,
    pub content_type: &'a str,
    pub sha256: &'a str,
    pub content: &'a [u8],
    pub uploaded_by: u64,
    pub now: DateTime<Utc>,
}

pub async fn insert_attachment(
    conn: &mut MySqlConnection,
    a: &NewAttachment<'_>,
) -> Result<u64, sqlx::Error> {
    let r = sqlx::query(
        "INSERT INTO task_attachment (task_id, comment_id, name, content_type, size, sha256, content, \
         uploaded_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(a.task_id)
    .bind(a.comment_id)
    .bind(a.name)
    .bind(a.content_type)
    .bind(a.content.len() as u64)
    .bind(a.sha256)
    .bind(a.content)
    .bind(a.uploaded_by)
    .bind(a.now)
    .execute(conn)
    .await?;
    Ok(r.last_insert_id())
}

pub async fn attachments(db: &MySqlPool, task_id: u64) -> Result<Vec<AttachmentRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ATTACHMENT_COLUMNS} FROM task_attachment a WHERE a.task_id = ? ORDER BY a.attachment_id"
    ))
    .bind(task_id)
    .fetch_all(db)
    .await
}

/// An attachment of a task `v` may see, with its content.
pub async fn attachment_visible(
    db: &MySqlPool,
    v: Viewer,
    id: u64,
) -> Result<Option<(AttachmentRow, Vec<u8>)>, sqlx::Error> {
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {ATTACHMENT_COLUMNS}, a.content FROM task_attachment a JOIN task t ON t.task_id = a.task_id \
         WHERE a.attachment_id = "
    ));
    q.push_bind(id);
    push_visible(&mut q, v);
    let row: Option<sqlx::mysql::MySqlRow> = q.build().fetch_optional(db).await?;
    match row {
        None => Ok(None),
        Some(r) => {
            use sqlx::Row;
            let content: Vec<u8> = r.try_get("content")?;
            Ok(Some((AttachmentRow::from_row(&r)?, content)))
        }
    }
}

pub async fn comment_of_task(
    db: impl sqlx::MySqlExecutor<'_>,
    comment_id: u64,
    task_id: u64,
) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM task_comment WHERE comment_id = ? AND task_id = ?",
    )
    .bind(comment_id)
    .bind(task_id)
    .fetch_one(db)
    .await?;
    Ok(n > 0)
}

// ---- settings ----

pub async fn sla_targets(
    db: impl sqlx::MySqlExecutor<'_>,
) -> Result<Vec<(Priority, Option<u32>)>, sqlx::Error> {
    sqlx::query_as("SELECT priority, target_minutes FROM task_sla_target")
        .fetch_all(db)
        .await
}

pub async fn sla_target(
    db: impl sqlx::MySqlExecutor<'_>,
    p: Priority,
) -> Result<Option<u32>, sqlx::Error> {
    let v: Option<Option<u32>> =
        sqlx::query_scalar("SELECT target_minutes FROM task_sla_target WHERE priority = ?")
            .bind(p)
            .fetch_optional(db)
            .await?;
    Ok(v.flatten())
}

pub async fn attachment_max_bytes(db: impl sqlx::MySqlExecutor<'_>) -> Result<u64, sqlx::Error> {
    let v: Option<u64> =
        sqlx::query_scalar("SELECT attachment_max_bytes FROM task_setting WHERE setting_id = 1")
            .fetch_optional(db)
            .await?;
    Ok(v.unwrap_or(10 * 1024 * 1024))
}

pub async fn task_count_in_status(
    db: impl sqlx::MySqlExecutor<'_>,
    status_id: u64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM task WHERE status_id = ?")
        .bind(status_id)
        .fetch_one(db)
        .await
}

// ---- people, watching, attachment removal ----

/// A user as the task screens name them.
#[derive(Debug, Clone, FromRow)]
pub struct PersonRow {
    pub user_id: u64,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub active: bool,
}

/// The people `v` may know by name: admins everyone; everybody else
/// themselves and the reporters, assignees, watchers and shares of the tasks
/// they can see; managers also their clients and those clients' other
/// managers (whom they may assign). Nobody outside that learns a name.
pub async fn people_visible(db: &MySqlPool, v: Viewer) -> Result<Vec<PersonRow>, sqlx::Error> {
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT u.user_id, u.username, u.display_name, u.role, u.active FROM app_user u",
    );
    if v.role != Role::Admin {
        q.push(" WHERE u.user_id = ").push_bind(v.user_id);
        q.push(" OR u.user_id IN (SELECT t.reporter_id FROM task t WHERE 1 = 1");
        push_visible(&mut q, v);
        q.push(")");
        for table in ["task_assignee", "task_watcher", "task_share"] {
            q.push(format!(
                " OR u.user_id IN (SELECT x.user_id FROM {table} x JOIN task t ON t.task_id = x.task_id WHERE 1 = 1"
            ));
            push_visible(&mut q, v);
            q.push(")");
        }
        if v.role == Role::Manager {
            q.push(" OR u.user_id IN (SELECT mc.client_id FROM manager_client mc WHERE mc.manager_id = ")
                .push_bind(v.user_id)
                .push(") OR u.user_id IN (SELECT m2.manager_id FROM manager_client m1 \
                       JOIN manager_client m2 ON m2.client_id = m1.client_id WHERE m1.manager_id = ")
                .push_bind(v.user_id)
                .push(")");
        }
    }
    q.push(" ORDER BY u.display_name, u.user_id");
    q.build_query_as().fetch_all(db).await
}

/// Removes one user from a set; `false` when they were not in it.
pub async fn remove_user(
    conn: &mut MySqlConnection,
    set: UserSet,
    task_id: u64,
    user_id: u64,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(&format!(
        "DELETE FROM {} WHERE task_id = ? AND user_id = ?",
        set.table()
    ))
    .bind(task_id)
    .bind(user_id)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// An attachment of a task `v` may see (without its content), locked for
/// the caller's transaction.
pub async fn lock_attachment_visible(
    conn: &mut MySqlConnection,
    v: Viewer,
    id: u64,
) -> Result<Option<AttachmentRow>, sqlx::Error> {
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {ATTACHMENT_COLUMNS} FROM task_attachment a JOIN task t ON t.task_id = a.task_id \
         WHERE a.attachment_id = "
    ));
    q.push_bind(id);
    push_visible(&mut q, v);
    q.push(" FOR UPDATE");
    q.build_query_as().fetch_optional(conn).await
}

pub async fn delete_attachment(conn: &mut MySqlConnection, id: u64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM task_attachment WHERE attachment_id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
