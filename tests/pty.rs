//! The real binary in a pseudo-terminal: it starts, draws, takes a line,
//! quits, and leaves the terminal as it found it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)] // test code: a panic is the failure report

mod common;
#[path = "common/server.rs"]
mod server;

use std::time::Duration;

use common::pty::{Session, size};

fn assert_restored(ok: bool, raw: &[u8], alt: bool, t: libc::termios) {
    assert!(
        ok,
        "sleuth exited with failure; output:\n{}",
        String::from_utf8_lossy(raw)
    );
    assert!(!alt, "still on the alternate screen");
    let leave = b"\x1b[?1049l";
    assert!(
        raw.windows(leave.len()).any(|w| w == leave),
        "never left the alternate screen"
    );
    assert!(
        t.c_lflag & libc::ICANON != 0,
        "terminal left in raw mode (no ICANON)"
    );
    assert!(t.c_lflag & libc::ECHO != 0, "terminal left without echo");
}

#[test]
fn starts_takes_a_line_and_quits_on_ctrl_c_with_the_terminal_restored() {
    let sb = common::Sandbox::new();
    let mut s = Session::start(&sb);
    s.wait_for_text("Ask a question");
    s.wait_for_text("offline");
    s.send(b"hello from a pty");
    s.wait_for_text("hello from a pty");
    s.send(b"\r");
    s.wait_for_text("you  ");
    // The status bar now names the session after the first line.
    s.wait_for_text("│ hello from a pty │");
    s.send(b"\x03");
    let (ok, raw, alt, t) = s.finish();
    assert_restored(ok, &raw, alt, t);
    let conn = sleuth::store::open_reader(&sb.db()).unwrap();
    let list = sleuth::store::queries::list_sessions(&conn, 0, 5, None).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].session.title, "hello from a pty");
    let t = sleuth::store::queries::transcript(&conn, list[0].session.id).unwrap();
    assert_eq!(t[0].message.content, "hello from a pty");
    assert_eq!(t[0].message.role, sleuth::domain::Role::User);
}

#[test]
fn ctrl_z_undoes_a_cleared_draft_and_does_not_suspend() {
    // Issue 15, bug 14: help listed Ctrl+Z but it did nothing, and a Ctrl+U
    // clear could not be undone.
    let sb = common::Sandbox::new();
    let mut s = Session::start(&sb);
    s.wait_for_text("Ask a question");
    s.send(b"a long draft worth keeping");
    s.wait_for_text("a long draft worth keeping");
    s.send(b"\x15"); // Ctrl+U
    let cleared = common::wait_for(Duration::from_secs(10), || {
        (!s.contents().contains("worth keeping")).then_some(())
    });
    assert!(cleared.is_some(), "Ctrl+U did not clear:\n{}", s.contents());
    s.send(b"\x1a"); // Ctrl+Z
    s.wait_for_text("a long draft worth keeping");
    s.send(b"\x1bz"); // Alt+Z redoes the clear
    let again = common::wait_for(Duration::from_secs(10), || {
        (!s.contents().contains("worth keeping")).then_some(())
    });
    assert!(again.is_some(), "Alt+Z did not redo:\n{}", s.contents());
    s.send(b"\x03");
    let (ok, raw, alt, t) = s.finish();
    assert_restored(ok, &raw, alt, t);
}

