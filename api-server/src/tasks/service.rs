//! Task rules, without HTTP: who may change what, allowed transitions,
//! compare-and-set, activity and the notifications each change raises.
//! Every function takes the clock as an argument so tests control it.

use chrono::{DateTime, Utc};
use katalusis_crds::FieldError;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::{MySqlConnection, MySqlPool};

use super::db::{self, TaskRow, UserSet, Viewer};
use super::model::{self, NotificationKind, Priority, SlaDeadlines, SourceKind};
use crate::auth::Role;
use crate::live::{LiveEvent, TaskAudience};
use crate::notifications::service::{notify, Notice, Outbox};

pub const MAX_TITLE: usize = 500;
pub const MAX_DESCRIPTION: usize = 100_000;
pub const MAX_COMMENT: usize = 20_000;
pub const MAX_TAGS: usize = 20;
pub const MAX_TAG: usize = 64;
pub const MAX_USERS: usize = 50;
pub const MAX_BULK: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("validation failed")]
    Invalid(Vec<FieldError>),
    #[error("moving a task from `{from}` to `{to}` is not an allowed transition")]
    Transition { from: String, to: String },
    #[error("the task was changed by someone else (version {current}, not {expected})")]
    Stale { expected: u32, current: u32 },
    #[error("{0}")]
    Conflict(String),
    #[error("the file is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("{0}")]
    UnsupportedType(String),
    #[error("no task was changed: {} of them cannot be", .0.len())]
    Bulk(Vec<BulkFailure>),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for TaskError {
    fn from(e: sqlx::Error) -> Self {
        Self::Internal(e.into())
    }
}

fn invalid(field: &str, message: &str) -> TaskError {
    TaskError::Invalid(vec![FieldError::new(field, message)])
}

/// Why one task of a bulk change could not be changed.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkFailure {
    pub task_id: u64,
    pub code: String,
    pub message: String,
}

/// The request's context: the database, who acts, and the time.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub db: &'a MySqlPool,
    pub viewer: Viewer,
    pub now: DateTime<Utc>,
}

/// What a task change sets; `None` leaves a field alone.
#[derive(Debug, Default, Clone)]
pub struct Changes {
    pub title: Option<String>,
    pub description: Option<String>,
    pub status_id: Option<u64>,
    pub position: Option<f64>,
    pub priority: Option<Priority>,
    /// `Some(None)` clears the due date.
    pub due_at: Option<Option<DateTime<Utc>>>,
    pub assignee_ids: Option<Vec<u64>>,
    pub watcher_ids: Option<Vec<u64>>,
    pub shared_with: Option<Vec<u64>>,
    pub tags: Option<Vec<String>>,
}

impl Changes {
    /// Whether anything beyond status and position (the Kanban move a
    /// client may make) is changed.
    fn edits_more_than_a_move(&self) -> bool {
        self.title.is_some()
            || self.description.is_some()
            || self.priority.is_some()
            || self.due_at.is_some()
            || self.assignee_ids.is_some()
            || self.watcher_ids.is_some()
            || self.shared_with.is_some()
            || self.tags.is_some()
    }

    /// Checks and normalises the free-text fields, collecting every error.
    fn normalise(&mut self) -> Result<(), TaskError> {
        let mut errs = Vec::new();
        if let Some(t) = &self.title {
            match title(t) {
                Ok(t) => self.title = Some(t),
                Err(e) => errs.push(e),
            }
        }
        if let Some(d) = &self.description {
            if d.chars().count() > MAX_DESCRIPTION {
                errs.push(FieldError::new(
                    "description",
                    "must be at most 100000 characters",
                ));
            }
        }
        if let Some(p) = self.position {
            if !p.is_finite() {
                errs.push(FieldError::new("position", "must be a finite number"));
            }
        }
        if let Some(t) = &self.tags {
            match tags(t) {
                Ok(t) => self.tags = Some(t),
                Err(e) => errs.push(e),
            }
        }
        for (field, set) in [
            ("assigneeIds", &mut self.assignee_ids),
            ("watcherIds", &mut self.watcher_ids),
            ("sharedWith", &mut self.shared_with),
        ] {
            if let Some(ids) = set {
                ids.sort_unstable();
                ids.dedup();
                if ids.len() > MAX_USERS {
                    errs.push(FieldError::new(field, "at most 50 users"));
                }
            }
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(TaskError::Invalid(errs))
        }
    }
}

fn title(s: &str) -> Result<String, FieldError> {
    let t = s.trim();
    if t.is_empty() || s.chars().count() > MAX_TITLE {
        return Err(FieldError::new("title", "must be 1-500 characters"));
    }
    if t.chars().any(char::is_control) {
        return Err(FieldError::new(
            "title",
            "must not contain control characters or line breaks",
        ));
    }
    Ok(t.to_string())
}

fn tags(list: &[String]) -> Result<Vec<String>, FieldError> {
    let mut out: Vec<String> = Vec::new();
    for t in list {
        let t = t.trim();
        let n = t.chars().count();
        if n == 0 || n > MAX_TAG || t.chars().any(char::is_control) {
            return Err(FieldError::new(
                "tags",
                "each tag must be 1-64 characters without control characters",
            ));
        }
        if !out.iter().any(|o| o == t) {
            out.push(t.to_string());
        }
    }
    if out.len() > MAX_TAGS {
        return Err(FieldError::new("tags", "at most 20 tags"));
    }
    out.sort();
    Ok(out)
}

