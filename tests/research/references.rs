//! Reference export read back by real consumers: BibTeX by bibtexparser,
//! RIS by rispy (both pinned in the test venv), CSL JSON and the
//! `--format pandoc` document by `pandoc --citeproc` (Debian's package,
//! installed by `.ci/run`), every citation resolved.

use std::process::Command;

use serde_json::Value;
use sleuth::domain::{Role, Source, SourceMeta};
use sleuth::store::StoreCommand;

use super::common::{self, Sandbox};
use super::python;

fn source(ordinal: i64, kind: &str, title: &str, url: &str, section: Option<&str>) -> Source {
    Source {
        ordinal,
        kind: kind.into(),
        title: title.into(),
        url: Some(url.into()),
        excerpt: "Some words of the passage.".into(),
        relevance: Some(0.5),
        fetched_at: 1_764_806_400_000,
        section: section.map(String::from),
        meta: Default::default(),
    }
}

/// One session, one answer citing a document of every kind (two passages
/// of one Wikipedia article among them) and a dangling [9].
fn session(sb: &Sandbox) {
    let t = 1_764_806_400_000;
    let sources = vec![
        source(
            1,
            "wikipedia",
            "Normans",
            "https://en.wikipedia.org/wiki/Normans#History",
            Some("History"),
        ),
        source(
            2,
            "wikipedia",
            "Normans",
            "https://en.wikipedia.org/wiki/Normans#Legacy",
            Some("Legacy"),
        ),
        source(
            3,
            "arxiv",
            "Norse {raiders} & 50% of \"Sicily\"",
            "https://arxiv.org/abs/2101.00001v2",
            None,
        ),
        source(
            4,
            "hackernews",
            "Ask HN: Normans?",
            "https://news.ycombinator.com/item?id=4242",
            None,
        ),
        source(
            5,
            "web",
            "Les Normands — été",
            "https://www.example.org/normands",
            None,
        ),
        source(
            6,
            "library",
            "Desiccation tolerance",
            "file:///home/r/papers/paper.pdf#page=3",
            None,
        ),
    ];
    let meta = |authors: &[&str], published: Option<&str>| SourceMeta {
        authors: authors.iter().map(|a| a.to_string()).collect(),
        published: published.map(String::from),
        ..Default::default()
    };
    let mut sources = sources;
    sources[0].meta.revision = Some(1_234_567);
    sources[1].meta.revision = Some(1_234_567);
    sources[2].meta = SourceMeta {
        title: Some("Norse {raiders} & 50% of \"Sicily\"".into()),
        doi: Some("10.1000/xyz_1".into()),
        category: Some("hist.med".into()),
        ..meta(&["Ada Lovelace", "Grace Hopper"], Some("2021-01-01"))
    };
    sources[3].meta = meta(&["pg"], Some("2014-10-15"));
    sources[4].meta = SourceMeta {
        site: Some("Le Monde".into()),
        ..meta(&["Dupont, Marie"], Some("2019-05"))
    };
    sources[5].meta = SourceMeta {
        doi: Some("10.5555/desic".into()),
        ..meta(&["Tardi Grade"], None)
    };
    common::write_all(
        &sb.db(),
        vec![
            StoreCommand::CreateSession(common::session(7, "Normans", t)),
            StoreCommand::AppendMessage(common::message(
                70,
                7,
                Role::User,
                "Who were the Normans?",
                t,
            )),
            StoreCommand::FinishTurn {
                message: common::message(
                    71,
                    7,
                    Role::Assistant,
                    "They came from Normandy [1] and left a legacy [2]. A paper says so [3], \
                     HN argued [4], a page agrees [5, 6]. Not a source [9].",
                    t + 1,
                ),
                sources,
            },
        ],
    );
}

fn export(sb: &Sandbox, format: &str, out: Option<&std::path::Path>) -> String {
    let mut c = sb.cmd();
    c.args(["export", "7", "--format", format]);
    if let Some(o) = out {
        c.arg("-o").arg(o);
    }
    let r = c.output().unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    String::from_utf8(r.stdout).unwrap()
}

