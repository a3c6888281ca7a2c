//! The deep run's report: the numbered passages grouped by what they
//! answer, streamed by the model as Markdown (short answer first, a
//! section per sub-question, conflicts called out, references), or without
//! a model an extractive report grouped the same way.

use crate::agent::provider::{ChatMessage, ChatRequest};
use crate::agent::research::answer;
use crate::domain::Role;
use crate::domain::Source;

pub const SYSTEM: &str = "You are sleuth, a careful research assistant writing a research report \
in Markdown from numbered sources. Start with a short answer of one to three sentences. Then one \
section (### heading) per sub-question with what the sources say. Call out sources that disagree. \
End with a \"References\" list of the numbers you cited with their titles. Cite every claim with \
its source number in square brackets, like [1] or [2][3]; only cite numbers that exist. If the \
sources do not settle the question, say what is missing.";

/// A group of cited passages and the sub-question they answer.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Section {
    pub heading: String,
    /// Ordinals of the sources in this section.
    pub sources: Vec<i64>,
}

pub fn request(
    model: &str,
    question: &str,
    history: &[ChatMessage],
    summary: Option<&str>,
    sections: &[Section],
    sources: &[Source],
) -> ChatRequest {
    let mut content = String::from("Sub-questions researched:\n");
    for s in sections {
        let nums: Vec<String> = s.sources.iter().map(|n| format!("[{n}]")).collect();
        content.push_str(&format!("- {} (sources {})\n", s.heading, nums.join("")));
    }
    content.push('\n');
    content.push_str(&answer::prompt(question, sources));
    let mut messages = history.to_vec();
    messages.push(ChatMessage {
        role: Role::User,
        content,
    });
    ChatRequest {
        model: model.to_string(),
        system: Some(crate::agent::summary::with_summary(SYSTEM, summary)),
        messages,
        schema: None,
        temperature: None,
        max_tokens: None,
    }
}

/// Without a model: the best sentences for the question, then each
/// section's passages quoted with their numbers.
pub fn extractive(question: &str, sections: &[Section], sources: &[Source], why: &str) -> String {
    let mut s = format!(
        "*No model answered ({why}), so this report quotes the sources, grouped by what was researched.*\n\n"
    );
    let Some(best) = sources.first() else {
        s.push_str("No source returned anything for this question.\n");
        return s;
    };
    s.push_str(&format!(
        "**Short answer** (the best-matching passage): “{}” [{}]\n",
        answer::best_sentences(question, &best.excerpt),
        best.ordinal
    ));
    for sec in sections {
        s.push_str(&format!("\n### {}\n\n", sec.heading));
        for n in &sec.sources {
            let Some(src) = sources.iter().find(|x| x.ordinal == *n) else {
                continue;
            };
            s.push_str(&format!(
                "- “{}” — **{}** [{n}]\n",
                answer::best_sentences(&format!("{question} {}", sec.heading), &src.excerpt),
                src.label()
            ));
        }
    }
    s.push_str("\n### References\n\n");
    for src in sources {
        let url = src
            .url
            .as_deref()
            .map(|u| format!(" — {u}"))
            .unwrap_or_default();
        s.push_str(&format!("[{}] {}{url}\n", src.ordinal, src.label()));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(n: i64, title: &str, text: &str) -> Source {
        Source {
            ordinal: n,
            kind: "wikipedia".into(),
            title: title.into(),
            url: Some(format!("https://w.org/{n}")),
            excerpt: text.into(),
            relevance: Some(1.0),
            fetched_at: 0,
            section: None,
            meta: Default::default(),
        }
    }

    #[test]
    fn the_extractive_report_cites_every_source_under_its_section() {
        let sources = vec![
            src(
                1,
                "Kiss and Tell (1945 film)",
                "Kiss and Tell starred Shirley Temple as Corliss Archer.",
            ),
            src(
                2,
                "Shirley Temple",
                "She served as Chief of Protocol of the United States.",
            ),
        ];
        let sections = vec![
            Section {
                heading: "Who played Corliss Archer?".into(),
                sources: vec![1],
            },
            Section {
                heading: "Shirley Temple".into(),
                sources: vec![2],
            },
        ];
        let r = extractive(
            "Who played Corliss Archer?",
            &sections,
            &sources,
            "no model",
        );
        assert!(r.contains("### Shirley Temple") && r.contains("Chief of Protocol"));
        let cited = answer::citations(&r);
        assert!(cited.contains(&1) && cited.contains(&2));
        assert!(r.contains("### References"));
    }
}
