//! What the first hour needs from the API: admins filter every workflow and
//! run, runs carry their workflow's name, test runs start unpublished, and
//! the template editor reads the server's defaults.

use reqwest::StatusCode;
use serde_json::json;
use sqlx::MySqlPool;

use crate::runs::{cast, node, start, template, text_in, text_out, wait_final, workflow};
use crate::support::spawn_app;

const ECHO: &str = "def run(inputs, params, ctx):\n    return {'text': inputs['text']}\n";

#[sqlx::test(migrator = "katalusis_api::MIGRATOR")]
async fn admins_filter_runs_by_who_started_them_and_workflows_by_who_created_them(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    let other = app.user(&c.admin, "otto", "manager").await;
    app.assign(&c.admin, other.user_id, c.client.user_id).await;
    app.create_template(
        &c.admin,
        template("echo", ECHO, text_in(), text_out(), json!({})),
    )
    .await;
    let mut n = node("a", "echo");
    n["inputs"] = json!({"text": "hi"});
    let mine = workflow(&app, &c.manager, c.client.user_id, vec![n.clone()], vec![]).await;
    let theirs = workflow(&app, &other, c.client.user_id, vec![n], vec![]).await;
    let r1 = start(&app, &c.manager, mine, json!({})).await;
    let r2 = start(&app, &other, theirs, json!({})).await;
    wait_final(&app, &c.admin, r1).await;
    wait_final(&app, &c.admin, r2).await;

    let all = app.get("/api/runs?count=exact", &c.admin).await;
    assert_eq!(all.body["total"], 2, "{}", all.body);
    let by_other = app
        .get(
            &format!("/api/runs?startedBy={}&count=exact", other.user_id),
            &c.admin,
        )
        .await;
    assert_eq!(by_other.status, StatusCode::OK, "{}", by_other.body);
    assert_eq!(by_other.body["total"], 1);
    assert_eq!(by_other.body["items"][0]["id"], r2);
    assert_eq!(by_other.body["items"][0]["startedBy"], other.user_id);

    let wfs = app
        .get(
            &format!("/api/workflows?createdBy={}", c.manager.user_id),
            &c.admin,
        )
        .await;
    assert_eq!(wfs.status, StatusCode::OK, "{}", wfs.body);
    assert_eq!(wfs.body["total"], 1);
    assert_eq!(wfs.body["items"][0]["id"], mine);
    assert_eq!(wfs.body["items"][0]["createdBy"], c.manager.user_id);
}

#[sqlx::test(migrator = "katalusis_api::MIGRATOR")]
async fn a_test_run_started_unpublished_stays_hidden_from_the_client_until_published(
    pool: MySqlPool,
) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    app.create_template(
        &c.admin,
        template("echo", ECHO, text_in(), text_out(), json!({})),
    )
    .await;
    let mut n = node("a", "echo");
    n["inputs"] = json!({"text": "hi"});
    let wf = workflow(&app, &c.manager, c.client.user_id, vec![n], vec![]).await;
    app.put(
        &format!("/api/workflows/{wf}"),
        &c.manager,
        json!({"revision": 1, "name": "Weekly report", "description": "Totals per week.",
               "graph": {"nodes": [{"id": "a", "template": {"name": "echo", "version": 1},
                                    "inputs": {"text": "hi"}}], "edges": []}}),
    )
    .await;
    let test_run = start(&app, &c.manager, wf, json!({"published": false})).await;
    let real_run = start(&app, &c.manager, wf, json!({})).await;
    let done = wait_final(&app, &c.manager, test_run).await;
    wait_final(&app, &c.manager, real_run).await;
    assert_eq!(done["published"], false);
    assert_eq!(done["workflowName"], "Weekly report");
    assert_eq!(done["workflowDescription"], "Totals per week.");

    let seen = app.get("/api/runs?count=exact", &c.client).await;
    assert_eq!(seen.body["total"], 1, "{}", seen.body);
    assert_eq!(seen.body["items"][0]["id"], real_run);
    assert_eq!(seen.body["items"][0]["workflowName"], "Weekly report");
    let hidden = app.get(&format!("/api/runs/{test_run}"), &c.client).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);

    let published = app
        .patch(
            &format!("/api/runs/{test_run}"),
            &c.manager,
            json!({"published": true}),
        )
        .await;
    assert_eq!(published.status, StatusCode::OK, "{}", published.body);
    let now = app.get(&format!("/api/runs/{test_run}"), &c.client).await;
    assert_eq!(now.status, StatusCode::OK);
}

#[sqlx::test(migrator = "katalusis_api::MIGRATOR")]
async fn the_limits_settings_carry_the_defaults_of_a_new_template(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    let limits = app.get("/api/admin/settings/limits", &admin).await;
    assert_eq!(limits.status, StatusCode::OK);
    assert_eq!(
        limits.body["defaultLimits"],
        json!({"timeoutSeconds": 300, "memoryMib": 512, "cpuMillicores": 1000})
    );
    assert_eq!(limits.body["defaultRetry"]["maxAttempts"], 1);
    // A template created without limits gets exactly these.
    let created = app
        .create_template(
            &admin,
            json!({"name": "bare", "title": "Bare", "code": ECHO,
                   "inputs": [{"name": "text", "type": "string", "required": true}],
                   "outputs": [{"name": "text", "type": "string"}]}),
        )
        .await;
    assert_eq!(created["limits"], limits.body["defaultLimits"]);
}
