//! The chat panel's handlers. Every role may chat; a conversation belongs
//! to its author alone (another user's is 404, admins included). Sending a
//! message checks, in order: the conversation, the text, the page context
//! (404 when the user cannot see it), whether the assistant is on (503
//! `ai_disabled`), the rate limit; then the answer streams.

use std::convert::Infallible;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::db::{self, Conversation};
use super::model::{self, ChatMessage, ChatRole, ContextKind, PageContext};
use crate::audit::Audit;
use crate::auth::{ClientScope, CurrentUser, Role};
use crate::error::ApiError;
use crate::http::extract::{Json, Path};
use crate::state::AppState;
use crate::tasks::db::{self as tasks_db, Viewer};

const DEFAULT_TITLE: &str = "New conversation";
/// The most messages a conversation's page shows (the newest).
const SHOWN: u32 = 200;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConversationList {
    /// The caller's own conversations, most recently used first (at most 100).
    pub items: Vec<Conversation>,
}

/// The caller's conversations with the assistant.
#[utoipa::path(get, path = "/api/ai/conversations", tag = "ai", security(("bearer" = [])),
    responses((status = 200, body = ConversationList)))]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<axum::Json<ConversationList>, ApiError> {
    Ok(axum::Json(ConversationList {
        items: db::list(&state.db, user.id).await?,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewConversation {
    /// Defaults to the first question, shortened.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub title: Option<String>,
}

/// Start a conversation (owned by the caller).
#[utoipa::path(post, path = "/api/ai/conversations", tag = "ai", security(("bearer" = [])),
    request_body = NewConversation, responses((status = 201, body = Conversation), (status = 422)))]
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    audit: Audit,
    Json(req): Json<NewConversation>,
) -> Result<(StatusCode, axum::Json<Conversation>), ApiError> {
    audit.action("ai.conversation.create");
    let title = match req.title.as_deref().map(str::trim) {
        None => DEFAULT_TITLE.to_string(),
        Some("") => return Err(ApiError::field("title", "must not be blank")),
        Some(t) if t.chars().count() > 200 => {
            return Err(ApiError::field("title", "must be at most 200 characters"))
        }
        Some(t) => t.to_string(),
    };
    let c = db::insert(&state.db, user.id, &title).await?;
    audit.object("ai_conversation", c.id);
    Ok((StatusCode::CREATED, axum::Json(c)))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConversationDetail {
    #[serde(flatten)]
    pub conversation: Conversation,
    /// Oldest first (the newest 200).
    pub messages: Vec<ChatMessage>,
}

fn message(row: db::MessageRow) -> Option<ChatMessage> {
    let context = match (
        row.context_kind.as_deref().and_then(ContextKind::parse),
        row.context_id,
    ) {
        (Some(kind), Some(id)) => Some(PageContext { kind, id }),
        _ => None,
    };
    Some(ChatMessage {
        id: row.message_id,
        role: ChatRole::parse(&row.role)?,
        content: row.content,
        context,
        tools_used: row
            .tools_used
            .as_deref()
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default(),
        created_at: row.created_at,
    })
}

/// One of the caller's conversations with its messages.
#[utoipa::path(get, path = "/api/ai/conversations/{id}", tag = "ai", security(("bearer" = [])),
    params(("id" = u64, Path)), responses((status = 200, body = ConversationDetail), (status = 404)))]
pub async fn get(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<u64>,
) -> Result<axum::Json<ConversationDetail>, ApiError> {
    let conversation = db::get(&state.db, user.id, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let messages = db::messages(&state.db, id, SHOWN)
        .await?
        .into_iter()
        .filter_map(message)
        .collect();
    Ok(axum::Json(ConversationDetail {
        conversation,
        messages,
    }))
}

/// Delete one of the caller's conversations and all its messages.
#[utoipa::path(delete, path = "/api/ai/conversations/{id}", tag = "ai", security(("bearer" = [])),
    params(("id" = u64, Path)), responses((status = 204), (status = 404)))]
