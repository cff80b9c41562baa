//! `conlab run`: one model, headless — a progress bar on stderr, the summary or `--json` on
//! stdout.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::ctrl_c::{cancel_on_ctrl_c, cancelled_exit};
use super::error::CliError;
use crate::cli::RunArgs;
use crate::core::{Event, RunStart};
use crate::exec::CancelToken;
use crate::report::run::{plural, report_json, summary, worker_trouble};
use crate::runtime::run_with_events_on;

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
    // Ctrl-C is watched from the start: it also ends a `--urls-file` read.
    let cancel = CancelToken::new();
    cancel_on_ctrl_c(&cancel);
    // --cpu-quota / --cpuset: in conlab's own child cgroup from here to the end of the
    // command (before the spec, so the default workers follow the limit).
    let _confined = super::confine::confine(&args.limits)?;
    // The crossover scene is a grid of runs, each a comparison of pools.
    if args.opts.workload == "crossover" {
        return super::crossover::grid_command(args, &cancel);
    }
    let given = crate::sys::cgroup::given();
    let why = crate::report::cpus::workers_why(&given, args.opts.workers);
    let spec = args
        .opts
        .spec_cancellable(args.model, &cancel)
        .map_err(CliError::Usage)?;
    if args.opts.max_tasks_per_child.is_some() && args.model != crate::core::Model::Processes {
        return Err(CliError::Usage(format!(
            "invalid --max-tasks-per-child: applies to worker processes (--model processes), not --model {}",
            args.model
        )));
    }
    let runtime = crate::runtime::prepare_cancellable(
        &args.runtime.choice().map_err(CliError::Usage)?,
        &cancel,
    )
    .map_err(|e| CliError::Usage(e.to_string()))?;
    let capture =
        crate::recording::capture::Capture::open(args.record.as_deref(), args.trace.as_deref())
            .map_err(|e| CliError::Usage(format!("{e:#}")))?;
    let pb = progress_bar(std::io::stderr().is_terminal());
    let mut done = 0usize;
    let mut python_sees: Option<String> = None;
    let throttle0 = crate::sys::cgroup::throttle();
    // The interpreter as the run found it ("CPython 3.13.5 free-threaded, GIL off").
    let mut python_label = None;
    let result = run_with_events_on(runtime.runner.as_ref(), &spec, &cancel, |ev| {
        if let Event::Note { key, value } = &ev.event
            && key == crate::runtime::cpython::RUNTIME_NOTE
        {
            python_label = Some(value.clone());
        }
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
        if let Event::Note { key, value } = &ev.event
            && key == crate::runtime::cpython::PYTHON_SEES_NOTE
        {
            python_sees = Some(value.clone());
        }
        if let Some(pb) = &pb {
            match &ev.event {
                Event::RunStarted(RunStart {
                    tasks,
                    workload,
                    model,
                    ..
                }) => {
                    pb.set_length(*tasks as u64);
                    pb.set_style(bar_style());
                    pb.set_message(format!("{workload} on {model}"));
                }
                Event::TaskFinished { .. } => pb.inc(1),
                _ => {}
            }
        }
    });
    let throttled = throttle0
        .zip(crate::sys::cgroup::throttle())
        .map(|(a, b)| a.since(&b));
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
        let mut v = report_json(&report);
        crate::report::cpus::add_json(&mut v, &given, &why, throttled.as_ref());
        if let Some(obj) = v.as_object_mut() {
            if let Some(p) = &python_sees {
                obj.insert("python_sees".into(), serde_json::json!(p));
            }
            if let Some(label) = &python_label {
                obj.insert("python".into(), serde_json::json!(label));
            }
        }
        crate::outln!("{v}");
    } else {
        crate::out!("{}", summary(&report));
        crate::out!(
            "{}",
            crate::report::cpus::text(&given, &why, throttled.as_ref())
        );
        if let Some(label) = &python_label {
            crate::outln!("  python   {label}");
        }
        if let Some(p) = &python_sees {
            crate::outln!(
                "  python   believes {p}{}",
                given.cpu_quota.map_or(String::new(), |q| format!(
                    " — the quota gives {} CPU",
                    crate::core::cpus_text(q)
                ))
            );
        }
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

/// A task error that only says the run was cancelled under it (its worker stopped by the
/// same Ctrl-C, or killed by the cancel).
fn interrupted_by_cancel(e: &str) -> bool {
    ["cancel", "SIGINT", "SIGTERM", "SIGKILL", "SIGHUP"]
        .iter()
        .any(|w| e.contains(w))
}
