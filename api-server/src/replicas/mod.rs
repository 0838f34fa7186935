//! Several API server replicas on one database. Each replica heartbeats in
//! `replica`; a replica whose heartbeat is older than the lease TTL is dead.
//! Work that must happen once is held through a lease ([`Lease`]) by one
//! live replica; a local run is claimed by the replica that drives it
//! (`run.claimed_by`), and the runs of a dead replica are claimed and resumed
//! by the others. Live views on every replica are fed through [`bus`] (run
//! phases, task and notification events, signals to drivers) and [`feed`]
//! (the events of a run driven elsewhere), both read from the database on a
//! short poll, or when another replica rings through Redis ([`doorbell`]).

pub mod bus;
pub mod db;
pub mod doorbell;
pub mod feed;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::MySqlPool;
use tokio::sync::watch;
use tokio::time::Instant;

pub use bus::{Bus, Message, Signal};
pub use doorbell::{Doorbell, Ring};
pub use feed::Feed;

/// Work one live replica does for all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Lease {
    /// Kubernetes mode: the Run watch, the re-list and Workflow adoption.
    RunMirror,
    /// Firing due schedules.
    Schedules,
    /// Deleting rows past retention.
    Retention,
}

impl Lease {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RunMirror => "run-mirror",
            Self::Schedules => "schedules",
            Self::Retention => "retention",
        }
    }
}

/// This replica. Cheap to clone.
#[derive(Clone)]
pub struct Replica(Arc<Inner>);

struct Inner {
    id: Arc<str>,
    host: String,
    ttl: Duration,
    db: MySqlPool,
    /// Leases this replica wants, and whether it holds each.
    leases: Mutex<BTreeMap<Lease, watch::Sender<bool>>>,
    /// When the heartbeat was last stored.
    beat: watch::Sender<Option<Instant>>,
    /// Heartbeat rounds done (heartbeat stored and leases looked at).
    rounds: watch::Sender<u64>,
    /// Wakes the heartbeat loop early (a lease was asked for).
    wake: tokio::sync::Notify,
    stop: watch::Sender<bool>,
    bus: Bus,
    feed: Feed,
    doorbell: Doorbell,
}

impl Replica {
    /// Starts heartbeating (the first beat registers the replica) and the
    /// message bus (rung through Redis when `redis_url` is set). Must be
    /// called inside the Tokio runtime.
    pub fn start(db: MySqlPool, id: &str, ttl_seconds: u64, redis_url: Option<&str>) -> Self {
        let (stop, stop_rx) = watch::channel(false);
        let id: Arc<str> = Arc::from(id);
        let doorbell = Doorbell::start(redis_url, db.clone(), id.clone(), stop_rx.clone());
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_default();
        let replica = Self(Arc::new(Inner {
            bus: Bus::start(db.clone(), id.clone(), doorbell.clone(), stop_rx.clone()),
            feed: Feed::start(db.clone(), doorbell.clone(), stop_rx),
            doorbell,
            id,
            host,
            ttl: Duration::from_secs(ttl_seconds),
            db,
            leases: Mutex::new(BTreeMap::new()),
            beat: watch::channel(None).0,
            rounds: watch::channel(0).0,
            wake: tokio::sync::Notify::new(),
            stop,
        }));
        tokio::spawn(replica.clone().heartbeat_loop());
        replica
    }

    pub fn id(&self) -> &str {
        &self.0.id
    }

    pub fn ttl(&self) -> Duration {
        self.0.ttl
    }

    pub fn bus(&self) -> &Bus {
        &self.0.bus
    }

    pub fn feed(&self) -> &Feed {
        &self.0.feed
    }

    pub fn doorbell(&self) -> &Doorbell {
        &self.0.doorbell
    }

