//! An optional Redis doorbell (`KATALUSIS_REDIS_URL`): a replica that stored
//! messages for the others, or events of a run it drives, rings through
//! Redis pub/sub, and the other replicas read the database at once instead
//! of at their next poll. The database stays the only truth: a ring carries
//! no data, so a ring lost while Redis is away only delays a view until the
//! slower fallback poll, and every (re)subscription reads once to catch up.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use sqlx::MySqlPool;
use tokio::sync::{mpsc, watch, Notify};

/// How often the database is read while subscribed to the rings (a safety net).
pub const FALLBACK_POLL: Duration = Duration::from_secs(2);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// What was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ring {
    /// Rows in `replica_message`.
    Messages,
    /// Rows in `run_event`.
    Events,
}

impl Ring {
    fn code(self) -> char {
        match self {
            Self::Messages => 'm',
            Self::Events => 'e',
        }
    }
}

/// Cheap to clone. Without Redis it never rings and never wakes anyone.
#[derive(Clone, Default)]
pub struct Doorbell(Option<Arc<Inner>>);

struct Inner {
    out: mpsc::UnboundedSender<Ring>,
    messages: Notify,
    events: Notify,
    /// Listening to the rings now; otherwise the short poll applies.
    subscribed: AtomicBool,
}

impl Doorbell {
    /// Without `url`, a doorbell that does nothing. The channel is named after
    /// the database, so deployments sharing one Redis do not wake each other.
    pub fn start(
        url: Option<&str>,
        db: MySqlPool,
        me: Arc<str>,
        stop: watch::Receiver<bool>,
    ) -> Self {
        let Some(url) = url else {
            return Self(None);
        };
        let client = match redis::Client::open(url) {
            Ok(c) => c,
            Err(e) => {
                // Settings validated the URL; this is unreachable in practice.
                tracing::error!(error = %e, "KATALUSIS_REDIS_URL is not usable; polling the database only");
                return Self(None);
            }
        };
        let (out, rx) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            out,
            messages: Notify::new(),
            events: Notify::new(),
            subscribed: AtomicBool::new(false),
        });
        tokio::spawn(run(client, db, me, rx, inner.clone(), stop));
        Self(Some(inner))
    }

    pub fn enabled(&self) -> bool {
        self.0.is_some()
    }

    /// Tells the other replicas that `what` was stored.
    pub fn ring(&self, what: Ring) {
        if let Some(i) = &self.0 {
            let _ = i.out.send(what);
        }
    }

    /// Resolves when another replica rang for `what` (never without Redis).
    pub async fn rung(&self, what: Ring) {
        match &self.0 {
            Some(i) => match what {
                Ring::Messages => i.messages.notified().await,
                Ring::Events => i.events.notified().await,
            },
            None => std::future::pending().await,
        }
    }

    /// How long to wait before the next read when no ring comes: `short`
    /// unless rings can be heard right now.
    pub fn poll_every(&self, short: Duration) -> Duration {
        match &self.0 {
            Some(i) if i.subscribed.load(Ordering::Relaxed) => FALLBACK_POLL,
            _ => short,
        }
    }
}

