//! Flow-control nodes run by the platform: Condition branches, trigger
//! rules at joins, and Wait.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::MySqlPool;

use crate::runs::{
    cast, edge, node, node_of, num_source, num_tag, start, template, wait_final, workflow, Cast,
};
use crate::support::{spawn_app, TestApp};

/// `src` emits `{"amount": n}`; a Condition sends it to `high` or `low`;
/// `report` joins both with `none_failed_min_one_success`.
async fn approval_routing(app: &TestApp, c: &Cast) -> u64 {
    num_source(app, &c.admin).await;
    num_tag(app, &c.admin).await;
    app.create_template(
        &c.admin,
        template(
            "num.report",
            "def run(inputs, params, ctx):\n    return {'which': 'high' if inputs.get('high') is not None else 'low'}\n",
            json!([{"name": "high", "type": "number"}, {"name": "low", "type": "number"}]),
            json!([{"name": "which", "type": "string"}]),
            json!({}),
        ),
    )
    .await;
    let mut cond = node("cond", "flow.condition");
    cond["params"] = json!({"expression": "value.amount > 1000"});
    let mut report = node("report", "num.report");
    report["trigger"] = json!("none_failed_min_one_success");
    workflow(
        app,
        &c.manager,
        c.client.user_id,
        vec![
            source(),
            cond,
            node("high", "num.tag"),
            node("low", "num.tag"),
            report,
        ],
        vec![
            edge("src", "value", "cond", "value"),
            edge("cond", "true", "high", "value"),
            edge("cond", "false", "low", "value"),
            edge("high", "seen", "report", "high"),
            edge("low", "seen", "report", "low"),
        ],
    )
    .await
}

/// The `num.source` node, with an amount each run overrides.
fn source() -> Value {
    let mut src = node("src", "num.source");
    src["inputs"] = json!({"amount": 0});
    src
}

fn amount(n: i64) -> Value {
    json!({"inputs": {"src": {"amount": n}}})
}

