use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use katalusis_crds::resources::WorkflowSource;
use katalusis_crds::{validate_graph, Graph, Problem};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::extract::{paging, Json, Paged, Path, Query};
use crate::audit::Audit;
use crate::auth::{ClientScope, CurrentUser, RequireRole, Role, Staff};
use crate::db;
use crate::domain::{self, Errors};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Workflow {
    pub id: u64,
    pub client_id: u64,
    pub name: String,
    pub description: String,
    pub revision: u32,
    /// Secret parameter values are never returned: they read `{"set": true}`.
    pub graph: Graph,
    pub created_by: u64,
    pub created_at: DateTime<Utc>,
    pub updated_by: u64,
    pub updated_at: DateTime<Utc>,
    /// Validation problems of the saved graph; drafts may be saved with errors,
    /// but only a graph without errors can run.
    pub problems: Vec<Problem>,
    /// Where the workflow is edited: `cluster` ones come from `kubectl apply`.
    pub source: WorkflowSource,
    /// The Kubernetes resource name its manifests carry, once it has one.
    pub resource_name: Option<String>,
    /// The namespace of a cluster-managed workflow's resource.
    pub resource_namespace: Option<String>,
    /// Whether browser edits are accepted: false for cluster-managed
    /// workflows unless the admin enabled write-back.
    pub editable: bool,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowSummary {
    pub id: u64,
    pub client_id: u64,
    pub name: String,
    pub description: String,
    pub revision: u32,
    pub nodes: usize,
    pub created_by: u64,
    pub updated_by: u64,
    pub updated_at: DateTime<Utc>,
    pub source: WorkflowSource,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateWorkflow {
    pub client_id: u64,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    #[serde(default)]
    #[schema(
        max_length = 5000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub description: String,
    #[serde(default)]
    pub graph: Graph,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateWorkflow {
    /// The revision this edit is based on; a stale one answers 409.
    pub revision: u32,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    #[serde(default)]
    #[schema(
        max_length = 5000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub description: String,
    /// Secret parameters: a string sets a new value (encrypted before it is
    /// stored); `{"set": true}` keeps the stored one.
    pub graph: Graph,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ValidateRequest {
    pub graph: Graph,
    /// The workflow's client: when given, Query nodes must name connections
    /// allowed for it.
    #[serde(default)]
    pub client_id: Option<u64>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValidateResponse {
    /// True when there are no errors (warnings allowed).
    pub valid: bool,
    pub problems: Vec<Problem>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevisionSummary {
    pub revision: u32,
    pub name: String,
    pub nodes: usize,
    pub created_by: u64,
    pub created_at: DateTime<Utc>,
    /// The cluster identity (field manager) that applied a cluster-authored revision.
    pub author: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Revision {
    pub revision: u32,
    pub name: String,
    pub description: String,
    pub graph: Graph,
    pub created_by: u64,
    pub created_at: DateTime<Utc>,
    pub author: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListWorkflows {
    pub client_id: Option<u64>,
    /// Only workflows created by this user (a manager or an admin).
    pub created_by: Option<u64>,
    /// Matches the name.
    pub q: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

pub(crate) fn parse_graph(s: &str) -> Result<Graph, ApiError> {
    serde_json::from_str(s)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("stored graph unreadable: {e}")))
}

pub async fn problems_of(state: &AppState, graph: &Graph) -> Result<Vec<Problem>, ApiError> {
    problems_in(&state.db, graph).await
}

/// The graph validator's problems against the stored library.
pub(crate) async fn problems_in(
    db: &sqlx::MySqlPool,
    graph: &Graph,
) -> Result<Vec<Problem>, ApiError> {
    let catalog = db::templates::catalog_for(db, &graph.template_refs()).await?;
    Ok(validate_graph(graph, &catalog))
}

/// Problems for Query nodes that name a connection which does not exist or
/// is not allowed for `client_id`: a run would fail there.
pub(crate) async fn connection_problems(
    state: &AppState,
    client_id: u64,
    graph: &Graph,
) -> Result<Vec<Problem>, ApiError> {
    connection_problems_in(&state.db, client_id, graph).await
}

pub(crate) async fn connection_problems_in(
    db: &sqlx::MySqlPool,
    client_id: u64,
    graph: &Graph,
) -> Result<Vec<Problem>, ApiError> {
    let catalog = db::templates::catalog_for(db, &graph.template_refs()).await?;
    let mut problems = Vec::new();
    for node in &graph.nodes {
        let is_query = catalog.get(&node.template).is_some_and(|(spec, _)| {
            spec.builtin == Some(katalusis_crds::builtin::BuiltinKind::Query)
        });
        let name = node
            .params
            .get("connection")
            .and_then(serde_json::Value::as_str)
            .map(str::trim)
            .unwrap_or("");
        // An empty name is the graph validator's to report.
        if !is_query || name.is_empty() {
            continue;
        }
        if !crate::connections::service::is_allowed(db, client_id, name).await? {
            let mut p = Problem::error(
                "connection_not_allowed",
                format!(
                    "node '{}': no connection named '{name}' is allowed for this workflow's client",
                    node.id
                ),
            );
            p.node_id = Some(node.id.clone());
            problems.push(p);
        }
    }
    Ok(problems)
}

/// Refuses a graph whose Query nodes name connections the client may not use.
async fn check_connections(
    state: &AppState,
    client_id: u64,
    graph: &Graph,
) -> Result<(), ApiError> {
    let problems = connection_problems(state, client_id, graph).await?;
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ApiError::InvalidGraph(problems))
    }
}

/// The graph as responses show it: secrets as `{"set": true}`.
pub(crate) async fn masked(state: &AppState, mut graph: Graph) -> Result<Graph, ApiError> {
    let catalog = db::templates::catalog_for(&state.db, &graph.template_refs()).await?;
    crate::secrets::params::mask(&mut graph, |r| catalog.get(r).map(|(s, _)| s));
    Ok(graph)
}

/// Seals new secret values of an incoming graph; `{"set": true}` keeps the
/// value `previous` stores. Returns the graph to store.
async fn sealed(
    state: &AppState,
    mut graph: Graph,
    previous: Option<&str>,
) -> Result<Graph, ApiError> {
    let previous = previous.map(parse_graph).transpose()?;
    let catalog = db::templates::catalog_for(&state.db, &graph.template_refs()).await?;
    crate::secrets::params::seal_incoming(
        &mut graph,
        |r| catalog.get(r).map(|(s, _)| s),
        previous.as_ref(),
        &state.settings.vault,
    )
    .map_err(ApiError::Validation)?;
    Ok(graph)
}

pub(crate) async fn view(state: &AppState, row: db::workflows::Row) -> Result<Workflow, ApiError> {
    let graph = parse_graph(&row.graph)?;
    let problems = problems_of(state, &graph).await?;
    let graph = masked(state, graph).await?;
    let editable = row.source.0 == WorkflowSource::Ui
        || crate::manifests::settings::load(&state.db)
            .await?
            .write_back;
    Ok(Workflow {
        source: row.source.0,
        resource_name: row.resource_name,
        resource_namespace: row.resource_namespace,
        editable,
        id: row.workflow_id,
        client_id: row.client_id,
        name: row.name,
        description: row.description,
        revision: row.revision,
        graph,
        created_by: row.created_by,
        created_at: row.created_at,
        updated_by: row.updated_by,
        updated_at: row.updated_at,
        problems,
    })
}

fn check_fields(
    name: &str,
    description: &str,
    graph: &Graph,
) -> Result<(String, String, String), ApiError> {
    let mut errs = Errors::default();
    let name = errs.check(domain::text("name", name, 1, 200));
    let description = if description.trim().is_empty() {
        Some(String::new())
    } else {
        errs.check(domain::text("description", description, 0, 5000))
    };
    if graph.nodes.len() > katalusis_crds::validate::MAX_NODES {
        errs.0.push(katalusis_crds::FieldError::new(
            "graph.nodes",
            "too many nodes",
        ));
    }
    errs.finish()?;
    let graph_json = serde_json::to_string(graph).map_err(anyhow::Error::from)?;
    Ok((
        name.unwrap_or_default(),
        description.unwrap_or_default(),
        graph_json,
    ))
}

/// Load a workflow the caller may see, or 404.
pub(crate) async fn scoped(
    state: &AppState,
    user: &CurrentUser,
    id: u64,
) -> Result<db::workflows::Row, ApiError> {
    db::workflows::get(&state.db, ClientScope::of(user), id)
        .await?
        .ok_or(ApiError::NotFound)
}

/// Workflows of the clients the caller may see.
#[utoipa::path(get, path = "/api/workflows", tag = "workflows", security(("bearer" = [])),
    params(ListWorkflows), responses((status = 200, body = Paged<WorkflowSummary>)))]
pub async fn list(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    Query(q): Query<ListWorkflows>,
) -> Result<axum::Json<Paged<WorkflowSummary>>, ApiError> {
    let (page, per_page, offset) = paging(q.page, q.per_page)?;
    let f = db::workflows::Filter {
        client_id: q.client_id,
        created_by: q.created_by,
        q: q.q.filter(|s| !s.trim().is_empty()),
    };
    let (rows, total) =
        db::workflows::list(&state.db, ClientScope::of(&user), &f, per_page, offset).await?;
    let mut items = Vec::with_capacity(rows.len());
    for r in rows {
        let nodes = parse_graph(&r.graph)?.nodes.len();
        items.push(WorkflowSummary {
            id: r.workflow_id,
            client_id: r.client_id,
            name: r.name,
            description: r.description,
            revision: r.revision,
            nodes,
            created_by: r.created_by,
            updated_by: r.updated_by,
            updated_at: r.updated_at,
            source: r.source.0,
        });
    }
    Ok(axum::Json(Paged::numbered(items, total, page, per_page)))
}

/// Create a workflow for a client the caller may work for.
#[utoipa::path(post, path = "/api/workflows", tag = "workflows", security(("bearer" = [])),
    request_body = CreateWorkflow,
    responses((status = 201, body = Workflow), (status = 404), (status = 422)))]
pub async fn create(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    audit: Audit,
    Json(req): Json<CreateWorkflow>,
) -> Result<(StatusCode, axum::Json<Workflow>), ApiError> {
    audit.action("workflow.create");
    let id = create_workflow(&state, &user, req).await?;
    audit.object("workflow", id);
    let row = scoped(&state, &user, id).await?;
    state.executor.workflow_saved(row.clone());
    Ok((StatusCode::CREATED, axum::Json(view(&state, row).await?)))
}

/// Creates a workflow for a client in the caller's scope; its id. The
/// create endpoint and template instantiation share it.
pub(crate) async fn create_workflow(
    state: &AppState,
    user: &CurrentUser,
    req: CreateWorkflow,
) -> Result<u64, ApiError> {
    create_workflow_as(state, user, req, None, None).await
}

/// [`create_workflow`] with the resource name its manifests carry, and the
/// stored graph of a copied workflow whose secrets (`{"set": true}`) it keeps.
pub(crate) async fn create_workflow_as(
    state: &AppState,
    user: &CurrentUser,
    req: CreateWorkflow,
    resource_name: Option<&str>,
    copied_from: Option<&str>,
) -> Result<u64, ApiError> {
    check_fields(&req.name, &req.description, &req.graph)?;
    let graph = sealed(state, req.graph, copied_from).await?;
    let (name, description, graph_json) = check_fields(&req.name, &req.description, &graph)?;
    // Unassigned or unknown clients look the same: not found.
    if !ClientScope::of(user)
        .allows(&state.db, req.client_id)
        .await?
    {
        return Err(ApiError::NotFound);
    }
    let client = db::users::get(&state.db, req.client_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if client.role != Role::Client.as_str() {
        return Err(ApiError::field("clientId", "is not a client"));
    }
    if !client.active {
        return Err(ApiError::field("clientId", "is deactivated"));
    }
    check_connections(state, req.client_id, &graph).await?;
    let mut tx = state.db.begin().await?;
    let id = db::workflows::insert(
        &mut tx,
        &db::workflows::NewWorkflow {
            resource: resource_name.map(|n| (None, n)),
            ..db::workflows::NewWorkflow::ui(
                req.client_id,
                &name,
                &description,
                &graph_json,
                user.id,
            )
        },
    )
    .await
    .map_err(|e| match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => ApiError::ConflictCode {
            code: "resource_name_taken",
            message: "another workflow of this client already uses this resource name".into(),
            details: serde_json::Value::Null,
        },
        e => e.into(),
    })?;
    tx.commit().await?;
    Ok(id)
}

/// A workflow with its graph and current validation problems.
#[utoipa::path(get, path = "/api/workflows/{id}", tag = "workflows", security(("bearer" = [])),
    params(("id" = u64, Path)), responses((status = 200, body = Workflow), (status = 404)))]
