//! The CPython runner: starts the interpreter with the embedded driver in its own process
//! group, sends it the planned tasks, and translates its events into the engine's. Cancel
//! kills the whole group; a crash fails the run with the tail of the interpreter's stderr.

use std::io::{BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use serde_json::json;

use super::StartMethod;
use super::child::{self, Line, Tail};
use super::protocol::{self, DriverEvent, Step, Translator, monotonic_us};
use super::python::PythonInfo;
use super::sizes;
use crate::core::{Event, RunStart};
use crate::exec::{CancelToken, RunError, RunResult, RunSpec, Runner, Sink, cpu_now};
use crate::workload;

/// The driver's source, embedded so an installed conlab works anywhere.
pub const DRIVER: &str = include_str!("../../assets/python/driver.py");

/// Reads the driver's first line of stdin, makes the `conlab_driver` module from it (so
/// pool children can import what they unpickle), and hands it the job.
const BOOT: &str = r#"
import os, sys, json, types
parts = []
while not parts or not parts[-1].endswith(b"\n"):
    b = os.read(0, 1 << 16)
    if not b:
        sys.exit("conlab driver: stdin closed before the job arrived")
    parts.append(b)
msg = json.loads(b"".join(parts))
m = types.ModuleType("conlab_driver")
m.SOURCE = msg["source"]
sys.modules["conlab_driver"] = m
exec(compile(m.SOURCE, "conlab_driver.py", "exec"), m.__dict__)
m.main(msg["job"])
"#;

/// The first CPython whose subinterpreters each have their own GIL and can run a pool
/// (3.12 made the GIL per-interpreter; 3.13 has `_interpreters`, 3.14 the public API).
pub const INTERPRETERS_SINCE: (u32, u32) = (3, 13);

/// The key of the note that names the interpreter, e.g. "CPython 3.11.7 · GIL".
pub const RUNTIME_NOTE: &str = "runtime";
/// The note that says what Python believes about the CPUs (`os.cpu_count()` and kin).
pub const PYTHON_SEES_NOTE: &str = "python sees";
/// How often a waiting run looks at its cancel token (the 200 ms budget, with room).
const POLL: Duration = Duration::from_millis(20);
/// How long killed pool children may take to die.
const GROUP_GONE: Duration = Duration::from_secs(1);
/// After the driver's `end`, how long its pipes may take to close.
const EXIT_GRACE: Duration = Duration::from_secs(2);

/// Runs jobs on one probed interpreter.
#[derive(Clone, Debug)]
pub struct CpythonRunner {
    pub info: PythonInfo,
    pub start_method: Option<StartMethod>,
    /// Run under CPython's sampling profiler (3.15+), writing its Gecko profile to
    /// [`GECKO_FILE`] in this folder (see [`CpythonRunner::sampling_gil`]).
    pub sample_gil: Option<PathBuf>,
}

/// The key of the note a sampled run ends with: CPython's own GIL per worker thread
/// ([`super::gecko::GilNote`] as JSON).
pub const GIL_NOTE: &str = "cpython gil";
/// The profile's name in [`CpythonRunner::sample_gil`]'s folder.
pub const GECKO_FILE: &str = "gil.json";
/// The oldest Python whose standard library has the sampling profiler
/// (`profiling.sampling`, with GIL markers in its Gecko output).
pub const SAMPLER_VERSION: (u32, u32) = (3, 15);
/// How long a sampled interpreter may take to write its profile after the run's end.
const SAMPLER_GRACE: Duration = Duration::from_secs(60);

impl CpythonRunner {
    pub fn new(info: PythonInfo, start_method: Option<StartMethod>) -> Self {
        CpythonRunner {
            info,
            start_method,
            sample_gil: None,
        }
    }

    /// Can this interpreter measure its own GIL (3.15+: `python -m profiling.sampling`)?
    pub fn can_sample_gil(&self) -> bool {
        (self.info.version.0, self.info.version.1) >= SAMPLER_VERSION
    }

    /// This runner, its runs made under `python -m profiling.sampling run -a --gecko`
    /// with the profile written into `dir` (which must be visible to the interpreter:
    /// a chroot's wrapper binds /tmp).
    pub fn sampling_gil(&self, dir: &std::path::Path) -> CpythonRunner {
        CpythonRunner {
            sample_gil: Some(dir.to_path_buf()),
            ..self.clone()
        }
    }

    /// The interpreter to start: the probe's resolved `sys.executable` (skipping shims
    /// such as pyenv's, whose start-up is not Python's), else what the user named.
    fn program(&self) -> PathBuf {
        match &self.info.executable {
            Some(e) if !e.is_empty() && std::path::Path::new(e).is_file() => PathBuf::from(e),
            _ => self.info.path.clone(),
        }
    }

    fn spawn(&self, gil_off: bool) -> Result<Child, RunError> {
        let mut cmd = Command::new(self.program());
        cmd.arg("-I");
        if self.info.free_threaded_build {
            cmd.args(["-X", if gil_off { "gil=0" } else { "gil=1" }]);
        }
        match &self.sample_gil {
            None => {
                cmd.args(["-c", BOOT]);
            }
            Some(dir) => {
                // The sampler runs a script file and forwards stdin and stdout to it.
                let boot = dir.join("conlab_boot.py");
                std::fs::write(&boot, BOOT).map_err(|e| {
                    RunError::Plan(anyhow::anyhow!("writing {}: {e}", boot.display()))
                })?;
                cmd.args(["-m", "profiling.sampling", "run", "-a", "--gecko", "-o"])
                    .arg(dir.join(GECKO_FILE))
                    .arg(&boot);
            }
        }
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own group: one killpg reaches the interpreter and every pool child.
            .process_group(0);
        let mut child = cmd.spawn().map_err(|e| {
            RunError::Plan(anyhow::anyhow!(
                "could not start `{}`: {e} (pass another interpreter with --python)",
                self.info.path.display()
            ))
        })?;
        // If conlab dies, however, the guard kills the group. The driver's own watch (EOF on
        // stdin) is not enough: its parent-death signal often kills it first, and then a
        // forkserver and its pool children live on. Nothing in the group forks before the
        // job is written, which is after this.
        if let Err(e) = crate::sys::guard::protect(child.id()) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(RunError::Plan(anyhow::anyhow!(
                "could not start the guard that stops the interpreter if conlab is killed: {e}"
            )));
        }
        Ok(child)
    }
}