/// A new task.
#[derive(Debug, Clone)]
pub struct NewTask {
    pub client_id: u64,
    pub title: String,
    pub description: String,
    pub status_id: Option<u64>,
    pub priority: Priority,
    pub due_at: Option<DateTime<Utc>>,
    pub assignee_ids: Vec<u64>,
    pub watcher_ids: Vec<u64>,
    pub shared_with: Vec<u64>,
    pub tags: Vec<String>,
    pub source_kind: SourceKind,
    pub source_ref_id: Option<u64>,
    pub source_node: Option<String>,
}

/// The people a task event may reach (see [`TaskAudience`]).
pub async fn audience(
    conn: &mut MySqlConnection,
    t: &TaskRow,
) -> Result<TaskAudience, sqlx::Error> {
    Ok(TaskAudience {
        client_id: t.client_id,
        reporter_id: t.reporter_id,
        assignees: db::users_of(&mut *conn, UserSet::Assignees, t.task_id).await?,
        shares: db::users_of(&mut *conn, UserSet::Shares, t.task_id).await?,
    })
}

pub(crate) fn task_event(audience: TaskAudience, action: &str, t: &TaskRow, by: u64) -> LiveEvent {
    LiveEvent::Task {
        audience,
        data: json!({
            "action": action,
            "taskId": t.task_id,
            "key": t.task_key,
            "statusId": t.status_id,
            "position": t.position,
            "version": t.version,
            "by": by,
        }),
    }
}

/// Users who may be assigned to or watch a task of `client_id`: the client
/// user, the managers linked to it, and admins.
async fn check_people(
    conn: &mut MySqlConnection,
    field: &str,
    client_id: u64,
    ids: &[u64],
) -> Result<(), TaskError> {
    if ids.is_empty() {
        return Ok(());
    }
    let managers = db::managers_of(&mut *conn, client_id).await?;
    let users = db::users_by_ids(&mut *conn, ids).await?;
    people_in_scope(field, client_id, ids, &users, &managers)
}

/// The rule of [`check_people`] over users and managers loaded already.
pub(super) fn people_in_scope(
    field: &str,
    client_id: u64,
    ids: &[u64],
    users: &[db::UserRow],
    managers: &[u64],
) -> Result<(), TaskError> {
    for id in ids {
        let ok = users.iter().find(|u| u.user_id == *id).is_some_and(|u| {
            u.active && (u.user_id == client_id || u.role == "admin" || managers.contains(id))
        });
        if !ok {
            return Err(invalid(
                field,
                &format!("user {id} is not the task's client, one of its managers or an admin"),
            ));
        }
    }
    Ok(())
}

/// Users a task may be shared with: active client users the actor has in scope.
async fn check_shares(
    conn: &mut MySqlConnection,
    viewer: Viewer,
    ids: &[u64],
) -> Result<(), TaskError> {
    if ids.is_empty() {
        return Ok(());
    }
    let users = db::users_by_ids(&mut *conn, ids).await?;
    let mine = clients_managed(&mut *conn, viewer).await?;
    shares_in_scope(viewer, ids, &users, &mine)
}

/// The clients a manager manages (none for other roles).
pub(super) async fn clients_managed(
    conn: &mut MySqlConnection,
    viewer: Viewer,
) -> Result<Vec<u64>, sqlx::Error> {
    if viewer.role != Role::Manager {
        return Ok(vec![]);
    }
    sqlx::query_scalar("SELECT client_id FROM manager_client WHERE manager_id = ?")
        .bind(viewer.user_id)
        .fetch_all(&mut *conn)
        .await
}

/// The rule of [`check_shares`] over users and clients loaded already.
pub(super) fn shares_in_scope(
    viewer: Viewer,
    ids: &[u64],
    users: &[db::UserRow],
    mine: &[u64],
) -> Result<(), TaskError> {
    for id in ids {
        let ok = users.iter().find(|u| u.user_id == *id).is_some_and(|u| {
            u.active && u.role == "client" && (viewer.role == Role::Admin || mine.contains(id))
        });
        if !ok {
            return Err(invalid(
                "sharedWith",
                &format!("user {id} is not a client user you manage"),
            ));
        }
    }
    Ok(())
}

async fn sla_deadlines(
    conn: &mut MySqlConnection,
    priority: Priority,
    start: DateTime<Utc>,
) -> Result<Option<SlaDeadlines>, sqlx::Error> {
    Ok(db::sla_target(&mut *conn, priority)
        .await?
        .map(|m| SlaDeadlines::new(start, m)))
}

fn join_ids(ids: &[u64]) -> String {
    ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
}

/// Checks and normalises a new task's own fields (title, description,
/// tags, user sets, source node), collecting the field errors.
pub(super) fn normalise_new(t: &mut NewTask) -> Result<(), TaskError> {
    let mut ch = Changes {
        title: Some(std::mem::take(&mut t.title)),
        description: Some(std::mem::take(&mut t.description)),
        tags: Some(std::mem::take(&mut t.tags)),
        assignee_ids: Some(std::mem::take(&mut t.assignee_ids)),
        watcher_ids: Some(std::mem::take(&mut t.watcher_ids)),
        shared_with: Some(std::mem::take(&mut t.shared_with)),
        ..Changes::default()
    };
    ch.normalise()?;
    t.title = ch.title.unwrap_or_default();
    t.description = ch.description.unwrap_or_default();
    t.tags = ch.tags.unwrap_or_default();
    t.assignee_ids = ch.assignee_ids.unwrap_or_default();
    t.watcher_ids = ch.watcher_ids.unwrap_or_default();
    t.shared_with = ch.shared_with.unwrap_or_default();
    if let Some(n) = &t.source_node {
        if n.is_empty() || n.chars().count() > 64 {
            return Err(invalid("sourceNode", "must be 1-64 characters"));
        }
    }
    Ok(())
}

