//! Firing triggers: the schedule tick, webhook calls and events all end in
//! [`fire`], which claims the firing's key first (so an instant or an event
//! starts at most one run, across restarts and replicas), then starts the
//! run as the trigger's owner through Play, and audits it like Play.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use katalusis_crds::plan::{FailurePolicy, RunPhase};
use katalusis_crds::Graph;
use katalusis_flow::Schedule;
use serde_json::{json, Value};

use super::db::{self, TriggerRow};
use super::model::{node_port, EventConfig, EventKind, RunInputs, TriggerConfig};
use crate::auth::{CurrentUser, Role};
use crate::live::LiveEvent;
use crate::runs::play::{play, PlayRequest};
use crate::state::AppState;

/// What became of a firing.
#[derive(Debug, Clone)]
pub enum Fired {
    Started {
        firing_id: u64,
        run_id: u64,
    },
    Failed {
        firing_id: u64,
        message: String,
    },
    /// This key fired already.
    Duplicate,
}

pub fn config_of(row: &TriggerRow) -> anyhow::Result<TriggerConfig> {
    Ok(serde_json::from_str(&row.config)?)
}

/// Starts a run for `key` unless that key fired already.
pub async fn fire(
    state: &AppState,
    t: &TriggerRow,
    key: &str,
    inputs: RunInputs,
    now: DateTime<Utc>,
) -> anyhow::Result<Fired> {
    let Some(firing_id) = db::claim(&state.db, t.trigger_id, key, "started", None, now).await?
    else {
        return Ok(Fired::Duplicate);
    };
    let owner = crate::db::users::get(&state.db, t.owner_id).await?;
    let user = match owner {
        Some(u) if u.active => match Role::parse(&u.role) {
            Some(role) if role != Role::Client => CurrentUser {
                id: u.id,
                username: u.username,
                role,
                session_id: format!("trigger-{}", t.trigger_id),
            },
            _ => return failed(state, firing_id, "the trigger's owner may not start runs").await,
        },
        _ => return failed(state, firing_id, "the trigger's owner is deactivated").await,
    };
    let request = PlayRequest {
        inputs,
        failure_policy: FailurePolicy::default(),
        published: true,
    };
    match play(&state.db, &state.executor, &user, t.workflow_id, request).await {
        Ok(run_id) => {
            db::finish(&state.db, firing_id, "started", Some(run_id), None).await?;
            audit(state, &user, t, run_id).await;
            Ok(Fired::Started { firing_id, run_id })
        }
        Err(e) => {
            let message = match &e {
                crate::runs::play::PlayError::InvalidGraph(p) => format!(
                    "{e}: {}",
                    p.iter()
                        .map(|p| p.message.clone())
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                crate::runs::play::PlayError::InvalidInputs(errs) => format!(
                    "{e}: {}",
                    errs.iter()
                        .map(|f| format!("{} {}", f.field, f.message))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                _ => e.to_string(),
            };
            failed(state, firing_id, &message).await
        }
    }
}

async fn failed(state: &AppState, firing_id: u64, message: &str) -> anyhow::Result<Fired> {
    db::finish(&state.db, firing_id, "failed", None, Some(message)).await?;
    Ok(Fired::Failed {
        firing_id,
        message: message.to_owned(),
    })
}

/// A triggered run is audited like Play, as its owner.
async fn audit(state: &AppState, user: &CurrentUser, t: &TriggerRow, run_id: u64) {
    let entry = crate::db::audit::NewEntry {
        user_id: Some(user.id),
        role: Some(user.role.as_str()),
        action: "run.start".into(),
        object_type: Some("run".into()),
        object_id: Some(run_id.to_string()),
        outcome: "success",
        status: 202,
        request_id: format!("trigger-{}", t.trigger_id),
        client_ip: None,
    };
    if let Err(e) = crate::db::audit::insert(&state.db, &entry).await {
        tracing::warn!(trigger_id = t.trigger_id, error = %e, "could not audit a triggered run");
    }
}

/// Fires every schedule whose instant has come (the scheduler calls it
/// each second; tests call it with their own clock).
pub async fn tick(state: &AppState, now: DateTime<Utc>) -> anyhow::Result<usize> {
    let mut started = 0;
    for t in db::due_schedules(&state.db, now).await? {
        let Some(due_at) = t.next_fire_at else {
            continue;
        };
        let TriggerConfig::Schedule(cfg) = config_of(&t)? else {
            continue;
        };
        let schedule = match Schedule::parse(&cfg.cron, &cfg.timezone) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(trigger_id = t.trigger_id, error = %e, "schedule cannot be read");
                db::advance(&state.db, t.trigger_id, due_at, None).await?;
                continue;
            }
        };
        let due = schedule.due(due_at, now, cfg.missed);
        if due.missed {
            let key = format!("missed:{}", due_at.to_rfc3339());
            db::claim(
                &state.db,
                t.trigger_id,
                &key,
                "skipped",
                Some("instants passed while the server was down"),
                now,
            )
            .await?;
        }
        if let Some(instant) = due.fire {
            if let Fired::Started { .. } =
                fire(state, &t, &instant.to_rfc3339(), cfg.inputs.clone(), now).await?
            {
                started += 1;
            }
        }
        db::advance(&state.db, t.trigger_id, due_at, due.next).await?;
    }
    Ok(started)
}

