//! Every secret stored in MySQL, walked as one set: secret parameters in
//! workflow graphs, their revisions and run snapshots, connection
//! passwords and the assistant's API key. A walk first computes every change; if any value cannot be
//! opened it reports them all and writes nothing, else it writes the changes
//! in one transaction.

use std::collections::{HashMap, HashSet};

use anyhow::Context;
use futures::TryStreamExt;
use katalusis_crds::{ParamKind, TemplateSpec};
use katalusis_vault::{is_sealed, Keyring};
use serde_json::Value;
use sqlx::MySqlPool;

/// Values that could not be opened, each named by where it is stored.
#[derive(Debug, thiserror::Error)]
#[error("{} stored secret(s) cannot be decrypted with the configured keys (nothing was changed):\n  {}", .0.len(), .0.join("\n  "))]
pub struct Undecryptable(pub Vec<String>);

/// What a walk did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Sealed values seen.
    pub sealed: usize,
    /// Values written (sealed for the first time or re-sealed).
    pub changed: usize,
}

/// Startup: every sealed value must open with the configured keys (else the
/// error names them and nothing is written); plaintext secret parameters
/// left from before the vault are sealed. Idempotent.
pub async fn check_and_migrate(db: &MySqlPool, ring: &Keyring) -> anyhow::Result<Report> {
    walk(db, |s, is_secret| {
        if is_sealed(s) {
            ring.open_bytes(s).map(|_| None).map_err(|e| e.to_string())
        } else if is_secret && !s.is_empty() {
            Ok(Some(ring.seal(s)))
        } else {
            Ok(None)
        }
    })
    .await
}

/// Rotation: every value not sealed with `ring`'s primary key is re-sealed
/// with it (and leftover plaintext secrets sealed).
pub async fn rotate(db: &MySqlPool, ring: &Keyring) -> anyhow::Result<Report> {
    walk(db, |s, is_secret| {
        if is_sealed(s) {
            if ring.is_stale(s) {
                ring.reseal(s).map(Some).map_err(|e| e.to_string())
            } else {
                ring.open_bytes(s).map(|_| None).map_err(|e| e.to_string())
            }
        } else if is_secret && !s.is_empty() {
            Ok(Some(ring.seal(s)))
        } else {
            Ok(None)
        }
    })
    .await
}

/// Secret parameter names by template name and version.
type SecretParams = HashMap<(String, u32), HashSet<String>>;

async fn secret_params(db: &MySqlPool) -> anyhow::Result<SecretParams> {
    let rows: Vec<(String, u32, String)> =
        sqlx::query_as("SELECT name, version, spec FROM node_template")
            .fetch_all(db)
            .await?;
    let mut out = SecretParams::new();
    for (name, version, spec) in rows {
        // An unreadable template has no parameters we could classify; its
        // sealed values are still checked, being recognisable by their form.
        let Ok(spec) = serde_json::from_str::<TemplateSpec>(&spec) else {
            continue;
        };
        let names: HashSet<String> = spec
            .parameters
            .iter()
            .filter(|p| p.kind == ParamKind::Secret)
            .map(|p| p.name.clone())
            .collect();
        if !names.is_empty() {
            out.insert((name, version), names);
        }
    }
    Ok(out)
}

/// Applies `f(value, is_secret_param)` to every string parameter value of
/// the graph in `doc`; returns whether anything changed.
fn visit_graph(
    graph: &mut Value,
    secrets: &SecretParams,
    place: &str,
    f: &mut impl FnMut(&str, bool) -> Result<Option<String>, String>,
    report: &mut Report,
    problems: &mut Vec<String>,
) -> bool {
    let mut changed = false;
    let Some(nodes) = graph.get_mut("nodes").and_then(Value::as_array_mut) else {
        return false;
    };
    for node in nodes {
        let id = node
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        let tpl = node.get("template").and_then(|t| {
            Some((
                t.get("name")?.as_str()?.to_string(),
                u32::try_from(t.get("version")?.as_u64()?).ok()?,
            ))
        });
        let names = tpl.and_then(|t| secrets.get(&t));
        let Some(params) = node.get_mut("params").and_then(Value::as_object_mut) else {
            continue;
        };
        for (name, value) in params.iter_mut() {
            let Some(s) = value.as_str() else { continue };
            if is_sealed(s) {
                report.sealed += 1;
            }
            let is_secret = names.is_some_and(|n| n.contains(name));
            match f(s, is_secret) {
                Ok(Some(new)) => {
                    *value = Value::String(new);
                    report.changed += 1;
                    changed = true;
                }
                Ok(None) => {}
                Err(e) => problems.push(format!("{place}, node '{id}', parameter '{name}': {e}")),
            }
        }
    }
    changed
}

