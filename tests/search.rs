//! History search on a real database: the query language, safety, unicode,
//! sources, and that deletes and renames show in results.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)] // test code: a panic is the failure report

mod common;
#[path = "search/stats.rs"]
mod stats;

use common::{Sandbox, fixture_db, message, session, write_all};
use sleuth::domain::{Role, SessionId};
use sleuth::store::search::{Query, search};
use sleuth::store::{self, StoreCommand};

fn ids(sb: &Sandbox, q: &str) -> Vec<i64> {
    let conn = store::open_reader(&sb.db()).unwrap();
    let q = Query::parse(q, false).unwrap();
    search(&conn, &q, 50)
        .unwrap()
        .iter()
        .map(|h| h.message.0)
        .collect()
}

fn setup() -> Sandbox {
    let sb = Sandbox::new();
    fixture_db(&sb.db());
    let day = 86_400_000;
    let t = 1_764_000_000_000; // 2025-11-24
    write_all(
        &sb.db(),
        vec![
            StoreCommand::CreateSession(session(1003, "Coffee notes", t - 400 * day)),
            StoreCommand::AppendMessage(message(
                3001,
                1003,
                Role::User,
                "Is café crème stronger than espresso?",
                t - 400 * day,
            )),
            StoreCommand::AppendMessage(message(
                3002,
                1003,
                Role::Assistant,
                "Espresso has more caffeine per ml; a café crème is longer.",
                t - 400 * day + 1,
            )),
            StoreCommand::AppendMessage(message(
                3003,
                1003,
                Role::User,
                "日本のコーヒー 👍 borrow",
                t - 400 * day + 2,
            )),
        ],
    );
    sb
}

#[test]
fn words_phrases_prefixes_and_exclusions() {
    let sb = setup();
    // 2001 says it; 2002 cites a source titled "Borrow checker".
    assert_eq!(ids(&sb, "borrow checker"), vec![2001, 2002]);
    assert_eq!(ids(&sb, "\"mutation\""), vec![2002]);
    assert!(
        ids(&sb, "\"checker borrow\"").is_empty(),
        "phrase order matters"
    );
    let conn = store::open_reader(&sb.db()).unwrap();
    let typing = Query::parse("espres", true).unwrap();
    let hits: Vec<i64> = search(&conn, &typing, 10)
        .unwrap()
        .iter()
        .map(|h| h.message.0)
        .collect();
    assert_eq!(hits.len(), 2, "prefix while typing");
    assert_eq!(
        hits[0], 3001,
        "the user's own question ranks above the answer"
    );
    assert!(
        ids(&sb, "espres").is_empty(),
        "a finished word is not a prefix"
    );
    assert_eq!(ids(&sb, "espresso -caffeine"), vec![3001]);
}

#[test]
fn answers_regenerated_away_are_not_found() {
    let sb = setup();
    let t = 1_764_000_000_000;
    let mut old = message(3010, 1003, Role::Assistant, "A zeppelin floats.", t + 10);
    old.status = sleuth::domain::MessageStatus::Complete;
    // Both answer the same question: the newer one is the branch shown.
    old.parent_id = Some(sleuth::domain::MessageId(3001));
    let mut new = message(3011, 1003, Role::Assistant, "An airship floats.", t + 11);
    new.parent_id = Some(sleuth::domain::MessageId(3001));
    write_all(
        &sb.db(),
        vec![
            StoreCommand::FinishTurn {
                message: old,
                sources: vec![common::source(
                    1,
                    "Zeppelin history",
                    "https://z.example",
                    "rigid airships",
                )],
            },
            StoreCommand::AppendMessage(new),
        ],
    );
    // The replaced answer and its source are on a branch nobody sees.
    assert_eq!(ids(&sb, "zeppelin"), Vec::<i64>::new());
    assert_eq!(ids(&sb, "airship floats"), vec![3011]);
    // Both still stored: the transcript query hides the same one.
    let conn = store::open_reader(&sb.db()).unwrap();
    let shown: Vec<i64> = store::queries::transcript(&conn, SessionId(1003))
        .unwrap()
        .iter()
        .map(|m| m.message.id.0)
        .collect();
    assert!(shown.contains(&3011) && !shown.contains(&3010), "{shown:?}");
}

