//! The driver's JSON lines and their translation into the engine's own [`Event`]s: worker
//! slots from (pid, native thread id), the driver's monotonic clock onto the sink's.

use std::collections::HashMap;

use serde::Deserialize;

use crate::core::{Event, SpanKind, TaskOutput};
use crate::exec::{Sink, TaskResult};

/// One line from the driver. Times (`t`, `start`, `end`) are CLOCK_MONOTONIC in µs, the
/// clock Rust's `Instant` also reads on Linux.
/// What Python believes about the CPUs: `os.cpu_count()`, `os.process_cpu_count()`
/// (3.13+), `len(os.sched_getaffinity(0))`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct PythonCpus {
    pub cpu_count: Option<u64>,
    pub process_cpu_count: Option<u64>,
    pub affinity: Option<u64>,
}

impl PythonCpus {
    /// `os.cpu_count() 2 · os.process_cpu_count() 2 · len(os.sched_getaffinity(0)) 2`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(n) = self.cpu_count {
            parts.push(format!("os.cpu_count() {n}"));
        }
        if let Some(n) = self.process_cpu_count {
            parts.push(format!("os.process_cpu_count() {n}"));
        }
        if let Some(n) = self.affinity {
            parts.push(format!("len(os.sched_getaffinity(0)) {n}"));
        }
        parts.join(" · ")
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "ev", rename_all = "snake_case")]
pub enum DriverEvent {
    Hello {
        pid: u32,
        t: u64,
        version: String,
        gil: bool,
        switch_interval_s: f64,
        start_method: String,
        /// CPU the interpreter spent starting up, before the run (not the run's).
        #[serde(default)]
        startup_cpu_us: u64,
        /// What Python believes about the CPUs (an older driver sends none).
        #[serde(default)]
        cpus: Option<PythonCpus>,
    },
    Worker {
        pid: u32,
        tid: u64,
        t: u64,
        /// From the pool's creation until this worker was ready to take tasks (a
        /// process forked or spawned, an interpreter created and booted), when measured.
        #[serde(default)]
        startup_us: Option<u64>,
    },
    Start {
        task: usize,
        pid: u32,
        tid: u64,
        thread: String,
        t: u64,
    },
    Progress {
        task: usize,
        pid: u32,
        tid: u64,
        done: u64,
        total: u64,
        t: u64,
    },
    /// A blocking call began (sleeps and requests; closed by its `Span`).
    SpanStart {
        kind: String,
        pid: u32,
        tid: u64,
        start: u64,
    },
    Span {
        kind: String,
        pid: u32,
        tid: u64,
        start: u64,
        end: u64,
    },
    Done {
        task: usize,
        pid: u32,
        tid: u64,
        t: u64,
        #[serde(default)]
        ok: Option<TaskOutput>,
        #[serde(default)]
        err: Option<String>,
        wall_us: u64,
        cpu_us: u64,
        /// The reporting process's CPU time so far, and its parent.
        #[serde(default)]
        proc_cpu_us: u64,
        #[serde(default)]
        ppid: u32,
    },
    /// One heartbeat of the asyncio loop (the async model): how late its 10 ms timer
    /// fired, and the tasks in flight then.
    Lag {
        t: u64,
        lag_us: u64,
        in_flight: u64,
    },
    /// The convoy measurement (`conlab fidelity`), not part of a run.
    Convoy {
        alone_median_ms: f64,
        median_ms: f64,
        wakeups: u64,
        switch_interval_ms: f64,
    },
    /// What the pool's copying cost over the run (sent by the main interpreter before
    /// `end`): tasks whose arguments and results crossed, bytes, Σ copy time (`None`: not
    /// measured), and how.
    Crossing {
        items: u64,
        #[serde(default)]
        bytes: Option<u64>,
        #[serde(default)]
        transfer_us: Option<u64>,
        how: String,
    },
    End {
        t: u64,
    },
}

