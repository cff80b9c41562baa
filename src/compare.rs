//! `compare`: run several models one after another (never at the same time), repeat each,
//! measure the machine's capacity alongside, and set the models side by side. Runs go
//! through an [`exec::Runner`] (the native engine, or a test's mock); the comparison's
//! data and exporters live in [`crate::report`].

use std::io::IsTerminal;
use std::process::ExitCode;

use crate::cli::CompareArgs;
use crate::core::{Model, Stamped};
use crate::exec::{CancelToken, RunReport, RunSpec, Runner, Sink};
use crate::headless::{CliError, cancel_on_ctrl_c, run_with_events_on};
use crate::report;
pub use crate::report::comparison::{Comparison, Row, summarise};

/// Receives every event of every run, with the run's number (for `--record`, `--trace`).
pub type Record<'a> = dyn Fn(u32, &Stamped) + 'a;

/// What to compare: one spec, run under each model `repeat` times.
pub struct Trial<'a> {
    pub base: &'a RunSpec,
    pub models: &'a [Model],
    pub repeat: usize,
    /// Cores the capacity measurement keeps busy.
    pub spinners: usize,
    /// Show progress on stderr.
    pub chatty: bool,
}

/// Run the trial on `runner`, measuring capacity with `capacity` right before each model,
/// passing every event to `record` (with the run's number), and fold it into a comparison.
pub fn measure(
    runner: &dyn Runner,
    trial: &Trial,
    cancel: &CancelToken,
    capacity: &mut dyn FnMut() -> f64,
    record: Option<&Record<'_>>,
) -> Result<Comparison, CliError> {
    let mut run_number = 0u32;
    let mut runs: Vec<(Model, Vec<RunReport>, f64)> = Vec::new();
    let workload = crate::workload::find(&trial.base.workload);
    for &model in trial.models {
        // A model the workload is not for is left out, and said so (not run to fail).
        if let Some(w) = workload
            && !w.models().contains(&model)
        {
            eprintln!(
                "{model}: not for this workload ({})",
                crate::exec::unsupported(w, model)
            );
            continue;
        }
        if let Err(e) = trial.base.args.check_split(model) {
            eprintln!("{model}: left out ({e})");
            continue;
        }
        // The machine's capacity changes from moment to moment on shared machines:
        // measure it right before each model, so each row is judged by its own ceiling.
        if trial.chatty {
            eprint!("\r{model:<10} measuring machine capacity…        ");
        }
        let capacity = capacity();
        let spec = RunSpec {
            model,
            ..trial.base.clone()
        };
        let mut reports = Vec::new();
        for i in 0..trial.repeat {
            if trial.chatty {
                eprint!("\r{model:<10} run {}/{}…        ", i + 1, trial.repeat);
            }
            let n = run_number;
            let report = match record {
                Some(r) => run_with_events_on(runner, &spec, cancel, |ev| r(n, ev))?,
                None => runner.run(&spec, &Sink::null(), cancel)?,
            };
            run_number += 1;
            if report.cancelled {
                eprintln!();
                return Err(CliError::Usage("cancelled".into()));
            }
            reports.push(report);
        }
        runs.push((model, reports, capacity));
    }
    if runs.is_empty()
        && let Some(w) = workload
    {
        return Err(CliError::Usage(format!(
            "none of the models asked for runs {}; it runs under: {}",
            w.name(),
            w.models()
                .iter()
                .map(|m| m.name())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if trial.chatty {
        eprint!("\r{:40}\r", "");
    }
    let mut cmp = summarise(&runs, trial.spinners);
    cmp.switch_interval_ms = trial.base.gil.switch_interval.as_secs_f64() * 1e3;
    Ok(cmp)
}

pub fn compare_command(args: &CompareArgs) -> Result<ExitCode, CliError> {
    let workers = args.opts.workers();
    let base = args.opts.spec(Model::Sequential).map_err(CliError::Usage)?;
    // Check the options once, before anything runs.
    if let Some(w) = crate::workload::find(&base.workload) {
        base.args
            .clone()
            .resolve(w)
            .map_err(|e| CliError::Usage(e.to_string()))?;
    }
    let runtime = crate::runtime::prepare(&args.runtime.choice().map_err(CliError::Usage)?)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let cancel = CancelToken::new();
    cancel_on_ctrl_c(&cancel);
    let spinners = workers.min(crate::core::default_workers()).max(1);
    let capture = crate::capture::Capture::open(args.record.as_deref(), args.trace.as_deref())
        .map_err(|e| CliError::Usage(format!("{e:#}")))?;
    let record = |run: u32, ev: &Stamped| {
        if let Some(c) = &capture {
            c.event(run, ev);
        }
    };
    // The default (every model) quietly leaves out the models a workload is not for;
    // a model asked for by name is said to be left out.
    let models: Vec<Model> = match crate::workload::find(&base.workload) {
        Some(w) if args.models == Model::ALL => args
            .models
            .iter()
            .copied()
            .filter(|m| w.models().contains(m))
            .collect(),
        _ => args.models.clone(),
    };
    let trial = Trial {
        base: &base,
        models: &models,
        repeat: args.repeat as usize,
        spinners,
        chatty: std::io::stderr().is_terminal(),
    };
    let cmp = measure(
        runtime.runner.as_ref(),
        &trial,
        &cancel,
        &mut || crate::capacity::measure(spinners, &cancel),
        capture.as_ref().map(|_| &record as &Record<'_>),
    )?;
    if let Some(c) = capture {
        c.finish()?;
    }
    let mut cmp = cmp;
    cmp.split = base.args.split.map(|s| s.name().to_string());
    for r in &mut cmp.rows {
        r.split = cmp.split.clone();
    }
    crate::out!("{}", report::exporter(args.format).export(&cmp));
    let failed = cmp.rows.iter().any(|r| r.failed > 0);
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;
    use crate::exec::mock::MockRunner;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    /// Compare `models` on the mock, `repeat` times each, on a machine of `capacity` cores.
    fn compare_on(
        runner: &MockRunner,
        models: &[Model],
        repeat: usize,
        capacity: f64,
    ) -> Comparison {
        let base = RunSpec::new("primes", Model::Sequential, 2);
        let trial = Trial {
            base: &base,
            models,
            repeat,
            spinners: 2,
            chatty: false,
        };
        measure(runner, &trial, &CancelToken::new(), &mut || capacity, None).expect("compares")
    }

    #[test]
    fn speedup_and_of_capacity_come_from_the_runners_exact_figures() {
        let runner = MockRunner::new("25")
            .takes(Model::Sequential, secs(4.0), secs(4.0))
            .takes(Model::Threads, secs(4.0), secs(4.0))
            .takes(Model::Processes, secs(2.5), secs(4.0))
            .takes(Model::Async, secs(4.1), secs(4.0));
        let cmp = compare_on(&runner, &Model::ALL, 3, 1.6);
        let p = &cmp.rows[2];
        assert_eq!(p.model, Model::Processes);
        assert_eq!(p.repeat, 3);
        assert_eq!(p.elapsed_median_s, 2.5);
        assert_eq!(p.speedup, Some(1.6));
        assert_eq!(p.efficiency, Some(0.8));
        assert_eq!(p.of_capacity, Some(1.0));
        assert_eq!(p.cpu_utilisation, 1.6);
        assert_eq!(cmp.rows[1].speedup, Some(1.0));
        assert_eq!(
            cmp.rows[0].of_capacity,
            Some(1.0),
            "sequential's ceiling is 1×"
        );
        assert!(cmp.rows.iter().all(|r| r.answers_agree));
        assert_eq!(cmp.switch_interval_ms, 5.0);
    }

    #[test]
    fn a_failed_model_gets_no_speedup_and_fails_the_agreement() {
        let runner = MockRunner::new("25")
            .takes(Model::Sequential, secs(4.0), secs(4.0))
            .fails(Model::Threads, secs(1.0));
        let cmp = compare_on(&runner, &[Model::Sequential, Model::Threads], 1, 2.0);
        let t = &cmp.rows[1];
        assert_eq!(t.failed, 4);
        assert_eq!(t.speedup, None);
        assert_eq!(t.of_capacity, None);
        assert_eq!(t.answer, None);
        assert!(!t.answers_agree);
        assert_eq!(cmp.rows[0].speedup, Some(1.0));
    }

    #[test]
    fn a_failed_sequential_run_is_no_baseline() {
        let runner = MockRunner::new("25")
            .fails(Model::Sequential, secs(4.0))
            .takes(Model::Threads, secs(2.0), secs(4.0));
        let cmp = compare_on(&runner, &[Model::Sequential, Model::Threads], 1, 2.0);
        assert!(cmp.rows.iter().all(|r| r.speedup.is_none()));
    }

    #[test]
    fn capacity_is_measured_before_each_model_and_every_event_is_recorded() {
        let runner = MockRunner::new("25")
            .takes(Model::Sequential, secs(1.0), secs(1.0))
            .takes(Model::Threads, secs(1.0), secs(1.0));
        let base = RunSpec::new("primes", Model::Sequential, 2);
        let models = [Model::Sequential, Model::Threads];
        let trial = Trial {
            base: &base,
            models: &models,
            repeat: 2,
            spinners: 2,
            chatty: false,
        };
        let mut measured = vec![1.0, 3.0].into_iter();
        let recorded = Mutex::new(Vec::new());
        let record = |run: u32, _: &Stamped| recorded.lock().expect("lock").push(run);
        let cmp = measure(
            &runner,
            &trial,
            &CancelToken::new(),
            &mut || measured.next().unwrap_or(0.0),
            Some(&record),
        )
        .expect("compares");
        assert_eq!(cmp.rows[0].capacity, 1.0);
        assert_eq!(cmp.rows[1].capacity, 3.0);
        assert_eq!(cmp.capacity, 2.0);
        let runs = recorded.into_inner().expect("lock");
        // 4 runs × (RunStarted + 4 × (TaskStarted, TaskFinished) + RunFinished).
        assert_eq!(runs.len(), 4 * 10);
        assert_eq!(runs.iter().filter(|&&r| r == 3).count(), 10);
    }
}
