//! The claim check through the real research turn: a scripted model's
//! answer (Ollama's wire) with claims its source holds, a changed number,
//! a claim with no citation and a dangling mark; verdicts in `--json`
//! and stored with the answer.

use super::common::Sandbox;
use super::server::{Reply, Server, ollama_says};
use super::{JSON, KEYWORDS, ask, sources_routes};

/// Wikipedia alone (the Tendulkar summary is [1]).
fn wiki_only(sb: &Sandbox, server: &Server, provider: &str) -> std::path::PathBuf {
    let url = server.url();
    let path = sb.path().join("claims.toml");
    std::fs::write(
        &path,
        format!(
            "[provider]\nbase_url = \"{provider}\"\nretry_base_ms = 10\n\
             [research]\ntimeout_secs = 2\nper_source = 3\ntop_k = 4\nfollow_links = false\n\
             [sources.wikipedia]\nbase_url = \"{url}\"\n[sources.hackernews]\nenabled = false\n\
             [sources.arxiv]\nenabled = false\n"
        ),
    )
    .unwrap();
    path
}

#[test]
fn each_claim_is_checked_against_the_passage_it_cites() {
    let answer = "Sachin Tendulkar captained the Indian national team [1]. \
                  He holds the records for the most runs in Test and ODI cricket [1]. \
                  He captained the team in 1999 for 14 seasons [1]. \
                  He retired from cricket in 2013. See also [7].";
    let mut routes = sources_routes(Reply::new(200, JSON, Vec::new()));
    routes.push((
        "/api/chat",
        vec![ollama_says(KEYWORDS), ollama_says(answer)],
    ));
    let server = Server::routed(routes);
    let sb = Sandbox::new();
    let cfg = wiki_only(&sb, &server, &server.url());
    let (code, v, err) = ask(&sb, &cfg, "Who is Sachin Tendulkar?");
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["sources"][0]["title"], "Sachin Tendulkar", "{v:#}");
    let verdicts: Vec<&str> = v["claims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(
        verdicts,
        ["supported", "supported", "unsupported", "uncited"],
        "{:#}",
        v["claims"]
    );
    let wrong = &v["claims"][2];
    assert_eq!(wrong["missing"], serde_json::json!(["1999", "14"]));
    assert_eq!(wrong["judge"], "facts");
    let right = &v["claims"][1];
    assert_eq!(right["cites"], serde_json::json!([1]));
    assert!(
        right["span"]["text"]
            .as_str()
            .unwrap()
            .starts_with("He holds the records"),
        "{right:#}"
    );
    assert_eq!(v["claim_counts"]["dangling"], 1);
    // Kept with the answer: `show --json` reads the same verdicts back.
    let out = sb
        .cmd()
        .args(["show", "latest", "--json"])
        .output()
        .unwrap();
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let msgs = shown["messages"].as_array().unwrap();
    let stored: Vec<&str> = msgs[1]["claims"]["claims"]
        .as_array()
        .unwrap_or_else(|| panic!("{shown:#}"))
        .iter()
        .map(|c| c["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(stored, verdicts);
    let md = sb.cmd().args(["show", "latest"]).output().unwrap();
    let md = String::from_utf8(md.stdout).unwrap();
    assert!(
        md.contains("_Checked: 4 claims · 2 supported · 1 not in its source · 1 uncited · 1 dangling citation._"),
        "{md}"
    );
    assert!(
        md.contains("> ✗ not in its source [1]: He captained the team in 1999 for 14 seasons."),
        "{md}"
    );
    // History search finds answers by their verdicts.
    let hits = |q: &str| -> usize {
        let out = sb.cmd().args(["search", q, "--json"]).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v.as_array().unwrap_or_else(|| panic!("{v:#}")).len()
    };
    assert_eq!(hits("captained verdict:unsupported"), 1);
    assert_eq!(hits("captained verdict:supported"), 0);
    assert_eq!(hits("captained"), 1, "without the filter, the same answer");
}

#[test]
fn an_extractive_answer_is_checked_and_holds() {
    let server = Server::routed(sources_routes(Reply::new(200, JSON, Vec::new())));
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let sb = Sandbox::new();
    let cfg = wiki_only(&sb, &server, &format!("http://{closed}"));
    let (code, v, err) = ask(&sb, &cfg, "What records does Sachin Tendulkar hold?");
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["answer_kind"], "extractive");
    let claims = v["claims"].as_array().unwrap();
    assert!(!claims.is_empty(), "{v:#}");
    assert!(
        claims.iter().all(|c| c["verdict"] == "supported"),
        "{claims:#?}"
    );
}

/// A turn whose model answers `answer` and then, as the judge, `judge`.
fn judged(judge: Reply) -> (serde_json::Value, Server) {
    let answer = "Sachin Tendulkar captained the Indian national team [1]. \
                  He captained the team in 1999 for 14 seasons [1].";
    let mut routes = sources_routes(Reply::new(200, JSON, Vec::new()));
    routes.push((
        "/api/chat",
        vec![ollama_says(KEYWORDS), ollama_says(answer), judge],
    ));
    let server = Server::routed(routes);
    let sb = Sandbox::new();
    let cfg = wiki_only(&sb, &server, &server.url());
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str("[verify]\nmodel = \"judge-model\"\ntimeout_secs = 5\n");
    std::fs::write(&cfg, text).unwrap();
    let (code, v, err) = ask(&sb, &cfg, "Who is Sachin Tendulkar?");
    assert_eq!(code, 0, "{err}");
    (v, server)
}

fn verdicts(v: &serde_json::Value) -> Vec<(String, String)> {
    v["claims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["verdict"].as_str().unwrap().to_string(),
                c["judge"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_model_judge_gives_its_verdicts_but_not_over_a_missing_fact() {
    let (v, server) = judged(ollama_says(
        r#"{"verdicts": [{"claim": 1, "verdict": "partial"}]}"#,
    ));
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        verdicts(&v),
        [
            pair("partial", "model:judge-model"),
            pair("unsupported", "facts")
        ],
        "{:#}",
        v["claims"]
    );
    assert_eq!(v["claim_counts"]["partial"], 1);
    // The judge's request: its model, a schema, the claim and its passage;
    // the claim whose year is not in its passage is not asked about.
    let chats: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/chat")
        .collect();
    let req = chats.last().unwrap().json();
    assert_eq!(req["model"], "judge-model");
    assert!(req["format"].is_object(), "schema-constrained: {req}");
    let content = req["messages"].as_array().unwrap().last().unwrap()["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        content.contains("1. Sachin Tendulkar captained the Indian national team. (cites [1])"),
        "{content}"
    );
    assert!(content.contains("[1] Sachin Tendulkar"), "{content}");
    assert!(!content.contains("1999"), "{content}");
}

#[test]
fn a_judge_that_fails_or_babbles_leaves_the_facts_verdicts() {
    let facts = [
        ("supported".to_string(), "facts".to_string()),
        ("unsupported".to_string(), "facts".to_string()),
    ];
    let (v, _) = judged(ollama_says("I would rather not say."));
    assert_eq!(verdicts(&v), facts);
    assert!(
        v["claims"].is_array() && v["answer"].as_str().unwrap().contains("captained"),
        "the answer is kept"
    );
    let note = v["claim_counts"]["note"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(note.contains("answered something else"), "{note}");
    let (v, _) = judged(Reply::new(500, JSON, br#"{"error":"boom"}"#.to_vec()));
    assert_eq!(verdicts(&v), facts);
    let note = v["claim_counts"]["note"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(note.contains("did not answer"), "{note}");
}
