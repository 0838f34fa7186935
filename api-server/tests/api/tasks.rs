//! Tasks: CRUD, scope, transitions, compare-and-set, SLA, comments and
//! mentions, attachments, notifications, live events and email.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::MySqlPool;

use crate::support::*;

/// An admin, a manager `mia` of client `acme`, another client `globex`
/// managed by `max`, and a client `initech` nobody manages.
struct World {
    admin: Session,
    mia: Session,
    max: Session,
    acme: Session,
    globex: Session,
    initech: Session,
}

async fn world(app: &TestApp) -> World {
    let admin = app.admin().await;
    let mia = app.user(&admin, "mia", "manager").await;
    let max = app.user(&admin, "max", "manager").await;
    let acme = app.user(&admin, "acme", "client").await;
    let globex = app.user(&admin, "globex", "client").await;
    let initech = app.user(&admin, "initech", "client").await;
    app.assign(&admin, mia.user_id, acme.user_id).await;
    app.assign(&admin, max.user_id, globex.user_id).await;
    World {
        admin,
        mia,
        max,
        acme,
        globex,
        initech,
    }
}

async fn create(app: &TestApp, s: &Session, body: Value) -> Value {
    let r = app.post("/api/tasks", s, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body
}

async fn upload(app: &TestApp, s: &Session, task: u64, name: &str, bytes: Vec<u8>) -> Resp {
    let resp = app
        .http
        .post(app.url(&format!("/api/tasks/{task}/attachments")))
        .query(&[("name", name)])
        .bearer_auth(&s.token)
        .body(bytes)
        .send()
        .await
        .expect("upload");
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap_or_default();
    Resp {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        headers,
    }
}

async fn notifications(app: &TestApp, s: &Session) -> Value {
    let r = app.get("/api/notifications", s).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

fn kinds(inbox: &Value) -> Vec<String> {
    inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_string())
        .collect()
}

#[sqlx::test(migrations = "../migrations")]
async fn tasks_get_per_client_keys_and_the_board_lists_them_in_column_order(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let w = world(&app).await;
    let mut ids = vec![];
    for title in ["one", "two", "three"] {
        let t = create(
            &app,
            &w.mia,
            json!({"clientId": w.acme.user_id, "title": title, "priority": "high",
                   "tags": ["ops", "ops", " q3 "], "assigneeIds": [w.mia.user_id]}),
        )
        .await;
        ids.push(t["id"].as_u64().unwrap());
    }
    let other = create(
        &app,
        &w.admin,
        json!({"clientId": w.globex.user_id, "title": "x"}),
    )
    .await;
    assert_eq!(other["key"], "GLOBEX-1");

    let t = app.get(&format!("/api/tasks/{}", ids[1]), &w.mia).await;
    assert_eq!(t.status, StatusCode::OK);
    assert_eq!(t.body["key"], "ACME-2");
    assert_eq!(t.body["statusId"], 1);
    assert_eq!(t.body["tags"], json!(["ops", "q3"]));
    assert_eq!(t.body["version"], 1);
    assert_eq!(t.body["slaState"], "on_track");
    assert_eq!(t.body["source"]["kind"], "manual");
    assert_eq!(t.body["watcherIds"], json!([w.mia.user_id]));

    // Move the third card to the top of the column.
    let first_pos = app
        .get(&format!("/api/tasks/{}", ids[0]), &w.mia)
        .await
        .body["position"]
        .as_f64()
        .unwrap();
    let r = app
        .post(
            &format!("/api/tasks/{}/move", ids[2]),
            &w.mia,
            json!({"version": 1, "statusId": 1, "position": first_pos - 1.0}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let board = app
        .get("/api/tasks?sort=board&withCounts=true&count=exact", &w.mia)
        .await;
    assert_eq!(board.status, StatusCode::OK, "{}", board.body);
    let keys: Vec<&str> = board.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["ACME-3", "ACME-1", "ACME-2"]);
    assert_eq!(board.body["total"], 3);
    assert_eq!(
        board.body["statusCounts"],
        json!([{"statusId": 1, "count": 3}])
    );

    // Filters combine; search matches the title or the exact key.
    let f = app
        .get(
            "/api/tasks?priority=high,critical&tag=q3&q=tw&count=exact",
            &w.mia,
        )
        .await;
    assert_eq!(f.body["total"], 1, "{}", f.body);
    let f = app.get("/api/tasks?q=ACME-3", &w.admin).await;
    assert_eq!(f.body["items"][0]["id"], ids[2]);
    let bad = app.get("/api/tasks?priority=urgent", &w.mia).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Edit with the current version, then delete.
    let r = app
        .patch(
            &format!("/api/tasks/{}", ids[0]),
            &w.mia,
            json!({"version": 1, "title": "one, renamed", "dueAt": "2030-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["version"], 2);
    assert_eq!(r.body["dueAt"], "2030-01-01T00:00:00Z");
    let r = app
        .patch(
            &format!("/api/tasks/{}", ids[0]),
            &w.mia,
            json!({"version": 2, "dueAt": null}),
        )
        .await;
    assert_eq!(r.body["dueAt"], Value::Null);
    let act = app
        .get(&format!("/api/tasks/{}/activity", ids[0]), &w.mia)
        .await;
    let fields: Vec<&str> = act
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["created", "title", "dueAt", "dueAt"]);
    assert_eq!(act.body[1]["oldValue"], "one");
    assert_eq!(act.body[1]["newValue"], "one, renamed");
    assert_eq!(act.body[1]["actorId"], w.mia.user_id);

    assert_eq!(
        app.delete(&format!("/api/tasks/{}", ids[0]), &w.mia)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&format!("/api/tasks/{}", ids[0]), &w.mia)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn invalid_task_input_is_refused_and_changes_nothing(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let w = world(&app).await;
    for body in [
        json!({"clientId": w.acme.user_id, "title": "  "}),
        json!({"clientId": w.acme.user_id, "title": "a\nb"}),
        json!({"clientId": w.acme.user_id, "title": "ok", "priority": "urgent"}),
        json!({"clientId": w.acme.user_id, "title": "ok", "assigneeIds": [w.max.user_id]}),
        json!({"clientId": w.acme.user_id, "title": "ok", "statusId": 99}),
        json!({"clientId": w.mia.user_id, "title": "not a client"}),
        json!({"clientId": w.acme.user_id, "title": "ok", "nope": 1}),
    ] {
        let r = app.post("/api/tasks", &w.admin, body.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.body
        );
        assert!(r.body["error"]["code"].is_string());
    }
    assert_eq!(app.count("task").await, 0);
    assert_eq!(app.count("task_counter").await, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn visibility_follows_roles_assignment_and_sharing(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let w = world(&app).await;
    let acme_task = create(
        &app,
        &w.mia,
        json!({"clientId": w.acme.user_id, "title": "acme", "assigneeIds": [w.acme.user_id]}),
    )
    .await;
    let globex_task = create(
        &app,
        &w.admin,
        json!({"clientId": w.globex.user_id, "title": "globex", "assigneeIds": [w.globex.user_id]}),
    )
    .await;
    let unassigned = create(
        &app,
        &w.admin,
        json!({"clientId": w.initech.user_id, "title": "initech"}),
    )
    .await;
    let acme_hidden = create(
        &app,
        &w.mia,
        json!({"clientId": w.acme.user_id, "title": "internal"}),
    )
    .await;
    let path = |t: &Value| format!("/api/tasks/{}", t["id"]);

    // A client cannot see another client's task, nor their own client's
    // tasks that are neither assigned nor shared to them.
    assert_eq!(
        app.get(&path(&globex_task), &w.acme).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&path(&acme_hidden), &w.acme).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&path(&acme_task), &w.acme).await.status,
        StatusCode::OK
    );
    let mine = app.get("/api/tasks?count=exact", &w.acme).await;
    assert_eq!(mine.body["total"], 1);

    // A manager cannot see an unassigned client's task.
    assert_eq!(
        app.get(&path(&unassigned), &w.mia).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&path(&globex_task), &w.mia).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/api/tasks?count=exact", &w.mia).await.body["total"],
        2
    );
    assert_eq!(
        app.get("/api/tasks?count=exact", &w.admin).await.body["total"],
        4
    );
    let r = app
        .post(
            "/api/tasks",
            &w.mia,
            json!({"clientId": w.initech.user_id, "title": "x"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Sharing makes a task visible to the client user.
    let r = app
        .patch(
            &path(&acme_hidden),
            &w.mia,
            json!({"version": 1, "sharedWith": [w.acme.user_id]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        app.get(&path(&acme_hidden), &w.acme).await.status,
        StatusCode::OK
    );
    // ...but a manager cannot share with a client they do not manage.
    let r = app
        .patch(
            &path(&acme_hidden),
            &w.mia,
            json!({"version": 2, "sharedWith": [w.globex.user_id]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Clients move, but do not edit, reassign or delete.
    let r = app
        .patch(
            &path(&acme_task),
            &w.acme,
            json!({"version": 1, "title": "mine now"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .patch(
            &path(&acme_task),
            &w.acme,
            json!({"version": 1, "assigneeIds": [w.acme.user_id, w.mia.user_id]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.delete(&path(&acme_task), &w.acme).await.status,
        StatusCode::FORBIDDEN
    );
    let r = app
        .patch(
            &path(&acme_task),
            &w.acme,
            json!({"version": 1, "statusId": 2}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // A denied mutation changed nothing.
    let t = app.get(&path(&acme_task), &w.admin).await.body;
    assert_eq!(t["title"], "acme");
    assert_eq!(t["assigneeIds"], json!([w.acme.user_id]));
}

#[sqlx::test(migrations = "../migrations")]
async fn transitions_are_enforced_and_named_when_refused(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let w = world(&app).await;
    let t = create(
        &app,
        &w.mia,
        json!({"clientId": w.acme.user_id, "title": "t"}),
    )
    .await;
    let mv = |version: u32, status: u64| json!({"version": version, "statusId": status});
    let path = format!("/api/tasks/{}/move", t["id"]);

    let r = app.post(&path, &w.mia, mv(1, 4)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["error"]["code"], "transition_not_allowed");
    assert_eq!(
        r.body["error"]["message"],
        "moving a task from `New` to `Completed` is not an allowed transition"
    );
    assert_eq!(
        r.body["error"]["details"],
        json!({"from": "New", "to": "Completed"})
    );

    let r = app.post(&path, &w.mia, mv(1, 2)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app.post(&path, &w.mia, mv(2, 4)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["completedAt"].is_string());
    // Reopen.
    let r = app.post(&path, &w.mia, mv(3, 2)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["completedAt"], Value::Null);

    // An admin edits the transitions: New → Completed becomes allowed.
    let mut settings = app.get("/api/admin/task-settings", &w.admin).await.body;
    settings["transitions"]
        .as_array_mut()
        .unwrap()
        .push(json!({"from": "New", "to": "Completed"}));
    // Renaming a status renames it in the transitions too.
    settings["statuses"][0]["name"] = json!("Backlog");
    for t in settings["transitions"].as_array_mut().unwrap() {
        for end in ["from", "to"] {
            if t[end] == "New" {
                t[end] = json!("Backlog");
            }
        }
    }
    let r = app
        .put("/api/admin/task-settings", &w.admin, settings)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let t2 = create(
        &app,
        &w.mia,
        json!({"clientId": w.acme.user_id, "title": "t2"}),
    )
    .await;
    let r = app
        .post(&format!("/api/tasks/{}/move", t2["id"]), &w.mia, mv(1, 4))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let statuses = app.get("/api/task-statuses", &w.acme).await.body;
    assert_eq!(statuses["statuses"][0]["name"], "Backlog");

    // A status that still has tasks cannot be deleted.
    let mut settings = app.get("/api/admin/task-settings", &w.admin).await.body;
    settings["statuses"].as_array_mut().unwrap().remove(1);
    settings["transitions"] = json!([]);
    let r = app
        .put("/api/admin/task-settings", &w.admin, settings)
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
}

#[sqlx::test(migrations = "../migrations")]
async fn two_concurrent_moves_of_one_card_give_one_success_and_one_conflict(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let w = world(&app).await;
    let t = create(
        &app,
        &w.mia,
        json!({"clientId": w.acme.user_id, "title": "t", "assigneeIds": [w.acme.user_id]}),
    )
    .await;
    let path = format!("/api/tasks/{}/move", t["id"]);
    let (a, b) = tokio::join!(
        app.post(&path, &w.mia, json!({"version": 1, "statusId": 2})),
        app.post(&path, &w.acme, json!({"version": 1, "statusId": 3})),
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{} {}", a.body, b.body);
    let conflict = if a.status == StatusCode::CONFLICT {
        &a
    } else {
        &b
    };
    assert_eq!(conflict.body["error"]["details"]["currentVersion"], 2);

    // A stale PATCH is refused the same way and changes nothing.
    let r = app
        .patch(
            &format!("/api/tasks/{}", t["id"]),
            &w.mia,
            json!({"version": 1, "title": "late"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(
        app.get(&format!("/api/tasks/{}", t["id"]), &w.mia)
            .await
            .body["title"],
        "t"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn bulk_changes_are_all_or_nothing_with_per_task_failures(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let w = world(&app).await;
    let a = create(
        &app,
        &w.mia,
        json!({"clientId": w.acme.user_id, "title": "a"}),
    )
    .await;
    let b = create(
        &app,
        &w.mia,
        json!({"clientId": w.acme.user_id, "title": "b"}),
    )
    .await;
    let foreign = create(
        &app,
        &w.admin,
        json!({"clientId": w.globex.user_id, "title": "g"}),
    )
    .await;
    let r = app
        .post("/api/tasks/bulk", &w.mia, json!({"taskIds": [a["id"], b["id"], foreign["id"]], "set": {"priority": "critical", "statusId": 4}}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "bulk_refused");
    let failures = r.body["error"]["details"]["failures"].as_array().unwrap();
    // New → Completed is not allowed for a and b; the foreign task is not found.
    assert_eq!(failures.len(), 3, "{failures:?}");
    assert!(failures
        .iter()
        .any(|f| f["taskId"] == foreign["id"] && f["code"] == "not_found"));
    assert!(failures
        .iter()
        .any(|f| f["taskId"] == a["id"] && f["code"] == "transition_not_allowed"));
    let still = app
        .get(&format!("/api/tasks/{}", a["id"]), &w.mia)
        .await
        .body;
    assert_eq!(still["priority"], "medium");
    assert_eq!(still["version"], 1);

    let r = app
        .post("/api/tasks/bulk", &w.mia, json!({"taskIds": [a["id"], b["id"]], "set": {"priority": "critical", "tags": ["urgent"]}}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["items"][0]["priority"], "critical");
    assert_eq!(r.body["items"][1]["tags"], json!(["urgent"]));
}

#[sqlx::test(migrations = "../migrations")]
async fn sla_notifications_fire_once_at_the_exact_boundaries(pool: MySqlPool) {
    let app = spawn_app(pool.clone()).await;
    let w = world(&app).await;
    let t = create(
        &app,
        &w.mia,
        json!({"clientId": w.acme.user_id, "title": "hot", "priority": "critical", "assigneeIds": [w.acme.user_id]}),
    )
    .await;
    let at = |k: &str| t[k].as_str().unwrap().parse::<DateTime<Utc>>().unwrap();
    let (risk, due) = (at("slaRiskAt"), at("slaDueAt"));
    let created = at("createdAt");
    // Critical: four hours; at risk after 80 %.
    assert_eq!((due - created).num_minutes(), 240);
    assert_eq!((risk - created).num_seconds(), 192 * 60);
    let sweep = |now: DateTime<Utc>| {
        let pool = pool.clone();
        async move {
            katalusis_api::tasks::service::sweep_sla(&pool, now)
                .await
                .unwrap()
                .0
        }
    };
    let second = chrono::Duration::seconds(1);
    assert_eq!(sweep(risk - second).await, 0);
    assert_eq!(sweep(risk).await, 1);
    assert_eq!(sweep(risk + second).await, 0, "at risk is raised once");
    assert_eq!(sweep(due - second).await, 0);
    assert_eq!(sweep(due).await, 1);
    assert_eq!(
        sweep(due + chrono::Duration::hours(5)).await,
        0,
        "breach is raised once"
    );
    assert_eq!(
        kinds(&notifications(&app, &w.acme).await),
        ["sla_breached", "sla_at_risk", "assigned"]
    );
    // The reporter watches the task and hears about it too.
    assert_eq!(
        kinds(&notifications(&app, &w.mia).await),
        ["sla_breached", "sla_at_risk"]
    );

    // Completed tasks raise nothing.
    let done = create(
        &app,
        &w.mia,
        json!({"clientId": w.acme.user_id, "title": "done", "priority": "critical", "statusId": 4}),
    )
    .await;
    assert!(done["completedAt"].is_string());
    assert_eq!(sweep(Utc::now() + chrono::Duration::days(2)).await, 0);
    // Low has no target.
    let low = create(
        &app,
        &w.mia,
        json!({"clientId": w.acme.user_id, "title": "low", "priority": "low"}),
    )
    .await;
    assert_eq!(low["slaState"], Value::Null);
}

#[sqlx::test(migrations = "../migrations")]
async fn mentions_notify_users_who_can_see_the_task_and_comments_keep_their_history(
    pool: MySqlPool,
) {
    let app = spawn_app(pool).await;
    let w = world(&app).await;
    let t = create(
        &app,
        &w.mia,
        json!({"clientId": w.acme.user_id, "title": "t", "assigneeIds": [w.acme.user_id]}),
    )
    .await;
    let comments = format!("/api/tasks/{}/comments", t["id"]);
    let r = app
        .post(
            &comments,
            &w.acme,
            json!({"body": "@mia can you look? cc @max and @nobody"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let cid = r.body["id"].as_u64().unwrap();
    let inbox = notifications(&app, &w.mia).await;
    assert_eq!(kinds(&inbox), ["mentioned"]);
    assert_eq!(inbox["unread"], 1);
    assert_eq!(inbox["items"][0]["taskId"], t["id"]);
    // max manages another client: mentioning him reveals nothing.
    assert_eq!(
        kinds(&notifications(&app, &w.max).await),
        Vec::<String>::new()
    );

    // Edit own comment: history kept; others may not edit or delete it.
    let r = app
        .patch(
            &format!("/api/comments/{cid}"),
            &w.acme,
            json!({"body": "edited"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body["history"][0]["body"],
        "@mia can you look? cc @max and @nobody"
    );
    assert_eq!(
        app.patch(
            &format!("/api/comments/{cid}"),
            &w.mia,
            json!({"body": "x"})
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.delete(&format!("/api/comments/{cid}"), &w.mia)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let list = app.get(&comments, &w.mia).await.body;
    assert_eq!(list[0]["body"], "edited");
    assert_eq!(list[0]["history"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.delete(&format!("/api/comments/{cid}"), &w.acme)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.get(&comments, &w.mia).await.body, json!([]));

    // Read marks.
    let r = app
        .post("/api/notifications/read", &w.mia, json!({"all": true}))
        .await;
    assert_eq!(r.body["unread"], 0);
    // Preferences: mentions off in-app means no new inbox row.
    let r = app
        .put(
            "/api/notifications/preferences",
            &w.mia,
            json!({"items": [{"kind": "mentioned", "inApp": false, "email": false}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    app.post(&comments, &w.acme, json!({"body": "@mia again"}))
        .await;
    assert_eq!(
        notifications(&app, &w.mia).await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn markup_in_titles_descriptions_and_comments_is_stored_as_text(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let w = world(&app).await;
    let xss = "<img src=x onerror=alert(1)><script>alert('t')</script>";
    let md = "# Title\n\n[click](javascript:alert(1)) <b onclick=\"x()\">bold</b>";
    let t = create(
        &app,
        &w.mia,
        json!({"clientId": w.acme.user_id, "title": xss, "description": md}),
    )
    .await;
    let r = app.get(&format!("/api/tasks/{}", t["id"]), &w.mia).await;
    assert_eq!(r.headers["content-type"], "application/json");
    assert_eq!(r.body["title"], xss);
    assert_eq!(r.body["description"], md);
    app.post(
        &format!("/api/tasks/{}/comments", t["id"]),
        &w.mia,
        json!({"body": xss}),
    )
    .await;
    let c = app
        .get(&format!("/api/tasks/{}/comments", t["id"]), &w.mia)
        .await;
    assert_eq!(c.body[0]["body"], xss);
}

#[sqlx::test(migrations = "../migrations")]
async fn attachments_are_judged_by_content_and_limited_in_size(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let w = world(&app).await;
    let t = create(
        &app,
        &w.mia,
        json!({"clientId": w.acme.user_id, "title": "t", "assigneeIds": [w.acme.user_id]}),
    )
    .await;
    let id = t["id"].as_u64().unwrap();

    // 10 MB + 1 byte: refused while streaming.
    let r = upload(
        &app,
        &w.acme,
        id,
        "big.txt",
        vec![b'a'; 10 * 1024 * 1024 + 1],
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    // A Windows executable named .pdf.
    let mut exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff".to_vec();
    exe.extend(vec![0u8; 64]);
    let r = upload(&app, &w.acme, id, "invoice.pdf", exe).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.body);
    // Binary garbage is not text.
    let r = upload(&app, &w.acme, id, "notes.txt", vec![0, 1, 2, 3, 0xff]).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(app.count("task_attachment").await, 0);

    // A PNG named .csv is stored as a PNG.
    let png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89".to_vec();
    let r = upload(&app, &w.acme, id, "../../report.csv", png.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["contentType"], "image/png");
    assert_eq!(r.body["name"], "report.csv");
    assert_eq!(r.body["size"], png.len());
    use sha2::Digest;
    assert_eq!(r.body["sha256"], hex::encode(sha2::Sha256::digest(&png)));
    let aid = r.body["id"].as_u64().unwrap();
    let csv = upload(&app, &w.mia, id, "data.csv", b"a,b\n1,2\n".to_vec()).await;
    assert_eq!(csv.body["contentType"], "text/csv");

    let dl = app
        .http
        .get(app.url(&format!("/api/attachments/{aid}")))
        .bearer_auth(&w.mia.token)
        .send()
        .await
        .unwrap();
    assert_eq!(dl.status(), StatusCode::OK);
    assert_eq!(dl.headers()["content-type"], "image/png");
    assert_eq!(dl.headers()["x-content-type-options"], "nosniff");
    assert!(dl.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename=\"report.csv\""));
    assert_eq!(dl.bytes().await.unwrap().to_vec(), png);
    // Out of scope: 404.
    let r = app.get(&format!("/api/attachments/{aid}"), &w.globex).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let list = app
        .get(&format!("/api/tasks/{id}/attachments"), &w.acme)
        .await;
    assert_eq!(list.body.as_array().unwrap().len(), 2);
}

/// An open event stream and what has been read from it but not yet matched.
struct Feed {
    resp: reqwest::Response,
    buf: String,
}

impl Feed {
    /// The first unseen event whose text contains `needle` (events before it
    /// are skipped), or a panic after ten seconds.
    async fn next(&mut self, needle: &str) -> String {
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                while let Some(end) = self.buf.find("\n\n") {
                    let ev: String = self.buf.drain(..end + 2).collect();
                    if ev.contains(needle) {
                        return ev;
                    }
                }
                let chunk = self.resp.chunk().await.unwrap().expect("stream ended");
                self.buf.push_str(&String::from_utf8_lossy(&chunk));
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no event with {needle}"))
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn moves_and_notifications_reach_other_browsers_live(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let w = world(&app).await;
    let t = create(
        &app,
        &w.mia,
        json!({"clientId": w.acme.user_id, "title": "t", "assigneeIds": [w.acme.user_id]}),
    )
    .await;
    let open = |s: &Session| {
        app.http
            .get(app.url("/api/tasks/events?closeAfterSeconds=15"))
            .bearer_auth(&s.token)
            .send()
    };
    let mut acme = Feed {
        resp: open(&w.acme).await.unwrap(),
        buf: String::new(),
    };
    let mut mia = Feed {
        resp: open(&w.mia).await.unwrap(),
        buf: String::new(),
    };
    let mut globex = open(&w.globex).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = app
        .post(
            &format!("/api/tasks/{}/move", t["id"]),
            &w.acme,
            json!({"version": 1, "statusId": 2}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    // The watcher (the reporter) is notified of the status change...
    let ev = mia.next("event: notification").await;
    assert!(ev.contains("status_changed"), "{ev}");
    // ...and sees the card move.
    let ev = mia.next("\"moved\"").await;
    assert!(ev.contains("event: task"), "{ev}");
    assert!(ev.contains(&format!("\"taskId\":{}", t["id"])), "{ev}");
    let ev = acme.next("\"moved\"").await;
    assert!(ev.contains("\"statusId\":2"), "{ev}");
    // Another client's stream stays silent about it.
    let quiet = tokio::time::timeout(Duration::from_millis(500), globex.chunk()).await;
    assert!(quiet.is_err() || !format!("{quiet:?}").contains("moved"));
}

#[sqlx::test(migrations = "../migrations")]
async fn notifications_are_emailed_when_smtp_is_configured(pool: MySqlPool) {
    let (port, mut inbox) = crate::support::smtp_sink().await;
    let settings = katalusis_api::config::Settings {
        smtp_url: Some(katalusis_api::config::Secret::new(format!(
            "smtp://127.0.0.1:{port}"
        ))),
        smtp_from: "Katalusis <noreply@example.com>".into(),
        ..test_settings()
    };
    let app = spawn_app_with(pool, settings).await;
    let w = world(&app).await;
    let t = create(&app, &w.mia, json!({"clientId": w.acme.user_id, "title": "Quarterly report", "assigneeIds": [w.acme.user_id]})).await;
    let mail = tokio::time::timeout(Duration::from_secs(10), inbox.recv())
        .await
        .expect("no email within 10 s")
        .unwrap();
    assert!(mail.contains("To: acme@example.com"), "{mail}");
    assert!(
        mail.contains("From: Katalusis <noreply@example.com>"),
        "{mail}"
    );
    assert!(
        mail.contains(&format!("You were assigned {}", t["key"].as_str().unwrap())),
        "{mail}"
    );
    assert!(mail.contains("Quarterly report"), "{mail}");
}

#[sqlx::test(migrations = "../migrations")]
async fn without_smtp_notifications_stay_in_app(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let w = world(&app).await;
    create(
        &app,
        &w.mia,
        json!({"clientId": w.acme.user_id, "title": "t", "assigneeIds": [w.acme.user_id]}),
    )
    .await;
    assert_eq!(kinds(&notifications(&app, &w.acme).await), ["assigned"]);
    // The actor is never notified of their own assignment.
    let own = create(
        &app,
        &w.mia,
        json!({"clientId": w.acme.user_id, "title": "t", "assigneeIds": [w.mia.user_id]}),
    )
    .await;
    assert!(own["id"].is_u64());
    assert_eq!(
        kinds(&notifications(&app, &w.mia).await),
        Vec::<String>::new()
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn the_openapi_document_describes_the_task_statuses_response(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let doc = app
        .call(reqwest::Method::GET, "/api/openapi.json", None, None)
        .await
        .body;
    // The tasks' statuses view once shared its schema name with the workflow
    // graph document, so the typed client described the wrong shape.
    let body = &doc["paths"]["/api/task-statuses"]["get"]["responses"]["200"]["content"]
        ["application/json"]["schema"]["$ref"];
    assert_eq!(body, "#/components/schemas/TaskWorkflow");
    let schema = &doc["components"]["schemas"]["TaskWorkflow"]["properties"];
    assert!(schema["statuses"].is_object() && schema["slaTargets"].is_object());
    assert!(doc["components"]["schemas"]["Workflow"]["properties"]["graph"].is_object());
}

fn ids_of(people: &Value) -> Vec<u64> {
    let mut ids: Vec<u64> = people
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_u64().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

fn sorted(mut ids: Vec<u64>) -> Vec<u64> {
    ids.sort_unstable();
    ids
}

#[sqlx::test(migrations = "../migrations")]
async fn people_are_named_only_within_the_callers_scope(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let w = world(&app).await;
    // A second manager of acme, whom mia may assign.
    let mo = app.user(&w.admin, "moe", "manager").await;
    app.assign(&w.admin, mo.user_id, w.acme.user_id).await;
    create(
        &app,
        &w.admin,
        json!({"clientId": w.acme.user_id, "title": "audit prep",
               "assigneeIds": [w.acme.user_id, w.mia.user_id]}),
    )
    .await;

    let acme = app.get("/api/task-people", &w.acme).await;
    assert_eq!(acme.status, StatusCode::OK, "{}", acme.body);
    // The client learns who is on their task (the admin reported it), not
    // the other managers or clients.
    assert_eq!(
        ids_of(&acme.body),
        sorted(vec![w.admin.user_id, w.mia.user_id, w.acme.user_id])
    );
    let me = acme
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == w.mia.user_id)
        .unwrap();
    assert_eq!(me["username"], "mia");
    assert_eq!(me["role"], "manager");
    assert!(me["displayName"].is_string());

    let mia = app.get("/api/task-people", &w.mia).await;
    assert_eq!(
        ids_of(&mia.body),
        sorted(vec![
            w.admin.user_id,
            w.mia.user_id,
            mo.user_id,
            w.acme.user_id
        ])
    );
    // Someone with no tasks knows only themselves.
    let globex = app.get("/api/task-people", &w.globex).await;
    assert_eq!(ids_of(&globex.body), vec![w.globex.user_id]);
    let admin = app.get("/api/task-people", &w.admin).await;
    for u in [&w.max, &w.globex, &w.initech, &mo] {
        assert!(ids_of(&admin.body).contains(&u.user_id));
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn watching_a_task_is_idempotent_kept_in_history_and_scoped(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let w = world(&app).await;
    let t = create(
        &app,
        &w.mia,
        json!({"clientId": w.acme.user_id, "title": "watch me", "assigneeIds": [w.acme.user_id]}),
    )
    .await;
    let id = t["id"].as_u64().unwrap();
    let path = format!("/api/tasks/{id}/watch");
    let watches = |r: &Resp| {
        r.body["watcherIds"]
            .as_array()
            .unwrap()
            .contains(&json!(w.acme.user_id))
    };
    // Assignees watch from the start; the client stops, twice.
    assert!(watches(
        &app.get(&format!("/api/tasks/{id}"), &w.acme).await
    ));
    for _ in 0..2 {
        let r = app.delete(&path, &w.acme).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(!watches(&r));
        // Watching is not an edit: the version stays.
        assert_eq!(r.body["version"], t["version"]);
    }
    for _ in 0..2 {
        let r = app.put(&path, &w.acme, json!({})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(watches(&r));
        assert_eq!(r.body["version"], t["version"]);
    }
    // One history entry per change, none for the repeats.
    let history = app.get(&format!("/api/tasks/{id}/activity"), &w.mia).await;
    let changes: Vec<(&str, &str)> = history
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["field"] == "watchers" && a["actorId"] == w.acme.user_id)
        .map(|a| {
            (
                a["oldValue"].as_str().unwrap(),
                a["newValue"].as_str().unwrap(),
            )
        })
        .collect();
    let both = sorted(vec![w.mia.user_id, w.acme.user_id])
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let mia_only = w.mia.user_id.to_string();
    assert_eq!(
        changes,
        [
            (both.as_str(), mia_only.as_str()),
            (mia_only.as_str(), both.as_str())
        ],
        "{}",
        history.body
    );

    // Out of scope: 404, and nothing is written.
    let before = app.count("task_watcher").await;
    assert_eq!(
        app.put(&path, &w.globex, json!({})).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.put(&path, &w.max, json!({})).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.put("/api/tasks/999999/watch", &w.admin, json!({}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.count("task_watcher").await, before);
}

#[sqlx::test(migrations = "../migrations")]
async fn attachments_are_deleted_by_their_uploader_or_staff_and_audited(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let w = world(&app).await;
    let t = create(
        &app,
        &w.mia,
        json!({"clientId": w.acme.user_id, "title": "files", "assigneeIds": [w.acme.user_id]}),
    )
    .await;
    let id = t["id"].as_u64().unwrap();
    let by_mia = upload(&app, &w.mia, id, "brief.txt", b"from mia".to_vec()).await;
    let by_acme = upload(&app, &w.acme, id, "mine.txt", b"from acme".to_vec()).await;
    let by_acme2 = upload(&app, &w.acme, id, "mine2.txt", b"again".to_vec()).await;
    let [mia_file, acme_file, acme_file2] =
        [&by_mia, &by_acme, &by_acme2].map(|r| r.body["id"].as_u64().unwrap());

    // A client may not delete someone else's file; out of scope is 404.
    let r = app
        .delete(&format!("/api/attachments/{mia_file}"), &w.acme)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "forbidden");
    for s in [&w.globex, &w.max] {
        let r = app
            .delete(&format!("/api/attachments/{acme_file}"), s)
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }
    assert_eq!(app.count("task_attachment").await, 3);

    // The uploader may; so may the manager.
    let r = app
        .delete(&format!("/api/attachments/{acme_file}"), &w.acme)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = app
        .delete(&format!("/api/attachments/{acme_file2}"), &w.mia)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(
        app.get(&format!("/api/attachments/{acme_file}"), &w.acme)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let left = app
        .get(&format!("/api/tasks/{id}/attachments"), &w.acme)
        .await;
    assert_eq!(ids_of(&left.body), vec![mia_file]);
    assert_eq!(
        app.delete(&format!("/api/attachments/{acme_file}"), &w.mia)
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    let history = app.get(&format!("/api/tasks/{id}/activity"), &w.mia).await;
    let deleted: Vec<&str> = history
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["field"] == "attachment_deleted")
        .map(|a| a["oldValue"].as_str().unwrap())
        .collect();
    assert_eq!(deleted, ["mine.txt", "mine2.txt"]);

    let log = app
        .get("/api/admin/audit?action=task.attachment.delete", &w.admin)
        .await;
    let outcomes: Vec<(&str, &str)> = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["outcome"].as_str().unwrap(),
                e["objectId"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        outcomes.contains(&("success", acme_file.to_string().as_str())),
        "{outcomes:?}"
    );
    assert!(
        outcomes.contains(&("denied", mia_file.to_string().as_str())),
        "{outcomes:?}"
    );
}
