//! Admin-editable settings stored as JSON documents by key.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::MySqlPool;
use utoipa::ToSchema;

pub const MODULES_KEY: &str = "modules";

/// The import policy for `restricted` nodes. Block wins over allow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModuleSettings {
    pub allow: Vec<String>,
    pub block: Vec<String>,
}

impl ModuleSettings {
    /// The runner's own defaults; `runner/default_modules.json` is the one list,
    /// and a runner test checks the runner embeds the same one.
    pub fn defaults() -> Self {
        serde_json::from_str(include_str!("../../../runner/default_modules.json")).unwrap_or(Self {
            allow: vec![],
            block: vec![],
        })
    }
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

/// The module policy in force: the stored one, else the defaults.
pub async fn modules(db: &MySqlPool) -> anyhow::Result<ModuleSettings> {
    match get(db, MODULES_KEY).await? {
        Some(s) => Ok(serde_json::from_str(&s.value)?),
        None => Ok(ModuleSettings::defaults()),
    }
}
