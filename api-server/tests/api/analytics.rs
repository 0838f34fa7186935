//! Analytics answers checked against fixtures with known numbers: tasks and
//! runs are written with exact timestamps, so every rate, percentile and
//! bucket below is computed by hand.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use sqlx::MySqlPool;

use crate::support::*;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

struct People {
    admin: Session,
    manager: Session,
    carl: Session,
    una: Session,
}

async fn people(app: &TestApp) -> People {
    let admin = app.admin().await;
    let manager = app.user(&admin, "mia", "manager").await;
    let carl = app.user(&admin, "carl", "client").await;
    let una = app.user(&admin, "una", "client").await;
    app.assign(&admin, manager.user_id, carl.user_id).await;
    People {
        admin,
        manager,
        carl,
        una,
    }
}

/// An empty workflow for carl (`w1`) and one for una (`w2`), whose runs the
/// run fixtures write directly.
async fn empty_workflows(app: &TestApp, p: &People) -> (u64, u64) {
    let mut ids = Vec::new();
    for client in [p.carl.user_id, p.una.user_id] {
        let wf = app
            .create_workflow(&p.admin, client, json!({"nodes": [], "edges": []}))
            .await;
        ids.push(wf["id"].as_u64().unwrap());
    }
    (ids[0], ids[1])
}

/// A task written directly, so its times are exact.
struct T {
    created: DateTime<Utc>,
    completed: Option<DateTime<Utc>>,
    sla: Option<(DateTime<Utc>, DateTime<Utc>)>,
    priority: &'static str,
}

impl T {
    fn new(created: DateTime<Utc>) -> Self {
        Self {
            created,
            completed: None,
            sla: None,
            priority: "high",
        }
    }
    fn done(mut self, after: Duration) -> Self {
        self.completed = Some(self.created + after);
        self
    }
    /// SLA risk and due points.
    fn sla(mut self, risk: DateTime<Utc>, due: DateTime<Utc>) -> Self {
        self.sla = Some((risk, due));
        self
    }
    fn priority(mut self, p: &'static str) -> Self {
        self.priority = p;
        self
    }
}

/// Inserts `t` for `client`, assigned to `assignee`; its id.
async fn task(app: &TestApp, client: u64, reporter: u64, assignee: u64, t: T) -> u64 {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) + 1 FROM task")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let id = sqlx::query(
        "INSERT INTO task (client_id, task_number, task_key, title, description, status_id, priority, \
         reporter_id, position, source_kind, sla_risk_at, sla_due_at, created_at, updated_at, completed_at) \
         VALUES (?, ?, ?, ?, '', ?, ?, ?, ?, 'manual', ?, ?, ?, ?, ?)",
    )
    .bind(client)
    .bind(n)
    .bind(format!("T-{n}"))
    .bind(format!("task {n}"))
    .bind(if t.completed.is_some() { 4 } else { 2 })
    .bind(t.priority)
    .bind(reporter)
    .bind(n as f64)
    .bind(t.sla.map(|s| s.0))
    .bind(t.sla.map(|s| s.1))
    .bind(t.created)
    .bind(t.completed.unwrap_or(t.created))
    .bind(t.completed)
    .execute(&app.db)
    .await
    .unwrap()
    .last_insert_id();
    sqlx::query(
        "INSERT INTO task_assignee (task_id, user_id, client_id, task_open) VALUES (?, ?, ?, ?)",
    )
    .bind(id)
    .bind(assignee)
    .bind(client)
    .bind(t.completed.is_none())
    .execute(&app.db)
    .await
    .unwrap();
    // Written behind the server's back: recount what its task writes keep.
    let mut conn = app.db.acquire().await.unwrap();
    katalusis_api::analytics::rollup::rebuild(&mut conn)
        .await
        .unwrap();
    id
}

async fn get(app: &TestApp, s: &Session, url: &str) -> Value {
    let r = app.get(url, s).await;
    assert_eq!(r.status.as_u16(), 200, "{url}: {}", r.body);
    r.body
}

/// Carl's ten tasks of 2026-03-02 (all with an SLA): three completed in 1 h,
/// 2 h and 10 h, three open and past their deadline, two open and at risk
/// now, two open and on track. Una (assigned to no manager) has two tasks,
/// one breached.
async fn sla_fixture(app: &TestApp, p: &People) -> Vec<u64> {
    let created = at("2026-03-02T09:00:00Z");
    let (risk, due) = (created + Duration::hours(18), created + Duration::hours(24));
    let now = Utc::now();
    let carl = p.carl.user_id;
    let admin = p.admin.user_id;
    let mut ids = vec![];
    for h in [1, 2, 10] {
        ids.push(
            task(
                app,
                carl,
                admin,
                carl,
                T::new(created).done(Duration::hours(h)).sla(risk, due),
            )
            .await,
        );
    }
    for _ in 0..3 {
        ids.push(task(app, carl, admin, carl, T::new(created).sla(risk, due)).await);
    }
    for d in [2, 1] {
        let t = T::new(created)
            .sla(now - Duration::hours(1), now + Duration::days(d))
            .priority("critical");
        ids.push(task(app, carl, admin, carl, t).await);
    }
    for _ in 0..2 {
        let t = T::new(created)
            .sla(now + Duration::days(5), now + Duration::days(6))
            .priority("medium");
        ids.push(task(app, carl, admin, carl, t).await);
    }
    let una = p.una.user_id;
    task(
        app,
        una,
        admin,
        una,
        T::new(created).done(Duration::hours(30)).sla(risk, due),
    )
    .await;
    task(
        app,
        una,
        admin,
        una,
        T::new(created).done(Duration::hours(3)).sla(risk, due),
    )
    .await;
    ids
}

const MARCH: &str = "from=2026-03-01&to=2026-03-07";

