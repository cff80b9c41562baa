//! The headless commands: `run` (progress bar on stderr, summary or JSON on stdout) and
//! the hidden `worker`.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::cli::{OnOff, RunArgs, WorkerArgs};
use crate::core::{Event, GilConfig, Stamped};
use crate::exec::{self, CancelToken, RunError, RunReport, RunSpec, Runner, Sink};

/// An error with the exit code it deserves: 2 for bad input, 1 for anything else.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Other(_) => 1,
        }
    }
}

impl From<RunError> for CliError {
    fn from(e: RunError) -> Self {
        match e {
            RunError::Plan(e) => CliError::Usage(format!("{e:#}")),
            other => CliError::Usage(other.to_string()),
        }
    }
}

/// Cancel `token` on Ctrl-C, SIGTERM or SIGHUP, so a run stops and reaps its workers and
/// the command still prints what it measured ([`crate::signals`]).
pub fn cancel_on_ctrl_c(token: &CancelToken) {
    let t = token.clone();
    if let Err(e) = crate::signals::watch(move |_| t.cancel()) {
        eprintln!("conlab: warning: cannot watch for signals ({e}); Ctrl-C will not reap workers");
    }
}

/// The exit code of a cancelled command: 128 + the signal that cancelled it (130 for
/// Ctrl-C, 143 for SIGTERM, 129 for SIGHUP), said on stderr.
pub fn cancelled_exit() -> ExitCode {
    if let Some(sig) = crate::signals::received() {
        eprintln!(
            "conlab: {}: run cancelled, workers stopped and reaped",
            crate::signals::name(sig)
        );
    }
    crate::signals::exit_code(ExitCode::from(130))
}

/// Run a spec on the native engine on a background thread, feeding its events to
/// `on_event` on this one.
pub fn run_with_events(
    spec: &RunSpec,
    cancel: &CancelToken,
    on_event: impl FnMut(&Stamped),
) -> Result<RunReport, RunError> {
    run_with_events_on(&crate::runtime::NativeRunner, spec, cancel, on_event)
}

/// [`run_with_events`] on any [`Runner`].
pub fn run_with_events_on(
    runner: &dyn Runner,
    spec: &RunSpec,
    cancel: &CancelToken,
    mut on_event: impl FnMut(&Stamped),
) -> Result<RunReport, RunError> {
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

/// The bar's look once the run says how many tasks it has.
fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{spinner} {msg:>24} [{bar:40}] {pos}/{len} tasks {elapsed_precise}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("█▉▊▋▌▍▎▏ ")
}

/// A spinner until the run starts (a bar of 0 tasks would draw full), then a bar.
fn progress_bar(enabled: bool) -> Option<ProgressBar> {
    if !enabled {
        return None;
    }
    let pb = ProgressBar::no_length().with_message("starting…");
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.enable_steady_tick(Duration::from_millis(100));
    Some(pb)
}

