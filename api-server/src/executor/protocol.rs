//! The runner's output events (`runner/PROTOCOL.md`, "Output (stdout)") as
//! types. Both executors read them: the local one from a runner's stdout, the
//! Kubernetes one from the lines a node Pod posts to the ingest endpoint.

use katalusis_crds::plan::{FailureReason, NodePhase};
use katalusis_crds::TrustLevel;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One line the runner prints on stdout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RunnerEvent {
    /// `serve` started and reads jobs now.
    Ready {
        pid: u32,
        python: String,
        sandboxed: bool,
        trust: TrustLevel,
        /// How the pool keeps its jobs apart; older runners say nothing.
        #[serde(default)]
        isolation: JobIsolation,
    },
    /// A job's process started.
    Started { job: String, pid: u32 },
    /// A log line of a job.
    Log {
        job: String,
        level: String,
        stream: String,
        msg: String,
        /// Unix seconds.
        ts: f64,
    },
    /// A progress report of a job.
    Progress {
        job: String,
        fraction: f64,
        #[serde(default)]
        message: Option<String>,
    },
    /// The last event of a job.
    Finished {
        job: String,
        #[serde(flatten)]
        result: Finished,
    },
    /// A job's `ctx.query`: the platform runs it on the run client's
    /// connection and answers with a `query_result` input line.
    Query {
        job: String,
        id: u64,
        connection: String,
        sql: String,
        #[serde(default)]
        params: Map<String, Value>,
        #[serde(default)]
        max_rows: Option<usize>,
    },
    /// The runner could not use an input line.
    Error {
        #[serde(default)]
        job: Option<String>,
        message: String,
    },
    /// A newer runner's event this server does not know; ignored.
    #[serde(other)]
    Unknown,
}

/// How a runner pool keeps its jobs apart from each other.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobIsolation {
    /// Jobs share the pool's files and processes: a pool serves one run.
    #[default]
    None,
    /// Each job is confined by Landlock to its own directory, and cannot
    /// signal, trace or read the other jobs: runs of one client may share
    /// the pool.
    Landlock,
}

/// The `query_result` input line answering a job's `ctx.query`.
pub fn query_reply(
    job: &str,
    id: u64,
    result: Result<crate::connections::query::QueryResult, crate::connections::query::QueryError>,
) -> Value {
    match result {
        Ok(r) => serde_json::json!({
            "v": 1, "type": "query_result", "job": job, "id": id, "ok": true,
            "columns": r.columns, "rows": r.rows, "row_count": r.row_count,
        }),
        Err(e) => serde_json::json!({
            "v": 1, "type": "query_result", "job": job, "id": id, "ok": false,
            "code": e.code(), "message": e.to_string(),
        }),
    }
}

/// How a job ended, as the runner reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finished {
    pub status: JobStatus,
    #[serde(default)]
    pub duration_ms: Option<i64>,
    /// Output values in wire form (succeeded jobs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<FailureReason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceback: Option<String>,
}

/// The two outcomes of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Succeeded,
    Failed,
}

impl Finished {
    /// The node phase this outcome leads to: a failure with reason
    /// `cancelled` is a cancelled node.
    pub fn phase(&self) -> NodePhase {
        match (self.status, self.reason) {
            (JobStatus::Succeeded, _) => NodePhase::Succeeded,
            (JobStatus::Failed, Some(FailureReason::Cancelled)) => NodePhase::Cancelled,
            (JobStatus::Failed, _) => NodePhase::Failed,
        }
    }

    /// The failure reason, `error` when the runner gave none.
    pub fn failure_reason(&self) -> Option<FailureReason> {
        match self.status {
            JobStatus::Succeeded => None,
            JobStatus::Failed => Some(self.reason.unwrap_or(FailureReason::Error)),
        }
    }
}

impl RunnerEvent {
    /// The job an event belongs to, if any.
    pub fn job(&self) -> Option<&str> {
        match self {
            Self::Started { job, .. }
            | Self::Log { job, .. }
            | Self::Progress { job, .. }
            | Self::Finished { job, .. }
            | Self::Query { job, .. } => Some(job),
            Self::Error { job, .. } => job.as_deref(),
            Self::Ready { .. } | Self::Unknown => None,
        }
    }

    /// The job id, to be rewritten when a pool shared by runs routes the event.
    pub fn job_mut(&mut self) -> Option<&mut String> {
        match self {
            Self::Started { job, .. }
            | Self::Log { job, .. }
            | Self::Progress { job, .. }
            | Self::Finished { job, .. }
            | Self::Query { job, .. } => Some(job),
            Self::Error { job, .. } => job.as_mut(),
            Self::Ready { .. } | Self::Unknown => None,
        }
    }

    /// Parses one output line.
    pub fn parse(line: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(line)
    }
}

