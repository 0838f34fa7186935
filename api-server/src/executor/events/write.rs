//! The SQL of the run store: the queued entries of many runs committed in
//! one transaction.

use chrono::Utc;
use sqlx::{MySql, MySqlPool, QueryBuilder};

use super::{LogLine, Op, Pending};

/// The next entries of one run, in the order they were queued.
pub(super) struct RunBatch<'a> {
    pub(super) run_id: u64,
    /// Written only while `me` holds the run's claim.
    pub(super) claimed: bool,
    /// The sequence number of the first event among the entries.
    pub(super) first_seq: u64,
    pub(super) entries: Vec<&'a Pending>,
    /// An earlier attempt may have committed these entries.
    pub(super) retry: bool,
}

/// The outcome columns of a finished attempt.
fn outcome_of(op: &Op) -> Option<crate::db::runs::Outcome<'_>> {
    match op {
        Op::FinishExecution {
            status,
            reason,
            message,
            duration_ms,
            outputs,
            ..
        } => Some(crate::db::runs::Outcome {
            status: *status,
            reason: *reason,
            message: message.as_deref(),
            duration_ms: *duration_ms,
            outputs: outputs.as_deref(),
        }),
        _ => None,
    }
}

async fn apply(
    tx: &mut sqlx::Transaction<'_, MySql>,
    run_id: u64,
    op: &Op,
) -> Result<(), sqlx::Error> {
    use crate::db::runs;
    match op {
        Op::StartExecution { node, attempt, at } => {
            runs::start_execution(&mut **tx, run_id, node, *attempt, *at).await
        }
        Op::EnsureExecution { node, attempt, at } => {
            runs::ensure_execution(&mut **tx, run_id, node, *attempt, *at).await
        }
        Op::Flush(_) => Ok(()),
        Op::FinishExecution {
            node,
            attempt,
            keep_first,
            at,
            ..
        } => {
            let Some(outcome) = outcome_of(op) else {
                return Ok(());
            };
            if *keep_first {
                runs::finish_open_execution(&mut **tx, run_id, node, *attempt, &outcome, *at)
                    .await
                    .map(drop)
            } else {
                runs::finish_execution(&mut **tx, run_id, node, *attempt, &outcome, *at).await
            }
        }
        Op::SaveStates {
            status,
            states,
            queued,
            started,
            at,
        } => runs::save_states(&mut **tx, run_id, *status, states, queued, *started, *at).await,
        Op::FinishRun {
            status,
            message,
            states,
            at,
        } => runs::finish(&mut **tx, run_id, *status, message, states, *at).await,
    }
}

