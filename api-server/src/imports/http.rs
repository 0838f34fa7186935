//! Import handlers and DTOs: parse the request, call the service, shape the
//! answer. Every route needs a manager or an admin.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use futures::Stream;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::db::ImportRow;
use super::model::{ApplyMode, ImportState};
use super::service::{self, DryRun, ImportError, ImportOptions, Preview, SavedMapping};
use crate::audit::Audit;
use crate::auth::{CurrentUser, RequireRole, Staff};
use crate::error::ApiError;
use crate::http::extract::{paging, Json, Path, Query};
use crate::state::AppState;
use crate::tasks::db::Viewer;

impl From<ImportError> for ApiError {
    fn from(e: ImportError) -> Self {
        use katalusis_import::ImportError as F;
        match e {
            ImportError::NotFound => ApiError::NotFound,
            ImportError::File(F::Unsupported { .. }) => {
                ApiError::UnsupportedMediaType(e.to_string())
            }
            ImportError::File(F::LimitExceeded { limit, max }) => ApiError::Rule {
                code: "limit_exceeded",
                message: e.to_string(),
                details: json!({"limit": limit.as_str(), "max": max}),
            },
            ImportError::File(ref f) => ApiError::Rule {
                code: f.code(),
                message: f.to_string(),
                details: serde_json::Value::Null,
            },
            ImportError::Mapping(ref m) => ApiError::Rule {
                code: "invalid_mapping",
                message: m.to_string(),
                details: serde_json::Value::Null,
            },
            ImportError::Invalid { field, message } => ApiError::field(field, &message),
            ImportError::Conflict(m) => ApiError::conflict(m),
            ImportError::Expired => ApiError::Rule {
                code: "file_expired",
                message: e.to_string(),
                details: serde_json::Value::Null,
            },
            ImportError::TooLarge { .. } => ApiError::PayloadTooLarge,
            ImportError::Internal(e) => ApiError::Internal(e),
        }
    }
}

fn viewer(u: &CurrentUser) -> Viewer {
    Viewer {
        user_id: u.id,
        role: u.role,
    }
}

/// An import session as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportView {
    pub id: u64,
    pub owner_id: u64,
    pub owner_name: String,
    pub client_id: Option<u64>,
    pub file_name: String,
    pub format: String,
    pub size: u64,
    pub sha256: String,
    /// False once the file was deleted (the session expired).
    pub has_file: bool,
    pub sheet: Option<String>,
    pub state: ImportState,
    pub mode: Option<ApplyMode>,
    pub rows_total: u32,
    pub rows_done: u32,
    /// Counts of the last dry run.
    pub valid: Option<u32>,
    pub invalid: Option<u32>,
    pub created: u32,
    pub updated: u32,
    pub skipped: u32,
    pub message: Option<String>,
    /// The stored dry-run options (client, sheet, header row, mapping).
    pub options: Option<ImportOptions>,
    /// The error report of the stored mapping.
    pub report_url: String,
    /// The task list filtered to the tasks this import created (the SPA's
    /// board takes the same filter as `?import={id}`).
    pub tasks_url: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub applied_at: Option<DateTime<Utc>>,
    pub undone_at: Option<DateTime<Utc>>,
}

pub fn view(r: ImportRow) -> ImportView {
    ImportView {
        id: r.import_id,
        state: r.state(),
        mode: r.mode(),
        options: r
            .mapping
            .as_deref()
            .and_then(|m| serde_json::from_str(m).ok()),
        report_url: format!("/api/tasks/imports/{}/report", r.import_id),
        tasks_url: format!("/api/tasks?source=import&sourceRefId={}", r.import_id),
        owner_id: r.owner_id,
        owner_name: r.owner_name,
        client_id: r.client_id,
        file_name: r.file_name,
        format: r.format,
        size: r.size,
        sha256: r.sha256,
        has_file: r.has_content,
        sheet: r.sheet,
        rows_total: r.rows_total,
        rows_done: r.rows_done,
        valid: r.valid_count,
        invalid: r.invalid_count,
        created: r.created_count,
        updated: r.updated_count,
        skipped: r.skipped_count,
        message: r.message,
        created_at: r.created_at,
        updated_at: r.updated_at,
        applied_at: r.applied_at,
        undone_at: r.undone_at,
    }
}

/// A new session and the preview of its file.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Uploaded {
    pub import: ImportView,
    pub preview: Preview,
}

/// Room for the multipart framing around the file.
const MULTIPART_OVERHEAD: u64 = 64 * 1024;