pub async fn get(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    Path(id): Path<u64>,
) -> Result<axum::Json<Workflow>, ApiError> {
    let row = scoped(&state, &user, id).await?;
    Ok(axum::Json(view(&state, row).await?))
}

/// Save a new revision. `revision` must be the current one, else 409 and nothing changes.
#[utoipa::path(put, path = "/api/workflows/{id}", tag = "workflows", security(("bearer" = [])),
    params(("id" = u64, Path)), request_body = UpdateWorkflow,
    responses((status = 200, body = Workflow), (status = 404), (status = 409), (status = 422)))]
pub async fn update(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    audit: Audit,
    Path(id): Path<u64>,
    Json(req): Json<UpdateWorkflow>,
) -> Result<axum::Json<Workflow>, ApiError> {
    audit.action("workflow.update").object("workflow", id);
    let current = scoped(&state, &user, id).await?;
    let row = save(&state, &user, &current, req).await?;
    Ok(axum::Json(view(&state, row).await?))
}

/// Refuses browser changes to a cluster-managed workflow (its resource is
/// the source of truth) unless the admin enabled write-back.
pub(crate) async fn check_editable(
    state: &AppState,
    row: &db::workflows::Row,
) -> Result<(), ApiError> {
    if row.source.0 == WorkflowSource::Cluster
        && !crate::manifests::settings::load(&state.db)
            .await?
            .write_back
    {
        return Err(managed_in_cluster(row));
    }
    Ok(())
}

