//! Comparing models: run several models one after another (never at the same time), repeat each,
//! measure the machine's capacity alongside, and set the models side by side. Runs go
//! through an [`exec::Runner`] (the native engine, or a test's mock); the comparison's
//! data and exporters live in [`crate::report`]. While each model runs, an
//! [`Observer`] (conlab's own process tree sampled from `/proc`, or a test's fake) says
//! how the kernel saw its working threads spend their time.

use crate::core::{LabError, Model, Stamped};
use crate::exec::{CancelToken, RunReport, RunSpec, Runner, Sink};
pub use crate::experiment::comparison::{Comparison, Row, summarise};
use crate::observe::Interference;
use crate::observe::interference::MachineWatch;
use crate::observe::window::{Observer, Seen};
use crate::runtime::run_with_events_on;

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
    /// Read the machine's counters around each run (what other programs took); off
    /// where the runs are a test's fakes, which the machine's load has nothing to do with.
    pub machine: bool,
}

/// One model's share of a trial as it is measured.
struct ModelTrial {
    model: Model,
    reports: Vec<RunReport>,
    capacity: f64,
    seen: Option<Seen>,
    interference: Option<Interference>,
}

/// Run the trial on `runner`: the repeats interleaved across models (sequential,
/// threads, processes, sequential, threads, …) so a machine that drifts hits every model
/// alike; the machine's capacity measured with `capacity` right before each model's first
/// run; each run watched through `observer` when given (what the kernel saw) and against
/// the machine's counters (what other programs took); every event passed to `record`
/// (with the run's number). Folded into a comparison with its verdict.
pub fn measure(
    runner: &dyn Runner,
    trial: &Trial,
    cancel: &CancelToken,
    capacity: &mut dyn FnMut() -> f64,
    mut observer: Option<&mut dyn Observer>,
    record: Option<&Record<'_>>,
) -> Result<Comparison, LabError> {
    let mut run_number = 0u32;
    // Why the kernel's view is missing: said once, however many models it missed.
    let mut kernel_note: Option<String> = None;
    let workload = crate::workload::find(&trial.base.workload);
    let mut trials: Vec<ModelTrial> = Vec::new();
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
        if let Err(e) = (trial.base.args)
            .check_split(model)
            .and_then(|()| trial.base.args.check_workers(model))
        {
            eprintln!("{model}: left out ({e})");
            continue;
        }
        trials.push(ModelTrial {
            model,
            reports: Vec::new(),
            capacity: 0.0,
            seen: None,
            interference: None,
        });
    }
    if trials.is_empty()
        && let Some(w) = workload
    {
        return Err(LabError::Refused(format!(
            "none of the models asked for runs {}; it runs under: {}",
            w.name(),
            w.model_names()
        )));
    }
    // Where a cancel stopped the trial: the model and the round it was in.
    let mut stopped: Option<(Model, usize)> = None;
    'rounds: for round in 0..trial.repeat {
        for mt in trials.iter_mut() {
            let model = mt.model;
            if cancel.is_cancelled() {
                stopped = Some((model, round));
                break 'rounds;
            }
            if round == 0 {
                // The machine's capacity changes from moment to moment on shared
                // machines: measure it right before each model, so each row is judged
                // by its own ceiling.
                if trial.chatty {
                    eprint!("\r{model:<10} measuring machine capacity…        ");
                }
                mt.capacity = capacity();
            }
            let spec = RunSpec {
                model,
                ..trial.base.clone()
            };
            if trial.chatty {
                eprint!("\r{model:<10} run {}/{}…        ", round + 1, trial.repeat);
            }
            // Watch after measuring capacity, so its spinners are not in the window.
            let watching = match observer.as_deref_mut().map(Observer::begin) {
                Some(Ok(())) => true,
                Some(Err(e)) => {
                    kernel_note.get_or_insert(e);
                    false
                }
                None => false,
            };
            let machine = trial.machine.then(MachineWatch::begin);
            let n = run_number;
            let report = match record {
                Some(r) => run_with_events_on(runner, &spec, cancel, |ev| r(n, ev)),
                None => run_on_own_thread(runner, &spec, cancel),
            };
            let seen = match observer.as_deref_mut() {
                Some(o) if watching => o.end(),
                _ => None,
            };
            let unreaped = report.as_ref().map(|r| r.unreaped_cpu).unwrap_or_default();
            let (wall, others) = match machine {
                Some(m) => m.end(unreaped),
                None => (f64::INFINITY, None),
            };
            let throttled = machine.and_then(|m| m.throttled());
            let report = report?;
            run_number += 1;
            if report.cancelled {
                // What finished is kept: the models' rows from their finished runs.
                stopped = Some((model, round));
                break 'rounds;
            }
            let window = Interference::of(
                report.elapsed.as_secs_f64().min(wall).max(0.0),
                others,
                seen.as_ref().and_then(|s| s.share.as_ref()),
            )
            .with_throttle(throttled);
            match &mut mt.interference {
                Some(i) => i.merge(&window),
                None => mt.interference = Some(window),
            }
            if let Some(s) = seen {
                match &mut mt.seen {
                    Some(all) => all.merge(s),
                    None => mt.seen = Some(s),
                }
            }
            mt.reports.push(report);
        }
    }
    if trial.chatty {
        eprint!("\r{:40}\r", "");
    }
    let cancelled = stopped.map(|at| cancelled_note(at, &trials, trial.repeat));
    if stopped.is_some() {
        trials.retain(|t| !t.reports.is_empty());
        if trials.is_empty() {
            return Err(LabError::Refused(
                "cancelled before any model finished a run".into(),
            ));
        }
    }
    let runs: Vec<(Model, Vec<RunReport>, f64)> = trials
        .iter()
        .map(|t| (t.model, t.reports.clone(), t.capacity))
        .collect();
    let mut cmp = summarise(&runs, trial.spinners);
    cmp.switch_interval_ms = trial.base.gil.switch_interval.as_secs_f64() * 1e3;
    cmp.interleaved = trial.repeat > 1 && trials.len() > 1;
    for (row, t) in cmp.rows.iter_mut().zip(trials) {
        row.kernel = t.seen.as_ref().and_then(|s| s.share);
        row.concurrency = t.seen.map(|s| s.concurrency).filter(|c| c.samples > 0);
        row.interference = t.interference;
    }
    cmp.kernel_note = kernel_note;
    cmp.cancelled = cancelled;
    cmp.judge();
    Ok(cmp)
}

