//! Time to first token: sleuth's provider stack vs a plain HTTP client on
//! the same loopback stream: `cargo bench --bench ttft`.
//! Budget (issue 3): sleuth's overhead ≤ 5 ms.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)] // test code: a panic is the failure report

#[path = "../tests/common/server.rs"]
mod server;

use std::time::{Duration, Instant};

use server::{Reply, Server};
use sleuth::agent::provider::{self, ChatMessage, ChatRequest, Limits};
use sleuth::config::{Config, ProviderKind};

fn pct(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 - 1.0) * q).round() as usize]
}

fn main() {
    let rounds = 300;
    let reply = Reply::stream("llamacpp_chat_stream.sse", "text/event-stream", 4096, 0);
    let server = Server::bounded(vec![("", vec![reply])], rounds * 2 + 1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut cfg = Config::default().provider;
    cfg.kind = ProviderKind::Openai;
    cfg.base_url = server.url();
    let limits = Limits::from_config(&cfg);
    let req = ChatRequest {
        model: "m".into(),
        system: None,
        messages: vec![ChatMessage {
            role: sleuth::domain::Role::User,
            content: "hi".into(),
        }],
        schema: None,
        temperature: None,
        max_tokens: None,
    };
    let client = reqwest::Client::new();
    let url = format!("{}/v1/chat/completions", server.url());
    let body = sleuth::agent::provider::openai::body(&req, 4096, false);
    let (mut plain, mut ours) = (Vec::new(), Vec::new());
    rt.block_on(async {
        for i in 0..rounds * 2 {
            if i % 2 == 0 {
                // Plain: POST, then the first body chunk.
                let t = Instant::now();
                let mut resp = client.post(&url).json(&body).send().await.expect("send");
                let _ = resp.chunk().await.expect("chunk");
                plain.push(t.elapsed().as_secs_f64() * 1e3);
            } else {
                let t = Instant::now();
                let mut first = None;
                provider::stream_chat(&client, &cfg, &req, &limits, &mut |_t: &str| {
                    first.get_or_insert_with(|| t.elapsed());
                })
                .await
                .expect("stream");
                ours.push(first.unwrap_or(Duration::ZERO).as_secs_f64() * 1e3);
            }
        }
    });
    let (p50, s50) = (pct(&mut plain, 0.5), pct(&mut ours, 0.5));
    let (p95, s95) = (pct(&mut plain, 0.95), pct(&mut ours, 0.95));
    println!("plain client first chunk: p50 {p50:.3} ms, p95 {p95:.3} ms ({rounds} requests)");
    println!("sleuth first token:       p50 {s50:.3} ms, p95 {s95:.3} ms ({rounds} requests)");
    println!(
        "overhead: p50 {:.3} ms, p95 {:.3} ms (budget <= 5 ms)",
        s50 - p50,
        s95 - p95
    );
}
