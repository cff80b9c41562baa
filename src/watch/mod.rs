//! `conlab watch`: run a program (or attach to a running one) and show what the kernel saw
//! each of its threads do — interactively, or headless with a summary (or JSON) at the end.

pub mod app;
pub mod child;
pub mod draw;
pub mod gil;
pub mod gil_panel;
mod interactive;
pub mod kept;
pub mod playback;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use serde_json::json;

use crate::core::LabError;
use crate::observe::sampler::Sampler;
use crate::observe::{KernelSample, Probe, ProbeError, TreeTotals};
use app::WatchMsg;
use child::{Output, Program};

/// What is watched: a program we started, or a process we attached to.
pub enum Target {
    Started(Program),
    Attached(u32),
}

impl Target {
    pub fn pid(&self) -> u32 {
        match self {
            Target::Started(p) => p.pid,
            Target::Attached(pid) => *pid,
        }
    }
}

/// How watching ended.
pub struct Outcome {
    pub totals: TreeTotals,
    pub elapsed: Duration,
    /// The program's status, when we started it and it was reaped.
    pub exit_code: Option<u8>,
    /// user + system CPU of the program's reaped tree (getrusage), when we started it.
    pub kernel_cpu_s: Option<f64>,
    /// CPython's GIL sampler: what it reported, or the line saying why it was not used.
    pub gil: Option<gil::GilReport>,
    pub gil_note: Option<String>,
}

/// What to watch and how: built by `conlab watch` from its flags.
#[derive(Clone, Debug)]
pub struct WatchOptions {
    /// Attach to this running process instead of starting `command`.
    pub pid: Option<u32>,
    pub sample_ms: u64,
    /// The sampler's budget as a share of one core (`None`: no limit).
    pub budget: Option<f64>,
    /// No screen: a summary at the end (`json`: as one JSON object).
    pub headless: bool,
    pub json: bool,
    pub theme: crate::ui::theme::ThemeName,
    pub record: Option<std::path::PathBuf>,
    /// Where `s` saves screenshots.
    pub shots: std::path::PathBuf,
    pub command: Vec<String>,
    /// Run a CPython 3.15+ program under its GIL sampler (`--no-gil-sampler`: not).
    pub gil_sampler: bool,
}

