//! A small client for the OpenAI Chat Completions protocol, which OpenAI,
//! vLLM, llama.cpp's server and Ollama all speak. It is reqwest (already a
//! dependency, rustls only) with serde types for the few fields we use:
//! that keeps the whole call under one deadline, lets the answer size be
//! enforced while the body streams in, and adds no retry layer behind our
//! back (a retried model call would double the user's wait and cost).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::config::AiSettings;
use crate::config::Secret;

/// One message of a conversation with the model.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Message {
    pub role: Role,
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl Message {
    fn text(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: Some(content.into()),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }
    pub fn system(content: impl Into<String>) -> Self {
        Self::text(Role::System, content)
    }
    pub fn user(content: impl Into<String>) -> Self {
        Self::text(Role::User, content)
    }
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::text(Role::Assistant, content)
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
    Tool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ToolCall {
    #[serde(default)]
    pub id: String,
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    pub function: FunctionCall,
}

fn function_type() -> String {
    "function".into()
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FunctionCall {
    pub name: String,
    /// JSON text, as the protocol sends it (not a JSON object).
    #[serde(default)]
    pub arguments: String,
}

/// A function the model may (or, with `tool_choice`, must) call.
#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub function: FunctionDef,
}

#[derive(Debug, Clone, Serialize)]
pub struct FunctionDef {
    pub name: &'static str,
    pub description: &'static str,
    /// JSON Schema of the arguments.
    pub parameters: Value,
}

impl Tool {
    pub fn function(name: &'static str, description: &'static str, parameters: Value) -> Self {
        Self {
            kind: "function",
            function: FunctionDef {
                name,
                description,
                parameters,
            },
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<Message>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    pub max_tokens: u32,
    pub temperature: f32,
    pub stream: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ChatResponse {
    #[serde(default)]
    pub choices: Vec<Choice>,
    #[serde(default)]
    pub usage: Option<Usage>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Choice {
    pub message: Message,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
pub struct Usage {
    #[serde(default)]
    pub prompt_tokens: u32,
    #[serde(default)]
    pub completion_tokens: u32,
}

impl ChatResponse {
    /// The first choice's message, if the model sent one.
    pub fn message(&self) -> Option<&Message> {
        self.choices.first().map(|c| &c.message)
    }
}

/// Why a call to the model failed. None of these carries the model's text.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("the language model did not answer within {0} seconds")]
    Timeout(u64),
    #[error("the language model's answer is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the language model could not be reached or failed: {0}")]
    Upstream(String),
    #[error("the language model's answer is not a Chat Completions response: {0}")]
    Malformed(String),
}

/// The configured model endpoint.
#[derive(Debug)]
pub struct LlmClient {
    http: reqwest::Client,
    url: String,
    pub model: String,
    api_key: Option<Secret>,
    timeout: Duration,
    max_answer_bytes: usize,
    pub max_tokens: u32,
}

impl LlmClient {
    /// `None` when the assistant is not configured.
    pub fn new(s: &AiSettings) -> anyhow::Result<Option<Self>> {
        let Some((base, model)) = s.endpoint() else {
            return Ok(None);
        };
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(s.timeout_secs.min(10)))
            // Redirects could carry the bearer token to another host.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Some(Self {
            http,
            url: format!("{base}/chat/completions"),
            model: model.to_string(),
            api_key: s.api_key.clone(),
            timeout: Duration::from_secs(s.timeout_secs),
            max_answer_bytes: s.max_answer_bytes,
            max_tokens: s.max_tokens,
        }))
    }

    /// A request for this model with the configured token limit.
    pub fn request(&self, messages: Vec<Message>) -> ChatRequest {
        ChatRequest {
            model: self.model.clone(),
            messages,
            tools: Vec::new(),
            tool_choice: None,
            max_tokens: self.max_tokens,
            temperature: 0.0,
            stream: false,
        }
    }

    /// One non-streaming call, bounded in time (connection to last byte)
    /// and in answer size.
    pub async fn complete(&self, req: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let secs = self.timeout.as_secs();
        let body = tokio::time::timeout(self.timeout, self.send(req))
            .await
            .map_err(|_| LlmError::Timeout(secs))??;
        serde_json::from_slice(&body).map_err(|e| LlmError::Malformed(e.to_string()))
    }

    async fn send(&self, req: &ChatRequest) -> Result<Vec<u8>, LlmError> {
        let mut call = self.http.post(&self.url).json(req);
        if let Some(key) = &self.api_key {
            call = call.bearer_auth(key.expose());
        }
        let mut resp = call.send().await.map_err(|e| {
            if e.is_timeout() {
                LlmError::Timeout(self.timeout.as_secs())
            } else {
                LlmError::Upstream(describe(&e))
            }
        })?;
        let status = resp.status();
        if !status.is_success() {
            return Err(LlmError::Upstream(format!("it answered HTTP {status}")));
        }
        if resp
            .content_length()
            .is_some_and(|n| n > self.max_answer_bytes as u64)
        {
            return Err(LlmError::TooLarge(self.max_answer_bytes));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| LlmError::Upstream(describe(&e)))?
        {
            if body.len() + chunk.len() > self.max_answer_bytes {
                return Err(LlmError::TooLarge(self.max_answer_bytes));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// A reqwest error without its URL (which could hold credentials).
fn describe(e: &reqwest::Error) -> String {
    if e.is_connect() {
        "connection failed".into()
    } else if e.is_body() || e.is_decode() {
        "the answer broke off".into()
    } else {
        "request failed".into()
    }
}
