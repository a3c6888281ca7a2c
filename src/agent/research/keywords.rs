//! Search queries for a question: asked of the model as JSON (with the
//! conversation, so a follow-up is searched as what it means), parsed
//! tolerantly (small local models wrap JSON in fences and prose, or cut it
//! off), with a heuristic when the reply is unusable or late.

use crate::domain::Role;
use serde_json::{Value, json};

use crate::agent::provider::ChatMessage;

pub const PROMPT: &str = "You turn a user's latest question into web search queries. Read the \
conversation so far, then reply with JSON only: {\"standalone\": the latest question rewritten to \
stand on its own (replace pronouns and references with what they mean in the conversation), \
\"queries\": 1 to 3 short search queries (names, titles and key terms, not sentences)}.";

/// The JSON schema of the reply, for the providers' structured output.
pub fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "standalone": {"type": "string"},
            "queries": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3},
        },
        "required": ["standalone", "queries"],
        "additionalProperties": false,
    })
}

/// Characters of each earlier message shown to the keyword step.
const CONTEXT_MESSAGE_CHARS: usize = 600;
/// Earlier messages shown to the keyword step.
const CONTEXT_MESSAGES: usize = 4;

/// The keyword step's user message: the summary and last turns, then the
/// question.
pub fn request_text(question: &str, history: &[ChatMessage], summary: Option<&str>) -> String {
    let mut s = String::new();
    if let Some(sum) = summary.filter(|s| !s.trim().is_empty()) {
        s.push_str("Summary of the earlier conversation:\n");
        s.push_str(sum.trim());
        s.push_str("\n\n");
    }
    let recent = &history[history.len().saturating_sub(CONTEXT_MESSAGES)..];
    if !recent.is_empty() {
        s.push_str("Recent turns:\n");
        for m in recent {
            let text: String = m.content.chars().take(CONTEXT_MESSAGE_CHARS).collect();
            let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
            s.push_str(&format!("{}: {text}\n", m.role.as_str()));
        }
        s.push('\n');
    }
    s.push_str("Latest question: ");
    s.push_str(question.trim());
    s
}

/// What the keyword step settled on.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The question as it stands alone; drives ranking.
    pub standalone: String,
    pub queries: Vec<String>,
    pub from_model: bool,
}

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

/// The standalone question and queries of a model reply; None when it
/// holds no usable query. A missing or odd standalone question is None.
pub fn parse_reply(reply: &str) -> Option<(Option<String>, Vec<String>)> {
    let queries = parse(reply)?;
    let text = reply.replace("```json", "").replace("```", "");
    let standalone = match (text.find('{'), text.rfind('}')) {
        (Some(a), Some(b)) if a < b => serde_json::from_str::<Value>(&text[a..=b])
            .ok()
            .and_then(|v| v["standalone"].as_str().map(str::trim).map(String::from))
            .filter(|s| !s.is_empty() && s.len() <= 500),
        _ => None,
    };
    Some((standalone, queries))
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

/// The question's content words, URLs and stopwords removed.
fn content_words(question: &str) -> Vec<String> {
    question
        .split_whitespace()
        .filter(|w| !w.contains("://"))
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric() && c != '+' && c != '#')
                .to_string()
        })
        .filter(|w| !w.is_empty() && !STOPWORDS.contains(&w.to_lowercase().as_str()))
        .collect()
}

