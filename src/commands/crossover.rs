//! `conlab run --workload crossover`: the crossover grid instead of one run. The flags
//! become a [`GridPlan`] (`--bytes` and `--tasks` narrow the grid to a row or a column),
//! the runtime is prepared, Ctrl-C cancels between and inside cells, and the grid is
//! printed as a map (or `--json`). The measuring is [`crate::experiment::crossover`]'s.

use std::io::IsTerminal;
use std::process::ExitCode;

use super::ctrl_c::cancelled_exit;
use super::error::CliError;
use crate::cli::RunArgs;
use crate::core::{Model, Runtime};
use crate::exec::CancelToken;
use crate::experiment::crossover::{GridPlan, measure};
use crate::observe::window::{Observer, OwnTree};
use crate::runtime::python::PythonInfo;
use crate::workload::scenes::crossover::{GRID_MODELS, grid};

/// What the native runtime simulates and what it does for real, said under the map.
pub const NATIVE_NOTE: &str = "native runtime: threads read the items in place (nothing \
    copied; the GIL is simulated); processes are real worker processes (their start-up and \
    pipes real, each item serialised as JSON); interpreters are threads with a simulated GIL \
    each: their start-up is NOT simulated (measured only with --runtime cpython), their \
    copies are real serialisation (serde_json both ways).";

/// Which pool ran where on a real interpreter, and what the threads' column can say.
fn cpython_notes(info: &PythonInfo, gil_on: bool) -> Vec<String> {
    let (a, b, _) = info.version;
    let interp = if (a, b) >= (3, 14) {
        "InterpreterPoolExecutor"
    } else {
        "_interpreters (3.13 has no InterpreterPoolExecutor)"
    };
    let mut notes = vec![format!(
        "every cell ran on {}: ThreadPoolExecutor, ProcessPoolExecutor, {interp}; items \
         pickled to processes and interpreters, read in place by threads.",
        info.label_for(gil_on)
    )];
    if !info.free_threaded_build {
        notes.push(format!(
            "threads here take turns at one GIL ({} is a GIL build): for threads on a \
             free-threaded build, run the same grid with --python 3.13t --gil off (or 3.14t).",
            info.label_for(true)
        ));
    } else if gil_on {
        notes.push("threads ran with the GIL on: add --gil off for free-threaded threads.".into());
    }
    notes
}

pub fn grid_command(args: &RunArgs, cancel: &CancelToken) -> Result<ExitCode, CliError> {
    if args.record.is_some() || args.trace.is_some() {
        return Err(CliError::Usage(
            "invalid --record/--trace: the crossover grid is many runs; record one cell \
             with `conlab compare --workload crossover --bytes B --tasks N --record FILE`"
                .into(),
        ));
    }
    let mut spec = args
        .opts
        .spec_cancellable(Model::Threads, cancel)
        .map_err(CliError::Usage)?;
    let tasks = (spec.args.tasks > 0).then_some(spec.args.tasks);
    let cells = grid(spec.args.bytes, tasks).map_err(CliError::Usage)?;
    let runtime = crate::runtime::prepare_cancellable(
        &args.runtime.choice().map_err(CliError::Usage)?,
        cancel,
    )
    .map_err(|e| CliError::Usage(e.to_string()))?;
    let w = crate::workload::find("crossover")
        .ok_or_else(|| CliError::Usage("crossover is not in the catalog".into()))?;
    if spec.args.size == 0 {
        spec.args.size = crate::runtime::default_size(args.runtime.runtime, w);
    }
    // Every flag checked once, before anything runs (the first cell stands for all).
    let mut first = spec.args.clone();
    first.bytes = Some(cells[0].0);
    first.tasks = cells[0].1;
    first
        .resolve(w)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let mut models = GRID_MODELS.to_vec();
    let mut notes = Vec::new();
    match &runtime.python {
        Some(info) => {
            if !spec.gil.enabled
                && let Some(why) = info.cannot_disable_gil()
            {
                return Err(CliError::Usage(why));
            }
            if (info.version.0, info.version.1) < crate::runtime::cpython::INTERPRETERS_SINCE {
                models.retain(|m| *m != Model::Interpreters);
                notes.push(format!(
                    "interpreters left out: {} has no subinterpreters with a GIL each (3.13+; \
                     pass one with --python 3.14).",
                    info.label()
                ));
            }
            notes.extend(cpython_notes(info, spec.gil.enabled));
        }
        None => notes.push(NATIVE_NOTE.into()),
    }
    notes.push(
        "one run per model per cell, each watched for other programs (run queue, their CPU); \
         a margin under 5% or a disturbed run is inconclusive."
            .into(),
    );
    let plan = GridPlan {
        base: &spec,
        cells: &cells,
        models: &models,
        repeat: 1,
        chatty: std::io::stderr().is_terminal(),
    };
    let every = std::time::Duration::from_millis(crate::observe::SAMPLE_MS);
    let mut kernel = OwnTree::new(every);
    // Capacity is not part of the map: the comparisons' rows carry it unread.
    let grid = measure(
        runtime.runner.as_ref(),
        &plan,
        cancel,
        1.0,
        Some(&mut kernel as &mut dyn Observer),
    );
    let mut grid = match grid {
        Ok(g) => g,
        Err(e) if cancel.is_cancelled() => {
            eprintln!("conlab: {e}");
            return Ok(cancelled_exit());
        }
        Err(e) => return Err(e.into()),
    };
    grid.runtime = match (&runtime.python, args.runtime.runtime) {
        (Some(info), _) => info.label_for(spec.gil.enabled),
        (None, Runtime::Native) => format!(
            "conlab native, simulated GIL {}",
            if spec.gil.enabled { "on" } else { "off" }
        ),
        (None, _) => runtime.label.clone(),
    };
    grid.notes = notes;
    if args.json {
        let mut v = serde_json::json!({ "workload": "crossover" });
        if let (Some(o), Ok(serde_json::Value::Object(g))) =
            (v.as_object_mut(), serde_json::to_value(&grid))
        {
            o.extend(g);
        }
        crate::outln!("{v}");
    } else {
        crate::out!("{}", crate::report::crossover::text(&grid));
    }
    let failed = grid
        .cells
        .iter()
        .any(|c| c.times.iter().any(|t| t.elapsed_s.is_none()));
    Ok(if grid.cancelled.is_some() {
        cancelled_exit()
    } else if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
