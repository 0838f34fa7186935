//! Task handlers and their DTOs. Handlers parse, call the service, deliver
//! its outbox and shape the answer; the rules live in `service`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::json;
use tokio::sync::{broadcast, mpsc};
use utoipa::{IntoParams, ToSchema};

use super::db::{self, TaskRow, UserSet, Viewer};
use super::model::{self, Priority, SlaDeadlines, SlaState, SourceKind, TaskSort};
use super::service::{self, Changes, Ctx, NewTask, TaskError};
use crate::audit::Audit;
use crate::auth::{Admin, ClientScope, CurrentUser, RequireRole, Staff};
use crate::db::paging::KeyValue;
use crate::error::ApiError;
use crate::http::extract::{encode_cursor, list_window, CountMode, Json, Path, Query};
use crate::live::LiveEvent;
use crate::notifications::service::Outbox;
use crate::state::AppState;

impl From<TaskError> for ApiError {
    fn from(e: TaskError) -> Self {
        match e {
            TaskError::NotFound => ApiError::NotFound,
            TaskError::Forbidden(_) => ApiError::Forbidden,
            TaskError::Invalid(errs) => ApiError::Validation(errs),
            TaskError::Transition { ref from, ref to } => ApiError::Rule {
                code: "transition_not_allowed",
                details: json!({"from": from, "to": to}),
                message: e.to_string(),
            },
            TaskError::Stale { current, .. } => ApiError::Conflict {
                message: e.to_string(),
                details: json!({"currentVersion": current}),
            },
            TaskError::Conflict(m) => ApiError::conflict(m),
            TaskError::TooLarge { .. } => ApiError::PayloadTooLarge,
            TaskError::UnsupportedType(m) => ApiError::UnsupportedMediaType(m),
            TaskError::Bulk(ref failures) => ApiError::Rule {
                code: "bulk_refused",
                details: json!({"failures": failures}),
                message: e.to_string(),
            },
            TaskError::Internal(e) => ApiError::Internal(e),
        }
    }
}

fn viewer(u: &CurrentUser) -> Viewer {
    Viewer {
        user_id: u.id,
        role: u.role,
    }
}

fn ctx<'a>(state: &'a AppState, u: &CurrentUser) -> Ctx<'a> {
    Ctx {
        db: &state.db,
        viewer: viewer(u),
        now: Utc::now(),
    }
}

fn deliver(state: &AppState, out: Outbox) {
    out.deliver(&state.live, state.mailer.as_ref());
}

/// Distinguishes an absent field (leave alone) from `null` (clear).
fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    pub kind: SourceKind,
    /// Import batch, workflow run or approval id, by `kind`.
    pub ref_id: Option<u64>,
    /// The workflow node, for `workflow` tasks.
    pub node: Option<String>,
}

/// A task as the board, the list and the drawer show it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    pub id: u64,
    /// Human-readable, unique, per client: `ACME-42`.
    pub key: String,
    pub client_id: u64,
    pub title: String,
    /// Markdown source; render it sanitised, never as raw HTML.
    pub description: String,
    pub status_id: u64,
    pub priority: Priority,
    pub reporter_id: u64,
    pub assignee_ids: Vec<u64>,
    pub tags: Vec<String>,
    pub due_at: Option<DateTime<Utc>>,
    /// Order within the Kanban column.
    pub position: f64,
    pub source: Source,
    /// `null` when the priority has no SLA target.
    pub sla_state: Option<SlaState>,
    pub sla_risk_at: Option<DateTime<Utc>>,
    pub sla_due_at: Option<DateTime<Utc>>,
    /// Send back with changes; a stale one answers 409.
    pub version: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    /// Only on single-task answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watcher_ids: Option<Vec<u64>>,
    /// Only on single-task answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared_with: Option<Vec<u64>>,
}

fn view(r: TaskRow, assignee_ids: Vec<u64>, tags: Vec<String>, now: DateTime<Utc>) -> Task {
    let deadlines = r
        .sla_risk_at
        .zip(r.sla_due_at)
        .map(|(risk_at, due_at)| SlaDeadlines { risk_at, due_at });
    Task {
        id: r.task_id,
        key: r.task_key,
        client_id: r.client_id,
        title: r.title,
        description: r.description,
        status_id: r.status_id,
        priority: r.priority,
        reporter_id: r.reporter_id,
        assignee_ids,
        tags,
        due_at: r.due_at,
        position: r.position,
        source: Source {
            kind: r.source_kind,
            ref_id: r.source_ref_id,
            node: r.source_node,
        },
        sla_state: model::sla_state(deadlines, r.completed_at, now),
        sla_risk_at: r.sla_risk_at,
        sla_due_at: r.sla_due_at,
        version: r.version,
        created_at: r.created_at,
        updated_at: r.updated_at,
        completed_at: r.completed_at,
        watcher_ids: None,
        shared_with: None,
    }
}

