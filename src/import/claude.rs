//! Claude's export (`conversations.json`, alone or in the export's zip):
//! each conversation has its `chat_messages` in order, `sender` `human` or
//! `assistant`, the text in `content` blocks (older exports: `text`).
//! Exports that name each message's parent (`parent_message_uuid`) keep
//! their branches; the branch shown is the newest message's. Shapes are
//! described in tests/import/SOURCES.md.

use std::collections::HashMap;

use serde::Deserialize;

use super::{Node, Thread, parse_time};
use crate::domain::{Role, Usage};

/// Claude's id for "no parent" in `parent_message_uuid`.
const ROOT: &str = "00000000-0000-4000-8000-000000000000";

#[derive(Deserialize)]
struct Conversation {
    uuid: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
    chat_messages: Vec<ChatMessage>,
}

#[derive(Deserialize)]
struct ChatMessage {
    #[serde(default)]
    uuid: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    content: Option<Vec<Block>>,
    sender: String,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    attachments: Vec<Attachment>,
    #[serde(default)]
    files: Vec<Attachment>,
    #[serde(default)]
    parent_message_uuid: Option<String>,
}

#[derive(Deserialize)]
struct Block {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize)]
struct Attachment {
    #[serde(default)]
    file_name: Option<String>,
}

pub fn parse(raw: &str) -> Result<Thread, String> {
    let c: Conversation = serde_json::from_str(raw).map_err(|e| e.to_string())?;
    if c.uuid.is_empty() {
        return Err("no uuid".into());
    }
    let mut t = Thread {
        origin: format!("claude:{}", c.uuid),
        title: c.name.unwrap_or_default(),
        created_at: c.created_at.as_deref().and_then(parse_time),
        updated_at: c.updated_at.as_deref().and_then(parse_time),
        ..Thread::default()
    };
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut newest: Option<(i64, usize)> = None;
    for (n, m) in c.chat_messages.into_iter().enumerate() {
        let role = match m.sender.as_str() {
            "human" | "user" => Role::User,
            "assistant" => Role::Assistant,
            _ => continue,
        };
        let content = text(&m);
        let key = m.uuid.clone().unwrap_or_else(|| format!("#{n}"));
        // The named parent when it came before; else the message before.
        let parent = match m.parent_message_uuid.as_deref() {
            Some(ROOT) => None,
            Some(p) => index.get(p).copied().or(t.nodes.len().checked_sub(1)),
            None => t.nodes.len().checked_sub(1),
        };
        let at = m.created_at.as_deref().and_then(parse_time);
        t.nodes.push(Node {
            key: key.clone(),
            parent,
            role,
            content,
            created_at: at,
            model: None,
            usage: Usage::default(),
        });
        let i = t.nodes.len() - 1;
        index.insert(key, i);
        if let Some(at) = at
            && newest.is_none_or(|(t0, _)| at >= t0)
        {
            newest = Some((at, i));
        }
    }
    t.current = newest.map(|(_, i)| i);
    Ok(t)
}

/// The text blocks (thinking and tool calls left out), or the older
/// `text`, and the names of files attached.
fn text(m: &ChatMessage) -> String {
    let blocks: Vec<&str> = m
        .content
        .iter()
        .flatten()
        .filter(|b| b.kind == "text")
        .filter_map(|b| b.text.as_deref())
        .filter(|t| !t.trim().is_empty())
        .collect();
    let mut out = if blocks.is_empty() {
        m.text.clone().unwrap_or_default()
    } else {
        blocks.join("\n\n")
    };
    for f in m.attachments.iter().chain(&m.files) {
        if let Some(name) = f.file_name.as_deref().filter(|n| !n.is_empty()) {
            out.push_str(&format!("\n[attached: {name}]"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_in_order_with_blocks_and_attachments() {
        let raw = r#"{"uuid": "u-1", "name": "", "created_at": "2024-06-01T10:00:00.000000Z",
          "updated_at": "2024-06-01T10:05:00Z", "account": {"uuid": "acc"},
          "chat_messages": [
            {"uuid": "m1", "text": "Hi", "sender": "human", "created_at": "2024-06-01T10:00:01Z",
             "content": [{"type": "text", "text": "Summarise this"}],
             "attachments": [{"file_name": "notes.txt", "file_size": 10, "file_type": "txt", "extracted_content": "x"}], "files": []},
            {"uuid": "m2", "text": "", "sender": "assistant", "created_at": "2024-06-01T10:00:02Z",
             "content": [{"type": "thinking", "thinking": "hmm"}, {"type": "text", "text": "Here it is."}],
             "attachments": [], "files": []}
          ]}"#;
        let t = parse(raw).unwrap();
        assert_eq!(t.origin, "claude:u-1");
        assert_eq!(t.nodes[0].content, "Summarise this\n[attached: notes.txt]");
        assert_eq!(t.nodes[1].content, "Here it is.");
        assert_eq!(t.nodes[1].parent, Some(0));
        assert_eq!(t.current, Some(1));
        assert!(
            parse(r#"{"uuid": "u"}"#)
                .unwrap_err()
                .contains("chat_messages")
        );
    }
}
