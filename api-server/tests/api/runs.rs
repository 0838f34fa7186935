//! Runs end to end: the real executor, real sandboxed Python runners, the real
//! database. Graphs are small and limits short so the suite stays fast.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::MySqlPool;

use crate::support::{
    spawn_app, spawn_app_with, test_settings, upper_template, ServerProcess, Session, TestApp,
};

pub(crate) struct Cast {
    pub admin: Session,
    pub manager: Session,
    pub client: Session,
}

pub(crate) async fn cast(app: &TestApp) -> Cast {
    let admin = app.admin().await;
    let manager = app.user(&admin, "mia", "manager").await;
    let client = app.user(&admin, "acme", "client").await;
    app.assign(&admin, manager.user_id, client.user_id).await;
    Cast {
        admin,
        manager,
        client,
    }
}

/// `num.source`: emits `{"amount": n}` on `value` from its `amount` input.
pub(crate) async fn num_source(app: &TestApp, admin: &Session) {
    app.create_template(
        admin,
        template(
            "num.source",
            "def run(inputs, params, ctx):\n    return {'value': {'amount': inputs['amount']}}\n",
            json!([{"name": "amount", "type": "number", "required": true}]),
            json!([{"name": "value", "type": "object"}]),
            json!({}),
        ),
    )
    .await;
}

/// `num.tag`: outputs the `amount` of its `value` input as `seen`.
pub(crate) async fn num_tag(app: &TestApp, admin: &Session) {
    app.create_template(
        admin,
        template(
            "num.tag",
            "def run(inputs, params, ctx):\n    return {'seen': inputs['value']['amount']}\n",
            json!([{"name": "value", "type": "json", "required": true}]),
            json!([{"name": "seen", "type": "number"}]),
            json!({}),
        ),
    )
    .await;
}

/// A template from its code and port declarations; `extra` is merged in.
pub(crate) fn template(
    name: &str,
    code: &str,
    inputs: Value,
    outputs: Value,
    extra: Value,
) -> Value {
    let mut t = json!({
        "name": name, "title": name, "code": code, "inputs": inputs, "outputs": outputs,
        "limits": {"timeoutSeconds": 20, "memoryMib": 256, "cpuMillicores": 1000}
    });
    if let (Some(t), Some(extra)) = (t.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            t.insert(k.clone(), v.clone());
        }
    }
    t
}

pub(crate) fn text_in() -> Value {
    json!([{"name": "text", "type": "string", "required": true}])
}

pub(crate) fn text_out() -> Value {
    json!([{"name": "text", "type": "string"}])
}

pub(crate) fn node(id: &str, template: &str) -> Value {
    json!({"id": id, "template": {"name": template, "version": 1}})
}

pub(crate) fn edge(from: &str, from_port: &str, to: &str, to_port: &str) -> Value {
    json!({"id": format!("{from}-{from_port}-{to}-{to_port}"), "source": from, "sourcePort": from_port, "target": to, "targetPort": to_port})
}

pub(crate) async fn start(app: &TestApp, s: &Session, workflow: u64, body: Value) -> u64 {
    let r = app
        .post(&format!("/api/workflows/{workflow}/runs"), s, body)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    r.body["id"].as_u64().expect("run id")
}

/// Polls the run until it is final (the test's view; the server is event driven).
pub(crate) async fn wait_final(app: &TestApp, s: &Session, run: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = app.get(&format!("/api/runs/{run}"), s).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        if ["succeeded", "failed", "cancelled"].contains(&r.body["status"].as_str().unwrap_or("")) {
            return r.body;
        }
        assert!(Instant::now() < deadline, "run did not finish: {}", r.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) fn node_of<'a>(run: &'a Value, id: &str) -> &'a Value {
    run["nodes"]
        .as_array()
        .and_then(|n| n.iter().find(|n| n["id"] == id))
        .unwrap_or_else(|| panic!("node {id} missing in {run}"))
}

pub(crate) async fn workflow(
    app: &TestApp,
    s: &Session,
    client: u64,
    nodes: Vec<Value>,
    edges: Vec<Value>,
) -> u64 {
    let wf = app
        .create_workflow(s, client, json!({"nodes": nodes, "edges": edges}))
        .await;
    wf["id"].as_u64().expect("workflow id")
}

pub(crate) async fn text_pipeline(app: &TestApp, c: &Cast) -> u64 {
    app.create_template(&c.admin, upper_template("text.upper"))
        .await;
    app.create_template(
        &c.admin,
        template(
            "text.source",
            "def run(inputs, params, ctx):\n    ctx.log('emitting ' + inputs['text'])\n    return {'text': inputs['text']}\n",
            text_in(),
            text_out(),
            json!({}),
        ),
    )
    .await;
    app.create_template(
        &c.admin,
        template(
            "text.count",
            "def run(inputs, params, ctx):\n    ctx.progress(0.5, 'counting')\n    n = len(inputs['text'])\n    print('length', n)\n    return {'count': n}\n",
            text_in(),
            json!([{"name": "count", "type": "integer"}]),
            json!({}),
        ),
    )
    .await;
    let mut src = node("src", "text.source");
    src["inputs"] = json!({"text": "hello world"});
    workflow(
        app,
        &c.manager,
        c.client.user_id,
        vec![
            src,
            node("upper", "text.upper"),
            node("count", "text.count"),
        ],
        vec![
            edge("src", "text", "upper", "text"),
            edge("upper", "text", "count", "text"),
        ],
    )
    .await
}