pub async fn delete(
    State(state): State<AppState>,
    user: CurrentUser,
    audit: Audit,
    Path(id): Path<u64>,
) -> Result<StatusCode, ApiError> {
    audit
        .action("ai.conversation.delete")
        .object("ai_conversation", id);
    if !db::delete(&state.db, user.id, id).await? {
        return Err(ApiError::NotFound);
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendMessage {
    /// The question (at most `KATALUSIS_LLM_MAX_PROMPT_CHARS` characters: 422 above).
    #[schema(min_length = 1, max_length = 100000, pattern = r"\S")]
    pub content: String,
    /// The workflow, run or task on the page where the user asks.
    #[serde(default)]
    pub context: Option<PageContext>,
}

/// Whether `user` may see the object of `c` (the API's own scoped reads).
async fn visible(state: &AppState, user: &CurrentUser, c: PageContext) -> Result<bool, ApiError> {
    let scope = ClientScope::of(user);
    Ok(match c.kind {
        ContextKind::Workflow => {
            user.role != Role::Client
                && crate::db::workflows::get(&state.db, scope, c.id)
                    .await?
                    .is_some()
        }
        ContextKind::Run => crate::db::runs::get(&state.db, scope, c.id)
            .await?
            .is_some(),
        ContextKind::Task => {
            let v = Viewer {
                user_id: user.id,
                role: user.role,
            };
            tasks_db::is_visible(&state.db, v, c.id).await?
        }
    })
}

/// Ask the assistant in one of the caller's conversations. The answer is a
/// `text/event-stream`: `delta` events (`{text}`) as the model writes,
/// `tool` events (`{name}`) when it reads data through a tool, then `done`
/// (`{messageId, toolsUsed}`) once the answer is stored, or `error`
/// (`{code, message}`). The question is stored before the model is asked.
/// Errors before the stream starts are JSON: 404 (conversation or page
/// context not visible), 422, 429, 503 `ai_disabled`.
#[utoipa::path(post, path = "/api/ai/conversations/{id}/messages", tag = "ai",
    security(("bearer" = [])), params(("id" = u64, Path)), request_body = SendMessage,
    responses((status = 200, content_type = "text/event-stream", body = Object), (status = 404),
        (status = 422), (status = 429), (status = 503)))]
pub async fn send(
    State(state): State<AppState>,
    user: CurrentUser,
    audit: Audit,
    Path(id): Path<u64>,
    Json(req): Json<SendMessage>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    audit.action("ai.chat").object("ai_conversation", id);
    let conversation = db::get(&state.db, user.id, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let max = state.settings.ai.max_prompt_chars;
    if req.content.trim().is_empty() {
        return Err(ApiError::field("content", "must not be blank"));
    }
    if req.content.chars().count() > max {
        return Err(ApiError::field(
            "content",
            &format!("must be at most {max} characters"),
        ));
    }
    if let Some(c) = req.context {
        if !visible(&state, &user, c).await? {
            return Err(ApiError::NotFound);
        }
    }
    state.ai.enabled(&state).await?;
    state.ai.admit(user.id)?;
    let history = db::messages(&state.db, id, model::HISTORY - 1).await?;
    if history.is_empty() && conversation.title == DEFAULT_TITLE {
        db::set_title(&state.db, id, &model::title_from(&req.content)).await?;
    }
    db::add_message(
        &state.db,
        &db::NewMessage {
            conversation: id,
            role: ChatRole::User,
            content: &req.content,
            context: req.context.map(|c| (c.kind, c.id)),
            tools_used: &[],
        },
    )
    .await?;
    let mut turn_history: Vec<(ChatRole, String)> = history
        .into_iter()
        .filter_map(|m| Some((ChatRole::parse(&m.role)?, m.content)))
        .collect();
    turn_history.push((ChatRole::User, req.content));
    let turn = super::Turn {
        conversation: id,
        context: req.context,
        history: turn_history,
    };
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(super::answer(state.clone(), user, turn, tx));
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|e| (Ok(e.into_sse()), rx))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
