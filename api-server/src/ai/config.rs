//! The assistant's settings, read with the rest of [`crate::config::Settings`]
//! from `KATALUSIS_LLM_*`. Without a base URL and a model the assistant is
//! off: every AI endpoint answers 503 `ai_disabled` and the SPA hides it.

use crate::config::{ConfigError, Secret};

/// The variables [`read`] understands; `Settings::from_vars` accepts them next to `config::KNOWN_VARS`.
pub const VARS: &[&str] = &[
    "KATALUSIS_LLM_BASE_URL",
    "KATALUSIS_LLM_MODEL",
    "KATALUSIS_LLM_API_KEY",
    "KATALUSIS_LLM_TIMEOUT_SECS",
    "KATALUSIS_LLM_MAX_REPAIRS",
    "KATALUSIS_LLM_RATE_PER_MINUTE",
    "KATALUSIS_LLM_MAX_PROMPT_CHARS",
    "KATALUSIS_LLM_MAX_ANSWER_BYTES",
    "KATALUSIS_LLM_MAX_TOKENS",
];

#[derive(Debug, Clone)]
pub struct AiSettings {
    /// The OpenAI-compatible API root, e.g. `https://api.openai.com/v1` or
    /// `http://127.0.0.1:11434/v1` (Ollama); `/chat/completions` is appended.
    pub base_url: Option<String>,
    pub model: Option<String>,
    /// Sent as a bearer token when set; local servers usually need none.
    pub api_key: Option<Secret>,
    /// One call to the model, connection to last byte.
    pub timeout_secs: u64,
    /// How many times a proposal with validation problems is sent back.
    pub max_repairs: u32,
    /// Calls one user may start per minute (every feature together).
    pub rate_per_minute: u32,
    /// The longest prompt a user may type.
    pub max_prompt_chars: usize,
    /// The largest answer body read from the model; more is refused.
    pub max_answer_bytes: usize,
    /// `max_tokens` of every request.
    pub max_tokens: u32,
}

impl Default for AiSettings {
    fn default() -> Self {
        Self {
            base_url: None,
            model: None,
            api_key: None,
            timeout_secs: 60,
            max_repairs: 2,
            rate_per_minute: 10,
            max_prompt_chars: 4000,
            max_answer_bytes: 256 * 1024,
            max_tokens: 4096,
        }
    }
}

impl AiSettings {
    /// The model to call, when the assistant is configured.
    pub fn endpoint(&self) -> Option<(&str, &str)> {
        Some((self.base_url.as_deref()?, self.model.as_deref()?))
    }
}

fn err(var: &str, message: &str) -> ConfigError {
    ConfigError {
        var: var.into(),
        message: message.into(),
    }
}

fn number(var: &str, v: &str, lo: u64, hi: u64) -> Result<u64, ConfigError> {
    match v.parse::<u64>() {
        Ok(n) if (lo..=hi).contains(&n) => Ok(n),
        _ => Err(err(var, &format!("must be a number between {lo} and {hi}"))),
    }
}

/// Reads the `KATALUSIS_LLM_*` variables through `get` (trimmed, non-empty).
pub fn read(get: impl Fn(&str) -> Option<String>) -> Result<AiSettings, ConfigError> {
    let mut s = AiSettings::default();
    if let Some(v) = get("KATALUSIS_LLM_BASE_URL") {
        let ok = reqwest::Url::parse(&v)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
        if !ok {
            return Err(err(
                "KATALUSIS_LLM_BASE_URL",
                "must be an http:// or https:// URL such as http://127.0.0.1:11434/v1",
            ));
        }
        s.base_url = Some(v.trim_end_matches('/').to_string());
    }
    if let Some(v) = get("KATALUSIS_LLM_MODEL") {
        if v.len() > 200 {
            return Err(err("KATALUSIS_LLM_MODEL", "must be at most 200 characters"));
        }
        s.model = Some(v);
    }
    if s.base_url.is_some() != s.model.is_some() {
        return Err(err(
            "KATALUSIS_LLM_MODEL",
            "KATALUSIS_LLM_BASE_URL and KATALUSIS_LLM_MODEL are set together or not at all",
        ));
    }
    s.api_key = get("KATALUSIS_LLM_API_KEY").map(Secret::new);
    if let Some(v) = get("KATALUSIS_LLM_TIMEOUT_SECS") {
        s.timeout_secs = number("KATALUSIS_LLM_TIMEOUT_SECS", &v, 1, 3600)?;
    }
    if let Some(v) = get("KATALUSIS_LLM_MAX_REPAIRS") {
        s.max_repairs = number("KATALUSIS_LLM_MAX_REPAIRS", &v, 0, 10)? as u32;
    }
    if let Some(v) = get("KATALUSIS_LLM_RATE_PER_MINUTE") {
        s.rate_per_minute = number("KATALUSIS_LLM_RATE_PER_MINUTE", &v, 1, 10_000)? as u32;
    }
    if let Some(v) = get("KATALUSIS_LLM_MAX_PROMPT_CHARS") {
        s.max_prompt_chars = number("KATALUSIS_LLM_MAX_PROMPT_CHARS", &v, 100, 100_000)? as usize;
    }
    if let Some(v) = get("KATALUSIS_LLM_MAX_ANSWER_BYTES") {
        s.max_answer_bytes =
            number("KATALUSIS_LLM_MAX_ANSWER_BYTES", &v, 1024, 16 * 1024 * 1024)? as usize;
    }
    if let Some(v) = get("KATALUSIS_LLM_MAX_TOKENS") {
        s.max_tokens = number("KATALUSIS_LLM_MAX_TOKENS", &v, 16, 1_000_000)? as u32;
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<AiSettings, ConfigError> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        read(|k| m.get(k).cloned())
    }

    #[test]
    fn nothing_set_means_off() {
        let s = from(&[]).unwrap();
        assert!(s.endpoint().is_none());
        assert_eq!(s.max_repairs, 2);
        assert_eq!(s.timeout_secs, 60);
    }

    #[test]
    fn url_and_model_turn_it_on() {
        let s = from(&[
            ("KATALUSIS_LLM_BASE_URL", "http://127.0.0.1:11434/v1/"),
            ("KATALUSIS_LLM_MODEL", "qwen2.5"),
            ("KATALUSIS_LLM_MAX_REPAIRS", "3"),
        ])
        .unwrap();
        assert_eq!(s.endpoint(), Some(("http://127.0.0.1:11434/v1", "qwen2.5")));
        assert_eq!(s.max_repairs, 3);
    }

    #[test]
    fn half_a_configuration_and_bad_values_are_refused() {
        assert!(from(&[("KATALUSIS_LLM_MODEL", "m")]).is_err());
        assert!(from(&[
            ("KATALUSIS_LLM_BASE_URL", "ftp://x"),
            ("KATALUSIS_LLM_MODEL", "m")
        ])
        .is_err());
        assert!(from(&[("KATALUSIS_LLM_TIMEOUT_SECS", "0")]).is_err());
        assert!(from(&[("KATALUSIS_LLM_MAX_REPAIRS", "many")]).is_err());
    }
}