pub(crate) fn managed_in_cluster(row: &db::workflows::Row) -> ApiError {
    ApiError::ConflictCode {
        code: "workflow_managed_in_cluster",
        message: format!(
            "this workflow is managed in the cluster (Workflow {}/{}): change it there, or copy it to a workflow managed here",
            row.resource_namespace.as_deref().unwrap_or_default(),
            row.resource_name.as_deref().unwrap_or_default()
        ),
        details: json!({
            "namespace": row.resource_namespace,
            "name": row.resource_name,
        }),
    }
}

/// Saves a new revision of `current` from a browser edit (or an uploaded
/// manifest): the same checks, secrets sealing and compare-and-set on the
/// revision; for a cluster-managed workflow with write-back on, the change
/// is applied to its resource first.
pub(crate) async fn save(
    state: &AppState,
    user: &CurrentUser,
    current: &db::workflows::Row,
    req: UpdateWorkflow,
) -> Result<db::workflows::Row, ApiError> {
    let id = current.workflow_id;
    check_editable(state, current).await?;
    check_fields(&req.name, &req.description, &req.graph)?;
    let graph = sealed(state, req.graph, Some(&current.graph)).await?;
    let (name, description, graph_json) = check_fields(&req.name, &req.description, &graph)?;
    check_connections(state, current.client_id, &graph).await?;
    if req.revision != current.revision {
        return Err(stale(req.revision, current.revision));
    }
    let generation = if current.source.0 == WorkflowSource::Cluster {
        Some(write_back(state, current, &name, &description, &graph).await?)
    } else {
        None
    };
    let mut tx = state.db.begin().await?;
    let saved = db::workflows::update(
        &mut tx,
        id,
        req.revision,
        &name,
        &description,
        &graph_json,
        user.id,
    )
    .await?;
    if saved.is_none() {
        return Err(stale(req.revision, current.revision));
    }
    tx.commit().await?;
    if let Some(g) = generation {
        db::workflows::set_resource_generation(&state.db, id, g).await?;
    }
    let row = db::workflows::get(&state.db, ClientScope::All, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    state.executor.workflow_saved(row.clone());
    Ok(row)
}

fn stale(yours: u32, current: u32) -> ApiError {
    ApiError::Conflict {
        message: format!(
            "the workflow was changed by someone else (your revision {yours}, current {current})"
        ),
        details: json!({"currentRevision": current}),
    }
}

/// Applies a browser edit to a cluster-managed workflow's resource; the
/// resource's new generation.
async fn write_back(
    state: &AppState,
    current: &db::workflows::Row,
    name: &str,
    description: &str,
    graph: &Graph,
) -> Result<i64, ApiError> {
    let Some(cluster) = state.executor.cluster() else {
        return Err(ApiError::Unavailable(
            "this server does not run in kubernetes mode, so it cannot write to the cluster".into(),
        ));
    };
    use crate::executor::cluster::adopt::WriteBackError;
    cluster
        .write_back(current, name, description, graph)
        .await
        .map_err(|e| match e {
            WriteBackError::Conflict(message) => ApiError::ConflictCode {
                code: "cluster_conflict",
                message,
                details: serde_json::Value::Null,
            },
            WriteBackError::Cluster(e) => ApiError::Unavailable(e.to_string()),
        })
}

/// A copy of a workflow managed here, e.g. to edit a cluster-managed one in
/// the browser. Secret parameter values are kept.
#[utoipa::path(post, path = "/api/workflows/{id}/copy", tag = "workflows", security(("bearer" = [])),
    params(("id" = u64, Path)), responses((status = 201, body = Workflow), (status = 404)))]
