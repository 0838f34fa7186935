use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

use katalusis_crds::template::check_param_value;
use katalusis_crds::{FieldError, PortType, TemplateRef, TemplateSpec};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::extract::{Json, Path, Query};
use crate::audit::Audit;
use crate::auth::tokens::sha256_hex;
use crate::auth::{Admin, RequireRole, Staff};
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// One version of a node template.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Template {
    pub version: u32,
    pub created_at: DateTime<Utc>,
    pub created_by: u64,
    pub deleted: bool,
    /// SHA-256 of the canonical spec; equal hashes mean identical versions.
    pub sha256: String,
    #[serde(flatten)]
    pub spec: TemplateSpec,
}

impl TryFrom<db::templates::Row> for Template {
    type Error = ApiError;
    fn try_from(r: db::templates::Row) -> Result<Self, ApiError> {
        Ok(Self {
            spec: r.spec()?,
            version: r.version,
            created_at: r.created_at,
            created_by: r.created_by,
            deleted: r.deleted_at.is_some(),
            sha256: r.spec_sha256,
        })
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListTemplates {
    /// Matches name or title.
    pub q: Option<String>,
    pub category: Option<String>,
    /// Admins only: include deleted templates.
    pub include_deleted: Option<bool>,
}

fn checked(state: &AppState, spec: &TemplateSpec) -> Result<(String, String), ApiError> {
    let mut errs = spec.validate(&state.settings.limit_maxima);
    // The flow templates are the platform's; an edited copy would not match
    // what the executors run for them.
    if spec.builtin.is_some() {
        errs.push(katalusis_crds::FieldError::new(
            "builtin",
            "is set only on the platform's own flow templates",
        ));
    }
    if spec.name.starts_with(katalusis_crds::BUILTIN_PREFIX) {
        errs.push(katalusis_crds::FieldError::new(
            "name",
            format!(
                "names starting with '{}' are reserved for the platform's flow nodes",
                katalusis_crds::BUILTIN_PREFIX
            ),
        ));
    }
    if let Some(image) = &spec.image {
        let allowed = &state.settings.image_allow_list;
        if katalusis_crds::template::is_image_reference(image) && !allowed.contains(image) {
            errs.push(katalusis_crds::FieldError::new(
                "image",
                if allowed.is_empty() {
                    "no node images are allowed on this server (KATALUSIS_IMAGE_ALLOW_LIST is empty)"
                        .to_owned()
                } else {
                    format!("must be one of the allowed node images: {}", allowed.join(", "))
                },
            ));
        }
    }
    if !errs.is_empty() {
        return Err(ApiError::Validation(errs));
    }
    let json = serde_json::to_string(spec).map_err(anyhow::Error::from)?;
    let sha = sha256_hex(&json);
    Ok((json, sha))
}

/// The newest version of every template (the node library).
#[utoipa::path(get, path = "/api/templates", tag = "templates", security(("bearer" = [])),
    params(ListTemplates), responses((status = 200, body = Vec<Template>)))]
pub async fn list(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    Query(q): Query<ListTemplates>,
) -> Result<axum::Json<Vec<Template>>, ApiError> {
    let filter = db::templates::Filter {
        q: q.q.filter(|s| !s.trim().is_empty()),
        category: q.category.filter(|s| !s.is_empty()),
        include_deleted: user.is_admin() && q.include_deleted.unwrap_or(false),
    };
    let rows = db::templates::list_latest(&state.db, &filter).await?;
    Ok(axum::Json(
        rows.into_iter()
            .map(Template::try_from)
            .collect::<Result<_, _>>()?,
    ))
}

/// Create a new template (version 1).
#[utoipa::path(post, path = "/api/templates", tag = "templates", security(("bearer" = [])),
    request_body = TemplateSpec,
    responses((status = 201, body = Template), (status = 409), (status = 422)))]
pub async fn create(
    State(state): State<AppState>,
    RequireRole(admin, ..): RequireRole<Admin>,
    audit: Audit,
    Json(spec): Json<TemplateSpec>,
) -> Result<(StatusCode, axum::Json<Template>), ApiError> {
    audit
        .action("template.create")
        .object("template", &spec.name);
    let (json, sha) = checked(&state, &spec)?;
    let mut tx = state.db.begin().await?;
    if !db::templates::insert(&mut tx, &spec, 1, &json, &sha, admin.id).await? {
        return Err(ApiError::conflict(format!(
            "a template named '{}' already exists",
            spec.name
        )));
    }
    tx.commit().await?;
    let row = db::templates::get(&state.db, &spec.name, 1)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok((StatusCode::CREATED, axum::Json(row.try_into()?)))
}

