//! Messages between replicas, through MySQL: each replica appends what the
//! others' live views need (run phase changes, task and notification events,
//! cancel and approval signals) to `replica_message`, and reads the others'
//! with one short poll. The database rows behind every message are the
//! truth; a message only wakes a view or a driver sooner.
//!
//! With Redis configured, a replica rings the others after storing
//! messages ([`super::doorbell`]) and the poll becomes a slow safety net.
//!
//! Auto-increment ids are assigned at insert but become visible at commit,
//! so a smaller id can appear after a larger one was read: ids skipped over
//! are looked at again for a while before they are given up as rolled back.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::{MySql, MySqlPool, QueryBuilder};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::Instant;

use super::doorbell::{Doorbell, Ring};
use crate::live::LiveEvent;

/// How often a replica looks for the others' messages.
pub const POLL: Duration = Duration::from_millis(200);
/// How long an id skipped over may still turn up.
const HOLE_PATIENCE: Duration = Duration::from_secs(10);
/// Messages older than this are deleted (every reader is far past them).
const KEEP: Duration = Duration::from_secs(300);
const READ_BATCH: u32 = 1000;

/// What a run's driver is told from another replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Signal {
    /// `cancel_requested` was set.
    Cancel,
    /// One of the run's approvals was decided.
    Decided,
}

/// One message.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "topic", rename_all = "camelCase")]
pub enum Message {
    /// A run changed phase (`run` event), for dashboards and waits.
    #[serde(rename_all = "camelCase")]
    RunPhase {
        run_id: u64,
        client_id: u64,
        seq: u64,
        data: Value,
    },
    /// A task or notification event.
    Live { event: LiveEvent },
    /// For the driver of `run_id`, wherever it runs.
    #[serde(rename_all = "camelCase")]
    Signal { run_id: u64, signal: Signal },
}

impl Message {
    fn topic(&self) -> &'static str {
        match self {
            Self::RunPhase { .. } => "run",
            Self::Live { .. } => "live",
            Self::Signal { .. } => "signal",
        }
    }
}

/// Cheap to clone.
#[derive(Clone)]
pub struct Bus {
    out: mpsc::UnboundedSender<Message>,
    inbound: broadcast::Sender<Arc<Message>>,
}

impl Bus {
    /// Starts the writer and the reader of replica `me`; both end when
    /// `stop` turns true.
    pub fn start(
        db: MySqlPool,
        me: Arc<str>,
        doorbell: Doorbell,
        stop: watch::Receiver<bool>,
    ) -> Self {
        let (out, rx) = mpsc::unbounded_channel();
        let (inbound, _) = broadcast::channel(4096);
        tokio::spawn(write_loop(
            db.clone(),
            me.clone(),
            doorbell.clone(),
            rx,
            stop.clone(),
        ));
        tokio::spawn(read_loop(db, me, doorbell, inbound.clone(), stop));
        Self { out, inbound }
    }

    /// Sends `m` to every other replica.
    pub fn publish(&self, m: Message) {
        let _ = self.out.send(m);
    }

    /// The other replicas' messages, as they arrive.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Message>> {
        self.inbound.subscribe()
    }
}

