//! The assistant's endpoint as an administrator sets it in `/admin`: base
//! URL, model and API key, stored in `app_setting` under `ai`, the key
//! sealed by the vault (write-only: the API only says whether one is set).
//!
//! Precedence, field by field: a `KATALUSIS_LLM_*` variable that is set
//! wins over the stored value (a deployment can pin the endpoint); a field
//! the environment leaves unset comes from these settings. Limits
//! (timeouts, rate, sizes) stay environment-only.

use chrono::{DateTime, Utc};
use katalusis_vault::Keyring;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::MySqlPool;
use utoipa::ToSchema;

use super::config::AiSettings;
use crate::config::Secret;
use crate::db::settings as app_settings;
use katalusis_crds::FieldError;

pub const KEY: &str = "ai";

/// The stored document; the key only sealed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stored {
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub api_key_sealed: Option<String>,
}

/// The stored document's text as it is in the database (the cache key of
/// the assistant's client), or `None` when nothing was ever saved.
pub async fn raw(db: &MySqlPool) -> Result<Option<String>, sqlx::Error> {
    Ok(app_settings::get(db, KEY).await?.map(|s| s.value))
}

pub fn parse(raw: Option<&str>) -> anyhow::Result<Stored> {
    match raw {
        Some(text) => Ok(serde_json::from_str(text)?),
        None => Ok(Stored::default()),
    }
}

/// The settings the client is built from: the environment's fields where
/// set, the stored ones elsewhere.
pub fn effective(env: &AiSettings, stored: &Stored, vault: &Keyring) -> anyhow::Result<AiSettings> {
    let mut s = env.clone();
    if s.base_url.is_none() {
        s.base_url = stored.base_url.clone();
    }
    if s.model.is_none() {
        s.model = stored.model.clone();
    }
    if s.api_key.is_none() {
        if let Some(sealed) = &stored.api_key_sealed {
            let key = vault
                .open(sealed)
                .map_err(|e| anyhow::anyhow!("the stored AI API key cannot be decrypted: {e}"))?;
            s.api_key = Some(Secret::new(key));
        }
    }
    Ok(s)
}

/// The environment variables that override a stored field.
pub fn overriding_vars(env: &AiSettings) -> Vec<String> {
    let mut v = Vec::new();
    if env.base_url.is_some() {
        v.push("KATALUSIS_LLM_BASE_URL".to_string());
    }
    if env.model.is_some() {
        v.push("KATALUSIS_LLM_MODEL".to_string());
    }
    if env.api_key.is_some() {
        v.push("KATALUSIS_LLM_API_KEY".to_string());
    }
    v
}

/// Whether a secret is set, never its value.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KeyState {
    pub set: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AiAdminSettings {
    /// The stored base URL (the environment may override it).
    pub base_url: Option<String>,
    pub model: Option<String>,
    /// Write-only: whether a key is stored.
    pub api_key: KeyState,
    /// `KATALUSIS_LLM_*` variables that are set and win over the stored fields.
    pub overridden_by_environment: Vec<String>,
    /// Whether the assistant is on with the settings in force.
    pub enabled: bool,
    /// The model in force (stored or from the environment).
    pub effective_model: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_by: Option<u64>,
}

/// Replace the stored endpoint. `apiKey`: a string sets it, `{"set": true}`
/// or leaving it out keeps the stored one, `null` clears it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AiSettingsInput {
    /// An http:// or https:// URL such as `http://127.0.0.1:11434/v1`; null or empty for none.
    #[schema(max_length = 500)]
    pub base_url: Option<String>,
    #[schema(max_length = 200)]
    pub model: Option<String>,
    /// A string, `{"set": true}` or `null`.
    #[serde(default = "keep")]
    pub api_key: Value,
}

fn keep() -> Value {
    serde_json::json!({"set": true})
}

/// What to do with the stored key.
#[derive(PartialEq, Eq)]
pub enum KeyChange {
    Keep,
    Clear,
    Set(String),
}

impl std::fmt::Debug for KeyChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Keep => "Keep",
            Self::Clear => "Clear",
            Self::Set(_) => "Set(***)",
        })
    }
}

#[derive(Debug, PartialEq)]
pub struct ValidInput {
    pub base_url: Option<String>,
    pub model: Option<String>,
    pub api_key: KeyChange,
}

