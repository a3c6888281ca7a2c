//! Streaming chat against Ollama, OpenAI-compatible servers and Anthropic.
//!
//! One driver ([`stream_chat`]) does what all three share: build the
//! request, retry transient failures before any output, enforce the
//! first-byte and idle timeouts, and feed the body to the provider's wire
//! decoder, which turns bytes into [`Piece`]s.

pub mod anthropic;
pub mod embed;
pub mod error;
pub mod ollama;
pub mod openai;

use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use serde::Serialize;

pub use error::{ProviderError, chain};

use crate::config::{ProviderConfig, ProviderKind};
use crate::domain::Role;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatMessage {
    /// Serialized as "user", "assistant" or "system".
    pub role: Role,
    pub content: String,
}

#[derive(Debug, Clone, Default)]
pub struct ChatRequest {
    pub model: String,
    pub system: Option<String>,
    pub messages: Vec<ChatMessage>,
    /// A JSON schema the reply must follow, sent as the provider's
    /// structured output (Ollama `format`, OpenAI `response_format`,
    /// Anthropic a forced tool); the reply text is then that JSON.
    pub schema: Option<serde_json::Value>,
    /// The session's temperature, when it set one.
    pub temperature: Option<f32>,
    /// The session's answer length, in place of `provider.max_tokens`.
    pub max_tokens: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FinishReason {
    Stop,
    /// The model hit its token limit: the answer is cut.
    Length,
    Other,
}

/// The request's messages with the system prompt first, as Ollama and
/// OpenAI-compatible servers take them (Anthropic has its own field).
pub fn messages_with_system(req: &ChatRequest) -> Vec<serde_json::Value> {
    let mut messages = Vec::new();
    if let Some(system) = &req.system {
        messages.push(serde_json::json!({"role": "system", "content": system}));
    }
    messages.extend(
        req.messages
            .iter()
            .map(|m| serde_json::json!({"role": m.role, "content": m.content})),
    );
    messages
}

/// What a decoder makes of the bytes it is fed.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Text(String),
    Usage {
        input: Option<i64>,
        output: Option<i64>,
    },
    Finish(FinishReason),
    /// The provider's explicit end of stream (`[DONE]`, `message_stop`,
    /// `"done": true`). A body that ends without it was interrupted.
    Done,
}

