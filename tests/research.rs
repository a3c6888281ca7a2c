//! Research turns end to end: `sleuth ask` against loopback servers that
//! replay the Wikipedia, Hacker News, arXiv, web and provider fixtures, with
//! per-test faults. Checks what the user sees and what the database holds.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)] // test code: a panic is the failure report

#[path = "research/claims.rs"]
mod claims;
mod common;
#[path = "common/python.rs"]
mod python;
#[path = "research/references.rs"]
mod references;
#[path = "common/server.rs"]
mod server;

use std::time::Duration;

use common::Sandbox;
use server::{Chunk, End, Reply, Server, fixture, ollama_says};

const JSON: &str = "application/json";

const KEYWORDS: &str = "```json\n{\"queries\": [\"Sachin Tendulkar\", \"cricket records\"]}\n```";
const ANSWER: &str =
    "Tendulkar is a former Indian cricketer [1], discussed on HN [2]. See also [9].";

/// The recorded summary payload (its real shape) about the page the
/// search fixture finds: the recorded one is about another page, and
/// sources that share no word with the question are not cited.
fn tendulkar_summary() -> Vec<u8> {
    let mut v: serde_json::Value =
        serde_json::from_slice(&fixture("wikipedia_summary.json")).unwrap();
    v["title"] = "Sachin Tendulkar".into();
    v["extract"] = "Sachin Tendulkar is an Indian former international cricketer who \
        captained the Indian national team. He holds the records for the most runs \
        in Test and ODI cricket."
        .into();
    serde_json::to_vec(&v).unwrap()
}

fn sources_routes(hn: Reply) -> Vec<(&'static str, Vec<Reply>)> {
    vec![
        (
            "/w/api.php",
            vec![Reply::new(200, JSON, fixture("wikipedia_search.json"))],
        ),
        (
            "/api/rest_v1/page/summary/",
            vec![
                Reply::new(200, JSON, tendulkar_summary()),
                Reply::new(200, JSON, fixture("wikipedia_summary_disambiguation.json")),
                Reply::new(404, JSON, fixture("wikipedia_summary_404.json")),
            ],
        ),
        ("/api/v1/search", vec![hn]),
        (
            "/api/query",
            vec![Reply::new(
                200,
                "application/atom+xml",
                fixture("arxiv_query.atom"),
            )],
        ),
    ]
}

fn config(sb: &Sandbox, server: &Server, provider_url: &str, extra: &str) -> std::path::PathBuf {
    let url = server.url();
    let path = sb.path().join("research.toml");
    std::fs::write(
        &path,
        format!(
            "[provider]\nbase_url = \"{provider_url}\"\nretry_base_ms = 10\n\
             [research]\ntimeout_secs = 2\nper_source = 3\ntop_k = 4\nfollow_links = false\n{extra}\n\
             [sources.wikipedia]\nbase_url = \"{url}\"\n[sources.hackernews]\nbase_url = \"{url}\"\n\
             [sources.arxiv]\nbase_url = \"{url}\"\n"
        ),
    )
    .unwrap();
    path
}

/// How many requests reached the (Ollama) model.
fn model_requests(server: &Server) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.path == "/api/chat")
        .count()
}

