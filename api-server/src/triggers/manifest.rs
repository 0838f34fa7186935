//! A workflow's triggers in its manifest (`spec.triggers`): schedule and
//! event triggers, by name. Webhook triggers hold a secret URL that can be
//! shown only once, so they stay in the browser: manifests neither list nor
//! touch them. Applying a manifest checks every trigger first (against the
//! graph being stored), then creates, updates or deletes by name.

use chrono::Utc;
use katalusis_crds::manifest::ManifestTrigger;
use katalusis_crds::{FieldError, Graph};
use katalusis_flow::Schedule;
use sqlx::MySqlPool;

use super::db::{self, NewTrigger};
use super::http::{check_in, Target};
use super::model::TriggerConfig;
use super::service::config_of;
use crate::auth::ClientScope;
use crate::error::ApiError;

/// A trigger a manifest asks for, its settings checked for shape.
pub struct Wanted {
    pub name: String,
    pub enabled: bool,
    pub config: TriggerConfig,
}

/// The schedule and event triggers of a workflow, as its manifest lists them.
pub async fn listed(db: &MySqlPool, workflow_id: u64) -> Result<Vec<ManifestTrigger>, ApiError> {
    let mut out = Vec::new();
    for t in db::of_workflow(db, workflow_id).await? {
        let config = config_of(&t)?;
        if matches!(config, TriggerConfig::Webhook(_)) {
            continue;
        }
        out.push(ManifestTrigger {
            name: t.name,
            enabled: t.enabled,
            config: serde_json::to_value(&config).map_err(anyhow::Error::from)?,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn field(i: usize, name: &str, what: &str, message: impl Into<String>) -> FieldError {
    let at = if what.is_empty() {
        format!("spec.triggers[{i}] ({name})")
    } else {
        format!("spec.triggers[{i}] ({name}).{what}")
    };
    FieldError::new(at, message)
}

/// Checks the manifest's triggers against the graph about to be stored.
pub async fn check(
    db: &MySqlPool,
    scope: ClientScope,
    workflow_id: Option<u64>,
    client_id: u64,
    graph: &Graph,
    triggers: &[ManifestTrigger],
) -> Result<Vec<Wanted>, Vec<FieldError>> {
    let mut errs = Vec::new();
    let mut wanted: Vec<Wanted> = Vec::new();
    let target = Target {
        workflow_id: workflow_id.unwrap_or(0),
        client_id,
        graph,
    };
    for (i, t) in triggers.iter().enumerate() {
        let name = t.name.trim();
        if wanted.iter().any(|w| w.name == name) {
            errs.push(field(i, name, "name", "is used twice"));
            continue;
        }
        let config: TriggerConfig = match serde_json::from_value(t.config.clone()) {
            Ok(c) => c,
            Err(e) => {
                errs.push(field(i, name, "config", e.to_string()));
                continue;
            }
        };
        if matches!(config, TriggerConfig::Webhook(_)) {
            errs.push(field(
                i,
                name,
                "config.kind",
                "webhook triggers hold a secret URL: create them in the browser",
            ));
            continue;
        }
        match check_in(db, scope, &target, name, &config).await {
            Ok(_) => {}
            Err(ApiError::Validation(found)) => {
                errs.extend(
                    found
                        .into_iter()
                        .map(|e| field(i, name, &e.field, e.message)),
                );
            }
            Err(e) => errs.push(field(i, name, "", e.to_string())),
        }
        wanted.push(Wanted {
            name: name.to_owned(),
            enabled: t.enabled,
            config,
        });
    }
    if errs.is_empty() {
        Ok(wanted)
    } else {
        Err(errs)
    }
}

/// Makes the workflow's schedule and event triggers what `wanted` lists:
/// same name and kind are updated in place (keeping their firing history),
/// new ones are owned by `owner`, the rest deleted. Webhooks are left alone.
pub async fn sync(
    db: &MySqlPool,
    workflow_id: u64,
    owner: u64,
    wanted: &[Wanted],
) -> Result<(), ApiError> {
    let existing: Vec<_> = db::of_workflow(db, workflow_id)
        .await?
        .into_iter()
        .filter(|t| t.kind != "webhook")
        .collect();
    let now = Utc::now();
    let first = |c: &TriggerConfig, enabled: bool| match c {
        TriggerConfig::Schedule(s) if enabled => Schedule::parse(&s.cron, &s.timezone)
            .ok()
            .and_then(|s| s.next_after(now)),
        _ => None,
    };
    for w in wanted {
        let json = serde_json::to_string(&w.config).map_err(anyhow::Error::from)?;
        match existing
            .iter()
            .find(|t| t.name == w.name && t.kind == w.config.kind())
        {
            Some(t) => {
                let same = t.enabled == w.enabled
                    && config_of(t)
                        .ok()
                        .and_then(|c| serde_json::to_string(&c).ok())
                        == Some(json.clone());
                if !same {
                    db::update(
                        db,
                        t.trigger_id,
                        &w.name,
                        w.enabled,
                        &json,
                        first(&w.config, w.enabled),
                        now,
                    )
                    .await?;
                }
            }
            None => {
                db::insert(
                    db,
                    &NewTrigger {
                        workflow_id,
                        kind: w.config.kind(),
                        name: &w.name,
                        enabled: w.enabled,
                        config: &json,
                        token_sha256: None,
                        hmac_secret: None,
                        owner_id: owner,
                        next_fire_at: first(&w.config, w.enabled),
                        now,
                    },
                )
                .await?;
            }
        }
    }
    for t in &existing {
        if !wanted
            .iter()
            .any(|w| w.name == t.name && w.config.kind() == t.kind)
        {
            db::delete(db, t.trigger_id).await?;
        }
    }
    Ok(())
}
