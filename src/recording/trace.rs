//! Runs as a Chrome trace-event file (the JSON object format) that Perfetto
//! (ui.perfetto.dev) and chrome://tracing open. Fed the stream of stamped engine events
//! (and CPU samples) as they come, it writes each as it arrives — memory stays bounded by
//! the workers in flight — and stops at [`MAX_EVENTS`], saying so in the file and in its
//! summary.
//!
//! Layout: every run is a process track named after its settings (`process_labels` carry
//! the rest), with a `run` thread holding one slice for the whole run and a counter of
//! tasks done. A threads or sequential run's workers are its threads; a process pool's
//! workers are processes of their own (named with their real pid). On a worker's track:
//! one `task N` slice per task, and inside it `GIL wait` and `I/O wait` slices (from
//! [`Event::Span`]). CPU samples become counters on a `CPU` process: per-core usage,
//! conlab's process tree CPU and memory. Times are µs from the start of the recording
//! (or of the command). The settings of every run also go to `otherData`.

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};
use std::path::Path;

use serde_json::{Value, json};

use crate::core::{Event, Model, SpanKind, Stamped};
use crate::observe::monitor::CpuSample;
use crate::recording::record::{Entry, Recording};
use crate::sys::atomic_file::AtomicFile;

/// Trace events written at most; later ones are counted and dropped (a run can have
/// millions of events: past this, Perfetto's JSON import slows to a crawl).
pub const MAX_EVENTS: u64 = 4_000_000;

/// Pid spacing between runs: a run's own pid is `(run + 1) * PID_STRIDE`, its workers'
/// tracks follow it (more than the dashboard's most workers).
const PID_STRIDE: u64 = 5000;
/// The pid of the CPU counters.
const CPU_PID: u64 = 1;

/// What a finished trace holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceSummary {
    pub runs: usize,
    pub written: u64,
    pub dropped: u64,
}

/// One run's tracks.
struct RunTrack {
    /// Added to the run's engine times (µs since the run started) to place them.
    offset_us: u64,
    model: Model,
    /// Workers whose track is named already.
    named: HashSet<usize>,
    /// Tasks in flight: (worker, task) → start time (trace µs).
    open: HashMap<(usize, usize), u64>,
    done: u64,
    /// pid → the real pid a process-pool worker had when its track was named.
    pids: HashMap<usize, u32>,
}

impl RunTrack {
    fn pid(run: u32) -> u64 {
        (u64::from(run) + 1) * PID_STRIDE
    }
}

/// Writes a trace as events arrive.
pub struct TraceWriter<W: Write> {
    out: W,
    first: bool,
    written: u64,
    dropped: u64,
    error: Option<io::Error>,
    runs: HashMap<u32, RunTrack>,
    settings: Vec<Value>,
    cpu_named: bool,
    cap: u64,
}

/// Create `path` and start a trace in it.
/// The trace is written under a temporary name: [`AtomicFile::commit`] the writer
/// [`TraceWriter::finish`] gives back to put it in place.
pub fn create(path: &Path) -> anyhow::Result<TraceWriter<AtomicFile>> {
    let file = AtomicFile::create(path)
        .map_err(|e| anyhow::anyhow!("cannot write trace {}: {e}", path.display()))?;
    Ok(TraceWriter::new(file)?)
}

/// The whole of a recording as a trace (CPU samples included).
pub fn from_recording<W: Write>(rec: &Recording, out: W) -> io::Result<(W, TraceSummary)> {
    let mut t = TraceWriter::new(out)?;
    for entry in &rec.entries {
        match entry {
            Entry::Event { t_us, run, event } => t.event(*run, *t_us, event),
            Entry::Cpu { t_us, sample } => {
                if let Ok(s) = serde_json::from_value::<CpuSample>(sample.clone()) {
                    t.cpu(*t_us, &s);
                }
            }
            // Kernel lanes are not trace tracks yet: a watch recording gives its CPU only.
            Entry::Watch { .. } | Entry::Kernel { .. } => {}
        }
    }
    t.finish()
}

fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

impl<W: Write> TraceWriter<W> {
    pub fn new(out: W) -> io::Result<Self> {
        Self::with_cap(out, MAX_EVENTS)
    }

