//! What a sentence asserts, in comparable form: its content words
//! (lowercase, English stems as the ranker uses, CJK as character pairs)
//! and its hard facts — numbers (normalised: "1,000" = "1000", "12th" =
//! "twelfth" = "12", "45%" = "45") and proper names (capitalised words
//! past the first, acronyms).

use std::collections::HashSet;

use rust_stemmers::{Algorithm, Stemmer};

use crate::agent::research::keywords::STOPWORDS;

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Facts {
    pub words: Vec<String>,
    pub numbers: Vec<String>,
    pub names: Vec<String>,
}

/// Capitalised words that are not names wherever they stand.
const NOT_NAMES: &[&str] = &[
    "i", "the", "a", "an", "this", "that", "these", "those", "it", "its", "he", "she", "they",
    "we", "you", "in", "on", "at", "by", "for", "of", "and", "or", "but", "as", "if", "so",
    "however", "also", "both", "each", "all", "some", "many", "most", "one", "see", "note", "yes",
    "no", "there", "here", "then", "when", "while", "after", "before", "during",
];

/// Words that open a clause capitalised ("In short, Between 1402 …").
const PREPOSITIONS: &[&str] = &[
    "between",
    "among",
    "within",
    "without",
    "through",
    "across",
    "against",
    "since",
    "until",
    "despite",
    "although",
    "because",
    "over",
    "upon",
    "toward",
    "towards",
    "around",
    "according",
];

const UNITS: &[(&str, u32)] = &[
    // "one" and "zero" are left out: "one of the", "zero-shot".
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("eight", 8),
    ("nine", 9),
    ("ten", 10),
    ("eleven", 11),
    ("twelve", 12),
    ("thirteen", 13),
    ("fourteen", 14),
    ("fifteen", 15),
    ("sixteen", 16),
    ("seventeen", 17),
    ("eighteen", 18),
    ("nineteen", 19),
    ("twenty", 20),
    ("thirty", 30),
    ("forty", 40),
    ("fifty", 50),
    ("sixty", 60),
    ("seventy", 70),
    ("eighty", 80),
    ("ninety", 90),
    ("hundred", 100),
    ("thousand", 1000),
];

const ORDINALS: &[(&str, u32)] = &[
    ("first", 1),
    ("second", 2),
    ("third", 3),
    ("fourth", 4),
    ("fifth", 5),
    ("sixth", 6),
    ("seventh", 7),
    ("eighth", 8),
    ("ninth", 9),
    ("tenth", 10),
    ("eleventh", 11),
    ("twelfth", 12),
    ("thirteenth", 13),
    ("fourteenth", 14),
    ("fifteenth", 15),
    ("sixteenth", 16),
    ("seventeenth", 17),
    ("eighteenth", 18),
    ("nineteenth", 19),
    ("twentieth", 20),
    ("thirtieth", 30),
    ("fortieth", 40),
    ("fiftieth", 50),
    ("hundredth", 100),
];

/// A number word's value ("twelve", "twelfth", "twenty-five").
fn word_number(w: &str) -> Option<u32> {
    let one = |p: &str| {
        UNITS
            .iter()
            .chain(ORDINALS)
            .find(|(n, _)| *n == p)
            .map(|(_, v)| *v)
    };
    match w.split_once('-') {
        Some((tens, unit)) => {
            let t = one(tens).filter(|t| *t >= 20 && t % 10 == 0)?;
            let u = one(unit).filter(|u| *u < 10)?;
            Some(t + u)
        }
        None => one(w),
    }
}

/// A numeric token's normal form: digits without separators, no ordinal
/// suffix or percent sign; "3.50" is "3.5"; a unit written onto it stays
/// ("£34m" = "34m", "1.3bn", "5kg").
fn digits(tok: &str) -> Option<String> {
    let t = tok.trim_end_matches(['%', '°']);
    let t = t.trim_start_matches(['$', '€', '£', '#']);
    let lower = t.to_ascii_lowercase();
    let core = ["st", "nd", "rd", "th", "s"]
        .iter()
        .find_map(|suf| {
            lower
                .strip_suffix(suf)
                .filter(|c| c.ends_with(|ch: char| ch.is_ascii_digit()))
        })
        .unwrap_or(&lower);
    if !core.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let digits_end = core
        .find(|c: char| !(c.is_ascii_digit() || c == ',' || c == '.'))
        .unwrap_or(core.len());
    let (num, unit) = core.split_at(digits_end);
    if !unit.chars().all(|c| c.is_ascii_alphabetic()) || unit.len() > 3 {
        return None;
    }
    let mut out = String::new();
    for (i, ch) in num.char_indices() {
        match ch {
            '0'..='9' => out.push(ch),
            // A thousands separator sits before exactly three digits.
            ',' if num[i + 1..].len() >= 3
                && num[i + 1..i + 4].bytes().all(|b| b.is_ascii_digit()) => {}
            '.' => out.push('.'),
            _ => return None,
        }
    }
    if out.contains('.') {
        let trimmed = out.trim_end_matches('0').trim_end_matches('.');
        out = trimmed.to_string();
    }
    out.push_str(unit);
    (!out.is_empty()).then_some(out)
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF)
}