#[sqlx::test(migrations = "../migrations")]
async fn a_condition_routes_both_ways_and_the_join_runs_after_the_branch_taken(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    let wf = approval_routing(&app, &c).await;

    for (n, taken, untaken, branch) in [(1500, "high", "low", "true"), (20, "low", "high", "false")]
    {
        let run = start(&app, &c.manager, wf, amount(n)).await;
        let body = wait_final(&app, &c.manager, run).await;
        assert_eq!(body["status"], "succeeded", "{body}");
        let cond = node_of(&body, "cond");
        assert_eq!(cond["status"], "succeeded");
        assert_eq!(cond["branch"], branch);
        assert_eq!(cond["executions"][0]["outputs"][branch]["amount"], n);
        assert!(cond["executions"][0]["outputs"]
            .get(if branch == "true" { "false" } else { "true" })
            .is_none());
        assert_eq!(node_of(&body, taken)["status"], "succeeded");
        assert_eq!(node_of(&body, taken)["executions"][0]["outputs"]["seen"], n);
        let skipped = node_of(&body, untaken);
        assert_eq!(skipped["status"], "skipped", "{body}");
        assert_eq!(skipped["reason"], "branch");
        assert!(skipped["executions"].as_array().is_some_and(Vec::is_empty));
        let report = node_of(&body, "report");
        assert_eq!(report["status"], "succeeded", "{body}");
        assert_eq!(report["executions"][0]["outputs"]["which"], taken);
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_condition_that_cannot_be_evaluated_fails_its_node_with_the_reason(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    let wf = approval_routing(&app, &c).await;
    // Make the expression return a number instead of a boolean.
    let r = app.get(&format!("/api/workflows/{wf}"), &c.manager).await;
    let mut graph = r.body["graph"].clone();
    for n in graph["nodes"].as_array_mut().expect("nodes") {
        if n["id"] == "cond" {
            n["params"]["expression"] = json!("value.amount");
        }
    }
    let saved = app
        .put(
            &format!("/api/workflows/{wf}"),
            &c.manager,
            json!({"name": "flow", "graph": graph, "revision": r.body["revision"]}),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);

    let run = start(&app, &c.manager, wf, amount(3)).await;
    let body = wait_final(&app, &c.manager, run).await;
    assert_eq!(body["status"], "failed");
    let cond = node_of(&body, "cond");
    assert_eq!(cond["status"], "failed");
    assert_eq!(cond["reason"], "error");
    assert!(
        cond["message"]
            .as_str()
            .unwrap_or("")
            .contains("not true or false"),
        "{cond}"
    );
    for n in ["high", "low", "report"] {
        assert_eq!(node_of(&body, n)["reason"], "upstream_failed", "{n}");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_wait_node_parks_the_run_in_waiting_then_passes_its_input_on(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    num_source(&app, &c.admin).await;
    let mut wait = node("wait", "flow.wait");
    wait["params"] = json!({"seconds": 2});
    let wf = workflow(
        &app,
        &c.manager,
        c.client.user_id,
        vec![source(), wait],
        vec![edge("src", "value", "wait", "value")],
    )
    .await;

    let started = Instant::now();
    let run = start(&app, &c.manager, wf, amount(7)).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let waiting = loop {
        let r = app.get(&format!("/api/runs/{run}"), &c.manager).await;
        if r.body["status"] == "waiting" {
            break r.body;
        }
        assert_ne!(
            r.body["status"], "succeeded",
            "the wait was never seen: {}",
            r.body
        );
        assert!(Instant::now() < deadline, "{}", r.body);
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    let w = node_of(&waiting, "wait");
    assert_eq!(w["status"], "waiting");
    assert!(w["waitUntil"].is_string(), "{w}");

    let body = wait_final(&app, &c.manager, run).await;
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert_eq!(body["status"], "succeeded", "{body}");
    let w = node_of(&body, "wait");
    assert_eq!(w["executions"][0]["outputs"]["value"]["amount"], 7);
    assert_eq!(w["executions"].as_array().map(Vec::len), Some(1));
}

#[sqlx::test(migrations = "../migrations")]
async fn the_flow_templates_are_installed_and_their_names_are_reserved(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    let r = app.get("/api/templates?category=Flow", &c.manager).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let names: Vec<&str> = r.body["items"]
        .as_array()
        .or(r.body.as_array())
        .expect("a list")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(
        names.contains(&"flow.condition") && names.contains(&"flow.wait"),
        "{names:?}"
    );

    let before = app.count("node_template").await;
    let mut forged = template(
        "flow.condition",
        "def run(inputs, params, ctx):\n    return {}\n",
        json!([]),
        json!([]),
        json!({}),
    );
    let r = app.post("/api/templates", &c.admin, forged.clone()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.to_string().contains("reserved"), "{}", r.body);
    forged["name"] = json!("my.condition");
    forged["builtin"] = json!("condition");
    let r = app.post("/api/templates", &c.admin, forged).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(app.count("node_template").await, before);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_switch_sends_the_input_down_the_matching_case_or_default(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    app.create_template(
        &c.admin,
        template(
            "region.source",
            "def run(inputs, params, ctx):\n    return {'value': {'region': inputs['region']}}\n",
            json!([{"name": "region", "type": "string", "required": true}]),
            json!([{"name": "value", "type": "object"}]),
            json!({}),
        ),
    )
    .await;
    app.create_template(
        &c.admin,
        template(
            "region.tag",
            "def run(inputs, params, ctx):\n    return {'seen': inputs['value']['region']}\n",
            json!([{"name": "value", "type": "json", "required": true}]),
            json!([{"name": "seen", "type": "string"}]),
            json!({}),
        ),
    )
    .await;
    let mut src = node("src", "region.source");
    src["inputs"] = json!({"region": "eu"});
    let mut switch = node("route", "flow.switch");
    switch["params"] = json!({"expression": "value.region", "case1": "eu", "case2": "us"});
    let wf = workflow(
        &app,
        &c.manager,
        c.client.user_id,
        vec![
            src,
            switch,
            node("eu", "region.tag"),
            node("us", "region.tag"),
            node("other", "region.tag"),
        ],
        vec![
            edge("src", "value", "route", "value"),
            edge("route", "case1", "eu", "value"),
            edge("route", "case2", "us", "value"),
            edge("route", "default", "other", "value"),
        ],
    )
    .await;
    for (region, taken, port) in [
        ("us", "us", "case2"),
        ("eu", "eu", "case1"),
        ("apac", "other", "default"),
    ] {
        let run = start(
            &app,
            &c.manager,
            wf,
            json!({"inputs": {"src": {"region": region}}}),
        )
        .await;
        let body = wait_final(&app, &c.manager, run).await;
        assert_eq!(body["status"], "succeeded", "{body}");
        assert_eq!(node_of(&body, "route")["branch"], port);
        assert_eq!(
            node_of(&body, taken)["executions"][0]["outputs"]["seen"],
            region
        );
        for n in ["eu", "us", "other"].into_iter().filter(|n| *n != taken) {
            assert_eq!(node_of(&body, n)["reason"], "branch", "{n}");
        }
    }
}
