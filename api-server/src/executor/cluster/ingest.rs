//! The ingest endpoint's side: a node Pod fetches its job (built from the
//! stored snapshot and the stored upstream outputs, exactly as the local
//! executor builds it) and posts its runner events, which are stored by the
//! same code as the local executor's (`executor::outcome`).

use std::collections::HashSet;
use std::sync::Arc;

use chrono::Utc;
use serde_json::Value;

use super::{Cluster, Mirrored};
use crate::auth::ClientScope;
use crate::db;
use crate::executor::events::Op;
use crate::executor::job::{self, job_id};
use crate::executor::outcome;
use crate::executor::protocol::RunnerEvent;

/// A node Pod's `ctx.query`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CtxQuery {
    pub connection: String,
    pub sql: String,
    #[serde(default)]
    pub params: serde_json::Map<String, Value>,
    #[serde(default)]
    pub max_rows: Option<usize>,
}

/// The outcome of an ingest call.
#[derive(Debug, PartialEq, Eq)]
pub enum IngestError {
    /// No such node in the run.
    NotFound,
    /// No token, a token of another run, or no such run.
    Unauthenticated,
    /// The run has finished; nothing more is accepted.
    Finished,
    BadEvent(String),
    /// The run's state cannot be stored right now; the Pod retries later.
    Unavailable,
    Internal(String),
}

impl From<sqlx::Error> for IngestError {
    fn from(e: sqlx::Error) -> Self {
        if crate::db::is_unavailable(&e) {
            return Self::Unavailable;
        }
        Self::Internal(e.to_string())
    }
}

impl From<anyhow::Error> for IngestError {
    fn from(e: anyhow::Error) -> Self {
        if crate::db::is_outage(&e) {
            return Self::Unavailable;
        }
        Self::Internal(format!("{e:#}"))
    }
}

