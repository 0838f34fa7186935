//! The RBAC matrix: every endpoint × caller role × ownership case, with the
//! exact expected status. The table must cover every operation in the OpenAPI
//! document, so a new endpoint without rows fails `every_endpoint_has_rows`.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};

use reqwest::Method;
use serde_json::{json, Value};
use sqlx::MySqlPool;

use crate::support::*;

/// Who calls, and whose object the call is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    Anonymous,
    Admin,
    /// A manager, on a client assigned to them.
    ManagerOwn,
    /// A manager, on a client assigned to another manager.
    ManagerOther,
    /// A manager, on a client assigned to nobody.
    ManagerUnassigned,
    /// A client, on their own objects.
    ClientOwn,
    /// A client, on another client's objects.
    ClientOther,
}

const CASES: [Case; 7] = [
    Case::Anonymous,
    Case::Admin,
    Case::ManagerOwn,
    Case::ManagerOther,
    Case::ManagerUnassigned,
    Case::ClientOwn,
    Case::ClientOther,
];

const ADMIN_ONLY_GET: [u16; 7] = [401, 200, 403, 403, 403, 403, 403];
const STAFF_GET: [u16; 7] = [401, 200, 200, 200, 200, 403, 403];
const STAFF_SCOPED_GET: [u16; 7] = [401, 200, 200, 404, 404, 403, 403];
const PUBLIC: [u16; 7] = [200; 7];
const STAFF_SCOPED_CREATE: [u16; 7] = [401, 201, 201, 404, 404, 403, 403];
/// Deciding an approval nobody is named on: admins only; others who see the run get 403.
const DECIDE: [u16; 7] = [401, 200, 403, 404, 404, 403, 404];