/// The client's user name if `v` may create tasks for `client_id`: an
/// active client user, and for a manager one assigned to them (404 otherwise).
pub(super) async fn client_for_create(
    conn: &mut MySqlConnection,
    v: Viewer,
    client_id: u64,
) -> Result<String, TaskError> {
    let client: Option<(String, String, bool)> =
        sqlx::query_as("SELECT username, role, active FROM app_user WHERE user_id = ?")
            .bind(client_id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((client_name, role, active)) = client.filter(|c| c.1 == "client") else {
        return Err(match v.role {
            Role::Admin => invalid("clientId", "is not a client user"),
            _ => TaskError::NotFound,
        });
    };
    debug_assert_eq!(role, "client");
    if v.role == Role::Manager {
        let linked: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM manager_client WHERE manager_id = ? AND client_id = ?",
        )
        .bind(v.user_id)
        .bind(client_id)
        .fetch_one(&mut *conn)
        .await?;
        if linked == 0 {
            return Err(TaskError::NotFound);
        }
    }
    if !active {
        return Err(invalid("clientId", "the client is deactivated"));
    }
    Ok(client_name)
}

/// Who watches a new task: the requested watchers, the assignees and its
/// creator.
pub(super) fn initial_watchers(t: &NewTask, creator: u64) -> Vec<u64> {
    let mut watchers = t.watcher_ids.clone();
    watchers.extend(&t.assignee_ids);
    watchers.push(creator);
    watchers.sort_unstable();
    watchers.dedup();
    watchers
}

/// The title of the notice an assignee of a new task gets.
pub(super) fn assigned_notice(key: &str, title: &str) -> String {
    format!("You were assigned {key}: {title}")
}

/// Creates a task; managers only for clients assigned to them (404 otherwise).
pub async fn create(ctx: Ctx<'_>, t: NewTask) -> Result<(TaskRow, Outbox), TaskError> {
    let mut tx = ctx.db.begin().await?;
    let (row, mut out, aud) = create_in(&mut tx, ctx.viewer, ctx.now, t).await?;
    tx.commit().await?;
    out.live
        .push(task_event(aud, "created", &row, ctx.viewer.user_id));
    Ok((row, out))
}

/// [`create`] inside the caller's transaction, so a batch of tasks (an
/// import) commits or rolls back together. Returns the task's audience for
/// the caller's live event instead of publishing one per task.
pub async fn create_in(
    conn: &mut MySqlConnection,
    v: Viewer,
    now: DateTime<Utc>,
    mut t: NewTask,
) -> Result<(TaskRow, Outbox, TaskAudience), TaskError> {
    if v.role == Role::Client {
        return Err(TaskError::Forbidden("clients cannot create tasks"));
    }
    normalise_new(&mut t)?;
    let client_name = client_for_create(&mut *conn, v, t.client_id).await?;
    let status = match t.status_id {
        Some(id) => db::status(&mut *conn, id)
            .await?
            .ok_or_else(|| invalid("statusId", "no such status"))?,
        None => db::statuses(&mut *conn)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| TaskError::Conflict("no task statuses are configured".into()))?,
    };
    check_people(&mut *conn, "assigneeIds", t.client_id, &t.assignee_ids).await?;
    check_people(&mut *conn, "watcherIds", t.client_id, &t.watcher_ids).await?;
    check_shares(&mut *conn, v, &t.shared_with).await?;

    let (number, key) =
        db::next_key(&mut *conn, t.client_id, &model::key_prefix(&client_name)).await?;
    let position = db::end_of_column(&mut *conn, status.status_id).await?;
    let sla = sla_deadlines(&mut *conn, t.priority, now).await?;
    let id = db::insert(
        &mut *conn,
        &db::NewTask {
            client_id: t.client_id,
            number,
            key: &key,
            title: &t.title,
            description: &t.description,
            status_id: status.status_id,
            priority: t.priority,
            reporter_id: v.user_id,
            due_at: t.due_at,
            position,
            source_kind: t.source_kind,
            source_ref_id: t.source_ref_id,
            source_node: t.source_node.as_deref(),
            sla_risk_at: sla.map(|s| s.risk_at),
            sla_due_at: sla.map(|s| s.due_at),
            completed_at: status.is_done.then_some(now),
            now,
        },
    )
    .await?;
    db::set_users(
        &mut *conn,
        UserSet::Assignees,
        id,
        &t.assignee_ids,
        v.user_id,
        now,
    )
    .await?;
    let watchers = initial_watchers(&t, v.user_id);
    db::set_users(&mut *conn, UserSet::Watchers, id, &watchers, v.user_id, now).await?;
    db::set_users(
        &mut *conn,
        UserSet::Shares,
        id,
        &t.shared_with,
        v.user_id,
        now,
    )
    .await?;
    db::set_tags(&mut *conn, id, &t.tags).await?;
    db::add_activity(
        &mut *conn,
        id,
        Some(v.user_id),
        "created",
        None,
        Some(&key),
        now,
    )
    .await?;
    let out = notify(
        &mut *conn,
        &t.assignee_ids,
        &Notice {
            kind: NotificationKind::Assigned,
            task_id: Some(id),
            actor_id: Some(v.user_id),
            title: &assigned_notice(&key, &t.title),
        },
        now,
    )
    .await?;
    let row = db::lock_visible(
        &mut *conn,
        Viewer {
            user_id: v.user_id,
            role: Role::Admin,
        },
        id,
    )
    .await?
    .ok_or(TaskError::NotFound)?;
    let aud = audience(&mut *conn, &row).await?;
    Ok((row, out, aud))
}

