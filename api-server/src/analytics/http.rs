//! The two analytics handlers. They validate the query, run the requested
//! metric groups' queries concurrently (each on its own pooled connection)
//! and fold slots into buckets with `katalusis_analytics`; the run metrics
//! come from two reads folded by `runs`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::Utc;
use katalusis_analytics::{rate, Percentiles, Window, AGE_BANDS};
use sqlx::MySqlPool;
use tokio::sync::OnceCell;

use super::db::{self, OpenSummary, TaskRefRow, TaskScope};
use super::model::*;
use super::rollup;
use super::run_rows;
use super::runs as run_metrics;
use crate::auth::{ClientScope, CurrentUser};
use crate::error::ApiError;
use crate::http::extract::Query;
use crate::state::AppState;
use crate::tasks::db::Viewer;
use crate::tasks::model::Priority;

/// How many completed tasks the cycle-time scatter shows.
pub const CYCLE_POINTS: u32 = 500;
/// How many at-risk tasks the SLA list shows.
pub const AT_RISK_LIST: u32 = 50;
const OLDEST_LIST: u32 = 10;

const TASKS_NOT_STORED: &[&str] = &[
    "cumulative flow per intermediate status: only creation and completion times are columns; \
     status history is kept as status names in the activity log, which renames would break",
    "lead time from work start: when work started is not stored (cycle time counts from creation)",
];
const RUNS_NOT_STORED: &[&str] = &[
    "per-node queue wait: when a node became ready is not stored, only when its attempt started",
];

fn u(n: i64) -> u64 {
    n.max(0) as u64
}

fn task_ref(r: TaskRefRow) -> TaskRef {
    TaskRef {
        task_id: r.task_id,
        key: r.task_key,
        title: r.title,
        client_id: r.client_id,
        priority: r.priority,
        status_id: r.status_id,
        created_at: r.created_at,
        sla_risk_at: r.sla_risk_at,
        sla_due_at: r.sla_due_at,
    }
}

fn breach(with_sla: u64, breached: u64) -> BreachCount {
    BreachCount {
        with_sla,
        breached,
        breach_rate: rate(breached, with_sla),
    }
}

fn to_api(errs: Vec<katalusis_crds::FieldError>) -> ApiError {
    ApiError::Validation(errs)
}

const PRIORITIES: [Priority; 4] = [
    Priority::Critical,
    Priority::High,
    Priority::Medium,
    Priority::Low,
];

struct TaskCtx<'a> {
    db: &'a MySqlPool,
    s: TaskScope,
    scope: ClientScope,
    r: &'a Request<TaskGroup>,
    /// Read once for the open, aging and SLA groups, whichever asks first.
    open_rows: OnceCell<OpenSummary>,
}