/// (method, OpenAPI path, expected status per `CASES`).
const MATRIX: &[(&str, &str, [u16; 7])] = &[
    ("GET", "/healthz", PUBLIC),
    ("GET", "/readyz", PUBLIC),
    ("POST", "/api/auth/login", PUBLIC),
    ("POST", "/api/auth/refresh", PUBLIC),
    (
        "POST",
        "/api/auth/logout",
        [401, 204, 204, 204, 204, 204, 204],
    ),
    ("GET", "/api/auth/me", [401, 200, 200, 200, 200, 200, 200]),
    (
        "GET",
        "/api/auth/sessions",
        [401, 200, 200, 200, 200, 200, 200],
    ),
    // Each caller ends a session of their own (a fresh one per cell).
    (
        "DELETE",
        "/api/auth/sessions/{sessionId}",
        [401, 204, 204, 204, 204, 204, 204],
    ),
    ("GET", "/api/admin/users/{id}/sessions", ADMIN_ONLY_GET),
    (
        "DELETE",
        "/api/admin/users/{id}/sessions",
        [401, 204, 403, 403, 403, 403, 403],
    ),
    // A wrong current password: authorized callers reach validation (422).
    (
        "POST",
        "/api/auth/password",
        [401, 422, 422, 422, 422, 422, 422],
    ),
    (
        "POST",
        "/api/admin/users",
        [401, 201, 403, 403, 403, 403, 403],
    ),
    ("GET", "/api/admin/users", ADMIN_ONLY_GET),
    ("GET", "/api/admin/users/{id}", ADMIN_ONLY_GET),
    ("PATCH", "/api/admin/users/{id}", ADMIN_ONLY_GET),
    (
        "DELETE",
        "/api/admin/users/{id}",
        [401, 204, 403, 403, 403, 403, 403],
    ),
    (
        "POST",
        "/api/admin/users/{id}/password",
        [401, 204, 403, 403, 403, 403, 403],
    ),
    (
        "PUT",
        "/api/admin/managers/{managerId}/clients/{clientId}",
        [401, 204, 403, 403, 403, 403, 403],
    ),
    (
        "DELETE",
        "/api/admin/managers/{managerId}/clients/{clientId}",
        [401, 204, 403, 403, 403, 403, 403],
    ),
    (
        "GET",
        "/api/admin/managers/{managerId}/clients",
        ADMIN_ONLY_GET,
    ),
    (
        "GET",
        "/api/admin/clients/{clientId}/managers",
        ADMIN_ONLY_GET,
    ),
    ("GET", "/api/manager/clients", STAFF_GET),
    ("GET", "/api/templates", STAFF_GET),
    (
        "POST",
        "/api/templates",
        [401, 201, 403, 403, 403, 403, 403],
    ),
    ("GET", "/api/templates/{name}", STAFF_GET),
    (
        "PUT",
        "/api/templates/{name}",
        [401, 201, 403, 403, 403, 403, 403],
    ),
    (
        "DELETE",
        "/api/templates/{name}",
        [401, 204, 403, 403, 403, 403, 403],
    ),
    ("GET", "/api/templates/{name}/versions", STAFF_GET),
    ("GET", "/api/templates/{name}/versions/{version}", STAFF_GET),
    // Runs the node for real for the admin; nobody else may.
    (
        "POST",
        "/api/templates/{name}/versions/{version}/test",
        [401, 200, 403, 403, 403, 403, 403],
    ),
    ("GET", "/api/workflows", STAFF_GET),
    (
        "POST",
        "/api/workflows",
        [401, 201, 201, 404, 404, 403, 403],
    ),
    ("POST", "/api/workflows/validate", STAFF_GET),
    ("GET", "/api/workflows/{id}", STAFF_SCOPED_GET),
    ("PUT", "/api/workflows/{id}", STAFF_SCOPED_GET),
    (
        "DELETE",
        "/api/workflows/{id}",
        [401, 204, 204, 404, 404, 403, 403],
    ),
    ("GET", "/api/workflows/{id}/revisions", STAFF_SCOPED_GET),
    ("GET", "/api/workflows/{id}/manifest", STAFF_SCOPED_GET),
    ("POST", "/api/workflows/{id}/copy", STAFF_SCOPED_CREATE),
    (
        "POST",
        "/api/workflows/manifest/render",
        [401, 200, 200, 404, 404, 403, 403],
    ),
    ("POST", "/api/workflows/manifest/parse", STAFF_GET),
    // Creates a workflow for the client the manifest names, if in scope.
    (
        "POST",
        "/api/workflows/manifest/apply",
        [401, 201, 201, 404, 404, 403, 403],
    ),
    (
        "GET",
        "/api/admin/settings/cluster-workflows",
        ADMIN_ONLY_GET,
    ),
    (
        "PUT",
        "/api/admin/settings/cluster-workflows",
        [401, 200, 403, 403, 403, 403, 403],
    ),
    (
        "GET",
        "/api/workflows/{id}/revisions/{revision}",
        STAFF_SCOPED_GET,
    ),
    ("GET", "/api/admin/audit", ADMIN_ONLY_GET),
    ("GET", "/api/admin/storage", ADMIN_ONLY_GET),
    (
        "POST",
        "/api/workflows/{id}/runs",
        [401, 200, 200, 404, 404, 403, 403],
    ),
    ("GET", "/api/runs", [401, 200, 200, 200, 200, 200, 200]),
    ("GET", "/api/runs/{id}", RUN_READ),
    ("PATCH", "/api/runs/{id}", STAFF_SCOPED_GET),
    (
        "POST",
        "/api/runs/{id}/cancel",
        [401, 202, 202, 404, 404, 403, 403],
    ),
    ("GET", "/api/runs/{id}/nodes/{node}/logs", RUN_READ),
    (
        "GET",
        "/api/runs/{id}/nodes/{node}/outputs/{port}",
        RUN_READ,
    ),
    ("GET", "/api/runs/{id}/events", RUN_READ),
    ("GET", "/api/events", STAFF_GET),
    ("GET", "/api/admin/settings/modules", ADMIN_ONLY_GET),
    ("PUT", "/api/admin/settings/modules", ADMIN_ONLY_GET),
    ("GET", "/api/admin/settings/limits", ADMIN_ONLY_GET),
    ("POST", "/api/admin/library/starter", ADMIN_ONLY_GET),
    ("GET", "/api/tasks", EVERYONE),
    ("POST", "/api/tasks", [401, 201, 201, 404, 404, 403, 403]),
    ("GET", "/api/tasks/events", EVERYONE),
    // Numbers over the caller's scope only (a client filter outside it
    // counts nothing); see `analytics.rs` for the scoped answers.
    // The assistant is not configured here: callers who pass the role and
    // scope checks get 503 `ai_disabled` (see `ai.rs` for the answers with a model).
    ("GET", "/api/ai/status", [401, 200, 200, 200, 200, 200, 200]),
    (
        "POST",
        "/api/ai/generate-workflow",
        [401, 503, 503, 404, 404, 403, 403],
    ),
    (
        "POST",
        "/api/ai/summaries",
        [401, 503, 503, 404, 404, 503, 404],
    ),
    ("GET", "/api/admin/ai/usage", ADMIN_ONLY_GET),
    ("GET", "/api/admin/ai/settings", ADMIN_ONLY_GET),
    (
        "PUT",
        "/api/admin/ai/settings",
        [401, 200, 403, 403, 403, 403, 403],
    ),
    // Staff only; without a model the statistics come in the platform's words.
    ("GET", "/api/ai/rule-suggestions", STAFF_GET),
    // Conversations belong to their author alone: "own" cases use the
    // caller's conversation, the others one of another manager (404).
    ("GET", "/api/ai/conversations", EVERYONE),
    (
        "POST",
        "/api/ai/conversations",
        [401, 201, 201, 201, 201, 201, 201],
    ),
    (
        "GET",
        "/api/ai/conversations/{id}",
        [401, 200, 200, 404, 404, 200, 404],
    ),
    (
        "DELETE",
        "/api/ai/conversations/{id}",
        [401, 204, 204, 404, 404, 204, 404],
    ),
    (
        "POST",
        "/api/ai/conversations/{id}/messages",
        [401, 503, 503, 404, 404, 503, 404],
    ),
    ("GET", "/api/analytics/tasks", EVERYONE),
    ("GET", "/api/analytics/runs", EVERYONE),
    // An out-of-scope task is a per-task failure: nothing changes (422).
    (
        "POST",
        "/api/tasks/bulk",
        [401, 200, 200, 422, 422, 403, 403],
    ),
    ("GET", "/api/tasks/{id}", TASK_READ),
    // Clients may only move their tasks; a title edit is refused.
    (
        "PATCH",
        "/api/tasks/{id}",
        [401, 200, 200, 404, 404, 403, 404],
    ),
    (
        "DELETE",
        "/api/tasks/{id}",
        [401, 204, 204, 404, 404, 403, 403],
    ),
    ("POST", "/api/tasks/{id}/move", TASK_READ),
    ("GET", "/api/tasks/{id}/comments", TASK_READ),
    ("POST", "/api/tasks/{id}/comments", TASK_WRITE),
    ("PATCH", "/api/comments/{id}", TASK_READ),
    (
        "DELETE",
        "/api/comments/{id}",
        [401, 204, 204, 404, 404, 204, 404],
    ),
    ("GET", "/api/tasks/{id}/attachments", TASK_READ),
    ("POST", "/api/tasks/{id}/attachments", TASK_WRITE),
    ("GET", "/api/attachments/{id}", TASK_READ),
    // The uploader (here the admin), managers in scope and admins may delete.
    (
        "DELETE",
        "/api/attachments/{id}",
        [401, 204, 204, 404, 404, 403, 404],
    ),
    ("PUT", "/api/tasks/{id}/watch", TASK_READ),
    ("DELETE", "/api/tasks/{id}/watch", TASK_READ),
    ("GET", "/api/task-people", EVERYONE),
    ("GET", "/api/tasks/{id}/activity", TASK_READ),
    ("GET", "/api/task-statuses", EVERYONE),
    ("GET", "/api/admin/task-settings", ADMIN_ONLY_GET),
    ("PUT", "/api/admin/task-settings", ADMIN_ONLY_GET),
    // Multipart is required: authorized callers reach the content check (415).
    (
        "POST",
        "/api/tasks/import",
        [401, 415, 415, 415, 415, 403, 403],
    ),
    ("GET", "/api/tasks/imports", STAFF_GET),
    // Sessions belong to their creator: another manager's answers 404.
    ("GET", "/api/tasks/imports/{id}", STAFF_SCOPED_GET),
    ("GET", "/api/tasks/imports/{id}/preview", STAFF_SCOPED_GET),
    ("POST", "/api/tasks/imports/{id}/dry-run", STAFF_SCOPED_GET),
    ("GET", "/api/tasks/imports/{id}/report", STAFF_SCOPED_GET),
    (
        "POST",
        "/api/tasks/imports/{id}/apply",
        [401, 202, 202, 404, 404, 403, 403],
    ),
    ("POST", "/api/tasks/imports/{id}/undo", STAFF_SCOPED_GET),
    ("GET", "/api/tasks/imports/{id}/events", STAFF_SCOPED_GET),
    ("GET", "/api/tasks/import-mappings", STAFF_GET),
    ("PUT", "/api/tasks/import-mappings", STAFF_GET),
    ("GET", "/api/admin/settings/webhooks", ADMIN_ONLY_GET),
    ("PUT", "/api/admin/settings/webhooks", ADMIN_ONLY_GET),
    // Approvals with no approvers named: admins decide, whoever sees the run reads.
    ("GET", "/api/runs/{id}/approvals", RUN_READ),
    ("GET", "/api/approvals/{id}", RUN_READ),
    ("POST", "/api/approvals/{id}/decision", DECIDE),
    ("POST", "/api/runs/{id}/nodes/{node}/decision", DECIDE),
    ("GET", "/api/workflows/{id}/triggers", STAFF_SCOPED_GET),
    ("POST", "/api/workflows/{id}/triggers", STAFF_SCOPED_CREATE),
    ("PATCH", "/api/triggers/{id}", STAFF_SCOPED_GET),
    (
        "DELETE",
        "/api/triggers/{id}",
        [401, 204, 204, 404, 404, 403, 403],
    ),
    ("GET", "/api/triggers/{id}/firings", STAFF_SCOPED_GET),
    // The secret URL is the credential.
    ("POST", "/api/hooks/{token}", [202; 7]),
    ("GET", "/api/workflow-templates", STAFF_GET),
    ("GET", "/api/workflow-templates/{id}", STAFF_GET),
    ("POST", "/api/workflow-templates", STAFF_SCOPED_CREATE),
    (
        "DELETE",
        "/api/workflow-templates/{id}",
        [401, 204, 204, 404, 404, 403, 403],
    ),
    (
        "POST",
        "/api/workflow-templates/{id}/instantiate",
        STAFF_SCOPED_CREATE,
    ),
    ("GET", "/api/notifications", EVERYONE),
    ("POST", "/api/notifications/read", EVERYONE),
    ("GET", "/api/notifications/preferences", EVERYONE),
    ("PUT", "/api/notifications/preferences", EVERYONE),
    // Connections: admins manage them; staff see only usable names.
    ("GET", "/api/admin/connections", ADMIN_ONLY_GET),
    (
        "POST",
        "/api/admin/connections",
        [401, 201, 403, 403, 403, 403, 403],
    ),
    ("GET", "/api/admin/connections/{id}", ADMIN_ONLY_GET),
    ("PUT", "/api/admin/connections/{id}", ADMIN_ONLY_GET),
    (
        "DELETE",
        "/api/admin/connections/{id}",
        [401, 204, 403, 403, 403, 403, 403],
    ),
    ("POST", "/api/admin/connections/{id}/test", ADMIN_ONLY_GET),
    ("GET", "/api/connections", STAFF_GET),
];

