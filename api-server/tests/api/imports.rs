//! Task import: uploads judged by content and size, sessions owned by their
//! creator, client scope, dry runs that write nothing, all-or-nothing and
//! valid-only applies, re-apply by external id, undo, and a server killed
//! mid-apply leaving no partial batch.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::MySqlPool;

use crate::support::*;

/// An admin, manager `mia` of client `acme`, manager `max` of `globex`.
pub(crate) struct World {
    pub admin: Session,
    pub mia: Session,
    pub max: Session,
    pub acme: Session,
    pub globex: Session,
}

pub(crate) async fn world(app: &TestApp) -> World {
    let admin = app.admin().await;
    let mia = app.user(&admin, "mia", "manager").await;
    let max = app.user(&admin, "max", "manager").await;
    let acme = app.user(&admin, "acme", "client").await;
    let globex = app.user(&admin, "globex", "client").await;
    app.assign(&admin, mia.user_id, acme.user_id).await;
    app.assign(&admin, max.user_id, globex.user_id).await;
    World {
        admin,
        mia,
        max,
        acme,
        globex,
    }
}

/// Three valid rows and two invalid ones (rows 5 and 6 of the file).
const MIXED: &str = "ID,Title,Status,Priority,Assignee,Due,Notes\n\
A-1,Write the spec,New,P1,mia@example.com,2026-04-03,first\n\
A-2,Review,In Progress,High,acme,2026-04-05,\n\
A-3,\"=HYPERLINK(\"\"http://x\"\")\",Done,Low,,2026-04-07,stored as text\n\
A-4,,New,Medium,,2026-04-08,no title\n\
A-5,Ship it,Someday,Low,,2026-13-45,-2+3\n";