async fn full_view(state: &AppState, r: TaskRow) -> Result<Task, ApiError> {
    let id = r.task_id;
    let assignees = db::users_of(&state.db, UserSet::Assignees, id).await?;
    let tags = db::tags_of(&state.db, id).await?;
    let mut t = view(r, assignees, tags, Utc::now());
    t.watcher_ids = Some(db::users_of(&state.db, UserSet::Watchers, id).await?);
    t.shared_with = Some(db::users_of(&state.db, UserSet::Shares, id).await?);
    Ok(t)
}

async fn views(state: &AppState, rows: Vec<TaskRow>) -> Result<Vec<Task>, ApiError> {
    let ids: Vec<u64> = rows.iter().map(|r| r.task_id).collect();
    let mut assignees: HashMap<u64, Vec<u64>> = HashMap::new();
    for (t, u) in db::assignees_of_many(&state.db, &ids).await? {
        assignees.entry(t).or_default().push(u);
    }
    let mut tags: HashMap<u64, Vec<String>> = HashMap::new();
    for (t, tag) in db::tags_of_many(&state.db, &ids).await? {
        tags.entry(t).or_default().push(tag);
    }
    let now = Utc::now();
    Ok(rows
        .into_iter()
        .map(|r| {
            let id = r.task_id;
            view(
                r,
                assignees.remove(&id).unwrap_or_default(),
                tags.remove(&id).unwrap_or_default(),
                now,
            )
        })
        .collect())
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListTasks {
    /// Status ids, comma-separated.
    pub status: Option<String>,
    /// Priorities, comma-separated (`high,critical`).
    pub priority: Option<String>,
    pub assignee_id: Option<u64>,
    /// Only tasks assigned to the caller.
    #[serde(default)]
    pub mine: bool,
    pub reporter_id: Option<u64>,
    pub tag: Option<String>,
    pub client_id: Option<u64>,
    /// Due at or after.
    pub due_from: Option<DateTime<Utc>>,
    /// Due before.
    pub due_to: Option<DateTime<Utc>>,
    pub sla: Option<SlaState>,
    /// Matches the title (substring) or the exact key.
    pub q: Option<String>,
    pub source: Option<SourceKind>,
    pub source_ref_id: Option<u64>,
    #[param(inline)]
    pub sort: Option<TaskSort>,
    /// Page number (OFFSET paging, answers with `total` unless `count=none`); prefer `after`.
    pub page: Option<u32>,
    pub per_page: Option<u32>,
    /// The `nextCursor` of the previous page (of the same sort).
    pub after: Option<String>,
    /// `exact` to get `total` without page numbers; `none` for no `total`
    /// with page numbers.
    #[param(inline)]
    pub count: Option<CountMode>,
    /// Also count the matching tasks per status (Kanban column counts).
    #[serde(default)]
    pub with_counts: bool,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusCount {
    pub status_id: u64,
    pub count: u64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskPage {
    pub items: Vec<Task>,
    /// How many tasks match: present with `page` (unless `count=none`) or `count=exact`.
    pub total: Option<u64>,
    pub page: u32,
    pub per_page: u32,
    /// Pass as `after` (with the same sort) to read the next page.
    pub next_cursor: Option<String>,
    pub has_more: bool,
    /// With `withCounts=true`: matching tasks per status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_counts: Option<Vec<StatusCount>>,
}

fn parse_list<T: std::str::FromStr>(field: &str, s: &str) -> Result<Vec<T>, ApiError> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse()
                .map_err(|_| ApiError::field(field, &format!("`{p}` is not a valid value")))
        })
        .collect()
}

