//! Trigger endpoints: manage a workflow's triggers and read their firings
//! (staff who may see the workflow), and the public webhook endpoint whose
//! secret URL is the credential.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use katalusis_crds::{FieldError, Graph};
use katalusis_flow::Schedule;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::Digest;
use utoipa::{IntoParams, ToSchema};

use super::db::{self, FiringRow, NewTrigger, TriggerRow};
use super::model::{node_port, EventKind, FiringOutcome, TriggerConfig};
use super::service::{self, config_of, Fired};
use crate::audit::Audit;
use crate::auth::{ClientScope, CurrentUser, RequireRole, Staff};
use crate::error::ApiError;
use crate::http::extract::{Json, Path, Query};
use crate::state::AppState;

/// How many upcoming schedule instants a trigger shows.
const UPCOMING: usize = 5;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateTrigger {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    pub config: TriggerConfig,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PatchTrigger {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    pub enabled: Option<bool>,
    /// Must keep the trigger's kind.
    pub config: Option<TriggerConfig>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Firing {
    pub id: u64,
    pub fired_at: DateTime<Utc>,
    pub outcome: FiringOutcome,
    pub run_id: Option<u64>,
    pub message: Option<String>,
    /// The schedule instant or event it answered.
    pub key: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Trigger {
    pub id: u64,
    pub workflow_id: u64,
    pub name: String,
    pub enabled: bool,
    pub config: TriggerConfig,
    pub owner_id: u64,
    pub next_fire_at: Option<DateTime<Utc>>,
    /// The next schedule instants (schedules only).
    pub upcoming: Vec<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_firing: Option<Firing>,
}

/// A new trigger; a webhook's URL and signing key are shown only here.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedTrigger {
    pub trigger: Trigger,
    /// `/api/hooks/{token}`: keep it secret, it is the credential.
    pub webhook_path: Option<String>,
    /// The HMAC-SHA256 key of a signed webhook.
    pub signing_key: Option<String>,
}

fn firing(f: FiringRow) -> Firing {
    Firing {
        id: f.firing_id,
        fired_at: f.fired_at,
        outcome: FiringOutcome::parse(&f.outcome).unwrap_or(FiringOutcome::Failed),
        run_id: f.run_id,
        message: f.message,
        key: f.fire_key,
    }
}

async fn view(state: &AppState, t: TriggerRow) -> Result<Trigger, ApiError> {
    let config = config_of(&t)?;
    let upcoming = match &config {
        TriggerConfig::Schedule(s) if t.enabled => Schedule::parse(&s.cron, &s.timezone)
            .map(|s| s.upcoming(Utc::now(), UPCOMING))
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let last_firing = db::firings(&state.db, t.trigger_id)
        .await?
        .into_iter()
        .next()
        .map(firing);
    Ok(Trigger {
        id: t.trigger_id,
        workflow_id: t.workflow_id,
        name: t.name,
        enabled: t.enabled,
        config,
        owner_id: t.owner_id,
        next_fire_at: t.next_fire_at,
        upcoming,
        created_at: t.created_at,
        updated_at: t.updated_at,
        last_firing,
    })
}

async fn workflow_in_scope(
    state: &AppState,
    user: &CurrentUser,
    id: u64,
) -> Result<crate::db::workflows::Row, ApiError> {
    crate::db::workflows::get(&state.db, ClientScope::of(user), id)
        .await?
        .ok_or(ApiError::NotFound)
}

async fn trigger_in_scope(
    state: &AppState,
    user: &CurrentUser,
    id: u64,
) -> Result<TriggerRow, ApiError> {
    let t = db::get(&state.db, id).await?.ok_or(ApiError::NotFound)?;
    workflow_in_scope(state, user, t.workflow_id).await?;
    Ok(t)
}

/// Checks a configuration against the workflow; the schedule's first instant.
async fn check(
    state: &AppState,
    user: &CurrentUser,
    wf: &crate::db::workflows::Row,
    name: &str,
    config: &TriggerConfig,
) -> Result<Option<DateTime<Utc>>, ApiError> {
    let graph: Graph = serde_json::from_str(&wf.graph).map_err(anyhow::Error::from)?;
    let target = Target {
        workflow_id: wf.workflow_id,
        client_id: wf.client_id,
        graph: &graph,
    };
    check_in(&state.db, ClientScope::of(user), &target, name, config).await
}

/// The workflow a trigger is checked against: its graph may be one about
/// to be stored.
pub(crate) struct Target<'a> {
    /// 0 for a workflow not stored yet.
    pub workflow_id: u64,
    pub client_id: u64,
    pub graph: &'a Graph,
}

/// Checks a trigger's name and settings against the workflow it belongs
/// to; the first instant of a schedule.
pub(crate) async fn check_in(
    db: &sqlx::MySqlPool,
    scope: ClientScope,
    wf: &Target<'_>,
    name: &str,
    config: &TriggerConfig,
) -> Result<Option<DateTime<Utc>>, ApiError> {
    let mut errs = Vec::new();
    if name.trim().is_empty() || name.chars().count() > 200 {
        errs.push(FieldError::new("name", "must be 1 to 200 characters"));
    }
    let graph = wf.graph;
    let node_exists = |target: &str| {
        node_port(target).is_some_and(|(n, _)| graph.nodes.iter().any(|g| g.id == n))
    };
    let mut next = None;
    match config {
        TriggerConfig::Schedule(s) => {
            match Schedule::parse(&s.cron, &s.timezone) {
                Ok(sch) => next = sch.next_after(Utc::now()),
                Err(e @ katalusis_flow::ScheduleError::TimeZone(_)) => {
                    errs.push(FieldError::new("config.timezone", e.to_string()))
                }
                Err(e) => errs.push(FieldError::new("config.cron", e.to_string())),
            }
            for node in s.inputs.keys() {
                if !graph.nodes.iter().any(|g| &g.id == node) {
                    errs.push(FieldError::new(
                        format!("config.inputs.{node}"),
                        "no such node",
                    ));
                }
            }
        }
        TriggerConfig::Webhook(w) => {
            if !(1..=600).contains(&w.rate_per_minute) {
                errs.push(FieldError::new("config.ratePerMinute", "must be 1 to 600"));
            }
            for (target, pointer) in &w.inputs {
                if !node_exists(target) {
                    errs.push(FieldError::new(
                        format!("config.inputs.{target}"),
                        "must be `node.port` of a node in the workflow",
                    ));
                }
                if !(pointer.is_empty() || pointer.starts_with('/')) {
                    errs.push(FieldError::new(
                        format!("config.inputs.{target}"),
                        "must be a JSON pointer such as /order/total (or empty for the whole body)",
                    ));
                }
            }
        }
        TriggerConfig::Event(e) => {
            if let Some(target) = &e.input {
                if !node_exists(target) {
                    errs.push(FieldError::new(
                        "config.input",
                        "must be `node.port` of a node in the workflow",
                    ));
                }
            }
            match e.on {
                EventKind::TaskStatusChanged => {
                    let statuses = crate::tasks::db::statuses(db).await?;
                    match &e.status {
                        Some(s) if statuses.iter().any(|t| t.name.eq_ignore_ascii_case(s)) => {}
                        _ => errs.push(FieldError::new(
                            "config.status",
                            "must name a task status (e.g. Completed)",
                        )),
                    }
                }
                EventKind::RunFinished => {
                    if let Some(s) = &e.status {
                        if !["succeeded", "failed", "cancelled"].contains(&s.as_str()) {
                            errs.push(FieldError::new(
                                "config.status",
                                "must be succeeded, failed or cancelled",
                            ));
                        }
                    }
                    match e.source_workflow_id {
                        Some(id) if id == wf.workflow_id => errs.push(FieldError::new(
                            "config.sourceWorkflowId",
                            "a workflow cannot be started by its own runs",
                        )),
                        Some(id) => {
                            let source = crate::db::workflows::get(db, scope, id).await?;
                            if source.is_none_or(|s| s.client_id != wf.client_id) {
                                errs.push(FieldError::new(
                                    "config.sourceWorkflowId",
                                    "must be a workflow of the same client",
                                ));
                            }
                        }
                        None => errs.push(FieldError::new(
                            "config.sourceWorkflowId",
                            "name the workflow whose runs are watched",
                        )),
                    }
                }
                EventKind::ImportFinished => {
                    if let Some(s) = &e.status {
                        if !["applied", "failed"].contains(&s.as_str()) {
                            errs.push(FieldError::new(
                                "config.status",
                                "must be applied or failed",
                            ));
                        }
                    }
                }
                EventKind::TaskCreated => {}
            }
        }
    }
    if errs.is_empty() {
        Ok(next)
    } else {
        Err(ApiError::Validation(errs))
    }
}

pub(crate) fn random_token(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

pub(crate) fn sha256_hex(s: &str) -> String {
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

/// A workflow's triggers.
#[utoipa::path(get, path = "/api/workflows/{id}/triggers", tag = "triggers", security(("bearer" = [])),
    params(("id" = u64, Path)), responses((status = 200, body = Vec<Trigger>), (status = 404)))]
pub async fn list(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    Path(id): Path<u64>,
) -> Result<axum::Json<Vec<Trigger>>, ApiError> {
    workflow_in_scope(&state, &user, id).await?;
    let mut out = Vec::new();
    for t in db::of_workflow(&state.db, id).await? {
        out.push(view(&state, t).await?);
    }
    Ok(axum::Json(out))
}

/// Add a trigger; runs it starts belong to the caller (its owner).
#[utoipa::path(post, path = "/api/workflows/{id}/triggers", tag = "triggers", security(("bearer" = [])),
    params(("id" = u64, Path)), request_body = CreateTrigger,
    responses((status = 201, body = CreatedTrigger), (status = 404), (status = 422)))]
