//! The events of runs another replica drives, for this replica's streams:
//! one poller reads what was stored after each followed run's last event
//! (a primary-key range per run, all in one query) and hands it to that
//! run's listeners. Streams dedupe by sequence number and replay from the
//! database when they see a gap, so the feed needs no bookkeeping of its own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::{MySql, MySqlPool, QueryBuilder};
use tokio::sync::{broadcast, watch};

use super::doorbell::{Doorbell, Ring};
use crate::executor::events::{kind, RunEvent};

/// How often followed runs are read.
pub const POLL: Duration = Duration::from_millis(250);
const READ_BATCH: u32 = 2000;

struct Followed {
    client_id: u64,
    last: u64,
    tx: broadcast::Sender<RunEvent>,
    listeners: usize,
}

/// Cheap to clone.
#[derive(Clone)]
pub struct Feed(Arc<Mutex<HashMap<u64, Followed>>>);

/// Keeps a run followed; dropping it lets the run go.
pub struct Following {
    feed: Feed,
    run_id: u64,
}

impl Drop for Following {
    fn drop(&mut self) {
        if let Ok(mut runs) = self.feed.0.lock() {
            if let Some(f) = runs.get_mut(&self.run_id) {
                f.listeners -= 1;
                if f.listeners == 0 {
                    runs.remove(&self.run_id);
                }
            }
        }
    }
}

impl Feed {
    /// With a `doorbell`, followed runs are read when their driver rings.
    pub fn start(db: MySqlPool, doorbell: Doorbell, stop: watch::Receiver<bool>) -> Self {
        let feed = Self(Arc::default());
        tokio::spawn(feed.clone().poll(db, doorbell, stop));
        feed
    }

    /// The events of `run_id` stored after `after` (and later ones), as they are read.
    pub fn follow(
        &self,
        run_id: u64,
        client_id: u64,
        after: u64,
    ) -> (broadcast::Receiver<RunEvent>, Following) {
        let mut runs = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let f = runs.entry(run_id).or_insert_with(|| Followed {
            client_id,
            last: after,
            tx: broadcast::channel(1024).0,
            listeners: 0,
        });
        f.listeners += 1;
        let rx = f.tx.subscribe();
        (
            rx,
            Following {
                feed: self.clone(),
                run_id,
            },
        )
    }

    async fn poll(self, db: MySqlPool, doorbell: Doorbell, mut stop: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(doorbell.poll_every(POLL)) => {}
                _ = doorbell.rung(Ring::Events) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            let wanted: Vec<(u64, u64)> = match self.0.lock() {
                Ok(runs) => runs.iter().map(|(id, f)| (*id, f.last)).collect(),
                Err(_) => return,
            };
            if wanted.is_empty() {
                continue;
            }
            match read(&db, &wanted).await {
                Ok(rows) => self.deliver(rows),
                Err(e) => tracing::debug!(error = %e, "reading followed runs' events"),
            }
        }
    }

    fn deliver(&self, rows: Vec<Row>) {
        let Ok(mut runs) = self.0.lock() else { return };
        for r in rows {
            let Some(f) = runs.get_mut(&r.run_id) else {
                continue;
            };
            if r.seq <= f.last {
                continue;
            }
            f.last = r.seq;
            let Some(kind) = kind::parse(&r.kind) else {
                continue;
            };
            let _ = f.tx.send(RunEvent {
                run_id: r.run_id,
                client_id: f.client_id,
                seq: r.seq,
                kind,
                data: serde_json::from_str(&r.data).unwrap_or_default(),
                peer: true,
            });
        }
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    run_id: u64,
    seq: u64,
    kind: String,
    data: String,
}

async fn read(db: &MySqlPool, wanted: &[(u64, u64)]) -> Result<Vec<Row>, sqlx::Error> {
    let mut qb = QueryBuilder::<MySql>::new("SELECT run_id, seq, kind, data FROM run_event WHERE ");
    for (i, (run_id, after)) in wanted.iter().enumerate() {
        if i > 0 {
            qb.push(" OR ");
        }
        qb.push("(run_id = ")
            .push_bind(*run_id)
            .push(" AND seq > ")
            .push_bind(*after)
            .push(")");
    }
    qb.push(" ORDER BY run_id, seq LIMIT ")
        .push_bind(READ_BATCH);
    qb.build_query_as().fetch_all(db).await
}
