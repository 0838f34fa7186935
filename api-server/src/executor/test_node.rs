//! "Test node": one template version executed once, synchronously, by the
//! same sandboxed runner the runs use (`katalusis_runner.py exec`, one job,
//! then the process exits). Nothing is stored.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use katalusis_crds::{Graph, Node, NodeLimits, TemplateRef, TemplateSpec, TrustLevel};
use serde_json::{Map, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use super::snapshot::{trust_str, PinnedTemplate, Snapshot};
use super::{pool, Executor, Slot};
use crate::config::SandboxMode;
use crate::db::settings::ModuleSettings;

/// The node id the job carries (`ctx.node_id` inside the node).
const TEST_NODE_ID: &str = "test";
/// Time for the sandbox to start and the runner to report, on top of the
/// node's own timeout (which the runner enforces).
const START_MARGIN: Duration = Duration::from_secs(30);
/// Log lines kept in the answer; the runner already caps their bytes.
const MAX_LOG_LINES: usize = 10_000;

/// One line the node logged.
#[derive(Debug, Clone)]
pub struct TestLogLine {
    pub ts: DateTime<Utc>,
    pub level: String,
    pub stream: String,
    pub message: String,
}

/// How the test execution ended.
#[derive(Debug, Clone)]
pub struct TestOutcome {
    /// `succeeded` or `failed`.
    pub status: String,
    /// Failure reason (`error`, `timeout`, `memory`, `sandbox`, …).
    pub reason: Option<String>,
    pub message: Option<String>,
    pub traceback: Option<String>,
    pub duration_ms: Option<i64>,
    /// Output values in runner wire form (files and binaries inline, base64).
    pub outputs: Map<String, Value>,
    pub logs: Vec<TestLogLine>,
}

impl TestOutcome {
    fn failed(reason: &str, message: impl Into<String>, logs: Vec<TestLogLine>) -> Self {
        Self {
            status: "failed".into(),
            reason: Some(reason.into()),
            message: Some(message.into()),
            traceback: None,
            duration_ms: None,
            outputs: Map::new(),
            logs,
        }
    }
}

impl Executor {
    /// Runs `spec` (pinned as `template`) once with the given input and
    /// parameter values (already checked against the template), its limits
    /// and the admin's module lists. Takes one of the global node slots, so
    /// tests queue behind running nodes instead of overloading the machine.
    pub(crate) async fn test_node(
        &self,
        template: TemplateRef,
        spec: TemplateSpec,
        inputs: BTreeMap<String, Value>,
        params: BTreeMap<String, Value>,
        modules: ModuleSettings,
    ) -> anyhow::Result<TestOutcome> {
        let inner = &self.0;
        let trust = spec.trust_level;
        if trust == TrustLevel::Restricted && inner.settings.sandbox == SandboxMode::None {
            return Ok(TestOutcome::failed(
                "sandbox",
                "restricted nodes only run inside the bubblewrap sandbox, and this server runs \
                 with KATALUSIS_SANDBOX=none",
                Vec::new(),
            ));
        }
        let runner = match &inner.runner {
            Ok(r) => r.clone(),
            Err(e) => return Ok(TestOutcome::failed("sandbox", e.clone(), Vec::new())),
        };
        let timeout = Duration::from_secs(u64::from(spec.limits.timeout_seconds));
        let snapshot = Snapshot {
            graph: Graph {
                nodes: vec![Node {
                    id: TEST_NODE_ID.into(),
                    template: template.clone(),
                    position: Default::default(),
                    label: None,
                    params,
                    inputs,
                    limits: NodeLimits::default(),
                    retry: None,
                    notes: String::new(),
                }],
                edges: Vec::new(),
            },
            templates: vec![PinnedTemplate { template, spec }],
            modules: Some(modules),
        };
        let job = snapshot.job(
            "test",
            0,
            TEST_NODE_ID,
            1,
            &Default::default(),
            &inner.settings,
        )?;

        let permit = inner.slots.clone().acquire_owned().await?;
        let _slot = Slot {
            permit: Some(permit),
            inner: Arc::clone(inner),
        };

        let mut child = match pool::runner_command(&inner.settings, &runner, "exec", trust).spawn()
        {
            Ok(c) => c,
            Err(e) => {
                return Ok(TestOutcome::failed(
                    "sandbox",
                    format!(
                        "could not start the node runner ({}): {e}",
                        inner.settings.python
                    ),
                    Vec::new(),
                ))
            }
        };
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("runner stdout missing"))?;
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| anyhow::anyhow!("runner stderr missing"))?;
        // stderr is diagnostics only; keep the launcher's `fatal` message for the answer.
        let (fatal_tx, mut fatal_rx) = mpsc::unbounded_channel::<String>();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                match serde_json::from_str::<Value>(&line) {
                    Ok(v) if v["type"] == "fatal" => {
                        let _ = fatal_tx.send(v["message"].as_str().unwrap_or(&line).to_string());
                    }
                    _ => tracing::warn!(runner = %line, "node runner stderr"),
                }
            }
        });
        if let Some(mut stdin) = child.stdin.take() {
            let mut line = serde_json::to_vec(&job)?;
            line.push(b'\n');
            // A runner that died at once is reported below from its output.
            let _ = stdin.write_all(&line).await;
            let _ = stdin.flush().await;
        }

        let mut logs = Vec::new();
        let mut lines = BufReader::new(stdout).lines();
        let read = tokio::time::timeout(timeout + START_MARGIN, async {
            while let Ok(Some(line)) = lines.next_line().await {
                let Ok(v) = serde_json::from_str::<Value>(&line) else {
                    tracing::warn!("unreadable runner line");
                    continue;
                };
                match v["type"].as_str() {
                    Some("log") if logs.len() < MAX_LOG_LINES => logs.push(log_line(&v)),
                    Some("finished") => return Some(v),
                    _ => {}
                }
            }
            None
        })
        .await;
        let outcome = match read {
            Ok(Some(finished)) => finished_outcome(&finished, logs),
            Ok(None) => {
                let fatal = tokio::time::timeout(Duration::from_millis(500), fatal_rx.recv())
                    .await
                    .ok()
                    .flatten();
                match fatal {
                    Some(m) => TestOutcome::failed(
                        "sandbox",
                        format!("the {} sandbox could not be started: {m}", trust_str(trust)),
                        logs,
                    ),
                    None => TestOutcome::failed(
                        "error",
                        "the node runner exited without a result",
                        logs,
                    ),
                }
            }
            Err(_) => TestOutcome::failed(
                "timeout",
                format!(
                    "the node runner did not finish within {} s",
                    (timeout + START_MARGIN).as_secs()
                ),
                logs,
            ),
        };
        if tokio::time::timeout(Duration::from_secs(5), child.wait())
            .await
            .is_err()
        {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
        Ok(outcome)
    }
}

