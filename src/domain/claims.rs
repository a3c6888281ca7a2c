//! An answer's claim check as it is stored and shown (`verify` makes it):
//! each claim, the passages it cites, its verdict and where the passage
//! says it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Supported,
    Partial,
    Unsupported,
    /// States facts and cites nothing.
    Uncited,
    /// Past the budget.
    Unchecked,
}

impl Verdict {
    pub fn rank(self) -> u8 {
        match self {
            Verdict::Supported => 3,
            Verdict::Partial => 2,
            Verdict::Unsupported => 1,
            Verdict::Uncited | Verdict::Unchecked => 0,
        }
    }
}

/// Where a passage says it: bytes `start..end` of source `cite`'s excerpt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Span {
    pub cite: i64,
    pub start: usize,
    pub end: usize,
    pub text: String,
}

/// One claim and what its cited passages make of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    pub text: String,
    pub cites: Vec<i64>,
    pub verdict: Verdict,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span: Option<Span>,
    /// Which judge gave the verdict: "facts" (the default check).
    pub judge: String,
    /// The claim's hard facts that no cited passage has.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    /// The answer's citation marks that are this claim's (render order).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub marks: Vec<usize>,
}

/// An answer's claims and their tally.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClaimCheck {
    pub claims: Vec<Claim>,
    pub supported: usize,
    pub partial: usize,
    pub unsupported: usize,
    pub uncited: usize,
    pub unchecked: usize,
    /// Marks citing a number no source has.
    pub dangling: usize,
    /// What became of the model judge, when one was asked and could not
    /// answer ("the model judge timed out; the facts check stands").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl ClaimCheck {
    /// The verdict behind each citation mark, in render order (one pass;
    /// the transcript draws from it).
    pub fn mark_verdicts(&self) -> Vec<Option<Verdict>> {
        let n = self
            .claims
            .iter()
            .flat_map(|c| &c.marks)
            .max()
            .map_or(0, |m| m + 1);
        let mut out = vec![None; n];
        for c in &self.claims {
            for &m in &c.marks {
                out[m] = Some(c.verdict);
            }
        }
        out
    }

    /// The verdict behind the answer's `k`-th citation mark.
    pub fn mark(&self, k: usize) -> Option<Verdict> {
        self.claims
            .iter()
            .find(|c| c.marks.contains(&k))
            .map(|c| c.verdict)
    }

    /// Counts the verdicts again (after a judge changed some).
    pub fn recount(&mut self) {
        let n = |v: Verdict| self.claims.iter().filter(|c| c.verdict == v).count();
        (
            self.supported,
            self.partial,
            self.unsupported,
            self.uncited,
            self.unchecked,
        ) = (
            n(Verdict::Supported),
            n(Verdict::Partial),
            n(Verdict::Unsupported),
            n(Verdict::Uncited),
            n(Verdict::Unchecked),
        );
    }

    /// "9 claims · 7 supported · 1 partial · 1 not in its source".
    pub fn footer(&self) -> String {
        let mut parts = vec![crate::text::plural(self.claims.len() as u64, "claim")];
        for (n, what) in [
            (self.supported, "supported"),
            (self.partial, "partial"),
            (self.unsupported, "not in its source"),
            (self.uncited, "uncited"),
            (self.unchecked, "unchecked"),
            (self.dangling, "dangling citation"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        }
        parts.join(" · ")
    }
}
