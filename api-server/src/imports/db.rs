//! Queries on the import tables. Ownership is part of every lookup
//! (`owner_id = ?` unless the caller is an admin), so another user's
//! session is simply not found.

use chrono::{DateTime, Utc};
use sqlx::{MySqlConnection, MySqlExecutor};

use super::model::{ApplyMode, ImportState};

/// A session row without the file.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ImportRow {
    pub import_id: u64,
    pub owner_id: u64,
    pub owner_name: String,
    pub client_id: Option<u64>,
    pub file_name: String,
    pub format: String,
    pub size: u64,
    pub sha256: String,
    pub has_content: bool,
    pub sheet: Option<String>,
    pub header: Option<String>,
    pub mapping: Option<String>,
    pub state: String,
    pub mode: Option<String>,
    pub rows_total: u32,
    pub rows_done: u32,
    pub valid_count: Option<u32>,
    pub invalid_count: Option<u32>,
    pub created_count: u32,
    pub updated_count: u32,
    pub skipped_count: u32,
    pub message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub applied_at: Option<DateTime<Utc>>,
    pub undone_at: Option<DateTime<Utc>>,
}

impl ImportRow {
    pub fn state(&self) -> ImportState {
        // The CHECK constraint keeps the column within the vocabulary.
        self.state.parse().unwrap_or(ImportState::Failed)
    }

    pub fn mode(&self) -> Option<ApplyMode> {
        self.mode.as_deref().and_then(|m| m.parse().ok())
    }
}

const COLUMNS: &str = "s.import_id, s.owner_id, u.username AS owner_name, s.client_id, s.file_name, \
    s.format, s.size, s.sha256, s.content IS NOT NULL AS has_content, s.sheet, s.header, s.mapping, \
    s.state, s.mode, s.rows_total, s.rows_done, s.valid_count, s.invalid_count, s.created_count, \
    s.updated_count, s.skipped_count, s.message, s.created_at, s.updated_at, s.applied_at, s.undone_at";

pub struct NewImport<'a> {
    pub owner_id: u64,
    pub file_name: &'a str,
    pub format: &'a str,
    pub sha256: &'a str,
    pub content: &'a [u8],
    pub sheet: Option<&'a str>,
    pub rows_total: u32,
    pub now: DateTime<Utc>,
}

pub async fn insert(db: impl MySqlExecutor<'_>, n: &NewImport<'_>) -> Result<u64, sqlx::Error> {
    let r = sqlx::query(
        "INSERT INTO import_session (owner_id, file_name, format, size, sha256, content, sheet, state, \
         rows_total, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(n.owner_id)
    .bind(n.file_name)
    .bind(n.format)
    .bind(n.content.len() as u64)
    .bind(n.sha256)
    .bind(n.content)
    .bind(n.sheet)
    .bind(ImportState::Uploaded.as_str())
    .bind(n.rows_total)
    .bind(n.now)
    .bind(n.now)
    .execute(db)
    .await?;
    Ok(r.last_insert_id())
}

/// The session if `owner` created it (or, with `any_owner`, whoever did).
pub async fn get(
    db: impl MySqlExecutor<'_>,
    id: u64,
    owner: u64,
    any_owner: bool,
) -> Result<Option<ImportRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM import_session s JOIN app_user u ON u.user_id = s.owner_id \
         WHERE s.import_id = ? AND (s.owner_id = ? OR ?)"
    ))
    .bind(id)
    .bind(owner)
    .bind(any_owner)
    .fetch_optional(db)
    .await
}

/// Sessions of `owner`, or everyone's with `any_owner`, newest first.
pub async fn list(
    db: impl MySqlExecutor<'_>,
    owner: u64,
    any_owner: bool,
    limit: u32,
    offset: u64,
) -> Result<(Vec<ImportRow>, u64), sqlx::Error> {
    let rows = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM import_session s JOIN app_user u ON u.user_id = s.owner_id \
         WHERE (s.owner_id = ? OR ?) ORDER BY s.import_id DESC LIMIT ? OFFSET ?"
    ))
    .bind(owner)
    .bind(any_owner)
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await?;
    Ok((rows, 0))
}

pub async fn count(
    db: impl MySqlExecutor<'_>,
    owner: u64,
    any_owner: bool,
) -> Result<u64, sqlx::Error> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM import_session WHERE owner_id = ? OR ?")
        .bind(owner)
        .bind(any_owner)
        .fetch_one(db)
        .await?;
    Ok(n as u64)
}