/// `cmd` with `input` on its stdin: its stdout and stderr; a failure
/// panics with what it said.
fn piped(mut cmd: Command, input: &str) -> (String, String) {
    use std::io::Write;
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn py(code: &str, input: &str) -> Value {
    let mut c = Command::new(python::python());
    c.args(["-c", code]);
    serde_json::from_str(&piped(c, input).0).unwrap()
}

#[test]
fn bibtex_and_ris_parse_in_real_parsers_one_entry_per_document() {
    let sb = Sandbox::new();
    session(&sb);
    let bib = export(&sb, "bibtex", None);
    let v = py(
        "import sys, json, bibtexparser\n\
         db = bibtexparser.loads(sys.stdin.read())\n\
         print(json.dumps([{k: e.get(k) for k in ('ID', 'ENTRYTYPE', 'title', 'eprint', 'url', 'urldate', 'file', 'author', 'year', 'doi', 'primaryclass')} for e in db.entries]))",
        &bib,
    );
    let ids: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["ID"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "wikipedia2025normans",
            "lovelace2021norse",
            "pg2014normans",
            "dupont2019normands",
            "grade2025desiccation"
        ],
        "{bib}"
    );
    assert_eq!(v[1]["eprint"], "2101.00001v2");
    assert_eq!(v[1]["author"], "Lovelace, Ada and Hopper, Grace");
    assert_eq!(v[1]["year"], "2021");
    assert_eq!(v[1]["doi"], "10.1000/xyz\\_1");
    assert_eq!(v[1]["primaryclass"], "hist.med");
    assert_eq!(v[3]["author"], "Dupont, Marie");
    // The revision read, by its permalink.
    assert_eq!(
        v[0]["url"],
        "https://en.wikipedia.org/w/index.php?title=Normans&oldid=1234567"
    );
    assert_eq!(v[0]["urldate"], "2025-12-04");
    assert_eq!(v[4]["file"], "/home/r/papers/paper.pdf");
    assert!(
        v[1]["title"]
            .as_str()
            .unwrap()
            .contains("\\{raiders\\} \\& 50\\%"),
        "{}",
        v[1]["title"]
    );
    let ris = export(&sb, "ris", None);
    let v = py(
        "import sys, json, rispy\n\
         print(json.dumps(rispy.loads(sys.stdin.read())))",
        &ris,
    );
    let records = v.as_array().unwrap();
    assert_eq!(records.len(), 5, "{ris}");
    assert_eq!(records[0]["type_of_reference"], "ENCYC");
    assert_eq!(records[0]["title"], "Normans");
    assert_eq!(records[4]["title"], "Desiccation tolerance");
    assert_eq!(records[2]["type_of_reference"], "BLOG");
    assert_eq!(
        records[1]["authors"],
        serde_json::json!(["Lovelace, Ada", "Hopper, Grace"])
    );
    assert_eq!(records[1]["doi"], "10.1000/xyz_1");
    assert_eq!(records[3]["year"], "2019");
}

/// pandoc (Debian's package; `.ci/run` installs it) in `dir`.
fn pandoc(args: &[&str], input: &str, dir: &std::path::Path) -> (String, String) {
    let mut c = Command::new("pandoc");
    c.args(args).current_dir(dir);
    piped(c, input)
}

#[test]
fn pandoc_citeproc_renders_the_export_with_every_reference_resolved() {
    let sb = Sandbox::new();
    session(&sb);
    // Beside: report.md cites report.json, as the README's command reads.
    let md = sb.path().join("report.md");
    export(&sb, "pandoc", Some(&md));
    let text = std::fs::read_to_string(&md).unwrap();
    assert!(text.contains("[@wikipedia2025normans]"), "{text}");
    assert!(
        text.contains("[@dupont2019normands; @grade2025desiccation]"),
        "{text}"
    );
    assert!(
        text.contains("Not a source [9]"),
        "a dangling mark stays as written"
    );
    let csl: Value =
        serde_json::from_str(&std::fs::read_to_string(sb.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(csl.as_array().unwrap().len(), 5);
    let (plain, warnings) = pandoc(
        &[
            "report.md",
            "--citeproc",
            "--bibliography",
            "report.json",
            "-t",
            "plain",
        ],
        "",
        sb.path(),
    );
    assert!(!warnings.contains("not found"), "{warnings}");
    assert!(!plain.contains("@"), "an unresolved citation: {plain}");
    // The style title-cases ("Desiccation Tolerance").
    let lower = plain.to_lowercase();
    for title in [
        "normans",
        "ask hn: normans?",
        "les normands — été",
        "desiccation tolerance",
    ] {
        assert!(
            lower.contains(title),
            "{title} not in the bibliography:\n{plain}"
        );
    }
    // On stdout the references are in the document itself.
    let doc = export(&sb, "pandoc", None);
    let (plain, warnings) = pandoc(
        &["--citeproc", "-f", "markdown", "-t", "plain"],
        &doc,
        sb.path(),
    );
    assert!(!warnings.contains("not found"), "{warnings}");
    assert!(plain.contains("Ask HN: Normans?"), "{plain}");
    // And the CSL JSON alone is a bibliography pandoc reads.
    let (plain, _) = pandoc(
        &[
            "--citeproc",
            "--bibliography",
            "report.json",
            "-f",
            "markdown",
            "-t",
            "plain",
        ],
        "---\nnocite: '@*'\n---\n",
        sb.path(),
    );
    assert!(
        plain.to_lowercase().contains("desiccation tolerance"),
        "{plain}"
    );
}