/// Applies `ch` to a locked, visible task inside the caller's transaction.
/// Clients may only move (status and position); a status change must follow
/// an allowed transition.
async fn apply(
    conn: &mut MySqlConnection,
    v: Viewer,
    mut row: TaskRow,
    mut ch: Changes,
    now: DateTime<Utc>,
) -> Result<(TaskRow, Outbox), TaskError> {
    if v.role == Role::Client && ch.edits_more_than_a_move() {
        return Err(TaskError::Forbidden(
            "clients may only move their tasks between statuses",
        ));
    }
    ch.normalise()?;
    let id = row.task_id;
    let actor = Some(v.user_id);
    let mut out = Outbox::default();
    let old = row.clone();

    if let Some(to_id) = ch.status_id.filter(|s| *s != row.status_id) {
        let from = db::status(&mut *conn, row.status_id)
            .await?
            .ok_or_else(|| {
                TaskError::Internal(anyhow::anyhow!("task {id} has an unknown status"))
            })?;
        let to = db::status(&mut *conn, to_id)
            .await?
            .ok_or_else(|| invalid("statusId", "no such status"))?;
        if !db::transition_allowed(&mut *conn, from.status_id, to.status_id).await? {
            return Err(TaskError::Transition {
                from: from.name,
                to: to.name,
            });
        }
        row.status_id = to.status_id;
        row.completed_at = match (from.is_done, to.is_done) {
            (false, true) => Some(now),
            (_, false) => None,
            (true, true) => row.completed_at,
        };
        if ch.position.is_none() {
            row.position = db::end_of_column(&mut *conn, to.status_id).await?;
        }
        db::add_activity(
            &mut *conn,
            id,
            actor,
            "status",
            Some(&from.name),
            Some(&to.name),
            now,
        )
        .await?;
        let watchers = db::users_of(&mut *conn, UserSet::Watchers, id).await?;
        out.extend(
            notify(
                &mut *conn,
                &watchers,
                &Notice {
                    kind: NotificationKind::StatusChanged,
                    task_id: Some(id),
                    actor_id: actor,
                    title: &format!("{} moved from {} to {}", row.task_key, from.name, to.name),
                },
                now,
            )
            .await?,
        );
    }
    if let Some(p) = ch.position {
        row.position = p;
    }
    if let Some(t) = ch.title.filter(|t| *t != row.title) {
        db::add_activity(
            &mut *conn,
            id,
            actor,
            "title",
            Some(&row.title),
            Some(&t),
            now,
        )
        .await?;
        row.title = t;
    }
    if let Some(d) = ch.description.filter(|d| *d != row.description) {
        db::add_activity(
            &mut *conn,
            id,
            actor,
            "description",
            Some(&row.description),
            Some(&d),
            now,
        )
        .await?;
        row.description = d;
    }
    let mut sla_reset = false;
    if let Some(p) = ch.priority.filter(|p| *p != row.priority) {
        db::add_activity(
            &mut *conn,
            id,
            actor,
            "priority",
            Some(p_str(row.priority)),
            Some(p_str(p)),
            now,
        )
        .await?;
        row.priority = p;
        // The SLA clock keeps its start (creation) but takes the new target.
        let sla = sla_deadlines(&mut *conn, p, row.created_at).await?;
        row.sla_risk_at = sla.map(|s| s.risk_at);
        row.sla_due_at = sla.map(|s| s.due_at);
        sla_reset = true;
    }
    if let Some(d) = ch.due_at.filter(|d| *d != row.due_at) {
        db::add_activity(
            &mut *conn,
            id,
            actor,
            "dueAt",
            row.due_at.map(|d| d.to_rfc3339()).as_deref(),
            d.map(|d| d.to_rfc3339()).as_deref(),
            now,
        )
        .await?;
        row.due_at = d;
    }
    if let Some(new) = ch.assignee_ids {
        let before = db::users_of(&mut *conn, UserSet::Assignees, id).await?;
        if new != before {
            check_people(&mut *conn, "assigneeIds", row.client_id, &new).await?;
            db::set_users(&mut *conn, UserSet::Assignees, id, &new, v.user_id, now).await?;
            db::add_users(&mut *conn, UserSet::Watchers, id, &new, v.user_id, now).await?;
            db::add_activity(
                &mut *conn,
                id,
                actor,
                "assignees",
                Some(&join_ids(&before)),
                Some(&join_ids(&new)),
                now,
            )
            .await?;
            let added: Vec<u64> = new
                .iter()
                .copied()
                .filter(|u| !before.contains(u))
                .collect();
            out.extend(
                notify(
                    &mut *conn,
                    &added,
                    &Notice {
                        kind: NotificationKind::Assigned,
                        task_id: Some(id),
                        actor_id: actor,
                        title: &format!("You were assigned {}: {}", row.task_key, row.title),
                    },
                    now,
                )
                .await?,
            );
        }
    }
    if let Some(new) = ch.watcher_ids {
        let before = db::users_of(&mut *conn, UserSet::Watchers, id).await?;
        if new != before {
            check_people(&mut *conn, "watcherIds", row.client_id, &new).await?;
            db::set_users(&mut *conn, UserSet::Watchers, id, &new, v.user_id, now).await?;
            db::add_activity(
                &mut *conn,
                id,
                actor,
                "watchers",
                Some(&join_ids(&before)),
                Some(&join_ids(&new)),
                now,
            )
            .await?;
        }
    }
    if let Some(new) = ch.shared_with {
        let before = db::users_of(&mut *conn, UserSet::Shares, id).await?;
        if new != before {
            check_shares(&mut *conn, v, &new).await?;
            db::set_users(&mut *conn, UserSet::Shares, id, &new, v.user_id, now).await?;
            db::add_activity(
                &mut *conn,
                id,
                actor,
                "sharedWith",
                Some(&join_ids(&before)),
                Some(&join_ids(&new)),
                now,
            )
            .await?;
        }
    }
    if let Some(new) = ch.tags {
        let before = db::tags_of(&mut *conn, id).await?;
        if new != before {
            db::set_tags(&mut *conn, id, &new).await?;
            db::add_activity(
                &mut *conn,
                id,
                actor,
                "tags",
                Some(&before.join(",")),
                Some(&new.join(",")),
                now,
            )
            .await?;
        }
    }
    row.updated_at = now;
    if !db::update_if_version(&mut *conn, &row, &old).await? {
        return Err(TaskError::Stale {
            expected: old.version,
            current: old.version + 1,
        });
    }
    if sla_reset {
        db::reset_sla_notifications(&mut *conn, id).await?;
    }
    row.version = old.version + 1;
    Ok((row, out))
}

