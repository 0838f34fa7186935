//! The template gallery: list and read templates, save a workflow as one,
//! delete one's own, and instantiate one for a client.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::db::{self, NewTemplate, TemplateRow};
use super::model::{self, Document, TemplateParameter};
use super::service;
use crate::audit::Audit;
use crate::auth::{ClientScope, RequireRole, Role, Staff};
use crate::error::ApiError;
use crate::http::extract::{Json, Path};
use crate::http::workflows::{create_workflow, CreateWorkflow};
use crate::state::AppState;
use crate::triggers::http::{create_trigger, CreateTrigger, CreatedTrigger};
use crate::triggers::model::TriggerConfig;

/// A template as the gallery shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowTemplate {
    pub id: u64,
    pub name: String,
    pub description: String,
    pub category: String,
    /// Shipped with the server (cannot be deleted).
    pub builtin: bool,
    /// Visible to every manager.
    pub shared: bool,
    pub owner_id: Option<u64>,
    pub node_count: usize,
    /// The node templates it uses, e.g. `flow.approval`.
    pub node_kinds: Vec<String>,
    pub parameters: Vec<TemplateParameter>,
    /// The kinds of the triggers an instance gets.
    pub trigger_kinds: Vec<String>,
    /// The graph, for a preview.
    #[schema(value_type = Object)]
    pub graph: Value,
    pub updated_at: DateTime<Utc>,
}

fn view(row: TemplateRow) -> Result<WorkflowTemplate, ApiError> {
    let doc = service::document_of(&row)?;
    let (node_count, node_kinds) = service::summary(&doc);
    Ok(WorkflowTemplate {
        id: row.template_id,
        name: row.name,
        description: row.description,
        category: row.category,
        builtin: row.builtin,
        shared: row.shared,
        owner_id: row.owner_id,
        node_count,
        node_kinds,
        trigger_kinds: doc
            .triggers
            .iter()
            .filter_map(|t| t.config["kind"].as_str().map(str::to_owned))
            .collect(),
        parameters: doc.parameters,
        graph: doc.graph,
        updated_at: row.updated_at,
    })
}

/// Built-in and shared templates, and the caller's own.
#[utoipa::path(get, path = "/api/workflow-templates", tag = "workflows", security(("bearer" = [])),
    responses((status = 200, body = Vec<WorkflowTemplate>)))]
pub async fn list(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
) -> Result<axum::Json<Vec<WorkflowTemplate>>, ApiError> {
    let rows = db::visible(&state.db, user.id).await?;
    Ok(axum::Json(
        rows.into_iter().map(view).collect::<Result<_, _>>()?,
    ))
}

#[utoipa::path(get, path = "/api/workflow-templates/{id}", tag = "workflows", security(("bearer" = [])),
    params(("id" = u64, Path)), responses((status = 200, body = WorkflowTemplate), (status = 404)))]
pub async fn get(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    Path(id): Path<u64>,
) -> Result<axum::Json<WorkflowTemplate>, ApiError> {
    let row = db::get_visible(&state.db, user.id, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(axum::Json(view(row)?))
}

/// Save a workflow as a template.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SaveTemplate {
    pub workflow_id: u64,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 5000)]
    pub description: String,
    #[serde(default)]
    #[schema(max_length = 100)]
    pub category: Option<String>,
    /// Share with every manager (admins only).
    #[serde(default)]
    pub shared: bool,
    /// Values asked for when instantiating.
    #[serde(default)]
    pub parameters: Vec<TemplateParameter>,
}

/// Save one of your workflows as a template (secret parameter values are
/// left out); private unless an admin shares it.
#[utoipa::path(post, path = "/api/workflow-templates", tag = "workflows", security(("bearer" = [])),
    request_body = SaveTemplate,
    responses((status = 201, body = WorkflowTemplate), (status = 403), (status = 404), (status = 422)))]