/// Longest an ingest call waits for its events to be committed before it
/// answers 503 (the Pod retries with backoff; outcomes keep the first report).
const COMMIT_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Compares two hex digests without an early exit.
fn digest_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl Cluster {
    /// The job a node Pod fetches: the runner job line the local executor
    /// would write for this attempt.
    pub async fn job(
        &self,
        run_id: u64,
        token: &str,
        node: &str,
        attempt: u32,
    ) -> Result<Value, IngestError> {
        let m = self.authenticated(run_id, token).await?;
        if m.snapshot.graph.node(node).is_none() || attempt == 0 {
            return Err(IngestError::NotFound);
        }
        let upstream: HashSet<&str> = m
            .snapshot
            .graph
            .edges
            .iter()
            .filter(|e| e.target == node)
            .map(|e| e.source.as_str())
            .collect();
        let outputs =
            outcome::succeeded_outputs(&self.db, run_id, |n| upstream.contains(n)).await?;
        Ok(job::build(
            &m.snapshot,
            run_id,
            node,
            attempt,
            &outputs,
            &self.settings,
        )?)
    }

    /// Stores the runner events a node Pod posts (JSON lines), then answers
    /// once they are committed.
    pub async fn ingest(
        &self,
        run_id: u64,
        token: &str,
        node: &str,
        attempt: u32,
        body: &str,
    ) -> Result<usize, IngestError> {
        let m = self.authenticated(run_id, token).await?;
        if m.snapshot.graph.node(node).is_none() || attempt == 0 {
            return Err(IngestError::NotFound);
        }
        // Nothing is queued while the run's store is failing: the Pod posts
        // the same lines again later, so they are stored exactly once.
        if m.sink.status().failing_since.is_some() {
            return Err(IngestError::Unavailable);
        }
        // A database that went away since the last write is found out here,
        // before anything is queued, rather than after the lines were taken.
        sqlx::query("SELECT 1").execute(&self.db).await?;
        let mut events = Vec::new();
        for (i, line) in body.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let ev = RunnerEvent::parse(line)
                .map_err(|e| IngestError::BadEvent(format!("line {}: {e}", i + 1)))?;
            events.push(ev);
        }
        let expected_job = job_id(node, attempt);
        let mut accepted = 0;
        for ev in events {
            if ev.job().is_some_and(|j| j != expected_job) {
                continue;
            }
            if !matches!(
                ev,
                RunnerEvent::Log { .. }
                    | RunnerEvent::Progress { .. }
                    | RunnerEvent::Finished { .. }
            ) {
                continue;
            }
            accepted += 1;
            let Some(ended) = outcome::report(&m.sink, node, attempt, ev) else {
                continue;
            };
            let stored = match &ended.outputs {
                Some(o) => Some(
                    outcome::store_outputs(&self.db, &m.snapshot, run_id, node, attempt, o).await?,
                ),
                None => None,
            };
            m.sink.write(Op::EnsureExecution {
                node: node.to_owned(),
                attempt,
                at: Utc::now(),
            });
            let mut op = ended.op(node, attempt, stored.as_ref());
            if let Op::FinishExecution { keep_first, .. } = &mut op {
                *keep_first = true;
            }
            m.sink.write(op);
        }
        // The Pod exits only after this answer, and the operator starts
        // downstream nodes only after it exits: their job reads these outputs.
        if tokio::time::timeout(COMMIT_WAIT, m.sink.flush())
            .await
            .is_err()
        {
            return Err(IngestError::Unavailable);
        }
        Ok(accepted)
    }

    /// Runs a node Pod's `ctx.query` on the run client's connection, with
    /// the same checks and limits as the local executor; the answer is the
    /// `query_result` the runner expects (an error is an answer too).
    pub async fn query(
        &self,
        run_id: u64,
        token: &str,
        node: &str,
        attempt: u32,
        q: CtxQuery,
    ) -> Result<Value, IngestError> {
        let m = self.authenticated(run_id, token).await?;
        let running = m.state.lock().await.states.get(node).is_some_and(|s| {
            s.attempt == attempt && s.phase == katalusis_crds::plan::NodePhase::Running
        });
        if m.snapshot.graph.node(node).is_none() || attempt == 0 || !running {
            return Err(IngestError::NotFound);
        }
        let run = db::runs::get(&self.db, ClientScope::All, run_id)
            .await?
            .ok_or(IngestError::NotFound)?;
        let limits = crate::connections::query::Limits {
            max_rows: q
                .max_rows
                .unwrap_or(crate::connections::query::Limits::default().max_rows)
                .clamp(1, crate::connections::query::Limits::default().max_rows),
            ..Default::default()
        };
        let result = self
            .connector
            .query(run.client_id, &q.connection, &q.sql, &q.params, limits)
            .await;
        let mut reply = crate::executor::protocol::query_reply("", 0, result);
        if let Some(o) = reply.as_object_mut() {
            // The entrypoint adds the job and question ids it is answering.
            for k in ["v", "type", "job", "id"] {
                o.remove(k);
            }
        }
        Ok(reply)
    }

    async fn authenticated(&self, run_id: u64, token: &str) -> Result<Arc<Mirrored>, IngestError> {
        let sha = crate::auth::tokens::sha256_hex(token);
        match self.mirrored(run_id).await? {
            Some(m) if digest_eq(&m.token_sha256, &sha) => {
                if m.state.lock().await.finished {
                    return Err(IngestError::Finished);
                }
                Ok(m)
            }
            Some(_) => Err(IngestError::Unauthenticated),
            None => {
                // A finished run still answers who may ask, so a late Pod
                // learns that the run is over rather than that it is unknown.
                let row = db::runs::get(&self.db, ClientScope::All, run_id).await?;
                match row.and_then(|r| r.ingest_token_sha256) {
                    Some(stored) if digest_eq(&stored, &sha) => Err(IngestError::Finished),
                    // Unknown runs look like wrong tokens: run ids are not disclosed.
                    _ => Err(IngestError::Unauthenticated),
                }
            }
        }
    }
}
