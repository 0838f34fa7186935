//! Triggers: a schedule fires once per instant (with a controlled clock,
//! twice at once as two replicas would), skips or runs once after downtime;
//! a webhook maps its body to inputs, checks its signature and rate; an
//! event trigger fires when a task of its client reaches a status.

use chrono::{DateTime, Duration as Span, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::MySqlPool;

use crate::runs::{cast, node, node_of, start, template, wait_final, workflow, Cast};
use crate::support::{spawn_app, TestApp};
use katalusis_api::triggers::service::tick;

/// `echo` returns what it got on `amount` and `event`.
pub(crate) async fn echo_workflow(app: &TestApp, c: &Cast) -> u64 {
    app.create_template(
        &c.admin,
        template(
            "echo",
            "def run(inputs, params, ctx):\n    return {'out': {'amount': inputs.get('amount'), 'event': inputs.get('event')}}\n",
            json!([{"name": "amount", "type": "number"}, {"name": "event", "type": "json"}]),
            json!([{"name": "out", "type": "json"}]),
            json!({}),
        ),
    )
    .await;
    workflow(
        app,
        &c.manager,
        c.client.user_id,
        vec![node("src", "echo")],
        vec![],
    )
    .await
}

async fn runs_of(app: &TestApp, wf: u64) -> Vec<u64> {
    sqlx::query_scalar("SELECT run_id FROM run WHERE workflow_id = ? ORDER BY run_id")
        .bind(wf)
        .fetch_all(&app.db)
        .await
        .unwrap()
}

/// `POST /api/workflows/{wf}/triggers` as `s`.
async fn add_trigger(
    app: &TestApp,
    s: &crate::support::Session,
    wf: u64,
    body: Value,
) -> crate::support::Resp {
    app.post(&format!("/api/workflows/{wf}/triggers"), s, body)
        .await
}

/// The first run of `wf`, once a trigger started it.
async fn first_run(app: &TestApp, wf: u64, what: &str) -> u64 {
    first_run_within(app, wf, what, 20).await
}

/// The first run of `wf`, waiting at most `secs` for a trigger to start it.
async fn first_run_within(app: &TestApp, wf: u64, what: &str, secs: u64) -> u64 {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(r) = runs_of(app, wf).await.first() {
            return *r;
        }
        assert!(std::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A task of the cast's client, created by the admin.
async fn our_task(app: &TestApp, c: &Cast) -> crate::support::Resp {
    app.post(
        "/api/tasks",
        &c.admin,
        json!({"clientId": c.client.user_id, "title": "Ours"}),
    )
    .await
}

async fn set_next(app: &TestApp, trigger: u64, at: DateTime<Utc>) {
    sqlx::query("UPDATE workflow_trigger SET next_fire_at = ? WHERE trigger_id = ?")
        .bind(at)
        .bind(trigger)
        .execute(&app.db)
        .await
        .unwrap();
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[sqlx::test(migrations = "../migrations")]
async fn a_schedule_fires_once_per_instant_and_handles_missed_instants(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    let wf = echo_workflow(&app, &c).await;

    // Bad input is refused and creates nothing.
    for bad in [
        json!({"name": "x", "config": {"kind": "schedule", "cron": "61 * * * *", "timezone": "UTC"}}),
        json!({"name": "x", "config": {"kind": "schedule", "cron": "* * * * *", "timezone": "Mars/Base"}}),
        json!({"name": "x", "config": {"kind": "schedule", "cron": "* * * * *", "timezone": "UTC", "inputs": {"nope": {"a": 1}}}}),
        json!({"name": "", "config": {"kind": "schedule", "cron": "* * * * *", "timezone": "UTC"}}),
    ] {
        let r = app
            .post(&format!("/api/workflows/{wf}/triggers"), &c.manager, bad)
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    }
    assert_eq!(app.count("workflow_trigger").await, 0);
    let r = app
        .post(
            &format!("/api/workflows/{wf}/triggers"),
            &c.client,
            json!({"name": "x", "config": {"kind": "schedule", "cron": "* * * * *", "timezone": "UTC"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let r = add_trigger(
        &app,
        &c.manager,
        wf,
        json!({"name": "every ten minutes", "config": {
            "kind": "schedule", "cron": "*/10 * * * *", "timezone": "Europe/Berlin",
            "inputs": {"src": {"amount": 10}}
        }}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let t = r.body["trigger"]["id"].as_u64().unwrap();
    let upcoming = r.body["trigger"]["upcoming"].as_array().unwrap();
    assert_eq!(upcoming.len(), 5);
    let (a, b) = (
        at(upcoming[0].as_str().unwrap()),
        at(upcoming[1].as_str().unwrap()),
    );
    assert_eq!(b - a, Span::minutes(10));
    assert!(r.body["webhookPath"].is_null());

    // The instant comes: two replicas check at once; one run starts.
    let instant = at("2026-11-30T10:10:00Z");
    set_next(&app, t, instant).await;
    let now = instant + Span::seconds(2);
    let (x, y) = tokio::join!(tick(&app.state, now), tick(&app.state, now));
    assert_eq!(x.unwrap() + y.unwrap(), 1);
    assert_eq!(tick(&app.state, now).await.unwrap(), 0);
    let runs = runs_of(&app, wf).await;
    assert_eq!(runs.len(), 1);
    let body = wait_final(&app, &c.manager, runs[0]).await;
    assert_eq!(
        node_of(&body, "src")["executions"][0]["outputs"]["out"]["amount"],
        10
    );
    let next: Option<DateTime<Utc>> =
        sqlx::query_scalar("SELECT next_fire_at FROM workflow_trigger WHERE trigger_id = ?")
            .bind(t)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(next, Some(at("2026-11-30T10:20:00Z")));
    // Re-checking the same instant (a restart) starts nothing.
    set_next(&app, t, instant).await;
    assert_eq!(tick(&app.state, now).await.unwrap(), 0);
    assert_eq!(runs_of(&app, wf).await.len(), 1);

    // Down from 10:25 to 13:05: `skip` records the miss and starts nothing.
    set_next(&app, t, at("2026-11-30T10:30:00Z")).await;
    assert_eq!(
        tick(&app.state, at("2026-11-30T13:05:00Z")).await.unwrap(),
        0
    );
    let firings = app
        .get(&format!("/api/triggers/{t}/firings"), &c.manager)
        .await;
    assert_eq!(firings.body[0]["outcome"], "skipped", "{}", firings.body);
    assert_eq!(firings.body[1]["outcome"], "started");
    assert_eq!(firings.body[1]["runId"], runs[0]);
    // `run_once` starts one run for the latest missed instant.
    let r = app
        .patch(
            &format!("/api/triggers/{t}"),
            &c.manager,
            json!({"config": {"kind": "schedule", "cron": "*/10 * * * *", "timezone": "Europe/Berlin", "missed": "run_once", "inputs": {"src": {"amount": 10}}}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    set_next(&app, t, at("2026-11-30T13:10:00Z")).await;
    assert_eq!(
        tick(&app.state, at("2026-11-30T16:05:00Z")).await.unwrap(),
        1
    );
    let firings = app
        .get(&format!("/api/triggers/{t}/firings"), &c.manager)
        .await;
    let started = firings
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["outcome"] == "started")
        .unwrap();
    assert_eq!(started["key"], "2026-11-30T16:00:00+00:00");

    // Disabled triggers do not fire.
    app.patch(
        &format!("/api/triggers/{t}"),
        &c.manager,
        json!({"enabled": false}),
    )
    .await;
    set_next(&app, t, at("2026-11-30T17:00:00Z")).await;
    assert_eq!(
        tick(&app.state, at("2026-11-30T17:00:01Z")).await.unwrap(),
        0
    );
    // Triggered runs are audited like Play, as the trigger's owner.
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'run.start' AND user_id = ? AND request_id = ?",
    )
    .bind(c.manager.user_id)
    .bind(format!("trigger-{t}"))
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(audited, 2);
}

fn sign(key: &str, body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn post_hook(
    app: &TestApp,
    path: &str,
    body: &[u8],
    sig: Option<String>,
) -> (StatusCode, Value) {
    let mut req = app
        .http
        .post(app.url(path))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(s) = sig {
        req = req.header("x-katalusis-signature", s);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[sqlx::test(migrations = "../migrations")]
async fn a_webhook_maps_its_body_to_inputs_and_refuses_bad_signatures(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    let wf = echo_workflow(&app, &c).await;
    let r = add_trigger(
        &app,
        &c.manager,
        wf,
        json!({"name": "orders", "config": {
            "kind": "webhook", "signed": true,
            "inputs": {"src.amount": "/order/total", "src.event": ""}
        }}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let t = r.body["trigger"]["id"].as_u64().unwrap();
    let path = r.body["webhookPath"].as_str().unwrap().to_owned();
    let key = r.body["signingKey"].as_str().unwrap().to_owned();
    // The secret URL and key are shown once, never again.
    let listed = app
        .get(&format!("/api/workflows/{wf}/triggers"), &c.manager)
        .await;
    let token = path.trim_start_matches("/api/hooks/");
    assert!(!listed.body.to_string().contains(token));
    assert!(!listed.body.to_string().contains(&key));
    let stored: Option<String> =
        sqlx::query_scalar("SELECT hmac_secret FROM workflow_trigger WHERE trigger_id = ?")
            .bind(t)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(
        !stored.unwrap().contains(&key),
        "the signing key is sealed at rest"
    );

    let body = br#"{"order": {"total": 42}}"#;
    let (status, _) = post_hook(&app, &path, body, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = post_hook(&app, &path, body, Some(sign("wrong", body))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = post_hook(&app, "/api/hooks/not-a-token", body, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        runs_of(&app, wf).await.is_empty(),
        "a refused call starts no run"
    );

    let (status, accepted) = post_hook(
        &app,
        &format!("{path}?sync=true"),
        body,
        Some(sign(&key, body)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{accepted}");
    assert_eq!(accepted["status"], "succeeded");
    let run = accepted["runId"].as_u64().unwrap();
    let finished = wait_final(&app, &c.manager, run).await;
    let out = &node_of(&finished, "src")["executions"][0]["outputs"]["out"];
    assert_eq!(out["amount"], 42);
    assert_eq!(out["event"]["order"]["total"], 42);

    let firings = app
        .get(&format!("/api/triggers/{t}/firings"), &c.manager)
        .await;
    let outcomes: Vec<&str> = firings
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["outcome"].as_str())
        .collect();
    assert_eq!(outcomes, ["started", "refused", "refused"]);

    // A rate of one call a minute answers the second with 429.
    let r = add_trigger(
        &app,
        &c.manager,
        wf,
        json!({"name": "slow", "config": {"kind": "webhook", "ratePerMinute": 1}}),
    )
    .await;
    let slow = r.body["webhookPath"].as_str().unwrap().to_owned();
    assert_eq!(
        post_hook(&app, &slow, b"{}", None).await.0,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        post_hook(&app, &slow, b"{}", None).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        post_hook(&app, &slow, b"not json", None).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn an_event_trigger_fires_once_when_a_task_of_its_client_reaches_a_status(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    katalusis_api::triggers::service::spawn_event_listener(app.state.clone());
    let c = cast(&app).await;
    let other = app.user(&c.admin, "globex", "client").await;
    let wf = echo_workflow(&app, &c).await;
    let r = add_trigger(&app, &c.manager, wf, json!({"name": "on done", "config": {"kind": "event", "on": "task_status_changed", "status": "completed", "input": "src.event"}})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = add_trigger(&app, &c.manager, wf, json!({"name": "bad", "config": {"kind": "event", "on": "task_status_changed", "status": "Nirvana"}})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    let move_to = |id: u64, version: Value, status: u64| {
        let app = &app;
        let admin = c.admin.clone();
        async move {
            let r = app
                .patch(
                    &format!("/api/tasks/{id}"),
                    &admin,
                    json!({"version": version, "statusId": status}),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            r.body["version"].clone()
        }
    };
    // Another client's task reaching Completed starts nothing.
    let foreign = app
        .post(
            "/api/tasks",
            &c.admin,
            json!({"clientId": other.user_id, "title": "Theirs"}),
        )
        .await;
    let fid = foreign.body["id"].as_u64().unwrap();
    let v = move_to(fid, foreign.body["version"].clone(), 2).await;
    move_to(fid, v, 4).await;

    let task = our_task(&app, &c).await;
    let id = task.body["id"].as_u64().unwrap();
    let v = move_to(id, task.body["version"].clone(), 2).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        runs_of(&app, wf).await.is_empty(),
        "In Progress is not Completed"
    );
    // The board's move, as a drag sends it.
    let r = app
        .post(
            &format!("/api/tasks/{id}/move"),
            &c.admin,
            json!({"version": v, "statusId": 4}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.body["version"].clone();
    let run = first_run(&app, wf, "the event trigger never fired").await;
    let body = wait_final(&app, &c.manager, run).await;
    let event = &node_of(&body, "src")["executions"][0]["outputs"]["out"]["event"];
    assert_eq!(event["event"], "task_status_changed");
    assert_eq!(event["task"]["id"], id);
    assert_eq!(event["task"]["status"], "Completed");
    // Reopened and completed again: the same task and status fire once.
    let v = move_to(id, v, 2).await;
    move_to(id, v, 4).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(runs_of(&app, wf).await.len(), 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn an_import_that_finishes_starts_the_workflows_that_wait_for_it(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    let wf = echo_workflow(&app, &c).await;
    let r = add_trigger(&app, &c.manager, wf, json!({"name": "after import", "config": {"kind": "event", "on": "import_finished", "status": "applied", "input": "src.event"}})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = add_trigger(&app, &c.manager, wf, json!({"name": "bad", "config": {"kind": "event", "on": "import_finished", "status": "done"}})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    let up = app
        .upload_import(&c.manager, "backlog.csv", b"Title\nOne\nTwo\n")
        .await;
    assert_eq!(up.status, StatusCode::CREATED, "{}", up.body);
    let id = up.body["import"]["id"].as_u64().unwrap();
    let r = app
        .post(
            &format!("/api/tasks/imports/{id}/dry-run"),
            &c.manager,
            json!({"clientId": c.client.user_id, "mapping": up.body["preview"]["suggested"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .post(
            &format!("/api/tasks/imports/{id}/apply"),
            &c.manager,
            json!({"mode": "valid_only"}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let done = app.wait_import(&c.manager, id).await;
    assert_eq!(done["state"], "applied", "{done}");
    let run = first_run(&app, wf, "the import trigger never fired").await;
    let body = wait_final(&app, &c.manager, run).await;
    let event = &node_of(&body, "src")["executions"][0]["outputs"]["out"]["event"];
    assert_eq!(event["event"], "import_finished");
    assert_eq!(event["import"]["id"], id);
    assert_eq!(event["import"]["created"], 2);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_run_that_succeeds_starts_the_workflow_waiting_for_it(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    katalusis_api::triggers::service::spawn_event_listener(app.state.clone());
    let c = cast(&app).await;
    let source = echo_workflow(&app, &c).await;
    let follower = workflow(
        &app,
        &c.manager,
        c.client.user_id,
        vec![node("src", "echo")],
        vec![],
    )
    .await;
    let r = add_trigger(&app, &c.manager, follower, json!({"name": "after source", "config": {"kind": "event", "on": "run_finished", "sourceWorkflowId": source, "status": "succeeded", "input": "src.event"}})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    let played = start(&app, &c.manager, source, json!({})).await;
    assert_eq!(
        wait_final(&app, &c.manager, played).await["status"],
        "succeeded"
    );
    let run = first_run(&app, follower, "the run_finished trigger never fired").await;
    let body = wait_final(&app, &c.manager, run).await;
    let event = &node_of(&body, "src")["executions"][0]["outputs"]["out"]["event"];
    assert_eq!(event["event"], "run_finished");
    assert_eq!(event["run"]["id"], played);
    assert_eq!(event["run"]["workflowId"], source);
    assert_eq!(event["run"]["status"], "succeeded");
    // The follower's own run finishing starts nothing more.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(runs_of(&app, follower).await.len(), 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_burst_of_task_events_loses_none_a_trigger_waits_for(pool: MySqlPool) {
    use katalusis_api::live::{LiveEvent, TaskAudience};
    let app = spawn_app(pool).await;
    katalusis_api::triggers::service::spawn_event_listener(app.state.clone());
    let c = cast(&app).await;
    let wf = echo_workflow(&app, &c).await;
    let r = add_trigger(&app, &c.manager, wf, json!({"name": "on done", "config": {"kind": "event", "on": "task_status_changed", "status": "completed", "input": "src.event"}})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let task = our_task(&app, &c).await;
    assert_eq!(task.status, StatusCode::CREATED, "{}", task.body);
    let marker = task.body["id"].as_u64().unwrap();
    // Completed without an event of its own: the burst below carries it.
    sqlx::query("UPDATE task SET status_id = 4 WHERE task_id = ?")
        .bind(marker)
        .execute(&app.db)
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(runs_of(&app, wf).await.is_empty());

    // 5,000 task edits published the way the task handlers publish them,
    // each read from the database to be matched (these tasks are gone),
    // the marker's the thousandth: more than the live channel keeps for a
    // reader that falls behind.
    let edit = |id: u64| LiveEvent::Task {
        audience: TaskAudience {
            client_id: c.client.user_id,
            reporter_id: c.admin.user_id,
            assignees: vec![],
            shares: vec![],
        },
        data: json!({"action": "updated", "taskId": id}),
    };
    for i in 0..5_000u64 {
        app.state
            .live
            .publish(edit(if i == 1_000 { marker } else { 1_000_000 + i }));
        if i % 50 == 0 {
            tokio::task::yield_now().await;
        }
    }

    let run = first_run_within(&app, wf, "the marker's event was lost in the burst", 120).await;
    let body = wait_final(&app, &c.manager, run).await;
    let event = &node_of(&body, "src")["executions"][0]["outputs"]["out"]["event"];
    assert_eq!(event["task"]["id"], marker);
    assert_eq!(event["task"]["status"], "Completed");
    assert_eq!(runs_of(&app, wf).await.len(), 1);
}
