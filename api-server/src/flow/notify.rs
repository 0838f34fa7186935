//! Sends what a Notification node says: inbox rows (and email) for the
//! recipients, in one transaction, then the webhook POST.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use katalusis_flow::{render, webhook_allowed, webhook_payload, NotifySpec};
use serde_json::{json, Value};
use sqlx::MySqlPool;

use super::people::{self, PeopleError};
use super::RunRef;
use crate::notifications::service::{notify, Notice, Outbox};
use crate::tasks::model::NotificationKind;

/// How long a webhook may take to answer.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// The client webhooks are posted with: no redirects (an allowed URL must
/// not bounce the request elsewhere), a bounded wait.
pub fn webhook_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(WEBHOOK_TIMEOUT)
        .user_agent("Katalusis-Webhook/1")
        .build()
        .unwrap_or_default()
}

fn inbox_title(subject: &str, text: &str) -> String {
    let joined = match (subject.is_empty(), text.is_empty()) {
        (false, false) => format!("{subject}: {text}"),
        (true, _) => text.to_owned(),
        (false, true) => subject.to_owned(),
    };
    let one_line = joined.split_whitespace().collect::<Vec<_>>().join(" ");
    one_line.chars().take(600).collect()
}

/// Sends the notification; the `delivered` output on success, the reason
/// the node fails otherwise. Nothing is written when the message cannot be
/// rendered, a person is unknown or the webhook is not allowed.
pub async fn send(
    pool: &MySqlPool,
    http: &reqwest::Client,
    run: RunRef,
    node: &str,
    spec: &NotifySpec,
    inputs: &BTreeMap<String, Value>,
    now: DateTime<Utc>,
) -> Result<(Value, Outbox), String> {
    let rendered = render(spec, inputs).map_err(|e| e.to_string())?;
    let webhook = match &spec.webhook_url {
        Some(url) => {
            let allowed = super::webhooks::load(pool)
                .await
                .map_err(|e| format!("the webhook allow-list cannot be read: {e:#}"))?;
            Some(webhook_allowed(url, &allowed.allowed).map_err(|e| e.to_string())?)
        }
        None => None,
    };
    let mut tx = pool.begin().await.map_err(|e| e.to_string())?;
    let ids = people::with_managers(
        &mut tx,
        run.client_id,
        &spec.recipients,
        spec.client_managers,
    )
    .await
    .map_err(|e| match e {
        PeopleError::Unknown(m) => m,
        PeopleError::Db(e) => e.to_string(),
    })?;
    let title = inbox_title(&rendered.subject, &rendered.text);
    let mut out = notify(
        &mut tx,
        &ids,
        &Notice {
            kind: NotificationKind::Workflow,
            task_id: None,
            actor_id: None,
            title: &title,
        },
        now,
    )
    .await
    .map_err(|e| e.to_string())?;
    let names: Vec<String> = crate::tasks::db::users_by_ids(&mut *tx, &ids)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|u| u.username)
        .collect();
    tx.commit().await.map_err(|e| e.to_string())?;
    if spec.email {
        let subject = if rendered.subject.is_empty() {
            "[Katalusis] Workflow notification".to_owned()
        } else {
            format!("[Katalusis] {}", rendered.subject)
        };
        for mail in &mut out.emails {
            mail.subject.clone_from(&subject);
            mail.body.clone_from(&rendered.text);
            mail.html = Some(rendered.html.clone());
        }
    } else {
        out.emails.clear();
    }
    let emailed = out.emails.len();
    let in_app = out.live.len();
    let status = match webhook {
        Some(url) => {
            let r = http
                .post(url.clone())
                .json(&webhook_payload(&rendered, run.run_id, node))
                .send()
                .await
                .map_err(|e| format!("the webhook could not be reached: {}", e.without_url()))?;
            if !r.status().is_success() {
                return Err(format!("the webhook answered {}", r.status()));
            }
            Some(r.status().as_u16())
        }
        None => None,
    };
    Ok((
        json!({"recipients": names, "inApp": in_app, "email": emailed, "webhook": status}),
        out,
    ))
}