fn p_str(p: Priority) -> &'static str {
    p.as_str()
}

/// Changes one task if `version` is still current (compare-and-set).
pub async fn update(
    ctx: Ctx<'_>,
    id: u64,
    version: u32,
    ch: Changes,
    action: &str,
) -> Result<(TaskRow, Outbox), TaskError> {
    let mut tx = ctx.db.begin().await?;
    let row = db::lock_visible(&mut tx, ctx.viewer, id)
        .await?
        .ok_or(TaskError::NotFound)?;
    if row.version != version {
        return Err(TaskError::Stale {
            expected: version,
            current: row.version,
        });
    }
    let (row, mut out) = apply(&mut tx, ctx.viewer, row, ch, ctx.now).await?;
    let aud = audience(&mut tx, &row).await?;
    tx.commit().await?;
    out.live
        .push(task_event(aud, action, &row, ctx.viewer.user_id));
    Ok((row, out))
}

/// Changes one visible task inside the caller's transaction without a
/// version check (an import re-applying its rows overwrites what it set).
pub async fn update_in(
    conn: &mut MySqlConnection,
    v: Viewer,
    id: u64,
    ch: Changes,
    now: DateTime<Utc>,
) -> Result<(TaskRow, Outbox), TaskError> {
    let row = db::lock_visible(&mut *conn, v, id)
        .await?
        .ok_or(TaskError::NotFound)?;
    apply(conn, v, row, ch, now).await
}

/// Deletes the tasks a source (an import batch) created, inside the
/// caller's transaction; returns how many.
pub async fn delete_by_source(
    conn: &mut MySqlConnection,
    kind: SourceKind,
    ref_id: u64,
) -> Result<u64, TaskError> {
    let ids: Vec<u64> = sqlx::query_scalar(
        "SELECT task_id FROM task WHERE source_kind = ? AND source_ref_id = ? FOR UPDATE",
    )
    .bind(kind)
    .bind(ref_id)
    .fetch_all(&mut *conn)
    .await?;
    for id in &ids {
        db::delete(&mut *conn, *id).await?;
    }
    Ok(ids.len() as u64)
}

/// Changes every task or none: the per-task failures are reported together.
pub async fn bulk(
    ctx: Ctx<'_>,
    ids: &[u64],
    ch: Changes,
) -> Result<(Vec<TaskRow>, Outbox), TaskError> {
    if ctx.viewer.role == Role::Client {
        return Err(TaskError::Forbidden("clients cannot bulk-edit tasks"));
    }
    if ids.is_empty() || ids.len() > MAX_BULK {
        return Err(invalid("taskIds", "must list 1-500 tasks"));
    }
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut tx = ctx.db.begin().await?;
    let mut failures = Vec::new();
    let mut done = Vec::new();
    let mut out = Outbox::default();
    for id in ids {
        let row = match db::lock_visible(&mut tx, ctx.viewer, id).await? {
            Some(r) => r,
            None => {
                failures.push(BulkFailure {
                    task_id: id,
                    code: "not_found".into(),
                    message: "not found".into(),
                });
                continue;
            }
        };
        match apply(&mut tx, ctx.viewer, row, ch.clone(), ctx.now).await {
            Ok((row, o)) => {
                out.extend(o);
                let aud = audience(&mut tx, &row).await?;
                out.live
                    .push(task_event(aud, "updated", &row, ctx.viewer.user_id));
                done.push(row);
            }
            Err(TaskError::Internal(e)) => return Err(TaskError::Internal(e)),
            Err(e) => failures.push(BulkFailure {
                task_id: id,
                code: failure_code(&e).into(),
                message: match &e {
                    TaskError::Invalid(errs) => errs
                        .iter()
                        .map(|f| format!("{}: {}", f.field, f.message))
                        .collect::<Vec<_>>()
                        .join("; "),
                    other => other.to_string(),
                },
            }),
        }
    }
    if !failures.is_empty() {
        // Dropping the transaction rolls every change back.
        return Err(TaskError::Bulk(failures));
    }
    tx.commit().await?;
    Ok((done, out))
}

