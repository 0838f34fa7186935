//! Creating many tasks of one client at once (the bulk import): the same
//! rules and the same rows as [`service::create_in`] task by task, written
//! with multi-row INSERTs. What is loaded per task there (the client, the
//! statuses, the assignable users, the SLA targets, the end of each column)
//! is loaded once per batch here, and the client's task numbers are
//! reserved in one step under the same counter lock.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use sqlx::MySqlConnection;

use super::db::{self, NewActivity, UserSet, Viewer};
use super::model::{self, NotificationKind, Priority, SlaDeadlines};
use super::service::{self, NewTask, TaskError};
use crate::auth::Role;
use crate::notifications::service::{notify_inbox_many, Notice};

/// A task that passed the rules, with what its row needs.
struct Checked {
    task: NewTask,
    status_id: u64,
    is_done: bool,
}

/// Creates `tasks` for `client_id` in the caller's transaction. The answer
/// has one entry per task, in order: its id, or why the task rules refuse
/// it (the error [`service::create_in`] gives for the same task). Refused
/// tasks write nothing and take no number. An error for the whole batch
/// (the caller may not create tasks for this client, or the database
/// failed) is the outer `Err`. Assignees get their inbox notification;
/// live events and email are the caller's to announce (an import sends
/// none per task).
pub async fn create_many_in(
    conn: &mut MySqlConnection,
    v: Viewer,
    now: DateTime<Utc>,
    client_id: u64,
    tasks: Vec<NewTask>,
) -> Result<Vec<Result<u64, TaskError>>, TaskError> {
    if v.role == Role::Client {
        return Err(TaskError::Forbidden("clients cannot create tasks"));
    }
    if tasks.is_empty() {
        return Ok(vec![]);
    }
    let client_name = service::client_for_create(&mut *conn, v, client_id).await?;
    let statuses = db::statuses(&mut *conn).await?;
    let people: BTreeSet<u64> = tasks
        .iter()
        .flat_map(|t| {
            t.assignee_ids
                .iter()
                .chain(&t.watcher_ids)
                .chain(&t.shared_with)
        })
        .copied()
        .collect();
    let people: Vec<u64> = people.into_iter().collect();
    let users = db::users_by_ids(&mut *conn, &people).await?;
    let managers = db::managers_of(&mut *conn, client_id).await?;
    let mine = if tasks.iter().any(|t| !t.shared_with.is_empty()) {
        service::clients_managed(&mut *conn, v).await?
    } else {
        vec![]
    };

    // The rules, task by task, in the order create_in checks them.
    let check = |mut t: NewTask| -> Result<Checked, TaskError> {
        if t.client_id != client_id {
            return Err(TaskError::Invalid(vec![katalusis_crds::FieldError::new(
                "clientId",
                "every task of a batch belongs to the batch's client",
            )]));
        }
        service::normalise_new(&mut t)?;
        let status = match t.status_id {
            Some(id) => statuses.iter().find(|s| s.status_id == id).ok_or_else(|| {
                TaskError::Invalid(vec![katalusis_crds::FieldError::new(
                    "statusId",
                    "no such status",
                )])
            })?,
            None => statuses
                .first()
                .ok_or_else(|| TaskError::Conflict("no task statuses are configured".into()))?,
        };
        service::people_in_scope("assigneeIds", client_id, &t.assignee_ids, &users, &managers)?;
        service::people_in_scope("watcherIds", client_id, &t.watcher_ids, &users, &managers)?;
        service::shares_in_scope(v, &t.shared_with, &users, &mine)?;
        Ok(Checked {
            status_id: status.status_id,
            is_done: status.is_done,
            task: t,
        })
    };
    let mut answers: Vec<Result<u64, TaskError>> = Vec::with_capacity(tasks.len());
    let mut ok: Vec<(usize, Checked)> = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        match check(t) {
            Ok(c) => {
                ok.push((i, c));
                answers.push(Ok(0));
            }
            Err(e) => answers.push(Err(e)),
        }
    }
    if ok.is_empty() {
        return Ok(answers);
    }

    let (prefix, first) = db::reserve_numbers(
        &mut *conn,
        client_id,
        &model::key_prefix(&client_name),
        ok.len() as u64,
    )
    .await?;
    let keys: Vec<String> = (0..ok.len() as u64)
        .map(|n| db::task_key(&prefix, first + n))
        .collect();
    // Each task goes to the end of its column, after the ones before it.
    let mut ends: HashMap<u64, f64> = HashMap::new();
    let mut positions = Vec::with_capacity(ok.len());
    for (_, c) in &ok {
        let end = match ends.get(&c.status_id) {
            Some(e) => *e,
            None => db::end_of_column(&mut *conn, c.status_id).await?,
        };
        positions.push(end);
        ends.insert(c.status_id, end.floor() + 1024.0);
    }
    let targets: HashMap<Priority, Option<u32>> =
        db::sla_targets(&mut *conn).await?.into_iter().collect();
    let rows: Vec<db::NewTask<'_>> = ok
        .iter()
        .enumerate()
        .map(|(n, (_, c))| {
            let t = &c.task;
            let sla = targets
                .get(&t.priority)
                .copied()
                .flatten()
                .map(|m| SlaDeadlines::new(now, m));
            db::NewTask {
                client_id,
                number: first + n as u64,
                key: &keys[n],
                title: &t.title,
                description: &t.description,
                status_id: c.status_id,
                priority: t.priority,
                reporter_id: v.user_id,
                due_at: t.due_at,
                position: positions[n],
                source_kind: t.source_kind,
                source_ref_id: t.source_ref_id,
                source_node: t.source_node.as_deref(),
                sla_risk_at: sla.map(|s| s.risk_at),
                sla_due_at: sla.map(|s| s.due_at),
                completed_at: c.is_done.then_some(now),
                now,
            }
        })
        .collect();
    db::insert_many(&mut *conn, &rows).await?;
    drop(rows);
    let last = first + ok.len() as u64 - 1;
    let by_number: HashMap<u64, u64> = db::ids_by_number(&mut *conn, client_id, first, last)
        .await?
        .into_iter()
        .collect();
    let mut ids = Vec::with_capacity(ok.len());
    for n in first..=last {
        let id = by_number.get(&n).copied().ok_or_else(|| {
            TaskError::Internal(anyhow::anyhow!("task {n} of client {client_id} vanished"))
        })?;
        ids.push(id);
    }

    let mut assignees = Vec::new();
    let mut watchers = Vec::new();
    let mut shares = Vec::new();
    let mut tags: Vec<(u64, &str)> = Vec::new();
    let mut activity = Vec::with_capacity(ok.len());
    let mut titles = Vec::with_capacity(ok.len());
    for ((_, c), (&id, key)) in ok.iter().zip(ids.iter().zip(&keys)) {
        let t = &c.task;
        assignees.extend(t.assignee_ids.iter().map(|u| (id, *u)));
        watchers.extend(
            service::initial_watchers(t, v.user_id)
                .into_iter()
                .map(|u| (id, u)),
        );
        shares.extend(t.shared_with.iter().map(|u| (id, *u)));
        tags.extend(t.tags.iter().map(|g| (id, g.as_str())));
        activity.push(NewActivity {
            task_id: id,
            actor: Some(v.user_id),
            field: "created",
            old: None,
            new: Some(key.as_str()),
        });
        titles.push(service::assigned_notice(key, &t.title));
    }
    db::add_users_many(&mut *conn, UserSet::Assignees, &assignees, v.user_id, now).await?;
    db::add_users_many(&mut *conn, UserSet::Watchers, &watchers, v.user_id, now).await?;
    db::add_users_many(&mut *conn, UserSet::Shares, &shares, v.user_id, now).await?;
    db::add_tags_many(&mut *conn, &tags).await?;
    db::add_activity_many(&mut *conn, &activity, now).await?;
    let notices: Vec<(Vec<u64>, Notice<'_>)> = ok
        .iter()
        .zip(ids.iter().zip(&titles))
        .filter(|((_, c), _)| !c.task.assignee_ids.is_empty())
        .map(|((_, c), (&id, title))| {
            (
                c.task.assignee_ids.clone(),
                Notice {
                    kind: NotificationKind::Assigned,
                    task_id: Some(id),
                    actor_id: Some(v.user_id),
                    title: title.as_str(),
                },
            )
        })
        .collect();
    notify_inbox_many(&mut *conn, NotificationKind::Assigned, &notices, now).await?;

    for ((i, _), id) in ok.iter().zip(ids) {
        answers[*i] = Ok(id);
    }
    Ok(answers)
}
