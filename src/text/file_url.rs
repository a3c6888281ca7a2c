//! `file://` URLs for passages of the user's own files: the page as a PDF
//! open parameter (`#page=12`), which viewers read and `show`, `export`
//! and `--json` turn back into a path and a page.

/// A file:// URL for a library passage: the page as a PDF open parameter
/// (`#page=12`, which PDF viewers and `show`/`export` read back).
pub fn file_url(path: &std::path::Path, page: Option<u32>) -> String {
    let mut url = String::from("file://");
    for b in path.to_string_lossy().bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                url.push(b as char)
            }
            _ => url.push_str(&format!("%{b:02X}")),
        }
    }
    if let Some(p) = page {
        url.push_str(&format!("#page={p}"));
    }
    url
}

/// The path and page back from [`file_url`]; None for any other URL.
pub fn parse_file_url(url: &str) -> Option<(String, Option<u32>)> {
    let rest = url.strip_prefix("file://")?;
    let (path, frag) = match rest.split_once('#') {
        Some((p, f)) => (p, Some(f)),
        None => (rest, None),
    };
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let page = frag
        .and_then(|f| f.strip_prefix("page="))
        .and_then(|p| p.parse().ok());
    Some((String::from_utf8(out).ok()?, page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_urls_round_trip_odd_names_and_pages() {
        let p = std::path::Path::new("/home/a b/ü%#\n.pdf");
        let url = file_url(p, Some(12));
        assert!(!url.contains(' ') && !url.contains('\n'));
        assert_eq!(
            parse_file_url(&url),
            Some(("/home/a b/ü%#\n.pdf".to_string(), Some(12)))
        );
        assert_eq!(parse_file_url("https://x"), None);
        // A stray % stays as it is.
        assert_eq!(parse_file_url("file:///a%4"), Some(("/a%4".into(), None)));
    }
}
