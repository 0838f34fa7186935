//! The rules of approvals: opening one for a waiting node (its approvers and
//! its task), a person's decision, and what a passed deadline does. The
//! driver of the run reads the decision from here, so a decision is never
//! lost with a process: the row is written before anyone is told.

use chrono::{DateTime, TimeZone, Utc};
use katalusis_flow::{ApprovalSpec, ApprovalStatus, TimeoutStep, Verdict, MAX_COMMENT_CHARS};
use serde_json::Value;
use sqlx::{MySqlConnection, MySqlPool};

use super::db::{self, ApprovalRow, NewApproval};
use crate::auth::{ClientScope, Role};
use crate::flow::people::{self, PeopleError};
pub use crate::flow::RunRef;
use crate::notifications::service::Outbox;
use crate::tasks::db::Viewer;
use crate::tasks::model::{Priority, SourceKind};
use crate::tasks::service::{self as tasks, Changes, NewTask, TaskError};

#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    #[error("not found")]
    NotFound,
    /// The caller may see the run but is not an approver.
    #[error("only the designated approvers and admins may decide")]
    Forbidden,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    /// The node cannot open its approval (bad parameters, unknown people).
    #[error("{0}")]
    Setup(String),
    #[error(transparent)]
    Task(#[from] TaskError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl From<PeopleError> for ApprovalError {
    fn from(e: PeopleError) -> Self {
        match e {
            PeopleError::Unknown(m) => Self::Setup(m),
            PeopleError::Db(e) => Self::Db(e),
        }
    }
}

/// Where the approval of a waiting node stands after opening it.
#[derive(Debug)]
pub struct Opened {
    pub row: ApprovalRow,
    pub approvers: Vec<String>,
}

fn ms_to_time(ms: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms).single()
}

/// The status an approval task starts in and the one a decision closes it
/// with: the first done status, and the first open status that may move to it.
async fn task_statuses(
    conn: &mut MySqlConnection,
) -> Result<(Option<u64>, Option<u64>), sqlx::Error> {
    let statuses = crate::tasks::db::statuses(&mut *conn).await?;
    let transitions = crate::tasks::db::transitions(&mut *conn).await?;
    let done = statuses.iter().find(|s| s.is_done).map(|s| s.status_id);
    let open = done.and_then(|d| {
        statuses
            .iter()
            .filter(|s| !s.is_done)
            .find(|s| transitions.contains(&(s.status_id, d)))
            .map(|s| s.status_id)
    });
    Ok((open, done))
}

fn describe(subject: &Value, node: &str, run_id: u64) -> String {
    let shown = serde_json::to_string_pretty(subject).unwrap_or_default();
    let shown: String = shown.chars().take(20_000).collect();
    format!(
        "Run #{run_id} waits at node `{node}` for a decision. Approve or reject it here or in the run view.\n\n```json\n{shown}\n```\n"
    )
}

/// Opens the approval of attempt `attempt` of `node`: its row, its
/// approvers and a task assigned to them, in one transaction. Opening again
/// (after a restart) returns the existing approval and creates nothing.
pub async fn open(
    pool: &MySqlPool,
    run: RunRef,
    node: &str,
    attempt: u32,
    spec: &ApprovalSpec,
    subject: &Value,
    now: DateTime<Utc>,
) -> Result<(Opened, Outbox), ApprovalError> {
    let mut tx = pool.begin().await?;
    if let Some(row) = db::lock_attempt(&mut tx, run.run_id, node, attempt).await? {
        tx.commit().await?;
        let approvers = names(pool, row.approval_id).await?;
        return Ok((Opened { row, approvers }, Outbox::default()));
    }
    let ids = people::with_managers(
        &mut tx,
        run.client_id,
        &spec.approvers,
        spec.client_managers,
    )
    .await?;
    // Checked now, so a typo fails the node at once rather than at the deadline.
    people::named(&mut tx, run.client_id, &spec.escalate_to).await?;
    if ids.is_empty() {
        return Err(ApprovalError::Setup(
            "nobody can decide: the client has no managers and no approver is named".into(),
        ));
    }
    let deadline_at = spec
        .deadline_ms(now.timestamp_millis())
        .and_then(ms_to_time);
    let subject_text = serde_json::to_string(subject).unwrap_or_else(|_| "null".into());
    let approval_id = db::insert(
        &mut tx,
        &NewApproval {
            run_id: run.run_id,
            node_id: node,
            attempt,
            client_id: run.client_id,
            subject: &subject_text,
            deadline_at,
            now,
        },
    )
    .await?;
    db::add_approvers(&mut tx, approval_id, &ids, false).await?;
    let (open_status, _) = task_statuses(&mut tx).await?;
    let (task, mut out, audience) = tasks::create_in(
        &mut tx,
        run.actor(),
        now,
        NewTask {
            client_id: run.client_id,
            title: spec.title.clone(),
            description: describe(subject, node, run.run_id),
            status_id: open_status,
            priority: Priority::High,
            due_at: deadline_at,
            assignee_ids: ids.clone(),
            watcher_ids: Vec::new(),
            shared_with: Vec::new(),
            tags: vec!["approval".into()],
            source_kind: SourceKind::Approval,
            source_ref_id: Some(approval_id),
            source_node: Some(node.to_owned()),
        },
    )
    .await?;
    db::set_task(&mut tx, approval_id, task.task_id).await?;
    let row = db::lock_attempt(&mut tx, run.run_id, node, attempt)
        .await?
        .ok_or(ApprovalError::NotFound)?;
    tx.commit().await?;
    out.live.push(tasks::task_event(
        audience,
        "created",
        &task,
        run.started_by,
    ));
    let approvers = names(pool, approval_id).await?;
    Ok((Opened { row, approvers }, out))
}