/// Names in the question: runs of capitalised words (not the first word of
/// the sentence alone), and quoted titles.
pub fn names(question: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    // Quoted titles first: "Kiss and Tell", “Kiss and Tell”.
    for (open, close) in [('"', '"'), ('“', '”')] {
        let mut rest = question;
        while let Some(a) = rest.find(open) {
            let after = &rest[a + open.len_utf8()..];
            let Some(b) = after.find(close) else { break };
            let t = after[..b].trim();
            if !t.is_empty() && t.len() <= MAX_QUERY_LEN {
                out.push(t.to_string());
            }
            rest = &after[b + close.len_utf8()..];
        }
    }
    let words: Vec<&str> = question.split_whitespace().collect();
    let mut run: Vec<String> = Vec::new();
    let flush = |run: &mut Vec<String>, out: &mut Vec<String>| {
        if !run.is_empty() {
            let n = run.join(" ");
            if !out.iter().any(|o| o.eq_ignore_ascii_case(&n)) {
                out.push(n);
            }
            run.clear();
        }
    };
    // A word starting with a digit belongs to a name when the name goes on
    // with something that is not a plain word ("888 7th Avenue", "2014
    // S/S"), but not in "1945 American" or "17-year-old Shirley Temple":
    // decided right to left.
    let mut capitals = vec![false; words.len()];
    for i in (0..words.len()).rev() {
        let w = words[i].trim_matches(|c: char| !c.is_alphanumeric());
        let first = w.chars().next();
        let next = words
            .get(i + 1)
            .map(|n| n.trim_matches(|c: char| !c.is_alphanumeric()));
        let odd_next = next.is_some_and(|n| {
            n.chars().next().is_some_and(|c| c.is_ascii_digit()) || n.contains('/')
        });
        capitals[i] = first.is_some_and(char::is_uppercase)
            || (first.is_some_and(|c| c.is_ascii_digit())
                && !w.contains('-')
                && !words[i].ends_with([',', ';', ':', '?', '!', '.', ')'])
                && capitals.get(i + 1).copied().unwrap_or(false)
                && (odd_next || w.chars().any(char::is_alphabetic)));
    }
    for (i, raw) in words.iter().enumerate() {
        let w = raw.trim_matches(|c: char| !c.is_alphanumeric());
        let lower = w.to_lowercase();
        let capital = capitals[i];
        // "of"/"the" inside a name ("Duke of Normandy") keep the run going.
        let joiner =
            !run.is_empty() && matches!(lower.as_str(), "of" | "the" | "de" | "von" | "van");
        let sentence_start = i == 0 || words[i - 1].ends_with(['.', '?', '!']);
        let name_word = capital && !(sentence_start && STOPWORDS.contains(&lower.as_str()));
        if (name_word && !w.is_empty()) || joiner {
            run.push(w.to_string());
        } else {
            // A joiner cannot end a name.
            while run
                .last()
                .is_some_and(|l| matches!(l.as_str(), "of" | "the" | "de" | "von" | "van"))
            {
                run.pop();
            }
            flush(&mut run, &mut out);
        }
        // Punctuation after a word ends the name.
        if raw.ends_with([',', ';', ':', '?', '!', '.', ')']) {
            flush(&mut run, &mut out);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Whether a question leans on the conversation ("it", "they", "and how…").
fn is_follow_up(question: &str) -> bool {
    let lower = question.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .collect();
    let refers = words.iter().any(|w| {
        matches!(
            *w,
            "it" | "its"
                | "it's"
                | "they"
                | "them"
                | "their"
                | "this"
                | "that"
                | "these"
                | "those"
                | "he"
                | "she"
                | "his"
                | "her"
                | "him"
                | "there"
                | "same"
                | "other"
                | "others"
        )
    });
    let opener = ["and ", "what about", "how about", "why ", "also", "more "]
        .iter()
        .any(|o| lower.trim_start().starts_with(o));
    refers || opener || content_words(question).len() <= 2
}

/// Queries without a model: the question's content words, each name in
/// it (short queries find articles when a search engine wants every word
/// to match), and for a follow-up the earlier question's words with the
/// new ones. The standalone question for ranking adds the earlier question
/// to a follow-up.
pub fn heuristic_plan(question: &str, history: &[ChatMessage]) -> Plan {
    let mut queries = heuristic(question);
    for n in names(question) {
        queries.push(n);
    }
    let mut standalone = question.trim().to_string();
    let earlier = history.iter().rev().find(|m| m.role == Role::User);
    if let Some(prev) = earlier.filter(|_| is_follow_up(question)) {
        // The earlier question's names first, then its other content words.
        let mut q: Vec<String> = names(&prev.content);
        let named = q.join(" ").to_lowercase();
        for w in content_words(&prev.content) {
            if q.len() >= 4 {
                break;
            }
            if !named.split_whitespace().any(|n| n == w.to_lowercase()) {
                q.push(w);
            }
        }
        q.extend(content_words(question).into_iter().take(4));
        let joined = q.join(" ");
        if !joined.trim().is_empty() {
            queries.insert(0, joined.chars().take(MAX_QUERY_LEN).collect());
        }
        standalone = format!("{} {}", prev.content.trim(), question.trim());
    }
    Plan {
        standalone,
        queries: dedup_all(queries),
        from_model: false,
    }
}

fn dedup_all(v: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for q in v {
        if !q.trim().is_empty() && !out.iter().any(|o| o.eq_ignore_ascii_case(&q)) {
            out.push(q);
        }
    }
    out.truncate(MAX_QUERIES + 1);
    out
}

/// One query from the question's content words, URLs and stopwords removed.
pub fn heuristic(question: &str) -> Vec<String> {
    let words: Vec<String> = content_words(question).into_iter().take(8).collect();
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
    fn replies_carry_a_standalone_question() {
        let r = r#"{"standalone": "How does Deinococcus compare to other radiation-resistant organisms?", "queries": ["Deinococcus radiodurans radiation resistance"]}"#;
        let (s, q) = parse_reply(r).unwrap();
        assert!(s.unwrap().starts_with("How does Deinococcus"));
        assert_eq!(q, vec!["Deinococcus radiodurans radiation resistance"]);
        assert_eq!(
            parse_reply(r#"["a b"]"#),
            Some((None, vec!["a b".to_string()]))
        );
    }

    #[test]
    fn names_are_found() {
        assert_eq!(
            names(
                "What government position was held by the woman who portrayed Corliss Archer in the film Kiss and Tell?"
            ),
            vec!["Corliss Archer", "Kiss", "Tell"]
        );
        assert_eq!(
            names("Who was the Duke of Normandy in 1066?"),
            vec!["Duke of Normandy"]
        );
        assert_eq!(
            names("Were \"Scott Derrickson\" and Ed Wood of the same nationality?"),
            vec!["Scott Derrickson", "Ed Wood"]
        );
        assert_eq!(names("What is the capital?"), Vec::<String>::new());
        assert_eq!(
            names("Are Random House Tower and 888 7th Avenue both used for real estate?"),
            vec!["Random House Tower", "888 7th Avenue"]
        );
        assert_eq!(
            names("2014 S/S is the debut album of WINNER."),
            vec!["2014 S/S", "WINNER"]
        );
        assert_eq!(names("It sold 300 copies in France"), vec!["France"]);
        assert_eq!(
            names("A 1945 American film starring then 17-year-old Shirley Temple."),
            vec!["American", "Shirley Temple"]
        );
    }

    #[test]
    fn a_follow_up_is_searched_with_the_earlier_question() {
        let history = vec![
            ChatMessage {
                role: Role::User,
                content: "What is Deinococcus radiodurans?".into(),
            },
            ChatMessage {
                role: Role::Assistant,
                content: "A bacterium [1].".into(),
            },
        ];
        let p = heuristic_plan(
            "And how does it compare to other radiation-resistant organisms?",
            &history,
        );
        assert!(
            p.queries[0].starts_with("Deinococcus radiodurans"),
            "{:?}",
            p.queries
        );
        assert!(p.standalone.contains("Deinococcus") && p.standalone.contains("compare"));
        // A question that stands alone is left alone.
        let p = heuristic_plan("What is the population of Lyon in France?", &history);
        assert_eq!(p.queries, vec!["population Lyon France", "Lyon", "France"]);
        assert_eq!(p.standalone, "What is the population of Lyon in France?");
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