/// Save a template: a changed spec becomes a new version (201); an unchanged one
/// returns the current version (200). Old versions stay runnable.
#[utoipa::path(put, path = "/api/templates/{name}", tag = "templates", security(("bearer" = [])),
    params(("name" = String, Path)), request_body = TemplateSpec,
    responses((status = 200, body = Template), (status = 201, body = Template), (status = 404), (status = 422)))]
pub async fn save(
    State(state): State<AppState>,
    RequireRole(admin, ..): RequireRole<Admin>,
    audit: Audit,
    Path(name): Path<String>,
    Json(spec): Json<TemplateSpec>,
) -> Result<(StatusCode, axum::Json<Template>), ApiError> {
    audit.action("template.save").object("template", &name);
    if spec.name != name {
        return Err(ApiError::field(
            "name",
            "must match the template name in the URL",
        ));
    }
    let (json, sha) = checked(&state, &spec)?;
    let mut tx = state.db.begin().await?;
    let latest = db::templates::latest_for_update(&mut tx, &name)
        .await?
        .filter(|r| r.deleted_at.is_none())
        .ok_or(ApiError::NotFound)?;
    if latest.spec_sha256 == sha {
        return Ok((StatusCode::OK, axum::Json(latest.try_into()?)));
    }
    let version = latest.version + 1;
    db::templates::insert(&mut tx, &spec, version, &json, &sha, admin.id).await?;
    tx.commit().await?;
    let row = db::templates::get(&state.db, &name, version)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok((StatusCode::CREATED, axum::Json(row.try_into()?)))
}

async fn visible(
    state: &AppState,
    is_admin: bool,
    row: Option<db::templates::Row>,
) -> Result<Template, ApiError> {
    let _ = state;
    match row {
        Some(r) if is_admin || r.deleted_at.is_none() => r.try_into(),
        _ => Err(ApiError::NotFound),
    }
}

/// The newest version of a template.
#[utoipa::path(get, path = "/api/templates/{name}", tag = "templates", security(("bearer" = [])),
    params(("name" = String, Path)), responses((status = 200, body = Template), (status = 404)))]
pub async fn get(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    Path(name): Path<String>,
) -> Result<axum::Json<Template>, ApiError> {
    let row = db::templates::latest(&state.db, &name).await?;
    Ok(axum::Json(visible(&state, user.is_admin(), row).await?))
}

/// Soft-delete a template: it leaves the library; runs keep their snapshots.
#[utoipa::path(delete, path = "/api/templates/{name}", tag = "templates", security(("bearer" = [])),
    params(("name" = String, Path)), responses((status = 204), (status = 404)))]
pub async fn delete(
    State(state): State<AppState>,
    RequireRole(_admin, ..): RequireRole<Admin>,
    audit: Audit,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    audit.action("template.delete").object("template", &name);
    if !db::templates::soft_delete(&state.db, &name).await? {
        return Err(ApiError::NotFound);
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Every version of a template, newest first.
#[utoipa::path(get, path = "/api/templates/{name}/versions", tag = "templates", security(("bearer" = [])),
    params(("name" = String, Path)), responses((status = 200, body = Vec<Template>), (status = 404)))]
pub async fn versions(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    Path(name): Path<String>,
) -> Result<axum::Json<Vec<Template>>, ApiError> {
    let rows = db::templates::versions(&state.db, &name).await?;
    if rows.is_empty() || (!user.is_admin() && rows[0].deleted_at.is_some()) {
        return Err(ApiError::NotFound);
    }
    Ok(axum::Json(
        rows.into_iter()
            .map(Template::try_from)
            .collect::<Result<_, _>>()?,
    ))
}

/// One version of a template.
#[utoipa::path(get, path = "/api/templates/{name}/versions/{version}", tag = "templates",
    security(("bearer" = [])), params(("name" = String, Path), ("version" = u32, Path)),
    responses((status = 200, body = Template), (status = 404)))]
pub async fn version(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    Path((name, version)): Path<(String, u32)>,
) -> Result<axum::Json<Template>, ApiError> {
    let row = db::templates::get(&state.db, &name, version).await?;
    Ok(axum::Json(visible(&state, user.is_admin(), row).await?))
}

/// Sample values for one test execution of a template version.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TestTemplate {
    /// Input values by port name; a `file` port takes
    /// `{"$file": {"name", "b64"}}`, a `binary` port `{"$bytes": "<base64>"}`.
    #[serde(default)]
    pub inputs: BTreeMap<String, Value>,
    /// Parameter values by parameter name (defaults fill the rest).
    #[serde(default)]
    pub params: BTreeMap<String, Value>,
}