pub async fn create(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    audit: Audit,
    Path(id): Path<u64>,
    Json(req): Json<CreateTrigger>,
) -> Result<(StatusCode, axum::Json<CreatedTrigger>), ApiError> {
    audit.action("trigger.create").object("workflow", id);
    let created = create_trigger(&state, &user, id, req).await?;
    audit.object("trigger", created.trigger.id);
    Ok((StatusCode::CREATED, axum::Json(created)))
}

/// Adds a trigger to a workflow in the caller's scope, owned by the caller.
/// The endpoint and template instantiation share it.
pub(crate) async fn create_trigger(
    state: &AppState,
    user: &CurrentUser,
    id: u64,
    req: CreateTrigger,
) -> Result<CreatedTrigger, ApiError> {
    let wf = workflow_in_scope(state, user, id).await?;
    let next = check(state, user, &wf, &req.name, &req.config).await?;
    let (token, key) = match &req.config {
        TriggerConfig::Webhook(w) => (Some(random_token(32)), w.signed.then(|| random_token(32))),
        _ => (None, None),
    };
    let config = serde_json::to_string(&req.config).map_err(anyhow::Error::from)?;
    let sealed = key.as_deref().map(|k| state.settings.vault.seal(k));
    let now = Utc::now();
    let trigger_id = db::insert(
        &state.db,
        &NewTrigger {
            workflow_id: id,
            kind: req.config.kind(),
            name: req.name.trim(),
            enabled: req.enabled,
            config: &config,
            token_sha256: token.as_deref().map(sha256_hex).as_deref(),
            hmac_secret: sealed.as_deref(),
            owner_id: user.id,
            next_fire_at: next,
            now,
        },
    )
    .await?;
    let row = db::get(&state.db, trigger_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(CreatedTrigger {
        trigger: view(state, row).await?,
        webhook_path: token.map(|t| format!("/api/hooks/{t}")),
        signing_key: key,
    })
}

/// Rename, enable or disable, or change a trigger's settings (same kind).
#[utoipa::path(patch, path = "/api/triggers/{id}", tag = "triggers", security(("bearer" = [])),
    params(("id" = u64, Path)), request_body = PatchTrigger,
    responses((status = 200, body = Trigger), (status = 404), (status = 422)))]
