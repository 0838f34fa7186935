//! The shared parts of the contract: the OpenAPI document's shared
//! responses and constraints, security headers, metrics, audited reads.

use katalusis_api::config::AuditReads;
use katalusis_operator::metrics::exposition::{parse, MetricType};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::MySqlPool;

use crate::support::*;

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

fn operations(doc: &Value) -> Vec<(String, &Value)> {
    let mut out = vec![];
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in METHODS {
            if let Some(op) = item.get(m) {
                out.push((format!("{} {path}", m.to_uppercase()), op));
            }
        }
    }
    out
}

#[test]
fn every_operation_documents_the_shared_error_responses() {
    let doc = serde_json::to_value(katalusis_api::http::openapi()).unwrap();
    let ops = operations(&doc);
    assert!(ops.len() > 40, "{}", ops.len());
    for (name, op) in ops {
        let responses = op["responses"].as_object().unwrap();
        let has = |s: &str| responses.contains_key(s);
        let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
        // Webhooks authenticate with their secret URL (and an optional signature).
        let public = [
            "POST /api/auth/login",
            "POST /api/auth/refresh",
            "POST /api/hooks/{token}",
        ]
        .contains(&name.as_str())
            || name.ends_with("/healthz")
            || name.ends_with("/readyz");
        assert!(secured || public, "{name} is not secured");
        if secured {
            assert!(has("401") && has("403"), "{name}: {responses:?}");
        }
        let json_body = op["requestBody"]["content"]
            .as_object()
            .is_some_and(|c| c.keys().any(|k| k.contains("json")));
        if json_body {
            for s in ["400", "413", "415", "422"] {
                assert!(has(s), "{name} lacks {s}");
            }
        }
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        if params.iter().any(|p| p["in"] == "path") {
            assert!(has("404"), "{name} lacks 404");
        }
        if params.iter().any(|p| p["in"] == "query") {
            assert!(has("400") && has("422"), "{name} lacks 400/422");
        }
        // Every error answer has a JSON body schema: the shared `ErrorBody`
        // unless the handler documents a more specific one.
        for (status, r) in responses {
            if status.starts_with('4') || status.starts_with('5') {
                let schema = &r["content"]["application/json"]["schema"];
                assert!(schema.is_object(), "{name} {status}: {r}");
            }
            if ["401", "403", "413", "415", "503"].contains(&status.as_str()) {
                assert_eq!(
                    r["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody",
                    "{name} {status}"
                );
            }
        }
        // Paging bounds come from the constants `paging` enforces.
        for p in &params {
            let max = match p["name"].as_str() {
                Some("page") => katalusis_api::http::extract::MAX_PAGE,
                Some("perPage") => katalusis_api::http::extract::MAX_PER_PAGE,
                _ => continue,
            };
            assert_eq!(p["schema"]["minimum"], 1, "{name}");
            assert_eq!(p["schema"]["maximum"], max, "{name}");
        }
    }
    let error = &doc["components"]["schemas"]["ErrorBody"];
    assert_eq!(error["required"], json!(["error"]));
    // `details` is a list of field errors for 422s and an object elsewhere.
    let details = &doc["components"]["schemas"]["ErrorDetail"]["properties"]["details"];
    let accepts_arrays = match &details["type"] {
        Value::Null => true,
        Value::Array(types) => types.contains(&json!("array")),
        other => other == "array",
    };
    assert!(accepts_arrays, "{details}");
}

#[test]
fn request_constraints_in_the_schema_match_the_validators() {
    use katalusis_api::auth::password::{MAX_PASSWORD_LEN, MIN_PASSWORD_LEN};
    use katalusis_api::domain::{
        username, USERNAME_MAX_CHARS, USERNAME_MIN_CHARS, USERNAME_PATTERN,
    };
    let doc = serde_json::to_value(katalusis_api::http::openapi()).unwrap();
    let schemas = &doc["components"]["schemas"];
    let name = &schemas["CreateUser"]["properties"]["username"];
    assert_eq!(name["minLength"], USERNAME_MIN_CHARS);
    assert_eq!(name["maxLength"], USERNAME_MAX_CHARS);
    assert_eq!(name["pattern"], USERNAME_PATTERN);
    for (schema, field) in [
        ("CreateUser", "password"),
        ("ResetPassword", "password"),
        ("ChangePasswordRequest", "newPassword"),
    ] {
        let p = &schemas[schema]["properties"][field];
        assert_eq!(p["minLength"], MIN_PASSWORD_LEN, "{schema}.{field}");
        assert_eq!(p["maxLength"], MAX_PASSWORD_LEN, "{schema}.{field}");
    }
    // The validator accepts the boundaries the schema states and refuses
    // one past them.
    let at = |n: usize| "a".repeat(n);
    assert!(username("u", &at(USERNAME_MIN_CHARS)).is_ok());
    assert!(username("u", &at(USERNAME_MAX_CHARS)).is_ok());
    assert!(username("u", &at(USERNAME_MIN_CHARS - 1)).is_err());
    assert!(username("u", &at(USERNAME_MAX_CHARS + 1)).is_err());
    assert!(username("u", "zoë.m-ü_1").is_ok());
    assert!(username("u", "no spaces").is_err());
}

#[test]
fn response_types_that_extend_a_strict_type_list_its_extra_fields() {
    let doc = serde_json::to_value(katalusis_api::http::openapi()).unwrap();
    let template = &doc["components"]["schemas"]["Template"];
    // The request type stays strict …
    let spec = &doc["components"]["schemas"]["TemplateSpec"];
    assert_eq!(spec["additionalProperties"], false);
    // … and the response is one strict object with the spec's fields and
    // the ones the server adds, so extra fields are neither refused nor
    // left undocumented.
    assert!(template.get("allOf").is_none(), "{template}");
    assert_eq!(template["additionalProperties"], false, "{template}");
    let props = template["properties"].as_object().unwrap();
    for added in ["version", "createdAt", "createdBy", "deleted", "sha256"] {
        assert!(props.contains_key(added), "{added}: {template}");
    }
    for field in spec["properties"].as_object().unwrap().keys() {
        assert!(props.contains_key(field), "{field}: {template}");
    }
}

#[test]
fn tagged_enum_variants_are_satisfiable_objects() {
    let doc = serde_json::to_value(katalusis_api::http::openapi()).unwrap();
    let config = &doc["components"]["schemas"]["TriggerConfig"];
    for variant in config["oneOf"].as_array().unwrap() {
        // The tag is a property of the same strict object as the settings.
        assert_eq!(variant["additionalProperties"], false, "{variant}");
        assert!(variant["properties"]["kind"].is_object(), "{variant}");
    }
}

#[test]
fn unsigned_ids_are_documented_up_to_their_width() {
    let doc = serde_json::to_value(katalusis_api::http::openapi()).unwrap();
    let ids = &doc["components"]["schemas"]["MarkRead"]["properties"]["ids"]["items"];
    assert_eq!(ids["format"], "uint64", "{ids}");
    assert_eq!(ids["maximum"].as_u64(), Some(u64::MAX), "{ids}");
}

fn check_security_headers(r: &Resp, what: &str) {
    let h = |n: &str| {
        r.headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{what}: no {n}"))
            .to_string()
    };
    let csp = h("content-security-policy");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let script_src = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("script-src"))
        .unwrap();
    assert_eq!(script_src, "script-src 'self'", "{csp}");
    assert!(!csp.contains("unsafe-eval"), "{csp}");
    assert_eq!(h("x-content-type-options"), "nosniff");
    assert_eq!(h("referrer-policy"), "strict-origin-when-cross-origin");
    assert!(h("permissions-policy").contains("camera=()"));
    assert_eq!(h("x-frame-options"), "DENY");
}

