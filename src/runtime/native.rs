//! The native runtime: the workload from the catalog, run by the engine's models on this
//! process's threads or in its worker processes. It sits above both `exec` (which runs a
//! `&dyn Workload`) and `workload` (the catalog), so neither depends on the other.

use crate::exec::{self, CancelToken, RunError, RunResult, RunSpec, Runner, Sink};
use crate::workload;

/// Run one spec to the end (or until cancelled), emitting events into `sink`; the
/// workload is looked up in the catalog by the spec's name.
pub fn run(spec: &RunSpec, sink: &Sink, cancel: &CancelToken) -> RunResult {
    let w = workload::find(&spec.workload).ok_or_else(|| RunError::UnknownWorkload {
        name: spec.workload.clone(),
        known: workload::names().join(", "),
    })?;
    exec::run_workload(w, spec, sink, cancel)
}

/// The native engine: Rust kernels on this process's threads or in worker processes.
#[derive(Clone, Copy, Debug, Default)]
pub struct NativeRunner;

impl Runner for NativeRunner {
    fn run(&self, spec: &RunSpec, sink: &Sink, cancel: &CancelToken) -> RunResult {
        // A scene that runs its own pools (crossover) says what crossing cost in a note
        // only: kept for the report, as a pool's own crossing is.
        let noted = std::sync::Arc::new(std::sync::Mutex::new(None));
        let keep = noted.clone();
        let inner = sink.clone();
        let watched = Sink::new(move |s| {
            if let crate::core::Event::Note { key, value } = &s.event
                && key == crate::core::CROSSING_NOTE
            {
                *keep.lock().unwrap_or_else(|e| e.into_inner()) =
                    serde_json::from_str::<crate::core::Crossing>(value).ok();
            }
            inner.emit_at(s.at_us, s.event);
        })
        .with_clock_of(sink);
        let mut report = run(spec, &watched, cancel)?;
        if report.crossing.is_none() {
            report.crossing = noted.lock().unwrap_or_else(|e| e.into_inner()).take();
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::Model;

    #[test]
    fn an_unknown_name_lists_the_catalog() {
        let spec = RunSpec::new("nope", Model::Sequential, 1);
        let err = run(&spec, &Sink::null(), &CancelToken::new()).expect_err("unknown");
        let msg = err.to_string();
        assert!(msg.contains("`nope`"), "{msg}");
        assert!(msg.contains("primes") && msg.contains("sleep"), "{msg}");
    }
}
