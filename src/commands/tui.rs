//! `conlab` / `conlab tui`: check the options the way `conlab run` would, open the dashboard.

use std::process::ExitCode;

use crate::app::{App, Settings};
use crate::capture::TraceFile;
use crate::cli::{OnOff, TuiArgs};
use crate::headless::CliError;
use crate::record::Recorder;
use crate::tui::{self, Extras};
use crate::ui::theme;
use crate::workload;

/// Open the dashboard (recording what it receives with `--record`, tracing every run with
/// `--trace`).
pub fn tui_command(args: &TuiArgs) -> Result<ExitCode, CliError> {
    if let Some(code) = tui::need_terminal(&args.opts.workload) {
        return Ok(code);
    }
    let settings = settings_from(args)?;
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
    let app = App::new(settings, theme::from_env(args.theme));
    tui::open(
        app,
        Extras {
            recorder,
            trace,
            ..Extras::default()
        },
    )
}

/// Check the options the way `conlab run` would, naming the flag.
fn settings_from(args: &TuiArgs) -> Result<Settings, CliError> {
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
    Ok(s)
}