fn ask(sb: &Sandbox, cfg: &std::path::Path, question: &str) -> (i32, serde_json::Value, String) {
    let out = sb
        .cmd()
        .arg("--config")
        .arg(cfg)
        .args(["ask", "--json", question])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let v = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    (
        out.status.code().unwrap_or(-1),
        v,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn a_full_turn_cites_stored_sources() {
    let mut routes = sources_routes(Reply::new(200, JSON, fixture("hn_algolia_search.json")));
    routes.push((
        "/api/chat",
        vec![ollama_says(KEYWORDS), ollama_says(ANSWER)],
    ));
    let server = Server::routed(routes);
    let sb = Sandbox::new();
    let cfg = config(&sb, &server, &server.url(), "");
    let (code, v, err) = ask(&sb, &cfg, "Who is Sachin Tendulkar?");
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        v["keywords"],
        serde_json::json!(["Sachin Tendulkar", "cricket records"])
    );
    assert_eq!(v["answer"], ANSWER);
    assert_eq!(v["answer_kind"], "generated");
    let sources = v["sources"].as_array().unwrap();
    assert!(!sources.is_empty() && sources.len() <= 4);
    for (i, s) in sources.iter().enumerate() {
        assert_eq!(s["n"], i as i64 + 1);
        assert!(s["relevance"].as_f64().unwrap() <= 1.0);
        assert!(!s["title"].as_str().unwrap().is_empty());
    }
    let kinds: Vec<&str> = sources
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"wikipedia"), "{kinds:?}");
    // The disambiguation page and the 404 are not cited.
    assert!(sources.iter().all(|s| s["title"] != "Test"));
    let status: Vec<(&str, &str)> = v["source_status"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["source"].as_str().unwrap(),
                s["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        status,
        vec![("wikipedia", "ok"), ("hackernews", "ok"), ("arxiv", "ok")]
    );
    // The model got the numbered sources.
    let chats: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/chat")
        .collect();
    let prompt = chats[1].json()["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        prompt.contains("[1] ") && prompt.contains("Question: Who is Sachin Tendulkar?"),
        "{prompt}"
    );
    // Sources are stored with the answer; [n] is the ordinal.
    let conn = sleuth::store::open_reader(&sb.db()).unwrap();
    let s = sleuth::store::queries::resolve_session(&conn, "latest").unwrap();
    let t = sleuth::store::queries::transcript(&conn, s.id).unwrap();
    assert_eq!(t[1].message.content, ANSWER);
    assert_eq!(t[1].sources.len(), sources.len());
    assert_eq!(t[1].sources[0].ordinal, 1);
    assert_eq!(t[1].sources[0].title, sources[0]["title"].as_str().unwrap());
    // Titles were sent URL-encoded in one path segment.
    let summary_paths: Vec<String> = server
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/api/rest_v1/page/summary/"))
        .map(|r| r.path)
        .collect();
    assert!(
        summary_paths
            .iter()
            .any(|p| p == "/api/rest_v1/page/summary/Sachin_Tendulkar"),
        "{summary_paths:?}"
    );
    assert!(summary_paths.iter().all(|p| !p.contains(' ')));
}