fn log_line(v: &Value) -> TestLogLine {
    TestLogLine {
        ts: v["ts"]
            .as_f64()
            .and_then(|t| Utc.timestamp_millis_opt((t * 1000.0) as i64).single())
            .unwrap_or_else(Utc::now),
        level: v["level"].as_str().unwrap_or("info").to_string(),
        stream: v["stream"].as_str().unwrap_or("ctx").to_string(),
        message: v["msg"].as_str().unwrap_or("").to_string(),
    }
}

fn finished_outcome(v: &Value, logs: Vec<TestLogLine>) -> TestOutcome {
    let text = |k: &str| v[k].as_str().map(str::to_string);
    let succeeded = v["status"] == "succeeded";
    TestOutcome {
        status: if succeeded { "succeeded" } else { "failed" }.into(),
        reason: if succeeded {
            None
        } else {
            Some(text("reason").unwrap_or_else(|| "error".into()))
        },
        message: text("message"),
        traceback: text("traceback"),
        duration_ms: v["duration_ms"].as_i64(),
        outputs: if succeeded {
            v["outputs"].as_object().cloned().unwrap_or_default()
        } else {
            Map::new()
        },
        logs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_failed_finished_event_keeps_reason_message_and_traceback() {
        let v = json!({"type": "finished", "status": "failed", "reason": "timeout",
            "message": "took too long", "traceback": null, "duration_ms": 12});
        let o = finished_outcome(&v, Vec::new());
        assert_eq!(o.status, "failed");
        assert_eq!(o.reason.as_deref(), Some("timeout"));
        assert_eq!(o.message.as_deref(), Some("took too long"));
        assert_eq!(o.traceback, None);
        assert_eq!(o.duration_ms, Some(12));
        assert!(o.outputs.is_empty());
    }

    #[test]
    fn a_log_event_becomes_a_line_with_its_timestamp() {
        let l = log_line(
            &json!({"type": "log", "level": "warning", "stream": "stdout",
            "msg": "hi", "ts": 1_700_000_000.5}),
        );
        assert_eq!(l.level, "warning");
        assert_eq!(l.stream, "stdout");
        assert_eq!(l.message, "hi");
        assert_eq!(l.ts.timestamp_millis(), 1_700_000_000_500);
    }
}
