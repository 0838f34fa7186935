//! Import rules without HTTP: sessions owned by their creator, client scope,
//! dry runs that write nothing, and the background apply that commits all
//! of an import's tasks in one transaction together with its final state.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use katalusis_import::mapping::{self, Choice, Vocab};
use katalusis_import::table::HeaderChoice;
use katalusis_import::validate::{self, MappingError, Outcome, Person, Problem, Scope};
use katalusis_import::{Format, Limits, Mapping, Parsed, Table};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{Connection, MySqlPool};
use utoipa::ToSchema;

use super::db::{self, ImportRow};
use super::model::{ApplyMode, ImportState};
use crate::auth::Role;
use crate::config::Settings;
use crate::tasks::batch;
use crate::tasks::db::Viewer;
use crate::tasks::model::{Priority, SourceKind};
use crate::tasks::service::{self as tasks, Changes, NewTask, TaskError};

/// Rows shown in a preview.
pub const PREVIEW_ROWS: usize = 50;
/// Problems returned by a dry run (the report CSV has them all).
pub const MAX_PROBLEMS: usize = 500;
/// How long a worker's claim on an apply lasts without renewal.
pub const LEASE_SECONDS: i64 = 15;
/// Rows per batch of an apply: one multi-row INSERT per table, and a
/// progress update (with a lease renewal) between batches.
pub const APPLY_BATCH: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    File(#[from] katalusis_import::ImportError),
    #[error(transparent)]
    Mapping(#[from] MappingError),
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("{0}")]
    Conflict(String),
    #[error("the uploaded file was deleted when the session expired; upload it again")]
    Expired,
    #[error("the file is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for ImportError {
    fn from(e: sqlx::Error) -> Self {
        Self::Internal(e.into())
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> ImportError {
    ImportError::Invalid {
        field,
        message: message.into(),
    }
}

/// What a dry run and an apply use: the target client, the sheet, the
/// header row and the mapping. Stored with the session as JSON.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportOptions {
    pub client_id: u64,
    /// A workbook's sheet; the first when absent.
    pub sheet: Option<String>,
    /// The header row as in the file; detected when absent, `0` for none.
    pub header_row: Option<u32>,
    pub mapping: Mapping,
}

fn header_choice(row: Option<u32>) -> HeaderChoice {
    match row {
        None => HeaderChoice::Auto,
        Some(0) => HeaderChoice::None,
        Some(n) => HeaderChoice::Row(n),
    }
}

pub fn limits(settings: &Settings) -> Limits {
    Limits {
        max_rows: settings.import_max_rows,
        ..Limits::default()
    }
}

/// Parses off the async runtime: 100,000 rows take a noticeable fraction
/// of a second of CPU.
async fn parse(
    bytes: Vec<u8>,
    sheet: Option<String>,
    header: HeaderChoice,
    limits: Limits,
) -> Result<(Parsed, Table), ImportError> {
    tokio::task::spawn_blocking(move || {
        let parsed = katalusis_import::read_grid(&bytes, sheet.as_deref(), &limits)?;
        let table = Table::from_grid(parsed.grid.clone(), header, &limits)?;
        Ok((parsed, table))
    })
    .await
    .map_err(|e| ImportError::Internal(e.into()))?
}

/// A lease holder for one claim: the process id (for the logs) and a fresh
/// uuid, so a takeover inside the same process is told apart from the apply
/// it replaces. At most 43 characters, within `lease_owner VARCHAR(64)`.
fn holder() -> String {
    format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple())
}

/// A preview of the file as parsed, with suggestions for the mapping.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Preview {
    pub format: String,
    pub encoding: Option<String>,
    pub delimiter: Option<String>,
    pub sheets: Vec<String>,
    pub sheet: Option<String>,
    /// The header row as in the file; `None` without a header.
    pub header_row: Option<u32>,
    pub headers: Vec<String>,
    /// The first rows, each with its row number as in the file.
    pub rows: Vec<PreviewRow>,
    pub row_count: u32,
    pub suggested: Mapping,
    pub statuses: Vec<ValueChoice>,
    pub priorities: Vec<ValueChoice>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviewRow {
    pub row: u32,
    pub cells: Vec<String>,
}

