//! `KATALUSIS_DEMO=true`: demo users, two workflows from the starter library
//! and their finished runs, seeded once however often the server starts.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sqlx::MySqlPool;

use crate::support::spawn_app;

#[sqlx::test(migrator = "katalusis_api::MIGRATOR")]
async fn the_demo_seeds_users_workflows_and_finished_runs_once(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin().await;

    let first = katalusis_api::demo::seed(&app.state).await.expect("seed");
    assert_eq!(first.created_users, 2);
    assert_eq!(first.created_workflows, 2);
    assert_eq!(first.started_runs, 2);
    assert_eq!(first.created_tasks, 4);
    let again = katalusis_api::demo::seed(&app.state)
        .await
        .expect("seed again");
    assert_eq!(again, katalusis_api::demo::DemoReport::default());
    assert_eq!(app.count("workflow").await, 2);
    assert_eq!(app.count("run").await, 2);
    assert_eq!(app.count("task").await, 4, "the board is seeded once");

    // Both runs finish successfully; the admin sees them with their workflow names.
    let deadline = Instant::now() + Duration::from_secs(90);
    let runs = loop {
        let r = app.get("/api/runs", &admin).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let items = r.body["items"].as_array().cloned().unwrap_or_default();
        if items
            .iter()
            .all(|i| i["status"] != "pending" && i["status"] != "running")
        {
            break items;
        }
        assert!(
            Instant::now() < deadline,
            "demo runs did not finish: {}",
            r.body
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for run in &runs {
        assert_eq!(run["status"], "succeeded", "{run}");
        assert!(run["workflowName"]
            .as_str()
            .unwrap_or("")
            .starts_with("Demo: "));
    }

    // The demo client sees both published runs; the demo manager their workflows.
    let client = katalusis_api::demo::CLIENT_USERNAME;
    let users = app
        .get(&format!("/api/admin/users?q={client}"), &admin)
        .await;
    assert_eq!(users.body["items"][0]["role"], "client", "{}", users.body);
    let assigned = app
        .get(
            &format!(
                "/api/admin/clients/{}/managers",
                users.body["items"][0]["id"]
            ),
            &admin,
        )
        .await;
    assert_eq!(
        assigned.body[0]["username"],
        katalusis_api::demo::MANAGER_USERNAME,
        "{}",
        assigned.body
    );
}
