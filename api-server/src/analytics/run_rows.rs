//! The runs and node attempts of a window, read for the run metrics: one
//! packed read of the creation indexes per part of the window instead of a
//! grouped query per metric. Slots are counted from a base instant, the
//! window's start or, for the days `finished` keeps, the Unix epoch.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use katalusis_analytics::{Window, SLOT_MINUTES};
use katalusis_crds::plan::RunPhase;
use sqlx::{MySql, MySqlPool, QueryBuilder};

use super::model::Filters;
use crate::auth::ClientScope;

type Qb<'a> = QueryBuilder<'a, MySql>;

/// A part of the window: `[from, to)`.
pub type Span = (DateTime<Utc>, DateTime<Utc>);

/// How many consecutive parts of the window a run or attempt read is cut
/// into. Each part is read on its own pooled connection and decoded on its
/// own task, so the rows of an admin's 90 days are decoded on every core:
/// in one task, decoding them took about three times as long as MariaDB
/// took to read them (perf of the release build, 100,000 runs).
const READ_PARTS: i32 = 2;

/// The window cut into `READ_PARTS` consecutive parts of whole slots.
fn read_parts(w: &Window) -> Vec<Span> {
    let (start, end) = (w.start(), w.end());
    let slots = (end - start).num_minutes() / SLOT_MINUTES;
    let at = |i: i32| {
        if i == READ_PARTS {
            end
        } else {
            start
                + chrono::Duration::minutes(
                    slots * i64::from(i) / i64::from(READ_PARTS) * SLOT_MINUTES,
                )
        }
    };
    (0..READ_PARTS)
        .map(|i| (at(i), at(i + 1)))
        .filter(|(a, b)| a < b)
        .collect()
}

/// `read` of every span, each spawned on its own task: the rows of each
/// span, in the spans' order.
pub(super) async fn read_each<T, F, Fut>(
    spans: Vec<Span>,
    read: F,
) -> Result<Vec<Vec<T>>, sqlx::Error>
where
    T: Send + 'static,
    F: Fn(Span) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<T>, sqlx::Error>> + Send + 'static,
{
    let parts: Vec<_> = spans
        .into_iter()
        .map(|span| tokio::spawn(read(span)))
        .collect();
    let mut out = Vec::with_capacity(parts.len());
    for part in parts {
        match part.await {
            Ok(rows) => out.push(rows?),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => return Err(sqlx::Error::Io(std::io::Error::other(e))),
        }
    }
    Ok(out)
}

/// The slot of `column`: whole `SLOT_MINUTES` since `base`.
fn push_slot(qb: &mut Qb<'_>, column: &str, base: DateTime<Utc>) {
    qb.push("CAST(TIMESTAMPDIFF(MINUTE, ")
        .push_bind(base)
        .push(format_args!(", {column}) DIV {SLOT_MINUTES} AS SIGNED)"));
}

/// ` AND column` inside `[from, to)`.
fn push_in_span(qb: &mut Qb<'_>, column: &str, (from, to): Span) {
    qb.push(format_args!(" AND {column} >= "))
        .push_bind(from)
        .push(format_args!(" AND {column} < "))
        .push_bind(to);
}

/// ` FROM run r … WHERE` runs created in `span` that the read selects.
/// Unfinished runs are few (they are read again on every request of the
/// kept days), so they are found by status; MariaDB would rather walk the
/// creation index of the whole span.
fn push_runs(qb: &mut Qb<'_>, read: &Read, span: Span) {
    if read.unfinished_only {
        qb.push(" FROM run r FORCE INDEX (ix_run_status_id) WHERE r.status IN (");
        let mut list = qb.separated(", ");
        for phase in RunPhase::UNFINISHED {
            list.push_bind(phase);
        }
        qb.push(")");
    } else {
        qb.push(" FROM run r WHERE 1 = 1");
    }
    push_in_span(qb, "r.created_at", span);
    crate::db::runs::push_scope(qb, read.scope);
    push_run_filters(qb, &read.filters);
}

