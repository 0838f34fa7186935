//! "Test node": one template version executed once, synchronously, by the
//! same sandboxed runner the runs use (`katalusis_runner.py exec`, one job,
//! then the process exits). Nothing is stored.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use katalusis_crds::plan::{FailureReason, NodePhase};
use katalusis_crds::resources::{RunSnapshot, RunTemplate};
use katalusis_crds::{
    Graph, ModuleSettings, Node, NodeLimits, TemplateRef, TemplateSpec, TrustLevel,
};
use serde_json::{Map, Value};

use super::runner::{send_line, Launched, RunnerMode};
use super::{Local, Slot};
use crate::config::SandboxMode;
use crate::executor::job;
use crate::executor::protocol::{Finished, RunnerEvent};

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
    /// `Succeeded`, `Failed` or `Cancelled`.
    pub status: NodePhase,
    /// Failure reason (`error`, `timeout`, `memory`, `sandbox`, …).
    pub reason: Option<FailureReason>,
    pub message: Option<String>,
    pub traceback: Option<String>,
    pub duration_ms: Option<i64>,
    /// Output values in runner wire form (files and binaries inline, base64).
    pub outputs: Map<String, Value>,
    pub logs: Vec<TestLogLine>,
}

impl TestOutcome {
    fn failed(reason: FailureReason, message: impl Into<String>, logs: Vec<TestLogLine>) -> Self {
        Self {
            status: NodePhase::Failed,
            reason: Some(reason),
            message: Some(message.into()),
            traceback: None,
            duration_ms: None,
            outputs: Map::new(),
            logs,
        }
    }

    fn finished(f: Finished, logs: Vec<TestLogLine>) -> Self {
        Self {
            status: f.phase(),
            reason: f.failure_reason(),
            message: f.message,
            traceback: f.traceback,
            duration_ms: f.duration_ms,
            outputs: f.outputs.unwrap_or_default(),
            logs,
        }
    }
}

impl Local {
    /// Runs `spec` (pinned as `template`) once with the given input and
    /// parameter values (already checked against the template), its limits
    /// and the admin's module lists. Takes one of the global node slots, so
    /// tests queue behind running nodes instead of overloading the machine.
    pub(crate) async fn test_node(
        self: &Arc<Self>,
        template: TemplateRef,
        spec: TemplateSpec,
        inputs: BTreeMap<String, Value>,
        params: BTreeMap<String, Value>,
        modules: ModuleSettings,
    ) -> anyhow::Result<TestOutcome> {
        if spec.builtin.is_some() {
            return Ok(TestOutcome::failed(
                FailureReason::Error,
                "flow nodes are run by the platform inside a workflow; use Test run on the workflow",
                Vec::new(),
            ));
        }
        let trust = spec.trust_level;
        if trust == TrustLevel::Restricted && self.settings.sandbox == SandboxMode::None {
            return Ok(TestOutcome::failed(
                FailureReason::Sandbox,
                "restricted nodes only run inside the bubblewrap sandbox, and this server runs \
                 with KATALUSIS_SANDBOX=none",
                Vec::new(),
            ));
        }
        let runner = match &self.runner {
            Ok(r) => r.clone(),
            Err(e) => {
                return Ok(TestOutcome::failed(
                    FailureReason::Sandbox,
                    e.clone(),
                    Vec::new(),
                ))
            }
        };
        let timeout = Duration::from_secs(u64::from(spec.limits.timeout_seconds));
        let snapshot = RunSnapshot {
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
                    trigger: Default::default(),
                }],
                edges: Vec::new(),
            },
            templates: vec![RunTemplate::new(template.version, spec)],
            modules: Some(modules),
        };
        let job = job::build(
            &snapshot,
            0,
            TEST_NODE_ID,
            1,
            &Default::default(),
            &self.settings,
        )?;

        let permit = self.slots.clone().acquire_owned().await?;
        let _slot = Slot { _permit: permit };

        let mut launched = match Launched::spawn(
            &self.settings,
            &runner,
            RunnerMode::Exec,
            trust,
            snapshot.modules.as_ref(),
        ) {
            Ok(l) => l,
            Err(e) => return Ok(TestOutcome::failed(FailureReason::Sandbox, e, Vec::new())),
        };
        // A runner that died at once is reported below from its output.
        let _ = send_line(launched.stdin.as_mut(), &job).await;
        drop(launched.stdin.take());

        let mut logs = Vec::new();
        let lines = &mut launched.stdout;
        let read = tokio::time::timeout(timeout + START_MARGIN, async {
            while let Ok(Some(line)) = lines.next_line().await {
                match RunnerEvent::parse(&line) {
                    Ok(RunnerEvent::Log {
                        level,
                        stream,
                        msg,
                        ts,
                        ..
                    }) if logs.len() < MAX_LOG_LINES => logs.push(TestLogLine {
                        ts: Utc
                            .timestamp_millis_opt((ts * 1000.0) as i64)
                            .single()
                            .unwrap_or_else(Utc::now),
                        level,
                        stream,
                        message: msg,
                    }),
                    Ok(RunnerEvent::Finished { result, .. }) => return Some(result),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "unreadable runner line"),
                }
            }
            None
        })
        .await;
        let outcome = match read {
            Ok(Some(finished)) => TestOutcome::finished(finished, logs),
            Ok(None) => match launched.sandbox_failure().await {
                Some(m) => TestOutcome::failed(FailureReason::Sandbox, m, logs),
                None => TestOutcome::failed(
                    FailureReason::Error,
                    "the node runner exited without a result",
                    logs,
                ),
            },
            Err(_) => TestOutcome::failed(
                FailureReason::Timeout,
                format!(
                    "the node runner did not finish within {} s",
                    (timeout + START_MARGIN).as_secs()
                ),
                logs,
            ),
        };
        Launched::reap(&mut launched.child, Duration::from_secs(5)).await;
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::protocol::JobStatus;

    #[test]
    fn a_failed_finished_event_keeps_reason_message_and_traceback() {
        let f = Finished {
            status: JobStatus::Failed,
            duration_ms: Some(12),
            outputs: None,
            reason: Some(FailureReason::Timeout),
            message: Some("took too long".into()),
            traceback: None,
        };
        let o = TestOutcome::finished(f, Vec::new());
        assert_eq!(o.status, NodePhase::Failed);
        assert_eq!(o.reason, Some(FailureReason::Timeout));
        assert_eq!(o.message.as_deref(), Some("took too long"));
        assert_eq!(o.traceback, None);
        assert_eq!(o.duration_ms, Some(12));
        assert!(o.outputs.is_empty());
    }

    #[test]
    fn a_failure_without_a_reason_is_an_error() {
        let f = Finished {
            status: JobStatus::Failed,
            duration_ms: None,
            outputs: None,
            reason: None,
            message: None,
            traceback: Some("Traceback".into()),
        };
        let o = TestOutcome::finished(f, Vec::new());
        assert_eq!(o.reason, Some(FailureReason::Error));
        assert_eq!(o.traceback.as_deref(), Some("Traceback"));
    }
}
