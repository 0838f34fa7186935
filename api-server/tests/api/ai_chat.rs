//! The chat panel against the scripted model: streamed answers, read-only
//! tools inside the caller's scope, conversations owned by one user.

use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::MySqlPool;

use crate::ai::{ai_settings, cast, failed_run, stream_text, stream_tool_call, ScriptedLlm};
use crate::support::*;

/// The events of a `text/event-stream` body as (event, data) pairs.
pub fn events(body: &Value) -> Vec<(String, Value)> {
    let text = body.as_str().expect("an event stream, not JSON");
    text.split("\n\n")
        .filter_map(|block| {
            let mut event = String::new();
            let mut data = String::new();
            for line in block.lines() {
                if let Some(e) = line.strip_prefix("event:") {
                    event = e.trim().to_string();
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push_str(d.trim_start());
                }
            }
            (!event.is_empty()).then(|| (event, serde_json::from_str(&data).unwrap_or(Value::Null)))
        })
        .collect()
}

fn streamed_text(ev: &[(String, Value)]) -> String {
    ev.iter()
        .filter(|(e, _)| e == "delta")
        .map(|(_, d)| d["text"].as_str().unwrap().to_string())
        .collect()
}

const MARK_OTHER: &str = "MARK-other-managers-client-task-9052";

