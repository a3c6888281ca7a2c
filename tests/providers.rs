//! Chat turns against loopback servers that speak each provider's wire
//! format, replaying ../shared/fixtures byte for byte, with faults injected.
//! Each test checks what the user sees and what the database holds.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)] // test code: a panic is the failure report

mod common;
#[path = "common/server.rs"]
mod server;

use std::time::Duration;

use common::Sandbox;
use server::{Chunk, End, Reply, Server, fixture};
use sleuth::domain::{MessageStatus, Role};

const NDJSON: &str = "application/x-ndjson";
const SSE: &str = "text/event-stream";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `sleuth ask` against `server` with the given provider kind.
fn ask(
    sb: &Sandbox,
    server: &Server,
    kind: &str,
    extra_cfg: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Run {
    let cfg = sb.path().join("provider.toml");
    std::fs::write(
        &cfg,
        format!(
            "{}\n[provider]\nkind = \"{kind}\"\nbase_url = \"{}\"\nretry_base_ms = 10\n{extra_cfg}",
            common::LOOPBACK_CONFIG.replace("[provider]\nbase_url = \"http://127.0.0.1:9\"\n", ""),
            server.url()
        ),
    )
    .unwrap();
    let mut cmd = sb.cmd();
    cmd.arg("--config").arg(&cfg).arg("ask").args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).to_string(),
    }
}

/// (role, status, content) of every stored message, oldest first.
fn stored(sb: &Sandbox) -> Vec<(Role, MessageStatus, String)> {
    let conn = sleuth::store::open_reader(&sb.db()).unwrap();
    let s = sleuth::store::queries::resolve_session(&conn, "latest").unwrap();
    sleuth::store::queries::transcript(&conn, s.id)
        .unwrap()
        .into_iter()
        .map(|m| (m.message.role, m.message.status, m.message.content))
        .collect()
}

fn answer_of(sb: &Sandbox) -> (MessageStatus, String) {
    let rows = stored(sb);
    let (role, status, content) = rows.last().unwrap().clone();
    assert_eq!(role, Role::Assistant);
    (status, content)
}

#[test]
fn ollama_stream_is_printed_and_saved() {
    let server = Server::start(vec![Reply::stream(
        "ollama_chat_stream_recorded.ndjson",
        NDJSON,
        37,
        0,
    )]);
    let sb = Sandbox::new();
    let r = ask(
        &sb,
        &server,
        "ollama",
        "",
        &["--no-research", "Tell me a joke"],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with("Sure, here"), "{}", r.stdout);
    let (status, content) = answer_of(&sb);
    assert_eq!(status, MessageStatus::Complete);
    assert_eq!(content.trim_end(), r.stdout.trim_end());
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        (reqs[0].method.as_str(), reqs[0].path.as_str()),
        ("POST", "/api/chat")
    );
    let body = reqs[0].json();
    assert_eq!(body["stream"], true);
    assert_eq!(body["model"], "llama3.2");
    // An answer is capped by default (issue 15, bug 17).
    assert_eq!(body["options"]["num_predict"], 4096);
    assert_eq!(
        body["messages"].as_array().unwrap().last().unwrap()["content"],
        "Tell me a joke"
    );
}