/// The engine's span kind for a driver's span `kind`.
fn span_kind(kind: &str) -> Result<SpanKind, String> {
    match kind {
        "io" => Ok(SpanKind::Io),
        "native_holding" => Ok(SpanKind::NativeHolding),
        "native_released" => Ok(SpanKind::NativeReleased),
        other => Err(format!("the driver reported a span of kind `{other}`")),
    }
}

/// CLOCK_MONOTONIC now, in µs (the driver's `time.monotonic_ns() // 1000`).
pub fn monotonic_us() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map(|ts| ts.tv_sec() as u64 * 1_000_000 + ts.tv_nsec() as u64 / 1_000)
        .unwrap_or(0)
}

/// Turns driver events into engine events for one run and collects the task results.
pub struct Translator {
    /// The driver's clock reading at the sink's zero.
    mono0: u64,
    workers: usize,
    slots: HashMap<(u32, u64), usize>,
    /// The interpreter's pid.
    interpreter: u32,
    /// Latest CPU time reported by each process that is not the interpreter's child (a
    /// forkserver's): its CPU cannot reach conlab through wait().
    foreign_cpu: HashMap<u32, u64>,
    pub results: Vec<TaskResult>,
    pub finished: usize,
    /// The asyncio loop's heartbeats (async runs only).
    lag: Option<LoopLagTally>,
    /// Workers' measured start-ups, µs (capped), and the pool's copying, when sent.
    startups: Vec<u64>,
    crossing: Option<crate::core::Crossing>,
}

/// Heartbeats seen so far, and the window of the next coalesced `LoopLag` event.
#[derive(Default)]
struct LoopLagTally {
    hist: crate::exec::asyncio::LagHistogram,
    peak_in_flight: u64,
    window_max: u64,
    emitted_at: Option<u64>,
}

/// At most one `LoopLag` event per this long (as the native heartbeat).
const LAG_EVERY_US: u64 = 100_000;

/// What the runner should do after an event.
#[derive(Debug, PartialEq)]
pub enum Step {
    Continue,
    /// The driver says the run is over, at this driver time.
    End(u64),
}

impl Translator {
    pub fn new(mono0: u64, interpreter: u32, workers: usize, tasks: usize) -> Self {
        Translator {
            mono0,
            workers: workers.max(1),
            slots: HashMap::new(),
            interpreter,
            foreign_cpu: HashMap::new(),
            results: vec![None; tasks],
            finished: 0,
            lag: None,
            startups: Vec::new(),
            crossing: None,
        }
    }

    /// The pool's start-up and copying as the driver measured them (`None` when it sent
    /// nothing about them: sequential, async).
    pub fn crossing(&self) -> Option<crate::core::Crossing> {
        let mut c = self.crossing.clone()?;
        c.workers = self.startups.len().max(self.slots.len());
        if !self.startups.is_empty() {
            c.startup_us = Some(self.startups.iter().sum::<u64>() / self.startups.len() as u64);
        }
        Some(c)
    }

    /// The asyncio loop's lag over the run (`None` when the driver sent no heartbeat).
    pub fn loop_lag(&self) -> Option<crate::core::LoopStats> {
        let l = self.lag.as_ref()?;
        Some(crate::core::LoopStats {
            beats: l.hist.count(),
            max_lag_us: l.hist.max(),
            p99_lag_us: l.hist.quantile(0.99),
            mean_lag_us: l.hist.mean(),
            peak_in_flight: l.peak_in_flight,
        })
    }

    /// CPU time of pool processes that are not the interpreter's children.
    pub fn foreign_cpu_us(&self) -> u64 {
        self.foreign_cpu.values().sum()
    }

    fn at(&self, t: u64) -> u64 {
        t.saturating_sub(self.mono0)
    }

    /// The worker slot of a (process, thread): in order of first appearance, wrapped to
    /// the pool's size (a replaced pool child takes a slot again).
    /// The worker lane of the thread with native id `tid` (CPython's sampler names threads
    /// by it), once it started a task or said it is a worker.
    pub fn worker_of(&self, tid: u64) -> Option<usize> {
        self.slots
            .iter()
            .find(|((_, t), _)| *t == tid)
            .map(|(_, w)| *w)
    }