pub trait Decoder: Send {
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<Piece>) -> Result<(), ProviderError>;
    fn finish(&mut self, _out: &mut Vec<Piece>) -> Result<(), ProviderError> {
        Ok(())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Completion {
    pub finish: Option<FinishReason>,
    pub tokens_in: Option<i64>,
    pub tokens_out: Option<i64>,
    /// From sending the request to the first text.
    pub first_token_ms: Option<u64>,
    pub total_ms: u64,
}

/// Retry and timeout settings, from config (tests shorten them).
#[derive(Debug, Clone)]
pub struct Limits {
    pub first_byte: Duration,
    /// Longest wait for data once the answer started (SSE comments and
    /// other keep-alives do not count as data).
    pub idle: Duration,
    pub retries: usize,
    pub retry_base: Duration,
    /// Bytes of reply read at most; past it the answer is cut.
    pub max_bytes: usize,
    /// Wall time of the whole answer at most.
    pub max_total: Duration,
}

impl Limits {
    pub fn from_config(cfg: &ProviderConfig) -> Self {
        Self {
            first_byte: Duration::from_secs(cfg.first_byte_timeout_secs.max(1)),
            idle: Duration::from_secs(cfg.idle_timeout_secs.max(1)),
            retries: cfg.retries,
            retry_base: Duration::from_millis(cfg.retry_base_ms),
            max_bytes: cfg.max_answer_bytes.max(1024),
            max_total: Duration::from_secs(cfg.max_answer_secs.max(1)),
        }
    }
}

/// Whether a chunk holds only SSE comment lines (`: keep-alive`), which
/// must not keep a stalled stream alive.
fn only_comments(bytes: &[u8]) -> bool {
    bytes
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .all(|l| l.is_empty() || l[0] == b':')
}

fn decoder(kind: ProviderKind) -> Box<dyn Decoder> {
    match kind {
        ProviderKind::Ollama => Box::new(ollama::OllamaDecoder::new()),
        ProviderKind::Openai => Box::new(openai::OpenAiDecoder::new()),
        ProviderKind::Anthropic => Box::new(anthropic::AnthropicDecoder::new()),
    }
}

fn build(
    client: &reqwest::Client,
    cfg: &ProviderConfig,
    req: &ChatRequest,
) -> Result<reqwest::RequestBuilder, ProviderError> {
    let base = cfg.base_url.trim_end_matches('/');
    if let Some(why) = super::probe::key_problem(cfg) {
        return Err(ProviderError::Setup(why));
    }
    let key = super::probe::api_key(cfg);
    Ok(match cfg.kind {
        ProviderKind::Ollama => client
            .post(format!("{base}/api/chat"))
            .json(&ollama::body(req, req.max_tokens.unwrap_or(cfg.max_tokens))),
        ProviderKind::Openai => {
            let r = client
                .post(super::probe::openai_url(base, "chat/completions"))
                .json(&openai::body(
                    req,
                    req.max_tokens.unwrap_or(cfg.max_tokens),
                    is_openai_api(base),
                ));
            match key {
                Some(k) => r.bearer_auth(k),
                None => r,
            }
        }
        ProviderKind::Anthropic => {
            let k = key.ok_or_else(|| {
                ProviderError::Setup(
                    "ANTHROPIC_API_KEY is not set — export it, or pick another provider".into(),
                )
            })?;
            client
                .post(format!("{base}/v1/messages"))
                .header("x-api-key", k)
                .header("anthropic-version", anthropic::VERSION)
                .json(&anthropic::body(
                    req,
                    req.max_tokens.unwrap_or(cfg.max_tokens),
                ))
        }
    })
}

/// Whether `base` is OpenAI's own API (not a compatible server).
fn is_openai_api(base: &str) -> bool {
    reqwest::Url::parse(base)
        .ok()
        .and_then(|u| u.host_str().map(|h| h == "api.openai.com"))
        .unwrap_or(false)
}

/// The name of the structured reply (OpenAI schema name, Anthropic tool).
pub const SCHEMA_NAME: &str = "reply";

/// Error bodies are read up to this size; the rest is not needed.
const MAX_ERROR_BODY: usize = 64 * 1024;

async fn send_once(
    client: &reqwest::Client,
    cfg: &ProviderConfig,
    req: &ChatRequest,
    first_byte: Duration,
) -> Result<reqwest::Response, ProviderError> {
    let send = build(client, cfg, req)?.send();
    let mut resp = match tokio::time::timeout(first_byte, send).await {
        Err(_) => return Err(ProviderError::FirstByteTimeout(first_byte.as_secs())),
        Ok(Err(e)) if e.is_redirect() => {
            // The policy's own words (another origin, too many hops).
            let mut inner: &dyn std::error::Error = &e;
            while let Some(s) = inner.source() {
                inner = s;
            }
            return Err(ProviderError::Setup(inner.to_string()));
        }
        Ok(Err(e)) if e.is_connect() => return Err(ProviderError::Connect(chain(&e))),
        Ok(Err(e)) => return Err(ProviderError::Connect(chain(&e))),
        Ok(Ok(r)) => r,
    };
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let retry_after = error::parse_retry_after(resp.headers());
    let mut body = Vec::new();
    while body.len() < MAX_ERROR_BODY {
        match tokio::time::timeout(first_byte, resp.chunk()).await {
            Ok(Ok(Some(c))) => body.extend_from_slice(&c),
            _ => break,
        }
    }
    Err(ProviderError::Http {
        status: status.as_u16(),
        message: error::error_message(&body),
        retry_after,
    })
}

/// Streams one chat completion, calling `on_text` with each piece of text
/// as it arrives. Retries happen only before the response starts, so no
/// text is ever repeated. Dropping the future closes the connection.
pub async fn stream_chat(
    client: &reqwest::Client,
    cfg: &ProviderConfig,
    req: &ChatRequest,
    limits: &Limits,
    on_text: &mut (dyn FnMut(&str) + Send),
) -> Result<Completion, ProviderError> {
    stream_chat_telling(client, cfg, req, limits, on_text, &|_| {}).await
}

/// Why a request is being retried, in words, and when: "rate limited by
/// the provider (HTTP 429); retrying in 4 s".
pub fn retry_note(e: &ProviderError, delay: Duration) -> String {
    let why = match e {
        ProviderError::Http { status: 429, .. } => "rate limited by the provider (HTTP 429)".into(),
        ProviderError::Http { status, .. } if *status >= 500 => {
            format!("the provider failed (HTTP {status})")
        }
        ProviderError::Http { status, .. } => format!("the provider answered HTTP {status}"),
        ProviderError::Connect(_) => "cannot connect to the provider".into(),
        other => other.to_string(),
    };
    format!("{why}; retrying in {} s", delay.as_secs_f64().ceil() as u64)
}

/// [`stream_chat`], telling `on_retry` (with [`retry_note`]'s words) each
/// time a failed request is about to be retried.
pub async fn stream_chat_telling(
    client: &reqwest::Client,
    cfg: &ProviderConfig,
    req: &ChatRequest,
    limits: &Limits,
    on_text: &mut (dyn FnMut(&str) + Send),
    on_retry: &(dyn Fn(String) + Sync),
) -> Result<Completion, ProviderError> {
    let started = Instant::now();
    let backoff = ExponentialBuilder::default()
        .with_min_delay(limits.retry_base)
        .with_max_delay(Duration::from_secs(8))
        .with_factor(2.0)
        .with_jitter()
        .with_max_times(limits.retries);
    let mut resp = (|| send_once(client, cfg, req, limits.first_byte))
        .retry(backoff)
        .sleep(tokio::time::sleep)
        .when(ProviderError::retryable)
        // backon says stop with `None`: the server's Retry-After may only
        // change the delay of a retry that is still in the budget.
        .adjust(|e: &ProviderError, d| d.map(|d| e.retry_after().unwrap_or(d)))
        .notify(|e: &ProviderError, d: Duration| {
            tracing::warn!(error = %e, delay_ms = d.as_millis() as u64, "retrying provider request");
            on_retry(retry_note(e, d));
        })
        .await?;

    let mut dec = decoder(cfg.kind);
    let mut pieces = Vec::new();
    let mut done = Completion::default();
    let mut finished = false;
    let mut got_any = false;
    let mut last_data = Instant::now();
    let mut read = 0usize;
    let hard_end = started + limits.max_total;
    loop {
        let limit = if got_any {
            limits.idle
        } else {
            limits.first_byte
        };
        // Only data restarts the idle clock, and no clock outlives the cap.
        let wait = limit
            .saturating_sub(last_data.elapsed())
            .min(hard_end.saturating_duration_since(Instant::now()));
        let chunk = match tokio::time::timeout(wait, resp.chunk()).await {
            Err(_) if Instant::now() >= hard_end => {
                return Err(ProviderError::TooLong(format!(
                    "{} s",
                    limits.max_total.as_secs()
                )));
            }
            Err(_) if got_any => return Err(ProviderError::IdleTimeout(limit.as_secs())),
            Err(_) => return Err(ProviderError::FirstByteTimeout(limit.as_secs())),
            Ok(Err(e)) => {
                tracing::warn!(error = %chain(&e), "provider stream failed");
                return Err(ProviderError::Interrupted);
            }
            Ok(Ok(c)) => c,
        };
        let Some(bytes) = chunk else {
            let fed = dec.finish(&mut pieces);
            apply(&mut pieces, &mut done, &mut finished, started, on_text);
            fed?;
            break;
        };
        read += bytes.len();
        if read > limits.max_bytes {
            return Err(ProviderError::TooLong(format!(
                "{} KB",
                limits.max_bytes / 1024
            )));
        }
        if !only_comments(&bytes) {
            got_any = true;
            last_data = Instant::now();
        }
        // Text decoded before a failure in the same chunk still counts.
        let fed = dec.feed(&bytes, &mut pieces);
        apply(&mut pieces, &mut done, &mut finished, started, on_text);
        fed?;
        if finished {
            break;
        }
    }
    done.total_ms = started.elapsed().as_millis() as u64;
    if finished {
        Ok(done)
    } else {
        Err(ProviderError::Interrupted)
    }
}

fn apply(
    pieces: &mut Vec<Piece>,
    done: &mut Completion,
    finished: &mut bool,
    started: Instant,
    on_text: &mut (dyn FnMut(&str) + Send),
) {
    for p in pieces.drain(..) {
        match p {
            Piece::Text(t) => {
                if done.first_token_ms.is_none() {
                    done.first_token_ms = Some(started.elapsed().as_millis() as u64);
                }
                on_text(&t);
            }
            Piece::Usage { input, output } => {
                done.tokens_in = input.or(done.tokens_in);
                done.tokens_out = output.or(done.tokens_out);
            }
            Piece::Finish(f) => done.finish = Some(f),
            Piece::Done => *finished = true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/../shared/fixtures/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    /// Feeds a capture in small chunks and collects text and pieces.
    fn decode(
        mut dec: Box<dyn Decoder>,
        bytes: &[u8],
        chunk: usize,
    ) -> Result<(String, Vec<Piece>), ProviderError> {
        let mut pieces = Vec::new();
        for c in bytes.chunks(chunk) {
            dec.feed(c, &mut pieces)?;
        }
        dec.finish(&mut pieces)?;
        let text = pieces
            .iter()
            .filter_map(|p| {
                if let Piece::Text(t) = p {
                    Some(t.as_str())
                } else {
                    None
                }
            })
            .collect();
        Ok((text, pieces))
    }

    #[test]
    fn llamacpp_capture_decodes_at_any_chunking() {
        let bytes = fixture("llamacpp_chat_stream.sse");
        let (whole, pieces) = decode(decoder(ProviderKind::Openai), &bytes, bytes.len()).unwrap();
        assert!(
            whole.starts_with("The transformer architecture is a"),
            "{whole}"
        );
        assert!(whole.ends_with("classification."));
        assert!(pieces.contains(&Piece::Finish(FinishReason::Stop)));
        assert_eq!(pieces.last(), Some(&Piece::Done));
        for chunk in [1, 3, 7, 64] {
            assert_eq!(
                decode(decoder(ProviderKind::Openai), &bytes, chunk)
                    .unwrap()
                    .0,
                whole
            );
        }
    }

    #[test]
    fn usage_only_final_chunk_and_length_finish() {
        let (_, pieces) = decode(
            decoder(ProviderKind::Openai),
            &fixture("llamacpp_chat_stream_usage.sse"),
            5,
        )
        .unwrap();
        assert!(pieces.contains(&Piece::Finish(FinishReason::Length)));
        assert!(pieces.contains(&Piece::Usage {
            input: Some(55),
            output: Some(24)
        }));
        let (text, pieces) = decode(
            decoder(ProviderKind::Openai),
            &fixture("openai_chat_stream.sse"),
            2,
        )
        .unwrap();
        assert_eq!(text, "我是助手。");
        assert!(pieces.contains(&Piece::Usage {
            input: Some(14),
            output: Some(3)
        }));
    }

    #[test]
    fn anthropic_capture_and_error_event() {
        let (text, pieces) = decode(
            decoder(ProviderKind::Anthropic),
            &fixture("anthropic_messages_stream.sse"),
            4,
        )
        .unwrap();
        assert_eq!(text, "Hello there!");
        assert!(pieces.contains(&Piece::Usage {
            input: Some(11),
            output: None
        }));
        assert!(pieces.contains(&Piece::Usage {
            input: None,
            output: Some(6)
        }));
        assert_eq!(pieces.last(), Some(&Piece::Done));
        let err = decode(
            decoder(ProviderKind::Anthropic),
            &fixture("anthropic_messages_stream_error.sse"),
            9,
        )
        .unwrap_err();
        assert_eq!(err, ProviderError::MidStream("Overloaded".into()));
    }

    #[test]
    fn ollama_captures_and_midstream_error() {
        let (text, pieces) = decode(
            decoder(ProviderKind::Ollama),
            &fixture("ollama_chat_stream.ndjson"),
            3,
        )
        .unwrap();
        assert_eq!(text, "The");
        assert!(pieces.contains(&Piece::Usage {
            input: Some(26),
            output: Some(282)
        }));
        assert_eq!(pieces.last(), Some(&Piece::Done));
        let (text, _) = decode(
            decoder(ProviderKind::Ollama),
            &fixture("ollama_chat_stream_recorded.ndjson"),
            11,
        )
        .unwrap();
        assert!(text.starts_with("Sure, here"), "{text}");
        let err = decode(
            decoder(ProviderKind::Ollama),
            &fixture("ollama_error_midstream.ndjson"),
            8,
        )
        .unwrap_err();
        assert_eq!(
            err,
            ProviderError::MidStream("an error was encountered while running the model".into())
        );
    }

    #[test]
    fn malformed_chunks_are_errors_not_panics() {
        let mut p = Vec::new();
        assert!(matches!(
            decoder(ProviderKind::Openai).feed(b"data: {not json\n\n", &mut p),
            Err(ProviderError::Malformed(_))
        ));
        assert!(matches!(
            decoder(ProviderKind::Ollama).feed(b"<html>\n", &mut p),
            Err(ProviderError::Malformed(_))
        ));
        let mut d = decoder(ProviderKind::Openai);
        let err = d
            .feed(b"data: {\"error\":{\"message\":\"boom\"}}\n\n", &mut p)
            .unwrap_err();
        assert_eq!(err, ProviderError::MidStream("boom".into()));
    }

    #[test]
    fn request_bodies_have_each_wire_shape() {
        let req = ChatRequest {
            model: "m".into(),
            system: Some("be brief".into()),
            messages: vec![ChatMessage {
                role: Role::User,
                content: "hi".into(),
            }],
            schema: None,
            temperature: None,
            max_tokens: None,
        };
        let o = openai::body(&req, 900, false);
        assert_eq!(o["stream_options"]["include_usage"], true);
        assert_eq!(o["messages"][0]["role"], "system");
        // Every answer is capped (issue 15, bug 17), in each wire's words.
        assert_eq!(o["max_tokens"], 900);
        let official = openai::body(&req, 900, true);
        assert_eq!(official["max_completion_tokens"], 900);
        assert!(official.get("max_tokens").is_none());
        assert!(openai::body(&req, 0, false).get("max_tokens").is_none());
        let a = anthropic::body(&req, 900);
        assert_eq!(a["system"], "be brief");
        assert_eq!(a["messages"][0]["role"], "user");
        assert_eq!(a["max_tokens"], 900);
        assert_eq!(anthropic::body(&req, 0)["max_tokens"], 4096);
        // A session's temperature, in each wire's place.
        let warm = ChatRequest {
            temperature: Some(0.3),
            ..req.clone()
        };
        assert_eq!(
            ollama::body(&warm, 900)["options"]["temperature"],
            0.3f32 as f64
        );
        assert_eq!(ollama::body(&warm, 900)["options"]["num_predict"], 900);
        assert_eq!(
            openai::body(&warm, 900, false)["temperature"],
            0.3f32 as f64
        );
        assert_eq!(anthropic::body(&warm, 900)["temperature"], 0.3f32 as f64);
        assert!(ollama::body(&req, 0).get("options").is_none());
        assert!(openai::body(&req, 0, false).get("temperature").is_none());
        let l = ollama::body(&req, 900);
        assert_eq!(l["options"]["num_predict"], 900);
        assert!(ollama::body(&req, 0).get("options").is_none());
        assert!(is_openai_api("https://api.openai.com/v1"));
        assert!(!is_openai_api("http://127.0.0.1:8080/v1"));
        assert_eq!(l["stream"], true);
        assert_eq!(l["messages"][1]["content"], "hi");
        assert!(l.get("format").is_none() && o.get("response_format").is_none());
        assert!(a.get("tools").is_none());
    }

    #[test]
    fn a_schema_becomes_each_providers_structured_output() {
        let schema = serde_json::json!({"type": "object", "properties": {"q": {"type": "string"}}});
        let req = ChatRequest {
            model: "m".into(),
            system: None,
            messages: vec![ChatMessage {
                role: Role::User,
                content: "hi".into(),
            }],
            schema: Some(schema.clone()),
            temperature: None,
            max_tokens: None,
        };
        assert_eq!(ollama::body(&req, 0)["format"], schema);
        let o = openai::body(&req, 0, false);
        assert_eq!(o["response_format"]["type"], "json_schema");
        assert_eq!(o["response_format"]["json_schema"]["schema"], schema);
        assert_eq!(o["response_format"]["json_schema"]["name"], SCHEMA_NAME);
        let a = anthropic::body(&req, 0);
        assert_eq!(a["tools"][0]["input_schema"], schema);
        assert_eq!(
            a["tool_choice"],
            serde_json::json!({"type": "tool", "name": SCHEMA_NAME})
        );
    }

    #[test]
    fn anthropic_tool_input_streams_as_text() {
        let sse = concat!(
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"reply\",\"input\":{}}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"queries\\\": [\\\"a\"}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\" b\\\"]}\"}}\n\n",
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
        );
        let (text, _) = decode(decoder(ProviderKind::Anthropic), sse.as_bytes(), 7).unwrap();
        assert_eq!(text, r#"{"queries": ["a b"]}"#);
    }
}