enum Update {
    Workflow(u64, String),
    Revision(u64, u32, String),
    Run(u64, String),
    Connection(u64, String),
    /// An `app_setting` document with its sealed field rewritten.
    Setting(&'static str, String),
}

async fn walk(
    db: &MySqlPool,
    mut f: impl FnMut(&str, bool) -> Result<Option<String>, String>,
) -> anyhow::Result<Report> {
    let secrets = secret_params(db).await?;
    let mut report = Report::default();
    let mut problems = Vec::new();
    let mut updates = Vec::new();

    let rows: Vec<(u64, String)> = sqlx::query_as("SELECT workflow_id, graph FROM workflow")
        .fetch_all(db)
        .await?;
    for (id, text) in rows {
        let mut graph: Value = serde_json::from_str(&text)
            .with_context(|| format!("workflow {id}: stored graph unreadable"))?;
        let place = format!("workflow {id}");
        if visit_graph(
            &mut graph,
            &secrets,
            &place,
            &mut f,
            &mut report,
            &mut problems,
        ) {
            updates.push(Update::Workflow(id, graph.to_string()));
        }
    }
    let rows: Vec<(u64, u32, String)> =
        sqlx::query_as("SELECT workflow_id, revision, graph FROM workflow_revision")
            .fetch_all(db)
            .await?;
    for (id, rev, text) in rows {
        let mut graph: Value = serde_json::from_str(&text)
            .with_context(|| format!("workflow {id} revision {rev}: stored graph unreadable"))?;
        let place = format!("workflow {id} revision {rev}");
        if visit_graph(
            &mut graph,
            &secrets,
            &place,
            &mut f,
            &mut report,
            &mut problems,
        ) {
            updates.push(Update::Revision(id, rev, graph.to_string()));
        }
    }
    // Runs are the one table that grows without bound: streamed, so a start
    // on a million runs holds one snapshot at a time, not all of them.
    let mut rows = sqlx::query_as::<_, (u64, String)>("SELECT run_id, snapshot FROM run").fetch(db);
    while let Some((id, text)) = rows.try_next().await? {
        let mut snapshot: Value = serde_json::from_str(&text)
            .with_context(|| format!("run {id}: stored snapshot unreadable"))?;
        let place = format!("run {id}");
        let changed = snapshot
            .get_mut("graph")
            .is_some_and(|g| visit_graph(g, &secrets, &place, &mut f, &mut report, &mut problems));
        if changed {
            updates.push(Update::Run(id, snapshot.to_string()));
        }
    }
    // Gives its connection back before the updates take one.
    drop(rows);
    let rows: Vec<(u64, String, String)> = sqlx::query_as(
        "SELECT connection_id, name, password_sealed FROM db_connection WHERE password_sealed IS NOT NULL",
    )
    .fetch_all(db)
    .await?;
    for (id, name, sealed) in rows {
        if is_sealed(&sealed) {
            report.sealed += 1;
        }
        match f(&sealed, true) {
            Ok(Some(new)) => {
                report.changed += 1;
                updates.push(Update::Connection(id, new));
            }
            Ok(None) => {}
            Err(e) => problems.push(format!("connection {id} ('{name}'), password: {e}")),
        }
    }
    // The assistant's API key, stored by an administrator.
    let ai = crate::ai::settings::raw(db).await?;
    if let Some(text) = ai {
        let mut stored = crate::ai::settings::parse(Some(&text))
            .context("app setting 'ai': stored document unreadable")?;
        if let Some(sealed) = stored.api_key_sealed.clone() {
            if is_sealed(&sealed) {
                report.sealed += 1;
            }
            match f(&sealed, true) {
                Ok(Some(new)) => {
                    report.changed += 1;
                    stored.api_key_sealed = Some(new);
                    updates.push(Update::Setting(
                        crate::ai::settings::KEY,
                        serde_json::to_string(&stored)?,
                    ));
                }
                Ok(None) => {}
                Err(e) => problems.push(format!("AI settings, API key: {e}")),
            }
        }
    }

    if !problems.is_empty() {
        return Err(Undecryptable(problems).into());
    }
    let mut tx = db.begin().await?;
    for u in updates {
        match u {
            Update::Workflow(id, g) => {
                sqlx::query("UPDATE workflow SET graph = ? WHERE workflow_id = ?")
                    .bind(g)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            Update::Revision(id, rev, g) => {
                sqlx::query(
                    "UPDATE workflow_revision SET graph = ? WHERE workflow_id = ? AND revision = ?",
                )
                .bind(g)
                .bind(id)
                .bind(rev)
                .execute(&mut *tx)
                .await?;
            }
            Update::Run(id, s) => {
                sqlx::query("UPDATE run SET snapshot = ? WHERE run_id = ?")
                    .bind(s)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            Update::Setting(key, value) => {
                sqlx::query("UPDATE app_setting SET value = ? WHERE setting_key = ?")
                    .bind(value)
                    .bind(key)
                    .execute(&mut *tx)
                    .await?;
            }
            Update::Connection(id, p) => {
                sqlx::query("UPDATE db_connection SET password_sealed = ? WHERE connection_id = ?")
                    .bind(p)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
    }
    tx.commit().await?;
    Ok(report)
}
