//! Raising notifications: rows in the recipients' inboxes (written in the
//! caller's transaction), then, once that commits, live events and email.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::json;
use sqlx::MySqlConnection;

use super::db;
use crate::live::{LiveBus, LiveEvent};
use crate::tasks::model::NotificationKind;

/// Sends notification email through the configured SMTP server.
#[derive(Clone)]
pub struct Mailer {
    transport: Arc<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The transport holds the URL's credentials.
        f.debug_struct("Mailer").field("from", &self.from).finish()
    }
}

impl Mailer {
    /// A mailer for `smtp://`, `smtps://` or `smtp://…?tls=required` URLs.
    pub fn new(url: &str, from: &str) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| anyhow::anyhow!("KATALUSIS_SMTP_URL: {e}"))?
            .build();
        let from = from
            .parse()
            .map_err(|e| anyhow::anyhow!("KATALUSIS_SMTP_FROM: {e}"))?;
        Ok(Self {
            transport: Arc::new(transport),
            from,
        })
    }

    async fn send(&self, mail: &Email) -> anyhow::Result<()> {
        let builder = Message::builder()
            .from(self.from.clone())
            .to(mail.to.parse()?)
            .subject(mail.subject.clone());
        let msg = match &mail.html {
            Some(html) => builder.multipart(lettre::message::MultiPart::alternative_plain_html(
                mail.body.clone(),
                html.clone(),
            ))?,
            None => builder
                .header(lettre::message::header::ContentType::TEXT_PLAIN)
                .body(mail.body.clone())?,
        };
        self.transport.send(msg).await?;
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub body: String,
    /// An HTML alternative of `body`, already escaped.
    pub html: Option<String>,
}

/// What a committed transaction still has to announce.
#[derive(Debug, Default)]
#[must_use = "deliver the outbox after the transaction commits"]
pub struct Outbox {
    pub live: Vec<LiveEvent>,
    pub emails: Vec<Email>,
}

impl Outbox {
    pub fn extend(&mut self, other: Outbox) {
        self.live.extend(other.live);
        self.emails.extend(other.emails);
    }

    /// Publishes the live events and sends the email in the background:
    /// a slow or failing mail server never delays or fails the request.
    pub fn deliver(self, live: &LiveBus, mailer: Option<&Mailer>) {
        for e in self.live {
            live.publish(e);
        }
        if let (Some(m), false) = (mailer, self.emails.is_empty()) {
            let m = m.clone();
            tokio::spawn(async move {
                for mail in self.emails {
                    if let Err(e) = m.send(&mail).await {
                        tracing::warn!(error = format!("{e:#}"), "notification email not sent");
                    }
                }
            });
        }
    }
}

/// Where committed outboxes go: the live bus and, when configured, the
/// mailer. Handed to the executor so built-in nodes (approvals) announce
/// what they change the way requests do.
#[derive(Clone)]
pub struct Announcer {
    pub live: LiveBus,
    pub mailer: Option<Mailer>,
}

impl Announcer {
    pub fn deliver(&self, out: Outbox) {
        out.deliver(&self.live, self.mailer.as_ref());
    }
}

/// A notification to raise for several users.
pub struct Notice<'a> {
    pub kind: NotificationKind,
    pub task_id: Option<u64>,
    pub actor_id: Option<u64>,
    pub title: &'a str,
}

/// Writes `notice` into the inbox of each recipient who wants it in-app and
/// queues email for those who want it by email; the actor is never notified
/// of their own action. Runs in the caller's transaction.
pub async fn notify(
    conn: &mut MySqlConnection,
    recipients: &[u64],
    notice: &Notice<'_>,
    now: DateTime<Utc>,
) -> Result<Outbox, sqlx::Error> {
    let mut users: Vec<u64> = recipients
        .iter()
        .copied()
        .filter(|u| Some(*u) != notice.actor_id)
        .collect();
    users.sort_unstable();
    users.dedup();
    let mut out = Outbox::default();
    if users.is_empty() {
        return Ok(out);
    }
    let prefs = db::preferences_for(&mut *conn, notice.kind, &users).await?;
    let people = crate::tasks::db::users_by_ids(&mut *conn, &users).await?;
    for u in people.iter().filter(|u| u.active) {
        let pref = prefs.iter().find(|p| p.user_id == u.user_id);
        if pref.is_none_or(|p| p.in_app) {
            let id = db::insert(
                conn,
                u.user_id,
                notice.kind,
                notice.task_id,
                notice.actor_id,
                notice.title,
                now,
            )
            .await?;
            out.live.push(LiveEvent::Notification {
                user_id: u.user_id,
                data: json!({
                    "id": id,
                    "kind": notice.kind.as_str(),
                    "taskId": notice.task_id,
                    "title": notice.title,
                    "createdAt": now,
                }),
            });
        }
        if pref.is_none_or(|p| p.email) {
            out.emails.push(Email {
                to: u.email.clone(),
                subject: format!("[Katalusis] {}", notice.title),
                body: format!(
                    "{}\n\nOpen Katalusis to see the task.\n\nYou can choose which notifications reach your email in your notification preferences.\n",
                    notice.title
                ),
                html: None,
            });
        }
    }
    Ok(out)
}

/// [`notify`] for many notices of one kind, writing only the inbox rows with
/// the same rules (never the actor, each recipient once per notice, active
/// users who want it in-app). For bulk creation (an import), whose
/// per-task live events and email are not sent.
pub async fn notify_inbox_many(
    conn: &mut MySqlConnection,
    kind: NotificationKind,
    notices: &[(Vec<u64>, Notice<'_>)],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut everyone: Vec<u64> = notices
        .iter()
        .flat_map(|(r, _)| r.iter().copied())
        .collect();
    everyone.sort_unstable();
    everyone.dedup();
    if everyone.is_empty() {
        return Ok(());
    }
    let prefs = db::preferences_for(&mut *conn, kind, &everyone).await?;
    let people = crate::tasks::db::users_by_ids(&mut *conn, &everyone).await?;
    let wants = |user: u64| {
        people.iter().any(|u| u.user_id == user && u.active)
            && prefs
                .iter()
                .find(|p| p.user_id == user)
                .is_none_or(|p| p.in_app)
    };
    let mut rows = Vec::new();
    for (recipients, notice) in notices {
        debug_assert_eq!(notice.kind, kind);
        let mut users: Vec<u64> = recipients
            .iter()
            .copied()
            .filter(|u| Some(*u) != notice.actor_id)
            .collect();
        users.sort_unstable();
        users.dedup();
        for u in users.into_iter().filter(|u| wants(*u)) {
            rows.push(db::NewNotification {
                user_id: u,
                task_id: notice.task_id,
                actor_id: notice.actor_id,
                title: notice.title,
            });
        }
    }
    db::insert_many(conn, kind, &rows, now).await
}
