//! The admin's webhook allow-list: the only URLs Notification nodes may
//! POST to, so a workflow author cannot make the server call arbitrary
//! hosts (internal services, cloud metadata endpoints).

use serde::{Deserialize, Serialize};
use sqlx::MySqlPool;
use utoipa::ToSchema;

use crate::db::settings;

pub const KEY: &str = "webhooks";
/// Most entries on the list.
pub const MAX_ENTRIES: usize = 100;

/// The webhook allow-list.
/// An allow-list entry as the document states it: an http(s) URL with a host,
/// no credentials, query or fragment.
#[derive(ToSchema)]
#[schema(
    pattern = r"^\s*https?://[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:[1-9][0-9]{0,3})?(/[^\s?#]*)?\s*$"
)]
#[allow(dead_code)]
pub struct WebhookPrefix(String);

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookSettings {
    /// URL prefixes: a webhook URL is allowed when it has the same scheme,
    /// host and port as an entry and its path is the entry's path or below it.
    #[schema(max_items = 100, value_type = Vec<WebhookPrefix>)]
    pub allowed: Vec<String>,
}

impl WebhookSettings {
    /// The entries that are not usable URLs, with the reason.
    pub fn problems(&self) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        if self.allowed.len() > MAX_ENTRIES {
            out.push((MAX_ENTRIES, format!("at most {MAX_ENTRIES} entries")));
        }
        for (i, e) in self.allowed.iter().enumerate() {
            match reqwest::Url::parse(e.trim()) {
                Ok(u)
                    if matches!(u.scheme(), "http" | "https")
                        && u.host_str().is_some()
                        && u.username().is_empty()
                        && u.password().is_none()
                        && u.query().is_none() => {}
                _ => out.push((
                    i,
                    "must be an http(s) URL with a host, no credentials and no query".into(),
                )),
            }
        }
        out
    }
}

pub async fn load(db: &MySqlPool) -> anyhow::Result<WebhookSettings> {
    Ok(match settings::get(db, KEY).await? {
        Some(s) => serde_json::from_str(&s.value)?,
        None => WebhookSettings::default(),
    })
}

pub async fn save(db: &MySqlPool, s: &WebhookSettings, by: u64) -> anyhow::Result<()> {
    settings::put(db, KEY, &serde_json::to_string(s)?, by).await?;
    Ok(())
}