    /// A writer that stops after `cap` events.
    pub fn with_cap(mut out: W, cap: u64) -> io::Result<Self> {
        out.write_all(b"{\"traceEvents\":[\n")?;
        Ok(TraceWriter {
            out,
            first: true,
            written: 0,
            dropped: 0,
            error: None,
            runs: HashMap::new(),
            settings: Vec::new(),
            cpu_named: false,
            cap,
        })
    }

    fn put(&mut self, ev: Value) {
        if self.error.is_some() {
            return;
        }
        if self.written >= self.cap {
            self.dropped += 1;
            return;
        }
        let sep = if self.first { "" } else { ",\n" };
        self.first = false;
        self.written += 1;
        if let Err(e) = write!(self.out, "{sep}{ev}") {
            self.error = Some(e);
        }
    }

    fn meta(&mut self, name: &str, pid: u64, tid: u64, args: Value) {
        self.put(json!({"ph": "M", "name": name, "pid": pid, "tid": tid, "args": args}));
    }

    /// Name worker `w`'s track (once): a thread of the run, or for a process pool a
    /// process of its own.
    fn worker_track(&mut self, run: u32, w: usize, real_pid: Option<u32>) -> (u64, u64) {
        let base = RunTrack::pid(run);
        let tid = base + 1 + w as u64;
        let Some(track) = self.runs.get_mut(&run) else {
            return (base, tid);
        };
        let own_process = track.model == Model::Processes;
        let pid = if own_process { tid } else { base };
        if let Some(p) = real_pid {
            track.pids.entry(w).or_insert(p);
        }
        if !track.named.insert(w) {
            return (pid, tid);
        }
        let real = track.pids.get(&w).copied();
        if own_process {
            let name = match real {
                Some(p) => format!("run {} · worker {w} (process, pid {p})", run + 1),
                None => format!("run {} · worker {w} (process)", run + 1),
            };
            self.meta("process_name", pid, tid, json!({"name": name}));
            self.meta("process_sort_index", pid, tid, json!({"sort_index": tid}));
        }
        let kind = if own_process { "process" } else { "thread" };
        self.meta(
            "thread_name",
            pid,
            tid,
            json!({"name": format!("worker {w} ({kind})")}),
        );
        self.meta("thread_sort_index", pid, tid, json!({"sort_index": w + 1}));
        (pid, tid)
    }

