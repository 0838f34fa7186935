//! Retention deletes exactly the rows older than each table's setting, in
//! batches of the configured size, and leaves everything else.

use std::time::Duration;

use chrono::{DateTime, Duration as Days, Utc};
use katalusis_api::executor::retention::{purge, Policy};
use sqlx::MySqlPool;

use crate::support::*;

async fn run_row(app: &TestApp, client: u64, by: u64, finished: bool) -> u64 {
    let wf = sqlx::query(
        "INSERT INTO workflow (client_id, name, description, graph, revision, created_by, created_at, \
         updated_by, updated_at) VALUES (?, 'flow', '', '{}', 1, ?, NOW(6), ?, NOW(6))",
    )
    .bind(client)
    .bind(by)
    .bind(by)
    .execute(&app.db)
    .await
    .unwrap()
    .last_insert_id();
    sqlx::query(
        "INSERT INTO run (workflow_id, workflow_revision, client_id, started_by, status, failure_policy, \
         snapshot, node_states, created_at, finished_at) VALUES (?, 1, ?, ?, ?, 'continue', '{}', '{}', NOW(6), ?)",
    )
    .bind(wf)
    .bind(client)
    .bind(by)
    .bind(if finished { "succeeded" } else { "running" })
    .bind(finished.then(Utc::now))
    .execute(&app.db)
    .await
    .unwrap()
    .last_insert_id()
}

async fn log_line(app: &TestApp, run: u64, seq: u64, ts: DateTime<Utc>) {
    sqlx::query(
        "INSERT INTO node_log (run_id, seq, node_id, attempt, ts, level, stream, message) \
         VALUES (?, ?, 'a', 1, ?, 'info', 'stdout', 'line')",
    )
    .bind(run)
    .bind(seq)
    .bind(ts)
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO run_event (run_id, seq, kind, data, created_at) VALUES (?, ?, 'log', '{}', ?)",
    )
    .bind(run)
    .bind(seq)
    .bind(ts)
    .execute(&app.db)
    .await
    .unwrap();
}

async fn audit_row(app: &TestApp, at: DateTime<Utc>) {
    sqlx::query(
        "INSERT INTO audit_log (at, action, outcome, status, request_id) VALUES (?, 'x', 'success', 200, 'r')",
    )
    .bind(at)
    .execute(&app.db)
    .await
    .unwrap();
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.db).await.unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn retention_deletes_exactly_the_older_rows_in_batches(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    let client = app.user(&admin, "carl", "client").await.user_id;
    let now = Utc::now();
    let cutoff_logs = now - Days::days(7);
    let cutoff_audit = now - Days::days(30);
    let done = run_row(&app, client, admin.user_id, true).await;
    let running = run_row(&app, client, admin.user_id, false).await;
    // 5 lines older than 7 days, one exactly at the cutoff, 3 younger.
    for (seq, age) in [(1, 20), (2, 10), (3, 9), (4, 8), (5, 8)] {
        log_line(&app, done, seq, now - Days::days(age)).await;
    }
    log_line(&app, done, 6, cutoff_logs).await;
    for seq in 7..10 {
        log_line(&app, done, seq, now - Days::days(1)).await;
    }
    // An unfinished run keeps even old lines: its live stream resumes from them.
    log_line(&app, running, 1, now - Days::days(50)).await;
    // 7 audit rows older than 30 days, 4 younger.
    for age in [31, 40, 50, 60, 70, 80, 365] {
        audit_row(&app, now - Days::days(age)).await;
    }
    for age in [0, 1, 29, 30] {
        audit_row(&app, now - Days::days(age) + Days::seconds(1)).await;
    }
    let audit_before = count(&app, "SELECT COUNT(*) FROM audit_log").await;

    let policy = Policy {
        run_events_days: None,
        log_lines_days: Some(7),
        files_days: None,
        audit_days: Some(30),
        batch_rows: 2,
    };
    let purged = purge(&app.db, &policy, now, Duration::ZERO).await.unwrap();

    assert_eq!(purged.log_lines, 5);
    assert_eq!(purged.audit, 7);
    assert_eq!(purged.run_events, 0, "events have no setting here");
    // Batches of 2: lines 2+2+1 (3 statements), audit 2+2+2+1 (4).
    assert_eq!(purged.batches, 7);
    let lines: Vec<u64> =
        sqlx::query_scalar("SELECT seq FROM node_log WHERE run_id = ? ORDER BY seq")
            .bind(done)
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(lines, vec![6, 7, 8, 9]);
    assert_eq!(
        count(
            &app,
            &format!("SELECT COUNT(*) FROM node_log WHERE run_id = {running}")
        )
        .await,
        1
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM run_event").await, 10);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM audit_log").await,
        audit_before - 7
    );
    let oldest: DateTime<Utc> = sqlx::query_scalar("SELECT MIN(at) FROM audit_log")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(oldest >= cutoff_audit, "{oldest} < {cutoff_audit}");

    // A second purge finds nothing: one empty batch per configured table.
    let again = purge(&app.db, &policy, now, Duration::ZERO).await.unwrap();
    assert_eq!((again.rows(), again.batches), (0, 2));
}

#[sqlx::test(migrations = "../migrations")]
async fn storage_shows_the_table_sizes_and_the_retention_in_force(pool: MySqlPool) {
    let mut settings = test_settings();
    settings.run_retention_days = Some(90);
    settings.retention_log_lines_days = Some(14);
    settings.retention_audit_days = Some(365);
    settings.retention_batch_rows = 250;
    let app = spawn_app_with(pool, settings).await;
    let admin = app.admin().await;
    let r = app.get("/api/admin/storage", &admin).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    // Each kind on its own setting; unset run kinds fall back to the run default.
    assert_eq!(
        r.body["retention"],
        serde_json::json!({"runEventsDays": 90, "logLinesDays": 14, "filesDays": 90,
                           "auditDays": 365, "batchRows": 250})
    );
    let tables = r.body["tables"].as_array().unwrap();
    let names: Vec<&str> = tables
        .iter()
        .map(|t| t["table"].as_str().unwrap())
        .collect();
    for t in [
        "run",
        "node_log",
        "run_event",
        "run_file",
        "audit_log",
        "task",
    ] {
        assert!(names.contains(&t), "{t} missing from {names:?}");
    }
    // Largest first, and the total is their sum.
    let size = |t: &serde_json::Value| {
        t["dataBytes"].as_u64().unwrap() + t["indexBytes"].as_u64().unwrap()
    };
    assert!(tables.windows(2).all(|w| size(&w[0]) >= size(&w[1])));
    assert_eq!(
        r.body["totalBytes"].as_u64().unwrap(),
        tables.iter().map(size).sum::<u64>()
    );
    assert!(r.body["totalBytes"].as_u64().unwrap() > 0);
}