pub async fn save(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    audit: Audit,
    Json(req): Json<SaveTemplate>,
) -> Result<(StatusCode, axum::Json<WorkflowTemplate>), ApiError> {
    audit
        .action("workflow_template.create")
        .object("workflow", req.workflow_id);
    if req.shared && user.role != Role::Admin {
        return Err(ApiError::Forbidden);
    }
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::field("name", "must be 1 to 200 characters"));
    }
    if req.description.chars().count() > 5000 {
        return Err(ApiError::field(
            "description",
            "must be at most 5000 characters",
        ));
    }
    let wf = crate::db::workflows::get(&state.db, ClientScope::of(&user), req.workflow_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let graph: katalusis_crds::Graph =
        serde_json::from_str(&wf.graph).map_err(anyhow::Error::from)?;
    let graph = service::without_secrets(&state.db, graph).await?;
    let doc = Document {
        graph: serde_json::to_value(&graph).map_err(anyhow::Error::from)?,
        parameters: req.parameters,
        triggers: Vec::new(),
    };
    // Every parameter must land somewhere in the graph.
    let defaults: BTreeMap<String, Value> = doc
        .parameters
        .iter()
        .map(|p| {
            (
                p.name.clone(),
                p.default.clone().unwrap_or(Value::String("x".into())),
            )
        })
        .collect();
    model::instantiate(&doc, &defaults).map_err(ApiError::Validation)?;
    let document = serde_json::to_string(&doc).map_err(anyhow::Error::from)?;
    let id = db::insert(
        &state.db,
        &NewTemplate {
            name,
            description: req.description.trim(),
            category: req
                .category
                .as_deref()
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .unwrap_or("Saved"),
            document: &document,
            shared: req.shared,
            owner_id: user.id,
            now: Utc::now(),
        },
    )
    .await?;
    audit.object("workflow_template", id);
    let row = db::get_visible(&state.db, user.id, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok((StatusCode::CREATED, axum::Json(view(row)?)))
}

/// Delete a template: its owner or an admin; shipped ones answer 409.
#[utoipa::path(delete, path = "/api/workflow-templates/{id}", tag = "workflows", security(("bearer" = [])),
    params(("id" = u64, Path)), responses((status = 204), (status = 403), (status = 404), (status = 409)))]
pub async fn delete(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    audit: Audit,
    Path(id): Path<u64>,
) -> Result<StatusCode, ApiError> {
    audit
        .action("workflow_template.delete")
        .object("workflow_template", id);
    let row = db::get_visible(&state.db, user.id, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if row.builtin {
        return Err(ApiError::conflict("shipped templates cannot be deleted"));
    }
    if row.owner_id != Some(user.id) && user.role != Role::Admin {
        return Err(ApiError::Forbidden);
    }
    db::delete(&state.db, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Instantiate {
    pub client_id: u64,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// Parameter values by name.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub values: BTreeMap<String, Value>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Instantiated {
    pub workflow_id: u64,
    pub triggers: Vec<CreatedTrigger>,
}

/// Create a workflow for a client from a template, with its parameters
/// filled in, and its triggers. Nothing is created when a value is missing
/// or the graph is not valid.
#[utoipa::path(post, path = "/api/workflow-templates/{id}/instantiate", tag = "workflows",
    security(("bearer" = [])), params(("id" = u64, Path)), request_body = Instantiate,
    responses((status = 201, body = Instantiated), (status = 404), (status = 422)))]
pub async fn instantiate(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    audit: Audit,
    Path(id): Path<u64>,
    Json(req): Json<Instantiate>,
) -> Result<(StatusCode, axum::Json<Instantiated>), ApiError> {
    audit
        .action("workflow_template.instantiate")
        .object("workflow_template", id);
    let row = db::get_visible(&state.db, user.id, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let doc = service::document_of(&row)?;
    let (graph, triggers) = model::instantiate(&doc, &req.values).map_err(ApiError::Validation)?;
    let mut graph = service::graph_of(graph)?;
    service::pin_latest(&state.db, &mut graph).await?;
    // Check the triggers before creating anything.
    let mut configs = Vec::new();
    for (i, t) in triggers.into_iter().enumerate() {
        let config: TriggerConfig = serde_json::from_value(t.config).map_err(|e| {
            ApiError::field(&format!("triggers[{i}]"), &format!("is not a trigger: {e}"))
        })?;
        configs.push(CreateTrigger {
            name: t.name,
            enabled: true,
            config,
        });
    }
    let problems: Vec<_> = {
        let catalog = crate::db::templates::catalog_for(&state.db, &graph.template_refs()).await?;
        katalusis_crds::validate_graph(&graph, &catalog)
            .into_iter()
            .filter(katalusis_crds::Problem::is_error)
            .collect()
    };
    if !problems.is_empty() {
        return Err(ApiError::InvalidGraph(problems));
    }
    let workflow_id = create_workflow(
        &state,
        &user,
        CreateWorkflow {
            client_id: req.client_id,
            name: req.name,
            description: row.description.clone(),
            graph,
        },
    )
    .await?;
    audit.object("workflow", workflow_id);
    let mut created = Vec::new();
    for t in configs {
        match create_trigger(&state, &user, workflow_id, t).await {
            Ok(c) => created.push(c),
            Err(e) => {
                // All or nothing: the workflow goes with a trigger that cannot be made.
                crate::db::workflows::soft_delete(&state.db, workflow_id).await?;
                return Err(e);
            }
        }
    }
    Ok((
        StatusCode::CREATED,
        axum::Json(Instantiated {
            workflow_id,
            triggers: created,
        }),
    ))
}
