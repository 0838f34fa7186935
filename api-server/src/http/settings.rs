use std::collections::HashSet;

use axum::extract::State;
use chrono::{DateTime, Utc};
use katalusis_crds::{FieldError, Limits, RetrySpec};
use serde::Serialize;
use utoipa::ToSchema;

use super::extract::Json;
use crate::audit::Audit;
use crate::auth::{Admin, RequireRole};
use crate::db::settings::{self, ModuleSettings};
use crate::error::ApiError;
use crate::flow::webhooks::{self, WebhookSettings};
use crate::state::AppState;

pub const MAX_MODULES: usize = 1000;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModulesView {
    pub allow: Vec<String>,
    pub block: Vec<String>,
    /// True while no administrator has changed the lists.
    pub is_default: bool,
    pub defaults: ModuleSettings,
    pub updated_by: Option<u64>,
    pub updated_at: Option<DateTime<Utc>>,
}

fn is_module_name(s: &str) -> bool {
    s.len() <= 200
        && s.split('.').all(|part| {
            let mut c = part.chars();
            matches!(c.next(), Some(f) if f.is_ascii_alphabetic() || f == '_')
                && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
        })
}

fn check(m: &ModuleSettings) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (field, list) in [("allow", &m.allow), ("block", &m.block)] {
        if list.len() > MAX_MODULES {
            errs.push(FieldError::new(
                field,
                format!("at most {MAX_MODULES} modules"),
            ));
        }
        let mut seen = HashSet::new();
        for (i, name) in list.iter().enumerate() {
            if !is_module_name(name) {
                errs.push(FieldError::new(
                    format!("{field}[{i}]"),
                    "must be a dotted Python module name",
                ));
            } else if !seen.insert(name) {
                errs.push(FieldError::new(
                    format!("{field}[{i}]"),
                    format!("'{name}' is listed twice"),
                ));
            }
        }
    }
    let allow: HashSet<&String> = m.allow.iter().collect();
    for (i, name) in m.block.iter().enumerate() {
        if allow.contains(name) {
            errs.push(FieldError::new(
                format!("block[{i}]"),
                format!("'{name}' is also in the allow-list"),
            ));
        }
    }
    errs
}

async fn view(state: &AppState) -> Result<ModulesView, ApiError> {
    let stored = settings::get(&state.db, settings::MODULES_KEY).await?;
    let defaults = settings::default_modules();
    Ok(match stored {
        Some(s) => {
            let m: ModuleSettings = serde_json::from_str(&s.value).map_err(anyhow::Error::from)?;
            ModulesView {
                allow: m.allow,
                block: m.block,
                is_default: false,
                defaults,
                updated_by: s.updated_by,
                updated_at: Some(s.updated_at),
            }
        }
        None => ModulesView {
            allow: defaults.allow.clone(),
            block: defaults.block.clone(),
            is_default: true,
            defaults,
            updated_by: None,
            updated_at: None,
        },
    })
}

/// The import allow-list and block-list applied to `restricted` nodes.
#[utoipa::path(get, path = "/api/admin/settings/modules", tag = "settings", security(("bearer" = [])),
    responses((status = 200, body = ModulesView)))]
pub async fn get_modules(
    State(state): State<AppState>,
    RequireRole(_admin, ..): RequireRole<Admin>,
) -> Result<axum::Json<ModulesView>, ApiError> {
    Ok(axum::Json(view(&state).await?))
}

/// Replace the module lists; new runs use them, running ones keep their snapshot.
#[utoipa::path(put, path = "/api/admin/settings/modules", tag = "settings", security(("bearer" = [])),
    request_body = ModuleSettings, responses((status = 200, body = ModulesView), (status = 422)))]
pub async fn put_modules(
    State(state): State<AppState>,
    RequireRole(admin, ..): RequireRole<Admin>,
    audit: Audit,
    Json(mut req): Json<ModuleSettings>,
) -> Result<axum::Json<ModulesView>, ApiError> {
    audit
        .action("settings.modules")
        .object("setting", settings::MODULES_KEY);
    // Names are compared trimmed; a name listed twice is kept once.
    for list in [&mut req.allow, &mut req.block] {
        let mut seen = HashSet::new();
        list.retain_mut(|name| {
            *name = name.trim().to_string();
            seen.insert(name.clone())
        });
    }
    let errs = check(&req);
    if !errs.is_empty() {
        return Err(ApiError::Validation(errs));
    }
    let json = serde_json::to_string(&req).map_err(anyhow::Error::from)?;
    settings::put(&state.db, settings::MODULES_KEY, &json, admin.id).await?;
    Ok(axum::Json(view(&state).await?))
}

