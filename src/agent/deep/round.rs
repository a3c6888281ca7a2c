//! The rounds of a deep run: search the open sub-questions, read what is
//! new, keep notes, then decide what to search next (the model's
//! reflection or the heuristic leads). The run's state is published after
//! each round.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::watch;

use super::notes::{Note, notes_for};
use super::plan::SubQuestion;
use super::{Round, Run, leads, model, quoted};
use crate::agent::AgentEvent;
use crate::agent::research::document::Document;
use crate::agent::research::gather::{self, Batch};
use crate::agent::research::{Passage, SourceKind, passages, rank};
use crate::domain::TreeRound;

/// Weight, when looking for leads, of the article about something the
/// question names (a passage matching the question has 0..1).
const OWN_ARTICLE_LEAD_WEIGHT: f64 = 5.0;
/// Passages looked at for leads.
const LEAD_PASSAGES: usize = 8;

/// Whether the user asked to stop researching and write the report.
fn wrapped(wrap: &watch::Receiver<bool>) -> bool {
    *wrap.borrow()
}

fn doc_keys(d: &Document) -> Vec<String> {
    let mut k = vec![d.title.clone()];
    k.extend(d.url.clone());
    k
}

/// What reading a round's new documents gave.
struct Reading {
    notes: Vec<Note>,
    /// Passage texts to find leads in, with their weights.
    leads_from: Vec<(String, f64)>,
}

