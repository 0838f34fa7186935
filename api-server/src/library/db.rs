//! The `starter_template` table: which template versions the installer wrote.

use chrono::Utc;
use sqlx::MySql;

pub async fn record_install(
    tx: &mut sqlx::Transaction<'_, MySql>,
    name: &str,
    version: u32,
    sha: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO starter_template (name, version, spec_sha256, installed_at) VALUES (?, ?, ?, ?)",
    )
    .bind(name)
    .bind(version)
    .bind(sha)
    .bind(Utc::now())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Whether this exact version was written by the installer (so nobody edited
/// the template since: an edit creates a newer version).
pub async fn is_installed_version(
    tx: &mut sqlx::Transaction<'_, MySql>,
    name: &str,
    version: u32,
    sha: &str,
) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM starter_template WHERE name = ? AND version = ? AND spec_sha256 = ?",
    )
    .bind(name)
    .bind(version)
    .bind(sha)
    .fetch_one(&mut **tx)
    .await?;
    Ok(n > 0)
}

/// `(name, spec_sha256)` of every template whose newest version is still the
/// one the installer wrote (not deleted, not edited since).
pub async fn unedited(db: &sqlx::MySqlPool) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT t.name, t.spec_sha256 FROM node_template t \
         JOIN starter_template s ON s.name = t.name AND s.version = t.version \
         WHERE t.deleted_at IS NULL \
         AND t.version = (SELECT MAX(t2.version) FROM node_template t2 WHERE t2.name = t.name) \
         ORDER BY t.name",
    )
    .fetch_all(db)
    .await
}
