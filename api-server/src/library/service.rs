//! The starter node library: the shipped templates and the install rules.
//! No HTTP here; the handler in `mod.rs` and startup both call [`install`].

use katalusis_crds::{LimitMaxima, TemplateSpec};
use serde::Serialize;
use sqlx::MySqlPool;
use utoipa::ToSchema;

use crate::auth::tokens::sha256_hex;
use crate::config::Settings;
use crate::db;

use super::db as starter_db;

/// `(name, manifest JSON, code)` of every file pair in `library/starter/`.
static FILES: &[(&str, &str, &str)] = include!(concat!(env!("OUT_DIR"), "/starter_library.rs"));

/// How often one template's install is retried after a deadlock or a lost
/// insert race with another replica.
const ATTEMPTS: u32 = 5;

#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    #[error("starter template {file}: {message}")]
    Malformed { file: String, message: String },
    #[error("installing {0}: another writer won the insert race {ATTEMPTS} times in a row")]
    Contended(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Why a shipped template was not installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// The library holds a version an admin wrote (or edited) since the last install.
    EditedLocally,
    /// An admin deleted the template; installing does not bring it back.
    DeletedLocally,
    /// The shipped template does not fit this server (e.g. limits above the configured maxima).
    Invalid,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Skipped {
    pub name: String,
    pub reason: SkipReason,
    pub message: String,
}

/// What one install did, by template name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstallReport {
    /// New templates (version 1).
    pub created: Vec<String>,
    /// Starter templates nobody edited, moved to the shipped content as a new version.
    pub updated: Vec<String>,
    /// Already identical to the shipped content.
    pub unchanged: Vec<String>,
    pub skipped: Vec<Skipped>,
}

/// The shipped templates, parsed (the manifest with its code filled in).
pub fn templates() -> Result<Vec<TemplateSpec>, LibraryError> {
    FILES
        .iter()
        .map(|(name, manifest, code)| parse(name, manifest, code))
        .collect()
}

/// The names of the shipped templates.
pub fn names() -> Vec<&'static str> {
    FILES.iter().map(|(name, ..)| *name).collect()
}

fn parse(file: &str, manifest: &str, code: &str) -> Result<TemplateSpec, LibraryError> {
    let malformed = |message: String| LibraryError::Malformed {
        file: file.to_owned(),
        message,
    };
    let mut value: serde_json::Value =
        serde_json::from_str(manifest).map_err(|e| malformed(format!("{file}.json: {e}")))?;
    let obj = value
        .as_object_mut()
        .ok_or_else(|| malformed(format!("{file}.json is not a JSON object")))?;
    if obj.contains_key("code") {
        return Err(malformed(format!(
            "the code belongs in {file}.py, not in the manifest"
        )));
    }
    obj.insert("code".into(), code.into());
    let spec: TemplateSpec =
        serde_json::from_value(value).map_err(|e| malformed(format!("{file}.json: {e}")))?;
    if spec.name != file {
        return Err(malformed(format!("the manifest names '{}'", spec.name)));
    }
    Ok(spec)
}

/// The template's canonical JSON and its hash, exactly as saving it through the API computes them.
fn canonical(spec: &TemplateSpec) -> Result<(String, String), serde_json::Error> {
    let json = serde_json::to_string(spec)?;
    let sha = sha256_hex(&json);
    Ok((json, sha))
}

/// Installs every shipped template (see [`install_one`] for the rules), as `by`.
pub async fn install(
    db: &MySqlPool,
    maxima: &LimitMaxima,
    by: u64,
) -> Result<InstallReport, LibraryError> {
    let mut report = InstallReport::default();
    for spec in templates()? {
        install_one(db, maxima, &spec, by, &mut report).await?;
    }
    Ok(report)
}

