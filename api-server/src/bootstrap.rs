//! First start: create the administrator when there are no users at all.

use crate::auth::password::Hasher;
use crate::auth::tokens::generate_password;
use crate::auth::Role;
use crate::config::Settings;
use crate::db;

pub async fn ensure_admin(
    db: &sqlx::MySqlPool,
    settings: &Settings,
    hasher: &Hasher,
) -> anyhow::Result<()> {
    if db::users::count(db).await? > 0 {
        return Ok(());
    }
    let (password, generated) = match &settings.admin_password {
        Some(p) => (p.expose().to_string(), false),
        None => (generate_password(), true),
    };
    let hash = hasher
        .hash(password.clone())
        .await
        .map_err(|e| anyhow::anyhow!("hashing the admin password: {e}"))?;
    let created = db::users::insert(
        db,
        &db::users::NewUser {
            username: &settings.admin_username,
            email: &settings.admin_email.to_lowercase(),
            display_name: "Administrator",
            role: Role::Admin,
            password_hash: &hash,
        },
    )
    .await?;
    if created.is_none() {
        // Another replica won the race.
        return Ok(());
    }
    if generated {
        // Printed exactly once, on the start that created the account.
        tracing::warn!(
            username = %settings.admin_username,
            password = %password,
            "created the first administrator with a generated password; change it after logging in"
        );
    } else {
        tracing::info!(username = %settings.admin_username, "created the first administrator");
    }
    Ok(())
}

/// The user actions taken in the cluster are recorded as (revisions
/// applied with kubectl, Runs created there); created as a manager that
/// cannot log in (its password hash matches no password) when missing.
pub async fn system_user(db: &sqlx::MySqlPool, username: &str) -> anyhow::Result<u64> {
    if let Some(u) = db::users::by_username(db, username).await? {
        return Ok(u.id);
    }
    let email = format!("{username}@cluster.invalid");
    db::users::insert(
        db,
        &db::users::NewUser {
            username,
            email: &email,
            display_name: "Kubernetes (cluster)",
            role: Role::Manager,
            password_hash: "!",
        },
    )
    .await?;
    // Created now, or by a concurrent caller.
    db::users::by_username(db, username)
        .await?
        .map(|u| u.id)
        .ok_or_else(|| anyhow::anyhow!("could not create the system user '{username}'"))
}
