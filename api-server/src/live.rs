//! The in-process feed of task and notification events for the SPA's live
//! views. The database row is the truth and an event only a hint to refetch,
//! so a lagging listener that drops events loses nothing it cannot reload.

use serde::Serialize;
use tokio::sync::broadcast;

use crate::auth::Role;

/// Who may receive a task event, decided without a query per listener: the
/// task's client, assignees, shares and reporter as they were when it changed.
#[derive(Debug, Clone, Serialize)]
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

#[derive(Debug, Clone)]
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
#[derive(Debug, Clone)]
pub struct LiveBus(broadcast::Sender<LiveEvent>);

impl Default for LiveBus {
    fn default() -> Self {
        Self(broadcast::channel(1024).0)
    }
}

impl LiveBus {
    pub fn publish(&self, e: LiveEvent) {
        // No listener is not an error: nobody has the board open.
        let _ = self.0.send(e);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.0.subscribe()
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