/// A template that does not exist is created at version 1; one whose newest
/// version is identical is left alone; one that differs gets the shipped
/// content as a new version only if its newest version was written by this
/// installer (nobody edited it since), otherwise it is skipped.
async fn install_one(
    db: &MySqlPool,
    maxima: &LimitMaxima,
    spec: &TemplateSpec,
    by: u64,
    report: &mut InstallReport,
) -> Result<(), LibraryError> {
    let name = spec.name.clone();
    let errs = spec.validate(maxima);
    if !errs.is_empty() {
        let message = errs
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        report.skipped.push(Skipped {
            name,
            reason: SkipReason::Invalid,
            message,
        });
        return Ok(());
    }
    let (json, sha) = canonical(spec).map_err(|e| LibraryError::Malformed {
        file: name.clone(),
        message: e.to_string(),
    })?;
    let mut attempt = 0;
    let outcome = loop {
        attempt += 1;
        match try_install(db, spec, &json, &sha, by).await {
            Ok(Some(outcome)) => break outcome,
            // Another replica inserted the same version first: look again.
            Ok(None) if attempt < ATTEMPTS => continue,
            Ok(None) => return Err(LibraryError::Contended(name)),
            Err(e) if is_retryable(&e) && attempt < ATTEMPTS => continue,
            Err(e) => return Err(e.into()),
        }
    };
    let skipped = |reason, message: &str| Skipped {
        name: name.clone(),
        reason,
        message: message.to_owned(),
    };
    match outcome {
        Outcome::Created => report.created.push(name),
        Outcome::Updated => report.updated.push(name),
        Outcome::Unchanged => report.unchanged.push(name),
        Outcome::EditedLocally => report.skipped.push(skipped(
            SkipReason::EditedLocally,
            "the library holds a version that was not installed from the starter library",
        )),
        Outcome::DeletedLocally => report.skipped.push(skipped(
            SkipReason::DeletedLocally,
            "the template was deleted; installing does not restore it",
        )),
    }
    Ok(())
}

enum Outcome {
    Created,
    Updated,
    Unchanged,
    EditedLocally,
    DeletedLocally,
}

async fn try_install(
    db: &MySqlPool,
    spec: &TemplateSpec,
    json: &str,
    sha: &str,
    by: u64,
) -> Result<Option<Outcome>, sqlx::Error> {
    let mut tx = db.begin().await?;
    let latest = db::templates::latest_for_update(&mut tx, &spec.name).await?;
    let (version, outcome) = match latest {
        None => (1, Outcome::Created),
        Some(row) if row.deleted_at.is_some() => return Ok(Some(Outcome::DeletedLocally)),
        Some(row) if row.spec_sha256 == sha => return Ok(Some(Outcome::Unchanged)),
        Some(row) => {
            if !starter_db::is_installed_version(&mut tx, &row.name, row.version, &row.spec_sha256)
                .await?
            {
                return Ok(Some(Outcome::EditedLocally));
            }
            (row.version + 1, Outcome::Updated)
        }
    };
    if !db::templates::insert(&mut tx, spec, version, json, sha, by).await? {
        return Ok(None);
    }
    starter_db::record_install(&mut tx, &spec.name, version, sha).await?;
    tx.commit().await?;
    Ok(Some(outcome))
}

/// Deadlocks (two replicas locking the same missing row's gap) and lock wait
/// timeouts roll the transaction back; trying again is safe.
fn is_retryable(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|c| {
            c == "40001" || c == "HY000" && e.to_string().contains("Lock wait timeout")
        })
}

/// Shipped templates an install would create or update: missing ones and
/// unedited starter templates whose content differs from the shipped one.
pub async fn pending(db: &MySqlPool) -> Result<Vec<String>, LibraryError> {
    let names = names();
    let existing = db::templates::existing_names(db, &names).await?;
    let unedited = starter_db::unedited(db).await?;
    let mut out = Vec::new();
    for spec in templates()? {
        let (_, sha) = canonical(&spec).map_err(|e| LibraryError::Malformed {
            file: spec.name.clone(),
            message: e.to_string(),
        })?;
        let missing = !existing.contains(&spec.name);
        let outdated = unedited.iter().any(|(n, s)| *n == spec.name && *s != sha);
        if missing || outdated {
            out.push(spec.name);
        }
    }
    Ok(out)
}

