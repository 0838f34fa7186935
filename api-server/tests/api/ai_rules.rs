//! Rule suggestions from fixtures with known patterns: the statistic is the
//! platform's, the model only words and orders, and another manager's
//! client's pattern never appears.

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::MySqlPool;

use crate::ai::{ai_settings, cast, tool_answer, Reply, ScriptedLlm};
use crate::support::*;

async fn insert_run(
    app: &TestApp,
    workflow: u64,
    client: u64,
    by: u64,
    created: DateTime<Utc>,
    status: &str,
) -> u64 {
    sqlx::query(
        "INSERT INTO run (workflow_id, workflow_revision, client_id, started_by, status, failure_policy, snapshot, \
         node_states, published, logs_visible_to_client, created_at, started_at, finished_at) \
         VALUES (?, 1, ?, ?, ?, 'continue', '{\"graph\":{\"nodes\":[],\"edges\":[]},\"templates\":[]}', '{}', TRUE, FALSE, ?, ?, ?)",
    )
    .bind(workflow)
    .bind(client)
    .bind(by)
    .bind(status)
    .bind(created)
    .bind(created)
    .bind(created + Duration::minutes(2))
    .execute(&app.db)
    .await
    .unwrap()
    .last_insert_id()
}

/// The last `n` weekdays before today, at 09:03 UTC.
fn weekday_mornings(n: usize) -> Vec<DateTime<Utc>> {
    let today = Utc::now().date_naive();
    (1..40)
        .map(|d| today - Duration::days(d))
        .filter(|d| d.weekday().num_days_from_monday() < 5)
        .take(n)
        .map(|d| Utc.from_utc_datetime(&d.and_hms_opt(9, 3, 0).unwrap()))
        .collect()
}

struct Fixture {
    manager: Session,
    admin: Session,
    report: u64,
    extract: u64,
    load: u64,
}

const MARK_OTHER: &str = "MARK-other-managers-workflow-5521";

/// Mia's client: "Daily report" played by hand at 09:03 on six weekdays;
/// each of four successful "Extract" runs followed 10 minutes later by a
/// Play of "Load". Otto's client: the same morning habit, on a workflow
/// named with a marker.
async fn fixture(app: &TestApp) -> Fixture {
    let c = cast(app).await;
    let otto = app.user(&c.admin, "otto", "manager").await;
    let olga = app.user(&c.admin, "olga", "client").await.user_id;
    app.assign(&c.admin, otto.user_id, olga).await;
    let empty = json!({"nodes": [], "edges": []});
    let wf = |v: Value| v["id"].as_u64().unwrap();
    let report = wf(app
        .create_workflow(&c.manager, c.client, empty.clone())
        .await);
    let extract = wf(app
        .create_workflow(&c.manager, c.client, empty.clone())
        .await);
    let load = wf(app
        .create_workflow(&c.manager, c.client, empty.clone())
        .await);
    let other = wf(app.create_workflow(&otto, olga, empty).await);
    for (id, name) in [
        (report, "Daily report"),
        (extract, "Extract"),
        (load, "Load"),
        (other, MARK_OTHER),
    ] {
        sqlx::query("UPDATE workflow SET name = ? WHERE workflow_id = ?")
            .bind(name)
            .bind(id)
            .execute(&app.db)
            .await
            .unwrap();
    }
    for at in weekday_mornings(6) {
        insert_run(app, report, c.client, c.manager.user_id, at, "succeeded").await;
        insert_run(app, other, olga, otto.user_id, at, "succeeded").await;
    }
    let noon = Utc::now() - Duration::days(3);
    for i in 0..4 {
        let at = noon + Duration::hours(i * 5);
        insert_run(app, extract, c.client, c.manager.user_id, at, "succeeded").await;
        insert_run(
            app,
            load,
            c.client,
            c.manager.user_id,
            at + Duration::minutes(12),
            "succeeded",
        )
        .await;
    }
    Fixture {
        manager: c.manager,
        admin: c.admin,
        report,
        extract,
        load,
    }
}

fn find<'a>(items: &'a Value, id: &str) -> &'a Value {
    items
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no suggestion {id} in {items}"))
}

