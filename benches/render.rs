//! Frame render time of the chat screen at 200×50 with transcripts of 100,
//! 10k and 100k messages: `cargo bench --bench render`.
//! Budget (ARCHITECTURE.md §7): p99 ≤ 2 ms at 10k; 100k within 1.5× of 100.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)] // test code: a panic is the failure report

use std::time::Instant;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use sleuth::dev::synth::{Rng, Vocabulary, message_len};
use sleuth::ui::chat::ChatScreen;
use sleuth::ui::status::StatusState;
use sleuth::ui::transcript::{Cell, CellKind};

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn screen(n: usize) -> ChatScreen {
    let mut rng = Rng::new(7);
    let vocab = Vocabulary::new(20_000, &mut rng);
    let mut chat = ChatScreen::new("llama3.2".into());
    for i in 0..n {
        let len = message_len(&mut rng);
        let (kind, text) = if i % 2 == 0 {
            (CellKind::User, vocab.text(&mut rng, len / 3 + 10))
        } else {
            // Answers in Markdown: a heading, a list and a code block now and then.
            let mut t = vocab.text(&mut rng, len);
            if i % 10 == 1 {
                t = format!(
                    "## {}\n\n- {}\n- {}\n\n```rust\nfn main() {{ let x = 1; }}\n```\n\n{t}",
                    vocab.text(&mut rng, 20),
                    vocab.text(&mut rng, 40),
                    vocab.text(&mut rng, 40)
                );
            }
            (CellKind::Assistant, t)
        };
        chat.transcript
            .push(Cell::new(kind, &text, "2026-11-24 10:00".into()));
    }
    chat
}

fn main() {
    let status = StatusState::new(
        "~/.local/share/sleuth/sleuth.db".into(),
        "ollama llama3.2".into(),
    );
    let frames = 5000;
    let mut results = Vec::new();
    for n in [100usize, 10_000, 100_000] {
        let mut chat = screen(n);
        let mut term = Terminal::new(TestBackend::new(200, 50)).expect("terminal");
        // Warm the wrap cache of what is visible, as a running app would.
        term.draw(|f| {
            let a = f.area();
            chat.render(f, a, &status)
        })
        .expect("draw");
        let mut idle = Vec::with_capacity(frames);
        let mut streaming = Vec::with_capacity(frames);
        for i in 0..frames {
            let t = Instant::now();
            term.draw(|f| {
                let a = f.area();
                chat.render(f, a, &status)
            })
            .expect("draw");
            idle.push(t.elapsed().as_secs_f64() * 1e3);
            // A streamed token lands in the last cell: it is re-rendered.
            if let Some(c) = chat.transcript.last_mut() {
                c.append(if i % 7 == 0 { " word\n\n" } else { " token" });
            }
            let t = Instant::now();
            term.draw(|f| {
                let a = f.area();
                chat.render(f, a, &status)
            })
            .expect("draw");
            streaming.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let (i50, i99) = (percentile(&mut idle, 0.5), percentile(&mut idle, 0.99));
        let (s50, s99) = (
            percentile(&mut streaming, 0.5),
            percentile(&mut streaming, 0.99),
        );
        println!(
            "{n:>7} messages: redraw p50 {i50:.3} ms p99 {i99:.3} ms | with a streamed token p50 {s50:.3} ms p99 {s99:.3} ms"
        );
        results.push((n, i99, s99));
    }
    println!(
        "100k vs 100, p99: redraw {:.2}x, with a streamed token {:.2}x (budget <= 1.5x)",
        results[2].1 / results[0].1,
        results[2].2 / results[0].2
    );
}
