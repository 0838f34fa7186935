//! The statistics behind rule suggestions, computed in SQL over the
//! caller's scope only: runs through the run scope (`db::runs::push_scope`),
//! tasks through the task list's visibility rule. A run started by a
//! trigger (it has a firing) is not "played by hand".

use chrono::{Duration, Utc};
use sqlx::{MySql, MySqlPool, QueryBuilder};

use super::model::{
    import_follow_pattern, run_follow_pattern, schedule_pattern, tag_pattern, Pattern, FOLLOW_MIN,
    FOLLOW_MINUTES, FOLLOW_SHARE, SCHEDULE_MIN_DAYS, TAG_MIN, TAG_SHARE, WINDOW_DAYS,
};
use crate::auth::{ClientScope, CurrentUser};
use crate::db;
use crate::tasks::db::{push_visible, Viewer};

const MANUAL: &str = " AND NOT EXISTS (SELECT 1 FROM trigger_firing f WHERE f.run_id = r.run_id)";

/// Every pattern found in the caller's scope, unordered.
pub async fn patterns(db: &MySqlPool, user: &CurrentUser) -> Result<Vec<Pattern>, sqlx::Error> {
    let scope = ClientScope::of(user);
    let mut out = schedules(db, scope).await?;
    out.extend(run_follow_ups(db, scope).await?);
    out.extend(import_follow_ups(db, scope).await?);
    let viewer = Viewer {
        user_id: user.id,
        role: user.role,
    };
    out.extend(tag_assignees(db, scope, viewer).await?);
    Ok(out)
}

fn since() -> chrono::DateTime<Utc> {
    Utc::now() - Duration::days(WINDOW_DAYS.into())
}

/// Workflows played by hand in the same hour on many days, without a
/// schedule yet.
async fn schedules(db: &MySqlPool, scope: ClientScope) -> Result<Vec<Pattern>, sqlx::Error> {
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT r.workflow_id, w.name, r.client_id, CAST(HOUR(r.created_at) AS UNSIGNED) AS h, \
         CAST(MIN(MINUTE(r.created_at)) AS UNSIGNED) AS m, \
         CAST(COUNT(DISTINCT DATE(r.created_at)) AS UNSIGNED) AS days, \
         CAST(SUM(WEEKDAY(r.created_at) >= 5) AS UNSIGNED) AS weekend \
         FROM run r JOIN workflow w ON w.workflow_id = r.workflow_id AND w.deleted_at IS NULL \
         WHERE r.created_at >= ",
    );
    q.push_bind(since()).push(MANUAL).push(
        " AND NOT EXISTS (SELECT 1 FROM workflow_trigger t WHERE t.workflow_id = r.workflow_id AND t.kind = 'schedule')",
    );
    db::runs::push_scope(&mut q, scope);
    q.push(" GROUP BY r.workflow_id, w.name, r.client_id, h HAVING COUNT(DISTINCT DATE(r.created_at)) >= ")
        .push_bind(SCHEDULE_MIN_DAYS);
    let rows: Vec<(u64, String, u64, u64, u64, u64, u64)> =
        q.build_query_as().fetch_all(db).await?;
    Ok(rows
        .into_iter()
        .map(|(wf, name, client, h, m, days, weekend)| {
            schedule_pattern(
                wf,
                &name,
                client,
                h as u32,
                m as u32,
                days as u32,
                weekend == 0,
            )
        })
        .collect())
}

/// Runs of one workflow that end and are followed, within minutes, by a
/// Play of another workflow of the same client.
async fn run_follow_ups(db: &MySqlPool, scope: ClientScope) -> Result<Vec<Pattern>, sqlx::Error> {
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT s.workflow_id, ws.name, s.status, r.workflow_id, w.name, r.client_id, \
         CAST(COUNT(DISTINCT s.run_id) AS UNSIGNED) \
         FROM run s JOIN run r ON r.client_id = s.client_id AND r.workflow_id <> s.workflow_id \
         AND r.created_at >= s.finished_at AND r.created_at <= DATE_ADD(s.finished_at, INTERVAL ",
    );
    q.push_bind(FOLLOW_MINUTES)
        .push(
            " MINUTE) JOIN workflow w ON w.workflow_id = r.workflow_id AND w.deleted_at IS NULL \
               JOIN workflow ws ON ws.workflow_id = s.workflow_id \
               WHERE s.finished_at >= ",
        )
        .push_bind(since())
        .push(MANUAL);
    db::runs::push_scope(&mut q, scope);
    q.push(
        " GROUP BY s.workflow_id, ws.name, s.status, r.workflow_id, w.name, r.client_id \
            HAVING COUNT(DISTINCT s.run_id) >= ",
    )
    .push_bind(FOLLOW_MIN);
    let pairs: Vec<(u64, String, String, u64, String, u64, u64)> =
        q.build_query_as().fetch_all(db).await?;
    let mut out = Vec::new();
    for (source, source_name, status, target, target_name, client, followed) in pairs {
        let (total,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM run WHERE workflow_id = ? AND status = ? AND finished_at >= ?",
        )
        .bind(source)
        .bind(&status)
        .bind(since())
        .fetch_one(db)
        .await?;
        let total = total.max(1) as u32;
        if f64::from(followed as u32) / f64::from(total) >= FOLLOW_SHARE {
            out.push(run_follow_pattern(
                source,
                &source_name,
                &status,
                target,
                &target_name,
                client,
                followed as u32,
                total,
            ));
        }
    }
    Ok(out)
}