    /// Asks for `lease`; the receiver turns true while this replica holds it.
    pub fn want(&self, lease: Lease) -> watch::Receiver<bool> {
        let mut leases = self.0.leases.lock().unwrap_or_else(|e| e.into_inner());
        let rx = leases
            .entry(lease)
            .or_insert_with(|| watch::channel(false).0)
            .subscribe();
        // Asked for now, so try for it now rather than at the next beat.
        self.0.wake.notify_one();
        rx
    }

    /// Whether this replica holds `lease` now.
    pub fn holds(&self, lease: Lease) -> bool {
        self.0
            .leases
            .lock()
            .is_ok_and(|l| l.get(&lease).is_some_and(|tx| *tx.borrow()))
    }

    /// Whether the heartbeat was stored recently enough for this replica's
    /// leases and claims to be its own (readiness).
    pub fn heartbeat_fresh(&self) -> bool {
        self.0
            .beat
            .borrow()
            .is_some_and(|t| t.elapsed() < self.0.ttl / 2)
    }

    /// Waits for the first heartbeat round (startup: before claiming runs;
    /// the leases asked for so far have been tried for).
    pub async fn registered(&self) {
        let mut rx = self.0.rounds.subscribe();
        let _ = rx.wait_for(|r| *r > 0).await;
    }

    /// Stops heartbeating and gives up every lease and claim at once, so
    /// the other replicas take over without waiting for the TTL.
    pub async fn leave(&self) {
        self.0.stop.send_replace(true);
        self.drop_leases();
        if let Err(e) = db::leave(&self.0.db, &self.0.id).await {
            tracing::warn!(error = %e, "could not hand over this replica's work; the others take it after the lease TTL");
        }
    }

    /// Stops heartbeating without handing anything over, as a crashed
    /// process does: the others take over once the TTL has passed.
    pub fn halt(&self) {
        self.0.stop.send_replace(true);
        self.drop_leases();
    }

    fn drop_leases(&self) {
        if let Ok(leases) = self.0.leases.lock() {
            for tx in leases.values() {
                tx.send_replace(false);
            }
        }
    }

    async fn heartbeat_loop(self) {
        let inner = &self.0;
        let every = inner.ttl / 3;
        let mut stop = inner.stop.subscribe();
        let mut forgot = Instant::now();
        loop {
            let started = Instant::now();
            match db::heartbeat(&inner.db, &inner.id, &inner.host).await {
                Ok(()) => {
                    inner.beat.send_replace(Some(started));
                    self.renew_leases().await;
                    inner.rounds.send_modify(|r| *r += 1);
                }
                Err(e) => {
                    tracing::warn!(replica = %inner.id, error = %e, "could not renew this replica's heartbeat");
                    // Past half the TTL another replica may take the leases
                    // over: stop doing leased work before it can.
                    if !self.heartbeat_fresh() {
                        self.drop_leases();
                    }
                }
            }
            if forgot.elapsed() > Duration::from_secs(600) {
                forgot = Instant::now();
                let _ = db::forget_dead(&inner.db, 24 * 3600).await;
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = inner.wake.notified() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    }

    async fn renew_leases(&self) {
        let inner = &self.0;
        let wanted: Vec<Lease> = match inner.leases.lock() {
            Ok(l) => l.keys().copied().collect(),
            Err(_) => return,
        };
        for lease in wanted {
            let held = match db::acquire(&inner.db, lease.as_str(), &inner.id, inner.ttl.as_secs())
                .await
            {
                Ok(held) => held,
                Err(e) => {
                    tracing::warn!(lease = lease.as_str(), error = %e, "could not renew a lease");
                    continue;
                }
            };
            if *inner.stop.borrow() {
                return;
            }
            if let Ok(leases) = inner.leases.lock() {
                if let Some(tx) = leases.get(&lease) {
                    let before = tx.send_replace(held);
                    if before != held {
                        tracing::info!(replica = %inner.id, lease = lease.as_str(), held, "lease changed hands");
                    }
                }
            }
        }
    }
}
