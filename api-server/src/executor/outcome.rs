//! What the runner reports about one attempt, turned into what is stored.
//! Shared by the local driver (events from a runner pool) and the Kubernetes
//! ingest endpoint (events posted by a node Pod), so both executors store
//! identical results.

use base64::Engine;
use chrono::{TimeZone, Utc};
use katalusis_crds::plan::{FailureReason, NodePhase, NodeState};
use katalusis_crds::resources::RunSnapshot;
use katalusis_crds::PortType;
use serde_json::{json, Map, Value};
use sqlx::MySqlPool;

use super::events::{kind, EventSink, LogLine, Op};
use super::job::NodeOutputs;
use super::protocol::{Finished, RunnerEvent};
use crate::db;

/// What an attempt ended with, before it is recorded.
pub(crate) struct Ended {
    pub phase: NodePhase,
    pub reason: Option<FailureReason>,
    pub message: Option<String>,
    pub duration_ms: Option<i64>,
    pub outputs: Option<Map<String, Value>>,
    /// The branch a built-in Condition took.
    pub branch: Option<String>,
}

impl Ended {
    pub fn failed(reason: FailureReason, message: impl Into<String>) -> Self {
        Self {
            phase: NodePhase::Failed,
            reason: Some(reason),
            message: Some(message.into()),
            duration_ms: None,
            outputs: None,
            branch: None,
        }
    }

    /// Turns a runner `finished` event into an outcome (files are stored by `store_outputs`).
    pub fn from_finished(f: Finished) -> Self {
        let phase = f.phase();
        Self {
            phase,
            reason: f.failure_reason(),
            message: (phase != NodePhase::Succeeded)
                .then_some(f.message)
                .flatten(),
            duration_ms: f.duration_ms,
            outputs: (phase == NodePhase::Succeeded).then(|| f.outputs.unwrap_or_default()),
            branch: None,
        }
    }

    /// The state write for this outcome, with outputs already stored.
    pub fn op(&self, node: &str, attempt: u32, stored: Option<&Map<String, Value>>) -> Op {
        Op::FinishExecution {
            node: node.to_string(),
            attempt,
            keep_first: false,
            status: self.phase,
            reason: self.reason,
            message: self.message.clone(),
            duration_ms: self.duration_ms,
            outputs: stored.map(|o| Value::Object(o.clone()).to_string()),
            at: Utc::now(),
        }
    }

    /// Records this outcome in the node's state.
    pub fn apply_to(&self, state: &mut NodeState, at_ms: i64) {
        match (&self.branch, self.phase) {
            (Some(branch), NodePhase::Succeeded) => state.succeed_on_branch(branch.clone(), at_ms),
            _ => state.finish(self.phase, self.reason, self.message.clone(), at_ms),
        }
    }
}

/// Stores and publishes what a runner reported about one attempt: log lines
/// and progress at once; a `finished` event is returned for the caller to
/// record (it owns the node state), after its traceback was logged.
pub(crate) fn report(sink: &EventSink, node: &str, attempt: u32, ev: RunnerEvent) -> Option<Ended> {
    match ev {
        RunnerEvent::Log {
            level,
            stream,
            msg,
            ts,
            ..
        } => {
            log(sink, node, attempt, level, stream, msg, Some(ts));
            None
        }
        RunnerEvent::Progress {
            fraction, message, ..
        } => {
            sink.emit(
                kind::PROGRESS,
                json!({"node": node, "attempt": attempt, "fraction": fraction, "message": message}),
            );
            None
        }
        RunnerEvent::Finished { result, .. } => {
            // A failed node's traceback is kept as an error line of its log.
            if let Some(tb) = result.traceback.clone().filter(|t| !t.is_empty()) {
                log(sink, node, attempt, "error".into(), "ctx".into(), tb, None);
            }
            Some(Ended::from_finished(result))
        }
        RunnerEvent::Ready { .. }
        | RunnerEvent::Started { .. }
        | RunnerEvent::Error { .. }
        | RunnerEvent::Query { .. }
        | RunnerEvent::Unknown => None,
    }
}

