//! A loopback HTTP/1.1 server for provider tests: each connection gets the
//! next scripted reply (the last one repeats), written chunk by chunk with
//! optional delays, stalls or an early close. Requests are recorded.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub enum Chunk {
    Bytes(Vec<u8>),
    Delay(u64),
    /// Made from the request's body (a server whose answer depends on the
    /// question, such as an embedding endpoint).
    Computed(Computed),
}

/// Makes a reply body from a request body.
pub type MakeBody = dyn Fn(&str) -> Vec<u8> + Send + Sync;

#[derive(Clone)]
pub struct Computed(pub Arc<MakeBody>);

impl std::fmt::Debug for Computed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Computed")
    }
}

#[derive(Clone, Debug)]
pub enum End {
    Close,
    /// Keep the connection open, sending nothing, then close.
    Stall(Duration),
}

#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<Chunk>,
    pub end: End,
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../shared/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

impl Reply {
    pub fn new(status: u16, content_type: &str, body: Vec<u8>) -> Self {
        Self {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: vec![Chunk::Bytes(body)],
            end: End::Close,
        }
    }

    /// A fixture replayed byte for byte, in chunks of `size` bytes with
    /// `delay_ms` between them.
    pub fn stream(name: &str, content_type: &str, size: usize, delay_ms: u64) -> Self {
        let bytes = fixture(name);
        let mut body = Vec::new();
        for c in bytes.chunks(size.max(1)) {
            body.push(Chunk::Bytes(c.to_vec()));
            if delay_ms > 0 {
                body.push(Chunk::Delay(delay_ms));
            }
        }
        Self {
            status: 200,
            headers: vec![("Content-Type".into(), content_type.into())],
            body,
            end: End::Close,
        }
    }

    /// A reply made from each request's body by `make`.
    pub fn computed(
        content_type: &str,
        make: impl Fn(&str) -> Vec<u8> + Send + Sync + 'static,
    ) -> Self {
        Self {
            status: 200,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: vec![Chunk::Computed(Computed(Arc::new(make)))],
            end: End::Close,
        }
    }

    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.into(), v.into()));
        self
    }

    /// The same reply, sent after `ms` milliseconds of silence.
    pub fn after(mut self, ms: u64) -> Self {
        self.body.insert(0, Chunk::Delay(ms));
        self
    }

    pub fn then(mut self, end: End) -> Self {
        self.end = end;
        self
    }
}

/// An Ollama `/api/chat` NDJSON stream that says `text` word by word,
/// then its final `done` line with token counts.
pub fn ollama_says(text: &str) -> Reply {
    let mut body = String::new();
    for piece in text.split_inclusive(' ') {
        body.push_str(
            &serde_json::json!({"message": {"role": "assistant", "content": piece}, "done": false})
                .to_string(),
        );
        body.push('\n');
    }
    body.push_str(r#"{"message":{"role":"assistant","content":""},"done":true,"prompt_eval_count":40,"eval_count":12}"#);
    body.push('\n');
    Reply::new(200, "application/x-ndjson", body.into_bytes())
}

#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

pub struct Server {
    pub addr: std::net::SocketAddr,
    pub requests: Arc<Mutex<Vec<Recorded>>>,
    /// Set when the client closed the connection while we were still
    /// sending (a cancelled stream).
    pub client_gone: Arc<AtomicBool>,
}

impl Server {
    pub fn start(replies: Vec<Reply>) -> Self {
        Self::routed(vec![("", replies)])
    }

    /// Replies chosen by the longest matching path prefix; each route
    /// plays its replies in order and repeats the last.
    pub fn routed(routes: Vec<(&str, Vec<Reply>)>) -> Self {
        Self::bounded(routes, 32)
    }

    /// Like [`Server::routed`], serving at most `max` connections.
    pub fn bounded(routes: Vec<(&str, Vec<Reply>)>, max: usize) -> Self {
        Self::lasting(routes, max, 60)
    }

    /// Like [`Server::bounded`], accepting for `secs` seconds (soaks).
    pub fn lasting(routes: Vec<(&str, Vec<Reply>)>, max: usize, secs: u64) -> Self {
        let routes: Vec<(String, Vec<Reply>, usize)> = routes
            .into_iter()
            .map(|(p, r)| (p.to_string(), r, 0))
            .collect();
        let routes = Arc::new(Mutex::new(routes));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let client_gone = Arc::new(AtomicBool::new(false));
        let (reqs, gone) = (Arc::clone(&requests), Arc::clone(&client_gone));
        std::thread::spawn(move || {
            // Bounded: stops accepting after `secs` or `max` connections.
            let deadline = Instant::now() + Duration::from_secs(secs);
            let mut served = 0usize;
            while Instant::now() < deadline && served < max {
                match listener.accept() {
                    Ok((stream, _)) => {
                        served += 1;
                        let (reqs, gone, routes) =
                            (Arc::clone(&reqs), Arc::clone(&gone), Arc::clone(&routes));
                        std::thread::spawn(move || serve(stream, &routes, &reqs, &gone));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(1)),
                }
            }
        });
        Self {
            addr,
            requests,
            client_gone,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

fn read_request(s: &mut TcpStream) -> Option<Recorded> {
    s.set_nonblocking(false).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut buf = Vec::new();
    let mut tmp = [0u8; 8192];
    let header_end = loop {
        let n = s.read(&mut tmp).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
    let mut lines = head.split("\r\n");
    let first = lines.next()?.to_string();
    let mut parts = first.split(' ');
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < header_end + len {
        let n = s.read(&mut tmp).ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&tmp[..n]);
    }
    Some(Recorded {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&buf[header_end..]).to_string(),
    })
}

type Routes = Mutex<Vec<(String, Vec<Reply>, usize)>>;

fn serve(mut s: TcpStream, routes: &Routes, reqs: &Mutex<Vec<Recorded>>, gone: &AtomicBool) {
    let Some(req) = read_request(&mut s) else {
        return;
    };
    let reply = {
        let mut routes = routes.lock().unwrap();
        let Some(route) = routes
            .iter_mut()
            .filter(|(p, _, _)| req.path.starts_with(p.as_str()))
            .max_by_key(|(p, _, _)| p.len())
        else {
            // Not a route of this test: a real server says 404 (closing
            // without a reply would read as "down", and a provider probe
            // racing a turn would make the turn skip the model). Not
            // recorded: tests count the requests to their routes.
            let _ = s.write_all(
                b"HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
            );
            return;
        };
        let r = route.1[route.2.min(route.1.len() - 1)].clone();
        route.2 += 1;
        r
    };
    let asked = req.body.clone();
    reqs.lock().unwrap().push(req);
    let mut head = format!("HTTP/1.1 {} X\r\nConnection: close\r\n", reply.status);
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    if s.write_all(head.as_bytes()).is_err() {
        gone.store(true, Ordering::SeqCst);
        return;
    }
    for c in &reply.body {
        match c {
            Chunk::Bytes(b) => {
                if s.write_all(b).and_then(|_| s.flush()).is_err() {
                    gone.store(true, Ordering::SeqCst);
                    return;
                }
            }
            Chunk::Delay(ms) => std::thread::sleep(Duration::from_millis(*ms)),
            Chunk::Computed(make) => {
                let b = (make.0)(&asked);
                if s.write_all(&b).and_then(|_| s.flush()).is_err() {
                    gone.store(true, Ordering::SeqCst);
                    return;
                }
            }
        }
    }
    if let End::Stall(d) = reply.end {
        std::thread::sleep(d);
    }
}