    /// An engine event of run number `run`, received at `t_us` (trace time). The run's
    /// own times place it: the receipt time only anchors the run's start.
    pub fn event(&mut self, run: u32, t_us: u64, ev: &Stamped) {
        if matches!(ev.event, Event::RunStarted(_)) {
            self.run_started(run, t_us.saturating_sub(ev.at_us), ev);
        }
        let Some(track) = self.runs.get(&run) else {
            // Events of a run whose start was not seen: place them by their receipt.
            let offset = t_us.saturating_sub(ev.at_us);
            self.runs.insert(
                run,
                RunTrack {
                    offset_us: offset,
                    model: Model::Threads,
                    named: HashSet::new(),
                    open: HashMap::new(),
                    done: 0,
                    pids: HashMap::new(),
                },
            );
            return self.event(run, t_us, ev);
        };
        let offset = track.offset_us;
        let at = |us: u64| offset + us;
        let now = at(ev.at_us);
        let base = RunTrack::pid(run);
        match &ev.event {
            Event::RunStarted(_) => {}
            Event::WorkerStarted { worker, pid } => {
                let (p, t) = self.worker_track(run, *worker, Some(*pid));
                self.put(
                    json!({"ph": "i", "s": "t", "name": "worker started", "cat": "worker",
                    "ts": now, "pid": p, "tid": t, "args": {"pid": pid}}),
                );
            }
            Event::TaskStarted {
                task, worker, pid, ..
            } => {
                self.worker_track(run, *worker, Some(*pid));
                if let Some(tr) = self.runs.get_mut(&run) {
                    tr.open.insert((*worker, *task), now);
                }
            }
            // A wait's start is for live views: the Span that closes it is the slice.
            Event::Progress { .. } | Event::Measured { .. } | Event::SpanStarted { .. } => {}
            Event::LoopLag {
                lag_us, in_flight, ..
            } => {
                self.put(
                    json!({"ph": "C", "name": "loop lag (ms)", "ts": now, "pid": base,
                    "args": {"lag": *lag_us as f64 / 1e3}}),
                );
                self.put(
                    json!({"ph": "C", "name": "in flight", "ts": now, "pid": base,
                    "args": {"tasks": in_flight}}),
                );
            }
            Event::Span {
                worker,
                kind,
                start_us,
                end_us,
            } => {
                let (p, t) = self.worker_track(run, *worker, None);
                let (name, cat) = match kind {
                    SpanKind::GilWait => ("GIL wait", "gil"),
                    SpanKind::Io => ("I/O wait", "io"),
                    SpanKind::NativeHolding => ("native, holding the GIL", "native_holding"),
                    SpanKind::NativeReleased => ("native, GIL released", "native_released"),
                };
                // Inside the task it interrupts, so the slices nest.
                let task_start = self.runs.get(&run).and_then(|tr| {
                    tr.open
                        .iter()
                        .filter(|((w, _), _)| w == worker)
                        .map(|(_, s)| *s)
                        .max()
                });
                let (start, end) = (at(*start_us), at(*end_us));
                let start = task_start.map_or(start, |s| start.max(s));
                self.put(json!({"ph": "X", "name": name, "cat": cat, "ts": start,
                    "dur": end.saturating_sub(start), "pid": p, "tid": t}));
            }
            Event::TaskFinished {
                task,
                worker,
                result,
                wall_us,
                cpu_us,
            } => {
                let (p, t) = self.worker_track(run, *worker, None);
                let (start, done) = match self.runs.get_mut(&run) {
                    Some(tr) => {
                        tr.done += 1;
                        (tr.open.remove(&(*worker, *task)), tr.done)
                    }
                    None => (None, 0),
                };
                let start = start.unwrap_or_else(|| now.saturating_sub(*wall_us));
                let (name, outcome) = match result {
                    Ok(out) => (
                        format!("task {task}"),
                        json!({"value": out.value.to_string()}),
                    ),
                    Err(e) => (format!("task {task} (failed)"), json!({"error": e})),
                };
                self.put(json!({"ph": "X", "name": name, "cat": "task", "ts": start,
                    "dur": now.saturating_sub(start), "pid": p, "tid": t,
                    "args": {"task": task, "result": outcome, "wall_ms": *wall_us as f64 / 1e3,
                        "cpu_ms": *cpu_us as f64 / 1e3}}));
                self.put(
                    json!({"ph": "C", "name": "tasks done", "ts": now, "pid": base,
                    "args": {"done": done}}),
                );
            }
            Event::WorkerDied {
                worker,
                pid,
                reason,
            } => {
                let (p, t) = self.worker_track(run, *worker, Some(*pid));
                self.put(
                    json!({"ph": "i", "s": "t", "name": "worker died", "cat": "worker",
                    "ts": now, "pid": p, "tid": t, "args": {"pid": pid, "reason": reason}}),
                );
            }
            Event::Note { key, value } => {
                self.put(
                    json!({"ph": "i", "s": "p", "name": key, "cat": "note", "ts": now,
                    "pid": base, "tid": base, "args": {"value": value}}),
                );
            }
            Event::RunFinished(end) => {
                let start = at(0);
                let answer = end
                    .answer
                    .as_ref()
                    .map(|a| format!("{} ({})", a.value, a.meaning));
                self.put(json!({"ph": "X", "name": "run", "cat": "run", "ts": start,
                    "dur": end.elapsed_us, "pid": base, "tid": base,
                    "args": {"answer": answer,
                        "elapsed_s": end.elapsed_us as f64 / 1e6, "cpu_s": end.cpu_us as f64 / 1e6,
                        "failed": end.failed, "cancelled": end.cancelled}}));
            }
        }
    }