#[test]
fn the_text_output_lists_only_real_sources() {
    let mut routes = sources_routes(Reply::new(200, JSON, fixture("hn_algolia_search.json")));
    routes.push((
        "/api/chat",
        vec![ollama_says(KEYWORDS), ollama_says(ANSWER)],
    ));
    let server = Server::routed(routes);
    let sb = Sandbox::new();
    let cfg = config(&sb, &server, &server.url(), "");
    let out = sb
        .cmd()
        .arg("--config")
        .arg(&cfg)
        .args(["ask", "Who is Sachin Tendulkar?"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with(ANSWER), "{stdout}");
    assert!(stdout.contains("\nSources:\n[1] "), "{stdout}");
    assert!(
        !stdout.contains("[9] "),
        "a dangling citation has no source line: {stdout}"
    );
}

#[test]
fn one_slow_source_times_out_and_the_others_are_cited() {
    let slow = Reply {
        status: 200,
        headers: vec![("Content-Type".into(), JSON.into())],
        body: vec![
            Chunk::Delay(3500),
            Chunk::Bytes(fixture("hn_algolia_search.json")),
        ],
        end: End::Close,
    };
    let mut routes = sources_routes(slow);
    routes.push((
        "/api/chat",
        vec![ollama_says(KEYWORDS), ollama_says(ANSWER)],
    ));
    let server = Server::routed(routes);
    let sb = Sandbox::new();
    let cfg = config(&sb, &server, &server.url(), "");
    let started = std::time::Instant::now();
    let (code, v, err) = ask(&sb, &cfg, "Who is Sachin Tendulkar?");
    assert_eq!(code, 0, "{err}");
    assert!(
        started.elapsed() < Duration::from_millis(3400),
        "waited for the slow source"
    );
    let hn = v["source_status"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == "hackernews")
        .unwrap()
        .clone();
    assert_eq!(hn["outcome"], "timeout");
    assert_eq!(v["answer_kind"], "generated");
    assert!(
        v["sources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["kind"] != "hackernews")
    );
}

#[test]
fn all_sources_failing_gives_a_clear_answer_less_result() {
    let fail = || vec![Reply::new(500, "text/plain", b"down".to_vec())];
    let server = Server::routed(vec![
        ("/w/api.php", fail()),
        ("/api/v1/search", fail()),
        ("/api/query", fail()),
        ("/api/chat", vec![ollama_says(KEYWORDS)]),
    ]);
    let sb = Sandbox::new();
    let cfg = config(&sb, &server, &server.url(), "");
    let (code, v, err) = ask(&sb, &cfg, "anything?");
    assert_eq!(code, 0, "{err}");
    assert!(v["sources"].as_array().unwrap().is_empty());
    assert!(
        v["answer"]
            .as_str()
            .unwrap()
            .contains("Nothing to cite: no source returned anything"),
        "{}",
        v["answer"]
    );
    assert!(
        v["source_status"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["outcome"] == "failed" && s["error"] == "HTTP 500")
    );
    // Only the keyword request reached the model: nothing to synthesize from.
    assert_eq!(model_requests(&server), 1);
}

#[test]
fn sources_that_share_no_word_with_the_question_are_not_fed_to_the_model() {
    // The sources answer (they replay fixed pages about cricket) but none
    // of it mentions the question's words: nothing is cited, the model is
    // not asked to answer from noise, and the answer says why.
    let server = Server::routed(
        sources_routes(Reply::new(
            200,
            JSON,
            fixture("hn_algolia_search_legacy.json"),
        ))
        .into_iter()
        .chain([(
            "/api/chat",
            vec![ollama_says(r#"{"queries": ["zyxqv blorft"]}"#)],
        )])
        .collect(),
    );
    let sb = Sandbox::new();
    let cfg = config(&sb, &server, &server.url(), "");
    let (code, v, err) = ask(&sb, &cfg, "zyxqv blorft?");
    assert_eq!(code, 0, "{err}");
    assert!(v["sources"].as_array().unwrap().is_empty(), "{v}");
    let answer = v["answer"].as_str().unwrap();
    assert!(
        answer.contains("Nothing to cite: nothing in the")
            && answer.contains("passages read shares a word with the question"),
        "{answer}"
    );
    assert_eq!(
        model_requests(&server),
        1,
        "only the search terms were asked of the model"
    );
}

#[test]
fn without_a_model_the_answer_is_extractive_with_citations() {
    let server = Server::routed(sources_routes(Reply::new(
        200,
        JSON,
        fixture("hn_algolia_search_legacy.json"),
    )));
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let sb = Sandbox::new();
    let cfg = config(&sb, &server, &format!("http://{closed}"), "");
    let (code, v, err) = ask(&sb, &cfg, "What did Sachin Tendulkar achieve in cricket?");
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["answer_kind"], "extractive");
    // Heuristic keywords: the question's content words.
    assert_eq!(v["keywords"][0], "Sachin Tendulkar achieve cricket");
    let answer = v["answer"].as_str().unwrap();
    assert!(
        answer.contains("No model answered") && answer.contains("ollama serve"),
        "{answer}"
    );
    let n = v["sources"].as_array().unwrap().len() as i64;
    let cited = sleuth::agent::research::answer::citations(answer);
    assert_eq!(cited, (1..=n).collect::<Vec<_>>());
}

fn page_server(body: Vec<u8>, headers: Vec<(&str, &str)>) -> Server {
    let mut r = Reply::new(200, "text/html; charset=utf-8", body);
    for (k, v) in headers {
        r = r.header(k, v);
    }
    Server::bounded(vec![("", vec![r])], 8)
}

#[test]
fn a_loopback_url_in_the_question_is_refused_unless_allowed() {
    let page = page_server(fixture("article_sample.html"), vec![]);
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let off = "[sources.wikipedia]\nenabled = false\n[sources.hackernews]\nenabled = false\n[sources.arxiv]\nenabled = false\n";
    let sb = Sandbox::new();
    let q = format!("Summarize {}/test/page.html please", page.url());
    let cfg = sb.path().join("web.toml");
    std::fs::write(
        &cfg,
        format!("[provider]\nbase_url = \"http://{closed}\"\n{off}"),
    )
    .unwrap();
    let (code, v, err) = ask(&sb, &cfg, &q);
    assert_eq!(code, 0, "{err}");
    let web = &v["source_status"][0];
    assert_eq!(
        (web["source"].as_str(), web["outcome"].as_str()),
        (Some("web"), Some("failed"))
    );
    assert!(web["error"].as_str().unwrap().contains("refused"), "{web}");
    assert!(page.requests().is_empty(), "the refused page was requested");

    std::fs::write(&cfg, format!("[provider]\nbase_url = \"http://{closed}\"\n[research]\nallow_hosts = [\"127.0.0.1\"]\n{off}")).unwrap();
    let (code, v, err) = ask(&sb, &cfg, &q);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        v["source_status"][0]["outcome"], "ok",
        "{}",
        v["source_status"]
    );
    let s = &v["sources"][0];
    assert_eq!(s["kind"], "web");
    assert_eq!(
        s["title"],
        "standalone WebAssembly binaries using Emscripten · V8"
    );
    assert!(
        page.requests()[0]
            .header("user-agent")
            .unwrap()
            .starts_with("sleuth/")
    );
}

#[test]
fn huge_pages_and_gzip_bombs_are_capped() {
    use std::io::Write;
    let off = "[sources.wikipedia]\nenabled = false\n[sources.hackernews]\nenabled = false\n[sources.arxiv]\nenabled = false\n";
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    // 5 MB of real-looking text.
    let para = "<p>Readable sentence about the topic at hand, repeated to fill the page. </p>\n";
    let big = format!(
        "<html><head><title>Big</title></head><body><article>{}</article></body></html>",
        para.repeat(5 * 1024 * 1024 / para.len())
    );
    // 64 MB of zeros, gzip-compressed to about 64 KB.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        gz.write_all(&zeros).unwrap();
    }
    let bomb = gz.finish().unwrap();
    for (body, headers) in [
        (big.into_bytes(), vec![]),
        (bomb, vec![("Content-Encoding", "gzip")]),
    ] {
        let page = page_server(body, headers);
        let sb = Sandbox::new();
        let cfg = sb.path().join("web.toml");
        std::fs::write(&cfg, format!("[provider]\nbase_url = \"http://{closed}\"\n[research]\nallow_hosts = [\"127.0.0.1\"]\ntimeout_secs = 60\n{off}")).unwrap();
        let (code, v, err) = ask(&sb, &cfg, &format!("What is on {}/x ?", page.url()));
        assert_eq!(code, 0, "{err}");
        let st = &v["source_status"][0];
        assert_ne!(st["outcome"], "timeout", "{st}");
        // Whatever was kept is bounded: passages are short, and few.
        let sources = v["sources"].as_array().unwrap();
        assert!(sources.len() <= 12);
        for s in sources {
            let len = s["excerpt"].as_str().unwrap().len();
            assert!(len <= sleuth::agent::research::passages::MAX_BYTES, "{len}");
        }
    }
}

#[test]
fn embeddings_rank_passages_when_the_provider_has_them() {
    // HN returns 5 stories; per_source 5 keeps them all. The embeddings say
    // the later a story, the closer it is to the question (the opposite of
    // the fixture order), so the citations must come out reversed.
    let hits = 5;
    let mut embeddings = vec![vec![1.0, 0.0]];
    for i in 0..hits {
        let a = (i as f64 + 1.0) / (hits as f64 + 1.0);
        embeddings.push(vec![a, 1.0 - a]);
    }
    let embed_body =
        serde_json::json!({"model": "all-minilm", "embeddings": embeddings}).to_string();
    let server = Server::routed(vec![
        (
            "/api/v1/search",
            vec![Reply::new(
                200,
                JSON,
                fixture("hn_algolia_search_legacy.json"),
            )],
        ),
        (
            "/api/embed",
            vec![Reply::new(200, JSON, embed_body.into_bytes())],
        ),
        (
            "/api/chat",
            vec![ollama_says(KEYWORDS), ollama_says("JS things [1].")],
        ),
    ]);
    let sb = Sandbox::new();
    let url = server.url();
    let cfg = sb.path().join("emb.toml");
    std::fs::write(
        &cfg,
        format!(
            "[provider]\nbase_url = \"{url}\"\nembed_model = \"all-minilm\"\nretry_base_ms = 10\n\
             [research]\nper_source = 5\ntop_k = 5\nfollow_links = false\n\
             [sources.wikipedia]\nenabled = false\n[sources.arxiv]\nenabled = false\n\
             [sources.hackernews]\nbase_url = \"{url}\"\n"
        ),
    )
    .unwrap();
    // No word of the question is in the passages, so BM25 knows nothing
    // and the embeddings alone decide.
    let (code, v, err) = ask(&sb, &cfg, "frontend ecosystem");
    assert_eq!(v["analysis"]["ranker"], "embeddings", "{v:#}");
    assert_eq!(code, 0, "{err}");
    let titles: Vec<&str> = v["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        vec![
            "How to manage HTML DOM with vanilla JavaScript only?",
            "Modern Javascript: Everything you missed over the last 10 years (2020)",
            "Show HN: Meteor, a realtime JavaScript framework",
            "A spreadsheet in fewer than 30 lines of JavaScript, no library used",
            "Yarn – A new package manager for JavaScript",
        ]
    );
    let embed_req = server
        .requests()
        .into_iter()
        .find(|r| r.path == "/api/embed")
        .unwrap();
    let input = embed_req.json()["input"].as_array().unwrap().len();
    assert_eq!(
        input,
        hits + 1,
        "the question and each passage, embedded once"
    );
}