pub fn run_command(args: &RunArgs) -> Result<ExitCode, CliError> {
    let spec = args.opts.spec(args.model).map_err(CliError::Usage)?;
    if args.opts.max_tasks_per_child.is_some() && args.model != exec::Model::Processes {
        return Err(CliError::Usage(format!(
            "invalid --max-tasks-per-child: applies to worker processes (--model processes), not --model {}",
            args.model
        )));
    }
    let runtime = crate::runtime::prepare(&args.runtime.choice().map_err(CliError::Usage)?)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let cancel = CancelToken::new();
    cancel_on_ctrl_c(&cancel);
    let capture = crate::capture::Capture::open(args.record.as_deref(), args.trace.as_deref())
        .map_err(|e| CliError::Usage(format!("{e:#}")))?;
    let pb = progress_bar(std::io::stderr().is_terminal());
    let mut done = 0usize;
    let result = run_with_events_on(runtime.runner.as_ref(), &spec, &cancel, |ev| {
        if let Some(c) = &capture {
            c.event(0, ev);
        }
        if let Some(line) = worker_trouble(&ev.event) {
            match &pb {
                Some(pb) => pb.println(format!("conlab: {line}")),
                None => eprintln!("conlab: {line}"),
            }
        }
        if let Event::TaskFinished { result: Ok(_), .. } = &ev.event {
            done += 1;
        }
        if let Some(pb) = &pb {
            match &ev.event {
                Event::RunStarted {
                    tasks,
                    workload,
                    model,
                    ..
                } => {
                    pb.set_length(*tasks as u64);
                    pb.set_style(bar_style());
                    pb.set_message(format!("{workload} on {model}"));
                }
                Event::TaskFinished { .. } => pb.inc(1),
                _ => {}
            }
        }
    });
    // Cleared however the run ended: finished, cancelled or refused.
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    // The recording and trace are completed however the run ended.
    if let Some(c) = capture {
        c.finish()?;
    }
    let mut report = result?;
    if report.cancelled {
        // Tasks a cancel interrupted did not fail: the user stopped them.
        report.failures.retain(|(_, e)| !interrupted_by_cancel(e));
    }
    if args.json {
        crate::outln!("{}", report_json(&report));
    } else {
        crate::out!("{}", summary(&report));
        if report.cancelled {
            crate::outln!(
                "  cancelled after {:.3} s: {done} of {} {} finished",
                report.elapsed.as_secs_f64(),
                report.tasks,
                plural(report.tasks, "task", "tasks")
            );
        }
    }
    Ok(if report.cancelled {
        cancelled_exit()
    } else if report.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// A worker's trouble worth telling on stderr as it happens: it died (with how) or it is
/// stopped and not responding.
pub fn worker_trouble(ev: &Event) -> Option<String> {
    use crate::exec::processes::{NOT_RESPONDING, RESPONDING};
    match ev {
        Event::WorkerDied { reason, .. } => Some(reason.clone()),
        Event::Note { key, value } if key == NOT_RESPONDING || key == RESPONDING => {
            Some(value.clone())
        }
        _ => None,
    }
}

/// A task error that only says the run was cancelled under it (its worker stopped by the
/// same Ctrl-C, or killed by the cancel).
fn interrupted_by_cancel(e: &str) -> bool {
    ["cancel", "SIGINT", "SIGTERM", "SIGKILL", "SIGHUP"]
        .iter()
        .any(|w| e.contains(w))
}

/// `one` or `many` by `n`.
pub fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

/// Workers a run really used: a sequential run has one, whatever `--workers` said.
pub fn workers_used(r: &RunReport) -> usize {
    if r.model == crate::core::Model::Sequential {
        1
    } else {
        r.workers
    }
}

/// `run --json`: one object with the documented keys.
pub fn report_json(r: &RunReport) -> serde_json::Value {
    let mut v = json!({
        "workload": r.workload,
        "model": r.model,
        "workers": workers_used(r),
        "gil": r.gil,
        "size": r.size,
        "tasks": r.tasks,
        "answer": r.answer.as_ref().map(|a| a.value.clone()),
        "elapsed_s": r.elapsed.as_secs_f64(),
        "cpu_s": r.cpu.as_secs_f64(),
        "failed": r.failures.len(),
        "failures": r.failures.iter().map(|(t, e)| json!({"task": t, "error": e})).collect::<Vec<_>>(),
        "cancelled": r.cancelled,
    });
    // A scene's measured numbers, only when the workload has any.
    if let (Some(d), Some(obj)) = (&r.details, v.as_object_mut()) {
        obj.insert("details".into(), d.clone());
    }
    if let Some(obj) = v.as_object_mut() {
        if let Some(m) = &r.memory {
            obj.insert("peak_rss_mb".into(), json!(mb(m.peak_rss_bytes)));
            obj.insert("peak_threads".into(), json!(m.peak_threads));
            obj.insert("memory".into(), json!(m));
        }
        if let Some(l) = &r.loop_lag {
            obj.insert("loop_lag_max_ms".into(), json!(l.max_lag_us as f64 / 1e3));
            obj.insert("loop_lag_p99_ms".into(), json!(l.p99_lag_us as f64 / 1e3));
            obj.insert("loop_lag".into(), json!(l));
        }
    }
    v
}

/// Bytes as megabytes (10⁶), to 0.1 MB.
pub fn mb(bytes: u64) -> f64 {
    (bytes as f64 / 1e5).round() / 10.0
}

/// The human summary of one run.
pub fn summary(r: &RunReport) -> String {
    let who = if r.model == crate::core::Model::Sequential {
        "one thread".to_string()
    } else {
        let w = workers_used(r);
        format!("{w} {}", plural(w, "worker", "workers"))
    };
    let mut s = format!(
        "{} on {} ({who}, GIL {}): {} {}\n",
        r.workload,
        r.model,
        if r.gil { "on" } else { "off" },
        r.tasks,
        plural(r.tasks, "task", "tasks")
    );
    match &r.answer {
        Some(a) => s += &format!("  answer   {}  ({})\n", a.value, a.meaning),
        None if r.cancelled => s += "  answer   — (cancelled)\n",
        None => s += "  answer   — (tasks failed)\n",
    }
    s += &format!(
        "  elapsed  {:.3} s\n  cpu      {:.3} s  ({:.2} cores busy on average)\n",
        r.elapsed.as_secs_f64(),
        r.cpu.as_secs_f64(),
        r.cpu_utilisation()
    );
    if let Some(m) = &r.memory {
        s += &format!(
            "  memory   {:.1} MB peak RSS ({:.1} MB at start) · {} threads at most{}\n",
            mb(m.peak_rss_bytes),
            mb(m.start_rss_bytes),
            m.peak_threads,
            if m.peak_processes > 0 {
                format!(" · {} worker processes", m.peak_processes)
            } else {
                String::new()
            }
        );
    }
    if let Some(l) = &r.loop_lag {
        s += &format!(
            "  loop lag {:.1} ms max · {:.1} ms p99 · {:.2} ms mean over {} heartbeats · {} tasks in flight at most\n",
            l.max_lag_us as f64 / 1e3,
            l.p99_lag_us as f64 / 1e3,
            l.mean_lag_us as f64 / 1e3,
            l.beats,
            l.peak_in_flight
        );
    }
    if let Some(serde_json::Value::Object(d)) = &r.details {
        s += "  details\n";
        for (k, v) in d {
            s += &details_line(k, v, 4);
        }
    }
    if !r.failures.is_empty() {
        let n = r.failures.len();
        s += &format!("  failed   {n} {}\n", plural(n, "task", "tasks"));
        for (t, e) in r.failures.iter().take(10) {
            s += &format!("    task {t}: {e}\n");
        }
    }
    s
}

/// One `details` entry for the human summary: scalars on one line, objects one level
/// deeper, long arrays shortened.
fn details_line(key: &str, v: &serde_json::Value, indent: usize) -> String {
    use serde_json::Value;
    let pad = " ".repeat(indent);
    match v {
        Value::Object(m) if indent < 8 => {
            let mut s = format!("{pad}{key}\n");
            for (k, v) in m {
                s += &details_line(k, v, indent + 2);
            }
            s
        }
        Value::Array(a) if a.len() > 6 => format!("{pad}{key:<28} [{} entries]\n", a.len()),
        Value::String(t) => format!("{pad}{key:<28} {t}\n"),
        Value::Null => format!("{pad}{key:<28} n/a\n"),
        other => format!("{pad}{key:<28} {other}\n"),
    }
}

pub fn worker_command(args: &WorkerArgs) -> Result<ExitCode, CliError> {
    let switch_interval = GilConfig::interval_from_ms(args.switch_interval_us as f64 / 1e3)
        .map_err(|e| CliError::Usage(format!("invalid --switch-interval-us: {e}")))?;
    // A Ctrl-C at the terminal reaches the whole process group: the parent cancels the
    // run and stops its workers itself, so a worker must not die of it as if it crashed
    // (its task would read as failed). The parent's death still ends it (PDEATHSIG).
    let _ = ctrlc::set_handler(|| {});
    exec::worker::serve(
        GilConfig {
            enabled: args.gil == OnOff::On,
            switch_interval,
        },
        crate::workload::find,
    )?;
    Ok(ExitCode::SUCCESS)
}
