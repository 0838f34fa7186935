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
    /// With `stream`: asks for a last chunk carrying the token counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<Value>,
}

impl ChatRequest {
    /// The same request, answered as a stream of chunks.
    pub fn streaming(mut self) -> Self {
        self.stream = true;
        self.stream_options = Some(serde_json::json!({"include_usage": true}));
        self
    }
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
            stream_options: None,
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

    /// One streaming call: `on_text` gets every piece of the answer's text
    /// as it arrives; the result holds the whole text, the tool calls put
    /// together from their fragments and the token counts. Bounded in time
    /// and size like [`Self::complete`]. A server that ignores `stream` and
    /// answers with one JSON body is accepted too.
    pub async fn stream(
        &self,
        req: &ChatRequest,
        on_text: &mut (dyn FnMut(&str) + Send),
    ) -> Result<Streamed, LlmError> {
        let secs = self.timeout.as_secs();
        tokio::time::timeout(self.timeout, self.read_stream(req, on_text))
            .await
            .map_err(|_| LlmError::Timeout(secs))?
    }

    async fn read_stream(
        &self,
        req: &ChatRequest,
        on_text: &mut (dyn FnMut(&str) + Send),
    ) -> Result<Streamed, LlmError> {
        let mut resp = self.open(req).await?;
        let is_json = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let mut read = 0usize;
        let mut parser = SseParser::default();
        let mut out = StreamAssembler::default();
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| LlmError::Upstream(describe(&e)))?
        {
            read += chunk.len();
            if read > self.max_answer_bytes {
                return Err(LlmError::TooLarge(self.max_answer_bytes));
            }
            if is_json {
                body.extend_from_slice(&chunk);
                continue;
            }
            for data in parser.push(&chunk) {
                if out.feed(&data, on_text)? {
                    return Ok(out.finish());
                }
            }
        }
        if is_json {
            let r: ChatResponse =
                serde_json::from_slice(&body).map_err(|e| LlmError::Malformed(e.to_string()))?;
            let m = r.message().cloned();
            let content = m
                .as_ref()
                .and_then(|m| m.content.clone())
                .unwrap_or_default();
            if !content.is_empty() {
                on_text(&content);
            }
            return Ok(Streamed {
                content,
                tool_calls: m.map(|m| m.tool_calls).unwrap_or_default(),
                usage: r.usage,
            });
        }
        for data in parser.finish() {
            if out.feed(&data, on_text)? {
                break;
            }
        }
        Ok(out.finish())
    }

    async fn send(&self, req: &ChatRequest) -> Result<Vec<u8>, LlmError> {
        let mut resp = self.open(req).await?;
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

    /// Sends the request; the response once its status and announced size are acceptable.
    async fn open(&self, req: &ChatRequest) -> Result<reqwest::Response, LlmError> {
        let mut call = self.http.post(&self.url).json(req);
        if let Some(key) = &self.api_key {
            call = call.bearer_auth(key.expose());
        }
        let resp = call.send().await.map_err(|e| {
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
        Ok(resp)
    }
}

/// What one streamed answer amounted to.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Streamed {
    pub content: String,
    pub tool_calls: Vec<ToolCall>,
    pub usage: Option<Usage>,
}

/// Splits a `text/event-stream` body into the data of its events. Bytes
/// are buffered until a line is complete, so a chunk may end anywhere (in
/// the middle of a UTF-8 character too).
#[derive(Default)]
pub struct SseParser {
    pending: Vec<u8>,
    data: Vec<String>,
}

impl SseParser {
    /// The data of every event completed by `bytes`.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        self.pending.extend_from_slice(bytes);
        let mut events = Vec::new();
        while let Some(nl) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=nl).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if !self.data.is_empty() {
                    events.push(self.data.join("\n"));
                    self.data.clear();
                }
            } else if let Some(d) = line.strip_prefix("data:") {
                self.data.push(d.strip_prefix(' ').unwrap_or(d).to_string());
            }
            // `event:`, `id:`, `retry:` and comments carry nothing we use.
        }
        events
    }

    /// The data of an event left open when the body ended.
    pub fn finish(&mut self) -> Vec<String> {
        let mut events = self.push(b"\n\n");
        if !self.pending.is_empty() {
            events.extend(self.push(b"\n\n"));
        }
        events
    }
}

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<ChunkChoice>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct ChunkChoice {
    #[serde(default)]
    delta: Option<Delta>,
}