    fn slot(&mut self, pid: u32, tid: u64) -> (usize, bool) {
        let n = self.slots.len();
        let workers = self.workers;
        let mut new = false;
        let slot = *self.slots.entry((pid, tid)).or_insert_with(|| {
            new = true;
            n % workers
        });
        (slot, new)
    }

    fn check_task(&self, task: usize) -> Result<(), String> {
        if task < self.results.len() {
            Ok(())
        } else {
            Err(format!(
                "the driver reported task {task} of {}",
                self.results.len()
            ))
        }
    }

    /// Translate one event into `sink`; a malformed one is an error for the run.
    pub fn handle(&mut self, ev: DriverEvent, sink: &Sink) -> Result<Step, String> {
        match ev {
            DriverEvent::Hello { .. } | DriverEvent::Convoy { .. } => {}
            DriverEvent::Lag {
                t,
                lag_us,
                in_flight,
            } => {
                let at = self.at(t);
                let l = self.lag.get_or_insert_with(LoopLagTally::default);
                l.hist.record(lag_us);
                l.peak_in_flight = l.peak_in_flight.max(in_flight);
                l.window_max = l.window_max.max(lag_us);
                if l.emitted_at
                    .is_none_or(|e| at.saturating_sub(e) >= LAG_EVERY_US)
                {
                    sink.emit_at(
                        at,
                        Event::LoopLag {
                            worker: 0,
                            lag_us,
                            max_us: l.window_max,
                            in_flight,
                        },
                    );
                    l.emitted_at = Some(at);
                    l.window_max = 0;
                }
            }
            DriverEvent::Worker {
                pid,
                tid,
                t,
                startup_us,
            } => {
                // Capped: a pool is at most a few thousand workers wide.
                if let Some(us) = startup_us
                    && self.startups.len() < 1 << 16
                {
                    self.startups.push(us);
                }
                let (worker, new) = self.slot(pid, tid);
                if new {
                    sink.emit_at(self.at(t), Event::WorkerStarted { worker, pid });
                }
            }
            DriverEvent::Start {
                task,
                pid,
                tid,
                thread,
                t,
            } => {
                self.check_task(task)?;
                let (worker, new) = self.slot(pid, tid);
                if new {
                    sink.emit_at(self.at(t), Event::WorkerStarted { worker, pid });
                }
                sink.emit_at(
                    self.at(t),
                    Event::TaskStarted {
                        task,
                        worker,
                        pid,
                        thread: format!("{thread} · tid {tid}"),
                    },
                );
            }
            DriverEvent::Progress {
                task,
                pid,
                tid,
                done,
                total,
                t,
            } => {
                self.check_task(task)?;
                let (worker, _) = self.slot(pid, tid);
                sink.emit_at(
                    self.at(t),
                    Event::Progress {
                        task,
                        worker,
                        done,
                        total,
                    },
                );
            }
            DriverEvent::SpanStart {
                kind,
                pid,
                tid,
                start,
            } => {
                let kind = span_kind(&kind)?;
                let (worker, _) = self.slot(pid, tid);
                sink.emit_at(
                    self.at(start),
                    Event::SpanStarted {
                        worker,
                        kind,
                        start_us: self.at(start),
                    },
                );
            }
            DriverEvent::Span {
                kind,
                pid,
                tid,
                start,
                end,
            } => {
                let kind = span_kind(&kind)?;
                let (worker, _) = self.slot(pid, tid);
                sink.emit_at(
                    self.at(end),
                    Event::Span {
                        worker,
                        kind,
                        start_us: self.at(start),
                        end_us: self.at(end.max(start)),
                    },
                );
            }
            DriverEvent::Done {
                task,
                pid,
                tid,
                t,
                ok,
                err,
                wall_us,
                cpu_us,
                proc_cpu_us,
                ppid,
            } => {
                self.check_task(task)?;
                if pid != self.interpreter && ppid != self.interpreter && ppid != 0 {
                    let c = self.foreign_cpu.entry(pid).or_default();
                    *c = (*c).max(proc_cpu_us);
                }
                if self.results[task].is_some() {
                    // Already reported (a pool's failure after the task's own report).
                    return Ok(Step::Continue);
                }
                let result = match (ok, err) {
                    (Some(o), _) => Ok(o),
                    (None, Some(e)) => Err(e),
                    (None, None) => {
                        Err("the driver reported neither an output nor an error".into())
                    }
                };
                let (worker, _) = self.slot(pid, tid);
                self.results[task] = Some(result.clone());
                self.finished += 1;
                sink.emit_at(
                    self.at(t),
                    Event::TaskFinished {
                        task,
                        worker,
                        result,
                        wall_us,
                        cpu_us,
                    },
                );
            }
            DriverEvent::Crossing {
                items,
                bytes,
                transfer_us,
                how,
            } => {
                self.crossing = Some(crate::core::Crossing {
                    workers: 0,
                    startup_us: None,
                    startup_note: None,
                    items,
                    bytes,
                    transfer_us,
                    how: crate::core::fmt::fit(&how, 120),
                });
            }
            DriverEvent::End { t } => return Ok(Step::End(t)),
        }
        Ok(Step::Continue)
    }