/// A value a status or priority may be mapped to.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValueChoice {
    pub key: String,
    pub label: String,
}

fn choices(v: &Vocab) -> Vec<ValueChoice> {
    v.choices
        .iter()
        .map(|c| ValueChoice {
            key: c.key.clone(),
            label: c.label.clone(),
        })
        .collect()
}

fn preview_of(parsed: &Parsed, table: &Table, statuses: &Vocab) -> Preview {
    Preview {
        format: parsed.format.as_str().into(),
        encoding: parsed.encoding.map(str::to_string),
        delimiter: parsed.delimiter.map(|d| d.to_string()),
        sheets: parsed.sheets.clone(),
        sheet: parsed.sheet.clone(),
        header_row: table.header_row,
        headers: table.headers.clone(),
        rows: table
            .rows
            .iter()
            .take(PREVIEW_ROWS)
            .map(|r| PreviewRow {
                row: r.number,
                cells: (0..table.headers.len())
                    .map(|i| r.cell(i).to_string())
                    .collect(),
            })
            .collect(),
        row_count: table.rows.len() as u32,
        suggested: mapping::suggest(&table.headers),
        statuses: choices(statuses),
        priorities: choices(&mapping::priority_vocab()),
    }
}

/// The board's statuses as a vocabulary, with the words other tools use
/// for the done, first, active and paused columns.
async fn status_vocab(db: &MySqlPool) -> Result<Vocab, ImportError> {
    let statuses = crate::tasks::db::statuses(db).await?;
    let mut v = Vocab {
        choices: statuses
            .iter()
            .map(|s| Choice {
                key: s.status_id.to_string(),
                label: s.name.clone(),
            })
            .collect(),
        synonyms: BTreeMap::new(),
    };
    let named = |words: &[&str]| {
        statuses
            .iter()
            .find(|s| words.contains(&mapping::normalize(&s.name).as_str()))
            .map(|s| s.status_id)
    };
    let roles = [
        (
            mapping::DONE_WORDS,
            statuses.iter().find(|s| s.is_done).map(|s| s.status_id),
        ),
        (mapping::OPEN_WORDS, statuses.first().map(|s| s.status_id)),
        (mapping::ACTIVE_WORDS, named(mapping::ACTIVE_WORDS)),
        (mapping::PAUSED_WORDS, named(mapping::PAUSED_WORDS)),
    ];
    for (words, id) in roles {
        if let Some(id) = id {
            for w in words {
                v.synonyms.entry((*w).to_string()).or_insert(id.to_string());
            }
        }
    }
    Ok(v)
}

fn is_admin(v: Viewer) -> bool {
    v.role == Role::Admin
}

async fn session(db: &MySqlPool, v: Viewer, id: u64) -> Result<ImportRow, ImportError> {
    db::get(db, id, v.user_id, false)
        .await?
        .ok_or(ImportError::NotFound)
}

async fn file_of(db: &MySqlPool, row: &ImportRow) -> Result<Vec<u8>, ImportError> {
    db::content(db, row.import_id)
        .await?
        .ok_or(ImportError::Expired)
}

/// Creates a session from an uploaded file: judged by content (415 for
/// anything but CSV or XLSX), parsed once to refuse unreadable or oversized
/// files (422 naming the limit), stored with its sha256.
pub async fn upload(
    db: &MySqlPool,
    settings: &Settings,
    v: Viewer,
    file_name: &str,
    bytes: Vec<u8>,
    now: DateTime<Utc>,
) -> Result<(ImportRow, Preview), ImportError> {
    let name = tasks::clean_name(file_name)
        .map_err(|_| invalid("file", "needs a file name of 1-255 characters"))?;
    let format = katalusis_import::sniff::detect(&bytes)?;
    let sha = hex::encode(Sha256::digest(&bytes));
    let (parsed, table, bytes) = {
        let b = bytes.clone();
        let (p, t) = parse(b, None, HeaderChoice::Auto, limits(settings)).await?;
        (p, t, bytes)
    };
    let statuses = status_vocab(db).await?;
    let id = db::insert(
        db,
        &db::NewImport {
            owner_id: v.user_id,
            file_name: &name,
            format: format.as_str(),
            sha256: &sha,
            content: &bytes,
            sheet: parsed.sheet.as_deref(),
            rows_total: table.rows.len() as u32,
            now,
        },
    )
    .await?;
    let row = session(db, v, id).await?;
    Ok((row, preview_of(&parsed, &table, &statuses)))
}

