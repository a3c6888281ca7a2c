use super::*;
use crate::domain::{Message, MessageId, Role, SessionId};

fn src(ordinal: i64, kind: &str, title: &str, url: &str, section: Option<&str>) -> Source {
    Source {
        ordinal,
        kind: kind.into(),
        title: title.into(),
        url: Some(url.into()),
        excerpt: "…".into(),
        relevance: None,
        fetched_at: 1_764_806_400_000, // 2025-12-04
        section: section.map(String::from),
        meta: Default::default(),
    }
}

fn answer(sources: Vec<Source>) -> StoredMessage {
    StoredMessage {
        message: Message::new(SessionId(1), Role::Assistant, "x"),
        sources,
        branch: None,
        claims: None,
    }
}

#[test]
fn one_entry_per_document_with_stable_deduplicated_keys() {
    let a = answer(vec![
        src(
            1,
            "wikipedia",
            "Normans",
            "https://en.wikipedia.org/wiki/Normans#History",
            Some("History"),
        ),
        src(
            2,
            "wikipedia",
            "Normans",
            "https://en.wikipedia.org/wiki/Normans#Legacy",
            Some("Legacy"),
        ),
        src(
            3,
            "arxiv",
            "The Normans in Sicily",
            "https://arxiv.org/abs/2101.00001v2",
            None,
        ),
        src(
            4,
            "hackernews",
            "Normans, again",
            "https://news.ycombinator.com/item?id=4242",
            None,
        ),
    ]);
    let mut b = answer(vec![
        src(
            1,
            "wikipedia",
            "Normans",
            "https://en.wikipedia.org/wiki/Normans",
            None,
        ),
        src(
            2,
            "web",
            "The Normans!",
            "https://www.example.org/normans",
            None,
        ),
        src(3, "web", "Normans (again)", "https://example.org/n2", None),
    ]);
    b.message.id = MessageId(2);
    let (refs, keys) = collect(&[a, b]);
    let ks: Vec<&str> = refs.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(
        ks,
        [
            "wikipedia2025normans",
            "arxiv2025normans",
            "hn2025normans",
            "example2025normansa",
            "example2025normansb"
        ]
    );
    assert_eq!(refs[0].sections, ["History", "Legacy"]);
    assert_eq!(
        refs[0].url.as_deref(),
        Some("https://en.wikipedia.org/wiki/Normans")
    );
    assert_eq!(refs[1].arxiv.as_deref(), Some("2101.00001v2"));
    assert_eq!(refs[2].item.as_deref(), Some("4242"));
    assert_eq!(keys[0][&2], "wikipedia2025normans");
    assert_eq!(
        keys[1][&1], "wikipedia2025normans",
        "the same article, one entry"
    );
    assert_eq!(suffix(26), "aa");
}

#[test]
fn tex_specials_are_escaped_and_braces_stay_balanced() {
    let a = answer(vec![src(
        1,
        "web",
        "50% of {C} & \\LaTeX_x #1 $5 ~ ^",
        "https://e.org/a{b}",
        None,
    )]);
    let (refs, _) = collect(&[a]);
    let e = bibtex::entry(&refs[0]);
    assert!(
        e.contains(
            "title = {{50\\% of \\{C\\} \\& \\textbackslash{}LaTeX\\_x \\#1 \\$5 \\~{} \\^{}}}"
        ),
        "{e}"
    );
    assert!(e.contains("url = {https://e.org/a%7Bb%7D}"), "{e}");
    let depth = e.chars().fold(0i32, |d, c| match c {
        '{' => d + 1,
        '}' => d - 1,
        _ => d,
    });
    assert_eq!(depth, 0, "{e}");
}

#[test]
fn library_files_are_named_by_path_and_page() {
    let a = answer(vec![src(
        1,
        "library",
        "Desiccation",
        "file:///home/r/papers/paper.pdf#page=3",
        None,
    )]);
    let (refs, _) = collect(&[a]);
    assert_eq!(refs[0].path.as_deref(), Some("/home/r/papers/paper.pdf"));
    assert_eq!(refs[0].url, None);
    assert_eq!(refs[0].sections, ["p. 3"]);
    assert!(ris::record(&refs[0]).contains("L1  - /home/r/papers/paper.pdf"));
}

#[test]
fn names_split_into_family_and_given_unless_a_body() {
    assert_eq!(
        split_name("Ada Lovelace"),
        ("Lovelace".into(), "Ada".into())
    );
    assert_eq!(
        split_name("Lovelace, Ada"),
        ("Lovelace".into(), "Ada".into())
    );
    assert_eq!(
        split_name("H1 Collaboration"),
        ("H1 Collaboration".into(), String::new())
    );
    assert_eq!(split_name("pg"), ("pg".into(), String::new()));
}