pub async fn content(db: impl MySqlExecutor<'_>, id: u64) -> Result<Option<Vec<u8>>, sqlx::Error> {
    let c: Option<Option<Vec<u8>>> =
        sqlx::query_scalar("SELECT content FROM import_session WHERE import_id = ?")
            .bind(id)
            .fetch_optional(db)
            .await?;
    Ok(c.flatten())
}

/// Stores the options of a dry run and its counts; only while the session
/// is open (a running or finished apply keeps the mapping it used).
#[allow(clippy::too_many_arguments)]
pub async fn save_options(
    db: impl MySqlExecutor<'_>,
    id: u64,
    client_id: u64,
    sheet: Option<&str>,
    header: &str,
    mapping: &str,
    valid: u32,
    invalid: u32,
    rows_total: u32,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE import_session SET client_id = ?, sheet = ?, header = ?, mapping = ?, valid_count = ?, \
         invalid_count = ?, rows_total = ?, updated_at = ? WHERE import_id = ? AND state IN ('uploaded', 'failed')",
    )
    .bind(client_id)
    .bind(sheet)
    .bind(header)
    .bind(mapping)
    .bind(valid)
    .bind(invalid)
    .bind(rows_total)
    .bind(now)
    .bind(id)
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Queues an open session for apply.
pub async fn queue(
    db: impl MySqlExecutor<'_>,
    id: u64,
    mode: ApplyMode,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE import_session SET state = 'queued', mode = ?, rows_done = 0, message = NULL, \
         lease_owner = NULL, lease_expires_at = NULL, updated_at = ? \
         WHERE import_id = ? AND state IN ('uploaded', 'failed') AND mapping IS NOT NULL",
    )
    .bind(mode.as_str())
    .bind(now)
    .bind(id)
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Claims a queued session, or one whose holder's lease expired.
pub async fn claim(
    db: impl MySqlExecutor<'_>,
    id: u64,
    holder: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE import_session SET state = 'applying', lease_owner = ?, lease_expires_at = ?, \
         attempts = attempts + 1, rows_done = 0, updated_at = ? \
         WHERE import_id = ? AND (state = 'queued' OR (state = 'applying' AND lease_expires_at < ?))",
    )
    .bind(holder)
    .bind(until)
    .bind(now)
    .bind(id)
    .bind(now)
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Sessions waiting for a worker: queued, or applying under an expired lease.
pub async fn claimable(
    db: impl MySqlExecutor<'_>,
    now: DateTime<Utc>,
) -> Result<Vec<u64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT import_id FROM import_session WHERE state = 'queued' \
         OR (state = 'applying' AND lease_expires_at < ?) ORDER BY import_id LIMIT 20",
    )
    .bind(now)
    .fetch_all(db)
    .await
}

/// Progress and lease renewal, outside the apply's transaction so the page
/// sees it; a lost lease answers false and the holder stops.
pub async fn progress(
    db: impl MySqlExecutor<'_>,
    id: u64,
    holder: &str,
    done: u32,
    until: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE import_session SET rows_done = ?, lease_expires_at = ? \
         WHERE import_id = ? AND state = 'applying' AND lease_owner = ?",
    )
    .bind(done)
    .bind(until)
    .bind(id)
    .bind(holder)
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Marks the session applied inside the apply's transaction, so the tasks
/// and the state commit together; false when the lease was lost.
#[allow(clippy::too_many_arguments)]
pub async fn finish(
    conn: &mut MySqlConnection,
    id: u64,
    holder: &str,
    created: u32,
    updated: u32,
    skipped: u32,
    message: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE import_session SET state = 'applied', created_count = ?, updated_count = ?, skipped_count = ?, \
         rows_done = rows_total, message = ?, applied_at = ?, updated_at = ?, lease_owner = NULL, lease_expires_at = NULL \
         WHERE import_id = ? AND state = 'applying' AND lease_owner = ?",
    )
    .bind(created)
    .bind(updated)
    .bind(skipped)
    .bind(message)
    .bind(now)
    .bind(now)
    .bind(id)
    .bind(holder)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn fail(
    db: impl MySqlExecutor<'_>,
    id: u64,
    holder: &str,
    message: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE import_session SET state = 'failed', message = ?, rows_done = 0, updated_at = ?, \
         lease_owner = NULL, lease_expires_at = NULL WHERE import_id = ? AND lease_owner = ?",
    )
    .bind(message.chars().take(1000).collect::<String>())
    .bind(now)
    .bind(id)
    .bind(holder)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn mark_undone(
    conn: &mut MySqlConnection,
    id: u64,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE import_session SET state = 'undone', undone_at = ?, updated_at = ? WHERE import_id = ? AND state = 'applied'",
    )
    .bind(now)
    .bind(now)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// External ids already imported into `client_id`, with their tasks.
