//! Configuration: compiled-in defaults (`assets/default-config.toml`) with
//! the user's TOML merged over them, then environment and flag overrides.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const DEFAULT_TOML: &str = include_str!("../assets/default-config.toml");

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub provider: ProviderConfig,
    pub research: ResearchConfig,
    pub deep: DeepConfig,
    pub sources: SourcesConfig,
    pub ui: UiConfig,
    /// The user's own papers and notes (`sleuth library add`).
    #[serde(default)]
    pub library: crate::library::settings::LibraryConfig,
    /// The claim check's optional model judge.
    #[serde(default)]
    pub verify: crate::verify::settings::VerifyConfig,
    /// MCP servers used as research sources.
    #[serde(default)]
    pub mcp: McpConfig,
    /// `[roles.NAME]`: named settings a session takes with `/role NAME`
    /// or `--role NAME`.
    #[serde(default)]
    pub roles: std::collections::BTreeMap<String, RoleConfig>,
}

/// A role: a system prompt, model, temperature, answer length and sources
/// that go together (a translator, a terse reviewer…).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RoleConfig {
    #[serde(default)]
    pub system: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub temperature: Option<f32>,
    #[serde(default)]
    pub max_tokens: Option<u32>,
    /// Research in these sources only (wiki, hn, arxiv, web, searxng, lib, mcp:NAME).
    #[serde(default)]
    pub sources: Option<Vec<String>>,
}

/// `[mcp.servers.NAME]`: MCP servers sleuth starts and asks as sources.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct McpConfig {
    #[serde(default)]
    pub servers: std::collections::BTreeMap<String, McpServerConfig>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct McpServerConfig {
    /// The program to start (from the config only, never from a model).
    pub command: String,
    #[serde(default)]
    pub args: Vec<String>,
    /// Environment variables passed to it, by name; nothing else is (API
    /// keys do not leak to tools by default).
    #[serde(default)]
    pub env: Vec<String>,
    /// The tool called with each research query…
    pub tool: String,
    /// …and the name of its argument that takes the query.
    #[serde(default = "default_query_arg")]
    pub query_arg: String,
    #[serde(default = "default_true")]
    pub enabled: bool,
}

fn default_query_arg() -> String {
    "query".into()
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    Ollama,
    Openai,
    Anthropic,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Ollama => "ollama",
            ProviderKind::Openai => "openai",
            ProviderKind::Anthropic => "anthropic",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProviderConfig {
    pub kind: ProviderKind,
    pub base_url: String,
    pub model: String,
    pub api_key_env: String,
    pub connect_timeout_secs: u64,
    pub first_byte_timeout_secs: u64,
    pub idle_timeout_secs: u64,
    /// Model for ranking embeddings; empty = rank with BM25.
    pub embed_model: String,
    /// Extra tries for connect errors, 408/409/429 and 5xx, before any output.
    pub retries: usize,
    /// First retry delay; doubles (with jitter) up to 8 s. Retry-After wins.
    pub retry_base_ms: u64,
    /// Tokens an answer may have, sent with every request (Ollama
    /// `num_predict`, OpenAI-compatible `max_tokens`, Anthropic
    /// `max_tokens`); 0 leaves it to the server (Anthropic then gets 4096,
    /// which it requires). A looping model stops there.
    pub max_tokens: u32,
    /// An answer longer than this (bytes of reply) is cut there.
    pub max_answer_bytes: usize,
    /// An answer taking longer than this is cut there.
    pub max_answer_secs: u64,
    /// Where `base_url` came from, so advice names the right thing to fix.
    #[serde(skip)]
    pub base_url_origin: UrlOrigin,
}

/// Where the provider's base URL was set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UrlOrigin {
    #[default]
    Default,
    ConfigFile,
    OllamaHost,
    Flag,
}

