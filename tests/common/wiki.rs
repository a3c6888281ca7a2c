//! A loopback Wikipedia that holds whole articles and speaks the real API
//! formats: Action API search (`list=search`, with snippets), TextExtracts
//! (`prop=extracts&explaintext=1`, formatversion 1 and 2) and the REST
//! summary. Search ranks articles by the query's words (TF-IDF over whole
//! articles); `strict` makes it want every word, as Wikipedia's own search
//! does. One thread per connection; it stops after `max_secs`.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[derive(Clone, Debug)]
pub struct Article {
    pub title: String,
    /// The plain-text extract: paragraphs separated by newlines, headings
    /// as `== H ==` lines.
    pub text: String,
}

pub struct Wiki {
    pub addr: std::net::SocketAddr,
    /// Paths requested, in order.
    pub requests: Arc<Mutex<Vec<String>>>,
    pub served: Arc<AtomicUsize>,
}

struct State {
    articles: Vec<Article>,
    /// Per article: lowercase word → count.
    tf: Vec<HashMap<String, usize>>,
    strict: bool,
    /// Delay before answering an extract request (a slow body).
    extract_delay: Duration,
}

fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 1)
        .map(str::to_lowercase)
        .collect()
}

/// A crude stem so "farms" finds "farm", as a real search engine would.
fn stem(w: &str) -> &str {
    let w = w.strip_suffix('s').filter(|r| r.len() > 3).unwrap_or(w);
    &w[..w.char_indices().nth(6).map(|(i, _)| i).unwrap_or(w.len())]
}

const STOP: &[&str] = &[
    "the", "of", "and", "in", "to", "what", "who", "was", "is", "did", "does", "how", "which",
    "when", "where", "why", "for", "on", "by", "with", "as", "at", "an", "are", "were", "from",
    "that", "this", "it", "its", "be", "or",
];

impl State {
    fn search(&self, q: &str, limit: usize) -> Vec<usize> {
        let terms: Vec<String> = words(q)
            .into_iter()
            .filter(|w| !STOP.contains(&w.as_str()))
            .map(|w| stem(&w).to_string())
            .collect();
        let n = self.articles.len() as f64;
        let mut scored: Vec<(usize, f64)> = Vec::new();
        for (i, tf) in self.tf.iter().enumerate() {
            let mut score = 0.0;
            let mut all = true;
            for t in &terms {
                let f = tf.get(t).copied().unwrap_or(0) as f64;
                let title_hit = words(&self.articles[i].title).iter().any(|w| stem(w) == t);
                if f == 0.0 && !title_hit {
                    all = false;
                    continue;
                }
                let df = self.tf.iter().filter(|o| o.contains_key(t)).count() as f64;
                score += (1.0 + f.max(1.0).ln()) * ((n + 1.0) / (df + 0.5)).ln()
                    + if title_hit { 2.0 } else { 0.0 };
            }
            if score > 0.0 && (all || !self.strict) {
                scored.push((i, score));
            }
        }
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        scored.into_iter().take(limit).map(|(i, _)| i).collect()
    }

    fn find(&self, title: &str) -> Option<&Article> {
        // Titles are normalised as MediaWiki does: underscores are spaces.
        let t = title.replace('_', " ");
        self.articles
            .iter()
            .find(|a| a.title.replace('_', " ") == t)
    }
}

fn reply(s: &mut TcpStream, status: u16, body: &[u8]) {
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = s.write_all(head.as_bytes());
    let _ = s.write_all(body);
}