#[test]
fn llamacpp_openai_stream_with_usage_and_key() {
    let server = Server::start(vec![Reply::stream("llamacpp_chat_stream.sse", SSE, 61, 0)]);
    let sb = Sandbox::new();
    let r = ask(
        &sb,
        &server,
        "openai",
        "",
        &["--no-research", "--json", "What is a transformer?"],
        &[("OPENAI_API_KEY", "sk-test")],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(
        v["answer"]
            .as_str()
            .unwrap()
            .starts_with("The transformer architecture")
    );
    assert_eq!(v["status"], "complete");
    assert_eq!(v["finish"], "stop");
    let req = &server.requests()[0];
    assert_eq!(req.path, "/v1/chat/completions");
    assert_eq!(req.header("authorization"), Some("Bearer sk-test"));
    assert_eq!(req.json()["stream_options"]["include_usage"], true);
    assert_eq!(req.json()["max_tokens"], 4096);
    // The key never reaches the database.
    let raw = std::fs::read(sb.db()).unwrap();
    assert!(!raw.windows(7).any(|w| w == b"sk-test"));
}

#[test]
fn anthropic_stream_with_headers() {
    let server = Server::start(vec![Reply::stream(
        "anthropic_messages_stream.sse",
        SSE,
        13,
        0,
    )]);
    let sb = Sandbox::new();
    let r = ask(
        &sb,
        &server,
        "anthropic",
        "",
        &["--no-research", "hi"],
        &[("ANTHROPIC_API_KEY", "ak-test")],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "Hello there!\n");
    let req = &server.requests()[0];
    assert_eq!(req.path, "/v1/messages");
    assert_eq!(req.header("x-api-key"), Some("ak-test"));
    assert_eq!(req.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(
        answer_of(&sb),
        (MessageStatus::Complete, "Hello there!".into())
    );
}

#[test]
fn refused_connection_says_what_to_do_and_keeps_the_question() {
    // Bind then drop: the port is closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = Server {
        addr: format!("127.0.0.1:{port}").parse().unwrap(),
        requests: Default::default(),
        client_gone: Default::default(),
    };
    let sb = Sandbox::new();
    let r = ask(
        &sb,
        &server,
        "ollama",
        "",
        &["--no-research", "anyone there?"],
        &[],
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("cannot reach Ollama") && r.stderr.contains("ollama serve"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.trim_end().lines().count(), 1, "{}", r.stderr);
    let rows = stored(&sb);
    assert_eq!(
        rows[0],
        (Role::User, MessageStatus::Complete, "anyone there?".into())
    );
    assert_eq!(rows[1].1, MessageStatus::Error);
}

/// Issue 24, item 21: a key with a line break inside failed as "cannot
/// reach the server"; it is named as malformed, and nothing is sent. A
/// line break around it (a pasted file) is only trimmed.
#[test]
fn a_key_with_a_line_break_is_named_malformed_and_one_around_it_is_trimmed() {
    let server = Server::start(vec![Reply::new(200, "application/json", b"{}".to_vec())]);
    let sb = Sandbox::new();
    let r = ask(
        &sb,
        &server,
        "openai",
        "",
        &["--no-research", "q"],
        &[("OPENAI_API_KEY", "sk-abc\ndef")],
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("OPENAI_API_KEY is malformed") && !r.stderr.contains("reach"),
        "{}",
        r.stderr
    );
    assert!(server.requests().is_empty());
    let server = Server::start(vec![Reply::new(
        401,
        "application/json",
        fixture("openai_error_401.json"),
    )]);
    let r = ask(
        &sb,
        &server,
        "openai",
        "",
        &["--no-research", "q"],
        &[("OPENAI_API_KEY", "sk-test\n")],
    );
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some("Bearer sk-test"),
        "{}",
        r.stderr
    );
}

#[test]
fn unauthorized_is_not_retried_and_names_the_key() {
    let server = Server::start(vec![Reply::new(
        401,
        "application/json",
        fixture("openai_error_401.json"),
    )]);
    let sb = Sandbox::new();
    let r = ask(&sb, &server, "openai", "", &["--no-research", "q"], &[]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("refused the API key") && r.stderr.contains("OPENAI_API_KEY"),
        "{}",
        r.stderr
    );
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn missing_ollama_model_says_pull_it() {
    let server = Server::start(vec![Reply::new(
        404,
        "application/json",
        fixture("ollama_error.json"),
    )]);
    let sb = Sandbox::new();
    let r = ask(&sb, &server, "ollama", "", &["--no-research", "q"], &[]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("model 'llama3.2' not found — run `ollama pull llama3.2`"),
        "{}",
        r.stderr
    );
}

#[test]
fn rate_limit_honours_retry_after_then_succeeds() {
    let server = Server::start(vec![
        Reply::new(
            429,
            "application/json",
            fixture("openai_error_429_rate_limit.json"),
        )
        .header("Retry-After", "1"),
        Reply::stream("openai_chat_stream.sse", SSE, 50, 0),
    ]);
    let sb = Sandbox::new();
    let started = std::time::Instant::now();
    let r = ask(&sb, &server, "openai", "", &["--no-research", "q"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "我是助手。\n");
    assert_eq!(server.requests().len(), 2);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was not honoured"
    );
}

#[test]
fn server_error_then_success_is_retried_before_any_output() {
    let server = Server::start(vec![
        Reply::new(500, "text/plain", b"boom".to_vec()),
        Reply::new(503, "text/plain", b"busy".to_vec()),
        Reply::stream("ollama_chat_stream.ndjson", NDJSON, 9, 0),
    ]);
    let sb = Sandbox::new();
    let r = ask(&sb, &server, "ollama", "", &["--no-research", "q"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "The\n");
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn persistent_server_errors_give_up_after_the_retries() {
    let server = Server::start(vec![Reply::new(
        502,
        "text/html",
        b"<html>Bad Gateway</html>".to_vec(),
    )]);
    let sb = Sandbox::new();
    let r = ask(&sb, &server, "ollama", "", &["--no-research", "q"], &[]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("failed (502)") && r.stderr.contains("Bad Gateway"),
        "{}",
        r.stderr
    );
    assert_eq!(server.requests().len(), 3, "1 try + 2 retries");
}

/// The first `n` bytes of a fixture, then the connection closes.
fn truncated(name: &str, ct: &str, n: usize) -> Reply {
    let b = fixture(name);
    Reply::new(200, ct, b[..n.min(b.len())].to_vec())
}

#[test]
fn a_stream_dropped_mid_answer_keeps_the_partial_text() {
    let full = fixture("llamacpp_chat_stream.sse");
    let cut = full.len() / 2;
    let server = Server::start(vec![truncated("llamacpp_chat_stream.sse", SSE, cut)]);
    let sb = Sandbox::new();
    let r = ask(&sb, &server, "openai", "", &["--no-research", "q"], &[]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("dropped mid-answer"), "{}", r.stderr);
    assert!(r.stdout.starts_with("The transformer"), "{}", r.stdout);
    let (status, content) = answer_of(&sb);
    assert_eq!(status, MessageStatus::Error);
    assert_eq!(content, r.stdout.trim_end());
    assert_eq!(server.requests().len(), 1, "no retry after output started");
}

#[test]
fn a_stall_past_the_idle_timeout_ends_the_turn() {
    let bytes = fixture("ollama_chat_stream_recorded.ndjson");
    let first_line = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
    let server = Server::start(vec![
        Reply::new(200, NDJSON, bytes[..first_line].to_vec())
            .then(End::Stall(Duration::from_secs(4))),
    ]);
    let sb = Sandbox::new();
    let r = ask(
        &sb,
        &server,
        "ollama",
        "idle_timeout_secs = 1\n",
        &["--no-research", "q"],
        &[],
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("stopped sending for 1 s"), "{}", r.stderr);
    assert_eq!(answer_of(&sb), (MessageStatus::Error, "Sure".into()));
}

#[test]
fn mid_stream_errors_from_each_provider_are_shown() {
    let server = Server::start(vec![Reply::stream(
        "ollama_error_midstream.ndjson",
        NDJSON,
        40,
        0,
    )]);
    let sb = Sandbox::new();
    let r = ask(&sb, &server, "ollama", "", &["--no-research", "q"], &[]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("failed mid-answer: an error was encountered while running the model"),
        "{}",
        r.stderr
    );
    assert_eq!(answer_of(&sb), (MessageStatus::Error, " Yes.Ican".into()));

    let server = Server::start(vec![Reply::stream(
        "anthropic_messages_stream_error.sse",
        SSE,
        40,
        0,
    )]);
    let sb = Sandbox::new();
    let r = ask(
        &sb,
        &server,
        "anthropic",
        "",
        &["--no-research", "q"],
        &[("ANTHROPIC_API_KEY", "k")],
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("Overloaded"), "{}", r.stderr);
}

#[test]
fn a_malformed_chunk_is_reported() {
    let server = Server::start(vec![Reply::new(
        200,
        SSE,
        b"data: {\"choices\":[{\"delta\":{\"content\":\"ok\"}}]}\n\ndata: {broken\n\n".to_vec(),
    )]);
    let sb = Sandbox::new();
    let r = ask(&sb, &server, "openai", "", &["--no-research", "q"], &[]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("unreadable reply"), "{}", r.stderr);
    assert_eq!(answer_of(&sb), (MessageStatus::Error, "ok".into()));
}

/// Issue 11, case 7: a malformed chunk full of escape sequences is logged
/// without them.
#[test]
fn the_log_never_holds_raw_escape_sequences() {
    let server = Server::start(vec![Reply::new(
        200,
        SSE,
        b"data: {\"choices\":[{\"delta\":{\"content\":\"ok\"}}]}\n\ndata: {\x1b]52;c;ZXZpbA==\x07\x1b[2J\xc2\x9b\n\n".to_vec(),
    )]);
    let sb = Sandbox::new();
    let r = ask(&sb, &server, "openai", "", &["--no-research", "q"], &[]);
    assert_eq!(r.code, 1);
    assert!(!r.stderr.contains('\x1b'), "{:?}", r.stderr);
    let log = std::fs::read_to_string(sb.path().join("state/sleuth/sleuth.log")).unwrap();
    assert!(
        log.contains("unreadable reply") || log.contains("turn failed"),
        "{log}"
    );
    assert!(!log.contains('\x1b') && !log.contains('\u{9b}'), "{log:?}");
}

#[test]
fn escape_sequences_from_the_model_never_reach_stdout() {
    let evil = "data: {\"choices\":[{\"delta\":{\"content\":\"safe\\u001b]52;c;cHduZWQ=\\u0007 text\\u001b[2J\"}}]}\n\n\
                data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
    let server = Server::start(vec![Reply::new(200, SSE, evil.as_bytes().to_vec())]);
    let sb = Sandbox::new();
    let r = ask(&sb, &server, "openai", "", &["--no-research", "q"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "safe text\n");
    // The database keeps what the model said; sanitizing is for display.
    assert!(answer_of(&sb).1.contains('\u{1b}'));
}

#[test]
fn continuing_a_session_sends_its_history() {
    let server = Server::start(vec![Reply::stream(
        "ollama_chat_stream.ndjson",
        NDJSON,
        500,
        0,
    )]);
    let sb = Sandbox::new();
    assert_eq!(
        ask(
            &sb,
            &server,
            "ollama",
            "",
            &["--no-research", "first question"],
            &[]
        )
        .code,
        0
    );
    let r = ask(
        &sb,
        &server,
        "ollama",
        "",
        &["--no-research", "--session", "latest", "follow-up"],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let body = server.requests()[1].json();
    let contents: Vec<&str> = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        &contents[contents.len() - 3..],
        ["first question", "The", "follow-up"]
    );
    assert_eq!(stored(&sb).len(), 4);
}

#[tokio::test]
async fn a_ten_megabyte_single_chunk_is_handled() {
    let big = "x".repeat(10 * 1024 * 1024);
    let body = format!(
        "data: {{\"choices\":[{{\"delta\":{{\"content\":\"{big}\"}}}}]}}\n\ndata: {{\"choices\":[{{\"delta\":{{}},\"finish_reason\":\"stop\"}}]}}\n\ndata: [DONE]\n\n"
    );
    let server = Server::start(vec![Reply::new(200, SSE, body.into_bytes())]);
    let mut cfg = sleuth::config::Config::default().provider;
    cfg.kind = sleuth::config::ProviderKind::Openai;
    cfg.base_url = server.url();
    // Above the default byte cap: this checks the decoder, not the cap.
    cfg.max_answer_bytes = 16 << 20;
    let req = sleuth::agent::provider::ChatRequest {
        model: "m".into(),
        system: None,
        messages: vec![],
        schema: None,
        temperature: None,
        max_tokens: None,
    };
    let mut total = 0usize;
    let client = reqwest::Client::new();
    let limits = sleuth::agent::provider::Limits::from_config(&cfg);
    let done =
        sleuth::agent::provider::stream_chat(&client, &cfg, &req, &limits, &mut |t: &str| {
            total += t.len()
        })
        .await
        .unwrap();
    assert_eq!(total, 10 * 1024 * 1024);
    assert_eq!(
        done.finish,
        Some(sleuth::agent::provider::FinishReason::Stop)
    );
}

#[test]
fn cancel_closes_the_http_stream_at_once() {
    // A slow stream: one token every 50 ms for ~10 s.
    let mut body = Vec::new();
    for i in 0..200 {
        body.push(Chunk::Bytes(
            format!("{{\"message\":{{\"content\":\"t{i} \"}},\"done\":false}}\n").into_bytes(),
        ));
        body.push(Chunk::Delay(50));
    }
    let server = Server::start(vec![Reply {
        status: 200,
        headers: vec![("Content-Type".into(), NDJSON.into())],
        body,
        end: End::Close,
    }]);
    let (tx, rx) = std::sync::mpsc::channel();
    let mut cfg = sleuth::config::Config::default();
    cfg.provider.base_url = server.url();
    let agent = sleuth::agent::spawn_agent(cfg, sleuth::emit::Emitter::channel(tx)).unwrap();
    let turn = sleuth::domain::TurnId(7);
    agent.handle().send(sleuth::agent::AgentCommand::Ask(
        sleuth::agent::AskRequest {
            settings: Default::default(),
            turn,
            model: "llama3.2".into(),
            system: None,
            messages: vec![],
        },
    ));
    // Wait for the first delta, then cancel.
    loop {
        match rx.recv_timeout(Duration::from_secs(5)).unwrap() {
            sleuth::agent::AgentEvent::AnswerDelta { turn: t, .. } if t == turn => break,
            _ => {}
        }
    }
    agent
        .handle()
        .send(sleuth::agent::AgentCommand::Cancel(turn));
    let gone = common::wait_for(Duration::from_secs(3), || {
        server
            .client_gone
            .load(std::sync::atomic::Ordering::SeqCst)
            .then_some(())
    });
    assert!(gone.is_some(), "the server kept streaming after cancel");
    // No completion is reported for a cancelled turn.
    while let Ok(ev) = rx.recv_timeout(Duration::from_millis(200)) {
        assert!(
            !matches!(
                ev,
                sleuth::agent::AgentEvent::TurnDone { .. }
                    | sleuth::agent::AgentEvent::TurnFailed { .. }
            ),
            "{ev:?}"
        );
    }
}

mod embeddings {
    use super::*;
    use sleuth::agent::provider::embed::embed;
    use sleuth::config::{Config, ProviderKind};

    async fn run(
        kind: ProviderKind,
        reply: Reply,
        n: usize,
    ) -> (
        Result<Option<Vec<Vec<f32>>>, sleuth::agent::provider::ProviderError>,
        Vec<server::Recorded>,
    ) {
        let server = Server::start(vec![reply]);
        let mut cfg = Config::default().provider;
        cfg.kind = kind;
        cfg.base_url = server.url();
        let texts: Vec<String> = (0..n).map(|i| format!("passage {i}")).collect();
        let r = embed(
            &reqwest::Client::new(),
            &cfg,
            "all-minilm",
            &texts,
            Duration::from_secs(5),
        )
        .await;
        (r, server.requests())
    }

    #[tokio::test]
    async fn ollama_embed_fixture() {
        let (r, reqs) = run(
            ProviderKind::Ollama,
            Reply::new(200, "application/json", fixture("ollama_embed.json")),
            1,
        )
        .await;
        let v = r.unwrap().unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].len(), 10);
        assert!((v[0][0] - 0.010071029).abs() < 1e-6);
        assert_eq!(reqs[0].path, "/api/embed");
        assert_eq!(reqs[0].json()["input"][0], "passage 0");
    }

    #[tokio::test]
    async fn openai_embeddings_fixture() {
        let (r, reqs) = run(
            ProviderKind::Openai,
            Reply::new(200, "application/json", fixture("openai_embeddings.json")),
            1,
        )
        .await;
        assert_eq!(r.unwrap().unwrap()[0].len(), 5);
        assert_eq!(reqs[0].path, "/v1/embeddings");
    }

    #[tokio::test]
    async fn llamacpp_without_embeddings_means_none() {
        let reply = Reply::new(
            501,
            "application/json",
            fixture("llamacpp_embeddings_unsupported_501.json"),
        );
        let (r, _) = run(ProviderKind::Openai, reply, 2).await;
        assert_eq!(r.unwrap(), None);
        let (r, reqs) = run(
            ProviderKind::Anthropic,
            Reply::new(500, "text/plain", vec![]),
            2,
        )
        .await;
        assert_eq!(r.unwrap(), None);
        assert!(
            reqs.is_empty(),
            "Anthropic has no embeddings endpoint to call"
        );
    }

    #[tokio::test]
    async fn a_count_mismatch_is_malformed() {
        let (r, _) = run(
            ProviderKind::Ollama,
            Reply::new(200, "application/json", fixture("ollama_embed.json")),
            3,
        )
        .await;
        assert!(matches!(
            r,
            Err(sleuth::agent::provider::ProviderError::Malformed(_))
        ));
    }
}

/// Issue 11, case 1: a provider that answers 429 with `Retry-After: 0`
/// forever is tried `retries + 1` times, on every provider kind.
#[test]
fn a_429_storm_stops_when_the_retries_are_spent() {
    for kind in ["ollama", "openai", "anthropic"] {
        let server = Server::start(vec![
            Reply::new(
                429,
                "application/json",
                fixture("openai_error_429_rate_limit.json"),
            )
            .header("Retry-After", "0"),
        ]);
        let sb = Sandbox::new();
        let r = ask(
            &sb,
            &server,
            kind,
            "retries = 2\n",
            &["--no-research", "q"],
            &[("ANTHROPIC_API_KEY", "k"), ("OPENAI_API_KEY", "k")],
        );
        assert_eq!(r.code, 1, "{kind}");
        assert!(r.stderr.contains("rate limited"), "{kind}: {}", r.stderr);
        assert_eq!(server.requests().len(), 3, "{kind}: 1 try + 2 retries");
    }
}

/// Issue 11, case 2: keep-alive comments are not data, so a stream of
/// nothing but `:` lines ends at the idle timeout.
#[test]
fn keep_alive_comments_do_not_hold_a_stalled_stream_open() {
    let mut body = vec![Chunk::Bytes(
        b"data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n".to_vec(),
    )];
    for _ in 0..40 {
        body.push(Chunk::Delay(100));
        body.push(Chunk::Bytes(b": keep-alive\n\n".to_vec()));
    }
    let server = Server::start(vec![Reply {
        status: 200,
        headers: vec![("Content-Type".into(), SSE.into())],
        body,
        end: End::Close,
    }]);
    let sb = Sandbox::new();
    let started = std::time::Instant::now();
    let r = ask(
        &sb,
        &server,
        "openai",
        "idle_timeout_secs = 1\n",
        &["--no-research", "q"],
        &[],
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("stopped sending for 1 s"), "{}", r.stderr);
    assert!(started.elapsed() < Duration::from_millis(3500));
    assert_eq!(answer_of(&sb), (MessageStatus::Error, "Hi".into()));
}

/// Issue 11, case 2: an answer that never ends is cut at the byte cap,
/// and what came before the cap is kept.
#[test]
fn an_endless_answer_is_cut_at_the_byte_cap() {
    let line =
        serde_json::json!({"message": {"role": "assistant", "content": "word "}, "done": false})
            .to_string()
            + "\n";
    let mut body = Vec::new();
    // About 2 MB, far past a 64 KB cap; the server would go on longer.
    for _ in 0..400 {
        body.push(Chunk::Bytes(line.repeat(80).into_bytes()));
    }
    let server = Server::start(vec![Reply {
        status: 200,
        headers: vec![("Content-Type".into(), NDJSON.into())],
        body,
        end: End::Close,
    }]);
    let sb = Sandbox::new();
    let r = ask(
        &sb,
        &server,
        "ollama",
        "max_answer_bytes = 65536\n",
        &["--no-research", "q"],
        &[],
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("passed the limit of 64 KB"),
        "{}",
        r.stderr
    );
    let (status, content) = answer_of(&sb);
    assert_eq!(status, MessageStatus::Error);
    assert!(
        content.starts_with("word word") && content.len() < 65536,
        "{}",
        content.len()
    );
}

/// Issue 11, case 4: a provider redirecting to another origin does not get
/// the key (or the prompt) sent there.
#[test]
fn a_redirect_to_another_origin_never_carries_the_key() {
    let elsewhere = Server::start(vec![Reply::stream(
        "anthropic_messages_stream.sse",
        SSE,
        4096,
        0,
    )]);
    for status in [302u16, 307] {
        let server = Server::start(vec![
            Reply::new(status, "text/plain", Vec::new())
                .header("Location", &format!("{}/v1/messages", elsewhere.url())),
        ]);
        let sb = Sandbox::new();
        let r = ask(
            &sb,
            &server,
            "anthropic",
            "",
            &["--no-research", "q"],
            &[("ANTHROPIC_API_KEY", "sk-secret")],
        );
        assert_eq!(r.code, 1, "{status}");
        assert!(
            r.stderr.contains("another origin"),
            "{status}: {}",
            r.stderr
        );
        assert!(elsewhere.requests().is_empty(), "{status}: followed");
    }
}

/// An Ollama stream of `n` words, one every `ms` milliseconds.
fn slow_words(n: usize, ms: u64) -> Reply {
    let mut body = Vec::new();
    for i in 0..n {
        let line = serde_json::json!({"message": {"role": "assistant", "content": format!("w{i} ")}, "done": false})
            .to_string()
            + "\n";
        body.push(Chunk::Bytes(line.into_bytes()));
        body.push(Chunk::Delay(ms));
    }
    body.push(Chunk::Bytes(
        br#"{"message":{"role":"assistant","content":""},"done":true}"#.to_vec(),
    ));
    Reply {
        status: 200,
        headers: vec![("Content-Type".into(), NDJSON.into())],
        body,
        end: End::Close,
    }
}

fn spawn_ask(sb: &Sandbox, server: &Server) -> std::process::Child {
    let cfg = sb.path().join("provider.toml");
    std::fs::write(
        &cfg,
        format!(
            "[provider]\nbase_url = \"{}\"\nretry_base_ms = 10\n",
            server.url()
        ),
    )
    .unwrap();
    sb.cmd()
        .arg("--config")
        .arg(&cfg)
        .args(["ask", "--no-research", "q"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Issue 11, case 12: a reader that leaves (`| head -c 20`) stops the
/// turn; the partial answer is saved as interrupted and the exit is clean.
#[test]
fn a_closed_stdout_saves_the_partial_answer_as_interrupted() {
    use std::io::Read;
    let server = Server::start(vec![slow_words(200, 20)]);
    let sb = Sandbox::new();
    let mut child = spawn_ask(&sb, &server);
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 8];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let (st, content) = answer_of(&sb);
    assert_eq!(st, MessageStatus::Interrupted);
    assert!(content.starts_with("w0 w1"), "{content}");
}

/// Issue 11, case 13: SIGTERM and SIGHUP mark the answer interrupted, as
/// Ctrl+C does, instead of leaving it "streaming".
#[test]
fn sigterm_and_sighup_save_the_partial_answer_as_interrupted() {
    use std::io::Read;
    for sig in [libc::SIGTERM, libc::SIGHUP] {
        let server = Server::start(vec![slow_words(200, 20)]);
        let sb = Sandbox::new();
        let mut child = spawn_ask(&sb, &server);
        let mut stdout = child.stdout.take().unwrap();
        let mut first = [0u8; 8];
        stdout.read_exact(&mut first).unwrap();
        #[allow(unsafe_code)] // sending a signal needs libc; only tests do this
        unsafe {
            libc::kill(child.id() as i32, sig);
        }
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(130), "signal {sig}");
        let (st, content) = answer_of(&sb);
        assert_eq!(st, MessageStatus::Interrupted, "signal {sig}");
        assert!(content.starts_with("w0"), "{content}");
    }
}

/// Issue 11, case 3: a database that refuses the turn for good is an
/// error the user sees (exit 1), never reported as saved.
#[test]
fn a_database_that_refuses_the_turn_is_an_error_not_a_silent_loss() {
    let server = Server::start(vec![Reply::stream(
        "ollama_chat_stream_recorded.ndjson",
        NDJSON,
        64,
        0,
    )]);
    let sb = Sandbox::new();
    common::fixture_db(&sb.db());
    rusqlite::Connection::open(sb.db())
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER refuse BEFORE INSERT ON messages BEGIN SELECT RAISE(ABORT, 'writes refused'); END;",
        )
        .unwrap();
    let r = ask(&sb, &server, "ollama", "", &["--no-research", "q"], &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("could not be saved") && r.stderr.contains("writes refused"),
        "{}",
        r.stderr
    );
    assert!(
        r.stdout.starts_with("Sure"),
        "the answer is still shown: {}",
        r.stdout
    );
}

/// Issue 11, case 17: Ollama gets no key from sleuth, so a 401 must not
/// tell the user to set one.
#[test]
fn an_ollama_401_does_not_name_an_openai_key() {
    let server = Server::start(vec![Reply::new(
        401,
        "application/json",
        br#"{"error":"unauthorized"}"#.to_vec(),
    )]);
    let sb = Sandbox::new();
    let r = ask(&sb, &server, "ollama", "", &["--no-research", "q"], &[]);
    assert_eq!(r.code, 1);
    assert!(!r.stderr.contains("OPENAI_API_KEY"), "{}", r.stderr);
    assert!(r.stderr.contains("sends Ollama no key"), "{}", r.stderr);
}