#[derive(Deserialize, Default)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<ToolCallDelta>>,
}

#[derive(Deserialize)]
struct ToolCallDelta {
    #[serde(default)]
    index: usize,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<FunctionDelta>,
}

#[derive(Deserialize)]
struct FunctionDelta {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<String>,
}

/// Puts a streamed answer together: text pieces in order, tool calls from
/// fragments keyed by their index (the id and name come first, the
/// arguments in pieces).
#[derive(Default)]
pub struct StreamAssembler {
    out: Streamed,
    calls: std::collections::BTreeMap<usize, ToolCall>,
}

impl StreamAssembler {
    /// Takes the data of one event; true at `[DONE]`.
    pub fn feed(
        &mut self,
        data: &str,
        on_text: &mut (dyn FnMut(&str) + Send),
    ) -> Result<bool, LlmError> {
        let data = data.trim();
        if data == "[DONE]" {
            return Ok(true);
        }
        let chunk: Chunk =
            serde_json::from_str(data).map_err(|e| LlmError::Malformed(e.to_string()))?;
        if chunk.usage.is_some() {
            self.out.usage = chunk.usage;
        }
        for choice in chunk.choices {
            let Some(delta) = choice.delta else { continue };
            if let Some(text) = delta.content.filter(|t| !t.is_empty()) {
                on_text(&text);
                self.out.content.push_str(&text);
            }
            for d in delta.tool_calls.unwrap_or_default() {
                let call = self.calls.entry(d.index).or_insert_with(|| ToolCall {
                    id: String::new(),
                    kind: function_type(),
                    function: FunctionCall {
                        name: String::new(),
                        arguments: String::new(),
                    },
                });
                if let Some(id) = d.id {
                    call.id = id;
                }
                if let Some(f) = d.function {
                    if let Some(name) = f.name {
                        call.function.name.push_str(&name);
                    }
                    if let Some(args) = f.arguments {
                        call.function.arguments.push_str(&args);
                    }
                }
            }
        }
        Ok(false)
    }

    pub fn finish(mut self) -> Streamed {
        self.out.tool_calls = self
            .calls
            .into_iter()
            .map(|(i, mut c)| {
                if c.id.is_empty() {
                    c.id = format!("call_{i}");
                }
                c
            })
            .collect();
        self.out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_split_wherever_the_chunks_end() {
        let mut p = SseParser::default();
        assert!(p.push(b"data: {\"a\"").is_empty());
        assert_eq!(p.push(b":1}\n\ndata: x\r\n"), vec!["{\"a\":1}".to_string()]);
        assert_eq!(
            p.push(b"\r\n: comment\n\ndata: [DONE]"),
            vec!["x".to_string()]
        );
        assert_eq!(p.finish(), vec!["[DONE]".to_string()]);
    }

    #[test]
    fn text_pieces_and_tool_call_fragments_are_put_together() {
        let mut a = StreamAssembler::default();
        let mut seen = Vec::new();
        let mut on = |t: &str| seen.push(t.to_string());
        let events = [
            r#"{"choices":[{"delta":{"role":"assistant","content":"Hel"}}]}"#,
            r#"{"choices":[{"delta":{"content":"lo"}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"get_run_status","arguments":""}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"runId\":"}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"7}"}}]}}]}"#,
            r#"{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2}}"#,
        ];
        for e in events {
            assert!(!a.feed(e, &mut on).unwrap());
        }
        assert!(a.feed("[DONE]", &mut on).unwrap());
        let out = a.finish();
        assert_eq!(seen, vec!["Hel", "lo"]);
        assert_eq!(out.content, "Hello");
        assert_eq!(out.tool_calls.len(), 1);
        assert_eq!(out.tool_calls[0].id, "c1");
        assert_eq!(out.tool_calls[0].function.name, "get_run_status");
        assert_eq!(out.tool_calls[0].function.arguments, r#"{"runId":7}"#);
        assert_eq!(out.usage.unwrap().completion_tokens, 2);
    }

    #[test]
    fn a_chunk_that_is_not_json_is_malformed() {
        let mut a = StreamAssembler::default();
        assert!(matches!(
            a.feed("nonsense", &mut |_: &str| {}),
            Err(LlmError::Malformed(_))
        ));
    }
}