fn handle(mut s: TcpStream, st: &State, log: &Mutex<Vec<String>>) {
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut tmp) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
        }
        if buf.len() > 64 * 1024 {
            return;
        }
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    let Some(path) = head.split_whitespace().nth(1) else {
        return;
    };
    log.lock().unwrap().push(path.to_string());
    let Ok(url) = reqwest::Url::parse(&format!("http://wiki{path}")) else {
        return reply(&mut s, 400, b"{}");
    };
    let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    if url.path() == "/w/api.php" && get("list") == "search" {
        let limit = get("srlimit").parse().unwrap_or(10);
        let hits: Vec<Value> = st
            .search(get("srsearch"), limit)
            .into_iter()
            .map(|i| {
                let a = &st.articles[i];
                let snippet: String = a.text.chars().take(120).collect();
                json!({"ns": 0, "title": a.title, "pageid": i + 1, "size": a.text.len(),
                       "wordcount": a.text.split_whitespace().count(),
                       "snippet": snippet, "timestamp": "2024-01-01T00:00:00Z"})
            })
            .collect();
        let body = json!({"batchcomplete": "", "query": {"searchinfo": {"totalhits": hits.len()}, "search": hits}});
        return reply(&mut s, 200, body.to_string().as_bytes());
    }
    if url.path() == "/w/api.php" && get("prop").split('|').any(|p| p == "extracts") {
        std::thread::sleep(st.extract_delay);
        let title = get("titles");
        let v2 = get("formatversion") == "2";
        // `prop=extracts|info` adds the page's last revision, as the real
        // API does (a number made from the title here).
        let info = get("prop").split('|').any(|p| p == "info");
        let rev = |t: &str| {
            t.bytes()
                .fold(1000u64, |h, b| h * 31 % 1_000_000_007 + b as u64)
        };
        let body = match (st.find(title), v2) {
            (Some(a), true) if info => json!({"batchcomplete": true, "query": {"pages": [
                {"pageid": 1, "ns": 0, "title": a.title, "extract": a.text,
                 "lastrevid": rev(&a.title)}]}}),
            (Some(a), true) => json!({"batchcomplete": true, "query": {"pages": [
                {"pageid": 1, "ns": 0, "title": a.title, "extract": a.text}]}}),
            (Some(a), false) => json!({"batchcomplete": "", "query": {"pages": {"1":
                {"pageid": 1, "ns": 0, "title": a.title, "extract": a.text}}}}),
            (None, true) => json!({"batchcomplete": true, "query": {"pages": [
                {"ns": 0, "title": title, "missing": true}]}}),
            (None, false) => json!({"batchcomplete": "", "query": {"pages": {"-1":
                {"ns": 0, "title": title, "missing": ""}}}}),
        };
        return reply(&mut s, 200, body.to_string().as_bytes());
    }
    if let Some(t) = url.path().strip_prefix("/api/rest_v1/page/summary/") {
        let t = percent_decode(t);
        return match st.find(&t) {
            Some(a) => {
                let lead = a.text.lines().next().unwrap_or("");
                let page = format!("http://wiki/wiki/{}", a.title.replace(' ', "_"));
                let body = json!({"type": "standard", "title": a.title, "extract": lead,
                                  "content_urls": {"desktop": {"page": page}}});
                reply(&mut s, 200, body.to_string().as_bytes())
            }
            None => reply(&mut s, 404, br#"{"type":"https://mediawiki.org/wiki/HyperSwitch/errors/not_found","title":"Not found.","method":"get","detail":"Page or revision not found."}"#),
        };
    }
    reply(&mut s, 404, b"{}")
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Wiki {
    pub fn start(articles: Vec<Article>, strict: bool, max_secs: u64) -> Self {
        Self::with_delay(articles, strict, max_secs, Duration::ZERO)
    }

    pub fn with_delay(
        articles: Vec<Article>,
        strict: bool,
        max_secs: u64,
        extract_delay: Duration,
    ) -> Self {
        let tf = articles
            .iter()
            .map(|a| {
                let mut m: HashMap<String, usize> = HashMap::new();
                for w in words(&a.text) {
                    *m.entry(stem(&w).to_string()).or_default() += 1;
                }
                m
            })
            .collect();
        let state = Arc::new(State {
            articles,
            tf,
            strict,
            extract_delay,
        });
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let served = Arc::new(AtomicUsize::new(0));
        let (log, count) = (Arc::clone(&requests), Arc::clone(&served));
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(max_secs);
            while Instant::now() < deadline {
                match listener.accept() {
                    Ok((s, _)) => {
                        let _ = s.set_nonblocking(false);
                        count.fetch_add(1, Ordering::Relaxed);
                        let (st, log) = (Arc::clone(&state), Arc::clone(&log));
                        std::thread::spawn(move || handle(s, &st, &log));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(1)),
                }
            }
        });
        Self {
            addr,
            requests,
            served,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// The SQuAD 2.0 articles of the fixture, each with its answerable
/// questions: (articles, [(question, answers)]).
pub fn squad(path: &str) -> (Vec<Article>, Vec<(String, Vec<String>)>) {
    let raw = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let v: Value = serde_json::from_slice(&raw).unwrap();
    let mut articles = Vec::new();
    let mut qs = Vec::new();
    for a in v["data"].as_array().unwrap() {
        let mut paras = Vec::new();
        for p in a["paragraphs"].as_array().unwrap() {
            paras.push(p["context"].as_str().unwrap().trim().to_string());
            for qa in p["qas"].as_array().unwrap() {
                if qa["is_impossible"].as_bool().unwrap_or(false) {
                    continue;
                }
                let answers = qa["answers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|x| x["text"].as_str().map(String::from))
                    .collect();
                qs.push((qa["question"].as_str().unwrap().to_string(), answers));
            }
        }
        articles.push(Article {
            // SQuAD spells titles as URLs do; the API uses spaces.
            title: a["title"].as_str().unwrap().replace('_', " "),
            text: paras.join("\n"),
        });
    }
    (articles, qs)
}

/// SQuAD's answer normalisation: lowercase, no punctuation, no articles,
/// single spaces.
pub fn normalize(s: &str) -> String {
    let lower: String = s
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c.is_whitespace() {
                c
            } else {
                ' '
            }
        })
        .collect();
    lower
        .split_whitespace()
        .filter(|w| !matches!(*w, "a" | "an" | "the"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether any gold answer appears in the first `chars` characters of the
/// cited passages, in citation order.
pub fn answered(excerpts: &[String], answers: &[String], chars: usize) -> bool {
    let joined: String = excerpts.join("\n").chars().take(chars).collect();
    let hay = format!(" {} ", normalize(&joined));
    answers.iter().any(|a| {
        let n = normalize(a);
        !n.is_empty() && hay.contains(&format!(" {n} "))
    })
}

/// A HotpotQA question: (question, type, supporting titles).
pub type Hop = (String, String, Vec<String>);

/// The context articles of a HotpotQA file (every question's, each title
/// once: its sentences as one lead paragraph) and its questions.
pub fn hotpot(path: &str) -> (Vec<Article>, Vec<Hop>) {
    let raw = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let v: Value = serde_json::from_slice(&raw).unwrap();
    let mut articles: Vec<Article> = Vec::new();
    let mut qs = Vec::new();
    for q in v.as_array().unwrap() {
        for c in q["context"].as_array().unwrap() {
            let title = c[0].as_str().unwrap().to_string();
            if articles.iter().any(|a| a.title == title) {
                continue;
            }
            let text: Vec<&str> = c[1]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_str)
                .map(str::trim)
                .collect();
            articles.push(Article {
                title,
                text: text.join(" "),
            });
        }
        let mut support: Vec<String> = q["supporting_facts"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f[0].as_str().map(String::from))
            .collect();
        support.sort();
        support.dedup();
        qs.push((
            q["question"].as_str().unwrap().to_string(),
            q["type"].as_str().unwrap_or("").to_string(),
            support,
        ));
    }
    (articles, qs)
}

/// The fifteen HotpotQA questions' articles on a loopback Wikipedia, and
/// a config whose only source it is, the model at `provider` (a closed
/// port: no model). The UI tests' research setup.
pub fn hotpot_app_config(provider: &str) -> (Wiki, sleuth::config::Config) {
    let (articles, _) = hotpot(&format!(
        "{}/../shared/fixtures/hotpot/hotpot-dev-distractor-15.json",
        env!("CARGO_MANIFEST_DIR")
    ));
    let w = Wiki::start(articles, false, 60);
    let mut cfg = sleuth::config::Config::default();
    cfg.provider.base_url = provider.into();
    cfg.sources.wikipedia.base_url = w.url();
    cfg.sources.hackernews.enabled = false;
    cfg.sources.arxiv.enabled = false;
    (w, cfg)
}
