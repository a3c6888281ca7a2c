//! History search on a real database: the query language, safety, unicode,
//! sources, and that deletes and renames show in results.

mod common;

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
fn filters_by_role_session_and_date() {
    let sb = setup();
    assert_eq!(ids(&sb, "espresso role:assistant"), vec![3002]);
    assert_eq!(ids(&sb, "borrow session:coffee"), vec![3003]);
    assert_eq!(ids(&sb, "borrow before:2025-01-01"), vec![3003]);
    assert_eq!(ids(&sb, "borrow after:2025-11-01"), vec![2001, 2002]);
}

#[test]
fn diacritics_fold_and_other_scripts_are_found() {
    let sb = setup();
    assert_eq!(ids(&sb, "cafe creme").len(), 2);
    assert_eq!(ids(&sb, "CAFÉ").len(), 2);
    assert_eq!(ids(&sb, "日本のコーヒー"), vec![3003]);
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
