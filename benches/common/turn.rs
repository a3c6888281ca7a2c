//! A bench's turn on the real agent thread: the research ask, sent, and
//! its outcome waited for (`SLEUTH_BENCH_DEBUG=1` prints each turn's
//! queries and source statuses on stderr).

use std::sync::mpsc::Receiver;
use std::time::Duration;

use sleuth::agent::research::pipeline::ResearchAsk;
use sleuth::agent::{AgentCommand, AgentEvent, AgentHandle, TurnOutcome};
use sleuth::domain::TurnId;

/// A research turn for `question` with no model and no history.
pub fn research(turn: TurnId, question: &str) -> AgentCommand {
    AgentCommand::Research(ResearchAsk {
        settings: Default::default(),
        turn,
        model: "none".into(),
        question: question.to_string(),
        history: vec![],
        only: None,
        summary: None,
        memory: None,
    })
}

/// Sends `cmd` and waits up to `timeout` between events for `turn` to
/// end; a failed turn panics (a bench's failure report).
pub fn run(
    agent: &AgentHandle,
    rx: &Receiver<AgentEvent>,
    turn: TurnId,
    cmd: AgentCommand,
    timeout: Duration,
) -> TurnOutcome {
    agent.send(cmd);
    loop {
        match rx.recv_timeout(timeout).expect("event") {
            AgentEvent::TurnDone { turn: t, outcome } if t == turn => {
                if std::env::var_os("SLEUTH_BENCH_DEBUG").is_some() {
                    eprintln!("{:?} {:?}", outcome.keywords, outcome.source_status);
                }
                return outcome;
            }
            AgentEvent::TurnFailed { turn: t, error } if t == turn => {
                panic!("turn failed: {error}")
            }
            _ => {}
        }
    }
}
