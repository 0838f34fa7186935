use chrono::{DateTime, Utc};
use katalusis_crds::{TemplateRef, TemplateSpec};
use sqlx::{MySql, MySqlPool, QueryBuilder};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Row {
    pub name: String,
    pub version: u32,
    pub spec: String,
    pub spec_sha256: String,
    pub created_by: u64,
    pub created_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

const COLS: &str = "name, version, spec, spec_sha256, created_by, created_at, deleted_at";

impl Row {
    pub fn spec(&self) -> anyhow::Result<TemplateSpec> {
        serde_json::from_str(&self.spec).map_err(|e| {
            anyhow::anyhow!(
                "stored template {} v{} is unreadable: {e}",
                self.name,
                self.version
            )
        })
    }
}

/// The newest version of a template, locked for writing a new version.
pub async fn latest_for_update(
    tx: &mut sqlx::Transaction<'_, MySql>,
    name: &str,
) -> Result<Option<Row>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM node_template WHERE name = ? ORDER BY version DESC LIMIT 1 FOR UPDATE"
    ))
    .bind(name)
    .fetch_optional(&mut **tx)
    .await
}

pub async fn latest(db: &MySqlPool, name: &str) -> Result<Option<Row>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM node_template WHERE name = ? ORDER BY version DESC LIMIT 1"
    ))
    .bind(name)
    .fetch_optional(db)
    .await
}

pub async fn get(db: &MySqlPool, name: &str, version: u32) -> Result<Option<Row>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM node_template WHERE name = ? AND version = ?"
    ))
    .bind(name)
    .bind(version)
    .fetch_optional(db)
    .await
}

pub async fn versions(db: &MySqlPool, name: &str) -> Result<Vec<Row>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM node_template WHERE name = ? ORDER BY version DESC"
    ))
    .bind(name)
    .fetch_all(db)
    .await
}

pub async fn insert(
    tx: &mut sqlx::Transaction<'_, MySql>,
    spec: &TemplateSpec,
    version: u32,
    spec_json: &str,
    sha: &str,
    by: u64,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "INSERT INTO node_template (name, version, title, category, spec, spec_sha256, created_by, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&spec.name)
    .bind(version)
    .bind(&spec.title)
    .bind(&spec.category)
    .bind(spec_json)
    .bind(sha)
    .bind(by)
    .bind(Utc::now())
    .execute(&mut **tx)
    .await;
    match r {
        Ok(_) => Ok(true),
        Err(e) if super::is_duplicate(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

pub async fn soft_delete(db: &MySqlPool, name: &str) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE node_template SET deleted_at = ? WHERE name = ? AND deleted_at IS NULL",
    )
    .bind(Utc::now())
    .bind(name)
    .execute(db)
    .await?;
    Ok(r.rows_affected() > 0)
}

pub struct Filter {
    pub q: Option<String>,
    pub category: Option<String>,
    pub include_deleted: bool,
}

/// The newest version of every template matching the filter.
pub async fn list_latest(db: &MySqlPool, f: &Filter) -> Result<Vec<Row>, sqlx::Error> {
    let mut qb = QueryBuilder::<MySql>::new(format!(
        "SELECT {COLS} FROM node_template t WHERE t.version = \
         (SELECT MAX(t2.version) FROM node_template t2 WHERE t2.name = t.name)"
    ));
    if !f.include_deleted {
        qb.push(" AND t.deleted_at IS NULL");
    }
    if let Some(c) = &f.category {
        qb.push(" AND t.category = ").push_bind(c.clone());
    }
    if let Some(q) = &f.q {
        let p = super::like_pattern(q);
        qb.push(" AND (t.name LIKE ")
            .push_bind(p.clone())
            .push(" OR t.title LIKE ")
            .push_bind(p)
            .push(")");
    }
    qb.push(" ORDER BY t.category, t.name LIMIT 1000");
    qb.build_query_as().fetch_all(db).await
}

/// Loads exactly the template versions a graph pins, for validation.
pub async fn catalog_for(
    db: &MySqlPool,
    refs: &[TemplateRef],
) -> anyhow::Result<std::collections::HashMap<TemplateRef, (TemplateSpec, bool)>> {
    let mut out = std::collections::HashMap::new();
    for chunk in refs.chunks(200) {
        let mut qb = QueryBuilder::<MySql>::new(format!("SELECT {COLS} FROM node_template WHERE "));
        let mut sep = qb.separated(" OR ");
        for r in chunk {
            sep.push("(name = ")
                .push_bind_unseparated(r.name.clone())
                .push_unseparated(" AND version = ")
                .push_bind_unseparated(r.version)
                .push_unseparated(")");
        }
        let rows: Vec<Row> = qb.build_query_as().fetch_all(db).await?;
        for row in rows {
            let spec = row.spec()?;
            out.insert(
                TemplateRef {
                    name: row.name.clone(),
                    version: row.version,
                },
                (spec, row.deleted_at.is_some()),
            );
        }
    }
    Ok(out)
}

/// Which of `names` exist as templates (in any version, deleted or not).
pub async fn existing_names(db: &MySqlPool, names: &[&str]) -> Result<Vec<String>, sqlx::Error> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let mut qb =
        QueryBuilder::<MySql>::new("SELECT DISTINCT name FROM node_template WHERE name IN (");
    let mut sep = qb.separated(", ");
    for n in names {
        sep.push_bind(n.to_string());
    }
    qb.push(") ORDER BY name");
    qb.build_query_scalar().fetch_all(db).await
}
