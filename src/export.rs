//! Transcripts as Markdown or JSON, for `show`, `export` and the UI.

use serde::Serialize;

use crate::domain::{MessageStatus, Role, Session, StoredMessage};
use crate::text::format_time;
use crate::text::sanitize::{one_line, sanitize};

/// A file name for a session's export: `sleuth-<title words>-<id>.md`,
/// only ASCII letters, digits and dashes whatever the title holds.
pub fn file_name(session: &Session) -> String {
    let mut slug = String::new();
    for c in session.title.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
        if slug.len() >= 40 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        format!("sleuth-{}.md", session.id)
    } else {
        format!("sleuth-{slug}-{}.md", session.id)
    }
}

/// `other_branches`: stored messages not on the branch shown (answers
/// regenerated away, questions edited), said in the header.
pub fn markdown(session: &Session, messages: &[StoredMessage], other_branches: i64) -> String {
    let mut out = String::new();
    out.push_str(&format!("# {}\n\n", one_line(&session.title)));
    out.push_str(&format!(
        "_Session {} · started {} · last active {}_\n\n",
        session.id,
        format_time(session.created_at),
        format_time(session.updated_at)
    ));
    if let Some(o) = session.origin.as_deref() {
        out.push_str(&format!(
            "_Imported {}._\n\n",
            crate::domain::origin_label(o)
        ));
    }
    if other_branches > 0 {
        out.push_str(&format!(
            "_This is the branch last viewed; {} on other branches {} not shown._\n\n",
            crate::text::plural(other_branches as u64, "message"),
            if other_branches == 1 { "is" } else { "are" }
        ));
    }
    if let Some(summary) = session.summary.as_deref().filter(|s| !s.is_empty()) {
        out.push_str(&format!("> Summary: {}\n\n", one_line(summary)));
    }
    for m in messages {
        // An imported answer was written by its tool, not by sleuth.
        let answerer = session
            .origin
            .as_deref()
            .map_or("sleuth", crate::domain::origin_tool);
        let who = match m.message.role {
            Role::User => "You",
            Role::Assistant => answerer,
            Role::System => "System",
        };
        let status = match m.message.status {
            MessageStatus::Complete => "",
            MessageStatus::Streaming => " (unfinished)",
            MessageStatus::Interrupted => " (interrupted)",
            MessageStatus::Error => " (error)",
        };
        out.push_str(&format!(
            "## {who} · {}{status}\n\n",
            format_time(m.message.created_at)
        ));
        out.push_str(sanitize(&m.message.content).trim_end());
        out.push_str("\n\n");
        if let Some(e) = &m.message.error {
            out.push_str(&format!("> failed: {}\n\n", one_line(e)));
        }
        if let Some(c) = m.claims.as_ref().filter(|c| !c.claims.is_empty()) {
            out.push_str(&claims_note(c));
        }
        if !m.sources.is_empty() {
            out.push_str("**Sources**\n\n");
            for s in &m.sources {
                let title = one_line(&s.label());
                // A list item each: plain lines would run together in a
                // Markdown paragraph (issue 15, bug 16).
                match s.url.as_deref() {
                    Some(url) => out.push_str(&format!(
                        "- [{}] [{}]({}) ({})\n",
                        s.ordinal,
                        title,
                        one_line(url),
                        s.kind
                    )),
                    None => out.push_str(&format!("- [{}] {} ({})\n", s.ordinal, title, s.kind)),
                }
            }
            out.push('\n');
        }
    }
    out
}

/// The claim check under an answer: the tally, then each claim its
/// sources do not (fully) hold.
fn claims_note(c: &crate::domain::claims::ClaimCheck) -> String {
    use crate::domain::claims::Verdict;
    let mut out = format!("_Checked: {}._\n\n", c.footer());
    for claim in &c.claims {
        let what = match claim.verdict {
            Verdict::Unsupported => "✗ not in its source",
            Verdict::Partial => "~ in part",
            Verdict::Uncited => "uncited",
            Verdict::Supported | Verdict::Unchecked => continue,
        };
        let cites: Vec<String> = claim.cites.iter().map(|n| format!("[{n}]")).collect();
        out.push_str(&format!(
            "> {what}{}: {}\n",
            if cites.is_empty() {
                String::new()
            } else {
                format!(" {}", cites.join(""))
            },
            one_line(&claim.text)
        ));
    }
    if c.claims
        .iter()
        .any(|x| x.verdict != Verdict::Supported && x.verdict != Verdict::Unchecked)
    {
        out.push('\n');
    }
    out
}

#[derive(Serialize)]
struct JsonTranscript<'a> {
    session: &'a Session,
    messages: &'a [StoredMessage],
    /// Stored messages not on the branch shown.
    other_branches: i64,
}

/// JSON keeps the stored text exactly (JSON escapes control characters).
pub fn json(
    session: &Session,
    messages: &[StoredMessage],
    other_branches: i64,
) -> serde_json::Result<String> {
    crate::text::sanitize::to_json_pretty(&JsonTranscript {
        session,
        messages,
        other_branches,
    })
}

/// `[n]` and `[n, m]` as pandoc citations (`[@key]`, `[@a; @b]`) by this
/// message's keys; a number no source has stays as written.
fn pandoc_citations(text: &str, keys: &std::collections::HashMap<i64, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let mapped = after.find(']').and_then(|close| {
            let ks: Option<Vec<String>> = after[..close]
                .split(',')
                .map(|n| n.trim().parse::<i64>().ok().and_then(|n| keys.get(&n)))
                .map(|k| k.map(|k| format!("@{k}")))
                .collect();
            ks.filter(|k| !k.is_empty()).map(|k| (close, k))
        });
        match mapped {
            Some((close, ks)) => {
                out.push_str(&format!("[{}]", ks.join("; ")));
                rest = &after[close + 1..];
            }
            None => {
                out.push('[');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The session as Markdown for `pandoc --citeproc`: answers cite
/// `[@key]`, the bibliography is `bibliography` (a CSL JSON file written
/// beside) or, with none, embedded as the document's `references`.
pub fn pandoc(
    session: &Session,
    messages: &[StoredMessage],
    bibliography: Option<&str>,
) -> serde_json::Result<String> {
    let (refs, keys) = crate::references::collect(messages);
    let mut out = String::from("---\n");
    out.push_str(&format!(
        "title: {}\n",
        serde_json::to_string(&one_line(&session.title))?
    ));
    match bibliography {
        Some(file) => out.push_str(&format!("bibliography: {}\n", serde_json::to_string(file)?)),
        None => {
            let items: Vec<serde_json::Value> =
                refs.iter().map(crate::references::csl::item).collect();
            out.push_str(&format!("references: {}\n", serde_json::to_string(&items)?));
        }
    }
    out.push_str("---\n\n");
    for (m, keys) in messages.iter().zip(&keys) {
        let who = match m.message.role {
            Role::User => "Question",
            Role::Assistant => "Answer",
            Role::System => "System",
        };
        out.push_str(&format!(
            "## {who} · {}\n\n",
            format_time(m.message.created_at)
        ));
        let text = sanitize(&m.message.content);
        out.push_str(pandoc_citations(text.trim_end(), keys).trim_end());
        out.push_str("\n\n");
    }
    if !refs.is_empty() {
        out.push_str("## References\n\n::: {#refs}\n:::\n");
    }
    Ok(out)
}
