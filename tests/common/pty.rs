//! The real binary on a pseudo-terminal, its screen parsed with vt100:
//! for the pty tests and the start-up benchmark.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

pub struct Screen {
    pub parser: vt100::Parser,
    pub raw: Vec<u8>,
}

pub struct Session {
    pub master: Box<dyn MasterPty + Send>,
    pub child: Box<dyn Child + Send + Sync>,
    pub writer: Arc<Mutex<Box<dyn Write + Send>>>,
    pub screen: Arc<Mutex<Screen>>,
    pub reader: Option<std::thread::JoinHandle<()>>,
}

pub fn size(rows: u16, cols: u16) -> PtySize {
    PtySize {
        rows,
        cols,
        pixel_width: 0,
        pixel_height: 0,
    }
}

/// The real binary with `args`, a colour terminal, `env` and `cwd`.
pub fn command(args: &[&str], env: &[(String, String)], cwd: &std::path::Path) -> CommandBuilder {
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_sleuth"));
    cmd.args(args);
    cmd.env("TERM", "xterm-256color");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.cwd(cwd);
    cmd
}

impl Session {
    pub fn start(sb: &super::Sandbox) -> Self {
        Self::start_with(sb, &[])
    }

    pub fn start_with(sb: &super::Sandbox, args: &[&str]) -> Self {
        Self::spawn(args, &sb.env_pairs(), sb.path())
    }

    /// The real binary on a 24×80 pty, with `env` and `cwd`.
    pub fn spawn(args: &[&str], env: &[(String, String)], cwd: &std::path::Path) -> Self {
        let pair = native_pty_system().openpty(size(24, 80)).unwrap();
        let cmd = command(args, env, cwd);
        let child = pair.slave.spawn_command(cmd).unwrap();
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap();
        let writer = Arc::new(Mutex::new(pair.master.take_writer().unwrap()));
        let screen = Arc::new(Mutex::new(Screen {
            parser: vt100::Parser::new(24, 80, 0),
            raw: Vec::new(),
        }));
        let answer = Arc::clone(&writer);
        let s2 = Arc::clone(&screen);
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        let chunk = &buf[..n];
                        // Answer the primary device attributes query the way
                        // a terminal does, so crossterm's feature probe
                        // returns at once instead of timing out.
                        if chunk.windows(3).any(|w| w == b"\x1b[c") {
                            let _ = answer.lock().unwrap().write_all(b"\x1b[?62;c");
                        }
                        let mut s = s2.lock().unwrap();
                        s.parser.process(chunk);
                        s.raw.extend_from_slice(chunk);
                    }
                }
            }
        });
        Session {
            master: pair.master,
            child,
            writer,
            screen,
            reader: Some(reader),
        }
    }

    /// How many cells on screen have a colour (foreground or background).
    pub fn coloured_cells(&self) -> usize {
        let s = self.screen.lock().unwrap();
        let screen = s.parser.screen();
        let (rows, cols) = screen.size();
        let mut n = 0;
        for r in 0..rows {
            for c in 0..cols {
                if let Some(cell) = screen.cell(r, c)
                    && (cell.fgcolor() != vt100::Color::Default
                        || cell.bgcolor() != vt100::Color::Default)
                {
                    n += 1;
                }
            }
        }
        n
    }

    pub fn contents(&self) -> String {
        self.screen.lock().unwrap().parser.screen().contents()
    }

    pub fn wait_for_text(&self, text: &str) {
        let found = super::wait_for(Duration::from_secs(15), || {
            self.contents().contains(text).then_some(())
        });
        assert!(
            found.is_some(),
            "never saw {text:?}; screen:\n{}",
            self.contents()
        );
    }

    pub fn send(&mut self, bytes: &[u8]) {
        let mut w = self.writer.lock().unwrap();
        w.write_all(bytes).unwrap();
        w.flush().unwrap();
    }

    /// Waits for exit and returns (success, raw output).
    pub fn finish(mut self) -> (bool, Vec<u8>, bool, libc::termios) {
        let status = super::wait_for(Duration::from_secs(15), || self.child.try_wait().unwrap())
            .expect("sleuth did not exit");
        let termios = termios_of(&*self.master);
        drop(self.writer);
        drop(self.master);
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        let s = self.screen.lock().unwrap();
        (
            status.success(),
            s.raw.clone(),
            s.parser.screen().alternate_screen(),
            termios,
        )
    }
}

// Reading the terminal's modes needs libc; only tests do this.
#[allow(unsafe_code)]
pub fn termios_of(master: &dyn MasterPty) -> libc::termios {
    let fd = master.as_raw_fd().expect("pty master fd");
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::tcgetattr(fd, &mut t) }, 0);
    t
}