/// Startup: installs the starter library when `KATALUSIS_STARTER_LIBRARY`
/// allows it and none of its templates exist yet (a first start). Later
/// starts leave the library alone; admins re-install from `/admin`.
/// Installs the platform's flow templates (`flow.*`) or brings them up to
/// the running version, at every start: the executors run these kinds
/// in-process, so the library must describe exactly what they do.
pub async fn install_builtins(db: &MySqlPool, settings: &Settings) -> anyhow::Result<()> {
    let Some(admin) = db::users::first_admin(db).await? else {
        tracing::warn!("no active administrator: the flow templates were not installed");
        return Ok(());
    };
    let mut report = InstallReport::default();
    for spec in katalusis_crds::builtin_templates() {
        install_one(db, &settings.limit_maxima, &spec, admin, &mut report).await?;
    }
    for s in &report.skipped {
        tracing::warn!(template = %s.name, reason = ?s.reason, message = %s.message, "flow template not installed");
    }
    if !report.created.is_empty() || !report.updated.is_empty() {
        tracing::info!(created = ?report.created, updated = ?report.updated, "installed the flow templates");
    }
    Ok(())
}

pub async fn install_on_first_start(
    db: &MySqlPool,
    settings: &Settings,
) -> anyhow::Result<Option<InstallReport>> {
    if !settings.starter_library {
        tracing::info!("starter library disabled (KATALUSIS_STARTER_LIBRARY=false)");
        return Ok(None);
    }
    let names = names();
    if !db::templates::existing_names(db, &names).await?.is_empty() {
        let pending = pending(db).await?;
        if !pending.is_empty() {
            tracing::info!(
                templates = %pending.join(", "),
                "the starter library has new or updated templates; install them from the node library page"
            );
        }
        return Ok(None);
    }
    let Some(admin) = db::users::first_admin(db).await? else {
        tracing::warn!("no active administrator: the starter library was not installed");
        return Ok(None);
    };
    let report = install(db, &settings.limit_maxima, admin).await?;
    tracing::info!(
        created = report.created.len(),
        unchanged = report.unchanged.len(),
        skipped = report.skipped.len(),
        "installed the starter node library"
    );
    for s in &report.skipped {
        tracing::warn!(template = %s.name, reason = ?s.reason, message = %s.message, "starter template not installed");
    }
    Ok(Some(report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_template_parses_and_passes_the_api_validation() {
        let all = templates().expect("the starter library parses");
        assert!(all.len() >= 18, "{} templates", all.len());
        for spec in &all {
            let errs = spec.validate(&LimitMaxima::default());
            assert!(errs.is_empty(), "{}: {errs:?}", spec.name);
            assert!(
                !spec.description.trim().is_empty(),
                "{} has no description",
                spec.name
            );
            assert!(spec.image.is_none(), "{} names an image", spec.name);
        }
    }

    #[test]
    fn only_the_http_request_needs_the_network() {
        let trusted: Vec<String> = templates()
            .unwrap()
            .into_iter()
            .filter(|t| t.trust_level == katalusis_crds::TrustLevel::Trusted)
            .map(|t| t.name)
            .collect();
        assert_eq!(trusted, vec!["http.request"]);
    }

    #[test]
    fn a_broken_manifest_is_reported_with_its_file() {
        let e = parse(
            "x.y",
            r#"{"name": "x.y", "title": "X", "colour": 1}"#,
            "def run(i, p, c): pass\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("x.y.json"), "{e}");
        let e = parse(
            "x.y",
            r#"{"name": "other", "title": "X"}"#,
            "def run(inputs, params, ctx): pass\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("names 'other'"), "{e}");
    }
}
