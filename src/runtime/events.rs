//! Running a spec on a background thread while this one reads its events: what every
//! headless reader of runs (run, compare, classify, fidelity) is built on.

use crate::core::Stamped;
use crate::exec::{CancelToken, RunError, RunResult, RunSpec, Runner, Sink};

/// Run a spec on the native engine on a background thread, feeding its events to
/// `on_event` on this one.
pub fn run_with_events(
    spec: &RunSpec,
    cancel: &CancelToken,
    on_event: impl FnMut(&Stamped),
) -> RunResult {
    run_with_events_on(&crate::runtime::NativeRunner, spec, cancel, on_event)
}

/// Events in flight between the run and its reader: when the reader falls behind (a
/// recording to a slow disk, ten million tiny tasks), the run waits for it instead of
/// queueing every event, so memory stays flat in the task count.
pub const EVENTS_IN_FLIGHT: usize = 4096;

/// The channel between a run and its reader: bounded at [`EVENTS_IN_FLIGHT`].
fn events_channel() -> (
    crossbeam_channel::Sender<Stamped>,
    crossbeam_channel::Receiver<Stamped>,
) {
    crossbeam_channel::bounded(EVENTS_IN_FLIGHT)
}

/// [`run_with_events`] on any [`Runner`].
pub fn run_with_events_on(
    runner: &dyn Runner,
    spec: &RunSpec,
    cancel: &CancelToken,
    mut on_event: impl FnMut(&Stamped),
) -> RunResult {
    let (tx, rx) = events_channel();
    let sink = Sink::channel(tx, |s| s);
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("conlab-run".into())
            .spawn_scoped(scope, move || runner.run(spec, &sink, cancel))
            .map_err(|e| RunError::Plan(anyhow::anyhow!("could not start the run thread: {e}")))?;
        for ev in rx.iter() {
            on_event(&ev);
        }
        handle
            .join()
            .unwrap_or_else(|_| Err(RunError::Plan(anyhow::anyhow!("the run thread panicked"))))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_wait_for_their_reader_in_a_bounded_channel() {
        // Unbounded, a reader slower than ten million tiny tasks held them all (34 MB).
        let (tx, _rx) = events_channel();
        assert_eq!(tx.capacity(), Some(EVENTS_IN_FLIGHT));
    }

    #[test]
    fn a_run_with_more_events_than_the_channel_holds_delivers_them_all() {
        let spec = RunSpec::new("tiny", crate::core::Model::Sequential, 1);
        let spec = RunSpec {
            args: crate::exec::WorkloadArgs {
                tasks: 3 * EVENTS_IN_FLIGHT,
                ..spec.args.clone()
            },
            ..spec
        };
        let mut finished = 0;
        let report = run_with_events(&spec, &CancelToken::new(), |s| {
            if let crate::core::Event::TaskFinished { .. } = s.event {
                finished += 1;
            }
        })
        .expect("runs");
        assert_eq!(finished, 3 * EVENTS_IN_FLIGHT);
        assert!(report.answer.is_some());
    }
}