#[test]
fn ctrl_e_writes_the_draft_in_the_users_editor() {
    // The "editor" is a script: it records the draft it was given and
    // writes a longer question in its place, as a person would.
    let sb = common::Sandbox::new();
    let seen = sb.path().join("seen.txt");
    let script = sb.path().join("editor.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ncp \"$1\" '{}'\nprintf 'first line\\nsecond line from the editor\\n' > \"$1\"\n",
            seen.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut env = sb.env_pairs();
    env.push(("VISUAL".into(), script.display().to_string()));
    let mut s = Session::spawn(&[], &env, sb.path());
    s.wait_for_text("Ask a question");
    s.send(b"my draft");
    s.wait_for_text("my draft");
    s.send(b"\x05"); // Ctrl+E
    s.wait_for_text("second line from the editor");
    assert_eq!(std::fs::read_to_string(&seen).unwrap(), "my draft");
    // The app has the keyboard back: typing reaches the input.
    s.send(b"!");
    s.wait_for_text("second line from the editor!");
    s.send(b"\x03");
    let (ok, raw, alt, t) = s.finish();
    assert_restored(ok, &raw, alt, t);
}

#[test]
fn a_bracketed_paste_with_carriage_returns_keeps_its_lines() {
    // What terminals send for a pasted newline is CR (issue 15, bug 1).
    let sb = common::Sandbox::new();
    let mut s = Session::start(&sb);
    s.wait_for_text("Ask a question");
    s.send(b"\x1b[200~alpha line\rbeta line\r\ngamma line\x1b[201~");
    s.wait_for_text("gamma line");
    let screen = s.contents();
    let rows: Vec<&str> = screen.lines().filter(|l| l.contains(" line")).collect();
    assert_eq!(rows.len(), 3, "one row per pasted line:\n{screen}");
    assert!(!screen.contains("alpha linebeta"), "{screen}");
    s.send(b"\x03");
    let (ok, raw, alt, t) = s.finish();
    assert_restored(ok, &raw, alt, t);
}

#[test]
fn sigterm_restores_the_terminal_and_keeps_what_was_sent() {
    let sb = common::Sandbox::new();
    let mut s = Session::start(&sb);
    s.wait_for_text("Ask a question");
    s.send(b"saved before sigterm\r");
    s.wait_for_text("you  ");
    let pid = s.child.process_id().unwrap() as i32;
    #[allow(unsafe_code)] // sending a signal needs libc; only tests do this
    let sent = unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(sent, 0);
    let (ok, raw, alt, t) = s.finish();
    assert_restored(ok, &raw, alt, t);
    let conn = sleuth::store::open_reader(&sb.db()).unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM messages WHERE role = 'user' AND content = 'saved before sigterm'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn resizing_down_to_one_cell_and_back_does_not_crash() {
    let sb = common::Sandbox::new();
    let mut s = Session::start(&sb);
    s.wait_for_text("Ask a question");
    for (r, c) in [(1, 1), (2, 3), (5, 20), (1, 80), (24, 1), (24, 80)] {
        // Only the pty shrinks: the test's own emulator (vt100) has
        // overflow bugs at 1×1, and it need not match to read the screen.
        s.master.resize(size(r, c)).unwrap();
        std::thread::sleep(Duration::from_millis(60));
    }
    s.send(b"still alive");
    s.wait_for_text("still alive");
    s.send(b"\x11"); // Ctrl+Q
    let (ok, raw, alt, t) = s.finish();
    assert_restored(ok, &raw, alt, t);
}

#[test]
fn streams_an_answer_cancels_with_esc_and_asks_again() {
    use server::{Chunk, End, Reply, Server};
    // A slow answer (a token every 40 ms), then a fast recorded one.
    let mut slow = Vec::new();
    for i in 0..150 {
        slow.push(Chunk::Bytes(
            format!("{{\"message\":{{\"content\":\"w{i} \"}},\"done\":false}}\n").into_bytes(),
        ));
        slow.push(Chunk::Delay(40));
    }
    let server = Server::routed(vec![
        (
            "/api/tags",
            vec![Reply::new(
                200,
                "application/json",
                server::fixture("ollama_tags.json"),
            )],
        ),
        (
            "/api/chat",
            vec![
                Reply {
                    status: 200,
                    headers: vec![("Content-Type".into(), "application/x-ndjson".into())],
                    body: slow,
                    end: End::Close,
                },
                Reply::stream(
                    "ollama_chat_stream_recorded.ndjson",
                    "application/x-ndjson",
                    64,
                    5,
                ),
            ],
        ),
    ]);
    let sb = common::Sandbox::new();
    let url = server.url();
    let mut s = Session::start_with(&sb, &["--base-url", &url]);
    s.wait_for_text("● ollama llama3.2");
    // Plain chat mode: this test is about streaming, not sources.
    s.send(b"\x14");
    s.wait_for_text("chat (Ctrl+T: research)");
    s.send(b"first question\r");
    s.wait_for_text("w3 ");
    s.send(b"\x1b");
    s.wait_for_text("interrupted");
    let closed = common::wait_for(Duration::from_secs(3), || {
        server
            .client_gone
            .load(std::sync::atomic::Ordering::SeqCst)
            .then_some(())
    });
    assert!(closed.is_some(), "the stream was not closed on Esc");
    s.send(b"second question\r");
    s.wait_for_text("Sure, here");
    s.wait_for_text("tok/s");
    s.send(b"\x03");
    let (ok, raw, alt, t) = s.finish();
    assert_restored(ok, &raw, alt, t);
    let conn = sleuth::store::open_reader(&sb.db()).unwrap();
    let list = sleuth::store::queries::list_sessions(&conn, 0, 5, None).unwrap();
    let t = sleuth::store::queries::transcript(&conn, list[0].session.id).unwrap();
    let statuses: Vec<&str> = t.iter().map(|m| m.message.status.as_str()).collect();
    assert_eq!(
        statuses,
        ["complete", "interrupted", "complete", "complete"]
    );
    assert!(t[1].message.content.starts_with("w0 w1 w2 w3"));
    assert!(t[3].message.content.starts_with("Sure, here"));
    // The second request carried the interrupted answer as context.
    let chats: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/chat")
        .collect();
    let msgs = chats[1].json()["messages"].as_array().unwrap().len();
    assert_eq!(msgs, 4, "system + question + partial answer + question");
}

#[test]
fn sessions_flag_opens_history_and_search_jumps_into_a_session() {
    let sb = common::Sandbox::new();
    common::fixture_db(&sb.db());
    let mut s = Session::start_with(&sb, &["--sessions"]);
    s.wait_for_text("Sessions (2)");
    s.wait_for_text("SQLite WAL mode");
    // `/` searches from the sessions screen; results arrive as you type.
    s.send(b"/");
    s.wait_for_text("Search all history");
    s.send(b"lifetim");
    s.wait_for_text("1 result");
    s.wait_for_text("It tracks lifetimes");
    s.send(b"\r");
    s.wait_for_text("◀ search match");
    s.wait_for_text("match 1/1");
    // Found mode does not eat the first letter of a question (issue 15,
    // bug 2: "now" became "ow").
    s.send(b"now tell me more");
    s.wait_for_text("now tell me more");
    s.send(b"\x03");
    let (ok, raw, alt, t) = s.finish();
    assert_restored(ok, &raw, alt, t);
}

#[test]
fn a_terminal_that_hangs_up_ends_the_app_instead_of_spinning() {
    use portable_pty::native_pty_system;
    use std::io::{Read, Write};
    let sb = common::Sandbox::new();
    let pair = native_pty_system().openpty(size(24, 80)).unwrap();
    let cmd = common::pty::command(&[], &sb.env_pairs(), sb.path());
    let mut child = pair.slave.spawn_command(cmd).unwrap();
    drop(pair.slave);
    let mut writer = pair.master.take_writer().unwrap();
    let mut reader = pair.master.try_clone_reader().unwrap();
    // Read until the first frame, answering the terminal probe, then let
    // go of every handle on the master: the terminal is gone (SIGHUP, EIO).
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
            if buf[..n].windows(3).any(|w| w == b"\x1b[c") {
                let _ = tx.send(true);
            }
            // The first frame (unstyled blanks are not written, so the
            // words of a sentence arrive apart under NO_COLOR).
            if String::from_utf8_lossy(&seen).contains("question") {
                break;
            }
        }
        let _ = tx.send(false);
    });
    while rx.recv_timeout(Duration::from_secs(15)).unwrap() {
        writer.write_all(b"\x1b[?62;c").unwrap();
    }
    drop(writer);
    drop(pair.master);
    let status = common::wait_for(Duration::from_secs(10), || child.try_wait().unwrap());
    if status.is_none() {
        let _ = child.kill();
    }
    assert!(
        status.is_some(),
        "sleuth kept running after its terminal hung up"
    );
    let log =
        std::fs::read_to_string(sb.path().join("state/sleuth/sleuth.log")).unwrap_or_default();
    assert!(!log.contains("panic"), "{log}");
}

