//! Conversations and their messages. Every query names the owner, so a
//! conversation of another user is simply not found.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::MySqlPool;
use utoipa::ToSchema;

use super::model::{ChatRole, ContextKind};

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Conversation {
    pub id: u64,
    pub title: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    pub message_id: u64,
    pub role: String,
    pub content: String,
    pub context_kind: Option<String>,
    pub context_id: Option<u64>,
    pub tools_used: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// The newest conversations of `user`.
pub async fn list(db: &MySqlPool, user: u64) -> Result<Vec<Conversation>, sqlx::Error> {
    sqlx::query_as(
        "SELECT conversation_id AS id, title, created_at, updated_at FROM ai_conversation \
         WHERE user_id = ? ORDER BY updated_at DESC, conversation_id DESC LIMIT 100",
    )
    .bind(user)
    .fetch_all(db)
    .await
}

pub async fn insert(db: &MySqlPool, user: u64, title: &str) -> Result<Conversation, sqlx::Error> {
    let now = Utc::now();
    let id = sqlx::query(
        "INSERT INTO ai_conversation (user_id, title, created_at, updated_at) VALUES (?, ?, ?, ?)",
    )
    .bind(user)
    .bind(title)
    .bind(now)
    .bind(now)
    .execute(db)
    .await?
    .last_insert_id();
    Ok(Conversation {
        id,
        title: title.to_string(),
        created_at: now,
        updated_at: now,
    })
}

/// The conversation if `user` owns it.
pub async fn get(db: &MySqlPool, user: u64, id: u64) -> Result<Option<Conversation>, sqlx::Error> {
    sqlx::query_as(
        "SELECT conversation_id AS id, title, created_at, updated_at FROM ai_conversation \
         WHERE conversation_id = ? AND user_id = ?",
    )
    .bind(id)
    .bind(user)
    .fetch_optional(db)
    .await
}

/// Deletes the conversation (its messages go with it) if `user` owns it.
pub async fn delete(db: &MySqlPool, user: u64, id: u64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM ai_conversation WHERE conversation_id = ? AND user_id = ?")
        .bind(id)
        .bind(user)
        .execute(db)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// The last `limit` messages of a conversation, oldest first. The caller
/// has checked ownership.
pub async fn messages(
    db: &MySqlPool,
    conversation: u64,
    limit: u32,
) -> Result<Vec<MessageRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT * FROM (SELECT message_id, role, content, context_kind, context_id, tools_used, created_at \
         FROM ai_message WHERE conversation_id = ? ORDER BY message_id DESC LIMIT ?) m \
         ORDER BY message_id",
    )
    .bind(conversation)
    .bind(limit)
    .fetch_all(db)
    .await
}

pub struct NewMessage<'a> {
    pub conversation: u64,
    pub role: ChatRole,
    pub content: &'a str,
    pub context: Option<(ContextKind, u64)>,
    pub tools_used: &'a [String],
}

/// Appends a message and marks the conversation as just used.
pub async fn add_message(db: &MySqlPool, m: &NewMessage<'_>) -> Result<u64, sqlx::Error> {
    let now = Utc::now();
    let tools =
        (!m.tools_used.is_empty()).then(|| serde_json::to_string(m.tools_used).unwrap_or_default());
    let mut tx = db.begin().await?;
    let id = sqlx::query(
        "INSERT INTO ai_message (conversation_id, role, content, context_kind, context_id, tools_used, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(m.conversation)
    .bind(m.role.as_str())
    .bind(m.content)
    .bind(m.context.map(|(k, _)| k.as_str()))
    .bind(m.context.map(|(_, id)| id))
    .bind(tools)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .last_insert_id();
    sqlx::query("UPDATE ai_conversation SET updated_at = ? WHERE conversation_id = ?")
        .bind(now)
        .bind(m.conversation)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn set_title(db: &MySqlPool, id: u64, title: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE ai_conversation SET title = ? WHERE conversation_id = ?")
        .bind(title)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}
