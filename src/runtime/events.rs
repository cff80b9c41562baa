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

/// [`run_with_events`] on any [`Runner`].
pub fn run_with_events_on(
    runner: &dyn Runner,
    spec: &RunSpec,
    cancel: &CancelToken,
    mut on_event: impl FnMut(&Stamped),
) -> RunResult {
    let (tx, rx) = crossbeam_channel::unbounded::<Stamped>();
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
