//! Task counts kept by the task writes, in their own transaction
//! (`tasks::db`), so they are exact whenever a task is (migration 0027):
//!
//! - `task_slot_count`, per 15-minute UTC slot: tasks created in the slot,
//!   how many of those are completed now, and tasks completed in the slot;
//! - `task_open_count`, per UTC day of creation, status and priority: open
//!   tasks, and those of them with an SLA;
//! - `task_sla_count`, per UTC day of creation, priority and client: tasks
//!   with an SLA, those completed after their deadline, and those open.
//!
//! An admin's unfiltered dashboard reads these instead of grouping every
//! task of the window or every open task per request; what depends on the
//! moment of the request (age bands, deadlines passed by now) or on part of
//! a day is read from the tasks, through short index ranges (`db`).
//!
//! Every window starts and ends on a local midnight, and every time zone's
//! offset is a whole number of quarter hours, so a window is a whole number
//! of slots; `covers` says when it is not, and the readers fall back to the
//! tasks themselves.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::query_builder::Separated;
use sqlx::{MySql, MySqlConnection, QueryBuilder};

use super::db::SlotCounts;
use crate::tasks::model::Priority;
use katalusis_analytics::{Window, SLOT_MINUTES};

/// The start of the UTC slot holding `t`.
pub fn slot_of(t: DateTime<Utc>) -> DateTime<Utc> {
    let secs = t.timestamp();
    let start = secs - secs.rem_euclid(SLOT_MINUTES * 60);
    DateTime::from_timestamp(start, 0).unwrap_or(t)
}

/// Whether `w` is a whole number of rollup slots.
pub fn covers(w: &Window) -> bool {
    slot_of(w.start()) == w.start() && slot_of(w.end()) == w.end()
}

/// What the counts see of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Counted {
    pub created: DateTime<Utc>,
    pub completed: Option<DateTime<Utc>>,
    pub status_id: u64,
    pub priority: Priority,
    pub client_id: u64,
    pub sla_due: Option<DateTime<Utc>>,
}

/// What one slot's counts change by.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SlotDelta {
    pub created: i64,
    pub created_done: i64,
    pub completed: i64,
}

/// What one (day, status, priority) of open tasks changes by.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct OpenDelta {
    pub open: i64,
    pub with_sla: i64,
}

/// What one (day, priority, client) of tasks with an SLA changes by.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SlaDelta {
    pub with_sla: i64,
    pub breached_done: i64,
    pub open: i64,
}

/// The changes a transaction's task writes make to the counts.
#[derive(Debug, Default)]
pub struct TaskDeltas {
    slots: BTreeMap<DateTime<Utc>, SlotDelta>,
    open: BTreeMap<(NaiveDate, u64, Priority), OpenDelta>,
    sla: BTreeMap<(NaiveDate, Priority, u64), SlaDelta>,
}

fn nonzero<K: Copy, V: Copy + Default + PartialEq>(
    m: &BTreeMap<K, V>,
) -> impl Iterator<Item = (K, V)> + '_ {
    m.iter()
        .filter(|(_, d)| **d != V::default())
        .map(|(k, d)| (*k, *d))
}

impl TaskDeltas {
    /// A task now counted (`sign` 1) or no longer (`sign` -1).
    pub fn task(&mut self, t: &Counted, sign: i64) {
        let c = self.slots.entry(slot_of(t.created)).or_default();
        c.created += sign;
        if let Some(done) = t.completed {
            c.created_done += sign;
            self.slots.entry(slot_of(done)).or_default().completed += sign;
        }
        let day = t.created.date_naive();
        let open = i64::from(t.completed.is_none());
        if open != 0 {
            let o = self.open.entry((day, t.status_id, t.priority)).or_default();
            o.open += sign;
            o.with_sla += sign * i64::from(t.sla_due.is_some());
        }
        if let Some(due) = t.sla_due {
            let s = self.sla.entry((day, t.priority, t.client_id)).or_default();
            s.with_sla += sign;
            s.open += sign * open;
            s.breached_done += sign * i64::from(t.completed.is_some_and(|done| due <= done));
        }
    }

    /// A task that was `old` and is now `new`.
    pub fn changed(&mut self, old: &Counted, new: &Counted) {
        if old != new {
            self.task(old, -1);
            self.task(new, 1);
        }
    }

