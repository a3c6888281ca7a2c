//! Every input of the fuzz corpus (`fuzz/corpus/TARGET/`, grown by
//! `cargo fuzz run`; crashes found are kept there too once fixed) replayed
//! through the same checks the fuzz targets run, on stable, in `cargo test`:
//! a regression shows here without libFuzzer.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)] // test code: a panic is the failure report

use std::path::Path;

#[test]
fn the_fuzz_corpus_passes_every_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join("corpus");
    for (name, check) in sleuth::fuzzing::TARGETS {
        let dir = root.join(name);
        let mut n = 0;
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            let data = std::fs::read(&path).unwrap();
            let ok = std::panic::catch_unwind(|| check(&data));
            assert!(ok.is_ok(), "{name}: {} fails", path.display());
            n += 1;
        }
        assert!(n > 0, "no corpus for {name}");
    }
}