#[tokio::test]
async fn bodies_are_read_up_to_the_cap_after_decompression() {
    use sleuth::agent::research::fetch::read_capped;
    use sleuth::agent::research::sources::web::MAX_PAGE;
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&vec![b'a'; 64 << 20]).unwrap();
    let bomb = gz.finish().unwrap();
    assert!(bomb.len() < 1 << 20, "the bomb itself is small");
    let cases = [
        (
            Reply::new(200, "text/html", vec![b'x'; 5 << 20]),
            5usize << 20,
        ),
        (
            Reply::new(200, "text/html", bomb).header("Content-Encoding", "gzip"),
            64 << 20,
        ),
    ];
    for (reply, full) in cases {
        let server = Server::start(vec![reply]);
        let client = sleuth::agent::research::fetch::guarded_client(
            vec!["127.0.0.1".into()],
            Duration::from_secs(5),
        )
        .unwrap();
        let resp = client.get(server.url()).send().await.unwrap();
        let (body, cut) = read_capped(resp, MAX_PAGE).await.unwrap();
        assert!(cut, "a {full}-byte body must be cut");
        assert_eq!(body.len(), MAX_PAGE);
    }
}

#[test]
fn searxng_results_are_used_and_a_403_says_how_to_fix_it() {
    let off = "[sources.wikipedia]\nenabled = false\n[sources.hackernews]\nenabled = false\n[sources.arxiv]\nenabled = false\n";
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    for (reply, ok) in [
        (Reply::new(200, JSON, fixture("searxng_search.json")), true),
        (Reply::new(403, "text/html", b"Forbidden".to_vec()), false),
    ] {
        let server = Server::routed(vec![("/search", vec![reply])]);
        let sb = Sandbox::new();
        let cfg = sb.path().join("sx.toml");
        std::fs::write(
            &cfg,
            format!("[provider]\nbase_url = \"http://{closed}\"\n[research]\nfollow_links = false\n{off}[sources.searxng]\nenabled = true\nbase_url = \"{}\"\n", server.url()),
        )
        .unwrap();
        let (code, v, err) = ask(&sb, &cfg, "what is searxng");
        assert_eq!(code, 0, "{err}");
        let st = &v["source_status"][0];
        assert_eq!(st["source"], "searxng");
        if ok {
            assert_eq!(st["outcome"], "ok", "{st}");
            assert!(
                v["sources"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|s| s["kind"] == "searxng")
            );
            let req = &server.requests()[0];
            assert!(
                req.path.starts_with("/search?q=") && req.path.ends_with("&format=json"),
                "{}",
                req.path
            );
        } else {
            assert!(
                st["error"].as_str().unwrap().contains("enable JSON output"),
                "{st}"
            );
        }
    }
}

