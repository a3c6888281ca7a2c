//! References a paper can use (issue 22): the documents a session's
//! answers cite, one entry each however often cited, with stable keys
//! (`wikipedia2026normans`, deduplicated with a, b…), written as BibTeX,
//! CSL JSON (Zotero, pandoc) or RIS. What an entry holds comes from the
//! stored source: its kind, title, URL, section, the date it was read,
//! and what its URL names (an arXiv id with its version, a Hacker News
//! item, a library file and page).

pub mod bibtex;
pub mod csl;
pub mod ris;

use std::collections::HashMap;

use crate::domain::{Source, StoredMessage};

/// What kind of thing a reference is (CSL's types, roughly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A Wikipedia article.
    Encyclopedia,
    /// An arXiv preprint.
    Preprint,
    /// A Hacker News story or thread.
    Post,
    /// A web page.
    Webpage,
    /// A file of the user's library.
    Document,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    pub key: String,
    pub kind: Kind,
    pub title: String,
    /// "Wikipedia", "arXiv", "Hacker News", a page's host.
    pub container: Option<String>,
    pub url: Option<String>,
    /// When sleuth read it (Unix ms).
    pub accessed: i64,
    /// arXiv's id with its version ("2101.00001v2").
    pub arxiv: Option<String>,
    /// Hacker News item id.
    pub item: Option<String>,
    /// A library file's path.
    pub path: Option<String>,
    /// As written by the source ("Ada Lovelace" or "Lovelace, Ada").
    pub authors: Vec<String>,
    /// "2024-03-01", "2024-03" or "2024".
    pub issued: Option<String>,
    pub doi: Option<String>,
    /// Wikipedia: the revision read (the URL is its permalink).
    pub revision: Option<u64>,
    /// arXiv's primary category.
    pub category: Option<String>,
    /// The sections (or pages) cited, in order.
    pub sections: Vec<String>,
}

/// "Lovelace, Ada" → ("Lovelace", "Ada"); "Ada Lovelace" → ("Lovelace",
/// "Ada"); one word → (it, "").
pub fn split_name(name: &str) -> (String, String) {
    let name = name.trim();
    // A body, not a person: "H1 Collaboration" stays whole.
    const BODIES: &[&str] = &[
        "Collaboration",
        "Consortium",
        "Group",
        "Team",
        "Project",
        "Institute",
        "University",
        "Committee",
        "Foundation",
    ];
    if name.split_whitespace().any(|w| BODIES.contains(&w)) {
        return (name.to_string(), String::new());
    }
    if let Some((family, given)) = name.split_once(',') {
        return (family.trim().to_string(), given.trim().to_string());
    }
    match name.rsplit_once(' ') {
        Some((given, family)) => (family.trim().to_string(), given.trim().to_string()),
        None => (name.to_string(), String::new()),
    }
}

impl Reference {
    /// The year it was published, else the year it was read.
    pub fn year(&self) -> String {
        self.issued
            .as_deref()
            .and_then(|d| d.get(..4))
            .map(str::to_string)
            .unwrap_or_else(|| self.accessed_date().format("%Y").to_string())
    }

    pub fn accessed_date(&self) -> chrono::NaiveDate {
        chrono::DateTime::from_timestamp_millis(self.accessed)
            .unwrap_or_default()
            .date_naive()
    }
}

/// A document's identity: its file, else its URL without the fragment,
/// else its title.
fn identity(s: &Source) -> String {
    if let Some((path, _)) = s.file_place() {
        return format!("file:{path}");
    }
    match s.url.as_deref() {
        Some(u) => u.split('#').next().unwrap_or(u).to_string(),
        None => format!("{}:{}", s.kind, s.title),
    }
}

fn host(url: &str) -> Option<String> {
    reqwest::Url::parse(url)
        .ok()?
        .host_str()
        .map(|h| h.trim_start_matches("www.").to_string())
}

fn arxiv_id(url: &str) -> Option<String> {
    let rest = url.split("arxiv.org/abs/").nth(1)?;
    let id = rest.split(['?', '#']).next()?.trim_end_matches('/');
    (!id.is_empty()).then(|| id.to_string())
}

fn hn_item(url: &str) -> Option<String> {
    let u = reqwest::Url::parse(url).ok()?;
    if !u.host_str()?.ends_with("ycombinator.com") {
        return None;
    }
    u.query_pairs()
        .find(|(k, _)| k == "id")
        .map(|(_, v)| v.into_owned())
}

