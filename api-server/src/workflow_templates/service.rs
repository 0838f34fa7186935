//! Installing the shipped templates, saving a workflow as a template, and
//! instantiating one for a client (the workflow, then its triggers).

use std::collections::{BTreeMap, BTreeSet};

use chrono::Utc;
use katalusis_crds::{Graph, ParamKind, TemplateRef};
use serde_json::Value;
use sqlx::MySqlPool;

use super::db;
use super::model::{self, Document};

/// Installs or refreshes the shipped templates (every start).
pub async fn install_builtins(pool: &MySqlPool) -> anyhow::Result<()> {
    let now = Utc::now();
    for t in model::shipped() {
        let document = serde_json::to_string(&t.document)?;
        db::upsert_builtin(
            pool,
            &t.slug,
            &t.name,
            &t.description,
            &t.category,
            &document,
            now,
        )
        .await?;
    }
    Ok(())
}

/// Pins every node to the newest version of its template in the library,
/// so an instantiated workflow starts from what is installed now.
pub async fn pin_latest(pool: &MySqlPool, graph: &mut Graph) -> Result<(), sqlx::Error> {
    let names: BTreeSet<String> = graph
        .nodes
        .iter()
        .map(|n| n.template.name.clone())
        .collect();
    let mut latest = BTreeMap::new();
    for name in names {
        if let Some(row) = crate::db::templates::latest(pool, &name).await? {
            latest.insert(name, row.version);
        }
    }
    for n in &mut graph.nodes {
        if let Some(v) = latest.get(&n.template.name) {
            n.template = TemplateRef {
                name: n.template.name.clone(),
                version: *v,
            };
        }
    }
    Ok(())
}

/// The graph to keep in a template: secret parameter values are dropped
/// (a template is shared with other clients' workflows; secrets are not).
pub async fn without_secrets(pool: &MySqlPool, mut graph: Graph) -> anyhow::Result<Graph> {
    let catalog = crate::db::templates::catalog_for(pool, &graph.template_refs()).await?;
    for n in &mut graph.nodes {
        let Some((spec, _)) = catalog.get(&n.template) else {
            continue;
        };
        n.params.retain(|name, _| {
            spec.parameter(name)
                .is_none_or(|p| p.kind != ParamKind::Secret)
        });
    }
    Ok(graph)
}

/// The template's parameters, the number of nodes and the node kinds, for
/// the gallery.
pub fn summary(doc: &Document) -> (usize, Vec<String>) {
    let nodes = doc.graph["nodes"].as_array().cloned().unwrap_or_default();
    let mut kinds: Vec<String> = nodes
        .iter()
        .filter_map(|n| n["template"]["name"].as_str().map(str::to_owned))
        .collect();
    kinds.sort();
    kinds.dedup();
    (nodes.len(), kinds)
}

pub fn document_of(row: &db::TemplateRow) -> anyhow::Result<Document> {
    Ok(serde_json::from_str(&row.document)?)
}

pub fn graph_of(value: Value) -> anyhow::Result<Graph> {
    Ok(serde_json::from_value(value)?)
}