#[test]
fn filters_by_role_session_and_date() {
    let sb = setup();
    assert_eq!(ids(&sb, "espresso role:assistant"), vec![3002]);
    assert_eq!(ids(&sb, "borrow session:coffee"), vec![3003]);
    // LIKE wildcards in a session name are literal.
    assert!(ids(&sb, "borrow session:%").is_empty());
    assert!(ids(&sb, "borrow session:_offee").is_empty());
    assert_eq!(ids(&sb, "borrow before:2025-01-01"), vec![3003]);
    assert_eq!(ids(&sb, "borrow after:2025-11-01"), vec![2001, 2002]);
}

#[test]
fn diacritics_fold_and_other_scripts_are_found() {
    let sb = setup();
    assert_eq!(ids(&sb, "cafe creme").len(), 2);
    assert_eq!(ids(&sb, "CAFÉ").len(), 2);
    assert_eq!(ids(&sb, "日本のコーヒー"), vec![3003]);
    // Emoji are not words to the index: alone they search for nothing
    // (no error), next to a word they do not get in its way.
    assert!(ids(&sb, "👍").is_empty());
    assert!(ids(&sb, "👍 borrow").contains(&3003));
}

#[test]
fn source_titles_and_excerpts_are_searched() {
    let sb = setup();
    let conn = store::open_reader(&sb.db()).unwrap();
    // Only the excerpt of a source cited by 2002 says "describes".
    let hits = search(&conn, &Query::parse("describes", false).unwrap(), 10).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!((hits[0].message.0, hits[0].matched), (2002, "source"));
}

#[test]
fn deleted_sessions_vanish_and_renames_show() {
    let sb = setup();
    write_all(
        &sb.db(),
        vec![
            StoreCommand::Rename {
                session: SessionId(1001),
                title: "Ownership deep dive".into(),
            },
            StoreCommand::Delete {
                session: SessionId(1003),
            },
        ],
    );
    assert!(ids(&sb, "espresso").is_empty());
    assert!(ids(&sb, "cafe").is_empty());
    let conn = store::open_reader(&sb.db()).unwrap();
    let hits = search(&conn, &Query::parse("borrow", false).unwrap(), 10).unwrap();
    assert!(!hits.is_empty());
    assert!(
        hits.iter()
            .all(|h| h.session_title == "Ownership deep dive")
    );
}