/// What to do with each entry of a run's batch: under load an attempt
/// often starts and ends between two commits, and then its row is written
/// once, whole; only the last snapshot of the node state map matters.
fn plan_writes(entries: &[&Pending]) -> Vec<Write> {
    let last_save = entries
        .iter()
        .rposition(|p| matches!(p.op, Some(Op::SaveStates { .. })));
    let mut plan: Vec<Write> = entries
        .iter()
        .enumerate()
        .map(|(i, p)| match &p.op {
            None => Write::Event,
            Some(Op::Flush(_)) => Write::Skip,
            Some(Op::SaveStates { .. }) if Some(i) != last_save => Write::Skip,
            Some(_) => Write::Apply,
        })
        .collect();
    for (i, p) in entries.iter().enumerate() {
        let Some(Op::StartExecution { node, attempt, at }) = &p.op else {
            continue;
        };
        let finish = entries.iter().enumerate().skip(i + 1).find(|(_, q)| {
            matches!(&q.op, Some(Op::FinishExecution { node: n, attempt: a, keep_first: false, .. })
                if n == node && a == attempt)
        });
        if let Some((j, _)) = finish {
            plan[i] = Write::Skip;
            plan[j] = Write::Whole { started_at: *at };
        }
    }
    plan
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Write {
    Skip,
    Event,
    Apply,
    /// A finish whose start is in the same batch: write the row whole.
    Whole {
        started_at: chrono::DateTime<Utc>,
    },
}

/// Writes the batches of several runs in one transaction: each run's state
/// writes in its order, then every event and log line in one `INSERT` each.
/// A batch marked `retry` may begin with entries an attempt whose answer was
/// lost committed: their events (a prefix of the batch's, up to the run's
/// last stored sequence number) are not inserted twice. Entries queued
/// after that attempt are written, and so are the batch's state writes,
/// all of them in order: each sets absolute values, so writing the
/// committed ones again before the rest leaves what writing each once does.
///
/// The claims of claimed runs are checked and locked first, in the same
/// transaction: a run another replica took over is not written, and is
/// returned so its driver here stops.
pub(super) async fn write_runs(
    db: &MySqlPool,
    runs: &[RunBatch<'_>],
    me: &str,
) -> Result<Vec<u64>, sqlx::Error> {
    let now = Utc::now();
    // Per batch, the last sequence number already stored: its events up to
    // it are not inserted again.
    let mut stored_through = vec![0; runs.len()];
    for (i, b) in runs.iter().enumerate() {
        if b.retry && b.entries.iter().any(|p| p.op.is_none()) {
            stored_through[i] = crate::db::runs::last_event_seq(db, b.run_id).await?;
        }
    }
    let mut tx = db.begin().await?;
    let claimed: Vec<u64> = runs
        .iter()
        .filter(|b| b.claimed)
        .map(|b| b.run_id)
        .collect();
    let held = crate::replicas::db::lock_claimed(&mut tx, &claimed, me).await?;
    let fenced: Vec<u64> = claimed
        .into_iter()
        .filter(|id| !held.contains(id))
        .collect();
    let mut events: Vec<(u64, u64, &Pending)> = Vec::new();
    for (b, stored_through) in runs
        .iter()
        .zip(&stored_through)
        .filter(|(b, _)| !fenced.contains(&b.run_id))
    {
        let mut seq = b.first_seq;
        for (p, w) in b.entries.iter().zip(plan_writes(&b.entries)) {
            match (w, &p.op) {
                (Write::Skip, _) => {}
                (Write::Event, _) => {
                    if seq > *stored_through {
                        events.push((b.run_id, seq, p));
                    }
                    seq += 1;
                }
                (Write::Apply, Some(op)) => apply(&mut tx, b.run_id, op).await?,
                (
                    Write::Whole { started_at },
                    Some(
                        op @ Op::FinishExecution {
                            node, attempt, at, ..
                        },
                    ),
                ) => {
                    if let Some(o) = outcome_of(op) {
                        crate::db::runs::record_execution(
                            &mut *tx, b.run_id, node, *attempt, started_at, &o, *at,
                        )
                        .await?;
                    }
                }
                _ => {}
            }
        }
    }
    if events.is_empty() {
        return tx.commit().await.map(|()| fenced);
    }
    let mut qb =
        QueryBuilder::<MySql>::new("INSERT INTO run_event (run_id, seq, kind, data, created_at) ");
    qb.push_values(&events, |mut b, (run_id, seq, p)| {
        b.push_bind(*run_id)
            .push_bind(*seq)
            .push_bind(p.kind)
            .push_bind(p.data.to_string())
            .push_bind(now);
    });
    qb.build().execute(&mut *tx).await?;
    let logs: Vec<(u64, u64, &LogLine)> = events
        .iter()
        .filter_map(|(run_id, seq, p)| p.log.as_ref().map(|l| (*run_id, *seq, l)))
        .collect();
    if !logs.is_empty() {
        let mut qb = QueryBuilder::<MySql>::new(
            "INSERT INTO node_log (run_id, seq, node_id, attempt, ts, level, stream, message) ",
        );
        qb.push_values(logs, |mut b, (run_id, seq, l)| {
            b.push_bind(run_id)
                .push_bind(seq)
                .push_bind(l.node.clone())
                .push_bind(l.attempt)
                .push_bind(l.ts)
                .push_bind(l.level.clone())
                .push_bind(l.stream.clone())
                .push_bind(l.message.clone());
        });
        qb.build().execute(&mut *tx).await?;
    }
    tx.commit().await.map(|()| fenced)
}

#[cfg(test)]
mod tests {
    use katalusis_crds::plan::{NodePhase, RunPhase};
    use serde_json::Value;

    use super::*;

    fn op(op: Op) -> Pending {
        Pending {
            kind: "",
            data: Value::Null,
            log: None,
            op: Some(op),
        }
    }

    fn event() -> Pending {
        Pending {
            kind: super::super::kind::NODE,
            data: Value::Null,
            log: None,
            op: None,
        }
    }

    fn start(node: &str, attempt: u32) -> Pending {
        op(Op::StartExecution {
            node: node.into(),
            attempt,
            at: Utc::now(),
        })
    }

    fn finish(node: &str, attempt: u32, keep_first: bool) -> Pending {
        op(Op::FinishExecution {
            node: node.into(),
            attempt,
            keep_first,
            status: NodePhase::Succeeded,
            reason: None,
            message: None,
            duration_ms: Some(3),
            outputs: None,
            at: Utc::now(),
        })
    }

    fn save() -> Pending {
        op(Op::SaveStates {
            status: RunPhase::Running,
            states: Default::default(),
            queued: Vec::new(),
            started: true,
            at: Utc::now(),
        })
    }

    fn kinds(entries: &[Pending]) -> Vec<&'static str> {
        let refs: Vec<&Pending> = entries.iter().collect();
        plan_writes(&refs)
            .into_iter()
            .map(|w| match w {
                Write::Skip => "skip",
                Write::Event => "event",
                Write::Apply => "apply",
                Write::Whole { .. } => "whole",
            })
            .collect()
    }

    #[test]
    fn an_attempt_that_starts_and_ends_in_one_batch_is_written_once_whole() {
        let entries = [
            start("a", 1),
            event(),
            save(),
            finish("a", 1, false),
            event(),
            save(),
        ];
        assert_eq!(
            kinds(&entries),
            ["skip", "event", "skip", "whole", "event", "apply"]
        );
    }

    #[test]
    fn a_finish_of_another_attempt_or_a_first_report_wins_finish_is_not_merged() {
        let entries = [
            start("a", 2),
            finish("a", 1, false),
            start("b", 1),
            finish("b", 1, true),
        ];
        assert_eq!(kinds(&entries), ["apply", "apply", "apply", "apply"]);
    }

    #[test]
    fn a_finish_without_its_start_updates_the_row() {
        let entries = [finish("a", 1, false), save()];
        assert_eq!(kinds(&entries), ["apply", "apply"]);
    }
}
