//! Reflection after a round: the model sees the notes and says whether the
//! evidence suffices or what to search next (schema-constrained). A
//! malformed or failed reply means the heuristic leads are followed.

use crate::domain::Role;
use serde_json::{Value, json};

use crate::agent::provider::{ChatMessage, ChatRequest};
use crate::agent::research::answer;

pub const PROMPT: &str = "You review research notes. Given the question, the sub-questions and \
the passages found so far, decide whether the evidence answers the question. If it does not, give \
1 to 3 new short search queries for what is missing: in particular a name or title that a passage \
mentions and that the answer depends on. Reply with JSON only: {\"enough\": true or false, \
\"missing\": \"what is missing or contradictory\", \"queries\": [\"...\"]}.";

pub fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "enough": {"type": "boolean"},
            "missing": {"type": "string"},
            "queries": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
        },
        "required": ["enough", "queries"],
        "additionalProperties": false,
    })
}

/// What the model decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub enough: bool,
    pub queries: Vec<String>,
}

/// `notes`: (sub-question, passage texts).
pub fn request(model: &str, question: &str, notes: &[(String, Vec<String>)]) -> ChatRequest {
    let mut content = format!("Question: {question}\n\nNotes so far:\n");
    for (heading, texts) in notes {
        content.push_str(&format!("\n## {heading}\n"));
        for t in texts {
            content.push_str(&format!("- {}\n", answer::shorten(t, 500)));
        }
    }
    ChatRequest {
        model: model.to_string(),
        system: Some(PROMPT.into()),
        messages: vec![ChatMessage {
            role: Role::User,
            content,
        }],
        schema: Some(schema()),
        temperature: None,
        max_tokens: None,
    }
}

pub fn parse(reply: &str) -> Option<Decision> {
    let text = reply.replace("```json", "").replace("```", "");
    let (a, b) = (text.find('{')?, text.rfind('}')?);
    let v: Value = serde_json::from_str(text.get(a..=b)?).ok()?;
    let enough = v["enough"].as_bool()?;
    let queries = v["queries"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::trim)
                .filter(|q| !q.is_empty() && q.len() <= 160)
                .map(String::from)
                .take(3)
                .collect()
        })
        .unwrap_or_default();
    Some(Decision { enough, queries })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_parse_and_garbage_does_not() {
        assert_eq!(
            parse(
                r#"{"enough": false, "missing": "her posts", "queries": ["Shirley Temple diplomat"]}"#
            ),
            Some(Decision {
                enough: false,
                queries: vec!["Shirley Temple diplomat".into()]
            })
        );
        assert!(parse(r#"{"enough": true, "queries": []}"#).unwrap().enough);
        for bad in [
            "",
            "yes",
            "{\"queries\": [\"x\"]}",
            "{\"enough\": \"maybe\"}",
            "{",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