#[test]
fn a_hacker_news_story_is_read_as_its_discussion_and_its_linked_page() {
    let server_for_page = page_server(fixture("article_sample.html"), vec![]);
    let page = format!("{}/post.html", server_for_page.url());
    let hits = serde_json::json!({"hits": [{
        "objectID": "42", "story_id": 42, "title": "Standalone WebAssembly with Emscripten",
        "url": page, "author": "alice", "points": 120, "num_comments": 3
    }]});
    let item = serde_json::json!({
        "id": 42, "type": "story", "author": "alice", "title": "Standalone WebAssembly with Emscripten",
        "url": page, "text": null, "points": 120, "children": [
            {"id": 43, "author": "bob", "text": "<p>Standalone wasm binaries need no JavaScript glue at all, which is the point of the STANDALONE_WASM flag.", "children": [
                {"id": 44, "author": null, "text": null, "children": []},
                {"id": 45, "author": "carol", "text": "WASI gives them a system interface.", "children": []}
            ]}
        ]
    });
    let server = Server::routed(vec![
        (
            "/api/v1/search",
            vec![Reply::new(200, JSON, hits.to_string().into_bytes())],
        ),
        (
            "/api/v1/items/42",
            vec![Reply::new(200, JSON, item.to_string().into_bytes())],
        ),
    ]);
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let sb = Sandbox::new();
    let cfg = sb.path().join("hn.toml");
    std::fs::write(
        &cfg,
        format!(
            "[provider]\nbase_url = \"http://{closed}\"\n[research]\nallow_hosts = [\"127.0.0.1\"]\n\
             [sources.wikipedia]\nenabled = false\n[sources.arxiv]\nenabled = false\n\
             [sources.hackernews]\nbase_url = \"{}\"\n",
            server.url()
        ),
    )
    .unwrap();
    let (code, v, err) = ask(
        &sb,
        &cfg,
        "What does the STANDALONE_WASM flag do for wasm binaries?",
    );
    assert_eq!(code, 0, "{err}");
    let hn = &v["analysis"]["per_source"][0];
    assert_eq!(
        hn["documents"], 2,
        "the discussion and the linked page: {v:#}"
    );
    let sources = v["sources"].as_array().unwrap();
    let thread = sources
        .iter()
        .find(|s| s["url"] == "https://news.ycombinator.com/item?id=43")
        .unwrap_or_else(|| panic!("{sources:#?}"));
    assert_eq!(thread["section"], "comments · bob");
    let text = thread["excerpt"].as_str().unwrap();
    assert!(
        text.contains("bob: Standalone wasm binaries") && text.contains("carol: WASI"),
        "{text}"
    );
    assert!(
        sources.iter().any(|s| s["url"] == page.as_str()),
        "the linked page is cited too: {sources:#?}"
    );
    assert!(server_for_page.requests()[0].path == "/post.html");
}

