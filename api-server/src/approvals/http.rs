//! Approval endpoints: read an approval and decide it, by its id (from the
//! approval task) or by run and node (from the run view).

use axum::extract::State;
use chrono::{DateTime, Utc};
use katalusis_flow::{ApprovalStatus, Verdict};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::db::{self, ApprovalRow};
use super::service::{self, ApprovalError, Target};
use crate::audit::Audit;
use crate::auth::CurrentUser;
use crate::error::ApiError;
use crate::http::extract::{Json, Path};
use crate::state::AppState;
use crate::tasks::db::Viewer;

impl From<ApprovalError> for ApiError {
    fn from(e: ApprovalError) -> Self {
        match e {
            ApprovalError::NotFound => ApiError::NotFound,
            ApprovalError::Forbidden => ApiError::Forbidden,
            ApprovalError::Conflict(m) => ApiError::conflict(m),
            ApprovalError::Invalid(m) => ApiError::Rule {
                code: "invalid_decision",
                message: m,
                details: json!({}),
            },
            ApprovalError::Setup(m) => ApiError::Rule {
                code: "approval_setup",
                message: m,
                details: json!({}),
            },
            ApprovalError::Task(t) => t.into(),
            ApprovalError::Db(e) => e.into(),
        }
    }
}

/// A decision on an approval.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DecisionRequest {
    pub verdict: Verdict,
    /// Shown on the approval task and in the node's `decision` output.
    #[schema(max_length = 10000)]
    pub comment: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Approver {
    pub id: u64,
    pub username: String,
    /// Added when the approval escalated.
    pub escalation: bool,
}

/// An approval of one node attempt.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Approval {
    pub id: u64,
    pub run_id: u64,
    pub node_id: String,
    pub attempt: u32,
    pub status: ApprovalStatus,
    pub task_id: Option<u64>,
    /// The value under review (the node's `value` input).
    pub subject: Value,
    pub approvers: Vec<Approver>,
    pub escalated: bool,
    pub deadline: Option<DateTime<Utc>>,
    pub decided_by: Option<String>,
    /// `person` or `timeout`.
    pub decided_via: Option<String>,
    pub comment: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Whether the caller may approve or reject it now.
    pub can_decide: bool,
}

fn viewer(u: &CurrentUser) -> Viewer {
    Viewer {
        user_id: u.id,
        role: u.role,
    }
}

async fn view(state: &AppState, v: Viewer, row: ApprovalRow) -> Result<Approval, ApiError> {
    let approvers = db::approvers(&state.db, row.approval_id).await?;
    let can_decide = service::may_decide(&state.db, v, &row).await?;
    Ok(Approval {
        id: row.approval_id,
        run_id: row.run_id,
        node_id: row.node_id,
        attempt: row.attempt,
        status: ApprovalStatus::parse(&row.status).unwrap_or(ApprovalStatus::Cancelled),
        task_id: row.task_id,
        subject: row
            .subject
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or(Value::Null),
        approvers: approvers
            .into_iter()
            .map(|(id, username, escalation)| Approver {
                id,
                username,
                escalation,
            })
            .collect(),
        escalated: row.escalated,
        deadline: row.deadline_at,
        decided_by: row.decided_by_name,
        decided_via: row.decided_via,
        comment: row.comment,
        decided_at: row.decided_at,
        created_at: row.created_at,
        can_decide,
    })
}

/// One approval: visible to its approvers, admins and whoever may see its run.
#[utoipa::path(get, path = "/api/approvals/{id}", tag = "approvals", security(("bearer" = [])),
    params(("id" = u64, Path)), responses((status = 200, body = Approval), (status = 404)))]
pub async fn get(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<u64>,
) -> Result<axum::Json<Approval>, ApiError> {
    let v = viewer(&user);
    let row = db::by_id(&state.db, id).await?.ok_or(ApiError::NotFound)?;
    if !service::may_read(&state.db, v, &row).await? {
        return Err(ApiError::NotFound);
    }
    Ok(axum::Json(view(&state, v, row).await?))
}

/// The approvals of a run the caller may see, every attempt.
#[utoipa::path(get, path = "/api/runs/{id}/approvals", tag = "approvals", security(("bearer" = [])),
    params(("id" = u64, Path)), responses((status = 200, body = Vec<Approval>), (status = 404)))]
pub async fn of_run(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<u64>,
) -> Result<axum::Json<Vec<Approval>>, ApiError> {
    let v = viewer(&user);
    crate::db::runs::get(&state.db, crate::auth::ClientScope::of(&user), id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let mut out = Vec::new();
    for row in db::of_run(&state.db, id).await? {
        out.push(view(&state, v, row).await?);
    }
    Ok(axum::Json(out))
}

async fn decide(
    state: &AppState,
    user: &CurrentUser,
    target: Target,
    req: DecisionRequest,
) -> Result<axum::Json<Approval>, ApiError> {
    let v = viewer(user);
    let (row, out) =
        service::decide(&state.db, v, &target, req.verdict, req.comment, Utc::now()).await?;
    out.deliver(&state.live, state.mailer.as_ref());
    state.executor.decided(row.run_id);
    Ok(axum::Json(view(state, v, row).await?))
}

/// Approve or reject an approval (from its task). Only its approvers and
/// admins may; a second decision answers 409.
#[utoipa::path(post, path = "/api/approvals/{id}/decision", tag = "approvals", security(("bearer" = [])),
    params(("id" = u64, Path)), request_body = DecisionRequest,
    responses((status = 200, body = Approval), (status = 403), (status = 404), (status = 409)))]
pub async fn decide_by_id(
    State(state): State<AppState>,
    user: CurrentUser,
    audit: Audit,
    Path(id): Path<u64>,
    Json(req): Json<DecisionRequest>,
) -> Result<axum::Json<Approval>, ApiError> {
    audit.action("approval.decide").object("approval", id);
    decide(&state, &user, Target::Id(id), req).await
}

/// Approve or reject the approval a run waits for at a node (its newest attempt).
#[utoipa::path(post, path = "/api/runs/{id}/nodes/{node}/decision", tag = "approvals",
    security(("bearer" = [])),
    params(("id" = u64, Path), ("node" = String, Path)), request_body = DecisionRequest,
    responses((status = 200, body = Approval), (status = 403), (status = 404), (status = 409)))]
pub async fn decide_at_node(
    State(state): State<AppState>,
    user: CurrentUser,
    audit: Audit,
    Path((id, node)): Path<(u64, String)>,
    Json(req): Json<DecisionRequest>,
) -> Result<axum::Json<Approval>, ApiError> {
    audit.action("approval.decide").object("run", id);
    decide(
        &state,
        &user,
        Target::Node {
            run_id: id,
            node_id: node,
        },
        req,
    )
    .await
}
