//! Research that reads: whole Wikipedia articles from a loopback Wikipedia
//! that speaks the real formats, cut into passages, ranked, cited and
//! stored so every [n] resolves to its passage.

mod common;
#[path = "common/wiki.rs"]
mod wiki;

use common::Sandbox;

fn squad() -> (Vec<wiki::Article>, Vec<(String, Vec<String>)>) {
    wiki::squad(&format!(
        "{}/../shared/fixtures/squad/squad-v2-dev-2articles.json",
        env!("CARGO_MANIFEST_DIR")
    ))
}

fn config(sb: &Sandbox, wiki: &str, extra: &str) -> std::path::PathBuf {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let path = sb.path().join("reading.toml");
    std::fs::write(
        &path,
        format!(
            "[provider]\nbase_url = \"http://{closed}\"\n[research]\ntimeout_secs = 5\n{extra}\n\
             [sources.wikipedia]\nbase_url = \"{wiki}\"\n[sources.hackernews]\nenabled = false\n\
             [sources.arxiv]\nenabled = false\n"
        ),
    )
    .unwrap();
    path
}

fn ask(sb: &Sandbox, cfg: &std::path::Path, q: &str) -> serde_json::Value {
    let out = sb
        .cmd()
        .arg("--config")
        .arg(cfg)
        .args(["ask", "--json", q])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_question_is_answered_from_the_whole_article() {
    let (articles, _) = squad();
    let w = wiki::Wiki::start(articles, false, 60);
    let sb = Sandbox::new();
    let cfg = config(&sb, &w.url(), "");
    let v = ask(
        &sb,
        &cfg,
        "What company was formed by the merger of Sky Television and British Satellite Broadcasting?",
    );
    let sources = v["sources"].as_array().unwrap();
    assert!(!sources.is_empty(), "{v:#}");
    let excerpts: Vec<String> = sources
        .iter()
        .map(|s| s["excerpt"].as_str().unwrap().to_string())
        .collect();
    assert!(
        wiki::answered(&excerpts, &["British Sky Broadcasting".into()], 4000),
        "{excerpts:#?}"
    );
}
