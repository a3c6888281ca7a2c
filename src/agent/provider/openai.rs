//! OpenAI-compatible chat completions (`/v1/chat/completions`, SSE):
//! OpenAI, llama.cpp's llama-server, vLLM, LM Studio, OpenRouter…

use serde_json::{Value, json};

use super::{ChatRequest, Decoder, FinishReason, Piece, ProviderError};
use crate::agent::sse::SseParser;

/// `official`: api.openai.com, whose newer models refuse `max_tokens` and
/// take `max_completion_tokens`; llama.cpp, vLLM and LM Studio take
/// `max_tokens`.
pub fn body(req: &ChatRequest, max_tokens: u32, official: bool) -> Value {
    let messages = super::messages_with_system(req);
    let mut b = json!({
        "model": req.model,
        "messages": messages,
        "stream": true,
        "stream_options": {"include_usage": true},
    });
    if max_tokens > 0 {
        let key = if official {
            "max_completion_tokens"
        } else {
            "max_tokens"
        };
        b[key] = json!(max_tokens);
    }
    if let Some(t) = req.temperature {
        b["temperature"] = json!(t);
    }
    if let Some(schema) = &req.schema {
        b["response_format"] = json!({
            "type": "json_schema",
            "json_schema": {"name": super::SCHEMA_NAME, "strict": true, "schema": schema},
        });
    }
    b
}

#[derive(Default)]
pub struct OpenAiDecoder {
    sse: SseParser,
}

impl OpenAiDecoder {
    pub fn new() -> Self {
        Self {
            sse: SseParser::new(),
        }
    }
}

fn finish_reason(s: &str) -> FinishReason {
    match s {
        "stop" | "eos" => FinishReason::Stop,
        "length" => FinishReason::Length,
        _ => FinishReason::Other,
    }
}

impl Decoder for OpenAiDecoder {
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<Piece>) -> Result<(), ProviderError> {
        let events = self
            .sse
            .push(bytes)
            .map_err(|e| ProviderError::Malformed(e.to_string()))?;
        for ev in events {
            let data = ev.data.trim();
            if data == "[DONE]" {
                out.push(Piece::Done);
                continue;
            }
            if data.is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(data)
                .map_err(|e| ProviderError::Malformed(format!("{e} in {:.80}", data)))?;
            if !v["error"].is_null() {
                return Err(ProviderError::MidStream(super::error::error_message(
                    data.as_bytes(),
                )));
            }
            if let Some(choice) = v["choices"].get(0) {
                if let Some(text) = choice["delta"]["content"].as_str()
                    && !text.is_empty()
                {
                    out.push(Piece::Text(text.to_string()));
                }
                if let Some(r) = choice["finish_reason"].as_str() {
                    out.push(Piece::Finish(finish_reason(r)));
                }
            }
            if v["usage"].is_object() {
                out.push(Piece::Usage {
                    input: v["usage"]["prompt_tokens"].as_i64(),
                    output: v["usage"]["completion_tokens"].as_i64(),
                });
            }
        }
        Ok(())
    }
}
