//! The run store commits the entries of many runs in one transaction; a run
//! whose entries the database refuses must not hold the others back, and
//! must not lose its own entries either.

use std::time::Duration;

use katalusis_api::executor::events::{kind, EventSink, RunEvent, RunStore};
use serde_json::json;
use sqlx::MySqlPool;
use tokio::sync::broadcast;

use crate::runs::{cast, start, text_pipeline, wait_final, Cast};
use crate::support::{spawn_app, TestApp};

async fn stored(db: &MySqlPool, run: u64, after: u64) -> Vec<(u64, String)> {
    sqlx::query_as("SELECT seq, data FROM run_event WHERE run_id = ? AND seq > ? ORDER BY seq")
        .bind(run)
        .bind(after)
        .fetch_all(db)
        .await
        .unwrap()
}

/// An app with a run played to its end: (app, cast, run, its last sequence number).
async fn finished_run(pool: MySqlPool) -> (TestApp, Cast, u64, u64) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    let wf = text_pipeline(&app, &c).await;
    let run = start(&app, &c.manager, wf, json!({})).await;
    wait_final(&app, &c.manager, run).await;
    let last: u64 = sqlx::query_scalar("SELECT MAX(seq) FROM run_event WHERE run_id = ?")
        .bind(run)
        .fetch_one(&app.db)
        .await
        .unwrap();
    (app, c, run, last)
}

/// Asserts the run's events after `after` are `{"i": 0}` … `{"i": n - 1}`,
/// stored and published in order under the next sequence numbers.
async fn assert_progress_stored_and_published(
    db: &MySqlPool,
    published: &mut broadcast::Receiver<RunEvent>,
    run: u64,
    after: u64,
    n: u64,
) {
    let rows = stored(db, run, after).await;
    let seqs: Vec<u64> = rows.iter().map(|r| r.0).collect();
    assert_eq!(seqs, (after + 1..=after + n).collect::<Vec<_>>());
    for (i, (_, data)) in rows.iter().enumerate() {
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(data).unwrap(),
            json!({"i": i}),
            "event {i}"
        );
    }
    for i in 0..n {
        let ev = published.try_recv().expect("every event is published");
        assert_eq!((ev.run_id, ev.seq), (run, after + 1 + i));
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_run_whose_entries_the_database_refuses_does_not_hold_back_the_others(pool: MySqlPool) {
    let (app, c, run, last) = finished_run(pool).await;

    let store = RunStore::start(app.db.clone(), app.state.executor.replica().clone());
    let (live, mut published) = broadcast::channel(64);
    let good = EventSink::start(&store, run, c.client.user_id, last, live.clone(), false);
    // No such run: the database refuses its events (foreign key).
    let orphan = run + 1_000_000;
    let bad = EventSink::start(&store, orphan, c.client.user_id, 0, live, false);
    for i in 0..5 {
        bad.emit(kind::PROGRESS, json!({"i": i}));
        good.emit(kind::PROGRESS, json!({"i": i}));
    }
    tokio::time::timeout(Duration::from_secs(10), good.flush())
        .await
        .expect("the good run's entries are committed although they shared a batch with the refused ones");

    assert_progress_stored_and_published(&app.db, &mut published, run, last, 5).await;
    assert!(
        published.try_recv().is_err(),
        "nothing of the refused run is published"
    );

    // The refused run is retried on its own, its entries kept in order.
    let mut changes = bad.status_changes();
    tokio::time::timeout(Duration::from_secs(10), async {
        while changes.borrow_and_update().failing_since.is_none() {
            changes.changed().await.unwrap();
        }
    })
    .await
    .expect("the refused run's store reports that it is failing");
    assert_eq!(bad.status().unstored, 5);
    assert_eq!(store.health().backlog().failing_runs, 1);
    assert_eq!(store.health().backlog().unstored, 5);

    // The good run keeps flowing while the other one retries.
    good.emit(kind::PROGRESS, json!({"i": 5}));
    tokio::time::timeout(Duration::from_secs(10), good.close())
        .await
        .expect("closing the good run's store waits only for its own entries");
    assert_eq!(stored(&app.db, run, last).await.len(), 6);
    assert_eq!(stored(&app.db, orphan, 0).await.len(), 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_run_claimed_by_another_replica_is_fenced_and_nothing_more_of_it_is_stored(
    pool: MySqlPool,
) {
    let (app, c, run, last) = finished_run(pool).await;
    let me = app.state.executor.replica().id().to_owned();
    let claimed: Option<String> = sqlx::query_scalar("SELECT claimed_by FROM run WHERE run_id = ?")
        .bind(run)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(
        claimed.as_deref(),
        Some(me.as_str()),
        "Play claims the run for its replica"
    );

    let store = RunStore::start(app.db.clone(), app.state.executor.replica().clone());
    let (live, mut published) = broadcast::channel(64);
    let sink = EventSink::start(&store, run, c.client.user_id, last, live, true);
    sink.emit(kind::PROGRESS, json!({"i": 0}));
    sink.flush().await;
    assert_eq!(
        stored(&app.db, run, last).await.len(),
        1,
        "stored while the claim is ours"
    );
    assert!(!sink.status().fenced);
    published.try_recv().expect("published");

    // Another replica takes the run over.
    sqlx::query("UPDATE run SET claimed_by = 'another-replica' WHERE run_id = ?")
        .bind(run)
        .execute(&app.db)
        .await
        .unwrap();
    for i in 1..4 {
        sink.emit(kind::PROGRESS, json!({"i": i}));
    }
    tokio::time::timeout(Duration::from_secs(10), sink.flush())
        .await
        .expect("a fenced run's flush is answered");
    assert!(sink.status().fenced, "the driver is told to stop");
    assert_eq!(sink.status().unstored, 0);
    assert_eq!(
        stored(&app.db, run, last).await.len(),
        1,
        "nothing more is stored"
    );
    assert!(published.try_recv().is_err(), "nothing more is published");
    sink.emit(kind::PROGRESS, json!({"i": 9}));
    sink.flush().await;
    assert_eq!(stored(&app.db, run, last).await.len(), 1);
}

/// A commit whose answer is lost (the database went away as it committed)
/// is retried together with what the run queued meanwhile: the entries it
/// stored are not stored twice, and the later ones are not taken for stored.
#[sqlx::test(migrations = "../migrations")]
async fn a_retry_after_a_commit_whose_answer_was_lost_stores_what_was_queued_since(
    pool: MySqlPool,
) {
    let (app, c, run, last) = finished_run(pool).await;
    // The lost commit: the run's first two events are stored, and its store
    // does not know it.
    for i in 0..2u64 {
        sqlx::query("INSERT INTO run_event (run_id, seq, kind, data, created_at) VALUES (?, ?, ?, ?, NOW(3))")
            .bind(run)
            .bind(last + 1 + i)
            .bind(kind::PROGRESS)
            .bind(json!({"i": i}).to_string())
            .execute(&app.db)
            .await
            .unwrap();
    }

    let store = RunStore::start(app.db.clone(), app.state.executor.replica().clone());
    let (live, mut published) = broadcast::channel(64);
    let sink = EventSink::start(&store, run, c.client.user_id, last, live, true);
    for i in 0..5 {
        sink.emit(kind::PROGRESS, json!({"i": i}));
    }
    tokio::time::timeout(Duration::from_secs(10), sink.flush())
        .await
        .expect("the retried entries are committed");

    assert_progress_stored_and_published(&app.db, &mut published, run, last, 5).await;
    assert_eq!(sink.status().unstored, 0);
    assert!(sink.status().failing_since.is_none());
}
