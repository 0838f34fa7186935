//! The run metrics, folded from the window's runs and attempts as `db` reads
//! them (one row each). Pure: the numbers are the ones the grouped SQL and
//! its window sorts gave, computed from one read instead of one per metric.

use std::collections::{BTreeMap, HashMap};

use katalusis_analytics::{rate, Percentiles, Window};
use katalusis_crds::plan::RunPhase;

use super::model::{NodeStat, NodeStats, ReasonCount, RunVolume, StatusSeries, WorkflowStats};
use super::run_rows::{AttemptRow, RunRow};

/// Run statuses in the order a chart stacks them.
pub const RUN_STATUSES: [RunPhase; 6] = [
    RunPhase::Succeeded,
    RunPhase::Failed,
    RunPhase::Cancelled,
    RunPhase::Running,
    RunPhase::Waiting,
    RunPhase::Pending,
];

/// How many nodes `most_failing` lists.
const MOST_FAILING: usize = 10;

/// Runs per (slot, status), so buckets are folded once per slot.
fn slot_counts(runs: &[RunRow]) -> Vec<(i64, RunPhase, u64)> {
    let mut by: HashMap<(i64, RunPhase), u64> = HashMap::new();
    for r in runs {
        *by.entry((r.slot, r.status)).or_default() += 1;
    }
    by.into_iter().map(|((slot, s), n)| (slot, s, n)).collect()
}

/// Runs per bucket and status, and the success rate of the finished ones.
pub fn volume(w: &Window, runs: &[RunRow]) -> RunVolume {
    let slots = slot_counts(runs);
    let by_status: Vec<StatusSeries> = RUN_STATUSES
        .iter()
        .map(|status| {
            let counts = w.fold_slots(
                slots
                    .iter()
                    .filter(|(_, s, _)| s == status)
                    .map(|(slot, _, n)| (*slot, *n)),
            );
            StatusSeries {
                status: status.as_str().into(),
                total: counts.iter().sum(),
                counts,
            }
        })
        .collect();
    let total_of = |s: RunPhase| {
        by_status
            .iter()
            .find(|x| x.status == s.as_str())
            .map_or(0, |x| x.total)
    };
    let (ok, failed) = (total_of(RunPhase::Succeeded), total_of(RunPhase::Failed));
    RunVolume {
        total: by_status.iter().map(|s| s.total).sum(),
        success_rate: rate(ok, ok + failed),
        by_status,
    }
}

/// Runs per local hour of day, whatever their status.
pub fn hours(w: &Window, runs: &[RunRow]) -> Vec<u64> {
    let mut by: HashMap<i64, u64> = HashMap::new();
    for r in runs {
        *by.entry(r.slot).or_default() += 1;
    }
    w.fold_hours(by).to_vec()
}

/// Per workflow that still exists (`names`): runs, outcomes and duration
/// percentiles; most runs first, then by name.
pub fn workflows(runs: &[RunRow], names: &HashMap<u64, String>) -> Vec<WorkflowStats> {
    #[derive(Default)]
    struct Acc {
        runs: u64,
        succeeded: u64,
        failed: u64,
        durations: Vec<i64>,
    }
    let mut by: BTreeMap<u64, Acc> = BTreeMap::new();
    for r in runs {
        let e = by.entry(r.workflow_id).or_default();
        e.runs += 1;
        match r.status {
            RunPhase::Succeeded => e.succeeded += 1,
            RunPhase::Failed => e.failed += 1,
            _ => {}
        }
        e.durations.extend(r.duration_ms);
    }
    let mut out: Vec<WorkflowStats> = by
        .into_iter()
        .filter_map(|(id, mut a)| {
            let name = names.get(&id)?.clone();
            Some(WorkflowStats {
                workflow_id: id,
                name,
                runs: a.runs,
                succeeded: a.succeeded,
                failed: a.failed,
                success_rate: rate(a.succeeded, a.succeeded + a.failed),
                duration_ms: Percentiles::of_values(&mut a.durations, 1.0).into(),
            })
        })
        .collect();
    out.sort_by(|a, b| b.runs.cmp(&a.runs).then(a.name.cmp(&b.name)));
    out
}

