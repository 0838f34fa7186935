//! Manifest endpoints: a workflow or an unsaved draft as its `Workflow`
//! manifest, a manifest parsed for the editor's YAML view, and a manifest
//! uploaded to create or update a workflow (same validator, same scope).

use axum::extract::State;
use axum::http::StatusCode;
use katalusis_crds::manifest::{self, Manifest, ManifestError};
use katalusis_crds::resources::WorkflowSource;
use katalusis_crds::{Graph, Problem};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::audit::Audit;
use crate::auth::{ClientScope, CurrentUser, RequireRole, Staff};
use crate::db;
use crate::error::ApiError;
use crate::http::extract::{Json, Path};
use crate::http::workflows::{self as wf, CreateWorkflow, UpdateWorkflow, Workflow};
use crate::state::AppState;

/// Largest manifest text accepted (a graph at the node limit fits easily).
const MAX_YAML_BYTES: usize = 2 * 1024 * 1024;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManifestText {
    /// The resource name (`metadata.name`), also the file name to save it under.
    pub name: String,
    /// The `Workflow` manifest as YAML.
    pub yaml: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RenderRequest {
    /// The workflow the draft belongs to, if saved already (its resource
    /// name is kept).
    #[serde(default)]
    pub workflow_id: Option<u64>,
    pub client_id: u64,
    #[schema(max_length = 200)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 5000)]
    pub description: String,
    pub graph: Graph,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ManifestRequest {
    /// The manifest as YAML (or JSON).
    pub yaml: String,
}

/// A parsed manifest as the editor uses it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ParsedWorkflow {
    pub resource_name: String,
    pub client_id: u64,
    pub name: String,
    pub description: String,
    pub graph: Graph,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ParseResponse {
    /// No manifest error and no graph error (warnings allowed).
    pub valid: bool,
    /// What is wrong with the text itself, with its line when known.
    pub error: Option<ManifestError>,
    pub workflow: Option<ParsedWorkflow>,
    /// The graph validator's problems, as `POST /api/workflows/validate` lists them.
    pub problems: Vec<Problem>,
}

fn check_size(yaml: &str) -> Result<(), ApiError> {
    if yaml.len() > MAX_YAML_BYTES {
        return Err(ApiError::field("yaml", "is larger than 2 MiB"));
    }
    Ok(())
}

async fn client_username(state: &AppState, client_id: u64) -> Result<String, ApiError> {
    Ok(db::users::get(&state.db, client_id)
        .await?
        .ok_or(ApiError::NotFound)?
        .username)
}

/// The resource name a workflow's manifests carry: the stored one, else
/// one derived from its name, kept from then on so renaming the workflow
/// does not rename its file.
async fn resource_name_of(state: &AppState, row: &db::workflows::Row) -> Result<String, ApiError> {
    if let Some(n) = &row.resource_name {
        return Ok(n.clone());
    }
    let derived = manifest::name_from_title(&row.name);
    if db::workflows::set_ui_resource_name(&state.db, row.workflow_id, &derived).await? {
        return Ok(derived);
    }
    // Another workflow of the client has it: make this one's unique.
    let suffix = format!("-{}", row.workflow_id);
    let mut base = derived;
    base.truncate(manifest::MAX_NAME - suffix.len());
    let unique = format!("{}{suffix}", base.trim_end_matches('-'));
    db::workflows::set_ui_resource_name(&state.db, row.workflow_id, &unique).await?;
    Ok(unique)
}

/// A saved workflow as its `Workflow` manifest (secret values masked).
#[utoipa::path(get, path = "/api/workflows/{id}/manifest", tag = "workflows",
    security(("bearer" = [])), params(("id" = u64, Path)),
    responses((status = 200, body = ManifestText), (status = 404)))]
pub async fn manifest(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    audit: Audit,
    Path(id): Path<u64>,
) -> Result<axum::Json<ManifestText>, ApiError> {
    audit.skip();
    let row = wf::scoped(&state, &user, id).await?;
    let name = resource_name_of(&state, &row).await?;
    let graph = wf::masked(&state, wf::parse_graph(&row.graph)?).await?;
    let m = Manifest {
        name: name.clone(),
        namespace: row.resource_namespace.clone(),
        client: client_username(&state, row.client_id).await?,
        display_name: row.name,
        description: row.description,
        graph,
    };
    Ok(axum::Json(ManifestText {
        name,
        yaml: manifest::render(&m),
    }))
}

/// An unsaved draft as its `Workflow` manifest, for the editor's YAML view.
#[utoipa::path(post, path = "/api/workflows/manifest/render", tag = "workflows",
    security(("bearer" = [])), request_body = RenderRequest,
    responses((status = 200, body = ManifestText), (status = 404)))]