impl TaskCtx<'_> {
    fn wants(&self, g: TaskGroup) -> bool {
        self.r.groups.contains(&g)
    }

    fn w(&self) -> &Window {
        &self.r.window
    }

    async fn open_rows(&self) -> Result<&OpenSummary, sqlx::Error> {
        self.open_rows
            .get_or_try_init(|| async {
                if self.s.sees_everything(&self.r.filters) {
                    db::open_summary_counted(self.db, self.r.now).await
                } else {
                    db::open_summary(self.db, &self.s, &self.r.filters, self.r.now).await
                }
            })
            .await
    }

    async fn throughput_and_flow(
        &self,
    ) -> Result<(Option<Throughput>, Option<CumulativeFlow>), sqlx::Error> {
        if !self.wants(TaskGroup::Throughput) && !self.wants(TaskGroup::Flow) {
            return Ok((None, None));
        }
        let f = &self.r.filters;
        let from_rollup = self.s.sees_everything(f) && rollup::covers(self.w());
        let db::SlotCounts {
            created: created_rows,
            completed: completed_rows,
        } = if from_rollup {
            rollup::window_slots(self.db, self.w()).await?
        } else {
            let (created, completed) = tokio::try_join!(
                db::created_slots(self.db, &self.s, f, self.w()),
                db::completed_slots(self.db, &self.s, f, self.w()),
            )?;
            db::SlotCounts { created, completed }
        };
        let created_and_completed: u64 = created_rows.iter().map(|r| u(r.2)).sum();
        let created = self
            .w()
            .fold_slots(created_rows.iter().map(|(s, n, _)| (*s, u(*n))));
        let completed = self
            .w()
            .fold_slots(completed_rows.iter().map(|(s, n)| (*s, u(*n))));
        let created_total: u64 = created.iter().sum();
        let completed_total: u64 = completed.iter().sum();
        let flow = if self.wants(TaskGroup::Flow) {
            let (arrived_before, done_before) = if from_rollup {
                rollup::before(self.db, self.w()).await?
            } else {
                db::before_window(self.db, &self.s, f, self.w()).await?
            };
            let mut arrived = Vec::with_capacity(created.len());
            let mut done = Vec::with_capacity(created.len());
            let (mut a, mut d) = (u(arrived_before), u(done_before));
            for (c, x) in created.iter().zip(&completed) {
                a += c;
                d += x;
                arrived.push(a);
                done.push(d);
            }
            let open = arrived
                .iter()
                .zip(&done)
                .map(|(a, d)| a.saturating_sub(*d))
                .collect();
            Some(CumulativeFlow {
                arrived,
                done,
                open,
            })
        } else {
            None
        };
        let throughput = self.wants(TaskGroup::Throughput).then(|| Throughput {
            created_total,
            completed_total,
            created_and_completed,
            completion_rate: rate(created_and_completed, created_total),
            created,
            completed,
        });
        Ok((throughput, flow))
    }

    async fn open(&self) -> Result<Option<OpenTasks>, sqlx::Error> {
        if !self.wants(TaskGroup::Open) {
            return Ok(None);
        }
        let (rows, statuses) =
            tokio::try_join!(self.open_rows(), crate::tasks::db::statuses(self.db))?;
        let rows = &rows.groups;
        let mut by_status: BTreeMap<u64, u64> = BTreeMap::new();
        let mut by_priority: BTreeMap<Priority, u64> = BTreeMap::new();
        for (s, p, _, n) in rows {
            *by_status.entry(*s).or_default() += u(*n);
            *by_priority.entry(*p).or_default() += u(*n);
        }
        Ok(Some(OpenTasks {
            total: by_status.values().sum(),
            by_status: statuses
                .into_iter()
                .filter(|s| !s.is_done || by_status.contains_key(&s.status_id))
                .map(|s| StatusTally {
                    count: by_status.get(&s.status_id).copied().unwrap_or(0),
                    status_id: s.status_id,
                    name: s.name,
                })
                .collect(),
            by_priority: PRIORITIES
                .iter()
                .map(|p| PriorityCount {
                    priority: *p,
                    count: by_priority.get(p).copied().unwrap_or(0),
                })
                .collect(),
        }))
    }

    async fn cycle(&self) -> Result<Option<CycleTime>, sqlx::Error> {
        if !self.wants(TaskGroup::Cycle) {
            return Ok(None);
        }
        let f = &self.r.filters;
        let (mut seconds, points) = tokio::try_join!(
            db::cycle_seconds(self.db, &self.s, f, self.w()),
            db::cycle_points(self.db, &self.s, f, self.w(), CYCLE_POINTS + 1),
        )?;
        let hours = Percentiles::of_values(&mut seconds, 3600.0);
        let points_truncated = points.len() > CYCLE_POINTS as usize;
        Ok(Some(CycleTime {
            hours: hours.into(),
            points: points
                .into_iter()
                .take(CYCLE_POINTS as usize)
                .map(|(task_id, key, completed_at, secs)| CyclePoint {
                    task_id,
                    key,
                    completed_at,
                    hours: secs as f64 / 3600.0,
                })
                .collect(),
            points_truncated,
        }))
    }

    async fn aging(&self) -> Result<Option<Aging>, sqlx::Error> {
        if !self.wants(TaskGroup::Aging) {
            return Ok(None);
        }
        let f = &self.r.filters;
        let (rows, oldest, statuses) = tokio::try_join!(
            self.open_rows(),
            db::oldest_open(self.db, &self.s, f, OLDEST_LIST),
            crate::tasks::db::statuses(self.db),
        )?;
        let bands = AGE_BANDS
            .iter()
            .enumerate()
            .map(|(i, (label, _))| {
                let mut of_band: BTreeMap<u64, u64> = BTreeMap::new();
                for (s, _, _, n) in rows.groups.iter().filter(|r| r.2 == i as i64) {
                    *of_band.entry(*s).or_default() += u(*n);
                }
                AgeBandCount {
                    band: (*label).into(),
                    total: of_band.values().sum(),
                    by_status: statuses
                        .iter()
                        .filter(|s| !s.is_done || of_band.contains_key(&s.status_id))
                        .map(|s| StatusTally {
                            status_id: s.status_id,
                            name: s.name.clone(),
                            count: of_band.get(&s.status_id).copied().unwrap_or(0),
                        })
                        .collect(),
                }
            })
            .collect();
        Ok(Some(Aging {
            bands,
            oldest: oldest.into_iter().map(task_ref).collect(),
        }))
    }

    async fn sla(&self) -> Result<Option<SlaMetrics>, sqlx::Error> {
        if !self.wants(TaskGroup::Sla) {
            return Ok(None);
        }
        let f = &self.r.filters;
        let now = self.r.now;
        let (rows, open, at_risk) = tokio::try_join!(
            async {
                if self.s.sees_everything(f) {
                    db::breaches_counted(self.db, self.w(), now).await
                } else {
                    db::breaches(self.db, &self.s, f, self.w(), now).await
                }
            },
            self.open_rows(),
            db::at_risk(self.db, &self.s, f, now, AT_RISK_LIST),
        )?;
        let (open_breached, open_at_risk) = (open.breached, open.at_risk);
        let mut by_priority: BTreeMap<Priority, (u64, u64)> = BTreeMap::new();
        let mut by_client: BTreeMap<u64, (String, u64, u64)> = BTreeMap::new();
        for (p, client, name, n, b) in rows {
            let e = by_priority.entry(p).or_default();
            e.0 += u(n);
            e.1 += u(b);
            let c = by_client.entry(client).or_insert((name, 0, 0));
            c.1 += u(n);
            c.2 += u(b);
        }
        let with_sla = by_priority.values().map(|e| e.0).sum();
        let breached = by_priority.values().map(|e| e.1).sum();
        let mut by_client: Vec<ClientBreach> = by_client
            .into_iter()
            .map(|(client_id, (name, n, b))| ClientBreach {
                client_id,
                name,
                counts: breach(n, b),
            })
            .collect();
        by_client.sort_by(|a, b| {
            b.counts
                .breached
                .cmp(&a.counts.breached)
                .then(a.name.cmp(&b.name))
        });
        Ok(Some(SlaMetrics {
            window: breach(with_sla, breached),
            by_priority: PRIORITIES
                .iter()
                .filter_map(|p| {
                    by_priority.get(p).map(|(n, b)| PriorityBreach {
                        priority: *p,
                        counts: breach(*n, *b),
                    })
                })
                .collect(),
            by_client,
            open_breached: u(open_breached),
            open_at_risk: u(open_at_risk),
            at_risk: at_risk.into_iter().map(task_ref).collect(),
        }))
    }

    async fn people(&self) -> Result<Option<People>, sqlx::Error> {
        if !self.wants(TaskGroup::People) {
            return Ok(None);
        }
        let f = &self.r.filters;
        let (completed, open, (changes, tasks)) = tokio::try_join!(
            db::per_assignee(self.db, &self.s, f, Some(self.w())),
            db::per_assignee(self.db, &self.s, f, None),
            db::reassignments(self.db, &self.s, f, self.w()),
        )?;
        let users = |rows: Vec<(u64, String, i64)>| {
            rows.into_iter()
                .map(|(user_id, name, n)| UserCount {
                    user_id,
                    name,
                    count: u(n),
                })
                .collect()
        };
        Ok(Some(People {
            completed_by_assignee: users(completed),
            open_by_assignee: users(open),
            reassignments: u(changes),
            reassigned_tasks: u(tasks),
        }))
    }

    async fn imports(&self) -> Result<Option<Imports>, sqlx::Error> {
        if !self.wants(TaskGroup::Imports) {
            return Ok(None);
        }
        let (n, rows, imported, invalid) =
            db::imports(self.db, self.scope, &self.r.filters, self.w()).await?;
        Ok(Some(Imports {
            imports: u(n),
            rows_total: u(rows),
            rows_imported: u(imported),
            rows_invalid: u(invalid),
            error_rate: rate(u(invalid), u(rows)),
        }))
    }
}