/// Creation-to-start percentiles of the runs that started.
pub fn queue_wait(runs: &[RunRow]) -> Percentiles {
    let mut waits: Vec<i64> = runs.iter().filter_map(|r| r.queue_ms).collect();
    Percentiles::of_values(&mut waits, 1.0)
}

/// Per node of a workflow that still exists: attempts, failures and
/// duration percentiles, by workflow id then node id; and the nodes with
/// the most failures.
pub fn nodes(attempts: &[AttemptRow], names: &HashMap<u64, String>) -> NodeStats {
    #[derive(Default)]
    struct Acc {
        n: u64,
        failed: u64,
        durations: Vec<i64>,
    }
    // Hashed while counting (a tree compared node ids about six times per
    // attempt), ordered once at the end.
    let mut by: HashMap<(u64, &str), Acc> = HashMap::new();
    for a in attempts {
        let e = by.entry((a.workflow_id, &*a.node_id)).or_default();
        e.n += 1;
        if a.failed != 0 {
            e.failed += 1;
        }
        e.durations.extend(a.duration_ms);
    }
    let mut by: Vec<((u64, &str), Acc)> = by.into_iter().collect();
    by.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let by_node: Vec<NodeStat> = by
        .into_iter()
        .filter_map(|((workflow_id, node_id), mut a)| {
            Some(NodeStat {
                workflow_name: names.get(&workflow_id)?.clone(),
                workflow_id,
                node_id: node_id.to_owned(),
                executions: a.n,
                failures: a.failed,
                failure_rate: rate(a.failed, a.n),
                duration_ms: Percentiles::of_values(&mut a.durations, 1.0).into(),
            })
        })
        .collect();
    let mut failing: Vec<&NodeStat> = by_node.iter().filter(|n| n.failures > 0).collect();
    failing.sort_by(|a, b| {
        b.failures
            .cmp(&a.failures)
            .then(a.workflow_name.cmp(&b.workflow_name))
            .then(a.node_id.cmp(&b.node_id))
    });
    let most_failing = failing
        .into_iter()
        .take(MOST_FAILING)
        .map(|n| NodeStat {
            workflow_id: n.workflow_id,
            workflow_name: n.workflow_name.clone(),
            node_id: n.node_id.clone(),
            executions: n.executions,
            failures: n.failures,
            failure_rate: n.failure_rate,
            duration_ms: n.duration_ms,
        })
        .collect();
    NodeStats {
        by_node,
        most_failing,
    }
}

