//! CPython's own GIL measurement as ground truth: the same workload under threads, once
//! in CPython 3.15+ under its sampling profiler (per thread: GIL held, waiting, released,
//! from the profile's markers) and once in the simulation (per worker: its spans), side
//! by side, with the GIL-wait shares compared.

use serde::Serialize;

use crate::core::{Event, Model, SpanKind};
use crate::exec::{CancelToken, RunSpec, Runner};
use crate::observe::Interference;
use crate::observe::interference::MachineWatch;
use crate::runtime::{self, CpythonRunner, gecko};

/// Wait shares within this many percentage points of each other agree.
pub const TOLERANCE_POINTS: f64 = 10.0;

/// One thread's (or simulated worker's) GIL, as shares of its life.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ThreadShare {
    /// "thread 1234" (CPython's native id) or "worker 0".
    pub name: String,
    pub held: f64,
    pub waiting: f64,
    pub released: f64,
    /// CPython: "Has GIL" intervals; the simulation: waits for the GIL (each ends in a turn).
    pub turns: u64,
}

/// The two side by side.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GilShares {
    pub python: String,
    pub workload: String,
    pub workers: usize,
    pub native_size: u64,
    pub cpython_size: u64,
    pub cpython: Vec<ThreadShare>,
    pub native: Vec<ThreadShare>,
    /// Mean waiting share over the workers.
    pub cpython_wait_share: f64,
    pub native_wait_share: f64,
    /// (native − CPython) × 100: percentage points.
    pub diff_points: f64,
    pub within_10_points: bool,
    /// Inconclusive when other programs kept half a core busy meanwhile.
    pub verdict: super::verdict::State,
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let (n, s) = xs.fold((0usize, 0.0), |(n, s), x| (n + 1, s + x));
    if n == 0 { 0.0 } else { s / n as f64 }
}

/// Per simulated worker, from a run's events: GIL waits and I/O spans, and the tasks' wall
/// time, as shares of the run's elapsed time.
pub fn simulated(events: &[Event], workers: usize, elapsed_us: u64) -> Vec<ThreadShare> {
    let mut wait = vec![0u64; workers];
    let mut io = vec![0u64; workers];
    let mut busy = vec![0u64; workers];
    let mut waits = vec![0u64; workers];
    for ev in events {
        match ev {
            Event::Span {
                worker,
                kind,
                start_us,
                end_us,
            } if *worker < workers => {
                let d = end_us.saturating_sub(*start_us);
                match kind {
                    SpanKind::GilWait => {
                        wait[*worker] += d;
                        waits[*worker] += 1;
                    }
                    SpanKind::Io => io[*worker] += d,
                    _ => {}
                }
            }
            Event::TaskFinished {
                worker, wall_us, ..
            } if *worker < workers => busy[*worker] += wall_us,
            _ => {}
        }
    }
    let share = |x: u64| {
        if elapsed_us > 0 {
            (x as f64 / elapsed_us as f64).clamp(0.0, 1.0)
        } else {
            0.0
        }
    };
    (0..workers)
        .map(|w| {
            let held = share(busy[w].saturating_sub(wait[w] + io[w]));
            let waiting = share(wait[w]);
            ThreadShare {
                name: format!("worker {w}"),
                held,
                waiting,
                released: (1.0 - held - waiting).max(0.0),
                turns: waits[w],
            }
        })
        .collect()
}

/// CPython's worker threads from its profile.
pub fn sampled(threads: &[gecko::ThreadGil]) -> Vec<ThreadShare> {
    gecko::workers(threads)
        .iter()
        .map(|t| ThreadShare {
            name: format!("thread {}", t.tid),
            held: t.held_share(),
            waiting: t.waiting_share(),
            released: t.released_share(),
            turns: t.turns,
        })
        .collect()
}

