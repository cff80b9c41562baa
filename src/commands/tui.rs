//! `conlab` / `conlab tui`: check the options the way `conlab run` would, open the dashboard.

use std::process::ExitCode;

use std::sync::Arc;

use crate::app::{App, CpythonAvail, Msg, Settings};
use crate::cli::{OnOff, TuiArgs};
use crate::commands::error::CliError;
use crate::core::Runtime;
use crate::exec::{Model, Runner};
use crate::recording::capture::TraceFile;
use crate::recording::record::Recorder;
use crate::runtime::{CpythonRunner, python};
use crate::tui::{self, Extras};
use crate::ui::theme;
use crate::workload;

/// Open the dashboard (recording what it receives with `--record`, tracing every run with
/// `--trace`).
pub fn tui_command(args: &TuiArgs) -> Result<ExitCode, CliError> {
    if let Some(code) = tui::need_terminal(&args.opts.workload) {
        return Ok(code);
    }
    // --cpu-quota / --cpuset: the whole session runs in conlab's own child cgroup.
    let _confined = super::confine::confine(&args.limits)?;
    let (settings, cpython, cpython_sampled) = settings_from(args)?;
    let recorder = args
        .record
        .as_deref()
        .map(Recorder::create)
        .transpose()
        .map_err(|e| CliError::Usage(format!("invalid --record: {e:#}")))?;
    let trace = args
        .trace
        .as_deref()
        .map(TraceFile::create)
        .transpose()
        .map_err(|e| CliError::Usage(format!("{e:#}")))?;
    let mut app = App::new(settings, theme::from_env(args.theme));
    app.update(Msg::Present(args.present));
    app.set_cpus_given(crate::sys::cgroup::given());
    Ok(tui::open(
        app,
        Extras {
            recorder,
            trace,
            cpython,
            cpython_sampled,
            ..Extras::default()
        },
    )?)
}

/// The interpreter `r` switches to: probed now (a missing one is only an error when
/// `--runtime cpython` asked for it; otherwise `r` explains).
fn cpython_from(args: &TuiArgs) -> Result<(Probed, Option<Arc<dyn Runner>>), CliError> {
    let choice = args.runtime.choice().map_err(CliError::Usage)?;
    match probe_cpython_sampled(&choice) {
        ((Err(e), _), _) if choice.runtime == Runtime::Cpython => Err(CliError::Usage(e)),
        probed => Ok(probed),
    }
}

/// The interpreter `choice` names, as the dashboard shows it (or why there is none), and
/// a runner for it.
pub fn probe_cpython(choice: &crate::runtime::RuntimeChoice) -> Probed {
    probe_cpython_sampled(choice).0
}

/// [`probe_cpython`], and the same interpreter's runner whose threads runs go under its
/// GIL sampler when it has one (3.15+).
fn probe_cpython_sampled(
    choice: &crate::runtime::RuntimeChoice,
) -> (Probed, Option<Arc<dyn Runner>>) {
    match python::probe(&choice.python) {
        Ok(info) => {
            let runner = CpythonRunner::new(info.clone(), choice.start_method);
            let sampled = runner.can_sample_gil().then(|| {
                Arc::new(crate::runtime::gil_sampled::GilSampledRunner(
                    runner.clone(),
                )) as Arc<dyn Runner>
            });
            (
                (
                    Ok(CpythonAvail {
                        label: info.label_for(true),
                        can_disable_gil: info.free_threaded_build,
                        label_gil_off: info.free_threaded_build.then(|| info.label_for(false)),
                    }),
                    Some(Arc::new(runner) as Arc<dyn Runner>),
                ),
                sampled,
            )
        }
        Err(e) => ((Err(e.to_string()), None), None),
    }
}

type WithCpython = (Settings, Option<Arc<dyn Runner>>, Option<Arc<dyn Runner>>);
/// The interpreter as the dashboard shows it (or why there is none), and its runner.
pub type Probed = (Result<CpythonAvail, String>, Option<Arc<dyn Runner>>);