    /// The slots that change, earliest first.
    pub fn slot_changes(&self) -> impl Iterator<Item = (DateTime<Utc>, SlotDelta)> + '_ {
        nonzero(&self.slots)
    }

    /// Adds the changes, one statement per table, the tables and each
    /// table's rows always in the same order, so two transactions never wait
    /// for each other's rows in a cycle.
    pub async fn apply(&self, conn: &mut MySqlConnection) -> Result<(), sqlx::Error> {
        add_counts(
            conn,
            "task_slot_count (slot_at",
            &["created", "created_done", "completed"],
            nonzero(&self.slots),
            |mut b, (slot, d)| {
                b.push_bind(slot.naive_utc())
                    .push_bind(d.created)
                    .push_bind(d.created_done)
                    .push_bind(d.completed);
            },
        )
        .await?;
        add_counts(
            conn,
            "task_open_count (created_on, status_id, priority",
            &["open_tasks", "with_sla"],
            nonzero(&self.open),
            |mut b, ((day, status, priority), d)| {
                b.push_bind(day)
                    .push_bind(status)
                    .push_bind(priority)
                    .push_bind(d.open)
                    .push_bind(d.with_sla);
            },
        )
        .await?;
        add_counts(
            conn,
            "task_sla_count (created_on, priority, client_id",
            &["with_sla", "breached_done", "open_tasks"],
            nonzero(&self.sla),
            |mut b, ((day, priority, client), d)| {
                b.push_bind(day)
                    .push_bind(priority)
                    .push_bind(client)
                    .push_bind(d.with_sla)
                    .push_bind(d.breached_done)
                    .push_bind(d.open);
            },
        )
        .await
    }
}

/// Adds `rows` to the `counts` columns of `table_and_keys` (`table (key,
/// …`) in one upsert; `push` binds a row's keys, then its counts. Nothing
/// for no rows.
async fn add_counts<R>(
    conn: &mut MySqlConnection,
    table_and_keys: &str,
    counts: &[&str],
    rows: impl Iterator<Item = R>,
    push: impl FnMut(Separated<'_, 'static, MySql, &'static str>, R),
) -> Result<(), sqlx::Error> {
    let mut rows = rows.peekable();
    if rows.peek().is_none() {
        return Ok(());
    }
    let mut qb: QueryBuilder<'static, MySql> = QueryBuilder::new(format!(
        "INSERT INTO {table_and_keys}, {}) ",
        counts.join(", ")
    ));
    qb.push_values(rows, push);
    let adds: Vec<String> = counts
        .iter()
        .map(|c| format!("{c} = {c} + VALUES({c})"))
        .collect();
    qb.push(format!(" ON DUPLICATE KEY UPDATE {}", adds.join(", ")));
    qb.build().execute(conn).await?;
    Ok(())
}

/// The window's slots from the rollup: (slot, created, of which completed
/// now) and (slot, completed), each without empty slots.
pub async fn window_slots(
    conn: impl sqlx::Executor<'_, Database = MySql>,
    w: &Window,
) -> Result<SlotCounts, sqlx::Error> {
    let rows: Vec<(DateTime<Utc>, i64, i64, i64)> = sqlx::query_as(
        "SELECT slot_at, CAST(created AS SIGNED), CAST(created_done AS SIGNED), \
         CAST(completed AS SIGNED) FROM task_slot_count WHERE slot_at >= ? AND slot_at < ?",
    )
    .bind(w.start())
    .bind(w.end())
    .fetch_all(conn)
    .await?;
    let index = |at: DateTime<Utc>| (at - w.start()).num_minutes() / SLOT_MINUTES;
    let mut out = SlotCounts::default();
    for (at, created, done, completed) in rows {
        if created != 0 {
            out.created.push((index(at), created, done));
        }
        if completed != 0 {
            out.completed.push((index(at), completed));
        }
    }
    Ok(out)
}

/// Tasks created before the window, and tasks completed before it.
pub async fn before(
    conn: impl sqlx::Executor<'_, Database = MySql>,
    w: &Window,
) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(created), 0) AS SIGNED), CAST(COALESCE(SUM(completed), 0) AS SIGNED) \
         FROM task_slot_count WHERE slot_at < ?",
    )
    .bind(w.start())
    .fetch_one(conn)
    .await
}

/// Recounts everything from the tasks: what migration 0027 did once. For
/// tasks written behind the server's back (tests, generated benchmark data).
pub async fn rebuild(conn: &mut MySqlConnection) -> Result<(), sqlx::Error> {
    for sql in REBUILD {
        sqlx::query(sql).execute(&mut *conn).await?;
    }
    Ok(())
}

