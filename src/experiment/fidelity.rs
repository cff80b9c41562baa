//! `conlab fidelity`: how far the simulation is from the real thing. Each workload runs
//! under every model in both runtimes, interleaved (native, CPython, native, CPython, …)
//! so a drifting machine hits both alike; per model it compares each runtime's speed-up
//! over its own sequential run, with the machine's capacity measured in the same run. It
//! also measures the convoy effect in both.

use std::path::PathBuf;

use serde::Serialize;

use crate::core::{LabError, Model};
use crate::exec::{CancelToken, RunReport, RunSpec, Runner, Sink};
use crate::observe::Interference;
use crate::observe::interference::MachineWatch;
use crate::runtime::{self, CpythonRunner, StartMethod, sizes};

/// The verdict's tolerance: speed-ups within ±10% of each other agree.
pub const TOLERANCE_PCT: f64 = 10.0;

/// One workload under one model in both runtimes: the keys of `--format json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    pub workload: String,
    pub model: Model,
    pub workers: usize,
    pub native_size: u64,
    pub cpython_size: u64,
    /// Median elapsed over the repeats.
    pub native_elapsed_s: f64,
    pub cpython_elapsed_s: f64,
    /// Over the same runtime's own sequential median.
    pub native_speedup: f64,
    pub cpython_speedup: f64,
    /// (native ÷ CPython − 1) × 100.
    pub diff_pct: f64,
    pub within_10pct: bool,
    /// Cores busy on average (CPU ÷ elapsed), median.
    pub native_cores_busy: f64,
    pub cpython_cores_busy: f64,
    pub native_answer: Option<String>,
    pub cpython_answer: Option<String>,
    /// Every run of this workload in this runtime gave the same answer (and, at the same
    /// size, both runtimes gave the same one).
    pub answers_agree: bool,
    /// The interpreter, e.g. "CPython 3.11.7 · GIL".
    pub python: String,
    /// Machine capacity measured right before this model's runs (mean over repeats).
    pub capacity: f64,
    pub repeat: usize,
    /// Cores other programs kept busy on average during this row's runs (both runtimes
    /// and the sequential baselines); `None` without `/proc/stat`.
    pub others_cores: Option<f64>,
    /// Whether the comparison can be trusted: inconclusive when other programs kept at
    /// least half a core busy (a ✗ then is no evidence against the simulation).
    pub verdict: super::verdict::State,
}

/// The convoy effect in both runtimes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConvoyRow {
    /// Native, simulated GIL on: median wait for the GIL after a 1 ms nap.
    pub native_median_ms: f64,
    pub native_wakeups: u64,
    /// CPython: median time past each 1 ms nap before the thread ran again.
    pub cpython_median_ms: f64,
    /// CPython with no CPU-bound thread beside it: the timer's slack alone.
    pub cpython_alone_median_ms: f64,
    pub cpython_wakeups: u64,
    pub switch_interval_ms: f64,
}

/// The `native` scene, one variant, in both runtimes: the threads' speed-up over the
/// same calls made one after another, and how long a bystander napping 1 ms waited.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NativeRow {
    /// interpreted, releasing or holding.
    pub variant: String,
    pub native_speedup: f64,
    pub cpython_speedup: f64,
    /// Median length of one call (native: sha256 of the size in MiB; CPython: calibrated).
    pub native_call_ms: f64,
    pub cpython_call_ms: f64,
    /// The bystander's worst and median wait after a nap, during the threads phase.
    pub native_worst_ms: f64,
    pub cpython_worst_ms: f64,
    pub native_median_ms: f64,
    pub cpython_median_ms: f64,
}

/// A whole fidelity report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fidelity {
    pub python: String,
    pub workers: usize,
    pub repeat: usize,
    /// Spinners used to measure capacity (min(workers, cores)).
    pub capacity_spinners: usize,
    /// The 1-minute load average before and after (other programs on the machine).
    pub load_before: Option<f64>,
    pub load_after: Option<f64>,
    pub rows: Vec<Row>,
    pub convoy: Option<ConvoyRow>,
    /// The `native` scene's three variants (when `native` is among the workloads).
    pub native: Vec<NativeRow>,
}

/// Speed-ups and verdict of one row from both runtimes' medians.
pub fn compare(
    native_seq: f64,
    native: f64,
    cpython_seq: f64,
    cpython: f64,
) -> (f64, f64, f64, bool) {
    let speedup = |seq: f64, x: f64| if x > 0.0 { seq / x } else { 0.0 };
    let (n, c) = (speedup(native_seq, native), speedup(cpython_seq, cpython));
    let diff = if c > 0.0 {
        (n / c - 1.0) * 100.0
    } else {
        f64::INFINITY
    };
    (n, c, diff, diff.abs() <= TOLERANCE_PCT)
}

/// The 1-minute load average, from /proc/loadavg.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// What `fidelity` measures: built by the command from its flags.
#[derive(Clone, Debug)]
pub struct FidelityOptions {
    pub workloads: Vec<String>,
    pub workers: usize,
    pub repeat: usize,
    /// One size for every workload, or each runtime's default.
    pub size: Option<u64>,
    pub python: PathBuf,
    pub start_method: Option<StartMethod>,
    pub convoy: bool,
    /// Say on stderr what is being measured.
    pub chatty: bool,
}

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