fn failure_code(e: &TaskError) -> &'static str {
    match e {
        TaskError::NotFound => "not_found",
        TaskError::Forbidden(_) => "forbidden",
        TaskError::Invalid(_) => "validation_failed",
        TaskError::Transition { .. } => "transition_not_allowed",
        TaskError::Stale { .. } => "conflict",
        TaskError::Conflict(_) => "conflict",
        _ => "invalid",
    }
}

pub async fn delete(ctx: Ctx<'_>, id: u64) -> Result<Outbox, TaskError> {
    if ctx.viewer.role == Role::Client {
        return Err(TaskError::Forbidden("clients cannot delete tasks"));
    }
    let mut tx = ctx.db.begin().await?;
    let row = db::lock_visible(&mut tx, ctx.viewer, id)
        .await?
        .ok_or(TaskError::NotFound)?;
    let aud = audience(&mut tx, &row).await?;
    db::delete(&mut tx, id).await?;
    tx.commit().await?;
    let mut out = Outbox::default();
    out.live
        .push(task_event(aud, "deleted", &row, ctx.viewer.user_id));
    Ok(out)
}

// ---- comments ----

fn comment_body(body: &str) -> Result<&str, TaskError> {
    let n = body.chars().count();
    if body.trim().is_empty() || n > MAX_COMMENT {
        return Err(invalid("body", "must be 1-20000 characters"));
    }
    Ok(body)
}

/// Notifies the users mentioned in `body` who may see the task; a mention
/// of someone outside the task's audience reveals nothing to them.
async fn notify_mentions(
    conn: &mut MySqlConnection,
    task: &TaskRow,
    body: &str,
    actor: u64,
    now: DateTime<Utc>,
) -> Result<Outbox, TaskError> {
    let names = model::mentions(body);
    let users = db::users_by_names(&mut *conn, &names).await?;
    let mut recipients = Vec::new();
    for u in users {
        let Some(role) = Role::parse(&u.role) else {
            continue;
        };
        let viewer = Viewer {
            user_id: u.user_id,
            role,
        };
        if db::is_visible(&mut *conn, viewer, task.task_id).await? {
            recipients.push(u.user_id);
        }
    }
    Ok(notify(
        conn,
        &recipients,
        &Notice {
            kind: NotificationKind::Mentioned,
            task_id: Some(task.task_id),
            actor_id: Some(actor),
            title: &format!("You were mentioned on {}: {}", task.task_key, task.title),
        },
        now,
    )
    .await?)
}

pub async fn add_comment(
    ctx: Ctx<'_>,
    task_id: u64,
    body: &str,
) -> Result<(db::CommentRow, Outbox), TaskError> {
    let body = comment_body(body)?;
    let v = ctx.viewer;
    let mut tx = ctx.db.begin().await?;
    let task = db::lock_visible(&mut tx, v, task_id)
        .await?
        .ok_or(TaskError::NotFound)?;
    let id = db::insert_comment(&mut tx, task_id, v.user_id, body, ctx.now).await?;
    db::add_users(
        &mut tx,
        UserSet::Watchers,
        task_id,
        &[v.user_id],
        v.user_id,
        ctx.now,
    )
    .await?;
    db::add_activity(
        &mut tx,
        task_id,
        Some(v.user_id),
        "comment",
        None,
        Some(&id.to_string()),
        ctx.now,
    )
    .await?;
    let mut out = notify_mentions(&mut tx, &task, body, v.user_id, ctx.now).await?;
    let aud = audience(&mut tx, &task).await?;
    tx.commit().await?;
    out.live
        .push(task_event(aud, "commented", &task, v.user_id));
    Ok((
        db::CommentRow {
            comment_id: id,
            task_id,
            author_id: v.user_id,
            body: body.to_string(),
            created_at: ctx.now,
            updated_at: ctx.now,
        },
        out,
    ))
}

/// Edits the caller's own comment, keeping the previous text in its history;
/// newly mentioned users are notified.
pub async fn edit_comment(
    ctx: Ctx<'_>,
    comment_id: u64,
    body: &str,
) -> Result<(db::CommentRow, Outbox), TaskError> {
    let body = comment_body(body)?;
    let v = ctx.viewer;
    let mut tx = ctx.db.begin().await?;
    let c = db::lock_comment_visible(&mut tx, v, comment_id)
        .await?
        .ok_or(TaskError::NotFound)?;
    if c.author_id != v.user_id {
        return Err(TaskError::Forbidden("only the author may edit a comment"));
    }
    let task = db::lock_visible(&mut tx, v, c.task_id)
        .await?
        .ok_or(TaskError::NotFound)?;
    db::edit_comment(&mut tx, &c, body, ctx.now).await?;
    let before = model::mentions(&c.body);
    let added: String = model::mentions(body)
        .into_iter()
        .filter(|m| !before.contains(m))
        .map(|m| format!("@{m} "))
        .collect();
    let out = notify_mentions(&mut tx, &task, &added, v.user_id, ctx.now).await?;
    tx.commit().await?;
    Ok((
        db::CommentRow {
            body: body.to_string(),
            updated_at: ctx.now,
            ..c
        },
        out,
    ))
}