/// Tasks the caller may see, filtered, sorted and paged. `sort=board` gives
/// Kanban order (status position, then position in the column).
#[utoipa::path(get, path = "/api/tasks", tag = "tasks", security(("bearer" = [])),
    params(ListTasks), responses((status = 200, body = TaskPage), (status = 422)))]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<ListTasks>,
) -> Result<axum::Json<TaskPage>, ApiError> {
    let sort = q.sort.unwrap_or_default();
    // The sort is part of the cursor's list name: a cursor continues only the
    // order it came from.
    let cursor_list = format!("tasks:{sort:?}");
    let w = list_window::<Vec<KeyValue>>(
        &cursor_list,
        q.page,
        q.per_page,
        q.after.as_deref(),
        q.count,
    )?;
    if w.start.after().is_some_and(|k| !db::key_fits(sort, k)) {
        return Err(ApiError::field("after", "is not a cursor of this list"));
    }
    let f = db::Filter {
        status_ids: q
            .status
            .as_deref()
            .map(|s| parse_list("status", s))
            .transpose()?
            .unwrap_or_default(),
        priorities: q
            .priority
            .as_deref()
            .map(|s| parse_list("priority", s))
            .transpose()?
            .unwrap_or_default(),
        assignee_id: if q.mine { Some(user.id) } else { q.assignee_id },
        tag: q.tag.filter(|t| !t.trim().is_empty()),
        client_id: q.client_id,
        due_from: q.due_from,
        due_to: q.due_to,
        sla: q.sla,
        q: q.q.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()),
        source_kind: q.source,
        source_ref_id: q.source_ref_id,
        reporter_id: q.reporter_id,
    };
    if f.q.as_ref().is_some_and(|s| s.chars().count() > 200) {
        return Err(ApiError::field("q", "must be at most 200 characters"));
    }
    let now = Utc::now();
    let v = viewer(&user);
    let (rows, next) = db::list(&state.db, v, &f, sort, &w.start, w.per_page, w.count, now).await?;
    let status_counts = if q.with_counts {
        Some(
            db::count_by_status(&state.db, v, &f, now)
                .await?
                .into_iter()
                .map(|(status_id, n)| StatusCount {
                    status_id,
                    count: u64::try_from(n).unwrap_or(0),
                })
                .collect(),
        )
    } else {
        None
    };
    Ok(axum::Json(TaskPage {
        items: views(&state, rows.items).await?,
        total: rows.total,
        page: w.page,
        per_page: w.per_page,
        next_cursor: next.map(|k| encode_cursor(&cursor_list, &k)),
        has_more: rows.has_more,
        status_counts,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateTask {
    pub client_id: u64,
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub title: String,
    /// Markdown.
    #[serde(default)]
    #[schema(max_length = 100000)]
    pub description: String,
    /// Defaults to the first status.
    pub status_id: Option<u64>,
    #[serde(default = "default_priority")]
    pub priority: Priority,
    pub due_at: Option<DateTime<Utc>>,
    #[serde(default)]
    #[schema(max_items = 50)]
    pub assignee_ids: Vec<u64>,
    #[serde(default)]
    #[schema(max_items = 50)]
    pub watcher_ids: Vec<u64>,
    /// Client users who may see the task besides its assignees.
    #[serde(default)]
    #[schema(max_items = 50)]
    pub shared_with: Vec<u64>,
    #[serde(default)]
    #[schema(max_items = 20)]
    pub tags: Vec<String>,
    /// Defaults to `manual`.
    pub source_kind: Option<SourceKind>,
    pub source_ref_id: Option<u64>,
    #[schema(min_length = 1, max_length = 64)]
    pub source_node: Option<String>,
}

fn default_priority() -> Priority {
    Priority::Medium
}

/// Creates a task (admins; managers for their clients).
#[utoipa::path(post, path = "/api/tasks", tag = "tasks", security(("bearer" = [])),
    request_body = CreateTask,
    responses((status = 201, body = Task), (status = 403), (status = 404), (status = 422)))]
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(b): Json<CreateTask>,
) -> Result<(StatusCode, axum::Json<Task>), ApiError> {
    let (row, out) = service::create(
        ctx(&state, &user),
        NewTask {
            client_id: b.client_id,
            title: b.title,
            description: b.description,
            status_id: b.status_id,
            priority: b.priority,
            due_at: b.due_at,
            assignee_ids: b.assignee_ids,
            watcher_ids: b.watcher_ids,
            shared_with: b.shared_with,
            tags: b.tags,
            source_kind: b.source_kind.unwrap_or(SourceKind::Manual),
            source_ref_id: b.source_ref_id,
            source_node: b.source_node,
        },
    )
    .await?;
    deliver(&state, out);
    Ok((
        StatusCode::CREATED,
        axum::Json(full_view(&state, row).await?),
    ))
}

/// One task, with watchers and shares.
#[utoipa::path(get, path = "/api/tasks/{id}", tag = "tasks", security(("bearer" = [])),
    params(("id" = u64, Path)), responses((status = 200, body = Task), (status = 404)))]
