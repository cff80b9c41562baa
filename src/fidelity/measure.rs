//! Running the fidelity comparison: both runtimes interleaved, capacity alongside.

use std::io::IsTerminal;
use std::process::ExitCode;

use super::{ConvoyRow, Fidelity, NativeRow, Row, compare, load_average};
use crate::cli::FidelityArgs;
use crate::core::Model;
use crate::exec::{CancelToken, RunReport, RunSpec, Runner, Sink};
use crate::headless::{CliError, cancel_on_ctrl_c};
use crate::runtime::{self, CpythonRunner, sizes};

/// How long the CPU-bound thread of the convoy measurement runs, in each runtime.
const CONVOY_MS: u64 = 1000;

fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// The same answer in every report (`None` if any failed or they differ).
fn one_answer(reports: &[&RunReport]) -> Option<String> {
    let first = reports.first()?.answer.as_ref()?.value.clone();
    reports
        .iter()
        .all(|r| r.answer.as_ref().is_some_and(|a| a.value == first))
        .then_some(first)
}

fn check(args: &FidelityArgs) -> Result<(), CliError> {
    if args.workloads.is_empty() {
        return Err(CliError::Usage("invalid --workloads: none given".into()));
    }
    for w in &args.workloads {
        if crate::workload::find(w).is_none() {
            return Err(CliError::Usage(format!(
                "invalid --workloads: unknown workload `{w}`; choose from: {}",
                sizes::SUPPORTED.join(", ")
            )));
        }
        if !sizes::supported(w) {
            return Err(CliError::Usage(format!(
                "invalid --workloads: {}",
                sizes::unsupported_message(w)
            )));
        }
    }
    Ok(())
}

fn run_one(
    runner: &dyn Runner,
    spec: &RunSpec,
    cancel: &CancelToken,
) -> Result<RunReport, CliError> {
    let r = runner.run(spec, &Sink::null(), cancel)?;
    if r.cancelled {
        return Err(CliError::Usage("cancelled".into()));
    }
    Ok(r)
}