/// Watch until the program ends (or Ctrl-C); its exit code, when we started it.
pub fn watch(args: &WatchOptions) -> Result<ExitCode, LabError> {
    if args.pid.is_none() && args.command.is_empty() {
        return Err(LabError::Refused(
            "nothing to watch: give a program (conlab watch -- CMD ARGS…) or --pid PID".into(),
        ));
    }
    crate::observe::check_proc().map_err(|e| LabError::Refused(e.to_string()))?;
    let every = Duration::from_millis(args.sample_ms);
    let headless = args.headless || args.json;
    if !headless {
        use std::io::IsTerminal;
        if !(std::io::stdin().is_terminal() && std::io::stdout().is_terminal()) {
            return Err(LabError::Refused(
                "conlab watch draws its dashboard on a terminal, and stdin or stdout is not \
                 one: run it in a terminal, or add --headless (a summary at the end) or \
                 --json"
                    .into(),
            ));
        }
    }
    // Before anything starts: a recording that cannot be written is a usage error.
    let recorder = match &args.record {
        Some(path) => Some(
            crate::recording::record::Recorder::create(path)
                .map_err(|e| LabError::Refused(format!("invalid --record: {e:#}")))?,
        ),
        None => None,
    };
    let (tx, rx) = crossbeam_channel::unbounded::<WatchMsg>();
    // Signals first: a Ctrl-C from here on stops what we start.
    let signals = spawn_signals(tx.clone()).map_err(|e| anyhow::anyhow!("signals: {e}"))?;
    let start = Instant::now();
    // CPython 3.15+: under its own GIL sampler (a version name becomes its interpreter).
    let plan = match args.pid {
        Some(_) => gil::Plan {
            command: Vec::new(),
            env: Vec::new(),
            sampler: None,
            note: None,
        },
        None => gil::plan(&args.command, args.gil_sampler).map_err(|e| {
            signals.close();
            LabError::Refused(e)
        })?,
    };
    // The probe above is a reaped child too: its CPU is not the program's.
    let probe_cpu_s = child::children_cpu_s().unwrap_or(0.0);
    if headless && plan.sampler.is_some() {
        eprintln!(
            "conlab watch: running it under CPython's GIL sampler (python -m profiling.sampling \
             run -a --gecko; it costs CPU; --no-gil-sampler turns it off): reported when the \
             program ends"
        );
    }
    let mut target = match args.pid {
        Some(pid) => Target::Attached(pid),
        None => Target::Started(
            Program::spawn_env(
                &plan.command,
                // With --json stdout is conlab's JSON alone: the program prints to stderr.
                // On the dashboard, its output is kept and shown after.
                match (headless, args.json) {
                    (true, true) => Output::StdoutToStderr,
                    (true, false) => Output::Inherit,
                    (false, _) => Output::Kept,
                },
                &plan.env,
            )
            .map_err(LabError::Refused)?,
        ),
    };
    let kept = match &mut target {
        Target::Started(p) if !headless => {
            let (out, err) = p.take_output();
            match kept::Kept::start(out, err, kept::KEPT_CAP) {
                Ok(k) => Some(k),
                Err(e) => {
                    p.kill();
                    signals.close();
                    return Err(LabError::Failed(anyhow::anyhow!(
                        "could not keep the program's output: {e}"
                    )));
                }
            }
        }
        _ => None,
    };
    let probe = match Probe::new(target.pid(), matches!(target, Target::Started(_)), start) {
        // conlab's launcher ran in the program's process before the program did.
        Ok(p) => match &target {
            Target::Started(prog) => p.with_head_start(prog.launcher_ns.0, prog.launcher_ns.1),
            Target::Attached(_) => p,
        },
        Err(e) => {
            if let Target::Started(mut p) = target {
                p.kill();
            }
            signals.close();
            return Err(match e {
                ProbeError::NoSuchPid(pid) => {
                    LabError::Refused(format!("no process with pid {pid}"))
                }
                e => LabError::Refused(e.to_string()),
            });
        }
    };
    if let Target::Started(p) = &target {
        let pid = p.pid;
        let tx = tx.clone();
        std::thread::Builder::new()
            .name("conlab-wait".into())
            .spawn(move || {
                child::wait_exited(pid);
                let _ = tx.send(WatchMsg::ProgramExited);
            })
            .map_err(|e| anyhow::anyhow!("could not start the wait thread: {e}"))?;
    }
    let sampler = Sampler::spawn_within(probe, every, args.budget, tx.clone(), WatchMsg::Kernel)
        .map_err(|e| anyhow::anyhow!("could not start the sampler: {e}"))?;
    let title = match &target {
        Target::Started(_) => args.command.join(" "),
        Target::Attached(pid) => format!("pid {pid}"),
    };
    let mut session = Session::new(target, sampler, start);
    session.gil = plan.sampler;
    session.children_before_s = probe_cpu_s;
    session.gil_note = plan.note;
    if let Some(r) = recorder {
        session.record_into(r, &title, args.sample_ms);
    }
    let result = if headless {
        run_headless(session, &rx)
    } else {
        interactive::run(args, title, session, &tx, &rx)
    };

    signals.close();
    // The screen is given back: the program's output follows, on our stdout and stderr.
    if let Some(k) = kept {
        let (mut o, mut e) = (std::io::stdout().lock(), std::io::stderr().lock());
        crate::sys::out::check(k.show(&mut o, &mut e));
    }
    let out = result?;
    if headless {
        print_outcome(&out, args.json, args.sample_ms, args.budget);
    }
    Ok(match out.exit_code {
        Some(c) => ExitCode::from(c),
        None => ExitCode::SUCCESS,
    })
}

/// Forward SIGINT, SIGTERM and SIGHUP as messages (the loop stops the program).
pub(crate) fn spawn_signals(
    tx: Sender<WatchMsg>,
) -> std::io::Result<signal_hook::iterator::Handle> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    let handle = signals.handle();
    std::thread::Builder::new()
        .name("conlab-signals".into())
        .spawn(move || {
            for s in signals.forever() {
                if tx.send(WatchMsg::Signal(s)).is_err() {
                    return;
                }
            }
        })?;
    Ok(handle)
}

