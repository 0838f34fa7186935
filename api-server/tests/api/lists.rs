//! Big lists: the plans of the list queries (EXPLAIN, on data large enough that
//! the optimizer does not prefer a scan anyway), cursor pagination while rows
//! are inserted, and the `after`/`count` parameters.

use std::collections::BTreeSet;

use chrono::Utc;
use katalusis_api::auth::{ClientScope, Role};
use katalusis_api::db;
use katalusis_api::db::paging::{KeyValue, PlanStep, Start};
use katalusis_api::tasks::db as tasks_db;
use katalusis_api::tasks::model::TaskSort;
use katalusis_crds::plan::RunPhase;
use serde_json::Value;
use sqlx::MySqlPool;

use crate::support::*;

/// Fails on the plan shapes that make a list slow as it grows: a filesort or
/// temporary table (every matching row read and sorted before the first is
/// returned) and a full table scan.
/// A derived table (`<derivedN>`) is exempt: the list queries read one only
/// as the page's ids, at most `limit + 1` rows picked by an inner `LIMIT`.
fn assert_indexed(what: &str, plan: &[PlanStep]) {
    for step in plan {
        if step
            .table
            .as_deref()
            .is_some_and(|t| t.starts_with("<derived"))
        {
            continue;
        }
        let extra = step.extra.clone().unwrap_or_default();
        let access = step.access.clone().unwrap_or_default();
        assert!(
            !extra.contains("filesort") && !extra.contains("temporary") && access != "ALL",
            "{what}: {step:?}\nwhole plan: {plan:#?}"
        );
    }
}

/// The plan of a manager's merged task list. Every branch reads an index: a
/// client's tasks in list order (no sort), the tasks of other clients the
/// manager reported or was assigned through the manager's own index rows,
/// ranges that skip the manager's clients (those few rows are sorted). Only
/// the merge of at most `branches × (limit + 1)` ids reads a derived table
/// whole and sorts it.
fn assert_manager_plan(what: &str, plan: &[PlanStep], client_index: &str) {
    let foreign = ["ix_task_reporter_client", "ix_task_assignee_user_client"];
    for step in plan {
        let table = step.table.clone().unwrap_or_default();
        if table.starts_with("<derived") || table.starts_with("<union") {
            continue;
        }
        let extra = step.extra.clone().unwrap_or_default();
        let access = step.access.clone().unwrap_or_default();
        let key = step.key.clone().unwrap_or_default();
        assert!(
            access != "ALL" && access != "index" && !key.is_empty(),
            "{what}: {step:?}\nwhole plan: {plan:#?}"
        );
        if !foreign.contains(&key.as_str()) {
            assert!(
                !extra.contains("filesort") && !extra.contains("temporary"),
                "{what}: {step:?}\nwhole plan: {plan:#?}"
            );
        }
    }
    for key in foreign.iter().chain([&client_index]) {
        assert!(
            plan.iter().any(|s| s.key.as_deref() == Some(key)),
            "{what}: no step reads {key}\nwhole plan: {plan:#?}"
        );
    }
}

struct World {
    admin: Session,
    manager: Session,
    client: Session,
    clients: Vec<u64>,
    workflows: Vec<u64>,
}

/// 4 clients (the first assigned to the manager, the second to nobody), one
/// workflow each and `runs` runs spread over them, the newest last.
async fn world(app: &TestApp, runs: u32) -> World {
    let admin = app.admin().await;
    let manager = app.user(&admin, "mia", "manager").await;
    let client = app.user(&admin, "carl", "client").await;
    let mut clients = vec![client.user_id];
    for name in ["cleo", "una", "ivo"] {
        clients.push(app.user(&admin, name, "client").await.user_id);
    }
    app.assign(&admin, manager.user_id, client.user_id).await;
    let mut workflows = vec![];
    for c in &clients {
        let w = sqlx::query(
            "INSERT INTO workflow (client_id, name, description, graph, revision, created_by, created_at, \
             updated_by, updated_at) VALUES (?, 'flow', '', '{\"nodes\":[],\"edges\":[]}', 1, ?, NOW(6), ?, NOW(6))",
        )
        .bind(c)
        .bind(admin.user_id)
        .bind(admin.user_id)
        .execute(&app.db)
        .await
        .unwrap()
        .last_insert_id();
        workflows.push(w);
    }
    insert_runs(app, &clients, &workflows, admin.user_id, runs).await;
    for t in [
        "run",
        "manager_client",
        "audit_log",
        "task",
        "task_assignee",
    ] {
        sqlx::query(&format!("ANALYZE TABLE {t}"))
            .execute(&app.db)
            .await
            .unwrap();
    }
    World {
        admin,
        manager,
        client,
        clients,
        workflows,
    }
}

