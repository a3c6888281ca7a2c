//! Is the configured provider reachable, and does it have the model?
//! Used at start-up (status bar) and by `sleuth doctor`.

use std::time::Duration;

use serde::Serialize;

use crate::config::{ProviderConfig, ProviderKind};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProviderProbe {
    pub reachable: bool,
    pub model_found: Option<bool>,
    /// One line for the user: what was tried and, on failure, what to do.
    pub summary: String,
    pub models: Vec<String>,
}

/// Joins an OpenAI-style path to a base that may or may not end in `/v1`.
pub fn openai_url(base: &str, path: &str) -> String {
    let base = base.trim_end_matches('/');
    let base = base.strip_suffix("/v1").unwrap_or(base);
    format!("{base}/v1/{}", path.trim_start_matches('/'))
}

/// The env var holding the key: the configured name, except that
/// Anthropic with the default OpenAI name reads `ANTHROPIC_API_KEY`.
pub fn key_env(cfg: &ProviderConfig) -> &str {
    match cfg.kind {
        ProviderKind::Anthropic if cfg.api_key_env == "OPENAI_API_KEY" => "ANTHROPIC_API_KEY",
        _ => cfg.api_key_env.as_str(),
    }
}

/// The key from its variable, without the spaces or line break a paste
/// or a file leaves around it (a key never has them).
pub fn api_key(cfg: &ProviderConfig) -> Option<String> {
    std::env::var(key_env(cfg))
        .ok()
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty())
}

/// Why the key cannot be sent, if it cannot: a line break or another
/// control character inside it is no header value (reqwest then failed
/// as if the server could not be reached).
pub fn key_problem(cfg: &ProviderConfig) -> Option<String> {
    let key = api_key(cfg)?;
    key.chars().any(|c| c.is_control() || c.is_whitespace()).then(|| {
        format!(
            "the API key in {} is malformed: it has a line break, space or control character inside — set it again without one",
            key_env(cfg)
        )
    })
}

fn hint(cfg: &ProviderConfig, base: &str) -> String {
    let fix = cfg.base_url_fix();
    match cfg.kind {
        ProviderKind::Ollama => format!("no Ollama at {base} — start `ollama serve`, {fix}"),
        ProviderKind::Openai => {
            format!("no OpenAI-compatible server at {base} — start it, or {fix}")
        }
        ProviderKind::Anthropic => {
            format!("cannot reach Anthropic at {base} — check the network, or {fix}")
        }
    }
}

fn model_matches(wanted: &str, have: &str) -> bool {
    have == wanted || have.strip_suffix(":latest") == Some(wanted)
}

pub async fn probe(client: &reqwest::Client, cfg: &ProviderConfig) -> ProviderProbe {
    let base = cfg.base_url.trim_end_matches('/');
    if let Some(why) = key_problem(cfg) {
        return ProviderProbe {
            reachable: false,
            model_found: None,
            summary: why,
            models: vec![],
        };
    }
    let key = api_key(cfg);
    let req = match cfg.kind {
        ProviderKind::Ollama => client.get(format!("{base}/api/tags")),
        ProviderKind::Openai => {
            let r = client.get(openai_url(base, "models"));
            match &key {
                Some(k) => r.bearer_auth(k),
                None => r,
            }
        }
        ProviderKind::Anthropic => {
            let Some(k) = &key else {
                return ProviderProbe {
                    reachable: false,
                    model_found: None,
                    summary: "ANTHROPIC_API_KEY is not set — export it, or pick another provider with --provider".into(),
                    models: vec![],
                };
            };
            client
                .get(format!("{base}/v1/models"))
                .header("x-api-key", k)
                .header("anthropic-version", "2023-06-01")
        }
    };
    let resp = match req.timeout(Duration::from_secs(3)).send().await {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(error = %e, base, "provider probe failed");
            return ProviderProbe {
                reachable: false,
                model_found: None,
                summary: hint(cfg, base),
                models: vec![],
            };
        }
    };
    let status = resp.status();
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        return ProviderProbe {
            reachable: true,
            model_found: None,
            summary: format!(
                "{base} refused the API key ({status}) — set {} to a valid key",
                cfg.api_key_env
            ),
            models: vec![],
        };
    }
    if !status.is_success() {
        return ProviderProbe {
            reachable: true,
            model_found: None,
            summary: format!("{base} answered {status} to the model list"),
            models: vec![],
        };
    }
    let body: serde_json::Value = resp.json().await.unwrap_or_default();
    let models: Vec<String> = match cfg.kind {
        ProviderKind::Ollama => body["models"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|m| m["name"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default(),
        _ => body["data"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|m| m["id"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default(),
    };
    let found = models.iter().any(|m| model_matches(&cfg.model, m));
    let summary = if found || models.is_empty() {
        format!("{} at {base}, model {}", cfg.kind.as_str(), cfg.model)
    } else if cfg.kind == ProviderKind::Ollama {
        format!(
            "model '{}' not found at {base} — run `ollama pull {}` or pick another with --model",
            cfg.model, cfg.model
        )
    } else {
        format!(
            "model '{}' not listed by {base} — pick one of: {}",
            cfg.model,
            models.join(", ")
        )
    };
    ProviderProbe {
        reachable: true,
        model_found: (!models.is_empty()).then_some(found),
        summary,
        models,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_urls_tolerate_a_v1_suffix() {
        assert_eq!(
            openai_url("http://h:8080", "models"),
            "http://h:8080/v1/models"
        );
        assert_eq!(
            openai_url("http://h:8080/v1/", "/models"),
            "http://h:8080/v1/models"
        );
    }

    #[test]
    fn ollama_latest_tag_matches_bare_name() {
        assert!(model_matches("llama3.2", "llama3.2:latest"));
        assert!(!model_matches("llama3.2", "llama3.1:latest"));
    }
}
