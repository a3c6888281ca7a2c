//! Wiring: command line → config → logging → the chosen command, or the TUI
//! with its threads, and their ordered shutdown.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::mpsc;

use anyhow::Context;

use crate::cli::{Cli, Command, DebugCommand};
use crate::config::{Config, Loaded, Overrides};
use crate::emit::Emitter;
use crate::store::writer::WriterOptions;
use crate::ui::UiEvent;
use crate::{agent, commands, logging, paths, store, ui};

pub fn main() -> ExitCode {
    // The library's extractor child: no config, no logging, no terminal —
    // it reads file paths on stdin and answers on stdout (library/child.rs).
    let mut args = std::env::args_os().skip(1);
    if args
        .next()
        .is_some_and(|a| a == crate::library::child::SUBCOMMAND)
    {
        let rest: Vec<String> = args.map(|a| a.to_string_lossy().into_owned()).collect();
        return ExitCode::from(crate::library::child::child_main(&rest));
    }
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == crate::ui::tty_guard::SUBCOMMAND)
    {
        return ExitCode::from(crate::ui::tty_guard::child_main());
    }
    let cli = match parse() {
        Ok(c) => c,
        Err(e) => return usage_error(&e),
    };
    match run(cli) {
        Ok(code) => code,
        // The reader went away (`sleuth sessions | head -2`): what it
        // wanted was written; that is not a failure to report.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "sleuth: {}",
                crate::text::sanitize::one_line(&format!("{e:#}"))
            );
            ExitCode::from(1)
        }
    }
}

/// The command line, noting whether `--db` was given on it: a reading
/// command on a database named there that does not exist is an error
/// (a typo must not look like an empty history); the default path and
/// SLEUTH_DB, set once for every machine, may not exist yet.
fn parse() -> Result<Cli, clap::Error> {
    use clap::{CommandFactory, FromArgMatches};
    let matches = Cli::command().try_get_matches()?;
    let named = matches.value_source("db") == Some(clap::parser::ValueSource::CommandLine);
    crate::commands::db_named_on_command_line(named);
    Cli::from_arg_matches(&matches)
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Help and version go to stdout with 0; a usage error is one line on
/// stderr with exit code 2.
fn usage_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    let _ = writeln!(std::io::stderr(), "sleuth: {}", usage_line(&e.to_string()));
    ExitCode::from(2)
}

/// clap's message on one line with its details kept: the missing
/// argument's name, "a similar argument exists", the possible values
/// (everything before its usage block).
/// The question from its words (`sleuth ask how do tardigrades survive`),
/// or from stdin when it is `-` (`echo q | sleuth ask -`).
fn question_text(words: &[String]) -> anyhow::Result<String> {
    /// A question read from stdin is refused past this size.
    const MAX_STDIN: u64 = 1024 * 1024;
    if let [only] = words
        && only == "-"
    {
        use std::io::Read;
        let mut bytes = Vec::new();
        std::io::stdin()
            .take(MAX_STDIN + 1)
            .read_to_end(&mut bytes)
            .context("cannot read the question from stdin")?;
        if bytes.len() as u64 > MAX_STDIN {
            anyhow::bail!("the question on stdin is longer than 1 MB");
        }
        return Ok(String::from_utf8_lossy(&bytes).into_owned());
    }
    Ok(words.join(" "))
}