async fn run(
    client: redis::Client,
    db: MySqlPool,
    me: Arc<str>,
    out: mpsc::UnboundedReceiver<Ring>,
    inner: Arc<Inner>,
    stop: watch::Receiver<bool>,
) {
    let database: String = loop {
        match sqlx::query_scalar::<_, Option<String>>("SELECT DATABASE()")
            .fetch_one(&db)
            .await
        {
            Ok(d) => break d.unwrap_or_default(),
            Err(e) => {
                tracing::debug!(error = %e, "naming the doorbell's channel");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    let channel = channel_of(&database);
    tokio::spawn(publish_loop(
        client.clone(),
        channel.clone(),
        me.clone(),
        out,
        stop.clone(),
    ));
    subscribe_loop(client, channel, me, inner, stop).await;
}

/// The pub/sub channel of the replicas on `database`.
pub fn channel_of(database: &str) -> String {
    format!("katalusis:{database}:replicas")
}

async fn publish_loop(
    client: redis::Client,
    channel: String,
    me: Arc<str>,
    mut out: mpsc::UnboundedReceiver<Ring>,
    mut stop: watch::Receiver<bool>,
) {
    let mut conn = None;
    let mut backoff = Duration::from_millis(200);
    loop {
        let first = tokio::select! {
            r = out.recv() => match r { Some(r) => r, None => return },
            _ = stop.wait_for(|s| *s) => return,
        };
        // A burst of stores makes one ring of each kind.
        let (mut messages, mut events) = (false, false);
        let mut mark = |r: Ring| match r {
            Ring::Messages => messages = true,
            Ring::Events => events = true,
        };
        mark(first);
        while let Ok(r) = out.try_recv() {
            mark(r);
        }
        for (wanted, ring) in [(messages, Ring::Messages), (events, Ring::Events)] {
            if !wanted {
                continue;
            }
            if conn.is_none() {
                match tokio::time::timeout(
                    CONNECT_TIMEOUT,
                    client.get_multiplexed_async_connection(),
                )
                .await
                {
                    Ok(Ok(c)) => {
                        conn = Some(c);
                        backoff = Duration::from_millis(200);
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "cannot reach Redis to ring the other replicas; they poll the database");
                    }
                    Err(_) => {
                        tracing::warn!(
                            "Redis did not answer in time; the other replicas poll the database"
                        );
                    }
                }
            }
            let Some(c) = conn.as_mut() else {
                // Rings are hints: drop this one, wait a little before trying again.
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                break;
            };
            let payload = format!("{}|{}", ring.code(), me);
            let sent: redis::RedisResult<i64> = redis::cmd("PUBLISH")
                .arg(&channel)
                .arg(payload)
                .query_async(c)
                .await;
            if let Err(e) = sent {
                tracing::warn!(error = %e, "ringing the other replicas through Redis");
                conn = None;
            }
        }
    }
}

async fn subscribe_loop(
    client: redis::Client,
    channel: String,
    me: Arc<str>,
    inner: Arc<Inner>,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_millis(200);
    loop {
        let subscribed = async {
            let mut ps = tokio::time::timeout(CONNECT_TIMEOUT, client.get_async_pubsub())
                .await
                .map_err(|_| "timed out".to_owned())?
                .map_err(|e| e.to_string())?;
            ps.subscribe(&channel).await.map_err(|e| e.to_string())?;
            Ok::<_, String>(ps)
        };
        let ps = tokio::select! {
            r = subscribed => r,
            _ = stop.wait_for(|s| *s) => return,
        };
        let mut ps = match ps {
            Ok(ps) => ps,
            Err(e) => {
                tracing::warn!(error = %e, "cannot subscribe to the replicas' Redis channel; polling the database");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        backoff = Duration::from_millis(200);
        tracing::info!(%channel, "listening for the other replicas through Redis");
        inner.subscribed.store(true, Ordering::Relaxed);
        // Rings may have been missed while not subscribed: read once now.
        inner.messages.notify_one();
        inner.events.notify_one();
        let mut stream = ps.on_message();
        loop {
            let msg = tokio::select! {
                m = stream.next() => m,
                _ = stop.wait_for(|s| *s) => return,
            };
            let Some(msg) = msg else {
                inner.subscribed.store(false, Ordering::Relaxed);
                tracing::warn!(
                    "lost the replicas' Redis channel; polling the database until it is back"
                );
                break;
            };
            let Ok(payload) = msg.get_payload::<String>() else {
                continue;
            };
            match parse(&payload, &me) {
                Some(Ring::Messages) => inner.messages.notify_one(),
                Some(Ring::Events) => inner.events.notify_one(),
                None => {}
            }
        }
    }
}

/// The ring in `payload`, unless it is this replica's own or unreadable.
fn parse(payload: &str, me: &str) -> Option<Ring> {
    let (code, origin) = payload.split_once('|')?;
    if origin == me {
        return None;
    }
    match code {
        "m" => Some(Ring::Messages),
        "e" => Some(Ring::Events),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rings_of_others_are_heard_and_own_rings_ignored() {
        assert_eq!(parse("m|replica-b", "replica-a"), Some(Ring::Messages));
        assert_eq!(parse("e|replica-b", "replica-a"), Some(Ring::Events));
        assert_eq!(parse("e|replica-a", "replica-a"), None);
        assert_eq!(parse("x|replica-b", "replica-a"), None);
        assert_eq!(parse("garbage", "replica-a"), None);
    }

    #[tokio::test]
    async fn without_redis_nothing_rings_and_the_short_poll_stays() {
        let d = Doorbell::default();
        assert!(!d.enabled());
        d.ring(Ring::Messages);
        let woke = tokio::time::timeout(Duration::from_millis(50), d.rung(Ring::Messages)).await;
        assert!(woke.is_err());
        assert_eq!(
            d.poll_every(Duration::from_millis(200)),
            Duration::from_millis(200)
        );
    }
}