/// Checks the schedule every `every` until the server stops.
pub fn spawn_scheduler(state: AppState, every: Duration) {
    // One replica fires (a firing is keyed by its instant besides).
    let leased = state
        .executor
        .replica()
        .want(crate::replicas::Lease::Schedules);
    tokio::spawn(async move {
        let mut stopped = Box::pin(state.executor.stopped());
        loop {
            let holds = *leased.borrow();
            if holds {
                if let Err(e) = tick(&state, Utc::now()).await {
                    tracing::warn!(error = format!("{e:#}"), "schedule tick failed");
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = &mut stopped => return,
            }
        }
    });
}

/// The run inputs a webhook body maps to: each `node.port` takes the value
/// at its JSON pointer; a pointer that finds nothing leaves the port alone.
pub fn webhook_inputs(mapping: &BTreeMap<String, String>, body: &Value) -> RunInputs {
    let mut out = RunInputs::new();
    for (target, pointer) in mapping {
        let (Some((node, port)), Some(v)) = (node_port(target), body.pointer(pointer)) else {
            continue;
        };
        out.entry(node.to_owned())
            .or_default()
            .insert(port.to_owned(), v.clone());
    }
    out
}

/// Whether `signature` (`sha256=<hex>`) is the HMAC-SHA256 of `body` under `key`.
pub fn signature_ok(key: &[u8], body: &[u8], signature: Option<&str>) -> bool {
    use hmac::{Hmac, Mac};
    let Some(hex_sig) = signature.and_then(|s| s.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(key) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

/// The graph's node ids and input ports, to check `node.port` references.
pub fn has_input(
    graph: &Graph,
    templates_inputs: &BTreeMap<String, Vec<String>>,
    target: &str,
) -> bool {
    node_port(target).is_some_and(|(node, port)| {
        graph.nodes.iter().find(|n| n.id == node).is_some_and(|n| {
            templates_inputs
                .get(&n.template.name)
                .is_some_and(|ports| ports.iter().any(|p| p == port))
        })
    })
}

fn event_matches(cfg: &EventConfig, kind: EventKind, status: Option<&str>) -> bool {
    cfg.on == kind
        && match (&cfg.status, status) {
            (Some(want), Some(got)) => want.eq_ignore_ascii_case(got),
            (Some(_), None) => false,
            (None, _) => true,
        }
}

fn event_inputs(cfg: &EventConfig, event: Value) -> RunInputs {
    let mut out = RunInputs::new();
    if let Some((node, port)) = cfg.input.as_deref().and_then(node_port) {
        out.entry(node.to_owned())
            .or_default()
            .insert(port.to_owned(), event);
    }
    out
}

/// Fires the event triggers an event matches, within the event's client.
async fn on_event(
    state: &AppState,
    kind: EventKind,
    client_id: u64,
    status: Option<&str>,
    source_workflow: Option<u64>,
    key: &str,
    event: Value,
) -> anyhow::Result<()> {
    for t in db::events(&state.db).await? {
        // Events never cross clients.
        if t.client_id != client_id {
            continue;
        }
        let TriggerConfig::Event(cfg) = config_of(&t)? else {
            continue;
        };
        if !event_matches(&cfg, kind, status) {
            continue;
        }
        if kind == EventKind::RunFinished && cfg.source_workflow_id != source_workflow {
            continue;
        }
        fire(
            state,
            &t,
            key,
            event_inputs(&cfg, event.clone()),
            Utc::now(),
        )
        .await?;
    }
    Ok(())
}

async fn on_task(state: &AppState, action: &str, task_id: u64) -> anyhow::Result<()> {
    // A status changes through an edit (one or in bulk) or a board move; the
    // firing key (task and status) keeps other edits from firing again.
    let kind = match action {
        "created" => EventKind::TaskCreated,
        "updated" | "moved" => EventKind::TaskStatusChanged,
        _ => return Ok(()),
    };
    let v = crate::tasks::db::Viewer {
        user_id: 0,
        role: Role::Admin,
    };
    let Some(task) = crate::tasks::db::get_visible(&state.db, v, task_id).await? else {
        return Ok(());
    };
    let status = crate::tasks::db::status(&state.db, task.status_id)
        .await?
        .map(|s| s.name);
    let key = match kind {
        EventKind::TaskCreated => format!("task:{task_id}:created"),
        _ => format!("task:{task_id}:status:{}", task.status_id),
    };
    let event = json!({
        "event": match kind { EventKind::TaskCreated => "task_created", _ => "task_status_changed" },
        "task": {
            "id": task.task_id,
            "key": task.task_key,
            "title": task.title,
            "status": status,
            "priority": task.priority,
            "clientId": task.client_id,
            "dueAt": task.due_at,
        }
    });
    on_event(
        state,
        kind,
        task.client_id,
        status.as_deref(),
        None,
        &key,
        event,
    )
    .await
}

async fn on_run(state: &AppState, run_id: u64, client_id: u64, status: &str) -> anyhow::Result<()> {
    let Some(run) = crate::db::runs::get(&state.db, crate::auth::ClientScope::All, run_id).await?
    else {
        return Ok(());
    };
    let event = json!({
        "event": "run_finished",
        "run": {"id": run_id, "workflowId": run.workflow_id, "status": status},
    });
    on_event(
        state,
        EventKind::RunFinished,
        client_id,
        Some(status),
        Some(run.workflow_id),
        &format!("run:{run_id}"),
        event,
    )
    .await
}

/// A finished import fires the `import_finished` triggers of its client.
pub async fn on_import(state: &AppState, import_id: u64) -> anyhow::Result<()> {
    let Some(row) = crate::imports::db::get(&state.db, import_id, 0, true).await? else {
        return Ok(());
    };
    let Some(client_id) = row.client_id else {
        return Ok(());
    };
    let status = row.state.clone();
    if !matches!(status.as_str(), "applied" | "failed") {
        return Ok(());
    }
    let event = json!({
        "event": "import_finished",
        "import": {
            "id": row.import_id,
            "fileName": row.file_name,
            "status": status,
            "created": row.created_count,
            "updated": row.updated_count,
            "skipped": row.skipped_count,
            "clientId": client_id,
        }
    });
    on_event(
        state,
        EventKind::ImportFinished,
        client_id,
        Some(&status),
        None,
        &format!("import:{import_id}"),
        event,
    )
    .await
}

/// What the event triggers react to, as taken off the live channels.
#[derive(Debug)]
enum Happened {
    Task {
        action: String,
        task_id: u64,
    },
    RunFinished {
        run_id: u64,
        client_id: u64,
        status: RunPhase,
    },
}

impl Happened {
    fn of_task(ev: &LiveEvent) -> Option<Self> {
        let LiveEvent::Task { data, .. } = ev else {
            return None;
        };
        Some(Self::Task {
            action: data["action"].as_str()?.to_owned(),
            task_id: data["taskId"].as_u64()?,
        })
    }

    fn of_run(ev: &crate::executor::events::RunEvent) -> Option<Self> {
        if ev.kind != crate::executor::events::kind::RUN || ev.peer {
            return None;
        }
        let status = ev.data["status"]
            .as_str()?
            .parse::<RunPhase>()
            .ok()
            .filter(|p| p.is_terminal())?;
        Some(Self::RunFinished {
            run_id: ev.run_id,
            client_id: ev.client_id,
            status,
        })
    }
}

/// Listens to task and run events and fires the event triggers they match.
///
/// Matching an event reads the database, and a burst (a bulk edit of
/// hundreds of tasks, many runs ending at once) arrives faster than that.
/// The live channels keep only their latest events for a slow reader, so
/// one task does nothing but move what the triggers react to into an
/// unbounded queue, and another fires from it at the database's pace:
/// reading the matches straight off the channels, a burst of a few thousand
/// edits dropped the oldest events, and the triggers they matched never
/// fired.
pub fn spawn_event_listener(state: AppState) {
    // Only what happened here: each replica fires for its own events.
    let mut tasks = state.live.subscribe_local();
    let mut runs = state.executor.subscribe();
    let (queue, mut queued) = tokio::sync::mpsc::unbounded_channel::<Happened>();
    let stopped = state.executor.stopped();
    tokio::spawn(async move {
        tokio::pin!(stopped);
        loop {
            let happened = tokio::select! {
                ev = tasks.recv() => match ev {
                    Ok(ev) => Happened::of_task(&ev),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(dropped = n, "event triggers missed task events");
                        None
                    }
                    Err(_) => return,
                },
                ev = runs.recv() => match ev {
                    Ok(ev) => Happened::of_run(&ev),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(dropped = n, "event triggers missed run events");
                        None
                    }
                    Err(_) => return,
                },
                () = &mut stopped => return,
            };
            if let Some(h) = happened {
                if queue.send(h).is_err() {
                    return;
                }
            }
        }
    });
    let stopped = state.executor.stopped();
    tokio::spawn(async move {
        tokio::pin!(stopped);
        loop {
            let happened = tokio::select! {
                h = queued.recv() => match h {
                    Some(h) => h,
                    None => return,
                },
                () = &mut stopped => return,
            };
            let result = match &happened {
                Happened::Task { action, task_id } => on_task(&state, action, *task_id).await,
                Happened::RunFinished {
                    run_id,
                    client_id,
                    status,
                } => on_run(&state, *run_id, *client_id, status.as_str()).await,
            };
            if let Err(e) = result {
                tracing::warn!(error = format!("{e:#}"), ?happened, "event trigger failed");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, Mac};

    #[test]
    fn a_signature_is_the_hmac_of_the_exact_body() {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"k3y").unwrap();
        mac.update(b"{\"a\":1}");
        let sig = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert!(signature_ok(b"k3y", b"{\"a\":1}", Some(&sig)));
        assert!(!signature_ok(b"k3y", b"{\"a\":2}", Some(&sig)));
        assert!(!signature_ok(b"other", b"{\"a\":1}", Some(&sig)));
        assert!(!signature_ok(b"k3y", b"{\"a\":1}", None));
        assert!(!signature_ok(b"k3y", b"{\"a\":1}", Some("sha256=zz")));
    }

    #[test]
    fn webhook_bodies_map_to_inputs_by_pointer() {
        let mapping = BTreeMap::from([
            ("src.amount".to_owned(), "/order/total".to_owned()),
            ("src.raw".to_owned(), String::new()),
            ("src.none".to_owned(), "/missing".to_owned()),
            ("bad".to_owned(), "/order".to_owned()),
        ]);
        let body = json!({"order": {"total": 12}});
        let inputs = webhook_inputs(&mapping, &body);
        assert_eq!(inputs["src"]["amount"], json!(12));
        assert_eq!(inputs["src"]["raw"], body);
        assert!(!inputs["src"].contains_key("none"));
        assert_eq!(inputs.len(), 1);
    }
}
