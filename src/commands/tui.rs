//! `conlab` / `conlab tui`: check the options the way `conlab run` would, open the dashboard.

use std::process::ExitCode;

use std::sync::Arc;

use crate::app::{App, CpythonAvail, Settings};
use crate::capture::TraceFile;
use crate::cli::{OnOff, TuiArgs};
use crate::core::Runtime;
use crate::exec::Runner;
use crate::headless::CliError;
use crate::record::Recorder;
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
    let (settings, cpython) = settings_from(args)?;
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
    app.present = args.present;
    tui::open(
        app,
        Extras {
            recorder,
            trace,
            cpython,
            ..Extras::default()
        },
    )
}

/// The interpreter `r` switches to: probed now (a missing one is only an error when
/// `--runtime cpython` asked for it; otherwise `r` explains).
fn cpython_from(args: &TuiArgs) -> Result<Probed, CliError> {
    let choice = args.runtime.choice().map_err(CliError::Usage)?;
    match probe_cpython(&choice) {
        (Err(e), _) if choice.runtime == Runtime::Cpython => Err(CliError::Usage(e)),
        probed => Ok(probed),
    }
}

/// The interpreter `choice` names, as the dashboard shows it (or why there is none), and
/// a runner for it.
pub fn probe_cpython(choice: &crate::runtime::RuntimeChoice) -> Probed {
    match python::probe(&choice.python) {
        Ok(info) => (
            Ok(CpythonAvail {
                label: info.label(),
                can_disable_gil: info.free_threaded_build,
            }),
            Some(Arc::new(CpythonRunner::new(info, choice.start_method)) as Arc<dyn Runner>),
        ),
        Err(e) => (Err(e.to_string()), None),
    }
}

type WithCpython = (Settings, Option<Arc<dyn Runner>>);
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
    o.workload_args()
        .resolve(w)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let mut s = Settings::new(
        w.name(),
        o.size.unwrap_or(0),
        o.workers(),
        o.gil == OnOff::On,
        o.switch_interval_ms,
    );
    s.tasks = o.tasks.unwrap_or(0);
    let (avail, runner) = cpython_from(args)?;
    s.cpython = avail;
    if args.runtime.runtime == Runtime::Cpython {
        s.switch_runtime().map_err(CliError::Usage)?;
        if o.size.is_none() {
            s.size = crate::runtime::default_size(Runtime::Cpython, w);
        }
    }
    Ok((s, runner))
}
