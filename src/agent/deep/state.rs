//! What a deep run keeps between its steps: saved after each one (through
//! the writer, by whoever records the turn) and read back to resume a run
//! that was stopped, crashed or killed, without fetching again what it
//! had read.

use serde::{Deserialize, Serialize};

use super::Round;
use super::notes::Note;
use super::plan::SubQuestion;
use crate::agent::research::SourceStatus;
use crate::agent::research::document::Document;
use crate::domain::{RunDocument, RunNote};

/// The run after its last completed step. Fields added later default, so
/// a run saved by an older build still resumes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Progress {
    /// Empty until planned.
    pub plan: Vec<SubQuestion>,
    pub plan_from_model: bool,
    /// Completed rounds.
    pub rounds: Vec<Round>,
    /// What the next round searches.
    pub open: Vec<SubQuestion>,
    /// Every query searched so far.
    pub searched: Vec<String>,
    pub notes: Vec<Note>,
    /// Documents that belong to completed rounds (the first `documents`
    /// of the run's documents); any stored after them were read by the
    /// round that was cut short.
    pub documents: usize,
    /// Model tokens spent planning and reflecting.
    pub tokens: u64,
    pub statuses: Vec<SourceStatus>,
    /// Why the rounds ended; set once the report is next.
    pub stopped: Option<String>,
    /// Titles of the documents the report cites.
    pub cited: Vec<String>,
}

impl Progress {
    pub fn planned(&self) -> bool {
        !self.plan.is_empty()
    }
}

/// A stored run as read from the store, parsed by the agent (off the UI
/// thread: its documents can be megabytes of JSON).
#[derive(Debug, Clone)]
pub struct Saved {
    pub state: String,
    pub documents: Vec<RunDocument>,
}

/// A stored run to continue: its progress and the documents it read.
#[derive(Debug, Clone)]
pub struct Resume {
    pub progress: Progress,
    pub documents: Vec<Document>,
}

impl Resume {
    /// From the store's record; a state or document that does not parse
    /// (written by another version, damaged) is an error naming it.
    pub fn from_store(state: &str, docs: &[RunDocument]) -> Result<Self, String> {
        let progress: Progress = serde_json::from_str(state)
            .map_err(|e| format!("the run's saved state is unreadable ({e})"))?;
        let mut documents = Vec::with_capacity(docs.len());
        for (i, d) in docs.iter().enumerate() {
            // A gap (a write lost) would shift every later document.
            if d.ord != i as i64 {
                break;
            }
            match serde_json::from_str::<Document>(&d.body) {
                Ok(doc) => documents.push(doc),
                Err(e) => {
                    tracing::warn!(ord = d.ord, error = %e, "unreadable stored document; later ones are fetched again");
                    break;
                }
            }
        }
        Ok(Self {
            progress,
            documents,
        })
    }
}

/// Documents as the store keeps them, numbered from `first`.
pub fn to_store(first: usize, docs: &[Document]) -> Vec<RunDocument> {
    docs.iter()
        .enumerate()
        .filter_map(|(i, d)| {
            let body = serde_json::to_string(d).ok()?;
            Some(RunDocument {
                ord: (first + i) as i64,
                kind: d.kind.key().into_owned(),
                title: d.title.clone(),
                url: d.url.clone(),
                body,
            })
        })
        .collect()
}

/// Notes as the store indexes them: one row per kept passage.
pub fn notes_to_store(notes: &[Note]) -> Vec<RunNote> {
    notes
        .iter()
        .flat_map(|n| {
            n.passages.iter().map(|(p, _)| RunNote {
                heading: n.heading.clone(),
                title: p.title.clone(),
                text: p.text.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::research::SourceKind;

    #[test]
    fn documents_and_progress_round_trip_through_their_stored_form() {
        let docs = vec![
            Document::wiki_extract(
                "Shirley Temple",
                Some("http://w/wiki/Shirley_Temple".into()),
                "Lead.\n== Diplomacy ==\nShe was ambassador to Ghana.",
            ),
            Document::plain(SourceKind::Web, "A page", None, "Some text here."),
        ];
        let stored = to_store(0, &docs);
        assert_eq!(stored[1].ord, 1);
        assert_eq!(stored[0].kind, "wikipedia");
        let p = Progress {
            plan: vec![SubQuestion {
                question: "q".into(),
                query: "q".into(),
            }],
            documents: 2,
            tokens: 123,
            ..Default::default()
        };
        let state = serde_json::to_string(&p).unwrap();
        let r = Resume::from_store(&state, &stored).unwrap();
        assert_eq!(r.documents, docs);
        assert_eq!(r.progress.tokens, 123);
        assert!(r.progress.planned());
    }

    #[test]
    fn a_gap_or_a_damaged_document_keeps_only_those_before_it() {
        let docs = vec![
            Document::plain(SourceKind::Web, "a", None, "one"),
            Document::plain(SourceKind::Web, "b", None, "two"),
            Document::plain(SourceKind::Web, "c", None, "three"),
        ];
        let mut stored = to_store(0, &docs);
        stored[1].body = "{not json".into();
        let r = Resume::from_store("{}", &stored).unwrap();
        assert_eq!(r.documents.len(), 1);
        assert!(Resume::from_store("not json", &stored).is_err());
    }
}
