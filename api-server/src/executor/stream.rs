//! Reading a run's event log as a stream: replay what is stored after a
//! sequence number, then follow the live feed until the run ends, replaying
//! again after a lag, so a listener sees every event once and in order.

use serde_json::Value;
use sqlx::MySqlPool;
use tokio::sync::{broadcast, mpsc};

use super::events::{is_final_run_event, kind, RunEvent};
use super::Executor;
use crate::db;

/// One event as a stream hands it on.
#[derive(Debug, Clone)]
pub struct StreamedEvent {
    pub seq: u64,
    pub kind: String,
    /// The event's JSON text.
    pub data: String,
}

/// Which stored run events a stream forwards.
#[derive(Debug, Clone)]
pub struct StreamFilter {
    pub show_logs: bool,
    /// Only log lines of this node (and the final run event).
    pub only_node_logs: Option<String>,
}

impl StreamFilter {
    fn passes(&self, event_kind: &str, data: &Value) -> bool {
        match &self.only_node_logs {
            Some(node) => {
                (event_kind == kind::LOG && data["node"].as_str() == Some(node))
                    || event_kind == kind::RUN
            }
            None => event_kind != kind::LOG || self.show_logs,
        }
    }
}

/// The events of run `run_id` after sequence number `last`, until the run
/// ends (at once if `finished`), the receiver is dropped or the server stops.
/// A run this replica stores the events of is followed live; any other run
/// through the replica's feed of stored events.
pub fn follow(
    executor: &Executor,
    db: MySqlPool,
    run_id: u64,
    client_id: u64,
    finished: bool,
    last: u64,
    filter: StreamFilter,
) -> mpsc::Receiver<StreamedEvent> {
    // Subscribe before replaying, so nothing falls between the replay and the live feed.
    let (live, following) = if executor.stores_events_of(run_id) {
        (executor.subscribe(), None)
    } else {
        let (rx, guard) = executor.replica().feed().follow(run_id, client_id, last);
        (rx, Some(guard))
    };
    let (tx, rx) = mpsc::channel(256);
    let stopped = executor.stopped();
    tokio::spawn(async move {
        let _following = following;
        tokio::select! {
            r = replay_then_follow(db, run_id, last, filter, finished, live, tx) => {
                if let Err(e) = r {
                    tracing::warn!(run_id, error = %e, "event stream stopped");
                }
            }
            _ = stopped => {}
        }
    });
    rx
}

async fn replay_then_follow(
    db: MySqlPool,
    run_id: u64,
    mut last: u64,
    filter: StreamFilter,
    finished: bool,
    mut live: broadcast::Receiver<RunEvent>,
    tx: mpsc::Sender<StreamedEvent>,
) -> anyhow::Result<()> {
    loop {
        // Replay what is stored after `last`.
        loop {
            let rows = db::runs::events_after(&db, run_id, last, 500).await?;
            if rows.is_empty() {
                break;
            }
            for r in rows {
                last = r.seq;
                let data: Value = serde_json::from_str(&r.data).unwrap_or(Value::Null);
                if !filter.passes(&r.kind, &data) {
                    continue;
                }
                let is_final = is_final_run_event(&r.kind, &data);
                let ev = StreamedEvent {
                    seq: r.seq,
                    kind: r.kind,
                    data: r.data,
                };
                if tx.send(ev).await.is_err() || is_final {
                    return Ok(());
                }
            }
        }
        if finished {
            return Ok(());
        }
        // Follow the live feed until the run ends; after a lag or a gap
        // (events the feed had not seen yet), replay again.
        loop {
            match live.recv().await {
                Ok(ev) if ev.run_id == run_id && ev.seq > last + 1 => break,
                Ok(ev) if ev.run_id == run_id && ev.seq > last => {
                    last = ev.seq;
                    if !filter.passes(ev.kind, &ev.data) {
                        continue;
                    }
                    let is_final = is_final_run_event(ev.kind, &ev.data);
                    let out = StreamedEvent {
                        seq: ev.seq,
                        kind: ev.kind.to_owned(),
                        data: ev.data.to_string(),
                    };
                    if tx.send(out).await.is_err() || is_final {
                        return Ok(());
                    }
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => break,
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            }
        }
    }
}
