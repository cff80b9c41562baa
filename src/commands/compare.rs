//! `conlab compare`: the flags become a [`Trial`], the runtime is prepared, Ctrl-C
//! cancels, the kernel's view and the capture are wired in, and the comparison is printed
//! in the asked format. The measuring is [`crate::experiment::compare`]'s.

use std::io::IsTerminal;
use std::process::ExitCode;

use super::ctrl_c::{cancel_on_ctrl_c, cancelled_exit};
use super::error::CliError;
use crate::cli::{CompareArgs, OnOff};
use crate::core::{Model, Stamped};
use crate::exec::CancelToken;
use crate::experiment::compare::{Record, Trial, measure};
use crate::observe::window::{Observer, OwnTree};
use crate::report::{self, Format};

pub fn compare_command(args: &CompareArgs) -> Result<ExitCode, CliError> {
    let cancel = CancelToken::new();
    cancel_on_ctrl_c(&cancel);
    // --cpu-quota / --cpuset: in conlab's own child cgroup until the command ends.
    let _confined = super::confine::confine(&args.limits)?;
    let given = crate::sys::cgroup::given();
    let workers = args.opts.workers();
    // Under a limit, the default workers follow it: say so.
    if given.limited() && args.opts.workers.is_none() {
        eprintln!("conlab: {} ({})", given.workers_why(), given.describe());
    }
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
    // The capacity's spinners and ceiling: the cores given, not the cores seen.
    let spinners = workers.min(given.default_workers()).max(1);
    let ceiling = given.quota_ceiling().unwrap_or(f64::INFINITY);
    let capture =
        crate::recording::capture::Capture::open(args.record.as_deref(), args.trace.as_deref())
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
        machine: true,
    };
    let every = std::time::Duration::from_millis(crate::observe::SAMPLE_MS);
    let mut kernel = (args.kernel == OnOff::On).then(|| OwnTree::new(every));
    let cmp = measure(
        runtime.runner.as_ref(),
        &trial,
        &cancel,
        &mut || crate::exec::capacity::measure(spinners, &cancel).min(ceiling),
        kernel.as_mut().map(|k| k as &mut dyn Observer),
        capture.as_ref().map(|_| &record as &Record<'_>),
    );
    drop(kernel);
    if let Some(c) = capture {
        c.finish()?;
    }
    let mut cmp = match cmp {
        Ok(cmp) => cmp,
        // Cancelled before any model finished a run: nothing to show.
        Err(e) if cancel.is_cancelled() => {
            eprintln!("conlab: {e}");
            return Ok(cancelled_exit());
        }
        Err(e) => return Err(e.into()),
    };
    cmp.kernel_sample_ms = (args.kernel == OnOff::On).then_some(crate::observe::SAMPLE_MS);
    // The table and markdown say it beside the empty columns; say it for JSON and CSV too.
    if let Some(note) = &cmp.kernel_note
        && matches!(args.format, Format::Json | Format::Csv)
    {
        eprintln!("conlab: no kernel shares: {note}");
    }
    cmp.split = base.args.split.map(|s| s.name().to_string());
    cmp.runtime = Some(match &runtime.python {
        Some(info) => info.label_for(base.gil.enabled),
        None => runtime.label.clone(),
    });
    for r in &mut cmp.rows {
        r.split = cmp.split.clone();
        r.cpus = given.clone();
    }
    crate::out!("{}", report::exporter(args.format).export(&cmp));
    let failed = cmp.rows.iter().any(|r| r.failed > 0);
    Ok(if cmp.cancelled.is_some() {
        // The finished models' table is out; the exit says it was cut short (130, 143).
        cancelled_exit()
    } else if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