/// Stdout lines from the driver, read on a named thread.
fn read_lines(out: std::process::ChildStdout) -> Receiver<Line> {
    let (tx, rx) = crossbeam_channel::unbounded();
    let _ = std::thread::Builder::new()
        .name("conlab-python-events".into())
        .spawn(move || {
            let mut r = BufReader::new(out);
            loop {
                let line = child::read_line(&mut r);
                let last = !matches!(line, Line::Text(_));
                if tx.send(line).is_err() || last {
                    return;
                }
            }
        });
    rx
}

/// How the driver's output ended.
enum Ending {
    /// `end` at this driver time.
    Finished(u64),
    Cancelled,
    /// The interpreter died or broke the protocol.
    Broken(String),
}

/// Kill the group, reap the interpreter, wait for the pool children to die, and
/// describe how the interpreter ended.
fn stop(child: &mut Child) -> String {
    let pgid = child.id();
    child::kill_group(pgid);
    crate::sys::guard::forget(pgid);
    let status = match child.wait() {
        Ok(s) => s.to_string(),
        Err(e) => format!("could not be reaped: {e}"),
    };
    child::wait_group_gone(pgid, GROUP_GONE);
    status
}

/// Kill the group (stragglers only, normally) and reap after a normal end (a sampled run
/// is given time to write its profile first).
fn finish(child: &mut Child, lines: &Receiver<Line>, sampled: bool) {
    let deadline = Instant::now() + if sampled { SAMPLER_GRACE } else { EXIT_GRACE };
    // The interpreter closes its stdout when it exits (pool children exited before `end`).
    while let Ok(Line::Text(_) | Line::TooLong) = lines.recv_deadline(deadline) {}
    stop(child);
}