pub async fn render(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    audit: Audit,
    Json(req): Json<RenderRequest>,
) -> Result<axum::Json<ManifestText>, ApiError> {
    audit.skip();
    if !ClientScope::of(&user)
        .allows(&state.db, req.client_id)
        .await?
    {
        return Err(ApiError::NotFound);
    }
    let (name, namespace) = match req.workflow_id {
        Some(id) => {
            let row = wf::scoped(&state, &user, id).await?;
            (
                resource_name_of(&state, &row).await?,
                row.resource_namespace,
            )
        }
        None => (manifest::name_from_title(&req.name), None),
    };
    let m = Manifest {
        name: name.clone(),
        namespace,
        client: client_username(&state, req.client_id).await?,
        display_name: req.name,
        description: req.description,
        graph: req.graph,
    };
    Ok(axum::Json(ManifestText {
        name,
        yaml: manifest::render(&m),
    }))
}

/// The manifest's client, if it names one the caller may work for.
async fn client_in_scope(
    state: &AppState,
    user: &CurrentUser,
    m: &Manifest,
) -> Result<Option<u64>, ApiError> {
    let Some(client) = crate::manifests::client_by_username(&state.db, &m.client).await? else {
        return Ok(None);
    };
    Ok(ClientScope::of(user)
        .allows(&state.db, client.id)
        .await?
        .then_some(client.id))
}

/// Parses a manifest for the editor's YAML view: the workflow it describes
/// and every problem, without saving anything.
#[utoipa::path(post, path = "/api/workflows/manifest/parse", tag = "workflows",
    security(("bearer" = [])), request_body = ManifestRequest,
    responses((status = 200, body = ParseResponse), (status = 422)))]
pub async fn parse(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    audit: Audit,
    Json(req): Json<ManifestRequest>,
) -> Result<axum::Json<ParseResponse>, ApiError> {
    audit.skip();
    check_size(&req.yaml)?;
    let invalid = |error: ManifestError| ParseResponse {
        valid: false,
        error: Some(error),
        workflow: None,
        problems: vec![],
    };
    let m = match manifest::parse(&req.yaml) {
        Ok(m) => m,
        Err(e) => return Ok(axum::Json(invalid(e))),
    };
    let Some(client_id) = client_in_scope(&state, &user, &m).await? else {
        return Ok(axum::Json(invalid(unknown_client(&m))));
    };
    let problems = crate::manifests::problems(&state.db, client_id, &m.graph).await?;
    Ok(axum::Json(ParseResponse {
        valid: !problems.iter().any(Problem::is_error),
        error: None,
        problems,
        workflow: Some(ParsedWorkflow {
            resource_name: m.name.clone(),
            client_id,
            name: m.title().to_owned(),
            description: m.description,
            graph: m.graph,
        }),
    }))
}

fn unknown_client(m: &Manifest) -> ManifestError {
    ManifestError {
        message: format!(
            "no active client named '{}' that you may work for (label katalusis.io/client)",
            m.client
        ),
        line: None,
        column: None,
    }
}

/// Creates a workflow from an uploaded manifest, or saves a new revision of
/// the workflow of the same client that carries its resource name.
#[utoipa::path(post, path = "/api/workflows/manifest/apply", tag = "workflows",
    security(("bearer" = [])), request_body = ManifestRequest,
    responses((status = 200, body = Workflow), (status = 201, body = Workflow),
        (status = 404), (status = 409), (status = 422)))]
pub async fn apply(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    audit: Audit,
    Json(req): Json<ManifestRequest>,
) -> Result<(StatusCode, axum::Json<Workflow>), ApiError> {
    audit.action("workflow.apply_manifest");
    check_size(&req.yaml)?;
    let m = manifest::parse(&req.yaml).map_err(|e| ApiError::Rule {
        code: "invalid_manifest",
        message: e.to_string(),
        details: json!({"line": e.line, "column": e.column}),
    })?;
    // Unassigned or unknown clients look the same: not found.
    let client_id = client_in_scope(&state, &user, &m)
        .await?
        .ok_or(ApiError::NotFound)?;
    let namespace = state
        .executor
        .cluster()
        .map(|c| c.namespace().to_owned())
        .or_else(|| m.namespace.clone())
        .unwrap_or_default();
    if let Some(owned) = db::workflows::by_cluster_resource(&state.db, &namespace, &m.name).await? {
        if owned.client_id == client_id {
            return Err(wf::managed_in_cluster(&owned));
        }
    }
    let title = m.title().to_owned();
    match db::workflows::by_ui_resource(&state.db, client_id, &m.name).await? {
        Some(current) => {
            audit.object("workflow", current.workflow_id);
            debug_assert_eq!(current.source.0, WorkflowSource::Ui);
            let row = wf::save(
                &state,
                &user,
                &current,
                UpdateWorkflow {
                    revision: current.revision,
                    name: title,
                    description: m.description,
                    graph: m.graph,
                },
            )
            .await?;
            Ok((StatusCode::OK, axum::Json(wf::view(&state, row).await?)))
        }
        None => {
            let id = wf::create_workflow_as(
                &state,
                &user,
                CreateWorkflow {
                    client_id,
                    name: title,
                    description: m.description,
                    graph: m.graph,
                },
                Some(&m.name),
                None,
            )
            .await?;
            audit.object("workflow", id);
            let row = wf::scoped(&state, &user, id).await?;
            state.executor.workflow_saved(row.clone());
            Ok((
                StatusCode::CREATED,
                axum::Json(wf::view(&state, row).await?),
            ))
        }
    }
}