async fn names(pool: &MySqlPool, approval_id: u64) -> Result<Vec<String>, sqlx::Error> {
    Ok(db::approvers(pool, approval_id)
        .await?
        .into_iter()
        .map(|(_, name, _)| name)
        .collect())
}

/// Moves the approval task to the done status and records the decision as
/// a comment by the decider, inside the caller's transaction.
async fn close_task(
    conn: &mut MySqlConnection,
    row: &ApprovalRow,
    actor: Viewer,
    note: &str,
    now: DateTime<Utc>,
) -> Result<Outbox, ApprovalError> {
    let Some(task_id) = row.task_id else {
        return Ok(Outbox::default());
    };
    crate::tasks::db::insert_comment(&mut *conn, task_id, actor.user_id, note, now).await?;
    let (_, done) = task_statuses(&mut *conn).await?;
    let Some(done) = done else {
        return Ok(Outbox::default());
    };
    let change = Changes {
        status_id: Some(done),
        ..Changes::default()
    };
    match tasks::update_in(&mut *conn, actor, task_id, change, now).await {
        Ok((_, out)) => Ok(out),
        // The task was moved by hand to a status that cannot reach done, or
        // deleted: the decision stands, the task stays where it is.
        Err(TaskError::Transition { .. } | TaskError::NotFound) => Ok(Outbox::default()),
        Err(e) => Err(e.into()),
    }
}

fn note(verdict: Verdict, comment: Option<&str>, by_timeout: bool) -> String {
    let what = match (verdict, by_timeout) {
        (Verdict::Approve, false) => "Approved",
        (Verdict::Reject, false) => "Rejected",
        (Verdict::Approve, true) => "Approved by the timeout policy",
        (Verdict::Reject, true) => "Rejected by the timeout policy",
    };
    match comment {
        Some(c) => format!("{what}: {c}"),
        None => format!("{what}."),
    }
}

/// Which approval a person decides.
#[derive(Debug, Clone)]
pub enum Target {
    /// The newest attempt's approval at a run's node.
    Node {
        run_id: u64,
        node_id: String,
    },
    Id(u64),
}

fn scope(v: Viewer) -> ClientScope {
    match v.role {
        Role::Admin => ClientScope::All,
        Role::Manager => ClientScope::AssignedTo(v.user_id),
        Role::Client => ClientScope::Only(v.user_id),
    }
}

/// Whether `v` may read the approval: approvers, admins, and whoever may
/// see its run.
pub async fn may_read(pool: &MySqlPool, v: Viewer, row: &ApprovalRow) -> Result<bool, sqlx::Error> {
    Ok(v.role == Role::Admin
        || db::is_approver(pool, row.approval_id, v.user_id).await?
        || crate::db::runs::get(pool, scope(v), row.run_id)
            .await?
            .is_some())
}

/// Whether `v` may decide a pending approval.
pub async fn may_decide(
    pool: &MySqlPool,
    v: Viewer,
    row: &ApprovalRow,
) -> Result<bool, sqlx::Error> {
    Ok(row.status == ApprovalStatus::Pending.as_str()
        && (v.role == Role::Admin || db::is_approver(pool, row.approval_id, v.user_id).await?))
}