pub async fn get(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<u64>,
) -> Result<axum::Json<Task>, ApiError> {
    let row = db::get_visible(&state.db, viewer(&user), id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(axum::Json(full_view(&state, row).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PatchTask {
    /// The version this edit is based on; a stale one answers 409.
    pub version: u32,
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub title: Option<String>,
    #[schema(max_length = 100000)]
    pub description: Option<String>,
    /// Must be an allowed transition from the current status (422 otherwise).
    pub status_id: Option<u64>,
    pub priority: Option<Priority>,
    /// `null` clears the due date.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub due_at: Option<Option<DateTime<Utc>>>,
    #[schema(max_items = 50)]
    pub assignee_ids: Option<Vec<u64>>,
    #[schema(max_items = 50)]
    pub watcher_ids: Option<Vec<u64>>,
    #[schema(max_items = 50)]
    pub shared_with: Option<Vec<u64>>,
    #[schema(max_items = 20)]
    pub tags: Option<Vec<String>>,
}

/// Changes a task (compare-and-set on `version`). Clients may change only
/// the status.
#[utoipa::path(patch, path = "/api/tasks/{id}", tag = "tasks", security(("bearer" = [])),
    params(("id" = u64, Path)), request_body = PatchTask,
    responses((status = 200, body = Task), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<u64>,
    Json(b): Json<PatchTask>,
) -> Result<axum::Json<Task>, ApiError> {
    let ch = Changes {
        title: b.title,
        description: b.description,
        status_id: b.status_id,
        position: None,
        priority: b.priority,
        due_at: b.due_at,
        assignee_ids: b.assignee_ids,
        watcher_ids: b.watcher_ids,
        shared_with: b.shared_with,
        tags: b.tags,
    };
    let (row, out) = service::update(ctx(&state, &user), id, b.version, ch, "updated").await?;
    deliver(&state, out);
    Ok(axum::Json(full_view(&state, row).await?))
}

/// Deletes a task with its comments, attachments and activity.
#[utoipa::path(delete, path = "/api/tasks/{id}", tag = "tasks", security(("bearer" = [])),
    params(("id" = u64, Path)), responses((status = 204), (status = 403), (status = 404)))]
pub async fn delete(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    Path(id): Path<u64>,
) -> Result<StatusCode, ApiError> {
    let out = service::delete(ctx(&state, &user), id).await?;
    deliver(&state, out);
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MoveTask {
    /// The card's version as the board last saw it; a stale one answers 409.
    pub version: u32,
    /// The target column; must be an allowed transition when it changes.
    pub status_id: u64,
    /// The new position in the column: any number between the neighbours'
    /// positions. Absent: the end of the column.
    pub position: Option<f64>,
}

/// Moves a Kanban card: to another column and/or within one.
#[utoipa::path(post, path = "/api/tasks/{id}/move", tag = "tasks", security(("bearer" = [])),
    params(("id" = u64, Path)), request_body = MoveTask,
    responses((status = 200, body = Task), (status = 404), (status = 409), (status = 422)))]
pub async fn move_task(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<u64>,
    Json(b): Json<MoveTask>,
) -> Result<axum::Json<Task>, ApiError> {
    let ch = Changes {
        status_id: Some(b.status_id),
        position: b.position,
        ..Changes::default()
    };
    let (row, out) = service::update(ctx(&state, &user), id, b.version, ch, "moved").await?;
    deliver(&state, out);
    Ok(axum::Json(full_view(&state, row).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BulkSet {
    pub status_id: Option<u64>,
    pub priority: Option<Priority>,
    #[schema(max_items = 50)]
    pub assignee_ids: Option<Vec<u64>>,
    #[schema(max_items = 20)]
    pub tags: Option<Vec<String>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BulkRequest {
    /// 1-500 tasks.
    pub task_ids: Vec<u64>,
    pub set: BulkSet,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkResult {
    pub items: Vec<Task>,
}

/// Changes status, priority, assignees or tags of many tasks: all or none.
#[utoipa::path(post, path = "/api/tasks/bulk", tag = "tasks", security(("bearer" = [])),
    request_body = BulkRequest,
    responses((status = 200, body = BulkResult), (status = 403),
        (status = 422, body = crate::http::contract::ErrorBody,
            description = "nothing changed: `bulk_refused` lists each refused task in `error.details.failures` (`taskId`, `message`)")))]
pub async fn bulk(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    Json(b): Json<BulkRequest>,
) -> Result<axum::Json<BulkResult>, ApiError> {
    let ch = Changes {
        status_id: b.set.status_id,
        priority: b.set.priority,
        assignee_ids: b.set.assignee_ids,
        tags: b.set.tags,
        ..Changes::default()
    };
    let (rows, out) = service::bulk(ctx(&state, &user), &b.task_ids, ch).await?;
    deliver(&state, out);
    Ok(axum::Json(BulkResult {
        items: views(&state, rows).await?,
    }))
}

// ---- comments ----

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommentEdit {
    /// The text before this edit.
    pub body: String,
    pub edited_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Comment {
    pub id: u64,
    pub task_id: u64,
    pub author_id: u64,
    /// Markdown source; render it sanitised, never as raw HTML.
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Earlier versions, oldest first.
    pub history: Vec<CommentEdit>,
}

fn comment_view(c: db::CommentRow, history: Vec<CommentEdit>) -> Comment {
    Comment {
        id: c.comment_id,
        task_id: c.task_id,
        author_id: c.author_id,
        body: c.body,
        created_at: c.created_at,
        updated_at: c.updated_at,
        history,
    }
}

/// The task's comments, oldest first, with their edit history.
#[utoipa::path(get, path = "/api/tasks/{id}/comments", tag = "tasks", security(("bearer" = [])),
    params(("id" = u64, Path)), responses((status = 200, body = Vec<Comment>), (status = 404)))]
pub async fn comments(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<u64>,
) -> Result<axum::Json<Vec<Comment>>, ApiError> {
    if !db::is_visible(&state.db, viewer(&user), id).await? {
        return Err(ApiError::NotFound);
    }
    let mut edits: HashMap<u64, Vec<CommentEdit>> = HashMap::new();
    for e in db::comment_edits(&state.db, id).await? {
        edits.entry(e.comment_id).or_default().push(CommentEdit {
            body: e.body,
            edited_at: e.edited_at,
        });
    }
    Ok(axum::Json(
        db::comments(&state.db, id)
            .await?
            .into_iter()
            .map(|c| {
                let h = edits.remove(&c.comment_id).unwrap_or_default();
                comment_view(c, h)
            })
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CommentBody {
    /// Markdown; `@username` mentions notify users who can see the task.
    #[schema(min_length = 1, max_length = 20000, pattern = r"\S")]
    pub body: String,
}

/// Comments on a task.
#[utoipa::path(post, path = "/api/tasks/{id}/comments", tag = "tasks", security(("bearer" = [])),
    params(("id" = u64, Path)), request_body = CommentBody,
    responses((status = 201, body = Comment), (status = 404), (status = 422)))]
pub async fn add_comment(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<u64>,
    Json(b): Json<CommentBody>,
) -> Result<(StatusCode, axum::Json<Comment>), ApiError> {
    let (c, out) = service::add_comment(ctx(&state, &user), id, &b.body).await?;
    deliver(&state, out);
    Ok((StatusCode::CREATED, axum::Json(comment_view(c, vec![]))))
}

/// Edits the caller's own comment; the previous text is kept in its history.
#[utoipa::path(patch, path = "/api/comments/{id}", tag = "tasks", security(("bearer" = [])),
    params(("id" = u64, Path)), request_body = CommentBody,
    responses((status = 200, body = Comment), (status = 403), (status = 404), (status = 422)))]
pub async fn edit_comment(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<u64>,
    Json(b): Json<CommentBody>,
) -> Result<axum::Json<Comment>, ApiError> {
    let (c, out) = service::edit_comment(ctx(&state, &user), id, &b.body).await?;
    deliver(&state, out);
    let history = db::comment_edits(&state.db, c.task_id)
        .await?
        .into_iter()
        .filter(|e| e.comment_id == id)
        .map(|e| CommentEdit {
            body: e.body,
            edited_at: e.edited_at,
        })
        .collect();
    Ok(axum::Json(comment_view(c, history)))
}

/// Deletes the caller's own comment (admins: any).
#[utoipa::path(delete, path = "/api/comments/{id}", tag = "tasks", security(("bearer" = [])),
    params(("id" = u64, Path)), responses((status = 204), (status = 403), (status = 404)))]
