//! Flow nodes that reach people. Approval: a run waits for a person, only the approvers decide, the
//! decision picks the branch, timeouts escalate, and a decision survives a
//! server that is killed while the run waits. Notification: inbox, email and
//! allow-listed webhooks.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::MySqlPool;

use crate::runs::{
    cast, edge, node, node_of, num_source, num_tag, start, template, wait_final, workflow, Cast,
};
use crate::support::{spawn_app, ServerProcess, Session, TestApp};

struct People {
    c: Cast,
    /// A second manager of the client: the approver.
    noah: Session,
    /// A manager of another client.
    zoe: Session,
}

async fn people(app: &TestApp) -> People {
    let c = cast(app).await;
    let noah = app.user(&c.admin, "noah", "manager").await;
    app.assign(&c.admin, noah.user_id, c.client.user_id).await;
    let zoe = app.user(&c.admin, "zoe", "manager").await;
    let other = app.user(&c.admin, "globex", "client").await;
    app.assign(&c.admin, zoe.user_id, other.user_id).await;
    People { c, noah, zoe }
}

/// `src` emits `{"amount": n}` into an Approval; `yes` and `no` hang off
/// its two branches.
async fn approval_workflow(app: &TestApp, p: &People, params: Value) -> u64 {
    let c = &p.c;
    num_source(app, &c.admin).await;
    num_tag(app, &c.admin).await;
    let mut src = node("src", "num.source");
    src["inputs"] = json!({"amount": 0});
    let mut gate = node("gate", "flow.approval");
    gate["params"] = params;
    workflow(
        app,
        &c.manager,
        c.client.user_id,
        vec![src, gate, node("yes", "num.tag"), node("no", "num.tag")],
        vec![
            edge("src", "value", "gate", "value"),
            edge("gate", "approved", "yes", "value"),
            edge("gate", "rejected", "no", "value"),
        ],
    )
    .await
}

fn amount(n: i64) -> Value {
    json!({"inputs": {"src": {"amount": n}}})
}