/// Stops a started program step by step (SIGINT, SIGTERM, SIGKILL to its group), each
/// step after [`child::STOP_GRACE`] if it is still there.
pub struct Stopper {
    step: usize,
    next: Option<Instant>,
}

impl Stopper {
    pub fn new() -> Self {
        Stopper {
            step: 0,
            next: None,
        }
    }

    /// Begin (or hurry: a second Ctrl-C moves to the next signal now).
    pub fn request(&mut self, target: &Target, now: Instant) {
        if let Target::Started(p) = target {
            p.signal(self.step);
            self.step += 1;
            self.next = Some(now + child::STOP_GRACE);
        }
    }

    /// When the next step is due (the loop waits at most until then).
    pub fn deadline(&self) -> Option<Instant> {
        self.next
    }

    /// Take the next step if it is due.
    pub fn tick(&mut self, target: &Target, now: Instant) {
        if self.next.is_some_and(|d| now >= d) {
            self.request(target, now);
        }
    }
}

impl Default for Stopper {
    fn default() -> Self {
        Self::new()
    }
}

/// Receive one message, waiting at most until `deadline`.
pub fn recv_until(rx: &Receiver<WatchMsg>, deadline: Option<Instant>) -> Option<WatchMsg> {
    match deadline {
        Some(d) => rx
            .recv_timeout(d.saturating_duration_since(Instant::now()))
            .ok(),
        None => rx.recv().ok(),
    }
}

/// What is being watched and by what: ends with [`Session::end`].
pub struct Session {
    pub target: Target,
    sampler: Option<Sampler>,
    /// Our exit code, once the program was reaped.
    pub exit_code: Option<u8>,
    kernel_cpu_s: Option<f64>,
    start: Instant,
    elapsed: Option<Duration>,
    /// `--record`: every kernel and CPU sample, as they arrive.
    recorder: Option<crate::recording::record::Recorder>,
    /// CPython's GIL sampler around the program (its folder goes when this is dropped).
    pub gil: Option<gil::GilSampler>,
    /// Why the sampler is not used, when watch has something to say about it.
    pub gil_note: Option<String>,
    /// What it reported, read once the program was reaped.
    pub gil_report: Option<gil::GilReport>,
    /// CPU of children reaped before the program started (the interpreter's probe).
    pub children_before_s: f64,
}

impl Session {
    pub fn new(target: Target, sampler: Sampler, start: Instant) -> Self {
        Session {
            target,
            sampler: Some(sampler),
            exit_code: None,
            kernel_cpu_s: None,
            start,
            elapsed: None,
            recorder: None,
            gil: None,
            gil_note: None,
            gil_report: None,
            children_before_s: 0.0,
        }
    }

    /// Record what is watched and every sample from now on into `r`.
    pub fn record_into(
        &mut self,
        r: crate::recording::record::Recorder,
        title: &str,
        sample_ms: u64,
    ) {
        r.watch(title, self.target.pid(), sample_ms);
        self.recorder = Some(r);
    }

    /// Write `msg` to the recording, if there is one and it keeps such messages.
    pub fn keep(&self, msg: &WatchMsg) {
        let Some(r) = &self.recorder else { return };
        match msg {
            WatchMsg::Kernel(s) => r.kernel(s),
            WatchMsg::Cpu(c) => {
                if let Ok(v) = serde_json::to_value(c) {
                    r.cpu(v);
                }
            }
            _ => {}
        }
    }

