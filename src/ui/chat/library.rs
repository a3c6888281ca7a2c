//! Asking before library text leaves the machine: the first time a turn
//! withholds the library because the model is remote, the chat says so
//! and how to answer; `/library allow` records the answer for that host
//! (beside the index, off this thread), `/library deny` takes it back.

use std::path::PathBuf;

use super::ChatScreen;
use crate::agent::research::{SourceKind, SourceOutcome, SourceStatus};
use crate::ui::transcript::CellKind;

/// The library and the remote host its text would go to.
#[derive(Debug, Clone, Default)]
pub struct LibraryAccess {
    pub index: PathBuf,
    /// The model's host when it is not on this machine.
    pub remote_host: Option<String>,
    /// Asked already in this run of the app.
    asked: bool,
}

impl LibraryAccess {
    pub fn new(index: PathBuf, remote_host: Option<String>) -> Self {
        Self {
            index,
            remote_host,
            asked: false,
        }
    }
}

impl ChatScreen {
    /// A source's report: a withheld library is asked about, once.
    pub(super) fn library_withheld(&mut self, status: &SourceStatus) {
        if status.source != SourceKind::Library || status.outcome != SourceOutcome::Withheld {
            return;
        }
        let Some(host) = self.library.remote_host.clone() else {
            return;
        };
        if std::mem::replace(&mut self.library.asked, true) {
            return;
        }
        self.notice(
            CellKind::Notice,
            &format!(
                "Your library was not searched: its passages would go to the model at {host}, \
                 which is not on this machine. Type /library allow to allow {host} from now on \
                 (Ctrl+G then asks this question again with your library), or /library deny to \
                 keep it here."
            ),
        );
    }

    /// `/library allow` or `/library deny`; None for any other input.
    pub(super) fn library_command(&mut self) -> Option<super::ChatOutcome> {
        let text = self.input.lines().join("\n");
        let allow = match text.trim() {
            "/library allow" => true,
            "/library deny" => false,
            t if t == "/library" || t.starts_with("/library ") => {
                self.say("/library allow lets library passages go to this remote model; /library deny keeps them here");
                return Some(super::ChatOutcome::Changed);
            }
            _ => return None,
        };
        let Some(host) = self.library.remote_host.clone() else {
            self.say("the model is on this machine: library passages never leave it");
            self.input = super::new_input(self.conv.research);
            return Some(super::ChatOutcome::Changed);
        };
        // A small file, written off the render thread; a failure is logged
        // and the next turn asks again.
        let index = self.library.index.clone();
        let h = host.clone();
        let _ = std::thread::Builder::new()
            .name("library-consent".into())
            .spawn(move || {
                if let Err(e) = crate::library::consent::set(&index, &h, allow) {
                    tracing::warn!(error = %e, "library consent not saved");
                }
            });
        self.library.asked = true;
        self.input = super::new_input(self.conv.research);
        self.say(if allow {
            format!("library passages may now go to {host}; Ctrl+G asks the last question again")
        } else {
            format!("library passages stay on this machine; {host} does not get them")
        });
        Some(super::ChatOutcome::Changed)
    }
}