/// Stores a log line (and publishes it) through the run's sink.
fn log(
    sink: &EventSink,
    node: &str,
    attempt: u32,
    level: String,
    stream: String,
    message: String,
    ts: Option<f64>,
) {
    let ts = ts
        .and_then(|t| Utc.timestamp_millis_opt((t * 1000.0) as i64).single())
        .unwrap_or_else(Utc::now);
    let data = json!({"node": node, "attempt": attempt, "ts": ts, "level": level, "stream": stream, "message": message});
    sink.log(
        LogLine {
            node: node.to_string(),
            attempt,
            ts,
            level,
            stream,
            message,
        },
        data,
    );
}

/// Moves file outputs into `run_file`, leaving a reference in the outputs.
pub(crate) async fn store_outputs(
    db: &MySqlPool,
    snapshot: &RunSnapshot,
    run_id: u64,
    node: &str,
    attempt: u32,
    o: &Map<String, Value>,
) -> anyhow::Result<Map<String, Value>> {
    let spec = snapshot.spec(node);
    let mut out = Map::new();
    for (port, value) in o {
        let is_file = spec
            .and_then(|s| s.output(port))
            .is_some_and(|p| p.port_type == PortType::File);
        let file = value.get("$file").filter(|_| is_file);
        let Some(f) = file else {
            out.insert(port.clone(), value.clone());
            continue;
        };
        let name = f["name"].as_str().unwrap_or("file");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(f["b64"].as_str().unwrap_or(""))
            .map_err(|e| anyhow::anyhow!("runner sent an undecodable file: {e}"))?;
        let sha = f["sha256"].as_str().map(str::to_string).unwrap_or_else(|| {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(&bytes))
        });
        let content_type = content_type_for(name);
        let id = db::runs::insert_file(
            db,
            &db::runs::NewFile {
                run_id,
                node_id: node,
                attempt,
                port,
                name,
                content_type,
                sha256: &sha,
                content: &bytes,
            },
        )
        .await?;
        out.insert(
            port.clone(),
            json!({"$file": {"id": id, "name": name, "size": bytes.len(), "sha256": sha, "contentType": content_type}}),
        );
    }
    Ok(out)
}

/// Turns stored outputs back into runner wire form (file contents inline).
pub(crate) async fn to_wire(
    db: &MySqlPool,
    run_id: u64,
    o: Map<String, Value>,
) -> anyhow::Result<Map<String, Value>> {
    let mut out = Map::new();
    for (k, v) in o {
        if let Some(id) = v.get("$file").and_then(|f| f["id"].as_u64()) {
            if let Some(f) = db::runs::file(db, run_id, id).await? {
                let b64 = base64::engine::general_purpose::STANDARD.encode(&f.content);
                out.insert(k, json!({"$file": {"name": f.name, "b64": b64}}));
                continue;
            }
        }
        out.insert(k, v);
    }
    Ok(out)
}

/// The stored outputs of the given nodes' succeeded attempts, in runner wire form.
pub(crate) async fn succeeded_outputs(
    db: &MySqlPool,
    run_id: u64,
    wanted: impl Fn(&str) -> bool,
) -> anyhow::Result<NodeOutputs> {
    let mut outputs = NodeOutputs::new();
    for e in db::runs::executions(db, run_id).await? {
        if e.status != NodePhase::Succeeded || !wanted(&e.node_id) {
            continue;
        }
        if let Some(o) = e.outputs {
            let wire = to_wire(db, run_id, o).await?;
            outputs.insert(e.node_id, wire);
        }
    }
    Ok(outputs)
}

pub fn content_type_for(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "txt" | "log" => "text/plain; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "json" => "application/json",
        "html" | "htm" => "text/html; charset=utf-8",
        "xml" => "application/xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        _ => "application/octet-stream",
    }
}
