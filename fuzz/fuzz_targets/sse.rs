#![no_main]
// Invariants in sleuth::fuzzing::sse; the corpus is replayed by `cargo test`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| sleuth::fuzzing::sse(data));