#[test]
fn no_color_in_the_environment_draws_without_colour() {
    let sb = common::Sandbox::new();
    // The sandbox sets NO_COLOR=1.
    let mut s = Session::start(&sb);
    s.wait_for_text("Ask a question");
    s.wait_for_text("offline");
    assert_eq!(s.coloured_cells(), 0, "{}", s.contents());
    s.send(b"\x03");
    let (ok, raw, alt, t) = s.finish();
    assert_restored(ok, &raw, alt, t);
    // An empty NO_COLOR is not set (no-color.org): colours are back.
    let mut env = sb.env_pairs();
    env.retain(|(k, _)| k != "NO_COLOR");
    env.push(("NO_COLOR".into(), String::new()));
    let mut s = Session::spawn(&[], &env, sb.path());
    s.wait_for_text("Ask a question");
    s.wait_for_text("offline");
    assert!(s.coloured_cells() > 0, "{}", s.contents());
    s.send(b"\x03");
    let (ok, raw, alt, t) = s.finish();
    assert_restored(ok, &raw, alt, t);
}

#[test]
fn recall_selection_and_the_palette_through_the_real_terminal() {
    let sb = common::Sandbox::new();
    common::fixture_db(&sb.db());
    let mut s = Session::start(&sb);
    s.wait_for_text("Ask a question");
    // ↑ recalls the newest question of every session, ↑ again the one before.
    s.send(b"\x1b[A");
    s.wait_for_text("What is WAL mode?");
    s.send(b"\x1b[A");
    s.wait_for_text("How does the borrow checker work?");
    s.send(b"\x15"); // Ctrl+U
    // Ctrl+L resumes the newest session; Ctrl+↑ selects its last message.
    s.send(b"\x0c");
    s.wait_for_text("│ SQLite WAL mode");
    s.send(b"\x1b[1;5A");
    s.wait_for_text("selected: y copy");
    s.send(b"y");
    s.wait_for_text("copied the message");
    s.send(b"\x1b");
    // A lone Esc, read before the next key (else Esc+key is Alt+key).
    let left = common::wait_for(Duration::from_secs(10), || {
        (!s.contents().contains("selected: y copy")).then_some(())
    });
    assert!(left.is_some(), "Esc did not leave the selection");
    // Ctrl+P: the palette runs "new session" by name.
    s.send(b"\x10");
    s.wait_for_text("Run:");
    s.send(b"new session");
    s.send(b"\r");
    s.wait_for_text("│ new session");
    assert!(
        !s.contents().contains("What is WAL mode?"),
        "{}",
        s.contents()
    );
    s.send(b"\x03");
    let (ok, raw, alt, t) = s.finish();
    assert_restored(ok, &raw, alt, t);
    // The copy went to the terminal's clipboard (OSC 52).
    let raw = String::from_utf8_lossy(&raw);
    assert!(raw.contains("\x1b]52;c;"), "no OSC 52 in the output");
}

