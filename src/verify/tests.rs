use super::*;

fn src(ordinal: i64, excerpt: &str) -> Source {
    Source {
        ordinal,
        kind: "wikipedia".into(),
        title: format!("T{ordinal}"),
        url: None,
        excerpt: excerpt.into(),
        relevance: None,
        fetched_at: 0,
        section: None,
        meta: Default::default(),
    }
}

const NORMANS: &str = "The Normans were a people of Normandy in France. The duchy was founded \
    in 911 by the Viking leader Rollo under the Treaty of Saint-Clair-sur-Epte. By the 12th \
    century, about 1,000 knights served the duke.";
const ALPS: &str = "The Alps are the highest mountain range in Europe. Mont Blanc rises to \
    4,808 metres.";

fn verdicts(answer: &str) -> Vec<Verdict> {
    check(answer, &[src(1, NORMANS), src(2, ALPS)])
        .claims
        .iter()
        .map(|c| c.verdict)
        .collect()
}

#[test]
fn hard_facts_must_be_in_the_cited_passage() {
    assert_eq!(
        verdicts(
            "The duchy was founded in 911 by Rollo [1]. \
             The duchy was founded in 991 by Rollo [1]. \
             The duchy was founded in 911 by Charlemagne [1]. \
             About one thousand knights served the duke by the twelfth century [1]. \
             Mont Blanc rises to 4808 metres [2]. \
             Mont Blanc rises to 4808 metres [1]."
        ),
        [
            Verdict::Supported,
            Verdict::Unsupported,
            Verdict::Unsupported,
            Verdict::Supported,
            Verdict::Supported,
            Verdict::Unsupported,
        ]
    );
    let c = check("The duchy was founded in 991 [1].", &[src(1, NORMANS)]);
    assert_eq!(c.claims[0].missing, ["991"]);
}

#[test]
fn words_decide_between_supported_partial_and_unsupported() {
    assert_eq!(
        verdicts(
            "The Normans were a people of Normandy [1]. \
             The Normans were a people famous for cider and songs [1]. \
             Glaciers carved deep valleys through granite plateaus [1]."
        ),
        [Verdict::Supported, Verdict::Partial, Verdict::Unsupported]
    );
}

#[test]
fn the_span_is_the_sentence_that_says_it() {
    let c = check("It was founded in 911 [1].", &[src(1, NORMANS)]);
    let span = c.claims[0].span.as_ref().unwrap();
    assert_eq!(span.cite, 1);
    assert!(
        span.text.starts_with("The duchy was founded in 911"),
        "{span:?}"
    );
    assert_eq!(&NORMANS[span.start..span.end].trim(), &span.text);
}

#[test]
fn several_cites_count_together_and_uncited_facts_are_named() {
    let c = check(
        "Rollo founded the duchy in 911 and Mont Blanc rises to 4,808 metres [1][2]. \
         Rollo died in 930. This is all I found.",
        &[src(1, NORMANS), src(2, ALPS)],
    );
    let v: Vec<Verdict> = c.claims.iter().map(|c| c.verdict).collect();
    // The two facts come from two passages: neither alone has both, and
    // one window of one passage is all a span may be.
    assert_eq!(v, [Verdict::Unsupported, Verdict::Uncited]);
    assert_eq!(c.uncited, 1);
    assert_eq!(c.footer(), "2 claims · 1 not in its source · 1 uncited");
}

#[test]
fn dangling_marks_are_counted_and_marks_map_to_claims() {
    let c = check(
        "Founded in 911 [1]. See also [7]. Mont Blanc rises to 4,808 metres [2].",
        &[src(1, NORMANS), src(2, ALPS)],
    );
    assert_eq!(c.dangling, 1);
    assert_eq!(c.mark(0), Some(Verdict::Supported));
    assert_eq!(c.mark(1), Some(Verdict::Supported));
    assert_eq!(c.mark(2), None);
    assert_eq!(
        c.mark_verdicts(),
        [Some(Verdict::Supported), Some(Verdict::Supported)]
    );
}

#[test]
fn an_extractive_answer_comes_out_supported() {
    let sources = [src(1, NORMANS), src(2, ALPS)];
    let doms: Vec<crate::domain::Source> = sources.to_vec();
    let answer =
        crate::agent::research::answer::extractive("when was the duchy founded", &doms, "down");
    let c = check(&answer, &sources);
    assert!(!c.claims.is_empty(), "{answer}");
    assert!(
        c.claims.iter().all(|c| c.verdict == Verdict::Supported),
        "{answer}\n{c:#?}"
    );
}

#[test]
fn hostile_answers_are_bounded() {
    let long: String = (0..10_000)
        .map(|i| format!("Claim {i} is about Rollo in {i} [1]. "))
        .collect();
    let c = check(&long, &[src(1, NORMANS)]);
    assert_eq!(c.claims.len(), 10_000);
    assert_eq!(c.unchecked, 10_000 - MAX_CLAIMS);
    let c = check("42 [1]. 1,000 [1].", &[src(1, NORMANS)]);
    let v: Vec<Verdict> = c.claims.iter().map(|c| c.verdict).collect();
    assert_eq!(v, [Verdict::Unsupported, Verdict::Supported]);
    let c = check(
        "東京は日本の首都です [1]。",
        &[src(1, "東京は日本の首都である。")],
    );
    assert_eq!(c.claims[0].verdict, Verdict::Supported, "{c:?}");
}

#[test]
fn a_changed_fact_is_not_found_in_the_sentence_next_door() {
    let passage =
        "The castle was built in 1066 by the duke. The town was granted a charter in 1120.";
    let c = check(
        "The castle was built in 1120 by the duke [1].",
        &[src(1, passage)],
    );
    assert_eq!(c.claims[0].verdict, Verdict::Unsupported, "{c:?}");
    // A claim that joins the two sentences is held by both.
    let c = check(
        "The duke built the castle in 1066 and the town was granted a charter in 1120 [1].",
        &[src(1, passage)],
    );
    assert_eq!(c.claims[0].verdict, Verdict::Supported, "{c:?}");
}

#[test]
fn a_quote_with_an_ellipsis_holds_piece_by_piece_and_references_claim_nothing() {
    let passage = "The duchy was founded in 911. Many other things happened. \
                   By 1066 the Normans had conquered England.";
    let c = check(
        "“The duchy was founded in 911. … By 1066 the Normans had conquered England.” [1]\n\n\
         ### References\n\n- [1] Normans — https://e.org/normans\n",
        &[src(1, passage)],
    );
    assert_eq!(c.claims.len(), 1, "{c:#?}");
    assert_eq!(c.claims[0].verdict, Verdict::Supported, "{c:#?}");
    let c = check(
        "“The duchy was founded in 911. … By 1077 the Normans had conquered England.” [1]",
        &[src(1, passage)],
    );
    assert_eq!(
        c.claims[0].verdict,
        Verdict::Unsupported,
        "one piece does not hold"
    );
}