/// Reads sentences into facts, remembering stems across calls.
pub struct Reader {
    stemmer: Stemmer,
}

impl Default for Reader {
    fn default() -> Self {
        Self {
            stemmer: Stemmer::create(Algorithm::English),
        }
    }
}

impl Reader {
    fn stem(&self, w: &str) -> String {
        if w.bytes().all(|b| b.is_ascii_lowercase()) {
            self.stemmer.stem(w).into_owned()
        } else {
            w.to_string()
        }
    }

    pub fn read(&self, text: &str) -> Facts {
        let mut f = Facts::default();
        let mut first = true;
        // Tokens: runs of letters, digits and the marks inside numbers and
        // words ("1,000", "3.5", "twenty-five", "O'Neil").
        for raw in text.split(|c: char| {
            !(c.is_alphanumeric() || matches!(c, ',' | '.' | '-' | '\'' | '%' | '$' | '€' | '£'))
        }) {
            let tok = raw.trim_matches(|c: char| matches!(c, ',' | '.' | '-' | '\''));
            if tok.is_empty() {
                continue;
            }
            let at_start = std::mem::replace(&mut first, false);
            if let Some(n) = digits(tok) {
                f.numbers.push(n);
                continue;
            }
            if let Some(n) = word_number(&tok.to_lowercase()) {
                f.numbers.push(n.to_string());
                continue;
            }
            // Words inside a token split further ("state-of-the-art").
            for w in tok.split(|c: char| !c.is_alphanumeric()) {
                if w.is_empty() {
                    continue;
                }
                if w.chars().any(is_cjk) {
                    let cs: Vec<char> = w.chars().collect();
                    for pair in cs.windows(2) {
                        f.words.push(pair.iter().collect());
                    }
                    if cs.len() == 1 {
                        f.words.push(w.to_string());
                    }
                    continue;
                }
                // "1972-seat", "I-435": the number is a fact all the same.
                if let Some(n) = digits(w) {
                    f.numbers.push(n);
                    continue;
                }
                let lower = w.to_lowercase();
                if let Some(n) = word_number(&lower) {
                    f.numbers.push(n.to_string());
                    continue;
                }
                let capital = w.chars().next().is_some_and(char::is_uppercase);
                let acronym = w.chars().count() > 1 && w.chars().all(|c| c.is_uppercase());
                let common = NOT_NAMES.contains(&lower.as_str())
                    || STOPWORDS.contains(&lower.as_str())
                    || PREPOSITIONS.contains(&lower.as_str());
                if (capital && !at_start || acronym) && !common {
                    f.names.push(self.stem(&lower));
                }
                if lower.chars().count() > 1 && !STOPWORDS.contains(&lower.as_str()) {
                    f.words.push(self.stem(&lower));
                }
            }
        }
        dedup(&mut f.words);
        dedup(&mut f.numbers);
        dedup(&mut f.names);
        f
    }
}

fn dedup(v: &mut Vec<String>) {
    let mut seen = HashSet::new();
    v.retain(|x| seen.insert(x.clone()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_compared_in_one_form() {
        let r = Reader::default();
        let f = r.read(
            "In 1,000 cases, the 12th of 45% rose 3.50 to $20 twenty-five; twelfth 1990s; £34m.",
        );
        assert_eq!(
            f.numbers,
            ["1000", "12", "45", "3.5", "20", "25", "1990", "34m"]
        );
        // "1,5" has no thousands separator: two numbers, as in the source.
        let g = r.read("One thousand and ninety-nine; 1,5 is not a separator.");
        assert_eq!(g.numbers, ["1000", "99", "1", "5"], "{g:?}");
        let h = r.read("A 1972-seat arena on I-435.");
        assert_eq!(h.numbers, ["1972", "435"], "{h:?}");
    }

    #[test]
    fn names_are_capitalised_words_past_the_first() {
        let r = Reader::default();
        let f = r.read("Wombats were found by the Normans in NASA's Hollow Lake, I think.");
        assert_eq!(f.names, ["norman", "nasa", "hollow", "lake"]);
        assert!(f.words.contains(&"wombat".to_string()));
        assert!(!f.words.contains(&"the".to_string()));
    }

    #[test]
    fn cjk_text_is_compared_by_character_pairs() {
        let f = Reader::default().read("東京は日本の首都");
        assert!(f.words.contains(&"東京".to_string()), "{f:?}");
        assert!(f.names.is_empty());
    }
}