fn push_run_filters(qb: &mut Qb<'_>, f: &Filters) {
    if let Some(c) = f.client_id {
        qb.push(" AND r.client_id = ").push_bind(c);
    }
    if let Some(wf) = f.workflow_id {
        qb.push(" AND r.workflow_id = ").push_bind(wf);
    }
}

/// A run, as the run metrics read it.
#[derive(Debug, Clone)]
pub struct RunRow {
    pub run_id: u64,
    /// The slot of its creation: whole `SLOT_MINUTES` since the read's base
    /// (for a window's read, `Window::slot_of`).
    pub slot: i64,
    pub client_id: u64,
    pub workflow_id: u64,
    pub status: RunPhase,
    /// Start to finish; `None` until it started and finished.
    pub duration_ms: Option<i64>,
    /// Creation to start; `None` until it started.
    pub queue_ms: Option<i64>,
}

/// The times of a run as stored (id, created, client, workflow, status,
/// started, finished), decoded by position; `run_rows` derives a `RunRow`.
type RunTimes = (
    u64,
    DateTime<Utc>,
    u64,
    u64,
    RunPhase,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);

/// Whole milliseconds from `a` to `b`, truncated toward zero like the SQL
/// `TIMESTAMPDIFF(MICROSECOND, a, b) DIV 1000` it replaces.
fn millis_between(a: DateTime<Utc>, b: DateTime<Utc>) -> i64 {
    let d = b - a;
    d.num_microseconds()
        .map_or_else(|| d.num_milliseconds(), |us| us / 1000)
}

/// Whole slots from `base` to `t`, like `push_slot` (toward zero).
fn slots_between(base: DateTime<Utc>, t: DateTime<Utc>) -> i64 {
    (t - base).num_minutes() / SLOT_MINUTES
}

/// The runs created in the window that the scope sees: one read of the
/// creation index (`ix_run_created` holds every column) serves the volume,
/// hours, workflow and queue metrics, instead of a grouped read and a window
/// sort in a temporary table per metric.
pub async fn window_runs(
    db: &MySqlPool,
    scope: ClientScope,
    f: &Filters,
    w: &Window,
) -> Result<Vec<RunRow>, sqlx::Error> {
    window_runs_within(db, scope, f, w, None).await
}

/// `window_runs` with the packed answers limited to `limit` bytes, like
/// `window_attempts_within`.
pub async fn window_runs_within(
    db: &MySqlPool,
    scope: ClientScope,
    f: &Filters,
    w: &Window,
    limit: Option<i64>,
) -> Result<Vec<RunRow>, sqlx::Error> {
    let read = Read::window(scope, f, w, limit);
    Ok(runs_of(db, read, read_parts(w)).await?.concat())
}

/// How a read selects its rows and counts their slots.
#[derive(Debug, Clone, Copy)]
pub(super) struct Read {
    pub scope: ClientScope,
    pub filters: Filters,
    /// Slots are counted from here.
    pub base: DateTime<Utc>,
    /// Packed answers at most this long (default: half the packet limit).
    pub limit: Option<i64>,
    /// Only the runs not finished, and their attempts.
    pub unfinished_only: bool,
}

impl Read {
    /// The rows of a window that `scope` sees through `f`, their slots
    /// counted from the window's start.
    pub fn window(scope: ClientScope, f: &Filters, w: &Window, limit: Option<i64>) -> Self {
        Self {
            scope,
            filters: *f,
            base: w.start(),
            limit,
            unfinished_only: false,
        }
    }
}