pub(crate) async fn upload(app: &TestApp, s: &Session, name: &str, body: &str) -> Value {
    let r = app.upload_import(s, name, body.as_bytes()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body
}

/// Dry-runs with the suggested mapping into `client`.
pub(crate) async fn dry_run(app: &TestApp, s: &Session, up: &Value, client: u64) -> Resp {
    let id = up["import"]["id"].as_u64().unwrap();
    app.post(
        &format!("/api/tasks/imports/{id}/dry-run"),
        s,
        json!({"clientId": client, "mapping": up["preview"]["suggested"]}),
    )
    .await
}

pub(crate) async fn import_tasks(app: &TestApp, id: u64) -> Vec<(u64, String)> {
    sqlx::query_as(
        "SELECT task_id, title FROM task WHERE source_kind = 'import' AND source_ref_id = ? ORDER BY task_id",
    )
    .bind(id)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn upload_previews_the_file_and_suggests_a_mapping(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let w = world(&app).await;
    let up = upload(&app, &w.mia, "backlog.csv", MIXED).await;
    let p = &up["preview"];
    assert_eq!(p["format"], "csv");
    assert_eq!(p["encoding"], "UTF-8");
    assert_eq!(p["delimiter"], ",");
    assert_eq!(p["headerRow"], 1);
    assert_eq!(p["rowCount"], 5);
    assert_eq!(p["rows"][2]["row"], 4);
    assert_eq!(p["rows"][2]["cells"][1], "=HYPERLINK(\"http://x\")");
    let f = &p["suggested"]["fields"];
    assert_eq!(f["externalId"]["column"], "ID");
    assert_eq!(f["assignees"]["column"], "Assignee");
    assert_eq!(f["dueDate"]["column"], "Due");
    assert_eq!(f["description"]["column"], "Notes");
    let s = &up["import"];
    assert_eq!(s["state"], "uploaded");
    assert_eq!(s["fileName"], "backlog.csv");
    assert_eq!(s["sha256"].as_str().unwrap().len(), 64);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_dry_run_writes_nothing_and_locates_every_problem(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let w = world(&app).await;
    let up = upload(&app, &w.mia, "backlog.csv", MIXED).await;
    let id = up["import"]["id"].as_u64().unwrap();
    let before = app.count("task").await;
    let r = dry_run(&app, &w.mia, &up, w.acme.user_id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(app.count("task").await, before);
    assert_eq!(app.count("task_activity").await, 0);
    assert_eq!(
        (r.body["valid"].as_u64(), r.body["invalid"].as_u64()),
        (Some(3), Some(2))
    );
    let problems: Vec<(u64, String, String)> = r.body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["row"].as_u64().unwrap(),
                p["column"].as_str().unwrap().to_string(),
                p["value"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        problems,
        [
            (5, "Title".into(), "".into()),
            (6, "Status".into(), "Someday".into()),
            (6, "Due".into(), "2026-13-45".into()),
        ]
    );
    let statuses = r.body["statusValues"].as_array().unwrap();
    let someday = statuses.iter().find(|v| v["value"] == "Someday").unwrap();
    assert!(someday["key"].is_null());
    let done = statuses.iter().find(|v| v["value"] == "Done").unwrap();
    assert_eq!(done["key"], "4");

    // The report: the bad rows as in the file, an `errors` column, and the
    // `-2+3` cell neutralized.
    let resp = app
        .http
        .get(app.url(&format!("/api/tasks/imports/{id}/report")))
        .bearer_auth(&w.mia.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    assert!(resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename=\"backlog-errors.csv\""));
    let text = resp.text().await.unwrap();
    let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(
        lines[0],
        "ID,Title,Status,Priority,Assignee,Due,Notes,errors"
    );
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[2].starts_with("A-5,Ship it,Someday,Low,,2026-13-45,'-2+3,"),
        "{}",
        lines[2]
    );
    assert!(lines[2].contains("row 6 Status"), "{}", lines[2]);

    // Dry runs can be repeated with a value table; the mapping is stored.
    let mut mapping = up["preview"]["suggested"].clone();
    mapping["statusValues"] = json!({"someday": "3"});
    mapping["dateFormat"] = json!("ymd");
    let r = app
        .post(
            &format!("/api/tasks/imports/{id}/dry-run"),
            &w.mia,
            json!({"clientId": w.acme.user_id, "mapping": mapping}),
        )
        .await;
    assert_eq!(r.body["invalid"], 2, "{}", r.body);
    assert_eq!(r.body["problems"].as_array().unwrap().len(), 2);
    let s = app
        .get(&format!("/api/tasks/imports/{id}"), &w.mia)
        .await
        .body;
    assert_eq!(s["options"]["mapping"]["statusValues"]["someday"], "3");
    assert_eq!(app.count("task").await, before);
}

#[sqlx::test(migrations = "../migrations")]
async fn all_or_nothing_writes_nothing_when_one_row_is_bad(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let w = world(&app).await;
    let up = upload(&app, &w.mia, "backlog.csv", MIXED).await;
    let id = up["import"]["id"].as_u64().unwrap();
    dry_run(&app, &w.mia, &up, w.acme.user_id).await;
    let r = app
        .post(
            &format!("/api/tasks/imports/{id}/apply"),
            &w.mia,
            json!({"mode": "all_or_nothing"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(app.count("task").await, 0);

    // A file valid at the dry run that turns bad before the apply (the
    // assignee is deactivated): the job fails and writes nothing.
    let good = "Title,Assignee\nOne,\nTwo,mia\nThree,\n";
    let up = upload(&app, &w.mia, "good.csv", good).await;
    let id = up["import"]["id"].as_u64().unwrap();
    let r = dry_run(&app, &w.mia, &up, w.acme.user_id).await;
    assert_eq!(r.body["invalid"], 0, "{}", r.body);
    let r = app
        .patch(
            &format!("/api/admin/users/{}", w.mia.user_id),
            &w.admin,
            json!({"active": false}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // The job runs as the importer; admins keep their session to watch.
    sqlx::query("UPDATE import_session SET owner_id = ? WHERE import_id = ?")
        .bind(w.admin.user_id)
        .bind(id)
        .execute(&app.db)
        .await
        .unwrap();
    let r = app
        .post(
            &format!("/api/tasks/imports/{id}/apply"),
            &w.admin,
            json!({"mode": "all_or_nothing"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let s = app.wait_import(&w.admin, id).await;
    assert_eq!(s["state"], "failed", "{s}");
    assert!(
        s["message"]
            .as_str()
            .unwrap()
            .contains("nothing was written"),
        "{s}"
    );
    assert_eq!(app.count("task").await, 0);
    assert_eq!(app.count("import_external_id").await, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn valid_only_creates_exactly_the_valid_rows_and_a_second_apply_updates_them(
    pool: MySqlPool,
) {
    let app = spawn_app(pool).await;
    let w = world(&app).await;
    let up = upload(&app, &w.mia, "backlog.csv", MIXED).await;
    let id = up["import"]["id"].as_u64().unwrap();
    dry_run(&app, &w.mia, &up, w.acme.user_id).await;
    let r = app
        .post(
            &format!("/api/tasks/imports/{id}/apply"),
            &w.mia,
            json!({"mode": "valid_only"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let s = app.wait_import(&w.mia, id).await;
    assert_eq!(s["state"], "applied", "{s}");
    assert_eq!(
        (s["created"].as_u64(), s["skipped"].as_u64()),
        (Some(3), Some(2))
    );
    let tasks = import_tasks(&app, id).await;
    let titles: Vec<&str> = tasks.iter().map(|t| t.1.as_str()).collect();
    assert_eq!(
        titles,
        ["Write the spec", "Review", "=HYPERLINK(\"http://x\")"]
    );
    assert_eq!(app.count("task").await, 3);
    // Values went through the task rules: status, priority, assignee, due.
    let t = app
        .get(&format!("/api/tasks/{}", tasks[0].0), &w.mia)
        .await
        .body;
    assert_eq!(t["priority"], "critical", "{t}");
    assert_eq!(t["source"]["kind"], "import", "{t}");
    assert_eq!(t["source"]["refId"], id, "{t}");
    let t2 = app
        .get(&format!("/api/tasks/{}", tasks[2].0), &w.mia)
        .await
        .body;
    assert!(t2["completedAt"].is_string(), "{t2}");

    // The list: who, file, sha256, counts.
    let list = app.get("/api/tasks/imports", &w.mia).await.body;
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["ownerName"], "mia");
    assert_eq!(list["items"][0]["created"], 3);

    // The same file again: the dry run warns, the apply updates.
    let again = upload(&app, &w.mia, "backlog.csv", MIXED).await;
    let id2 = again["import"]["id"].as_u64().unwrap();
    let r = dry_run(&app, &w.mia, &again, w.acme.user_id).await;
    assert_eq!(r.body["updates"], 3, "{}", r.body);
    assert_eq!(r.body["sameFileImports"], json!([id]));
    app.post(
        &format!("/api/tasks/imports/{id2}/apply"),
        &w.mia,
        json!({"mode": "valid_only"}),
    )
    .await;
    let s = app.wait_import(&w.mia, id2).await;
    assert_eq!(
        (s["created"].as_u64(), s["updated"].as_u64()),
        (Some(0), Some(3)),
        "{s}"
    );
    assert_eq!(app.count("task").await, 3);

    // Undo deletes what the first import created.
    let r = app
        .post(&format!("/api/tasks/imports/{id}/undo"), &w.mia, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["deleted"], 3);
    assert_eq!(app.count("task").await, 0);
    let r = app
        .post(&format!("/api/tasks/imports/{id}/undo"), &w.mia, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    // Audited.
    let audited: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'import.%'")
            .fetch_one(&app.db)
            .await
            .unwrap_or(0);
    assert!(audited >= 4, "audited {audited}");
}

#[sqlx::test(migrations = "../migrations")]
async fn uploads_are_judged_by_content_and_size_and_refusals_store_nothing(pool: MySqlPool) {
    let mut settings = test_settings();
    settings.import_max_bytes = 10 * 1024 * 1024;
    let app = spawn_app_with(pool, settings).await;
    let w = world(&app).await;
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
    let r = app.upload_import(&w.mia, "tasks.csv", png).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.body);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("image/png"),
        "{}",
        r.body
    );
    let zip = b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
    let r = app.upload_import(&w.mia, "tasks.xlsx", zip).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.body);
    assert!(
        r.body["error"]["message"].as_str().unwrap().contains("ZIP"),
        "{}",
        r.body
    );
    let r = app.upload_import(&w.mia, "empty.csv", b"").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "empty_file");
    let big = vec![b'a'; 10 * 1024 * 1024 + 1];
    let r = app.upload_import(&w.mia, "big.csv", &big).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    let r = app
        .call(
            reqwest::Method::POST,
            "/api/tasks/import",
            Some(&w.mia.token),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Too many rows names the limit.
    let mut small = test_settings();
    small.import_max_rows = 3;
    let app2 = spawn_app_with(app.db.clone(), small).await;
    let r = app2
        .upload_import(&w.mia, "rows.csv", b"Title\na\nb\nc\nd\n")
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "limit_exceeded");
    assert_eq!(r.body["error"]["details"]["limit"], "rows");
    assert_eq!(app.count("import_session").await, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn sessions_belong_to_their_creator_and_clients_to_their_managers(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let w = world(&app).await;
    let up = upload(&app, &w.mia, "backlog.csv", MIXED).await;
    let id = up["import"]["id"].as_u64().unwrap();
    for path in [
        format!("/api/tasks/imports/{id}"),
        format!("/api/tasks/imports/{id}/preview"),
    ] {
        assert_eq!(
            app.get(&path, &w.max).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
        assert_eq!(
            app.get(&path, &w.acme).await.status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    assert_eq!(
        dry_run(&app, &w.max, &up, w.globex.user_id).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.get("/api/tasks/imports", &w.max).await.body["total"], 0);
    assert_eq!(
        app.get("/api/tasks/imports", &w.admin).await.body["total"],
        1
    );
    // Mia may not import into a client she does not manage.
    let r = dry_run(&app, &w.mia, &up, w.globex.user_id).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let s = app
        .get(&format!("/api/tasks/imports/{id}"), &w.mia)
        .await
        .body;
    assert!(s["options"].is_null(), "{s}");
    // Nor assign users outside the client.
    let r = app
        .upload_import(
            &w.mia,
            "x.csv",
            b"Title,Owner\nA,max\nB,globex@example.com\nC,mia\n",
        )
        .await;
    let r = dry_run(&app, &w.mia, &r.body, w.acme.user_id).await;
    assert_eq!(
        (r.body["valid"].as_u64(), r.body["invalid"].as_u64()),
        (Some(1), Some(2)),
        "{}",
        r.body
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn mappings_are_saved_by_name_and_per_user(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let w = world(&app).await;
    let m =
        json!({"fields": {"title": {"column": "Summary"}}, "priorityValues": {"Whenever": "low"}});
    let r = app
        .put(
            "/api/tasks/import-mappings",
            &w.mia,
            json!({"name": "Jira export", "mapping": m}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let m2 = json!({"fields": {"title": {"column": "Name"}}});
    let r = app
        .put(
            "/api/tasks/import-mappings",
            &w.mia,
            json!({"name": "Jira export", "mapping": m2}),
        )
        .await;
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    assert_eq!(r.body[0]["mapping"]["fields"]["title"]["column"], "Name");
    assert_eq!(
        app.get("/api/tasks/import-mappings", &w.max).await.body,
        json!([])
    );
    let r = app
        .put(
            "/api/tasks/import-mappings",
            &w.mia,
            json!({"name": " ", "mapping": m2}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_server_killed_mid_apply_leaves_no_partial_batch_and_the_apply_is_resumed(
    pool: MySqlPool,
) {
    let app = spawn_app(pool.clone()).await;
    let w = world(&app).await;
    let mut csv = String::from("Key,Title,Priority,Owner\n");
    for i in 0..4000 {
        csv.push_str(&format!(
            "K-{i},Task number {i},{},{}\n",
            ["Low", "High"][i % 2],
            ["mia", "acme", ""][i % 3]
        ));
    }
    let up = upload(&app, &w.mia, "big.csv", &csv).await;
    let id = up["import"]["id"].as_u64().unwrap();
    let r = dry_run(&app, &w.mia, &up, w.acme.user_id).await;
    assert_eq!(r.body["valid"], 4000, "{}", r.body);

    let database: String = sqlx::query_scalar("SELECT DATABASE()")
        .fetch_one(&pool)
        .await
        .unwrap();
    let mut first =
        ServerProcess::spawn(&database, &[("KATALUSIS_STARTER_LIBRARY", "false")]).await;
    let r = app
        .http
        .post(format!("{}/api/tasks/imports/{id}/apply", first.base))
        .bearer_auth(&w.mia.token)
        .json(&json!({"mode": "all_or_nothing"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    // Wait until the apply has written some rows, then kill it.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let done: u32 =
            sqlx::query_scalar("SELECT rows_done FROM import_session WHERE import_id = ?")
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap();
        if done >= 1 {
            break;
        }
        assert!(Instant::now() < deadline, "the apply made no progress");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.kill();
    // MySQL rolls the dead connection's transaction back.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(import_tasks(&app, id).await.len(), 0);
    assert_eq!(app.count("task").await, 0);
    assert_eq!(app.count("import_external_id").await, 0);
    let state: String = sqlx::query_scalar("SELECT state FROM import_session WHERE import_id = ?")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(state, "applying");

    // A new server takes the apply over once the lease expires and applies
    // every row exactly once.
    let _second = ServerProcess::spawn(&database, &[("KATALUSIS_STARTER_LIBRARY", "false")]).await;
    let s = app.wait_import(&w.mia, id).await;
    assert_eq!(s["state"], "applied", "{s}");
    assert_eq!(s["created"], 4000);
    assert_eq!(import_tasks(&app, id).await.len(), 4000);
    assert_eq!(app.count("import_external_id").await, 4000);
}

// ---- the batched creation writes what creating one by one writes ----

type Snapshot = std::collections::BTreeMap<&'static str, Vec<Vec<(String, Option<String>)>>>;

/// Every row of every table a task creation writes, as text, column by
/// column (read from the schema, so a new column is compared too), with
/// surrogate ids left out and task ids replaced by the task's number.
async fn snapshot(conn: &mut sqlx::MySqlConnection) -> Snapshot {
    use sqlx::Row;
    let mut out = Snapshot::new();
    for table in [
        "task",
        "task_counter",
        "task_assignee",
        "task_watcher",
        "task_share",
        "task_tag",
        "task_activity",
        "notification",
    ] {
        let cols: Vec<String> = sqlx::query_scalar(
            "SELECT CAST(COLUMN_NAME AS CHAR) FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
        )
        .bind(table)
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        let has_task = cols.iter().any(|c| c == "task_id");
        let cols: Vec<String> = cols
            .into_iter()
            .filter(|c| !["task_id", "activity_id", "notification_id"].contains(&c.as_str()))
            .collect();
        let mut select: Vec<String> = cols
            .iter()
            .map(|c| format!("CAST(x.`{c}` AS CHAR)"))
            .collect();
        let mut names = cols.clone();
        let from = if has_task && table != "task" {
            select.push("CAST(t.task_number AS CHAR)".into());
            names.push("task_number of task_id".into());
            format!("{table} x LEFT JOIN task t ON t.task_id = x.task_id")
        } else {
            format!("{table} x")
        };
        let rows = sqlx::query(&format!("SELECT {} FROM {from}", select.join(", ")))
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        let mut rows: Vec<Vec<(String, Option<String>)>> = rows
            .iter()
            .map(|r| {
                names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (n.clone(), r.get::<Option<String>, _>(i)))
                    .collect()
            })
            .collect();
        rows.sort();
        out.insert(table, rows);
    }
    out
}

#[sqlx::test(migrations = "../migrations")]
async fn a_batched_creation_writes_the_same_rows_as_creating_task_by_task(pool: MySqlPool) {
    use chrono::{TimeZone, Utc};
    use katalusis_api::auth::Role;
    use katalusis_api::tasks::batch;
    use katalusis_api::tasks::db::Viewer;
    use katalusis_api::tasks::model::{Priority, SourceKind};
    use katalusis_api::tasks::service::{create_in, NewTask};
    use sqlx::Connection;

    let app = spawn_app(pool.clone()).await;
    let w = world(&app).await;
    let (mia, acme, max, admin) = (
        w.mia.user_id,
        w.acme.user_id,
        w.max.user_id,
        w.admin.user_id,
    );
    let gone = app.user(&w.admin, "gone", "manager").await.user_id;
    app.assign(&w.admin, gone, acme).await;
    sqlx::query("UPDATE app_user SET active = FALSE WHERE user_id = ?")
        .bind(gone)
        .execute(&pool)
        .await
        .unwrap();
    // The admin wants assignments by email only: no inbox row for them.
    sqlx::query(
        "INSERT INTO notification_preference (user_id, kind, in_app, email) VALUES (?, 'assigned', FALSE, TRUE)",
    )
    .bind(admin)
    .execute(&pool)
    .await
    .unwrap();
    let viewer = Viewer {
        user_id: mia,
        role: Role::Manager,
    };
    let now = Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).unwrap();
    let task = |title: &str| NewTask {
        client_id: acme,
        title: title.into(),
        description: String::new(),
        status_id: None,
        priority: Priority::Medium,
        due_at: None,
        assignee_ids: vec![],
        watcher_ids: vec![],
        shared_with: vec![],
        tags: vec![],
        source_kind: SourceKind::Import,
        source_ref_id: Some(77),
        source_node: None,
    };
    // A task from before, at a fractional position, so both paths continue
    // the same counter and the same column.
    {
        let mut tx = pool.begin().await.unwrap();
        let (t, _, _) = create_in(&mut tx, viewer, now, task("Existing"))
            .await
            .unwrap();
        sqlx::query("UPDATE task SET position = 5000.5 WHERE task_id = ?")
            .bind(t.task_id)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let done: u64 = sqlx::query_scalar("SELECT status_id FROM task_status WHERE is_done LIMIT 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    let tasks = || {
        vec![
            NewTask {
                tags: vec![" ops".into(), "billing".into(), "ops".into()],
                assignee_ids: vec![mia, acme, mia],
                priority: Priority::Critical,
                due_at: Some(Utc.with_ymd_and_hms(2026, 12, 24, 0, 0, 0).unwrap()),
                description: "Markdown *body*".into(),
                ..task("  Write the spec  ")
            },
            NewTask {
                status_id: Some(done),
                priority: Priority::Low,
                assignee_ids: vec![admin],
                watcher_ids: vec![acme],
                ..task("Already done")
            },
            task("   "),
            NewTask {
                assignee_ids: vec![max],
                ..task("Assigned outside the client")
            },
            NewTask {
                status_id: Some(9999),
                ..task("No such status")
            },
            NewTask {
                shared_with: vec![acme],
                priority: Priority::High,
                ..task("Shared with the client")
            },
            NewTask {
                assignee_ids: vec![gone],
                ..task("Assigned to a deactivated manager")
            },
            NewTask {
                tags: (0..21).map(|i| format!("t{i}")).collect(),
                ..task("Too many tags")
            },
            NewTask {
                assignee_ids: vec![mia],
                status_id: Some(done),
                ..task("Mine, and done")
            },
        ]
    };

    // One by one, as create_in with a savepoint per task.
    let mut tx = pool.begin().await.unwrap();
    let mut one_by_one = Vec::new();
    for t in tasks() {
        let mut sp = tx.begin().await.unwrap();
        match create_in(&mut sp, viewer, now, t).await {
            Ok(_) => {
                sp.commit().await.unwrap();
                one_by_one.push(Ok(()));
            }
            Err(e) => {
                sp.rollback().await.unwrap();
                one_by_one.push(Err(format!("{e:?}")));
            }
        }
    }
    let expected = snapshot(&mut tx).await;
    tx.rollback().await.unwrap();

    // The same tasks in one batch.
    let mut tx = pool.begin().await.unwrap();
    let answers = batch::create_many_in(&mut tx, viewer, now, acme, tasks())
        .await
        .unwrap();
    let batched: Vec<Result<(), String>> = answers
        .into_iter()
        .map(|a| a.map(|_| ()).map_err(|e| format!("{e:?}")))
        .collect();
    let got = snapshot(&mut tx).await;
    tx.rollback().await.unwrap();

    assert_eq!(batched, one_by_one);
    assert_eq!(
        one_by_one.iter().filter(|r| r.is_ok()).count(),
        4,
        "{one_by_one:?}"
    );
    for (table, rows) in &expected {
        assert!(!rows.is_empty(), "{table} has no rows to compare");
        assert_eq!(rows.len(), got[table].len(), "{table}");
        for (e, g) in rows.iter().zip(&got[table]) {
            assert_eq!(e, g, "{table}");
        }
    }
    // The rules applied: tags normalised, the actor not notified, the
    // admin's preference kept, a done task completed, SLA deadlines set.
    let tags: Vec<Vec<(String, Option<String>)>> = got["task_tag"].clone();
    assert_eq!(tags.len(), 2, "{tags:?}");
    let notified: Vec<&Option<String>> = got["notification"]
        .iter()
        .map(|r| &r.iter().find(|(c, _)| c == "user_id").unwrap().1)
        .collect();
    assert_eq!(notified, [&Some(acme.to_string())]);
}