#[test]
fn searxng_result_pages_are_read_and_an_unreadable_one_keeps_its_snippet() {
    let page = page_server(fixture("article_sample.html"), vec![]);
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let results = serde_json::json!({"query": "standalone wasm", "results": [
        {"url": format!("{}/wasm.html", page.url()), "title": "Standalone WebAssembly", "content": "short snippet"},
        {"url": format!("http://{closed}/gone"), "title": "Gone page", "content": "The snippet of a page that cannot be read about standalone wasm."}
    ]});
    let server = Server::routed(vec![(
        "/search",
        vec![Reply::new(200, JSON, results.to_string().into_bytes())],
    )]);
    let off = "[sources.wikipedia]\nenabled = false\n[sources.hackernews]\nenabled = false\n[sources.arxiv]\nenabled = false\n";
    let sb = Sandbox::new();
    let cfg = sb.path().join("sx.toml");
    std::fs::write(
        &cfg,
        format!(
            "[provider]\nbase_url = \"http://{closed}\"\n[research]\nallow_hosts = [\"127.0.0.1\"]\n{off}\
             [sources.searxng]\nenabled = true\nbase_url = \"{}\"\n",
            server.url()
        ),
    )
    .unwrap();
    let (code, v, err) = ask(
        &sb,
        &cfg,
        "How are standalone wasm binaries built with Emscripten?",
    );
    assert_eq!(code, 0, "{err}");
    let sx = &v["analysis"]["per_source"][0];
    assert_eq!(sx["documents"], 2, "{v:#}");
    // The page was read whole: many passages, far more than two snippets.
    assert!(sx["passages"].as_u64().unwrap() > 5, "{sx}");
    let sources = v["sources"].as_array().unwrap();
    assert!(
        sources
            .iter()
            .any(|s| s["title"] == "Standalone WebAssembly"
                && s["excerpt"].as_str().unwrap().contains("Emscripten")),
        "{sources:#?}"
    );
}