impl Run<'_> {
    /// Rounds until a budget, the user, or the evidence ends them; why.
    pub(super) async fn research(&mut self, wrap: &mut watch::Receiver<bool>) -> String {
        let max_rounds = self.cfg.deep.rounds.max(1);
        while self.p.rounds.len() < max_rounds {
            if let Some(why) = self.spent(wrap) {
                return why.into();
            }
            let n = self.p.rounds.len() + 1;
            let queries: Vec<String> = self.p.open.iter().map(|s| s.query.clone()).collect();
            let from = self.p.documents;
            if let Err(why) = self.fetch(n, &queries, wrap).await {
                return why.into();
            }
            if self.docs.len() == from {
                // Its leads would come from the same passages as before.
                return "no new documents".into();
            }
            let Some(reading) = self.read(from).await else {
                return "reading failed".into();
            };
            let mut round = Round {
                queries: queries.clone(),
                documents: self.docs[from..].iter().map(|d| d.title.clone()).collect(),
                failed: self.live.take().map(|l| l.failed).unwrap_or_default(),
                notes: reading
                    .notes
                    .iter()
                    .map(|n| {
                        let titles: Vec<&str> =
                            n.passages.iter().map(|(p, _)| p.title.as_str()).collect();
                        format!("{} → {}", n.heading, titles.join(", "))
                    })
                    .collect(),
                leads: Vec::new(),
            };
            self.p.searched.extend(queries);
            self.p.notes.extend(reading.notes);
            self.p.documents = self.docs.len();
            let next = if n == max_rounds {
                Ok(Vec::new())
            } else {
                self.next_queries(&reading.leads_from).await
            };
            let enough = next.is_err();
            let next = next.unwrap_or_default();
            round.leads = next.clone();
            self.p.rounds.push(round);
            self.p.open = next
                .iter()
                .map(|l| SubQuestion {
                    question: l.clone(),
                    query: l.clone(),
                })
                .collect();
            self.publish(true);
            if enough {
                return "evidence suffices".into();
            }
            if n < max_rounds && self.p.open.is_empty() {
                return "no new leads".into();
            }
            if !next.is_empty() {
                self.step(format!("following leads: {}", quoted(&next)));
            }
        }
        "rounds".into()
    }

    /// A budget that ends the rounds before the next one, if any is spent.
    fn spent(&self, wrap: &watch::Receiver<bool>) -> Option<&'static str> {
        let dc = &self.cfg.deep;
        if wrapped(wrap) {
            Some("stopped by the user")
        } else if self.p.open.is_empty() {
            Some("no new leads")
        } else if Instant::now() >= self.deadline {
            Some("time")
        } else if self.docs.len() >= dc.max_documents {
            Some("documents")
        } else if self.p.tokens >= dc.max_tokens && !self.p.rounds.is_empty() {
            // The plan may cost the whole budget; one round still runs.
            Some("model tokens")
        } else {
            None
        }
    }

    /// Searches `queries` and appends the documents not read before. A
    /// resumed run counts the documents stored by its cut round as read.
    async fn fetch(
        &mut self,
        n: usize,
        queries: &[String],
        wrap: &mut watch::Receiver<bool>,
    ) -> Result<(), &'static str> {
        let (cfg, turn) = (self.cfg, self.ask.turn);
        self.step(format!("round {n}: searching {}", quoted(queries)));
        self.emit.emit(AgentEvent::Keywords {
            turn,
            queries: queries.to_vec(),
            from_model: self.p.plan_from_model,
        });
        self.live = Some(TreeRound {
            queries: queries.to_vec(),
            ..Default::default()
        });
        self.publish(false);
        let skip: Vec<String> = self.docs.iter().flat_map(doc_keys).collect();
        let left = cfg.deep.max_documents.saturating_sub(self.docs.len());
        let no_urls: [String; 0] = [];
        let batch = Batch {
            kinds: self.kinds.clone(),
            queries,
            urls: if n == 1 { &self.urls } else { &no_urls },
            report: true,
            cap: Some((cfg.research.per_source * queries.len()).clamp(1, left.max(1))),
            skip: Arc::new(skip),
        };
        let fetch = gather::fetch_all(self.clients, cfg, batch, turn, self.emit);
        let fetched = tokio::select! {
            r = tokio::time::timeout_at(self.deadline.into(), fetch) => r.ok(),
            // Esc: what this round was fetching is dropped; the report is
            // written from the rounds already done.
            _ = wrap.wait_for(|w| *w) => return Err("stopped by the user"),
        };
        let Some((new_docs, statuses)) = fetched else {
            return Err("time");
        };
        let failed: Vec<String> = statuses
            .iter()
            .filter(|s| s.outcome != crate::agent::research::SourceOutcome::Ok)
            .map(|s| {
                let why = s
                    .error
                    .clone()
                    .unwrap_or_else(|| s.outcome.as_str().to_string());
                format!(
                    "{}: {}",
                    s.source.label(),
                    crate::text::sanitize::one_line(&why)
                )
            })
            .collect();
        let mut merged = (Vec::new(), std::mem::take(&mut self.p.statuses));
        gather::merge(&mut merged, (Vec::new(), statuses));
        self.p.statuses = merged.1;
        // Appended in order (not merged): a document's place in the run is
        // how the store and a resume know it.
        for d in new_docs {
            let dup = self.docs.iter().any(|o| {
                o.kind == d.kind && o.url == d.url && (d.url.is_some() || o.title == d.title)
            });
            if !dup {
                self.docs.push(d);
            }
        }
        self.step(format!(
            "round {n}: read {} new documents ({} in all)",
            self.docs.len() - self.p.documents,
            self.docs.len()
        ));
        let read: Vec<_> = self.docs[self.p.documents..]
            .iter()
            .map(|d| self.tree_doc(d))
            .collect();
        if let Some(l) = &mut self.live {
            l.failed = failed;
            l.documents = read;
        }
        // The documents are stored now: a kill while notes are taken does
        // not lose them.
        self.publish(true);
        Ok(())
    }

    /// Notes for the open sub-questions from the documents read since
    /// `from`, and the passages to look for leads in (off the runtime).
    async fn read(&self, from: usize) -> Option<Reading> {
        let question = self.ask.question.clone();
        let open = self.p.open.clone();
        let all_docs = self.docs.clone();
        let work = tokio::task::spawn_blocking(move || {
            let mut fresh_ps = passages::of_documents(&all_docs[from..], 2000);
            for p in &mut fresh_ps {
                p.doc += from;
            }
            let notes = notes_for(&question, &open, &fresh_ps);
            // Leads become queries to every source, the web's too: none
            // comes from the user's library (its words stay here).
            let private = |p: &Passage| {
                all_docs
                    .get(p.doc)
                    .is_some_and(|d| d.kind == SourceKind::Library)
            };
            // Leads come from the passages that best match the question.
            let mut all_ps = passages::of_documents(&all_docs, 3000);
            all_ps.retain(|p| !private(p));
            let texts: Vec<String> = all_ps
                .iter()
                .map(|p| format!("{}\n{}", p.title, p.text))
                .collect();
            let scores = rank::bm25(&question, &texts);
            let mut leads_from: Vec<(String, f64)> = rank::top_k(&scores, LEAD_PASSAGES)
                .into_iter()
                .map(|(i, r)| (all_ps[i].text.clone(), r))
                .collect();
            // Each sub-question's best evidence names what to look at next
            // ("2014 S/S is the debut album of WINNER"). It counts more
            // than a passage that merely matches the question's words: a
            // bridge is named in the article of what the question names.
            for n in &notes {
                if let Some((p, _)) = n.passages.first().filter(|(p, _)| !private(p)) {
                    let w = if n.own_article {
                        OWN_ARTICLE_LEAD_WEIGHT
                    } else {
                        1.0
                    };
                    leads_from.push((p.text.clone(), w));
                }
            }
            Reading { notes, leads_from }
        });
        work.await.ok()
    }

    /// The next round's queries: the model's, when it reflects usefully,
    /// else the heuristic leads. `Err` when the model finds the evidence
    /// sufficient.
    async fn next_queries(&mut self, leads_from: &[(String, f64)]) -> Result<Vec<String>, ()> {
        let mut known = self.p.searched.clone();
        known.extend(self.docs.iter().map(|d| d.title.clone()));
        let refs: Vec<(&str, f64)> = leads_from.iter().map(|(t, r)| (t.as_str(), *r)).collect();
        let per_round = self.cfg.deep.leads_per_round.max(1);
        let heuristic = leads::from_passages(&self.ask.question, &refs, &known, per_round);
        if self.p.tokens >= self.cfg.deep.max_tokens {
            return Ok(heuristic);
        }
        let (decision, tokens) = model::reflect(
            self.cfg,
            self.clients,
            self.ask,
            &self.p.notes,
            self.deadline,
        )
        .await;
        self.p.tokens += tokens;
        match decision {
            Some(d) if d.enough => {
                self.step("the model finds the evidence sufficient".into());
                Err(())
            }
            Some(d) => {
                let new: Vec<String> = d
                    .queries
                    .into_iter()
                    .filter(|q| !self.p.searched.iter().any(|s| s.eq_ignore_ascii_case(q)))
                    .collect();
                Ok(if new.is_empty() { heuristic } else { new })
            }
            None => Ok(heuristic),
        }
    }
}