pub async fn copy(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    audit: Audit,
    Path(id): Path<u64>,
) -> Result<(StatusCode, axum::Json<Workflow>), ApiError> {
    audit.action("workflow.copy").object("workflow", id);
    let source = scoped(&state, &user, id).await?;
    let graph = masked(&state, parse_graph(&source.graph)?).await?;
    let mut name = format!("{} (copy)", source.name);
    if name.chars().count() > 200 {
        name = name.chars().take(200).collect();
    }
    let req = CreateWorkflow {
        client_id: source.client_id,
        name,
        description: source.description.clone(),
        graph,
    };
    let new_id = create_workflow_as(&state, &user, req, None, Some(&source.graph)).await?;
    let row = scoped(&state, &user, new_id).await?;
    state.executor.workflow_saved(row.clone());
    Ok((StatusCode::CREATED, axum::Json(view(&state, row).await?)))
}

/// Delete a workflow (kept for the history of its runs).
#[utoipa::path(delete, path = "/api/workflows/{id}", tag = "workflows", security(("bearer" = [])),
    params(("id" = u64, Path)), responses((status = 204), (status = 404)))]
pub async fn delete(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    audit: Audit,
    Path(id): Path<u64>,
) -> Result<StatusCode, ApiError> {
    audit.action("workflow.delete").object("workflow", id);
    let row = scoped(&state, &user, id).await?;
    // Deleting the resource in the cluster archives it; the browser never
    // deletes what the cluster owns.
    if row.source.0 == WorkflowSource::Cluster {
        return Err(managed_in_cluster(&row));
    }
    db::workflows::soft_delete(&state.db, id).await?;
    state.executor.workflow_deleted(id);
    Ok(StatusCode::NO_CONTENT)
}

