//! The chat screen: transcript, input, the session being written and the
//! turn being streamed.

mod found;
mod turn;
mod view;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers, MouseEventKind};
use ratatui_textarea::TextArea;

use super::app::Handles;
use super::keymap::Chat;
use super::transcript::{Cell, CellKind, Transcript};
use crate::agent::research::SourceKind;
use crate::conversation::History;
use crate::domain::{
    Message, MessageId, Role, RunStatus, RunTree, Session, SessionId, StoredMessage,
};
use crate::sanitize::{one_line, sanitize};
use crate::store::StoreCommand;
use crate::ui::research_view::ResearchProgress;
pub use turn::ActiveTurn;

pub struct ChatScreen {
    pub session: Option<Session>,
    pub transcript: Transcript,
    pub input: TextArea<'static>,
    /// Title of the most recent stored session, offered on the empty screen.
    pub resumable: Option<(SessionId, String)>,
    /// The conversation as the model sees it: complete messages and the
    /// rolling summary of the older ones.
    pub history: History,
    /// The answer to the last question (complete, interrupted or failed),
    /// which regenerate replaces.
    last_answer: Option<crate::domain::MessageId>,
    pub active: Option<ActiveTurn>,
    /// The model used for the next turn (F2 changes it).
    pub model: String,
    next_turn: u64,
    /// Tokens and speed of the last answer, for the status bar.
    pub last_stats: Option<String>,
    /// Research turns (sources, citations) or plain chat; Ctrl+T toggles.
    pub research: bool,
    /// The last question, how it was asked and its source filter, for
    /// regenerate.
    last_question: Option<Asked>,
    pub context: ContextPolicy,
    /// The database, for recalling other sessions (memory).
    pub db_path: Option<std::path::PathBuf>,
    /// Opened from a search: the matches and the one shown.
    pub found: Option<found::Found>,
    /// The newest deep run of this session that did not complete (its
    /// report message), for `/resume`.
    unfinished_run: Option<MessageId>,
    /// What the last key did when it shows nowhere else ("copied…",
    /// "nothing to regenerate"); the status bar shows it until the next key.
    pub flash: Option<String>,
}

pub use crate::conversation::ContextPolicy;

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
    ShowSources(Vec<crate::domain::Source>),
    /// Read this deep run from the store and continue it (`/resume`).
    ResumeRun(MessageId),
    /// Open this draft in the user's editor (Ctrl+E).
    EditDraft(String),
}

