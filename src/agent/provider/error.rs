//! Provider failures, with what the user should do about each.

use std::time::Duration;

use crate::config::ProviderKind;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProviderError {
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("HTTP {status}: {message}")]
    Http {
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    },
    #[error("no response within {0} s")]
    FirstByteTimeout(u64),
    #[error("the stream stalled for {0} s")]
    IdleTimeout(u64),
    #[error("the model failed mid-answer: {0}")]
    MidStream(String),
    #[error("the connection dropped before the answer was complete")]
    Interrupted,
    #[error("unreadable reply: {0}")]
    Malformed(String),
    /// The answer passed the turn's byte or time cap and was cut there.
    #[error("the answer passed the limit of {0}")]
    TooLong(String),
    #[error("{0}")]
    Setup(String),
}

impl ProviderError {
    /// Worth retrying before any output: connection errors, 408, 409, 429
    /// and 5xx, as the official SDKs do.
    pub fn retryable(&self) -> bool {
        match self {
            ProviderError::Connect(_) => true,
            ProviderError::Http { status, .. } => {
                matches!(status, 408 | 409 | 429) || *status >= 500
            }
            _ => false,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ProviderError::Http { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// One line for the transcript: what happened and what to do.
    pub fn user_message(
        &self,
        cfg: &crate::config::ProviderConfig,
        model: &str,
        key_env: &str,
    ) -> String {
        let (kind, base_url, fix) = (cfg.kind, cfg.base_url.as_str(), cfg.base_url_fix());
        let name = match kind {
            ProviderKind::Ollama => "Ollama",
            ProviderKind::Openai => "the OpenAI-compatible server",
            ProviderKind::Anthropic => "Anthropic",
        };
        match self {
            ProviderError::Connect(_) => match kind {
                ProviderKind::Ollama => {
                    format!("cannot reach Ollama at {base_url} — start `ollama serve`, {fix}")
                }
                _ => format!("cannot reach {name} at {base_url} — start it, or {fix}"),
            },
            ProviderError::Http {
                status: status @ (401 | 403),
                message,
                ..
            } => match kind {
                // sleuth sends Ollama no key: naming one would mislead.
                ProviderKind::Ollama => format!(
                    "Ollama at {base_url} refused the request ({status}): {message} — sleuth sends Ollama no key; check the server or the proxy in front of it"
                ),
                _ => {
                    format!("{name} refused the API key: {message} — set {key_env} to a valid key")
                }
            },
            ProviderError::Http {
                status: 404,
                message,
                ..
            } => match kind {
                ProviderKind::Ollama => format!(
                    "model '{model}' not found — run `ollama pull {model}` or pick another with F2"
                ),
                _ => format!("{message} (404) — check the model name (F2) and the base URL"),
            },
            ProviderError::Http {
                status: 429,
                message,
                ..
            } => {
                format!("rate limited by {name} (429): {message} — wait a moment and ask again")
            }
            ProviderError::Http {
                status, message, ..
            } if *status >= 500 => {
                format!("{name} failed ({status}): {message} — try again")
            }
            ProviderError::Http {
                status, message, ..
            } => format!("{name} rejected the request ({status}): {message}"),
            ProviderError::FirstByteTimeout(s) => {
                format!(
                    "{name} did not answer within {s} s — the model may still be loading; try again"
                )
            }
            ProviderError::IdleTimeout(s) => {
                format!("{name} stopped sending for {s} s; the answer was cut off")
            }
            ProviderError::MidStream(m) => format!("{name} failed mid-answer: {m}"),
            ProviderError::Interrupted => format!("the connection to {name} dropped mid-answer"),
            ProviderError::Malformed(m) => format!("unreadable reply from {name}: {m}"),
            ProviderError::Setup(m) => m.clone(),
            ProviderError::TooLong(what) => {
                format!("{name}'s answer passed the limit of {what} and was cut there")
            }
        }
    }
}

/// An error with its causes, joined with ": ".
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// The human part of an error body in any of the providers' shapes:
/// `{"error":{"message":…}}`, `{"error":"…"}`, `{"message":…}`, or text.
pub fn error_message(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        let candidates = [
            &v["error"]["message"],
            &v["error"],
            &v["message"],
            &v["detail"],
        ];
        for c in candidates {
            if let Some(s) = c.as_str() {
                return crate::text::sanitize::one_line(s);
            }
        }
    }
    let t = crate::text::sanitize::one_line(text.trim());
    if t.is_empty() {
        "no details".into()
    } else {
        crate::text::truncate(&t, 200)
    }
}

/// `retry-after-ms`, else `retry-after` in seconds or as an HTTP date;
/// capped at 60 s.
pub fn parse_retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let cap = Duration::from_secs(60);
    if let Some(ms) = headers
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
    {
        return Some(Duration::from_millis(ms as u64).min(cap));
    }
    let v = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .to_string();
    if let Ok(secs) = v.parse::<f64>()
        && secs.is_finite()
        && secs >= 0.0
    {
        return Some(Duration::from_secs_f64(secs).min(cap));
    }
    let when = chrono::DateTime::parse_from_rfc2822(&v).ok()?;
    let wait = when.timestamp_millis() - chrono::Utc::now().timestamp_millis();
    Some(Duration::from_millis(wait.max(0) as u64).min(cap))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/../shared/fixtures/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn error_bodies_of_every_provider_yield_their_message() {
        assert!(
            error_message(&fixture("openai_error_429.json"))
                .starts_with("You exceeded your current quota")
        );
        assert_eq!(
            error_message(&fixture("ollama_error.json")),
            "model 'llama3.2' not found"
        );
        assert_eq!(
            error_message(&fixture("anthropic_error.json")),
            "The requested resource could not be found."
        );
        assert_eq!(
            error_message(&fixture("llamacpp_error_400.json")),
            "Expected 'messages' to be an array"
        );
        assert_eq!(
            error_message(b"<html>Bad Gateway</html>"),
            "<html>Bad Gateway</html>"
        );
        assert_eq!(error_message(b""), "no details");
    }

    #[test]
    fn retry_after_in_every_form() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(parse_retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after-ms", HeaderValue::from_static("150"));
        assert_eq!(parse_retry_after(&h), Some(Duration::from_millis(150)));
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("9999"));
        assert_eq!(parse_retry_after(&h), Some(Duration::from_secs(60)));
        let future = (chrono::Utc::now() + chrono::Duration::seconds(5)).to_rfc2822();
        h.insert("retry-after", HeaderValue::from_str(&future).unwrap());
        let d = parse_retry_after(&h).unwrap();
        assert!(
            d > Duration::from_secs(3) && d <= Duration::from_secs(5),
            "{d:?}"
        );
        h.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(parse_retry_after(&h), None);
    }

    #[test]
    fn only_transient_failures_are_retried() {
        let http = |status| ProviderError::Http {
            status,
            message: String::new(),
            retry_after: None,
        };
        assert!(
            http(429).retryable()
                && http(500).retryable()
                && http(503).retryable()
                && http(408).retryable()
        );
        assert!(!http(400).retryable() && !http(401).retryable() && !http(404).retryable());
        assert!(ProviderError::Connect("refused".into()).retryable());
        assert!(!ProviderError::Interrupted.retryable());
    }
}