/// The upload form of a task import.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The CSV or XLSX file (judged by its content, not its name).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Uploads a CSV or XLSX file (multipart, field `file`) and creates an
/// import session. The type is judged from the content (415 otherwise);
/// larger than `KATALUSIS_IMPORT_MAX_BYTES` answers 413 as soon as the
/// stream passes the limit; unreadable or over a resource limit answers 422.
#[utoipa::path(post, path = "/api/tasks/import", tag = "imports", security(("bearer" = [])),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = Uploaded), (status = 403), (status = 413), (status = 415), (status = 422)))]
pub async fn upload(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    audit: Audit,
    headers: HeaderMap,
    form: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, axum::Json<Uploaded>), ApiError> {
    let mut form = form.map_err(|_| {
        ApiError::UnsupportedMediaType(
            "send the file as multipart/form-data in a field named `file`".into(),
        )
    })?;
    let limit = state.settings.import_max_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit + MULTIPART_OVERHEAD) {
        return Err(ApiError::PayloadTooLarge);
    }
    let interrupted = |_| {
        ApiError::field(
            "file",
            "the upload was interrupted or is not valid multipart",
        )
    };
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Some(mut field) = form.next_field().await.map_err(interrupted)? {
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("upload").to_string();
        let mut buf = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(interrupted)? {
            if (buf.len() + chunk.len()) as u64 > limit {
                return Err(ApiError::PayloadTooLarge);
            }
            buf.extend_from_slice(&chunk);
        }
        file = Some((name, buf));
        break;
    }
    let (name, bytes) =
        file.ok_or_else(|| ApiError::field("file", "a multipart field `file` is required"))?;
    let (row, preview) = service::upload(
        &state.db,
        &state.settings,
        viewer(&user),
        &name,
        bytes,
        Utc::now(),
    )
    .await?;
    audit
        .action("import.upload")
        .object("import", row.import_id);
    Ok((
        StatusCode::CREATED,
        axum::Json(Uploaded {
            import: view(row),
            preview,
        }),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListImports {
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportPage {
    pub items: Vec<ImportView>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

/// The caller's imports (an admin's list has everyone's), newest first:
/// who, when, file name, sha256, state and counts.
#[utoipa::path(get, path = "/api/tasks/imports", tag = "imports", security(("bearer" = [])),
    params(ListImports), responses((status = 200, body = ImportPage), (status = 403)))]
pub async fn list(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    Query(q): Query<ListImports>,
) -> Result<axum::Json<ImportPage>, ApiError> {
    let (page, per_page, offset) = paging(q.page, q.per_page)?;
    let (rows, total) = service::list(&state.db, viewer(&user), per_page, offset).await?;
    Ok(axum::Json(ImportPage {
        items: rows.into_iter().map(view).collect(),
        total,
        page,
        per_page,
    }))
}

/// One of the caller's import sessions (another user's answers 404).
#[utoipa::path(get, path = "/api/tasks/imports/{id}", tag = "imports", security(("bearer" = [])),
    params(("id" = u64, Path)), responses((status = 200, body = ImportView), (status = 403), (status = 404)))]
pub async fn get(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    Path(id): Path<u64>,
) -> Result<axum::Json<ImportView>, ApiError> {
    Ok(axum::Json(view(
        service::get(&state.db, viewer(&user), id).await?,
    )))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PreviewQuery {
    /// A workbook's sheet (the first when absent).
    pub sheet: Option<String>,
    /// The header row as in the file; `0` for none; detected when absent.
    pub header_row: Option<u32>,
}

/// The first 50 rows as parsed with a sheet and header choice, the column
/// names and the suggested mapping.
#[utoipa::path(get, path = "/api/tasks/imports/{id}/preview", tag = "imports", security(("bearer" = [])),
    params(("id" = u64, Path), PreviewQuery),
    responses((status = 200, body = Preview), (status = 403), (status = 404), (status = 422)))]
pub async fn preview(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    Path(id): Path<u64>,
    Query(q): Query<PreviewQuery>,
) -> Result<axum::Json<Preview>, ApiError> {
    Ok(axum::Json(
        service::preview(
            &state.db,
            &state.settings,
            viewer(&user),
            id,
            q.sheet,
            q.header_row,
        )
        .await?,
    ))
}

/// Validates every row with the given client, sheet, header row and
/// mapping, and stores them with the session. Writes no task.
#[utoipa::path(post, path = "/api/tasks/imports/{id}/dry-run", tag = "imports", security(("bearer" = [])),
    params(("id" = u64, Path)), request_body = ImportOptions,
    responses((status = 200, body = DryRun), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn dry_run(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    Path(id): Path<u64>,
    Json(o): Json<ImportOptions>,
) -> Result<axum::Json<DryRun>, ApiError> {
    Ok(axum::Json(
        service::dry_run(&state.db, &state.settings, viewer(&user), id, o, Utc::now()).await?,
    ))
}

/// The error report of the last dry run's mapping: the rows with problems
/// as in the file plus an `errors` column; formula cells are neutralized.
/// Always a download.
#[utoipa::path(get, path = "/api/tasks/imports/{id}/report", tag = "imports", security(("bearer" = [])),
    params(("id" = u64, Path)),
    responses((status = 200, content_type = "text/csv", body = String), (status = 403), (status = 404), (status = 409)))]
