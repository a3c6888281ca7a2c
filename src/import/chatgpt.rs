//! ChatGPT's export (`conversations.json`, alone or in the export's zip).
//!
//! Each conversation is a `mapping` of nodes (id → message, parent,
//! children): a tree whose branches are regenerated answers and edited
//! questions, with `current_node` the message the app showed last. Nodes
//! without a message, system and tool messages, hidden context and the
//! model's private reasoning are left out; their children attach to the
//! nearest message kept. Shapes are described in tests/import/SOURCES.md.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

use super::{Node, Thread, secs_to_ms};
use crate::domain::{Role, Usage};

#[derive(Deserialize)]
struct Conversation {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    conversation_id: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    create_time: Option<f64>,
    #[serde(default)]
    update_time: Option<f64>,
    mapping: HashMap<String, MapNode>,
    #[serde(default)]
    current_node: Option<String>,
}

#[derive(Deserialize)]
struct MapNode {
    #[serde(default)]
    message: Option<ChatMessage>,
    #[serde(default)]
    parent: Option<String>,
    #[serde(default)]
    children: Vec<String>,
}

#[derive(Deserialize)]
struct ChatMessage {
    author: Author,
    #[serde(default)]
    create_time: Option<f64>,
    #[serde(default)]
    content: Option<Content>,
    #[serde(default)]
    metadata: Option<Metadata>,
}

#[derive(Deserialize)]
struct Author {
    role: String,
}

#[derive(Deserialize, Default)]
struct Metadata {
    #[serde(default)]
    model_slug: Option<String>,
    #[serde(default)]
    is_visually_hidden_from_conversation: Option<bool>,
}

#[derive(Deserialize)]
struct Content {
    #[serde(default)]
    content_type: String,
    #[serde(default)]
    parts: Option<Vec<Value>>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    language: Option<String>,
}

/// One element of `conversations.json` as a thread.
pub fn parse(raw: &str) -> Result<Thread, String> {
    let c: Conversation = serde_json::from_str(raw).map_err(|e| e.to_string())?;
    let id = c
        .conversation_id
        .or(c.id)
        .filter(|s| !s.is_empty())
        .ok_or("no id or conversation_id")?;
    let mut t = Thread {
        origin: format!("chatgpt:{id}"),
        title: c.title.unwrap_or_default(),
        created_at: c.create_time.and_then(secs_to_ms),
        updated_at: c.update_time.and_then(secs_to_ms),
        ..Thread::default()
    };
    // Depth-first from the roots, children in their stored order (the
    // order they were written), so parents come before children.
    let mut roots: Vec<&String> = c
        .mapping
        .iter()
        .filter(|(_, n)| n.parent.as_ref().is_none_or(|p| !c.mapping.contains_key(p)))
        .map(|(k, _)| k)
        .collect();
    roots.sort();
    // Parent links that go round with nothing above them (a hand-edited
    // or damaged export): nothing to walk from.
    if roots.is_empty() && !c.mapping.is_empty() {
        return Err("the mapping has a cycle and no root".into());
    }
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut stack: Vec<(&String, Option<usize>)> =
        roots.into_iter().rev().map(|r| (r, None)).collect();
    let mut visited = 0usize;
    while let Some((key, kept_parent)) = stack.pop() {
        visited += 1;
        if visited > c.mapping.len() {
            return Err("the mapping has a cycle".into());
        }
        let Some(node) = c.mapping.get(key) else {
            continue;
        };
        let here = match node.message.as_ref().and_then(message) {
            Some((role, content, at, model)) => {
                t.nodes.push(Node {
                    key: key.clone(),
                    parent: kept_parent,
                    role,
                    content,
                    created_at: at,
                    model,
                    usage: Usage::default(),
                });
                Some(t.nodes.len() - 1)
            }
            None => kept_parent,
        };
        if let Some(i) = here {
            index.insert(key.as_str(), i);
        }
        for child in node.children.iter().rev() {
            if c.mapping.contains_key(child) {
                stack.push((child, here));
            }
        }
    }
    // The node shown last, or the nearest message kept above it; at most
    // one step per node, so parent links that go round cannot loop.
    let mut cur = c.current_node.as_deref();
    for _ in 0..=c.mapping.len() {
        let Some(k) = cur else { break };
        if let Some(&i) = index.get(k) {
            t.current = Some(i);
            break;
        }
        cur = c.mapping.get(k).and_then(|n| n.parent.as_deref());
    }
    Ok(t)
}