pub async fn external_ids(
    db: impl MySqlExecutor<'_>,
    client_id: u64,
) -> Result<Vec<(String, u64)>, sqlx::Error> {
    sqlx::query_as("SELECT external_id, task_id FROM import_external_id WHERE client_id = ?")
        .bind(client_id)
        .fetch_all(db)
        .await
}

/// Records the external ids of an import's new tasks, `(external_id, task_id)`.
pub async fn add_external_ids(
    conn: &mut MySqlConnection,
    client_id: u64,
    ids: &[(&str, u64)],
    import_id: u64,
) -> Result<(), sqlx::Error> {
    for chunk in ids.chunks(2000) {
        let mut q = sqlx::QueryBuilder::<sqlx::MySql>::new(
            "INSERT INTO import_external_id (client_id, external_id, task_id, import_id) ",
        );
        q.push_values(chunk, |mut b, (external_id, task_id)| {
            b.push_bind(client_id)
                .push_bind(*external_id)
                .push_bind(*task_id)
                .push_bind(import_id);
        });
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Earlier applied imports of the same file into the same client.
pub async fn same_file_applied(
    db: impl MySqlExecutor<'_>,
    client_id: u64,
    sha256: &str,
    except: u64,
) -> Result<Vec<u64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT import_id FROM import_session WHERE client_id = ? AND sha256 = ? AND state = 'applied' AND import_id <> ?",
    )
    .bind(client_id)
    .bind(sha256)
    .bind(except)
    .fetch_all(db)
    .await
}

/// Users who may be assigned to tasks of `client_id`: the client, its
/// managers and the admins (the task service checks the same again).
pub async fn assignable(
    db: impl MySqlExecutor<'_>,
    client_id: u64,
) -> Result<Vec<(u64, String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT user_id, username, email FROM app_user WHERE active AND (user_id = ? OR role = 'admin' \
         OR user_id IN (SELECT manager_id FROM manager_client WHERE client_id = ?))",
    )
    .bind(client_id)
    .bind(client_id)
    .fetch_all(db)
    .await
}

/// Whether `client_id` is an active client user the caller may import into.
pub async fn client_in_scope(
    db: &sqlx::MySqlPool,
    client_id: u64,
    user_id: u64,
    is_admin: bool,
) -> Result<Option<bool>, sqlx::Error> {
    let role: Option<(String, bool)> =
        sqlx::query_as("SELECT role, active FROM app_user WHERE user_id = ?")
            .bind(client_id)
            .fetch_optional(db)
            .await?;
    let Some((role, active)) = role.filter(|r| r.0 == "client") else {
        return Ok(None);
    };
    debug_assert_eq!(role, "client");
    if is_admin {
        return Ok(Some(active));
    }
    let linked: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM manager_client WHERE manager_id = ? AND client_id = ?",
    )
    .bind(user_id)
    .bind(client_id)
    .fetch_one(db)
    .await?;
    Ok((linked > 0).then_some(active))
}

/// Drops uploaded files older than `before` from settled sessions.
pub async fn expire_files(
    db: impl MySqlExecutor<'_>,
    before: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE import_session SET content = NULL WHERE content IS NOT NULL AND created_at < ? \
         AND state NOT IN ('queued', 'applying')",
    )
    .bind(before)
    .execute(db)
    .await?;
    Ok(r.rows_affected())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MappingRow {
    pub mapping_id: u64,
    pub name: String,
    pub mapping: String,
    pub updated_at: DateTime<Utc>,
}

pub async fn mappings(
    db: impl MySqlExecutor<'_>,
    owner: u64,
) -> Result<Vec<MappingRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT mapping_id, name, mapping, updated_at FROM import_mapping WHERE owner_id = ? ORDER BY name",
    )
    .bind(owner)
    .fetch_all(db)
    .await
}

pub async fn save_mapping(
    db: impl MySqlExecutor<'_>,
    owner: u64,
    name: &str,
    mapping: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO import_mapping (owner_id, name, mapping, created_at, updated_at) VALUES (?, ?, ?, ?, ?) \
         ON DUPLICATE KEY UPDATE mapping = VALUES(mapping), updated_at = VALUES(updated_at)",
    )
    .bind(owner)
    .bind(name)
    .bind(mapping)
    .bind(now)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}