/// The tail of the interpreter's stderr for a message (its last few lines).
fn stderr_tail(tail: &Tail) -> String {
    let text = tail.text();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(4);
    let t = lines[start..].join(" | ");
    if t.is_empty() {
        "no message on stderr".into()
    } else {
        t
    }
}

/// The convoy effect measured in the interpreter: a thread napping 1 ms beside a
/// CPU-bound thread, and alone.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ConvoyMeasure {
    /// Median ms past each 1 ms nap before the napping thread ran again, beside the
    /// CPU-bound thread (the wait for the GIL, plus the timer's slack).
    pub median_ms: f64,
    /// The same with no CPU-bound thread: the timer's slack alone.
    pub alone_median_ms: f64,
    pub wakeups: u64,
    pub switch_interval_ms: f64,
}

impl CpythonRunner {
    /// Measure the convoy effect for `run_ms` (plus up to 300 ms alone).
    pub fn convoy(&self, run_ms: u64, cancel: &CancelToken) -> Result<ConvoyMeasure, String> {
        let message = json!({ "source": DRIVER, "job": { "convoy_ms": run_ms } });
        let mut proc = self.spawn(false).map_err(|e| e.to_string())?;
        let tail = proc.stderr.take().map(Tail::collect).unwrap_or_default();
        let Some(out) = proc.stdout.take() else {
            stop(&mut proc);
            return Err("python: no stdout pipe".into());
        };
        let lines = read_lines(out);
        let mut stdin = proc.stdin.take();
        if let Some(s) = stdin.as_mut() {
            let _ = writeln!(s, "{message}").and_then(|_| s.flush());
        }
        let mut got = None;
        let result = loop {
            if cancel.is_cancelled() {
                stop(&mut proc);
                break Err("cancelled".to_string());
            }
            match lines.recv_timeout(POLL) {
                Ok(Line::Text(l)) => match protocol::parse(&l) {
                    Ok(DriverEvent::Convoy {
                        alone_median_ms,
                        median_ms,
                        wakeups,
                        switch_interval_ms,
                    }) => {
                        got = Some(ConvoyMeasure {
                            median_ms,
                            alone_median_ms,
                            wakeups,
                            switch_interval_ms,
                        })
                    }
                    Ok(DriverEvent::End { .. }) => {
                        finish(&mut proc, &lines, false);
                        break got.ok_or_else(|| "the driver measured nothing".to_string());
                    }
                    Ok(_) => {}
                    Err(e) => {
                        stop(&mut proc);
                        break Err(e);
                    }
                },
                Ok(Line::TooLong | Line::Eof) | Err(RecvTimeoutError::Disconnected) => {
                    let status = stop(&mut proc);
                    break Err(format!("python exited ({status}): {}", stderr_tail(&tail)));
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
        };
        drop(stdin);
        result
    }
}

impl Runner for CpythonRunner {
    fn run(&self, spec: &RunSpec, sink: &Sink, cancel: &CancelToken) -> RunResult {
        let w = workload::find(&spec.workload).ok_or_else(|| RunError::UnknownWorkload {
            name: spec.workload.clone(),
            known: sizes::SUPPORTED.join(", "),
        })?;
        if !sizes::supported(w.name()) {
            return Err(RunError::Plan(anyhow::anyhow!(sizes::unsupported_message(
                w.name()
            ))));
        }
        if !spec.gil.enabled
            && let Some(why) = self.info.cannot_disable_gil()
        {
            return Err(RunError::Plan(anyhow::anyhow!(why)));
        }
        if spec.model == crate::core::Model::Interpreters
            && (self.info.version.0, self.info.version.1) < INTERPRETERS_SINCE
        {
            return Err(RunError::Plan(anyhow::anyhow!(
                "the interpreters model needs Python 3.13 or newer (subinterpreters with \
                 a GIL each: `_interpreters` in 3.13, `concurrent.interpreters` and \
                 InterpreterPoolExecutor in 3.14); `{}` is {} (pass one with --python, or \
                 use --runtime native)",
                self.info.path.display(),
                self.info.label()
            )));
        }
        let mut args = spec.args.clone();
        if args.size == 0
            && let Some(size) = sizes::default_size(w.name())
        {
            args.size = size;
        }
        let args = args.resolve(w)?;
        args.check_workers(spec.model)?;
        if args.split == Some(crate::exec::Split::Steal) {
            return Err(crate::exec::ArgError::new(
                "--split",
                "steal is rayon's work stealing, a native-runtime pool; CPython's pools take \
                 tasks from one queue (use --split ranges or work, or --runtime native)",
            )
            .into());
        }
        // One connection at a time when sequential; Python's pools and its event loop
        // open one per worker.
        let args = crate::exec::WorkloadArgs {
            at_once: (spec.model == crate::core::Model::Sequential).then_some(1),
            ..args
        };
        let plan = w.plan(&args).map_err(RunError::Plan)?;
        let tasks = plan.tasks.len();
        let message = json!({
            "source": DRIVER,
            "job": {
                "workload": w.name(),
                "model": spec.model,
                "workers": if spec.model == crate::core::Model::Sequential { 1 } else { args.workers },
                "offload": spec.asyncio.offload.name(),
                "max_in_flight": spec.asyncio.max_in_flight,
                "tasks": plan.tasks,
                "start_method": self.start_method.map(StartMethod::name),
                "switch_interval_s": spec.gil.switch_interval.as_secs_f64(),
                "variant": args.variant,
            }
        });

        let cpu0 = cpu_now();
        let mut proc = self.spawn(!spec.gil.enabled)?;
        let tail = proc.stderr.take().map(Tail::collect).unwrap_or_default();
        let Some(out) = proc.stdout.take() else {
            stop(&mut proc);
            return Err(RunError::Plan(anyhow::anyhow!("python: no stdout pipe")));
        };
        let lines = read_lines(out);
        // Held open until the end: the driver takes EOF as "conlab is gone".
        let mut stdin = proc.stdin.take();
        if let Some(s) = stdin.as_mut() {
            let mut line = message.to_string();
            line.push('\n');
            // A failed write means the interpreter died: its stderr says why, below.
            let _ = s.write_all(line.as_bytes()).and_then(|_| s.flush());
        }

        // Until `hello`: nothing has started; a death here is an error, not a run.
        let hello = loop {
            if cancel.is_cancelled() {
                stop(&mut proc);
                return Err(RunError::Plan(anyhow::anyhow!("cancelled")));
            }
            match lines.recv_timeout(POLL) {
                Ok(Line::Text(l)) => match protocol::parse(&l) {
                    Ok(h @ DriverEvent::Hello { .. }) => break h,
                    Ok(_) | Err(_) => {
                        let status = stop(&mut proc);
                        return Err(RunError::Plan(anyhow::anyhow!(
                            "python ({status}) did not start the driver: {}",
                            stderr_tail(&tail)
                        )));
                    }
                },
                Ok(Line::TooLong | Line::Eof) | Err(RecvTimeoutError::Disconnected) => {
                    let status = stop(&mut proc);
                    return Err(RunError::Plan(anyhow::anyhow!(
                        "python exited ({status}) before the run started: {}",
                        stderr_tail(&tail)
                    )));
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
        };
        let DriverEvent::Hello {
            pid: interpreter,
            t: hello_t,
            gil,
            switch_interval_s,
            startup_cpu_us,
            ref cpus,
            ..
        } = hello
        else {
            unreachable!("the loop breaks with a hello")
        };

        let sink = sink.restarted();
        let mono0 = monotonic_us();
        let t0 = Instant::now();
        sink.emit(Event::RunStarted(RunStart {
            workload: w.name().to_string(),
            model: spec.model,
            workers: args.workers,
            tasks,
            gil,
            switch_interval_ms: switch_interval_s * 1e3,
            size: args.size,
        }));
        // Which interpreter ran it, and with its GIL or not as the driver found it, for
        // readers that only see events (a replay, a shot, a trace).
        sink.emit(Event::Note {
            key: RUNTIME_NOTE.into(),
            value: self.info.label_for(gil),
        });
        // What Python believes about the CPUs, for the container lesson.
        if let Some(c) = cpus.as_ref().map(protocol::PythonCpus::describe)
            && !c.is_empty()
        {
            sink.emit(Event::Note {
                key: PYTHON_SEES_NOTE.into(),
                value: c,
            });
        }
        // The native scene's bystander is a thread beside the workers: a lane of its own.
        let lanes = if w.name() == "native" {
            tasks
        } else {
            args.workers
        };
        let mut tr = Translator::new(mono0, interpreter, lanes, tasks);
        let sampler = crate::exec::memory::Sampler::start();
        let ending = loop {
            if cancel.is_cancelled() {
                break Ending::Cancelled;
            }
            match lines.recv_timeout(POLL) {
                Ok(Line::Text(l)) => {
                    match protocol::parse(&l).and_then(|ev| tr.handle(ev, &sink)) {
                        Ok(Step::Continue) => {}
                        Ok(Step::End(t)) => break Ending::Finished(t),
                        Err(e) => break Ending::Broken(e),
                    }
                }
                Ok(Line::TooLong) => {
                    break Ending::Broken(format!(
                        "the driver wrote a line over {} bytes",
                        child::MAX_LINE
                    ));
                }
                Ok(Line::Eof) | Err(RecvTimeoutError::Disconnected) => {
                    break Ending::Broken(String::new());
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
        };
        let memory = sampler.finish();
        let (elapsed, cancelled) = match ending {
            Ending::Finished(t) => {
                finish(&mut proc, &lines, self.sample_gil.is_some());
                // The sampler wrote its profile as the interpreter exited: per worker
                // thread, CPython's own GIL, for the screens that show it.
                if let Some(dir) = &self.sample_gil {
                    let note =
                        super::gecko::GilNote::read(&dir.join(GECKO_FILE), |tid| tr.worker_of(tid));
                    sink.emit(Event::Note {
                        key: GIL_NOTE.into(),
                        value: serde_json::to_string(&note).unwrap_or_default(),
                    });
                }
                (Duration::from_micros(t.saturating_sub(hello_t)), false)
            }
            Ending::Cancelled => {
                stop(&mut proc);
                (t0.elapsed(), true)
            }
            Ending::Broken(why) => {
                let status = stop(&mut proc);
                let reason = if why.is_empty() {
                    format!("python exited ({status}) mid-run: {}", stderr_tail(&tail))
                } else {
                    format!("{why} (python {status}; stderr: {})", stderr_tail(&tail))
                };
                tr.fail_unfinished(&reason, &sink);
                (t0.elapsed(), false)
            }
        };
        drop(stdin);
        // The interpreter is reaped: its CPU and its pool children's are ours now.
        let unreaped = Duration::from_micros(tr.foreign_cpu_us());
        let cpu = (cpu_now() + unreaped)
            .saturating_sub(cpu0)
            .saturating_sub(Duration::from_micros(startup_cpu_us));
        drop(plan);

        let loop_lag = tr.loop_lag();
        let crossing = tr.crossing();
        if let Some(c) = &crossing {
            sink.emit(Event::Note {
                key: crate::core::CROSSING_NOTE.into(),
                value: serde_json::to_string(c).unwrap_or_default(),
            });
        }
        let mut fold = w.folder(&args);
        let mut failures = Vec::new();
        let mut never_ran = false;
        for (i, r) in tr.results.into_iter().enumerate() {
            match r {
                Some(Ok(o)) => fold.add(i, o),
                Some(Err(e)) => failures.push((i, e)),
                None => never_ran = true,
            }
        }
        let mut report = crate::exec::finish_run(
            &sink,
            w,
            spec.model,
            &args,
            gil,
            crate::exec::Ended {
                tasks,
                fold,
                run_extra: None,
                failures,
                cancelled: cancelled || never_ran,
                elapsed,
                cpu,
                memory,
                loop_lag,
            },
        );
        report.crossing = crossing;
        report.unreaped_cpu = unreaped;
        Ok(report)
    }
}
