//! Several API server processes on one database: a run played on one is
//! streamed through another without a gap; a replica killed mid-run has its
//! run resumed by another exactly once; a schedule fires once with several
//! replicas and moves to a survivor; an import outlives its replica; cancel
//! and task events cross replicas; with Redis, replicas ring each other and
//! streams stay whole.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::MySqlPool;

use crate::runs::{cast, node, node_of, parse_sse, template, text_out, workflow, Cast};
use crate::support::{spawn_app, ServerProcess, TestApp};

/// Short, so takeovers happen within a test's patience.
const TTL: &str = "2";

async fn database_of(pool: &MySqlPool) -> String {
    sqlx::query_scalar("SELECT DATABASE()")
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn replica(database: &str, id: &str) -> ServerProcess {
    replica_with(database, id, &[]).await
}

async fn replica_with(database: &str, id: &str, more: &[(&str, &str)]) -> ServerProcess {
    let mut env = vec![
        ("KATALUSIS_REPLICA_ID", id),
        ("KATALUSIS_LEASE_TTL_SECONDS", TTL),
        ("KATALUSIS_STARTER_LIBRARY", "false"),
    ];
    env.extend_from_slice(more);
    ServerProcess::spawn(database, &env).await
}

/// The Redis server of the test machine (`.ci/run` starts it).
const REDIS: &str = "redis://127.0.0.1:6379/";

/// A template that logs a line every 100 ms, five times.
async fn chatty_template(app: &TestApp, c: &Cast) {
    app.create_template(
        &c.admin,
        template(
            "chatty",
            "import time\ndef run(inputs, params, ctx):\n    for i in range(5):\n        ctx.log('line %d' % i)\n        time.sleep(0.1)\n    return {'text': 'ok'}\n",
            json!([]),
            text_out(),
            json!({}),
        ),
    )
    .await;
}

async fn quick_template(app: &TestApp, c: &Cast) {
    app.create_template(
        &c.admin,
        template(
            "quick",
            "def run(inputs, params, ctx):\n    return {'text': 'quick'}\n",
            json!([]),
            text_out(),
            json!({}),
        ),
    )
    .await;
}

/// A workflow of the client with one node of `template`.
async fn one_node_workflow(app: &TestApp, c: &Cast, template: &str) -> u64 {
    workflow(
        app,
        &c.manager,
        c.client.user_id,
        vec![node("a", template)],
        vec![],
    )
    .await
}

/// Opens the manager's live board on `b`, creates a task titled `title` on
/// `a`, and waits for its `created` event on the board.
async fn a_task_created_on_a_reaches_b(
    app: &TestApp,
    c: &Cast,
    a: &ServerProcess,
    b: &ServerProcess,
    title: &str,
) {
    let mut board = app
        .http
        .get(format!("{}/api/tasks/events", b.base))
        .bearer_auth(&c.manager.token)
        .send()
        .await
        .unwrap();
    assert_eq!(board.status(), StatusCode::OK);
    let r = app
        .http
        .post(format!("{}/api/tasks", a.base))
        .bearer_auth(&c.manager.token)
        .json(&json!({"clientId": c.client.user_id, "title": title}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "{:?}", r.text().await);
    let task_id = r.json::<Value>().await.unwrap()["id"].as_u64().unwrap();
    let wanted = format!("\"taskId\":{task_id},");
    let mut text = String::new();
    let got = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(chunk) = board.chunk().await.unwrap() {
            text.push_str(&String::from_utf8_lossy(&chunk));
            let seen = text.split("\n\n").any(|e| {
                e.contains("event: task")
                    && e.contains("\"action\":\"created\"")
                    && e.contains(&wanted)
            });
            if seen {
                return;
            }
        }
    })
    .await;
    assert!(
        got.is_ok(),
        "no created event of task {task_id} on B: {text}"
    );
}