    /// The program exited (or watching stops): take the last sample, stop what is left
    /// of the program's group, reap it, and read the kernel's count of its tree's CPU.
    /// Returns the kernel samples still in `rx` (recorded, not yet counted). `exited`: the
    /// program was seen exiting.
    pub fn end(&mut self, rx: &Receiver<WatchMsg>, exited: bool) -> Vec<KernelSample> {
        if let Some(mut s) = self.sampler.take() {
            s.finish();
            self.elapsed = Some(self.start.elapsed());
        }
        let mut late = Vec::new();
        for m in rx.try_iter() {
            self.keep(&m);
            if let WatchMsg::Kernel(s) = m {
                late.push(s);
            }
        }
        if let Some(r) = &self.recorder {
            let _ = r.flush();
        }
        if let Target::Started(p) = &mut self.target
            && self.exit_code.is_none()
        {
            // No stray: whatever the program left running in its group goes too (asked
            // to terminate, then killed if it has not within the grace); a program still
            // running (an error path) is killed, or reaping would hang.
            p.signal(if exited { 1 } else { 2 });
            if exited {
                crate::runtime::child::wait_group_gone(p.pid, child::STOP_GRACE);
                if p.group_running() {
                    p.signal(2);
                }
            }
            let status = p.reap().ok();
            self.exit_code = status.as_ref().map(child::exit_code);
            if let Some(g) = &self.gil {
                // The sampler always exits 0: the program's own status, from its boot.
                if let Some(c) = g.exit_status()
                    && self.exit_code == Some(0)
                {
                    self.exit_code = Some(c);
                }
                self.gil_report = Some(g.report());
            }
            // Less what conlab's launcher used in that process before the program began.
            let launcher_s = p.launcher_ns.0 as f64 / 1e9;
            let before = launcher_s + self.children_before_s;
            self.kernel_cpu_s = child::children_cpu_s().map(|k| (k - before).max(0.0));
        }
        late
    }

    pub fn outcome(&self, totals: TreeTotals) -> Outcome {
        Outcome {
            totals,
            elapsed: self.elapsed.unwrap_or_else(|| self.start.elapsed()),
            exit_code: self.exit_code,
            kernel_cpu_s: self.kernel_cpu_s,
            gil: self.gil_report.clone(),
            gil_note: self.gil_note.clone(),
        }
    }
}

/// Wait for the program (or the attached process) to end, stopping it on a signal.
fn run_headless(mut session: Session, rx: &Receiver<WatchMsg>) -> Result<Outcome, LabError> {
    let mut totals = TreeTotals::default();
    let mut stopper = Stopper::new();
    let root = session.target.pid();
    let attached = matches!(session.target, Target::Attached(_));
    let exited = loop {
        let msg = recv_until(rx, stopper.deadline());
        stopper.tick(&session.target, Instant::now());
        if let Some(m) = &msg {
            session.keep(m);
        }
        match msg {
            Some(WatchMsg::Kernel(s)) => {
                if totals.samples == 0 {
                    let n = s.threads.len();
                    eprintln!(
                        "conlab watch: watching pid {root} and its descendants ({n} thread{})",
                        if n == 1 { "" } else { "s" }
                    );
                }
                totals.apply(&s);
                let root_gone = totals
                    .processes
                    .get(&root)
                    .is_some_and(|p| p.exited_ns.is_some());
                if attached && root_gone {
                    break true;
                }
            }
            Some(WatchMsg::ProgramExited) => break true,
            Some(WatchMsg::Signal(_)) if attached => break false,
            Some(WatchMsg::Signal(_)) => stopper.request(&session.target, Instant::now()),
            Some(_) | None => {}
        }
    };
    for s in session.end(rx, exited) {
        totals.apply(&s);
    }
    Ok(session.outcome(totals))
}

/// The summary: one JSON object, or a table of threads and processes.
/// What sampling cost and how often it happened, for `--json`.
fn sampler_json(t: &TreeTotals, asked_ms: u64, share: Option<f64>) -> serde_json::Value {
    json!({
        "asked_ms": asked_ms,
        "mean_interval_ms": t.mean_interval_ns().map(|n| n as f64 / 1e6),
        "budget_share": share,
        "stretched_samples": t.stretched_samples,
        "rate_hz": t.mean_interval_ns().filter(|n| *n > 0).map(|n| 1e9 / n as f64),
        "cpu_s": t.sampler_ns as f64 / 1e9,
        "share_of_core": t.sampler_share(),
    })
}