/// Run `workload` under threads in CPython under its sampler and in the simulation.
pub fn measure(
    python: &CpythonRunner,
    label: &str,
    workload: &str,
    workers: usize,
    size: Option<u64>,
    cancel: &CancelToken,
) -> Result<GilShares, String> {
    let w =
        crate::workload::find(workload).ok_or_else(|| format!("unknown workload {workload}"))?;
    let native_size =
        size.unwrap_or_else(|| runtime::default_size(crate::core::Runtime::Native, w));
    let cpython_size =
        size.unwrap_or_else(|| runtime::default_size(crate::core::Runtime::Cpython, w));
    let spec = |size| {
        let mut s = RunSpec::new(workload, Model::Threads, workers);
        s.args.size = size;
        s.gil.enabled = true;
        s
    };
    // In /tmp itself, not $TMPDIR: a chroot's wrapper (scripts/pythons) binds /tmp only.
    let dir = tempfile::Builder::new()
        .prefix("conlab-gil-")
        .tempdir_in("/tmp")
        .map_err(|e| format!("a folder for the profile: {e}"))?;
    let watch = MachineWatch::begin();
    let sampled_runner = python.sampling_gil(dir.path());
    let r = sampled_runner
        .run(&spec(cpython_size), &crate::exec::Sink::null(), cancel)
        .map_err(|e| e.to_string())?;
    if r.cancelled {
        return Err("cancelled".into());
    }
    let unreaped = r.unreaped_cpu;
    let cpython = sampled(&gecko::read(
        &dir.path().join(runtime::cpython::GECKO_FILE),
    )?);
    if cpython.is_empty() {
        return Err("the profile shows no thread holding the GIL".into());
    }
    let mut events = Vec::new();
    let native_spec = spec(native_size);
    let r = runtime::run_with_events_on(&runtime::NativeRunner, &native_spec, cancel, |s| {
        if matches!(s.event, Event::Span { .. } | Event::TaskFinished { .. }) {
            events.push(s.event.clone());
        }
    })
    .map_err(|e| e.to_string())?;
    let (wall, others) = watch.end(unreaped);
    let load = Interference::of(wall, others, None);
    let elapsed_us = r.elapsed.as_micros().min(u64::MAX as u128) as u64;
    let native = simulated(&events, r.workers.max(1), elapsed_us);
    let cpython_wait_share = mean(cpython.iter().map(|t| t.waiting));
    let native_wait_share = mean(native.iter().map(|t| t.waiting));
    let diff_points = (native_wait_share - cpython_wait_share) * 100.0;
    Ok(GilShares {
        python: label.to_string(),
        workload: workload.to_string(),
        workers,
        native_size,
        cpython_size,
        cpython,
        native,
        cpython_wait_share,
        native_wait_share,
        diff_points,
        within_10_points: diff_points.abs() <= TOLERANCE_POINTS,
        verdict: match load.others_cores {
            Some(o) if o >= 0.5 => super::verdict::State::inconclusive(format!(
                "other programs kept {o:.1} cores busy during these runs"
            )),
            _ => super::verdict::State::Conclusive,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulated_shares_from_spans_and_tasks() {
        let span = |worker, kind, start_us, end_us| Event::Span {
            worker,
            kind,
            start_us,
            end_us,
        };
        let events = vec![
            span(0, SpanKind::GilWait, 0, 300),
            span(0, SpanKind::GilWait, 500, 700),
            span(1, SpanKind::Io, 0, 100),
            span(7, SpanKind::GilWait, 0, 1000),
            Event::TaskFinished {
                task: 0,
                worker: 0,
                result: Err("x".into()),
                wall_us: 1000,
                cpu_us: 0,
            },
            Event::TaskFinished {
                task: 1,
                worker: 1,
                result: Err("x".into()),
                wall_us: 600,
                cpu_us: 0,
            },
        ];
        let s = simulated(&events, 2, 1000);
        assert_eq!(s.len(), 2, "worker 7 is not one of the two");
        assert!((s[0].waiting - 0.5).abs() < 1e-9 && (s[0].held - 0.5).abs() < 1e-9);
        assert_eq!(s[0].turns, 2);
        assert!((s[1].held - 0.5).abs() < 1e-9 && (s[1].released - 0.5).abs() < 1e-9);
        assert!(simulated(&events, 2, 0).iter().all(|t| t.held == 0.0));
    }

    #[test]
    fn sampled_shares_keep_the_workers() {
        let t = |tid, main, held_ms, no_gil_ms, waiting_ms| gecko::ThreadGil {
            tid,
            main,
            span_ms: held_ms + no_gil_ms,
            held_ms,
            waiting_ms,
            no_gil_ms,
            on_cpu_ms: 0.0,
            turns: 3,
        };
        let s = sampled(&[t(1, true, 5.0, 95.0, 0.0), t(2, false, 50.0, 50.0, 45.0)]);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].name, "thread 2");
        assert!((s[0].waiting - 0.45).abs() < 1e-9 && (s[0].released - 0.05).abs() < 1e-9);
    }
}
