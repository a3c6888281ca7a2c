//! Entry points for the fuzz targets (`fuzz/`, `cargo fuzz`) and for the
//! corpus replay test that runs on stable in `cargo test`
//! (`tests/fuzz_corpus.rs`). Each takes raw bytes and checks what must hold
//! for any input, panicking when it does not: no panic inside, and the
//! invariants named in each function.

use std::borrow::Cow;

use crate::agent::provider::anthropic::AnthropicDecoder;
use crate::agent::provider::ollama::OllamaDecoder;
use crate::agent::provider::openai::OpenAiDecoder;
use crate::agent::provider::{Decoder, Piece};
use crate::agent::research::{document, passages, sources};
use crate::agent::sse::SseParser;

/// A fuzz target's check.
pub type Check = fn(&[u8]);

/// Every target, by the name its corpus directory has.
pub const TARGETS: &[(&str, Check)] = &[
    ("sse", sse),
    ("decoders", decoders),
    ("search_query", search_query),
    ("sanitize", sanitize),
    ("html", html),
    ("passages", passages),
    ("config", config),
];

/// Where to cut the input in two, chosen by its first byte.
fn split_point(data: &[u8]) -> usize {
    match data.first() {
        Some(&b) if !data.is_empty() => b as usize % data.len(),
        _ => 0,
    }
}

