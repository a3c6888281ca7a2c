//! Deterministic synthetic history for benchmarks and load tests: a
//! Zipf-distributed vocabulary and chat-like message lengths (median ~270
//! characters, a long tail to several KB), some sources per answer.

use crate::domain::{Message, MessageId, MessageStatus, Role, Session, SessionId, Source, Usage};
use crate::store::StoreCommand;

/// SplitMix64: tiny, fast and reproducible across platforms.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "ba", "co", "di", "fe", "gu", "ha", "jo",
    "ly", "mo", "nu", "pe", "qui", "ra", "so", "tu", "vi", "wa", "xe", "yo", "an", "er", "in",
    "on", "st", "tr", "pl", "gr",
];

/// Real words at the head of the distribution, so searches for common
/// terms ("the", "data", "model") behave like they do on real history.
const HEAD: &[&str] = &[
    "the", "of", "and", "to", "a", "in", "is", "that", "for", "it", "as", "with", "was", "on",
    "are", "by", "this", "be", "from", "or", "an", "which", "how", "what", "can", "data", "model",
    "rust", "memory", "search", "database", "network", "language", "history", "energy", "system",
    "paper", "source", "research", "answer",
];

pub struct Vocabulary {
    words: Vec<String>,
    /// Cumulative Zipf weights (s = 1.07), for binary-search sampling.
    cdf: Vec<f64>,
}

impl Vocabulary {
    pub fn new(size: usize, rng: &mut Rng) -> Self {
        let mut words: Vec<String> = HEAD.iter().map(|w| w.to_string()).collect();
        while words.len() < size {
            let n = 2 + rng.below(3);
            let w: String = (0..n)
                .map(|_| SYLLABLES[rng.below(SYLLABLES.len())])
                .collect();
            words.push(w);
        }
        let mut acc = 0.0;
        let cdf = (1..=words.len())
            .map(|r| {
                acc += 1.0 / (r as f64).powf(1.07);
                acc
            })
            .collect();
        Self { words, cdf }
    }

    /// The word of Zipf rank `rank` (0 = most frequent).
    pub fn word_at(&self, rank: usize) -> &str {
        &self.words[rank.min(self.words.len() - 1)]
    }

    pub fn word(&self, rng: &mut Rng) -> &str {
        let total = self.cdf.last().copied().unwrap_or(1.0);
        let x = rng.unit() * total;
        let i = self
            .cdf
            .partition_point(|&c| c < x)
            .min(self.words.len() - 1);
        &self.words[i]
    }

    /// Text of about `len` characters, in sentences.
    pub fn text(&self, rng: &mut Rng, len: usize) -> String {
        let mut s = String::with_capacity(len + 16);
        let mut sentence = 0;
        while s.len() < len {
            let w = self.word(rng);
            if sentence == 0 {
                let mut c = w.chars();
                if let Some(f) = c.next() {
                    s.extend(f.to_uppercase());
                    s.push_str(c.as_str());
                }
            } else {
                s.push_str(w);
            }
            sentence += 1;
            if sentence > 6 + rng.below(12) {
                s.push_str(". ");
                sentence = 0;
            } else {
                s.push(' ');
            }
        }
        s.truncate(s.trim_end().len());
        s
    }
}

/// Log-normal lengths: median ~270 characters, tail to several KB.
pub fn message_len(rng: &mut Rng) -> usize {
    // Box-Muller for a standard normal.
    let (u1, u2) = (rng.unit().max(1e-12), rng.unit());
    let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
    let len = (270f64.ln() + 0.9 * z).exp();
    (len as usize).clamp(12, 12_000)
}

/// Produces the store commands for `sessions` sessions holding `messages`
/// messages in all, alternating questions and answers, oldest first.
pub struct Generator {
    rng: Rng,
    vocab: Vocabulary,
    sessions: u64,
    messages: u64,
    emitted: u64,
    session_index: u64,
    start_ms: i64,
}