pub async fn get(db: &MySqlPool, v: Viewer, id: u64) -> Result<ImportRow, ImportError> {
    session(db, v, id).await
}

pub async fn list(
    db: &MySqlPool,
    v: Viewer,
    limit: u32,
    offset: u64,
) -> Result<(Vec<ImportRow>, u64), ImportError> {
    let (rows, _) = db::list(db, v.user_id, is_admin(v), limit, offset).await?;
    let total = db::count(db, v.user_id, is_admin(v)).await?;
    Ok((rows, total))
}

pub async fn preview(
    db: &MySqlPool,
    settings: &Settings,
    v: Viewer,
    id: u64,
    sheet: Option<String>,
    header_row: Option<u32>,
) -> Result<Preview, ImportError> {
    let row = session(db, v, id).await?;
    let bytes = file_of(db, &row).await?;
    let (parsed, table) = parse(bytes, sheet, header_choice(header_row), limits(settings)).await?;
    let statuses = status_vocab(db).await?;
    Ok(preview_of(&parsed, &table, &statuses))
}

/// How often a status or priority value occurs and what it maps to.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValueUse {
    pub value: String,
    pub count: u32,
    /// The key it maps to; `None` when it matches nothing yet.
    pub key: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DryRun {
    pub rows_total: u32,
    pub valid: u32,
    pub invalid: u32,
    /// Valid rows with a warning.
    pub warnings: u32,
    /// Valid rows that update a task imported earlier (same external id).
    pub updates: u32,
    /// The first problems; the report CSV lists them all.
    pub problems: Vec<Problem>,
    pub problems_truncated: bool,
    pub dates: katalusis_import::dates::DateDetection,
    pub status_values: Vec<ValueUse>,
    pub priority_values: Vec<ValueUse>,
    /// Earlier applied imports of the same file into the same client.
    pub same_file_imports: Vec<u64>,
}

/// Everything a validation needs, loaded once.
struct Checked {
    table: Table,
    outcome: Outcome,
    statuses: Vocab,
    existing: HashMap<String, u64>,
}

async fn check_client(db: &MySqlPool, v: Viewer, client_id: u64) -> Result<(), ImportError> {
    match db::client_in_scope(db, client_id, v.user_id, is_admin(v)).await? {
        // A manager learns nothing about clients outside their scope.
        None if !is_admin(v) => Err(ImportError::NotFound),
        None => Err(invalid("clientId", "is not a client user")),
        Some(false) => Err(invalid("clientId", "the client is deactivated")),
        Some(true) => Ok(()),
    }
}

async fn check(
    db: &MySqlPool,
    settings: &Settings,
    row: &ImportRow,
    o: &ImportOptions,
) -> Result<Checked, ImportError> {
    let bytes = file_of(db, row).await?;
    let statuses = status_vocab(db).await?;
    let people = db::assignable(db, o.client_id)
        .await?
        .into_iter()
        .map(|(id, username, email)| Person {
            id,
            username,
            email: Some(email),
        })
        .collect();
    let existing: HashMap<String, u64> = db::external_ids(db, o.client_id)
        .await?
        .into_iter()
        .collect();
    let scope = Scope {
        statuses: statuses.clone(),
        priorities: mapping::priority_vocab(),
        people,
        existing_ids: existing.keys().cloned().collect(),
    };
    let (sheet, header, mapping, limits) = (
        o.sheet.clone(),
        header_choice(o.header_row),
        o.mapping.clone(),
        limits(settings),
    );
    let (table, outcome) = tokio::task::spawn_blocking(move || {
        let parsed = katalusis_import::read_grid(&bytes, sheet.as_deref(), &limits)?;
        let table = Table::from_grid(parsed.grid, header, &limits)?;
        let outcome = validate::validate(&table, &mapping, &scope)?;
        Ok::<_, ImportError>((table, outcome))
    })
    .await
    .map_err(|e| ImportError::Internal(e.into()))??;
    Ok(Checked {
        table,
        outcome,
        statuses,
        existing,
    })
}