pub async fn report(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    Path(id): Path<u64>,
) -> Result<Response, ApiError> {
    let (row, csv) = service::report(&state.db, &state.settings, viewer(&user), id).await?;
    let stem = row
        .file_name
        .rsplit_once('.')
        .map_or(row.file_name.as_str(), |(s, _)| s);
    let name: String = format!("{stem}-errors.csv")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut resp = csv.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(resp)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplyRequest {
    pub mode: ApplyMode,
}

/// Starts the apply in the background (202); progress on
/// `/api/tasks/imports/{id}/events`. `all_or_nothing` is refused while the
/// last dry run found invalid rows.
#[utoipa::path(post, path = "/api/tasks/imports/{id}/apply", tag = "imports", security(("bearer" = [])),
    params(("id" = u64, Path)), request_body = ApplyRequest,
    responses((status = 202, body = ImportView), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn apply(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    audit: Audit,
    Path(id): Path<u64>,
    Json(req): Json<ApplyRequest>,
) -> Result<(StatusCode, axum::Json<ImportView>), ApiError> {
    let row = service::request_apply(&state.db, viewer(&user), id, req.mode, Utc::now()).await?;
    audit.action("import.apply").object("import", id);
    let s = state.clone();
    tokio::spawn(async move { service::drain(&s).await });
    Ok((StatusCode::ACCEPTED, axum::Json(view(row))))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Undone {
    pub import: ImportView,
    /// Tasks deleted.
    pub deleted: u64,
}

/// Deletes the tasks the import created; the importer or an admin.
#[utoipa::path(post, path = "/api/tasks/imports/{id}/undo", tag = "imports", security(("bearer" = [])),
    params(("id" = u64, Path)),
    responses((status = 200, body = Undone), (status = 403), (status = 404), (status = 409)))]
pub async fn undo(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    audit: Audit,
    Path(id): Path<u64>,
) -> Result<axum::Json<Undone>, ApiError> {
    let (row, deleted) = service::undo(&state.db, viewer(&user), id, Utc::now()).await?;
    audit.action("import.undo").object("import", id);
    Ok(axum::Json(Undone {
        import: view(row),
        deleted,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// End the stream after this many seconds (tests, polling proxies).
    pub close_after_seconds: Option<u64>,
}

/// `progress` events (`{state, rowsDone, rowsTotal, created, updated,
/// skipped, message}`) read from the job row until the import settles.
#[utoipa::path(get, path = "/api/tasks/imports/{id}/events", tag = "imports", security(("bearer" = [])),
    params(("id" = u64, Path), EventsQuery),
    responses((status = 200, content_type = "text/event-stream", body = Object), (status = 403), (status = 404)))]
pub async fn events(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    Path(id): Path<u64>,
    Query(q): Query<EventsQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let v = viewer(&user);
    service::get(&state.db, v, id).await?;
    let db = state.db.clone();
    let until = q
        .close_after_seconds
        .map(|s| tokio::time::Instant::now() + Duration::from_secs(s));
    let stopped = state.executor.stopped();
    // (last sent, finished)
    let stream = futures::stream::unfold(
        (None::<(ImportState, u32)>, false, Box::pin(stopped)),
        move |(last, finished, mut stopped)| {
            let db = db.clone();
            async move {
                if finished {
                    return None;
                }
                loop {
                    if until.is_some_and(|u| tokio::time::Instant::now() >= u) {
                        return None;
                    }
                    let row = service::get(&db, v, id).await.ok()?;
                    let now = (row.state(), row.rows_done);
                    if last != Some(now) {
                        let settled = row.state().is_settled() && last.is_some();
                        let data = json!({
                            "state": row.state(),
                            "rowsDone": row.rows_done,
                            "rowsTotal": row.rows_total,
                            "created": row.created_count,
                            "updated": row.updated_count,
                            "skipped": row.skipped_count,
                            "message": row.message,
                        });
                        let ev = Event::default().event("progress").data(data.to_string());
                        // A settled import ends the stream after its event.
                        let done = settled
                            || (row.state().is_settled() && row.state() != ImportState::Uploaded);
                        return Some((Ok(ev), (Some(now), done, stopped)));
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                        _ = &mut stopped => return None,
                    }
                }
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// The caller's saved mappings.
#[utoipa::path(get, path = "/api/tasks/import-mappings", tag = "imports", security(("bearer" = [])),
    responses((status = 200, body = Vec<SavedMapping>), (status = 403)))]
pub async fn mappings(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
) -> Result<axum::Json<Vec<SavedMapping>>, ApiError> {
    Ok(axum::Json(
        service::mappings(&state.db, viewer(&user)).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SaveMapping {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    pub mapping: katalusis_import::Mapping,
}

/// Saves a mapping under a name (replacing one of the same name).
#[utoipa::path(put, path = "/api/tasks/import-mappings", tag = "imports", security(("bearer" = [])),
    request_body = SaveMapping,
    responses((status = 200, body = Vec<SavedMapping>), (status = 403), (status = 422)))]
pub async fn save_mapping(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    Json(req): Json<SaveMapping>,
) -> Result<axum::Json<Vec<SavedMapping>>, ApiError> {
    let v = viewer(&user);
    service::save_mapping(&state.db, v, &req.name, &req.mapping, Utc::now()).await?;
    Ok(axum::Json(service::mappings(&state.db, v).await?))
}