/// The runs created in each span, per span.
pub(super) async fn runs_of(
    db: &MySqlPool,
    read: Read,
    spans: Vec<Span>,
) -> Result<Vec<Vec<RunRow>>, sqlx::Error> {
    read_each(spans, |span| {
        let db = db.clone();
        async move {
            read_span(
                span,
                |span| {
                    // Slot and durations computed by the database: packed,
                    // they cost less than the dates' text read back here.
                    let mut qb = Qb::new("SELECT CAST(COUNT(*) AS SIGNED), GROUP_CONCAT(");
                    push_slot(&mut qb, "r.created_at", read.base);
                    qb.push(
                        ", '\t', r.run_id, '\t', r.client_id, '\t', r.workflow_id, '\t', r.status, '\t', \
                         IFNULL(TIMESTAMPDIFF(MICROSECOND, r.started_at, r.finished_at) DIV 1000, ''), '\t', \
                         IFNULL(TIMESTAMPDIFF(MICROSECOND, r.created_at, r.started_at) DIV 1000, '') \
                         SEPARATOR '\n')",
                    );
                    push_runs(&mut qb, &read, span);
                    read_packed(&db, qb, read.limit, parse_run_line)
                },
                |span| run_rows(&db, read, span),
            )
            .await
        }
    })
    .await
}

/// The runs of `span` as rows: the fallback of the packed read.
async fn run_rows(db: &MySqlPool, read: Read, span: Span) -> Result<Vec<RunRow>, sqlx::Error> {
    let mut qb = Qb::new(
        "SELECT r.run_id, r.created_at, r.client_id, r.workflow_id, r.status, r.started_at, \
         r.finished_at",
    );
    push_runs(&mut qb, &read, span);
    let rows: Vec<RunTimes> = qb.build_query_as().fetch_all(db).await?;
    Ok(rows
        .into_iter()
        .map(
            |(run_id, created, client_id, workflow_id, status, started, finished)| RunRow {
                run_id,
                slot: slots_between(read.base, created),
                client_id,
                workflow_id,
                status,
                duration_ms: started.zip(finished).map(|(s, e)| millis_between(s, e)),
                queue_ms: started.map(|s| millis_between(created, s)),
            },
        )
        .collect())
}

/// A packed run: slot, id, client, workflow, status, duration and queue
/// wait (empty when unknown).
fn parse_run_line(line: &str) -> Option<RunRow> {
    let mut fields = line.split('\t');
    let slot = fields.next()?.parse().ok()?;
    let run_id = fields.next()?.parse().ok()?;
    let client_id = fields.next()?.parse().ok()?;
    let workflow_id = fields.next()?.parse().ok()?;
    let status = fields.next()?.parse().ok()?;
    let duration_ms = optional_number(fields.next()?)?;
    let queue_ms = optional_number(fields.next()?)?;
    fields.next().is_none().then_some(RunRow {
        run_id,
        slot,
        client_id,
        workflow_id,
        status,
        duration_ms,
        queue_ms,
    })
}

/// `Some(None)` for an empty field, `None` for one that is not a number.
fn optional_number(field: &str) -> Option<Option<i64>> {
    match field {
        "" => Some(None),
        n => n.parse().ok().map(Some),
    }
}

/// A node attempt of a run, as the run metrics read it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AttemptRow {
    pub workflow_id: u64,
    /// Shared: the same few node ids recur in every run of a workflow.
    pub node_id: Arc<str>,
    /// 1 when the attempt failed.
    pub failed: i64,
    /// Why it failed, when recorded.
    pub reason: Option<String>,
    pub duration_ms: Option<i64>,
    /// The slot of its run's creation, counted like `RunRow::slot`.
    pub slot: i64,
    pub client_id: u64,
    pub run_id: u64,
}

/// An attempt's columns as `attempt_rows` reads them, by position.
type AttemptColumns = (
    u64,
    String,
    i64,
    Option<String>,
    Option<i64>,
    DateTime<Utc>,
    u64,
    u64,
);

