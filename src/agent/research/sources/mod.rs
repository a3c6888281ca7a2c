//! One module per source. Each turns queries into passages, reports a
//! short error in words on failure, and never panics on odd input.

pub mod arxiv;
pub mod hackernews;
pub mod library;
pub mod mcp;
pub mod page_meta;
pub mod searxng;
pub mod web;
pub mod wikipedia;

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

/// Everything a source needs for one turn.
#[derive(Clone)]
pub struct Ctx {
    /// For the configured API.
    pub client: reqwest::Client,
    /// The guarded client, for pages found in results (HN links, SearXNG).
    pub web: reqwest::Client,
    /// Hosts the guarded client may reach although private.
    pub allow: Arc<Vec<String>>,
    pub base_url: String,
    /// Documents kept.
    pub cap: usize,
    /// Whether pages that results link to are read.
    pub follow_links: bool,
    /// Titles and URLs already read in this run: not fetched again.
    pub skip: Arc<Vec<String>>,
    /// Requests in flight per host, shared by every turn (politeness).
    pub hosts: Arc<HostLimits>,
    pub timeout: Duration,
    /// Document bodies not read by then are replaced by what the search
    /// itself said, so one slow page does not time the whole source out.
    pub deadline: Instant,
}

impl Ctx {
    /// Whether a document with this title or URL was read earlier in the run.
    pub fn seen(&self, key: &str) -> bool {
        self.skip.iter().any(|k| k.eq_ignore_ascii_case(key))
    }

    /// `fut`'s output, or None past the body deadline.
    pub async fn in_time<T>(&self, fut: impl std::future::Future<Output = T>) -> Option<T> {
        tokio::time::timeout_at(self.deadline, fut).await.ok()
    }
}

/// The body deadline for a source started now: most of its timeout, with
/// room left to rank what was read.
pub fn body_deadline(timeout: Duration) -> Instant {
    Instant::now() + timeout.mul_f64(0.85)
}

/// Requests to one host in flight at once, across all turns and runs: a
/// deep run reading a dozen articles must not hammer one server.
pub const PER_HOST: usize = 8;

/// One semaphore per host.
#[derive(Default)]
pub struct HostLimits {
    map: std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Semaphore>>>,
}

impl HostLimits {
    /// Waits for a slot for `url`'s host; the request holds it until the
    /// body is read.
    pub async fn permit(&self, url: &reqwest::Url) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let host = url.host_str()?.to_ascii_lowercase();
        let sem = {
            let mut map = self.map.lock().ok()?;
            Arc::clone(
                map.entry(host)
                    .or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(PER_HOST))),
            )
        };
        sem.acquire_owned().await.ok()
    }
}

/// API replies larger than this are refused (they are small JSON or XML).
pub const MAX_API_BODY: usize = 4 * 1024 * 1024;

/// GETs a configured API URL and returns its body, with errors in words.
pub async fn get_api(ctx: &Ctx, url: reqwest::Url) -> Result<Vec<u8>, String> {
    get_api_capped(ctx, url, MAX_API_BODY).await
}

/// [`get_api`] with its own size cap (whole-article replies are larger).
pub async fn get_api_capped(ctx: &Ctx, url: reqwest::Url, cap: usize) -> Result<Vec<u8>, String> {
    let _slot = ctx.hosts.permit(&url).await;
    let resp = ctx
        .client
        .get(url)
        .send()
        .await
        .map_err(|e| super::fetch::short_error(&e))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!("HTTP {}", status.as_u16()));
    }
    let (body, cut) = super::fetch::read_capped(resp, cap).await?;
    if cut {
        return Err("reply too large".into());
    }
    Ok(body)
}

pub fn parse_url(base: &str, path: &str) -> Result<reqwest::Url, String> {
    let base = base.trim_end_matches('/');
    reqwest::Url::parse(&format!("{base}{path}")).map_err(|e| format!("bad base_url {base}: {e}"))
}

/// Removes HTML tags and decodes the common entities (search snippets).
pub fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    decode_entities(&out)
}

