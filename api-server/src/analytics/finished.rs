//! Finished runs, kept in memory by UTC day for an admin's run metrics.
//!
//! A finished run never changes again: its phase is final, its attempts are
//! written before it finishes (the run store writes a run's entries in
//! order), and runs are deleted only when they could not start, right after
//! they were created. Runs are created at the time they are written, so a
//! UTC day that ended `SETTLED` ago gets no new ones. So the finished runs
//! of such a day, and their attempts, are read once and kept; every request
//! reads from MySQL only the runs not finished yet (by status: few), the
//! days it does not hold, and the hours since the last settled day.
//!
//! A kept day records which of its runs were not finished when it was read;
//! when one of them is no longer unfinished, the day is read again. Runs
//! written later with a past time (a restore, a fixture) are noticed by
//! their ids: each request looks at the runs created since the highest id
//! it has seen (one range of the primary key), and a run of a kept day
//! among them drops that day and the ones after it. Replicas keep their own
//! days and need not tell each other anything.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use katalusis_analytics::{Window, SLOT_MINUTES};
use sqlx::MySqlPool;

use super::model::Filters;
use super::run_rows::{attempts_of, runs_of, AttemptRow, Read, RunRow, Span};
use crate::auth::ClientScope;

/// How long after its end a day is read as settled: a replica whose clock
/// is behind by less than this writes no run into a day already kept.
const SETTLED: Duration = Duration::hours(1);

/// At most this many runs and attempts are kept, the least recently read
/// days leaving first: about 100 MB, a year of the benchmark's 1,100 runs
/// and 1,800 attempts a day.
pub const KEPT_ROWS: usize = 1_000_000;

/// The finished runs of one UTC day and their attempts, whatever their
/// client or workflow, their slots counted from the Unix epoch.
#[derive(Debug, Default)]
pub struct DayRows {
    pub runs: Vec<RunRow>,
    pub attempts: Vec<AttemptRow>,
}

impl DayRows {
    fn len(&self) -> usize {
        self.runs.len() + self.attempts.len()
    }
}

/// What of a day's runs and attempts, read after the runs in `unfinished`
/// were found unfinished, can be kept: the finished runs not among them,
/// and their attempts; and the ids of the other runs, which are read again
/// on every request until they finish.
pub fn settle(
    runs: Vec<RunRow>,
    attempts: Vec<AttemptRow>,
    unfinished: &HashSet<u64>,
) -> (DayRows, Vec<u64>) {
    let (runs, open): (Vec<RunRow>, Vec<RunRow>) = runs
        .into_iter()
        .partition(|r| r.status.is_terminal() && !unfinished.contains(&r.run_id));
    let finished: HashSet<u64> = runs.iter().map(|r| r.run_id).collect();
    let attempts = attempts
        .into_iter()
        .filter(|a| finished.contains(&a.run_id))
        .collect();
    let mut open: Vec<u64> = open.into_iter().map(|r| r.run_id).collect();
    open.sort_unstable();
    (DayRows { runs, attempts }, open)
}

/// The UTC day (since the epoch) of an instant.
fn day_of(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(86_400)
}

fn day_start(day: i64) -> DateTime<Utc> {
    DateTime::UNIX_EPOCH + Duration::days(day)
}

/// Whether `t` is a whole number of slots since the epoch. A window's
/// ends are local midnights, and every zone's offset today is a whole
/// number of quarter hours; a window of a zone's old seconds-offset era is
/// read without the kept days.
fn on_a_slot(t: DateTime<Utc>) -> bool {
    t.timestamp().rem_euclid(SLOT_MINUTES * 60) == 0 && t.timestamp_subsec_nanos() == 0
}

/// The UTC days that a window `[start, end)` touches and that had settled
/// at `now`, and the part of the window after them, read as it is.
pub fn split(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    now: DateTime<Utc>,
) -> (Range<i64>, Option<Span>) {
    let first = day_of(start);
    let touched_end = day_of(end - Duration::microseconds(1)) + 1;
    let last = touched_end.min(day_of(now - SETTLED));
    if last <= first {
        return (first..first, (start < end).then_some((start, end)));
    }
    let rest = start.max(day_start(last));
    (first..last, (rest < end).then_some((rest, end)))
}