#[test]
fn import_on_a_terminal_shows_progress_then_the_summary() {
    let sb = common::Sandbox::new();
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/import/chatgpt-conversations.json");
    let file = file.to_string_lossy().into_owned();
    let s = Session::spawn(&["import", "chatgpt", &file], &sb.env_pairs(), sb.path());
    s.wait_for_text("Imported 3 conversations");
    let (ok, raw, _, _) = s.finish();
    assert!(ok, "import failed");
    let raw = String::from_utf8_lossy(&raw);
    assert!(
        raw.contains("importing chatgpt:"),
        "no progress line: {raw}"
    );
    // The progress line is cleared before the summary.
    assert!(raw.contains("\r\x1b[2K"), "{raw}");
}

/// Issue 24, item 1: a sleuth that dies without restoring the terminal —
/// an abort (what a stack overflow or a failed allocation ends in) or
/// SIGKILL, which no handler inside it can catch — leaves it restored by
/// its guard process: cooked mode, the main screen, a line saying so.
#[test]
fn an_abort_or_sigkill_leaves_the_terminal_restored_by_the_guard() {
    for sig in [libc::SIGABRT, libc::SIGKILL] {
        let sb = common::Sandbox::new();
        let mut s = Session::start(&sb);
        s.wait_for_text("Ask a question");
        let raw = common::pty::termios_of(&*s.master);
        assert_eq!(
            raw.c_lflag & libc::ICANON,
            0,
            "not in raw mode to begin with"
        );
        let pid = s.child.process_id().unwrap() as i32;
        #[allow(unsafe_code)] // sending a signal needs libc; only tests do this
        let sent = unsafe { libc::kill(pid, sig) };
        assert_eq!(sent, 0);
        let status = common::wait_for(Duration::from_secs(10), || s.child.try_wait().unwrap())
            .expect("sleuth did not die");
        assert!(!status.success());
        let cooked = common::wait_for(Duration::from_secs(10), || {
            let t = common::pty::termios_of(&*s.master);
            (t.c_lflag & libc::ICANON != 0 && t.c_lflag & libc::ECHO != 0).then_some(())
        });
        assert!(cooked.is_some(), "signal {sig}: the terminal was left raw");
        s.wait_for_text("it was put back");
        assert!(
            !s.screen.lock().unwrap().parser.screen().alternate_screen(),
            "signal {sig}: still on the alternate screen"
        );
    }
}