fn usage_line(rendered: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for line in rendered.lines() {
        let line = line.trim();
        if line.starts_with("Usage:") || line.starts_with("For more information") {
            break;
        }
        if !line.is_empty() {
            parts.push(line.trim_start_matches("error: "));
        }
    }
    if parts.is_empty() {
        parts.push("invalid arguments");
    }
    let mut line = String::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            line.push_str(if p.starts_with("tip:") { "; " } else { " " });
        }
        line.push_str(p);
    }
    format!("{line} (see `sleuth --help`)")
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let g = &cli.global;
    let overrides = Overrides {
        provider: g.provider.map(Into::into),
        base_url: g.base_url.clone(),
        model: g.model.clone(),
        ollama_host: std::env::var("OLLAMA_HOST").ok(),
    };
    // A config named on purpose that is not there is an error: running on
    // the defaults would send questions to public sources and a local
    // model the user meant to point elsewhere.
    if let Some(p) = g.config.as_deref().filter(|p| !p.exists()) {
        let _ = writeln!(
            std::io::stderr(),
            "sleuth: the config file {} does not exist (named by --config or SLEUTH_CONFIG); \
             create it, or leave the option out to use {}",
            crate::text::sanitize::one_line(&p.to_string_lossy()),
            crate::text::sanitize::one_line(&paths::default_config_path().to_string_lossy())
        );
        return Ok(ExitCode::from(2));
    }
    let config_path = g.config.clone().unwrap_or_else(paths::default_config_path);
    let mut loaded = Config::load(&config_path, &overrides)?;
    if let Some(role) = &g.role {
        loaded.config.ui.role = role.clone();
    }
    // An unknown role stops sleuth before the terminal is touched.
    let role = loaded.config.ui.role.trim();
    if !role.is_empty() && !loaded.config.roles.contains_key(role) {
        let known: Vec<&str> = loaded.config.roles.keys().map(String::as_str).collect();
        anyhow::bail!(
            "no role “{role}” in {} (known: {})",
            loaded.path.display(),
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        );
    }
    let db = g.db.clone().unwrap_or_else(paths::default_db_path);
    loaded.config.library.resolve(&db);
    announce_upgrade(&db);
    let (log_guard, log_path) = match logging::init(&paths::default_log_dir()) {
        Ok((guard, path)) => (Some(guard), Some(path)),
        Err(e) => {
            if cli.command.is_some() {
                let _ = writeln!(std::io::stderr(), "sleuth: warning: logging is off: {e:#}");
            }
            (None, None)
        }
    };
    for k in &loaded.unknown_keys {
        tracing::warn!(key = %k, path = %loaded.path.display(), "unknown config key ignored");
    }
    tracing::info!(db = %db.display(), config = %loaded.path.display(), "starting");
    // Not locked for the whole command: the MCP server writes its
    // protocol to stdout from its own tasks.
    let out = &mut std::io::stdout();
    let code = match cli.command {
        None => {
            run_tui(&loaded, &db, log_path.is_none(), cli.sessions)?;
            ExitCode::SUCCESS
        }
        Some(Command::Ask {
            question,
            no_research,
            deep,
            session,
            resume,
            json,
        }) => {
            let mode = match (no_research, deep) {
                (true, _) => commands::ask::Mode::Chat,
                (_, true) => commands::ask::Mode::Deep,
                _ => commands::ask::Mode::Research,
            };
            let what = match resume {
                Some(run) => commands::ask::What::Resume(run),
                None => commands::ask::What::Ask {
                    question: question_text(&question)?,
                    session,
                    mode,
                },
            };
            commands::ask::run(&loaded.config, &db, what, json, out)?
        }
        Some(Command::Runs {
            limit,
            unfinished,
            json,
        }) => {
            commands::history::runs(&db, limit, unfinished, json, out)?;
            ExitCode::SUCCESS
        }
        Some(Command::Search { query, limit, json }) => {
            commands::history::search(&db, &query, limit, json, out)?;
            ExitCode::SUCCESS
        }
        Some(Command::Sessions { limit, json }) => {
            commands::history::sessions(&db, limit, json, out)?;
            ExitCode::SUCCESS
        }
        Some(Command::Show { session, json }) => {
            commands::history::show(&db, &session, json, out)?;
            ExitCode::SUCCESS
        }
        Some(Command::Export {
            session,
            format,
            output,
        }) => {
            commands::history::export(&db, &session, format, output.as_deref(), out)?;
            ExitCode::SUCCESS
        }
        Some(Command::Mcp { read_only }) => {
            crate::mcp::serve(loaded.config.clone(), &db, read_only)?;
            ExitCode::SUCCESS
        }
        Some(Command::Import { format, file, json }) => {
            commands::import::run(&db, format, &file, json, out)?
        }
        Some(Command::Library(cmd)) => commands::library::run(&loaded.config, cmd, out)?,
        Some(Command::Doctor { json }) => {
            if commands::doctor::run(&loaded, &db, log_path.as_deref(), json, out)? {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Some(Command::Debug(DebugCommand::Generate {
            sessions,
            messages,
            seed,
        })) => {
            commands::debug::generate(&db, sessions, messages, seed, out)?;
            ExitCode::SUCCESS
        }
        Some(Command::Debug(DebugCommand::WriteLoop { count, size })) => {
            commands::debug::write_loop(&db, count, size, out)?;
            ExitCode::SUCCESS
        }
    };
    drop(log_guard);
    Ok(code)
}

fn display_path(p: &Path) -> String {
    let s = p.display().to_string();
    match std::env::var("HOME") {
        Ok(home) if !home.is_empty() && s.starts_with(&home) => format!("~{}", &s[home.len()..]),
        _ => s,
    }
}

/// Starts the store, reader, agent, signal and input threads around the
/// event loop, and stops them in order: loop → agent → writer (flushed) →
/// terminal restored → remaining threads joined.
fn run_tui(
    loaded: &Loaded,
    db: &Path,
    logging_off: bool,
    start_on_sessions: bool,
) -> anyhow::Result<()> {
    let config = &loaded.config;
    // Everything that can fail with a message for the user happens before
    // the terminal is touched.
    let conn = store::open_writer(db)?;
    let (tx, rx) = mpsc::channel::<UiEvent>();
    let writer = store::spawn_writer(
        conn,
        WriterOptions {
            recovery: Some(store::recovery::path_for(db)),
            ..WriterOptions::default()
        },
        Emitter::wrapping(tx.clone(), UiEvent::Store),
    )
    .context("cannot start the store writer")?;
    let reader = store::spawn_reader(
        db.to_path_buf(),
        Emitter::wrapping(tx.clone(), UiEvent::Store),
    )
    .context("cannot start the store reader")?;
    let searcher = store::search::worker::spawn_search(
        db.to_path_buf(),
        Emitter::wrapping(tx.clone(), UiEvent::Store),
    )
    .context("cannot start the search thread")?;
    let agent = agent::spawn_agent(
        config.clone(),
        Emitter::wrapping(tx.clone(), UiEvent::Agent),
    )
    .context("cannot start the agent")?;
    // The library is re-indexed as its folders change, off this thread;
    // it cannot stop the app from starting.
    let library = match std::env::current_exe() {
        Ok(exe) => crate::library::watch::LibraryWorker::spawn(
            config.library.clone(),
            crate::library::vectors::Plan::of(config),
            exe,
            Emitter::wrapping(tx.clone(), UiEvent::Library),
        )
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot start the library worker");
            None
        }),
        Err(e) => {
            tracing::warn!(error = %e, "no path to this binary: the library is not watched");
            None
        }
    };
    ui::terminal::install_panic_hook(tx.clone());
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
        signal_hook::consts::SIGINT,
    ])
    .context("cannot install signal handlers")?;
    let signal_handle = signals.handle();
    let signal_tx = tx.clone();
    let signal_thread = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for s in signals.forever() {
                tracing::info!(signal = s, "signal received; shutting down");
                let _ = signal_tx.send(UiEvent::Signal(s));
            }
        })?;

    let mut status = ui::status::StatusState::new(
        display_path(db),
        format!(
            "{} {}",
            config.provider.kind.as_str(),
            config.provider.model
        ),
    );
    if logging_off {
        status.alert = Some("logging is off (log dir not writable)".into());
    }
    let handles = ui::app::Handles {
        writer: writer.handle(),
        reader: reader.handle(),
        agent: agent.handle(),
        search: searcher.handle(),
    };
    // Writes kept from a run that could not save them go in first, in the
    // background (a still-locked database must not hold up the screen).
    {
        let (w, db) = (writer.handle(), db.to_path_buf());
        std::thread::spawn(move || match store::recovery::replay(&db, &w) {
            Ok(0) => {}
            Ok(n) => tracing::info!(n, "saved the writes kept from the last run"),
            Err(e) => tracing::warn!(error = %e, "writes kept from the last run are still unsaved"),
        });
    }
    ui::markdown::preload();
    let mut guard = ui::terminal::TerminalGuard::enter()?;
    let input = ui::input::spawn(tx.clone()).context("cannot start the input thread")?;
    let mut app = ui::app::App::new(status, handles, config.provider.model.clone());
    app.chat.conv.db = Some(db.to_path_buf());
    app.chat.conv.roles = config.roles.clone();
    if let Err(e) = app.chat.conv.start_with_role(&config.ui.role) {
        tracing::warn!(error = %e, "role");
    }
    app.library_open = config.library.open.clone();
    let remote_host =
        match crate::library::Privacy::of(&config.library, &config.provider.base_url) {
            crate::library::Privacy::Local => None,
            crate::library::Privacy::Allowed { host }
            | crate::library::Privacy::Withheld { host } => Some(host),
        };
    app.chat.library =
        ui::chat::library::LibraryAccess::new(config.library.index.clone(), remote_host);
    app.palette =
        ui::theme::Palette::choose(config.ui.theme, std::env::var_os("NO_COLOR").as_deref());
    if let Ok(dir) = std::env::current_dir() {
        app.export_dir = dir;
    }
    if start_on_sessions {
        app.open_sessions();
    }
    app.chat.conv.policy = crate::conversation::ContextPolicy::from_config(&config.research);
    let tick = std::time::Duration::from_millis(config.ui.tick_ms.max(16));
    let result = ui::event_loop(&mut guard.terminal, &mut app, &rx, tick, Some(&input));

    app.stop_turn();
    drop(app);
    if let Some(l) = library {
        l.shutdown();
    }
    agent.shutdown();
    let kept = writer.shutdown();
    drop(reader);
    drop(searcher);
    drop(guard);
    // After the terminal is restored, so the user sees it.
    if let Some(k) = kept {
        let _ = writeln!(
            std::io::stderr(),
            "sleuth: the database could not be written; {} unsaved write(s) are kept in {} and will be saved on the next start",
            k.writes,
            k.path.display()
        );
    }
    drop(input);
    signal_handle.close();
    let _ = signal_thread.join();
    tracing::info!("stopped");
    result
}

/// Says on stderr, before the terminal is taken, that an older database is
/// about to be upgraded: a large history takes seconds once (schema v6
/// links every message to the one it follows: ~10 s at a million).
fn announce_upgrade(db: &Path) {
    let Ok(conn) = store::open_reader(db) else {
        return;
    };
    let Ok(v) = store::schema::version(&conn) else {
        return;
    };
    if v > 0 && v < store::schema::CURRENT_VERSION {
        let _ = writeln!(
            std::io::stderr(),
            "sleuth: upgrading {} to schema v{} (once; a large history takes a few seconds)…",
            display_path(db),
            store::schema::CURRENT_VERSION
        );
    }
}
