//! The chat panel: conversations stored per user, answers streamed to the
//! SPA as server-sent events while the model streams them, and read-only
//! tools the model may call inside the user's scope (`tools`). The model
//! can only read and propose in text; it has no tool that writes.
//!
//! `model` holds the vocabulary and the prompt, `db` the owner-scoped
//! storage, `tools` the tool definitions and their scoped execution, `http`
//! the handlers; this module the answer loop.

pub mod db;
pub mod http;
pub mod model;
pub mod tools;

use axum::response::sse::Event;
use serde_json::json;
use tokio::sync::mpsc::UnboundedSender;

use self::model::{ChatRole, PageContext, CALLS_PER_ROUND, TOOL_ROUNDS};
use super::client::{Message, Role};
use super::usage::Feature;
use crate::auth::CurrentUser;
use crate::error::ApiError;
use crate::state::AppState;

/// What the SPA receives while an answer is made.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// A piece of the answer's text.
    Delta(String),
    /// The model called this tool (the SPA shows "looked at …").
    Tool(&'static str),
    /// The answer is stored.
    Done {
        message_id: u64,
        tools_used: Vec<String>,
    },
    /// The answer failed; nothing more follows.
    Error { code: &'static str, message: String },
}

impl StreamEvent {
    pub fn into_sse(self) -> Event {
        match self {
            Self::Delta(text) => Event::default()
                .event("delta")
                .data(json!({ "text": text }).to_string()),
            Self::Tool(name) => Event::default()
                .event("tool")
                .data(json!({ "name": name }).to_string()),
            Self::Done {
                message_id,
                tools_used,
            } => Event::default()
                .event("done")
                .data(json!({"messageId": message_id, "toolsUsed": tools_used}).to_string()),
            Self::Error { code, message } => Event::default()
                .event("error")
                .data(json!({"code": code, "message": message}).to_string()),
        }
    }
}

/// One question to answer: the stored history ends with it.
pub struct Turn {
    pub conversation: u64,
    pub context: Option<PageContext>,
    pub history: Vec<(ChatRole, String)>,
}

/// Answers `turn`, streaming to `tx`, and stores the answer. Runs to the
/// end even when the SPA goes away, so the answer is in the conversation
/// when it comes back (the model call is bounded by its deadline).
pub async fn answer(
    state: AppState,
    user: CurrentUser,
    turn: Turn,
    tx: UnboundedSender<StreamEvent>,
) {
    let outcome = match think(&state, &user, &turn, &tx).await {
        Ok((text, tools_used)) => {
            let text = if text.trim().is_empty() {
                "The assistant gave no answer.".to_string()
            } else {
                text
            };
            db::add_message(
                &state.db,
                &db::NewMessage {
                    conversation: turn.conversation,
                    role: ChatRole::Assistant,
                    content: &text,
                    context: turn.context.map(|c| (c.kind, c.id)),
                    tools_used: &tools_used,
                },
            )
            .await
            .map(|message_id| StreamEvent::Done {
                message_id,
                tools_used,
            })
            .map_err(ApiError::from)
        }
        Err(e) => Err(e),
    };
    let event = outcome.unwrap_or_else(|e| {
        let message = match &e {
            ApiError::Internal(inner) => {
                tracing::error!(error = format!("{inner:#}"), "chat answer failed");
                "the answer failed on the server; try again".to_string()
            }
            other => other.to_string(),
        };
        StreamEvent::Error {
            code: e.code(),
            message,
        }
    });
    let _ = tx.send(event);
}

/// The model's answer text and the tools it used, after at most
/// `TOOL_ROUNDS` rounds of tool calls.
async fn think(
    state: &AppState,
    user: &CurrentUser,
    turn: &Turn,
    tx: &UnboundedSender<StreamEvent>,
) -> Result<(String, Vec<String>), ApiError> {
    let definitions = tools::definitions(user.role);
    let mut messages = model::conversation(turn.context, &turn.history);
    let mut text = String::new();
    let mut used: Vec<String> = Vec::new();
    for round in 0..=TOOL_ROUNDS {
        let mut req = state.ai.enabled(state).await?.request(messages.clone());
        req.tools = definitions.clone();
        let last = round == TOOL_ROUNDS;
        if last {
            // Tools stay described (the history holds calls to them) but
            // this round must answer in text.
            req.tool_choice = Some(json!("none"));
        }
        let mut on_text = |t: &str| {
            let _ = tx.send(StreamEvent::Delta(t.to_string()));
        };
        let out = super::call_streaming(state, user.id, Feature::Chat, req, &mut on_text).await?;
        text.push_str(&out.content);
        if out.tool_calls.is_empty() || last {
            break;
        }
        messages.push(Message {
            role: Role::Assistant,
            content: (!out.content.is_empty()).then(|| out.content.clone()),
            tool_calls: out.tool_calls.clone(),
            tool_call_id: None,
        });
        for (i, call) in out.tool_calls.iter().enumerate() {
            let result = if i < CALLS_PER_ROUND {
                if let Some(name) = tools::ToolName::parse(&call.function.name) {
                    let _ = tx.send(StreamEvent::Tool(name.as_str()));
                    if !used.iter().any(|u| u == name.as_str()) {
                        used.push(name.as_str().to_string());
                    }
                }
                tools::run(state, user, call).await?
            } else {
                json!({"error": format!("at most {CALLS_PER_ROUND} tool calls per round; ask again")})
                    .to_string()
            };
            messages.push(Message {
                role: Role::Tool,
                content: Some(result),
                tool_calls: Vec::new(),
                tool_call_id: Some(call.id.clone()),
            });
        }
    }
    Ok((text, used))
}
