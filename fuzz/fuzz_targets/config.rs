#![no_main]
// Invariants in sleuth::fuzzing::config; the corpus is replayed by `cargo test`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| sleuth::fuzzing::config(data));
