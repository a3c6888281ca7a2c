//! HTTP for research: a client for configured source APIs, and a guarded
//! client for URLs that come from the question or from fetched content.
//!
//! The guarded client refuses private, loopback, link-local, CGNAT, ULA and
//! metadata addresses unless the host is allowed in config. It checks the
//! *resolved* addresses (a custom DNS resolver, so `127.0.0.1.nip.io` is
//! caught), literal-IP hosts, and every redirect hop. Bodies are read up to
//! a byte cap after decompression, so a gzip bomb stops at the cap.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

pub const USER_AGENT: &str = concat!(
    "sleuth/",
    env!("CARGO_PKG_VERSION"),
    " (terminal research console; https://github.com/sleuth)"
);

/// Addresses no fetch from untrusted input may reach.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || o[0] == 0
                // CGNAT 100.64.0.0/10
                || (o[0] == 100 && (o[1] & 0xC0) == 64)
                // Benchmarking 198.18.0.0/15 and the IETF block 192.0.0.0/24
                || (o[0] == 198 && (o[1] & 0xFE) == 18)
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let s = v6.segments();
            // IPv4 inside IPv6: IPv4-compatible ::a.b.c.d (deprecated but
            // routed by some stacks), NAT64 64:ff9b::/96 and 6to4 2002::/16.
            let embedded = |hi: u16, lo: u16| {
                std::net::Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8)
            };
            if s[..6] == [0, 0, 0, 0, 0, 0] && !v6.is_loopback() && !v6.is_unspecified() {
                return is_private(IpAddr::V4(embedded(s[6], s[7])));
            }
            if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                return is_private(IpAddr::V4(embedded(s[6], s[7])));
            }
            if s[0] == 0x2002 {
                return is_private(IpAddr::V4(embedded(s[1], s[2])));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // ULA fc00::/7, link-local fe80::/10
                || (s[0] & 0xFE00) == 0xFC00
                || (s[0] & 0xFFC0) == 0xFE80
        }
    }
}

/// An allow-list entry: a host (any port: `research.allow_hosts`) or
/// `host:port` (that port only: a configured source's own address).
fn entry(e: &str) -> (&str, Option<u16>) {
    if let Some((h, tail)) = e.strip_prefix('[').and_then(|r| r.split_once(']')) {
        return (h, tail.strip_prefix(':').and_then(|p| p.parse().ok()));
    }
    match e.split_once(':') {
        Some((h, p)) if !p.contains(':') => match p.parse() {
            Ok(port) => (h, Some(port)),
            Err(_) => (e, None),
        },
        _ => (e, None),
    }
}

/// Whether the resolver may return private addresses for `host` (it
/// sees no port; [`check_url`] holds a `host:port` entry to its port).
fn host_allowed(host: &str, allow: &[String]) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    allow.iter().any(|a| entry(a).0.eq_ignore_ascii_case(host))
}

/// Why a URL may not be fetched, if it may not.
pub fn check_url(url: &reqwest::Url, allow: &[String]) -> Result<(), String> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{} URLs are not fetched", url.scheme()));
    }
    let Some(host) = url.host_str() else {
        return Err("the URL has no host".into());
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let port = url.port_or_known_default();
    let mut listed = false;
    for (h, p) in allow.iter().map(|a| entry(a)) {
        if h.eq_ignore_ascii_case(bare) {
            listed = true;
            if p.is_none_or(|p| Some(p) == port) {
                return Ok(());
            }
        }
    }
    // A source's own host on another port (a redirect to its SSH or
    // database port): the entry allowed one port, not the machine.
    if listed {
        return Err(format!(
            "refused: {host} is allowed on its configured port only, not {}",
            port.map_or_else(|| "this one".to_string(), |p| p.to_string())
        ));
    }
    if let Ok(ip) = bare.parse::<IpAddr>()
        && is_private(ip)
    {
        return Err(format!(
            "refused: {host} is a private or local address (allow it with research.allow_hosts)"
        ));
    }
    if bare.eq_ignore_ascii_case("localhost")
        || bare.ends_with(".localhost")
        || bare == "metadata.google.internal"
    {
        return Err(format!(
            "refused: {host} is a local name (allow it with research.allow_hosts)"
        ));
    }
    Ok(())
}