/// Deletes the caller's own comment (admins may delete any).
pub async fn delete_comment(ctx: Ctx<'_>, comment_id: u64) -> Result<(), TaskError> {
    let v = ctx.viewer;
    let mut tx = ctx.db.begin().await?;
    let c = db::lock_comment_visible(&mut tx, v, comment_id)
        .await?
        .ok_or(TaskError::NotFound)?;
    if c.author_id != v.user_id && v.role != Role::Admin {
        return Err(TaskError::Forbidden("only the author may delete a comment"));
    }
    db::delete_comment(&mut tx, comment_id).await?;
    db::add_activity(
        &mut tx,
        c.task_id,
        Some(v.user_id),
        "comment_deleted",
        Some(&comment_id.to_string()),
        None,
        ctx.now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

// ---- attachments ----

/// Content types an attachment may have, judged from its bytes.
pub const ALLOWED_TYPES: &[&str] = &[
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/bmp",
    "image/tiff",
    "application/zip",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/rtf",
    "text/plain",
    "text/csv",
];

/// The content type of `bytes` by their content: magic numbers first, then
/// "is it text". The name only chooses between text flavours (CSV or plain)
/// once the bytes are known to be text; it never makes binary acceptable.
pub fn sniff(bytes: &[u8], name: &str) -> Result<&'static str, TaskError> {
    if bytes.is_empty() {
        return Err(invalid("file", "is empty"));
    }
    if let Some(kind) = infer::get(bytes) {
        let mime = kind.mime_type();
        return ALLOWED_TYPES
            .iter()
            .find(|t| **t == mime)
            .copied()
            .ok_or_else(|| {
                TaskError::UnsupportedType(format!(
                    "files of type {mime} are not accepted as attachments"
                ))
            });
    }
    let is_text = std::str::from_utf8(bytes).is_ok_and(|s| {
        !s.chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\u{c}'))
    });
    if !is_text {
        return Err(TaskError::UnsupportedType(
            "the file's content is not of an accepted type (documents, images, CSV/XLSX, PDF, text, zip)"
                .into(),
        ));
    }
    let lower = name.to_ascii_lowercase();
    Ok(if lower.ends_with(".csv") {
        "text/csv"
    } else {
        "text/plain"
    })
}

/// A file name safe to store and to put into `Content-Disposition`.
pub fn clean_name(name: &str) -> Result<String, TaskError> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && *c != '"')
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_string();
    if cleaned.is_empty() || cleaned.chars().count() > 255 {
        return Err(invalid("name", "must be a file name of 1-255 characters"));
    }
    Ok(cleaned)
}

pub async fn attach(
    ctx: Ctx<'_>,
    task_id: u64,
    comment_id: Option<u64>,
    name: &str,
    bytes: &[u8],
) -> Result<(db::AttachmentRow, Outbox), TaskError> {
    let v = ctx.viewer;
    let name = clean_name(name)?;
    let content_type = sniff(bytes, &name)?;
    let sha = hex::encode(Sha256::digest(bytes));
    let mut tx = ctx.db.begin().await?;
    let task = db::lock_visible(&mut tx, v, task_id)
        .await?
        .ok_or(TaskError::NotFound)?;
    if let Some(c) = comment_id {
        if !db::comment_of_task(&mut *tx, c, task_id).await? {
            return Err(invalid("commentId", "is not a comment of this task"));
        }
    }
    let id = db::insert_attachment(
        &mut tx,
        &db::NewAttachment {
            task_id,
            comment_id,
            name: &name,
            content_type,
            sha256: &sha,
            content: bytes,
            uploaded_by: v.user_id,
            now: ctx.now,
        },
    )
    .await?;
    db::add_activity(
        &mut tx,
        task_id,
        Some(v.user_id),
        "attachment",
        None,
        Some(&name),
        ctx.now,
    )
    .await?;
    let aud = audience(&mut tx, &task).await?;
    tx.commit().await?;
    let mut out = Outbox::default();
    out.live.push(task_event(aud, "attached", &task, v.user_id));
    Ok((
        db::AttachmentRow {
            attachment_id: id,
            task_id,
            comment_id,
            name,
            content_type: content_type.into(),
            size: bytes.len() as u64,
            sha256: sha,
            uploaded_by: v.user_id,
            created_at: ctx.now,
        },
        out,
    ))
}

// ---- SLA sweep ----

