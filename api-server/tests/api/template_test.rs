//! "Test node": one template version run once through the real sandboxed
//! runner, answered synchronously, stored nowhere.

use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::MySqlPool;

use crate::support::{spawn_app, upper_template, TestApp};

fn template(name: &str, code: &str, extra: Value) -> Value {
    let mut t = json!({
        "name": name, "title": name, "code": code,
        "inputs": [{"name": "text", "type": "string", "required": true},
                   {"name": "n", "type": "integer", "default": 2}],
        "outputs": [{"name": "text", "type": "string"}, {"name": "rows", "type": "array"}],
        "parameters": [{"name": "suffix", "kind": "text", "default": "!"},
                       {"name": "times", "kind": "number", "min": 1, "max": 5, "default": 1}],
        "limits": {"timeoutSeconds": 20, "memoryMib": 256, "cpuMillicores": 1000}
    });
    if let (Some(t), Some(extra)) = (t.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            t.insert(k.clone(), v.clone());
        }
    }
    t
}

const SHOUT: &str = "def run(inputs, params, ctx):\n    ctx.log('shouting ' + inputs['text'], level='warning')\n    print('to stdout')\n    t = (inputs['text'].upper() + params['suffix']) * int(params['times'])\n    return {'text': t, 'rows': [{'i': i} for i in range(inputs['n'])]}\n";

async fn audit_rows(app: &TestApp, action: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = ?")
        .bind(action)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn testing_a_template_runs_it_once_and_answers_outputs_and_logs_without_storing_a_run(
    pool: MySqlPool,
) {
    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    app.create_template(&admin, template("shout", SHOUT, json!({})))
        .await;

    let r = app
        .post(
            "/api/templates/shout/versions/1/test",
            &admin,
            json!({"inputs": {"text": "hey"}, "params": {"suffix": "?", "times": 2}}),
        )
        .await;

    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let b = &r.body;
    assert_eq!(b["status"], "succeeded", "{b}");
    assert_eq!(b["reason"], Value::Null);
    assert_eq!(b["outputs"]["text"], "HEY?HEY?");
    // The port default fills the input that was not given.
    assert_eq!(b["outputs"]["rows"], json!([{"i": 0}, {"i": 1}]));
    assert!(b["durationMs"].as_i64().is_some(), "{b}");
    let logs = b["logs"].as_array().unwrap();
    assert!(
        logs.iter().any(|l| l["message"] == "shouting hey"
            && l["level"] == "warning"
            && l["stream"] == "ctx"
            && l["ts"].is_string()),
        "{logs:?}"
    );
    assert!(
        logs.iter()
            .any(|l| l["message"] == "to stdout" && l["stream"] == "stdout"),
        "{logs:?}"
    );
    assert_eq!(app.count("run").await, 0);
    assert_eq!(audit_rows(&app, "template.test").await, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_failing_test_node_answers_its_error_and_traceback_and_limits_apply(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    let boom = "def helper(x):\n    raise ValueError('boom ' + x)\n\ndef run(inputs, params, ctx):\n    ctx.log('about to fail')\n    helper(inputs['text'])\n";
    app.create_template(&admin, template("boom", boom, json!({})))
        .await;
    app.create_template(
        &admin,
        template(
            "slow",
            "import time\ndef run(inputs, params, ctx):\n    time.sleep(30)\n",
            json!({"limits": {"timeoutSeconds": 1, "memoryMib": 256, "cpuMillicores": 1000}}),
        ),
    )
    .await;
    app.create_template(
        &admin,
        template(
            "net",
            "import socket\ndef run(inputs, params, ctx):\n    socket.create_connection(('127.0.0.1', 3306), timeout=2)\n",
            json!({}),
        ),
    )
    .await;
    let body = json!({"inputs": {"text": "x"}});

    let r = app
        .post("/api/templates/boom/versions/1/test", &admin, body.clone())
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "failed");
    assert_eq!(r.body["reason"], "error");
    assert!(
        r.body["message"].as_str().unwrap().contains("boom x"),
        "{}",
        r.body
    );
    let tb = r.body["traceback"].as_str().unwrap_or("");
    assert!(tb.contains("ValueError") && tb.contains("helper"), "{tb}");
    assert!(
        r.body["logs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["message"] == "about to fail"),
        "{}",
        r.body
    );

    let r = app
        .post("/api/templates/slow/versions/1/test", &admin, body.clone())
        .await;
    assert_eq!(r.body["status"], "failed", "{}", r.body);
    assert_eq!(r.body["reason"], "timeout", "{}", r.body);

    let r = app
        .post("/api/templates/net/versions/1/test", &admin, body)
        .await;
    assert_eq!(r.body["status"], "failed", "{}", r.body);
    assert_eq!(r.body["reason"], "sandbox", "{}", r.body);
    assert_eq!(app.count("run").await, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn test_values_that_do_not_fit_the_template_are_refused_before_anything_runs(
    pool: MySqlPool,
) {
    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    app.create_template(&admin, upper_template("text.upper"))
        .await;
    let ok = json!({"inputs": {"text": "hi"}});

    for path in [
        "/api/templates/text.upper/versions/2/test",
        "/api/templates/nope/versions/1/test",
    ] {
        let r = app.post(path, &admin, ok.clone()).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.body);
        assert_eq!(r.body["error"]["code"], "not_found");
    }

    let r = app
        .post(
            "/api/templates/text.upper/versions/1/test",
            &admin,
            json!({"inputs": {"text": 5, "extra": 1}, "params": {"mode": "c", "other": true}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "validation_failed");
    let fields: Vec<&str> = r.body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    for f in ["inputs.text", "inputs.extra", "params.mode", "params.other"] {
        assert!(fields.contains(&f), "{f} missing in {fields:?}");
    }

    // A required input without a value or default.
    let r = app
        .post(
            "/api/templates/text.upper/versions/1/test",
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["error"]["details"][0]["field"], "inputs.text");

    // Unknown body fields.
    let r = app
        .post(
            "/api/templates/text.upper/versions/1/test",
            &admin,
            json!({"inputs": {"text": "hi"}, "limits": {}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("limits"),
        "{}",
        r.body
    );
}