/// Check the options the way `conlab run` would, naming the flag.
fn settings_from(args: &TuiArgs) -> Result<WithCpython, CliError> {
    let o = &args.opts;
    o.gil().map_err(CliError::Usage)?;
    let w = workload::find(&o.workload).ok_or_else(|| {
        CliError::Usage(format!(
            "unknown workload `{}`; choose one of: {}",
            o.workload,
            workload::names().join(", ")
        ))
    })?;
    // Exactly what `conlab run` would run: every flag, `--urls-file` read, checked.
    let wargs = o.spec(Model::Threads).map_err(CliError::Usage)?.args;
    let resolved = wargs
        .clone()
        .resolve(w)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    // A size the command line gave: --size, or a flag that is the size (sleep's and http's
    // --delay-ms), which shows as the size.
    let size_given = w.size_given(&wargs).or(o.size);
    let mut s = Settings::new(
        w.name(),
        size_given.unwrap_or(0),
        o.workers(),
        o.gil == OnOff::On,
        o.switch_interval_ms,
    );
    s.tasks = wargs.tasks;
    s.variant = resolved.variant.clone();
    s.flags = wargs;
    s.asyncio = crate::exec::AsyncOpts {
        offload: o.offload,
        max_in_flight: o.max_in_flight.map(|n| n as usize),
    };
    let ((avail, runner), sampled) = cpython_from(args)?;
    s.cpython = avail;
    // CPython's GIL sampler: offered when the interpreter has one, off unless asked (it
    // costs CPU and start-up time).
    s.gil_sampler = sampled.is_some().then_some(args.gil_sampler);
    if args.gil_sampler && sampled.is_none() {
        return Err(CliError::Usage(
            "--gil-sampler needs a CPython 3.15+ (python -m profiling.sampling): pass one \
             with --python 3.15"
                .into(),
        ));
    }
    if args.runtime.runtime == Runtime::Cpython {
        s.switch_runtime().map_err(CliError::Usage)?;
        // CPython's smaller default size, unless the command line gave one.
        if size_given.is_none() {
            s.size = crate::runtime::default_size(Runtime::Cpython, w);
        }
    }
    Ok((s, runner, sampled))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use crate::workload::WorkloadArgs;
    use clap::Parser;

    fn settings(argv: &[&str]) -> Settings {
        let cli = Cli::try_parse_from(argv).expect("parses");
        let Some(Command::Tui(t)) = cli.command else {
            panic!("tui")
        };
        settings_from(&t).expect("valid").0
    }

    #[test]
    fn a_size_given_as_a_flag_stands_on_the_cpython_runtime() {
        let cli = Cli::try_parse_from([
            "conlab",
            "tui",
            "--runtime",
            "cpython",
            "--workload",
            "sleep",
            "--delay-ms",
            "6000",
        ])
        .expect("parses");
        let Some(Command::Tui(t)) = cli.command else {
            panic!("tui")
        };
        match settings_from(&t) {
            Ok((s, _, _)) => {
                assert_eq!(s.size, 6000);
                assert_eq!(s.spec(Model::Threads).args.delay_ms, Some(6000));
            }
            Err(e) => eprintln!("skipped: no CPython here ({e})"),
        }
    }

    /// Every workload flag `run` accepts reaches the WorkloadArgs of the dashboard's runs,
    /// the same as `run` gives them.
    #[test]
    fn every_run_flag_reaches_the_dashboards_runs() {
        type Case = (&'static [&'static str], fn(&WorkloadArgs) -> bool);
        let cases: [Case; 9] = [
            (&["--workload", "sleep", "--delay-ms", "3000"], |a| {
                a.delay_ms == Some(3000) && a.size == 3000
            }),
            (&["--workload", "primes", "--delay-ms", "3000"], |_| false),
            (&["--workload", "http", "--delay-ms", "3000"], |a| {
                a.delay_ms == Some(3000) && a.size == 3000
            }),
            (&["--workload", "http", "--bytes", "77"], |a| {
                a.bytes == Some(77)
            }),
            (
                &["--workload", "http", "--url", "http://127.0.0.1:9/x"],
                |a| a.urls == ["http://127.0.0.1:9/x"] && a.tasks == 1,
            ),
            (
                &[
                    "--workload",
                    "http",
                    "--url",
                    "http://httpbin.org/get",
                    "--httpbin",
                    "remote",
                ],
                |a| a.httpbin_remote,
            ),
            (&["--workload", "files", "--dir", "/tmp"], |a| {
                a.dir.as_deref() == Some(std::path::Path::new("/tmp"))
            }),
            (&["--workload", "tiny", "--chunk", "7"], |a| {
                a.chunk == Some(7)
            }),
            (
                &[
                    "--workload",
                    "recycle",
                    "--max-tasks-per-child",
                    "3",
                    "--variant",
                    "x",
                ],
                |_| true,
            ),
        ];
        for (flags, check) in cases {
            let mut argv = vec!["conlab", "tui"];
            argv.extend_from_slice(flags);
            let cli = Cli::try_parse_from(&argv).expect("parses");
            let Some(Command::Tui(t)) = cli.command else {
                panic!("tui")
            };
            match settings_from(&t) {
                Ok((s, _, _)) => {
                    let got = s.spec(Model::Threads).args;
                    assert!(check(&got), "{flags:?} gave {got:?}");
                    // What `run` would get with the same flags.
                    let run = t.opts.spec(Model::Threads).expect("spec").args;
                    let run = run.resolve(s.workload()).expect("run resolves");
                    let dash = got.resolve(s.workload()).expect("dashboard resolves");
                    assert_eq!(dash, run, "{flags:?}");
                }
                Err(e) => {
                    // Refused the way `run` refuses it, naming the flag.
                    let run = t
                        .opts
                        .spec(Model::Threads)
                        .expect("spec")
                        .args
                        .resolve(workload::find(&t.opts.workload).expect("known"));
                    let why = run.expect_err("run refuses it too").to_string();
                    assert_eq!(e.to_string(), why, "{flags:?}");
                }
            }
        }
    }

    #[test]
    fn header_flags_are_those_the_workload_reads_and_survive_w() {
        let mut s = settings(&[
            "conlab",
            "tui",
            "--workload",
            "http",
            "--bytes",
            "64",
            "--delay-ms",
            "2500",
        ]);
        assert_eq!(
            s.shown_flags(),
            vec![
                ("--delay-ms", "2500".to_string()),
                ("--bytes", "64".to_string())
            ]
        );
        // `]` doubles the size: http's size is its delay, so the flag follows.
        s.scale_size(true);
        assert_eq!(s.spec(Model::Threads).args.delay_ms, Some(5000));
        // Another workload does not read them: not passed, not shown; back again, they are.
        s.cycle_workload(1);
        assert!(s.shown_flags().is_empty(), "{:?}", s.shown_flags());
        assert_eq!(s.spec(Model::Threads).args.bytes, None);
        s.cycle_workload(-1);
        assert_eq!(s.spec(Model::Threads).args.bytes, Some(64));
    }
}