fn check(args: &FidelityOptions) -> Result<(), LabError> {
    if args.workloads.is_empty() {
        return Err(LabError::Refused("invalid --workloads: none given".into()));
    }
    for w in &args.workloads {
        if crate::workload::find(w).is_none() {
            return Err(LabError::Refused(format!(
                "invalid --workloads: unknown workload `{w}`; choose from: {}",
                sizes::SUPPORTED.join(", ")
            )));
        }
        if !sizes::supported(w) {
            return Err(LabError::Refused(format!(
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
) -> Result<RunReport, LabError> {
    run_watched(runner, spec, cancel, &mut Interference::default())
}

/// [`run_one`], adding what other programs took meanwhile to `seen`.
fn run_watched(
    runner: &dyn Runner,
    spec: &RunSpec,
    cancel: &CancelToken,
    seen: &mut Interference,
) -> Result<RunReport, LabError> {
    let watch = MachineWatch::begin();
    let r = runner.run(spec, &Sink::null(), cancel);
    let (wall, others) = watch.end();
    seen.merge(&Interference::of(wall, others, None));
    let r = r?;
    if r.cancelled {
        return Err(LabError::Refused("cancelled".into()));
    }
    Ok(r)
}

/// Measure every workload under every model in both runtimes, interleaved, with the
/// machine's capacity beside each, then the convoy and the native scene.
pub fn measure(args: &FidelityOptions, cancel: &CancelToken) -> Result<Fidelity, LabError> {
    check(args)?;
    let workers = args.workers;
    if workers == 0 {
        return Err(LabError::Refused(
            "invalid --workers: must be at least 1".into(),
        ));
    }
    let info =
        runtime::python::probe(&args.python).map_err(|e| LabError::Refused(e.to_string()))?;
    let python = CpythonRunner::new(info.clone(), args.start_method);
    let native = runtime::NativeRunner;
    let chatty = args.chatty;
    let spinners = workers.min(crate::core::default_workers()).max(1);
    let load_before = load_average();
    let repeat = args.repeat;

    let mut rows = Vec::new();
    // The native scene runs on threads only, beside its bystander: its own section.
    for name in args.workloads.iter().filter(|w| *w != "native") {
        let w = crate::workload::find(name).ok_or_else(|| LabError::Refused(name.clone()))?;
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
        let mut seen: Vec<Interference> = Model::ALL.iter().map(|_| Default::default()).collect();
        for rep in 0..repeat {
            for (i, &model) in Model::ALL.iter().enumerate() {
                if chatty {
                    eprint!("\r{name} · {model} · capacity…                    ");
                }
                per_model[i]
                    .2
                    .push(crate::exec::capacity::measure(spinners, cancel));
                if chatty {
                    eprint!(
                        "\r{name} · {model} · native {}/{repeat}…          ",
                        rep + 1
                    );
                }
                per_model[i].0.push(run_watched(
                    &native,
                    &spec(model, native_size),
                    cancel,
                    &mut seen[i],
                )?);
                if chatty {
                    eprint!(
                        "\r{name} · {model} · CPython {}/{repeat}…         ",
                        rep + 1
                    );
                }
                per_model[i].1.push(run_watched(
                    &python,
                    &spec(model, cpython_size),
                    cancel,
                    &mut seen[i],
                )?);
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
            // A speed-up leans on its sequential baseline: both rows' load counts.
            let mut load = seen[i];
            if i > 0 {
                load.merge(&seen[0]);
            }
            let verdict = match load.others_cores {
                Some(o) if o >= 0.5 => super::verdict::State::inconclusive(format!(
                    "other programs kept {o:.1} cores busy during these runs"
                )),
                _ => super::verdict::State::Conclusive,
            };
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
                others_cores: load.others_cores,
                verdict,
            });
        }
    }

    let convoy = if !args.convoy {
        None
    } else {
        if chatty {
            eprint!("\rconvoy · native and CPython…                         ");
        }
        Some(measure_convoy(&python, cancel)?)
    };
    let native = if args.workloads.iter().any(|w| w == "native") {
        measure_native(&native, &python, workers, chatty, cancel)?
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
    Ok(report)
}

/// The convoy effect: the native scene with the simulated GIL on, then CPython's.
fn measure_convoy(python: &CpythonRunner, cancel: &CancelToken) -> Result<ConvoyRow, LabError> {
    let mut spec = RunSpec::new("convoy", Model::Threads, 2);
    spec.args.size = CONVOY_MS;
    let native = runtime::run(&spec, &Sink::null(), cancel)?;
    let d = native.details.unwrap_or_default();
    let c = python
        .convoy(CONVOY_MS, cancel)
        .map_err(|e| LabError::Failed(anyhow::anyhow!("CPython convoy: {e}")))?;
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
) -> Result<Vec<NativeRow>, LabError> {
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
    fn speedups_and_the_verdict() {
        // Native 4 s → 4.2 s (0.952×); CPython 3 s → 3 s (1.0×): 4.8% apart.
        let (n, c, d, ok) = compare(4.0, 4.2, 3.0, 3.0);
        assert!((n - 0.952).abs() < 0.001);
        assert_eq!(c, 1.0);
        assert!((d + 4.76).abs() < 0.01, "{d}");
        assert!(ok);
        // 1.9× vs 1.6×: 18.75% apart.
        let (_, _, d, ok) = compare(3.8, 2.0, 3.2, 2.0);
        assert!((d - 18.75).abs() < 0.01, "{d}");
        assert!(!ok);
        // A run that took no time never divides by zero.
        let (n, _, d, ok) = compare(1.0, 0.0, 1.0, 1.0);
        assert_eq!(n, 0.0);
        assert!(!ok && d.is_finite());
        let (_, _, d, ok) = compare(1.0, 1.0, 1.0, 0.0);
        assert!(!ok && d.is_infinite());
    }

    #[test]
    fn load_is_read_on_linux() {
        assert!(load_average().is_some_and(|l| l >= 0.0));
    }
}

#[cfg(test)]
mod measure_tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }
}