impl AiSettingsInput {
    pub fn validate(&self) -> Result<ValidInput, Vec<FieldError>> {
        let mut errs = Vec::new();
        let base_url = self
            .base_url
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        if let Some(u) = base_url {
            let ok = u.len() <= 500
                && reqwest::Url::parse(u)
                    .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
            if !ok {
                errs.push(FieldError::new(
                    "baseUrl",
                    "must be an http:// or https:// URL such as http://127.0.0.1:11434/v1",
                ));
            }
        }
        let model = self
            .model
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        if model.is_some_and(|m| m.chars().count() > 200) {
            errs.push(FieldError::new("model", "must be at most 200 characters"));
        }
        if base_url.is_some() != model.is_some() {
            errs.push(FieldError::new(
                "model",
                "the base URL and the model are set together or both left empty",
            ));
        }
        let api_key = match &self.api_key {
            Value::Null => KeyChange::Clear,
            Value::String(s) if !s.trim().is_empty() && s.len() <= 4096 => {
                KeyChange::Set(s.trim().to_string())
            }
            v if katalusis_crds::template::is_secret_placeholder(v) => KeyChange::Keep,
            _ => {
                errs.push(FieldError::new(
                    "apiKey",
                    "must be a non-empty string (at most 4096 characters), {\"set\": true} or null",
                ));
                KeyChange::Keep
            }
        };
        if !errs.is_empty() {
            return Err(errs);
        }
        Ok(ValidInput {
            base_url: base_url.map(|u| u.trim_end_matches('/').to_string()),
            model: model.map(str::to_string),
            api_key,
        })
    }
}

/// The document to store for `input` over `current`, the key sealed.
pub fn apply(current: &Stored, input: ValidInput, vault: &Keyring) -> Stored {
    Stored {
        base_url: input.base_url,
        model: input.model,
        api_key_sealed: match input.api_key {
            KeyChange::Keep => current.api_key_sealed.clone(),
            KeyChange::Clear => None,
            KeyChange::Set(k) => Some(vault.seal(&k)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(v: Value) -> AiSettingsInput {
        serde_json::from_value(v).unwrap()
    }

    fn ring() -> Keyring {
        Keyring::new(katalusis_vault::Key::generate().0, vec![])
    }

    #[test]
    fn a_key_is_set_kept_or_cleared_and_stored_sealed() {
        let ring = ring();
        let set = input(json!({"baseUrl": "http://h/v1/", "model": "m", "apiKey": "sk-1"}))
            .validate()
            .unwrap();
        assert_eq!(set.base_url.as_deref(), Some("http://h/v1"));
        let stored = apply(&Stored::default(), set, &ring);
        let sealed = stored.api_key_sealed.clone().unwrap();
        assert!(!sealed.contains("sk-1"));
        assert_eq!(ring.open(&sealed).unwrap(), "sk-1");
        let kept = apply(
            &stored,
            input(json!({"baseUrl": "http://h/v1", "model": "n"}))
                .validate()
                .unwrap(),
            &ring,
        );
        assert_eq!(kept.api_key_sealed, stored.api_key_sealed);
        let cleared = apply(
            &stored,
            input(json!({"baseUrl": null, "model": null, "apiKey": null}))
                .validate()
                .unwrap(),
            &ring,
        );
        assert_eq!(cleared, Stored::default());
    }

    #[test]
    fn bad_input_names_its_fields() {
        let errs = input(json!({"baseUrl": "ftp://x", "model": "m", "apiKey": 5}))
            .validate()
            .unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["baseUrl", "apiKey"]);
        assert!(input(json!({"model": "m"})).validate().is_err());
    }

    #[test]
    fn set_environment_fields_win_over_stored_ones() {
        let ring = ring();
        let stored = Stored {
            base_url: Some("http://stored/v1".into()),
            model: Some("stored-model".into()),
            api_key_sealed: Some(ring.seal("stored-key")),
        };
        let env = AiSettings {
            model: Some("env-model".into()),
            ..Default::default()
        };
        let s = effective(&env, &stored, &ring).unwrap();
        assert_eq!(s.endpoint(), Some(("http://stored/v1", "env-model")));
        assert_eq!(s.api_key.unwrap().expose(), "stored-key");
        assert_eq!(overriding_vars(&env), ["KATALUSIS_LLM_MODEL"]);
    }
}