/// Upper bounds of node limits and what a new template starts from.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LimitSettings {
    /// Largest timeout a template may set (`KATALUSIS_MAX_TIMEOUT_SECONDS`).
    pub timeout_seconds: u32,
    /// Largest memory limit (`KATALUSIS_MAX_MEMORY_MIB`).
    pub memory_mib: u32,
    /// Largest CPU limit (`KATALUSIS_MAX_CPU_MILLICORES`).
    pub cpu_millicores: u32,
    /// The limits a template gets when it names none; the template editor
    /// starts new templates from them, so the UI and the API agree.
    pub default_limits: Limits,
    /// The retry policy a template gets when it names none.
    pub default_retry: RetrySpec,
}

/// The configured upper bounds for node limits (set by environment variables)
/// and the defaults of a new template.
#[utoipa::path(get, path = "/api/admin/settings/limits", tag = "settings", security(("bearer" = [])),
    responses((status = 200, body = LimitSettings)))]
pub async fn get_limits(
    State(state): State<AppState>,
    RequireRole(_admin, ..): RequireRole<Admin>,
) -> axum::Json<LimitSettings> {
    let m = state.settings.limit_maxima;
    axum::Json(LimitSettings {
        timeout_seconds: m.timeout_seconds,
        memory_mib: m.memory_mib,
        cpu_millicores: m.cpu_millicores,
        default_limits: Limits::default(),
        default_retry: RetrySpec::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_lists_load_and_pass_validation() {
        let d = settings::default_modules();
        assert!(d.allow.contains(&"json".to_string()));
        assert!(!d.allow.contains(&"os".to_string()));
        assert_eq!(check(&d), vec![]);
    }

    #[test]
    fn bad_names_duplicates_and_overlaps_are_reported() {
        let m = ModuleSettings {
            allow: vec!["json".into(), "json".into(), "os;rm".into()],
            block: vec!["json".into(), "a..b".into()],
        };
        let fields: Vec<String> = check(&m).into_iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["allow[1]", "allow[2]", "block[1]", "block[0]"]);
    }
}

/// The webhook allow-list for Notification nodes.
#[utoipa::path(get, path = "/api/admin/settings/webhooks", tag = "settings", security(("bearer" = [])),
    responses((status = 200, body = WebhookSettings)))]
pub async fn get_webhooks(
    State(state): State<AppState>,
    RequireRole(_admin, ..): RequireRole<Admin>,
) -> Result<axum::Json<WebhookSettings>, ApiError> {
    Ok(axum::Json(webhooks::load(&state.db).await?))
}

/// Replace the webhook allow-list; it applies to the next Notification node that posts.
#[utoipa::path(put, path = "/api/admin/settings/webhooks", tag = "settings", security(("bearer" = [])),
    request_body = WebhookSettings, responses((status = 200, body = WebhookSettings), (status = 422)))]
pub async fn put_webhooks(
    State(state): State<AppState>,
    RequireRole(admin, ..): RequireRole<Admin>,
    audit: Audit,
    Json(mut req): Json<WebhookSettings>,
) -> Result<axum::Json<WebhookSettings>, ApiError> {
    audit
        .action("settings.webhooks")
        .object("setting", webhooks::KEY);
    for e in &mut req.allowed {
        *e = e.trim().to_owned();
    }
    req.allowed.sort();
    req.allowed.dedup();
    let problems = req.problems();
    if !problems.is_empty() {
        return Err(ApiError::Validation(
            problems
                .into_iter()
                .map(|(i, m)| FieldError::new(format!("allowed[{i}]"), m))
                .collect(),
        ));
    }
    webhooks::save(&state.db, &req, admin.id).await?;
    Ok(axum::Json(req))
}