    fn run_started(&mut self, run: u32, offset_us: u64, ev: &Stamped) {
        let Event::RunStarted(r) = &ev.event else {
            return;
        };

        self.runs.insert(
            run,
            RunTrack {
                offset_us,
                model: r.model,
                named: HashSet::new(),
                open: HashMap::new(),
                done: 0,
                pids: HashMap::new(),
            },
        );
        let pid = RunTrack::pid(run);
        let gil_text = if r.gil {
            format!("GIL on ({} ms switch interval)", r.switch_interval_ms)
        } else {
            "GIL off".to_string()
        };
        let name = format!(
            "run {}: {} · {} · {} · {gil_text}",
            run + 1,
            r.workload,
            r.model,
            plural(r.workers, "worker")
        );
        let labels = format!("size {}, {}", r.size, plural(r.tasks, "task"));
        self.meta("process_name", pid, pid, json!({"name": name}));
        self.meta("process_labels", pid, pid, json!({"labels": labels}));
        self.meta("process_sort_index", pid, pid, json!({"sort_index": pid}));
        self.meta("thread_name", pid, pid, json!({"name": "run"}));
        self.meta("thread_sort_index", pid, pid, json!({"sort_index": 0}));
        self.settings.push(json!({
            "run": run + 1, "workload": r.workload, "model": r.model, "workers": r.workers,
            "tasks": r.tasks, "size": r.size, "gil": r.gil,
            "switch_interval_ms": r.switch_interval_ms,
            "start_us": offset_us,
        }));
    }

    /// A CPU sample taken at `t_us` (trace time).
    pub fn cpu(&mut self, t_us: u64, s: &CpuSample) {
        if !self.cpu_named {
            self.cpu_named = true;
            self.meta(
                "process_name",
                CPU_PID,
                CPU_PID,
                json!({"name": format!("CPU ({} cores, sampled every {} ms)", s.cores.len(),
                    crate::observe::monitor::interval().as_millis())}),
            );
            self.meta(
                "process_sort_index",
                CPU_PID,
                CPU_PID,
                json!({"sort_index": 0}),
            );
        }
        let cores: serde_json::Map<String, Value> = s
            .cores
            .iter()
            .enumerate()
            .map(|(i, u)| {
                (
                    format!("core {i}"),
                    json!((f64::from(*u) * 10.0).round() / 10.0),
                )
            })
            .collect();
        self.put(json!({"ph": "C", "name": "CPU %", "ts": t_us, "pid": CPU_PID, "args": cores}));
        self.put(
            json!({"ph": "C", "name": "conlab tree CPU %", "ts": t_us, "pid": CPU_PID,
            "args": {"cpu": (f64::from(s.tree_cpu) * 10.0).round() / 10.0}}),
        );
        self.put(
            json!({"ph": "C", "name": "conlab tree memory MB", "ts": t_us, "pid": CPU_PID,
            "args": {"rss": (s.tree_mem as f64 / 1e5).round() / 10.0}}),
        );
    }

    /// Close the file: the events, then the settings of every run as `otherData`.
    pub fn finish(mut self) -> io::Result<(W, TraceSummary)> {
        if self.dropped > 0 {
            // Past the cap: one marker saying so (written over the cap on purpose).
            let last = self.written;
            self.written = 0;
            self.put(
                json!({"ph": "i", "s": "g", "name": "trace truncated", "ts": 0,
                "pid": CPU_PID, "tid": CPU_PID,
                "args": {"written": last, "dropped": self.dropped}}),
            );
            self.written = last;
        }
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let summary = TraceSummary {
            runs: self.settings.len(),
            written: self.written,
            dropped: self.dropped,
        };
        let other = json!({
            "tool": format!("conlab {}", env!("CARGO_PKG_VERSION")),
            "runs": self.settings,
            "events_written": summary.written,
            "events_dropped": summary.dropped,
        });
        write!(
            self.out,
            "\n],\"displayTimeUnit\":\"ms\",\"otherData\":{other}}}\n"
        )?;
        self.out.flush()?;
        Ok((self.out, summary))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Answer, TaskOutput};
    use crate::core::{RunEnd, RunStart};

    fn st(at_us: u64, event: Event) -> Stamped {
        Stamped { at_us, event }
    }

