//! Small text helpers every layer may use (ARCHITECTURE.md §2: nothing
//! below `ui` imports it, so shared wording lives here).

/// "1 session", "3 sessions": counts in words, never "1 sessions" or
/// "session(s)". `one` is the singular; the plural adds an "s".
pub fn plural(n: impl Into<u64>, one: &str) -> String {
    match n.into() {
        1 => format!("1 {one}"),
        n => format!("{n} {one}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::plural;

    #[test]
    fn counts_read_as_words() {
        assert_eq!(plural(1u32, "session"), "1 session");
        assert_eq!(plural(0u32, "session"), "0 sessions");
        assert_eq!(plural(12u64, "document"), "12 documents");
    }
}