/// A person decides: only approvers and admins (anyone else who may see the
/// run gets 403, the rest 404), only once (409 after that).
pub async fn decide(
    pool: &MySqlPool,
    v: Viewer,
    target: &Target,
    verdict: Verdict,
    comment: Option<String>,
    now: DateTime<Utc>,
) -> Result<(ApprovalRow, Outbox), ApprovalError> {
    let comment = comment
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty());
    if comment
        .as_deref()
        .is_some_and(|c| c.chars().count() > MAX_COMMENT_CHARS)
    {
        return Err(ApprovalError::Invalid(format!(
            "the comment must be at most {MAX_COMMENT_CHARS} characters"
        )));
    }
    let mut tx = pool.begin().await?;
    let row = match target {
        Target::Node { run_id, node_id } => db::lock_latest(&mut tx, *run_id, node_id).await?,
        Target::Id(id) => db::lock_by_id(&mut tx, *id).await?,
    }
    .ok_or(ApprovalError::NotFound)?;
    let approver = db::is_approver(&mut *tx, row.approval_id, v.user_id).await?;
    if !approver && v.role != Role::Admin {
        let sees_run = crate::db::runs::get(pool, scope(v), row.run_id)
            .await?
            .is_some();
        return Err(if sees_run {
            ApprovalError::Forbidden
        } else {
            ApprovalError::NotFound
        });
    }
    let status = ApprovalStatus::parse(&row.status).unwrap_or(ApprovalStatus::Cancelled);
    if status != ApprovalStatus::Pending {
        return Err(ApprovalError::Conflict(
            match (status, &row.decided_by_name) {
                (ApprovalStatus::Cancelled, _) => {
                    "the run no longer waits for this approval".into()
                }
                (s, Some(by)) => format!("already {} by {by}", s.as_str()),
                (s, None) => format!("already {} by the timeout policy", s.as_str()),
            },
        ));
    }
    let decided = db::decide(
        &mut tx,
        row.approval_id,
        ApprovalStatus::of(verdict).as_str(),
        Some(v.user_id),
        "person",
        comment.as_deref(),
        now,
    )
    .await?;
    if !decided {
        return Err(ApprovalError::Conflict("already decided".into()));
    }
    let actor = Viewer {
        user_id: v.user_id,
        role: Role::Admin,
    };
    let out = close_task(
        &mut tx,
        &row,
        actor,
        &note(verdict, comment.as_deref(), false),
        now,
    )
    .await?;
    let row = db::lock_by_id(&mut tx, row.approval_id)
        .await?
        .ok_or(ApprovalError::NotFound)?;
    tx.commit().await?;
    Ok((row, out))
}

/// What a passed deadline did.
#[derive(Debug)]
pub enum AfterDeadline {
    /// The approval is decided (by the policy, or by a person just before).
    Decided(Box<ApprovalRow>),
    /// It went to the escalation approvers until the new deadline.
    Escalated {
        until_ms: Option<i64>,
        approvers: Vec<String>,
    },
}

/// Applies the node's timeout policy to its pending approval.
pub async fn on_deadline(
    pool: &MySqlPool,
    run: RunRef,
    node: &str,
    attempt: u32,
    spec: &ApprovalSpec,
    now: DateTime<Utc>,
) -> Result<(AfterDeadline, Outbox), ApprovalError> {
    let mut tx = pool.begin().await?;
    let row = db::lock_attempt(&mut tx, run.run_id, node, attempt)
        .await?
        .ok_or(ApprovalError::NotFound)?;
    if row.status != ApprovalStatus::Pending.as_str() {
        tx.commit().await?;
        return Ok((AfterDeadline::Decided(Box::new(row)), Outbox::default()));
    }
    let out = match spec.on_deadline(row.escalated) {
        TimeoutStep::Decide(verdict) => {
            db::decide(
                &mut tx,
                row.approval_id,
                ApprovalStatus::of(verdict).as_str(),
                None,
                "timeout",
                None,
                now,
            )
            .await?;
            let out =
                close_task(&mut tx, &row, run.actor(), &note(verdict, None, true), now).await?;
            let row = db::lock_by_id(&mut tx, row.approval_id)
                .await?
                .ok_or(ApprovalError::NotFound)?;
            tx.commit().await?;
            return Ok((AfterDeadline::Decided(Box::new(row)), out));
        }
        TimeoutStep::Escalate => {
            let ids = people::named(&mut tx, run.client_id, &spec.escalate_to).await?;
            db::add_approvers(&mut tx, row.approval_id, &ids, true).await?;
            let until_ms = spec.deadline_ms(now.timestamp_millis());
            db::escalate(&mut tx, row.approval_id, until_ms.and_then(ms_to_time)).await?;
            let mut out = Outbox::default();
            if let Some(task_id) = row.task_id {
                let mut assignees = crate::tasks::db::users_of(
                    &mut *tx,
                    crate::tasks::db::UserSet::Assignees,
                    task_id,
                )
                .await?;
                assignees.extend(&ids);
                assignees.sort_unstable();
                assignees.dedup();
                let change = Changes {
                    assignee_ids: Some(assignees),
                    due_at: Some(until_ms.and_then(ms_to_time)),
                    ..Changes::default()
                };
                match tasks::update_in(&mut tx, run.actor(), task_id, change, now).await {
                    Ok((_, o)) => out = o,
                    Err(TaskError::NotFound) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            tx.commit().await?;
            let approvers = names(pool, row.approval_id).await?;
            (until_ms, approvers, out)
        }
    };
    let (until_ms, approvers, out) = out;
    Ok((
        AfterDeadline::Escalated {
            until_ms,
            approvers,
        },
        out,
    ))
}

/// The run stopped waiting (cancelled): a later decision answers 409.
pub async fn cancel(
    pool: &MySqlPool,
    run_id: u64,
    node: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    db::cancel(pool, run_id, node, now).await.map(|_| ())
}

/// Every decided approval of a run, for the driver to pick up.
pub async fn decided_of_run(
    pool: &MySqlPool,
    run_id: u64,
) -> Result<Vec<ApprovalRow>, sqlx::Error> {
    Ok(db::of_run(pool, run_id)
        .await?
        .into_iter()
        .filter(|r| {
            ApprovalStatus::parse(&r.status)
                .and_then(ApprovalStatus::verdict)
                .is_some()
        })
        .collect())
}