impl ChatScreen {
    pub fn new(model: String) -> Self {
        Self {
            session: None,
            transcript: Transcript::default(),
            input: new_input(true),
            resumable: None,
            history: History::default(),
            last_answer: None,
            active: None,
            model,
            next_turn: 0,
            last_stats: None,
            research: true,
            last_question: None,
            context: ContextPolicy::default(),
            db_path: None,
            found: None,
            unfinished_run: None,
            flash: None,
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

    pub fn session_label(&self) -> String {
        match &self.session {
            Some(s) => one_line(&s.title),
            None => "new session".into(),
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
                self.submit(h);
            }
            Chat::Newline => self.input.insert_newline(),
            Chat::Stop if self.active.is_some() => self.cancel(h),
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
            Chat::PickModel => return Some(ChatOutcome::OpenModelPicker),
            Chat::Editor => return Some(ChatOutcome::EditDraft(self.input.lines().join("\n"))),
            Chat::Trees if !self.transcript.toggle_trees() => return Some(ChatOutcome::Ignored),
            Chat::Trees => {}
            Chat::ToggleMode => {
                self.research = !self.research;
                self.input.set_placeholder_text(placeholder(self.research));
            }
            Chat::Sources => {
                return Some(match self.transcript.last_cited() {
                    Some(c) => ChatOutcome::ShowSources(c.sources().to_vec()),
                    None => {
                        self.say("no answer with sources in this session yet");
                        ChatOutcome::Changed
                    }
                });
            }
            Chat::ResumeLast => {
                return Some(match &self.resumable {
                    Some((id, _)) if self.session.is_none() => ChatOutcome::Resume(*id),
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

    /// A key for the input: typing, cursor moves, the editor's own keys.
    fn type_key(&mut self, key: KeyEvent) -> ChatOutcome {
        let changed = self.input.input(key);
        // Cursor moves also redraw; only truly inert keys are ignored.
        if changed || is_edit_key(&key) {
            ChatOutcome::Changed
        } else {
            ChatOutcome::Ignored
        }
    }

    fn new_session(&mut self, h: &Handles) {
        self.cancel(h);
        self.session = None;
        self.unfinished_run = None;
        self.history = History::default();
        self.last_answer = None;
        self.last_question = None;
        self.found = None;
        self.transcript.clear();
    }

    /// Forgets the open session (it was deleted): a fresh start.
    pub fn forget_session(&mut self, h: &Handles) {
        self.new_session(h);
    }

    /// The text of the newest answer (or of the one streaming).
    fn copy_text(&self) -> Option<String> {
        if let Some(a) = &self.active {
            return Some(a.recorder.content().to_string());
        }
        self.history
            .messages()
            .iter()
            .rev()
            .find(|m| m.role == Role::Assistant)
            .map(|m| m.content.clone())
    }

    /// `/resume`: continue this session's unfinished deep run.
    fn resume_command(&mut self) -> Option<ChatOutcome> {
        if self.input.lines().join("\n").trim() != "/resume" {
            return None;
        }
        if self.active.is_some() {
            return Some(ChatOutcome::Ignored);
        }
        self.input = new_input(self.research);
        Some(match self.unfinished_run {
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

    /// Sends the input as a user message: creates the session on the first
    /// line, queues the writes, shows the message and asks the agent.
    fn submit(&mut self, h: &Handles) {
        if self.active.is_some() {
            // One answer at a time; the question stays in the input.
            self.say("one answer at a time: Esc stops this one, then Enter sends yours");
            return;
        }
        let raw = self.input.lines().join("\n");
        // `/deep QUESTION`: a deep run (plan, rounds, leads, report).
        let (deep, raw) = match raw.trim().strip_prefix("/deep") {
            Some(rest) if rest.is_empty() || rest.starts_with(char::is_whitespace) => {
                (true, rest.to_string())
            }
            _ => (false, raw),
        };
        let (only, text) = match parse_sources_prefix(raw.trim()) {
            Ok(x) => x,
            Err(e) => {
                self.notice(CellKind::Error, &e);
                return;
            }
        };
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        let session = match &self.session {
            Some(s) => s.clone(),
            None => {
                let s = crate::conversation::new_session(text, &self.model);
                h.writer.send(StoreCommand::CreateSession(s.clone()));
                self.session = Some(s.clone());
                s
            }
        };
        let msg = Message::new(session.id, Role::User, text);
        h.writer.send(StoreCommand::AppendMessage(msg.clone()));
        self.transcript.scroll_to_bottom();
        self.transcript.push(Cell::from_stored(&StoredMessage {
            message: msg,
            sources: vec![],
        }));
        self.history.push_user(text);
        self.input = new_input(self.research);
        let asked = Asked {
            question: text.to_string(),
            only,
            deep,
            research: self.research || deep,
        };
        self.last_question = Some(asked.clone());
        self.last_answer = None;
        if asked.research {
            self.start_research(h, session.id, &asked, None);
        } else {
            self.start_turn(h, session.id, None);
        }
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
        self.history = History::from_stored(&session, messages, &self.context);
        self.last_answer = None;
        self.last_question = None;
        self.unfinished_run = None;
        let mut runs: std::collections::HashMap<MessageId, (RunStatus, RunTree)> = runs
            .into_iter()
            .map(|(id, status, tree)| (id, (status, tree)))
            .collect();
        let mut runs_seen = Vec::new();
        for m in messages {
            // A deep run's research tree, closed, above its report.
            if let Some((status, tree)) = runs.remove(&m.message.id) {
                runs_seen.push(m.message.id);
                if status != RunStatus::Complete {
                    self.unfinished_run = Some(m.message.id);
                }
                self.transcript.push(Cell::research(ResearchProgress {
                    tree: Some(tree),
                    ended: Some(status),
                    ..Default::default()
                }));
            }
            let deep = runs_seen.contains(&m.message.id);
            self.transcript.push(Cell::from_stored(m));
            self.remember_for_regenerate(m, deep);
        }
        self.session = Some(session);
    }

    /// A loaded message as what Ctrl+G would regenerate: the last question
    /// (researched if its answer cites sources or is a deep run's report,
    /// else in the current mode) and the answer to it, whatever its status.
    fn remember_for_regenerate(&mut self, m: &StoredMessage, deep: bool) {
        match m.message.role {
            Role::User => {
                self.last_question = Some(Asked {
                    question: m.message.content.clone(),
                    only: None,
                    deep: false,
                    research: self.research,
                });
                self.last_answer = None;
            }
            Role::Assistant => {
                if let Some(q) = &mut self.last_question {
                    q.deep = deep;
                    q.research = deep || !m.sources.is_empty() || self.research;
                }
                self.last_answer = Some(m.message.id);
            }
            Role::System => {}
        }
    }

    pub fn notice(&mut self, kind: CellKind, text: &str) {
        self.transcript.push(Cell::new(kind, text, String::new()));
    }
}

/// The last question and how it was asked, for Ctrl+G.
#[derive(Debug, Clone)]
pub(super) struct Asked {
    pub question: String,
    pub only: Option<Vec<SourceKind>>,
    /// A deep run rather than one research turn.
    pub deep: bool,
    /// Researched (sources, citations) rather than plain chat.
    pub research: bool,
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
                    "unknown source '{name}' — use wiki, hn, arxiv, web or searxng, e.g. /sources wiki,hn your question"
                ));
            }
        }
    }
    if kinds.is_empty() {
        return Err("name the sources: /sources wiki,hn your question".into());
    }
    Ok((Some(kinds), question))
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
}