    /// A two-worker run of `model`: each worker runs one task and waits for the GIL once.
    fn run_events(model: Model) -> Vec<Stamped> {
        let mut v = vec![st(
            0,
            Event::RunStarted(RunStart {
                workload: "primes".into(),
                model,
                workers: 2,
                tasks: 2,
                gil: true,
                switch_interval_ms: 5.0,
                size: 1000,
            }),
        )];
        for w in 0..2 {
            let pid = if model == Model::Processes {
                100 + w as u32
            } else {
                42
            };
            v.push(st(10, Event::WorkerStarted { worker: w, pid }));
            v.push(st(
                20,
                Event::TaskStarted {
                    task: w,
                    worker: w,
                    pid,
                    thread: format!("ThreadId({w})"),
                },
            ));
        }
        for w in 0..2 {
            v.push(st(
                400,
                Event::Span {
                    worker: w,
                    kind: SpanKind::GilWait,
                    start_us: 100 + 200 * w as u64,
                    end_us: 300 + 200 * w as u64,
                },
            ));
        }
        v.push(st(
            450,
            Event::Span {
                worker: 0,
                kind: SpanKind::Io,
                start_us: 410,
                end_us: 450,
            },
        ));
        for w in 0..2 {
            v.push(st(
                1000,
                Event::TaskFinished {
                    task: w,
                    worker: w,
                    result: Ok(TaskOutput::value(84)),
                    wall_us: 980,
                    cpu_us: 700,
                },
            ));
        }
        v.push(st(
            1010,
            Event::RunFinished(RunEnd {
                answer: Some(Answer {
                    value: "168".into(),
                    meaning: "primes below 1,000".into(),
                }),
                elapsed_us: 1010,
                cpu_us: 1400,
                failed: 0,
                cancelled: false,
            }),
        ));
        v
    }

    fn trace_of(runs: &[Vec<Stamped>], cap: u64) -> (Value, TraceSummary) {
        let mut t = TraceWriter::with_cap(Vec::new(), cap).expect("in memory");
        t.cpu(
            5,
            &CpuSample {
                cores: vec![50.0, 100.0],
                tree_cpu: 150.0,
                tree_mem: 5_000_000,
                tree_procs: 1,
            },
        );
        let mut start = 1000;
        for (n, events) in runs.iter().enumerate() {
            for ev in events {
                t.event(n as u32, start + ev.at_us + 3, ev);
            }
            start += 5000;
        }
        let (bytes, summary) = t.finish().expect("finishes");
        let v: Value = serde_json::from_slice(&bytes).expect("valid JSON");
        (v, summary)
    }

    fn events(v: &Value) -> &Vec<Value> {
        v["traceEvents"].as_array().expect("traceEvents array")
    }