/// The finished runs an API server keeps (see the module's text).
#[derive(Default)]
pub struct FinishedDays {
    kept: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    days: HashMap<i64, KeptDay>,
    rows: usize,
    /// Counts the reads, so the least recently read day is known.
    clock: u64,
    /// The highest run id looked at for runs written with a past time.
    seen_run_id: u64,
}

struct KeptDay {
    rows: Arc<DayRows>,
    /// The runs of the day that had not finished when it was read.
    open: Vec<u64>,
    used: u64,
}

impl Kept {
    /// The day's finished runs, if every run that was unfinished when the
    /// day was read still is (`unfinished`): then no finished run is missing.
    fn get(&mut self, day: i64, unfinished: &HashSet<u64>) -> Option<Arc<DayRows>> {
        self.clock += 1;
        let k = self
            .days
            .get_mut(&day)
            .filter(|k| k.open.iter().all(|id| unfinished.contains(id)))?;
        k.used = self.clock;
        Some(k.rows.clone())
    }

    fn put(&mut self, day: i64, rows: Arc<DayRows>, open: Vec<u64>) {
        self.clock += 1;
        self.rows += rows.len();
        let old = self.days.insert(
            day,
            KeptDay {
                rows,
                open,
                used: self.clock,
            },
        );
        if let Some(old) = old {
            self.rows -= old.rows.len();
        }
    }

    /// Drops the days from `day` on.
    fn forget_from(&mut self, day: i64) {
        let gone: Vec<i64> = self.days.keys().copied().filter(|d| *d >= day).collect();
        for d in gone {
            if let Some(k) = self.days.remove(&d) {
                self.rows -= k.rows.len();
            }
        }
    }

    /// Drops the least recently read days until at most `limit` rows stay.
    fn trim(&mut self, limit: usize) {
        while self.rows > limit {
            let Some(day) = self
                .days
                .iter()
                .min_by_key(|(_, k)| k.used)
                .map(|(d, _)| *d)
            else {
                break;
            };
            if let Some(k) = self.days.remove(&day) {
                self.rows -= k.rows.len();
            }
        }
    }
}

/// Rows of the settled days: the finished runs per day, and the runs not
/// finished with their attempts.
struct Settled {
    days: Vec<Arc<DayRows>>,
    open: DayRows,
}

impl FinishedDays {
    /// The runs and attempts of the window that an admin with filters `f`
    /// sees, their slots counted from the window's start, like
    /// `run_rows::window_runs` and `window_attempts` read them; `None` when
    /// the window's ends are not on slots since the epoch (then the caller
    /// reads the window itself).
    pub async fn window(
        &self,
        db: &MySqlPool,
        f: &Filters,
        w: &Window,
        now: DateTime<Utc>,
    ) -> Result<Option<(Vec<RunRow>, Vec<AttemptRow>)>, sqlx::Error> {
        let (start, end) = (w.start(), w.end());
        if !on_a_slot(start) || !on_a_slot(end) {
            return Ok(None);
        }
        let (days, rest) = split(start, end, now);
        let rest_read = Read::window(ClientScope::All, f, w, None);
        let rest_rows = async {
            match rest {
                Some(span) => {
                    let (runs, attempts) = tokio::try_join!(
                        runs_of(db, rest_read, vec![span]),
                        attempts_of(db, rest_read, vec![span])
                    )?;
                    Ok((runs.concat(), attempts.concat()))
                }
                None => Ok((vec![], vec![])),
            }
        };
        let (settled, (rest_runs, rest_attempts)) =
            tokio::try_join!(self.settled(db, days), rest_rows)?;
        let slot = |t: DateTime<Utc>| t.timestamp() / (SLOT_MINUTES * 60);
        let (from, to) = (slot(start), slot(end));
        let admits = |slot: i64, client: u64, workflow: u64| {
            (from..to).contains(&slot)
                && f.client_id.is_none_or(|c| c == client)
                && f.workflow_id.is_none_or(|w| w == workflow)
        };
        let all = || settled.days.iter().map(|d| &**d).chain([&settled.open]);
        let mut runs: Vec<RunRow> = all()
            .flat_map(|d| d.runs.iter())
            .filter(|r| admits(r.slot, r.client_id, r.workflow_id))
            .map(|r| RunRow {
                slot: r.slot - from,
                ..r.clone()
            })
            .collect();
        runs.extend(rest_runs);
        let mut attempts: Vec<AttemptRow> = all()
            .flat_map(|d| d.attempts.iter())
            .filter(|a| admits(a.slot, a.client_id, a.workflow_id))
            .map(|a| AttemptRow {
                slot: a.slot - from,
                ..a.clone()
            })
            .collect();
        attempts.extend(rest_attempts);
        Ok(Some((runs, attempts)))
    }

