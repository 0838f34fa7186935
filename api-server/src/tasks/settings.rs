//! Replacing the task settings: statuses, transitions, SLA targets and the
//! attachment limit, checked as a whole and written in one transaction.

use chrono::{DateTime, Utc};
use katalusis_crds::FieldError;
use sqlx::MySqlPool;

use super::http::TaskSettings;
use super::service::TaskError;

/// Largest attachment limit an admin may set: one row must fit MySQL's and
/// MariaDB's default `max_allowed_packet`.
pub const MAX_ATTACHMENT_BYTES: u64 = 15 * 1024 * 1024;

pub async fn replace(
    db: &MySqlPool,
    by: u64,
    s: TaskSettings,
    now: DateTime<Utc>,
) -> Result<(), TaskError> {
    let mut errs = Vec::new();
    if s.statuses.is_empty() || s.statuses.len() > 30 {
        errs.push(FieldError::new("statuses", "must list 1-30 statuses"));
    }
    let mut names: Vec<&str> = Vec::new();
    for (i, st) in s.statuses.iter().enumerate() {
        let n = st.name.trim();
        if n.is_empty() || st.name.chars().count() > 64 || n.chars().any(char::is_control) {
            errs.push(FieldError::new(
                format!("statuses[{i}].name"),
                "must be 1-64 characters",
            ));
        }
        if names.iter().any(|m| m.eq_ignore_ascii_case(n)) {
            errs.push(FieldError::new(
                format!("statuses[{i}].name"),
                "is used twice",
            ));
        }
        names.push(n);
    }
    for (i, t) in s.transitions.iter().enumerate() {
        for (which, name) in [("from", &t.from), ("to", &t.to)] {
            if !names.contains(&name.trim()) {
                errs.push(FieldError::new(
                    format!("transitions[{i}].{which}"),
                    "is not one of the statuses",
                ));
            }
        }
        if t.from.trim() == t.to.trim() {
            errs.push(FieldError::new(
                format!("transitions[{i}]"),
                "must connect two different statuses",
            ));
        }
    }
    if !(1024..=MAX_ATTACHMENT_BYTES).contains(&s.attachment_max_bytes) {
        errs.push(FieldError::new(
            "attachmentMaxBytes",
            format!("must be between 1024 and {MAX_ATTACHMENT_BYTES}"),
        ));
    }
    for (i, t) in s.sla_targets.iter().enumerate() {
        if t.target_minutes
            .is_some_and(|m| m == 0 || m > 365 * 24 * 60)
        {
            errs.push(FieldError::new(
                format!("slaTargets[{i}].targetMinutes"),
                "must be between 1 and 525600, or null",
            ));
        }
    }
    if !errs.is_empty() {
        return Err(TaskError::Invalid(errs));
    }

    let mut tx = db.begin().await?;
    let existing = super::db::statuses(&mut *tx).await?;
    for st in s.statuses.iter().filter_map(|st| st.id) {
        if !existing.iter().any(|e| e.status_id == st) {
            return Err(TaskError::Invalid(vec![FieldError::new(
                "statuses",
                format!("status {st} does not exist"),
            )]));
        }
    }
    for gone in existing
        .iter()
        .filter(|e| !s.statuses.iter().any(|st| st.id == Some(e.status_id)))
    {
        if super::db::task_count_in_status(&mut *tx, gone.status_id).await? > 0 {
            return Err(TaskError::Conflict(format!(
                "status `{}` still has tasks; move them before deleting it",
                gone.name
            )));
        }
        sqlx::query("DELETE FROM task_status WHERE status_id = ?")
            .bind(gone.status_id)
            .execute(&mut *tx)
            .await?;
    }
    // Temporary names first, so swapping two names never trips the unique key.
    for e in &existing {
        sqlx::query("UPDATE task_status SET name = ? WHERE status_id = ?")
            .bind(format!("\u{1}{}", e.status_id))
            .bind(e.status_id)
            .execute(&mut *tx)
            .await?;
    }
    let mut ids = Vec::new();
    for (i, st) in s.statuses.iter().enumerate() {
        let position = i as i32 + 1;
        let id = match st.id {
            Some(id) => {
                sqlx::query(
                    "UPDATE task_status SET name = ?, position = ?, is_done = ? WHERE status_id = ?",
                )
                .bind(st.name.trim())
                .bind(position)
                .bind(st.is_done)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                id
            }
            None => sqlx::query(
                "INSERT INTO task_status (name, position, is_done, created_at) VALUES (?, ?, ?, ?)",
            )
            .bind(st.name.trim())
            .bind(position)
            .bind(st.is_done)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .last_insert_id(),
        };
        ids.push((st.name.trim().to_string(), id));
    }
    sqlx::query("DELETE FROM task_transition")
        .execute(&mut *tx)
        .await?;
    let id_of = |n: &str| ids.iter().find(|(name, _)| name == n.trim()).map(|p| p.1);
    for t in &s.transitions {
        if let (Some(f), Some(to)) = (id_of(&t.from), id_of(&t.to)) {
            sqlx::query(
                "INSERT IGNORE INTO task_transition (from_status_id, to_status_id) VALUES (?, ?)",
            )
            .bind(f)
            .bind(to)
            .execute(&mut *tx)
            .await?;
        }
    }
    for t in &s.sla_targets {
        sqlx::query(
            "INSERT INTO task_sla_target (priority, target_minutes) VALUES (?, ?) \
             ON DUPLICATE KEY UPDATE target_minutes = VALUES(target_minutes)",
        )
        .bind(t.priority)
        .bind(t.target_minutes)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "UPDATE task_setting SET attachment_max_bytes = ?, updated_by = ?, updated_at = ? WHERE setting_id = 1",
    )
    .bind(s.attachment_max_bytes)
    .bind(by)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}