const EVERYONE: [u16; 7] = [401, 200, 200, 200, 200, 200, 200];
/// Tasks are seen by admins, managers of the task's client and the client
/// user it is assigned to.
const TASK_READ: [u16; 7] = [401, 200, 200, 404, 404, 200, 404];
const TASK_WRITE: [u16; 7] = [401, 201, 201, 404, 404, 201, 404];

/// Runs are read by staff in scope and by their own client (published runs only).
const RUN_READ: [u16; 7] = [401, 200, 200, 404, 404, 200, 404];

struct Fixture {
    admin: Session,
    manager: Session,
    client: Session,
    other_manager: Session,
    other_client: u64,
    unassigned_client: u64,
    serial: AtomicU32,
}

impl Fixture {
    async fn new(app: &TestApp) -> Self {
        let admin = app.admin().await;
        let manager = app.user(&admin, "mia", "manager").await;
        let client = app.user(&admin, "carl", "client").await;
        let other_manager = app.user(&admin, "max", "manager").await;
        let other_client = app.user(&admin, "cleo", "client").await.user_id;
        let unassigned_client = app.user(&admin, "una", "client").await.user_id;
        app.assign(&admin, manager.user_id, client.user_id).await;
        app.assign(&admin, other_manager.user_id, other_client)
            .await;
        Self {
            admin,
            manager,
            client,
            other_manager,
            other_client,
            unassigned_client,
            serial: AtomicU32::new(0),
        }
    }

    fn next(&self) -> u32 {
        self.serial.fetch_add(1, Ordering::SeqCst)
    }

    /// The client whose objects the case is about.
    fn target_client(&self, case: Case) -> u64 {
        match case {
            Case::ManagerOther | Case::ClientOther => self.other_client,
            Case::ManagerUnassigned => self.unassigned_client,
            _ => self.client.user_id,
        }
    }

    fn actor(&self, case: Case) -> Option<&Session> {
        match case {
            Case::Anonymous => None,
            Case::Admin => Some(&self.admin),
            Case::ManagerOwn | Case::ManagerOther | Case::ManagerUnassigned => Some(&self.manager),
            Case::ClientOwn | Case::ClientOther => Some(&self.client),
        }
    }
}

async fn fresh_user(app: &TestApp, fx: &Fixture, role: &str) -> u64 {
    app.user(&fx.admin, &format!("u{}", fx.next()), role)
        .await
        .user_id
}

async fn fresh_template(app: &TestApp, fx: &Fixture) -> String {
    let name = format!("t.n{}", fx.next());
    app.create_template(&fx.admin, upper_template(&name)).await;
    name
}