pub fn fidelity_command(args: &FidelityArgs) -> Result<ExitCode, CliError> {
    check(args)?;
    let workers = args.workers.unwrap_or_else(crate::cli::default_workers);
    if workers == 0 {
        return Err(CliError::Usage(
            "invalid --workers: must be at least 1".into(),
        ));
    }
    let info = runtime::python::probe(&args.python).map_err(|e| CliError::Usage(e.to_string()))?;
    let python = CpythonRunner::new(info.clone(), args.start_method);
    let native = runtime::NativeRunner;
    let cancel = CancelToken::new();
    cancel_on_ctrl_c(&cancel);
    let chatty = std::io::stderr().is_terminal();
    let spinners = workers.min(crate::cli::default_workers()).max(1);
    let load_before = load_average();
    let repeat = args.repeat as usize;

    let mut rows = Vec::new();
    // The native scene runs on threads only, beside its bystander: its own section.
    for name in args.workloads.iter().filter(|w| *w != "native") {
        let w = crate::workload::find(name).ok_or_else(|| CliError::Usage(name.clone()))?;
        let size_for = |rt| args.size.unwrap_or_else(|| runtime::default_size(rt, w));
        let spec = |model, size| {
            let mut s = RunSpec::new(name, model, workers);
            s.args.size = size;
            s
        };
        let (native_size, cpython_size) = (
            size_for(crate::core::Runtime::Native),
            size_for(crate::core::Runtime::Cpython),
        );
        // Per model: (native reports, CPython reports, capacities).
        let mut per_model: Vec<(Vec<RunReport>, Vec<RunReport>, Vec<f64>)> =
            Model::ALL.iter().map(|_| Default::default()).collect();
        for rep in 0..repeat {
            for (i, &model) in Model::ALL.iter().enumerate() {
                if chatty {
                    eprint!("\r{name} · {model} · capacity…                    ");
                }
                per_model[i]
                    .2
                    .push(crate::capacity::measure(spinners, &cancel));
                if chatty {
                    eprint!(
                        "\r{name} · {model} · native {}/{repeat}…          ",
                        rep + 1
                    );
                }
                per_model[i]
                    .0
                    .push(run_one(&native, &spec(model, native_size), &cancel)?);
                if chatty {
                    eprint!(
                        "\r{name} · {model} · CPython {}/{repeat}…         ",
                        rep + 1
                    );
                }
                per_model[i]
                    .1
                    .push(run_one(&python, &spec(model, cpython_size), &cancel)?);
            }
        }
        let med = |rs: &[RunReport]| {
            median(
                &rs.iter()
                    .map(|r| r.elapsed.as_secs_f64())
                    .collect::<Vec<_>>(),
            )
        };
        let busy = |rs: &[RunReport]| {
            median(
                &rs.iter()
                    .map(RunReport::cpu_utilisation)
                    .collect::<Vec<_>>(),
            )
        };
        let all_native: Vec<&RunReport> = per_model.iter().flat_map(|m| &m.0).collect();
        let all_cpython: Vec<&RunReport> = per_model.iter().flat_map(|m| &m.1).collect();
        let (na, ca) = (one_answer(&all_native), one_answer(&all_cpython));
        let agree = na.is_some() && ca.is_some() && (native_size != cpython_size || na == ca);
        let (nseq, cseq) = (med(&per_model[0].0), med(&per_model[0].1));
        for (i, &model) in Model::ALL.iter().enumerate() {
            let (n, c, caps) = &per_model[i];
            let (ne, ce) = (med(n), med(c));
            let (native_speedup, cpython_speedup, diff_pct, within) = compare(nseq, ne, cseq, ce);
            rows.push(Row {
                workload: name.clone(),
                model,
                workers: if model == Model::Sequential {
                    1
                } else {
                    workers
                },
                native_size,
                cpython_size,
                native_elapsed_s: ne,
                cpython_elapsed_s: ce,
                native_speedup,
                cpython_speedup,
                diff_pct,
                within_10pct: within,
                native_cores_busy: busy(n),
                cpython_cores_busy: busy(c),
                native_answer: one_answer(&n.iter().collect::<Vec<_>>()),
                cpython_answer: one_answer(&c.iter().collect::<Vec<_>>()),
                answers_agree: agree,
                python: info.label(),
                capacity: caps.iter().sum::<f64>() / caps.len().max(1) as f64,
                repeat,
            });
        }
    }

    let convoy = if args.no_convoy {
        None
    } else {
        if chatty {
            eprint!("\rconvoy · native and CPython…                         ");
        }
        Some(measure_convoy(&python, &cancel)?)
    };
    let native = if args.workloads.iter().any(|w| w == "native") {
        measure_native(&native, &python, workers, chatty, &cancel)?
    } else {
        Vec::new()
    };
    if chatty {
        eprint!("\r{:60}\r", "");
    }
    let report = Fidelity {
        python: info.label(),
        workers,
        repeat,
        capacity_spinners: spinners,
        load_before,
        load_after: load_average(),
        rows,
        convoy,
        native,
    };
    crate::out!("{}", super::exporter(args.format).export(&report));
    let failed = report
        .rows
        .iter()
        .any(|r| r.native_answer.is_none() || r.cpython_answer.is_none());
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The convoy effect: the native scene with the simulated GIL on, then CPython's.
fn measure_convoy(python: &CpythonRunner, cancel: &CancelToken) -> Result<ConvoyRow, CliError> {
    let mut spec = RunSpec::new("convoy", Model::Threads, 2);
    spec.args.size = CONVOY_MS;
    let native = runtime::run(&spec, &Sink::null(), cancel)?;
    let d = native.details.unwrap_or_default();
    let c = python
        .convoy(CONVOY_MS, cancel)
        .map_err(|e| CliError::Other(anyhow::anyhow!("CPython convoy: {e}")))?;
    Ok(ConvoyRow {
        native_median_ms: d["wake_latency_ms"]["median"].as_f64().unwrap_or(0.0),
        native_wakeups: d["wakeups"].as_u64().unwrap_or(0),
        cpython_median_ms: c.median_ms,
        cpython_alone_median_ms: c.alone_median_ms,
        cpython_wakeups: c.wakeups,
        switch_interval_ms: c.switch_interval_ms,
    })
}

/// The `native` scene's three variants, each in both runtimes.
fn measure_native(
    native: &dyn Runner,
    python: &CpythonRunner,
    workers: usize,
    chatty: bool,
    cancel: &CancelToken,
) -> Result<Vec<NativeRow>, CliError> {
    let mut out = Vec::new();
    for kind in crate::core::CodeKind::ALL {
        let mut spec = RunSpec::new("native", Model::Threads, workers);
        spec.args.variant = Some(kind.name().into());
        if chatty {
            eprint!("\rnative · {} · both runtimes…               ", kind.name());
        }
        let n = run_one(native, &spec, cancel)?.details.unwrap_or_default();
        let c = run_one(python, &spec, cancel)?.details.unwrap_or_default();
        let f = |d: &serde_json::Value, a: &str, b: &str| d[a][b].as_f64().unwrap_or(0.0);
        out.push(NativeRow {
            variant: kind.name().into(),
            native_speedup: n["speedup"].as_f64().unwrap_or(0.0),
            cpython_speedup: c["speedup"].as_f64().unwrap_or(0.0),
            native_call_ms: f(&n, "native_call_ms", "median"),
            cpython_call_ms: f(&c, "native_call_ms", "median"),
            native_worst_ms: f(&n, "bystander_ms", "worst"),
            cpython_worst_ms: f(&c, "bystander_ms", "worst"),
            native_median_ms: f(&n, "bystander_ms", "median"),
            cpython_median_ms: f(&c, "bystander_ms", "median"),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }
}
