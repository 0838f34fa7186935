//! The starter node library: first-start install, re-install from `/admin`,
//! edited and deleted templates left alone, the opt-out setting, admins only.

use std::collections::BTreeSet;

use katalusis_api::library::service::{self, InstallReport, SkipReason};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::MySqlPool;

use crate::support::*;

fn all_names() -> Vec<String> {
    service::names().into_iter().map(str::to_owned).collect()
}

async fn install_as_admin(app: &TestApp, admin: &Session) -> Value {
    let r = app
        .post("/api/admin/library/starter", admin, json!(null))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

fn names_in(report: &Value, key: &str) -> Vec<String> {
    report[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

#[sqlx::test(migrations = "../migrations")]
async fn first_start_installs_every_starter_template_once(pool: MySqlPool) {
    let app = spawn_app(pool).await;

    let report = service::install_on_first_start(&app.db, &app.state.settings)
        .await
        .unwrap()
        .expect("a first start installs");

    assert_eq!(report.created, all_names());
    assert!(service::pending(&app.db).await.unwrap().is_empty());
    assert!(report.updated.is_empty() && report.unchanged.is_empty() && report.skipped.is_empty());
    let admin = app.admin().await;
    let listed = app.get("/api/templates", &admin).await.body;
    // The platform's flow templates are there too, installed on every start.
    let listed: BTreeSet<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["builtin"].is_null())
        .map(|t| {
            assert_eq!(t["version"], 1);
            assert!(!t["description"].as_str().unwrap().is_empty());
            t["name"].as_str().unwrap()
        })
        .collect();
    assert_eq!(listed, all_names().iter().map(String::as_str).collect());
    let http = app.get("/api/templates/http.request", &admin).await.body;
    assert_eq!(http["trustLevel"], "trusted");
    // The next start is not a first start: nothing happens.
    let again = service::install_on_first_start(&app.db, &app.state.settings)
        .await
        .unwrap();
    assert!(again.is_none());
    assert_eq!(own_templates(&app).await, all_names().len() as i64);
}

#[sqlx::test(migrations = "../migrations")]
async fn the_opt_out_setting_installs_nothing(pool: MySqlPool) {
    let settings = katalusis_api::config::Settings {
        starter_library: false,
        ..test_settings()
    };
    let app = spawn_app_with(pool, settings).await;

    let report = service::install_on_first_start(&app.db, &app.state.settings)
        .await
        .unwrap();

    assert!(report.is_none());
    assert_eq!(own_templates(&app).await, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn reinstalling_is_idempotent_and_matches_saving_through_the_api(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin().await;

    let first = install_as_admin(&app, &admin).await;
    let second = install_as_admin(&app, &admin).await;

    assert_eq!(names_in(&first, "created"), all_names());
    assert_eq!(names_in(&second, "unchanged"), all_names());
    for key in ["created", "updated", "skipped"] {
        assert_eq!(second[key], json!([]), "{key}");
    }
    assert_eq!(own_templates(&app).await, all_names().len() as i64);
    // Saving the installed content again through the editor is "unchanged" too.
    let mut spec = app.get("/api/templates/table.sort", &admin).await.body;
    for k in ["version", "createdAt", "createdBy", "deleted", "sha256"] {
        spec.as_object_mut().unwrap().remove(k);
    }
    let r = app.put("/api/templates/table.sort", &admin, spec).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["version"], 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn edited_and_deleted_templates_are_skipped_and_unedited_ones_updated(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    install_as_admin(&app, &admin).await;
    // An admin edits one template (version 2) and deletes another.
    let mut spec = app.get("/api/templates/csv.read", &admin).await.body;
    for k in ["version", "createdAt", "createdBy", "deleted", "sha256"] {
        spec.as_object_mut().unwrap().remove(k);
    }
    spec["title"] = json!("Our CSV reader");
    let r = app.put("/api/templates/csv.read", &admin, spec).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = app.delete("/api/templates/text.join", &admin).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    // A template installed from an older release: its stored content differs
    // from the shipped one, and nobody edited it since.
    for table in ["node_template", "starter_template"] {
        sqlx::query(&format!(
            "UPDATE {table} SET spec_sha256 = REPEAT('0', 64) WHERE name = 'table.sort'"
        ))
        .execute(&app.db)
        .await
        .unwrap();
    }

    assert_eq!(service::pending(&app.db).await.unwrap(), vec!["table.sort"]);

    let report = install_as_admin(&app, &admin).await;

    assert_eq!(names_in(&report, "updated"), vec!["table.sort"]);
    assert_eq!(report["created"], json!([]));
    assert_eq!(
        report["skipped"],
        json!([
            {"name": "csv.read", "reason": "edited_locally",
             "message": "the library holds a version that was not installed from the starter library"},
            {"name": "text.join", "reason": "deleted_locally",
             "message": "the template was deleted; installing does not restore it"}
        ])
    );
    assert_eq!(names_in(&report, "unchanged").len(), all_names().len() - 3);
    let csv = app.get("/api/templates/csv.read", &admin).await.body;
    assert_eq!(
        (csv["version"].clone(), csv["title"].clone()),
        (json!(2), json!("Our CSV reader"))
    );
    let sort = app.get("/api/templates/table.sort", &admin).await.body;
    assert_eq!(sort["version"], 2);
    // The update is itself a starter version: the next install leaves it alone.
    let again = install_as_admin(&app, &admin).await;
    assert!(names_in(&again, "unchanged").contains(&"table.sort".to_owned()));
    assert_eq!(again["updated"], json!([]));
    assert!(service::pending(&app.db).await.unwrap().is_empty());
}

#[sqlx::test(migrations = "../migrations")]
async fn only_admins_may_install_the_starter_library(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    let manager = app.user(&admin, "mia", "manager").await;
    let client = app.user(&admin, "carl", "client").await;

    for s in [&manager, &client] {
        let r = app.post("/api/admin/library/starter", s, json!(null)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    }
    let r = app
        .http
        .post(app.url("/api/admin/library/starter"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(own_templates(&app).await, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn two_replicas_installing_at_once_create_each_template_once(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let maxima = app.state.settings.limit_maxima;
    let admin = katalusis_api::db::users::first_admin(&app.db)
        .await
        .unwrap()
        .unwrap();

    let (a, b) = tokio::join!(
        service::install(&app.db, &maxima, admin),
        service::install(&app.db, &maxima, admin)
    );

    let (a, b): (InstallReport, InstallReport) = (a.unwrap(), b.unwrap());
    let mut created = a.created.clone();
    created.extend(b.created.iter().cloned());
    created.sort();
    assert_eq!(created, all_names());
    let mut unchanged = a.unchanged.clone();
    unchanged.extend(b.unchanged.iter().cloned());
    assert_eq!(unchanged.len(), all_names().len());
    assert!(a.skipped.is_empty() && b.skipped.is_empty());
    assert_eq!(own_templates(&app).await, all_names().len() as i64);
    let installed: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM starter_template WHERE name NOT LIKE 'flow.%'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(installed, all_names().len() as i64);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_template_that_exceeds_this_servers_limits_is_skipped_as_invalid(pool: MySqlPool) {
    let mut settings = test_settings();
    settings.limit_maxima.timeout_seconds = 100;
    let app = spawn_app_with(pool, settings).await;

    let report = service::install_on_first_start(&app.db, &app.state.settings)
        .await
        .unwrap()
        .unwrap();

    let invalid: Vec<&str> = report
        .skipped
        .iter()
        .map(|s| {
            assert_eq!(s.reason, SkipReason::Invalid);
            assert!(s.message.contains("limits.timeoutSeconds"), "{}", s.message);
            s.name.as_str()
        })
        .collect();
    assert_eq!(
        invalid,
        vec!["csv.read", "csv.write", "http.request", "python.snippet"]
    );
    assert_eq!(report.created.len(), all_names().len() - 4);
}

#[sqlx::test(migrations = "../migrations")]
async fn an_installed_template_runs_in_the_sandbox(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    install_as_admin(&app, &admin).await;

    let r = app
        .post(
            "/api/templates/table.filter/versions/1/test",
            &admin,
            json!({
                "inputs": {"table": {"columns": ["n"], "rows": [[1], [5], [9]]}},
                "params": {"expression": "n > 2 and n < 9"}
            }),
        )
        .await;

    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "succeeded", "{}", r.body);
    assert_eq!(
        r.body["outputs"],
        json!({"table": {"columns": ["n"], "rows": [[5]]}, "row_count": 1})
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn starter_nodes_chain_through_the_engine_with_one_table_format(pool: MySqlPool) {
    use crate::runs::{edge, node_of, start, wait_final, workflow};
    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    let client = app.user(&admin, "carl", "client").await;
    install_as_admin(&app, &admin).await;
    let node = |id: &str, template: &str, inputs: Value, params: Value| json!({"id": id, "template": {"name": template, "version": 1}, "inputs": inputs, "params": params});
    let csv = "Region;Betrag\nNord;10,5\nSüd;4\nNord;2\n";
    let wf = workflow(
        &app,
        &admin,
        client.user_id,
        vec![
            node(
                "read",
                "csv.read",
                json!({"text": csv}),
                json!({"decimal": ","}),
            ),
            node(
                "sum",
                "table.aggregate",
                json!({}),
                json!({"group_by": "Region", "aggregations": "total = sum(Betrag)"}),
            ),
            node("sort", "table.sort", json!({}), json!({"by": "-total"})),
            node("chart", "chart.svg", json!({}), json!({"x": "Region"})),
        ],
        vec![
            edge("read", "table", "sum", "table"),
            edge("sum", "table", "sort", "table"),
            edge("sort", "table", "chart", "table"),
        ],
    )
    .await;

    let run = start(&app, &admin, wf, json!({})).await;
    let body = wait_final(&app, &admin, run).await;

    assert_eq!(body["status"], "succeeded", "{body}");
    assert_eq!(
        node_of(&body, "sort")["executions"][0]["outputs"]["table"],
        json!({"columns": ["Region", "total"], "rows": [["Nord", 12.5], ["Süd", 4]]})
    );
    let chart = &node_of(&body, "chart")["executions"][0]["outputs"]["chart"]["$file"];
    assert_eq!(chart["name"], "chart.svg");
    let resp = app
        .http
        .get(app.url(&format!("/api/runs/{run}/nodes/chart/outputs/chart")))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("image/svg+xml"));
    let svg = resp.text().await.unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains(">Süd</text>"),
        "{svg}"
    );
}

/// Template rows besides the platform's flow templates, which every start installs.
async fn own_templates(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM node_template WHERE name NOT LIKE 'flow.%'")
        .fetch_one(&app.db)
        .await
        .expect("count")
}
