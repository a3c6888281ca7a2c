//! The command line: the TUI by default, plus scriptable subcommands.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::ProviderKind;

#[derive(Debug, Parser)]
#[command(
    name = "sleuth",
    version,
    about = "A terminal research console: ask, get a sourced answer, search all of history."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    /// Start on the sessions screen (the app; F3 or Ctrl+O there too)
    #[arg(long)]
    pub sessions: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// SQLite database file [default: in the platform data dir]
    #[arg(long, global = true, env = "SLEUTH_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Config file [default: config.toml in the platform config dir]
    #[arg(long, global = true, env = "SLEUTH_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// LLM provider, overriding the config file
    #[arg(long, global = true, value_enum)]
    pub provider: Option<ProviderArg>,
    /// Provider base URL, overriding the config file and OLLAMA_HOST
    #[arg(long, global = true, value_name = "URL")]
    pub base_url: Option<String>,
    /// Model name, overriding the config file
    #[arg(long, global = true)]
    pub model: Option<String>,
    /// Start new sessions with this role from the config ([roles.NAME]:
    /// system prompt, model, temperature, sources)
    #[arg(long, global = true, value_name = "NAME")]
    pub role: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ProviderArg {
    Ollama,
    Openai,
    Anthropic,
}

impl From<ProviderArg> for ProviderKind {
    fn from(p: ProviderArg) -> Self {
        match p {
            ProviderArg::Ollama => ProviderKind::Ollama,
            ProviderArg::Openai => ProviderKind::Openai,
            ProviderArg::Anthropic => ProviderKind::Anthropic,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Ask one question: the answer streams to stdout and is saved
    Ask {
        /// The question; its words need no quotes, `-` reads it from stdin
        #[arg(required_unless_present = "resume", num_args = 1..)]
        question: Vec<String>,
        /// Plain chat: answer from the model alone, no sources
        #[arg(long, conflicts_with = "deep")]
        no_research: bool,
        /// A deep run: plan sub-questions, search in rounds, follow leads,
        /// write a cited report (budgets under [deep] in the config)
        #[arg(long)]
        deep: bool,
        /// Continue this session (id or `latest`) instead of starting one
        #[arg(long, value_name = "ID")]
        session: Option<String>,
        /// Continue a stopped, failed or killed deep run (its id from
        /// `sleuth runs`, or `last`) from its last completed step, reading
        /// the documents it stored instead of fetching them again
        #[arg(long, value_name = "RUN", conflicts_with_all = ["question", "no_research", "session"])]
        resume: Option<String>,
        /// Print one JSON object at the end instead of streaming text
        #[arg(long)]
        json: bool,
    },
    /// List deep runs, most recently active first (resume one with
    /// `sleuth ask --resume ID`)
    Runs {
        /// How many runs to list
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Only runs that did not complete
        #[arg(long)]
        unfinished: bool,
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// List sessions, most recently active first
    Sessions {
        /// How many sessions to list
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Search all of history: words (all must match), "phrases", -exclude,
    /// role:user|assistant, session:NAME, before:/after:YYYY-MM-DD
    Search {
        query: String,
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Print a session's transcript with its sources
    Show {
        /// Session id (as `sleuth sessions` prints it), or `latest`
        session: String,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Export a session as Markdown (default) or JSON
    Export {
        /// Session id, or `latest`
        session: String,
        #[arg(long, value_enum, default_value_t = ExportFormat::Markdown)]
        format: ExportFormat,
        /// Write to FILE instead of stdout
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Serve history and research to MCP clients over stdio (Claude Code,
    /// Codex, Cursor…): tools search_history, list_sessions, show_session,
    /// research; sessions as sleuth://session/ID resources
    Mcp {
        /// Only read the history: no `research` tool, nothing written
        #[arg(long)]
        read_only: bool,
    },
    /// Bring in conversations from ChatGPT or Claude (their export's
    /// conversations.json or .zip) or simonw/llm (its logs.db); running it
    /// again adds only what is new
    Import {
        #[arg(value_enum)]
        format: crate::import::Format,
        /// The export file, zip or database
        file: PathBuf,
        /// Print a JSON summary
        #[arg(long)]
        json: bool,
    },
    /// Your papers and notes as a research source: folders of PDF,
    /// Markdown, Org, text, HTML, EPUB and DOCX files, indexed on this machine
    #[command(subcommand)]
    Library(LibraryCommand),
    /// Check config, database, logs, provider and sources
    Doctor {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Developer tools (benchmarks, crash tests)
    #[command(hide = true, subcommand)]
    Debug(DebugCommand),
}

#[derive(Debug, Subcommand)]
pub enum LibraryCommand {
    /// Add folders (or files) and index them now
    Add {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Leave out files matching this glob (repeatable), e.g. "**/drafts/**"
        #[arg(long, value_name = "GLOB")]
        exclude: Vec<String>,
        /// Print a JSON summary
        #[arg(long)]
        json: bool,
    },
    /// The folders in the library, with their files and passages
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a folder; its passages leave the index
    Remove {
        path: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Scan again; read every file under PATH (default: all) even if unchanged
    Reindex {
        path: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Files indexed, passages, bytes, last scan, and every file not indexed with the reason
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Search the library's passages (file, page or section, snippet)
    Search {
        query: String,
        #[arg(long, default_value_t = 10)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ExportFormat {
    Markdown,
    Json,
    /// The cited documents as BibTeX entries
    Bibtex,
    /// The cited documents as CSL JSON (Zotero, pandoc)
    CslJson,
    /// The cited documents as RIS records
    Ris,
    /// Markdown with [@key] citations for `pandoc --citeproc`, the
    /// bibliography in it (stdout) or beside it as FILE.json (--output)
    Pandoc,
}

#[derive(Debug, Subcommand)]
pub enum DebugCommand {
    /// Fill the database with a deterministic synthetic history
    Generate {
        #[arg(long, default_value_t = 1000)]
        sessions: u64,
        #[arg(long, default_value_t = 100_000)]
        messages: u64,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Append messages through the store writer, printing each id once its
    /// write is committed (crash and contention tests use it)
    WriteLoop {
        /// Messages to write; 0 means until killed
        #[arg(long, default_value_t = 0)]
        count: u64,
        /// Bytes of content per message
        #[arg(long, default_value_t = 200)]
        size: usize,
    },
}
