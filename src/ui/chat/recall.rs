//! Prompt recall: ↑ on the input's first line walks the questions asked
//! before, newest first, across sessions; ↓ on its last line walks back,
//! and past the newest restores the draft that was being typed. Pages of
//! questions come from the reader thread (never read on this one).

use crate::domain::MessageId;

/// Questions read per page.
pub const PAGE: usize = 100;

#[derive(Debug, Default)]
pub struct Recall {
    /// Questions read so far, newest first.
    items: Vec<(MessageId, String)>,
    /// The one shown (an index into `items`); None while typing.
    pos: Option<usize>,
    /// What was typed when recall began, given back past the newest.
    draft: String,
    /// No older questions than `items` holds.
    exhausted: bool,
    /// A page was asked for; ↑ meanwhile shows it when it comes.
    loading: bool,
    wanted: bool,
}

/// What a recall key does to the input.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Show this text in the input.
    Show(String),
    /// Read a page of questions older than this one (None: the newest).
    Fetch(Option<MessageId>),
    /// Nothing to go to (the oldest, or not recalling).
    Stay,
}

impl Recall {
    pub fn active(&self) -> bool {
        self.pos.is_some()
    }

    /// ↑: the next older question; `input` is what the input holds (the
    /// draft, when recall begins).
    pub fn older(&mut self, input: &str) -> Step {
        // The draft is what was typed when recall began (not what a ↑
        // pressed again while the first page loads sees).
        if self.pos.is_none() && !self.loading {
            self.draft = input.to_string();
        }
        let next = self.pos.map_or(0, |p| p + 1);
        if let Some((_, text)) = self.items.get(next) {
            self.pos = Some(next);
            return Step::Show(text.clone());
        }
        if self.exhausted || self.loading {
            self.wanted = self.loading;
            return Step::Stay;
        }
        self.loading = true;
        self.wanted = true;
        Step::Fetch(self.items.last().map(|(id, _)| *id))
    }

    /// ↓: the next newer question, then the draft.
    pub fn newer(&mut self) -> Step {
        match self.pos {
            None => Step::Stay,
            Some(0) => {
                self.pos = None;
                Step::Show(std::mem::take(&mut self.draft))
            }
            Some(p) => {
                self.pos = Some(p - 1);
                Step::Show(self.items[p - 1].1.clone())
            }
        }
    }

    /// A page arrived; what to show if ↑ was waiting for it.
    pub fn loaded(&mut self, page: Vec<(MessageId, String)>, exhausted: bool) -> Option<String> {
        self.loading = false;
        self.exhausted = exhausted;
        for q in page {
            if self.items.last().is_none_or(|(_, t)| *t != q.1) {
                self.items.push(q);
            }
        }
        if !std::mem::take(&mut self.wanted) {
            return None;
        }
        let next = self.pos.map_or(0, |p| p + 1);
        let text = self.items.get(next)?.1.clone();
        self.pos = Some(next);
        Some(text)
    }

    /// The page could not be read: the next ↑ asks again.
    pub fn failed(&mut self) {
        self.loading = false;
        self.wanted = false;
    }

    /// The user edited what is shown: it is a draft now.
    pub fn leave(&mut self) {
        self.pos = None;
        self.wanted = false;
    }

    /// A question was sent: the next ↑ reads afresh (it starts with it).
    pub fn forget(&mut self) {
        *self = Recall::default();
    }

    /// Where the input is in the list, for the status bar.
    pub fn position(&self) -> Option<(usize, usize, bool)> {
        self.pos.map(|p| (p + 1, self.items.len(), self.exhausted))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(from: i64, n: i64) -> Vec<(MessageId, String)> {
        (0..n)
            .map(|i| (MessageId(from - i), format!("q{}", from - i)))
            .collect()
    }

    #[test]
    fn up_walks_older_pages_and_down_comes_back_to_the_draft() {
        let mut r = Recall::default();
        assert_eq!(r.older("half typed"), Step::Fetch(None));
        assert_eq!(r.older("ignored while loading"), Step::Stay);
        assert_eq!(r.loaded(page(10, 2), false), Some("q10".into()));
        assert_eq!(r.older(""), Step::Show("q9".into()));
        assert_eq!(r.older(""), Step::Fetch(Some(MessageId(9))));
        assert_eq!(r.loaded(page(8, 1), true), Some("q8".into()));
        assert_eq!(r.older(""), Step::Stay, "the oldest");
        assert_eq!(r.position(), Some((3, 3, true)));
        assert_eq!(r.newer(), Step::Show("q9".into()));
        assert_eq!(r.newer(), Step::Show("q10".into()));
        assert_eq!(r.newer(), Step::Show("half typed".into()));
        assert!(!r.active());
        assert_eq!(r.newer(), Step::Stay);
    }

    #[test]
    fn editing_leaves_recall_and_sending_reads_afresh() {
        let mut r = Recall::default();
        r.older("");
        r.loaded(page(5, 3), false);
        r.leave();
        assert!(!r.active());
        // Cached: the next ↑ shows the newest at once, keeping the edit as
        // the draft.
        assert_eq!(r.older("edited"), Step::Show("q5".into()));
        assert_eq!(r.newer(), Step::Show("edited".into()));
        r.forget();
        assert_eq!(r.older(""), Step::Fetch(None));
    }
}
