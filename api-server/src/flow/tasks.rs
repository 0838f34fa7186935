//! The task a Task node creates, found again by its source (the run and the
//! node) so a restarted node never creates a second one.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use katalusis_flow::TaskNodeSpec;
use serde_json::{json, Value};
use sqlx::MySqlPool;

use super::people::{self, PeopleError};
use super::RunRef;
use crate::notifications::service::Outbox;
use crate::tasks::db::{self as task_db, TaskRow};
use crate::tasks::model::{Priority, SourceKind};
use crate::tasks::service::{self as tasks, NewTask, TaskError};

/// The node's task, if it created one already.
pub async fn find(pool: &MySqlPool, run_id: u64, node: &str) -> Result<Option<u64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT task_id FROM task WHERE source_kind = ? AND source_ref_id = ? AND source_node = ? \
         ORDER BY task_id LIMIT 1",
    )
    .bind(SourceKind::Workflow)
    .bind(run_id)
    .bind(node)
    .fetch_optional(pool)
    .await
}

fn message(e: TaskError) -> String {
    match e {
        TaskError::Invalid(errs) => errs
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// Creates the node's task (or finds it after a restart); the task and
/// whether it is done already.
pub async fn open(
    pool: &MySqlPool,
    run: RunRef,
    node: &str,
    spec: &TaskNodeSpec,
    inputs: &BTreeMap<String, Value>,
    now: DateTime<Utc>,
) -> Result<(u64, Outbox), String> {
    if let Some(id) = find(pool, run.run_id, node)
        .await
        .map_err(|e| e.to_string())?
    {
        return Ok((id, Outbox::default()));
    }
    let (title, description) = spec.render(inputs).map_err(|e| e.to_string())?;
    let priority: Priority = spec
        .priority
        .parse()
        .map_err(|e: crate::tasks::model::UnknownName| e.to_string())?;
    let mut tx = pool.begin().await.map_err(|e| e.to_string())?;
    let assignees = people::named(&mut tx, run.client_id, &spec.assignees)
        .await
        .map_err(|e| match e {
            PeopleError::Unknown(m) => m,
            PeopleError::Db(e) => e.to_string(),
        })?;
    let (row, mut out, audience) = tasks::create_in(
        &mut tx,
        run.actor(),
        now,
        NewTask {
            client_id: run.client_id,
            title,
            description,
            status_id: None,
            priority,
            due_at: spec
                .due_after_ms()
                .map(|ms| now + Duration::milliseconds(ms)),
            assignee_ids: assignees,
            watcher_ids: Vec::new(),
            shared_with: Vec::new(),
            tags: spec.tags.clone(),
            source_kind: SourceKind::Workflow,
            source_ref_id: Some(run.run_id),
            source_node: Some(node.to_owned()),
        },
    )
    .await
    .map_err(message)?;
    tx.commit().await.map_err(|e| e.to_string())?;
    out.live
        .push(tasks::task_event(audience, "created", &row, run.started_by));
    Ok((row.task_id, out))
}

/// The task as the node outputs it, and whether it is done; `None` when it
/// was deleted.
pub async fn state(pool: &MySqlPool, task_id: u64) -> Result<Option<(Value, bool)>, sqlx::Error> {
    let v = task_db::Viewer {
        user_id: 0,
        role: crate::auth::Role::Admin,
    };
    let Some(row): Option<TaskRow> = task_db::get_visible(pool, v, task_id).await? else {
        return Ok(None);
    };
    let status = task_db::status(pool, row.status_id).await?;
    let assignees = task_db::users_of(pool, task_db::UserSet::Assignees, task_id).await?;
    let done = status.as_ref().is_some_and(|s| s.is_done);
    Ok(Some((
        json!({
            "id": row.task_id,
            "key": row.task_key,
            "title": row.title,
            "status": status.map(|s| s.name),
            "done": done,
            "priority": row.priority,
            "assigneeIds": assignees,
            "dueAt": row.due_at,
            "completedAt": row.completed_at,
        }),
        done,
    )))
}