impl Generator {
    pub fn new(seed: u64, sessions: u64, messages: u64) -> Self {
        let mut rng = Rng::new(seed);
        let vocab = Vocabulary::new(50_000, &mut rng);
        Self {
            rng,
            vocab,
            sessions: sessions.max(1),
            messages,
            emitted: 0,
            session_index: 0,
            start_ms: 1_600_000_000_000,
        }
    }

    pub fn total_messages(&self) -> u64 {
        self.messages
    }

    /// The next session's commands, or None when done.
    pub fn next_session(&mut self) -> Option<Vec<StoreCommand>> {
        if self.session_index >= self.sessions || self.emitted >= self.messages {
            return None;
        }
        let remaining_sessions = self.sessions - self.session_index;
        let count = (self.messages - self.emitted).div_ceil(remaining_sessions);
        let at = self.start_ms + (self.session_index as i64) * 3_600_000;
        // Ids are fixed by the seed so runs are reproducible.
        let sid = SessionId(((self.session_index + 1) << 24) as i64);
        let mut cmds = Vec::with_capacity(count as usize + 1);
        let title = self.vocab.text(&mut self.rng, 40);
        cmds.push(StoreCommand::CreateSession(Session {
            id: sid,
            created_at: at,
            updated_at: at,
            title,
            summary: None,
            model: Some("llama3.2".into()),
            origin: None,
            settings: Default::default(),
        }));
        for i in 0..count {
            let role = if i % 2 == 0 {
                Role::User
            } else {
                Role::Assistant
            };
            let len = if role == Role::User {
                message_len(&mut self.rng) / 3 + 10
            } else {
                message_len(&mut self.rng)
            };
            let message = Message {
                id: MessageId(sid.0 + i as i64 + 1),
                session_id: sid,
                // Each message follows the one before it (one branch).
                parent_id: (i > 0).then(|| MessageId(sid.0 + i as i64)),
                role,
                content: self.vocab.text(&mut self.rng, len),
                status: MessageStatus::Complete,
                created_at: at + i as i64 * 30_000,
                model: (role == Role::Assistant).then(|| "llama3.2".into()),
                usage: Usage::default(),
                error: None,
            };
            if role == Role::Assistant && self.rng.below(3) == 0 {
                let sources = (1..=1 + self.rng.below(3) as i64)
                    .map(|n| Source {
                        ordinal: n,
                        kind: "wikipedia".into(),
                        title: self.vocab.text(&mut self.rng, 24),
                        url: Some(format!(
                            "https://en.wikipedia.org/wiki/S{}_{n}",
                            message.id.0
                        )),
                        excerpt: self.vocab.text(&mut self.rng, 160),
                        relevance: Some(self.rng.unit()),
                        fetched_at: message.created_at,
                        section: None,
                        meta: Default::default(),
                    })
                    .collect();
                cmds.push(StoreCommand::FinishTurn { message, sources });
            } else {
                cmds.push(StoreCommand::AppendMessage(message));
            }
        }
        self.emitted += count;
        self.session_index += 1;
        Some(cmds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_sized() {
        let count = |seed| {
            let mut g = Generator::new(seed, 7, 100);
            let mut n = 0;
            let mut first = None;
            while let Some(cmds) = g.next_session() {
                if first.is_none() {
                    first = Some(format!("{:?}", cmds[1]));
                }
                n += cmds
                    .iter()
                    .filter(|c| !matches!(c, StoreCommand::CreateSession(_)))
                    .count();
            }
            (n, first)
        };
        assert_eq!(count(1), count(1));
        assert_eq!(count(1).0, 100);
        assert_ne!(count(1).1, count(2).1);
    }

    #[test]
    fn lengths_have_a_chat_like_median() {
        let mut rng = Rng::new(3);
        let mut v: Vec<usize> = (0..10_001).map(|_| message_len(&mut rng)).collect();
        v.sort_unstable();
        let median = v[5000];
        assert!((220..330).contains(&median), "median {median}");
        assert!(*v.last().unwrap() > 2000);
    }
}
