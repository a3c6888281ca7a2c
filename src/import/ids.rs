//! Ids for imported rows, derived from where they came from.
//!
//! The same shape as the app's own ids (`domain::next_raw_id`): the time in
//! milliseconds above 22 low bits, so id order stays time order (recall and
//! newest-first search walk ids). The low bits are a hash of the source id
//! rather than a counter, so importing the same file again proposes the
//! same ids and finds the rows it wrote; the writer moves a proposal that
//! collides with another row (`store::import`).

/// FNV-1a: stable across builds and platforms (std's hasher is not).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

pub fn derive(ms: i64, key: &str) -> i64 {
    let ms = (ms.max(0) as u64) & 0x1FF_FFFF_FFFF;
    ((ms << 22) | (fnv1a(key.as_bytes()) & 0x3F_FFFF)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_positive_and_in_time_order() {
        let a = derive(1_700_000_000_000, "chatgpt:x/1");
        assert_eq!(a, derive(1_700_000_000_000, "chatgpt:x/1"));
        assert!(a > 0);
        assert_ne!(a, derive(1_700_000_000_000, "chatgpt:x/2"));
        assert!(derive(1_700_000_000_001, "chatgpt:x/1") > derive(1_700_000_000_000, "zz"));
        assert!(derive(-5, "k") >= 0);
    }
}
