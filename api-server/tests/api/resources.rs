use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::MySqlPool;

use crate::support::*;

#[sqlx::test(migrations = "../migrations")]
async fn saving_a_changed_template_creates_a_new_version(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    let v1 = app
        .create_template(&admin, upper_template("text.upper"))
        .await;
    assert_eq!(v1["version"], 1);
    let dup = app
        .post("/api/templates", &admin, upper_template("text.upper"))
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);

    let same = app
        .put(
            "/api/templates/text.upper",
            &admin,
            upper_template("text.upper"),
        )
        .await;
    assert_eq!(same.status, StatusCode::OK);
    assert_eq!(same.body["version"], 1);

    let mut changed = upper_template("text.upper");
    changed["code"] =
        json!("def run(inputs, params, ctx):\n    return {'text': inputs['text'].lower()}\n");
    let v2 = app.put("/api/templates/text.upper", &admin, changed).await;
    assert_eq!(v2.status, StatusCode::CREATED);
    assert_eq!(v2.body["version"], 2);

    let latest = app.get("/api/templates/text.upper", &admin).await;
    assert_eq!(latest.body["version"], 2);
    let old = app
        .get("/api/templates/text.upper/versions/1", &admin)
        .await;
    assert!(old.body["code"].as_str().unwrap().contains("upper()"));
    let versions = app.get("/api/templates/text.upper/versions", &admin).await;
    let nums: Vec<u64> = versions
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect();
    assert_eq!(nums, vec![2, 1]);
}

#[sqlx::test(migrations = "../migrations")]
async fn invalid_templates_get_a_field_level_422(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    let mut t = upper_template("text.upper");
    t["inputs"] = json!([{"name": "a", "type": "string"}, {"name": "a", "type": "number"}]);
    t["parameters"] =
        json!([{"name": "p", "kind": "number", "min": 0.0, "max": 1.0, "default": 5}]);
    t["limits"] = json!({"timeoutSeconds": 999999, "memoryMib": 256, "cpuMillicores": 500});
    let r = app.post("/api/templates", &admin, t).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = r.body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        vec![
            "inputs[1].name",
            "parameters[0].default",
            "limits.timeoutSeconds"
        ]
    );
    let mut unknown_type = upper_template("text.upper");
    unknown_type["outputs"] = json!([{"name": "x", "type": "float"}]);
    let r = app.post("/api/templates", &admin, unknown_type).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("float"));
    // Only the platform's flow templates, installed on start.
    let flow = katalusis_crds::builtin_templates().len() as i64;
    assert_eq!(app.count("node_template").await, flow);
}

#[sqlx::test(migrations = "../migrations")]
async fn deleted_templates_leave_the_library_and_make_graphs_invalid(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    let m = app.user(&admin, "mia", "manager").await;
    app.create_template(&admin, upper_template("text.upper"))
        .await;
    let ok = app
        .post(
            "/api/workflows/validate",
            &m,
            json!({"graph": two_node_graph("text.upper")}),
        )
        .await;
    assert_eq!(ok.body["valid"], true, "{}", ok.body);
    assert_eq!(
        app.delete("/api/templates/text.upper", &admin).await.status,
        StatusCode::NO_CONTENT
    );
    let own = |list: &Value| -> Vec<Value> {
        list.as_array()
            .unwrap()
            .iter()
            .filter(|t| t["builtin"].is_null())
            .cloned()
            .collect()
    };
    assert_eq!(own(&app.get("/api/templates", &m).await.body).len(), 0);
    assert_eq!(
        app.get("/api/templates/text.upper", &m).await.status,
        StatusCode::NOT_FOUND
    );
    let all = app.get("/api/templates?includeDeleted=true", &admin).await;
    assert_eq!(own(&all.body)[0]["deleted"], true);
    let bad = app
        .post(
            "/api/workflows/validate",
            &m,
            json!({"graph": two_node_graph("text.upper")}),
        )
        .await;
    assert_eq!(bad.body["valid"], false);
    assert_eq!(bad.body["problems"][0]["code"], "template_deleted");
}

