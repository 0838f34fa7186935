//! Workflow templates: the three shipped templates run end to end on the
//! local executor (approval, schedule, event), and saved templates stay
//! private unless an admin shares them.

use std::time::{Duration, Instant};

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::MySqlPool;

use crate::runs::{cast, node_of, wait_final, Cast};
use crate::support::{spawn_app, Session, TestApp};

async fn setup(app: &TestApp) -> (Cast, Session) {
    let c = cast(app).await;
    let noah = app.user(&c.admin, "noah", "manager").await;
    app.assign(&c.admin, noah.user_id, c.client.user_id).await;
    let r = app
        .post("/api/admin/library/starter", &c.admin, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    (c, noah)
}

async fn template_id(app: &TestApp, s: &Session, name: &str) -> u64 {
    let r = app.get("/api/workflow-templates", s).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("{name} missing in {}", r.body))["id"]
        .as_u64()
        .unwrap()
}

async fn runs_of(app: &TestApp, wf: u64) -> Vec<u64> {
    sqlx::query_scalar("SELECT run_id FROM run WHERE workflow_id = ? ORDER BY run_id")
        .bind(wf)
        .fetch_all(&app.db)
        .await
        .unwrap()
}

async fn wait_for_run(app: &TestApp, wf: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(r) = runs_of(app, wf).await.first() {
            return *r;
        }
        assert!(Instant::now() < deadline, "no run of workflow {wf}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn inbox(app: &TestApp, s: &Session) -> String {
    app.get("/api/notifications", s).await.body.to_string()
}

#[sqlx::test(migrations = "../migrations")]
async fn approve_high_value_rows_asks_the_approver_and_tells_the_outcome(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let (c, noah) = setup(&app).await;
    let r = app.get("/api/workflow-templates", &c.manager).await;
    let names: Vec<&str> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    for shipped in [
        "Approve high-value rows",
        "Daily digest",
        "Escalate tasks put on hold",
    ] {
        assert!(names.contains(&shipped), "{names:?}");
    }
    let id = template_id(&app, &c.manager, "Approve high-value rows").await;
    let t = app
        .get(&format!("/api/workflow-templates/{id}"), &c.manager)
        .await;
    assert_eq!(t.body["builtin"], true);
    assert!(t.body["nodeKinds"]
        .as_array()
        .unwrap()
        .contains(&json!("flow.approval")));

    // A missing value creates nothing.
    let before = app.count("workflow").await;
    let r = app
        .post(
            &format!("/api/workflow-templates/{id}/instantiate"),
            &c.manager,
            json!({"clientId": c.client.user_id, "name": "Payouts", "values": {"recipients": "mia"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body.to_string().contains("values.approvers"),
        "{}",
        r.body
    );
    assert_eq!(app.count("workflow").await, before);

    let r = app
        .post(
            &format!("/api/workflow-templates/{id}/instantiate"),
            &c.manager,
            json!({"clientId": c.client.user_id, "name": "Payouts", "values": {"approvers": "noah", "recipients": "mia"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let wf = r.body["workflowId"].as_u64().unwrap();
    let run = crate::runs::start(&app, &c.manager, wf, json!({})).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let b = app.get(&format!("/api/runs/{run}"), &c.manager).await.body;
        if node_of(&b, "approve")["status"] == "waiting" {
            break;
        }
        assert!(Instant::now() < deadline, "{b}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = app
        .post(
            &format!("/api/runs/{run}/nodes/approve/decision"),
            &noah,
            json!({"verdict": "approve"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["subject"]["rows"].as_array().unwrap().len(), 2);
    let body = wait_final(&app, &c.manager, run).await;
    assert_eq!(body["status"], "succeeded", "{body}");
    assert_eq!(node_of(&body, "rejected")["reason"], "branch");
    assert!(inbox(&app, &c.manager)
        .await
        .contains("2 rows were approved"));
}

#[sqlx::test(migrations = "../migrations")]
async fn the_daily_digest_runs_on_its_schedule_and_escalation_follows_a_task_event(
    pool: MySqlPool,
) {
    let app = spawn_app(pool).await;
    katalusis_api::triggers::service::spawn_event_listener(app.state.clone());
    let (c, noah) = setup(&app).await;

    let digest = template_id(&app, &c.manager, "Daily digest").await;
    let r = app
        .post(
            &format!("/api/workflow-templates/{digest}/instantiate"),
            &c.manager,
            json!({"clientId": c.client.user_id, "name": "Digest", "values": {"recipients": "noah", "cron": "*/5 * * * *", "timezone": "Europe/Berlin"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let wf = r.body["workflowId"].as_u64().unwrap();
    let trigger = &r.body["triggers"][0]["trigger"];
    assert_eq!(trigger["config"]["cron"], "*/5 * * * *");
    assert_eq!(trigger["config"]["timezone"], "Europe/Berlin");
    let next = chrono::DateTime::parse_from_rfc3339(trigger["nextFireAt"].as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc);
    let fired =
        katalusis_api::triggers::service::tick(&app.state, next + chrono::Duration::seconds(1))
            .await
            .unwrap();
    assert_eq!(fired, 1);
    let run = wait_for_run(&app, wf).await;
    let body = wait_final(&app, &c.manager, run).await;
    assert_eq!(body["status"], "succeeded", "{body}");
    assert!(inbox(&app, &noah).await.contains("Good morning, the team"));

    let escalate = template_id(&app, &c.manager, "Escalate tasks put on hold").await;
    let r = app
        .post(
            &format!("/api/workflow-templates/{escalate}/instantiate"),
            &c.manager,
            json!({"clientId": c.client.user_id, "name": "Escalate", "values": {"owner": "noah", "recipients": "mia"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let wf = r.body["workflowId"].as_u64().unwrap();
    let task = app
        .post(
            "/api/tasks",
            &c.manager,
            json!({"clientId": c.client.user_id, "title": "Ship the order"}),
        )
        .await;
    let id = task.body["id"].as_u64().unwrap();
    let key = task.body["key"].as_str().unwrap().to_owned();
    let r = app
        .patch(
            &format!("/api/tasks/{id}"),
            &c.manager,
            json!({"version": task.body["version"], "statusId": 3}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let run = wait_for_run(&app, wf).await;
    let body = wait_final(&app, &c.manager, run).await;
    assert_eq!(body["status"], "succeeded", "{body}");
    let follow_up = &node_of(&body, "follow_up")["executions"][0]["outputs"]["task"];
    assert_eq!(follow_up["title"], format!("Unblock {key}: Ship the order"));
    assert_eq!(follow_up["assigneeIds"], json!([noah.user_id]));
    assert!(inbox(&app, &c.manager)
        .await
        .contains(&format!("Escalated {key}")));
}

#[sqlx::test(migrations = "../migrations")]
async fn saved_templates_are_private_until_an_admin_shares_one(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let (c, noah) = setup(&app).await;
    let wf = app
        .create_workflow(
            &c.manager,
            c.client.user_id,
            json!({"nodes": [{"id": "a", "template": {"name": "text.join", "version": 1}}], "edges": []}),
        )
        .await["id"]
        .as_u64()
        .unwrap();
    let body = json!({"workflowId": wf, "name": "Mine", "description": "joins"});
    let r = app
        .post("/api/workflow-templates", &c.manager, body.clone())
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let mine = r.body["id"].as_u64().unwrap();
    assert_eq!(r.body["shared"], false);
    let r = app
        .get(&format!("/api/workflow-templates/{mine}"), &noah)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .delete(&format!("/api/workflow-templates/{mine}"), &noah)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let mut shared = body.clone();
    shared["shared"] = json!(true);
    let r = app
        .post("/api/workflow-templates", &c.manager, shared.clone())
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app.post("/api/workflow-templates", &c.admin, shared).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let theirs = r.body["id"].as_u64().unwrap();
    assert_eq!(
        app.get(&format!("/api/workflow-templates/{theirs}"), &noah)
            .await
            .status,
        StatusCode::OK
    );
    // A parameter aimed at nothing is refused.
    let mut bad = body;
    bad["parameters"] = json!([{"name": "x", "label": "X", "target": "zz.params.y"}]);
    let r = app.post("/api/workflow-templates", &c.manager, bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    // Shipped ones stay.
    let shipped = template_id(&app, &c.admin, "Daily digest").await;
    let r = app
        .delete(&format!("/api/workflow-templates/{shipped}"), &c.admin)
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = app
        .delete(&format!("/api/workflow-templates/{mine}"), &c.manager)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
}