/// Every saved revision, newest first.
#[utoipa::path(get, path = "/api/workflows/{id}/revisions", tag = "workflows", security(("bearer" = [])),
    params(("id" = u64, Path)), responses((status = 200, body = Vec<RevisionSummary>), (status = 404)))]
pub async fn revisions(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    Path(id): Path<u64>,
) -> Result<axum::Json<Vec<RevisionSummary>>, ApiError> {
    scoped(&state, &user, id).await?;
    let rows = db::workflows::revisions(&state.db, id).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(RevisionSummary {
            nodes: parse_graph(&r.graph)?.nodes.len(),
            revision: r.revision,
            name: r.name,
            created_by: r.created_by,
            created_at: r.created_at,
            author: r.author,
        });
    }
    Ok(axum::Json(out))
}

/// One saved revision (to view or restore by saving it again).
#[utoipa::path(get, path = "/api/workflows/{id}/revisions/{revision}", tag = "workflows",
    security(("bearer" = [])), params(("id" = u64, Path), ("revision" = u32, Path)),
    responses((status = 200, body = Revision), (status = 404)))]
pub async fn revision(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    Path((id, rev)): Path<(u64, u32)>,
) -> Result<axum::Json<Revision>, ApiError> {
    scoped(&state, &user, id).await?;
    let r = db::workflows::revision(&state.db, id, rev)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(axum::Json(Revision {
        graph: masked(&state, parse_graph(&r.graph)?).await?,
        revision: r.revision,
        name: r.name,
        description: r.description,
        created_by: r.created_by,
        created_at: r.created_at,
        author: r.author,
    }))
}

/// Validate a graph without saving it: every problem at once, with node, edge
/// and port ids for the editor to highlight. With `clientId`, also Query
/// nodes naming connections that client may not use (saving refuses those).
#[utoipa::path(post, path = "/api/workflows/validate", tag = "workflows", security(("bearer" = [])),
    request_body = ValidateRequest, responses((status = 200, body = ValidateResponse), (status = 404)))]
pub async fn validate(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    audit: Audit,
    Json(req): Json<ValidateRequest>,
) -> Result<axum::Json<ValidateResponse>, ApiError> {
    audit.skip();
    let mut problems = problems_of(&state, &req.graph).await?;
    if let Some(client_id) = req.client_id {
        // Unassigned or unknown clients look the same: not found.
        if !ClientScope::of(&user).allows(&state.db, client_id).await? {
            return Err(ApiError::NotFound);
        }
        problems.extend(connection_problems(&state, client_id, &req.graph).await?);
    }
    Ok(axum::Json(ValidateResponse {
        valid: !problems.iter().any(Problem::is_error),
        problems,
    }))
}