#[sqlx::test(migrations = "../migrations")]
async fn a_chat_answer_streams_reads_tasks_only_in_scope_and_is_stored_for_its_owner_alone(
    pool: MySqlPool,
) {
    let llm = ScriptedLlm::start(vec![
        stream_tool_call("search_tasks", r#"{"limit": 20}"#),
        stream_text(&["Carl has ", "one open task: ", "Pay invoice."]),
    ])
    .await;
    let app = spawn_app_with(pool, ai_settings(&llm)).await;
    let c = cast(&app).await;
    // Another manager with their own client and task.
    let otto = app.user(&c.admin, "otto", "manager").await;
    let olga = app.user(&c.admin, "olga", "client").await.user_id;
    app.assign(&c.admin, otto.user_id, olga).await;
    for (client, title) in [(c.client, "Pay invoice"), (olga, MARK_OTHER)] {
        let r = app
            .post(
                "/api/tasks",
                &c.admin,
                json!({"clientId": client, "title": title}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let conv = app
        .post("/api/ai/conversations", &c.manager, json!({}))
        .await;
    assert_eq!(conv.status, StatusCode::CREATED, "{}", conv.body);
    let id = conv.body["id"].as_u64().unwrap();

    let r = app
        .post(
            &format!("/api/ai/conversations/{id}/messages"),
            &c.manager,
            json!({"content": "Which tasks are open?"}),
        )
        .await;

    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let ev = events(&r.body);
    let deltas = ev.iter().filter(|(e, _)| e == "delta").count();
    assert_eq!(deltas, 3, "relayed piece by piece: {ev:?}");
    assert_eq!(streamed_text(&ev), "Carl has one open task: Pay invoice.");
    assert!(ev
        .iter()
        .any(|(e, d)| e == "tool" && d["name"] == "search_tasks"));
    let (last, done) = ev.last().unwrap();
    assert_eq!(last, "done", "{ev:?}");
    assert_eq!(done["toolsUsed"], json!(["search_tasks"]));

    // The model streamed, was offered only read tools, and the tool result
    // it got back holds the manager's client's task and not the other one.
    let reqs = llm.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0]["stream"], true);
    let offered: Vec<&str> = reqs[0]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        offered,
        [
            "search_tasks",
            "get_task",
            "get_run_status",
            "explain_workflow_problems"
        ]
    );
    let msgs = reqs[1]["messages"].as_array().unwrap();
    let tool = msgs
        .iter()
        .find(|m| m["role"] == "tool")
        .expect("a tool result");
    assert_eq!(tool["tool_call_id"], "call_7");
    let result = tool["content"].as_str().unwrap();
    assert!(result.contains("Pay invoice"), "{result}");
    assert!(
        !llm.all_text().contains(MARK_OTHER),
        "another manager's client's task reached the model"
    );
    let call = msgs.iter().find(|m| m["role"] == "assistant").unwrap();
    assert_eq!(
        call["tool_calls"][0]["function"]["arguments"],
        r#"{"limit": 20}"#
    );

    // Stored: the question and the streamed answer, titled by the question.
    let got = app
        .get(&format!("/api/ai/conversations/{id}"), &c.manager)
        .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    assert_eq!(got.body["title"], "Which tasks are open?");
    let stored = got.body["messages"].as_array().unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0]["role"], "user");
    assert_eq!(stored[1]["role"], "assistant");
    assert_eq!(stored[1]["content"], "Carl has one open task: Pay invoice.");
    assert_eq!(stored[1]["toolsUsed"], json!(["search_tasks"]));
    let (calls,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM ai_usage WHERE user_id = ? AND feature = 'chat' AND outcome = 'ok' AND prompt_tokens = 300")
            .bind(c.manager.user_id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(calls, 1, "the text round's usage chunk is recorded");
    assert_eq!(app.count("ai_usage").await, 2);

    // Nobody else sees, continues or deletes it: not the other manager, not the admin.
    for other in [&otto, &c.admin] {
        let path = format!("/api/ai/conversations/{id}");
        assert_eq!(app.get(&path, other).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.delete(&path, other).await.status, StatusCode::NOT_FOUND);
        let send = app
            .post(&format!("{path}/messages"), other, json!({"content": "hi"}))
            .await;
        assert_eq!(send.status, StatusCode::NOT_FOUND);
        let list = app.get("/api/ai/conversations", other).await;
        assert_eq!(list.body["items"], json!([]));
    }
    assert_eq!(llm.requests().len(), 2, "no model call for the others");
    let list = app.get("/api/ai/conversations", &c.manager).await;
    assert_eq!(list.body["items"][0]["id"], id);

    // The owner deletes it, messages included.
    let del = app
        .delete(&format!("/api/ai/conversations/{id}"), &c.manager)
        .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    let gone = app
        .get(&format!("/api/ai/conversations/{id}"), &c.manager)
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(app.count("ai_message").await, 0);
    assert_eq!(app.count("ai_conversation").await, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_run_read_through_the_tool_stays_in_the_callers_scope_and_the_page_context_is_checked(
    pool: MySqlPool,
) {
    let llm = ScriptedLlm::start(vec![]).await;
    let app = spawn_app_with(pool, ai_settings(&llm)).await;
    let c = cast(&app).await;
    let run = failed_run(&app, &c).await;
    let otto = app.user(&c.admin, "otto", "manager").await;
    let ask_run = format!(r#"{{"runId": {run}}}"#);

    // Another manager: the page context is refused before the model is
    // asked, and the tool answers "not found".
    let conv = app.post("/api/ai/conversations", &otto, json!({})).await;
    let path = format!("/api/ai/conversations/{}/messages", conv.body["id"]);
    let r = app
        .post(
            &path,
            &otto,
            json!({"content": "why did it fail?", "context": {"kind": "run", "id": run}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert!(llm.requests().is_empty());
    llm.push(stream_tool_call("get_run_status", &ask_run));
    llm.push(stream_text(&["I cannot see that run."]));
    let r = app
        .post(&path, &otto, json!({"content": "why did run fail?"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(streamed_text(&events(&r.body)), "I cannot see that run.");
    let seen = llm.all_text();
    assert!(seen.contains("not found"), "{seen}");
    assert!(!seen.contains("ConnectTimeout") && !seen.contains("timed out after 30 s"));

    // The run's manager, asking on the run's page: the tool reads its
    // statuses, reasons and log tail.
    llm.push(stream_tool_call("get_run_status", &ask_run));
    llm.push(stream_text(&["Node fetch timed out ", "(ConnectTimeout)."]));
    let conv = app
        .post("/api/ai/conversations", &c.manager, json!({}))
        .await;
    let r = app
        .post(
            &format!("/api/ai/conversations/{}/messages", conv.body["id"]),
            &c.manager,
            json!({"content": "why did this run fail?", "context": {"kind": "run", "id": run}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let ev = events(&r.body);
    assert_eq!(streamed_text(&ev), "Node fetch timed out (ConnectTimeout).");
    let reqs = llm.requests();
    let last = reqs.last().unwrap()["messages"].as_array().unwrap().clone();
    let system = last[0]["content"].as_str().unwrap();
    assert!(system.contains(&format!("run {run}")), "{system}");
    let tool = last.iter().find(|m| m["role"] == "tool").unwrap()["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        tool.contains("ConnectTimeout") && tool.contains("timeout"),
        "{tool}"
    );
    // The unpublished run is not the client's to ask about.
    let carl = app.login("carl", PASSWORD).await;
    let conv = app.post("/api/ai/conversations", &carl, json!({})).await;
    let r = app
        .post(
            &format!("/api/ai/conversations/{}/messages", conv.body["id"]),
            &carl,
            json!({"content": "and this?", "context": {"kind": "run", "id": run}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
}

#[sqlx::test(migrations = "../migrations")]
async fn chat_without_a_model_says_why_and_bad_messages_are_refused(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    let conv = app
        .post("/api/ai/conversations", &admin, json!({"title": "Plans"}))
        .await;
    assert_eq!(conv.status, StatusCode::CREATED, "{}", conv.body);
    assert_eq!(conv.body["title"], "Plans");
    let path = format!("/api/ai/conversations/{}/messages", conv.body["id"]);
    let r = app.post(&path, &admin, json!({"content": "hello"})).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "ai_disabled");
    for bad in [
        json!({"content": "  "}),
        json!({"content": "x".repeat(5000)}),
        json!({"content": "hi", "context": {"kind": "planet", "id": 1}}),
    ] {
        let r = app.post(&path, &admin, bad).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    }
    let r = app
        .post("/api/ai/conversations", &admin, json!({"title": " "}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count("ai_message").await, 0, "nothing stored");
}