pub async fn update(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    audit: Audit,
    Path(id): Path<u64>,
    Json(req): Json<PatchTrigger>,
) -> Result<axum::Json<Trigger>, ApiError> {
    audit.action("trigger.update").object("trigger", id);
    let t = trigger_in_scope(&state, &user, id).await?;
    let wf = workflow_in_scope(&state, &user, t.workflow_id).await?;
    let config = match req.config {
        Some(c) if c.kind() != t.kind => {
            return Err(ApiError::field(
                "config.kind",
                "cannot change a trigger's kind",
            ))
        }
        Some(c) => c,
        None => config_of(&t)?,
    };
    let name = req.name.unwrap_or(t.name.clone());
    let enabled = req.enabled.unwrap_or(t.enabled);
    let first = check(&state, &user, &wf, &name, &config).await?;
    // A schedule (re-)enabled or changed starts from its next instant after now.
    let next = match &config {
        TriggerConfig::Schedule(_) if enabled => first,
        _ => None,
    };
    let json = serde_json::to_string(&config).map_err(anyhow::Error::from)?;
    db::update(&state.db, id, name.trim(), enabled, &json, next, Utc::now()).await?;
    let row = db::get(&state.db, id).await?.ok_or(ApiError::NotFound)?;
    Ok(axum::Json(view(&state, row).await?))
}

#[utoipa::path(delete, path = "/api/triggers/{id}", tag = "triggers", security(("bearer" = [])),
    params(("id" = u64, Path)), responses((status = 204), (status = 404)))]
