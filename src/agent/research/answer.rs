//! The answer from numbered sources: the synthesis prompt, the extractive
//! answer used without a model, and citation parsing.

use crate::domain::Source;

pub const SYSTEM: &str = "You are sleuth, a careful research assistant in a terminal. Answer the \
question from the numbered sources below and the conversation. Cite every claim that comes from a \
source with its number in square brackets, like [1] or [2][3]. Only cite numbers that exist. If the \
sources do not answer the question, say so plainly. Answer concisely in Markdown.";

/// The user message carrying the sources and the question.
pub fn prompt(question: &str, sources: &[Source]) -> String {
    let mut s = String::from("Sources:\n\n");
    if sources.is_empty() {
        s.push_str("(no sources could be fetched)\n\n");
    }
    for src in sources {
        s.push_str(&format!("[{}] {}", src.ordinal, src.title));
        if let Some(sec) = &src.section {
            s.push_str(&format!(" — {sec}"));
        }
        if let Some(u) = &src.url {
            s.push_str(&format!(" ({u})"));
        }
        s.push('\n');
        s.push_str(&src.excerpt);
        s.push_str("\n\n");
    }
    s.push_str("Question: ");
    s.push_str(question);
    s
}

/// Characters quoted from one passage in an extractive answer.
const QUOTE_CHARS: usize = 420;

/// The sentences of `text` that best match `question`, in text order,
/// up to [`QUOTE_CHARS`]; the first sentence when none matches.
pub fn best_sentences(question: &str, text: &str) -> String {
    let sents = super::passages::sentences(text);
    if sents.is_empty() {
        return String::new();
    }
    let docs: Vec<String> = sents.iter().map(|s| s.to_string()).collect();
    let scores = super::rank::bm25(question, &docs);
    let mut keep: Vec<usize> = Vec::new();
    let mut used = 0;
    for i in super::rank::order(&scores) {
        if scores[i] <= 0.0 && !keep.is_empty() {
            break;
        }
        let len = sents[i].len();
        if !keep.is_empty() && used + len > QUOTE_CHARS {
            continue;
        }
        keep.push(i);
        used += len;
        if keep.len() == 2 || used >= QUOTE_CHARS {
            break;
        }
    }
    keep.sort_unstable();
    let joined = keep
        .iter()
        .map(|&i| sents[i])
        .collect::<Vec<_>>()
        .join(" … ");
    shorten(&joined, QUOTE_CHARS + 40)
}

/// The answer without a model: from each cited passage, in rank order, the
/// sentences that best match the question, each with its citation.
pub fn extractive(question: &str, sources: &[Source], why: &str) -> String {
    if sources.is_empty() {
        // The model is not asked to answer from nothing.
        return format!(
            "*Nothing to cite: {why}.* Try other words, or `/sources` to search elsewhere.\n"
        );
    }
    let mut s = format!(
        "*No model answered ({why}), so these are the sentences of the sources that best match the question.*\n\n"
    );
    // One heading per document, its passages' quotes under it (several
    // passages of one article used to repeat its title on every line).
    let mut titles: Vec<&str> = Vec::new();
    for src in sources {
        if !titles.contains(&src.title.as_str()) {
            titles.push(&src.title);
        }
    }
    for title in titles {
        s.push_str(&format!("**{title}**\n"));
        let mut quoted: Vec<String> = Vec::new();
        for src in sources.iter().filter(|x| x.title == title) {
            let quote = best_sentences(question, &src.excerpt);
            if quoted.contains(&quote) {
                continue;
            }
            let section = src
                .section
                .as_ref()
                .map(|sec| format!(" ({sec})"))
                .unwrap_or_default();
            s.push_str(&format!("- “{quote}”{section} [{}]\n", src.ordinal));
            quoted.push(quote);
        }
        s.push('\n');
    }
    s
}

/// Cuts text to about `max` bytes at a sentence or word end.
pub fn shorten(text: &str, max: usize) -> String {
    let t = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.len() <= max {
        return t;
    }
    let mut cut = max;
    while !t.is_char_boundary(cut) {
        cut -= 1;
    }
    let head = &t[..cut];
    let end = head
        .rfind(". ")
        .map(|i| i + 1)
        .or_else(|| head.rfind(' '))
        .unwrap_or(cut);
    format!("{}…", &t[..end])
}

