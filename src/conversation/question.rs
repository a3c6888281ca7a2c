//! A question as typed, and how it was asked: `/deep` for a deep run,
//! `/sources wiki,hn` to limit the sources, else the current mode.

use super::prompt::Mode;
use crate::agent::research::SourceKind;

/// A question and how to answer it.
#[derive(Debug, Clone, PartialEq)]
pub struct Ask {
    pub text: String,
    /// `/sources wiki,hn`: only these sources.
    pub only: Option<Vec<SourceKind>>,
    pub mode: Mode,
}

impl Ask {
    /// The question in `raw`, asked in `default` mode unless it starts with
    /// `/deep`; None when nothing is left to ask. A bad `/sources` list is
    /// an error that says what to type.
    pub fn parse(raw: &str, default: Mode) -> Result<Option<Ask>, String> {
        let (mode, rest) = match raw.trim().strip_prefix("/deep") {
            Some(rest) if rest.is_empty() || rest.starts_with(char::is_whitespace) => {
                (Mode::Deep, rest)
            }
            _ => (default, raw),
        };
        let (only, text) = parse_sources_prefix(rest.trim())?;
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        Ok(Some(Ask {
            text: text.to_string(),
            only,
            mode,
        }))
    }
}

/// `/sources wiki,hn question…` limits a research turn to those sources.
fn parse_sources_prefix(text: &str) -> Result<(Option<Vec<SourceKind>>, &str), String> {
    let Some(rest) = text.strip_prefix("/sources") else {
        return Ok((None, text));
    };
    let rest = rest.trim_start();
    let (list, question) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let mut kinds = Vec::new();
    for name in list.split(',').filter(|n| !n.is_empty()) {
        match SourceKind::parse(name) {
            Some(k) => kinds.push(k),
            None => {
                return Err(format!(
                    "unknown source '{name}' — use wiki, hn, arxiv, web, searxng, lib or mcp:NAME (a server under [mcp.servers]), e.g. /sources wiki,hn your question"
                ));
            }
        }
    }
    if kinds.is_empty() {
        return Err("name the sources: /sources wiki,hn your question".into());
    }
    Ok((Some(kinds), question))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_prefix() {
        assert_eq!(
            parse_sources_prefix("plain question").unwrap(),
            (None, "plain question")
        );
        let (k, q) = parse_sources_prefix("/sources wiki,hn what is rust").unwrap();
        assert_eq!(
            k.unwrap(),
            vec![SourceKind::Wikipedia, SourceKind::Hackernews]
        );
        assert_eq!(q, "what is rust");
        assert!(
            parse_sources_prefix("/sources bogus q")
                .unwrap_err()
                .contains("unknown source 'bogus'")
        );
    }

    #[test]
    fn deep_and_sources_prefixes_combine_and_the_mode_defaults() {
        let a = Ask::parse("  /deep /sources arxiv why is the sky blue ", Mode::Chat)
            .unwrap()
            .unwrap();
        assert_eq!(a.mode, Mode::Deep);
        assert_eq!(a.only, Some(vec![SourceKind::Arxiv]));
        assert_eq!(a.text, "why is the sky blue");
        let a = Ask::parse("/deeper thoughts", Mode::Chat).unwrap().unwrap();
        assert_eq!((a.mode, a.text.as_str()), (Mode::Chat, "/deeper thoughts"));
        assert_eq!(Ask::parse("/deep   ", Mode::Research).unwrap(), None);
        assert_eq!(Ask::parse("   ", Mode::Research).unwrap(), None);
    }
}