/// Resolves names, then drops private addresses unless the name is allowed.
struct GuardedResolver {
    allow: Arc<Vec<String>>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = Arc::clone(&self.allow);
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if host_allowed(&host, &allow) {
                return Ok(Box::new(addrs.into_iter()) as Addrs);
            }
            let public: Vec<SocketAddr> =
                addrs.into_iter().filter(|a| !is_private(a.ip())).collect();
            if public.is_empty() {
                let msg = format!("refused: {host} resolves to a private or local address");
                return Err(msg.into());
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

/// The guarded client: for URLs from the question or from pages, and (with
/// the configured source hosts allowed) for the source APIs themselves.
pub fn guarded_client(allow: Vec<String>, timeout: Duration) -> reqwest::Result<reqwest::Client> {
    let allow = Arc::new(allow);
    let for_redirects = Arc::clone(&allow);
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(timeout)
        .dns_resolver(Arc::new(GuardedResolver { allow }))
        .redirect(reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 5 {
                return attempt.error("too many redirects");
            }
            match check_url(attempt.url(), &for_redirects) {
                Ok(()) => attempt.follow(),
                Err(e) => attempt.error(e),
            }
        }))
        .build()
}

/// Reads a response body up to `cap` bytes (after decompression). Returns
/// the bytes and whether the body was cut.
pub async fn read_capped(
    mut resp: reqwest::Response,
    cap: usize,
) -> Result<(Vec<u8>, bool), String> {
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| short_error(&e))? {
        let room = cap - body.len();
        if chunk.len() >= room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
}

/// A few words for the sources panel, from a reqwest error.
pub fn short_error(e: &reqwest::Error) -> String {
    use std::error::Error;
    let mut inner: &dyn Error = e;
    while let Some(s) = inner.source() {
        inner = s;
    }
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        let detail = inner.to_string();
        if detail.contains("refused:") {
            detail
        } else {
            format!("cannot connect ({detail})")
        }
    } else if e.is_redirect() {
        format!("redirect refused ({inner})")
    } else {
        inner.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_port_entry_allows_that_port_only() {
        let allow = vec![
            "127.0.0.1:8888".to_string(),
            "[::1]:80".into(),
            "lan-box".into(),
        ];
        let url = |u: &str| reqwest::Url::parse(u).unwrap();
        assert!(check_url(&url("http://127.0.0.1:8888/search"), &allow).is_ok());
        let other = check_url(&url("http://127.0.0.1:22/"), &allow).unwrap_err();
        assert!(other.contains("configured port only, not 22"), "{other}");
        assert!(check_url(&url("http://[::1]/x"), &allow).is_ok());
        assert!(check_url(&url("http://[::1]:6379/"), &allow).is_err());
        // A bare host (research.allow_hosts) is the user's: any port.
        assert!(check_url(&url("http://lan-box:9000/"), &allow).is_ok());
        assert!(host_allowed("127.0.0.1", &allow) && host_allowed("[::1]", &allow));
        assert_eq!(entry("example.org:443"), ("example.org", Some(443)));
        assert_eq!(entry("::1"), ("::1", None));
    }

    #[test]
    fn private_ranges_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            // Issue 11, case 16: IPv4 carried in IPv6.
            "::127.0.0.1",
            "::10.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "2002:c0a8:0101::1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700::1111",
            "100.128.0.1",
            "64:ff9b::5db8:d822",
            "2002:5db8:d822::1",
        ] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn urls_are_checked_before_any_request() {
        let u = |s: &str| reqwest::Url::parse(s).unwrap();
        assert!(check_url(&u("http://127.0.0.1:8080/x"), &[]).is_err());
        assert!(check_url(&u("http://[::1]/"), &[]).is_err());
        assert!(check_url(&u("http://localhost/"), &[]).is_err());
        assert!(check_url(&u("file:///etc/passwd"), &[]).is_err());
        assert!(check_url(&u("http://169.254.169.254/latest/meta-data"), &[]).is_err());
        assert!(check_url(&u("https://example.org/a"), &[]).is_ok());
        assert!(check_url(&u("http://127.0.0.1:8080/x"), &["127.0.0.1".into()]).is_ok());
    }
}