#[sqlx::test(migrations = "../migrations")]
async fn three_node_text_workflow_succeeds_and_stores_outputs_logs_and_statuses(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    let wf = text_pipeline(&app, &c).await;

    let run = start(
        &app,
        &c.manager,
        wf,
        json!({"inputs": {"src": {"text": "abc def"}}}),
    )
    .await;
    let body = wait_final(&app, &c.manager, run).await;

    assert_eq!(body["status"], "succeeded", "{body}");
    for id in ["src", "upper", "count"] {
        let n = node_of(&body, id);
        assert_eq!(n["status"], "succeeded");
        assert_eq!(n["executions"].as_array().map(Vec::len), Some(1));
        assert!(n["executions"][0]["durationMs"].is_i64());
    }
    assert_eq!(
        node_of(&body, "upper")["executions"][0]["outputs"]["text"],
        "ABC DEF"
    );
    assert_eq!(
        node_of(&body, "count")["executions"][0]["outputs"]["count"],
        7
    );
    let logs = app
        .get(&format!("/api/runs/{run}/nodes/src/logs"), &c.manager)
        .await;
    assert_eq!(logs.status, StatusCode::OK);
    assert!(
        logs.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["message"] == "emitting abc def"),
        "{}",
        logs.body
    );
    let logs = app
        .get(&format!("/api/runs/{run}/nodes/count/logs"), &c.manager)
        .await;
    assert!(
        logs.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["stream"] == "stdout"
                && l["message"].as_str().unwrap_or("").contains("length 7")),
        "{}",
        logs.body
    );
    let out = app
        .get(
            &format!("/api/runs/{run}/nodes/count/outputs/count"),
            &c.manager,
        )
        .await;
    assert_eq!(out.body, json!(7));
    assert_eq!(out.headers["content-type"], "application/json");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_node_that_raises_fails_and_skips_its_downstream_while_other_branches_finish(
    pool: MySqlPool,
) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    app.create_template(&c.admin, upper_template("text.upper"))
        .await;
    app.create_template(
        &c.admin,
        template(
            "boom",
            "def run(inputs, params, ctx):\n    raise ValueError('no good input')\n",
            text_in(),
            text_out(),
            json!({}),
        ),
    )
    .await;
    let mut bad = node("bad", "boom");
    bad["inputs"] = json!({"text": "x"});
    let mut ok = node("ok", "text.upper");
    ok["inputs"] = json!({"text": "fine"});
    let wf = workflow(
        &app,
        &c.manager,
        c.client.user_id,
        vec![bad, node("after", "text.upper"), ok],
        vec![edge("bad", "text", "after", "text")],
    )
    .await;

    let run = start(&app, &c.manager, wf, json!({})).await;
    let body = wait_final(&app, &c.manager, run).await;

    assert_eq!(body["status"], "failed");
    let bad = node_of(&body, "bad");
    assert_eq!(
        (bad["status"].as_str(), bad["reason"].as_str()),
        (Some("failed"), Some("error"))
    );
    assert!(
        bad["message"]
            .as_str()
            .unwrap_or("")
            .contains("no good input"),
        "{bad}"
    );
    assert_eq!(node_of(&body, "after")["status"], "skipped");
    assert_eq!(node_of(&body, "ok")["status"], "succeeded");
    let logs = app
        .get(&format!("/api/runs/{run}/nodes/bad/logs"), &c.manager)
        .await;
    assert!(
        logs.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["message"].as_str().unwrap_or("").contains("Traceback")),
        "the traceback is stored in the log: {}",
        logs.body
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn timeout_memory_and_output_size_limits_fail_nodes_with_their_reason(pool: MySqlPool) {
    let app = spawn_app_with(
        pool,
        katalusis_api::config::Settings {
            max_output_bytes: 4096,
            ..test_settings()
        },
    )
    .await;
    let c = cast(&app).await;
    let limits = |t: u32, m: u32| json!({"limits": {"timeoutSeconds": t, "memoryMib": m, "cpuMillicores": 1000}});
    app.create_template(
        &c.admin,
        template(
            "slow",
            "def run(inputs, params, ctx):\n    while True:\n        pass\n",
            json!([]),
            text_out(),
            limits(1, 128),
        ),
    )
    .await;
    app.create_template(&c.admin, template("hungry", "def run(inputs, params, ctx):\n    x = bytearray(1024 * 1024 * 1024)\n    return {'text': str(len(x))}\n",
        json!([]), text_out(), limits(10, 64))).await;
    app.create_template(
        &c.admin,
        template(
            "chatty",
            "def run(inputs, params, ctx):\n    return {'text': 'x' * 100000}\n",
            json!([]),
            text_out(),
            limits(10, 128),
        ),
    )
    .await;
    let wf = workflow(
        &app,
        &c.manager,
        c.client.user_id,
        vec![
            node("slow", "slow"),
            node("hungry", "hungry"),
            node("chatty", "chatty"),
        ],
        vec![],
    )
    .await;

    let run = start(&app, &c.manager, wf, json!({})).await;
    let body = wait_final(&app, &c.manager, run).await;

    for (id, reason) in [
        ("slow", "timeout"),
        ("hungry", "memory"),
        ("chatty", "output_size"),
    ] {
        let n = node_of(&body, id);
        assert_eq!(
            (n["status"].as_str(), n["reason"].as_str()),
            (Some("failed"), Some(reason)),
            "{n}"
        );
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn cancelling_a_run_kills_its_running_node_and_cancels_the_rest(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    app.create_template(&c.admin, template("sleepy", "import time\ndef run(inputs, params, ctx):\n    time.sleep(30)\n    return {'text': 'late'}\n",
        json!([]), text_out(), json!({}))).await;
    app.create_template(&c.admin, upper_template("text.upper"))
        .await;
    let wf = workflow(
        &app,
        &c.manager,
        c.client.user_id,
        vec![node("sleepy", "sleepy"), node("next", "text.upper")],
        vec![edge("sleepy", "text", "next", "text")],
    )
    .await;
    let run = start(&app, &c.manager, wf, json!({})).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = app.get(&format!("/api/runs/{run}"), &c.manager).await;
        if node_of(&r.body, "sleepy")["status"] == "running" {
            break;
        }
        assert!(Instant::now() < deadline, "never started: {}", r.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let started = Instant::now();
    let r = app
        .post(&format!("/api/runs/{run}/cancel"), &c.manager, json!(null))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let body = wait_final(&app, &c.manager, run).await;

    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(body["status"], "cancelled");
    assert_eq!(node_of(&body, "sleepy")["status"], "cancelled");
    assert_eq!(node_of(&body, "next")["status"], "cancelled");
    let again = app
        .post(&format!("/api/runs/{run}/cancel"), &c.manager, json!(null))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
}

#[sqlx::test(migrations = "../migrations")]
async fn sync_and_async_nodes_run_and_a_sync_request_returns_the_finished_run(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    app.create_template(&c.admin, template("co",
        "import asyncio\nasync def run(inputs, params, ctx):\n    await asyncio.sleep(0.01)\n    return {'text': inputs['text'] + '!'}\n",
        text_in(), text_out(), json!({"executionMode": "async"}))).await;
    app.create_template(&c.admin, upper_template("text.upper"))
        .await;
    let mut a = node("a", "co");
    a["inputs"] = json!({"text": "hey"});
    let wf = workflow(
        &app,
        &c.manager,
        c.client.user_id,
        vec![a, node("b", "text.upper")],
        vec![edge("a", "text", "b", "text")],
    )
    .await;

    let r = app
        .post(
            &format!("/api/workflows/{wf}/runs"),
            &c.manager,
            json!({"mode": "sync"}),
        )
        .await;

    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "succeeded");
    assert_eq!(
        node_of(&r.body, "b")["executions"][0]["outputs"]["text"],
        "HEY!"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_failing_node_is_retried_and_every_attempt_is_stored(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    app.create_template(&c.admin, template("flaky",
        "def run(inputs, params, ctx):\n    if ctx.attempt < 3:\n        raise RuntimeError('flaky attempt %d' % ctx.attempt)\n    return {'text': 'ok on %d' % ctx.attempt}\n",
        json!([]), text_out(), json!({"retry": {"maxAttempts": 3, "backoffSeconds": 0}}))).await;
    let wf = workflow(
        &app,
        &c.manager,
        c.client.user_id,
        vec![node("f", "flaky")],
        vec![],
    )
    .await;

    let run = start(&app, &c.manager, wf, json!({})).await;
    let body = wait_final(&app, &c.manager, run).await;

    assert_eq!(body["status"], "succeeded", "{body}");
    let f = node_of(&body, "f");
    assert_eq!(f["attempt"], 3);
    let statuses: Vec<&str> = f["executions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["failed", "failed", "succeeded"]);
    assert_eq!(f["executions"][2]["outputs"]["text"], "ok on 3");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_fifty_node_fan_out_and_join_completes(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    app.create_template(
        &c.admin,
        template(
            "num",
            "def run(inputs, params, ctx):\n    return {'n': inputs['n'] + 1}\n",
            json!([{"name": "n", "type": "integer", "required": false, "default": 0}]),
            json!([{"name": "n", "type": "integer"}]),
            json!({}),
        ),
    )
    .await;
    app.create_template(
        &c.admin,
        template(
            "join",
            "def run(inputs, params, ctx):\n    return {'n': sum(inputs.values())}\n",
            json!((0..48)
                .map(|i| json!({"name": format!("in{i}"), "type": "integer", "required": true}))
                .collect::<Vec<_>>()),
            json!([{"name": "n", "type": "integer"}]),
            json!({}),
        ),
    )
    .await;
    let mut nodes = vec![node("root", "num")];
    let mut edges = vec![];
    for i in 0..48 {
        nodes.push(node(&format!("m{i}"), "num"));
        edges.push(edge("root", "n", &format!("m{i}"), "n"));
        edges.push(edge(&format!("m{i}"), "n", "join", &format!("in{i}")));
    }
    nodes.push(node("join", "join"));
    let wf = workflow(&app, &c.manager, c.client.user_id, nodes, edges).await;

    let run = start(&app, &c.manager, wf, json!({})).await;
    let body = wait_final(&app, &c.manager, run).await;

    assert_eq!(body["status"], "succeeded", "{body}");
    assert_eq!(node_of(&body, "join")["executions"][0]["outputs"]["n"], 96);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_restricted_node_opening_a_socket_fails_with_a_clear_message(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    app.create_template(&c.admin, template("net",
        "import socket\ndef run(inputs, params, ctx):\n    s = socket.create_connection(('127.0.0.1', 3306), timeout=2)\n    return {'text': 'connected'}\n",
        json!([]), text_out(), json!({}))).await;
    let wf = workflow(
        &app,
        &c.manager,
        c.client.user_id,
        vec![node("net", "net")],
        vec![],
    )
    .await;

    let run = start(&app, &c.manager, wf, json!({})).await;
    let body = wait_final(&app, &c.manager, run).await;

    let n = node_of(&body, "net");
    assert_eq!(n["status"], "failed");
    assert_eq!(n["reason"], "sandbox", "{n}");
    assert!(
        n["message"]
            .as_str()
            .unwrap_or("")
            .to_lowercase()
            .contains("socket"),
        "{n}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn an_invalid_workflow_or_input_answers_422_and_creates_no_run(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    app.create_template(&c.admin, upper_template("text.upper"))
        .await;
    // `b` has a required input that nothing feeds.
    let wf = workflow(
        &app,
        &c.manager,
        c.client.user_id,
        vec![node("b", "text.upper")],
        vec![],
    )
    .await;

    let r = app
        .post(&format!("/api/workflows/{wf}/runs"), &c.manager, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = app
        .post(
            &format!("/api/workflows/{wf}/runs"),
            &c.manager,
            json!({"inputs": {"nope": {"text": "x"}}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);

    assert_eq!(app.count("run").await, 0);
}

/// Parses a finished SSE body into (id, event, data) triples.
pub(crate) fn parse_sse(text: &str) -> Vec<(u64, String, Value)> {
    text.split("\n\n")
        .filter_map(|block| {
            let (mut id, mut event, mut data) = (None, None, String::new());
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    id = v.trim().parse().ok();
                } else if let Some(v) = line.strip_prefix("event:") {
                    event = Some(v.trim().to_string());
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim_start());
                }
            }
            Some((id?, event?, serde_json::from_str(&data).ok()?))
        })
        .collect()
}

pub(crate) async fn read_sse(
    app: &TestApp,
    s: &Session,
    run: u64,
    last_event_id: Option<u64>,
) -> Vec<(u64, String, Value)> {
    read_sse_at(app, s, &format!("/api/runs/{run}/events"), last_event_id).await
}

pub(crate) async fn read_sse_at(
    app: &TestApp,
    s: &Session,
    path: &str,
    last_event_id: Option<u64>,
) -> Vec<(u64, String, Value)> {
    let mut req = app.http.get(app.url(path)).bearer_auth(&s.token);
    if let Some(id) = last_event_id {
        req = req.header("Last-Event-ID", id.to_string());
    }
    let mut resp = req.send().await.expect("sse");
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let mut text = String::new();
    let read = async {
        while let Some(chunk) = resp.chunk().await.expect("chunk") {
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    tokio::time::timeout(Duration::from_secs(60), read)
        .await
        .expect("stream ends with the run");
    parse_sse(&text)
}

#[sqlx::test(migrations = "../migrations")]
async fn sse_shows_every_transition_in_order_and_resumes_after_last_event_id(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    let wf = text_pipeline(&app, &c).await;
    let run = start(&app, &c.manager, wf, json!({})).await;

    let events = read_sse(&app, &c.manager, run, None).await;

    let ids: Vec<u64> = events.iter().map(|e| e.0).collect();
    assert_eq!(
        ids,
        (1..=ids.len() as u64).collect::<Vec<_>>(),
        "ids are gapless and ordered"
    );
    for n in ["src", "upper", "count"] {
        let seen: Vec<&str> = events
            .iter()
            .filter(|e| e.1 == "node" && e.2["node"] == n)
            .map(|e| e.2["status"].as_str().unwrap())
            .collect();
        assert_eq!(seen, ["pending", "running", "succeeded"], "node {n}");
    }
    assert!(events.iter().any(|e| e.1 == "log" && e.2["node"] == "src"));
    assert!(events
        .iter()
        .any(|e| e.1 == "progress" && e.2["node"] == "count"));
    let last = events.last().unwrap();
    assert_eq!(
        (last.1.as_str(), last.2["status"].as_str()),
        ("run", Some("succeeded"))
    );
    // Order across nodes follows the graph.
    let pos = |n: &str, s: &str| {
        events
            .iter()
            .position(|e| e.1 == "node" && e.2["node"] == n && e.2["status"] == s)
            .unwrap()
    };
    assert!(pos("src", "succeeded") < pos("upper", "running"));
    assert!(pos("upper", "succeeded") < pos("count", "running"));

    let cut = events[events.len() / 2].0;
    let rest = read_sse(&app, &c.manager, run, Some(cut)).await;
    assert_eq!(
        rest,
        events
            .iter()
            .filter(|e| e.0 > cut)
            .cloned()
            .collect::<Vec<_>>()
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn following_a_nodes_logs_streams_only_its_lines_and_ends_with_the_run(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    let wf = text_pipeline(&app, &c).await;
    let run = start(&app, &c.manager, wf, json!({})).await;
    let path = format!("/api/runs/{run}/nodes/count/logs?follow=true");
    let events = read_sse_at(&app, &c.manager, &path, None).await;
    let logs: Vec<&Value> = events
        .iter()
        .filter(|e| e.1 == "log")
        .map(|e| &e.2)
        .collect();
    assert!(!logs.is_empty());
    assert!(logs.iter().all(|l| l["node"] == "count"), "{logs:?}");
    assert!(logs
        .iter()
        .any(|l| l["message"].as_str().unwrap().contains("length 11")));
    assert!(events.iter().all(|e| e.1 == "log" || e.1 == "run"));
    let last = events.last().unwrap();
    assert_eq!(
        (last.1.as_str(), last.2["status"].as_str()),
        ("run", Some("succeeded"))
    );
    // The paginated variant holds the same lines.
    let page = app
        .get(&format!("/api/runs/{run}/nodes/count/logs"), &c.manager)
        .await;
    let seqs: Vec<u64> = page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["seq"].as_u64().unwrap())
        .collect();
    let streamed: Vec<u64> = events
        .iter()
        .filter(|e| e.1 == "log")
        .map(|e| e.0)
        .collect();
    assert_eq!(seqs.len(), streamed.len());
    // A client without shared logs cannot follow them either.
    assert_eq!(
        app.get(&path, &c.client).await.status,
        StatusCode::NOT_FOUND
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_client_reads_its_own_published_run_but_not_another_clients(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    let other = app.user(&c.admin, "globex", "client").await;
    let wf = text_pipeline(&app, &c).await;
    let run = start(&app, &c.manager, wf, json!({})).await;
    wait_final(&app, &c.manager, run).await;

    let own = app.get(&format!("/api/runs/{run}"), &c.client).await;
    assert_eq!(own.status, StatusCode::OK);
    assert_eq!(
        node_of(&own.body, "count")["executions"][0]["outputs"]["count"],
        11
    );
    assert_eq!(
        app.get(&format!("/api/runs/{run}"), &other).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("/api/runs/{run}/events"), &other)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let list = app.get("/api/runs?count=exact", &other).await;
    assert_eq!(list.body["total"], 0);
    // Logs are hidden from the client until the manager shares them.
    let logs = format!("/api/runs/{run}/nodes/src/logs");
    assert_eq!(
        app.get(&logs, &c.client).await.status,
        StatusCode::NOT_FOUND
    );
    let r = app
        .patch(
            &format!("/api/runs/{run}"),
            &c.manager,
            json!({"logsVisibleToClient": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(app.get(&logs, &c.client).await.status, StatusCode::OK);
    // Clients cannot change or cancel runs.
    assert_eq!(
        app.patch(
            &format!("/api/runs/{run}"),
            &c.client,
            json!({"published": true})
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post(&format!("/api/runs/{run}/cancel"), &c.client, json!(null))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // Unpublished runs disappear for the client.
    app.patch(
        &format!("/api/runs/{run}"),
        &c.manager,
        json!({"published": false}),
    )
    .await;
    assert_eq!(
        app.get(&format!("/api/runs/{run}"), &c.client).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/api/runs?count=exact", &c.client).await.body["total"],
        0
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_run_interrupted_by_a_server_crash_is_resumed_when_the_server_starts_again(
    pool: MySqlPool,
) {
    let app = spawn_app(pool.clone()).await;
    let c = cast(&app).await;
    let code = "import time\ndef run(inputs, params, ctx):\n    if ctx.attempt == 1:\n        time.sleep(30)\n    return {'text': 'attempt %d' % ctx.attempt}\n";
    app.create_template(
        &c.admin,
        template(
            "again",
            code,
            json!([]),
            text_out(),
            json!({"retry": {"maxAttempts": 2}}),
        ),
    )
    .await;
    app.create_template(
        &c.admin,
        template("once", code, json!([]), text_out(), json!({})),
    )
    .await;
    let wf = workflow(
        &app,
        &c.manager,
        c.client.user_id,
        vec![node("again", "again"), node("once", "once")],
        vec![],
    )
    .await;
    let database: String = sqlx::query_scalar("SELECT DATABASE()")
        .fetch_one(&pool)
        .await
        .unwrap();

    let mut first = ServerProcess::spawn(&database, &[]).await;
    let r = app
        .http
        .post(format!("{}/api/workflows/{wf}/runs", first.base))
        .bearer_auth(&c.manager.token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let run = r.json::<Value>().await.unwrap()["id"].as_u64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let body = app.get(&format!("/api/runs/{run}"), &c.manager).await.body;
        if ["again", "once"]
            .iter()
            .all(|n| node_of(&body, n)["status"] == "running")
        {
            break;
        }
        assert!(Instant::now() < deadline, "nodes never ran: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first.kill();
    let status: String = sqlx::query_scalar("SELECT status FROM run WHERE run_id = ?")
        .bind(run)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(status, "running");

    let _second = ServerProcess::spawn(&database, &[]).await;
    let body = wait_final(&app, &c.manager, run).await;

    let again = node_of(&body, "again");
    assert_eq!(again["status"], "succeeded", "{body}");
    assert_eq!(again["executions"][0]["reason"], "interrupted");
    assert_eq!(again["executions"][1]["outputs"]["text"], "attempt 2");
    let once = node_of(&body, "once");
    assert_eq!(
        (once["status"].as_str(), once["reason"].as_str()),
        (Some("failed"), Some("interrupted"))
    );
    assert_eq!(body["status"], "failed");
}

#[sqlx::test(migrations = "../migrations")]
async fn restricted_nodes_fail_clearly_when_bubblewrap_is_missing(pool: MySqlPool) {
    let settings = katalusis_api::config::Settings {
        bwrap_path: "/nonexistent/bwrap".into(),
        ..test_settings()
    };
    let app = spawn_app_with(pool, settings).await;
    let c = cast(&app).await;
    app.create_template(&c.admin, upper_template("text.upper"))
        .await;
    let mut a = node("a", "text.upper");
    a["inputs"] = json!({"text": "x"});
    let wf = workflow(&app, &c.manager, c.client.user_id, vec![a], vec![]).await;

    let run = start(&app, &c.manager, wf, json!({})).await;
    let body = wait_final(&app, &c.manager, run).await;

    let a = node_of(&body, "a");
    assert_eq!(
        (a["status"].as_str(), a["reason"].as_str()),
        (Some("failed"), Some("sandbox")),
        "{a}"
    );
    assert!(a["message"].as_str().unwrap_or("").contains("bwrap"), "{a}");
}

#[sqlx::test(migrations = "../migrations")]
async fn without_a_sandbox_only_trusted_nodes_run_and_they_never_see_server_secrets(
    pool: MySqlPool,
) {
    let settings = katalusis_api::config::Settings {
        sandbox: katalusis_api::config::SandboxMode::None,
        ..test_settings()
    };
    let app = spawn_app_with(pool, settings).await;
    let c = cast(&app).await;
    app.create_template(&c.admin, template("env",
        "import os\ndef run(inputs, params, ctx):\n    return {'text': ','.join(sorted(os.environ))}\n",
        json!([]), text_out(), json!({"trustLevel": "trusted"}))).await;
    app.create_template(&c.admin, upper_template("text.upper"))
        .await;
    let mut r = node("r", "text.upper");
    r["inputs"] = json!({"text": "x"});
    let wf = workflow(
        &app,
        &c.manager,
        c.client.user_id,
        vec![node("env", "env"), r],
        vec![],
    )
    .await;

    let run = start(&app, &c.manager, wf, json!({})).await;
    let body = wait_final(&app, &c.manager, run).await;

    let env = node_of(&body, "env");
    assert_eq!(env["status"], "succeeded", "{env}");
    let names = env["executions"][0]["outputs"]["text"].as_str().unwrap();
    assert!(
        !names.contains("DATABASE_URL") && !names.contains("KATALUSIS_JWT"),
        "{names}"
    );
    let r = node_of(&body, "r");
    assert_eq!(
        (r["status"].as_str(), r["reason"].as_str()),
        (Some("failed"), Some("sandbox"))
    );
    assert!(r["message"]
        .as_str()
        .unwrap()
        .contains("KATALUSIS_SANDBOX=none"));
}

#[sqlx::test(migrations = "../migrations")]
async fn the_global_node_cap_queues_ready_nodes_with_a_visible_position(pool: MySqlPool) {
    let settings = katalusis_api::config::Settings {
        max_parallel_nodes: 1,
        ..test_settings()
    };
    let app = spawn_app_with(pool, settings).await;
    let c = cast(&app).await;
    app.create_template(
        &c.admin,
        template(
            "nap",
            "import time\ndef run(inputs, params, ctx):\n    time.sleep(0.4)\n    return {'text': 'ok'}\n",
            json!([]),
            text_out(),
            json!({}),
        ),
    )
    .await;
    let nodes = vec![node("a", "nap"), node("b", "nap"), node("c", "nap")];
    let wf = workflow(&app, &c.manager, c.client.user_id, nodes, vec![]).await;

    let run = start(&app, &c.manager, wf, json!({})).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let seen = loop {
        let body = app.get(&format!("/api/runs/{run}"), &c.manager).await.body;
        if node_of(&body, "a")["status"] == "running" && node_of(&body, "c")["queuePosition"] == 2 {
            break body;
        }
        assert!(Instant::now() < deadline, "never queued: {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let body = wait_final(&app, &c.manager, run).await;

    assert_eq!(node_of(&seen, "b")["queuePosition"], 1);
    assert_eq!(node_of(&seen, "b")["status"], "pending");
    assert_eq!(body["status"], "succeeded");
    let at = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    let mut spans: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|n| {
            let e = &node_of(&body, n)["executions"][0];
            (at(&e["startedAt"]), at(&e["finishedAt"]))
        })
        .collect();
    spans.sort();
    assert!(
        spans.windows(2).all(|w| w[0].1 <= w[1].0),
        "nodes overlapped: {spans:?}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn retention_deletes_old_logs_but_keeps_the_run_and_its_outputs(pool: MySqlPool) {
    let app = spawn_app(pool.clone()).await;
    let c = cast(&app).await;
    let wf = text_pipeline(&app, &c).await;
    let old = start(&app, &c.manager, wf, json!({})).await;
    wait_final(&app, &c.manager, old).await;
    let recent = start(&app, &c.manager, wf, json!({})).await;
    wait_final(&app, &c.manager, recent).await;
    // Retention judges each row by its own age.
    for sql in [
        "UPDATE run SET finished_at = NOW(6) - INTERVAL 10 DAY WHERE run_id = ?",
        "UPDATE node_log SET ts = NOW(6) - INTERVAL 10 DAY WHERE run_id = ?",
        "UPDATE run_event SET created_at = NOW(6) - INTERVAL 10 DAY WHERE run_id = ?",
    ] {
        sqlx::query(sql).bind(old).execute(&pool).await.unwrap();
    }

    let policy = katalusis_api::executor::retention::Policy {
        run_events_days: Some(7),
        log_lines_days: Some(7),
        files_days: Some(7),
        audit_days: None,
        batch_rows: 1000,
    };
    let deleted = katalusis_api::executor::retention::purge(
        &pool,
        &policy,
        chrono::Utc::now(),
        Duration::ZERO,
    )
    .await
    .unwrap();

    assert!(
        deleted.log_lines > 0 && deleted.run_events > 0,
        "{deleted:?}"
    );
    let logs = |run: u64| {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM node_log WHERE run_id = ?")
            .bind(run)
            .fetch_one(&pool)
    };
    assert_eq!(logs(old).await.unwrap(), 0);
    assert!(logs(recent).await.unwrap() > 0);
    let body = app.get(&format!("/api/runs/{old}"), &c.manager).await.body;
    assert_eq!(
        node_of(&body, "count")["executions"][0]["outputs"]["count"],
        11
    );
}

/// Two nodes: `r` writes a CSV file and raw bytes, `l` counts the file's
/// lines plus the bytes (5).
pub(crate) async fn file_pipeline(app: &TestApp, c: &Cast) -> u64 {
    app.create_template(
        &c.admin,
        template(
            "report",
            "def run(inputs, params, ctx):\n    ref = ctx.write_file('report.csv', b'a,b\\n1,2\\n')\n    return {'report': ref, 'raw': b'\\x00\\x01\\x02'}\n",
            json!([]),
            json!([{"name": "report", "type": "file"}, {"name": "raw", "type": "binary"}]),
            json!({}),
        ),
    )
    .await;
    app.create_template(
        &c.admin,
        template(
            "lines",
            "def run(inputs, params, ctx):\n    with open(inputs['f']) as fh:\n        return {'n': len(fh.read().splitlines()) + len(inputs['b'])}\n",
            json!([{"name": "f", "type": "file", "required": true}, {"name": "b", "type": "binary", "required": true}]),
            json!([{"name": "n", "type": "integer"}]),
            json!({}),
        ),
    )
    .await;
    workflow(
        app,
        &c.manager,
        c.client.user_id,
        vec![node("r", "report"), node("l", "lines")],
        vec![edge("r", "report", "l", "f"), edge("r", "raw", "l", "b")],
    )
    .await
}

#[sqlx::test(migrations = "../migrations")]
async fn file_and_binary_outputs_download_with_their_content_types_and_feed_downstream_nodes(
    pool: MySqlPool,
) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    let wf = file_pipeline(&app, &c).await;

    let run = start(&app, &c.manager, wf, json!({})).await;
    let body = wait_final(&app, &c.manager, run).await;

    assert_eq!(body["status"], "succeeded", "{body}");
    assert_eq!(node_of(&body, "l")["executions"][0]["outputs"]["n"], 5);
    let file = &node_of(&body, "r")["executions"][0]["outputs"]["report"]["$file"];
    assert_eq!(file["name"], "report.csv");
    assert_eq!(file["size"], 8);
    let resp = app
        .http
        .get(app.url(&format!("/api/runs/{run}/nodes/r/outputs/report")))
        .bearer_auth(&c.client.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("report.csv"));
    assert_eq!(resp.bytes().await.unwrap().as_ref(), b"a,b\n1,2\n");
    let resp = app
        .http
        .get(app.url(&format!("/api/runs/{run}/nodes/r/outputs/raw")))
        .bearer_auth(&c.manager.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "application/octet-stream");
    assert_eq!(resp.bytes().await.unwrap().as_ref(), [0u8, 1, 2]);
}

#[sqlx::test(migrations = "../migrations")]
async fn sandbox_escape_attempts_fail_as_the_nodes_failure(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    let attempts = [
        ("system", "import os\ndef run(inputs, params, ctx):\n    os.system('touch /tmp/pwned')\n    return {'text': 'ran'}\n"),
        ("subproc", "import subprocess\ndef run(inputs, params, ctx):\n    subprocess.run(['id'])\n    return {'text': 'ran'}\n"),
        ("ctypes", "import ctypes\ndef run(inputs, params, ctx):\n    return {'text': str(ctypes.CDLL(None))}\n"),
        ("sneaky", "import builtins\ndef run(inputs, params, ctx):\n    s = builtins.__import__('socket')\n    return {'text': str(s)}\n"),
        ("passwd", "def run(inputs, params, ctx):\n    with open('/etc/passwd') as f:\n        return {'text': f.read()}\n"),
        ("write", "def run(inputs, params, ctx):\n    with open('/work/escape.txt', 'w') as f:\n        f.write('x')\n    return {'text': 'wrote'}\n"),
    ];
    let mut nodes = vec![];
    for (name, code) in attempts {
        app.create_template(
            &c.admin,
            template(
                &format!("esc.{name}"),
                code,
                json!([]),
                text_out(),
                json!({}),
            ),
        )
        .await;
        nodes.push(node(name, &format!("esc.{name}")));
    }
    let wf = workflow(&app, &c.manager, c.client.user_id, nodes, vec![]).await;

    let run = start(&app, &c.manager, wf, json!({})).await;
    let body = wait_final(&app, &c.manager, run).await;

    for (name, _) in attempts {
        let n = node_of(&body, name);
        assert_eq!(n["status"], "failed", "{name}: {n}");
        assert!(
            ["sandbox", "error"].contains(&n["reason"].as_str().unwrap()),
            "{name}: {n}"
        );
        assert!(
            !n["message"].as_str().unwrap_or("").is_empty(),
            "{name}: {n}"
        );
    }
    assert!(!std::path::Path::new("/work/escape.txt").exists());
}

#[sqlx::test(migrations = "../migrations")]
async fn the_server_stops_on_sigterm_even_with_open_event_streams(pool: MySqlPool) {
    let app = spawn_app(pool.clone()).await;
    let c = cast(&app).await;
    let database: String = sqlx::query_scalar("SELECT DATABASE()")
        .fetch_one(&pool)
        .await
        .unwrap();
    let mut server = ServerProcess::spawn(&database, &[]).await;
    let stream = app
        .http
        .get(format!("{}/api/events", server.base))
        .bearer_auth(&c.manager.token)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);

    let pid = server.child.id().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(10);
    while server.child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "server ignored SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(stream);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_runner_that_dies_fails_its_running_attempt_and_a_fresh_runner_takes_the_retry(
    pool: MySqlPool,
) {
    let settings = katalusis_api::config::Settings {
        sandbox: katalusis_api::config::SandboxMode::None,
        ..test_settings()
    };
    let app = spawn_app_with(pool, settings).await;
    let c = cast(&app).await;
    // Trusted and unsandboxed, the node can reach its runner (the parent of
    // the zygote that forked it): kill it on the first attempt.
    app.create_template(
        &c.admin,
        template(
            "killer",
            "import os, signal, time\ndef run(inputs, params, ctx):\n    if ctx.attempt == 1:\n        with open(f'/proc/{os.getppid()}/stat') as f:\n            runner = int(f.read().rsplit(')', 1)[1].split()[1])\n        os.kill(runner, signal.SIGKILL)\n        time.sleep(5)\n    return {'text': 'attempt %d' % ctx.attempt}\n",
            json!([]),
            text_out(),
            json!({"trustLevel": "trusted", "retry": {"maxAttempts": 2}}),
        ),
    )
    .await;
    let wf = workflow(
        &app,
        &c.manager,
        c.client.user_id,
        vec![node("k", "killer")],
        vec![],
    )
    .await;

    let run = start(&app, &c.manager, wf, json!({})).await;
    let body = wait_final(&app, &c.manager, run).await;

    let k = node_of(&body, "k");
    assert_eq!(body["status"], "succeeded", "{body}");
    assert_eq!(k["executions"][0]["status"], "failed");
    assert_eq!(k["executions"][1]["outputs"]["text"], "attempt 2");
}

#[sqlx::test(migrations = "../migrations")]
async fn the_admins_module_allow_list_applies_to_restricted_nodes_of_new_runs(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    let current = app.get("/api/admin/settings/modules", &c.admin).await.body;
    let allow: Vec<Value> = current["allow"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| *m != "json")
        .cloned()
        .collect();
    let r = app
        .put(
            "/api/admin/settings/modules",
            &c.admin,
            json!({"allow": allow, "block": []}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    for (name, module) in [("usesjson", "json"), ("usesmath", "math")] {
        let code = format!(
            "import {module}\ndef run(inputs, params, ctx):\n    return {{'text': '{module}'}}\n"
        );
        app.create_template(
            &c.admin,
            template(name, &code, json!([]), text_out(), json!({})),
        )
        .await;
    }
    let nodes = vec![node("j", "usesjson"), node("m", "usesmath")];
    let wf = workflow(&app, &c.manager, c.client.user_id, nodes, vec![]).await;

    let run = start(&app, &c.manager, wf, json!({})).await;
    let body = wait_final(&app, &c.manager, run).await;

    let j = node_of(&body, "j");
    assert_eq!(
        (j["status"].as_str(), j["reason"].as_str()),
        (Some("failed"), Some("sandbox")),
        "{j}"
    );
    assert!(j["message"].as_str().unwrap().contains("json"), "{j}");
    assert_eq!(node_of(&body, "m")["status"], "succeeded");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_module_the_admin_allows_beyond_the_defaults_is_importable_in_restricted_nodes(
    pool: MySqlPool,
) {
    // Restricted sandboxes see only the allowed part of the standard library,
    // so the pool must be built from the run's allow-list, not the defaults.
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    let current = app.get("/api/admin/settings/modules", &c.admin).await.body;
    let mut allow: Vec<Value> = current["allow"].as_array().unwrap().clone();
    assert!(!allow.contains(&json!("wave")), "wave is not a default");
    allow.push(json!("wave"));
    let r = app
        .put(
            "/api/admin/settings/modules",
            &c.admin,
            json!({"allow": allow, "block": []}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let code = "import wave\ndef run(inputs, params, ctx):\n    return {'text': wave.__name__}\n";
    app.create_template(
        &c.admin,
        template("useswave", code, json!([]), text_out(), json!({})),
    )
    .await;
    let wf = workflow(
        &app,
        &c.manager,
        c.client.user_id,
        vec![node("w", "useswave")],
        vec![],
    )
    .await;

    for _ in 0..2 {
        // The second run takes the spare pool started for the first one.
        let run = start(&app, &c.manager, wf, json!({})).await;
        let body = wait_final(&app, &c.manager, run).await;
        let w = node_of(&body, "w");
        assert_eq!(w["status"], "succeeded", "{w}");
        assert_eq!(w["executions"][0]["outputs"]["text"], "wave");
    }
}

const ENGINE_WALKTHROUGH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../scripts/engine_walkthrough.sh"
);

#[sqlx::test(migrations = "../migrations")]
async fn the_engine_walkthrough_runs_against_a_live_server(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let out = tokio::process::Command::new("bash")
        .arg(ENGINE_WALKTHROUGH)
        .env("BASE", format!("http://{}", app.addr))
        .env("ADMIN_PASSWORD", crate::support::ADMIN_PASSWORD)
        .output()
        .await
        .expect("run walkthrough");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "walkthrough failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[..17],
        [
            "node trim pending",
            "node shout pending",
            "node count pending",
            "node trim running",
            "run running",
            "log trim: trimmed 4 characters",
            "node trim succeeded",
            "node shout running",
            "node shout succeeded",
            "node count running",
            "node count succeeded",
            "run succeeded",
            "trim succeeded hello world",
            "shout succeeded HELLO WORLD",
            "count succeeded 11",
            "client sees run succeeded, count 11",
            "probe failed (sandbox): Restricted node may not import module 'socket'.",
        ],
        "{stdout}"
    );
}

#[test]
fn the_engine_docs_show_the_walkthrough_verbatim() {
    let script = std::fs::read_to_string(ENGINE_WALKTHROUGH).unwrap();
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/engine.md")).unwrap();
    let body: String = script
        .lines()
        .skip_while(|l| !l.starts_with("# 1."))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        docs.contains(&body),
        "docs/engine.md must contain scripts/engine_walkthrough.sh from step 1 on"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_chatty_node_keeps_the_head_and_tail_of_its_log_and_clients_see_logs_only_when_shared(
    pool: MySqlPool,
) {
    let settings = katalusis_api::config::Settings {
        max_log_bytes: 4096,
        ..test_settings()
    };
    let app = spawn_app_with(pool, settings).await;
    let c = cast(&app).await;
    app.create_template(
        &c.admin,
        template(
            "chatty",
            "def run(inputs, params, ctx):\n    for i in range(5000):\n        print('line', i)\n    return {'text': 'done'}\n",
            json!([]),
            text_out(),
            json!({}),
        ),
    )
    .await;
    let wf = workflow(
        &app,
        &c.manager,
        c.client.user_id,
        vec![node("c", "chatty")],
        vec![],
    )
    .await;
    let run = start(&app, &c.manager, wf, json!({})).await;
    wait_final(&app, &c.manager, run).await;

    let logs = app
        .get(
            &format!("/api/runs/{run}/nodes/c/logs?limit=5000"),
            &c.manager,
        )
        .await
        .body;
    let lines: Vec<&str> = logs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["message"].as_str().unwrap())
        .collect();
    assert!(lines.len() < 1000, "{} lines kept", lines.len());
    assert_eq!(lines[0], "line 0");
    assert_eq!(*lines.last().unwrap(), "line 4999");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Log limit of 4096 bytes reached")),
        "{lines:?}"
    );

    let client_events = read_sse(&app, &c.client, run, None).await;
    assert!(!client_events.iter().any(|e| e.1 == "log"));
    assert!(client_events.iter().any(|e| e.1 == "node"));
    app.patch(
        &format!("/api/runs/{run}"),
        &c.manager,
        json!({"logsVisibleToClient": true}),
    )
    .await;
    let client_events = read_sse(&app, &c.client, run, None).await;
    assert!(client_events.iter().any(|e| e.1 == "log"));
}

/// Whether this kernel has Landlock, which the runner needs to confine jobs
/// (and without which the executor gives every run its own sandbox).
fn kernel_has_landlock() -> bool {
    let probe = "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nlibc.syscall.restype = ctypes.c_long\nprint(libc.syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1)))";
    std::process::Command::new("python3")
        .args(["-c", probe])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<i64>().ok())
        .is_some_and(|abi| abi >= 1)
}

/// `whereami`: the sandbox (its pid namespace) and the job directory the node ran in.
async fn whereami(app: &TestApp, admin: &Session) {
    app.create_template(
        admin,
        template(
            "whereami",
            "import os\ndef run(inputs, params, ctx):\n    return {'text': os.readlink('/proc/self/ns/pid') + ' ' + os.getcwd()}\n",
            json!([]),
            text_out(),
            json!({"trustLevel": "trusted"}),
        ),
    )
    .await;
}

#[sqlx::test(migrations = "../migrations")]
async fn runs_of_one_client_share_a_warm_sandbox_and_other_clients_never_do(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    let other = app.user(&c.admin, "globex", "client").await;
    app.assign(&c.admin, c.manager.user_id, other.user_id).await;
    whereami(&app, &c.admin).await;
    let mine = workflow(
        &app,
        &c.manager,
        c.client.user_id,
        vec![node("w", "whereami")],
        vec![],
    )
    .await;
    let theirs = workflow(
        &app,
        &c.manager,
        other.user_id,
        vec![node("w", "whereami")],
        vec![],
    )
    .await;

    let mut seen = Vec::new();
    for wf in [mine, mine, theirs] {
        let run = start(&app, &c.manager, wf, json!({})).await;
        let body = wait_final(&app, &c.manager, run).await;
        assert_eq!(body["status"], "succeeded", "{body}");
        let text = node_of(&body, "w")["executions"][0]["outputs"]["text"]
            .as_str()
            .unwrap()
            .to_owned();
        let (sandbox, dir) = text.split_once(' ').unwrap();
        seen.push((sandbox.to_owned(), dir.to_owned()));
    }
    let [(a1, dir1), (a2, dir2), (b, _)] = <[(String, String); 3]>::try_from(seen).unwrap();
    // Another client's run never shares a sandbox.
    assert_ne!(b, a1);
    assert_ne!(b, a2);
    if kernel_has_landlock() {
        // The second run of the same client found the first one's sandbox warm,
        // and its job had a directory of its own.
        assert_eq!(a1, a2);
        assert_ne!(dir1, dir2);
    } else {
        assert_ne!(a1, a2, "without Landlock every run has its own sandbox");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn cancelling_a_run_stops_only_its_own_jobs_in_a_shared_sandbox(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    app.create_template(
        &c.admin,
        template(
            "nap",
            "import time\ndef run(inputs, params, ctx):\n    time.sleep(1.5)\n    return {'text': 'rested'}\n",
            json!([]),
            text_out(),
            json!({"trustLevel": "trusted"}),
        ),
    )
    .await;
    let wf = workflow(
        &app,
        &c.manager,
        c.client.user_id,
        vec![node("n", "nap")],
        vec![],
    )
    .await;
    let first = start(&app, &c.manager, wf, json!({})).await;
    let second = start(&app, &c.manager, wf, json!({})).await;
    // Both are running before the first is cancelled.
    let deadline = Instant::now() + Duration::from_secs(30);
    for run in [first, second] {
        loop {
            let r = app.get(&format!("/api/runs/{run}"), &c.manager).await;
            if node_of(&r.body, "n")["status"] == "running" {
                break;
            }
            assert!(Instant::now() < deadline, "{}", r.body);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let r = app
        .post(
            &format!("/api/runs/{first}/cancel"),
            &c.manager,
            json!(null),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);

    let cancelled = wait_final(&app, &c.manager, first).await;
    let finished = wait_final(&app, &c.manager, second).await;
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    assert_eq!(finished["status"], "succeeded", "{finished}");
    assert_eq!(
        node_of(&finished, "n")["executions"][0]["outputs"]["text"],
        "rested"
    );
}