/// ` FROM node_execution ne WHERE` the attempts of the runs created in
/// `span` that the scope sees: one range of `ix_exec_window` or, scoped to
/// clients, `ix_exec_client_window` (migration 0019: each attempt carries
/// its run's creation time, workflow and client, so no join to `run`). Only
/// a client's scope looks at the runs, for their `published` flag, which may
/// change: the span's runs of that client as one semi-join (a lookup per
/// attempt took ten times as long); so does a read of the unfinished runs'
/// attempts.
fn push_attempts(qb: &mut Qb<'_>, read: &Read, span: Span) {
    let (scope, f) = (read.scope, &read.filters);
    qb.push(" FROM node_execution ne WHERE 1 = 1");
    push_in_span(qb, "ne.run_created_at", span);
    scope.push_filter(qb, "ne.client_id");
    if matches!(scope, ClientScope::Only(_)) || read.unfinished_only {
        let runs = Read {
            filters: Filters::default(),
            ..*read
        };
        qb.push(" AND ne.run_id IN (SELECT r.run_id");
        push_runs(qb, &runs, span);
        qb.push(")");
    }
    if let Some(c) = f.client_id {
        qb.push(" AND ne.client_id = ").push_bind(c);
    }
    if let Some(wf) = f.workflow_id {
        qb.push(" AND ne.workflow_id = ").push_bind(wf);
    }
}

/// The attempts of the window's runs that the scope sees, one row each.
pub async fn window_attempts(
    db: &MySqlPool,
    scope: ClientScope,
    f: &Filters,
    w: &Window,
) -> Result<Vec<AttemptRow>, sqlx::Error> {
    window_attempts_within(db, scope, f, w, None).await
}

/// `window_attempts` with the packed answers limited to `limit` bytes
/// (default: half the connection's packet limit). Tests pass a small limit
/// to take the halving and row-by-row paths of `read_span`.
pub async fn window_attempts_within(
    db: &MySqlPool,
    scope: ClientScope,
    f: &Filters,
    w: &Window,
    limit: Option<i64>,
) -> Result<Vec<AttemptRow>, sqlx::Error> {
    let read = Read::window(scope, f, w, limit);
    Ok(attempts_of(db, read, read_parts(w)).await?.concat())
}

/// The attempts of the runs created in each span, per span.
pub(super) async fn attempts_of(
    db: &MySqlPool,
    read: Read,
    spans: Vec<Span>,
) -> Result<Vec<Vec<AttemptRow>>, sqlx::Error> {
    read_each(spans, |span| {
        let db = db.clone();
        async move {
            read_span(
                span,
                |span| {
                    // A reason is prefixed with `=`, so that none and empty
                    // stay apart.
                    let mut qb = Qb::new(
                        "SELECT CAST(COUNT(*) AS SIGNED), GROUP_CONCAT(ne.workflow_id, '\t', ne.node_id, '\t', \
                         ne.status = 'failed', '\t', \
                         IFNULL(CASE WHEN ne.status = 'failed' THEN CONCAT('=', ne.reason) END, ''), '\t', \
                         IFNULL(ne.duration_ms, ''), '\t', ",
                    );
                    push_slot(&mut qb, "ne.run_created_at", read.base);
                    qb.push(", '\t', ne.client_id, '\t', ne.run_id SEPARATOR '\n')");
                    push_attempts(&mut qb, &read, span);
                    read_packed(&db, qb, read.limit, parse_attempt_line)
                },
                |span| attempt_rows(&db, read, span),
            )
            .await
        }
    })
    .await
}

/// The rows of `span`: read packed (`read_packed`); a span whose packed
/// answer would not fit is halved, and a single slot that still does not
/// fit is read row by row (`rows`).
async fn read_span<T, P, PF, R, RF>(span: Span, packed: P, rows: R) -> Result<Vec<T>, sqlx::Error>
where
    P: Fn(Span) -> PF,
    PF: std::future::Future<Output = Result<Option<Vec<T>>, sqlx::Error>>,
    R: Fn(Span) -> RF,
    RF: std::future::Future<Output = Result<Vec<T>, sqlx::Error>>,
{
    let mut out = Vec::new();
    let mut todo = vec![span];
    while let Some(span) = todo.pop() {
        if let Some(got) = packed(span).await? {
            out.extend(got);
        } else if let Some((a, b)) = halve(span) {
            todo.extend([a, b]);
        } else {
            out.extend(rows(span).await?);
        }
    }
    Ok(out)
}

