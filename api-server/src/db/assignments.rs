use chrono::Utc;
use sqlx::MySqlPool;

use super::users::User;

pub async fn link(db: &MySqlPool, manager: u64, client: u64, by: u64) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "INSERT INTO manager_client (manager_id, client_id, created_at, created_by) VALUES (?, ?, ?, ?)",
    )
    .bind(manager)
    .bind(client)
    .bind(Utc::now())
    .bind(by)
    .execute(db)
    .await;
    match r {
        Ok(_) => Ok(true),
        Err(e) if super::is_duplicate(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

pub async fn unlink(db: &MySqlPool, manager: u64, client: u64) -> Result<bool, sqlx::Error> {
    let r = sqlx::query("DELETE FROM manager_client WHERE manager_id = ? AND client_id = ?")
        .bind(manager)
        .bind(client)
        .execute(db)
        .await?;
    Ok(r.rows_affected() == 1)
}

const USER_COLS: &str =
    "u.user_id, u.username, u.email, u.display_name, u.role, u.active, u.created_at, u.updated_at";

pub async fn clients_of(db: &MySqlPool, manager: u64) -> Result<Vec<User>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {USER_COLS} FROM app_user u JOIN manager_client mc ON mc.client_id = u.user_id \
         WHERE mc.manager_id = ? ORDER BY u.username"
    ))
    .bind(manager)
    .fetch_all(db)
    .await
}

pub async fn all_clients(db: &MySqlPool) -> Result<Vec<User>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {USER_COLS} FROM app_user u WHERE u.role = 'client' ORDER BY u.username"
    ))
    .fetch_all(db)
    .await
}

pub async fn managers_of(db: &MySqlPool, client: u64) -> Result<Vec<User>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {USER_COLS} FROM app_user u JOIN manager_client mc ON mc.manager_id = u.user_id \
         WHERE mc.client_id = ? ORDER BY u.username"
    ))
    .bind(client)
    .fetch_all(db)
    .await
}

/// Drops every assignment of a user (when their role changes).
pub async fn remove_all_for(
    tx: &mut sqlx::Transaction<'_, sqlx::MySql>,
    user: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM manager_client WHERE manager_id = ? OR client_id = ?")
        .bind(user)
        .bind(user)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
