//! Services of the built-in flow nodes that reach outside the run: the
//! people they name and the notifications they send. (Approvals, with
//! their own table and endpoints, are the `approvals` slice.) The rules
//! themselves are pure, in `katalusis_flow`.

pub mod notify;
pub mod people;
pub mod query;
pub mod tasks;
pub mod webhooks;

use crate::auth::Role;
use crate::tasks::db::Viewer;

/// The run a flow node belongs to.
#[derive(Debug, Clone, Copy)]
pub struct RunRef {
    pub run_id: u64,
    pub client_id: u64,
    pub started_by: u64,
}

impl RunRef {
    /// Acts for the run: the run was authorised when it was started, so its
    /// starter creates and changes the tasks its nodes need without a second
    /// scope check (the people named are still checked against the client).
    pub fn actor(self) -> Viewer {
        Viewer {
            user_id: self.started_by,
            role: Role::Admin,
        }
    }
}
