//! Ollama's native chat API (`/api/chat`, newline-delimited JSON).

use serde_json::{Value, json};

use super::{ChatRequest, Decoder, FinishReason, Piece, ProviderError};

pub fn body(req: &ChatRequest, max_tokens: u32) -> Value {
    let messages = super::messages_with_system(req);
    let mut b = json!({"model": req.model, "messages": messages, "stream": true});
    if max_tokens > 0 {
        b["options"]["num_predict"] = json!(max_tokens);
    }
    if let Some(t) = req.temperature {
        b["options"]["temperature"] = json!(t);
    }
    if let Some(schema) = &req.schema {
        b["format"] = schema.clone();
    }
    b
}

#[derive(Default)]
pub struct OllamaDecoder {
    line: Vec<u8>,
}

/// Longest NDJSON line accepted before the reply counts as malformed.
const MAX_LINE: usize = 32 * 1024 * 1024;

impl OllamaDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    fn line(&mut self, out: &mut Vec<Piece>) -> Result<(), ProviderError> {
        let line = std::mem::take(&mut self.line);
        let text = String::from_utf8_lossy(&line);
        let text = text.trim();
        if text.is_empty() {
            return Ok(());
        }
        let v: Value = serde_json::from_str(text)
            .map_err(|e| ProviderError::Malformed(format!("{e} in {:.80}", text)))?;
        // A failure after HTTP 200 arrives as {"error": "..."}.
        if let Some(e) = v["error"].as_str() {
            return Err(ProviderError::MidStream(crate::text::sanitize::one_line(e)));
        }
        // /api/chat puts text in message.content; /api/generate in response.
        let piece = v["message"]["content"]
            .as_str()
            .or_else(|| v["response"].as_str());
        if let Some(t) = piece
            && !t.is_empty()
        {
            out.push(Piece::Text(t.to_string()));
        }
        if v["done"].as_bool() == Some(true) {
            out.push(Piece::Usage {
                input: v["prompt_eval_count"].as_i64(),
                output: v["eval_count"].as_i64(),
            });
            out.push(Piece::Finish(match v["done_reason"].as_str() {
                Some("length") => FinishReason::Length,
                _ => FinishReason::Stop,
            }));
            out.push(Piece::Done);
        }
        Ok(())
    }
}

impl Decoder for OllamaDecoder {
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<Piece>) -> Result<(), ProviderError> {
        let mut rest = bytes;
        while let Some(p) = rest.iter().position(|&b| b == b'\n') {
            self.line.extend_from_slice(&rest[..p]);
            self.line(out)?;
            rest = &rest[p + 1..];
        }
        self.line.extend_from_slice(rest);
        if self.line.len() > MAX_LINE {
            return Err(ProviderError::Malformed(
                "a reply line exceeded 32 MB".into(),
            ));
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<Piece>) -> Result<(), ProviderError> {
        // A last line without its newline still counts.
        self.line(out)
    }
}
