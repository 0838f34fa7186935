use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::MySqlPool;

use crate::support::*;

/// Every error has the one shape and never leaks internals.
fn assert_error_shape(body: &Value, code: &str) {
    assert_eq!(body["error"]["code"], code, "{body}");
    let msg = body["error"]["message"].as_str().expect("message");
    assert!(!msg.is_empty());
    for leak in ["SQL", "sqlx", "panicked", "src/", "INSERT", "SELECT"] {
        assert!(!msg.contains(leak), "{msg}");
    }
}

async fn raw(
    app: &TestApp,
    s: &Session,
    method: reqwest::Method,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let mut req = app
        .http
        .request(method, app.url(path))
        .bearer_auth(&s.token)
        .body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[sqlx::test(migrations = "../migrations")]
async fn malformed_json_gets_400_and_changes_nothing(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    let before = app.count("app_user").await;
    let (status, body) = raw(
        &app,
        &admin,
        reqwest::Method::POST,
        "/api/admin/users",
        Some("application/json"),
        b"{\"username\": \"x\",".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error_shape(&body, "bad_request");
    assert_eq!(app.count("app_user").await, before);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_missing_content_type_gets_415(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    let (status, body) = raw(
        &app,
        &admin,
        reqwest::Method::POST,
        "/api/workflows/validate",
        Some("text/plain"),
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_error_shape(&body, "unsupported_media_type");
}

#[sqlx::test(migrations = "../migrations")]
async fn wrong_types_and_unknown_fields_get_422_and_change_nothing(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    let before = app.count("app_user").await;
    let wrong_type = app
        .post("/api/admin/users", &admin, json!({"username": 5, "email": "a@b.c", "displayName": "A", "role": "client", "password": PASSWORD}))
        .await;
    assert_eq!(wrong_type.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error_shape(&wrong_type.body, "invalid_body");
    let unknown_field = app
        .post("/api/admin/users", &admin, json!({"username": "abc", "email": "a@b.c", "displayName": "A", "role": "client", "password": PASSWORD, "isAdmin": true}))
        .await;
    assert_eq!(unknown_field.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown_field.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("isAdmin"));
    let bad_role = app
        .post("/api/admin/users", &admin, json!({"username": "abc", "email": "a@b.c", "displayName": "A", "role": "root", "password": PASSWORD}))
        .await;
    assert_eq!(bad_role.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count("app_user").await, before);
}

#[sqlx::test(migrations = "../migrations")]
async fn field_errors_are_listed_together(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    let r = app
        .post("/api/admin/users", &admin, json!({"username": "x", "email": "nope", "displayName": " ", "role": "client", "password": "short"}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error_shape(&r.body, "validation_failed");
    let fields: Vec<&str> = r.body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["username", "email", "displayName", "password"]);
}

#[sqlx::test(migrations = "../migrations")]
async fn an_oversized_body_gets_413(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    let big = json!({"graph": {"nodes": [], "edges": []}, "pad": "x".repeat(70 * 1024)});
    let r = app.post("/api/workflows/validate", &admin, big).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_error_shape(&r.body, "payload_too_large");
}

#[sqlx::test(migrations = "../migrations")]
async fn bad_ids_and_query_strings_are_client_errors(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    assert_eq!(
        app.get("/api/admin/users/not-a-number", &admin)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/api/admin/users/99999999999999999999999", &admin)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let q = app.get("/api/admin/users?perPage=banana", &admin).await;
    assert_eq!(q.status, StatusCode::BAD_REQUEST);
    assert_error_shape(&q.body, "bad_request");
    assert_eq!(
        app.get("/api/admin/users?perPage=0", &admin).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        app.get("/api/admin/users?role=root", &admin).await.status,
        StatusCode::BAD_REQUEST
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn unknown_routes_and_methods_answer_in_the_error_shape(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    let r = app.get("/api/nothing-here", &admin).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_error_shape(&r.body, "not_found");
    let m = app.patch("/api/templates", &admin, json!({})).await;
    assert_eq!(m.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_error_shape(&m.body, "method_not_allowed");
}

#[sqlx::test(migrations = "../migrations")]
async fn unicode_names_are_stored_and_returned_intact(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    let r = app
        .post("/api/admin/users", &admin, json!({"username": "zoë.müller", "email": "zoe@example.com", "displayName": "Zoë 山田 🚀", "role": "client", "password": PASSWORD}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["displayName"], "Zoë 山田 🚀");
    let client_id = r.body["id"].as_u64().unwrap();
    let w = app
        .post("/api/workflows", &admin, json!({"clientId": client_id, "name": "Ночной отчёт 📊", "description": "العربية", "graph": {"nodes": [], "edges": []}}))
        .await;
    assert_eq!(w.status, StatusCode::CREATED, "{}", w.body);
    let got = app
        .get(&format!("/api/workflows/{}", w.body["id"]), &admin)
        .await;
    assert_eq!(got.body["name"], "Ночной отчёт 📊");
    assert_eq!(got.body["description"], "العربية");
    app.login("zoë.müller", PASSWORD).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn sql_metacharacters_in_every_string_field_are_plain_text(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    let evil = "Robert'); DROP TABLE app_user; -- \" \\ % _ `";
    let users_before = app.count("app_user").await;
    // Usernames refuse quotes outright; nothing is created.
    let r = app
        .post("/api/admin/users", &admin, json!({"username": evil, "email": "x@example.com", "displayName": evil, "role": "client", "password": evil}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count("app_user").await, users_before);
    // Display names, passwords, names, descriptions, titles and searches keep them verbatim.
    let r = app
        .post("/api/admin/users", &admin, json!({"username": "bobby", "email": "bobby@example.com", "displayName": evil, "role": "client", "password": evil}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["displayName"], evil);
    let client = r.body["id"].as_u64().unwrap();
    app.login("bobby", evil).await;
    let w = app
        .post("/api/workflows", &admin, json!({"clientId": client, "name": evil, "description": evil, "graph": {"nodes": [], "edges": []}}))
        .await;
    assert_eq!(w.status, StatusCode::CREATED);
    assert_eq!(w.body["name"], evil);
    let mut t = upper_template("text.upper");
    t["title"] = json!(evil);
    t["description"] = json!(evil);
    t["category"] = json!(evil);
    let created = app.create_template(&admin, t).await;
    assert_eq!(created["title"], evil);
    for q in [
        "/api/admin/users?q=%27%20OR%20%271%27%3D%271",
        "/api/templates?q=%25",
        "/api/workflows?q=%27%3B%20DROP%20TABLE%20workflow%3B--",
        "/api/admin/audit?action=%27%20OR%201%3D1--",
    ] {
        let r = app.get(q, &admin).await;
        assert_eq!(r.status, StatusCode::OK, "{q}: {}", r.body);
    }
    // `%` is matched literally, not as a wildcard.
    let pct = app.get("/api/templates?q=%25", &admin).await;
    assert_eq!(pct.body.as_array().unwrap().len(), 1);
    let none = app.get("/api/templates?q=zz%25", &admin).await;
    assert_eq!(none.body.as_array().unwrap().len(), 0);
    let users = app
        .get("/api/admin/users?q=%27%20OR%20%271%27%3D%271", &admin)
        .await;
    assert_eq!(users.body["total"], 0);
    assert_eq!(app.count("app_user").await, users_before + 1);
}
