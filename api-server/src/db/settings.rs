//! Admin-editable settings stored as JSON documents by key.

use chrono::{DateTime, Utc};
use sqlx::MySqlPool;

pub const MODULES_KEY: &str = "modules";

pub use katalusis_crds::ModuleSettings;

/// The runner's own defaults; `runner/default_modules.json` is the one list,
/// and a runner test checks the runner embeds the same one.
pub fn default_modules() -> ModuleSettings {
    serde_json::from_str(include_str!("../../../runner/default_modules.json")).unwrap_or(
        ModuleSettings {
            allow: vec![],
            block: vec![],
        },
    )
}

#[derive(Debug, sqlx::FromRow)]
pub struct Stored {
    pub value: String,
    pub updated_by: Option<u64>,
    pub updated_at: DateTime<Utc>,
}

pub async fn get(db: &MySqlPool, key: &str) -> Result<Option<Stored>, sqlx::Error> {
    sqlx::query_as("SELECT value, updated_by, updated_at FROM app_setting WHERE setting_key = ?")
        .bind(key)
        .fetch_optional(db)
        .await
}

pub async fn put(db: &MySqlPool, key: &str, value: &str, by: u64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO app_setting (setting_key, value, updated_by, updated_at) VALUES (?, ?, ?, ?) \
         ON DUPLICATE KEY UPDATE value = VALUES(value), updated_by = VALUES(updated_by), updated_at = VALUES(updated_at)",
    )
    .bind(key)
    .bind(value)
    .bind(by)
    .bind(Utc::now())
    .execute(db)
    .await?;
    Ok(())
}

/// Stores `value` unless the key exists (the first writer wins).
pub async fn insert_if_absent(db: &MySqlPool, key: &str, value: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT IGNORE INTO app_setting (setting_key, value, updated_by, updated_at) VALUES (?, ?, NULL, ?)",
    )
    .bind(key)
    .bind(value)
    .bind(Utc::now())
    .execute(db)
    .await?;
    Ok(())
}

/// The module policy in force: the stored one, else the defaults.
pub async fn modules(db: &MySqlPool) -> anyhow::Result<ModuleSettings> {
    match get(db, MODULES_KEY).await? {
        Some(s) => Ok(serde_json::from_str(&s.value)?),
        None => Ok(default_modules()),
    }
}
