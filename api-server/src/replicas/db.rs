//! The SQL of replicas: heartbeats, leases and run claims. Every time
//! comparison uses the database's clock, so replicas with skewed clocks
//! agree on who is alive.

use sqlx::{MySql, MySqlPool, QueryBuilder};

/// Registers this replica (or renews it after a restart under the same id).
pub async fn register(db: &MySqlPool, id: &str, host: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO replica (replica_id, host, started_at, heartbeat_at) VALUES (?, ?, NOW(3), NOW(3)) \
         ON DUPLICATE KEY UPDATE host = VALUES(host), started_at = NOW(3), heartbeat_at = NOW(3)",
    )
    .bind(id)
    .bind(host)
    .execute(db)
    .await
    .map(drop)
}

/// Renews the heartbeat; false when the row is gone (another replica
/// removed it as long dead), and then it is registered again.
pub async fn heartbeat(db: &MySqlPool, id: &str, host: &str) -> Result<(), sqlx::Error> {
    let r = sqlx::query("UPDATE replica SET heartbeat_at = NOW(3) WHERE replica_id = ?")
        .bind(id)
        .execute(db)
        .await?;
    if r.rows_affected() == 0 {
        register(db, id, host).await?;
    }
    Ok(())
}

/// Leaves: leases and claimed runs pass to the others at once.
pub async fn leave(db: &MySqlPool, id: &str) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM lease WHERE holder = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM replica WHERE replica_id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// The replicas whose heartbeat is younger than `ttl_seconds`.
pub async fn alive(db: &MySqlPool, ttl_seconds: u64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT replica_id FROM replica WHERE heartbeat_at >= NOW(3) - INTERVAL ? SECOND ORDER BY replica_id",
    )
    .bind(ttl_seconds)
    .fetch_all(db)
    .await
}

/// Removes replicas dead for much longer than the TTL (they left no one to
/// clean up after them); their rows are no longer needed to tell them dead.
pub async fn forget_dead(db: &MySqlPool, older_than_seconds: u64) -> Result<u64, sqlx::Error> {
    sqlx::query("DELETE FROM replica WHERE heartbeat_at < NOW(3) - INTERVAL ? SECOND")
        .bind(older_than_seconds)
        .execute(db)
        .await
        .map(|r| r.rows_affected())
}

/// Takes lease `name` for `me` unless a live replica holds it; true when
/// `me` holds it afterwards.
pub async fn acquire(
    db: &MySqlPool,
    name: &str,
    me: &str,
    ttl_seconds: u64,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let holder: Option<String> =
        sqlx::query_scalar("SELECT holder FROM lease WHERE name = ? FOR UPDATE")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?;
    let take = match holder.as_deref() {
        Some(h) if h == me => return tx.commit().await.map(|()| true),
        Some(h) => {
            let live: Option<i32> = sqlx::query_scalar(
                "SELECT 1 FROM replica WHERE replica_id = ? AND heartbeat_at >= NOW(3) - INTERVAL ? SECOND",
            )
            .bind(h)
            .bind(ttl_seconds)
            .fetch_optional(&mut *tx)
            .await?;
            live.is_none()
        }
        None => true,
    };
    if take {
        sqlx::query(
            "INSERT INTO lease (name, holder, acquired_at) VALUES (?, ?, NOW(3)) \
             ON DUPLICATE KEY UPDATE holder = VALUES(holder), acquired_at = NOW(3)",
        )
        .bind(name)
        .bind(me)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(take)
}

/// Who holds lease `name`, if anyone.
pub async fn holder(db: &MySqlPool, name: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT holder FROM lease WHERE name = ?")
        .bind(name)
        .fetch_optional(db)
        .await
}

/// Claims for `me` the local runs after `after_run_id` that are unfinished
/// and claimed by no replica in `alive` (never claimed, or claimed by a dead one). Rows another
/// transaction holds (a live driver storing its state, a replica claiming at
/// the same moment) are skipped, so each run is claimed once.
pub async fn claim_orphans(
    db: &MySqlPool,
    me: &str,
    alive: &[String],
    after_run_id: u64,
    limit: u32,
) -> Result<Vec<u64>, sqlx::Error> {
    let mut tx = db.begin().await?;
    let mut qb = QueryBuilder::<MySql>::new("SELECT run_id FROM run WHERE run_id > ");
    qb.push_bind(after_run_id).push(" AND status IN (");
    let mut phases = qb.separated(", ");
    for p in katalusis_crds::plan::RunPhase::UNFINISHED {
        phases.push_bind(p.as_str());
    }
    qb.push(") AND ingest_token_sha256 IS NULL AND (claimed_by IS NULL");
    if !alive.is_empty() {
        qb.push(" OR claimed_by NOT IN (");
        let mut ids = qb.separated(", ");
        for a in alive {
            ids.push_bind(a);
        }
        qb.push(")");
    }
    qb.push(") ORDER BY run_id LIMIT ")
        .push_bind(limit)
        .push(" FOR UPDATE SKIP LOCKED");
    let ids: Vec<u64> = qb.build_query_scalar().fetch_all(&mut *tx).await?;
    if !ids.is_empty() {
        let mut up = QueryBuilder::<MySql>::new("UPDATE run SET claimed_by = ");
        up.push_bind(me).push(" WHERE run_id IN (");
        let mut s = up.separated(", ");
        for id in &ids {
            s.push_bind(*id);
        }
        up.push(")");
        up.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(ids)
}

/// Gives back the claim of a run this replica could not resume, so the next
/// round (here or on another replica) tries again.
pub async fn release(db: &MySqlPool, run_id: u64, me: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE run SET claimed_by = NULL WHERE run_id = ? AND claimed_by = ?")
        .bind(run_id)
        .bind(me)
        .execute(db)
        .await?;
    Ok(())
}

/// Claims a run just played here; false when another replica took it first.
pub async fn claim_new(db: &MySqlPool, run_id: u64, me: &str) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE run SET claimed_by = ? WHERE run_id = ? AND (claimed_by IS NULL OR claimed_by = ?)",
    )
    .bind(me)
    .bind(run_id)
    .bind(me)
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Of `run_ids`, those `me` still holds, locked until the transaction ends
/// so no replica takes them over while their state is written.
pub async fn lock_claimed(
    tx: &mut sqlx::Transaction<'_, MySql>,
    run_ids: &[u64],
    me: &str,
) -> Result<Vec<u64>, sqlx::Error> {
    if run_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut qb = QueryBuilder::<MySql>::new("SELECT run_id FROM run WHERE claimed_by = ");
    qb.push_bind(me).push(" AND run_id IN (");
    let mut s = qb.separated(", ");
    for id in run_ids {
        s.push_bind(*id);
    }
    qb.push(") FOR UPDATE");
    qb.build_query_scalar().fetch_all(&mut **tx).await
}