/// One line the tested node logged.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestLogLineView {
    pub ts: DateTime<Utc>,
    pub level: String,
    pub stream: String,
    pub message: String,
}

/// How a test execution ended. Nothing of it is stored.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateTestResult {
    /// `succeeded` or `failed`.
    pub status: String,
    /// Why it failed: `error`, `timeout`, `memory`, `cpu`, `output_size`,
    /// `output_type`, `sandbox`.
    pub reason: Option<String>,
    pub message: Option<String>,
    /// The node's traceback when it raised.
    pub traceback: Option<String>,
    pub duration_ms: Option<i64>,
    /// Output values by port; files as `{"$file": {"name", "b64", "size", "sha256"}}`,
    /// binaries as `{"$bytes": "<base64>"}`.
    pub outputs: BTreeMap<String, Value>,
    pub logs: Vec<TestLogLineView>,
}

/// Whether `v` is a test value for an input of type `t`: literals as in a
/// graph, plus inline files and bytes in runner wire form.
fn accepts_test_input(t: PortType, v: &Value) -> bool {
    let is_str = |v: &Value| v.is_string();
    match t {
        PortType::File => v
            .get("$file")
            .is_some_and(|f| f.get("name").is_some_and(is_str) && f.get("b64").is_some_and(is_str)),
        PortType::Binary => v.get("$bytes").is_some_and(is_str),
        _ => t.accepts(v),
    }
}

/// The 422 field list for test values that do not fit the template.
fn check_test_values(spec: &TemplateSpec, req: &TestTemplate) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (port, value) in &req.inputs {
        match spec.input(port) {
            None => errs.push(FieldError::new(
                format!("inputs.{port}"),
                "no such input port",
            )),
            Some(p) if !accepts_test_input(p.port_type, value) => errs.push(FieldError::new(
                format!("inputs.{port}"),
                format!("is not a valid {}", p.port_type.as_str()),
            )),
            Some(_) => {}
        }
    }
    for p in &spec.inputs {
        if p.required && p.default.is_none() && !req.inputs.contains_key(&p.name) {
            errs.push(FieldError::new(format!("inputs.{}", p.name), "is required"));
        }
    }
    for (name, value) in &req.params {
        match spec.parameter(name) {
            None => errs.push(FieldError::new(
                format!("params.{name}"),
                "no such parameter",
            )),
            Some(p) => {
                if let Err(m) = check_param_value(p, value) {
                    errs.push(FieldError::new(format!("params.{name}"), m));
                }
            }
        }
    }
    for p in &spec.parameters {
        if p.required && p.default.is_none() && !req.params.contains_key(&p.name) {
            errs.push(FieldError::new(format!("params.{}", p.name), "is required"));
        }
    }
    errs
}

/// Run one template version once with sample values, synchronously, in the
/// same sandbox and with the same limits as in a run; answers its outputs and
/// logs. Nothing is stored (the audit log records the call).
#[utoipa::path(post, path = "/api/templates/{name}/versions/{version}/test", tag = "templates",
    security(("bearer" = [])), params(("name" = String, Path), ("version" = u32, Path)),
    request_body = TestTemplate,
    responses((status = 200, body = TemplateTestResult), (status = 404), (status = 422)))]
pub async fn test(
    State(state): State<AppState>,
    RequireRole(_admin, ..): RequireRole<Admin>,
    audit: Audit,
    Path((name, version)): Path<(String, u32)>,
    Json(req): Json<TestTemplate>,
) -> Result<axum::Json<TemplateTestResult>, ApiError> {
    audit
        .action("template.test")
        .object("template", format!("{name}@{version}"));
    let row = db::templates::get(&state.db, &name, version)
        .await?
        .ok_or(ApiError::NotFound)?;
    let spec = row.spec()?;
    let errs = check_test_values(&spec, &req);
    if !errs.is_empty() {
        return Err(ApiError::Validation(errs));
    }
    let modules = db::settings::modules(&state.db).await?;
    let outcome = state
        .executor
        .test_node(
            TemplateRef { name, version },
            spec,
            req.inputs,
            req.params,
            modules,
        )
        .await?;
    Ok(axum::Json(TemplateTestResult {
        status: outcome.status.as_str().to_owned(),
        reason: outcome.reason.map(|r| r.as_str().to_owned()),
        message: outcome.message,
        traceback: outcome.traceback,
        duration_ms: outcome.duration_ms,
        outputs: outcome.outputs.into_iter().collect(),
        logs: outcome
            .logs
            .into_iter()
            .map(|l| TestLogLineView {
                ts: l.ts,
                level: l.level,
                stream: l.stream,
                message: l.message,
            })
            .collect(),
    }))
}