    /// The rows of the settled `days`.
    async fn settled(&self, db: &MySqlPool, days: Range<i64>) -> Result<Settled, sqlx::Error> {
        if days.is_empty() {
            return Ok(Settled {
                days: vec![],
                open: DayRows::default(),
            });
        }
        let read = Read {
            scope: ClientScope::All,
            filters: Filters::default(),
            base: DateTime::UNIX_EPOCH,
            limit: None,
            unfinished_only: true,
        };
        let span = (day_start(days.start), day_start(days.end));
        let seen = self.lock().seen_run_id;
        // The runs not finished are read before any day: a run finished
        // after this read is still one of them for this request.
        let ((newest, oldest_new), open_runs, open_attempts) = tokio::try_join!(
            sqlx::query_as::<_, (Option<u64>, Option<DateTime<Utc>>)>(
                "SELECT MAX(run_id), MIN(created_at) FROM run WHERE run_id > ?"
            )
            .bind(seen)
            .fetch_one(db),
            runs_of(db, read, vec![span]),
            attempts_of(db, read, vec![span]),
        )?;
        let open = DayRows {
            runs: open_runs.concat(),
            attempts: open_attempts.concat(),
        };
        let unfinished: HashSet<u64> = open.runs.iter().map(|r| r.run_id).collect();
        let mut held: Vec<(i64, Option<Arc<DayRows>>)> = {
            let mut kept = self.lock();
            if let Some(t) = oldest_new {
                kept.forget_from(day_of(t));
            }
            kept.seen_run_id = kept.seen_run_id.max(newest.unwrap_or(seen));
            days.map(|d| (d, kept.get(d, &unfinished))).collect()
        };
        let missing: Vec<i64> = held
            .iter()
            .filter(|(_, r)| r.is_none())
            .map(|(d, _)| *d)
            .collect();
        if !missing.is_empty() {
            let read = Read {
                unfinished_only: false,
                ..read
            };
            // One span a day: the rows come back per day.
            let spans: Vec<Span> = missing
                .iter()
                .map(|d| (day_start(*d), day_start(d + 1)))
                .collect();
            let (runs, attempts) = tokio::try_join!(
                runs_of(db, read, spans.clone()),
                attempts_of(db, read, spans)
            )?;
            let mut fresh: HashMap<i64, Arc<DayRows>> = HashMap::new();
            let mut kept = self.lock();
            for ((day, runs), attempts) in missing.iter().zip(runs).zip(attempts) {
                let (rows, open) = settle(runs, attempts, &unfinished);
                let rows = Arc::new(rows);
                kept.put(*day, rows.clone(), open);
                fresh.insert(*day, rows);
            }
            kept.trim(KEPT_ROWS);
            drop(kept);
            for (day, rows) in &mut held {
                if rows.is_none() {
                    *rows = fresh.remove(day);
                }
            }
        }
        tracing::debug!(
            days = held.len(),
            read = missing.len(),
            unfinished = unfinished.len(),
            "finished runs by day"
        );
        Ok(Settled {
            days: held.into_iter().filter_map(|(_, r)| r).collect(),
            open,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        // A panic while the lock was held left at worst a day kept or not:
        // every entry is whole.
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many days and rows are kept.
    pub fn kept(&self) -> (usize, usize) {
        let k = self.lock();
        (k.days.len(), k.rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn only_days_that_ended_an_hour_ago_are_kept_and_the_rest_is_read() {
        let day = |s| day_of(t(s));
        // Paris in March: the window starts at 23:00 UTC the day before.
        let (start, end) = (t("2026-02-28T23:00:00Z"), t("2026-03-07T23:00:00Z"));
        let (days, rest) = split(start, end, t("2026-03-20T12:00:00Z"));
        assert_eq!(
            days,
            day("2026-02-28T00:00:00Z")..day("2026-03-08T00:00:00Z")
        );
        assert_eq!(rest, None);
        // Today, and yesterday until 01:00, are read as they are.
        let (days, rest) = split(start, end, t("2026-03-07T00:30:00Z"));
        assert_eq!(
            days,
            day("2026-02-28T00:00:00Z")..day("2026-03-06T00:00:00Z")
        );
        assert_eq!(rest, Some((t("2026-03-06T00:00:00Z"), end)));
        let (days, rest) = split(start, end, t("2026-03-07T01:00:00Z"));
        assert_eq!(days.end, day("2026-03-07T00:00:00Z"));
        assert_eq!(rest, Some((t("2026-03-07T00:00:00Z"), end)));
        // A window that began less than an hour after its first day ended.
        let (days, rest) = split(start, end, t("2026-03-01T00:59:00Z"));
        assert!(days.is_empty());
        assert_eq!(rest, Some((start, end)));
        // A window ending at a UTC midnight does not touch the next day.
        let (days, _) = split(
            t("2026-03-01T00:00:00Z"),
            t("2026-03-03T00:00:00Z"),
            t("2026-04-01T00:00:00Z"),
        );
        assert_eq!(days.end - days.start, 2);
    }

    #[test]
    fn windows_off_the_quarter_hours_are_not_split_into_days() {
        assert!(on_a_slot(t("2026-03-01T23:45:00Z")));
        assert!(!on_a_slot(t("2026-03-01T23:45:30Z")));
        assert!(!on_a_slot(t("1890-03-01T00:09:21Z")));
    }

    fn run(id: u64, status: &str) -> RunRow {
        RunRow {
            run_id: id,
            slot: 0,
            client_id: 1,
            workflow_id: 1,
            status: status.parse().unwrap(),
            duration_ms: None,
            queue_ms: None,
        }
    }

    fn attempt(run: u64) -> AttemptRow {
        AttemptRow {
            workflow_id: 1,
            node_id: "a".into(),
            failed: 0,
            reason: None,
            duration_ms: Some(5),
            slot: 0,
            client_id: 1,
            run_id: run,
        }
    }

    #[test]
    fn only_runs_finished_before_the_unfinished_ones_were_read_are_kept() {
        let runs = vec![
            run(1, "succeeded"),
            run(2, "waiting"),
            // Finished since the unfinished runs were read: read again.
            run(3, "failed"),
            run(4, "cancelled"),
        ];
        let attempts = vec![attempt(1), attempt(2), attempt(3), attempt(3), attempt(4)];
        let (rows, open) = settle(runs, attempts, &HashSet::from([2, 3]));
        let ids: Vec<u64> = rows.runs.iter().map(|r| r.run_id).collect();
        assert_eq!(ids, [1, 4]);
        let of: Vec<u64> = rows.attempts.iter().map(|a| a.run_id).collect();
        assert_eq!(of, [1, 4]);
        assert_eq!(open, [2, 3]);
    }

    #[test]
    fn a_kept_day_is_read_again_once_one_of_its_open_runs_finished() {
        let mut kept = Kept::default();
        let rows = |n| {
            Arc::new(DayRows {
                runs: (0..n).map(|i| run(i, "succeeded")).collect(),
                attempts: vec![],
            })
        };
        kept.put(1, rows(3), vec![7, 8]);
        assert!(kept.get(1, &HashSet::from([7, 8, 9])).is_some());
        assert!(kept.get(1, &HashSet::from([7])).is_none());
        kept.put(2, rows(3), vec![]);
        kept.put(3, rows(3), vec![]);
        kept.forget_from(3);
        assert_eq!((kept.days.len(), kept.rows), (2, 6));
    }

    #[test]
    fn the_least_recently_read_days_leave_first() {
        let mut kept = Kept::default();
        let rows = |n| {
            Arc::new(DayRows {
                runs: (0..n).map(|i| run(i, "succeeded")).collect(),
                attempts: vec![],
            })
        };
        let none = HashSet::new();
        kept.put(1, rows(3), vec![]);
        kept.put(2, rows(3), vec![]);
        kept.put(3, rows(3), vec![]);
        assert!(kept.get(1, &none).is_some());
        kept.trim(6);
        assert_eq!(kept.rows, 6);
        let mut left: Vec<i64> = kept.days.keys().copied().collect();
        left.sort();
        assert_eq!(left, [1, 3]);
        kept.put(3, rows(1), vec![]);
        assert_eq!(kept.rows, 4);
    }
}
