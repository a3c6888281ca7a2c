//! The conversation's lifecycle with no threads: its writes and agent
//! commands read back from detached handles.

use super::*;
use crate::agent::research::SourceKind;
use crate::domain::Usage;
use crate::store::writer::DetachedWrites;
use tokio::sync::mpsc::UnboundedReceiver;

struct Rig {
    conv: Conversation,
    writer: WriterHandle,
    writes: DetachedWrites,
    agent: AgentHandle,
    commands: UnboundedReceiver<AgentCommand>,
}

impl Rig {
    fn new() -> Self {
        let (writer, writes) = WriterHandle::detached();
        let (agent, commands) = AgentHandle::detached();
        let policy = ContextPolicy {
            summarize_after: 4,
            keep_recent: 1,
            memory: false,
            memory_max: 0,
        };
        Self {
            conv: Conversation::new("m".into(), policy),
            writer,
            writes,
            agent,
            commands,
        }
    }

    /// Calls the conversation with the rig's ports.
    fn with<T>(&mut self, f: impl FnOnce(&mut Conversation, Ports<'_>) -> T) -> T {
        let p = Ports {
            writer: &self.writer,
            agent: &self.agent,
        };
        f(&mut self.conv, p)
    }

    fn ask(&mut self, text: &str, mode: Mode) -> Started {
        let ask = Ask {
            text: text.into(),
            only: None,
            mode,
        };
        let p = Ports {
            writer: &self.writer,
            agent: &self.agent,
        };
        self.conv.submit(ask, p).unwrap()
    }

    fn event(&mut self, ev: AgentEvent) -> Step {
        let p = Ports {
            writer: &self.writer,
            agent: &self.agent,
        };
        self.conv.on_agent(&ev, p)
    }

    fn answer(&mut self, turn: TurnId, text: &str) -> Step {
        self.event(AgentEvent::AnswerDelta {
            turn,
            text: text.into(),
        });
        self.event(AgentEvent::TurnDone {
            turn,
            outcome: TurnOutcome::default(),
        })
    }

    fn commands(&mut self) -> Vec<AgentCommand> {
        std::iter::from_fn(|| self.commands.try_recv().ok()).collect()
    }

    /// The final rows written since the last call.
    fn finished(&mut self) -> Vec<Message> {
        self.writes
            .take()
            .into_iter()
            .filter_map(|w| match w {
                StoreCommand::FinishTurn { message, .. } => Some(message),
                _ => None,
            })
            .collect()
    }
}

fn source() -> Source {
    Source {
        ordinal: 1,
        kind: "wikipedia".into(),
        title: "Rust".into(),
        section: None,
        url: Some("https://en.wikipedia.org/wiki/Rust".into()),
        excerpt: "Rust is a language.".into(),
        relevance: Some(1.0),
        fetched_at: 0,
        meta: Default::default(),
    }
}

#[test]
fn a_first_question_creates_the_session_saves_it_and_asks_the_agent() {
    let mut r = Rig::new();
    let s = r.ask("  What is Rust?  ", Mode::Research);
    let writes = r.writes.take();
    let StoreCommand::CreateSession(session) = &writes[0] else {
        panic!("{writes:?}")
    };
    assert_eq!(session.title, "What is Rust?");
    let StoreCommand::AppendMessage(q) = &writes[1] else {
        panic!("{writes:?}")
    };
    assert_eq!((q.role, q.content.as_str()), (Role::User, "What is Rust?"));
    let StoreCommand::AppendMessage(a) = &writes[2] else {
        panic!("{writes:?}")
    };
    assert_eq!((a.id, a.status), (s.answer, MessageStatus::Streaming));
    let cmds = r.commands();
    assert!(
        matches!(&cmds[..], [AgentCommand::Research(ask)] if ask.question == "What is Rust?" && ask.history.is_empty()),
        "{cmds:?}"
    );
    // One answer at a time.
    let more = Ask {
        text: "more".into(),
        only: None,
        mode: Mode::Chat,
    };
    let again = r.with(|c, p| c.submit(more, p));
    assert_eq!(again.unwrap_err(), Refused::Busy);
}

#[test]
fn an_answer_is_recorded_as_it_streams_and_joins_the_history_when_done() {
    let mut r = Rig::new();
    let s = r.ask("q1", Mode::Chat);
    let ranked = r.event(AgentEvent::Ranked {
        turn: s.turn,
        sources: vec![source()],
        analysis: Default::default(),
    });
    assert!(matches!(ranked, Step::Progress));
    let Step::Done(f) = r.answer(s.turn, "a1 [1]") else {
        panic!("not done")
    };
    assert_eq!(f.message.content, "a1 [1]");
    assert_eq!(f.sources.len(), 1, "the ranked sources are the cited ones");
    let fin = r.finished();
    assert_eq!(fin[0].status, MessageStatus::Complete);
    assert!(r.conv.active().is_none());
    let roles: Vec<Role> = r.conv.history().messages().iter().map(|m| m.role).collect();
    assert_eq!(roles, vec![Role::User, Role::Assistant]);
}

#[test]
fn events_of_a_stopped_turn_or_another_session_change_nothing() {
    let mut r = Rig::new();
    let s = r.ask("q1", Mode::Chat);
    let other = TurnId(s.turn.0 + 7);
    assert!(matches!(
        r.event(AgentEvent::AnswerDelta {
            turn: other,
            text: "x".into()
        }),
        Step::Ignored
    ));
    assert!(matches!(
        r.event(AgentEvent::Summary {
            session: SessionId(-1),
            summary: "s".into(),
            folded: 1
        }),
        Step::Ignored
    ));
    assert_eq!(r.conv.active().map(|a| a.content()), Some(""));
    assert_eq!(r.conv.history().summary(), None);
}

#[test]
fn cancel_keeps_the_partial_answer_as_interrupted_with_its_sources() {
    let mut r = Rig::new();
    let s = r.ask("q1", Mode::Research);
    r.event(AgentEvent::Ranked {
        turn: s.turn,
        sources: vec![source()],
        analysis: Default::default(),
    });
    r.event(AgentEvent::AnswerDelta {
        turn: s.turn,
        text: "half an ans".into(),
    });
    r.commands();
    let Stopped::Interrupted { message, .. } = r.with(|c, p| c.cancel(p)) else {
        panic!("not stopped")
    };
    assert_eq!(message.content, "half an ans");
    assert!(matches!(&r.commands()[..], [AgentCommand::Cancel(t)] if *t == s.turn));
    let writes = r.writes.take();
    let saved = writes.iter().find_map(|w| match w {
        StoreCommand::FinishTurn { message, sources } => Some((message, sources)),
        _ => None,
    });
    let (m, sources) = saved.unwrap();
    assert_eq!(m.status, MessageStatus::Interrupted);
    assert_eq!(sources.len(), 1);
    // The partial answer is context for the next question.
    assert_eq!(r.conv.history().len(), 2);
    // A late event of the stopped turn is ignored.
    assert!(matches!(r.answer(s.turn, "rest"), Step::Ignored));
}

#[test]
fn a_deep_runs_first_stop_writes_the_report_and_the_second_cancels() {
    let mut r = Rig::new();
    let s = r.ask("/deep is ignored here, the mode says deep", Mode::Deep);
    r.commands();
    assert!(
        matches!(r.with(|c, p| c.cancel(p)), Stopped::Wrapping { answer } if answer == s.answer)
    );
    assert!(matches!(&r.commands()[..], [AgentCommand::Wrap(_)]));
    assert!(r.conv.active().is_some(), "still writing the report");
    assert!(matches!(
        r.with(|c, p| c.cancel(p)),
        Stopped::Interrupted { .. }
    ));
    assert!(matches!(&r.commands()[..], [AgentCommand::Cancel(_)]));
    assert_eq!(r.conv.unfinished_run(), Some(s.answer), "/resume offers it");
}

#[test]
fn regenerate_asks_the_same_way_and_keeps_the_old_answer_as_a_branch() {
    let mut r = Rig::new();
    let s = r.ask("q1", Mode::Research);
    r.answer(s.turn, "first answer");
    r.writes.take();
    r.commands();
    let again = r.with(|c, p| c.regenerate(p)).unwrap();
    assert_eq!(again.mode, Mode::Research);
    let writes = r.writes.take();
    let StoreCommand::AppendMessage(new) = &writes[0] else {
        panic!("{writes:?}")
    };
    let question = s.question.as_ref().map(|q| q.id);
    assert_eq!(new.parent_id, question, "a sibling of the old answer");
    assert_ne!(new.id, s.answer);
    assert!(
        matches!(&r.commands()[..], [AgentCommand::Research(a)] if a.question == "q1"),
        "asked again as research"
    );
    // The old answer left the context; the question is the last message.
    assert_eq!(r.conv.history().len(), 1);
}

#[test]
fn a_failed_answer_is_regenerated_too_and_becomes_a_branch() {
    let mut r = Rig::new();
    let s = r.ask("q1", Mode::Chat);
    let Step::Failed(f) = r.event(AgentEvent::TurnFailed {
        turn: s.turn,
        error: "model gone".into(),
    }) else {
        panic!("not failed")
    };
    assert!(!f.partial);
    assert_eq!(f.message.error.as_deref(), Some("model gone"));
    assert_eq!(r.conv.history().len(), 1, "a failure is not context");
    r.writes.take();
    r.with(|c, p| c.regenerate(p)).unwrap();
    let writes = r.writes.take();
    let question = s.question.as_ref().map(|q| q.id);
    assert!(
        matches!(&writes[0], StoreCommand::AppendMessage(m) if m.parent_id == question && m.id != s.answer)
    );
}

#[test]
fn each_message_follows_the_one_before_it() {
    let mut r = Rig::new();
    let first = r.ask("q1", Mode::Chat);
    r.answer(first.turn, "a1");
    let second = r.ask("q2", Mode::Chat);
    let q1 = first.question.as_ref().map(|q| q.id);
    assert_eq!(first.question.as_ref().and_then(|q| q.parent_id), None);
    let q2 = second.question.as_ref();
    assert_eq!(q2.and_then(|q| q.parent_id), Some(first.answer));
    let writes = r.writes.take();
    let answer_rows: Vec<_> = writes
        .iter()
        .filter_map(|w| match w {
            StoreCommand::AppendMessage(m) if m.role == Role::Assistant => Some(m.parent_id),
            _ => None,
        })
        .collect();
    assert_eq!(answer_rows[0], q1, "an answer follows its question");
    assert_eq!(answer_rows.last().copied().flatten(), q2.map(|q| q.id));
}

#[test]
fn older_turns_fold_into_the_summary_once_enough_pile_up() {
    let mut r = Rig::new();
    for q in ["q1", "q2"] {
        let s = r.ask(q, Mode::Chat);
        r.answer(s.turn, &format!("answer to {q}"));
    }
    // Four messages: not more than summarize_after (4) yet.
    assert!(
        !r.commands()
            .iter()
            .any(|c| matches!(c, AgentCommand::Summarize(_)))
    );
    let s = r.ask("q3", Mode::Chat);
    r.answer(s.turn, "answer to q3");
    let cmds = r.commands();
    let Some(AgentCommand::Summarize(req)) = cmds.last() else {
        panic!("{cmds:?}")
    };
    assert_eq!(req.folded, 5, "all but the newest message");
    assert!(r.conv.summarizing());
    let session = r.conv.session_id().unwrap();
    r.writes.take();
    assert!(matches!(
        r.event(AgentEvent::Summary {
            session,
            summary: "They asked three things.".into(),
            folded: 5
        }),
        Step::Quiet
    ));
    assert!(matches!(
        &r.writes.take()[..],
        [StoreCommand::SetSummary { summary, .. }] if summary == "They asked three things."
    ));
    // The next question goes with the summary and the one recent message.
    let s = r.ask("q4", Mode::Chat);
    let cmds = r.commands();
    let Some(AgentCommand::Ask(ask)) = cmds.last() else {
        panic!("{cmds:?}")
    };
    assert_eq!(s.mode, Mode::Chat);
    assert!(
        ask.system
            .as_deref()
            .unwrap()
            .contains("They asked three things.")
    );
    let sent: Vec<&str> = ask.messages.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(sent, vec!["answer to q3", "q4"]);
}

#[test]
fn a_resumed_session_continues_with_its_history_and_regenerates_its_last_question() {
    let mut r = Rig::new();
    let session = Session {
        id: SessionId(40),
        created_at: 1,
        updated_at: 2,
        title: "Old".into(),
        summary: None,
        model: None,
        origin: None,
        settings: Default::default(),
    };
    let stored = |id: i64, role: Role, content: &str, sources: Vec<Source>| StoredMessage {
        branch: None,
        claims: None,
        message: Message {
            id: MessageId(id),
            session_id: SessionId(40),
            parent_id: None,
            role,
            content: content.into(),
            status: MessageStatus::Complete,
            created_at: id,
            model: None,
            usage: Usage::default(),
            error: None,
        },
        sources,
    };
    let messages = vec![
        stored(1, Role::User, "what is rust", vec![]),
        stored(2, Role::Assistant, "a language [1]", vec![source()]),
    ];
    r.conv.research = false;
    r.conv.resume(session, &messages, &[]);
    assert_eq!(r.conv.history().len(), 2);
    let again = r.with(|c, p| c.regenerate(p)).unwrap();
    // Its answer cited sources: it was a research turn, whatever the mode now.
    assert_eq!(again.mode, Mode::Research);
    let writes = r.writes.take();
    assert!(
        matches!(
            &writes[0],
            StoreCommand::AppendMessage(m) if m.parent_id == Some(MessageId(1)) && m.session_id == SessionId(40)
        ),
        "a sibling of the stored answer, under its question"
    );
    assert!(
        !writes
            .iter()
            .any(|w| matches!(w, StoreCommand::CreateSession(_))),
        "the stored session is continued, not created"
    );
}

#[test]
fn closing_a_session_stops_even_a_deep_run_outright() {
    let mut r = Rig::new();
    r.ask("q", Mode::Deep);
    r.commands();
    assert!(matches!(
        r.with(|c, p| c.close(p)),
        Stopped::Interrupted { .. }
    ));
    assert!(matches!(&r.commands()[..], [AgentCommand::Cancel(_)]));
    assert!(r.conv.session().is_none() && r.conv.history().is_empty());
    let only: Option<Vec<SourceKind>> = None;
    let blank = Ask {
        text: " ".into(),
        only,
        mode: Mode::Chat,
    };
    assert_eq!(
        r.with(|c, p| c.submit(blank, p)).unwrap_err(),
        Refused::Nothing
    );
}

#[test]
fn session_settings_go_with_every_answer_and_are_stored() {
    let mut r = Rig::new();
    assert_eq!(
        r.with(|c, p| c.settings_command("/system Answer in French.", p)),
        Some(Ok("system prompt set for this session".into()))
    );
    r.with(|c, p| c.settings_command("/set temperature 0.3", p));
    // Before the first question there is no session: kept for it.
    assert!(r.writes.take().is_empty());
    let s = r.ask("q1", Mode::Chat);
    let writes = r.writes.take();
    let Some(StoreCommand::CreateSession(created)) = writes.first() else {
        panic!("{writes:?}")
    };
    assert_eq!(created.settings.temperature, Some(0.3));
    let cmds = r.commands();
    let Some(AgentCommand::Ask(ask)) = cmds.last() else {
        panic!("{cmds:?}")
    };
    assert!(ask.system.as_deref().unwrap().contains("Answer in French."));
    assert_eq!(ask.settings.temperature, Some(0.3));
    r.answer(s.turn, "Bonjour.");
    // Changed in a session: stored at once.
    r.writes.take();
    r.with(|c, p| c.choose_model("other".into(), p));
    assert!(matches!(
        &r.writes.take()[..],
        [StoreCommand::SetSettings { settings, .. }] if settings.model.as_deref() == Some("other")
    ));
    assert_eq!(r.conv.model, "other");
    let s = r.ask("q2", Mode::Research);
    let cmds = r.commands();
    let Some(AgentCommand::Research(ask)) = cmds.last() else {
        panic!("{cmds:?}")
    };
    assert_eq!(ask.model, "other");
    assert_eq!(ask.settings.system.as_deref(), Some("Answer in French."));
    r.answer(s.turn, "Bonjour encore.");
    // A new session starts from the defaults again.
    r.with(|c, p| c.close(p));
    assert!(r.conv.settings().is_default());
}
