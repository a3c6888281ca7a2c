//! "Found" mode: the chat opened from a search result, the match marked,
//! Alt+↓ / Alt+↑ (or Alt+n / Alt+p) moving between the matches of the
//! query inside this session, Esc leaving the mode. Plain letters always
//! type: a question may well start with "n" (issue 15, bug 2).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::ChatScreen;
use crate::domain::MessageId;
use crate::store::search::{Matcher, Query};

#[derive(Debug)]
pub struct Found {
    pub query: String,
    parsed: Query,
    pub matches: Vec<MessageId>,
    pub current: usize,
}

impl ChatScreen {
    /// Marks `message` and scrolls to it; every message of the session
    /// containing all the query's words becomes a stop for n / N.
    pub fn jump_to(&mut self, message: MessageId, query: &str) {
        let q = Query::parse(query, false).unwrap_or_default();
        let m = Matcher::new(&q);
        let mut matches: Vec<MessageId> = self
            .transcript
            .cells()
            .iter()
            .filter_map(|c| {
                let id = c.id?;
                let a = m.analyze(c.text());
                (!a.tf.is_empty() && a.tf.iter().all(|&n| n > 0)).then_some(id)
            })
            .collect();
        // The hit itself (a source match has no word in the message text).
        if !matches.contains(&message) {
            matches.push(message);
            matches.sort_by_key(|id| id.0);
        }
        let current = matches.iter().position(|id| *id == message).unwrap_or(0);
        self.transcript.focus(message, &q);
        self.found = Some(Found {
            query: query.to_string(),
            parsed: q,
            matches,
            current,
        });
    }

    /// Alt+↓ / Alt+↑ / Esc in found mode; false for every other key (which
    /// then goes to the input as usual and ends the mode if it types).
    pub fn found_key(&mut self, k: KeyEvent) -> bool {
        use crate::ui::keymap::{FOUND, Found, lookup};
        let idle = self.conv.active().is_none();
        let Some(f) = &mut self.found else {
            return false;
        };
        let n = f.matches.len();
        match lookup(FOUND, &k) {
            Some(Found::Next) if n > 0 => f.current = (f.current + 1) % n,
            Some(Found::Prev) if n > 0 => f.current = (f.current + n - 1) % n,
            // Esc stops an answer first.
            Some(Found::Leave) if idle => {
                self.found = None;
                self.transcript.clear_focus();
                return true;
            }
            _ => {
                // Typing a letter leaves the matches and types it.
                let plain = !k
                    .modifiers
                    .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
                if matches!(k.code, KeyCode::Char(_)) && plain {
                    self.found = None;
                    self.transcript.clear_focus();
                }
                return false;
            }
        }
        let id = f.matches[f.current];
        self.transcript.focus(id, &f.parsed);
        true
    }

    pub fn found_note(&self) -> Option<String> {
        self.found.as_ref().map(|f| {
            format!(
                "match {}/{} for “{}” · Alt+↓/↑ next/prev · Esc leaves",
                f.current + 1,
                f.matches.len(),
                crate::text::sanitize::one_line(&f.query)
            )
        })
    }
}