/// `span` cut at a whole slot near its middle; `None` for a single slot.
fn halve((from, to): Span) -> Option<(Span, Span)> {
    let slots = (to - from).num_minutes() / SLOT_MINUTES;
    (slots > 1).then(|| {
        let mid = from + chrono::Duration::minutes(slots / 2 * SLOT_MINUTES);
        ((from, mid), (mid, to))
    })
}

/// The attempts of `span` as rows: the fallback of the packed read.
async fn attempt_rows(
    db: &MySqlPool,
    read: Read,
    span: Span,
) -> Result<Vec<AttemptRow>, sqlx::Error> {
    let mut qb = Qb::new(
        "SELECT ne.workflow_id, ne.node_id, CAST(ne.status = 'failed' AS SIGNED) AS failed, \
         CASE WHEN ne.status = 'failed' THEN ne.reason END AS reason, ne.duration_ms, \
         ne.run_created_at, ne.client_id, ne.run_id",
    );
    push_attempts(&mut qb, &read, span);
    let rows: Vec<AttemptColumns> = qb.build_query_as().fetch_all(db).await?;
    Ok(rows
        .into_iter()
        .map(
            |(workflow_id, node_id, failed, reason, duration_ms, created, client_id, run_id)| {
                AttemptRow {
                    workflow_id,
                    node_id: node_id.into(),
                    failed,
                    reason,
                    duration_ms,
                    slot: slots_between(read.base, created),
                    client_id,
                    run_id,
                }
            },
        )
        .collect())
}

/// Runs `qb` — `SELECT CAST(COUNT(*) AS SIGNED), GROUP_CONCAT(… SEPARATOR
/// '\n')` over a span — with packed values allowed up to `limit` bytes
/// (default: half the packet limit, since a longer value would not be sent
/// whole), and parses each line with `line`; `None` when the value would be
/// cut, or does not parse into exactly the counted lines. Read row by row,
/// the driver's per-row work took about three times what the database took
/// to read the rows (perf of the release build, an admin's 90 days: 99,000
/// runs and 161,000 attempts); packed, one value crosses the driver. No
/// `GROUP BY`: with one, MariaDB grouped through an on-disk temporary
/// table. Tabs and newlines never occur in the packed fields (numbers,
/// run statuses, node ids of [A-Za-z0-9_-], failure reasons).
async fn read_packed<T>(
    db: &MySqlPool,
    mut qb: Qb<'_>,
    limit: Option<i64>,
    line: impl Fn(&str) -> Option<T>,
) -> Result<Option<Vec<T>>, sqlx::Error> {
    let mut conn = db.acquire().await?;
    let limit = match limit {
        Some(l) => l,
        None => {
            sqlx::query_scalar("SELECT CAST(@@max_allowed_packet DIV 2 AS SIGNED)")
                .fetch_one(&mut *conn)
                .await?
        }
    };
    sqlx::query("SET SESSION group_concat_max_len = ?")
        .bind(limit)
        .execute(&mut *conn)
        .await?;
    let (count, packed): (i64, Option<Vec<u8>>) = qb.build_query_as().fetch_one(&mut *conn).await?;
    let packed = packed.unwrap_or_default();
    if packed.len() as i64 >= limit - 64 {
        return Ok(None);
    }
    Ok(parse_packed(&packed, count, line))
}

/// The lines of a packed value; `None` unless there are exactly `count`
/// and each parses.
fn parse_packed<T>(packed: &[u8], count: i64, line: impl Fn(&str) -> Option<T>) -> Option<Vec<T>> {
    if count == 0 {
        return packed.is_empty().then(Vec::new);
    }
    let mut out = Vec::with_capacity(usize::try_from(count).ok()?);
    for l in packed.split(|b| *b == b'\n') {
        out.push(line(std::str::from_utf8(l).ok()?)?);
    }
    (out.len() as i64 == count).then_some(out)
}

