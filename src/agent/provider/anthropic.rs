//! Anthropic messages API (`/v1/messages`, SSE with typed events).

use crate::domain::Role;
use serde_json::{Value, json};

use super::{ChatRequest, Decoder, FinishReason, Piece, ProviderError};
use crate::agent::sse::SseParser;

pub const VERSION: &str = "2023-06-01";
/// Anthropic requires a limit; this one when the config leaves it to the
/// server.
const DEFAULT_MAX_TOKENS: u32 = 4096;

pub fn body(req: &ChatRequest, max_tokens: u32) -> Value {
    let max_tokens = if max_tokens == 0 {
        DEFAULT_MAX_TOKENS
    } else {
        max_tokens
    };
    let messages: Vec<Value> = req
        .messages
        .iter()
        .filter(|m| m.role != Role::System)
        .map(|m| json!({"role": m.role, "content": m.content}))
        .collect();
    let mut b = json!({
        "model": req.model,
        "max_tokens": max_tokens,
        "stream": true,
        "messages": messages,
    });
    if let Some(system) = &req.system {
        b["system"] = json!(system);
    }
    if let Some(t) = req.temperature {
        b["temperature"] = json!(t);
    }
    // Structured output: a tool whose input is the reply, and the model
    // made to call it; the decoder passes the tool input on as text.
    if let Some(schema) = &req.schema {
        b["tools"] = json!([{
            "name": super::SCHEMA_NAME,
            "description": "Give the reply in this shape.",
            "input_schema": schema,
        }]);
        b["tool_choice"] = json!({"type": "tool", "name": super::SCHEMA_NAME});
    }
    b
}

#[derive(Default)]
pub struct AnthropicDecoder {
    sse: SseParser,
}

impl AnthropicDecoder {
    pub fn new() -> Self {
        Self {
            sse: SseParser::new(),
        }
    }
}

impl Decoder for AnthropicDecoder {
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<Piece>) -> Result<(), ProviderError> {
        let events = self
            .sse
            .push(bytes)
            .map_err(|e| ProviderError::Malformed(e.to_string()))?;
        for ev in events {
            let v: Value = serde_json::from_str(&ev.data)
                .map_err(|e| ProviderError::Malformed(format!("{e} in {:.80}", ev.data)))?;
            let kind = if ev.event.is_empty() {
                v["type"].as_str().unwrap_or("")
            } else {
                ev.event.as_str()
            };
            match kind {
                "message_start" => out.push(Piece::Usage {
                    input: v["message"]["usage"]["input_tokens"].as_i64(),
                    output: None,
                }),
                "content_block_delta" => {
                    let d = &v["delta"];
                    let text = match d["type"].as_str() {
                        Some("text_delta") => d["text"].as_str(),
                        // A forced tool's input (structured output).
                        Some("input_json_delta") => d["partial_json"].as_str(),
                        _ => None,
                    };
                    if let Some(t) = text {
                        out.push(Piece::Text(t.to_string()));
                    }
                }
                "message_delta" => {
                    if let Some(r) = v["delta"]["stop_reason"].as_str() {
                        out.push(Piece::Finish(match r {
                            "end_turn" | "stop_sequence" => FinishReason::Stop,
                            "max_tokens" => FinishReason::Length,
                            _ => FinishReason::Other,
                        }));
                    }
                    out.push(Piece::Usage {
                        input: None,
                        output: v["usage"]["output_tokens"].as_i64(),
                    });
                }
                "message_stop" => out.push(Piece::Done),
                "error" => {
                    return Err(ProviderError::MidStream(super::error::error_message(
                        ev.data.as_bytes(),
                    )));
                }
                // ping, content_block_start/stop, and future event types.
                _ => {}
            }
        }
        Ok(())
    }
}
