//! A selected message (Ctrl+↑): moving over the transcript's questions
//! and answers, and what can be done to the one selected — copy it, answer
//! it again, edit and resend a question, switch between its branches, open
//! its sources. Anything that starts a new branch or shows another one goes
//! through the store (the app reloads the transcript after the write).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{ChatOutcome, ChatScreen};
use crate::domain::MessageId;
use crate::text::sanitize::sanitize;
use crate::ui::app::Handles;
use crate::ui::keymap::{SELECT, Select, lookup};
use crate::ui::transcript::CellKind;

/// What to do once the transcript is read back up to a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Rewound {
    /// Answer the question before it again (a new branch beside it).
    Regenerate,
    /// Send the input (an edited question) in its place.
    Send,
}

impl ChatScreen {
    /// Ctrl+↑: selects the last question or answer.
    pub(super) fn start_selection(&mut self) -> ChatOutcome {
        match self.transcript.neighbour(None, true) {
            Some(id) => {
                self.found = None;
                self.transcript.clear_focus();
                self.select(Some(id));
            }
            None => self.say("nothing to select yet"),
        }
        ChatOutcome::Changed
    }

    pub fn selected(&self) -> Option<MessageId> {
        self.selection
    }

    /// Selects `id` (or nothing) and shows it.
    pub fn select(&mut self, id: Option<MessageId>) {
        self.selection = id;
        self.transcript.select(id);
    }

    /// A key while a message is selected; None when the key leaves the
    /// selection and goes to the input.
    pub(super) fn select_key(&mut self, k: KeyEvent, h: &Handles) -> Option<ChatOutcome> {
        let id = self.selection?;
        // Ctrl+↑ / Alt+↑ again: the message before.
        let again = lookup(crate::ui::keymap::CHAT, &k) == Some(crate::ui::keymap::Chat::Select);
        let Some(action) = lookup(SELECT, &k).or(again.then_some(Select::Up)) else {
            // Typing leaves the selection and types.
            self.select(None);
            let typing = matches!(k.code, KeyCode::Char(_))
                && !k
                    .modifiers
                    .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
            return (!typing).then_some(ChatOutcome::Changed);
        };
        let busy = self.conv.active().is_some();
        let cell = self.transcript.cell(id)?;
        let kind = cell.kind;
        let branch = cell.branch;
        Some(match action {
            Select::Up | Select::Down => {
                let next = self.transcript.neighbour(Some(id), action == Select::Up);
                if let Some(n) = next {
                    self.select(Some(n));
                }
                ChatOutcome::Changed
            }
            Select::Leave => {
                self.select(None);
                ChatOutcome::Changed
            }
            Select::Copy => {
                let text = sanitize(cell.text()).into_owned();
                self.say(format!(
                    "copied the message ({} chars) to the clipboard",
                    text.chars().count()
                ));
                ChatOutcome::Copy(text)
            }
            Select::Sources if cell.sources().is_empty() => {
                self.say("this message cites no sources");
                ChatOutcome::Changed
            }
            Select::Sources => {
                ChatOutcome::ShowSources(cell.sources().to_vec(), cell.claims().cloned())
            }
            _ if busy => {
                self.say("one answer at a time: Esc stops this one first");
                ChatOutcome::Changed
            }
            Select::Regenerate if kind != CellKind::Assistant => {
                self.say("r answers again: select an answer (e edits a question)");
                ChatOutcome::Changed
            }
            Select::Regenerate => {
                self.select(None);
                if self.transcript.neighbour(Some(id), false).is_none() {
                    // The last answer: as Ctrl+G.
                    self.regenerate(h);
                    ChatOutcome::Changed
                } else {
                    ChatOutcome::Rewind {
                        at: id,
                        then: Rewound::Regenerate,
                    }
                }
            }
            Select::Edit if kind != CellKind::User => {
                self.say("e edits a question: select one (r answers again)");
                ChatOutcome::Changed
            }
            Select::Edit => {
                let text = sanitize(cell.text()).into_owned();
                self.select(None);
                self.use_question(&text);
                self.editing = Some(id);
                self.say("editing a question: Enter sends it as a new branch from there · Esc keeps the old one");
                ChatOutcome::Changed
            }
            Select::PrevBranch | Select::NextBranch => {
                let step: i8 = if action == Select::PrevBranch { -1 } else { 1 };
                let can = branch.is_some_and(|b| {
                    if step < 0 {
                        b.index > 1
                    } else {
                        b.index < b.count
                    }
                });
                if !can {
                    self.say(match branch {
                        None => "no other branch here",
                        Some(_) if step < 0 => "this is the first branch",
                        Some(_) => "this is the last branch",
                    });
                    return Some(ChatOutcome::Changed);
                }
                let Some(session) = self.conv.session_id() else {
                    return Some(ChatOutcome::Changed);
                };
                let pos = self.transcript.position(id).unwrap_or(0);
                ChatOutcome::SwitchBranch {
                    session,
                    from: id,
                    step,
                    pos,
                }
            }
        })
    }

    /// The transcript read back after a branch switch: the message at the
    /// same place is selected (the sibling now shown).
    pub fn select_at(&mut self, pos: usize) {
        let id = self.transcript.at_position(pos);
        self.select(id);
    }

    /// The transcript read back for a rewind: shown up to `at`, the
    /// conversation continues from there, and the answer or edited
    /// question starts a new branch (`at` and what followed it are kept,
    /// off the branch shown).
    pub fn rewound(
        &mut self,
        session: crate::domain::Session,
        messages: &[crate::domain::StoredMessage],
        at: MessageId,
        then: Rewound,
        h: &Handles,
    ) {
        let Some(cut) = messages.iter().position(|m| m.message.id == at) else {
            self.say("that message is gone (deleted elsewhere?)");
            return;
        };
        self.editing = None;
        let branch = messages[cut].branch;
        self.load(session, &messages[..cut], Vec::new());
        self.conv.leave_branch(at, h.ports());
        self.new_branch = Some(super::turn::next_branch(branch));
        match then {
            Rewound::Regenerate => self.regenerate(h),
            Rewound::Send => self.submit(h),
        }
    }
}
