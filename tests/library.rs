//! The library (issue 21) through the real binary and its real extractor
//! children: files from real producers (tests/library/SOURCES.md), the
//! incremental rules, bad input, misbehaving extractors, and a research
//! turn that cites a file and its page.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)] // test code: a panic is the failure report

mod common;
#[path = "library/embeddings.rs"]
mod embeddings;
#[path = "common/server.rs"]
mod server;
#[path = "common/wiki.rs"]
mod wiki;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::Sandbox;
use serde_json::Value;
use sleuth::library::child::Limits;
use sleuth::library::index::{self, Index};
use sleuth::library::indexer::{self, Options, Report};
use sleuth::library::settings::Folder;

const FILES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/library/files");
const SLEUTH: &str = env!("CARGO_BIN_EXE_sleuth");

/// A copy of the committed files in the sandbox (tests change them).
fn papers(sb: &Sandbox) -> PathBuf {
    let dir = sb.path().join("papers");
    std::fs::create_dir_all(&dir).unwrap();
    for e in std::fs::read_dir(FILES).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
    }
    dir
}

fn run(sb: &Sandbox, args: &[&str]) -> (i32, String, String) {
    let out = sb.cmd().arg("library").args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn json(sb: &Sandbox, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let (code, out, err) = run(sb, &all);
    assert_eq!(code, 0, "library {args:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn search(sb: &Sandbox, q: &str) -> Vec<Value> {
    json(sb, &["search", q]).as_array().unwrap().clone()
}

/// `sleuth [global…] ask ARGS…` (with `--json`): its JSON answer.
fn ask_json(sb: &Sandbox, global: &[&std::ffi::OsStr], args: &[&str]) -> Value {
    let out = sb
        .cmd()
        .args(global)
        .arg("ask")
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Some of the committed files in a fresh folder of the sandbox.
fn some_papers(sb: &Sandbox, files: &[&str]) -> PathBuf {
    let dir = sb.path().join("papers");
    std::fs::create_dir_all(&dir).unwrap();
    for f in files {
        std::fs::copy(Path::new(FILES).join(f), dir.join(f)).unwrap();
    }
    dir
}

/// A shell script written as an executable (a stand-in extractor).
fn script(path: PathBuf, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(&path, body).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn name(hit: &Value) -> String {
    Path::new(hit["path"].as_str().unwrap())
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

fn problem<'a>(status: &'a Value, file: &str) -> Option<&'a Value> {
    status["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["path"].as_str().unwrap().ends_with(file))
}

#[test]
fn every_format_keeps_its_pages_and_sections() {
    let sb = Sandbox::new();
    let dir = papers(&sb);
    let v = json(&sb, &["add", dir.to_str().unwrap()]);
    assert_eq!(v["scan"]["indexed"], 9, "{v}");
    assert_eq!(v["scan"]["failed"], 3, "{v}");

    // pdfLaTeX, two columns: the answer is on page 2. (owner-only.pdf is
    // the same paper with an owner password: it ties.)
    let paper = |hits: &[Value]| {
        let top: Vec<String> = hits.iter().take(2).map(name).collect();
        assert!(
            top.iter()
                .all(|n| n == "paper.pdflatex.pdf" || n == "owner-only.pdf"),
            "{hits:?}"
        );
        hits.iter()
            .find(|h| name(h) == "paper.pdflatex.pdf")
            .unwrap()
            .clone()
    };
    let hit = paper(&search(
        &sb,
        "after how many years did specimen Q-17 revive",
    ));
    assert_eq!(hit["page"], 2);
    assert!(hit["text"].as_str().unwrap().contains("nineteen years"));
    assert_eq!(hit["title"], "Desiccation Tolerance in Tardigrades");
    // The ligature and the line-end hyphen of page 1 are undone.
    let hit = paper(&search(&sb, "efficient mechanisms desiccation tolerance"));
    let text = hit["text"].as_str().unwrap();
    assert!(
        text.contains("efficient mechanisms of desiccation tolerance"),
        "{text}"
    );

    // LibreOffice: DOCX heading styles → sections; its PDF → page 1.
    let hits = search(&sb, "deepest station metres");
    let docx = hits.iter().find(|h| name(h) == "report.docx").unwrap();
    assert_eq!(docx["section"], "Sampling");
    assert_eq!(docx["title"], "Field Report: Lake Verna Survey");
    let pdf = hits
        .iter()
        .find(|h| name(h) == "report.libreoffice.pdf")
        .unwrap();
    assert_eq!(pdf["page"], 1);

    // pandoc EPUB: chapters → sections.
    let hits = search(&sb, "who carried the spare lens");
    assert_eq!(name(&hits[0]), "book.epub");
    assert_eq!(hits[0]["section"], "The Storm Years");
    assert_eq!(hits[0]["title"], "The Lighthouse Keepers");

    // Markdown front matter and nested headings; Org headings.
    let hits = search(&sb, "hydration slack loaf");
    assert_eq!(name(&hits[0]), "notes.md");
    assert_eq!(hits[0]["section"], "Starter › Hydration");
    assert_eq!(hits[0]["title"], "Reading notes on sourdough");
    let hits = search(&sb, "San Marzano tomatoes");
    assert_eq!(hits[0]["section"], "Summer › Tomatoes");

    // A saved page: the article, not its navigation, script or footer.
    let hits = search(&sb, "Sognefjord depth");
    assert_eq!(name(&hits[0]), "saved.html");
    assert!(hits[0]["text"].as_str().unwrap().contains("1,308"));
    for noise in ["tracking", "Privacy", "Topics"] {
        assert!(
            search(&sb, noise).iter().all(|h| name(h) != "saved.html"),
            "{noise}"
        );
    }

    // Plain text, a hyphen at a line end kept where it is a real one.
    let hits = search(&sb, "rare maps climate controlled room");
    assert_eq!(name(&hits[0]), "plain.txt");

    // Files that cannot be read say why.
    let status = json(&sb, &["status"]);
    assert_eq!(status["files"], 9);
    let reason = |f: &str| {
        problem(&status, f).unwrap()["reason"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(reason("encrypted.pdf").contains("encrypted"));
    assert_eq!(reason("no-text.pdf"), "no text layer; OCR is not supported");
    assert!(reason("truncated.pdf").contains("not a readable PDF"));
    // A PDF with only an owner password opens like any other.
    assert!(problem(&status, "owner-only.pdf").is_none());
}

#[test]
fn the_human_outputs_name_files_pages_and_problems() {
    let sb = Sandbox::new();
    let dir = papers(&sb);
    let (code, out, err) = run(&sb, &["add", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("9 files indexed"), "{out}");
    assert!(out.contains("3 failed"), "{out}");
    // Not a terminal: no progress line on stderr.
    assert!(!err.contains("indexing"), "{err}");

    let (_, out, _) = run(&sb, &["search", "specimen Q-17 revived"]);
    // Ties (the same paper saved twice) go by path.
    assert!(out.starts_with("owner-only.pdf · p. 2"), "{out}");
    assert!(out.contains("paper.pdflatex.pdf · p. 2"), "{out}");
    let (_, out, _) = run(&sb, &["status"]);
    assert!(out.starts_with("9 files indexed"), "{out}");
    assert!(out.contains("no-text.pdf: no text layer"), "{out}");
    let (_, out, _) = run(&sb, &["list"]);
    assert!(
        out.contains(dir.to_str().unwrap()) && out.contains("9 files"),
        "{out}"
    );
    let (_, out, _) = run(&sb, &["search", "zzzqqq"]);
    assert_eq!(out.trim(), "No passages match.");
}

#[test]
fn an_empty_library_indexes_nothing_and_says_how_to_start() {
    let sb = Sandbox::new();
    let (code, out, _) = run(&sb, &["list"]);
    assert_eq!(code, 0);
    assert!(out.contains("sleuth library add"), "{out}");
    let (code, out, _) = run(&sb, &["search", "anything"]);
    assert_eq!(code, 0);
    assert_eq!(out.trim(), "No passages match.");
    assert!(!sb.db().with_extension("library.db").exists());
    let (code, _, err) = run(&sb, &["remove", "/nowhere"]);
    assert_eq!(code, 1);
    assert!(err.contains("not in the library"), "{err}");
}

fn scan_json(sb: &Sandbox) -> Value {
    json(sb, &["reindex"]);
    json(sb, &["status"])
}

#[test]
fn rescans_skip_unchanged_files_follow_renames_and_drop_deleted_ones() {
    let sb = Sandbox::new();
    let dir = sb.path().join("notes");
    std::fs::create_dir(&dir).unwrap();
    std::fs::copy(Path::new(FILES).join("notes.md"), dir.join("notes.md")).unwrap();
    std::fs::copy(
        Path::new(FILES).join("journal.org"),
        dir.join("journal.org"),
    )
    .unwrap();
    let v = json(&sb, &["add", dir.to_str().unwrap()]);
    assert_eq!(v["scan"]["indexed"], 2);

    // Nothing changed: nothing is read.
    let v = json(&sb, &["add", dir.to_str().unwrap()]);
    assert_eq!(
        (
            v["scan"]["unchanged"].as_u64(),
            v["scan"]["indexed"].as_u64()
        ),
        (Some(2), Some(0)),
        "{v}"
    );
    assert_eq!(v["scan"]["bytes"], 0);

    // Renamed: recognised by its content, not extracted again.
    std::fs::create_dir(dir.join("old")).unwrap();
    std::fs::rename(dir.join("journal.org"), dir.join("old/garden.org")).unwrap();
    let v = json(&sb, &["add", dir.to_str().unwrap()]);
    assert_eq!(v["scan"]["renamed"], 1, "{v}");
    assert_eq!(v["scan"]["indexed"], 0, "{v}");
    let hits = search(&sb, "San Marzano");
    assert!(
        hits[0]["path"]
            .as_str()
            .unwrap()
            .ends_with("old/garden.org")
    );

    // Touched (same bytes, new mtime): not extracted again.
    let f = std::fs::File::options()
        .append(true)
        .open(dir.join("notes.md"))
        .unwrap();
    f.set_modified(std::time::SystemTime::now() + Duration::from_secs(5))
        .unwrap();
    drop(f);
    let v = json(&sb, &["add", dir.to_str().unwrap()]);
    assert_eq!(
        (
            v["scan"]["unchanged"].as_u64(),
            v["scan"]["indexed"].as_u64()
        ),
        (Some(2), Some(0)),
        "{v}"
    );

    // Changed: re-indexed alone; its old words leave the index.
    std::fs::write(
        dir.join("notes.md"),
        "# Starter\n\nThe levain smelled of green apples.\n",
    )
    .unwrap();
    let v = json(&sb, &["add", dir.to_str().unwrap()]);
    assert_eq!(v["scan"]["indexed"], 1, "{v}");
    assert_eq!(v["scan"]["unchanged"], 1, "{v}");
    assert!(search(&sb, "Dutch oven").is_empty());
    assert_eq!(name(&search(&sb, "levain apples")[0]), "notes.md");

    // Deleted: gone from the index.
    std::fs::remove_file(dir.join("notes.md")).unwrap();
    let v = json(&sb, &["add", dir.to_str().unwrap()]);
    assert_eq!(v["scan"]["removed"], 1, "{v}");
    assert!(search(&sb, "levain").is_empty());
    assert_eq!(scan_json(&sb)["files"], 1);

    // Removing the folder empties the library; the files stay on disk.
    let v = json(&sb, &["remove", dir.to_str().unwrap()]);
    assert_eq!(v["library"]["files"], 0, "{v}");
    assert!(dir.join("old/garden.org").exists());
}

#[test]
fn bad_files_get_reasons_and_never_stop_the_indexing() {
    let sb = Sandbox::new();
    let dir = sb.path().join("bad");
    std::fs::create_dir(&dir).unwrap();
    // A binary file named .md, invalid UTF-8, and a good file.
    std::fs::write(
        dir.join("image.md"),
        [0x89, b'P', b'N', b'G', 0, 0, 0, 13, 0, 0, 0, 0],
    )
    .unwrap();
    std::fs::write(
        dir.join("latin1.txt"),
        b"caf\xe9 au lait and cr\xe8me br\xfbl\xe9e recipes\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("good.md"),
        "# Good\n\nAn ordinary note about otters.\n",
    )
    .unwrap();
    // A DOCX zip bomb: 200 MB of one repeated paragraph, ~200 KB zipped.
    zip_bomb(&dir.join("bomb.docx"), 200 << 20);
    // Over max_file_mb (1 MB in this sandbox's config).
    std::fs::write(dir.join("big.txt"), "word ".repeat(300_000)).unwrap();
    // A symlink loop and a name with a newline and an escape sequence.
    std::os::unix::fs::symlink(&dir, dir.join("loop")).unwrap();
    std::fs::write(
        dir.join("evil\n\x1b[31mred.md"),
        "# Evil\n\nA note about badgers.\n",
    )
    .unwrap();
    // A name that is not UTF-8.
    {
        use std::os::unix::ffi::OsStrExt;
        let n = std::ffi::OsStr::from_bytes(b"bad\xffname.md");
        std::fs::write(dir.join(n), "# x\n\nhedgehogs\n").unwrap();
    }
    append_config(&sb, "[library]\nmax_file_mb = 1\n");

    let (code, out, err) = run(&sb, &["add", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains('\x1b') && !err.contains('\x1b'));
    let status = json(&sb, &["status"]);
    let reason = |f: &str| {
        problem(&status, f).unwrap_or_else(|| panic!("{f} in {status}"))["reason"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(reason("image.md"), "binary file, not text");
    assert!(
        reason("bomb.docx").contains("MB"),
        "{}",
        reason("bomb.docx")
    );
    assert!(
        reason("big.txt").contains("max_file_mb"),
        "{}",
        reason("big.txt")
    );
    assert!(
        status["problems"].to_string().contains("not UTF-8"),
        "{status}"
    );
    // Indexed despite the neighbours: the good file, the Latin-1 file
    // (bytes replaced) and the file with the hostile name.
    assert_eq!(name(&search(&sb, "otters")[0]), "good.md");
    assert!(!search(&sb, "recipes").is_empty());
    assert_eq!(search(&sb, "badgers").len(), 1);
    // The hostile name is shown on one line, without the escape.
    let (_, out, _) = run(&sb, &["search", "badgers"]);
    assert!(!out.contains('\x1b'), "{out:?}");
    assert_eq!(
        out.lines().filter(|l| l.contains("red.md")).count(),
        2,
        "{out}"
    );
    let (_, out, _) = run(&sb, &["status"]);
    assert!(!out.contains('\x1b'), "{out:?}");
    for line in out
        .lines()
        .filter(|l| l.contains("failed") || l.contains("skipped"))
    {
        assert!(
            line.contains(':'),
            "a problem row split across lines: {out}"
        );
    }
}

fn append_config(sb: &Sandbox, text: &str) {
    let p = sb.path().join("config/sleuth/config.toml");
    let mut cfg = std::fs::read_to_string(&p).unwrap();
    cfg.push_str(text);
    std::fs::write(p, cfg).unwrap();
}

fn zip_bomb(path: &Path, inflated: usize) {
    use std::io::Write;
    let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    z.start_file("word/document.xml", opts).unwrap();
    z.write_all(b"<w:document><w:body>").unwrap();
    let para = b"<w:p><w:r><w:t>aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa</w:t></w:r></w:p>";
    let chunk = para.repeat(16 * 1024);
    let mut n = 0;
    while n < inflated {
        z.write_all(&chunk).unwrap();
        n += chunk.len();
    }
    z.write_all(b"</w:body></w:document>").unwrap();
    z.finish().unwrap();
}

/// A stand-in for the extractor child that misbehaves by file name and
/// hands every other file to the real one.
fn stand_in(dir: &Path) -> PathBuf {
    let p = dir.join("extractor.sh");
    let body = format!(
        r#"#!/bin/sh
while IFS= read -r line; do
  case "$line" in
    *hang*) exec sleep 60 ;;
    *crash*) kill -SEGV $$ ;;
    *flood*) head -c 3000000 /dev/zero | tr '\0' 'a'; echo ;;
    *nonsense*) echo 'this is not json' ;;
    *vanish*) rm -f "$(printf '%s' "$line" | sed 's/.*"path":"\([^"]*\)".*/\1/')"; echo '{{"err":"gone"}}' ;;
    *) printf '%s\n' "$line" | {SLEUTH} __extract ;;
  esac
done
"#
    );
    script(p, &body)
}

fn options(exe: PathBuf) -> Options {
    Options {
        exe,
        limits: Limits {
            timeout: Duration::from_secs(2),
            memory_mb: 1024,
            max_output: 1 << 20,
        },
        max_file_bytes: 50 << 20,
        exclude: Vec::new(),
        workers: 2,
        force_under: None,
    }
}

fn scan_dir(ix: &mut Index, dir: &Path, opts: &Options, stop: &Arc<AtomicBool>) -> Report {
    let roots = [Folder {
        path: dir.to_path_buf(),
        exclude: Vec::new(),
    }];
    indexer::scan(ix, &roots, opts, &mut |_| {}, stop).unwrap()
}

#[test]
fn an_extractor_that_hangs_crashes_floods_or_babbles_costs_one_file_each() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("files");
    std::fs::create_dir(&dir).unwrap();
    for n in ["hang", "crash", "flood", "nonsense", "vanish"] {
        std::fs::write(dir.join(format!("{n}.md")), "# x\n\nunused\n").unwrap();
    }
    for i in 0..6 {
        std::fs::write(
            dir.join(format!("good{i}.md")),
            format!("# Good {i}\n\nwombat number {i}\n"),
        )
        .unwrap();
    }
    let (mut ix, _) = Index::open(&tmp.path().join("l.db")).unwrap();
    let opts = options(stand_in(tmp.path()));
    let started = std::time::Instant::now();
    let r = scan_dir(&mut ix, &dir, &opts, &Arc::new(AtomicBool::new(false)));
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!((r.indexed, r.failed), (6, 4), "{r:?}");
    let s = index::summary(ix.conn()).unwrap();
    let reason = |f: &str| {
        s.problems
            .iter()
            .find(|p| p.path.ends_with(f))
            .unwrap()
            .reason
            .clone()
    };
    assert_eq!(reason("hang.md"), "took longer than 2 s (extractor killed)");
    assert!(
        reason("crash.md").contains("signal 11"),
        "{}",
        reason("crash.md")
    );
    assert!(
        reason("flood.md").contains("passes 1 MB"),
        "{}",
        reason("flood.md")
    );
    assert!(
        reason("nonsense.md").contains("nonsense"),
        "{}",
        reason("nonsense.md")
    );
    // Deleted while it was read: not a failure, not in the index.
    assert!(!dir.join("vanish.md").exists());
    assert!(
        s.problems.iter().all(|p| !p.path.ends_with("vanish.md")),
        "{s:?}"
    );
    // The hung child is gone, not left behind.
    let sleeping = std::process::Command::new("pgrep")
        .args(["-f", "^sleep 60$"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(!sleeping, "the hung extractor was left running");
}

#[test]
fn the_real_child_stops_at_its_memory_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("files");
    std::fs::create_dir(&dir).unwrap();
    // 48 MB of text in one file: more than 64 MB of address space to read.
    let line = "tardigrades survive the vacuum of space and the deep cold\n";
    std::fs::write(dir.join("huge.txt"), line.repeat((48 << 20) / line.len())).unwrap();
    std::fs::write(dir.join("small.txt"), "a small note on moss\n").unwrap();
    let (mut ix, _) = Index::open(&tmp.path().join("l.db")).unwrap();
    let mut opts = options(PathBuf::from(SLEUTH));
    opts.limits.memory_mb = 64;
    opts.limits.timeout = Duration::from_secs(30);
    opts.limits.max_output = 64 << 20;
    let r = scan_dir(&mut ix, &dir, &opts, &Arc::new(AtomicBool::new(false)));
    assert_eq!((r.indexed, r.failed), (1, 1), "{r:?}");
    let s = index::summary(ix.conn()).unwrap();
    // A refused read, or an allocation that aborts the child: both say so.
    let reason = &s.problems[0].reason;
    assert!(
        reason.starts_with("needed more than 64 MB of memory"),
        "{reason}"
    );
}

#[test]
fn an_interrupted_scan_keeps_its_work_and_the_next_one_finishes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("files");
    std::fs::create_dir(&dir).unwrap();
    for i in 0..40 {
        std::fs::write(
            dir.join(format!("n{i:02}.md")),
            format!("# Note {i}\n\nquokka {i}\n"),
        )
        .unwrap();
    }
    let db = tmp.path().join("l.db");
    // An extractor that takes 50 ms a file, so the stop lands mid-scan
    // however busy the machine is.
    let slow = script(
        tmp.path().join("slow.sh"),
        &format!(
            "#!/bin/sh\nwhile IFS= read -r line; do sleep 0.05; printf '%s\\n' \"$line\" | {SLEUTH} __extract; done\n"
        ),
    );
    let opts = options(slow);
    let stop = Arc::new(AtomicBool::new(false));
    let first = {
        let (mut ix, _) = Index::open(&db).unwrap();
        let roots = [Folder {
            path: dir.clone(),
            exclude: Vec::new(),
        }];
        let flag = Arc::clone(&stop);
        indexer::scan(
            &mut ix,
            &roots,
            &opts,
            &mut |p| {
                if p.done >= 10 {
                    flag.store(true, Ordering::SeqCst);
                }
            },
            &stop,
        )
        .unwrap()
    };
    assert!(first.interrupted, "{first:?}");
    assert!(first.indexed >= 10 && first.indexed < 40, "{first:?}");
    // What was done is durable: a new connection sees it.
    let (mut ix, _) = Index::open(&db).unwrap();
    assert_eq!(
        index::summary(ix.conn()).unwrap().files as usize,
        first.indexed
    );
    let second = scan_dir(&mut ix, &dir, &opts, &Arc::new(AtomicBool::new(false)));
    assert!(!second.interrupted);
    assert_eq!(second.unchanged, first.indexed, "{second:?}");
    assert_eq!(second.indexed, 40 - first.indexed, "{second:?}");
    assert_eq!(index::summary(ix.conn()).unwrap().files, 40);
}

#[test]
fn a_damaged_index_is_rebuilt_from_the_files_and_the_folders_are_kept() {
    let sb = Sandbox::new();
    let dir = papers(&sb);
    json(&sb, &["add", dir.to_str().unwrap()]);
    let ix = sb.db().with_extension("library.db");
    std::fs::write(&ix, vec![0x42; 64 * 1024]).unwrap();
    let _ = std::fs::remove_file(ix.with_extension("db-wal"));
    let _ = std::fs::remove_file(ix.with_extension("db-shm"));
    // Searching a damaged index is an error, not a crash.
    let (code, _, err) = run(&sb, &["search", "tardigrades"]);
    assert_ne!(code, 0);
    assert!(!err.is_empty());
    let v = json(&sb, &["reindex"]);
    assert!(v["scan"]["notes"].to_string().contains("rebuilt"), "{v}");
    assert_eq!(v["library"]["files"], 9);
    let hits = search(&sb, "specimen Q-17");
    assert!(
        hits.iter().any(|h| name(h) == "paper.pdflatex.pdf"),
        "{hits:?}"
    );
}

#[test]
fn a_research_turn_on_the_library_alone_cites_the_file_and_its_page() {
    let sb = Sandbox::new();
    let dir = papers(&sb);
    json(&sb, &["add", dir.to_str().unwrap()]);
    // No model answers (a closed loopback port): the extractive answer
    // cites the passages, as a model's answer would.
    let v = ask_json(
        &sb,
        &[],
        &["/sources lib after how many years did specimen Q-17 revive"],
    );
    let per_source: Vec<&str> = v["analysis"]["per_source"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["source"].as_str().unwrap())
        .collect();
    assert_eq!(per_source, ["library"], "only the library was asked");
    let first = &v["sources"][0];
    assert_eq!(first["kind"], "library");
    assert!(
        first["excerpt"]
            .as_str()
            .unwrap()
            .contains("nineteen years")
    );
    assert_eq!(first["page"], 2);
    // What a reference needs, from the PDF's own info dictionary.
    assert_eq!(
        first["meta"]["authors"],
        serde_json::json!(["Ada Quill", "Ben Marsh"]),
        "{first:#}"
    );
    assert_eq!(first["meta"]["doi"], "10.5555/tardi.2024.017");
    let path = first["path"].as_str().unwrap();
    assert!(
        path.ends_with("owner-only.pdf") || path.ends_with("paper.pdflatex.pdf"),
        "{path}"
    );
    assert!(first["url"].as_str().unwrap().ends_with("#page=2"));
    assert!(
        !first["excerpt"].as_str().unwrap().ends_with(" 2"),
        "the page number left the text"
    );
    // The same passage saved in two files is cited once.
    let excerpts: Vec<&str> = v["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["excerpt"].as_str().unwrap())
        .collect();
    let mut unique = excerpts.clone();
    unique.dedup();
    assert_eq!(unique.len(), excerpts.len(), "{excerpts:?}");
    assert!(v["answer"].as_str().unwrap().contains("[1]"));

    // Reopened from the store: the source still names its file and page.
    let out = sb
        .cmd()
        .args(["show", "latest", "--json"])
        .output()
        .unwrap();
    let t: Value = serde_json::from_slice(&out.stdout).unwrap();
    let src = &t["messages"][1]["sources"][0];
    assert_eq!(src["kind"], "library");
    assert_eq!(src["path"], path);
    assert_eq!(src["page"], 2);
    let out = sb.cmd().args(["show", "latest"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("· p. 2"), "{text}");
}

#[test]
fn doctor_reports_the_library_and_where_its_text_may_go() {
    let sb = Sandbox::new();
    let dir = papers(&sb);
    json(&sb, &["add", dir.to_str().unwrap()]);
    let out = sb.cmd().args(["doctor", "--json"]).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let l = &v["library"];
    assert_eq!(l["files"], 9, "{l}");
    assert_eq!(l["not_indexed"], 3);
    assert_eq!(l["privacy"], "local");
    assert_eq!(l["ok"], true);
    assert_eq!(l["folders"][0], dir.to_str().unwrap());
    let out = sb.cmd().arg("doctor").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("library text goes only to the model on this machine"),
        "{text}"
    );
}

/// The next `Done` from the worker, within 20 s.
fn next_done(
    rx: &std::sync::mpsc::Receiver<sleuth::library::watch::LibraryEvent>,
) -> (usize, usize) {
    use sleuth::library::watch::LibraryEvent;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx
            .recv_timeout(left)
            .expect("the library worker reported within 20 s")
        {
            LibraryEvent::Done {
                indexed, removed, ..
            } => return (indexed, removed),
            LibraryEvent::Failed(e) => panic!("{e}"),
            LibraryEvent::Progress { .. } | LibraryEvent::Embedding { .. } => {}
        }
    }
}

#[test]
fn while_the_app_runs_the_watcher_indexes_new_files_and_drops_deleted_ones() {
    use sleuth::library::settings::LibraryConfig;
    use sleuth::library::watch::LibraryWorker;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("notes");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("old.md"), "# Old\n\nwombats dig burrows\n").unwrap();
    let cfg = LibraryConfig {
        paths: vec![dir.clone()],
        index: tmp.path().join("l.db"),
        ..LibraryConfig::default()
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = LibraryWorker::spawn(
        cfg.clone(),
        sleuth::library::vectors::Plan::Off,
        PathBuf::from(SLEUTH),
        sleuth::emit::Emitter::channel(tx),
    )
    .unwrap()
    .expect("a library with a folder is watched");
    // The catch-up scan at start.
    assert_eq!(next_done(&rx), (1, 0));
    let hits = |q: &str| {
        let conn = index::open_reader(&cfg.index).unwrap().unwrap();
        sleuth::library::search::search(&conn, q, 5).unwrap().len()
    };
    assert_eq!(hits("wombats"), 1);

    std::fs::write(dir.join("new.md"), "# New\n\nquokkas smile\n").unwrap();
    assert_eq!(next_done(&rx), (1, 0));
    assert_eq!(hits("quokkas"), 1);

    std::fs::remove_file(dir.join("old.md")).unwrap();
    assert_eq!(next_done(&rx), (0, 1));
    assert_eq!(hits("wombats"), 0);
    worker.shutdown();
}

#[test]
fn no_folder_no_watcher_and_no_index() {
    use sleuth::library::settings::LibraryConfig;
    let tmp = tempfile::tempdir().unwrap();
    let cfg = LibraryConfig {
        index: tmp.path().join("l.db"),
        ..LibraryConfig::default()
    };
    let w = sleuth::library::watch::LibraryWorker::spawn(
        cfg,
        sleuth::library::vectors::Plan::Off,
        PathBuf::from(SLEUTH),
        sleuth::emit::Emitter::new(|_| {}),
    )
    .unwrap();
    assert!(w.is_none());
    assert!(!tmp.path().join("l.db").exists());
}

#[test]
fn in_the_app_tab_then_o_opens_the_cited_file_at_its_page() {
    use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
    use sleuth::ui::UiEvent;
    let key = |c: KeyCode| UiEvent::Input(Event::Key(KeyEvent::new(c, KeyModifiers::NONE)));
    let sb = Sandbox::new();
    let dir = sb.path().join("papers");
    std::fs::create_dir(&dir).unwrap();
    std::fs::copy(
        Path::new(FILES).join("paper.pdflatex.pdf"),
        dir.join("paper.pdf"),
    )
    .unwrap();
    json(&sb, &["add", dir.to_str().unwrap()]);

    let mut cfg = sleuth::config::Config::default();
    cfg.provider.base_url = "http://127.0.0.1:9".into();
    cfg.library.resolve(&sb.db());
    let mut h = common::harness::harness_config(sb, cfg);
    // The viewer: a stand-in that records what it was asked to open.
    let marker = h.sb.path().join("opened");
    h.app.library_open = format!(
        "sh -c 'echo \"$0 $1\" > {}' {{page}} {{path}}",
        marker.display()
    );
    for c in "/sources lib when did specimen Q-17 revive".chars() {
        h.app.handle(key(KeyCode::Char(c)));
    }
    h.app.handle(key(KeyCode::Enter));
    assert!(h.pump_until(|a| a.chat.conv.active().is_none()));
    h.app.handle(key(KeyCode::Tab));
    h.app.handle(key(KeyCode::Char('o')));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !marker.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let opened = std::fs::read_to_string(&marker).expect("the viewer ran");
    assert_eq!(
        opened.trim(),
        format!("2 {}", dir.join("paper.pdf").display())
    );
}

#[test]
fn a_remote_model_is_asked_about_before_library_text_goes_to_it() {
    use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
    use sleuth::agent::research::{SourceKind, SourceOutcome, SourceStatus};
    use sleuth::agent::{AgentCommand, AgentEvent};
    use sleuth::ui::UiEvent;
    let key = |c: KeyCode| UiEvent::Input(Event::Key(KeyEvent::new(c, KeyModifiers::NONE)));
    let sb = Sandbox::new();
    let index = sb.db().with_extension("library.db");
    // Nothing answers the app's agent commands: the turn's events are
    // given by hand, so no request leaves the machine.
    let (mut h, mut rx) = common::harness::harness_detached(sb);
    h.app.chat.library = sleuth::ui::chat::library::LibraryAccess::new(
        index.clone(),
        Some("api.example.com".into()),
    );
    for c in "what did I read about tardigrades".chars() {
        h.app.handle(key(KeyCode::Char(c)));
    }
    h.app.handle(key(KeyCode::Enter));
    let turn = match rx.try_recv().expect("the app asked the agent") {
        AgentCommand::Research(ask) => ask.turn,
        other => panic!("{other:?}"),
    };
    let withheld = || SourceStatus {
        source: SourceKind::Library,
        outcome: SourceOutcome::Withheld,
        error: Some("not searched".into()),
        ..Default::default()
    };
    h.app.handle(UiEvent::Agent(AgentEvent::SourceDone {
        turn,
        status: withheld(),
    }));
    h.app.handle(UiEvent::Agent(AgentEvent::SourceDone {
        turn,
        status: withheld(),
    }));
    let text: String = h
        .app
        .chat
        .transcript
        .cells()
        .iter()
        .map(|c| c.text().to_string() + "\n")
        .collect();
    assert_eq!(
        text.matches("Your library was not searched").count(),
        1,
        "asked once: {text}"
    );
    assert!(text.contains("api.example.com"), "{text}");

    h.app.stop_turn();
    for c in "/library allow".chars() {
        h.app.handle(key(KeyCode::Char(c)));
    }
    h.app.handle(key(KeyCode::Enter));
    assert!(
        h.app
            .chat
            .flash
            .clone()
            .unwrap_or_default()
            .contains("may now go to api.example.com")
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !sleuth::library::consent::allowed(&index, "api.example.com")
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(sleuth::library::consent::allowed(&index, "api.example.com"));
    // The agent reads the answer: the library is no longer withheld.
    let cfg = sleuth::library::settings::LibraryConfig {
        index: index.clone(),
        ..Default::default()
    };
    assert!(sleuth::library::Privacy::of(&cfg, "https://api.example.com/v1").allows());
}

#[test]
fn a_deep_run_reads_the_library_too() {
    let sb = Sandbox::new();
    let dir = some_papers(&sb, &["paper.pdflatex.pdf", "notes.md", "book.epub"]);
    json(&sb, &["add", dir.to_str().unwrap()]);
    let v = ask_json(
        &sb,
        &[],
        &[
            "--deep",
            "/sources lib how long did specimen Q-17 survive storage",
        ],
    );
    assert_eq!(v["status"], "complete", "{v}");
    let first = &v["sources"][0];
    assert_eq!(first["kind"], "library");
    assert_eq!(first["page"], 2);
    assert!(v["answer"].as_str().unwrap().contains("nineteen years"));
}

#[test]
fn a_file_past_the_text_kept_is_indexed_in_part_and_status_says_so() {
    let sb = Sandbox::new();
    let dir = sb.path().join("logs");
    std::fs::create_dir(&dir).unwrap();
    // 10 MB of text: the first 8 MB are kept.
    let para = "the aardvark log line repeats here for a while\n\n";
    let mut text = para.repeat((10 << 20) / para.len());
    text.push_str("a closing line about pangolins\n");
    std::fs::write(dir.join("big.txt"), text).unwrap();
    let v = json(&sb, &["add", dir.to_str().unwrap()]);
    assert_eq!(v["scan"]["indexed"], 1, "{v}");
    let status = json(&sb, &["status"]);
    let p = problem(&status, "big.txt").expect("listed");
    assert_eq!(p["status"], "partial");
    assert!(p["reason"].as_str().unwrap().contains("first 8 MB"), "{p}");
    assert!(!search(&sb, "aardvark").is_empty());
    assert!(search(&sb, "pangolins").is_empty(), "past the cut");
}

#[test]
fn the_app_in_a_pty_indexes_a_new_note_and_cites_it() {
    let sb = Sandbox::new();
    let dir = sb.path().join("notes");
    std::fs::create_dir(&dir).unwrap();
    std::fs::copy(Path::new(FILES).join("notes.md"), dir.join("notes.md")).unwrap();
    json(&sb, &["add", dir.to_str().unwrap()]);
    let mut s = common::pty::Session::start(&sb);
    s.wait_for_text("Ask a question");
    // Written while the app runs: its library worker indexes it.
    std::fs::write(
        dir.join("quokka.md"),
        "# Quokkas\n\nQuokkas eat leaves of the shrub.\n",
    )
    .unwrap();
    let index = sb.db().with_extension("library.db");
    let found = common::wait_for(Duration::from_secs(20), || {
        let conn = index::open_reader(&index).ok()??;
        (!sleuth::library::search::search(&conn, "quokkas", 1)
            .ok()?
            .is_empty())
        .then_some(())
    });
    assert!(
        found.is_some(),
        "the app's worker never indexed the new note"
    );
    s.send(b"/sources lib what do quokkas eat");
    s.send(b"\r");
    s.wait_for_text("quokka.md");
    s.send(b"\x03");
    let (ok, raw, alt, t) = s.finish();
    assert!(ok, "{}", String::from_utf8_lossy(&raw));
    assert!(!alt, "still on the alternate screen");
    assert!(t.c_lflag & libc::ICANON != 0 && t.c_lflag & libc::ECHO != 0);
}

#[test]
fn a_deep_run_never_sends_words_of_the_library_to_a_web_source() {
    let sb = Sandbox::new();
    let dir = sb.path().join("notes");
    std::fs::create_dir(&dir).unwrap();
    // A name only the user's note holds: the kind of bridge a deep run
    // follows as a lead.
    std::fs::write(
        dir.join("study.md"),
        "# Tardigrade study\n\nThe tardigrade desiccation study was run by Zorblax Quintero \
         at the Hollow Lake station, where Zorblax Quintero kept the samples.\n",
    )
    .unwrap();
    json(&sb, &["add", dir.to_str().unwrap()]);
    let wiki = wiki::Wiki::start(
        vec![wiki::Article {
            title: "Tardigrade".into(),
            text: "Tardigrades are water bears. Lazzaro Spallanzani named them in 1777; \
                   desiccation studies of tardigrades followed."
                .into(),
        }],
        false,
        60,
    );
    let cfg = sb.path().join("deep.toml");
    std::fs::write(
        &cfg,
        format!(
            "[provider]\nbase_url = \"http://127.0.0.1:9\"\n\
             [sources.wikipedia]\nbase_url = \"{}\"\n\
             [sources.hackernews]\nenabled = false\n[sources.arxiv]\nenabled = false\n",
            wiki.url()
        ),
    )
    .unwrap();
    let v = ask_json(
        &sb,
        &["--config".as_ref(), cfg.as_os_str()],
        &["--deep", "who ran the tardigrade desiccation study"],
    );
    assert!(
        v["sources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["kind"] == "library"),
        "the note was read: {v}"
    );
    let asked = wiki.requests.lock().unwrap().join("\n");
    assert!(!asked.is_empty(), "Wikipedia was asked");
    for word in ["Zorblax", "Quintero", "Hollow"] {
        assert!(!asked.contains(word), "{word} went to Wikipedia:\n{asked}");
    }
}