/// The same in a sentence, for the summary.
fn sampler_line(t: &TreeTotals, asked_ms: u64, share: Option<f64>) -> String {
    let mean = t.mean_interval_ns().map(|n| n as f64 / 1e6);
    let budget = share.map_or("its budget".into(), |s| {
        format!("{:.2}% of a core", s * 100.0)
    });
    let stretched = t.stretched_samples as f64 / t.samples.max(1) as f64 * 100.0;
    let every = match mean {
        Some(m) if m > asked_ms as f64 * 1.5 && t.stretched_samples > 0 => format!(
            "every {m:.1} ms on average (asked {asked_ms} ms; {stretched:.0}% of samples stretched: sampling at {:.1} Hz to stay within {budget})",
            1000.0 / m
        ),
        Some(m) if m > asked_ms as f64 * 1.5 => format!(
            "every {m:.1} ms on average (asked {asked_ms} ms; the sampler waited for a core on a busy machine)"
        ),
        Some(m) => format!("every {m:.1} ms on average"),
        None => format!("every {asked_ms} ms"),
    };
    match t.sampler_share() {
        Some(s) => format!(
            "sampled {every}; the sampler used {:.3} s of CPU, {:.2}% of one core",
            t.sampler_ns as f64 / 1e9,
            s * 100.0
        ),
        None => format!("sampled {every}"),
    }
}

fn print_outcome(out: &Outcome, as_json: bool, asked_ms: u64, share: Option<f64>) {
    let (threads, processes) = out.totals.to_json();
    let quota = out.totals.quota;
    if as_json {
        let mut v = json!({
            "elapsed_s": out.elapsed.as_secs_f64(),
            "exit_code": out.exit_code,
            "samples": out.totals.samples,
            "tree_on_cpu_s": out.totals.tree_on_cpu_s(),
            "kernel_cpu_s": out.kernel_cpu_s,
            "sampler": sampler_json(&out.totals, asked_ms, share),
            "threads": threads,
            "processes": processes,
            "cpython_gil": gil_json(out),
        });
        if quota {
            // The cgroup's own counter (summed over its CPUs), beside the threads' shares.
            v["cgroup_throttled_s"] = json!(out.totals.cgroup_throttled_ns as f64 / 1e9);
        }
        crate::outln!("{v}");
        return;
    }
    crate::outln!(
        "watched {:.2} s, {} samples; the tree spent {:.3} s on a CPU{}",
        out.elapsed.as_secs_f64(),
        out.totals.samples,
        out.totals.tree_on_cpu_s(),
        out.kernel_cpu_s
            .map(|k| format!(" (kernel's utime+stime: {k:.3} s)"))
            .unwrap_or_default()
    );
    crate::outln!("{}", sampler_line(&out.totals, asked_ms, share));
    if quota {
        crate::outln!(
            "the CPU quota held the cgroup back {:.3} s (cpu.stat, summed over its CPUs); \
             \"throttled\" is each thread's share of it, out of its run-queue time (an estimate)",
            out.totals.cgroup_throttled_ns as f64 / 1e9
        );
    }
    let throttled_head = if quota { " throttled" } else { "" };
    for l in gil_panel::summary_lines(out.gil.as_ref(), out.gil_note.as_deref(), &out.totals) {
        crate::outln!("{l}");
    }
    crate::outln!(
        "{:>8} {:>8}  {:<16} {:>8} {:>8}{throttled_head} {:>8} {:>8} {:>8}",
        "pid",
        "tid",
        "name",
        "on CPU",
        "queued",
        "lock",
        "I/O",
        "sleep"
    );
    for t in out.totals.threads.values() {
        let s = &t.split;
        let f = |ns: u64| format!("{:.3}", ns as f64 / 1e9);
        let throttled = if quota {
            format!(" {:>9}", f(s.throttled))
        } else {
            String::new()
        };
        crate::outln!(
            "{:>8} {:>8}  {:<16} {:>8} {:>8}{throttled} {:>8} {:>8} {:>8}",
            t.pid,
            t.tid,
            crate::core::fmt::fit(&t.name, 16),
            f(s.on_cpu),
            f(s.runnable),
            f(s.lock),
            f(s.io),
            f(s.sleep)
        );
    }
}

/// `cpython_gil` in `--json`: the sampler's report, or why there is none (`null` when
/// the program is not a Python watch knows).
fn gil_json(out: &Outcome) -> serde_json::Value {
    match (&out.gil, &out.gil_note) {
        (Some(g), _) => g.to_json(),
        (None, Some(n)) => json!({ "note": n }),
        (None, None) => serde_json::Value::Null,
    }
}
