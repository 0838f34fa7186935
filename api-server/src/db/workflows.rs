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
    #[sqlx(try_from = "String")]
    pub source: Source,
    pub resource_namespace: Option<String>,
    pub resource_name: Option<String>,
    pub resource_generation: Option<i64>,
}

pub use katalusis_crds::resources::WorkflowSource;

/// [`WorkflowSource`] as a column value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source(pub WorkflowSource);

impl TryFrom<String> for Source {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        WorkflowSource::parse(&s)
            .map(Source)
            .ok_or_else(|| format!("unknown workflow source '{s}'"))
    }
}

const COLS: &str = "w.workflow_id, w.client_id, w.name, w.description, w.graph, w.revision, \
                    w.created_by, w.created_at, w.updated_by, w.updated_at, w.source, \
                    w.resource_namespace, w.resource_name, w.resource_generation";

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

/// A live workflow by its Kubernetes resource: a cluster-authored one by
/// namespace and name.
pub async fn by_cluster_resource(
    db: &MySqlPool,
    namespace: &str,
    name: &str,
) -> Result<Option<Row>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM workflow w WHERE w.live_resource = ?"
    ))
    .bind(format!("cluster:{namespace}/{name}"))
    .fetch_optional(db)
    .await
}

/// A live UI workflow of `client_id` whose manifests carry `name`.
pub async fn by_ui_resource(
    db: &MySqlPool,
    client_id: u64,
    name: &str,
) -> Result<Option<Row>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM workflow w WHERE w.live_resource = ?"
    ))
    .bind(format!("ui:{client_id}/{name}"))
    .fetch_optional(db)
    .await
}

/// Id and resource name of every live cluster-authored workflow of `namespace`.
pub async fn cluster_resources(
    db: &MySqlPool,
    namespace: &str,
) -> Result<Vec<(u64, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT workflow_id, resource_name FROM workflow \
         WHERE deleted_at IS NULL AND source = 'cluster' AND resource_namespace = ?",
    )
    .bind(namespace)
    .fetch_all(db)
    .await
}

/// Gives a UI workflow the resource name its manifests carry (kept from
/// then on, so a renamed workflow keeps its file). False when the name is
/// taken by another workflow of the client.
pub async fn set_ui_resource_name(
    db: &MySqlPool,
    id: u64,
    name: &str,
) -> Result<bool, sqlx::Error> {
    match sqlx::query(
        "UPDATE workflow SET resource_name = ? \
         WHERE workflow_id = ? AND source = 'ui' AND resource_name IS NULL",
    )
    .bind(name)
    .bind(id)
    .execute(db)
    .await
    {
        Ok(_) => Ok(true),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
        Err(e) => Err(e),
    }
}

/// Records that the resource's `generation` is stored.
pub async fn set_resource_generation(
    db: &MySqlPool,
    id: u64,
    generation: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE workflow SET resource_generation = ? WHERE workflow_id = ?")
        .bind(generation)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

pub struct NewWorkflow<'a> {
    pub client_id: u64,
    pub name: &'a str,
    pub description: &'a str,
    pub graph: &'a str,
    pub by: u64,
    pub source: WorkflowSource,
    /// The Kubernetes resource: (namespace, name); the namespace is `None`
    /// for a UI workflow's manifest name.
    pub resource: Option<(Option<&'a str>, &'a str)>,
    pub generation: Option<i64>,
    /// The cluster identity that applied it.
    pub author: Option<&'a str>,
}

impl<'a> NewWorkflow<'a> {
    /// A workflow created in the browser.
    pub fn ui(
        client_id: u64,
        name: &'a str,
        description: &'a str,
        graph: &'a str,
        by: u64,
    ) -> Self {
        Self {
            client_id,
            name,
            description,
            graph,
            by,
            source: WorkflowSource::Ui,
            resource: None,
            generation: None,
            author: None,
        }
    }
}

pub async fn insert(
    tx: &mut sqlx::Transaction<'_, MySql>,
    w: &NewWorkflow<'_>,
) -> Result<u64, sqlx::Error> {
    let now = Utc::now();
    let id = sqlx::query(
        "INSERT INTO workflow (client_id, name, description, graph, revision, created_by, created_at, \
         updated_by, updated_at, source, resource_namespace, resource_name, resource_generation) \
         VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(w.client_id)
    .bind(w.name)
    .bind(w.description)
    .bind(w.graph)
    .bind(w.by)
    .bind(now)
    .bind(w.by)
    .bind(now)
    .bind(w.source.as_str())
    .bind(w.resource.and_then(|r| r.0))
    .bind(w.resource.map(|r| r.1))
    .bind(w.generation)
    .execute(&mut **tx)
    .await?
    .last_insert_id();
    insert_revision(tx, id, 1, w.name, w.description, w.graph, w.by, w.author).await?;
    Ok(id)
}

#[allow(clippy::too_many_arguments)]
async fn insert_revision(
    tx: &mut sqlx::Transaction<'_, MySql>,
    id: u64,
    revision: u32,
    name: &str,
    description: &str,
    graph: &str,
    by: u64,
    author: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO workflow_revision (workflow_id, revision, name, description, graph, created_by, created_at, author) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(revision)
    .bind(name)
    .bind(description)
    .bind(graph)
    .bind(by)
    .bind(Utc::now())
    .bind(author)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Stores what the cluster holds now as the next revision of a
/// cluster-authored workflow (the cluster is its source of truth, so no
/// revision check); the new revision.
pub async fn update_from_cluster(
    tx: &mut sqlx::Transaction<'_, MySql>,
    current: &Row,
    name: &str,
    description: &str,
    graph: &str,
    by: u64,
    author: Option<&str>,
    generation: i64,
) -> Result<u32, sqlx::Error> {
    let new_rev = current.revision + 1;
    sqlx::query(
        "UPDATE workflow SET name = ?, description = ?, graph = ?, revision = ?, updated_by = ?, \
         updated_at = ?, resource_generation = ? WHERE workflow_id = ?",
    )
    .bind(name)
    .bind(description)
    .bind(graph)
    .bind(new_rev)
    .bind(by)
    .bind(Utc::now())
    .bind(generation)
    .bind(current.workflow_id)
    .execute(&mut **tx)
    .await?;
    insert_revision(
        tx,
        current.workflow_id,
        new_rev,
        name,
        description,
        graph,
        by,
        author,
    )
    .await?;
    Ok(new_rev)
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
    insert_revision(tx, id, new_rev, name, description, graph, by, None).await?;
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
    pub author: Option<String>,
}

pub async fn revisions(db: &MySqlPool, id: u64) -> Result<Vec<RevisionRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT revision, name, description, graph, created_by, created_at, author FROM workflow_revision \
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
        "SELECT revision, name, description, graph, created_by, created_at, author FROM workflow_revision \
         WHERE workflow_id = ? AND revision = ?",
    )
    .bind(id)
    .bind(rev)
    .fetch_optional(db)
    .await
}

/// Id and current revision of every workflow edited in the browser that is
/// not deleted (the ones the cluster holds a mirror of).
pub async fn current_revisions(db: &MySqlPool) -> Result<Vec<(u64, u32)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT workflow_id, revision FROM workflow WHERE deleted_at IS NULL AND source = 'ui'",
    )
    .fetch_all(db)
    .await
}