/// Failed attempts by reason (`unknown`: not recorded), most first, then
/// by reason with `unknown` first.
pub fn failures(attempts: &[AttemptRow]) -> Vec<ReasonCount> {
    let mut by: BTreeMap<Option<&str>, u64> = BTreeMap::new();
    for a in attempts.iter().filter(|a| a.failed != 0) {
        *by.entry(a.reason.as_deref()).or_default() += 1;
    }
    let mut rows: Vec<(Option<&str>, u64)> = by.into_iter().collect();
    // Stable: equal counts keep the map's order (by reason, none first).
    rows.sort_by_key(|r| std::cmp::Reverse(r.1));
    rows.into_iter()
        .map(|(r, count)| ReasonCount {
            reason: r.unwrap_or("unknown").into(),
            count,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use katalusis_analytics::{Bucket, Tz};

    use super::*;

    fn run(slot: i64, wf: u64, status: &str, ms: Option<i64>, wait: Option<i64>) -> RunRow {
        RunRow {
            run_id: 1,
            slot,
            client_id: 1,
            workflow_id: wf,
            status: status.parse().unwrap(),
            duration_ms: ms,
            queue_ms: wait,
        }
    }

    fn attempt(wf: u64, node: &str, reason: Option<Option<&str>>, ms: Option<i64>) -> AttemptRow {
        AttemptRow {
            workflow_id: wf,
            node_id: node.into(),
            failed: i64::from(reason.is_some()),
            reason: reason.flatten().map(Into::into),
            duration_ms: ms,
            slot: 0,
            client_id: 1,
            run_id: 1,
        }
    }

    fn two_days() -> Window {
        let d = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        Window::new(d, d.succ_opt().unwrap(), Bucket::Day, Tz::UTC).unwrap()
    }

    fn names() -> HashMap<u64, String> {
        HashMap::from([(1, "beta".into()), (2, "alpha".into())])
    }

    #[test]
    fn volume_counts_runs_per_day_and_status_and_hours_per_local_hour() {
        let w = two_days();
        // Slot 36 is 09:00 on the first day, 96 + 4 is 01:00 on the second.
        let runs = [
            run(36, 1, "succeeded", Some(10), Some(1)),
            run(36, 1, "failed", Some(10), Some(1)),
            run(100, 2, "succeeded", Some(10), Some(1)),
            run(100, 2, "pending", None, None),
        ];
        let v = volume(&w, &runs);
        assert_eq!(v.total, 4);
        assert_eq!(v.success_rate, Some(2.0 / 3.0));
        let of = |s: &str| v.by_status.iter().find(|x| x.status == s).unwrap();
        assert_eq!(of("succeeded").counts, vec![1, 1]);
        assert_eq!(of("pending").counts, vec![0, 1]);
        let h = hours(&w, &runs);
        assert_eq!((h[9], h[1], h.iter().sum::<u64>()), (2, 2, 4));
    }

    #[test]
    fn workflow_durations_are_nearest_rank_over_finished_runs_only() {
        let runs = [
            run(0, 1, "succeeded", Some(10_000), Some(5)),
            run(0, 1, "succeeded", Some(1_000), Some(5)),
            run(0, 1, "failed", Some(5_000), Some(5)),
            run(0, 1, "succeeded", Some(2_000), Some(5)),
            run(0, 1, "running", None, Some(5)),
            run(0, 2, "pending", None, None),
            // A deleted workflow's runs are not listed.
            run(0, 3, "succeeded", Some(1), Some(1)),
        ];
        let out = workflows(&runs, &names());
        assert_eq!(out.len(), 2);
        let w = &out[0];
        assert_eq!((w.workflow_id, w.runs, w.succeeded, w.failed), (1, 5, 3, 1));
        assert_eq!(w.success_rate, Some(0.75));
        assert_eq!(w.duration_ms.count, 4);
        assert_eq!(w.duration_ms.p50, Some(2_000.0));
        assert_eq!(w.duration_ms.p95, Some(10_000.0));
        assert_eq!(out[1].duration_ms.p50, None);
        assert_eq!(out[1].success_rate, None);
        let q = queue_wait(&runs);
        assert_eq!((q.count, q.p50), (6, Some(5.0)));
    }

    #[test]
    fn nodes_are_listed_by_workflow_then_node_and_failures_by_reason() {
        let attempts = [
            attempt(2, "b", None, Some(30)),
            attempt(1, "z", Some(Some("timeout")), Some(10)),
            attempt(1, "a", None, Some(20)),
            attempt(1, "a", Some(None), None),
            attempt(2, "b", Some(Some("memory")), Some(10)),
            attempt(2, "b", Some(Some("timeout")), Some(20)),
            attempt(3, "gone", Some(Some("error")), Some(1)),
        ];
        let s = nodes(&attempts, &names());
        let keys: Vec<(u64, &str)> = s
            .by_node
            .iter()
            .map(|n| (n.workflow_id, n.node_id.as_str()))
            .collect();
        assert_eq!(keys, [(1, "a"), (1, "z"), (2, "b")]);
        let a = &s.by_node[0];
        assert_eq!(
            (a.executions, a.failures, a.failure_rate),
            (2, 1, Some(0.5))
        );
        assert_eq!((a.duration_ms.count, a.duration_ms.p50), (1, Some(20.0)));
        assert_eq!(s.by_node[2].duration_ms.p50, Some(20.0));
        // Most failures first, then by workflow name: alpha's b, beta's a and z.
        let failing: Vec<&str> = s.most_failing.iter().map(|n| n.node_id.as_str()).collect();
        assert_eq!(failing, ["b", "a", "z"]);

        let reasons: Vec<(String, u64)> = failures(&attempts)
            .into_iter()
            .map(|r| (r.reason, r.count))
            .collect();
        assert_eq!(
            reasons,
            [
                ("timeout".into(), 2),
                ("unknown".into(), 1),
                ("error".into(), 1),
                ("memory".into(), 1)
            ]
        );
    }
}