#[sqlx::test(migrator = "katalusis_api::MIGRATOR")]
async fn api_and_spa_answers_carry_the_security_headers(pool: MySqlPool) {
    let web = std::env::temp_dir().join(format!("katalusis-web-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(web.join("assets")).unwrap();
    std::fs::write(web.join("index.html"), "<!doctype html><title>k</title>").unwrap();
    std::fs::write(web.join("assets/app.js"), "console.log(1)").unwrap();
    let mut settings = test_settings();
    settings.web_dir = Some(web.clone());
    let app = spawn_app_with(pool, settings).await;
    let admin = app.admin().await;
    check_security_headers(&app.get("/api/auth/me", &admin).await, "api");
    let anon = app
        .call(reqwest::Method::GET, "/api/auth/me", None, None)
        .await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
    check_security_headers(&anon, "401");
    let spa = app
        .call(reqwest::Method::GET, "/client/runs", None, None)
        .await;
    assert_eq!(spa.status, StatusCode::OK);
    check_security_headers(&spa, "spa");
    check_security_headers(
        &app.call(reqwest::Method::GET, "/assets/app.js", None, None)
            .await,
        "asset",
    );
    // Plain HTTP: no HSTS (browsers ignore it there, and it must not
    // promise HTTPS that is not served).
    assert!(spa.headers.get("strict-transport-security").is_none());
    std::fs::remove_dir_all(web).unwrap();
}

async fn scrape(app: &TestApp) -> (String, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = katalusis_api::metrics::router(app.state.clone());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let r = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    let body = r.text().await.unwrap();
    server.abort();
    (ct, body)
}

#[sqlx::test(migrator = "katalusis_api::MIGRATOR")]
async fn metrics_name_route_templates_and_parse_strictly(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    for id in [424242, 434343] {
        let r = app.get(&format!("/api/workflows/{id}"), &admin).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }
    app.get("/api/auth/me", &admin).await;
    app.call(reqwest::Method::GET, "/no/such/path/777", None, None)
        .await;
    // The API port does not serve metrics.
    let r = app.call(reqwest::Method::GET, "/metrics", None, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // An open SSE stream counts as a subscriber while it is open.
    let sse = app
        .http
        .get(app.url("/api/events"))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(sse.status(), StatusCode::OK);
    assert_eq!(app.state.metrics.sse_subscribers(), 1);

    let (ct, text) = scrape(&app).await;
    assert!(ct.starts_with("application/openmetrics-text"), "{ct}");
    let m = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let requests = "katalusis_http_requests_total";
    assert_eq!(
        m.family("katalusis_http_requests").unwrap().kind,
        MetricType::Counter
    );
    assert_eq!(
        m.value(
            requests,
            &[
                ("method", "GET"),
                ("route", "/api/workflows/{id}"),
                ("status", "404")
            ]
        ),
        Some(2.0),
        "{text}"
    );
    assert!(m
        .find(requests, &[("route", "/api/auth/me"), ("status", "200")])
        .next()
        .is_some());
    assert!(m
        .find(requests, &[("route", "unmatched"), ("status", "404")])
        .next()
        .is_some());
    // Raw paths (ids) never become label values.
    assert!(
        !text.contains("424242") && !text.contains("/no/such"),
        "{text}"
    );
    assert_eq!(
        m.family("katalusis_http_request_duration_seconds")
            .unwrap()
            .kind,
        MetricType::Histogram
    );
    assert_eq!(m.value("katalusis_sse_subscribers", &[]), Some(1.0));
    assert_eq!(m.value("katalusis_run_queue_depth", &[]), Some(0.0));
    assert!(m.value("katalusis_warm_sandboxes", &[]).is_some());
    let max = test_settings().db_max_connections as f64;
    assert_eq!(m.value("katalusis_db_max_connections", &[]), Some(max));
    assert!(m
        .value("katalusis_db_connections", &[("state", "idle")])
        .is_some());
    drop(sse);
    // The stream ends when the client goes away.
    let mut gone = false;
    for _ in 0..50 {
        if app.state.metrics.sse_subscribers() == 0 {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(gone, "the SSE gauge did not go down");
}

#[test]
fn node_events_feed_the_node_metrics() {
    let m = katalusis_api::metrics::Metrics::default();
    m.observe_node("succeeded", None, Some(0.2));
    m.observe_node("failed", Some("timeout"), Some(30.0));
    m.observe_node("failed", Some("timeout"), Some(31.0));
    m.observe_node("failed", Some("memory"), None);
    let text = m.exposition();
    let p = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(
        p.value("katalusis_node_failures_total", &[("reason", "timeout")]),
        Some(2.0)
    );
    assert_eq!(
        p.value("katalusis_node_failures_total", &[("reason", "memory")]),
        Some(1.0)
    );
    assert_eq!(
        p.value(
            "katalusis_node_duration_seconds_count",
            &[("phase", "failed")]
        ),
        Some(2.0)
    );
    assert_eq!(
        p.value(
            "katalusis_node_duration_seconds_count",
            &[("phase", "succeeded")]
        ),
        Some(1.0)
    );
}

async fn audited(app: &TestApp, action: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = ?")
        .bind(action)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

async fn attachment(app: &TestApp, admin: &Session) -> u64 {
    let acme = app.user(admin, "acme", "client").await;
    let r = app
        .post(
            "/api/tasks",
            admin,
            json!({"clientId": acme.user_id, "title": "t"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let task = r.body["id"].as_u64().unwrap();
    let r = app
        .http
        .post(app.url(&format!("/api/tasks/{task}/attachments")))
        .query(&[("name", "data.csv")])
        .bearer_auth(&admin.token)
        .body(b"a,b\n1,2\n".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json::<Value>().await.unwrap()["id"].as_u64().unwrap()
}

async fn audit_reads_with(pool: MySqlPool, level: AuditReads) -> (i64, i64) {
    let mut settings = test_settings();
    settings.audit_reads = level;
    let app = spawn_app_with(pool, settings).await;
    let admin = app.admin().await;
    let id = attachment(&app, &admin).await;
    let r = app.get(&format!("/api/attachments/{id}"), &admin).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app.get("/api/admin/audit", &admin).await;
    assert_eq!(r.status, StatusCode::OK);
    // Ordinary reads are never recorded.
    app.get("/api/auth/me", &admin).await;
    assert_eq!(audited(&app, "GET /api/auth/me").await, 0);
    (
        audited(&app, "attachment.download").await,
        audited(&app, "audit.view").await,
    )
}

#[sqlx::test(migrator = "katalusis_api::MIGRATOR")]
async fn downloads_are_audited_by_default(pool: MySqlPool) {
    assert_eq!(audit_reads_with(pool, AuditReads::Downloads).await, (1, 0));
}

#[sqlx::test(migrator = "katalusis_api::MIGRATOR")]
async fn all_sensitive_reads_are_audited_when_asked(pool: MySqlPool) {
    assert_eq!(audit_reads_with(pool, AuditReads::All).await, (1, 1));
}

#[sqlx::test(migrator = "katalusis_api::MIGRATOR")]
async fn no_reads_are_audited_when_off(pool: MySqlPool) {
    assert_eq!(audit_reads_with(pool, AuditReads::Off).await, (0, 0));
}

#[sqlx::test(migrator = "katalusis_api::MIGRATOR")]
async fn bodies_are_read_only_from_json_objects(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    // serde would read `UpdateUser` from an array of its fields, and a
    // nested struct the same way: the document allows neither.
    let mia = app.user(&admin, "mia", "manager").await;
    let path = format!("/api/admin/users/{}", mia.user_id);
    let r = app
        .patch(&path, &admin, json!([null, "Mia", null, null]))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "invalid_body");
    let r = app
        .post(
            "/api/workflows/validate",
            &admin,
            json!({"graph": {"nodes": [{"id": "a", "template": ["text.upper", 1]}], "edges": []}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("graph.nodes[0].template"),
        "{}",
        r.body
    );
    // The same values as an object are read as before.
    let r = app
        .patch(&path, &admin, json!({"displayName": "Mia"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["displayName"], "Mia");
}