#[sqlx::test(migrations = "../migrations")]
async fn patterns_in_the_managers_scope_become_suggestions_the_model_only_words(pool: MySqlPool) {
    let llm = ScriptedLlm::start(vec![]).await;
    let app = spawn_app_with(pool, ai_settings(&llm)).await;
    let fx = fixture(&app).await;
    let schedule_id = format!("schedule:{}:9", fx.report);
    let follow_id = format!("run-follow:{}:succeeded:{}", fx.extract, fx.load);
    // The model puts the chain first and rewords both; it also tries to
    // slip in a suggestion of its own.
    let mut answer = tool_answer(json!({"suggestions": [
        {"id": follow_id, "title": "Chain Load after Extract", "text": "Load always follows Extract."},
        {"id": "schedule:999:1", "title": "Invented", "text": "x"},
        {"id": schedule_id, "title": "Run the report at nine", "text": "You start it by hand every weekday morning."}
    ]}));
    answer["choices"][0]["message"]["tool_calls"][0]["function"]["name"] =
        json!("rank_suggestions");
    llm.push(Reply::Ok(answer));

    let r = app.get("/api/ai/rule-suggestions", &fx.manager).await;

    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["phrasedBy"], "scripted");
    let items = &r.body["items"];
    assert_eq!(items.as_array().unwrap().len(), 2, "{items}");
    assert_eq!(items[0]["id"], follow_id.as_str());
    let schedule = find(items, &schedule_id);
    assert_eq!(schedule["title"], "Run the report at nine");
    assert_eq!(schedule["kind"], "manual_schedule");
    assert_eq!(schedule["statistic"]["observed"], 6);
    assert_eq!(schedule["statistic"]["outOf"], 30);
    assert!(schedule["statistic"]["description"]
        .as_str()
        .unwrap()
        .contains("on 6 of the last 30 days, always on a weekday"));
    assert_eq!(schedule["rule"]["workflowId"], fx.report);
    assert_eq!(
        schedule["rule"]["config"],
        json!({"kind": "schedule", "cron": "0 9 * * MON-FRI", "timezone": "UTC", "missed": "skip", "inputs": {}})
    );
    let follow = find(items, &follow_id);
    assert_eq!(follow["statistic"]["observed"], 4);
    assert_eq!(follow["statistic"]["outOf"], 4);
    assert_eq!(follow["rule"]["workflowId"], fx.load);
    assert_eq!(follow["rule"]["config"]["kind"], "event");
    assert_eq!(follow["rule"]["config"]["on"], "run_finished");
    assert_eq!(follow["rule"]["config"]["sourceWorkflowId"], fx.extract);
    assert_eq!(follow["rule"]["config"]["status"], "succeeded");
    // The model saw the statistics of this manager's scope only, had one
    // forced tool, and nothing was created.
    let req = &llm.requests()[0];
    assert_eq!(req["tool_choice"]["function"]["name"], "rank_suggestions");
    assert!(!llm.all_text().contains(MARK_OTHER));
    assert!(llm.all_text().contains("Daily report"));
    assert_eq!(app.count("workflow_trigger").await, 0);

    // The admin's scope holds both clients: the other morning habit too.
    llm.push(Reply::Raw(500, "down".into()));
    let all = app.get("/api/ai/rule-suggestions", &fx.admin).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert!(all.body.to_string().contains(MARK_OTHER));
    // A failing model leaves the platform's words, and says so.
    assert_eq!(all.body["phrasedBy"], Value::Null);
    assert!(all.body["notice"]
        .as_str()
        .unwrap()
        .contains("could not phrase"));
}

#[sqlx::test(migrations = "../migrations")]
async fn without_a_model_the_statistics_come_in_the_platforms_words(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let fx = fixture(&app).await;

    let r = app.get("/api/ai/rule-suggestions", &fx.manager).await;

    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["phrasedBy"], Value::Null);
    assert!(r.body["notice"]
        .as_str()
        .unwrap()
        .contains("assistant is off"));
    let schedule = find(&r.body["items"], &format!("schedule:{}:9", fx.report));
    assert_eq!(schedule["title"], "Schedule \"Daily report\" at 09:00 UTC");
    assert_eq!(schedule["text"], schedule["statistic"]["description"]);
    assert!(!r.body.to_string().contains(MARK_OTHER));
    // A schedule on the workflow answers the suggestion.
    let t = app
        .post(
            &format!("/api/workflows/{}/triggers", fx.report),
            &fx.manager,
            json!({"name": "Mornings", "config": {"kind": "schedule", "cron": "0 9 * * MON-FRI", "timezone": "UTC"}}),
        )
        .await;
    assert_eq!(t.status, StatusCode::CREATED, "{}", t.body);
    let r = app.get("/api/ai/rule-suggestions", &fx.manager).await;
    assert!(!r
        .body
        .to_string()
        .contains(&format!("schedule:{}:9", fx.report)));
}