/// What a cancel at `(model, round)` left: which run it stopped, and per model how many
/// of its runs finished (the rows shown are made of those), or that it finished none.
fn cancelled_note((model, round): (Model, usize), trials: &[ModelTrial], repeat: usize) -> String {
    let runs = |n: usize| if n == 1 { "run" } else { "runs" };
    let each: Vec<String> = trials
        .iter()
        .map(|t| match t.reports.len() {
            0 => format!("{} finished no run (left out)", t.model),
            n if n == repeat => format!("{} finished its {n} {}", t.model, runs(n)),
            n => format!("{} {n} of {repeat} {}", t.model, runs(repeat)),
        })
        .collect();
    format!(
        "cancelled during the {model} run {} of {repeat}; the rows are the runs that finished: {}",
        round + 1,
        each.join(", ")
    )
}

/// Run `spec` on a thread named for the run (`conlab-run-MODEL`, as the dashboard's), so
/// the kernel's view counts it among the run's threads (a sequential run computes on it)
/// whichever thread called.
fn run_on_own_thread(
    runner: &dyn Runner,
    spec: &RunSpec,
    cancel: &CancelToken,
) -> Result<RunReport, crate::exec::RunError> {
    use crate::exec::RunError;
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name(format!("conlab-run-{}", spec.model))
            .spawn_scoped(scope, || runner.run(spec, &Sink::null(), cancel))
            .map_err(|e| RunError::Plan(anyhow::anyhow!("could not start the run thread: {e}")))?
            .join()
            .unwrap_or_else(|_| Err(RunError::Plan(anyhow::anyhow!("the run thread panicked"))))
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;
    use crate::exec::mock::MockRunner;
    use crate::observe::KernelShare;

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
            machine: false,
        };
        measure(
            runner,
            &trial,
            &CancelToken::new(),
            &mut || capacity,
            None,
            None,
        )
        .expect("compares")
    }

    #[test]
    fn speedup_and_of_capacity_come_from_the_runners_exact_figures() {
        let runner = MockRunner::new("25")
            .takes(Model::Sequential, secs(4.0), secs(4.0))
            .takes(Model::Threads, secs(4.0), secs(4.0))
            .takes(Model::Processes, secs(2.5), secs(4.0))
            .takes(Model::Async, secs(4.1), secs(4.0))
            .takes(Model::Interpreters, secs(2.6), secs(4.0));
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

    /// Sequential and threads, one second each on the mock.
    fn two_models() -> MockRunner {
        MockRunner::new("25")
            .takes(Model::Sequential, secs(1.0), secs(1.0))
            .takes(Model::Threads, secs(1.0), secs(1.0))
    }

    /// `f` on a trial of sequential and threads, twice each.
    fn twice_each<R>(f: impl FnOnce(&Trial) -> R) -> R {
        let base = RunSpec::new("primes", Model::Sequential, 2);
        let models = [Model::Sequential, Model::Threads];
        f(&Trial {
            base: &base,
            models: &models,
            repeat: 2,
            spinners: 2,
            chatty: false,
            machine: false,
        })
    }

    /// The mock, cancelled (as Ctrl-C would) during the run of `stop_at` numbered
    /// `on_run` (0-based over the whole trial): that run comes back cancelled.
    struct CancelledAt {
        mock: MockRunner,
        on_run: usize,
        runs: Mutex<usize>,
    }

    impl Runner for CancelledAt {
        fn run(
            &self,
            spec: &RunSpec,
            sink: &Sink,
            cancel: &CancelToken,
        ) -> Result<RunReport, crate::exec::RunError> {
            let mut n = self.runs.lock().expect("lock");
            let mut report = self.mock.run(spec, sink, cancel)?;
            if *n == self.on_run {
                cancel.cancel();
                report.cancelled = true;
                report.answer = None;
            }
            *n += 1;
            Ok(report)
        }
    }

    #[test]
    fn a_cancel_keeps_the_models_that_finished_and_says_which_run_it_stopped() {
        // Runs: sequential 1, threads 1, sequential 2, threads 2 (cancelled).
        let runner = CancelledAt {
            mock: two_models(),
            on_run: 3,
            runs: Mutex::new(0),
        };
        let cancel = CancelToken::new();
        let cmp = twice_each(|trial| measure(&runner, trial, &cancel, &mut || 2.0, None, None))
            .expect("the finished runs are kept");
        let models: Vec<Model> = cmp.rows.iter().map(|r| r.model).collect();
        assert_eq!(models, [Model::Sequential, Model::Threads]);
        assert_eq!(cmp.elapsed[0].len(), 2, "sequential's two runs");
        assert_eq!(cmp.elapsed[1].len(), 1, "threads' one finished run");
        let note = cmp.cancelled.as_deref().expect("the cancel is said");
        assert!(
            note.contains("cancelled during the threads run 2 of 2")
                && note.contains("sequential finished its 2 runs")
                && note.contains("threads 1 of 2 runs"),
            "{note}"
        );
        // Cancelled in the first model's first run: nothing to show.
        let runner = CancelledAt {
            mock: two_models(),
            on_run: 0,
            runs: Mutex::new(0),
        };
        let err = twice_each(|trial| {
            measure(&runner, trial, &CancelToken::new(), &mut || 2.0, None, None)
        })
        .expect_err("no model finished");
        assert!(
            err.to_string().contains("before any model finished"),
            "{err}"
        );
    }

    #[test]
    fn a_model_cancelled_in_its_first_run_is_left_out_and_named() {
        // Runs: sequential 1, threads 1 (cancelled).
        let runner = CancelledAt {
            mock: two_models(),
            on_run: 1,
            runs: Mutex::new(0),
        };
        let cmp = twice_each(|trial| {
            measure(&runner, trial, &CancelToken::new(), &mut || 2.0, None, None)
        })
        .expect("sequential is kept");
        assert_eq!(cmp.rows.len(), 1);
        assert_eq!(cmp.rows[0].model, Model::Sequential);
        let note = cmp.cancelled.as_deref().expect("said");
        assert!(
            note.contains("threads finished no run (left out)"),
            "{note}"
        );
        for format in [
            crate::report::Format::Table,
            crate::report::Format::Markdown,
        ] {
            let shown = crate::report::exporter(format).export(&cmp);
            assert!(shown.contains("threads finished no run"), "{shown}");
        }
    }

    #[test]
    fn capacity_is_measured_before_each_model_and_every_event_is_recorded() {
        let runner = two_models();
        let mut measured = vec![1.0, 3.0].into_iter();
        let recorded = Mutex::new(Vec::new());
        let record = |run: u32, _: &Stamped| recorded.lock().expect("lock").push(run);
        let cmp = twice_each(|trial| {
            measure(
                &runner,
                trial,
                &CancelToken::new(),
                &mut || measured.next().unwrap_or(0.0),
                None,
                Some(&record),
            )
        })
        .expect("compares");
        assert_eq!(cmp.rows[0].capacity, 1.0);
        assert_eq!(cmp.rows[1].capacity, 3.0);
        assert_eq!(cmp.capacity, 2.0);
        let runs = recorded.into_inner().expect("lock");
        // 4 runs × (RunStarted + 4 × (TaskStarted, TaskFinished) + RunFinished).
        assert_eq!(runs.len(), 4 * 10);
        assert_eq!(runs.iter().filter(|&&r| r == 3).count(), 10);
    }

    /// What happened, in order: windows opened and closed, runs and the thread each ran on.
    type Log = Mutex<Vec<String>>;

    /// A fake kernel: each window's share is `lock` = the window's number, so rows can be
    /// told apart; `broken` fails every `begin` as a machine without /proc would.
    struct FakeKernel<'a> {
        log: &'a Log,
        windows: usize,
        broken: Option<&'static str>,
    }

    impl Observer for FakeKernel<'_> {
        fn begin(&mut self) -> Result<(), String> {
            if let Some(why) = self.broken {
                self.log.lock().expect("lock").push("begin failed".into());
                return Err(why.into());
            }
            self.log.lock().expect("lock").push("begin".into());
            Ok(())
        }
        fn end(&mut self) -> Option<Seen> {
            self.log.lock().expect("lock").push("end".into());
            self.windows += 1;
            Some(Seen {
                share: Some(KernelShare {
                    lock: self.windows as f64,
                    threads_counted: 2,
                    thread_s: 1.0,
                    ..KernelShare::default()
                }),
                concurrency: Default::default(),
            })
        }
    }

    /// The mock, logging each run's model and the name of the thread it ran on.
    struct Logged<'a>(MockRunner, &'a Log);

    impl Runner for Logged<'_> {
        fn run(
            &self,
            spec: &RunSpec,
            sink: &Sink,
            cancel: &CancelToken,
        ) -> Result<RunReport, crate::exec::RunError> {
            let thread = std::thread::current().name().unwrap_or("?").to_string();
            self.1
                .lock()
                .expect("lock")
                .push(format!("run {} on {thread}", spec.model));
            self.0.run(spec, sink, cancel)
        }
    }

    fn observed(kernel: &mut FakeKernel, log: &Log, record: bool) -> Comparison {
        let runner = Logged(two_models(), log);
        let ignore = |_: u32, _: &Stamped| {};
        twice_each(|trial| {
            measure(
                &runner,
                trial,
                &CancelToken::new(),
                &mut || {
                    log.lock().expect("lock").push("capacity".into());
                    2.0
                },
                Some(kernel),
                record.then_some(&ignore as &Record<'_>),
            )
        })
        .expect("compares")
    }

    #[test]
    fn each_run_is_watched_in_a_window_of_its_own_and_repeats_interleave() {
        for record in [false, true] {
            let log = Log::default();
            let mut kernel = FakeKernel {
                log: &log,
                windows: 0,
                broken: None,
            };
            let cmp = observed(&mut kernel, &log, record);
            let log = log.into_inner().expect("lock");
            // The run thread's name marks it as the run's, whatever the caller's.
            let run = |m: &str| match record {
                true => format!("run {m} on conlab-run"),
                false => format!("run {m} on conlab-run-{m}"),
            };
            let want = vec![
                "capacity".to_string(),
                "begin".into(),
                run("sequential"),
                "end".into(),
                "capacity".into(),
                "begin".into(),
                run("threads"),
                "end".into(),
                "begin".into(),
                run("sequential"),
                "end".into(),
                "begin".into(),
                run("threads"),
                "end".into(),
            ];
            assert_eq!(log, want);
            assert!(cmp.interleaved);
            let locks: Vec<f64> = cmp
                .rows
                .iter()
                .map(|r| r.kernel.expect("seen").lock)
                .collect();
            // Windows 1 and 3 were sequential's, 2 and 4 threads': merged per model.
            assert_eq!(locks, vec![2.0, 3.0], "each row has its own windows' share");
            assert_eq!(cmp.kernel_note, None);
        }
    }

    #[test]
    fn without_proc_compare_still_works_and_says_why_once() {
        let log = Log::default();
        let mut kernel = FakeKernel {
            log: &log,
            windows: 0,
            broken: Some("no /proc here"),
        };
        let cmp = observed(&mut kernel, &log, false);
        assert_eq!(cmp.rows.len(), 2);
        assert!(
            cmp.rows
                .iter()
                .all(|r| r.kernel.is_none() && r.answers_agree)
        );
        assert_eq!(cmp.kernel_note.as_deref(), Some("no /proc here"));
        let log = log.into_inner().expect("lock");
        assert_eq!(log.iter().filter(|l| *l == "begin failed").count(), 4);
        assert!(
            !log.contains(&"end".to_string()),
            "no window to close: {log:?}"
        );
    }
}