#[sqlx::test(migrations = "../migrations")]
async fn ten_tasks_with_three_breached_give_thirty_percent_and_a_two_hour_median(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let p = people(&app).await;
    let ids = sla_fixture(&app, &p).await;

    let b = get(&app, &p.manager, &format!("/api/analytics/tasks?{MARCH}")).await;
    assert_eq!(b["window"]["buckets"].as_array().unwrap().len(), 7);
    let sla = &b["sla"];
    assert_eq!(sla["withSla"], 10);
    assert_eq!(sla["breached"], 3);
    assert_eq!(sla["breachRate"], 0.3);
    assert_eq!(sla["openBreached"], 3);
    assert_eq!(sla["openAtRisk"], 2);
    let at_risk: Vec<u64> = sla["atRisk"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["taskId"].as_u64().unwrap())
        .collect();
    // Soonest deadline first: the one due in a day, then in two.
    assert_eq!(at_risk, vec![ids[7], ids[6]]);
    let by_priority = sla["byPriority"].as_array().unwrap();
    assert_eq!(by_priority[0]["priority"], "critical");
    assert_eq!(by_priority[0]["withSla"], 2);
    assert_eq!(by_priority[0]["breached"], 0);
    assert_eq!(by_priority[1]["priority"], "high");
    assert_eq!(by_priority[1]["withSla"], 6);
    assert_eq!(by_priority[1]["breachRate"], 0.5);
    assert_eq!(sla["byClient"].as_array().unwrap().len(), 1);

    let cycle = &b["cycle"];
    assert_eq!(cycle["hours"]["count"], 3);
    assert_eq!(cycle["hours"]["p50"], 2.0);
    assert_eq!(cycle["hours"]["p85"], 10.0);
    assert_eq!(cycle["hours"]["p95"], 10.0);
    assert_eq!(cycle["points"].as_array().unwrap().len(), 3);
    assert_eq!(cycle["pointsTruncated"], false);

    let t = &b["throughput"];
    assert_eq!(t["createdTotal"], 10);
    assert_eq!(t["completedTotal"], 3);
    assert_eq!(t["completionRate"], 0.3);
    assert_eq!(t["created"], json!([0, 10, 0, 0, 0, 0, 0]));
    assert_eq!(t["completed"], json!([0, 3, 0, 0, 0, 0, 0]));
    assert_eq!(b["flow"]["open"], json!([0, 7, 7, 7, 7, 7, 7]));
    assert_eq!(b["flow"]["done"], json!([0, 3, 3, 3, 3, 3, 3]));

    assert_eq!(b["open"]["total"], 7);
    let in_progress = b["open"]["byStatus"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["statusId"] == 2)
        .unwrap()
        .clone();
    assert_eq!(in_progress["count"], 7);
    assert_eq!(
        b["open"]["byPriority"],
        json!([{"priority": "critical", "count": 2}, {"priority": "high", "count": 3},
               {"priority": "medium", "count": 2}, {"priority": "low", "count": 0}])
    );
    // Created in March, open now: all seven are older than 30 days.
    let bands = b["aging"]["bands"].as_array().unwrap();
    assert_eq!(bands.last().unwrap()["band"], ">30d");
    assert_eq!(bands.last().unwrap()["total"], 7);
    assert_eq!(b["people"]["completedByAssignee"][0]["count"], 3);
    assert_eq!(b["people"]["openByAssignee"][0]["count"], 7);

    // The admin also counts Una's two tasks, one of them breached.
    let a = get(
        &app,
        &p.admin,
        &format!("/api/analytics/tasks?{MARCH}&groups=sla,cycle"),
    )
    .await;
    assert_eq!(a["sla"]["withSla"], 12);
    assert_eq!(a["sla"]["breached"], 4);
    assert_eq!(a["sla"]["byClient"].as_array().unwrap().len(), 2);
    assert_eq!(a["cycle"]["hours"]["count"], 5);
    // 1, 2, 3, 10, 30 hours.
    assert_eq!(a["cycle"]["hours"]["p50"], 3.0);
    assert!(a.get("throughput").is_none(), "only the asked groups: {a}");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_manager_and_a_client_see_only_their_scope(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let p = people(&app).await;
    sla_fixture(&app, &p).await;
    // A task of Carl's shared with nobody and assigned to Una is not Carl's
    // to see, but his manager sees it (it belongs to the managed client).
    let created = at("2026-03-03T12:00:00Z");
    task(
        &app,
        p.carl.user_id,
        p.admin.user_id,
        p.una.user_id,
        T::new(created),
    )
    .await;

    let url = format!("/api/analytics/tasks?{MARCH}&groups=throughput");
    let created_total = |b: &Value| b["throughput"]["createdTotal"].as_u64().unwrap();
    assert_eq!(created_total(&get(&app, &p.admin, &url).await), 13);
    assert_eq!(created_total(&get(&app, &p.manager, &url).await), 11);
    assert_eq!(created_total(&get(&app, &p.carl, &url).await), 10);
    assert_eq!(created_total(&get(&app, &p.una, &url).await), 3);
    // Naming an unassigned client widens nothing.
    let other = format!("{url}&clientId={}", p.una.user_id);
    assert_eq!(created_total(&get(&app, &p.manager, &other).await), 0);
    assert_eq!(created_total(&get(&app, &p.admin, &other).await), 2);
    // Filters narrow: Una's assignments within Carl's client.
    let assigned = format!("{url}&assigneeId={}", p.una.user_id);
    assert_eq!(created_total(&get(&app, &p.manager, &assigned).await), 1);

    // Shared with Carl: his to see, once even when also assigned to him.
    let (carl, una, admin) = (p.carl.user_id, p.una.user_id, p.admin.user_id);
    let shared = task(&app, carl, admin, una, T::new(created)).await;
    let both = task(&app, carl, admin, carl, T::new(created)).await;
    for id in [shared, both] {
        sqlx::query("INSERT INTO task_share (task_id, user_id, created_by, created_at) VALUES (?, ?, ?, NOW())")
            .bind(id)
            .bind(carl)
            .bind(admin)
            .execute(&app.db)
            .await
            .unwrap();
    }
    assert_eq!(created_total(&get(&app, &p.carl, &url).await), 12);
}

/// A manager's scope is read in three disjoint parts (their clients' tasks,
/// other clients' tasks they reported, other clients' tasks assigned to
/// them): every group counts each task they may see once, whichever parts
/// it would fall in, and none they may not.
#[sqlx::test(migrations = "../migrations")]
async fn a_managers_numbers_count_each_task_of_their_scope_once_in_every_group(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let p = people(&app).await;
    let (admin, mia) = (p.admin.user_id, p.manager.user_id);
    let (carl, una) = (p.carl.user_id, p.una.user_id);
    let created = at("2026-03-02T09:00:00Z");
    let t = || T::new(created).sla(created + Duration::hours(18), created + Duration::hours(24));
    // Carl's, reported by and assigned to Mia (also her client's); Una's
    // reported by Mia; Una's assigned to Mia; Una's reported by and
    // assigned to Mia.
    let seen = [
        task(&app, carl, mia, mia, t().done(Duration::hours(1))).await,
        task(&app, una, mia, una, t().done(Duration::hours(2))).await,
        task(&app, una, admin, mia, t()).await,
        task(&app, una, mia, mia, t()).await,
    ];
    // Una's, neither reported by nor assigned to Mia.
    task(&app, una, admin, una, t().done(Duration::hours(3))).await;
    task(&app, una, admin, una, t()).await;

    let b = get(&app, &p.manager, &format!("/api/analytics/tasks?{MARCH}")).await;
    assert_eq!(b["throughput"]["createdTotal"], 4);
    assert_eq!(b["throughput"]["completedTotal"], 2);
    assert_eq!(b["flow"]["open"], json!([0, 2, 2, 2, 2, 2, 2]));
    assert_eq!(b["open"]["total"], 2);
    assert_eq!(
        b["aging"]["bands"].as_array().unwrap().last().unwrap()["total"],
        2
    );
    let mut oldest: Vec<u64> = b["aging"]["oldest"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["taskId"].as_u64().unwrap())
        .collect();
    oldest.sort_unstable();
    assert_eq!(oldest, vec![seen[2], seen[3]]);
    // Both open tasks are past their deadline; the two completed were not.
    assert_eq!(b["sla"]["withSla"], 4);
    assert_eq!(b["sla"]["breached"], 2);
    assert_eq!(b["sla"]["openBreached"], 2);
    let by_client: BTreeMap<u64, u64> = b["sla"]["byClient"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["clientId"].as_u64().unwrap(),
                c["withSla"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(by_client, BTreeMap::from([(carl, 1), (una, 3)]));
    assert_eq!(b["cycle"]["hours"]["count"], 2);
    assert_eq!(b["cycle"]["hours"]["p50"], 1.0);
    assert_eq!(b["cycle"]["hours"]["p85"], 2.0);
    assert_eq!(b["cycle"]["points"].as_array().unwrap().len(), 2);
    let counts = |key: &str| -> BTreeMap<u64, u64> {
        b["people"][key]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| (u["userId"].as_u64().unwrap(), u["count"].as_u64().unwrap()))
            .collect()
    };
    assert_eq!(
        counts("completedByAssignee"),
        BTreeMap::from([(mia, 1), (una, 1)])
    );
    assert_eq!(counts("openByAssignee"), BTreeMap::from([(mia, 2)]));

    // Filters narrow each part: Una's alone, Carl's alone, Mia's assignments.
    let url = format!("/api/analytics/tasks?{MARCH}&groups=throughput");
    let created_total = |b: &Value| b["throughput"]["createdTotal"].as_u64().unwrap();
    let una_only = format!("{url}&clientId={una}");
    assert_eq!(created_total(&get(&app, &p.manager, &una_only).await), 3);
    let carl_only = format!("{url}&clientId={carl}");
    assert_eq!(created_total(&get(&app, &p.manager, &carl_only).await), 1);
    let mias = format!("{url}&assigneeId={mia}");
    assert_eq!(created_total(&get(&app, &p.manager, &mias).await), 3);
    assert_eq!(created_total(&get(&app, &p.admin, &url).await), 6);
}

#[sqlx::test(migrations = "../migrations")]
async fn day_and_week_buckets_follow_the_time_zone(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let p = people(&app).await;
    let (carl, admin) = (p.carl.user_id, p.admin.user_id);
    // 23:30 UTC on Monday 2 March is already Tuesday in Paris (UTC+1).
    task(&app, carl, admin, carl, T::new(at("2026-03-02T23:30:00Z"))).await;
    // 23:30 UTC on Sunday 8 March is Monday 9 March in Paris.
    task(&app, carl, admin, carl, T::new(at("2026-03-08T23:30:00Z"))).await;
    // Tuesday 10 March in UTC, Wednesday 11 March in Paris.
    task(&app, carl, admin, carl, T::new(at("2026-03-10T23:30:00Z"))).await;

    let day = |tz: &str| {
        format!("/api/analytics/tasks?from=2026-03-02&to=2026-03-03&groups=throughput&tz={tz}")
    };
    let utc = get(&app, &p.admin, &day("UTC")).await;
    assert_eq!(utc["throughput"]["created"], json!([1, 0]));
    let paris = get(&app, &p.admin, &day("Europe/Paris")).await;
    assert_eq!(paris["throughput"]["created"], json!([0, 1]));
    assert_eq!(paris["window"]["start"], "2026-03-01T23:00:00Z");

    let week = |tz: &str| {
        format!("/api/analytics/tasks?from=2026-03-04&to=2026-03-10&bucket=week&groups=throughput&tz={tz}")
    };
    let utc = get(&app, &p.admin, &week("UTC")).await;
    assert_eq!(
        utc["window"]["buckets"],
        json!(["2026-03-02", "2026-03-09"])
    );
    assert_eq!(utc["window"]["to"], "2026-03-15");
    assert_eq!(utc["throughput"]["created"], json!([2, 1]));
    // In Paris the first task is Tuesday of the first week, the second
    // already Monday of the next.
    let paris = get(&app, &p.admin, &week("Europe/Paris")).await;
    assert_eq!(paris["throughput"]["created"], json!([1, 2]));
}

/// A run of `workflow` created at `created`, queued `wait_ms`, lasting
/// `ms`, its one node `a` ending like the run (with `reason` when failed).
#[allow(clippy::too_many_arguments)]
async fn run(
    app: &TestApp,
    workflow: u64,
    client: u64,
    starter: u64,
    created: DateTime<Utc>,
    wait_ms: i64,
    ms: i64,
    status: &str,
    reason: Option<&str>,
    published: bool,
) -> u64 {
    let started = created + Duration::milliseconds(wait_ms);
    let finished = started + Duration::milliseconds(ms);
    let id = sqlx::query(
        "INSERT INTO run (workflow_id, workflow_revision, client_id, started_by, status, failure_policy, snapshot, \
         node_states, published, created_at, started_at, finished_at) \
         VALUES (?, 1, ?, ?, ?, 'continue', '{}', '{}', ?, ?, ?, ?)",
    )
    .bind(workflow)
    .bind(client)
    .bind(starter)
    .bind(status)
    .bind(published)
    .bind(created)
    .bind(started)
    .bind(finished)
    .execute(&app.db)
    .await
    .unwrap()
    .last_insert_id();
    sqlx::query(
        "INSERT INTO node_execution (run_id, node_id, attempt, status, reason, started_at, finished_at, duration_ms, \
         run_created_at, workflow_id, client_id) \
         SELECT r.run_id, 'a', 1, ?, ?, ?, ?, ?, r.created_at, r.workflow_id, r.client_id FROM run r WHERE r.run_id = ?",
    )
    .bind(status)
    .bind(reason)
    .bind(started)
    .bind(finished)
    .bind(ms)
    .bind(id)
    .execute(&app.db)
    .await
    .unwrap();
    id
}

#[sqlx::test(migrations = "../migrations")]
async fn run_durations_failures_and_hours_match_the_fixture(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let p = people(&app).await;
    let (carl, una, admin) = (p.carl.user_id, p.una.user_id, p.admin.user_id);
    let (w1, w2) = empty_workflows(&app, &p).await;
    let nine = at("2026-03-02T09:10:00Z");
    for (ms, status, reason, published) in [
        (1_000, "succeeded", None, true),
        (2_000, "succeeded", None, true),
        (10_000, "succeeded", None, false),
        (5_000, "failed", Some("timeout"), true),
    ] {
        run(
            &app, w1, carl, admin, nine, 500, ms, status, reason, published,
        )
        .await;
    }
    // Una's failure, at 14:10 UTC the next day.
    run(
        &app,
        w2,
        una,
        admin,
        nine + Duration::hours(29),
        1_500,
        100,
        "failed",
        Some("memory"),
        true,
    )
    .await;

    let url = format!("/api/analytics/runs?{MARCH}");
    let m = get(&app, &p.manager, &url).await;
    let w = &m["workflows"][0];
    assert_eq!(m["workflows"].as_array().unwrap().len(), 1);
    assert_eq!(w["workflowId"], w1);
    assert_eq!(w["runs"], 4);
    assert_eq!(w["successRate"], 0.75);
    // Durations 1, 2, 5, 10 s: nearest rank 2 of 4 and 4 of 4.
    assert_eq!(w["durationMs"]["p50"], 2000.0);
    assert_eq!(w["durationMs"]["p95"], 10000.0);
    assert_eq!(m["failures"], json!([{"reason": "timeout", "count": 1}]));
    assert_eq!(m["queue"]["waitMs"]["p50"], 500.0);
    assert_eq!(m["hours"][9], 4);
    assert_eq!(m["volume"]["total"], 4);
    assert_eq!(m["volume"]["successRate"], 0.75);
    let succeeded = m["volume"]["byStatus"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["status"] == "succeeded")
        .unwrap()
        .clone();
    assert_eq!(succeeded["counts"], json!([0, 3, 0, 0, 0, 0, 0]));
    let node = &m["nodes"]["byNode"][0];
    assert_eq!(node["nodeId"], "a");
    assert_eq!(node["executions"], 4);
    assert_eq!(node["failures"], 1);
    assert_eq!(node["failureRate"], 0.25);
    assert_eq!(node["durationMs"]["p50"], 2000.0);
    assert_eq!(m["nodes"]["mostFailing"][0]["nodeId"], "a");

    let a = get(&app, &p.admin, &format!("{url}&tz=Asia/Tokyo")).await;
    assert_eq!(a["volume"]["total"], 5);
    assert_eq!(
        a["failures"],
        json!([{"reason": "memory", "count": 1}, {"reason": "timeout", "count": 1}])
    );
    // 09:10 UTC is 18:10 in Tokyo; 14:10 UTC is 23:10.
    assert_eq!(a["hours"][18], 4);
    assert_eq!(a["hours"][23], 1);
    assert_eq!(a["queue"]["waitMs"]["count"], 5);
    assert_eq!(a["queue"]["waitMs"]["p95"], 1500.0);

    // Carl sees his published runs only; filtering by Una's workflow shows him nothing.
    let c = get(&app, &p.carl, &format!("{url}&groups=volume")).await;
    assert_eq!(c["volume"]["total"], 3);
    assert!(c.get("workflows").is_none());
    let c = get(
        &app,
        &p.carl,
        &format!("{url}&groups=volume&workflowId={w2}"),
    )
    .await;
    assert_eq!(c["volume"]["total"], 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn bad_queries_answer_422_naming_the_field(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let p = people(&app).await;
    for (url, field) in [
        ("/api/analytics/tasks?tz=Mars/Olympus", "tz"),
        ("/api/analytics/tasks?bucket=month", "bucket"),
        ("/api/analytics/tasks?range=8d", "range"),
        (
            "/api/analytics/tasks?range=7d&from=2026-01-01&to=2026-01-02",
            "range",
        ),
        ("/api/analytics/tasks?from=2026-01-05&to=2026-01-01", "to"),
        ("/api/analytics/tasks?from=2026-01-05", "to"),
        ("/api/analytics/tasks?from=2024-01-01&to=2026-01-01", "to"),
        ("/api/analytics/tasks?from=yesterday&to=2026-01-01", "from"),
        ("/api/analytics/tasks?groups=velocity", "groups"),
        ("/api/analytics/tasks?clientId=abc", "clientId"),
        ("/api/analytics/runs?groups=throughput", "groups"),
        ("/api/analytics/runs?assigneeId=3", "assigneeId"),
    ] {
        let r = app.get(url, &p.manager).await;
        assert_eq!(r.status.as_u16(), 422, "{url}: {}", r.body);
        assert_eq!(r.body["error"]["code"], "validation_failed", "{url}");
        assert_eq!(
            r.body["error"]["details"][0]["field"], field,
            "{url}: {}",
            r.body
        );
    }
    let r = app.get("/api/analytics/runs?colour=red", &p.manager).await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.body);
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("colour"));
}

#[sqlx::test(migrations = "../migrations")]
async fn imports_and_reassignments_are_counted_in_the_window(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let p = people(&app).await;
    let carl = p.carl.user_id;
    // Two applied imports of Carl's and one of Una's; one undone import.
    for (client, total, created, invalid, state) in [
        (carl, 10, 8, 2, "applied"),
        (carl, 5, 5, 0, "applied"),
        (p.una.user_id, 4, 1, 3, "applied"),
        (carl, 7, 7, 0, "undone"),
    ] {
        sqlx::query(
            "INSERT INTO import_session (owner_id, client_id, file_name, format, size, sha256, state, rows_total, \
             valid_count, invalid_count, created_count, created_at, updated_at, applied_at) \
             VALUES (?, ?, 'a.csv', 'csv', 1, '', ?, ?, ?, ?, ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
        )
        .bind(p.admin.user_id)
        .bind(client)
        .bind(state)
        .bind(total)
        .bind(total - invalid)
        .bind(invalid)
        .bind(created)
        .execute(&app.db)
        .await
        .unwrap();
    }
    // A task assigned to Carl, then to the manager, then to both: two
    // changes of an existing assignment (the first assignment is not one).
    let r = app
        .post(
            "/api/tasks",
            &p.manager,
            json!({"clientId": carl, "title": "moved", "assigneeIds": [carl]}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    let id = r.body["id"].as_u64().unwrap();
    let mut version = r.body["version"].as_u64().unwrap();
    for who in [json!([p.manager.user_id]), json!([p.manager.user_id, carl])] {
        let r = app
            .patch(
                &format!("/api/tasks/{id}"),
                &p.manager,
                json!({"version": version, "assigneeIds": who}),
            )
            .await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.body);
        version = r.body["version"].as_u64().unwrap();
    }
    let b = get(
        &app,
        &p.manager,
        "/api/analytics/tasks?range=7d&groups=imports,people",
    )
    .await;
    assert_eq!(b["imports"]["imports"], 2);
    assert_eq!(b["imports"]["rowsTotal"], 15);
    assert_eq!(b["imports"]["rowsImported"], 13);
    assert_eq!(b["imports"]["rowsInvalid"], 2);
    assert_eq!(b["imports"]["errorRate"], 2.0 / 15.0);
    assert_eq!(b["people"]["reassignments"], 2);
    assert_eq!(b["people"]["reassignedTasks"], 1);
    let a = get(
        &app,
        &p.admin,
        "/api/analytics/tasks?range=7d&groups=imports",
    )
    .await;
    assert_eq!(a["imports"]["rowsTotal"], 19);
}

/// Percentiles per group the way the endpoint once computed them: a window
/// sort in the database. key → {count, p50, p85, p95}.
async fn window_percentiles(
    db: &MySqlPool,
    partition: &str,
    key: &str,
    value: &str,
    from_where: &str,
) -> BTreeMap<String, Value> {
    let pick = |p: u32| {
        format!("CAST(MAX(CASE WHEN rn = GREATEST(1, CEIL(n * {p} / 100)) THEN v END) AS SIGNED)")
    };
    let sql = format!(
        "SELECT k, CAST(n AS SIGNED), {}, {}, {} FROM (SELECT CAST({key} AS CHAR) AS k, {value} AS v, \
         ROW_NUMBER() OVER (PARTITION BY {partition} ORDER BY {value}) AS rn, \
         COUNT(*) OVER (PARTITION BY {partition}) AS n {from_where}) x GROUP BY k, n",
        pick(50),
        pick(85),
        pick(95)
    );
    let rows: Vec<(String, i64, i64, i64, i64)> = sqlx::query_as(&sql).fetch_all(db).await.unwrap();
    rows.into_iter()
        .map(|(k, n, p50, p85, p95)| {
            (
                k,
                json!({"count": n, "p50": p50 as f64, "p85": p85 as f64, "p95": p95 as f64}),
            )
        })
        .collect()
}

/// A fixed pseudo-random spread of 150 runs of `w1` (Carl's) and `w2`
/// (Una's) over the first days of March: many equal and unequal durations,
/// unfinished and pending runs, one to three attempts.
async fn random_runs(app: &TestApp, p: &People, w1: u64, w2: u64) {
    let (carl, una, admin) = (p.carl.user_id, p.una.user_id, p.admin.user_id);
    let mut seed: u64 = 42;
    let mut next = |m: u64| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (seed >> 33) % m
    };
    let start = at("2026-03-02T00:00:00Z");
    let statuses = ["succeeded", "succeeded", "failed", "running", "pending"];
    let reasons = [None, Some("timeout"), Some("memory"), Some("error")];
    for i in 0..150u64 {
        let (wf, client) = if i % 3 == 0 { (w2, una) } else { (w1, carl) };
        let status = statuses[next(5) as usize];
        let created = start + Duration::minutes(next(5 * 24 * 60) as i64);
        let started =
            (status != "pending").then(|| created + Duration::milliseconds(next(3000) as i64));
        let finished = started
            .filter(|_| status != "running")
            .map(|s| s + Duration::milliseconds((next(40) * 250) as i64));
        let run_id = sqlx::query(
            "INSERT INTO run (workflow_id, workflow_revision, client_id, started_by, status, failure_policy, \
             snapshot, node_states, published, created_at, started_at, finished_at) \
             VALUES (?, 1, ?, ?, ?, 'continue', '{}', '{}', TRUE, ?, ?, ?)",
        )
        .bind(wf)
        .bind(client)
        .bind(admin)
        .bind(status)
        .bind(created)
        .bind(started)
        .bind(finished)
        .execute(&app.db)
        .await
        .unwrap()
        .last_insert_id();
        let Some(started) = started else { continue };
        for node in ["a", "b", "c"].iter().take(1 + next(3) as usize) {
            let failed = next(4) == 0;
            let ms = (status != "running").then(|| next(20) as i64 * 100);
            sqlx::query(
                "INSERT INTO node_execution (run_id, node_id, attempt, status, reason, started_at, duration_ms, \
                 run_created_at, workflow_id, client_id) \
                 SELECT r.run_id, ?, 1, ?, ?, ?, ?, r.created_at, r.workflow_id, r.client_id FROM run r WHERE r.run_id = ?",
            )
            .bind(*node)
            .bind(if failed { "failed" } else { "succeeded" })
            .bind(if failed { reasons[next(4) as usize] } else { None })
            .bind(started)
            .bind(ms)
            .bind(run_id)
            .execute(&app.db)
            .await
            .unwrap();
        }
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn run_metrics_agree_with_a_window_sort_over_every_row(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let p = people(&app).await;
    let (w1, w2) = empty_workflows(&app, &p).await;
    random_runs(&app, &p, w1, w2).await;

    let b = get(&app, &p.admin, &format!("/api/analytics/runs?{MARCH}")).await;
    let runs = "FROM run r WHERE r.started_at IS NOT NULL AND r.finished_at IS NOT NULL";
    let durations = window_percentiles(
        &app.db,
        "r.workflow_id",
        "r.workflow_id",
        "TIMESTAMPDIFF(MICROSECOND, r.started_at, r.finished_at) DIV 1000",
        runs,
    )
    .await;
    let workflows = b["workflows"].as_array().unwrap();
    assert_eq!(workflows.len(), 2);
    for w in workflows {
        assert_eq!(
            w["durationMs"],
            durations[&w["workflowId"].to_string()],
            "{w}"
        );
    }
    let nodes = window_percentiles(
        &app.db,
        "r.workflow_id, ne.node_id",
        "CONCAT(r.workflow_id, ':', ne.node_id)",
        "ne.duration_ms",
        "FROM run r JOIN node_execution ne ON ne.run_id = r.run_id WHERE ne.duration_ms IS NOT NULL",
    )
    .await;
    let counts: Vec<(u64, String, i64, i64)> = sqlx::query_as(
        "SELECT r.workflow_id, ne.node_id, CAST(COUNT(*) AS SIGNED), CAST(SUM(ne.status = 'failed') AS SIGNED) \
         FROM run r JOIN node_execution ne ON ne.run_id = r.run_id \
         GROUP BY r.workflow_id, ne.node_id ORDER BY r.workflow_id, ne.node_id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    let by_node = b["nodes"]["byNode"].as_array().unwrap();
    assert_eq!(by_node.len(), counts.len());
    for (n, (wf, node, executions, failures)) in by_node.iter().zip(&counts) {
        assert_eq!(
            (
                n["workflowId"].as_u64().unwrap(),
                n["nodeId"].as_str().unwrap()
            ),
            (*wf, node.as_str())
        );
        assert_eq!(n["executions"], *executions);
        assert_eq!(n["failures"], *failures);
        assert_eq!(n["durationMs"], nodes[&format!("{wf}:{node}")], "{n}");
    }
    let reasons: Vec<(Option<String>, i64)> = sqlx::query_as(
        "SELECT ne.reason, CAST(COUNT(*) AS SIGNED) FROM node_execution ne WHERE ne.status = 'failed' \
         GROUP BY ne.reason ORDER BY 2 DESC, ne.reason",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    let expected: Vec<Value> = reasons
        .into_iter()
        .map(|(r, n)| json!({"reason": r.unwrap_or_else(|| "unknown".into()), "count": n}))
        .collect();
    assert_eq!(b["failures"], json!(expected));
    let queue = window_percentiles(
        &app.db,
        "'all'",
        "'all'",
        "TIMESTAMPDIFF(MICROSECOND, r.created_at, r.started_at) DIV 1000",
        "FROM run r WHERE r.started_at IS NOT NULL",
    )
    .await;
    assert_eq!(b["queue"]["waitMs"], queue["all"]);
    assert_eq!(b["volume"]["total"], 150);
}

/// The runs and attempts of a window are read packed into one string per
/// part; a part whose string would be cut is halved, down to single slots
/// read row by row. Every path must give the same rows.
#[sqlx::test(migrations = "../migrations")]
async fn runs_and_attempts_read_packed_halved_or_row_by_row_are_the_same(pool: MySqlPool) {
    use katalusis_analytics::{Bucket, Tz, Window};
    use katalusis_api::analytics::model::Filters;
    use katalusis_api::analytics::run_rows::{window_attempts_within, window_runs_within};
    use katalusis_api::auth::ClientScope;

    let app = spawn_app(pool).await;
    let p = people(&app).await;
    let (w1, w2) = empty_workflows(&app, &p).await;
    random_runs(&app, &p, w1, w2).await;
    let d = |day| chrono::NaiveDate::from_ymd_opt(2026, 3, day).unwrap();
    let paris: Tz = "Europe/Paris".parse().unwrap();
    let w = Window::new(d(1), d(7), Bucket::Day, paris).unwrap();
    let f = Filters::default();
    let count = |sql| {
        let db = app.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&db)
                .await
                .unwrap()
        }
    };
    let key = |r: &katalusis_api::analytics::run_rows::RunRow| {
        (r.slot, r.workflow_id, r.status, r.duration_ms, r.queue_ms)
    };
    let runs = |limit| window_runs_within(&app.db, ClientScope::All, &f, &w, limit);
    let mut packed_runs: Vec<_> = runs(None).await.unwrap().iter().map(key).collect();
    assert_eq!(
        packed_runs.len() as i64,
        count("SELECT CAST(COUNT(*) AS SIGNED) FROM run").await
    );
    assert!(packed_runs.iter().any(|r| r.3.is_some() && r.4.is_some()));
    assert!(packed_runs.iter().any(|r| r.3.is_none()));
    packed_runs.sort();
    let attempts = |limit| window_attempts_within(&app.db, ClientScope::All, &f, &w, limit);
    let mut packed = attempts(None).await.unwrap();
    assert_eq!(
        packed.len() as i64,
        count("SELECT CAST(COUNT(*) AS SIGNED) FROM node_execution").await
    );
    assert!(packed
        .iter()
        .any(|a| a.reason.is_some() && a.duration_ms.is_some()));
    packed.sort();
    // 400 bytes hold about twenty rows: the parts are halved many times.
    // 70 bytes hold none (the limit keeps 64 bytes spare): every slot with
    // a row is read row by row.
    for limit in [400, 70] {
        let mut other: Vec<_> = runs(Some(limit)).await.unwrap().iter().map(key).collect();
        other.sort();
        assert_eq!(other, packed_runs, "runs, limit {limit}");
        let mut other = attempts(Some(limit)).await.unwrap();
        other.sort();
        assert_eq!(other, packed, "attempts, limit {limit}");
    }
}

/// An admin's run metrics read the finished runs the server keeps by day:
/// what they give must be what a read of the window gives, for every
/// filter, before and after a run of a kept day finishes and a run is
/// written with a past time behind the server's back.
#[sqlx::test(migrations = "../migrations")]
async fn kept_finished_days_give_what_a_read_of_the_window_gives(pool: MySqlPool) {
    use katalusis_analytics::{Bucket, Tz, Window};
    use katalusis_api::analytics::finished::FinishedDays;
    use katalusis_api::analytics::model::Filters;
    use katalusis_api::analytics::run_rows::{window_attempts, window_runs, AttemptRow, RunRow};
    use katalusis_api::auth::ClientScope;

    let app = spawn_app(pool).await;
    let p = people(&app).await;
    let (w1, w2) = empty_workflows(&app, &p).await;
    random_runs(&app, &p, w1, w2).await;
    let d = |day| chrono::NaiveDate::from_ymd_opt(2026, 3, day).unwrap();
    let paris: Tz = "Europe/Paris".parse().unwrap();
    let w = Window::new(d(1), d(7), Bucket::Day, paris).unwrap();
    let filters = [
        Filters::default(),
        Filters {
            client_id: Some(p.carl.user_id),
            ..Default::default()
        },
        Filters {
            workflow_id: Some(w2),
            ..Default::default()
        },
    ];
    type Key = (i64, u64, u64, String, Option<i64>, Option<i64>);
    let key = |r: &RunRow| -> Key {
        let s = r.status.as_str().to_owned();
        (
            r.slot,
            r.client_id,
            r.workflow_id,
            s,
            r.duration_ms,
            r.queue_ms,
        )
    };
    let sorted = |runs: Vec<RunRow>, mut attempts: Vec<AttemptRow>| {
        let mut runs: Vec<Key> = runs.iter().map(key).collect();
        runs.sort();
        attempts.sort();
        (runs, attempts)
    };
    let kept = FinishedDays::default();
    let same = |now: &'static str| {
        let (kept, db, w) = (&kept, &app.db, &w);
        async move {
            for f in &filters {
                let (runs, attempts) = kept.window(db, f, w, at(now)).await.unwrap().unwrap();
                let got = sorted(runs, attempts);
                let want = sorted(
                    window_runs(db, ClientScope::All, f, w).await.unwrap(),
                    window_attempts(db, ClientScope::All, f, w).await.unwrap(),
                );
                assert!(!want.0.is_empty() && !want.1.is_empty());
                assert_eq!(got, want, "{f:?} at {now}");
            }
        }
    };
    let later = "2026-04-01T00:00:00Z";
    same(later).await;
    // The window touches eight UTC days (Paris is an hour ahead); the
    // runs still pending or running are read every time, not kept.
    let (finished, attempts): (i64, i64) = sqlx::query_as(
        "SELECT CAST(COUNT(*) AS SIGNED), \
         CAST((SELECT COUNT(*) FROM node_execution ne JOIN run r USING (run_id) \
               WHERE r.status NOT IN ('pending', 'running')) AS SIGNED) \
         FROM run WHERE status NOT IN ('pending', 'running')",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(kept.kept(), (8, (finished + attempts) as usize));
    same(later).await;
    assert_eq!(kept.kept(), (8, (finished + attempts) as usize));

    // Behind the server's back: a finished run written with a past time,
    // and a running run finished.
    let kept_day: chrono::NaiveDate = sqlx::query_scalar("SELECT MIN(DATE(created_at)) FROM run")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let created = kept_day.and_hms_opt(12, 0, 0).unwrap().and_utc();
    let run_id = sqlx::query(
        "INSERT INTO run (workflow_id, workflow_revision, client_id, started_by, status, failure_policy, \
         snapshot, node_states, published, created_at, started_at, finished_at) \
         VALUES (?, 1, ?, ?, 'failed', 'continue', '{}', '{}', TRUE, ?, ?, ?)",
    )
    .bind(w2)
    .bind(p.una.user_id)
    .bind(p.admin.user_id)
    .bind(created)
    .bind(created + Duration::seconds(1))
    .bind(created + Duration::seconds(9))
    .execute(&app.db)
    .await
    .unwrap()
    .last_insert_id();
    sqlx::query(
        "INSERT INTO node_execution (run_id, node_id, attempt, status, reason, started_at, duration_ms, \
         run_created_at, workflow_id, client_id) \
         SELECT r.run_id, 'late', 1, 'failed', 'sandbox', r.started_at, 8000, r.created_at, r.workflow_id, r.client_id \
         FROM run r WHERE r.run_id = ?",
    )
    .bind(run_id)
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE run SET status = 'succeeded', finished_at = started_at + INTERVAL 2 SECOND \
         WHERE status = 'running' ORDER BY run_id LIMIT 1",
    )
    .execute(&app.db)
    .await
    .unwrap();
    same(later).await;
    // Early on the window's last day: the days before yesterday are kept,
    // the rest is read as it is.
    same("2026-03-05T00:30:00Z").await;
    same("2026-03-01T00:10:00Z").await;
}

/// The task counts the writes keep (`analytics::rollup`), without empty
/// rows, as text.
async fn kept_counts(db: &MySqlPool) -> Vec<String> {
    let mut out = vec![];
    for sql in [
        "SELECT CONCAT_WS(' ', slot_at, created, created_done, completed) FROM task_slot_count \
         WHERE created <> 0 OR created_done <> 0 OR completed <> 0 ORDER BY slot_at",
        "SELECT CONCAT_WS(' ', created_on, status_id, priority, open_tasks, with_sla) FROM task_open_count \
         WHERE open_tasks <> 0 OR with_sla <> 0 ORDER BY created_on, status_id, priority",
        "SELECT CONCAT_WS(' ', created_on, priority, client_id, with_sla, breached_done, open_tasks) \
         FROM task_sla_count WHERE with_sla <> 0 OR breached_done <> 0 OR open_tasks <> 0 \
         ORDER BY created_on, priority, client_id",
    ] {
        let rows: Vec<String> = sqlx::query_scalar(sql).fetch_all(db).await.unwrap();
        out.extend(rows);
    }
    out
}

/// The groups an admin's unfiltered dashboard reads from the kept counts.
const COUNTED_GROUPS: [&str; 5] = ["throughput", "flow", "open", "aging", "sla"];

/// An admin's unfiltered dashboard reads counts the task writes keep; they
/// must equal a recount, and the dashboard the one computed from the tasks
/// themselves (a client filter reads the tasks).
#[sqlx::test(migrations = "../migrations")]
async fn kept_counts_follow_creation_completion_reopening_priority_and_deletion(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let p = people(&app).await;
    let carl = p.carl.user_id;
    let mut tasks = vec![];
    for (title, priority) in [
        ("a", "high"),
        ("b", "critical"),
        ("c", "medium"),
        ("d", "low"),
    ] {
        let r = app
            .post(
                "/api/tasks",
                &p.admin,
                json!({"clientId": carl, "title": title, "priority": priority}),
            )
            .await;
        assert_eq!(r.status, reqwest::StatusCode::CREATED, "{}", r.body);
        tasks.push((
            r.body["id"].as_u64().unwrap(),
            r.body["version"].as_u64().unwrap(),
        ));
    }
    let edit = |i: usize, changes: Vec<Value>| {
        let app = &app;
        let admin = &p.admin;
        let (id, mut version) = tasks[i];
        async move {
            for mut change in changes {
                change["version"] = json!(version);
                let r = app.patch(&format!("/api/tasks/{id}"), admin, change).await;
                assert_eq!(r.status, reqwest::StatusCode::OK, "{}", r.body);
                version = r.body["version"].as_u64().unwrap();
            }
        }
    };
    let status = |s: u64| json!({ "statusId": s });
    // a completed; b completed and deleted; c completed, reopened and made
    // low (no SLA); d made critical (an SLA) and deleted.
    edit(0, vec![status(2), status(4)]).await;
    edit(1, vec![status(2), status(4)]).await;
    edit(
        2,
        vec![status(2), status(4), status(2), json!({"priority": "low"})],
    )
    .await;
    edit(3, vec![json!({"priority": "critical"})]).await;
    for i in [3, 1] {
        let r = app
            .delete(&format!("/api/tasks/{}", tasks[i].0), &p.admin)
            .await;
        assert!(r.status.is_success(), "{}", r.body);
    }

    let kept = kept_counts(&app.db).await;
    let mut conn = app.db.acquire().await.unwrap();
    katalusis_api::analytics::rollup::rebuild(&mut conn)
        .await
        .unwrap();
    assert_eq!(kept_counts(&app.db).await, kept);

    let q = format!(
        "/api/analytics/tasks?range=7d&tz=Asia/Kolkata&groups={}",
        COUNTED_GROUPS.join(",")
    );
    let all = get(&app, &p.admin, &q).await;
    let carls = get(&app, &p.admin, &format!("{q}&clientId={carl}")).await;
    for g in COUNTED_GROUPS {
        assert_eq!(all[g], carls[g], "{g}");
    }
    assert_eq!(all["throughput"]["createdTotal"], 2);
    assert_eq!(all["throughput"]["completedTotal"], 1);
    assert_eq!(all["open"]["total"], 1);
    // a (high) carries an SLA; c lost its own when it became low.
    assert_eq!(all["sla"]["withSla"], 1);
}

/// Tasks of one client spread over 40 days around every age band's bound,
/// with deadlines behind and ahead, open and completed, written behind the
/// server's back and recounted: an admin's dashboard from the counts equals
/// the one computed from the tasks, in UTC and in a half-hour zone.
#[sqlx::test(migrations = "../migrations")]
async fn counted_and_computed_dashboards_agree(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let p = people(&app).await;
    let (carl, admin) = (p.carl.user_id, p.admin.user_id);
    let now = Utc::now();
    let mut seed: u64 = 7;
    let mut next = |m: u64| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (seed >> 33) % m
    };
    let priorities = ["low", "medium", "high", "critical"];
    for i in 0..300i64 {
        // Half of them within two hours of a band's bound (24 h … 720 h).
        let created = if i % 2 == 0 {
            let bound = [24, 72, 168, 336, 720][next(5) as usize];
            now - Duration::hours(bound) + Duration::minutes(next(240) as i64 - 120)
        } else {
            now - Duration::minutes(next(40 * 24 * 60) as i64)
        };
        let t = T::new(created).priority(priorities[next(4) as usize]);
        let t = if next(3) == 0 {
            t.sla(
                created + Duration::hours(1),
                created + Duration::hours(next(60) as i64 - 5),
            )
        } else {
            t
        };
        let t = match next(3) {
            0 => t.done(Duration::minutes(next(30 * 24 * 60) as i64)),
            _ => t,
        };
        let t = if t.completed.is_some_and(|c| c > now) {
            T {
                completed: None,
                ..t
            }
        } else {
            t
        };
        task(&app, carl, admin, carl, t).await;
    }
    for tz in ["UTC", "Asia/Kolkata"] {
        for range in ["7d", "30d", "90d"] {
            let q = format!(
                "/api/analytics/tasks?range={range}&tz={tz}&groups={}",
                COUNTED_GROUPS.join(",")
            );
            let all = get(&app, &p.admin, &q).await;
            let carls = get(&app, &p.admin, &format!("{q}&clientId={carl}")).await;
            for g in COUNTED_GROUPS {
                assert_eq!(all[g], carls[g], "{g} {range} {tz}");
            }
            assert!(all["open"]["total"].as_u64().unwrap() > 100, "{q}");
        }
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn open_tasks_fall_into_age_bands_by_whole_hours(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let p = people(&app).await;
    let (carl, admin) = (p.carl.user_id, p.admin.user_id);
    let now = Utc::now();
    for minutes in [
        23 * 60 + 50,
        24 * 60 + 10,
        71 * 60 + 50,
        72 * 60 + 10,
        800 * 60,
    ] {
        task(
            &app,
            carl,
            admin,
            carl,
            T::new(now - Duration::minutes(minutes)),
        )
        .await;
    }
    task(
        &app,
        carl,
        admin,
        carl,
        T::new(now - Duration::hours(2)).done(Duration::minutes(1)),
    )
    .await;

    let b = get(
        &app,
        &p.admin,
        "/api/analytics/tasks?range=7d&groups=aging,open",
    )
    .await;
    let totals: Vec<(String, u64)> = b["aging"]["bands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["band"].as_str().unwrap().into(),
                x["total"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(String, u64)> = [
        ("<1d", 1),
        ("1-3d", 2),
        ("3-7d", 1),
        ("7-14d", 0),
        ("14-30d", 0),
        (">30d", 1),
    ]
    .into_iter()
    .map(|(b, n)| (b.into(), n))
    .collect();
    assert_eq!(totals, expected);
    assert_eq!(b["open"]["total"], 5);
    assert_eq!(b["aging"]["oldest"].as_array().unwrap().len(), 5);
}

/// (attempts, of which carrying exactly their run's creation time, workflow
/// and client) of one run.
async fn attempts_matching_their_run(db: &MySqlPool, run: u64) -> (i64, i64) {
    sqlx::query_as(
        "SELECT CAST(COUNT(*) AS SIGNED), CAST(COALESCE(SUM(ne.run_created_at = r.created_at \
         AND ne.workflow_id = r.workflow_id AND ne.client_id = r.client_id), 0) AS SIGNED) \
         FROM node_execution ne JOIN run r ON r.run_id = ne.run_id WHERE ne.run_id = ?",
    )
    .bind(run)
    .fetch_one(db)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn attempts_written_by_the_executor_carry_their_runs_time_workflow_and_client(
    pool: MySqlPool,
) {
    use crate::runs::{cast, node, start, template, text_out, wait_final, workflow};
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    app.create_template(&c.admin, template("flaky",
        "def run(inputs, params, ctx):\n    if ctx.attempt < 3:\n        raise RuntimeError('flaky %d' % ctx.attempt)\n    return {'text': 'ok'}\n",
        json!([]), text_out(), json!({"retry": {"maxAttempts": 3, "backoffSeconds": 0}}))).await;
    let wf = workflow(
        &app,
        &c.manager,
        c.client.user_id,
        vec![node("f", "flaky")],
        vec![],
    )
    .await;
    let run = start(&app, &c.manager, wf, json!({})).await;
    assert_eq!(
        wait_final(&app, &c.manager, run).await["status"],
        "succeeded"
    );

    assert_eq!(attempts_matching_their_run(&app.db, run).await, (3, 3));
    // The ingest path (Kubernetes mirror, runner reports) writes through the
    // same statement; a second report of the same attempt keeps one row.
    for _ in 0..2 {
        katalusis_api::db::runs::ensure_execution(&app.db, run, "late", 1, Utc::now())
            .await
            .unwrap();
    }
    assert_eq!(attempts_matching_their_run(&app.db, run).await, (4, 4));

    let a = get(
        &app,
        &c.admin,
        "/api/analytics/runs?range=7d&groups=nodes,failures",
    )
    .await;
    let by_node = a["nodes"]["byNode"].as_array().unwrap();
    let f = by_node.iter().find(|n| n["nodeId"] == "f").unwrap();
    assert_eq!(f["workflowId"], wf);
    assert_eq!(
        (f["executions"].as_u64(), f["failures"].as_u64()),
        (Some(3), Some(2))
    );
    let m = get(
        &app,
        &c.manager,
        "/api/analytics/runs?range=7d&groups=nodes",
    )
    .await;
    assert_eq!(m["nodes"]["byNode"].as_array().unwrap().len(), 2);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_clients_node_metrics_leave_out_runs_not_published_to_them(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let p = people(&app).await;
    let (carl, admin) = (p.carl.user_id, p.admin.user_id);
    let w = app
        .create_workflow(&p.admin, carl, json!({"nodes": [], "edges": []}))
        .await["id"]
        .as_u64()
        .unwrap();
    let nine = at("2026-03-02T09:10:00Z");
    run(
        &app,
        w,
        carl,
        admin,
        nine,
        100,
        1_000,
        "succeeded",
        None,
        true,
    )
    .await;
    let hidden = run(
        &app,
        w,
        carl,
        admin,
        nine,
        100,
        9_000,
        "failed",
        Some("error"),
        false,
    )
    .await;

    let url = format!("/api/analytics/runs?{MARCH}&groups=nodes,failures");
    let c = get(&app, &p.carl, &url).await;
    assert_eq!(c["nodes"]["byNode"][0]["executions"], 1);
    assert_eq!(c["nodes"]["byNode"][0]["durationMs"]["p95"], 1000.0);
    assert_eq!(c["failures"], json!([]));
    let m = get(&app, &p.manager, &url).await;
    assert_eq!(m["nodes"]["byNode"][0]["executions"], 2);
    assert_eq!(m["failures"], json!([{"reason": "error", "count": 1}]));
    // Published later, it counts for the client too.
    sqlx::query("UPDATE run SET published = TRUE WHERE run_id = ?")
        .bind(hidden)
        .execute(&app.db)
        .await
        .unwrap();
    let c = get(&app, &p.carl, &url).await;
    assert_eq!(c["nodes"]["byNode"][0]["executions"], 2);
}

/// Migration 0019 on a database that already has attempts and assignments:
/// each attempt gets its own run's creation time, workflow and client, each
/// assignment whether its task is open.
#[sqlx::test(migrations = false)]
async fn the_backfill_copies_each_runs_columns_to_its_attempts_and_openness_to_assignments(
    pool: MySqlPool,
) {
    use std::borrow::Cow;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let all = sqlx::migrate::Migrator::new(dir).await.unwrap();
    let before = sqlx::migrate::Migrator {
        migrations: Cow::Owned(
            all.migrations
                .iter()
                .filter(|m| m.version < 19)
                .cloned()
                .collect(),
        ),
        ..sqlx::migrate::Migrator::DEFAULT
    };
    before.run(&pool).await.unwrap();
    let now = Utc::now();
    let user = |name: &'static str| {
        sqlx::query(
            "INSERT INTO app_user (username, email, display_name, role, password_hash, created_at, updated_at) \
             VALUES (?, CONCAT(?, '@example.com'), ?, 'client', 'x', ?, ?)",
        )
        .bind(name)
        .bind(name)
        .bind(name)
        .bind(now)
        .bind(now)
        .execute(&pool)
    };
    let a = user("a").await.unwrap().last_insert_id();
    let b = user("b").await.unwrap().last_insert_id();
    let mut runs = vec![];
    for (i, (client, created)) in [
        (a, "2026-01-01T10:00:00.123456Z"),
        (b, "2026-02-03T04:05:06Z"),
        (b, "2026-03-04T05:06:07Z"),
    ]
    .into_iter()
    .enumerate()
    {
        let wf = sqlx::query(
            "INSERT INTO workflow (client_id, name, description, graph, revision, created_by, created_at, updated_by, updated_at) \
             VALUES (?, ?, '', '{}', 1, ?, ?, ?, ?)",
        )
        .bind(client)
        .bind(format!("flow {i}"))
        .bind(client)
        .bind(now)
        .bind(client)
        .bind(now)
        .execute(&pool)
        .await
        .unwrap()
        .last_insert_id();
        let run = sqlx::query(
            "INSERT INTO run (workflow_id, workflow_revision, client_id, started_by, status, failure_policy, snapshot, \
             node_states, created_at) VALUES (?, 1, ?, ?, 'succeeded', 'continue', '{}', '{}', ?)",
        )
        .bind(wf)
        .bind(client)
        .bind(client)
        .bind(at(created))
        .execute(&pool)
        .await
        .unwrap()
        .last_insert_id();
        for node in ["x", "y"] {
            sqlx::query(
                "INSERT INTO node_execution (run_id, node_id, attempt, status, started_at) VALUES (?, ?, 1, 'succeeded', ?)",
            )
            .bind(run)
            .bind(node)
            .bind(now)
            .execute(&pool)
            .await
            .unwrap();
        }
        runs.push((run, wf, client, at(created)));
    }
    // Two tasks of client a, the second completed, each assigned to b.
    let mut tasks = vec![];
    for (n, completed) in [(1, None), (2, Some(now))] {
        let task = sqlx::query(
            "INSERT INTO task (client_id, task_number, task_key, title, description, status_id, priority, \
             reporter_id, position, source_kind, created_at, updated_at, completed_at) \
             VALUES (?, ?, ?, 't', '', 1, 'low', ?, ?, 'manual', ?, ?, ?)",
        )
        .bind(a)
        .bind(n)
        .bind(format!("A-{n}"))
        .bind(a)
        .bind(n as f64)
        .bind(now)
        .bind(now)
        .bind(completed)
        .execute(&pool)
        .await
        .unwrap()
        .last_insert_id();
        sqlx::query("INSERT INTO task_assignee (task_id, user_id, client_id) VALUES (?, ?, ?)")
            .bind(task)
            .bind(b)
            .bind(a)
            .execute(&pool)
            .await
            .unwrap();
        tasks.push((task, completed.is_none()));
    }

    all.run(&pool).await.unwrap();

    for (task, open) in tasks {
        let stored: bool =
            sqlx::query_scalar("SELECT task_open FROM task_assignee WHERE task_id = ?")
                .bind(task)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(stored, open, "task {task}");
    }

    for (run, wf, client, created) in runs {
        let rows: Vec<(DateTime<Utc>, u64, u64)> = sqlx::query_as(
            "SELECT run_created_at, workflow_id, client_id FROM node_execution WHERE run_id = ?",
        )
        .bind(run)
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(rows, vec![(created, wf, client); 2], "run {run}");
    }
}

/// Open tasks per assignee, as the admin, the admin for one client, and
/// the manager see them: (carl's, mia's).
async fn workload(app: &TestApp, p: &People) -> Vec<(u64, u64)> {
    let carl = p.carl.user_id;
    let mut out = vec![];
    for (s, filter) in [
        (&p.admin, String::new()),
        (&p.admin, format!("&clientId={carl}")),
        (&p.manager, String::new()),
    ] {
        let b = get(
            app,
            s,
            &format!("/api/analytics/tasks?groups=people{filter}"),
        )
        .await;
        let of = |user: u64| {
            b["people"]["openByAssignee"]
                .as_array()
                .unwrap()
                .iter()
                .find(|u| u["userId"] == user)
                .map_or(0, |u| u["count"].as_u64().unwrap())
        };
        out.push((of(carl), of(p.manager.user_id)));
    }
    out
}

#[sqlx::test(migrations = "../migrations")]
async fn workload_follows_completion_and_new_assignees_through_the_api(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let p = people(&app).await;
    let (carl, mia) = (p.carl.user_id, p.manager.user_id);
    let mut tasks = vec![];
    for title in ["a", "b", "c"] {
        let r = app
            .post(
                "/api/tasks",
                &p.admin,
                json!({"clientId": carl, "title": title, "assigneeIds": [carl]}),
            )
            .await;
        assert_eq!(r.status, reqwest::StatusCode::CREATED, "{}", r.body);
        tasks.push(r.body);
    }
    assert_eq!(workload(&app, &p).await, vec![(3, 0); 3]);

    // Completed (New → In progress → Completed): no longer open.
    let id = tasks[0]["id"].as_u64().unwrap();
    let mut version = tasks[0]["version"].as_u64().unwrap();
    for status in [2, 4] {
        let r = app
            .patch(
                &format!("/api/tasks/{id}"),
                &p.admin,
                json!({"version": version, "statusId": status}),
            )
            .await;
        assert_eq!(r.status, reqwest::StatusCode::OK, "{}", r.body);
        version = r.body["version"].as_u64().unwrap();
    }
    assert_eq!(workload(&app, &p).await, vec![(2, 0); 3]);

    // Mia joins the completed task and an open one: only the open one counts.
    let open_id = tasks[1]["id"].as_u64().unwrap();
    for (task, v) in [
        (id, version),
        (open_id, tasks[1]["version"].as_u64().unwrap()),
    ] {
        let r = app
            .patch(
                &format!("/api/tasks/{task}"),
                &p.admin,
                json!({"version": v, "assigneeIds": [carl, mia]}),
            )
            .await;
        assert_eq!(r.status, reqwest::StatusCode::OK, "{}", r.body);
    }
    assert_eq!(workload(&app, &p).await, vec![(2, 1); 3]);

    // Every assignment's copy agrees with its task.
    let wrong: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM task_assignee a JOIN task t ON t.task_id = a.task_id \
         WHERE a.task_open <> (t.completed_at IS NULL)",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(wrong, 0);
}
