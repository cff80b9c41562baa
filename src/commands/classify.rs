//! `conlab classify`: sample a workload on one thread for a moment and say whether it mostly
//! waits or mostly computes, and which model the decision guide recommends.

use std::process::ExitCode;
use std::time::Duration;

use super::ctrl_c::cancel_on_ctrl_c;
use super::error::CliError;
use crate::cli::ClassifyArgs;
use crate::core::Model;
use crate::exec::CancelToken;
use crate::experiment::classify::{Sample, classify_json, sample_spec, verdict};

/// Run the sample: one worker, sequentially on this thread, cancelled after the budget.
fn sample(args: &ClassifyArgs) -> Result<Sample, CliError> {
    let cancel = CancelToken::new();
    cancel_on_ctrl_c(&cancel);
    let spec = args
        .opts
        .spec_cancellable(Model::Sequential, &cancel)
        .map_err(CliError::Usage)?;
    Ok(sample_spec(
        spec,
        Duration::from_millis(args.budget_ms),
        &cancel,
    )?)
}

pub fn classify_command(args: &ClassifyArgs) -> Result<ExitCode, CliError> {
    let gil = args.opts.gil().map_err(CliError::Usage)?.enabled;
    let sample = sample(args)?;
    let report = &sample.report;
    if !report.failures.is_empty() && sample.walls.is_empty() {
        return Err(CliError::Other(anyhow::anyhow!(
            "the sample failed (classify runs the workload sequentially): {}",
            report
                .failures
                .first()
                .map(|f| f.1.as_str())
                .unwrap_or("unknown")
        )));
    }
    let j = classify_json(&sample, gil);
    if args.json {
        crate::outln!("{j}");
    } else {
        let v = verdict(sample.wanted_cpu_per_wall());
        crate::outln!(
            "{}: mostly {} — on one thread, {:.2} s on a CPU{} in {:.2} s wall \
             ({:.0}% wanting a CPU); {}{}",
            report.workload,
            v.name(),
            report.cpu.as_secs_f64(),
            sample
                .runqueue_wait
                .filter(|w| *w >= Duration::from_millis(10))
                .map(|w| format!(" + {:.2} s waiting for one (machine busy)", w.as_secs_f64()))
                .unwrap_or_default(),
            report.elapsed.as_secs_f64(),
            sample.wanted_cpu_per_wall() * 100.0,
            match sample.walls.len() {
                0 => format!(
                    "no task finished inside the sample (each takes over {} ms)",
                    j["task_longer_than_ms"]
                ),
                1 => format!("1 task of {} ms", j["mean_task_ms"]),
                n => format!("{n} tasks of {} ms on average", j["mean_task_ms"]),
            },
            if report.cancelled {
                " (sample stopped at the time budget)"
            } else {
                ""
            }
        );
        crate::outln!(
            "recommended: {} — {}",
            j["recommended_model"].as_str().unwrap_or("?"),
            j["why"].as_str().unwrap_or("")
        );
    }
    Ok(ExitCode::SUCCESS)
}
