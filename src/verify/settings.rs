//! `[verify]`: the optional model judge of the claim check.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct VerifyConfig {
    /// A model (on the configured provider) that judges each claim after
    /// the facts check; empty = the facts check alone.
    pub model: String,
    /// The judge's whole time for one answer; past it the facts check's
    /// verdicts stand.
    pub timeout_secs: u64,
    /// Claims judged per answer at most (the rest keep the facts verdict).
    pub max_claims: usize,
    /// Claims sent in one request.
    pub batch: usize,
    /// Characters of passages and claims in one request at most.
    pub max_chars: usize,
}

impl Default for VerifyConfig {
    fn default() -> Self {
        Self {
            model: String::new(),
            timeout_secs: 30,
            max_claims: 40,
            batch: 10,
            max_chars: 16_000,
        }
    }
}