fn lossy(data: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// SSE: the same events whether the bytes come at once, in two pieces or
/// one at a time (a chunk may end anywhere, mid-character or mid-CRLF).
pub fn sse(data: &[u8]) {
    const LIMIT: usize = 4096;
    let whole = SseParser::with_limit(LIMIT).push(data);
    let mut two = SseParser::with_limit(LIMIT);
    let at = split_point(data);
    let split = two.push(&data[..at]).and_then(|mut a| {
        a.extend(two.push(&data[at..])?);
        Ok(a)
    });
    if let (Ok(w), Ok(s)) = (&whole, &split) {
        assert_eq!(w, s, "split at {at}");
    }
    if data.len() <= 512 {
        let mut one = SseParser::with_limit(LIMIT);
        let mut events = Vec::new();
        for b in data {
            match one.push(std::slice::from_ref(b)) {
                Ok(e) => events.extend(e),
                Err(_) => return,
            }
        }
        if let Ok(w) = &whole {
            assert_eq!(w, &events, "byte by byte");
        }
    }
}

/// The text a decoder yields for `chunks`, or None when it reports the
/// reply malformed.
fn decoded(mut d: impl Decoder, chunks: &[&[u8]]) -> Option<String> {
    let mut out = Vec::new();
    for c in chunks {
        d.feed(c, &mut out).ok()?;
    }
    d.finish(&mut out).ok()?;
    Some(
        out.into_iter()
            .filter_map(|p| match p {
                Piece::Text(t) => Some(t),
                _ => None,
            })
            .collect(),
    )
}

/// The three providers' stream decoders: never a panic, and the same text
/// whether the body arrives whole or cut in two.
pub fn decoders(data: &[u8]) {
    let at = split_point(data);
    let (a, b) = data.split_at(at);
    for (whole, split) in [
        (
            decoded(OllamaDecoder::new(), &[data]),
            decoded(OllamaDecoder::new(), &[a, b]),
        ),
        (
            decoded(OpenAiDecoder::new(), &[data]),
            decoded(OpenAiDecoder::new(), &[a, b]),
        ),
        (
            decoded(AnthropicDecoder::new(), &[data]),
            decoded(AnthropicDecoder::new(), &[a, b]),
        ),
    ] {
        if let (Some(w), Some(s)) = (whole, split) {
            assert_eq!(w, s, "split at {at}");
        }
    }
}

thread_local! {
    static FTS: rusqlite::Connection = {
        #[allow(clippy::expect_used)]
        let c = rusqlite::Connection::open_in_memory().expect("in-memory database");
        #[allow(clippy::expect_used)]
        c.execute_batch(
            "CREATE VIRTUAL TABLE t USING fts5(content, tokenize = 'unicode61 remove_diacritics 2');
             INSERT INTO t(content) VALUES ('the borrow checker'), ('Normandy 911 Rollo');",
        )
        .expect("fts5 table");
        c
    };
}

/// Search: whatever is typed, the FTS5 query built from it is valid FTS5
/// (user text never becomes query syntax), typed or submitted.
pub fn search_query(data: &[u8]) {
    let typing = data.first().is_some_and(|b| b & 1 == 1);
    let text = lossy(data.get(1..).unwrap_or_default());
    let Ok(q) = crate::store::search::query::Query::parse(&text, typing) else {
        return;
    };
    if let Some(fts) = q.fts() {
        FTS.with(|c| {
            let r: rusqlite::Result<i64> =
                c.query_row("SELECT count(*) FROM t WHERE t MATCH ?1", [&fts], |r| {
                    r.get(0)
                });
            if let Err(e) = r {
                panic!("{fts:?} from {text:?} is not valid FTS5: {e}");
            }
        });
    }
}

fn unsafe_char(c: char) -> bool {
    (c.is_control() && c != '\n') || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// The sanitizer: nothing that can drive a terminal survives (C0 but
/// newline, ESC, C1, bidi overrides), and text fed in two pieces comes
/// out as it does whole.
pub fn sanitize(data: &[u8]) {
    let text = lossy(data);
    let clean = crate::text::sanitize::sanitize(&text);
    if let Some(c) = clean.chars().find(|&c| unsafe_char(c)) {
        panic!("{c:?} survived sanitizing {text:?}");
    }
    let mut at = split_point(data).min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let mut s = crate::text::sanitize::Sanitizer::default();
    let mut pieces = s.push(&text[..at]);
    pieces.push_str(&s.push(&text[at..]));
    assert_eq!(pieces, clean, "split at {at}");
    assert!(!crate::text::sanitize::one_line(&text).contains('\n'));
}

/// HTML to text (result pages, question links) and Wikipedia extracts to
/// sections: any bytes, no panic; the text has no tags' angle brackets
/// unless the page had them as text.
pub fn html(data: &[u8]) {
    let text = lossy(data);
    let _ = sources::html_text(&text);
    let _ = sources::strip_tags(&text);
    let _ = sources::decode_entities(&text);
    let _ = sources::web::readable(&text, "https://example.com/page");
    let d = document::Document::wiki_extract("T", Some("https://w/wiki/T".into()), &text);
    let chars: usize = d
        .sections
        .iter()
        .flat_map(|s| &s.paragraphs)
        .map(|p| p.chars().count())
        .sum();
    assert!(
        chars <= document::MAX_DOC_CHARS + 1000,
        "{chars} chars kept"
    );
}

/// Passages: none empty, none over the byte cap, and no words lost
/// (the passages hold every word of the paragraphs, in order).
pub fn passages(data: &[u8]) {
    let text = lossy(data);
    let paragraphs: Vec<String> = text.lines().map(String::from).collect();
    let out = passages::chunk(&paragraphs);
    for p in &out {
        assert!(!p.trim().is_empty(), "an empty passage");
        assert!(
            p.len() <= passages::MAX_BYTES,
            "a passage of {} bytes",
            p.len()
        );
    }
    let before: Vec<&str> = paragraphs
        .iter()
        .flat_map(|p| p.split_whitespace())
        .collect();
    let after: String = out.join(" ");
    let after: Vec<&str> = after.split_whitespace().collect();
    assert_eq!(before.concat(), after.concat(), "words changed");
    let _ = passages::sentences(&text);
}

/// Config: any file text gives a config or a located error, never a panic.
pub fn config(data: &[u8]) {
    let text = lossy(data);
    let _ = crate::config::Config::parse_text(&text);
}
