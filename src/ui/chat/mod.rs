//! The chat screen: transcript, input, the session being written and the
//! turn being streamed.

mod found;
pub mod library;
mod recall;
mod select;
mod turn;
mod view;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers, MouseEventKind};
use ratatui_textarea::TextArea;

use super::app::Handles;
use super::keymap::Chat;
use super::transcript::{Cell, CellKind, Transcript};
use crate::conversation::Conversation;
use crate::domain::{MessageId, RunStatus, RunTree, Session, SessionId, StoredMessage};
use crate::text::sanitize::{one_line, sanitize};

pub struct ChatScreen {
    /// The conversation: session, history, the turn being answered.
    pub conv: Conversation,
    pub transcript: Transcript,
    pub input: TextArea<'static>,
    /// Title of the most recent stored session, offered on the empty screen.
    pub resumable: Option<(SessionId, String)>,
    /// Tokens and speed of the last answer, for the status bar.
    pub last_stats: Option<String>,
    /// Opened from a search: the matches and the one shown.
    pub found: Option<found::Found>,
    /// What the last key did when it shows nowhere else ("copied…",
    /// "nothing to regenerate"); the status bar shows it until the next key.
    pub flash: Option<String>,
    /// The streaming turn's state for the status bar.
    live: turn::Live,
    /// ↑/↓ through earlier questions.
    recall: recall::Recall,
    /// The message selected (Ctrl+↑).
    selection: Option<MessageId>,
    /// The question being edited: sending starts a new branch from it.
    editing: Option<MessageId>,
    /// The place the next question or answer takes among its siblings.
    new_branch: Option<crate::domain::Branch>,
    /// Whether library text may go to the model, and asking about it.
    pub library: library::LibraryAccess,
}

pub use crate::conversation::ContextPolicy;
pub use recall::PAGE as RECALL_PAGE;
pub use select::Rewound;

/// What the chat screen asks the app to do after an event.
#[derive(Debug, PartialEq)]
pub enum ChatOutcome {
    Ignored,
    Changed,
    /// Load this session's transcript through the reader.
    Resume(SessionId),
    /// Put this text on the clipboard.
    Copy(String),
    OpenModelPicker,
    /// Show these sources (the last cited answer's) in the detail view.
    /// The sources of an answer, with its claim check when it has one.
    ShowSources(
        Vec<crate::domain::Source>,
        Option<crate::domain::claims::ClaimCheck>,
    ),
    /// Read this deep run from the store and continue it (`/resume`).
    ResumeRun(MessageId),
    /// Open this draft in the user's editor (Ctrl+E).
    EditDraft(String),
    /// Read a page of earlier questions (older than this one) for ↑.
    ReadQuestions(Option<MessageId>),
    /// Open the earlier-questions search (Ctrl+R).
    SearchQuestions,
    /// The sibling `step` places from `from` was asked for: once the
    /// switch is written, read the transcript back and select the message
    /// at `pos`.
    SwitchBranch {
        session: SessionId,
        from: MessageId,
        step: i8,
        pos: usize,
    },
    /// Read the transcript back (once pending writes are in) and go on
    /// from before `at`.
    Rewind {
        at: MessageId,
        then: Rewound,
    },
}

impl ChatScreen {
    pub fn new(model: String) -> Self {
        Self {
            conv: Conversation::new(model, ContextPolicy::default()),
            transcript: Transcript::default(),
            input: new_input(true),
            resumable: None,
            last_stats: None,
            found: None,
            flash: None,
            live: turn::Live::default(),
            recall: recall::Recall::default(),
            selection: None,
            editing: None,
            new_branch: None,
            library: library::LibraryAccess::default(),
        }
    }

    /// The draft back from the editor replaces the input (an undoable
    /// edit); a failure is said and the draft kept.
    pub fn edited(&mut self, result: Result<String, String>) {
        match result {
            Ok(text) => {
                let text = text.replace("\r\n", "\n").replace('\r', "\n");
                self.input.select_all();
                self.input.cut();
                self.input.insert_str(sanitize(&text));
            }
            Err(e) => self.say(e),
        }
    }

    /// Tells the user what a key did (or why it did nothing).
    pub fn say(&mut self, text: impl Into<String>) {
        self.flash = Some(text.into());
    }

