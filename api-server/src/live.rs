//! The feed of task and notification events for the SPA's live views, over
//! every replica: events of this process are passed to the others through
//! the replica bus. The database row is the truth and an event only a hint
//! to refetch, so a lagging listener that drops events loses nothing it
//! cannot reload.

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::auth::Role;

/// Who may receive a task event, decided without a query per listener: the
/// task's client, assignees, shares and reporter as they were when it changed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskAudience {
    pub client_id: u64,
    pub reporter_id: u64,
    pub assignees: Vec<u64>,
    pub shares: Vec<u64>,
}

impl TaskAudience {
    /// The in-memory twin of `tasks::db::push_visible`; `manages_client`
    /// answers whether a manager is linked to the task's client.
    pub fn admits(&self, user_id: u64, role: Role, manages_client: bool) -> bool {
        match role {
            Role::Admin => true,
            Role::Manager => {
                manages_client || self.reporter_id == user_id || self.assignees.contains(&user_id)
            }
            Role::Client => self.assignees.contains(&user_id) || self.shares.contains(&user_id),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum LiveEvent {
    /// A task was created, changed, moved, commented on or deleted.
    Task {
        audience: TaskAudience,
        data: serde_json::Value,
    },
    /// A notification arrived in `user_id`'s inbox.
    Notification {
        user_id: u64,
        data: serde_json::Value,
    },
}

/// Cheap to clone; every clone publishes to the same listeners.
#[derive(Clone)]
pub struct LiveBus {
    /// Events of every replica.
    all: broadcast::Sender<LiveEvent>,
    /// Events of this process only (what it acts on, such as event triggers).
    local: broadcast::Sender<LiveEvent>,
    peers: Option<crate::replicas::Bus>,
}

impl Default for LiveBus {
    /// A bus of this process alone.
    fn default() -> Self {
        Self {
            all: broadcast::channel(1024).0,
            local: broadcast::channel(1024).0,
            peers: None,
        }
    }
}

impl LiveBus {
    /// A bus shared with the other replicas through `peers`.
    pub fn shared(peers: crate::replicas::Bus) -> Self {
        let bus = Self {
            peers: Some(peers.clone()),
            ..Self::default()
        };
        let all = bus.all.clone();
        let mut inbound = peers.subscribe();
        tokio::spawn(async move {
            loop {
                match inbound.recv().await {
                    Ok(m) => {
                        if let crate::replicas::Message::Live { event } = &*m {
                            let _ = all.send(event.clone());
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        bus
    }

    pub fn publish(&self, e: LiveEvent) {
        if let Some(peers) = &self.peers {
            peers.publish(crate::replicas::Message::Live { event: e.clone() });
        }
        // No listener is not an error: nobody has the board open.
        let _ = self.local.send(e.clone());
        let _ = self.all.send(e);
    }

    /// Events of every replica.
    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.all.subscribe()
    }

    /// Events of this process only.
    pub fn subscribe_local(&self) -> broadcast::Receiver<LiveEvent> {
        self.local.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_audience_matches_the_visibility_rules() {
        let a = TaskAudience {
            client_id: 10,
            reporter_id: 2,
            assignees: vec![3, 10],
            shares: vec![11],
        };
        assert!(a.admits(1, Role::Admin, false));
        assert!(a.admits(5, Role::Manager, true));
        assert!(a.admits(2, Role::Manager, false));
        assert!(a.admits(3, Role::Manager, false));
        assert!(!a.admits(4, Role::Manager, false));
        assert!(a.admits(10, Role::Client, false));
        assert!(a.admits(11, Role::Client, false));
        assert!(!a.admits(12, Role::Client, false));
    }
}