/// Applied task imports followed, within minutes, by a Play of a workflow
/// of the same client.
async fn import_follow_ups(
    db: &MySqlPool,
    scope: ClientScope,
) -> Result<Vec<Pattern>, sqlx::Error> {
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT r.workflow_id, w.name, r.client_id, CAST(COUNT(DISTINCT i.import_id) AS UNSIGNED) \
         FROM import_session i JOIN run r ON r.client_id = i.client_id \
         AND r.created_at >= i.applied_at AND r.created_at <= DATE_ADD(i.applied_at, INTERVAL ",
    );
    q.push_bind(FOLLOW_MINUTES)
        .push(
            " MINUTE) JOIN workflow w ON w.workflow_id = r.workflow_id AND w.deleted_at IS NULL \
               WHERE i.state = 'applied' AND i.applied_at >= ",
        )
        .push_bind(since())
        .push(MANUAL);
    db::runs::push_scope(&mut q, scope);
    q.push(" GROUP BY r.workflow_id, w.name, r.client_id HAVING COUNT(DISTINCT i.import_id) >= ")
        .push_bind(FOLLOW_MIN);
    let rows: Vec<(u64, String, u64, u64)> = q.build_query_as().fetch_all(db).await?;
    let mut out = Vec::new();
    for (wf, name, client, followed) in rows {
        let (imports,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM import_session WHERE client_id = ? AND state = 'applied' AND applied_at >= ?",
        )
        .bind(client)
        .bind(since())
        .fetch_one(db)
        .await?;
        let imports = imports.max(1) as u32;
        if f64::from(followed as u32) / f64::from(imports) >= FOLLOW_SHARE {
            out.push(import_follow_pattern(
                wf,
                &name,
                client,
                followed as u32,
                imports,
            ));
        }
    }
    Ok(out)
}

/// Tags whose tasks nearly all have one assignee, over the clients in the
/// caller's scope (whose tasks they see in full) and tasks they may see.
async fn tag_assignees(
    db: &MySqlPool,
    scope: ClientScope,
    v: Viewer,
) -> Result<Vec<Pattern>, sqlx::Error> {
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT tt.tag, t.client_id, c.display_name, u.display_name, \
         CAST(COUNT(*) AS UNSIGNED) AS assigned, \
         CAST((SELECT COUNT(*) FROM task t2 JOIN task_tag x ON x.task_id = t2.task_id \
               WHERE x.tag = tt.tag AND t2.client_id = t.client_id AND t2.created_at >= ",
    );
    q.push_bind(since())
        .push(
            ") AS UNSIGNED) AS tagged \
             FROM task t JOIN task_tag tt ON tt.task_id = t.task_id \
             JOIN task_assignee a ON a.task_id = t.task_id \
             JOIN app_user u ON u.user_id = a.user_id JOIN app_user c ON c.user_id = t.client_id \
             WHERE t.created_at >= ",
        )
        .push_bind(since());
    scope.push_filter(&mut q, "t.client_id");
    push_visible(&mut q, v);
    q.push(
        " GROUP BY tt.tag, t.client_id, c.display_name, a.user_id, u.display_name HAVING COUNT(*) >= ",
    )
    .push_bind(TAG_MIN);
    let rows: Vec<(String, u64, String, String, u64, u64)> =
        q.build_query_as().fetch_all(db).await?;
    Ok(rows
        .into_iter()
        .filter(|r| r.5 > 0 && (r.4 as f64) / (r.5 as f64) >= TAG_SHARE)
        .map(|(tag, client, client_name, assignee, assigned, tagged)| {
            tag_pattern(
                &tag,
                client,
                &client_name,
                &assignee,
                assigned as u32,
                tagged as u32,
            )
        })
        .collect())
}
