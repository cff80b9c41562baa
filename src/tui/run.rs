//! The run job: at most one run at a time, on a named thread, through the [`Runner`] seam;
//! its events and its end arrive as [`Msg`]s on the channel.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{SendTimeoutError, Sender};

/// Messages the dashboard's channel holds before a run's events wait for the screen
/// (about 100 bytes each: a few MB at most, however many tasks a run has).
pub const EVENTS_CAPACITY: usize = 65_536;

/// Send `msg`, waiting while the channel is full, until it is taken, nobody listens, or
/// `cancel` has been set for `patience` (then it is dropped: the run is ending and
/// nobody drains the channel, e.g. the dashboard is quitting and joins the run).
fn send_or_give_up(tx: &Sender<Msg>, mut msg: Msg, cancel: &CancelToken, patience: Duration) {
    let mut cancelled_at: Option<Instant> = None;
    loop {
        match tx.send_timeout(msg, Duration::from_millis(20)) {
            Ok(()) | Err(SendTimeoutError::Disconnected(_)) => return,
            Err(SendTimeoutError::Timeout(m)) => {
                if cancel.is_cancelled() {
                    let since = *cancelled_at.get_or_insert_with(Instant::now);
                    if since.elapsed() >= patience {
                        return;
                    }
                }
                msg = m;
            }
        }
    }
}

use crate::app::{Msg, RunId};
use crate::exec::{CancelToken, RunSpec, Runner, Sink};
use crate::observe::witness::Witness;

/// The run in progress (at most one) and what performs runs.
pub struct RunJob {
    runner: Arc<dyn Runner>,
    handle: Option<JoinHandle<()>>,
    cancel: CancelToken,
}

impl RunJob {
    pub fn new(runner: Arc<dyn Runner>) -> Self {
        RunJob {
            runner,
            handle: None,
            cancel: CancelToken::new(),
        }
    }

    /// What performs the next run started.
    pub fn set_runner(&mut self, runner: Arc<dyn Runner>) {
        self.runner = runner;
    }

    /// Wait for the run thread (if any) to end.
    pub fn join(&mut self) {
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }

    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// Start run `id` of `spec` after the previous one ended; `t0` is the loop's clock.
    pub fn start(&mut self, id: RunId, spec: RunSpec, tx: &Sender<Msg>, t0: Instant) {
        self.join();
        self.cancel = CancelToken::new();
        let cancel = self.cancel.clone();
        let runner = self.runner.clone();
        let events = tx.clone();
        let ended = tx.clone();
        let sink_cancel = cancel.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("conlab-run-{}", spec.model))
            .spawn(move || {
                let sink = Sink::new(move |ev| {
                    let msg = Msg::Run {
                        id,
                        at: t0.elapsed(),
                        ev,
                    };
                    send_or_give_up(&events, msg, &sink_cancel, Duration::ZERO);
                });
                // Watched, so the verdict can tell a run other programs disturbed.
                let witness = runner
                    .on_this_machine()
                    .then(|| Witness::begin(Duration::from_millis(crate::observe::SAMPLE_MS)));
                let result = runner.run(&spec, &sink, &cancel);
                if let (Ok(report), Some(witness)) = (&result, witness) {
                    let witness = witness.end(report.elapsed.as_secs_f64(), report.unreaped_cpu);
                    send_or_give_up(
                        &ended,
                        Msg::Witnessed {
                            id,
                            model: spec.model,
                            witness: Box::new(witness),
                        },
                        &cancel,
                        Duration::from_secs(1),
                    );
                }
                let result = result.map(|_| ()).map_err(|e| e.to_string());
                // The end must reach a dashboard that still drains (after `c`); one that
                // is quitting and joining this thread stops draining: give up after 1 s.
                send_or_give_up(
                    &ended,
                    Msg::RunEnded { id, result },
                    &cancel,
                    Duration::from_secs(1),
                );
            });
        match spawned {
            Ok(h) => self.handle = Some(h),
            Err(e) => {
                // On the loop's own thread: never wait on its own channel.
                let _ = tx.try_send(Msg::RunEnded {
                    id,
                    result: Err(format!("could not start the run thread: {e}")),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::NativeRunner;

    /// A consumer that never reads: the run's events stop at the channel's capacity
    /// (memory bounded), the run waits, and cancelling it still ends it (the join returns).
    #[test]
    fn a_slow_screen_bounds_the_queue_and_cancel_still_ends_the_run() {
        let (tx, rx) = crossbeam_channel::bounded::<Msg>(64);
        let mut job = RunJob::new(Arc::new(NativeRunner));
        let mut spec = RunSpec::new("tiny", crate::exec::Model::Threads, 2);
        spec.args.tasks = 1_000_000;
        job.start(0, spec, &tx, Instant::now());
        // Wait until the channel is full (the run is then waiting on it).
        while rx.len() < 64 {
            std::thread::yield_now();
        }
        assert_eq!(rx.len(), 64, "never more than its capacity");
        job.cancel();
        job.join();
        // Everything the run managed to send is there, in order, and no more than fits.
        assert!(rx.len() <= 64);
        let first = rx.try_recv().expect("an event");
        assert!(matches!(first, Msg::Run { .. }), "{first:?}");
    }
}
