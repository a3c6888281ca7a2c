//! Local reasoning models wrap their thoughts in `<think>…</think>`. The
//! thoughts are kept out of the answer (and so out of citations, storage
//! and summaries); the UI only learns that the model is thinking.

const OPEN: &str = "<think>";
const CLOSE: &str = "</think>";

#[derive(Debug, Default)]
pub struct ThinkFilter {
    in_think: bool,
    /// Text held back because it may be the start of a tag.
    pending: String,
    /// Answer text has been given out.
    answered: bool,
    /// A `<think>` that came after answer text may be the answer talking
    /// about the tag: what follows is held here, dropped if `</think>`
    /// comes, given back as text if the stream ends first.
    held: Option<String>,
    pub thought_chars: usize,
}

/// The longest suffix of `s` that is a proper prefix of `tag`.
fn partial_tag_len(s: &str, tag: &str) -> usize {
    (1..tag.len())
        .rev()
        .find(|&n| {
            s.len() >= n && s.is_char_boundary(s.len() - n) && tag.starts_with(&s[s.len() - n..])
        })
        .unwrap_or(0)
}

impl ThinkFilter {
    pub fn thinking(&self) -> bool {
        self.in_think
    }

    /// Returns the answer text in `delta` (possibly empty).
    pub fn push(&mut self, delta: &str) -> String {
        self.pending.push_str(delta);
        let mut out = String::new();
        loop {
            if self.in_think {
                if let Some(i) = self.pending.find(CLOSE) {
                    self.thought_chars += i;
                    self.pending.drain(..i + CLOSE.len());
                    self.in_think = false;
                    self.held = None;
                    continue;
                }
                let keep = partial_tag_len(&self.pending, CLOSE);
                let drop = self.pending.len() - keep;
                self.thought_chars += drop;
                if let Some(h) = self.held.as_mut() {
                    h.push_str(&self.pending[..drop]);
                }
                self.pending.drain(..drop);
                return out;
            }
            if let Some(i) = self.pending.find(OPEN) {
                let before = &self.pending[..i];
                self.answered |= !before.trim().is_empty();
                out.push_str(before);
                self.pending.drain(..i + OPEN.len());
                self.in_think = true;
                if self.answered {
                    self.held = Some(String::new());
                }
                continue;
            }
            let keep = partial_tag_len(&self.pending, OPEN);
            let emit = self.pending.len() - keep;
            self.answered |= !self.pending[..emit].trim().is_empty();
            out.push_str(&self.pending[..emit]);
            self.pending.drain(..emit);
            return out;
        }
    }

    /// End of stream: a held-back partial tag was just text after all.
    pub fn finish(&mut self) -> String {
        if self.in_think {
            let pending = std::mem::take(&mut self.pending);
            // An unclosed `<think>` inside the answer was text after all.
            return match self.held.take() {
                Some(h) => format!("{OPEN}{h}{pending}"),
                None => String::new(),
            };
        }
        std::mem::take(&mut self.pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(pieces: &[&str]) -> (String, usize) {
        let mut f = ThinkFilter::default();
        let mut out: String = pieces.iter().map(|p| f.push(p)).collect();
        out.push_str(&f.finish());
        (out, f.thought_chars)
    }

    #[test]
    fn thoughts_are_removed_even_when_tags_are_split() {
        assert_eq!(run(&["<think>hmm</think>Answer"]).0, "Answer");
        assert_eq!(
            run(&["<th", "ink>so", "me</th", "ink>An", "swer"]),
            ("Answer".into(), 4)
        );
        assert_eq!(run(&["a < b and <t", "able>"]).0, "a < b and <table>");
        assert_eq!(run(&["x<"]).0, "x<");
        assert_eq!(run(&["<think>never closed"]).0, "");
        assert_eq!(run(&["héllo <think>é</think>wörld"]).0, "héllo wörld");
    }

    /// Issue 11, case 14: a `<think>` the answer talks about is kept.
    #[test]
    fn an_unclosed_tag_inside_the_answer_is_text() {
        assert_eq!(
            run(&[
                "Models write <th",
                "ink> before their ",
                "thoughts; the rest stays."
            ])
            .0,
            "Models write <think> before their thoughts; the rest stays."
        );
        // At the start, an unclosed block is still a thought.
        assert_eq!(run(&["  <think>never closed"]).0, "  ");
    }
}
