//! Following leads without a model: the names that the best passages
//! mention and that were not searched or read yet, ranked by how closely
//! they sit to the question. A bridge question ("the woman who played
//! Corliss Archer in Kiss and Tell") is answered by searching the name the
//! first article gives ("Shirley Temple").

use std::collections::HashMap;

use crate::agent::research::{keywords, passages, rank};

/// Months and days are capitalised but are never worth a search.
const NOT_LEADS: &[&str] = &[
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "i",
    "ii",
    "iii",
    "he",
    "she",
    "it",
    "they",
    "his",
    "her",
    "its",
    "in",
    "on",
    "at",
    "after",
    "before",
    "during",
    "since",
    "however",
    "although",
    "while",
    "as",
];

/// Lowercase, single spaces, without a trailing "(disambiguator)".
pub fn norm(s: &str) -> String {
    // "Kiss and Tell (1945 film)" → "kiss and tell"
    let s = s.split(" (").next().unwrap_or(s);
    s.to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Up to `n` new queries from `texts` (passage text with its relevance),
/// best first. `known` holds what was searched and the titles read.
pub fn from_passages(
    question: &str,
    texts: &[(&str, f64)],
    known: &[String],
    n: usize,
) -> Vec<String> {
    let q_norm = norm(question);
    let q_terms: Vec<String> = rank::tokens(question);
    let known: Vec<String> = known.iter().map(|k| norm(k)).collect();
    let mut scores: HashMap<String, (f64, String)> = HashMap::new();
    for (text, rel) in texts {
        for sentence in passages::sentences(text) {
            let words = rank::tokens(sentence);
            let overlap = q_terms.iter().filter(|t| words.contains(t)).count() as f64;
            for name in keywords::names(sentence) {
                let key = norm(&name);
                let single = !key.contains(' ');
                if key.chars().count() < 3
                    || (single && NOT_LEADS.contains(&key.as_str()))
                    || key.chars().all(|c| c.is_ascii_digit())
                    || contains_words(&q_norm, &key)
                    || known.iter().any(|k| k == &key || contains_words(k, &key))
                {
                    continue;
                }
                // Specific names (several words) beat single words, which
                // are often adjectives ("American") or places in passing.
                let weight = if single { 1.0 } else { 2.0 };
                let s = rel.max(0.05) * weight * (1.0 + overlap);
                let e = scores.entry(key).or_insert((0.0, name.clone()));
                e.0 += s;
            }
        }
    }
    let mut v: Vec<(f64, String)> = scores.into_values().collect();
    v.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    v.into_iter().take(n).map(|(_, name)| name).collect()
}

/// Whether `hay` contains `needle` as whole words.
fn contains_words(hay: &str, needle: &str) -> bool {
    format!(" {hay} ").contains(&format!(" {needle} "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bridge_entity_is_the_lead() {
        let q = "What government position was held by the woman who portrayed Corliss Archer in the film Kiss and Tell?";
        let text = "Kiss and Tell is a 1945 American comedy film starring then 17-year-old Shirley Temple as Corliss Archer. \
                    In the film, two teenage girls cause their respective parents much concern. It was directed by Richard Wallace.";
        let leads = from_passages(q, &[(text, 1.0)], &["Kiss and Tell (1945 film)".into()], 2);
        assert_eq!(leads[0], "Shirley Temple");
        assert!(
            !leads.iter().any(|l| l == "Corliss Archer" || l == "Kiss"),
            "{leads:?}"
        );
    }

    #[test]
    fn a_name_shouting_in_capitals_is_a_lead() {
        let q = "2014 S/S is the debut album of a South Korean boy group that was formed by who?";
        let t = "2014 S/S is the debut album of South Korean group WINNER.  It was released on August 12, 2014 by the group's record label, YG Entertainment.";
        let known = vec!["2014 S/S".to_string(), "South Korean".into()];
        assert_eq!(
            from_passages(q, &[(t, 1.0)], &known, 2),
            vec!["WINNER", "YG Entertainment"]
        );
    }

    #[test]
    fn what_was_searched_or_read_is_not_a_lead() {
        let leads = from_passages(
            "Who founded it?",
            &[(
                "Acme Corp was founded by Jane Roe in Paris in May 1999.",
                1.0,
            )],
            &["Jane Roe".into(), "Acme Corp".into()],
            5,
        );
        assert_eq!(leads, vec!["Paris"]);
    }
}