/// Issue 11, case 8: a configured source that redirects to a local name
/// or private address is not followed there. Issue 24, item 23: nor to
/// its own host on another port (the allow-list held the host, any port).
#[test]
fn a_configured_source_redirecting_to_a_private_address_is_refused() {
    for host in ["localhost", "127.0.0.1"] {
        redirect_refused(host);
    }
}

fn redirect_refused(host: &str) {
    let inner = Server::start(vec![Reply::new(
        200,
        JSON,
        fixture("wikipedia_search.json"),
    )]);
    let target = format!("http://{host}:{}/w/api.php", inner.addr.port());
    let server = Server::routed(vec![(
        "/w/api.php",
        vec![Reply::new(302, "text/plain", Vec::new()).header("Location", &target)],
    )]);
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let sb = Sandbox::new();
    let cfg = sb.path().join("redir.toml");
    std::fs::write(
        &cfg,
        format!(
            "[provider]\nbase_url = \"http://{closed}\"\n[sources.wikipedia]\nbase_url = \"{}\"\n\
             [sources.hackernews]\nenabled = false\n[sources.arxiv]\nenabled = false\n",
            server.url()
        ),
    )
    .unwrap();
    let (code, v, err) = ask(&sb, &cfg, "anything at all?");
    assert_eq!(code, 0, "{err}");
    let st = &v["source_status"][0];
    assert_eq!(st["outcome"], "failed", "{st}");
    assert!(
        st["error"].as_str().unwrap().contains("redirect refused"),
        "{st}"
    );
    assert!(inner.requests().is_empty(), "the redirect was followed");
}