fn value_uses(
    table: &Table,
    m: &Mapping,
    field: katalusis_import::Field,
    vocab: &Vocab,
    values: &BTreeMap<String, String>,
) -> Vec<ValueUse> {
    let Some(katalusis_import::Source::Column(c)) = m.fields.get(&field) else {
        return vec![];
    };
    let Some(i) = table.headers.iter().position(|h| h == c) else {
        return vec![];
    };
    let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
    for r in &table.rows {
        let v = r.cell(i);
        if !v.is_empty() && (counts.len() < 200 || counts.contains_key(v)) {
            *counts.entry(v).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .map(|(v, n)| ValueUse {
            value: v.to_string(),
            count: n,
            key: vocab.resolve(values, v).map(str::to_string),
        })
        .collect()
}

/// Validates every row with `o` and stores `o` with the session; writes no
/// task.
pub async fn dry_run(
    db: &MySqlPool,
    settings: &Settings,
    v: Viewer,
    id: u64,
    o: ImportOptions,
    now: DateTime<Utc>,
) -> Result<DryRun, ImportError> {
    let row = session(db, v, id).await?;
    if !row.state().is_open() {
        return Err(ImportError::Conflict(format!(
            "the import is {}; its mapping can no longer change",
            row.state()
        )));
    }
    check_client(db, v, o.client_id).await?;
    let c = check(db, settings, &row, &o).await?;
    let out = &c.outcome;
    let mut problems: Vec<Problem> = Vec::new();
    let mut total_problems = 0;
    for r in &out.rows {
        total_problems += r.problems.len();
        for p in &r.problems {
            if problems.len() < MAX_PROBLEMS {
                problems.push(p.clone());
            }
        }
    }
    let options = serde_json::to_string(&o).map_err(|e| ImportError::Internal(e.into()))?;
    let header = serde_json::to_string(&header_choice(o.header_row)).unwrap_or_default();
    if !db::save_options(
        db,
        id,
        o.client_id,
        o.sheet.as_deref(),
        &header,
        &options,
        out.valid as u32,
        out.invalid as u32,
        c.table.rows.len() as u32,
        now,
    )
    .await?
    {
        return Err(ImportError::Conflict("the import is being applied".into()));
    }
    Ok(DryRun {
        rows_total: c.table.rows.len() as u32,
        valid: out.valid as u32,
        invalid: out.invalid as u32,
        warnings: out.warnings as u32,
        updates: out
            .rows
            .iter()
            .filter(|r| r.updates_existing && r.is_valid())
            .count() as u32,
        problems_truncated: total_problems > problems.len(),
        problems,
        dates: out.dates.clone(),
        status_values: value_uses(
            &c.table,
            &o.mapping,
            katalusis_import::Field::Status,
            &c.statuses,
            &o.mapping.status_values,
        ),
        priority_values: value_uses(
            &c.table,
            &o.mapping,
            katalusis_import::Field::Priority,
            &mapping::priority_vocab(),
            &o.mapping.priority_values,
        ),
        same_file_imports: db::same_file_applied(db, o.client_id, &row.sha256, id).await?,
    })
}

fn stored_options(row: &ImportRow) -> Result<ImportOptions, ImportError> {
    let m = row
        .mapping
        .as_deref()
        .ok_or_else(|| ImportError::Conflict("run a dry run with a mapping first".into()))?;
    serde_json::from_str(m).map_err(|e| ImportError::Internal(e.into()))
}

/// The error report of the stored mapping: the rows with problems as they
/// were in the file plus an `errors` column, formula cells neutralized.
pub async fn report(
    db: &MySqlPool,
    settings: &Settings,
    v: Viewer,
    id: u64,
) -> Result<(ImportRow, Vec<u8>), ImportError> {
    let row = session(db, v, id).await?;
    let o = stored_options(&row)?;
    let c = check(db, settings, &row, &o).await?;
    let csv = katalusis_import::report::error_report(&c.table, &c.outcome);
    Ok((row, csv))
}

/// Queues the apply; the worker picks it up at once on this replica (and
/// any replica after a restart).
pub async fn request_apply(
    db: &MySqlPool,
    v: Viewer,
    id: u64,
    mode: ApplyMode,
    now: DateTime<Utc>,
) -> Result<ImportRow, ImportError> {
    let row = session(db, v, id).await?;
    if !row.state().is_open() {
        return Err(ImportError::Conflict(format!(
            "the import is {}",
            row.state()
        )));
    }
    let o = stored_options(&row)?;
    check_client(db, v, o.client_id).await?;
    if mode == ApplyMode::AllOrNothing && row.invalid_count.unwrap_or(0) > 0 {
        return Err(invalid(
            "mode",
            format!(
                "{} rows are invalid: fix them or import only the valid rows",
                row.invalid_count.unwrap_or(0)
            ),
        ));
    }
    if !db::queue(db, id, mode, now).await? {
        return Err(ImportError::Conflict(
            "the import is already being applied".into(),
        ));
    }
    session(db, v, id).await
}

/// Deletes the tasks the import created (tasks it updated keep the update),
/// by the importer or an admin.
pub async fn undo(
    db: &MySqlPool,
    v: Viewer,
    id: u64,
    now: DateTime<Utc>,
) -> Result<(ImportRow, u64), ImportError> {
    let row = db::get(db, id, v.user_id, is_admin(v))
        .await?
        .ok_or(ImportError::NotFound)?;
    if row.state() != ImportState::Applied {
        return Err(ImportError::Conflict(format!(
            "only an applied import can be undone; this one is {}",
            row.state()
        )));
    }
    let mut tx = db.begin().await?;
    let deleted = tasks::delete_by_source(&mut tx, SourceKind::Import, id)
        .await
        .map_err(task_error)?;
    if !db::mark_undone(&mut tx, id, now).await? {
        return Err(ImportError::Conflict(
            "the import was undone already".into(),
        ));
    }
    tx.commit().await?;
    let row = db::get(db, id, v.user_id, true)
        .await?
        .ok_or(ImportError::NotFound)?;
    Ok((row, deleted))
}

fn task_error(e: TaskError) -> ImportError {
    match e {
        TaskError::Internal(e) => ImportError::Internal(e),
        other => ImportError::Conflict(other.to_string()),
    }
}

/// A task error as a sentence for the row that caused it.
fn row_message(row: u32, e: &TaskError) -> String {
    match e {
        TaskError::Invalid(errs) => format!(
            "row {row}: {}",
            errs.iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        other => format!("row {row}: {other}"),
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SavedMapping {
    pub id: u64,
    pub name: String,
    pub mapping: Mapping,
    pub updated_at: DateTime<Utc>,
}

pub async fn mappings(db: &MySqlPool, v: Viewer) -> Result<Vec<SavedMapping>, ImportError> {
    Ok(db::mappings(db, v.user_id)
        .await?
        .into_iter()
        .filter_map(|m| {
            Some(SavedMapping {
                id: m.mapping_id,
                mapping: serde_json::from_str(&m.mapping).ok()?,
                name: m.name,
                updated_at: m.updated_at,
            })
        })
        .collect())
}

pub async fn save_mapping(
    db: &MySqlPool,
    v: Viewer,
    name: &str,
    m: &Mapping,
    now: DateTime<Utc>,
) -> Result<(), ImportError> {
    let raw_len = name.chars().count();
    let name = name.trim();
    if name.is_empty() || raw_len > 100 || name.chars().any(char::is_control) {
        return Err(invalid("name", "must be 1-100 characters"));
    }
    let json = serde_json::to_string(m).map_err(|e| ImportError::Internal(e.into()))?;
    db::save_mapping(db, v.user_id, name, &json, now).await?;
    Ok(())
}

// ---- the background apply ----

/// Claims and runs every claimable apply until none is left; called when an
/// apply is requested and by the periodic worker (which also takes over
/// applies whose holder died).
pub async fn drain(state: &crate::state::AppState) {
    loop {
        let ids = match db::claimable(&state.db, Utc::now()).await {
            Ok(ids) => ids,
            Err(e) => {
                tracing::warn!(error = %e, "listing claimable imports failed");
                return;
            }
        };
        if ids.is_empty() {
            return;
        }
        let mut ran = false;
        for id in ids {
            match run(&state.db, &state.settings, id).await {
                Ok(true) => {
                    ran = true;
                    // Event triggers may start a workflow on it.
                    if let Err(e) = crate::triggers::service::on_import(state, id).await {
                        tracing::warn!(
                            import_id = id,
                            error = format!("{e:#}"),
                            "import event trigger failed"
                        );
                    }
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(
                    import_id = id,
                    error = format!("{e:#}"),
                    "import apply failed"
                ),
            }
        }
        if !ran {
            return;
        }
    }
}

/// Runs the apply worker every few seconds until the process ends, and
/// deletes expired upload files.
pub fn spawn_worker(state: crate::state::AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            drain(&state).await;
            let before = Utc::now() - Duration::hours(state.settings.import_retention_hours as i64);
            if let Err(e) = db::expire_files(&state.db, before).await {
                tracing::warn!(error = %e, "deleting expired import files failed");
            }
        }
    });
}

/// Claims import `id` and applies it; false when another worker holds it.
/// Every task of the import, the external ids and the `applied` state are
/// written in one transaction: a killed process leaves nothing behind, and
/// the next worker reruns the whole apply once the lease expires.
pub async fn run(db: &MySqlPool, settings: &Settings, id: u64) -> anyhow::Result<bool> {
    let me = holder();
    let me = me.as_str();
    let lease = || Utc::now() + Duration::seconds(LEASE_SECONDS);
    if !db::claim(db, id, me, Utc::now(), lease()).await? {
        return Ok(false);
    }
    match apply(db, settings, id, me, lease).await {
        Ok(()) => {}
        Err(ImportError::Internal(e)) => {
            tracing::error!(
                import_id = id,
                error = format!("{e:#}"),
                "import apply failed"
            );
            db::fail(
                db,
                id,
                me,
                "the import failed because of an internal error; nothing was written",
                Utc::now(),
            )
            .await?;
        }
        Err(e) => db::fail(db, id, me, &format!("{e}; nothing was written"), Utc::now()).await?,
    }
    Ok(true)
}

async fn apply(
    db: &MySqlPool,
    settings: &Settings,
    id: u64,
    me: &str,
    lease: impl Fn() -> DateTime<Utc>,
) -> Result<(), ImportError> {
    let row = db::get(db, id, 0, true)
        .await?
        .ok_or(ImportError::NotFound)?;
    let mode = row.mode().unwrap_or(ApplyMode::AllOrNothing);
    let o = stored_options(&row)?;
    let owner: Option<(String, bool)> =
        sqlx::query_as("SELECT role, active FROM app_user WHERE user_id = ?")
            .bind(row.owner_id)
            .fetch_optional(db)
            .await?;
    let viewer = match owner {
        Some((role, true)) => Viewer {
            user_id: row.owner_id,
            role: Role::parse(&role).ok_or(ImportError::NotFound)?,
        },
        _ => {
            return Err(ImportError::Conflict(
                "the importer's account is deactivated".into(),
            ))
        }
    };
    check_client(db, viewer, o.client_id).await.map_err(|_| {
        ImportError::Conflict("the importer may no longer import into this client".into())
    })?;
    let c = check(db, settings, &row, &o).await?;
    if mode == ApplyMode::AllOrNothing && c.outcome.invalid > 0 {
        return Err(ImportError::Conflict(format!(
            "{} rows are invalid",
            c.outcome.invalid
        )));
    }
    let now = Utc::now();
    let (mut created, mut updated, mut skipped) = (0u32, 0u32, c.outcome.invalid as u32);
    let mut first_skip: Option<String> = None;
    let mut tx = db.begin().await?;
    let mut done = 0usize;
    for chunk in c.outcome.rows.chunks(APPLY_BATCH) {
        // Progress and the lease before every batch, outside the
        // transaction so the page sees it.
        // Another worker took over: our transaction rolls back.
        if done > 0 && !db::progress(db, id, me, done as u32, lease()).await? {
            return Ok(());
        }
        // Rows refused by the task rules, by row number.
        let mut refused: Vec<(u32, TaskError)> = Vec::new();
        // New tasks, with their row numbers and external ids.
        let (mut rows, mut externals, mut new) = (Vec::new(), Vec::new(), Vec::new());
        for r in chunk {
            let Some(d) = &r.draft else { continue };
            let status_id = d.status.as_deref().and_then(|s| s.parse::<u64>().ok());
            let priority = d
                .priority
                .as_deref()
                .and_then(|p| p.parse::<Priority>().ok());
            let due_at = d.due.map(|n| n.and_utc());
            let existing = d
                .external_id
                .as_ref()
                .and_then(|e| c.existing.get(e))
                .copied();
            let Some(task_id) = existing else {
                rows.push(r.row);
                externals.push(d.external_id.as_deref());
                new.push(NewTask {
                    client_id: o.client_id,
                    title: d.title.clone(),
                    description: d.description.clone(),
                    status_id,
                    priority: priority.unwrap_or(Priority::Medium),
                    due_at,
                    assignee_ids: d.assignees.clone(),
                    watcher_ids: vec![],
                    shared_with: vec![],
                    tags: d.tags.clone(),
                    source_kind: SourceKind::Import,
                    source_ref_id: Some(id),
                    source_node: None,
                });
                continue;
            };
            // An update goes through the task rules one by one; a savepoint
            // undoes a refused row's partial writes.
            let mut sp = (*tx).begin().await?;
            let res = tasks::update_in(
                &mut sp,
                viewer,
                task_id,
                Changes {
                    title: Some(d.title.clone()),
                    description: Some(d.description.clone()),
                    status_id,
                    priority,
                    due_at: d.due.map(|_| due_at),
                    assignee_ids: Some(d.assignees.clone()),
                    tags: Some(d.tags.clone()),
                    ..Changes::default()
                },
                now,
            )
            .await;
            match res {
                Ok(_) => {
                    sp.commit().await?;
                    updated += 1;
                }
                Err(TaskError::Internal(e)) => return Err(ImportError::Internal(e)),
                Err(e) => {
                    sp.rollback().await?;
                    refused.push((r.row, e));
                }
            }
        }
        let answers = batch::create_many_in(&mut tx, viewer, now, o.client_id, new)
            .await
            .map_err(task_error)?;
        let mut external_ids: Vec<(&str, u64)> = Vec::new();
        for ((row, external), answer) in rows.into_iter().zip(externals).zip(answers) {
            match answer {
                Ok(task_id) => {
                    created += 1;
                    if let Some(e) = external {
                        external_ids.push((e, task_id));
                    }
                }
                Err(TaskError::Internal(e)) => return Err(ImportError::Internal(e)),
                Err(e) => refused.push((row, e)),
            }
        }
        db::add_external_ids(&mut tx, o.client_id, &external_ids, id).await?;
        refused.sort_by_key(|(row, _)| *row);
        if let Some((row, e)) = refused.first() {
            if mode == ApplyMode::AllOrNothing {
                return Err(ImportError::Conflict(row_message(*row, e)));
            }
            first_skip.get_or_insert_with(|| row_message(*row, e));
        }
        skipped += refused.len() as u32;
        done += chunk.len();
    }
    let message = first_skip.map(|m| format!("rows skipped by the task rules, first: {m}"));
    if !db::finish(
        &mut tx,
        id,
        me,
        created,
        updated,
        skipped,
        message.as_deref(),
        Utc::now(),
    )
    .await?
    {
        return Ok(());
    }
    tx.commit().await?;
    tracing::info!(import_id = id, created, updated, skipped, "import applied");
    Ok(())
}

/// The file format of a stored session.
pub fn format_of(row: &ImportRow) -> Option<Format> {
    Format::parse(&row.format)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_lease_holder_fits_its_column() {
        // lease_owner is VARCHAR(64); a longer holder fails every claim.
        let h = super::holder();
        assert!(h.len() <= 64, "{h} is {} characters", h.len());
        assert_ne!(h, super::holder());
    }
}