/// What the sandbox launcher prints on stderr when it cannot build the
/// sandbox (`{"type":"fatal","message":…}`); anything else there is diagnostics.
pub fn fatal_message(stderr_line: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Fatal {
        #[serde(rename = "type")]
        kind: String,
        message: String,
    }
    serde_json::from_str::<Fatal>(stderr_line)
        .ok()
        .filter(|f| f.kind == "fatal")
        .map(|f| f.message)
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::process::{Command, Stdio};

    use serde_json::json;

    use super::*;

    /// Runs one job through the real runner (`exec`, no sandbox, trusted)
    /// and returns its stdout lines.
    fn runner_output(code: &str) -> Vec<String> {
        let runner = concat!(env!("CARGO_MANIFEST_DIR"), "/../runner/katalusis_runner.py");
        let mut child = Command::new("python3")
            .args([runner, "exec", "--sandbox", "none", "--trust", "trusted"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs the runner");
        let job = json!({"v": 1, "type": "job", "job": "n#1", "run_id": "1", "node_id": "n",
            "attempt": 1, "code": code, "mode": "sync", "trust": "trusted",
            "inputs": {}, "params": {}, "secret_params": [],
            "outputs": [{"name": "x", "type": "integer", "required": true}]});
        let mut stdin = child.stdin.take().expect("stdin");
        writeln!(stdin, "{job}").expect("write job");
        drop(stdin);
        let out = child.wait_with_output().expect("runner output");
        String::from_utf8(out.stdout)
            .expect("utf-8")
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn round_trip(lines: &[String]) -> Vec<RunnerEvent> {
        lines
            .iter()
            .map(|l| {
                let ev = RunnerEvent::parse(l).unwrap_or_else(|e| panic!("{l}: {e}"));
                assert_ne!(ev, RunnerEvent::Unknown, "{l}");
                let again: RunnerEvent =
                    serde_json::from_value(serde_json::to_value(&ev).unwrap()).unwrap();
                assert_eq!(again, ev, "re-serialized event reads back the same");
                ev
            })
            .collect()
    }

    #[test]
    fn the_real_runner_output_of_a_succeeding_node_reads_as_typed_events() {
        let lines = runner_output(
            "def run(inputs, params, ctx):\n    ctx.log('hello', level='warning')\n    \
             ctx.progress(0.5, 'half')\n    print('out')\n    return {'x': 7}\n",
        );
        let events = round_trip(&lines);
        assert!(events.iter().all(|e| e.job() == Some("n#1")), "{events:?}");
        assert!(events
            .iter()
            .any(|e| matches!(e, RunnerEvent::Started { .. })));
        assert!(events.iter().any(|e| matches!(e,
            RunnerEvent::Log { level, stream, msg, .. }
                if level == "warning" && stream == "ctx" && msg == "hello")));
        assert!(events.iter().any(|e| matches!(e,
            RunnerEvent::Log { stream, msg, .. } if stream == "stdout" && msg == "out")));
        assert!(events.iter().any(|e| matches!(e,
            RunnerEvent::Progress { fraction, message, .. }
                if *fraction == 0.5 && message.as_deref() == Some("half"))));
        let Some(RunnerEvent::Finished { result, .. }) = events.last() else {
            panic!("the last event is `finished`: {events:?}");
        };
        assert_eq!(result.phase(), NodePhase::Succeeded);
        assert_eq!(result.failure_reason(), None);
        assert_eq!(result.outputs.as_ref().unwrap()["x"], 7);
        assert!(result.duration_ms.is_some());
    }

    #[test]
    fn the_real_runner_output_of_a_failing_node_reads_as_typed_events() {
        let lines = runner_output("def run(inputs, params, ctx):\n    raise ValueError('bad')\n");
        let events = round_trip(&lines);
        let Some(RunnerEvent::Finished { result, .. }) = events.last() else {
            panic!("the last event is `finished`: {events:?}");
        };
        assert_eq!(result.phase(), NodePhase::Failed);
        assert_eq!(result.failure_reason(), Some(FailureReason::Error));
        assert!(result.message.as_deref().unwrap().contains("bad"));
        assert!(result.traceback.as_deref().unwrap().contains("ValueError"));

        let wrong_type = runner_output("def run(inputs, params, ctx):\n    return {'x': 'no'}\n");
        let Some(RunnerEvent::Finished { result, .. }) = round_trip(&wrong_type).pop() else {
            panic!("finished");
        };
        assert_eq!(result.failure_reason(), Some(FailureReason::OutputType));
    }

    #[test]
    fn unknown_event_types_are_tolerated_and_fatal_lines_recognised() {
        let ev = RunnerEvent::parse(r#"{"v":1,"type":"heartbeat","job":null}"#).unwrap();
        assert_eq!(ev, RunnerEvent::Unknown);
        assert_eq!(
            fatal_message(r#"{"v":1,"type":"fatal","job":null,"message":"no bwrap"}"#),
            Some("no bwrap".into())
        );
        assert_eq!(fatal_message("Traceback (most recent call last):"), None);
    }
}
