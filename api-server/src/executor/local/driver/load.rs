//! Loading a run for its driver: a new run as stored by Play, or a run left
//! unfinished by a previous process, whose running attempts are recorded as
//! interrupted and whose succeeded nodes' outputs are reloaded.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use katalusis_crds::plan::{FailureReason, NodePhase};
use katalusis_crds::BuiltinKind;

use super::super::pools::RunPools;
use super::super::{Local, RunControl};
use super::{now_ms, Driver};
use crate::db;
use crate::executor::events::{kind, node_event, EventSink};
use crate::executor::job::NodeOutputs;
use crate::executor::outcome;

impl Driver {
    pub async fn load(
        local: Arc<Local>,
        row: db::runs::Row,
        control: Arc<RunControl>,
        resumed: bool,
    ) -> anyhow::Result<Self> {
        let snapshot = row.snapshot;
        let modules = snapshot.modules.clone();
        let graph = snapshot.plan_graph()?;
        let mut states = row.node_states;
        // Play stores no events: only a resumed run has some already.
        let last_seq = if resumed {
            db::runs::last_event_seq(&local.db, row.run_id).await?
        } else {
            0
        };
        let sink = EventSink::start(
            &local.store,
            row.run_id,
            row.client_id,
            last_seq,
            local.live.clone(),
            true,
        );
        let mut outputs = NodeOutputs::new();
        let mut restart = Vec::new();
        if resumed {
            let now = now_ms();
            for (node, st) in states.iter_mut() {
                if st.phase != NodePhase::Running {
                    continue;
                }
                // Built-in nodes start again with the same attempt: they run
                // no code, and an approval finds the row it already opened.
                // A Query is the exception: a write may have committed, so
                // like a Python node it ends interrupted.
                if matches!(snapshot.builtin_of(node), Ok(Some(k)) if k != BuiltinKind::Query) {
                    restart.push((node.clone(), st.attempt));
                    continue;
                }
                let message = "the server stopped while this node was running";
                db::runs::finish_execution(
                    &local.db,
                    row.run_id,
                    node,
                    st.attempt,
                    &db::runs::Outcome {
                        status: NodePhase::Failed,
                        reason: Some(FailureReason::Interrupted),
                        message: Some(message),
                        duration_ms: None,
                        outputs: None,
                    },
                    Utc::now(),
                )
                .await?;
                st.fail(FailureReason::Interrupted, message, now);
                sink.emit(kind::NODE, node_event(node, st));
            }
            // Downstream nodes still need the outputs of nodes that succeeded before the restart.
            outputs = outcome::succeeded_outputs(&local.db, row.run_id, |n| {
                states
                    .get(n)
                    .is_some_and(|s| s.phase == NodePhase::Succeeded)
            })
            .await?;
        }
        // Only an unfinished run is driven, so the recorded phase is pending or running.
        let recorded = row.status;
        let task_feed = local.announcer.live.subscribe();
        let (builtin_done, builtin_results) = tokio::sync::mpsc::unbounded_channel();
        Ok(Self {
            local,
            control,
            run_id: row.run_id,
            run: crate::approvals::service::RunRef {
                run_id: row.run_id,
                client_id: row.client_id,
                started_by: row.started_by,
            },
            graph,
            snapshot,
            states,
            failure_policy: row.failure_policy,
            cancel_requested: row.cancel_requested,
            recorded,
            dirty: resumed,
            queued: Vec::new(),
            outputs,
            running: HashMap::new(),
            granted: None,
            pools: RunPools::new(row.run_id, row.client_id, modules),
            sink,
            storage_failure: None,
            restart,
            task_feed,
            awaited_tasks: HashMap::new(),
            queries: HashMap::new(),
            builtin_done,
            builtin_results,
        })
    }
}