#[sqlx::test(migrations = "../migrations")]
async fn validate_reports_every_problem_with_ids(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    app.create_template(&admin, upper_template("text.upper"))
        .await;
    let graph = json!({
        "nodes": [
            {"id": "a", "template": {"name": "text.upper", "version": 1}},
            {"id": "b", "template": {"name": "text.upper", "version": 1}},
            {"id": "c", "template": {"name": "nope", "version": 1}}
        ],
        "edges": [
            {"id": "e1", "source": "a", "sourcePort": "text", "target": "b", "targetPort": "text"},
            {"id": "e2", "source": "b", "sourcePort": "text", "target": "a", "targetPort": "text"}
        ]
    });
    let r = app
        .post("/api/workflows/validate", &admin, json!({"graph": graph}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["valid"], false);
    let mut codes: Vec<&str> = r.body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    codes.sort();
    assert_eq!(codes, vec!["cycle", "template_missing"]);
    let cycle = r.body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == "cycle")
        .unwrap();
    assert_eq!(cycle["nodes"], json!(["a", "b"]));
}

#[sqlx::test(migrations = "../migrations")]
async fn workflow_saves_keep_every_revision_and_refuse_stale_ones(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    let m = app.user(&admin, "mia", "manager").await;
    let c = app.user(&admin, "carl", "client").await;
    app.assign(&admin, m.user_id, c.user_id).await;
    app.create_template(&admin, upper_template("text.upper"))
        .await;
    let w = app
        .create_workflow(&m, c.user_id, json!({"nodes": [], "edges": []}))
        .await;
    let id = w["id"].as_u64().unwrap();
    assert_eq!(w["revision"], 1);
    let path = format!("/api/workflows/{id}");
    let r2 = app
        .put(
            &path,
            &m,
            json!({"revision": 1, "name": "flow v2", "graph": two_node_graph("text.upper")}),
        )
        .await;
    assert_eq!(r2.status, StatusCode::OK, "{}", r2.body);
    assert_eq!(r2.body["revision"], 2);
    assert_eq!(r2.body["problems"], json!([]));
    let stale = app
        .put(
            &path,
            &m,
            json!({"revision": 1, "name": "lost", "graph": {"nodes": [], "edges": []}}),
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert_eq!(stale.body["error"]["details"]["currentRevision"], 2);
    let now = app.get(&path, &m).await;
    assert_eq!(now.body["name"], "flow v2");
    let revs = app.get(&format!("{path}/revisions"), &m).await;
    let nums: Vec<u64> = revs
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["revision"].as_u64().unwrap())
        .collect();
    assert_eq!(nums, vec![2, 1]);
    let r1 = app.get(&format!("{path}/revisions/1"), &m).await;
    assert_eq!(r1.body["graph"]["nodes"], json!([]));
    assert_eq!(
        app.get(&format!("{path}/revisions/9"), &m).await.status,
        StatusCode::NOT_FOUND
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn drafts_with_problems_can_be_saved_and_report_them(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    let c = app.user(&admin, "carl", "client").await;
    app.create_template(&admin, upper_template("text.upper"))
        .await;
    let graph = json!({"nodes": [{"id": "a", "template": {"name": "text.upper", "version": 1}}], "edges": []});
    let w = app.create_workflow(&admin, c.user_id, graph).await;
    assert_eq!(w["problems"][0]["code"], "required_input_missing");
    assert_eq!(w["problems"][0]["nodeId"], "a");
}

#[sqlx::test(migrations = "../migrations")]
async fn two_managers_saving_the_same_revision_get_one_success_and_one_409(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    let m1 = app.user(&admin, "mia", "manager").await;
    let m2 = app.user(&admin, "max", "manager").await;
    let c = app.user(&admin, "carl", "client").await;
    app.assign(&admin, m1.user_id, c.user_id).await;
    app.assign(&admin, m2.user_id, c.user_id).await;
    let w = app
        .create_workflow(&m1, c.user_id, json!({"nodes": [], "edges": []}))
        .await;
    let path = format!("/api/workflows/{}", w["id"]);
    for round in 0..5u64 {
        let rev = 1 + round;
        let (a, b) = tokio::join!(
            app.put(&path, &m1, json!({"revision": rev, "name": format!("mia-{round}"), "graph": {"nodes": [], "edges": []}})),
            app.put(&path, &m2, json!({"revision": rev, "name": format!("max-{round}"), "graph": {"nodes": [], "edges": []}})),
        );
        let mut statuses = vec![a.status.as_u16(), b.status.as_u16()];
        statuses.sort();
        assert_eq!(statuses, vec![200, 409], "round {round}");
        let winner = if a.status == StatusCode::OK {
            a.body["name"].clone()
        } else {
            b.body["name"].clone()
        };
        let now = app.get(&path, &m1).await;
        assert_eq!(now.body["name"], winner);
        assert_eq!(now.body["revision"], rev + 1);
    }
    let revs = app.get(&format!("{path}/revisions"), &m1).await;
    assert_eq!(revs.body.as_array().unwrap().len(), 6);
}

#[sqlx::test(migrations = "../migrations")]
async fn assignments_are_visible_both_ways_and_role_checked(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    let m = app.user(&admin, "mia", "manager").await;
    let c1 = app.user(&admin, "carl", "client").await;
    let c2 = app.user(&admin, "cleo", "client").await;
    app.assign(&admin, m.user_id, c1.user_id).await;
    app.assign(&admin, m.user_id, c1.user_id).await; // idempotent
    app.assign(&admin, m.user_id, c2.user_id).await;
    let mine = app.get("/api/manager/clients", &m).await;
    let names: Vec<&str> = mine
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["carl", "cleo"]);
    let managers = app
        .get(
            &format!("/api/admin/clients/{}/managers", c1.user_id),
            &admin,
        )
        .await;
    assert_eq!(managers.body[0]["username"], "mia");
    let wrong = app
        .put(
            &format!("/api/admin/managers/{}/clients/{}", c1.user_id, c2.user_id),
            &admin,
            json!(null),
        )
        .await;
    // A client named as the manager: there is no such manager.
    assert_eq!(wrong.status, StatusCode::NOT_FOUND);
    let r = app
        .delete(
            &format!("/api/admin/managers/{}/clients/{}", m.user_id, c2.user_id),
            &admin,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app
        .delete(
            &format!("/api/admin/managers/{}/clients/{}", m.user_id, c2.user_id),
            &admin,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let clients = app
        .get(
            &format!("/api/admin/managers/{}/clients", m.user_id),
            &admin,
        )
        .await;
    assert_eq!(clients.body.as_array().unwrap().len(), 1);
    // A role change drops the user's assignments.
    let r = app
        .patch(
            &format!("/api/admin/users/{}", c1.user_id),
            &admin,
            json!({"role": "manager"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(app.get("/api/manager/clients", &m).await.body, json!([]));
}

#[sqlx::test(migrations = "../migrations")]
async fn users_are_listed_filtered_searched_and_paginated(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    for i in 0..5 {
        app.user(&admin, &format!("client{i}"), "client").await;
    }
    app.user(&admin, "mia", "manager").await;
    let page = app
        .get("/api/admin/users?role=client&perPage=2&page=2", &admin)
        .await;
    assert_eq!(page.body["total"], 5);
    let names: Vec<&str> = page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["client2", "client3"]);
    let search = app.get("/api/admin/users?q=mia", &admin).await;
    assert_eq!(search.body["total"], 1);
    let dup = app
        .post("/api/admin/users", &admin, json!({"username": "mia", "email": "other@example.com", "displayName": "M", "role": "client", "password": PASSWORD}))
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
}

#[sqlx::test(migrations = "../migrations")]
async fn the_last_admin_cannot_be_demoted_or_deactivated(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    let path = format!("/api/admin/users/{}", admin.user_id);
    assert_eq!(
        app.patch(&path, &admin, json!({"role": "client"}))
            .await
            .status,
        StatusCode::CONFLICT
    );
    assert_eq!(app.delete(&path, &admin).await.status, StatusCode::CONFLICT);
    assert_eq!(app.get("/api/auth/me", &admin).await.body["role"], "admin");
}

#[sqlx::test(migrations = "../migrations")]
async fn admin_password_reset_ends_the_users_sessions(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    let m = app.user(&admin, "mia", "manager").await;
    let r = app
        .post(
            &format!("/api/admin/users/{}/password", m.user_id),
            &admin,
            json!({"password": "brand-new-pass"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/auth/me", &m).await.status,
        StatusCode::UNAUTHORIZED
    );
    app.login("mia", "brand-new-pass").await;
}

#[sqlx::test(migrations = "../migrations")]
async fn state_changes_are_audited_with_actor_object_and_outcome(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    let m = app.user(&admin, "mia", "manager").await;
    let c = app.user(&admin, "carl", "client").await;
    let w = app
        .create_workflow(&admin, c.user_id, json!({"nodes": [], "edges": []}))
        .await;
    // A denied attempt is recorded too.
    let denied = app
        .post(
            "/api/workflows",
            &m,
            json!({"clientId": c.user_id, "name": "x"}),
        )
        .await;
    assert_eq!(denied.status, StatusCode::NOT_FOUND);
    app.try_login("admin", "wrong-password!").await;

    let log = app
        .get(
            "/api/admin/audit?action=workflow.create&count=exact",
            &admin,
        )
        .await;
    assert_eq!(log.body["total"], 2);
    let items = log.body["items"].as_array().unwrap();
    assert_eq!(items[0]["outcome"], "denied");
    assert_eq!(items[0]["userId"], m.user_id);
    assert_eq!(items[0]["role"], "manager");
    assert_eq!(items[1]["outcome"], "success");
    assert_eq!(items[1]["objectType"], "workflow");
    assert_eq!(items[1]["objectId"], w["id"].to_string());
    assert_eq!(items[1]["clientIp"], "127.0.0.1");
    assert!(!items[1]["requestId"].as_str().unwrap().is_empty());
    let by_user = app
        .get(
            &format!("/api/admin/audit?userId={}&count=exact", m.user_id),
            &admin,
        )
        .await;
    assert!(by_user.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["userId"] == m.user_id));
    let failed_logins = app
        .get(
            "/api/admin/audit?action=auth.login&outcome=denied&count=exact",
            &admin,
        )
        .await;
    assert_eq!(failed_logins.body["total"], 1);
    let future = app
        .get(
            "/api/admin/audit?from=2999-01-01T00:00:00Z&count=exact",
            &admin,
        )
        .await;
    assert_eq!(future.body["total"], 0);
    // Reads are not audited.
    let reads = app
        .get("/api/admin/audit?action=GET&count=exact", &admin)
        .await;
    assert_eq!(reads.body["total"], 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn health_readiness_and_the_openapi_document_are_public(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let h = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(h.status, StatusCode::OK);
    let r = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["status"], "ready");
    let doc = app.call(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(doc.status, StatusCode::OK);
    assert!(doc.body["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(doc.body["paths"]["/api/workflows/{id}"]["put"].is_object());
    assert!(doc.body["components"]["schemas"]["Graph"].is_object());
    // Readiness fails when a migration is missing.
    sqlx::query("DELETE FROM _sqlx_migrations")
        .execute(&app.db)
        .await
        .unwrap();
    let r = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
}

#[sqlx::test(migrations = "../migrations")]
async fn responses_carry_a_request_id(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let r = app.call(Method::GET, "/healthz", None, None).await;
    assert!(r.headers.get("x-request-id").is_some());
}

#[sqlx::test(migrations = "../migrations")]
async fn admins_edit_the_module_lists_and_bad_lists_change_nothing(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    let initial = app.get("/api/admin/settings/modules", &admin).await;
    assert_eq!(initial.body["isDefault"], true);
    assert!(initial.body["allow"]
        .as_array()
        .unwrap()
        .contains(&json!("json")));
    let bad = app
        .put(
            "/api/admin/settings/modules",
            &admin,
            json!({"allow": ["json", "os; rm -rf /"], "block": ["json"]}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = bad.body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["allow[1]", "block[0]"]);
    assert_eq!(
        app.get("/api/admin/settings/modules", &admin).await.body["isDefault"],
        true
    );
    let ok = app
        .put(
            "/api/admin/settings/modules",
            &admin,
            json!({"allow": ["json", " math "], "block": ["pickle"]}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.body["allow"], json!(["json", "math"]));
    assert_eq!(ok.body["isDefault"], false);
    assert_eq!(ok.body["updatedBy"], admin.user_id);
    let stored = katalusis_api::db::settings::modules(&app.db).await.unwrap();
    assert_eq!(stored.block, vec!["pickle"]);
    let limits = app.get("/api/admin/settings/limits", &admin).await;
    assert_eq!(limits.body["timeoutSeconds"], 3600);
}