pub async fn delete_comment(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<u64>,
) -> Result<StatusCode, ApiError> {
    service::delete_comment(ctx(&state, &user), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- attachments ----

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    pub id: u64,
    pub task_id: u64,
    pub comment_id: Option<u64>,
    pub name: String,
    /// Judged from the content, not the name.
    pub content_type: String,
    pub size: u64,
    pub sha256: String,
    pub uploaded_by: u64,
    pub created_at: DateTime<Utc>,
}

fn attachment_view(a: db::AttachmentRow) -> Attachment {
    Attachment {
        id: a.attachment_id,
        task_id: a.task_id,
        comment_id: a.comment_id,
        name: a.name,
        content_type: a.content_type,
        size: a.size,
        sha256: a.sha256,
        uploaded_by: a.uploaded_by,
        created_at: a.created_at,
    }
}

/// The task's attachments (metadata).
#[utoipa::path(get, path = "/api/tasks/{id}/attachments", tag = "tasks", security(("bearer" = [])),
    params(("id" = u64, Path)), responses((status = 200, body = Vec<Attachment>), (status = 404)))]
pub async fn attachments(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<u64>,
) -> Result<axum::Json<Vec<Attachment>>, ApiError> {
    if !db::is_visible(&state.db, viewer(&user), id).await? {
        return Err(ApiError::NotFound);
    }
    Ok(axum::Json(
        db::attachments(&state.db, id)
            .await?
            .into_iter()
            .map(attachment_view)
            .collect(),
    ))
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The file's name (shown and used on download; not used to judge its type).
    #[param(
        min_length = 1,
        max_length = 255,
        pattern = r#"[^/\\."\s\x00-\x1f\x7f-\x9f][^/\\]*$"#
    )]
    pub name: String,
    /// Attach to this comment of the task.
    pub comment_id: Option<u64>,
}