/// The role, text, time and model of a message worth keeping.
fn message(m: &ChatMessage) -> Option<(Role, String, Option<i64>, Option<String>)> {
    let role = match m.author.role.as_str() {
        "user" => Role::User,
        "assistant" => Role::Assistant,
        // system prompts, tool output (browsing, code runs), custom
        // instructions: context the user never wrote or read as chat.
        _ => return None,
    };
    let meta = m.metadata.as_ref();
    if meta.and_then(|m| m.is_visually_hidden_from_conversation) == Some(true) {
        return None;
    }
    let text = content_text(m.content.as_ref()?)?;
    if text.trim().is_empty() {
        return None;
    }
    let model = meta.and_then(|m| m.model_slug.clone());
    Some((role, text, m.create_time.and_then(secs_to_ms), model))
}

fn content_text(c: &Content) -> Option<String> {
    match c.content_type.as_str() {
        "text" | "multimodal_text" => {
            let parts: Vec<String> = c.parts.as_ref()?.iter().filter_map(part_text).collect();
            Some(parts.join("\n"))
        }
        "code" => {
            let lang = c
                .language
                .as_deref()
                .filter(|l| *l != "unknown")
                .unwrap_or("");
            Some(format!("```{lang}\n{}\n```", c.text.as_deref()?.trim_end()))
        }
        // Reasoning (thoughts, reasoning_recap), tool results, context.
        _ => None,
    }
}

/// A part's text: strings as they are; an image or file as a placeholder;
/// a voice message as its transcript.
fn part_text(p: &Value) -> Option<String> {
    match p {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => {
            let kind = o.get("content_type").and_then(Value::as_str).unwrap_or("");
            match kind {
                "audio_transcription" => o.get("text").and_then(Value::as_str).map(str::to_string),
                "image_asset_pointer" => Some("[image]".into()),
                "" => None,
                other => Some(format!("[{other}]")),
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branches_current_node_and_left_out_nodes() {
        let raw = r#"{
          "title": "Paris", "create_time": 1700000000.5, "update_time": 1700000100.0,
          "id": "c-1", "conversation_id": "c-1", "current_node": "a2",
          "mapping": {
            "root": {"id": "root", "message": null, "parent": null, "children": ["sys"]},
            "sys": {"id": "sys", "message": {"id": "sys", "author": {"role": "system"}, "create_time": null,
                    "content": {"content_type": "text", "parts": [""]}, "metadata": {"is_visually_hidden_from_conversation": true}},
                    "parent": "root", "children": ["q"]},
            "q": {"id": "q", "message": {"id": "q", "author": {"role": "user"}, "create_time": 1700000001.0,
                  "content": {"content_type": "multimodal_text", "parts": [{"content_type": "image_asset_pointer", "asset_pointer": "file-service://x"}, "What city is this?"]}},
                  "parent": "sys", "children": ["a1", "a2"]},
            "a1": {"id": "a1", "message": {"id": "a1", "author": {"role": "assistant"}, "create_time": 1700000002.0,
                   "content": {"content_type": "text", "parts": ["Lyon."]}, "metadata": {"model_slug": "gpt-4o"}},
                   "parent": "q", "children": []},
            "a2": {"id": "a2", "message": {"id": "a2", "author": {"role": "assistant"}, "create_time": 1700000003.0,
                   "content": {"content_type": "text", "parts": ["Paris."]}, "metadata": {"model_slug": "gpt-4o"}},
                   "parent": "q", "children": []}
          }
        }"#;
        let t = parse(raw).unwrap();
        assert_eq!(t.origin, "chatgpt:c-1");
        let keys: Vec<&str> = t.nodes.iter().map(|n| n.key.as_str()).collect();
        assert_eq!(keys, ["q", "a1", "a2"]);
        assert_eq!(
            t.nodes[0].parent, None,
            "the hidden system node is left out"
        );
        assert_eq!(t.nodes[0].content, "[image]\nWhat city is this?");
        assert_eq!(t.nodes[2].parent, Some(0));
        assert_eq!(t.current, Some(2));
        assert_eq!(t.created_at, Some(1_700_000_000_500));
        assert!(parse(r#"{"id": "x"}"#).unwrap_err().contains("mapping"));
    }

    #[test]
    fn parent_links_that_go_round_end_with_an_error_not_a_hang() {
        // a ← b ← a: no root; the current-node walk used to circle forever.
        let raw = r#"{"id": "c-9", "title": "Loop", "current_node": "a", "mapping": {
            "a": {"id": "a", "message": null, "parent": "b", "children": ["b"]},
            "b": {"id": "b", "message": null, "parent": "a", "children": ["a"]}}}"#;
        assert!(parse(raw).unwrap_err().contains("cycle"));
        // A root, and a current node whose parents go round below it.
        let raw = r#"{"id": "c-8", "title": "Loop", "current_node": "x", "mapping": {
            "r": {"id": "r", "message": null, "parent": null, "children": []},
            "x": {"id": "x", "message": null, "parent": "y", "children": []},
            "y": {"id": "y", "message": null, "parent": "x", "children": []}}}"#;
        let t = parse(raw).unwrap();
        assert_eq!(t.current, None);
    }
}