impl ProviderConfig {
    /// What to change to point sleuth at another server, named after
    /// where the URL in use came from.
    pub fn base_url_fix(&self) -> &'static str {
        match (self.base_url_origin, self.kind) {
            (UrlOrigin::Flag, _) => "fix --base-url",
            (UrlOrigin::ConfigFile, _) => "fix base_url under [provider] in the config file",
            (UrlOrigin::OllamaHost, _) => "fix OLLAMA_HOST",
            (UrlOrigin::Default, ProviderKind::Ollama) => {
                "or use --provider openai --base-url URL (llama.cpp, vLLM, LM Studio…)"
            }
            (UrlOrigin::Default, _) => "set --base-url or base_url under [provider]",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ResearchConfig {
    pub timeout_secs: u64,
    /// Documents read per source (articles, threads, pages).
    pub per_source: usize,
    /// Passages given to the model at most.
    pub top_k: usize,
    /// Characters of passage text given to the model, best first.
    pub context_chars: usize,
    /// Read the pages that results link to (a Hacker News story's link,
    /// SearXNG result pages) through the guarded client.
    pub follow_links: bool,
    pub allow_hosts: Vec<String>,
    /// Fold older turns into a session summary once there are more than
    /// this many messages of context…
    pub summarize_after: usize,
    /// …keeping this many recent messages verbatim.
    pub keep_recent: usize,
    /// Recall relevant messages from other sessions into the context.
    pub memory: bool,
    pub memory_max: usize,
}

/// Deep runs (`/deep`, `sleuth ask --deep`): their budgets.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DeepConfig {
    /// Rounds of search → read → reflect at most.
    pub rounds: usize,
    /// Documents read in a run at most.
    pub max_documents: usize,
    /// Wall time of the rounds; the report is written from what was found.
    pub time_secs: u64,
    /// New queries (leads) followed per round at most.
    pub leads_per_round: usize,
    /// Passage text given to the report, and passages cited at most.
    pub context_chars: usize,
    pub max_cited: usize,
    /// Model tokens (sent and received) for planning and reflecting; past
    /// it the rounds end and the report is written.
    pub max_tokens: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SourceConfig {
    pub enabled: bool,
    pub base_url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SourcesConfig {
    pub wikipedia: SourceConfig,
    pub hackernews: SourceConfig,
    pub arxiv: SourceConfig,
    pub searxng: SourceConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UiConfig {
    pub tick_ms: u64,
    /// Colours for a dark or a light terminal; `NO_COLOR` (set and not
    /// empty) turns colour off whatever this says.
    #[serde(default)]
    pub theme: ThemeName,
    /// The role new sessions start with (`--role` overrides); empty: none.
    #[serde(default)]
    pub role: String,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ThemeName {
    #[default]
    Dark,
    Light,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config {path}, line {line}{key}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        key: String,
        message: String,
    },
}

/// Where a config error is: (line, dotted key, message).
type Located = (usize, Option<String>, String);

/// Values from outside the file, applied on top of it.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub provider: Option<ProviderKind>,
    pub base_url: Option<String>,
    pub model: Option<String>,
    /// The value of `OLLAMA_HOST`, if set.
    pub ollama_host: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// Where the file was looked for, and whether it existed.
    pub path: PathBuf,
    pub found: bool,
    /// Keys the file has that sleuth does not know, e.g. `provider.modle`.
    pub unknown_keys: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        // The asset is compiled in and covered by a test; failing here is a
        // build defect, not a runtime condition.
        #[allow(clippy::expect_used)]
        toml::from_str(DEFAULT_TOML).expect("assets/default-config.toml is valid")
    }
}

impl Config {
    /// Loads `path` if it exists (a missing file means defaults), merges it
    /// over the defaults and applies `overrides`.
    pub fn load(path: &Path, overrides: &Overrides) -> Result<Loaded, ConfigError> {
        let (text, found) = match std::fs::read_to_string(path) {
            Ok(t) => (t, true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (String::new(), false),
            Err(e) => {
                return Err(ConfigError::Read {
                    path: path.to_path_buf(),
                    source: e,
                });
            }
        };
        let (config, unknown_keys) =
            Self::parse(&text, overrides).map_err(|(line, key, message)| ConfigError::Invalid {
                path: path.to_path_buf(),
                line,
                key: key.map(|k| format!(", key `{k}`")).unwrap_or_default(),
                message,
            })?;
        Ok(Loaded {
            config,
            path: path.to_path_buf(),
            found,
            unknown_keys,
        })
    }

    /// A config from file text with no overrides; the error in words
    /// (the fuzz target for config files).
    pub fn parse_text(text: &str) -> Result<Config, String> {
        Self::parse(text, &Overrides::default())
            .map(|(c, _)| c)
            .map_err(|(line, key, message)| format!("line {line:?}, key {key:?}: {message}"))
    }

    /// Parses user TOML text. Errors carry (line, key, message).
    fn parse(text: &str, overrides: &Overrides) -> Result<(Config, Vec<String>), Located> {
        let user: toml::Table = toml::from_str(text).map_err(|e| locate(text, &e))?;
        let mut merged: toml::Table =
            toml::from_str(DEFAULT_TOML).map_err(|e| (0, None, e.to_string()))?;
        let user_set_base_url = user
            .get("provider")
            .and_then(|p| p.get("base_url"))
            .is_some();
        merge(&mut merged, user);
        let mut unknown = Vec::new();
        // Unknown keys are dropped from the merged table (so they can't fail
        // `deny_unknown_fields`) and reported as warnings.
        let known: toml::Table =
            toml::from_str(DEFAULT_TOML).map_err(|e| (0, None, e.to_string()))?;
        // MCP servers are named by the user: their tables are not in the
        // defaults, and `deny_unknown_fields` checks their keys instead.
        // So are roles.
        let mcp = merged.remove("mcp");
        let roles = merged.remove("roles");
        prune_unknown(&mut merged, &known, "", &mut unknown);
        if let Some(mcp) = mcp {
            merged.insert("mcp".into(), mcp);
        }
        if let Some(roles) = roles {
            merged.insert("roles".into(), roles);
        }
        let mut config: Config = merged
            .try_into()
            .map_err(|e: toml::de::Error| deser_error(text, &e))?;
        if user_set_base_url {
            config.provider.base_url_origin = UrlOrigin::ConfigFile;
        }
        for (name, role) in &config.roles {
            if role.temperature.is_some_and(|t| !(0.0..=2.0).contains(&t)) {
                return Err((
                    0,
                    Some(format!("roles.{name}.temperature")),
                    "a temperature is a number from 0 to 2".into(),
                ));
            }
            if let Some(bad) = role
                .sources
                .iter()
                .flatten()
                .find(|s| crate::agent::research::SourceKind::parse(s).is_none())
            {
                return Err((
                    0,
                    Some(format!("roles.{name}.sources")),
                    format!("no source “{bad}” (wiki, hn, arxiv, web, searxng, lib, mcp:NAME)"),
                ));
            }
        }
        for (name, server) in &config.mcp.servers {
            if crate::agent::research::McpName::new(name).is_none() {
                return Err((
                    0,
                    Some(format!("mcp.servers.{name}")),
                    "an MCP server's name is 1–32 of A-Z a-z 0-9 _ -".into(),
                ));
            }
            if server.command.trim().is_empty() || server.tool.trim().is_empty() {
                return Err((
                    0,
                    Some(format!("mcp.servers.{name}")),
                    "an MCP server needs `command` (the program) and `tool` (called with each query)"
                        .into(),
                ));
            }
        }
        if !user_set_base_url
            && config.provider.kind == ProviderKind::Ollama
            && let Some(host) = overrides
                .ollama_host
                .as_deref()
                .filter(|h| !h.trim().is_empty())
        {
            config.provider.base_url = normalize_ollama_host(host);
            config.provider.base_url_origin = UrlOrigin::OllamaHost;
        }
        if let Some(kind) = overrides.provider {
            if kind != config.provider.kind && overrides.base_url.is_none() && !user_set_base_url {
                config.provider.base_url = default_base_url(kind, overrides.ollama_host.as_deref());
                config.provider.base_url_origin = match kind {
                    ProviderKind::Ollama if overrides.ollama_host.is_some() => {
                        UrlOrigin::OllamaHost
                    }
                    _ => UrlOrigin::Default,
                };
            }
            config.provider.kind = kind;
        }
        if let Some(url) = &overrides.base_url {
            config.provider.base_url = url.clone();
            config.provider.base_url_origin = UrlOrigin::Flag;
        }
        if let Some(model) = &overrides.model {
            config.provider.model = model.clone();
        }
        Ok((config, unknown))
    }
}

fn default_base_url(kind: ProviderKind, ollama_host: Option<&str>) -> String {
    match kind {
        ProviderKind::Ollama => ollama_host
            .filter(|h| !h.trim().is_empty())
            .map(normalize_ollama_host)
            .unwrap_or_else(|| "http://localhost:11434".into()),
        ProviderKind::Openai => "https://api.openai.com".into(),
        ProviderKind::Anthropic => "https://api.anthropic.com".into(),
    }
}

/// `OLLAMA_HOST` is often `0.0.0.0:11434` or a bare host; make it a URL a
/// client can dial.
pub fn normalize_ollama_host(host: &str) -> String {
    let host = host.trim().trim_end_matches('/');
    let with_scheme = if host.contains("://") {
        host.to_string()
    } else {
        format!("http://{host}")
    };
    let fixed = with_scheme.replace("://0.0.0.0", "://127.0.0.1");
    // A bare host without a port gets Ollama's; a full URL is taken as is.
    if host.contains("://") || host.contains(':') {
        fixed
    } else {
        format!("{fixed}:11434")
    }
}

fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

fn prune_unknown(
    table: &mut toml::Table,
    known: &toml::Table,
    prefix: &str,
    out: &mut Vec<String>,
) {
    let keys: Vec<String> = table.keys().cloned().collect();
    for k in keys {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match known.get(&k) {
            None => {
                table.remove(&k);
                out.push(path);
            }
            Some(toml::Value::Table(kt)) => {
                if let Some(toml::Value::Table(t)) = table.get_mut(&k) {
                    prune_unknown(t, kt, &path, out);
                }
            }
            Some(_) => {}
        }
    }
}

/// Line (1-based) and dotted key of a syntax error's position.
fn locate(text: &str, e: &toml::de::Error) -> Located {
    let message = e.message().trim().to_string();
    match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            (line, key_at_line(text, line), message)
        }
        None => (0, None, message),
    }
}

/// A type error after merging has no position in the user's text: find the
/// user's line whose value, on its own over the defaults, fails.
fn deser_error(text: &str, e: &toml::de::Error) -> Located {
    let message = e.message().trim().to_string();
    match find_bad_line(text) {
        Some((line, key)) => (line, Some(key), message),
        None => (0, None, message),
    }
}

/// Finds the first user line whose value, put on its own over the defaults,
/// fails to deserialise.
fn find_bad_line(text: &str) -> Option<(usize, String)> {
    let user: toml::Table = toml::from_str(text).ok()?;
    for (i, _) in text.lines().enumerate() {
        let Some(key) = key_at_line(text, i + 1) else {
            continue;
        };
        let parts: Vec<&str> = key.split('.').collect();
        let mut v = toml::Value::Table(user.clone());
        for p in &parts {
            v = v.get(*p)?.clone();
        }
        let mut single = toml::Table::new();
        let mut cur = &mut single;
        for p in &parts[..parts.len() - 1] {
            cur = cur
                .entry((*p).to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                .as_table_mut()?;
        }
        cur.insert(parts[parts.len() - 1].to_string(), v);
        let mut merged: toml::Table = toml::from_str(DEFAULT_TOML).ok()?;
        merge(&mut merged, single);
        if merged.try_into::<Config>().is_err() {
            return Some((i + 1, key));
        }
    }
    None
}

/// The dotted key assigned on `line` (1-based), using the nearest `[table]`
/// header above it; None for headers, comments and blank lines.
fn key_at_line(text: &str, line: usize) -> Option<String> {
    let mut table = String::new();
    for (i, l) in text.lines().enumerate() {
        let t = l.trim();
        if t.starts_with('[') {
            table = t.trim_matches(|c| c == '[' || c == ']').trim().to_string();
        }
        if i + 1 == line {
            if t.starts_with('[') || t.starts_with('#') {
                return None;
            }
            let (k, _) = t.split_once('=')?;
            let k = k.trim().trim_matches('"');
            return Some(if table.is_empty() {
                k.to_string()
            } else {
                format!("{table}.{k}")
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<(Config, Vec<String>), Located> {
        Config::parse(text, &Overrides::default())
    }

    #[test]
    fn mcp_servers_are_read_and_checked() {
        let (c, unknown) =
            parse("[mcp.servers.notes]\ncommand = \"x\"\ntool = \"search\"\nenv = [\"A\"]\n")
                .unwrap();
        assert!(unknown.is_empty(), "{unknown:?}");
        let s = &c.mcp.servers["notes"];
        assert_eq!((s.query_arg.as_str(), s.enabled), ("query", true));
        assert_eq!(s.env, vec!["A".to_string()]);
        let bad = parse("[mcp.servers.\"bad name\"]\ncommand = \"x\"\ntool = \"t\"\n").unwrap_err();
        assert!(bad.2.contains("1–32"), "{bad:?}");
        assert!(
            parse("[mcp.servers.n]\ncommand = \"x\"\n").is_err(),
            "tool is required"
        );
        let typo = parse("[mcp.servers.n]\ncommand = \"x\"\ntool = \"t\"\ncomand = 1\n");
        assert!(typo.is_err(), "a misspelt key is an error, not ignored");
        assert!(Config::default().mcp.servers.is_empty());
    }

    #[test]
    fn advice_names_where_the_base_url_came_from() {
        let fix =
            |text: &str, o: Overrides| Config::parse(text, &o).unwrap().0.provider.base_url_fix();
        let file = "[provider]\nbase_url = \"http://10.0.0.2:11434\"\n";
        assert!(fix(file, Overrides::default()).contains("config file"));
        let flag = Overrides {
            base_url: Some("http://h:1".into()),
            ..Default::default()
        };
        assert_eq!(fix(file, flag), "fix --base-url");
        let env = Overrides {
            ollama_host: Some("h:1".into()),
            ..Default::default()
        };
        assert_eq!(fix("", env.clone()), "fix OLLAMA_HOST");
        // The file wins over OLLAMA_HOST, and the advice follows it.
        assert!(fix(file, env).contains("config file"));
        assert!(fix("", Overrides::default()).contains("--provider openai"));
    }

    #[test]
    fn compiled_defaults_parse_and_match_the_documented_keys() {
        let c = Config::default();
        assert_eq!(c.provider.kind, ProviderKind::Ollama);
        assert_eq!(c.provider.base_url, "http://localhost:11434");
        assert_eq!(c.research.timeout_secs, 8);
        assert_eq!(c.research.per_source, 3);
        assert_eq!(c.research.top_k, 12);
        assert_eq!(c.research.context_chars, 6000);
        assert!(c.sources.wikipedia.enabled);
        assert!(!c.sources.searxng.enabled);
    }

    #[test]
    fn empty_file_gives_defaults() {
        let (c, unknown) = parse("").unwrap();
        assert_eq!(c, Config::default());
        assert!(unknown.is_empty());
    }

    #[test]
    fn partial_file_keeps_other_defaults() {
        let (c, _) = parse("[provider]\nmodel = \"qwen3\"\n[research]\ntop_k = 2\n").unwrap();
        assert_eq!(c.provider.model, "qwen3");
        assert_eq!(c.provider.kind, ProviderKind::Ollama);
        assert_eq!(c.research.top_k, 2);
        assert_eq!(c.research.timeout_secs, 8);
    }

    #[test]
    fn unknown_keys_are_reported_not_fatal() {
        let (c, unknown) = parse("[provider]\nmodle = \"x\"\n[colors]\nbg = 1\n").unwrap();
        assert_eq!(
            unknown,
            vec!["colors".to_string(), "provider.modle".to_string()]
        );
        assert_eq!(c.provider.model, "llama3.2");
    }

    #[test]
    fn syntax_error_names_the_line() {
        let (line, _, msg) = parse("[provider]\nmodel = \"a\"\nkind = \n").unwrap_err();
        assert_eq!(line, 3);
        assert!(!msg.is_empty());
    }

    #[test]
    fn type_error_names_line_and_key() {
        let (line, key, msg) = parse("# c\n[research]\ntop_k = \"five\"\n").unwrap_err();
        assert_eq!(line, 3, "{msg}");
        assert_eq!(key.as_deref(), Some("research.top_k"));
        let (line, key, _) = parse("[provider]\nkind = \"gpt\"\n").unwrap_err();
        assert_eq!((line, key.as_deref()), (2, Some("provider.kind")));
    }

    #[test]
    fn ollama_host_and_flags_override_in_order() {
        let o = Overrides {
            ollama_host: Some("0.0.0.0".into()),
            ..Default::default()
        };
        let (c, _) = Config::parse("", &o).unwrap();
        assert_eq!(c.provider.base_url, "http://127.0.0.1:11434");
        // An explicit base_url in the file beats OLLAMA_HOST.
        let (c, _) = Config::parse("[provider]\nbase_url = \"http://h:1\"\n", &o).unwrap();
        assert_eq!(c.provider.base_url, "http://h:1");
        // Flags beat both.
        let o = Overrides {
            base_url: Some("http://127.0.0.1:9".into()),
            model: Some("m".into()),
            provider: Some(ProviderKind::Openai),
            ollama_host: Some("x:1".into()),
        };
        let (c, _) = Config::parse("[provider]\nbase_url = \"http://h:1\"\n", &o).unwrap();
        assert_eq!(c.provider.base_url, "http://127.0.0.1:9");
        assert_eq!(c.provider.model, "m");
        assert_eq!(c.provider.kind, ProviderKind::Openai);
    }

    #[test]
    fn switching_provider_by_flag_picks_its_default_url() {
        let o = Overrides {
            provider: Some(ProviderKind::Anthropic),
            ..Default::default()
        };
        let (c, _) = Config::parse("", &o).unwrap();
        assert_eq!(c.provider.base_url, "https://api.anthropic.com");
    }

    #[test]
    fn normalizes_ollama_hosts() {
        assert_eq!(
            normalize_ollama_host("localhost:1234"),
            "http://localhost:1234"
        );
        assert_eq!(
            normalize_ollama_host("https://o.example/"),
            "https://o.example"
        );
        assert_eq!(normalize_ollama_host("myhost"), "http://myhost:11434");
    }

    #[test]
    fn roles_are_read_and_checked() {
        let c = Config::parse_text(
            "[roles.terse]\nsystem = \"Be terse.\"\ntemperature = 0.2\nsources = [\"wiki\", \"mcp:notes\"]\n",
        )
        .unwrap();
        assert_eq!(c.roles["terse"].temperature, Some(0.2));
        let e = Config::parse_text("[roles.x]\ntemperature = 5.0\n").unwrap_err();
        assert!(e.contains("roles.x.temperature"), "{e}");
        let e = Config::parse_text("[roles.x]\nsources = [\"bing\"]\n").unwrap_err();
        assert!(e.contains("no source “bing”"), "{e}");
        let e = Config::parse_text("[roles.x]\ncolour = \"red\"\n").unwrap_err();
        assert!(e.contains("colour"), "{e}");
    }
}