    /// The session's title, and its settings when not the default.
    pub fn session_label(&self) -> String {
        let title = match self.conv.session() {
            Some(s) => one_line(&s.title),
            None => "new session".into(),
        };
        match crate::conversation::settings::tag(self.conv.settings()) {
            Some(tag) => format!("{title} · {}", one_line(&tag)),
            None => title,
        }
    }

    pub fn input_is_empty(&self) -> bool {
        self.input.lines().iter().all(|l| l.is_empty())
    }

    pub fn handle_event(&mut self, ev: &Event, h: &Handles) -> ChatOutcome {
        match ev {
            Event::Key(k) => self.handle_key(*k, h),
            Event::Paste(text) => {
                // Terminals send a pasted newline as CR (or CRLF); the
                // sanitizer would drop a bare CR and glue the lines.
                let text = text.replace("\r\n", "\n").replace('\r', "\n");
                self.input.insert_str(sanitize(&text));
                ChatOutcome::Changed
            }
            Event::Mouse(m) => match m.kind {
                MouseEventKind::ScrollUp => {
                    self.transcript.scroll_up(3);
                    ChatOutcome::Changed
                }
                MouseEventKind::ScrollDown => {
                    self.transcript.scroll_down(3);
                    ChatOutcome::Changed
                }
                _ => ChatOutcome::Ignored,
            },
            Event::FocusGained | Event::FocusLost => ChatOutcome::Ignored,
            Event::Resize(..) => ChatOutcome::Changed,
        }
    }

    /// A key on the chat screen: an action of the chat key table, or
    /// typing for the input.
    fn handle_key(&mut self, key: KeyEvent, h: &Handles) -> ChatOutcome {
        if self.selection.is_some()
            && let Some(o) = self.select_key(key, h)
        {
            return o;
        }
        match super::keymap::lookup(super::keymap::CHAT, &key) {
            Some(action) => match self.act(action, &key, h) {
                Some(outcome) => outcome,
                None => self.type_key(key),
            },
            None => self.type_key(key),
        }
    }