/// Reads the body up to `limit` bytes, stopping as soon as it is exceeded.
async fn read_limited(body: Body, limit: u64) -> Result<Vec<u8>, TaskError> {
    let mut stream = body.into_data_stream();
    let mut buf = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| {
            TaskError::Invalid(vec![katalusis_crds::FieldError::new(
                "file",
                "the upload was interrupted",
            )])
        })?;
        if (buf.len() + chunk.len()) as u64 > limit {
            return Err(TaskError::TooLarge { limit });
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

/// Uploads an attachment: the request body is the file's bytes. Its type is
/// judged from the content against an allow-list (documents, images,
/// CSV/XLSX, PDF, text, zip); larger than the limit answers 413.
#[utoipa::path(post, path = "/api/tasks/{id}/attachments", tag = "tasks", security(("bearer" = [])),
    params(("id" = u64, Path), UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = Attachment), (status = 404), (status = 413), (status = 415), (status = 422)))]
pub async fn upload(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<u64>,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, axum::Json<Attachment>), ApiError> {
    let c = ctx(&state, &user);
    // Out of scope answers 404 before the body is read.
    if !db::is_visible(&state.db, c.viewer, id).await? {
        return Err(ApiError::NotFound);
    }
    let limit = db::attachment_max_bytes(&state.db).await?;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(TaskError::TooLarge { limit }.into());
    }
    let bytes = read_limited(body, limit).await?;
    let (a, out) = service::attach(c, id, q.comment_id, &q.name, &bytes).await?;
    deliver(&state, out);
    Ok((StatusCode::CREATED, axum::Json(attachment_view(a))))
}

/// `attachment; filename="…"; filename*=UTF-8''…`: an ASCII fallback plus the
/// exact name, percent-encoded.
fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// Downloads an attachment; always as a download, never rendered inline.
#[utoipa::path(get, path = "/api/attachments/{id}", tag = "tasks", security(("bearer" = [])),
    params(("id" = u64, Path)),
    responses((status = 200, description = "the file, typed by its content as judged on upload", content_type = "*/*"), (status = 404)))]
pub async fn download(
    State(state): State<AppState>,
    user: CurrentUser,
    audit: crate::audit::Audit,
    Path(id): Path<u64>,
) -> Result<Response, ApiError> {
    audit.read(
        crate::audit::SensitiveRead::Download,
        "attachment.download",
        "attachment",
        id,
    );
    let (a, content) = db::attachment_visible(&state.db, viewer(&user), id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let mut resp = content.into_response();
    let h = resp.headers_mut();
    let ct = HeaderValue::from_str(&a.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_TYPE, ct);
    if let Ok(v) = HeaderValue::from_str(&content_disposition(&a.name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", a.sha256)) {
        h.insert(header::ETAG, v);
    }
    Ok(resp)
}

/// Deletes an attachment (its uploader, a manager who sees the task, or an
/// admin); recorded in the task's activity and the audit trail.
#[utoipa::path(delete, path = "/api/attachments/{id}", tag = "tasks", security(("bearer" = [])),
    params(("id" = u64, Path)), responses((status = 204), (status = 403), (status = 404)))]
pub async fn delete_attachment(
    State(state): State<AppState>,
    user: CurrentUser,
    audit: Audit,
    Path(id): Path<u64>,
) -> Result<StatusCode, ApiError> {
    // Named before the work, so a refused attempt is audited under it too.
    audit
        .action("task.attachment.delete")
        .object("task_attachment", id);
    let (_, out) = service::delete_attachment(ctx(&state, &user), id).await?;
    deliver(&state, out);
    Ok(StatusCode::NO_CONTENT)
}

// ---- watching ----

/// Starts watching a task (status changes notify watchers). Idempotent.
#[utoipa::path(put, path = "/api/tasks/{id}/watch", tag = "tasks", security(("bearer" = [])),
    params(("id" = u64, Path)), responses((status = 200, body = Task), (status = 404)))]
pub async fn watch(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<u64>,
) -> Result<axum::Json<Task>, ApiError> {
    let row = service::set_watching(ctx(&state, &user), id, true).await?;
    Ok(axum::Json(full_view(&state, row).await?))
}

