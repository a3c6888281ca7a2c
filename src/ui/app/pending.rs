//! The reads the app waits for, in one table: request id → what it was
//! for. A newer read of the same kind supersedes the older one (its answer
//! is then dropped), and an answer nobody waits for is dropped in one place.

use crate::domain::{MessageId, RequestId};

#[derive(Debug, Clone, PartialEq)]
pub enum Pending {
    /// The newest session, offered on the welcome screen.
    Resumable,
    /// A session's transcript to show, and what to do then.
    Transcript { then: AfterLoad },
    /// A deep run to resume.
    Run,
    /// A session being exported.
    Export,
    /// A page of the sessions screen's list…
    SessionsPage,
    /// …and the preview of its selected session.
    Preview,
    /// The search overlay's query (answered twice: first results, then
    /// the refined ranking).
    Search,
    /// A page of earlier questions for ↑…
    Questions,
    /// …and the Ctrl+R search's latest query.
    QuestionSearch,
}

/// What follows a transcript read.
#[derive(Debug, Clone, PartialEq)]
pub enum AfterLoad {
    /// Show it and continue the session.
    Show,
    /// From a search hit: the message to jump to and the query.
    Jump(MessageId, String),
    /// After a branch switch: select the message at this place.
    Select(usize),
    /// Go on from before this message (an answer again, an edit sent).
    Rewind(MessageId, crate::ui::chat::Rewound),
}

impl Pending {
    fn same_kind(&self, other: &Pending) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

#[derive(Debug, Default)]
pub struct PendingReads {
    waiting: Vec<(RequestId, Pending)>,
}

impl PendingReads {
    /// Waits for `req`; an older read of the same kind is forgotten.
    pub fn wait(&mut self, req: RequestId, what: Pending) {
        self.waiting.retain(|(_, p)| !p.same_kind(&what));
        self.waiting.push((req, what));
    }

    /// What `req` was for, if it is awaited and `accept` takes it; it is
    /// no longer awaited.
    pub fn take(&mut self, req: RequestId, accept: impl Fn(&Pending) -> bool) -> Option<Pending> {
        let i = self
            .waiting
            .iter()
            .position(|(r, p)| *r == req && accept(p))?;
        Some(self.waiting.remove(i).1)
    }

    /// Whether `req` is awaited as what `accept` takes, leaving it awaited
    /// (a read answered more than once).
    pub fn awaits(&self, req: RequestId, accept: impl Fn(&Pending) -> bool) -> bool {
        self.waiting.iter().any(|(r, p)| *r == req && accept(p))
    }

    /// Stops waiting for reads `accept` takes (their screen closed).
    pub fn forget(&mut self, accept: impl Fn(&Pending) -> bool) {
        self.waiting.retain(|(_, p)| !accept(p));
    }

    #[cfg(test)]
    pub fn is_waiting(&self, req: RequestId) -> bool {
        self.waiting.iter().any(|(r, _)| *r == req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_read_of_the_same_kind_supersedes_the_older() {
        let mut p = PendingReads::default();
        p.wait(
            RequestId(1),
            Pending::Transcript {
                then: AfterLoad::Show,
            },
        );
        p.wait(RequestId(2), Pending::Run);
        p.wait(
            RequestId(3),
            Pending::Transcript {
                then: AfterLoad::Show,
            },
        );
        // The answer to the first transcript read is stale: dropped.
        assert_eq!(p.take(RequestId(1), |_| true), None);
        assert_eq!(
            p.take(RequestId(3), |p| matches!(p, Pending::Transcript { .. })),
            Some(Pending::Transcript {
                then: AfterLoad::Show
            })
        );
        assert!(p.is_waiting(RequestId(2)));
        assert_eq!(p.take(RequestId(2), |p| *p == Pending::Resumable), None);
        assert_eq!(p.take(RequestId(2), |_| true), Some(Pending::Run));
        assert!(!p.is_waiting(RequestId(2)));
        // A search is answered twice: it stays awaited until superseded.
        p.wait(RequestId(4), Pending::Search);
        assert!(p.awaits(RequestId(4), |p| *p == Pending::Search));
        assert!(p.awaits(RequestId(4), |p| *p == Pending::Search));
        p.wait(RequestId(5), Pending::Search);
        assert!(!p.awaits(RequestId(4), |p| *p == Pending::Search));
        p.forget(|p| *p == Pending::Search);
        assert!(!p.is_waiting(RequestId(5)));
    }
}