/// Bulk runs through SQL: client i % 4, every 10th failed, every 25th unpublished.
async fn insert_runs(app: &TestApp, clients: &[u64], workflows: &[u64], by: u64, n: u32) {
    let mut values = vec![];
    for i in 0..n {
        let c = (i % clients.len() as u32) as usize;
        let status = if i % 10 == 0 { "failed" } else { "succeeded" };
        values.push(format!(
            "({}, 1, {}, {by}, '{status}', 'continue', '{{}}', '{{}}', {}, NOW(6), 1, 0)",
            workflows[c],
            clients[c],
            i % 25 != 3
        ));
    }
    for chunk in values.chunks(500) {
        sqlx::query(&format!(
            "INSERT INTO run (workflow_id, workflow_revision, client_id, started_by, status, failure_policy, \
             snapshot, node_states, published, created_at, node_count, failed_nodes) VALUES {}",
            chunk.join(", ")
        ))
        .execute(&app.db)
        .await
        .unwrap();
    }
}

fn filter() -> db::runs::Filter {
    db::runs::Filter {
        workflow_id: None,
        client_id: None,
        started_by: None,
        status: None,
        created_after: None,
        created_before: None,
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn run_list_plans_read_an_index_in_order_for_every_scope_and_filter(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let w = world(&app, 4000).await;
    let scopes = [
        ("admin", ClientScope::All),
        ("manager", ClientScope::AssignedTo(w.manager.user_id)),
        ("client", ClientScope::Only(w.client.user_id)),
    ];
    let filters = [
        ("no filter", filter()),
        (
            "status",
            db::runs::Filter {
                status: Some(RunPhase::Failed),
                ..filter()
            },
        ),
        (
            "client",
            db::runs::Filter {
                client_id: Some(w.clients[0]),
                ..filter()
            },
        ),
        (
            "workflow",
            db::runs::Filter {
                workflow_id: Some(w.workflows[0]),
                ..filter()
            },
        ),
        (
            "started by",
            db::runs::Filter {
                started_by: Some(w.admin.user_id),
                ..filter()
            },
        ),
    ];
    for (who, scope) in scopes {
        for (name, f) in &filters {
            for start in [Start::First, Start::After(2000), Start::Offset(100)] {
                let plan = db::runs::explain_list(&app.db, scope, f, &start, 50)
                    .await
                    .unwrap();
                assert_indexed(&format!("runs as {who}, {name}, {start:?}"), &plan);
            }
        }
    }
    // The manager's scope is a join driven from `run`, one key lookup per run.
    let plan = db::runs::explain_list(
        &app.db,
        ClientScope::AssignedTo(w.manager.user_id),
        &filter(),
        &Start::First,
        50,
    )
    .await
    .unwrap();
    assert_eq!(plan[0].table.as_deref(), Some("r"), "{plan:#?}");
    assert_eq!(plan[1].access.as_deref(), Some("eq_ref"), "{plan:#?}");
}

#[sqlx::test(migrations = "../migrations")]
async fn audit_list_plans_read_an_index_in_order_for_the_common_filters(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let w = world(&app, 10).await;
    sqlx::query(
        "INSERT INTO audit_log (at, user_id, role, action, object_type, object_id, outcome, status, request_id) \
         SELECT NOW(6), IF(r.run_id % 2 = 0, ?, ?), 'client', 'run.start', 'run', r.run_id, \
         IF(r.run_id % 7 = 0, 'denied', 'success'), 200, 'r' FROM run r",
    )
    .bind(w.client.user_id)
    .bind(w.manager.user_id)
    .execute(&app.db)
    .await
    .unwrap();
    for _ in 0..6 {
        sqlx::query(
            "INSERT INTO audit_log (at, user_id, role, action, object_type, object_id, outcome, status, request_id) \
             SELECT at, user_id, role, action, object_type, object_id, outcome, status, request_id FROM audit_log",
        )
        .execute(&app.db)
        .await
        .unwrap();
    }
    sqlx::query("ANALYZE TABLE audit_log")
        .execute(&app.db)
        .await
        .unwrap();
    let filters = [
        ("no filter", db::audit::Filter::default()),
        (
            "user",
            db::audit::Filter {
                user_id: Some(w.client.user_id),
                ..Default::default()
            },
        ),
        (
            "outcome",
            db::audit::Filter {
                outcome: Some("denied".into()),
                ..Default::default()
            },
        ),
        (
            "object",
            db::audit::Filter {
                object_type: Some("run".into()),
                object_id: Some("3".into()),
                ..Default::default()
            },
        ),
    ];
    for (name, f) in &filters {
        for start in [Start::First, Start::After(300)] {
            let plan = db::audit::explain_list(&app.db, f, &start, 50)
                .await
                .unwrap();
            assert_indexed(&format!("audit, {name}, {start:?}"), &plan);
        }
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn task_list_plans_read_an_index_in_order_for_the_indexed_sorts(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let w = world(&app, 0).await;
    sqlx::query(
        "INSERT INTO task_counter (client_id, prefix, last_number) VALUES (?, 'T', 100000)",
    )
    .bind(w.client.user_id)
    .execute(&app.db)
    .await
    .unwrap();
    let mut values = vec![];
    for i in 1..=20000u32 {
        let c = w.clients[(i % 4) as usize];
        let prio = ["low", "medium", "high", "critical"][(i % 4) as usize];
        values.push(format!(
            "({c}, {i}, 'T-{i}', 'task {i}', '', {}, '{prio}', {}, {i}, 'manual', 1, \
             TIMESTAMPADD(SECOND, {i}, '2026-01-01'), TIMESTAMPADD(SECOND, {i}, '2026-01-01'))",
            1 + i % 4,
            w.admin.user_id
        ));
    }
    for chunk in values.chunks(500) {
        sqlx::query(&format!(
            "INSERT INTO task (client_id, task_number, task_key, title, description, status_id, priority, \
             reporter_id, position, source_kind, version, created_at, updated_at) VALUES {}",
            chunk.join(", ")
        ))
        .execute(&app.db)
        .await
        .unwrap();
    }
    sqlx::query("ANALYZE TABLE task")
        .execute(&app.db)
        .await
        .unwrap();
    let admin = tasks_db::Viewer {
        user_id: w.admin.user_id,
        role: Role::Admin,
    };
    let now = Utc::now();
    let t = KeyValue::Time(now);
    let cases = [
        (TaskSort::CreatedDesc, vec![t.clone(), KeyValue::Int(10000)]),
        (TaskSort::CreatedAsc, vec![t.clone(), KeyValue::Int(1500)]),
        (TaskSort::UpdatedDesc, vec![t.clone(), KeyValue::Int(1500)]),
        (
            TaskSort::PriorityDesc,
            vec![KeyValue::Int(2), t.clone(), KeyValue::Int(1500)],
        ),
        (TaskSort::Key, vec![KeyValue::Int(1), KeyValue::Int(1500)]),
    ];
    for (sort, key) in cases {
        let f = tasks_db::Filter::default();
        for start in [Start::First, Start::After(key.clone())] {
            let plan = tasks_db::explain_list(&app.db, admin, &f, sort, &start, 50, now)
                .await
                .unwrap();
            assert_indexed(&format!("tasks as admin, {sort:?}, {start:?}"), &plan);
        }
        let by_client = tasks_db::Filter {
            client_id: Some(w.clients[1]),
            ..Default::default()
        };
        if matches!(
            sort,
            TaskSort::CreatedDesc | TaskSort::UpdatedDesc | TaskSort::Key
        ) {
            let plan =
                tasks_db::explain_list(&app.db, admin, &by_client, sort, &Start::First, 50, now)
                    .await
                    .unwrap();
            assert_indexed(&format!("tasks of one client, {sort:?}"), &plan);
        }
    }

    // A manager of two of the four clients, assigned many tasks of their own
    // clients and a few of another, reporter of many of their own and a few
    // of another's: the parts over other clients never read the manager's.
    app.assign(&w.admin, w.manager.user_id, w.clients[3]).await;
    sqlx::query(
        "INSERT INTO task_assignee (task_id, user_id, client_id, task_open) \
         SELECT task_id, ?, client_id, completed_at IS NULL FROM task \
         WHERE (client_id = ? AND task_id % 3 = 0) OR (client_id = ? AND task_id % 100 = 1)",
    )
    .bind(w.manager.user_id)
    .bind(w.clients[0])
    .bind(w.clients[1])
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE task SET reporter_id = ? WHERE (client_id = ? AND task_id % 2 = 0) \
         OR (client_id = ? AND task_id % 100 = 2)",
    )
    .bind(w.manager.user_id)
    .bind(w.clients[3])
    .bind(w.clients[2])
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query("ANALYZE TABLE task, task_assignee, manager_client")
        .execute(&app.db)
        .await
        .unwrap();
    let manager = tasks_db::Viewer {
        user_id: w.manager.user_id,
        role: Role::Manager,
    };
    let cases = [
        (
            TaskSort::CreatedDesc,
            "ix_task_client_created_id",
            vec![t.clone(), KeyValue::Int(10000)],
        ),
        (
            TaskSort::CreatedAsc,
            "ix_task_client_created_id",
            vec![t.clone(), KeyValue::Int(1500)],
        ),
        (
            TaskSort::UpdatedDesc,
            "ix_task_client_updated_id",
            vec![t.clone(), KeyValue::Int(1500)],
        ),
        (
            TaskSort::DueAsc,
            "ix_task_client_due_sort",
            vec![t.clone(), KeyValue::Int(1500)],
        ),
        (
            TaskSort::Key,
            "uq_task_client_number",
            vec![KeyValue::Int(1), KeyValue::Int(1500)],
        ),
    ];
    for (sort, index, key) in cases {
        for start in [Start::First, Start::After(key.clone())] {
            let f = tasks_db::Filter::default();
            let plan = tasks_db::explain_list(&app.db, manager, &f, sort, &start, 25, now)
                .await
                .unwrap();
            assert_manager_plan(
                &format!("tasks as manager, {sort:?}, {start:?}"),
                &plan,
                index,
            );
        }
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn log_event_and_notification_pages_read_an_index_in_order(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let w = world(&app, 40).await;
    let runs: Vec<u64> = sqlx::query_scalar("SELECT run_id FROM run ORDER BY run_id LIMIT 20")
        .fetch_all(&app.db)
        .await
        .unwrap();
    // 20 runs × 3 nodes × 2 attempts × 25 lines, and 150 events per run.
    let (mut logs, mut events) = (vec![], vec![]);
    for r in &runs {
        for seq in 1..=150u32 {
            let node = ["extract", "transform", "load"][(seq % 3) as usize];
            logs.push(format!(
                "({r}, {seq}, '{node}', {}, NOW(6), 'info', 'stdout', 'line {seq}')",
                1 + seq % 2
            ));
            events.push(format!("({r}, {seq}, 'log', '{{}}', NOW(6))"));
        }
    }
    for chunk in logs.chunks(1000) {
        sqlx::query(&format!(
            "INSERT INTO node_log (run_id, seq, node_id, attempt, ts, level, stream, message) VALUES {}",
            chunk.join(", ")
        ))
        .execute(&app.db)
        .await
        .unwrap();
    }
    for chunk in events.chunks(1000) {
        sqlx::query(&format!(
            "INSERT INTO run_event (run_id, seq, kind, data, created_at) VALUES {}",
            chunk.join(", ")
        ))
        .execute(&app.db)
        .await
        .unwrap();
    }
    // 2,000 notifications over the four users, every third one read.
    let users = [
        w.admin.user_id,
        w.manager.user_id,
        w.client.user_id,
        w.clients[1],
    ];
    let notes: Vec<String> = (0..2000u32)
        .map(|i| {
            format!(
                "({}, 'assigned', 'note {i}', NOW(6), {})",
                users[(i % 4) as usize],
                if i % 3 == 0 { "NOW(6)" } else { "NULL" }
            )
        })
        .collect();
    for chunk in notes.chunks(500) {
        sqlx::query(&format!(
            "INSERT INTO notification (user_id, kind, title, created_at, read_at) VALUES {}",
            chunk.join(", ")
        ))
        .execute(&app.db)
        .await
        .unwrap();
    }
    sqlx::query("ANALYZE TABLE node_log, run_event, notification")
        .execute(&app.db)
        .await
        .unwrap();
    let run = runs[7];
    for (attempt, after) in [(None, 0), (None, 60), (Some(2), 0), (Some(1), 90)] {
        let plan = db::runs::explain_logs(&app.db, run, "load", attempt, after, 500)
            .await
            .unwrap();
        assert_indexed(
            &format!("log page, attempt {attempt:?}, after {after}"),
            &plan,
        );
    }
    for after in [0, 75] {
        let plan = db::runs::explain_events_after(&app.db, run, after, 500)
            .await
            .unwrap();
        assert_indexed(&format!("events after {after}"), &plan);
    }
    let newest: u64 = sqlx::query_scalar("SELECT MAX(notification_id) FROM notification")
        .fetch_one(&app.db)
        .await
        .unwrap();
    for unread_only in [false, true] {
        for before in [None, Some(newest - 500)] {
            let plan = katalusis_api::notifications::db::explain_list(
                &app.db,
                w.manager.user_id,
                unread_only,
                before,
                50,
            )
            .await
            .unwrap();
            assert_indexed(
                &format!("notifications, unread {unread_only}, before {before:?}"),
                &plan,
            );
        }
    }
}

/// Walks a cursor list to its end, inserting `insert_per_page` new rows (via
/// `insert`) after every page; returns the ids in the order read.
async fn walk<F, Fut>(app: &TestApp, s: &Session, first: &str, mut insert: F) -> Vec<u64>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut ids = vec![];
    let mut url = first.to_string();
    for _ in 0..1000 {
        let r = app.get(&url, s).await;
        assert_eq!(r.status.as_u16(), 200, "{url}: {}", r.body);
        assert!(
            r.body["total"].is_null(),
            "no count unless asked: {}",
            r.body
        );
        ids.extend(
            r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_u64().or(i["auditId"].as_u64()).unwrap()),
        );
        insert().await;
        match &r.body["nextCursor"] {
            Value::String(c) => {
                assert_eq!(r.body["hasMore"], true);
                let sep = if first.contains('?') { '&' } else { '?' };
                url = format!("{first}{sep}after={c}");
            }
            _ => {
                assert_eq!(r.body["hasMore"], false);
                return ids;
            }
        }
    }
    panic!("the cursor never ended");
}

fn assert_each_once(what: &str, read: &[u64], expected: &BTreeSet<u64>) {
    let set: BTreeSet<u64> = read.iter().copied().collect();
    assert_eq!(set.len(), read.len(), "{what}: a row came twice: {read:?}");
    assert!(
        expected.is_subset(&set),
        "{what}: missing {:?}",
        expected.difference(&set).collect::<Vec<_>>()
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn run_cursor_returns_every_run_once_while_runs_are_inserted(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let w = world(&app, 120).await;
    let before: Vec<u64> = sqlx::query_scalar("SELECT run_id FROM run ORDER BY run_id")
        .fetch_all(&app.db)
        .await
        .unwrap();
    let (clients, workflows, by) = (w.clients.clone(), w.workflows.clone(), w.admin.user_id);
    let read = walk(&app, &w.admin, "/api/runs?perPage=7", || {
        insert_runs(&app, &clients, &workflows, by, 3)
    })
    .await;
    assert_each_once("admin runs", &read, &before.iter().copied().collect());
    // Newest first, strictly: a run inserted during the walk is newer than the
    // cursor, so it never shows up on a later page.
    assert!(read.windows(2).all(|p| p[0] > p[1]), "{read:?}");
    assert_eq!(read.len(), before.len());

    // The client's walk: only their published runs, each once.
    let mine: BTreeSet<u64> =
        sqlx::query_scalar("SELECT run_id FROM run WHERE client_id = ? AND published")
            .bind(w.client.user_id)
            .fetch_all(&app.db)
            .await
            .unwrap()
            .into_iter()
            .collect();
    let read = walk(&app, &w.client, "/api/runs?perPage=5", || {
        insert_runs(&app, &clients, &workflows, by, 2)
    })
    .await;
    assert_each_once("client runs", &read, &mine);
    let visible: BTreeSet<u64> =
        sqlx::query_scalar("SELECT run_id FROM run WHERE client_id = ? AND published")
            .bind(w.client.user_id)
            .fetch_all(&app.db)
            .await
            .unwrap()
            .into_iter()
            .collect();
    assert!(read.iter().all(|id| visible.contains(id)));
}

#[sqlx::test(migrations = "../migrations")]
async fn task_cursors_return_every_task_once_in_every_sort_while_tasks_are_created(
    pool: MySqlPool,
) {
    let app = spawn_app(pool).await;
    let w = world(&app, 0).await;
    let prios = ["low", "medium", "high", "critical"];
    let mut n = 0;
    let mut create = || {
        n += 1;
        let body = serde_json::json!({
            "clientId": w.client.user_id,
            "title": format!("task {n}"),
            "priority": prios[n % 4],
            "dueAt": if n % 3 == 0 { Value::Null } else { Value::String(format!("2027-01-{:02}T00:00:00Z", 1 + n % 5)) },
        });
        let app = &app;
        let admin = w.admin.clone();
        async move {
            let r = app.post("/api/tasks", &admin, body).await;
            assert_eq!(r.status.as_u16(), 201, "{}", r.body);
        }
    };
    for _ in 0..23 {
        create().await;
    }
    for sort in [
        "created_desc",
        "created_asc",
        "updated_desc",
        "due_asc",
        "due_desc",
        "priority_desc",
        "board",
        "key",
    ] {
        let before: BTreeSet<u64> = sqlx::query_scalar("SELECT task_id FROM task")
            .fetch_all(&app.db)
            .await
            .unwrap()
            .into_iter()
            .collect();
        let first = format!("/api/tasks?sort={sort}&perPage=4");
        let read = walk(&app, &w.admin, &first, &mut create).await;
        assert_each_once(sort, &read, &before);
        // The same order as one big page read afterwards (new rows aside).
        let all = app
            .get(&format!("/api/tasks?sort={sort}&perPage=500"), &w.admin)
            .await;
        let whole: Vec<u64> = all.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_u64().unwrap())
            .filter(|id| read.contains(id))
            .collect();
        let read_known: Vec<u64> = read
            .iter()
            .copied()
            .filter(|id| whole.contains(id))
            .collect();
        assert_eq!(
            read_known, whole,
            "{sort}: cursor order differs from the list order"
        );
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_managers_task_cursors_merge_their_parts_and_return_each_visible_task_once(
    pool: MySqlPool,
) {
    let app = spawn_app(pool).await;
    let w = world(&app, 0).await;
    // The manager has clients 0 and 3; of clients 1 and 2 they see only the
    // tasks assigned to them or reported by them.
    app.assign(&w.admin, w.manager.user_id, w.clients[3]).await;
    let prios = ["low", "medium", "high", "critical"];
    let mut n = 0;
    let clients = w.clients.clone();
    let mut create = || {
        n += 1;
        let body = serde_json::json!({
            "clientId": clients[n % 4],
            "title": format!("task {n}"),
            "priority": prios[n % 3],
            "dueAt": if n % 3 == 0 { Value::Null } else { Value::String(format!("2027-01-{:02}T00:00:00Z", 1 + n % 5)) },
        });
        let app = &app;
        let admin = w.admin.clone();
        async move {
            let r = app.post("/api/tasks", &admin, body).await;
            assert_eq!(r.status.as_u16(), 201, "{}", r.body);
        }
    };
    for _ in 0..40 {
        create().await;
    }
    let foreign = [w.clients[1], w.clients[2]];
    sqlx::query(
        "INSERT INTO task_assignee (task_id, user_id, client_id, task_open) \
         SELECT task_id, ?, client_id, completed_at IS NULL FROM task \
         WHERE client_id IN (?, ?) AND task_id % 3 = 0",
    )
    .bind(w.manager.user_id)
    .bind(foreign[0])
    .bind(foreign[1])
    .execute(&app.db)
    .await
    .unwrap();
    // Reported by the manager: some of another client's tasks, some of those
    // also assigned to them (in one part only), and some of their own.
    sqlx::query("UPDATE task SET reporter_id = ? WHERE task_id % 4 = 0")
        .bind(w.manager.user_id)
        .execute(&app.db)
        .await
        .unwrap();
    let visible = |extra: &'static str| {
        let app = &app;
        let (m, c0, c3) = (w.manager.user_id, w.clients[0], w.clients[3]);
        async move {
            sqlx::query_scalar::<_, u64>(&format!(
                "SELECT task_id FROM task t WHERE (client_id IN (?, ?) OR reporter_id = ? OR EXISTS \
                 (SELECT 1 FROM task_assignee a WHERE a.task_id = t.task_id AND a.user_id = ?)){extra}"
            ))
            .bind(c0)
            .bind(c3)
            .bind(m)
            .bind(m)
            .fetch_all(&app.db)
            .await
            .unwrap()
            .into_iter()
            .collect::<BTreeSet<u64>>()
        }
    };
    let all_visible = visible("").await;
    let foreign_visible =
        visible(" AND client_id NOT IN (SELECT client_id FROM manager_client)").await;
    assert!(foreign_visible.len() >= 5, "{foreign_visible:?}");
    for sort in [
        "created_desc",
        "created_asc",
        "updated_desc",
        "due_asc",
        "due_desc",
        "priority_desc",
        "board",
        "key",
    ] {
        let before = visible("").await;
        let first = format!("/api/tasks?sort={sort}&perPage=4");
        let read = walk(&app, &w.manager, &first, &mut create).await;
        assert_each_once(sort, &read, &before);
        let now_visible = visible("").await;
        assert!(
            read.iter().all(|id| now_visible.contains(id)),
            "{sort}: a task the manager does not see"
        );
        // The same rows in the same order as one big page, and as page
        // numbers (each part read to the end of the page, then merged).
        let all = app
            .get(
                &format!("/api/tasks?sort={sort}&perPage=500&count=exact"),
                &w.manager,
            )
            .await;
        let whole: Vec<u64> = all.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_u64().unwrap())
            .collect();
        assert_eq!(all.body["total"], now_visible.len() as u64, "{sort}");
        assert_eq!(
            whole.iter().copied().collect::<BTreeSet<u64>>(),
            now_visible,
            "{sort}"
        );
        let read_known: Vec<u64> = read
            .iter()
            .copied()
            .filter(|id| whole.contains(id))
            .collect();
        let whole_read: Vec<u64> = whole
            .iter()
            .copied()
            .filter(|id| read.contains(id))
            .collect();
        assert_eq!(
            read_known, whole_read,
            "{sort}: cursor order differs from the list order"
        );
        let page3 = app
            .get(
                &format!("/api/tasks?sort={sort}&perPage=4&page=3"),
                &w.manager,
            )
            .await;
        let page3: Vec<u64> = page3.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_u64().unwrap())
            .collect();
        assert_eq!(page3, whole[8..12], "{sort}: page 3");
    }
    // More than their two clients' 20 tasks, fewer than all 40.
    assert!((21..40).contains(&all_visible.len()), "{all_visible:?}");
    // Narrowed to one client: a managed one (its branch alone) and another
    // (only what was assigned to or reported by the manager).
    let now_visible = visible("").await;
    for client in [w.clients[3], foreign[0]] {
        let of_client: BTreeSet<u64> =
            sqlx::query_scalar("SELECT task_id FROM task WHERE client_id = ?")
                .bind(client)
                .fetch_all(&app.db)
                .await
                .unwrap()
                .into_iter()
                .collect();
        let expected: BTreeSet<u64> = now_visible.intersection(&of_client).copied().collect();
        assert!(!expected.is_empty());
        let read = walk(
            &app,
            &w.manager,
            &format!("/api/tasks?sort=created_desc&perPage=3&clientId={client}"),
            || async {},
        )
        .await;
        assert_eq!(read.iter().copied().collect::<BTreeSet<u64>>(), expected);
        assert_eq!(read.len(), expected.len());
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn count_and_cursor_parameters_are_checked_and_keep_the_scope(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let w = world(&app, 40).await;
    // No total unless asked; `count=exact` and page numbers count.
    let plain = app.get("/api/runs?perPage=5", &w.admin).await;
    assert!(plain.body["total"].is_null());
    assert_eq!(plain.body["hasMore"], true);
    let counted = app.get("/api/runs?perPage=5&count=exact", &w.admin).await;
    assert_eq!(counted.body["total"], 40);
    let paged = app.get("/api/runs?perPage=5&page=2", &w.admin).await;
    assert_eq!(paged.body["total"], 40);
    assert_eq!(paged.body["items"].as_array().unwrap().len(), 5);
    // The later pages of a numbered list whose first page brought the total
    // need not count again.
    for list in ["/api/runs", "/api/tasks", "/api/admin/audit"] {
        let r = app
            .get(&format!("{list}?perPage=2&page=2&count=none"), &w.admin)
            .await;
        assert_eq!(r.status.as_u16(), 200, "{list}: {}", r.body);
        assert!(r.body["total"].is_null(), "{list}: {}", r.body);
        assert_eq!(r.body["page"], 2);
    }
    let last = app
        .get("/api/runs?perPage=5&page=8&count=none", &w.admin)
        .await;
    assert_eq!(last.body["items"].as_array().unwrap().len(), 5);
    assert_eq!(last.body["hasMore"], false);
    let before_last = app
        .get("/api/runs?perPage=5&page=7&count=none", &w.admin)
        .await;
    assert_eq!(before_last.body["hasMore"], true);

    // A cursor handed to the admin, replayed by the manager and the client,
    // still shows them only what their scope allows.
    let cursor = plain.body["nextCursor"].as_str().unwrap().to_string();
    let own: BTreeSet<u64> = sqlx::query_scalar("SELECT run_id FROM run WHERE client_id = ?")
        .bind(w.client.user_id)
        .fetch_all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .collect();
    for s in [&w.manager, &w.client] {
        let r = app
            .get(
                &format!("/api/runs?after={cursor}&count=exact&perPage=100"),
                s,
            )
            .await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.body);
        let ids: Vec<u64> = r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_u64().unwrap())
            .collect();
        assert!(!ids.is_empty());
        assert!(ids.iter().all(|id| own.contains(id)), "{ids:?}");
        // The total counts the caller's scope, not the cursor's window.
        let expected = if s.user_id == w.client.user_id {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM run WHERE client_id = ? AND published",
            )
        } else {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM run WHERE client_id = ?")
        }
        .bind(w.client.user_id)
        .fetch_one(&app.db)
        .await
        .unwrap();
        assert_eq!(r.body["total"], expected);
    }
    // Clients cannot page the audit log with a cursor either.
    let audit = app.get("/api/admin/audit?perPage=1", &w.admin).await;
    let audit_cursor = audit.body["nextCursor"].as_str().unwrap().to_string();
    let r = app
        .get(&format!("/api/admin/audit?after={audit_cursor}"), &w.client)
        .await;
    assert_eq!(r.status.as_u16(), 403);

    // Bad parameters are 4xx with the error shape and name the field.
    // A cursor wins over a page number; an empty one is no cursor.
    let by_cursor = app
        .get(&format!("/api/runs?after={cursor}"), &w.admin)
        .await;
    let with_page = app
        .get(&format!("/api/runs?after={cursor}&page=2"), &w.admin)
        .await;
    assert_eq!(with_page.status.as_u16(), 200, "{}", with_page.body);
    assert_eq!(with_page.body["items"], by_cursor.body["items"]);
    let empty = app.get("/api/runs?after=", &w.admin).await;
    let first = app.get("/api/runs", &w.admin).await;
    assert_eq!(empty.body["items"], first.body["items"]);

    for (url, field) in [
        ("/api/runs?after=not-a-cursor".to_string(), "after"),
        (format!("/api/runs?after={audit_cursor}"), "after"),
        (format!("/api/admin/audit?after={cursor}"), "after"),
        ("/api/runs?count=maybe".to_string(), ""),
        (format!("/api/tasks?sort=key&after={cursor}"), "after"),
    ] {
        let r = app.get(&url, &w.admin).await;
        assert!(r.status.is_client_error(), "{url}: {} {}", r.status, r.body);
        assert!(r.body["error"]["code"].is_string(), "{url}: {}", r.body);
        if !field.is_empty() {
            assert!(r.body.to_string().contains(field), "{url}: {}", r.body);
        }
    }
    // A task cursor of one sort does not continue another.
    for i in 0..3 {
        let r = app
            .post(
                "/api/tasks",
                &w.admin,
                serde_json::json!({"clientId": w.client.user_id, "title": format!("t{i}")}),
            )
            .await;
        assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    }
    let t = app.get("/api/tasks?sort=key&perPage=1", &w.admin).await;
    let tc = t.body["nextCursor"].as_str().unwrap();
    let r = app
        .get(
            &format!("/api/tasks?sort=created_desc&after={tc}"),
            &w.admin,
        )
        .await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.body);
}