/// Task metrics over the tasks the caller may see: created vs completed,
/// open by status and priority, cumulative flow, cycle time, aging work,
/// SLA breaches and risks, per-assignee productivity and imports. Each
/// metric group is computed only when asked for (`groups`).
#[utoipa::path(get, path = "/api/analytics/tasks", tag = "analytics", security(("bearer" = [])),
    params(AnalyticsQuery),
    responses((status = 200, body = TaskAnalytics), (status = 400), (status = 422)))]
pub async fn tasks(
    axum::extract::State(state): axum::extract::State<AppState>,
    user: CurrentUser,
    Query(q): Query<AnalyticsQuery>,
) -> Result<axum::Json<TaskAnalytics>, ApiError> {
    let r = q
        .parse(&TaskGroup::ALL, TaskGroup::as_str, Utc::now())
        .map_err(to_api)?;
    let viewer = Viewer {
        user_id: user.id,
        role: user.role,
    };
    let s = TaskScope::of(&state.db, viewer, &r.filters)
        .await
        .map_err(|e| {
            ApiError::Internal(anyhow::Error::new(e).context("reading the manager's clients"))
        })?;
    let ctx = TaskCtx {
        db: &state.db,
        s,
        scope: ClientScope::of(&user),
        r: &r,
        open_rows: OnceCell::new(),
    };
    let started = std::time::Instant::now();
    let ((throughput, flow), open, cycle, aging, sla, people, imports) = tokio::try_join!(
        ctx.throughput_and_flow(),
        ctx.open(),
        ctx.cycle(),
        ctx.aging(),
        ctx.sla(),
        ctx.people(),
        ctx.imports(),
    )
    .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("computing task analytics")))?;
    tracing::debug!(
        groups = ?r.groups.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "task analytics"
    );
    Ok(axum::Json(TaskAnalytics {
        window: WindowView::of(&r.window, r.now),
        throughput,
        open,
        flow,
        cycle,
        aging,
        sla,
        people,
        imports,
        not_stored: TASKS_NOT_STORED.iter().map(|s| (*s).into()).collect(),
    }))
}