/// Stops watching a task. Idempotent.
#[utoipa::path(delete, path = "/api/tasks/{id}/watch", tag = "tasks", security(("bearer" = [])),
    params(("id" = u64, Path)), responses((status = 200, body = Task), (status = 404)))]
pub async fn unwatch(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<u64>,
) -> Result<axum::Json<Task>, ApiError> {
    let row = service::set_watching(ctx(&state, &user), id, false).await?;
    Ok(axum::Json(full_view(&state, row).await?))
}

// ---- people ----

/// A person as task screens show them.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Person {
    pub id: u64,
    pub username: String,
    pub display_name: String,
    pub role: crate::auth::Role,
    pub active: bool,
}

/// The people the caller may know by name on task screens: admins everyone;
/// others themselves and the reporters, assignees, watchers and shares of
/// the tasks they can see; managers also their clients and those clients'
/// managers. Anyone else stays an id.
#[utoipa::path(get, path = "/api/task-people", tag = "tasks", security(("bearer" = [])),
    responses((status = 200, body = Vec<Person>)))]
pub async fn people(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<axum::Json<Vec<Person>>, ApiError> {
    Ok(axum::Json(
        db::people_visible(&state.db, viewer(&user))
            .await?
            .into_iter()
            .filter_map(|p| {
                Some(Person {
                    id: p.user_id,
                    role: crate::auth::Role::parse(&p.role)?,
                    username: p.username,
                    display_name: p.display_name,
                    active: p.active,
                })
            })
            .collect(),
    ))
}

// ---- activity ----

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    pub id: u64,
    pub actor_id: Option<u64>,
    /// `created`, `status`, `title`, `description`, `priority`, `dueAt`,
    /// `assignees`, `watchers`, `sharedWith`, `tags`, `comment`,
    /// `comment_deleted` or `attachment`.
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ActivityQuery {
    /// Return entries after this id.
    pub after: Option<u64>,
    /// 1-1000, default 200.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// The task's history, oldest first.
#[utoipa::path(get, path = "/api/tasks/{id}/activity", tag = "tasks", security(("bearer" = [])),
    params(("id" = u64, Path), ActivityQuery),
    responses((status = 200, body = Vec<Activity>), (status = 404)))]
pub async fn activity(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<u64>,
    Query(q): Query<ActivityQuery>,
) -> Result<axum::Json<Vec<Activity>>, ApiError> {
    let limit = q.limit.unwrap_or(200);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::field("limit", "must be between 1 and 1000"));
    }
    if !db::is_visible(&state.db, viewer(&user), id).await? {
        return Err(ApiError::NotFound);
    }
    Ok(axum::Json(
        db::activity(&state.db, id, q.after.unwrap_or(0), limit)
            .await?
            .into_iter()
            .map(|a| Activity {
                id: a.activity_id,
                actor_id: a.actor_id,
                field: a.field,
                old_value: a.old_value,
                new_value: a.new_value,
                at: a.at,
            })
            .collect(),
    ))
}

// ---- statuses and settings ----

#[derive(Serialize, Deserialize, ToSchema, Clone)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Status {
    /// Absent when an admin adds a status.
    pub id: Option<u64>,
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    /// Whether tasks in this status count as completed.
    pub is_done: bool,
}

#[derive(Serialize, Deserialize, ToSchema, Clone)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Transition {
    /// Status name.
    pub from: String,
    /// Status name.
    pub to: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskWorkflow {
    /// In board order.
    pub statuses: Vec<Status>,
    pub transitions: Vec<Transition>,
    pub sla_targets: Vec<SlaTarget>,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SlaTarget {
    pub priority: Priority,
    /// Minutes to resolve; `null`: no SLA for this priority.
    #[schema(minimum = 1, maximum = 525600)]
    pub target_minutes: Option<u32>,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskSettings {
    /// In board order; statuses left out are deleted (409 while tasks use them).
    #[schema(min_items = 1, max_items = 30)]
    pub statuses: Vec<Status>,
    pub transitions: Vec<Transition>,
    pub sla_targets: Vec<SlaTarget>,
    #[schema(minimum = 1024, maximum = 15728640)]
    pub attachment_max_bytes: u64,
}

async fn workflow(state: &AppState) -> Result<TaskWorkflow, ApiError> {
    let statuses = db::statuses(&state.db).await?;
    let name = |id: u64| {
        statuses
            .iter()
            .find(|s| s.status_id == id)
            .map(|s| s.name.clone())
            .unwrap_or_default()
    };
    let transitions = db::transitions(&state.db)
        .await?
        .into_iter()
        .map(|(f, t)| Transition {
            from: name(f),
            to: name(t),
        })
        .collect();
    let targets = db::sla_targets(&state.db).await?;
    Ok(TaskWorkflow {
        transitions,
        statuses: statuses
            .iter()
            .map(|s| Status {
                id: Some(s.status_id),
                name: s.name.clone(),
                is_done: s.is_done,
            })
            .collect(),
        sla_targets: Priority::ALL
            .into_iter()
            .map(|p| SlaTarget {
                priority: p,
                target_minutes: targets.iter().find(|t| t.0 == p).and_then(|t| t.1),
            })
            .collect(),
    })
}

/// Statuses (board order), allowed transitions and SLA targets, for every role.
#[utoipa::path(get, path = "/api/task-statuses", tag = "tasks", security(("bearer" = [])),
    responses((status = 200, body = TaskWorkflow)))]