    #[test]
    fn the_format_perfetto_reads() {
        let (v, summary) = trace_of(&[run_events(Model::Threads)], MAX_EVENTS);
        assert_eq!(summary.dropped, 0);
        assert_eq!(v["displayTimeUnit"], "ms");
        assert_eq!(v["otherData"]["runs"][0]["model"], "threads");
        assert_eq!(v["otherData"]["runs"][0]["workers"], 2);
        for e in events(&v) {
            let ph = e["ph"].as_str().expect("every event has ph");
            assert!(["M", "X", "i", "C"].contains(&ph), "{e}");
            assert!(e["name"].is_string() && e["pid"].is_u64(), "{e}");
            if ph != "M" {
                assert!(e["ts"].is_u64(), "{e}");
            }
            if ph == "X" {
                assert!(e["dur"].is_u64() && e["tid"].is_u64(), "{e}");
            }
        }
        // Two thread tracks in the run's process, each with a task and a GIL wait inside it.
        let threads: Vec<&Value> = events(&v)
            .iter()
            .filter(|e| e["ph"] == "M" && e["name"] == "thread_name")
            .filter(|e| {
                e["args"]["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("worker"))
            })
            .collect();
        assert_eq!(threads.len(), 2);
        assert_eq!(
            threads[0]["pid"], threads[1]["pid"],
            "threads of one process"
        );
        for th in threads {
            let tid = &th["tid"];
            let on = |name: &str| -> Vec<&Value> {
                events(&v)
                    .iter()
                    .filter(|e| e["ph"] == "X" && &e["tid"] == tid)
                    .filter(|e| e["name"].as_str().is_some_and(|n| n.starts_with(name)))
                    .collect()
            };
            let (tasks, waits) = (on("task"), on("GIL wait"));
            assert_eq!((tasks.len(), waits.len()), (1, 1), "{th}");
            let span = |e: &Value| {
                let ts = e["ts"].as_u64().expect("ts");
                (ts, ts + e["dur"].as_u64().expect("dur"))
            };
            let (t, w) = (span(tasks[0]), span(waits[0]));
            assert!(
                t.0 <= w.0 && w.1 <= t.1,
                "the wait nests in its task: {t:?} {w:?}"
            );
        }
        let io = events(&v)
            .iter()
            .filter(|e| e["name"] == "I/O wait")
            .count();
        assert_eq!(io, 1);
        // The run started at receipt 1003 and the task at engine time 20.
        let task0 = events(&v)
            .iter()
            .find(|e| e["name"] == "task 0")
            .expect("task 0");
        assert_eq!(
            (task0["ts"].as_u64(), task0["dur"].as_u64()),
            (Some(1023), Some(980))
        );
        // CPU counters, one per core.
        let cpu = events(&v)
            .iter()
            .find(|e| e["ph"] == "C" && e["name"] == "CPU %")
            .expect("cpu counter");
        assert_eq!(cpu["args"]["core 1"], 100.0);
        let labels = events(&v)
            .iter()
            .find(|e| e["name"] == "process_labels")
            .expect("settings as labels");
        assert!(
            labels["args"]["labels"]
                .as_str()
                .expect("labels")
                .contains("size 1000")
        );
    }

    #[test]
    fn process_pool_workers_are_processes_and_runs_do_not_overlap() {
        let (v, summary) = trace_of(
            &[run_events(Model::Threads), run_events(Model::Processes)],
            MAX_EVENTS,
        );
        assert_eq!(summary.runs, 2);
        let names: Vec<&str> = events(&v)
            .iter()
            .filter(|e| e["name"] == "process_name")
            .filter_map(|e| e["args"]["name"].as_str())
            .collect();
        assert!(
            names
                .iter()
                .any(|n| n.contains("worker 1 (process, pid 101)")),
            "{names:?}"
        );
        let pids: HashSet<u64> = events(&v)
            .iter()
            .filter(|e| e["name"] == "GIL wait")
            .filter_map(|e| e["pid"].as_u64())
            .collect();
        assert_eq!(
            pids.len(),
            3,
            "one pid for the threads run, one per worker process"
        );
        let runs: Vec<(u64, u64)> = events(&v)
            .iter()
            .filter(|e| e["name"] == "run" && e["ph"] == "X")
            .map(|e| {
                (
                    e["ts"].as_u64().unwrap_or(0),
                    e["dur"].as_u64().unwrap_or(0),
                )
            })
            .collect();
        assert_eq!(runs.len(), 2);
        assert!(runs[0].0 + runs[0].1 <= runs[1].0, "{runs:?}");
    }

    #[test]
    fn capped_traces_say_so_and_stay_valid() {
        let (v, summary) = trace_of(&[run_events(Model::Threads)], 5);
        assert_eq!(summary.written, 5);
        assert!(summary.dropped > 0);
        assert_eq!(v["otherData"]["events_dropped"], summary.dropped);
        assert!(events(&v).iter().any(|e| e["name"] == "trace truncated"));
    }

    #[test]
    fn a_recording_gives_the_same_trace_every_time() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/recordings/io-gil-on.jsonl");
        let rec = crate::recording::record::load(&path).expect("committed recording");
        let (a, sa) = from_recording(&rec, Vec::new()).expect("trace");
        let (b, _) = from_recording(&rec, Vec::new()).expect("trace");
        assert_eq!(a, b);
        // Recorded before the fifth model existed: one run of each of the four it had.
        assert_eq!(sa.runs, 4, "one run per recorded model");
        let v: Value = serde_json::from_slice(&a).expect("valid JSON");
        assert!(events(&v).iter().any(|e| e["name"] == "I/O wait"));
        assert!(events(&v).iter().any(|e| e["name"] == "CPU %"));
    }
}