/// Decodes named entities that search APIs and comments use, and every
/// numeric one (`&#39;`, `&#x27;`); anything else is left as written.
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        // An entity is short: look for its `;` in the next 12 bytes (cut
        // at a character boundary; found by fuzzing).
        let mut window = rest.len().min(12);
        while !rest.is_char_boundary(window) {
            window -= 1;
        }
        let end = rest[..window].find(';');
        let decoded = end.and_then(|e| {
            let name = &rest[1..e];
            let c = match name {
                "quot" => Some('"'),
                "apos" => Some('\''),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "nbsp" => Some(' '),
                "amp" => Some('&'),
                _ => {
                    let num = name.strip_prefix('#')?;
                    let n = match num.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => num.parse().ok()?,
                    };
                    char::from_u32(n)
                }
            }?;
            Some((c, e + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// HTML of a comment or post to text: paragraphs and line breaks become
/// newlines, tags go, entities are decoded.
pub fn html_text(s: &str) -> String {
    let s = s
        .replace("<p>", "\n")
        .replace("</p>", "\n")
        .replace("<br>", "\n")
        .replace("<br/>", "\n");
    strip_tags(&s)
}

/// Runs `search` for each query in turn; fails only if every query
/// failed (with the last error), so one bad query does not lose the rest.
/// When every query found nothing (search engines that want every word
/// find nothing for a long or misspelt query), shorter queries made of
/// the longest words are tried, up to [`MAX_RELAXED`] more requests.
pub async fn each_query<T, F, Fut>(queries: &[String], mut search: F) -> Result<Vec<Vec<T>>, String>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<T>, String>>,
{
    let mut lists = Vec::new();
    let mut last_err = None;
    for q in queries {
        match search(q.clone()).await {
            Ok(h) => lists.push(h),
            Err(e) => last_err = Some(e),
        }
    }
    if !lists.is_empty() && lists.iter().all(Vec::is_empty) {
        for q in relaxed(queries) {
            match search(q).await {
                Ok(h) if !h.is_empty() => {
                    lists.push(h);
                    break;
                }
                Ok(_) => {}
                Err(e) => last_err = Some(e),
            }
        }
    }
    if lists.is_empty() {
        return Err(last_err.unwrap_or_else(|| "no query".into()));
    }
    Ok(lists)
}

/// Extra requests a source makes when no query found anything.
pub const MAX_RELAXED: usize = 3;

/// Shorter forms of the first query: its three, two and one longest words
/// (longer words tend to be the rarer, more telling ones).
pub fn relaxed(queries: &[String]) -> Vec<String> {
    let Some(first) = queries.first() else {
        return Vec::new();
    };
    let mut words: Vec<&str> = first.split_whitespace().collect();
    words.sort_by_key(|w| std::cmp::Reverse(w.chars().count()));
    let mut out: Vec<String> = Vec::new();
    for n in [3, 2, 1] {
        if words.len() > n {
            // Keep the question's word order among the chosen words.
            let chosen: Vec<&str> = first
                .split_whitespace()
                .filter(|w| words[..n].contains(w))
                .collect();
            let q = chosen.join(" ");
            if !out.contains(&q) && !queries.contains(&q) {
                out.push(q);
            }
        }
    }
    out.truncate(MAX_RELAXED);
    out
}

/// Interleaves per-query results (first of each, then second…), dropping
/// duplicates by key, up to `cap`.
pub fn interleave<T, K: PartialEq>(
    lists: Vec<Vec<T>>,
    cap: usize,
    key: impl Fn(&T) -> K,
) -> Vec<T> {
    let mut iters: Vec<_> = lists.into_iter().map(|l| l.into_iter()).collect();
    let mut out: Vec<T> = Vec::new();
    loop {
        let mut any = false;
        for it in iters.iter_mut() {
            if let Some(x) = it.next() {
                any = true;
                if out.len() < cap && !out.iter().any(|o| key(o) == key(&x)) {
                    out.push(x);
                }
            }
        }
        if !any || out.len() >= cap {
            return out;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_tags_and_entities() {
        assert_eq!(
            strip_tags("<span class=\"searchmatch\">Sachin</span> &amp; co &quot;x&quot;"),
            "Sachin & co \"x\""
        );
    }

    #[test]
    fn numeric_and_named_entities_decode() {
        assert_eq!(
            decode_entities("it&#x27;s &#39;a&#x2F;b&#39; &amp;amp; &bogus; & &#xZZ; &#128512;"),
            "it's 'a/b' &amp; &bogus; & &#xZZ; 😀"
        );
        assert_eq!(html_text("one<p>two &gt; <i>three</i>"), "one\ntwo > three");
    }

    #[test]
    fn an_entity_next_to_multibyte_text_is_not_cut_mid_character() {
        // Found by the `html` fuzz target: the 12-byte window for `;` ended
        // inside "û" and the slice panicked.
        assert_eq!(decode_entities("&#233û; x"), "&#233û; x");
        assert_eq!(decode_entities("&ééééééé;"), "&ééééééé;");
    }

    #[tokio::test]
    async fn requests_to_one_host_are_bounded() {
        let limits = Arc::new(HostLimits::default());
        let now = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut set = tokio::task::JoinSet::new();
        for i in 0..12 {
            let (limits, now, most) = (Arc::clone(&limits), Arc::clone(&now), Arc::clone(&most));
            set.spawn(async move {
                let host = if i % 4 == 3 {
                    "other.org"
                } else {
                    "en.wikipedia.org"
                };
                let url = reqwest::Url::parse(&format!("https://{host}/w/api.php")).unwrap();
                let _p = limits.permit(&url).await;
                if host != "other.org" {
                    let n = now.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    most.fetch_max(n, std::sync::atomic::Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    now.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                }
            });
        }
        while set.join_next().await.is_some() {}
        assert_eq!(most.load(std::sync::atomic::Ordering::SeqCst), PER_HOST);
    }

    #[test]
    fn relaxed_queries_keep_the_longest_words_in_order() {
        let q = vec!["talks braodcast Primier league five year period".to_string()];
        assert_eq!(
            relaxed(&q),
            vec!["braodcast Primier league", "braodcast Primier", "braodcast"]
        );
        assert!(relaxed(&["one".to_string()]).is_empty());
        assert!(relaxed(&[]).is_empty());
    }

    #[tokio::test]
    async fn a_query_finding_nothing_is_retried_shorter() {
        let seen = std::sync::Mutex::new(Vec::new());
        let lists = each_query(&["alpha beta gamma delta".to_string()], |q| {
            seen.lock().unwrap().push(q.clone());
            async move {
                // Only a one-word query finds anything.
                Ok::<_, String>(if q.contains(' ') { vec![] } else { vec![q] })
            }
        })
        .await
        .unwrap();
        assert_eq!(lists.last().unwrap(), &vec!["alpha".to_string()]);
        assert_eq!(seen.lock().unwrap().len(), 4);
    }

    #[test]
    fn interleaves_without_duplicates() {
        let v = interleave(vec![vec![1, 2, 3], vec![2, 4], vec![5]], 4, |x| *x);
        assert_eq!(v, vec![1, 2, 5, 4]);
    }
}