/// The whole SSE body of `path` on `base`, read until the server ends it.
async fn read_sse(app: &TestApp, base: &str, path: &str, token: &str) -> Vec<(u64, String, Value)> {
    let mut resp = app
        .http
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("sse");
    assert_eq!(resp.status(), StatusCode::OK);
    let mut text = String::new();
    let read = async {
        while let Some(chunk) = resp.chunk().await.expect("chunk") {
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    tokio::time::timeout(Duration::from_secs(90), read)
        .await
        .expect("the stream ends with the run");
    parse_sse(&text)
}

async fn play_on(app: &TestApp, base: &str, token: &str, wf: u64) -> u64 {
    let r = app
        .http
        .post(format!("{base}/api/workflows/{wf}/runs"))
        .bearer_auth(token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    r.json::<Value>().await.unwrap()["id"].as_u64().unwrap()
}

async fn wait_until<F, Fut>(what: &str, secs: u64, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check().await {
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn claimed_by(pool: &MySqlPool, run: u64) -> Option<String> {
    sqlx::query_scalar("SELECT claimed_by FROM run WHERE run_id = ?")
        .bind(run)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Stored `(seq, kind, data)` of a run.
async fn stored_events(pool: &MySqlPool, run: u64) -> Vec<(u64, String, Value)> {
    let rows: Vec<(u64, String, String)> =
        sqlx::query_as("SELECT seq, kind, data FROM run_event WHERE run_id = ? ORDER BY seq")
            .bind(run)
            .fetch_all(pool)
            .await
            .unwrap();
    rows.into_iter()
        .map(|(s, k, d)| (s, k, serde_json::from_str(&d).unwrap()))
        .collect()
}

#[sqlx::test(migrations = "../migrations")]
async fn a_run_played_on_one_replica_streams_through_another_without_a_gap(pool: MySqlPool) {
    let app = spawn_app(pool.clone()).await;
    let c = cast(&app).await;
    chatty_template(&app, &c).await;
    let wf = workflow(
        &app,
        &c.manager,
        c.client.user_id,
        vec![node("a", "chatty"), node("b", "chatty")],
        vec![],
    )
    .await;
    let database = database_of(&pool).await;
    let a = replica(&database, "replica-a").await;
    let b = replica(&database, "replica-b").await;

    let run = play_on(&app, &a.base, &c.manager.token, wf).await;
    let path = format!("/api/runs/{run}/events");
    let streamed = read_sse(&app, &b.base, &path, &c.manager.token).await;

    assert_eq!(claimed_by(&pool, run).await.as_deref(), Some("replica-a"));
    let ids: Vec<u64> = streamed.iter().map(|e| e.0).collect();
    assert_eq!(
        ids,
        (1..=ids.len() as u64).collect::<Vec<_>>(),
        "gapless and ordered"
    );
    let stored = stored_events(&pool, run).await;
    assert_eq!(
        streamed, stored,
        "replica B streamed exactly what replica A stored"
    );
    assert!(streamed.iter().any(|e| e.1 == "log"));
    let last = streamed.last().unwrap();
    assert_eq!(
        (last.1.as_str(), last.2["status"].as_str()),
        ("run", Some("succeeded"))
    );

    // Replaying from the middle through B continues from there.
    let cut = streamed[streamed.len() / 2].0;
    let mut resp = app
        .http
        .get(format!("{}{path}", b.base))
        .bearer_auth(&c.manager.token)
        .header("Last-Event-ID", cut.to_string())
        .send()
        .await
        .unwrap();
    let mut text = String::new();
    while let Some(chunk) = resp.chunk().await.unwrap() {
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    let rest = parse_sse(&text);
    assert_eq!(rest.first().map(|e| e.0), Some(cut + 1));
    assert_eq!(rest.len() as u64, ids.len() as u64 - cut);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_replica_killed_mid_run_has_its_run_resumed_by_another_exactly_once(pool: MySqlPool) {
    let app = spawn_app(pool.clone()).await;
    let c = cast(&app).await;
    quick_template(&app, &c).await;
    app.create_template(
        &c.admin,
        template(
            "slow-once",
            "import time\ndef run(inputs, params, ctx):\n    if ctx.attempt == 1:\n        time.sleep(60)\n    return {'text': 'attempt %d' % ctx.attempt}\n",
            json!([]),
            text_out(),
            json!({"retry": {"maxAttempts": 2}, "limits": {"timeoutSeconds": 120, "memoryMib": 256, "cpuMillicores": 1000}}),
        ),
    )
    .await;
    let wf = workflow(
        &app,
        &c.manager,
        c.client.user_id,
        vec![
            node("first", "quick"),
            node("slow", "slow-once"),
            node("last", "quick"),
        ],
        vec![],
    )
    .await;
    let database = database_of(&pool).await;
    let mut a = replica(&database, "replica-a").await;
    let b = replica(&database, "replica-b").await;
    let c3 = replica(&database, "replica-c").await;

    let run = play_on(&app, &a.base, &c.manager.token, wf).await;
    // B streams the run from its start, across the takeover.
    let token = c.manager.token.clone();
    let (http, b_base) = (app.http.clone(), b.base.clone());
    let stream = tokio::spawn(async move {
        let mut resp = http
            .get(format!("{b_base}/api/runs/{run}/events"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let mut text = String::new();
        while let Some(chunk) = resp.chunk().await.unwrap() {
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
        parse_sse(&text)
    });
    wait_until("the slow node never ran on A", 30, || async {
        let body = app.get(&format!("/api/runs/{run}"), &c.manager).await.body;
        node_of(&body, "slow")["status"] == "running"
            && node_of(&body, "first")["status"] == "succeeded"
            && node_of(&body, "last")["status"] == "succeeded"
    })
    .await;
    a.kill();

    let streamed = tokio::time::timeout(Duration::from_secs(90), stream)
        .await
        .expect("B's stream ends with the run")
        .unwrap();
    let body = app.get(&format!("/api/runs/{run}"), &c.manager).await.body;
    assert_eq!(body["status"], "succeeded", "{body}");
    let taker = claimed_by(&pool, run).await.unwrap();
    assert!(
        ["replica-b", "replica-c"].contains(&taker.as_str()),
        "{taker}"
    );
    let slow = node_of(&body, "slow");
    assert_eq!(slow["executions"][0]["reason"], "interrupted", "{slow}");
    assert_eq!(slow["executions"][1]["outputs"]["text"], "attempt 2");
    assert_eq!(slow["executions"].as_array().unwrap().len(), 2);
    for n in ["first", "last"] {
        assert_eq!(
            node_of(&body, n)["executions"].as_array().unwrap().len(),
            1,
            "{n} ran once"
        );
    }

    let stored = stored_events(&pool, run).await;
    let seqs: Vec<u64> = stored.iter().map(|e| e.0).collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "no gap in the stored log"
    );
    assert_eq!(
        streamed, stored,
        "B streamed every stored event once, across the takeover"
    );
    for n in ["first", "slow", "last"] {
        let succeeded = stored
            .iter()
            .filter(|e| e.1 == "node" && e.2["node"] == n && e.2["status"] == "succeeded")
            .count();
        assert_eq!(succeeded, 1, "{n} succeeded once");
    }
    let finals = stored
        .iter()
        .filter(|e| e.1 == "run" && e.2["status"] == "succeeded")
        .count();
    assert_eq!(finals, 1, "the run finished once");
    drop((b, c3));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_run_is_cancelled_through_a_replica_that_does_not_drive_it(pool: MySqlPool) {
    let app = spawn_app(pool.clone()).await;
    let c = cast(&app).await;
    app.create_template(
        &c.admin,
        template("sleepy", "import time\ndef run(inputs, params, ctx):\n    time.sleep(60)\n    return {'text': 'late'}\n", json!([]), text_out(), json!({"limits": {"timeoutSeconds": 120, "memoryMib": 256, "cpuMillicores": 1000}})),
    )
    .await;
    let wf = workflow(
        &app,
        &c.manager,
        c.client.user_id,
        vec![node("s", "sleepy")],
        vec![],
    )
    .await;
    let database = database_of(&pool).await;
    let a = replica(&database, "replica-a").await;
    let b = replica(&database, "replica-b").await;
    let run = play_on(&app, &a.base, &c.manager.token, wf).await;
    wait_until("the node never ran", 30, || async {
        let body = app.get(&format!("/api/runs/{run}"), &c.manager).await.body;
        node_of(&body, "s")["status"] == "running"
    })
    .await;
    let asked = Instant::now();
    let r = app
        .http
        .post(format!("{}/api/runs/{run}/cancel", b.base))
        .bearer_auth(&c.manager.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    wait_until("the run was not cancelled", 20, || async {
        app.get(&format!("/api/runs/{run}"), &c.manager).await.body["status"] == "cancelled"
    })
    .await;
    // Told through the bus, not found by a takeover (A is alive and keeps its claim).
    assert!(asked.elapsed() < Duration::from_secs(15));
    assert_eq!(claimed_by(&pool, run).await.as_deref(), Some("replica-a"));
    drop((a, b));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_task_changed_on_one_replica_reaches_the_live_board_of_another(pool: MySqlPool) {
    let app = spawn_app(pool.clone()).await;
    let c = cast(&app).await;
    let database = database_of(&pool).await;
    let a = replica(&database, "replica-a").await;
    let b = replica(&database, "replica-b").await;
    a_task_created_on_a_reaches_b(&app, &c, &a, &b, "Seen everywhere").await;
}

#[sqlx::test(migrations = "../migrations")]
async fn a_schedule_fires_once_with_several_replicas_and_moves_to_a_survivor(pool: MySqlPool) {
    let app = spawn_app(pool.clone()).await;
    let c = cast(&app).await;
    let wf = crate::triggers::echo_workflow(&app, &c).await;
    let database = database_of(&pool).await;
    let mut replicas = [
        replica(&database, "replica-a").await,
        replica(&database, "replica-b").await,
        replica(&database, "replica-c").await,
    ];
    let names = ["replica-a", "replica-b", "replica-c"];
    let holder = || async {
        sqlx::query_scalar::<_, String>("SELECT holder FROM lease WHERE name = 'schedules'")
            .fetch_optional(&pool)
            .await
            .unwrap()
    };
    wait_until("no replica took the schedules lease", 20, || async {
        holder().await.is_some()
    })
    .await;
    let first_holder = holder().await.unwrap();

    let add = |name: &'static str| {
        let app = &app;
        let c = &c;
        async move {
            let r = app
                .post(
                    &format!("/api/workflows/{wf}/triggers"),
                    &c.manager,
                    json!({"name": name, "config": {"kind": "schedule", "cron": "0 0 1 1 *", "timezone": "UTC", "missed": "run_once"}}),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
            let id = r.body["trigger"]["id"].as_u64().unwrap();
            // Its instant has come (last New Year, fired late: run once).
            sqlx::query("UPDATE workflow_trigger SET next_fire_at = '2026-01-01 00:00:00' WHERE trigger_id = ?")
                .bind(id)
                .execute(&app.db)
                .await
                .unwrap();
            id
        }
    };
    let firings = |t: u64| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM trigger_firing WHERE trigger_id = ? AND outcome = 'started'",
            )
            .bind(t)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let runs = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM run WHERE workflow_id = ?")
            .bind(wf)
            .fetch_one(&pool)
            .await
            .unwrap()
    };

    let t1 = add("yearly").await;
    wait_until("the schedule did not fire", 20, || async {
        firings(t1).await == 1
    })
    .await;
    // Three replicas had the chance to fire it again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(firings(t1).await, 1);
    assert_eq!(runs().await, 1);

    // The holder dies; a survivor takes the lease and fires the next schedule.
    let i = names.iter().position(|n| *n == first_holder).unwrap();
    replicas[i].kill();
    let t2 = add("yearly too").await;
    wait_until("no survivor fired the schedule", 30, || async {
        firings(t2).await == 1
    })
    .await;
    let survivor = holder().await.unwrap();
    assert_ne!(survivor, first_holder);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(firings(t2).await, 1);
    assert_eq!(runs().await, 2);
}

#[sqlx::test(migrations = "../migrations")]
async fn an_import_outlives_the_replica_that_was_applying_it(pool: MySqlPool) {
    use crate::imports::{dry_run, import_tasks, upload, world};
    let app = spawn_app(pool.clone()).await;
    let w = world(&app).await;
    let mut csv = String::from("Key,Title,Priority,Owner\n");
    for i in 0..4000 {
        csv.push_str(&format!(
            "K-{i},Task number {i},{},{}\n",
            ["Low", "High"][i % 2],
            ["mia", "acme", ""][i % 3]
        ));
    }
    let up = upload(&app, &w.mia, "big.csv", &csv).await;
    let id = up["import"]["id"].as_u64().unwrap();
    let r = dry_run(&app, &w.mia, &up, w.acme.user_id).await;
    assert_eq!(r.body["valid"], 4000, "{}", r.body);
    let database = database_of(&pool).await;
    let mut a = replica(&database, "replica-a").await;
    let b = replica(&database, "replica-b").await;

    let r = app
        .http
        .post(format!("{}/api/tasks/imports/{id}/apply", a.base))
        .bearer_auth(&w.mia.token)
        .json(&json!({"mode": "all_or_nothing"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let holder = || async {
        sqlx::query_as::<_, (u32, Option<String>)>(
            "SELECT rows_done, lease_owner FROM import_session WHERE import_id = ?",
        )
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    wait_until("the apply made no progress", 60, || async {
        holder().await.0 >= 1
    })
    .await;
    let (_, owner) = holder().await;
    // Whichever replica claimed the apply dies with it.
    let owner = owner.unwrap();
    let owner_pid: u32 = owner.split('-').next().unwrap().parse().unwrap();
    let survivor = if a.child.id() == owner_pid {
        a.kill();
        b
    } else {
        drop(b);
        a
    };
    let s = app.wait_import(&w.mia, id).await;
    assert_eq!(s["state"], "applied", "{s}");
    assert_eq!(s["created"], 4000);
    assert_eq!(import_tasks(&app, id).await.len(), 4000);
    assert_eq!(app.count("import_external_id").await, 4000);
    let (_, after) = holder().await;
    assert!(after.is_none());
    drop(survivor);
}

#[sqlx::test(migrations = "../migrations")]
async fn with_redis_replicas_ring_each_other_and_streams_stay_whole(pool: MySqlPool) {
    use futures::StreamExt;

    let app = spawn_app(pool.clone()).await;
    let c = cast(&app).await;
    chatty_template(&app, &c).await;
    let wf = one_node_workflow(&app, &c, "chatty").await;
    let database = database_of(&pool).await;
    // Listen on the replicas' channel as a third party would.
    let redis = redis::Client::open(REDIS).unwrap();
    let mut rings = redis
        .get_async_pubsub()
        .await
        .expect("a Redis server on 127.0.0.1:6379");
    rings
        .subscribe(format!("katalusis:{database}:replicas"))
        .await
        .unwrap();
    let with_redis = [("KATALUSIS_REDIS_URL", REDIS)];
    let a = replica_with(&database, "replica-a", &with_redis).await;
    let b = replica_with(&database, "replica-b", &with_redis).await;

    a_task_created_on_a_reaches_b(&app, &c, &a, &b, "Rung through Redis").await;

    let run = play_on(&app, &a.base, &c.manager.token, wf).await;
    let streamed = read_sse(
        &app,
        &b.base,
        &format!("/api/runs/{run}/events"),
        &c.manager.token,
    )
    .await;
    assert_eq!(
        streamed,
        stored_events(&pool, run).await,
        "B streamed what A stored"
    );
    assert_eq!(
        streamed
            .last()
            .map(|e| (e.1.as_str(), e.2["status"].as_str())),
        Some(("run", Some("succeeded")))
    );

    // A rang for both: messages stored (the task event) and run events stored.
    let mut heard = std::collections::BTreeSet::new();
    let mut stream = rings.on_message();
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(m) = stream.next().await {
            heard.insert(m.get_payload::<String>().unwrap());
            if heard.contains("m|replica-a") && heard.contains("e|replica-a") {
                return;
            }
        }
    })
    .await;
    assert!(heard.contains("m|replica-a"), "{heard:?}");
    assert!(heard.contains("e|replica-a"), "{heard:?}");
}

#[sqlx::test(migrations = "../migrations")]
async fn with_redis_unreachable_replicas_stay_ready_and_poll(pool: MySqlPool) {
    let app = spawn_app(pool.clone()).await;
    let c = cast(&app).await;
    let database = database_of(&pool).await;
    // Nothing listens on port 1.
    let gone = [("KATALUSIS_REDIS_URL", "redis://127.0.0.1:1/")];
    let a = replica_with(&database, "replica-a", &gone).await;
    let b = replica_with(&database, "replica-b", &gone).await;
    for base in [&a.base, &b.base] {
        let r = app.http.get(format!("{base}/readyz")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{base}");
    }
    a_task_created_on_a_reaches_b(&app, &c, &a, &b, "Polled").await;
}

#[sqlx::test(migrations = "../migrations")]
async fn orphaned_runs_that_cannot_be_read_are_failed_and_do_not_block_the_others(pool: MySqlPool) {
    let app = spawn_app(pool.clone()).await;
    let c = cast(&app).await;
    quick_template(&app, &c).await;
    let wf = one_node_workflow(&app, &c, "quick").await;
    // Two runs of a replica that died, whose stored snapshots no build can read.
    for run_id in [9001u64, 9002] {
        sqlx::query(
            "INSERT INTO run (run_id, workflow_id, workflow_revision, client_id, started_by, status, \
             failure_policy, snapshot, node_states, published, created_at, started_at, claimed_by) \
             VALUES (?, ?, 1, ?, ?, 'running', 'continue', '{}', '{}', FALSE, NOW(3), NOW(3), 'gone')",
        )
        .bind(run_id)
        .bind(wf)
        .bind(c.client.user_id)
        .bind(c.manager.user_id)
        .execute(&pool)
        .await
        .unwrap();
    }
    let database = database_of(&pool).await;
    let b = replica(&database, "replica-b").await;
    // A readable run played afterwards is driven as usual.
    let run = play_on(&app, &b.base, &c.manager.token, wf).await;

    wait_until("both unreadable runs failed", 20, || {
        let pool = pool.clone();
        async move {
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM run WHERE run_id IN (9001, 9002) AND status = 'failed' \
                 AND message LIKE 'the executor could not read this run%' AND finished_at IS NOT NULL",
            )
            .fetch_one(&pool)
            .await
            .unwrap();
            n == 2
        }
    })
    .await;
    wait_until("the readable run succeeded", 20, || {
        let pool = pool.clone();
        async move {
            let s: String = sqlx::query_scalar("SELECT status FROM run WHERE run_id = ?")
                .bind(run)
                .fetch_one(&pool)
                .await
                .unwrap();
            s == "succeeded"
        }
    })
    .await;
}