/// Run metrics over the runs the caller may see (clients: runs published
/// to them): runs per bucket by status, success rate and duration per
/// workflow, per-node durations and failures, failures by reason, queue
/// wait and busiest hours (local to `tz`).
#[utoipa::path(get, path = "/api/analytics/runs", tag = "analytics", security(("bearer" = [])),
    params(AnalyticsQuery),
    responses((status = 200, body = RunAnalytics), (status = 400), (status = 422)))]
pub async fn runs(
    axum::extract::State(state): axum::extract::State<AppState>,
    user: CurrentUser,
    Query(q): Query<AnalyticsQuery>,
) -> Result<axum::Json<RunAnalytics>, ApiError> {
    let r = q
        .parse(&RunGroup::ALL, RunGroup::as_str, Utc::now())
        .map_err(to_api)?;
    if r.filters.assignee_id.is_some() {
        return Err(ApiError::field(
            "assigneeId",
            "runs have no assignee; filter by clientId or workflowId",
        ));
    }
    let scope = ClientScope::of(&user);
    let wants = |g: RunGroup| r.groups.contains(&g);
    let (f, w) = (&r.filters, &r.window);
    let pool = &state.db;
    let wants_runs = [
        RunGroup::Volume,
        RunGroup::Hours,
        RunGroup::Workflows,
        RunGroup::Queue,
    ]
    .into_iter()
    .any(wants);
    let wants_attempts = wants(RunGroup::Nodes) || wants(RunGroup::Failures);
    // Two reads serve every group: the window's runs and their attempts.
    // An admin's come mostly from the finished days the server keeps.
    let kept = async {
        if scope == ClientScope::All && (wants_runs || wants_attempts) {
            state.finished.window(pool, f, w, r.now).await
        } else {
            Ok(None)
        }
    };
    let read = async {
        let (kept, pending) = tokio::try_join!(kept, async {
            if wants(RunGroup::Queue) {
                run_rows::pending_now(pool, scope, f).await
            } else {
                Ok(0)
            }
        })?;
        let (runs, attempts) = match kept {
            Some((runs, attempts)) => (
                if wants_runs { runs } else { vec![] },
                if wants_attempts { attempts } else { vec![] },
            ),
            None => tokio::try_join!(
                async {
                    if wants_runs {
                        run_rows::window_runs(pool, scope, f, w).await
                    } else {
                        Ok(vec![])
                    }
                },
                async {
                    if wants_attempts {
                        run_rows::window_attempts(pool, scope, f, w).await
                    } else {
                        Ok(vec![])
                    }
                },
            )?,
        };
        // Named after counting, like the grouped queries did: only the
        // workflows that ran, and none that no longer exists.
        let mut ids: BTreeSet<u64> = BTreeSet::new();
        if wants(RunGroup::Workflows) {
            ids.extend(runs.iter().map(|x| x.workflow_id));
        }
        if wants(RunGroup::Nodes) {
            ids.extend(attempts.iter().map(|x| x.workflow_id));
        }
        let names: HashMap<u64, String> = run_rows::workflow_names(pool, ids)
            .await?
            .into_iter()
            .collect();
        Ok::<_, sqlx::Error>((runs, attempts, pending, names))
    };
    let started = std::time::Instant::now();
    let (runs, attempts, pending, names) = read.await.map_err(|e| {
        ApiError::Internal(anyhow::Error::new(e).context("computing run analytics"))
    })?;
    let read_ms = started.elapsed().as_millis() as u64;
    // The attempts' metrics are folded on another thread while this one
    // folds the runs': an admin's 90 days are 161,000 attempts and 99,000
    // runs, each fold a sort of their durations.
    let (want_nodes, want_failures) = (wants(RunGroup::Nodes), wants(RunGroup::Failures));
    let attempt_metrics = {
        let names = names.clone();
        tokio::task::spawn_blocking(move || {
            (
                want_nodes.then(|| run_metrics::nodes(&attempts, &names)),
                want_failures.then(|| run_metrics::failures(&attempts)),
            )
        })
    };
    let volume = wants(RunGroup::Volume).then(|| run_metrics::volume(w, &runs));
    let hours = wants(RunGroup::Hours).then(|| run_metrics::hours(w, &runs));
    let workflows = wants(RunGroup::Workflows).then(|| run_metrics::workflows(&runs, &names));
    let queue = wants(RunGroup::Queue).then(|| QueueWait {
        wait_ms: run_metrics::queue_wait(&runs).into(),
        pending_now: u(pending),
    });
    let (nodes, failures) = attempt_metrics.await.map_err(|e| {
        ApiError::Internal(anyhow::Error::new(e).context("folding the node attempts"))
    })?;
    tracing::debug!(
        groups = ?r.groups.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        read_ms,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "run analytics"
    );
    Ok(axum::Json(RunAnalytics {
        window: WindowView::of(&r.window, r.now),
        volume,
        workflows,
        nodes,
        failures,
        queue,
        hours,
        not_stored: RUNS_NOT_STORED.iter().map(|s| (*s).into()).collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_groups_and_bad_dates_name_their_fields() {
        let q = AnalyticsQuery {
            groups: Some("throughput,velocity".into()),
            from: Some("2026-13-01".into()),
            to: Some("2026-01-02".into()),
            tz: Some("Nowhere/City".into()),
            ..Default::default()
        };
        let errs = q
            .parse(&TaskGroup::ALL, TaskGroup::as_str, Utc::now())
            .unwrap_err();
        let fields: BTreeSet<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, BTreeSet::from(["groups", "from", "tz"]));
    }

    #[test]
    fn a_preset_with_dates_is_refused_and_no_range_means_thirty_days() {
        let both = AnalyticsQuery {
            range: Some("7d".into()),
            from: Some("2026-01-01".into()),
            ..Default::default()
        };
        let errs = both
            .parse(&RunGroup::ALL, RunGroup::as_str, Utc::now())
            .unwrap_err();
        assert_eq!(errs[0].field, "range");
        let none = AnalyticsQuery::default()
            .parse(&RunGroup::ALL, RunGroup::as_str, Utc::now())
            .unwrap();
        assert_eq!(none.window.len(), 30);
        assert_eq!(none.groups.len(), RunGroup::ALL.len());
    }
}