    /// What a chat action does; None when it does not apply now and the
    /// key is the input's (Esc with no answer, Home in a draft).
    fn act(&mut self, action: Chat, key: &KeyEvent, h: &Handles) -> Option<ChatOutcome> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match action {
            Chat::Send => {
                if let Some(o) = self.resume_command() {
                    return Some(o);
                }
                if let Some(o) = self.settings_command(h) {
                    return Some(o);
                }
                if let Some(o) = self.library_command() {
                    return Some(o);
                }
                if let Some(at) = self.editing
                    && self.conv.active().is_none()
                    && !self.input_is_empty()
                {
                    return Some(ChatOutcome::Rewind {
                        at,
                        then: Rewound::Send,
                    });
                }
                self.submit(h);
            }
            Chat::Newline => self.input.insert_newline(),
            Chat::Stop if self.conv.active().is_some() => self.cancel(h),
            Chat::Stop if self.editing.is_some() => {
                self.editing = None;
                self.say("not editing: Enter sends the input as a new question");
            }
            Chat::Stop => return None,
            Chat::NewSession => self.new_session(h),
            Chat::Regenerate => self.regenerate(h),
            Chat::Copy => {
                return Some(match self.copy_text() {
                    Some(t) => {
                        let n = t.chars().count();
                        self.say(format!("copied the answer ({n} chars) to the clipboard"));
                        ChatOutcome::Copy(t)
                    }
                    None => {
                        self.say("no answer to copy yet");
                        ChatOutcome::Changed
                    }
                });
            }
            Chat::CopyBibliography => {
                let answers = self.transcript.cells().iter().map(|c| c.sources());
                let (refs, _) = crate::references::of_answers(answers);
                return Some(if refs.is_empty() {
                    self.say("no cited sources in this session yet");
                    ChatOutcome::Changed
                } else {
                    self.say(format!(
                        "copied the bibliography ({}, BibTeX) to the clipboard",
                        crate::text::plural(refs.len() as u64, "entry")
                    ));
                    ChatOutcome::Copy(crate::references::bibtex::write(&refs))
                });
            }
            Chat::PickModel => return Some(ChatOutcome::OpenModelPicker),
            Chat::Editor => return Some(ChatOutcome::EditDraft(self.input.lines().join("\n"))),
            Chat::Trees if !self.transcript.toggle_trees() => return Some(ChatOutcome::Ignored),
            Chat::Trees => {}
            Chat::ToggleMode => {
                self.conv.research = !self.conv.research;
                self.input
                    .set_placeholder_text(placeholder(self.conv.research));
            }
            Chat::Sources => {
                return Some(match self.transcript.last_cited() {
                    Some(c) => ChatOutcome::ShowSources(c.sources().to_vec(), c.claims().cloned()),
                    None => {
                        self.say("no answer with sources in this session yet");
                        ChatOutcome::Changed
                    }
                });
            }
            Chat::ResumeLast => {
                return Some(match &self.resumable {
                    Some((id, _)) if self.conv.session().is_none() => ChatOutcome::Resume(*id),
                    _ => ChatOutcome::Ignored,
                });
            }
            // Clearing is an edit like any other, so Ctrl+Z brings the
            // draft back (issue 15, bug 14); Alt+Z redoes.
            Chat::Clear => {
                self.input.select_all();
                self.input.cut();
            }
            Chat::Undo => {
                self.input.undo();
            }
            Chat::Redo => {
                self.input.redo();
            }
            // On the input's first line ↑ recalls; elsewhere it moves the
            // cursor (a multi-line draft).
            Chat::RecallOlder if self.input.cursor().0 == 0 => {
                let step = self.recall.older(&self.input.lines().join("\n"));
                return Some(self.recall_step(step));
            }
            Chat::RecallNewer
                if self.recall.active()
                    && self.input.cursor().0 + 1 >= self.input.lines().len() =>
            {
                let step = self.recall.newer();
                return Some(self.recall_step(step));
            }
            Chat::RecallOlder | Chat::RecallNewer => return None,
            Chat::SearchQuestions => return Some(ChatOutcome::SearchQuestions),
            Chat::Select => return Some(self.start_selection()),
            Chat::ScrollUp => self.transcript.scroll_up(10),
            Chat::ScrollDown => self.transcript.scroll_down(10),
            // Home/End move in a draft; on an empty input (or with Ctrl)
            // they scroll the transcript.
            Chat::Top | Chat::Bottom if !ctrl && !self.input_is_empty() => return None,
            Chat::Top => self.transcript.scroll_to_top(),
            Chat::Bottom => self.transcript.scroll_to_bottom(),
        }
        Some(ChatOutcome::Changed)
    }

    /// What a recall key shows or asks for.
    fn recall_step(&mut self, step: recall::Step) -> ChatOutcome {
        match step {
            recall::Step::Show(text) => {
                self.show_in_input(&text);
                ChatOutcome::Changed
            }
            recall::Step::Fetch(before) => ChatOutcome::ReadQuestions(before),
            recall::Step::Stay => {
                if self.recall.active() {
                    self.say("no earlier questions");
                }
                ChatOutcome::Changed
            }
        }
    }

    /// A page of earlier questions arrived (↑ may be waiting for it).
    pub fn recalled(&mut self, page: Vec<(MessageId, String)>, exhausted: bool) {
        match self.recall.loaded(page, exhausted) {
            Some(text) => self.show_in_input(&text),
            None if exhausted && !self.recall.active() => self.say("no earlier questions"),
            None => {}
        }
    }

    /// A question chosen from the search replaces the draft (an edit:
    /// Ctrl+Z brings the draft back).
    pub fn use_question(&mut self, text: &str) {
        self.recall.leave();
        self.input.select_all();
        self.input.cut();
        self.input.insert_str(text);
    }

    /// The page could not be read: ↑ may try again.
    pub fn recall_failed(&mut self) {
        self.recall.failed();
    }

    /// The input holds `text` (a recalled question, or the draft back),
    /// the cursor at its end; where recall is shows in the status bar.
    fn show_in_input(&mut self, text: &str) {
        self.input = new_input(self.conv.research);
        self.input.insert_str(text);
        if let Some((n, of, all)) = self.recall.position() {
            let of = if all {
                of.to_string()
            } else {
                format!("{of}+")
            };
            self.say(format!(
                "earlier question {n} of {of} · ↓ newer · Enter sends"
            ));
        }
    }

    /// A key for the input: typing, cursor moves, the editor's own keys.
    fn type_key(&mut self, key: KeyEvent) -> ChatOutcome {
        let changed = self.input.input(key);
        if changed && self.recall.active() {
            // An edited recall is a draft of its own.
            self.recall.leave();
        }
        // Cursor moves also redraw; only truly inert keys are ignored.
        if changed || is_edit_key(&key) {
            ChatOutcome::Changed
        } else {
            ChatOutcome::Ignored
        }
    }

    fn new_session(&mut self, h: &Handles) {
        self.stop(h);
        self.conv.close(h.ports());
        self.found = None;
        self.selection = None;
        self.editing = None;
        self.transcript.clear();
    }

    /// Forgets the open session (it was deleted): a fresh start.
    pub fn forget_session(&mut self, h: &Handles) {
        self.new_session(h);
    }

    /// The text of the newest answer (or of the one streaming).
    fn copy_text(&self) -> Option<String> {
        self.conv.last_answer_text()
    }

    /// `/system`, `/set`, `/role`: the session's settings change (the
    /// status bar shows them); nothing is asked.
    fn settings_command(&mut self, h: &Handles) -> Option<ChatOutcome> {
        let text = self.input.lines().join("\n");
        let result = self.conv.settings_command(&text, h.ports())?;
        match result {
            Ok(said) => {
                self.input = new_input(self.conv.research);
                self.say(said);
            }
            // The command stays in the input to fix.
            Err(e) => self.say(e),
        }
        Some(ChatOutcome::Changed)
    }

    /// `/resume`: continue this session's unfinished deep run.
    fn resume_command(&mut self) -> Option<ChatOutcome> {
        if self.input.lines().join("\n").trim() != "/resume" {
            return None;
        }
        if self.conv.active().is_some() {
            return Some(ChatOutcome::Ignored);
        }
        self.input = new_input(self.conv.research);
        Some(match self.conv.unfinished_run() {
            Some(id) => ChatOutcome::ResumeRun(id),
            None => {
                self.notice(
                    CellKind::Notice,
                    "This session has no unfinished deep run (`sleuth runs --unfinished` lists them all).",
                );
                ChatOutcome::Changed
            }
        })
    }

    /// Shows a loaded session and continues it.
    pub fn load(
        &mut self,
        session: Session,
        messages: &[StoredMessage],
        runs: Vec<(MessageId, RunStatus, RunTree)>,
    ) {
        self.transcript.clear();
        self.found = None;
        self.selection = None;
        let statuses: Vec<(MessageId, RunStatus)> =
            runs.iter().map(|(id, status, _)| (*id, *status)).collect();
        self.conv.resume(session, messages, &statuses);
        let runs = runs
            .into_iter()
            .map(|(id, status, tree)| (id, (status, tree)))
            .collect();
        self.show_loaded(messages, runs);
    }

    pub fn notice(&mut self, kind: CellKind, text: &str) {
        self.transcript.push(Cell::new(kind, text, String::new()));
    }
}

fn is_edit_key(k: &KeyEvent) -> bool {
    matches!(
        k.code,
        KeyCode::Left | KeyCode::Right | KeyCode::Up | KeyCode::Down | KeyCode::Home | KeyCode::End
    )
}

/// The empty input's hint, in the mode's words.
fn placeholder(research: bool) -> &'static str {
    if research {
        "Ask a research question…  (Enter sends, Alt+Enter for a newline)"
    } else {
        "Chat with the model, no sources…  (Enter sends, Ctrl+T researches)"
    }
}

fn new_input(research: bool) -> TextArea<'static> {
    let mut t = TextArea::default();
    t.set_placeholder_text(placeholder(research));
    t.set_cursor_line_style(ratatui::style::Style::new());
    // Soft-wrapped, so what is about to be sent can be read whole; a line
    // wider than 65,535 columns would otherwise scroll out of reach.
    t.set_wrap_mode(ratatui_textarea::WrapMode::WordOrGlyph);
    t
}