/// Every citation number in `text`, in order of appearance: `[1]`, `[2][3]`
/// and `[1, 2]` forms.
pub fn citations(text: &str) -> Vec<i64> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'['
            && let Some(len) = text[i + 1..].find(']')
        {
            let inner = &text[i + 1..i + 1 + len];
            let nums: Option<Vec<i64>> = inner
                .split(',')
                .map(|p| p.trim().parse::<i64>().ok())
                .collect();
            if let Some(nums) = nums.filter(|n| !n.is_empty() && inner.len() <= 16) {
                out.extend(nums);
                i += len + 2;
                continue;
            }
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(n: i64) -> Source {
        Source {
            ordinal: n,
            kind: "wikipedia".into(),
            title: format!("T{n}"),
            url: Some(format!("https://e.org/{n}")),
            excerpt: "Some excerpt. More text here.".into(),
            relevance: Some(1.0),
            fetched_at: 0,
            section: None,
            meta: Default::default(),
        }
    }

    #[test]
    fn parses_citation_forms() {
        assert_eq!(
            citations("A [1] and [2][3], also [4, 5]. Not [x] or [] or [1a]."),
            vec![1, 2, 3, 4, 5]
        );
        assert_eq!(citations("array[0] is [9]"), vec![0, 9]);
    }

    #[test]
    fn prompt_and_extractive_number_the_sources() {
        let p = prompt("why?", &[src(1), src(2)]);
        assert!(
            p.contains("[1] T1 (https://e.org/1)")
                && p.contains("[2] T2")
                && p.ends_with("Question: why?")
        );
        let e = extractive("why?", &[src(1), src(2)], "no model");
        assert_eq!(citations(&e), vec![1, 2]);
        assert!(
            extractive("q", &[], "no source returned anything")
                .contains("Nothing to cite: no source returned anything")
        );
    }

    #[test]
    fn extractive_quotes_the_matching_sentences() {
        let text = "Melbourne is the capital. Victoria has a temperate climate. \
                    Victoria has 32,463 farms. Tourism is an industry too.";
        let q = best_sentences("How many farms are there in Victoria?", text);
        assert!(q.contains("32,463 farms"), "{q}");
        assert!(!q.contains("Melbourne") && !q.contains("Tourism"), "{q}");
        assert_eq!(best_sentences("zzz", "One. Two."), "One.");
        assert_eq!(best_sentences("zzz", ""), "");
    }

    #[test]
    fn extractive_names_each_document_once() {
        let src = |n: i64, title: &str, section: Option<&str>, text: &str| Source {
            ordinal: n,
            kind: "wikipedia".into(),
            title: title.into(),
            url: None,
            excerpt: text.into(),
            relevance: Some(1.0),
            fetched_at: 0,
            section: section.map(Into::into),
            meta: Default::default(),
        };
        let a = extractive(
            "Where was Scott Derrickson born?",
            &[
                src(
                    1,
                    "Scott Derrickson",
                    None,
                    "Scott Derrickson was born in Denver.",
                ),
                src(2, "Ed Wood", None, "Ed Wood was born in Poughkeepsie."),
                src(
                    3,
                    "Scott Derrickson",
                    Some("Career"),
                    "Derrickson directed Sinister.",
                ),
            ],
            "offline",
        );
        assert_eq!(a.matches("**Scott Derrickson**").count(), 1, "{a}");
        assert!(
            a.contains("- “Derrickson directed Sinister.” (Career) [3]"),
            "{a}"
        );
        let derrickson = a.find("**Scott Derrickson**").unwrap();
        assert!(
            derrickson < a.find("[3]").unwrap()
                && a.find("[3]").unwrap() < a.find("**Ed Wood**").unwrap(),
            "{a}"
        );
    }

    #[test]
    fn shorten_ends_cleanly() {
        assert_eq!(shorten("One. Two three four.", 9), "One.…");
        assert_eq!(shorten("short", 10), "short");
    }
}