async fn fresh_workflow(app: &TestApp, fx: &Fixture, client: u64) -> u64 {
    app.create_workflow(&fx.admin, client, json!({"nodes": [], "edges": []}))
        .await["id"]
        .as_u64()
        .unwrap()
}

/// A task of `client`, created by the admin and assigned to the client user.
async fn fresh_task(app: &TestApp, fx: &Fixture, client: u64) -> u64 {
    let r = app
        .post(
            "/api/tasks",
            &fx.admin,
            json!({"clientId": client, "title": format!("task {}", fx.next()), "assigneeIds": [client]}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    r.body["id"].as_u64().unwrap()
}

/// An import session of `owner` into `client`: uploaded (stage 0), dry-run
/// (1) or applied (2).
async fn fresh_import(app: &TestApp, owner: &Session, client: u64, stage: u8) -> u64 {
    let r = app
        .upload_import(owner, "t.csv", b"Title\nOne\nTwo\n")
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    let id = r.body["import"]["id"].as_u64().unwrap();
    if stage >= 1 {
        let r = app
            .post(
                &format!("/api/tasks/imports/{id}/dry-run"),
                owner,
                json!({"clientId": client, "mapping": {"fields": {"title": {"column": "Title"}}}}),
            )
            .await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    }
    if stage >= 2 {
        let r = app
            .post(
                &format!("/api/tasks/imports/{id}/apply"),
                owner,
                json!({"mode": "valid_only"}),
            )
            .await;
        assert_eq!(r.status.as_u16(), 202, "{}", r.body);
        assert_eq!(app.wait_import(owner, id).await["state"], "applied");
    }
    id
}

/// A comment on a fresh task of the case's client, written by the caller
/// when they can see the task (by the admin otherwise).
async fn fresh_comment(app: &TestApp, fx: &Fixture, case: Case) -> u64 {
    let task = fresh_task(app, fx, fx.target_client(case)).await;
    let author = match case {
        Case::Admin | Case::ManagerOwn | Case::ClientOwn => fx.actor(case).unwrap(),
        _ => &fx.admin,
    };
    let r = app
        .post(
            &format!("/api/tasks/{task}/comments"),
            author,
            json!({"body": "first"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    r.body["id"].as_u64().unwrap()
}

/// A run row of `client` in `status`, written directly (no executor drives
/// it), with one succeeded node `a`, an output, a log line and its events.
async fn fresh_run(app: &TestApp, fx: &Fixture, client: u64, status: &str) -> u64 {
    let workflow = fresh_workflow(app, fx, client).await;
    let snapshot = json!({"graph": {"nodes": [{"id": "a", "template": {"name": "x", "version": 1}}], "edges": []}, "templates": []});
    let id = sqlx::query(
        "INSERT INTO run (workflow_id, workflow_revision, client_id, started_by, status, failure_policy, snapshot, \
         node_states, logs_visible_to_client, created_at) VALUES (?, 1, ?, ?, ?, 'continue', ?, ?, TRUE, NOW(6))",
    )
    .bind(workflow)
    .bind(client)
    .bind(fx.admin.user_id)
    .bind(status)
    .bind(snapshot.to_string())
    .bind(json!({"a": {"phase": "Succeeded", "attempt": 1}}).to_string())
    .execute(&app.db)
    .await
    .unwrap()
    .last_insert_id();
    sqlx::query(
        "INSERT INTO node_execution (run_id, node_id, attempt, status, started_at, outputs, run_created_at, \
         workflow_id, client_id) SELECT r.run_id, 'a', 1, 'succeeded', NOW(6), '{\"text\": \"HI\"}', r.created_at, \
         r.workflow_id, r.client_id FROM run r WHERE r.run_id = ?",
    )
    .bind(id)
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO node_log (run_id, seq, node_id, attempt, ts, level, stream, message) \
         VALUES (?, 1, 'a', 1, NOW(6), 'info', 'ctx', 'hello')",
    )
    .bind(id)
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO run_event (run_id, seq, kind, data, created_at) VALUES \
         (?, 1, 'log', '{}', NOW(6)), (?, 2, 'run', '{\"status\": \"succeeded\"}', NOW(6))",
    )
    .bind(id)
    .bind(id)
    .execute(&app.db)
    .await
    .unwrap();
    id
}

/// Builds the concrete request for one matrix cell, creating fresh objects so
/// cells cannot affect each other. Returns (path, body, session override).
async fn instantiate(
    app: &TestApp,
    fx: &Fixture,
    method: &str,
    path: &str,
    case: Case,
) -> (String, Option<Value>, Option<Session>) {
    let client = fx.target_client(case);
    let n = fx.next();
    match (method, path) {
        ("POST", "/api/auth/login") => (
            path.into(),
            Some(json!({"login": "admin", "password": ADMIN_PASSWORD})),
            None,
        ),
        ("POST", "/api/auth/refresh") => {
            let s = app.admin().await;
            (path.into(), Some(json!({"refreshToken": s.refresh})), None)
        }
        // Logging out ends the session, so each cell gets its own.
        ("POST", "/api/auth/logout") => {
            let fresh = match case {
                Case::Anonymous => None,
                Case::Admin => Some(app.admin().await),
                Case::ManagerOwn | Case::ManagerOther | Case::ManagerUnassigned => {
                    Some(app.login("mia", PASSWORD).await)
                }
                Case::ClientOwn | Case::ClientOther => Some(app.login("carl", PASSWORD).await),
            };
            (path.into(), None, fresh)
        }
        ("DELETE", "/api/auth/sessions/{sessionId}") => {
            let fresh = match case {
                Case::Anonymous => None,
                Case::Admin => Some(app.admin().await),
                Case::ManagerOwn | Case::ManagerOther | Case::ManagerUnassigned => {
                    Some(app.login("mia", PASSWORD).await)
                }
                Case::ClientOwn | Case::ClientOther => Some(app.login("carl", PASSWORD).await),
            };
            let sid = match &fresh {
                Some(s) => {
                    let claims = s.token.split('.').nth(1).unwrap();
                    let claims = base64::Engine::decode(
                        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                        claims,
                    )
                    .unwrap();
                    serde_json::from_slice::<Value>(&claims).unwrap()["sid"]
                        .as_str()
                        .unwrap()
                        .to_string()
                }
                None => "00000000-0000-0000-0000-000000000000".into(),
            };
            (format!("/api/auth/sessions/{sid}"), None, fresh)
        }
        (_, "/api/admin/users/{id}/sessions") => {
            let id = fresh_user(app, fx, "client").await;
            (format!("/api/admin/users/{id}/sessions"), None, None)
        }
        ("POST", "/api/auth/password") => (
            path.into(),
            Some(json!({"currentPassword": "not-my-password", "newPassword": "whatever-12345"})),
            None,
        ),
        ("POST", "/api/admin/users") => (
            path.into(),
            Some(
                json!({"username": format!("new{n}"), "email": format!("new{n}@example.com"), "displayName": "N", "role": "client", "password": PASSWORD}),
            ),
            None,
        ),
        ("PATCH", "/api/admin/users/{id}") => {
            let id = fresh_user(app, fx, "client").await;
            (
                format!("/api/admin/users/{id}"),
                Some(json!({"displayName": "Renamed"})),
                None,
            )
        }
        ("POST", "/api/admin/users/{id}/password") => {
            let id = fresh_user(app, fx, "client").await;
            (
                format!("/api/admin/users/{id}/password"),
                Some(json!({"password": "another-password"})),
                None,
            )
        }
        (_, "/api/admin/users/{id}") => {
            let id = fresh_user(app, fx, "client").await;
            (format!("/api/admin/users/{id}"), None, None)
        }
        ("DELETE", "/api/admin/managers/{managerId}/clients/{clientId}") => {
            let c = fresh_user(app, fx, "client").await;
            app.assign(&fx.admin, fx.manager.user_id, c).await;
            (
                format!("/api/admin/managers/{}/clients/{c}", fx.manager.user_id),
                None,
                None,
            )
        }
        (_, "/api/admin/managers/{managerId}/clients/{clientId}") => (
            format!(
                "/api/admin/managers/{}/clients/{client}",
                fx.manager.user_id
            ),
            None,
            None,
        ),
        (_, "/api/admin/managers/{managerId}/clients") => (
            format!("/api/admin/managers/{}/clients", fx.other_manager.user_id),
            None,
            None,
        ),
        (_, "/api/admin/clients/{clientId}/managers") => {
            (format!("/api/admin/clients/{client}/managers"), None, None)
        }
        ("POST", "/api/templates") => (
            path.into(),
            Some(upper_template(&format!("t.new{n}"))),
            None,
        ),
        ("PUT", "/api/templates/{name}") => {
            let name = fresh_template(app, fx).await;
            let mut spec = upper_template(&name);
            spec["description"] = json!("changed");
            (format!("/api/templates/{name}"), Some(spec), None)
        }
        ("POST", "/api/templates/{name}/versions/{version}/test") => {
            let name = fresh_template(app, fx).await;
            (
                format!("/api/templates/{name}/versions/1/test"),
                Some(json!({"inputs": {"text": "hi"}})),
                None,
            )
        }
        (_, p) if p.starts_with("/api/templates/{name}") => {
            let name = fresh_template(app, fx).await;
            (
                p.replace("{name}", &name).replace("{version}", "1"),
                None,
                None,
            )
        }
        ("PUT", "/api/admin/settings/webhooks") => (
            path.into(),
            Some(json!({"allowed": ["https://hooks.example.com/"]})),
            None,
        ),
        ("POST", "/api/approvals/{id}/decision") | ("GET", "/api/approvals/{id}") => {
            let run = fresh_run(app, fx, client, "waiting").await;
            let id = fresh_approval(app, run, client).await;
            let body = (method == "POST").then(|| json!({"verdict": "approve"}));
            (p_id(path, id), body, None)
        }
        ("POST", "/api/runs/{id}/nodes/{node}/decision") => {
            let run = fresh_run(app, fx, client, "waiting").await;
            fresh_approval(app, run, client).await;
            (
                format!("/api/runs/{run}/nodes/a/decision"),
                Some(json!({"verdict": "reject"})),
                None,
            )
        }
        ("POST", "/api/workflows/{id}/triggers") => {
            let id = fresh_workflow(app, fx, client).await;
            (
                format!("/api/workflows/{id}/triggers"),
                Some(json!({"name": format!("t{n}"), "config": {"kind": "webhook"}})),
                None,
            )
        }
        (_, p) if p.starts_with("/api/triggers/{id}") => {
            let id = fresh_workflow(app, fx, client).await;
            let r = app
                .post(
                    &format!("/api/workflows/{id}/triggers"),
                    &fx.admin,
                    json!({"name": format!("t{n}"), "config": {"kind": "webhook"}}),
                )
                .await;
            let t = r.body["trigger"]["id"].as_u64().expect("trigger id");
            let body = (method == "PATCH").then(|| json!({"enabled": false}));
            (p_id(p, t), body, None)
        }
        ("POST", "/api/hooks/{token}") => {
            let name = fresh_template(app, fx).await;
            let graph = json!({"nodes": [{"id": "a", "template": {"name": name, "version": 1}, "inputs": {"text": "hi"}}], "edges": []});
            let id = app.create_workflow(&fx.admin, client, graph).await["id"]
                .as_u64()
                .unwrap();
            let r = app
                .post(
                    &format!("/api/workflows/{id}/triggers"),
                    &fx.admin,
                    json!({"name": format!("h{n}"), "config": {"kind": "webhook"}}),
                )
                .await;
            let hook = r.body["webhookPath"]
                .as_str()
                .expect("webhook path")
                .to_owned();
            (hook, Some(json!({})), None)
        }
        ("GET", "/api/workflow-templates/{id}") => {
            let all = app.get("/api/workflow-templates", &fx.admin).await;
            let id = all.body[0]["id"].as_u64().expect("a shipped template");
            (p_id(path, id), None, None)
        }
        ("POST", "/api/workflow-templates") => {
            let id = fresh_workflow(app, fx, client).await;
            (
                path.into(),
                Some(json!({"workflowId": id, "name": format!("saved {n}")})),
                None,
            )
        }
        ("DELETE", "/api/workflow-templates/{id}") => {
            // The caller's own template, or (other cases) another manager's.
            let (owner, wf_client) = match case {
                Case::Admin => (&fx.admin, fx.client.user_id),
                Case::ManagerOwn | Case::ClientOwn => (&fx.manager, fx.client.user_id),
                _ => (&fx.other_manager, fx.other_client),
            };
            let wf = fresh_workflow(app, fx, wf_client).await;
            let r = app
                .post(
                    "/api/workflow-templates",
                    owner,
                    json!({"workflowId": wf, "name": format!("mine {n}")}),
                )
                .await;
            (
                p_id(path, r.body["id"].as_u64().expect("template id")),
                None,
                None,
            )
        }
        ("POST", "/api/workflow-templates/{id}/instantiate") => {
            let wf = fresh_workflow(app, fx, fx.client.user_id).await;
            let r = app
                .post(
                    "/api/workflow-templates",
                    &fx.admin,
                    json!({"workflowId": wf, "name": format!("shared {n}"), "shared": true}),
                )
                .await;
            let id = r.body["id"].as_u64().expect("template id");
            (
                p_id(path, id),
                Some(json!({"clientId": client, "name": format!("from template {n}")})),
                None,
            )
        }
        ("POST", "/api/workflows/{id}/runs") => {
            let name = fresh_template(app, fx).await;
            let graph = json!({"nodes": [{"id": "a", "template": {"name": name, "version": 1}, "inputs": {"text": "hi"}}], "edges": []});
            let id = app.create_workflow(&fx.admin, client, graph).await["id"]
                .as_u64()
                .unwrap();
            (
                format!("/api/workflows/{id}/runs"),
                Some(json!({"mode": "sync"})),
                None,
            )
        }
        ("POST", "/api/runs/{id}/cancel") => {
            let id = fresh_run(app, fx, client, "running").await;
            (format!("/api/runs/{id}/cancel"), None, None)
        }
        ("PATCH", "/api/runs/{id}") => {
            let id = fresh_run(app, fx, client, "succeeded").await;
            (
                format!("/api/runs/{id}"),
                Some(json!({"published": true})),
                None,
            )
        }
        (_, p) if p.starts_with("/api/runs/{id}") => {
            let id = fresh_run(app, fx, client, "succeeded").await;
            (
                p.replace("{id}", &id.to_string())
                    .replace("{node}", "a")
                    .replace("{port}", "text"),
                None,
                None,
            )
        }
        ("POST", "/api/tasks") => (
            path.into(),
            Some(json!({"clientId": client, "title": format!("new task {n}")})),
            None,
        ),
        (_, "/api/tasks/events") => ("/api/tasks/events?closeAfterSeconds=0".into(), None, None),
        ("POST", "/api/tasks/bulk") => {
            let id = fresh_task(app, fx, client).await;
            (
                path.into(),
                Some(json!({"taskIds": [id], "set": {"priority": "high"}})),
                None,
            )
        }
        ("PATCH", "/api/tasks/{id}") => {
            let id = fresh_task(app, fx, client).await;
            (
                format!("/api/tasks/{id}"),
                Some(json!({"version": 1, "title": "renamed"})),
                None,
            )
        }
        ("POST", "/api/tasks/{id}/move") => {
            let id = fresh_task(app, fx, client).await;
            (
                format!("/api/tasks/{id}/move"),
                Some(json!({"version": 1, "statusId": 2})),
                None,
            )
        }
        ("POST", "/api/tasks/{id}/comments") => {
            let id = fresh_task(app, fx, client).await;
            (
                format!("/api/tasks/{id}/comments"),
                Some(json!({"body": "hello"})),
                None,
            )
        }
        ("POST", "/api/tasks/{id}/attachments") => {
            let id = fresh_task(app, fx, client).await;
            (
                format!("/api/tasks/{id}/attachments?name=note.txt"),
                Some(json!({"note": "plain text"})),
                None,
            )
        }
        ("PUT", "/api/tasks/import-mappings") => (
            path.into(),
            Some(json!({"name": format!("m{n}"), "mapping": {}})),
            None,
        ),
        (_, p) if p.starts_with("/api/tasks/imports/{id}") => {
            // The session's owner: the caller for their own cases, another
            // manager (or the admin) otherwise.
            let (owner, target) = match case {
                Case::Admin => (&fx.admin, client),
                Case::ManagerOwn => (&fx.manager, client),
                Case::ManagerOther => (&fx.other_manager, fx.other_client),
                _ => (&fx.admin, client),
            };
            let stage = if p.ends_with("/undo") {
                2
            } else if p.ends_with("/report") || p.ends_with("/apply") {
                1
            } else {
                0
            };
            let id = fresh_import(app, owner, target, stage).await;
            let url = p.replace("{id}", &id.to_string());
            let (url, body) = match p {
                _ if p.ends_with("/dry-run") => (
                    url,
                    Some(
                        json!({"clientId": target, "mapping": {"fields": {"title": {"column": "Title"}}}}),
                    ),
                ),
                _ if p.ends_with("/apply") => (url, Some(json!({"mode": "valid_only"}))),
                _ if p.ends_with("/events") => (format!("{url}?closeAfterSeconds=0"), None),
                _ => (url, None),
            };
            (url, body, None)
        }
        (_, p) if p.starts_with("/api/tasks/{id}") => {
            let id = fresh_task(app, fx, client).await;
            (p.replace("{id}", &id.to_string()), None, None)
        }
        ("PATCH", "/api/comments/{id}") => {
            let id = fresh_comment(app, fx, case).await;
            (
                format!("/api/comments/{id}"),
                Some(json!({"body": "edited"})),
                None,
            )
        }
        (_, "/api/comments/{id}") => {
            let id = fresh_comment(app, fx, case).await;
            (format!("/api/comments/{id}"), None, None)
        }
        (_, "/api/attachments/{id}") => {
            let task = fresh_task(app, fx, client).await;
            let r = app
                .http
                .post(app.url(&format!("/api/tasks/{task}/attachments?name=a.txt")))
                .bearer_auth(&fx.admin.token)
                .body("hello")
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 201);
            let id = r.json::<Value>().await.unwrap()["id"].as_u64().unwrap();
            (format!("/api/attachments/{id}"), None, None)
        }
        ("PUT", "/api/admin/task-settings") => {
            let current = app.get(path, &fx.admin).await.body;
            (path.into(), Some(current), None)
        }
        ("POST", "/api/ai/generate-workflow") => (
            path.into(),
            Some(json!({"prompt": "a workflow", "clientId": client})),
            None,
        ),
        ("POST", "/api/ai/summaries") => {
            let id = fresh_task(app, fx, client).await;
            (path.into(), Some(json!({"kind": "task", "id": id})), None)
        }
        ("POST", "/api/ai/conversations") => (path.into(), Some(json!({})), None),
        ("PUT", "/api/admin/ai/settings") => (
            path.into(),
            Some(json!({"baseUrl": null, "model": null})),
            None,
        ),
        (_, p) if p.starts_with("/api/ai/conversations/{id}") => {
            let owner = match case {
                Case::Admin | Case::Anonymous => &fx.admin,
                Case::ManagerOwn => &fx.manager,
                Case::ClientOwn => &fx.client,
                _ => &fx.other_manager,
            };
            let r = app.post("/api/ai/conversations", owner, json!({})).await;
            let id = r.body["id"].as_u64().expect("conversation id");
            let body = p.ends_with("/messages").then(|| json!({"content": "hi"}));
            (p_id(p, id), body, None)
        }
        ("POST", "/api/notifications/read") => (path.into(), Some(json!({"all": true})), None),
        ("GET", p) if p.starts_with("/api/analytics/") => {
            (format!("{p}?clientId={client}&range=7d"), None, None)
        }
        ("PUT", "/api/notifications/preferences") => (
            path.into(),
            Some(json!({"items": [{"kind": "mentioned", "inApp": true, "email": false}]})),
            None,
        ),
        // The dashboard feed never ends on its own; bound it for the test.
        (_, "/api/events") => ("/api/events?closeAfterSeconds=0".into(), None, None),
        ("POST", "/api/workflows") => (
            path.into(),
            Some(json!({"clientId": client, "name": format!("w{n}")})),
            None,
        ),
        ("PUT", "/api/admin/settings/modules") => (
            path.into(),
            Some(json!({"allow": ["json", "math"], "block": ["os"]})),
            None,
        ),
        ("POST", "/api/workflows/validate") => (
            path.into(),
            Some(json!({"graph": {"nodes": [], "edges": []}})),
            None,
        ),
        ("POST", "/api/workflows/manifest/render") => (
            path.into(),
            Some(json!({"clientId": client, "name": "w", "graph": {"nodes": [], "edges": []}})),
            None,
        ),
        ("POST", "/api/workflows/manifest/parse") => {
            (path.into(), Some(json!({"yaml": "kind: Workflow\n"})), None)
        }
        ("POST", "/api/workflows/manifest/apply") => {
            let username = app
                .get(&format!("/api/admin/users/{client}"), &fx.admin)
                .await
                .body["username"]
                .as_str()
                .expect("client username")
                .to_owned();
            let yaml = format!(
                "apiVersion: katalusis.io/v1alpha1\nkind: Workflow\nmetadata:\n  name: upload-{n}\n  labels:\n    katalusis.io/client: {username}\nspec:\n  graph: {{}}\n"
            );
            (path.into(), Some(json!({"yaml": yaml})), None)
        }
        ("PUT", "/api/admin/settings/cluster-workflows") => {
            (path.into(), Some(json!({"writeBack": false})), None)
        }
        ("PUT", "/api/workflows/{id}") => {
            let id = fresh_workflow(app, fx, client).await;
            (
                format!("/api/workflows/{id}"),
                Some(
                    json!({"revision": 1, "name": "renamed", "graph": {"nodes": [], "edges": []}}),
                ),
                None,
            )
        }
        (_, p) if p.starts_with("/api/workflows/{id}") => {
            let id = fresh_workflow(app, fx, client).await;
            (
                p.replace("{id}", &id.to_string())
                    .replace("{revision}", "1"),
                None,
                None,
            )
        }
        ("POST", "/api/admin/connections") => (path.into(), Some(connection_body(n)), None),
        (_, p) if p.starts_with("/api/admin/connections/{id}") => {
            let r = app
                .post("/api/admin/connections", &fx.admin, connection_body(n))
                .await;
            let id = r.body["id"].as_u64().expect("connection id");
            let body = (method == "PUT").then(|| connection_body(n + 100_000));
            (p.replace("{id}", &id.to_string()), body, None)
        }
        (_, p) => (p.to_string(), None, None),
    }
}

fn p_id(path: &str, id: u64) -> String {
    path.replace("{id}", &id.to_string())
}

/// A pending approval at node `a` of `run` with nobody named as approver.
async fn fresh_approval(app: &TestApp, run: u64, client: u64) -> u64 {
    sqlx::query(
        "INSERT INTO approval (run_id, node_id, attempt, client_id, status, subject, created_at) \
         VALUES (?, 'a', 1, ?, 'pending', '{}', NOW(6))",
    )
    .bind(run)
    .bind(client)
    .execute(&app.db)
    .await
    .unwrap()
    .last_insert_id()
}

/// A connection to a closed local port: its test answers at once (`refused`).
fn connection_body(n: u32) -> Value {
    json!({"name": format!("db{n}"), "kind": "postgres", "host": "127.0.0.1", "port": 1,
        "database": "x", "user": "u", "password": "pw-secret"})
}

#[test]
fn every_endpoint_has_rows() {
    let doc = serde_json::to_value(katalusis_api::http::openapi()).unwrap();
    let mut documented = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let in_matrix: BTreeSet<(String, String)> = MATRIX
        .iter()
        .map(|(m, p, _)| (m.to_string(), p.to_string()))
        .collect();
    let missing: Vec<_> = documented.difference(&in_matrix).collect();
    let stale: Vec<_> = in_matrix.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "endpoints without RBAC rows: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "RBAC rows for endpoints that do not exist: {stale:?}"
    );
    assert_eq!(in_matrix.len(), MATRIX.len(), "duplicate rows");
}

#[sqlx::test(migrations = "../migrations")]
async fn every_endpoint_answers_each_role_and_ownership_case_exactly(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let fx = Fixture::new(&app).await;
    let mut failures = Vec::new();
    for (method, path, expected) in MATRIX {
        for (case, want) in CASES.iter().zip(expected) {
            let (url, body, session) = instantiate(&app, &fx, method, path, *case).await;
            let token = match (&session, fx.actor(*case)) {
                (Some(s), _) => Some(s.token.clone()),
                (None, Some(s)) => Some(s.token.clone()),
                (None, None) => None,
            };
            let m = Method::from_bytes(method.as_bytes()).unwrap();
            let r = app
                .call(
                    m,
                    &url,
                    token.as_deref(),
                    body.or(Some(json!({})))
                        .filter(|_| *method != "GET" && *method != "DELETE"),
                )
                .await;
            if r.status.as_u16() != *want {
                failures.push(format!(
                    "{method} {path} as {case:?}: want {want}, got {} {}",
                    r.status.as_u16(),
                    r.body
                ));
            }
            if r.status.is_client_error() {
                assert!(
                    r.body["error"]["code"].is_string(),
                    "{method} {path} {case:?}: {}",
                    r.body
                );
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} RBAC mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn managers_list_only_their_clients_workflows(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let fx = Fixture::new(&app).await;
    let own = fresh_workflow(&app, &fx, fx.client.user_id).await;
    fresh_workflow(&app, &fx, fx.other_client).await;
    fresh_workflow(&app, &fx, fx.unassigned_client).await;
    let mine = app.get("/api/workflows", &fx.manager).await;
    assert_eq!(mine.body["total"], 1);
    assert_eq!(mine.body["items"][0]["id"], own);
    let filtered = app
        .get(
            &format!("/api/workflows?clientId={}", fx.other_client),
            &fx.manager,
        )
        .await;
    assert_eq!(filtered.body["total"], 0);
    let all = app.get("/api/workflows", &fx.admin).await;
    assert_eq!(all.body["total"], 3);
    // An unassigned manager's client list and an admin's differ accordingly.
    let clients = app.get("/api/manager/clients", &fx.manager).await;
    assert_eq!(clients.body.as_array().unwrap().len(), 1);
    let every = app.get("/api/manager/clients", &fx.admin).await;
    assert_eq!(every.body.as_array().unwrap().len(), 3);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_denied_mutation_changes_nothing(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let fx = Fixture::new(&app).await;
    let id = fresh_workflow(&app, &fx, fx.other_client).await;
    let path = format!("/api/workflows/{id}");
    let r = app
        .put(
            &path,
            &fx.manager,
            json!({"revision": 1, "name": "hijacked", "graph": {"nodes": [], "edges": []}}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 404);
    assert_eq!(app.delete(&path, &fx.manager).await.status.as_u16(), 404);
    let still = app.get(&path, &fx.admin).await;
    assert_eq!(still.body["name"], "flow");
    assert_eq!(still.body["revision"], 1);
}

/// The paging parameters of the cursor lists (`after`, `count`, `page`) answer
/// each case with the matrix's status and never widen the scope: a cursor
/// minted by the admin, replayed by anyone, pages through the caller's rows
/// only, `count=exact` counts only those, and `count=none` leaves page numbers
/// uncounted.
#[sqlx::test(migrations = "../migrations")]
async fn cursor_and_count_parameters_keep_each_cases_status_and_scope(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let fx = Fixture::new(&app).await;
    for c in [fx.client.user_id, fx.other_client, fx.unassigned_client] {
        for _ in 0..2 {
            fresh_run(&app, &fx, c, "succeeded").await;
            fresh_task(&app, &fx, c).await;
        }
    }
    for list in ["/api/runs", "/api/tasks", "/api/admin/audit"] {
        let expected = MATRIX
            .iter()
            .find(|(m, p, _)| *m == "GET" && *p == list)
            .map(|(_, _, e)| e)
            .unwrap();
        let first = app.get(&format!("{list}?perPage=1"), &fx.admin).await;
        let cursor = first.body["nextCursor"].as_str().unwrap().to_string();
        for (case, want) in CASES.iter().zip(expected) {
            let url = format!("{list}?after={cursor}&count=exact&perPage=100");
            let token = fx.actor(*case).map(|s| s.token.clone());
            let r = app.call(Method::GET, &url, token.as_deref(), None).await;
            assert_eq!(r.status.as_u16(), *want, "{url} as {case:?}: {}", r.body);
            if r.status.as_u16() != 200 {
                assert!(r.body["error"]["code"].is_string());
                continue;
            }
            let items = r.body["items"].as_array().unwrap();
            assert!(r.body["total"].as_u64().is_some(), "{}", r.body);
            if list == "/api/admin/audit" {
                continue;
            }
            let allowed: Vec<u64> = match case {
                Case::Admin => vec![fx.client.user_id, fx.other_client, fx.unassigned_client],
                _ => vec![fx.client.user_id],
            };
            for item in items {
                let client = item["clientId"].as_u64().unwrap();
                assert!(
                    allowed.contains(&client),
                    "{url} as {case:?} shows client {client}: {item}"
                );
            }
            if *case != Case::Admin {
                // Own rows only: the total is the caller's, not the table's.
                assert!(r.body["total"].as_u64().unwrap() <= 2, "{}", r.body);
            }
            // Page numbers without a count: the same rows, no total.
            let numbered = app
                .call(
                    Method::GET,
                    &format!("{list}?page=1&perPage=100&count=none"),
                    token.as_deref(),
                    None,
                )
                .await;
            assert_eq!(numbered.status.as_u16(), 200, "{}", numbered.body);
            assert!(numbered.body["total"].is_null(), "{}", numbered.body);
            for item in numbered.body["items"].as_array().unwrap() {
                let client = item["clientId"].as_u64().unwrap();
                assert!(
                    allowed.contains(&client),
                    "{list} page 1 as {case:?}: {item}"
                );
            }
        }
    }
}