/// A packed attempt: workflow, node, failed (0 or 1), `=reason` or empty,
/// duration or empty, slot, client, run.
fn parse_attempt_line(line: &str) -> Option<AttemptRow> {
    let mut fields = line.split('\t');
    let workflow_id = fields.next()?.parse().ok()?;
    let node_id = fields.next()?;
    let failed = fields.next()?.parse().ok()?;
    let reason = match fields.next()? {
        "" => None,
        r => Some(r.strip_prefix('=')?.to_owned()),
    };
    let duration_ms = optional_number(fields.next()?)?;
    let slot = fields.next()?.parse().ok()?;
    let client_id = fields.next()?.parse().ok()?;
    let run_id = fields.next()?.parse().ok()?;
    (fields.next().is_none() && !node_id.is_empty()).then(|| AttemptRow {
        workflow_id,
        node_id: node_id.into(),
        failed,
        reason,
        duration_ms,
        slot,
        client_id,
        run_id,
    })
}

/// The names of `ids` that still exist: (workflow id, name).
pub async fn workflow_names(
    db: &MySqlPool,
    ids: impl IntoIterator<Item = u64>,
) -> Result<Vec<(u64, String)>, sqlx::Error> {
    let mut ids = ids.into_iter().peekable();
    if ids.peek().is_none() {
        return Ok(vec![]);
    }
    let mut qb = Qb::new("SELECT workflow_id, name FROM workflow WHERE workflow_id IN (");
    let mut list = qb.separated(", ");
    for id in ids {
        list.push_bind(id);
    }
    list.push_unseparated(")");
    qb.build_query_as().fetch_all(db).await
}

/// Runs pending now, whatever their creation time.
pub async fn pending_now(
    db: &MySqlPool,
    scope: ClientScope,
    f: &Filters,
) -> Result<i64, sqlx::Error> {
    let mut qb = Qb::new("SELECT CAST(COUNT(*) AS SIGNED) FROM run r WHERE r.status = 'pending'");
    crate::db::runs::push_scope(&mut qb, scope);
    push_run_filters(&mut qb, f);
    qb.build_query_scalar().fetch_one(db).await
}

#[cfg(test)]
mod tests {
    use super::{
        halve, millis_between, parse_attempt_line, parse_packed, parse_run_line, read_parts,
        AttemptRow, READ_PARTS, SLOT_MINUTES,
    };
    use chrono::{DateTime, NaiveDate, Utc};
    use katalusis_analytics::{Bucket, Tz, Window};

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn milliseconds_truncate_toward_zero_like_the_sql_they_replace() {
        let a = t("2026-03-02T09:10:00.000000Z");
        assert_eq!(millis_between(a, t("2026-03-02T09:10:01.500999Z")), 1500);
        assert_eq!(millis_between(a, t("2026-03-02T09:10:00.000999Z")), 0);
        // A start after the finish (clock skew) stays negative, rounded toward zero.
        assert_eq!(millis_between(t("2026-03-02T09:10:01.500999Z"), a), -1500);
        assert_eq!(millis_between(a, t("2026-03-03T09:10:00Z")), 86_400_000);
    }

    #[test]
    fn the_window_is_read_in_contiguous_parts_of_whole_slots() {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        // Paris leaves summer time on 25 October: a 23-day window of 24-hour
        // days but one, which is 25 hours long.
        let paris: Tz = "Europe/Paris".parse().unwrap();
        for w in [
            Window::new(d(3, 2), d(3, 2), Bucket::Day, Tz::UTC).unwrap(),
            Window::new(d(10, 10), d(11, 1), Bucket::Day, paris).unwrap(),
            Window::new(d(1, 1), d(3, 31), Bucket::Week, Tz::UTC).unwrap(),
        ] {
            let parts = read_parts(&w);
            assert_eq!(parts.len(), READ_PARTS as usize);
            assert_eq!(parts[0].0, w.start());
            assert_eq!(parts.last().unwrap().1, w.end());
            for pair in parts.windows(2) {
                assert_eq!(pair[0].1, pair[1].0);
            }
            for (from, to) in &parts {
                assert!(from < to);
                assert_eq!((*from - w.start()).num_minutes() % SLOT_MINUTES, 0);
            }
        }
    }

