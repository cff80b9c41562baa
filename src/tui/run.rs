//! The run job: at most one run at a time, on a named thread, through the [`Runner`] seam;
//! its events and its end arrive as [`Msg`]s on the channel.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use crossbeam_channel::Sender;

use crate::app::{Msg, RunId};
use crate::exec::{CancelToken, RunSpec, Runner, Sink};

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
        let spawned = std::thread::Builder::new()
            .name(format!("conlab-run-{}", spec.model))
            .spawn(move || {
                let sink = Sink::new(move |ev| {
                    let _ = events.send(Msg::Run {
                        id,
                        at: t0.elapsed(),
                        ev,
                    });
                });
                let result = runner
                    .run(&spec, &sink, &cancel)
                    .map(|_| ())
                    .map_err(|e| e.to_string());
                let _ = ended.send(Msg::RunEnded { id, result });
            });
        match spawned {
            Ok(h) => self.handle = Some(h),
            Err(e) => {
                let _ = tx.send(Msg::RunEnded {
                    id,
                    result: Err(format!("could not start the run thread: {e}")),
                });
            }
        }
    }
}
