use chrono::{DateTime, Utc};
use sqlx::{MySql, MySqlPool, QueryBuilder};

use crate::auth::ClientScope;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Row {
    pub workflow_id: u64,
    pub client_id: u64,
    pub name: String,
    pub description: String,
    pub graph: String,
    pub revision: u32,
    pub created_by: u64,
    pub created_at: DateTime<Utc>,
    pub updated_by: u64,
    pub updated_at: DateTime<Utc>,
}

const COLS: &str = "w.workflow_id, w.client_id, w.name, w.description, w.graph, w.revision, \
                    w.created_by, w.created_at, w.updated_by, w.updated_at";

/// The current name and description of workflows, deleted ones included
/// (their runs stay readable), by id.
pub async fn names(
    db: &MySqlPool,
    ids: &[u64],
) -> Result<std::collections::HashMap<u64, (String, String)>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let mut qb = QueryBuilder::<MySql>::new(
        "SELECT workflow_id, name, description FROM workflow WHERE workflow_id IN (",
    );
    let mut list = qb.separated(", ");
    for id in ids {
        list.push_bind(*id);
    }
    list.push_unseparated(")");
    let rows: Vec<(u64, String, String)> = qb.build_query_as().fetch_all(db).await?;
    Ok(rows.into_iter().map(|(id, n, d)| (id, (n, d))).collect())
}

/// A workflow if it exists, is not deleted and is inside the caller's scope.
pub async fn get(db: &MySqlPool, scope: ClientScope, id: u64) -> Result<Option<Row>, sqlx::Error> {
    let mut qb = QueryBuilder::<MySql>::new(format!(
        "SELECT {COLS} FROM workflow w WHERE w.deleted_at IS NULL AND w.workflow_id = "
    ));
    qb.push_bind(id);
    scope.push_filter(&mut qb, "w.client_id");
    qb.build_query_as().fetch_optional(db).await
}

pub struct NewWorkflow<'a> {
    pub client_id: u64,
    pub name: &'a str,
    pub description: &'a str,
    pub graph: &'a str,
    pub by: u64,
}

pub async fn insert(
    tx: &mut sqlx::Transaction<'_, MySql>,
    w: &NewWorkflow<'_>,
) -> Result<u64, sqlx::Error> {
    let now = Utc::now();
    let id = sqlx::query(
        "INSERT INTO workflow (client_id, name, description, graph, revision, created_by, created_at, updated_by, updated_at) \
         VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?)",
    )
    .bind(w.client_id)
    .bind(w.name)
    .bind(w.description)
    .bind(w.graph)
    .bind(w.by)
    .bind(now)
    .bind(w.by)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .last_insert_id();
    insert_revision(tx, id, 1, w.name, w.description, w.graph, w.by).await?;
    Ok(id)
}

async fn insert_revision(
    tx: &mut sqlx::Transaction<'_, MySql>,
    id: u64,
    revision: u32,
    name: &str,
    description: &str,
    graph: &str,
    by: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO workflow_revision (workflow_id, revision, name, description, graph, created_by, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(revision)
    .bind(name)
    .bind(description)
    .bind(graph)
    .bind(by)
    .bind(Utc::now())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Saves a new revision if `expected_revision` is still current (compare-and-set,
/// so of two concurrent saves of one revision exactly one wins). Returns the new
/// revision, or `None` when the expected revision is stale.
pub async fn update(
    tx: &mut sqlx::Transaction<'_, MySql>,
    id: u64,
    expected_revision: u32,
    name: &str,
    description: &str,
    graph: &str,
    by: u64,
) -> Result<Option<u32>, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE workflow SET name = ?, description = ?, graph = ?, revision = revision + 1, \
         updated_by = ?, updated_at = ? WHERE workflow_id = ? AND revision = ? AND deleted_at IS NULL",
    )
    .bind(name)
    .bind(description)
    .bind(graph)
    .bind(by)
    .bind(Utc::now())
    .bind(id)
    .bind(expected_revision)
    .execute(&mut **tx)
    .await?;
    if r.rows_affected() != 1 {
        return Ok(None);
    }
    let new_rev = expected_revision + 1;
    insert_revision(tx, id, new_rev, name, description, graph, by).await?;
    Ok(Some(new_rev))
}

pub async fn soft_delete(db: &MySqlPool, id: u64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE workflow SET deleted_at = ? WHERE workflow_id = ?")
        .bind(Utc::now())
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

pub struct Filter {
    pub client_id: Option<u64>,
    pub created_by: Option<u64>,
    pub q: Option<String>,
}

pub async fn list(
    db: &MySqlPool,
    scope: ClientScope,
    f: &Filter,
    limit: u32,
    offset: u64,
) -> Result<(Vec<Row>, u64), sqlx::Error> {
    let from_where = |qb: &mut QueryBuilder<'_, MySql>| {
        qb.push(" FROM workflow w WHERE w.deleted_at IS NULL");
        scope.push_filter(qb, "w.client_id");
        if let Some(c) = f.client_id {
            qb.push(" AND w.client_id = ").push_bind(c);
        }
        if let Some(u) = f.created_by {
            qb.push(" AND w.created_by = ").push_bind(u);
        }
        if let Some(q) = &f.q {
            qb.push(" AND w.name LIKE ")
                .push_bind(super::like_pattern(q));
        }
    };
    super::paging::fetch_page(
        db,
        COLS,
        from_where,
        "w.updated_at DESC, w.workflow_id DESC",
        limit,
        offset,
    )
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RevisionRow {
    pub revision: u32,
    pub name: String,
    pub description: String,
    pub graph: String,
    pub created_by: u64,
    pub created_at: DateTime<Utc>,
}

pub async fn revisions(db: &MySqlPool, id: u64) -> Result<Vec<RevisionRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT revision, name, description, graph, created_by, created_at FROM workflow_revision \
         WHERE workflow_id = ? ORDER BY revision DESC",
    )
    .bind(id)
    .fetch_all(db)
    .await
}

pub async fn revision(
    db: &MySqlPool,
    id: u64,
    rev: u32,
) -> Result<Option<RevisionRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT revision, name, description, graph, created_by, created_at FROM workflow_revision \
         WHERE workflow_id = ? AND revision = ?",
    )
    .bind(id)
    .bind(rev)
    .fetch_optional(db)
    .await
}

/// Id and current revision of every workflow that is not deleted.
pub async fn current_revisions(db: &MySqlPool) -> Result<Vec<(u64, u32)>, sqlx::Error> {
    sqlx::query_as("SELECT workflow_id, revision FROM workflow WHERE deleted_at IS NULL")
        .fetch_all(db)
        .await
}