    #[test]
    fn packed_attempts_parse_exactly_or_not_at_all() {
        let packed = b"7\tfetch\t0\t\t120\t4\t3\t11\n7\tload-2\t1\t=timeout\t\t4\t3\t11\n9\tx_y\t1\t=\t5\t96\t8\t12";
        let rows = parse_packed(packed, 3, parse_attempt_line).unwrap();
        let row = |wf: u64, node: &str, failed, reason: Option<&str>, ms| AttemptRow {
            workflow_id: wf,
            node_id: node.into(),
            failed,
            reason: reason.map(Into::into),
            duration_ms: ms,
            slot: if wf == 9 { 96 } else { 4 },
            client_id: if wf == 9 { 8 } else { 3 },
            run_id: if wf == 9 { 12 } else { 11 },
        };
        assert_eq!(
            rows,
            [
                row(7, "fetch", 0, None, Some(120)),
                row(7, "load-2", 1, Some("timeout"), None),
                // An empty reason is not a missing one.
                row(9, "x_y", 1, Some(""), Some(5)),
            ]
        );
        assert_eq!(parse_packed(b"", 0, parse_attempt_line), Some(vec![]));
        // Fewer lines than counted: the string was cut.
        assert_eq!(parse_packed(packed, 4, parse_attempt_line), None);
        // A line cut inside a field, or with a field too many or too few.
        for bad in [
            &b"7\tfetch\t0\t\t12x\t4\t3\t11"[..],
            b"7\tfetch\t0\t\t120\t4\t3\t11\t1",
            b"7\tfetch\t0\t\t120\t4\t3",
            b"7\tfetch\t0\t",
            b"7\tfetch\t1\ttimeout\t1\t4\t3\t11",
            b"7\t\t0\t\t1\t4\t3\t11",
        ] {
            assert_eq!(
                parse_packed(bad, 1, parse_attempt_line),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn a_span_is_halved_at_whole_slots_down_to_one_slot() {
        let from = DateTime::parse_from_rfc3339("2026-03-02T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let m = |n| from + chrono::Duration::minutes(n * SLOT_MINUTES);
        assert_eq!(halve((from, m(5))), Some(((from, m(2)), (m(2), m(5)))));
        assert_eq!(halve((from, m(2))), Some(((from, m(1)), (m(1), m(2)))));
        assert_eq!(halve((from, m(1))), None);
    }

    #[test]
    fn packed_runs_parse_their_slot_status_and_optional_durations() {
        let run = parse_run_line("12\t40\t5\t3\tsucceeded\t1500\t-2").unwrap();
        assert_eq!(
            (
                run.slot,
                run.run_id,
                run.client_id,
                run.workflow_id,
                run.status.as_str(),
                run.duration_ms,
                run.queue_ms
            ),
            (12, 40, 5, 3, "succeeded", Some(1500), Some(-2))
        );
        let pending = parse_run_line("0\t41\t5\t3\tpending\t\t").unwrap();
        assert_eq!((pending.duration_ms, pending.queue_ms), (None, None));
        for bad in [
            "0\t41\t5\t3\tlost\t\t",
            "0\t41\t5\t3\tpending\t\t\t",
            "0\t41\t5\t3\tpending\t1.5\t",
            "x\t41\t5\t3\tpending\t\t",
            "0\t5\t3\tpending\t\t",
        ] {
            assert!(parse_run_line(bad).is_none(), "{bad:?}");
        }
    }
}