/// The recount, as in migration 0027.
const REBUILD: [&str; 7] = [
    "DELETE FROM task_slot_count",
    "INSERT INTO task_slot_count (slot_at, created, created_done) \
     SELECT TIMESTAMPADD(MINUTE, TIMESTAMPDIFF(MINUTE, '1970-01-01', created_at) DIV 15 * 15, '1970-01-01') AS s, \
     COUNT(*), SUM(completed_at IS NOT NULL) FROM task GROUP BY s",
    "INSERT INTO task_slot_count (slot_at, completed) \
     SELECT TIMESTAMPADD(MINUTE, TIMESTAMPDIFF(MINUTE, '1970-01-01', completed_at) DIV 15 * 15, '1970-01-01') AS s, \
     COUNT(*) FROM task WHERE completed_at IS NOT NULL GROUP BY s \
     ON DUPLICATE KEY UPDATE completed = VALUES(completed)",
    "DELETE FROM task_open_count",
    "INSERT INTO task_open_count (created_on, status_id, priority, open_tasks, with_sla) \
     SELECT DATE(created_at) AS d, status_id, priority, COUNT(*), SUM(sla_due_at IS NOT NULL) \
     FROM task WHERE completed_at IS NULL GROUP BY d, status_id, priority",
    "DELETE FROM task_sla_count",
    "INSERT INTO task_sla_count (created_on, priority, client_id, with_sla, breached_done, open_tasks) \
     SELECT DATE(created_at) AS d, priority, client_id, COUNT(*), COALESCE(SUM(sla_due_at <= completed_at), 0), \
     SUM(completed_at IS NULL) FROM task WHERE sla_due_at IS NOT NULL GROUP BY d, priority, client_id",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn slots_are_utc_quarter_hours() {
        assert_eq!(
            slot_of(t("2026-03-02T09:29:59.999999Z")),
            t("2026-03-02T09:15:00Z")
        );
        assert_eq!(
            slot_of(t("2026-03-02T09:30:00Z")),
            t("2026-03-02T09:30:00Z")
        );
    }

    fn task(created: &str, completed: Option<&str>) -> Counted {
        Counted {
            created: t(created),
            completed: completed.map(t),
            status_id: if completed.is_some() { 4 } else { 2 },
            priority: Priority::High,
            client_id: 9,
            sla_due: Some(t("2026-03-03T09:00:00Z")),
        }
    }

    #[test]
    fn a_completion_moves_counts_between_slots_days_and_deadlines() {
        let open = task("2026-03-02T09:01:00Z", None);
        let late = task("2026-03-02T09:01:00Z", Some("2026-03-03T10:50:00Z"));
        let mut d = TaskDeltas::default();
        d.changed(&open, &late);
        let slots: Vec<_> = d.slot_changes().collect();
        let slot = |created, created_done, completed| SlotDelta {
            created,
            created_done,
            completed,
        };
        assert_eq!(
            slots,
            [
                (t("2026-03-02T09:00:00Z"), slot(0, 1, 0)),
                (t("2026-03-03T10:45:00Z"), slot(0, 0, 1)),
            ]
        );
        let day = open.created.date_naive();
        assert_eq!(
            nonzero(&d.open).collect::<Vec<_>>(),
            [(
                (day, 2, Priority::High),
                OpenDelta {
                    open: -1,
                    with_sla: -1
                }
            )]
        );
        assert_eq!(
            nonzero(&d.sla).collect::<Vec<_>>(),
            [(
                (day, Priority::High, 9),
                SlaDelta {
                    with_sla: 0,
                    breached_done: 1,
                    open: -1
                }
            )]
        );

        // Unchanged, or completed at another time of the same slot and still
        // before the deadline: nothing to write.
        let mut again = TaskDeltas::default();
        let in_time = task("2026-03-02T09:01:00Z", Some("2026-03-03T08:55:00Z"));
        again.changed(&late, &late);
        assert_eq!(again.slot_changes().count() + again.open.len(), 0);
        again.changed(
            &in_time,
            &task("2026-03-02T09:01:00Z", Some("2026-03-03T08:50:00Z")),
        );
        assert_eq!(again.slot_changes().count(), 0);
        assert_eq!(nonzero(&again.sla).count(), 0);
        let mut gone = TaskDeltas::default();
        gone.task(&late, -1);
        assert_eq!(
            gone.slot_changes()
                .map(|(_, d)| d.created + d.created_done + d.completed)
                .sum::<i64>(),
            -3
        );
    }
}