fn reference(s: &Source) -> Reference {
    let url = s.url.clone();
    let u = s.url.as_deref().unwrap_or("");
    let (kind, container) = match s.kind.as_str() {
        "wikipedia" => (Kind::Encyclopedia, Some("Wikipedia".to_string())),
        "arxiv" => (Kind::Preprint, Some("arXiv".to_string())),
        "hackernews" => (Kind::Post, Some("Hacker News".to_string())),
        "library" => (Kind::Document, None),
        _ => (Kind::Webpage, host(u)),
    };
    let place = s.file_place();
    let m = &s.meta;
    let container = match kind {
        // A page's own site name reads better than its host.
        Kind::Webpage => m.site.clone().or(container),
        _ => container,
    };
    // Wikipedia: the permalink of the revision read.
    let url = match (kind, m.revision) {
        (Kind::Encyclopedia, Some(rev)) => permalink(u, rev).or(url),
        _ => url,
    };
    Reference {
        key: String::new(),
        kind,
        title: m
            .title
            .clone()
            .unwrap_or_else(|| s.title.trim().to_string()),
        container,
        // A library file is named by its path, not a file:// URL.
        url: if place.is_some() {
            None
        } else {
            url.as_deref()
                .map(|u| u.split('#').next().unwrap_or(u).to_string())
        },
        accessed: s.fetched_at,
        arxiv: arxiv_id(u),
        item: hn_item(u),
        path: place.as_ref().map(|(p, _)| p.clone()),
        sections: Vec::new(),
        authors: m.authors.clone(),
        issued: m.published.clone(),
        doi: m.doi.clone(),
        revision: m.revision,
        category: m.category.clone(),
    }
}

/// `https://en.wikipedia.org/wiki/Normans#History` at revision 42 →
/// `https://en.wikipedia.org/w/index.php?title=Normans&oldid=42`.
fn permalink(page: &str, rev: u64) -> Option<String> {
    let u = reqwest::Url::parse(page).ok()?;
    let title = u.path().strip_prefix("/wiki/")?;
    let mut p = u.clone();
    p.set_path("/w/index.php");
    p.set_fragment(None);
    p.set_query(Some(&format!("title={title}&oldid={rev}")));
    Some(p.to_string())
}

/// The references of these messages' sources, in first-cited order, and
/// for each message the key of each of its `[n]`.
pub fn collect(messages: &[StoredMessage]) -> (Vec<Reference>, Vec<HashMap<i64, String>>) {
    of_answers(messages.iter().map(|m| m.sources.as_slice()))
}

/// Like [`collect`], from each answer's sources.
pub fn of_answers<'a>(
    answers: impl IntoIterator<Item = &'a [Source]>,
) -> (Vec<Reference>, Vec<HashMap<i64, String>>) {
    let mut refs: Vec<Reference> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let mut per_message: Vec<HashMap<i64, usize>> = Vec::new();
    for sources in answers {
        let mut keys = HashMap::new();
        for s in sources {
            let id = identity(s);
            let i = *by_id.entry(id).or_insert_with(|| {
                refs.push(reference(s));
                refs.len() - 1
            });
            let place = match (s.file_place().and_then(|(_, p)| p), &s.section) {
                (Some(p), _) => Some(format!("p. {p}")),
                (None, Some(sec)) => Some(sec.clone()),
                (None, None) => None,
            };
            if let Some(p) = place
                && !refs[i].sections.contains(&p)
            {
                refs[i].sections.push(p);
            }
            keys.insert(s.ordinal, i);
        }
        per_message.push(keys);
    }
    assign_keys(&mut refs);
    let keyed = per_message
        .into_iter()
        .map(|m| {
            m.into_iter()
                .map(|(n, i)| (n, refs[i].key.clone()))
                .collect()
        })
        .collect();
    (refs, keyed)
}

/// Words a key never takes (articles and connectives, a few languages).
const SKIP: &[&str] = &[
    "the", "a", "an", "of", "on", "in", "and", "for", "to", "with", "les", "des", "une", "der",
    "die", "das", "los", "las", "del", "della", "ask", "show",
];

/// ASCII letters and digits of `s`, lowercase (a key is typed by hand).
fn ascii(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// `who` + year + first title word: `wikipedia2026normans`; a second
/// entry with the same key gets `a`, `b`… on both.
fn assign_keys(refs: &mut [Reference]) {
    for r in refs.iter_mut() {
        let family = r.authors.first().map(|a| ascii(&split_name(a).0));
        let who = match r.kind {
            _ if family.as_deref().is_some_and(|f| !f.is_empty()) => family.unwrap_or_default(),
            Kind::Encyclopedia => "wikipedia".to_string(),
            Kind::Preprint => "arxiv".to_string(),
            Kind::Post => "hn".to_string(),
            Kind::Document => "library".to_string(),
            Kind::Webpage => r
                .container
                .as_deref()
                .and_then(|h| h.split('.').next())
                .map(ascii)
                .unwrap_or_default(),
        };
        let word = r
            .title
            .split(|c: char| !c.is_alphanumeric())
            .map(ascii)
            .find(|w| w.len() >= 3 && !SKIP.contains(&w.as_str()))
            .unwrap_or_default();
        let year = r.year();
        let mut key = format!("{who}{year}{word}");
        if !key.starts_with(|c: char| c.is_ascii_alphabetic()) {
            key.insert_str(0, "ref");
        }
        r.key = key;
    }
    let mut count: HashMap<String, usize> = HashMap::new();
    for r in refs.iter() {
        *count.entry(r.key.clone()).or_default() += 1;
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    for r in refs.iter_mut() {
        if count[&r.key] > 1 {
            let n = seen.entry(r.key.clone()).or_default();
            let suffix = suffix(*n);
            *n += 1;
            r.key.push_str(&suffix);
        }
    }
}

/// a, b, … z, aa, ab …
fn suffix(mut n: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'a' + (n % 26) as u8);
        if n < 26 {
            break;
        }
        n = n / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

#[cfg(test)]
mod tests;
