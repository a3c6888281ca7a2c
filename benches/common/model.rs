//! A scripted model on the OpenAI-compatible wire (SSE chat completion
//! chunks, as `../shared/fixtures/openai_chat_stream.sse`): a request with
//! a schema (the research turn's query planning) gets the question back as
//! its one query; any other gets what `answer(prompt)` writes from the
//! numbered passages it was sent. Loopback only, bounded in time.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub type Answerer = dyn Fn(&str) -> String + Send + Sync;

pub struct Model {
    pub addr: std::net::SocketAddr,
    answer: Arc<Mutex<Box<Answerer>>>,
}

impl Model {
    pub fn start(max_secs: u64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let answer: Arc<Mutex<Box<Answerer>>> = Arc::new(Mutex::new(Box::new(|_| String::new())));
        let a = Arc::clone(&answer);
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(max_secs);
            while Instant::now() < deadline {
                match listener.accept() {
                    Ok((s, _)) => {
                        let a = Arc::clone(&a);
                        std::thread::spawn(move || serve(s, &a));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(1)),
                }
            }
        });
        Self { addr, answer }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// What the model answers from now on.
    pub fn script(&self, f: impl Fn(&str) -> String + Send + Sync + 'static) {
        if let Ok(mut a) = self.answer.lock() {
            *a = Box::new(f);
        }
    }
}

/// The numbered passages of an answer prompt: (n, excerpt).
pub fn passages(prompt: &str) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    for block in prompt.split("\n\n") {
        let Some((head, body)) = block.split_once('\n') else {
            continue;
        };
        let Some(n) = head
            .strip_prefix('[')
            .and_then(|h| h.split_once(']'))
            .and_then(|(n, _)| n.parse::<i64>().ok())
        else {
            continue;
        };
        out.push((n, body.to_string()));
    }
    out
}

fn serve(mut s: TcpStream, answer: &Mutex<Box<Answerer>>) {
    let _ = s.set_nonblocking(false);
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let mut buf = Vec::new();
    let mut tmp = [0u8; 16384];
    let head_end = loop {
        let Ok(n) = s.read(&mut tmp) else { return };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let Ok(n) = s.read(&mut tmp) else { return };
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&tmp[..n]);
    }
    if head.starts_with("GET") {
        let body = json!({"object": "list", "data": [{"id": "bench", "object": "model"}]});
        reply(&mut s, "application/json", &body.to_string());
        return;
    }
    let req: Value = serde_json::from_slice(&buf[head_end..]).unwrap_or(Value::Null);
    let last = req["messages"]
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["content"].as_str())
        .unwrap_or("")
        .to_string();
    let text = if req.get("response_format").is_some() {
        let question = last
            .rsplit("Latest question:")
            .next()
            .unwrap_or(&last)
            .trim();
        json!({"queries": [question]}).to_string()
    } else {
        match answer.lock() {
            Ok(f) => f(&last),
            Err(_) => String::new(),
        }
    };
    let mut sse = String::new();
    for piece in text.split_inclusive(' ') {
        let chunk = json!({"id": "b", "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": null}]});
        sse.push_str(&format!("data: {chunk}\n\n"));
    }
    let end = json!({"id": "b", "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]});
    sse.push_str(&format!("data: {end}\n\ndata: [DONE]\n\n"));
    reply(&mut s, "text/event-stream", &sse);
}

fn reply(s: &mut TcpStream, content_type: &str, body: &str) {
    let _ = write!(
        s,
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = s.flush();
}