pub async fn delete(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    audit: Audit,
    Path(id): Path<u64>,
) -> Result<StatusCode, ApiError> {
    audit.action("trigger.delete").object("trigger", id);
    trigger_in_scope(&state, &user, id).await?;
    db::delete(&state.db, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The trigger's last 100 firings, newest first.
#[utoipa::path(get, path = "/api/triggers/{id}/firings", tag = "triggers", security(("bearer" = [])),
    params(("id" = u64, Path)), responses((status = 200, body = Vec<Firing>), (status = 404)))]
pub async fn firings(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    Path(id): Path<u64>,
) -> Result<axum::Json<Vec<Firing>>, ApiError> {
    trigger_in_scope(&state, &user, id).await?;
    Ok(axum::Json(
        db::firings(&state.db, id)
            .await?
            .into_iter()
            .map(firing)
            .collect(),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct HookQuery {
    /// Wait (bounded by KATALUSIS_SYNC_RUN_WAIT_SECONDS) for the run to finish.
    #[serde(default)]
    pub sync: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookAccepted {
    pub run_id: u64,
    pub firing_id: u64,
    /// The run's status when answering (final with `sync=true` if it finished in time).
    pub status: String,
}

/// Header carrying `sha256=<hex HMAC-SHA256 of the body>` for signed webhooks.
pub const SIGNATURE_HEADER: &str = "x-katalusis-signature";

/// Start a run from a webhook: the secret URL is the credential; a signed
/// webhook also checks the body's HMAC. 202 with the run id (200 when
/// `sync=true` and the run finished in time).
#[utoipa::path(post, path = "/api/hooks/{token}", tag = "triggers",
    params(("token" = String, Path), HookQuery), request_body = Object,
    responses((status = 202, body = HookAccepted), (status = 200, body = HookAccepted),
        (status = 401), (status = 404), (status = 422), (status = 429)))]
pub async fn hook(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<HookQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let t = db::by_token(&state.db, &sha256_hex(&token))
        .await?
        .filter(|t| t.enabled)
        .ok_or(ApiError::NotFound)?;
    let TriggerConfig::Webhook(cfg) = config_of(&t)? else {
        return Err(ApiError::NotFound);
    };
    let now = Utc::now();
    let recent =
        db::started_since(&state.db, t.trigger_id, now - chrono::Duration::seconds(60)).await?;
    if recent >= i64::from(cfg.rate_per_minute) {
        return Err(ApiError::TooManyRequests {
            retry_after_seconds: 60,
        });
    }
    let refuse = |why: &'static str| {
        let state = state.clone();
        let id = t.trigger_id;
        async move {
            let key = format!("refused:{}", uuid::Uuid::new_v4());
            if let Err(e) = db::claim(&state.db, id, &key, "refused", Some(why), Utc::now()).await {
                tracing::warn!(trigger_id = id, error = %e, "could not record a refused call");
            }
        }
    };
    if cfg.signed {
        let key = t
            .hmac_secret
            .as_deref()
            .map(|s| state.settings.vault.open(s))
            .transpose()
            .map_err(|e| anyhow::anyhow!("the webhook's signing key cannot be opened: {e}"))?
            .unwrap_or_default();
        let sig = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
        if !service::signature_ok(key.as_bytes(), &body, sig) {
            refuse("the signature does not match the body").await;
            return Err(ApiError::Unauthenticated);
        }
    }
    let payload: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                refuse("the body is not JSON").await;
                return Err(ApiError::InvalidBody(format!("the body is not JSON: {e}")));
            }
        }
    };
    let inputs = service::webhook_inputs(&cfg.inputs, &payload);
    let key = format!("call:{}", uuid::Uuid::new_v4());
    match service::fire(&state, &t, &key, inputs, now).await? {
        Fired::Started { firing_id, run_id } => {
            let mut code = StatusCode::ACCEPTED;
            if q.sync {
                let bound = Duration::from_secs(state.settings.sync_run_wait_seconds);
                if state.executor.wait(run_id, bound).await {
                    code = StatusCode::OK;
                }
            }
            let status = crate::db::runs::get(&state.db, ClientScope::All, run_id)
                .await?
                .map(|r| r.status.as_str().to_owned())
                .unwrap_or_default();
            Ok((
                code,
                axum::Json(HookAccepted {
                    run_id,
                    firing_id,
                    status,
                }),
            )
                .into_response())
        }
        Fired::Failed { message, .. } => Err(ApiError::Rule {
            code: "trigger_failed",
            message,
            details: json!({}),
        }),
        Fired::Duplicate => Err(ApiError::conflict("this call was already handled")),
    }
}
