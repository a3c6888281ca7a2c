//! Search queries for a question: asked of the model as JSON, parsed
//! tolerantly (small local models wrap JSON in fences and prose, or cut it
//! off), with a stopword heuristic when the reply is unusable.

use serde_json::Value;

pub const PROMPT: &str = "Write 1 to 3 short web search queries that would find sources to answer the \
user's question. Reply with JSON only, like {\"queries\": [\"first query\", \"second query\"]}.";

const MAX_QUERIES: usize = 3;
const MAX_QUERY_LEN: usize = 120;

pub const STOPWORDS: &[&str] = &[
    "a", "about", "an", "and", "are", "as", "at", "be", "but", "by", "can", "could", "did", "do",
    "does", "explain", "for", "from", "give", "had", "has", "have", "how", "i", "if", "in", "into",
    "is", "it", "its", "me", "my", "of", "on", "or", "please", "should", "so", "tell", "than",
    "that", "the", "their", "them", "there", "these", "they", "this", "to", "under", "was", "we",
    "were", "what", "when", "where", "which", "who", "whom", "why", "will", "with", "would", "you",
    "your", "vs", "versus", "compare", "between",
];

fn clean(q: &str) -> Option<String> {
    let q = q.split_whitespace().collect::<Vec<_>>().join(" ");
    let q = q.trim_matches(|c: char| c == '"' || c == '\'' || c == '`' || c.is_whitespace());
    if q.is_empty() || q.len() > MAX_QUERY_LEN || q.starts_with('{') {
        return None;
    }
    Some(q.to_string())
}

/// Strings found in a JSON value: the array under any key, or the value
/// itself when it is an array of strings.
fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().and_then(clean))
            .collect(),
        Value::Object(o) => {
            for key in [
                "queries",
                "search_queries",
                "keywords",
                "search_keywords",
                "query",
            ] {
                if let Some(x) = o.get(key) {
                    let s = match x {
                        Value::String(s) => clean(s).into_iter().collect(),
                        other => strings(other),
                    };
                    if !s.is_empty() {
                        return s;
                    }
                }
            }
            o.values().flat_map(strings).collect()
        }
        _ => Vec::new(),
    }
}

fn dedup(v: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for q in v {
        if !out.iter().any(|o| o.eq_ignore_ascii_case(&q)) {
            out.push(q);
        }
        if out.len() == MAX_QUERIES {
            break;
        }
    }
    out
}

/// The queries in a model reply, or None if it holds none usable.
pub fn parse(reply: &str) -> Option<Vec<String>> {
    let text = reply.replace("```json", "").replace("```", "");
    // The widest {...} or [...] that parses.
    for (open, close) in [('{', '}'), ('[', ']')] {
        if let (Some(a), Some(b)) = (text.find(open), text.rfind(close))
            && a < b
            && let Ok(v) = serde_json::from_str::<Value>(&text[a..=b])
        {
            let s = dedup(strings(&v));
            if !s.is_empty() {
                return Some(s);
            }
        }
    }
    // Prose with a list: "1. foo" / "- foo".
    let listed: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter_map(|l| {
            let l = l.trim_start_matches(|c: char| {
                c.is_ascii_digit() || c == '.' || c == ')' || c == '-' || c == '*'
            });
            (l.len() < text.len()).then_some(l)
        })
        .filter(|l| !l.is_empty() && !l.ends_with(':') && !l.contains('{') && !l.contains('"'))
        .filter_map(clean)
        .filter(|l| l.split_whitespace().count() <= 10)
        .collect();
    let has_list = text.lines().any(|l| {
        let t = l.trim_start();
        t.starts_with("- ") || t.starts_with("* ") || t.starts_with("1.") || t.starts_with("1)")
    });
    if has_list && !listed.is_empty() {
        let listed: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| {
                l.starts_with("- ")
                    || l.starts_with("* ")
                    || l.chars().next().is_some_and(|c| c.is_ascii_digit())
            })
            .filter_map(|l| {
                clean(l.trim_start_matches(|c: char| c.is_ascii_digit() || ".)-* ".contains(c)))
            })
            .collect();
        let s = dedup(listed);
        if !s.is_empty() {
            return Some(s);
        }
    }
    None
}

/// One query from the question's content words, URLs and stopwords removed.
pub fn heuristic(question: &str) -> Vec<String> {
    let words: Vec<String> = question
        .split_whitespace()
        .filter(|w| !w.contains("://"))
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric() && c != '+' && c != '#')
                .to_string()
        })
        .filter(|w| !w.is_empty() && !STOPWORDS.contains(&w.to_lowercase().as_str()))
        .take(8)
        .collect();
    if words.is_empty() {
        let q = question.trim();
        return if q.is_empty() {
            vec![]
        } else {
            vec![q.chars().take(MAX_QUERY_LEN).collect()]
        };
    }
    vec![words.join(" ")]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_fenced_json() {
        assert_eq!(
            parse(r#"{"queries": ["rust borrow checker", "lifetimes"]}"#).unwrap(),
            vec!["rust borrow checker", "lifetimes"]
        );
        let fenced = "Sure! Here you go:\n```json\n{\"queries\": [\"a b\", \"c d\", \"e\", \"f\"]}\n```\nHope it helps.";
        assert_eq!(parse(fenced).unwrap(), vec!["a b", "c d", "e"]);
        assert_eq!(parse(r#"["x y", "x y", "z"]"#).unwrap(), vec!["x y", "z"]);
        assert_eq!(
            parse(r#"{"search_keywords": "solar panels efficiency"}"#).unwrap(),
            vec!["solar panels efficiency"]
        );
    }

    #[test]
    fn the_recorded_truncated_small_model_reply_falls_back() {
        let raw = std::fs::read_to_string(format!(
            "{}/../shared/fixtures/llamacpp_chat_nonstream.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let v: Value = serde_json::from_str(&raw).unwrap();
        let content = v["choices"][0]["message"]["content"].as_str().unwrap();
        assert_eq!(parse(content), None, "truncated JSON is not usable");
        assert_eq!(
            heuristic("What is the transformer architecture in machine learning?"),
            vec!["transformer architecture machine learning"]
        );
    }

    #[test]
    fn prose_lists_are_used() {
        let reply =
            "Here are some queries:\n1. history of the printing press\n2. Gutenberg movable type\n";
        assert_eq!(
            parse(reply).unwrap(),
            vec!["history of the printing press", "Gutenberg movable type"]
        );
        assert_eq!(parse("I cannot help with that."), None);
    }

    #[test]
    fn heuristic_drops_urls_and_stopwords() {
        assert_eq!(
            heuristic("Summarize https://x.org/a please: what is in it?"),
            vec!["Summarize"]
        );
        assert_eq!(heuristic("the of and"), vec!["the of and"]);
        assert!(heuristic("   ").is_empty());
    }
}