/// Polls until the run waits at `gate`.
async fn wait_waiting(app: &TestApp, s: &Session, run: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = app.get(&format!("/api/runs/{run}"), s).await;
        if r.body["status"] == "waiting" && node_of(&r.body, "gate")["status"] == "waiting" {
            return r.body;
        }
        assert!(
            !["succeeded", "failed", "cancelled"]
                .contains(&r.body["status"].as_str().unwrap_or("")),
            "the run ended instead of waiting: {}",
            r.body
        );
        assert!(Instant::now() < deadline, "{}", r.body);
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn approvals_of(app: &TestApp, s: &Session, run: u64) -> Vec<Value> {
    let r = app.get(&format!("/api/runs/{run}/approvals"), s).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body.as_array().cloned().unwrap_or_default()
}

#[sqlx::test(migrations = "../migrations")]
async fn an_approval_pauses_the_run_until_its_approver_approves(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let p = people(&app).await;
    let wf = approval_workflow(
        &app,
        &p,
        json!({"approvers": "noah", "title": "Approve the payout"}),
    )
    .await;
    let run = start(&app, &p.c.manager, wf, amount(1500)).await;
    let waiting = wait_waiting(&app, &p.c.manager, run).await;
    let gate = node_of(&waiting, "gate");
    assert!(
        gate["message"].as_str().unwrap_or("").contains("noah"),
        "{gate}"
    );
    assert_eq!(node_of(&waiting, "yes")["status"], "pending");

    // The approval and its task, assigned to the approver.
    let list = approvals_of(&app, &p.c.manager, run).await;
    assert_eq!(list.len(), 1, "{list:?}");
    let a = &list[0];
    assert_eq!(a["status"], "pending");
    assert_eq!(a["nodeId"], "gate");
    assert_eq!(a["subject"], json!({"amount": 1500}));
    assert_eq!(a["approvers"][0]["username"], "noah");
    assert_eq!(
        a["canDecide"], false,
        "the run's manager is not an approver"
    );
    let id = a["id"].as_u64().expect("approval id");
    let task_id = a["taskId"].as_u64().expect("task id");
    let task = app.get(&format!("/api/tasks/{task_id}"), &p.noah).await;
    assert_eq!(task.status, StatusCode::OK, "{}", task.body);
    assert_eq!(task.body["title"], "Approve the payout");
    assert_eq!(task.body["source"]["kind"], "approval", "{}", task.body);
    assert_eq!(task.body["assigneeIds"], json!([p.noah.user_id]));
    let mine = app.get(&format!("/api/approvals/{id}"), &p.noah).await;
    assert_eq!(mine.body["canDecide"], true, "{}", mine.body);

    // Nobody else decides: the run's manager sees it (403), an outsider does not (404).
    let approve = json!({"verdict": "approve", "comment": "fine"});
    let r = app
        .post(
            &format!("/api/approvals/{id}/decision"),
            &p.c.manager,
            approve.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = app
        .post(
            &format!("/api/approvals/{id}/decision"),
            &p.zoe,
            approve.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = app.get(&format!("/api/approvals/{id}"), &p.zoe).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Bad input changes nothing.
    for bad in [
        json!({"verdict": "maybe"}),
        json!({"verdict": "approve", "comment": "x".repeat(10_001)}),
    ] {
        let r = app
            .post(&format!("/api/approvals/{id}/decision"), &p.noah, bad)
            .await;
        assert!(r.status.is_client_error(), "{} {}", r.status, r.body);
    }
    assert_eq!(
        approvals_of(&app, &p.c.manager, run).await[0]["status"],
        "pending"
    );

    let r = app
        .post(
            &format!("/api/approvals/{id}/decision"),
            &p.noah,
            approve.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "approved");
    assert_eq!(r.body["decidedBy"], "noah");
    let again = app
        .post(
            &format!("/api/runs/{run}/nodes/gate/decision"),
            &p.noah,
            json!({"verdict": "reject"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);

    let body = wait_final(&app, &p.c.manager, run).await;
    assert_eq!(body["status"], "succeeded", "{body}");
    let gate = node_of(&body, "gate");
    assert_eq!(gate["branch"], "approved");
    let out = &gate["executions"][0]["outputs"];
    assert_eq!(out["approved"], json!({"amount": 1500}));
    assert_eq!(out["decision"]["verdict"], "approve");
    assert_eq!(out["decision"]["decidedBy"], "noah");
    assert_eq!(out["decision"]["comment"], "fine");
    assert_eq!(
        node_of(&body, "yes")["executions"][0]["outputs"]["seen"],
        1500
    );
    assert_eq!(node_of(&body, "no")["status"], "skipped");
    assert_eq!(node_of(&body, "no")["reason"], "branch");

    // The task is closed with the decision as a comment.
    let task = app.get(&format!("/api/tasks/{task_id}"), &p.noah).await;
    assert!(task.body["completedAt"].is_string(), "{}", task.body);
    let comments = app
        .get(&format!("/api/tasks/{task_id}/comments"), &p.noah)
        .await;
    assert!(
        comments.body.to_string().contains("Approved: fine"),
        "{}",
        comments.body
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_rejection_from_the_run_view_takes_the_other_branch(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let p = people(&app).await;
    let wf = approval_workflow(&app, &p, json!({"clientManagers": true})).await;
    let run = start(&app, &p.c.manager, wf, amount(20)).await;
    wait_waiting(&app, &p.c.manager, run).await;
    // With `clientManagers` both managers of the client may decide.
    let a = &approvals_of(&app, &p.c.manager, run).await[0];
    let names: Vec<&str> = a["approvers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["username"].as_str())
        .collect();
    assert_eq!(names, ["mia", "noah"]);
    let r = app
        .post(
            &format!("/api/runs/{run}/nodes/gate/decision"),
            &p.c.manager,
            json!({"verdict": "reject", "comment": "not this month"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let body = wait_final(&app, &p.c.manager, run).await;
    assert_eq!(body["status"], "succeeded", "{body}");
    assert_eq!(node_of(&body, "gate")["branch"], "rejected");
    assert_eq!(node_of(&body, "no")["executions"][0]["outputs"]["seen"], 20);
    assert_eq!(node_of(&body, "yes")["reason"], "branch");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_timeout_escalates_to_other_approvers_and_then_rejects(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let p = people(&app).await;
    let wf = approval_workflow(
        &app,
        &p,
        json!({"approvers": "noah", "timeoutSeconds": 2, "onTimeout": "escalate", "escalateTo": "acme"}),
    )
    .await;
    let run = start(&app, &p.c.manager, wf, amount(5)).await;
    wait_waiting(&app, &p.c.manager, run).await;
    // After the first timeout the client user is an approver too, and the
    // node still waits.
    let deadline = Instant::now() + Duration::from_secs(30);
    let escalated = loop {
        let a = approvals_of(&app, &p.c.manager, run).await.remove(0);
        if a["escalated"] == true {
            break a;
        }
        assert_eq!(a["status"], "pending", "{a}");
        assert!(Instant::now() < deadline, "never escalated: {a}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(escalated["status"], "pending");
    assert!(
        escalated["approvers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["username"] == "acme" && u["escalation"] == true),
        "{escalated}"
    );
    // Nobody decides within the second timeout: the policy rejects.
    let body = wait_final(&app, &p.c.manager, run).await;
    assert_eq!(body["status"], "succeeded", "{body}");
    let gate = node_of(&body, "gate");
    assert_eq!(gate["branch"], "rejected");
    assert_eq!(
        gate["executions"][0]["outputs"]["decision"]["via"],
        "timeout"
    );
    let a = approvals_of(&app, &p.c.manager, run).await.remove(0);
    assert_eq!(a["status"], "rejected");
    assert_eq!(a["decidedVia"], "timeout");
    // The escalation approver was told: the task is assigned to them.
    let task = app
        .get(&format!("/api/tasks/{}", a["taskId"]), &p.c.client)
        .await;
    assert_eq!(task.status, StatusCode::OK, "{}", task.body);
}

#[sqlx::test(migrations = "../migrations")]
async fn cancelling_a_waiting_run_closes_its_approval(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let p = people(&app).await;
    let wf = approval_workflow(&app, &p, json!({"approvers": "noah"})).await;
    let run = start(&app, &p.c.manager, wf, amount(1)).await;
    wait_waiting(&app, &p.c.manager, run).await;
    let r = app
        .post(&format!("/api/runs/{run}/cancel"), &p.c.manager, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let body = wait_final(&app, &p.c.manager, run).await;
    assert_eq!(body["status"], "cancelled", "{body}");
    assert_eq!(node_of(&body, "gate")["status"], "cancelled");
    let a = approvals_of(&app, &p.c.manager, run).await.remove(0);
    assert_eq!(a["status"], "cancelled");
    let r = app
        .post(
            &format!("/api/approvals/{}/decision", a["id"]),
            &p.noah,
            json!({"verdict": "approve"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
}

#[sqlx::test(migrations = "../migrations")]
async fn an_approval_with_an_unknown_approver_fails_its_node_with_the_name(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let p = people(&app).await;
    // zoe manages another client: not in this run's scope.
    let wf = approval_workflow(&app, &p, json!({"approvers": "zoe"})).await;
    let run = start(&app, &p.c.manager, wf, amount(1)).await;
    let body = wait_final(&app, &p.c.manager, run).await;
    assert_eq!(body["status"], "failed");
    let gate = node_of(&body, "gate");
    assert_eq!(gate["reason"], "error");
    assert!(
        gate["message"].as_str().unwrap_or("").contains("zoe"),
        "{gate}"
    );
    assert_eq!(app.count("approval").await, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_decision_taken_while_the_server_is_down_completes_the_run_after_restart(
    pool: MySqlPool,
) {
    let app = spawn_app(pool.clone()).await;
    let p = people(&app).await;
    let wf = approval_workflow(&app, &p, json!({"approvers": "noah"})).await;
    let database: String = sqlx::query_scalar("SELECT DATABASE()")
        .fetch_one(&pool)
        .await
        .unwrap();

    let mut first = ServerProcess::spawn(&database, &[]).await;
    let r = app
        .http
        .post(format!("{}/api/workflows/{wf}/runs", first.base))
        .bearer_auth(&p.c.manager.token)
        .json(&amount(99))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let run = r.json::<Value>().await.unwrap()["id"].as_u64().unwrap();
    wait_waiting(&app, &p.c.manager, run).await;
    first.kill();

    // Decided through another server while no process drives the run.
    let r = app
        .post(
            &format!("/api/runs/{run}/nodes/gate/decision"),
            &p.noah,
            json!({"verdict": "approve"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let status: String = sqlx::query_scalar("SELECT status FROM run WHERE run_id = ?")
        .bind(run)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(status, "waiting");

    let _second = ServerProcess::spawn(&database, &[]).await;
    let body = wait_final(&app, &p.c.manager, run).await;
    assert_eq!(body["status"], "succeeded", "{body}");
    assert_eq!(node_of(&body, "gate")["branch"], "approved");
    assert_eq!(
        node_of(&body, "yes")["executions"][0]["outputs"]["seen"],
        99
    );
    // Exactly one approval and one task: the restart opened nothing new.
    assert_eq!(app.count("approval").await, 1);
}

/// A webhook receiver: a real HTTP server that records each JSON body and
/// answers `status`.
async fn webhook_sink(status: u16) -> (String, tokio::sync::mpsc::Receiver<Value>) {
    use axum::routing::post;
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let router = axum::Router::new().route(
        "/hooks/flow",
        post(move |axum::Json(body): axum::Json<Value>| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(body).await;
                axum::http::StatusCode::from_u16(status).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{addr}/hooks/flow"), rx)
}

async fn notify_source(app: &TestApp, p: &People) {
    let c = &p.c;
    app.create_template(
        &c.admin,
        template(
            "num.source",
            "def run(inputs, params, ctx):\n    return {'value': {'amount': inputs['amount'], 'who': '<b>Bob</b>'}}\n",
            json!([{"name": "amount", "type": "number", "required": true}]),
            json!([{"name": "value", "type": "object"}]),
            json!({}),
        ),
    )
    .await;
}

async fn notify_workflow(app: &TestApp, p: &People, params: Value) -> u64 {
    let c = &p.c;
    let mut src = node("src", "num.source");
    src["inputs"] = json!({"amount": 0});
    let mut tell = node("tell", "flow.notification");
    tell["params"] = params;
    workflow(
        app,
        &c.manager,
        c.client.user_id,
        vec![src, tell],
        vec![edge("src", "value", "tell", "value")],
    )
    .await
}

#[sqlx::test(migrations = "../migrations")]
async fn a_notification_reaches_the_inbox_the_mailbox_and_an_allowed_webhook(pool: MySqlPool) {
    let (port, mut mailbox) = crate::support::smtp_sink().await;
    let settings = katalusis_api::config::Settings {
        smtp_url: Some(katalusis_api::config::Secret::new(format!(
            "smtp://127.0.0.1:{port}"
        ))),
        smtp_from: "Katalusis <noreply@example.com>".into(),
        ..crate::support::test_settings()
    };
    let app = crate::support::spawn_app_with(pool, settings).await;
    let p = people(&app).await;
    let (url, mut hooks) = webhook_sink(200).await;
    let r = app
        .put(
            "/api/admin/settings/webhooks",
            &p.c.admin,
            json!({"allowed": [url.trim_end_matches("/flow")]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    notify_source(&app, &p).await;
    let wf = notify_workflow(
        &app,
        &p,
        json!({
            "recipients": "noah",
            "subject": "Payout {{ value.amount }}",
            "message": "{{ value.who }} asks for {{ value.amount }}{% if value.amount > 1000 %} (large){% endif %}",
            "webhookUrl": url,
        }),
    )
    .await;
    let run = start(&app, &p.c.manager, wf, amount(1500)).await;
    let body = wait_final(&app, &p.c.manager, run).await;
    assert_eq!(body["status"], "succeeded", "{body}");
    let delivered = &node_of(&body, "tell")["executions"][0]["outputs"]["delivered"];
    assert_eq!(delivered["recipients"], json!(["noah"]));
    assert_eq!(delivered["inApp"], 1);
    assert_eq!(delivered["email"], 1);
    assert_eq!(delivered["webhook"], 200);
    assert_eq!(
        node_of(&body, "tell")["executions"][0]["outputs"]["value"]["amount"],
        1500
    );

    // The inbox: rendered, one line.
    let inbox = app.get("/api/notifications", &p.noah).await;
    let text = inbox.body.to_string();
    assert!(
        text.contains("Payout 1500: <b>Bob</b> asks for 1500 (large)"),
        "{text}"
    );
    // The mail: plain text as rendered, the HTML part escaped.
    let mail = tokio::time::timeout(Duration::from_secs(10), mailbox.recv())
        .await
        .expect("no email within 10 s")
        .unwrap();
    assert!(mail.contains("To: noah@example.com"), "{mail}");
    assert!(mail.contains("Subject: [Katalusis] Payout 1500"), "{mail}");
    assert!(mail.contains("&lt;b&gt;Bob&lt;"), "{mail}");
    // The webhook: chat-compatible JSON.
    let hook = tokio::time::timeout(Duration::from_secs(10), hooks.recv())
        .await
        .expect("no webhook call")
        .unwrap();
    assert_eq!(
        hook["text"],
        "*Payout 1500*\n<b>Bob</b> asks for 1500 (large)"
    );
    assert_eq!(hook["runId"], run);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_webhook_off_the_allow_list_fails_the_node_and_nobody_is_called(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let p = people(&app).await;
    let (url, mut hooks) = webhook_sink(200).await;
    // Only non-admins are refused the settings, and bad entries are 422.
    let r = app
        .put(
            "/api/admin/settings/webhooks",
            &p.c.manager,
            json!({"allowed": [url]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .put(
            "/api/admin/settings/webhooks",
            &p.c.admin,
            json!({"allowed": ["ftp://example.com/", "https://u:p@example.com/"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = app.get("/api/admin/settings/webhooks", &p.c.admin).await;
    assert_eq!(r.body["allowed"], json!([]));

    notify_source(&app, &p).await;
    let wf = notify_workflow(
        &app,
        &p,
        json!({"recipients": "noah", "message": "hi", "webhookUrl": url}),
    )
    .await;
    let run = start(&app, &p.c.manager, wf, amount(1)).await;
    let body = wait_final(&app, &p.c.manager, run).await;
    assert_eq!(body["status"], "failed");
    let tell = node_of(&body, "tell");
    assert!(
        tell["message"]
            .as_str()
            .unwrap_or("")
            .contains("not on the webhook allow-list"),
        "{tell}"
    );
    assert!(hooks.try_recv().is_err(), "the webhook was called");
    // Nothing was sent in-app either.
    let inbox = app.get("/api/notifications", &p.noah).await;
    assert!(!inbox.body.to_string().contains("hi"), "{}", inbox.body);

    // A webhook that answers an error fails the node with the status.
    let (bad, _rx) = webhook_sink(500).await;
    app.put(
        "/api/admin/settings/webhooks",
        &p.c.admin,
        json!({"allowed": [bad.clone()]}),
    )
    .await;
    let wf = notify_workflow(&app, &p, json!({"webhookUrl": bad})).await;
    let run = start(&app, &p.c.manager, wf, amount(1)).await;
    let body = wait_final(&app, &p.c.manager, run).await;
    assert!(
        node_of(&body, "tell")["message"]
            .as_str()
            .unwrap_or("")
            .contains("500"),
        "{body}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_task_node_creates_its_task_and_the_run_waits_until_it_is_done(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let p = people(&app).await;
    notify_source(&app, &p).await;
    num_tag(&app, &p.c.admin).await;
    let mut src = node("src", "num.source");
    src["inputs"] = json!({"amount": 0});
    let mut note = node("note", "flow.task");
    note["params"] = json!({"title": "Logged {{ value.amount }}"});
    let mut gate = node("gate", "flow.task");
    gate["params"] = json!({
        "title": "Call {{ value.who }} about {{ value.amount }}",
        "description": "Amount: **{{ value.amount }}**",
        "assignees": "noah",
        "priority": "high",
        "dueInHours": 24,
        "tags": "calls",
        "wait": true,
    });
    let wf = workflow(
        &app,
        &p.c.manager,
        p.c.client.user_id,
        vec![src, note, gate, node("after", "num.tag")],
        vec![
            edge("src", "value", "note", "value"),
            edge("src", "value", "gate", "value"),
            edge("gate", "value", "after", "value"),
        ],
    )
    .await;
    let run = start(&app, &p.c.manager, wf, amount(7)).await;
    let waiting = wait_waiting(&app, &p.c.manager, run).await;
    // The task without `wait` went on at once.
    let note = node_of(&waiting, "note");
    assert_eq!(note["status"], "succeeded", "{waiting}");
    assert_eq!(
        note["executions"][0]["outputs"]["task"]["title"],
        "Logged 7"
    );
    assert_eq!(node_of(&waiting, "after")["status"], "pending");

    // The awaited task, assigned to noah, found by its source.
    let list = app.get("/api/tasks?q=Call&perPage=10", &p.noah).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let task = list.body["items"]
        .as_array()
        .and_then(|a| a.first())
        .cloned()
        .expect("the task");
    assert_eq!(task["title"], "Call <b>Bob</b> about 7");
    assert_eq!(task["priority"], "high");
    assert_eq!(task["assigneeIds"], json!([p.noah.user_id]));
    assert_eq!(task["source"]["kind"], "workflow");
    assert_eq!(task["source"]["refId"], run);
    assert_eq!(task["source"]["node"], "gate");
    assert!(task["dueAt"].is_string());
    assert_eq!(task["tags"], json!(["calls"]));
    let id = task["id"].as_u64().unwrap();

    // Started is not done: the run still waits.
    let r = app
        .patch(
            &format!("/api/tasks/{id}"),
            &p.noah,
            json!({"version": task["version"], "statusId": 2}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let body = app
        .get(&format!("/api/runs/{run}"), &p.c.manager)
        .await
        .body;
    assert_eq!(body["status"], "waiting", "{body}");
    let r = app
        .patch(
            &format!("/api/tasks/{id}"),
            &p.noah,
            json!({"version": r.body["version"], "statusId": 4}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    let body = wait_final(&app, &p.c.manager, run).await;
    assert_eq!(body["status"], "succeeded", "{body}");
    let out = &node_of(&body, "gate")["executions"][0]["outputs"];
    assert_eq!(out["task"]["id"], id);
    assert_eq!(out["task"]["done"], true);
    assert_eq!(out["task"]["status"], "Completed");
    assert!(out["task"]["completedAt"].is_string());
    assert_eq!(
        node_of(&body, "after")["executions"][0]["outputs"]["seen"],
        7
    );
}
