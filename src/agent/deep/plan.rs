//! The research plan: sub-questions to search, from the model
//! (schema-constrained) or, without one, from the question itself — the
//! question plus one query per name or quoted title in it, so a
//! comparison ("Were A and B …?") searches each side.

use crate::domain::Role;
use serde_json::{Value, json};

use crate::agent::provider::{ChatMessage, ChatRequest};
use crate::agent::research::keywords;

pub const MAX_SUB_QUESTIONS: usize = 6;

pub const PROMPT: &str = "You plan research. Break the user's question into 2 to 6 sub-questions \
that together answer it, each with one short web search query (names, titles, key terms). When \
the question needs a fact about something it only describes (\"the woman who played X\"), make \
finding that thing its own sub-question. Reply with JSON only: {\"sub_questions\": \
[{\"question\": \"...\", \"query\": \"...\"}]}.";

pub fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "sub_questions": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_SUB_QUESTIONS,
                "items": {
                    "type": "object",
                    "properties": {"question": {"type": "string"}, "query": {"type": "string"}},
                    "required": ["question", "query"],
                    "additionalProperties": false,
                },
            },
        },
        "required": ["sub_questions"],
        "additionalProperties": false,
    })
}

/// One thing to find out, and the query that searches for it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SubQuestion {
    pub question: String,
    pub query: String,
}

pub fn request(
    model: &str,
    question: &str,
    history: &[ChatMessage],
    summary: Option<&str>,
) -> ChatRequest {
    ChatRequest {
        model: model.to_string(),
        system: Some(PROMPT.into()),
        messages: vec![ChatMessage {
            role: Role::User,
            content: keywords::request_text(question, history, summary),
        }],
        schema: Some(schema()),
        temperature: None,
        max_tokens: None,
    }
}

/// The sub-questions of a model reply; None when it holds none usable.
pub fn parse(reply: &str) -> Option<Vec<SubQuestion>> {
    let text = reply.replace("```json", "").replace("```", "");
    let (a, b) = (text.find('{')?, text.rfind('}')?);
    let v: Value = serde_json::from_str(text.get(a..=b)?).ok()?;
    let items = v["sub_questions"].as_array()?;
    let subs: Vec<SubQuestion> = items
        .iter()
        .filter_map(|it| {
            let q = it["question"].as_str()?.trim();
            let query = it["query"]
                .as_str()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .unwrap_or(q);
            (!q.is_empty() && query.len() <= 160).then(|| SubQuestion {
                question: q.to_string(),
                query: query.to_string(),
            })
        })
        .take(MAX_SUB_QUESTIONS)
        .collect();
    (!subs.is_empty()).then_some(subs)
}

/// Without a model: the question (searched by its content words), then
/// each name or quoted title in it.
pub fn heuristic(question: &str) -> Vec<SubQuestion> {
    let mut subs = Vec::new();
    if let Some(q) = keywords::heuristic(question).into_iter().next() {
        subs.push(SubQuestion {
            question: question.trim().to_string(),
            query: q,
        });
    }
    for name in keywords::names(question) {
        if subs.len() == MAX_SUB_QUESTIONS {
            break;
        }
        if !subs.iter().any(|s| s.query.eq_ignore_ascii_case(&name)) {
            subs.push(SubQuestion {
                question: format!("What is {name}?"),
                query: name,
            });
        }
    }
    subs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comparison_searches_each_side() {
        let p = heuristic("Were Scott Derrickson and Ed Wood of the same nationality?");
        let queries: Vec<&str> = p.iter().map(|s| s.query.as_str()).collect();
        assert_eq!(
            queries,
            vec![
                "Scott Derrickson Ed Wood same nationality",
                "Scott Derrickson",
                "Ed Wood"
            ]
        );
    }

    #[test]
    fn model_plans_parse_and_garbage_does_not() {
        let r = r#"{"sub_questions": [{"question": "Who played Corliss Archer in Kiss and Tell?", "query": "Kiss and Tell 1945 film Corliss Archer"}, {"question": "What positions did she hold?", "query": ""}]}"#;
        let p = parse(r).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[1].query, "What positions did she hold?");
        for bad in [
            "",
            "no plan",
            "{\"sub_questions\": []}",
            "{\"sub_questions\": [{\"query\": 3}]}",
            "{",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