async fn write_loop(
    db: MySqlPool,
    me: Arc<str>,
    doorbell: Doorbell,
    mut rx: mpsc::UnboundedReceiver<Message>,
    mut stop: watch::Receiver<bool>,
) {
    let mut pending: Vec<(&'static str, String)> = Vec::new();
    let mut delay = Duration::from_millis(100);
    loop {
        if pending.is_empty() {
            tokio::select! {
                m = rx.recv() => match m {
                    Some(m) => pending.push(encode(&m)),
                    None => return,
                },
                _ = stop.wait_for(|s| *s) => return,
            }
        }
        while pending.len() < 500 {
            match rx.try_recv() {
                Ok(m) => pending.push(encode(&m)),
                Err(_) => break,
            }
        }
        let mut qb = QueryBuilder::<MySql>::new(
            "INSERT INTO replica_message (origin, topic, payload, created_at) ",
        );
        qb.push_values(&pending, |mut b, (topic, payload)| {
            b.push_bind(&*me)
                .push_bind(*topic)
                .push_bind(payload)
                .push("NOW(3)");
        });
        match qb.build().execute(&db).await {
            Ok(_) => {
                pending.clear();
                doorbell.ring(Ring::Messages);
                delay = Duration::from_millis(100);
            }
            Err(e) => {
                // Signals must not be lost: keep them, in order, until the database answers.
                tracing::warn!(error = %e, waiting = pending.len(), "could not pass messages to the other replicas yet");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}

fn encode(m: &Message) -> (&'static str, String) {
    (
        m.topic(),
        serde_json::to_string(m).unwrap_or_else(|_| "null".into()),
    )
}

#[derive(sqlx::FromRow)]
struct Row {
    message_id: u64,
    origin: String,
    payload: String,
}

async fn read_loop(
    db: MySqlPool,
    me: Arc<str>,
    doorbell: Doorbell,
    inbound: broadcast::Sender<Arc<Message>>,
    mut stop: watch::Receiver<bool>,
) {
    // Start after what is already there: those messages were for views that came before us.
    let mut last: u64 = loop {
        match sqlx::query_scalar::<_, Option<u64>>("SELECT MAX(message_id) FROM replica_message")
            .fetch_one(&db)
            .await
        {
            Ok(v) => break v.unwrap_or(0),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the other replicas' messages yet");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
            }
        }
    };
    let mut holes: BTreeMap<u64, Instant> = BTreeMap::new();
    let mut pruned = Instant::now();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(doorbell.poll_every(POLL)) => {}
            _ = doorbell.rung(Ring::Messages) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let now = Instant::now();
        holes.retain(|_, since| now.duration_since(*since) < HOLE_PATIENCE);
        let rows = match read_after(&db, last, holes.keys().copied()).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::debug!(error = %e, "reading the other replicas' messages");
                continue;
            }
        };
        for r in rows {
            holes.remove(&r.message_id);
            if r.message_id > last {
                for id in (last + 1)..r.message_id {
                    // A burst of rollbacks must not grow the list without bound.
                    if holes.len() < 10_000 {
                        holes.insert(id, now);
                    }
                }
                last = r.message_id;
            }
            if *r.origin == *me {
                continue;
            }
            match serde_json::from_str::<Message>(&r.payload) {
                Ok(m) => {
                    let _ = inbound.send(Arc::new(m));
                }
                Err(e) => {
                    tracing::warn!(message_id = r.message_id, error = %e, "unreadable replica message")
                }
            }
        }
        if now.duration_since(pruned) > Duration::from_secs(60) {
            pruned = now;
            let r = sqlx::query(
                "DELETE FROM replica_message WHERE created_at < NOW(3) - INTERVAL ? SECOND",
            )
            .bind(KEEP.as_secs())
            .execute(&db)
            .await;
            if let Err(e) = r {
                tracing::debug!(error = %e, "pruning replica messages");
            }
        }
    }
}

async fn read_after(
    db: &MySqlPool,
    last: u64,
    holes: impl Iterator<Item = u64>,
) -> Result<Vec<Row>, sqlx::Error> {
    let mut qb = QueryBuilder::<MySql>::new(
        "SELECT message_id, origin, payload FROM replica_message WHERE message_id > ",
    );
    qb.push_bind(last);
    let holes: Vec<u64> = holes.take(500).collect();
    if !holes.is_empty() {
        qb.push(" OR message_id IN (");
        let mut s = qb.separated(", ");
        for h in holes {
            s.push_bind(h);
        }
        qb.push(")");
    }
    qb.push(" ORDER BY message_id LIMIT ").push_bind(READ_BATCH);
    qb.build_query_as().fetch_all(db).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_through_their_json() {
        let m = Message::Signal {
            run_id: 7,
            signal: Signal::Cancel,
        };
        let (topic, text) = encode(&m);
        assert_eq!(topic, "signal");
        let back: Message = serde_json::from_str(&text).unwrap();
        assert!(matches!(
            back,
            Message::Signal {
                run_id: 7,
                signal: Signal::Cancel
            }
        ));
        let m = Message::RunPhase {
            run_id: 1,
            client_id: 2,
            seq: 3,
            data: serde_json::json!({"status": "running"}),
        };
        let (topic, text) = encode(&m);
        assert_eq!(topic, "run");
        assert!(text.contains("\"runId\":1"), "{text}");
    }
}