    /// Fail every task that has not finished with `reason` (the interpreter died).
    pub fn fail_unfinished(&mut self, reason: &str, sink: &Sink) {
        for task in 0..self.results.len() {
            if self.results[task].is_none() {
                self.results[task] = Some(Err(reason.to_string()));
                self.finished += 1;
                sink.emit(Event::TaskFinished {
                    task,
                    worker: 0,
                    result: Err(reason.to_string()),
                    wall_us: 0,
                    cpu_us: 0,
                });
            }
        }
    }
}

/// Parse one line of the driver's output.
pub fn parse(line: &str) -> Result<DriverEvent, String> {
    serde_json::from_str(line).map_err(|e| {
        let shown: String = line.chars().take(120).collect();
        format!("the driver wrote something conlab cannot read ({e}): {shown}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Stamped;

    fn collect() -> (Sink, crossbeam_channel::Receiver<Stamped>) {
        let (tx, rx) = crossbeam_channel::unbounded();
        (Sink::channel(tx, |s| s), rx)
    }

    fn feed(tr: &mut Translator, sink: &Sink, lines: &[&str]) -> Vec<Step> {
        lines
            .iter()
            .map(|l| tr.handle(parse(l).expect("parses"), sink).expect("valid"))
            .collect()
    }

    #[test]
    fn a_task_maps_onto_engine_events_with_the_drivers_times() {
        let (sink, rx) = collect();
        let mut tr = Translator::new(1_000_000, 1, 2, 1);
        let steps = feed(
            &mut tr,
            &sink,
            &[
                r#"{"ev":"start","task":0,"pid":7,"tid":70,"thread":"py-thread_0","t":1000100}"#,
                r#"{"ev":"progress","task":0,"pid":7,"tid":70,"done":5,"total":10,"t":1000200}"#,
                r#"{"ev":"span_start","kind":"io","pid":7,"tid":70,"start":1000250}"#,
                r#"{"ev":"span","kind":"io","pid":7,"tid":70,"start":1000250,"end":1000300}"#,
                r#"{"ev":"done","task":0,"pid":7,"tid":70,"t":1000400,"ok":{"value":"340282366920938463463374607431768211455","extra":null},"wall_us":300,"cpu_us":250}"#,
                r#"{"ev":"end","t":1000500}"#,
            ],
        );
        assert_eq!(steps.last(), Some(&Step::End(1_000_500)));
        let got: Vec<Stamped> = rx.try_iter().collect();
        assert_eq!(got[0].event, Event::WorkerStarted { worker: 0, pid: 7 });
        assert_eq!(got[1].at_us, 100);
        assert!(
            matches!(&got[1].event, Event::TaskStarted { thread, .. } if thread == "py-thread_0 · tid 70")
        );
        // The wait is said as it begins, on the run's clock, then closed by its span.
        assert_eq!(got[3].at_us, 250);
        assert_eq!(
            got[3].event,
            Event::SpanStarted {
                worker: 0,
                kind: SpanKind::Io,
                start_us: 250,
            }
        );
        assert_eq!(
            got[4].event,
            Event::Span {
                worker: 0,
                kind: SpanKind::Io,
                start_us: 250,
                end_us: 300
            }
        );
        assert_eq!(
            got[5].event,
            Event::TaskFinished {
                task: 0,
                worker: 0,
                result: Ok(TaskOutput::value(u128::MAX)),
                wall_us: 300,
                cpu_us: 250
            }
        );
        assert_eq!(tr.finished, 1);
    }

    #[test]
    fn threads_and_processes_get_their_own_slots() {
        let (sink, _rx) = collect();
        let mut tr = Translator::new(0, 1, 2, 0);
        assert_eq!(tr.slot(1, 10), (0, true));
        assert_eq!(tr.slot(1, 11), (1, true));
        assert_eq!(tr.slot(1, 10), (0, false));
        assert_eq!(
            tr.slot(2, 20).0,
            0,
            "a third appears: slots wrap to the pool size"
        );
        drop(sink);
    }

    #[test]
    fn the_first_report_of_a_task_wins_and_errors_keep_their_message() {
        let (sink, _rx) = collect();
        let mut tr = Translator::new(0, 1, 1, 2);
        feed(
            &mut tr,
            &sink,
            &[
                r#"{"ev":"done","task":0,"pid":1,"tid":1,"t":5,"err":"ZeroDivisionError: division by zero","wall_us":1,"cpu_us":1}"#,
                r#"{"ev":"done","task":0,"pid":1,"tid":1,"t":6,"err":"BrokenProcessPool: later","wall_us":0,"cpu_us":0}"#,
            ],
        );
        assert_eq!(
            tr.results[0],
            Some(Err("ZeroDivisionError: division by zero".into()))
        );
        assert_eq!(tr.finished, 1);
        tr.fail_unfinished("python died", &sink);
        assert_eq!(tr.results[1], Some(Err("python died".into())));
    }

    #[test]
    fn cpu_of_a_forkservers_children_is_counted_once_per_process() {
        let (sink, _rx) = collect();
        let mut tr = Translator::new(0, 100, 2, 3);
        feed(
            &mut tr,
            &sink,
            &[
                // A child of the interpreter (fork): reaped, so not counted here.
                r#"{"ev":"done","task":0,"pid":101,"tid":1,"t":5,"ok":{"value":"1"},"wall_us":1,"cpu_us":1,"proc_cpu_us":500,"ppid":100}"#,
                // A forkserver's child, twice: its latest total counts.
                r#"{"ev":"done","task":1,"pid":201,"tid":1,"t":6,"ok":{"value":"1"},"wall_us":1,"cpu_us":1,"proc_cpu_us":300,"ppid":200}"#,
                r#"{"ev":"done","task":2,"pid":201,"tid":1,"t":7,"ok":{"value":"1"},"wall_us":1,"cpu_us":1,"proc_cpu_us":700,"ppid":200}"#,
            ],
        );
        assert_eq!(tr.foreign_cpu_us(), 700);
    }

    #[test]
    fn bad_lines_are_errors_not_panics() {
        let (sink, _rx) = collect();
        let mut tr = Translator::new(0, 1, 1, 1);
        assert!(parse("Traceback (most recent call last):").is_err());
        assert!(parse(r#"{"ev":"nope"}"#).is_err());
        let far = parse(r#"{"ev":"progress","task":9,"pid":1,"tid":1,"done":1,"total":2,"t":1}"#)
            .expect("parses");
        assert!(tr.handle(far, &sink).is_err(), "task 9 of 1");
        let span = parse(r#"{"ev":"span","kind":"gil","pid":1,"tid":1,"start":1,"end":2}"#)
            .expect("parses");
        assert!(tr.handle(span, &sink).is_err());
    }
}
