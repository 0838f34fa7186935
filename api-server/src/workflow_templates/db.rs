//! Queries on `workflow_template`. Visibility is part of every lookup:
//! built-in and shared templates for all staff, private ones for their owner.

use chrono::{DateTime, Utc};
use sqlx::MySqlPool;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TemplateRow {
    pub template_id: u64,
    pub slug: Option<String>,
    pub name: String,
    pub description: String,
    pub category: String,
    pub document: String,
    pub builtin: bool,
    pub shared: bool,
    pub owner_id: Option<u64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const SELECT: &str =
    "SELECT template_id, slug, name, description, category, document, builtin, shared, \
     owner_id, created_at, updated_at FROM workflow_template";

pub async fn visible(db: &MySqlPool, user_id: u64) -> Result<Vec<TemplateRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{SELECT} WHERE builtin = TRUE OR shared = TRUE OR owner_id = ? ORDER BY builtin DESC, category, name"
    ))
    .bind(user_id)
    .fetch_all(db)
    .await
}

pub async fn get_visible(
    db: &MySqlPool,
    user_id: u64,
    id: u64,
) -> Result<Option<TemplateRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{SELECT} WHERE template_id = ? AND (builtin = TRUE OR shared = TRUE OR owner_id = ?)"
    ))
    .bind(id)
    .bind(user_id)
    .fetch_optional(db)
    .await
}

/// Installs or refreshes a shipped template by its slug.
pub async fn upsert_builtin(
    db: &MySqlPool,
    slug: &str,
    name: &str,
    description: &str,
    category: &str,
    document: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO workflow_template (slug, name, description, category, document, builtin, shared, owner_id, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, TRUE, TRUE, NULL, ?, ?) \
         ON DUPLICATE KEY UPDATE name = VALUES(name), description = VALUES(description), \
         category = VALUES(category), document = VALUES(document), \
         updated_at = IF(document = VALUES(document), updated_at, VALUES(updated_at))",
    )
    .bind(slug)
    .bind(name)
    .bind(description)
    .bind(category)
    .bind(document)
    .bind(now)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

pub struct NewTemplate<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub category: &'a str,
    pub document: &'a str,
    pub shared: bool,
    pub owner_id: u64,
    pub now: DateTime<Utc>,
}

pub async fn insert(db: &MySqlPool, t: &NewTemplate<'_>) -> Result<u64, sqlx::Error> {
    let r = sqlx::query(
        "INSERT INTO workflow_template (name, description, category, document, builtin, shared, owner_id, created_at, updated_at) \
         VALUES (?, ?, ?, ?, FALSE, ?, ?, ?, ?)",
    )
    .bind(t.name)
    .bind(t.description)
    .bind(t.category)
    .bind(t.document)
    .bind(t.shared)
    .bind(t.owner_id)
    .bind(t.now)
    .bind(t.now)
    .execute(db)
    .await?;
    Ok(r.last_insert_id())
}

pub async fn delete(db: &MySqlPool, id: u64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM workflow_template WHERE template_id = ? AND builtin = FALSE")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}