pub async fn statuses(
    State(state): State<AppState>,
    _user: CurrentUser,
) -> Result<axum::Json<TaskWorkflow>, ApiError> {
    Ok(axum::Json(workflow(&state).await?))
}

async fn settings_view(state: &AppState) -> Result<TaskSettings, ApiError> {
    let w = workflow(state).await?;
    Ok(TaskSettings {
        statuses: w.statuses,
        transitions: w.transitions,
        sla_targets: w.sla_targets,
        attachment_max_bytes: db::attachment_max_bytes(&state.db).await?,
    })
}

/// Task settings: statuses, transitions, SLA targets, attachment limit.
#[utoipa::path(get, path = "/api/admin/task-settings", tag = "tasks", security(("bearer" = [])),
    responses((status = 200, body = TaskSettings), (status = 403)))]
pub async fn get_settings(
    State(state): State<AppState>,
    _admin: RequireRole<Admin>,
) -> Result<axum::Json<TaskSettings>, ApiError> {
    Ok(axum::Json(settings_view(&state).await?))
}

/// Replaces the task settings. Statuses with an id are renamed, reordered or
/// re-flagged; without one they are added; missing ones are deleted.
#[utoipa::path(put, path = "/api/admin/task-settings", tag = "tasks", security(("bearer" = [])),
    request_body = TaskSettings,
    responses((status = 200, body = TaskSettings), (status = 403), (status = 409), (status = 422)))]
pub async fn put_settings(
    State(state): State<AppState>,
    RequireRole(admin, ..): RequireRole<Admin>,
    Json(b): Json<TaskSettings>,
) -> Result<axum::Json<TaskSettings>, ApiError> {
    super::settings::replace(&state.db, admin.id, b, Utc::now()).await?;
    Ok(axum::Json(settings_view(&state).await?))
}

// ---- live events ----

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LiveQuery {
    /// End the stream after this many seconds (tests, polling proxies).
    pub close_after_seconds: Option<u64>,
}

/// Live `task` events (`{action, taskId, key, statusId, position, version,
/// by}`) for tasks the caller may see, and `notification` events for the
/// caller's inbox. Events are hints: refetch on receipt.
#[utoipa::path(get, path = "/api/tasks/events", tag = "tasks", security(("bearer" = [])),
    params(LiveQuery),
    responses((status = 200, content_type = "text/event-stream", body = Object)))]
pub async fn events(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<LiveQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let mut live = state.live.subscribe();
    let (tx, rx) = mpsc::channel::<Event>(256);
    let db = state.db.clone();
    let scope = ClientScope::of(&user);
    let feed = async move {
        let mut manages: HashMap<u64, bool> = HashMap::new();
        loop {
            let ev = match live.recv().await {
                Ok(ev) => ev,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return,
            };
            let event = match ev {
                LiveEvent::Task { audience, data } => {
                    let m = match manages.get(&audience.client_id) {
                        Some(m) => *m,
                        None => {
                            let m = user.role == crate::auth::Role::Manager
                                && scope.allows(&db, audience.client_id).await.unwrap_or(false);
                            manages.insert(audience.client_id, m);
                            m
                        }
                    };
                    if !audience.admits(user.id, user.role, m) {
                        continue;
                    }
                    Event::default().event("task").data(data.to_string())
                }
                LiveEvent::Notification { user_id, data } => {
                    if user_id != user.id {
                        continue;
                    }
                    Event::default()
                        .event("notification")
                        .data(data.to_string())
                }
            };
            if tx.send(event).await.is_err() {
                return;
            }
        }
    };
    let stopped = state.executor.stopped();
    tokio::spawn(async move {
        let bounded = async move {
            match q.close_after_seconds {
                Some(s) => {
                    let _ = tokio::time::timeout(Duration::from_secs(s), feed).await;
                }
                None => feed.await,
            }
        };
        tokio::select! {
            _ = bounded => {}
            _ = stopped => {}
        }
    });
    let stream =
        futures::stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.map(|e| (Ok(e), rx)) },
        );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