/// Raises each due SLA notification once. A replica claims a task with an
/// `UPDATE … WHERE notified IS NULL` in the transaction that writes the
/// notifications, so two replicas sweeping together never both raise one.
/// A task found already breached is not also reported at risk.
pub async fn sweep_sla(db: &MySqlPool, now: DateTime<Utc>) -> Result<(u32, Outbox), TaskError> {
    let mut raised = 0;
    let mut out = Outbox::default();
    for kind in [NotificationKind::SlaBreached, NotificationKind::SlaAtRisk] {
        let (deadline, flag, claim) = match kind {
            NotificationKind::SlaBreached => (
                "sla_due_at",
                "sla_breach_notified_at",
                "UPDATE task SET sla_breach_notified_at = ?, sla_risk_notified_at = COALESCE(sla_risk_notified_at, ?) \
                 WHERE task_id = ? AND sla_breach_notified_at IS NULL AND completed_at IS NULL",
            ),
            _ => (
                "sla_risk_at",
                "sla_risk_notified_at",
                // The second value only keeps both claims bound alike.
                "UPDATE task SET sla_risk_notified_at = COALESCE(?, ?) \
                 WHERE task_id = ? AND sla_risk_notified_at IS NULL AND completed_at IS NULL",
            ),
        };
        let due: Vec<u64> = sqlx::query_scalar(&format!(
            "SELECT task_id FROM task WHERE completed_at IS NULL AND {deadline} <= ? AND {flag} IS NULL \
             ORDER BY {deadline} LIMIT 500"
        ))
        .bind(now)
        .fetch_all(db)
        .await?;
        for id in due {
            let mut tx = db.begin().await?;
            let claimed = sqlx::query(claim)
                .bind(now)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if !claimed {
                continue;
            }
            let Some(task) = db::lock_visible(
                &mut tx,
                Viewer {
                    user_id: 0,
                    role: Role::Admin,
                },
                id,
            )
            .await?
            else {
                continue;
            };
            let mut people = db::users_of(&mut *tx, UserSet::Assignees, id).await?;
            people.extend(db::users_of(&mut *tx, UserSet::Watchers, id).await?);
            people.push(task.reporter_id);
            let title = match kind {
                NotificationKind::SlaBreached => {
                    format!("SLA breached on {}: {}", task.task_key, task.title)
                }
                _ => format!("SLA at risk on {}: {}", task.task_key, task.title),
            };
            let o = notify(
                &mut tx,
                &people,
                &Notice {
                    kind,
                    task_id: Some(id),
                    actor_id: None,
                    title: &title,
                },
                now,
            )
            .await?;
            tx.commit().await?;
            out.extend(o);
            raised += 1;
        }
    }
    Ok((raised, out))
}

/// Sweeps for SLA notifications every `every` until the process ends.
pub fn spawn_sla_sweeper(state: crate::state::AppState, every: std::time::Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match sweep_sla(&state.db, Utc::now()).await {
                Ok((_, out)) => out.deliver(&state.live, state.mailer.as_ref()),
                Err(e) => tracing::warn!(error = %e, "SLA sweep failed"),
            }
        }
    });
}

// ---- watching ----

/// Starts or stops the caller watching a task they can see. Idempotent, and
/// not a compare-and-set edit: following a task never conflicts with
/// someone changing it. A change is kept in the activity history.
pub async fn set_watching(ctx: Ctx<'_>, task_id: u64, watch: bool) -> Result<TaskRow, TaskError> {
    let v = ctx.viewer;
    let mut tx = ctx.db.begin().await?;
    let task = db::lock_visible(&mut tx, v, task_id)
        .await?
        .ok_or(TaskError::NotFound)?;
    let before = db::users_of(&mut *tx, UserSet::Watchers, task_id).await?;
    let changed = if watch {
        if before.contains(&v.user_id) {
            false
        } else {
            db::add_users(
                &mut tx,
                UserSet::Watchers,
                task_id,
                &[v.user_id],
                v.user_id,
                ctx.now,
            )
            .await?;
            true
        }
    } else {
        db::remove_user(&mut tx, UserSet::Watchers, task_id, v.user_id).await?
    };
    if changed {
        let after = db::users_of(&mut *tx, UserSet::Watchers, task_id).await?;
        db::add_activity(
            &mut tx,
            task_id,
            Some(v.user_id),
            "watchers",
            Some(&join_ids(&before)),
            Some(&join_ids(&after)),
            ctx.now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(task)
}

// ---- attachment removal ----

/// Deletes an attachment: its uploader, an admin, or a manager who sees the
/// task may; anyone else who sees it gets 403, everyone else 404.
pub async fn delete_attachment(
    ctx: Ctx<'_>,
    attachment_id: u64,
) -> Result<(db::AttachmentRow, Outbox), TaskError> {
    let v = ctx.viewer;
    let mut tx = ctx.db.begin().await?;
    let a = db::lock_attachment_visible(&mut tx, v, attachment_id)
        .await?
        .ok_or(TaskError::NotFound)?;
    if a.uploaded_by != v.user_id && v.role == Role::Client {
        return Err(TaskError::Forbidden(
            "only the uploader or a manager may delete an attachment",
        ));
    }
    let task = db::lock_visible(&mut tx, v, a.task_id)
        .await?
        .ok_or(TaskError::NotFound)?;
    db::delete_attachment(&mut tx, attachment_id).await?;
    db::add_activity(
        &mut tx,
        a.task_id,
        Some(v.user_id),
        "attachment_deleted",
        Some(&a.name),
        None,
        ctx.now,
    )
    .await?;
    let aud = audience(&mut tx, &task).await?;
    tx.commit().await?;
    let mut out = Outbox::default();
    out.live
        .push(task_event(aud, "attachment_deleted", &task, v.user_id));
    Ok((a, out))
}