#[test]
fn the_cli_searches_and_explains_bad_queries() {
    let sb = setup();
    let out = sb
        .cmd()
        .args(["search", "--json", "espresso"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = &v[0];
    assert_eq!(first["message"], 3001);
    assert_eq!(first["role"], "user");
    assert!(first["snippet"].as_str().unwrap().contains("espresso"));
    assert!(!first["snippet"].as_str().unwrap().contains('\u{2}'));
    for hostile in ["\"", "NEAR(", "a OR", "(", "*"] {
        let out = sb.cmd().args(["search", hostile]).output().unwrap();
        let code = out.status.code().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            code == 0 || (code == 1 && err.contains("nothing to search for")),
            "{hostile}: {code} {err}"
        );
    }
    let out = sb
        .cmd()
        .args(["search", "x before:someday"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("YYYY-MM-DD"));
}

#[test]
fn the_term_statistics_expand_prefixes_and_keep_results() {
    use sleuth::store::search::{Statistics, TermDict, search_with};
    let sb = setup();
    let conn = store::open_reader(&sb.db()).unwrap();
    {
        let dict = TermDict::read(&conn).unwrap().expect("stored statistics");
        assert!(dict.complete());
        assert_eq!(dict.docs(), 6);
        assert_eq!(dict.df("espresso").unwrap(), Some(2));
        assert_eq!(
            dict.df("cafe").unwrap(),
            Some(2),
            "the index folds diacritics"
        );
    }
    for typed in ["espres", "caf", "borr", "bor", "CAFÉ cr", "日本"] {
        let q = Query::parse(typed, true).unwrap();
        let with: Vec<i64> = search_with(&conn, &q, 50, Statistics::Stored, &|| false)
            .unwrap()
            .iter()
            .map(|h| h.message.0)
            .collect();
        let mut without: Vec<i64> = search_with(&conn, &q, 50, Statistics::Counted, &|| false)
            .unwrap()
            .iter()
            .map(|h| h.message.0)
            .collect();
        let mut sorted = with.clone();
        sorted.sort();
        without.sort();
        assert_eq!(sorted, without, "{typed}: same matches with the statistics");
        assert!(!with.is_empty(), "{typed}");
    }
    // A word written a moment ago is found at once, as a prefix and
    // complete: the writer counted it in the same transaction.
    write_all(
        &sb.db(),
        vec![StoreCommand::AppendMessage(message(
            3010,
            1003,
            Role::User,
            "zyzzyva is a weevil",
            1_764_000_000_500,
        ))],
    );
    assert_eq!(
        TermDict::read(&conn)
            .unwrap()
            .unwrap()
            .df("zyzzyva")
            .unwrap(),
        Some(1)
    );
    for typed in ["zyz", "zyzzyva"] {
        let q = Query::parse(typed, true).unwrap();
        let hits = search_with(&conn, &q, 50, Statistics::Stored, &|| false).unwrap();
        assert_eq!(hits.len(), 1, "{typed}");
    }
    // A cancelled search stops with an error the caller can tell apart.
    let q = Query::parse("borrow", false).unwrap();
    assert!(matches!(
        search_with(&conn, &q, 50, Statistics::Stored, &|| true),
        Err(store::StoreError::Cancelled)
    ));
}

#[test]
fn the_search_thread_answers_only_the_newest_keystroke() {
    use sleuth::domain::RequestId;
    use sleuth::emit::Emitter;
    use sleuth::store::StoreEvent;
    use std::time::Duration;
    let sb = setup();
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = store::search::worker::spawn_search(sb.db(), Emitter::channel(tx)).unwrap();
    let h = thread.handle();
    let typed = "espresso role:user";
    let mut last = 0;
    for round in 0..5 {
        for i in 1..=typed.len() {
            last += 1;
            h.search(RequestId(last), typed[..i].to_string(), 50);
        }
        if round == 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let mut seen = Vec::new();
    while let Ok(ev) = rx.recv_timeout(Duration::from_secs(5)) {
        if let StoreEvent::SearchResults {
            req, query, hits, ..
        } = ev
        {
            seen.push(req.0);
            if req.0 == last {
                assert_eq!(query, typed);
                assert_eq!(
                    hits.iter().map(|h| h.message.0).collect::<Vec<_>>(),
                    vec![3001]
                );
                break;
            }
        }
    }
    assert_eq!(seen.last(), Some(&last), "the newest query is answered");
    assert!(
        seen.windows(2).all(|w| w[0] <= w[1]),
        "never an older answer after a newer one: {seen:?}"
    );
    // Nothing older arrives late.
    assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
}

/// The candidate ranking (BM25 in Rust, IDF from the dictionary) agrees
/// with SQLite's own exact BM25 on generated history: same top results
/// for words with fewer matches than the candidate cap.
#[test]
fn ranking_agrees_with_fts5_bm25() {
    use sleuth::dev::synth::{Rng, Vocabulary};
    use sleuth::store::search::{Statistics, search_with};
    let sb = Sandbox::new();
    let mut out = Vec::new();
    sleuth::commands::debug::generate(&sb.db(), 40, 4000, 7, &mut out).unwrap();
    let conn = store::open_reader(&sb.db()).unwrap();
    let vocab = Vocabulary::new(50_000, &mut Rng::new(7));
    let mut compared = 0;
    for rank in [150, 300, 600, 1200, 2500] {
        let word = vocab.word_at(rank);
        let matches: i64 = conn
            .query_row(
                "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?1",
                [format!("\"{word}\"")],
                |r| r.get(0),
            )
            .unwrap();
        if !(10..400).contains(&matches) {
            continue;
        }
        let q = Query::parse(word, false).unwrap();
        let ours: Vec<i64> = search_with(&conn, &q, 10, Statistics::Stored, &|| false)
            .unwrap()
            .iter()
            .map(|h| h.message.0)
            .collect();
        let mut stmt = conn
            .prepare(
                "SELECT f.rowid FROM messages_fts f JOIN messages m ON m.id = f.rowid
                 WHERE messages_fts MATCH ?1
                 ORDER BY bm25(messages_fts) * CASE m.role WHEN 'user' THEN 1.5 ELSE 1.0 END, f.rowid DESC
                 LIMIT 10",
            )
            .unwrap();
        let exact: Vec<i64> = stmt
            .query_map([format!("\"{word}\"")], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let overlap = ours.iter().filter(|id| exact.contains(id)).count();
        assert!(
            overlap >= 7,
            "{word} ({matches} matches): {overlap}/10 in common\nours  {ours:?}\nexact {exact:?}"
        );
        assert_eq!(ours[0], exact[0], "{word}: the best match agrees");
        compared += 1;
    }
    assert!(
        compared >= 3,
        "only {compared} words had a comparable count"
    );
}

#[test]
fn memory_recall_skips_the_asking_session_and_unfinished_answers() {
    let sb = setup();
    let mut streaming = message(
        3020,
        1001,
        Role::Assistant,
        "espresso half-written",
        1_764_000_000_900,
    );
    streaming.status = sleuth::domain::MessageStatus::Streaming;
    write_all(&sb.db(), vec![StoreCommand::AppendMessage(streaming)]);
    let conn = store::open_reader(&sb.db()).unwrap();
    let words = vec!["espresso".to_string()];
    let from_other = store::queries::recall(&conn, &words, SessionId(1001), 5).unwrap();
    assert_eq!(from_other.len(), 2);
    assert!(from_other.iter().all(|r| r.session == SessionId(1003)));
    assert!(from_other[0].snippet.contains("espresso"));
    assert!(!from_other[0].snippet.contains('\u{2}'), "no markers");
    // Asked from the coffee session itself, nothing complete elsewhere.
    assert!(
        store::queries::recall(&conn, &words, SessionId(1003), 5)
            .unwrap()
            .is_empty()
    );
}

/// More matches than the first pass ranks: the best one is old. The first
/// answer ranks the newest matches; the refining pass, sent as a second
/// answer to the same request, finds the old best one.
#[test]
fn a_refining_pass_finds_an_older_better_match() {
    use sleuth::domain::RequestId;
    use sleuth::emit::Emitter;
    use sleuth::store::StoreEvent;
    use sleuth::store::search::{CANDIDATES, Statistics, search_pass};
    use std::time::Duration;
    let sb = Sandbox::new();
    let t = 1_764_000_000_000;
    let mut cmds = vec![
        StoreCommand::CreateSession(session(1, "Old notes", t)),
        StoreCommand::AppendMessage(message(10, 1, Role::User, "quasar quasar quasar quasar", t)),
        StoreCommand::CreateSession(session(2, "Newer notes", t + 10)),
    ];
    for i in 0..(CANDIDATES as i64 + 20) {
        cmds.push(StoreCommand::AppendMessage(message(
            100 + i,
            2,
            Role::User,
            &format!("a long note number {i} that mentions a quasar once among many other words"),
            t + 10 + i,
        )));
    }
    write_all(&sb.db(), cmds);
    let conn = store::open_reader(&sb.db()).unwrap();
    let q = Query::parse("quasar", false).unwrap();
    let (first, saturated) =
        search_pass(&conn, &q, 10, Statistics::Counted, &|| false, CANDIDATES).unwrap();
    assert!(saturated);
    assert!(
        first.iter().all(|h| h.message.0 != 10),
        "beyond the first pass"
    );
    let (deep, saturated) =
        search_pass(&conn, &q, 10, Statistics::Counted, &|| false, 4_000).unwrap();
    assert!(!saturated);
    assert_eq!(deep[0].message.0, 10, "the best match, however old");

    // The search thread sends both, the refined one last.
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = store::search::worker::spawn_search(sb.db(), Emitter::channel(tx)).unwrap();
    thread.handle().search(RequestId(1), "quasar ".into(), 10);
    let mut answers = Vec::new();
    while let Ok(ev) = rx.recv_timeout(Duration::from_secs(5)) {
        if let StoreEvent::SearchResults { hits, refined, .. } = ev {
            answers.push((refined, hits[0].message.0));
            if refined {
                break;
            }
        }
    }
    assert_eq!(answers.len(), 2, "{answers:?}");
    assert!(!answers[0].0 && answers[0].1 != 10);
    assert_eq!(answers[1], (true, 10));
}

/// Issue 11, case 9: huge input is refused at once with a clear reason,
/// on the command line too.
#[test]
fn huge_searches_are_refused_before_any_work() {
    let e = Query::parse(&"word ".repeat(20_000), false).unwrap_err();
    assert!(e.contains("at most 1000"), "{e}");
    // Repeats collapse; many distinct words are refused.
    let q = Query::parse(&"same ".repeat(150), false).unwrap();
    assert_eq!(q.words, vec!["same"]);
    let many: Vec<String> = (0..40).map(|i| format!("w{i}")).collect();
    let e = Query::parse(&many.join(" "), false).unwrap_err();
    assert!(e.contains("40 terms"), "{e}");
    let sb = setup();
    let out = sb
        .cmd()
        .args(["search", &"word ".repeat(20_000)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("at most 1000"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
