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
use crate::runtime::{self, CpythonRunner, PythonInfo, StartMethod, sizes};

/// The models fidelity compares: the four every CPython runs (subinterpreters need 3.13+
/// and are compared by `conlab compare --runtime cpython --models …,interpreters`).
const MODELS: [Model; 4] = [
    Model::Sequential,
    Model::Threads,
    Model::Processes,
    Model::Async,
];

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
    /// Every interpreter, in `--python` order (the first is also `cpython_*` above).
    pub interpreters: Vec<Cell>,
}

/// One interpreter's figures in a [`Row`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Cell {
    /// "CPython 3.13.5 free-threaded, GIL off".
    pub python: String,
    /// "3.13.5t": the column's name.
    pub short: String,
    pub elapsed_s: f64,
    pub speedup: f64,
    /// (native ÷ this interpreter − 1) × 100, speed-ups.
    pub diff_pct: f64,
    pub within_10pct: bool,
    pub cores_busy: f64,
    pub answer: Option<String>,
}

/// The single-thread tax of one workload: each interpreter's sequential time against a
/// GIL build's, and what the simulation charges for turning its GIL off.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TaxRow {
    pub workload: String,
    /// The interpreter the others are measured against, and its sequential median.
    pub reference: String,
    pub reference_seq_s: f64,
    pub interpreters: Vec<TaxCell>,
    /// The simulation's sequential median with its GIL off ÷ with it on, measured beside
    /// (`None` when the simulation ran with its GIL on). It applies no tax factor.
    pub native_gil_off_over_on: Option<f64>,
    /// Inconclusive when other programs kept half a core busy during the sequential runs.
    pub verdict: super::verdict::State,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TaxCell {
    pub python: String,
    pub short: String,
    /// Its sequential median ÷ the reference's: the tax (1.00× = none).
    pub sequential_ratio: f64,
    /// Its threads' median ÷ the reference's sequential median: below 1 the threads beat
    /// one thread of the reference.
    pub threads_ratio: f64,
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
    /// The first interpreter (all of them: `pythons`).
    pub python: String,
    pub pythons: Vec<String>,
    /// The simulation's GIL (and free-threaded interpreters' with it; a GIL build keeps its).
    pub gil: bool,
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
    /// The single-thread tax, per workload (empty when there is nothing to measure it
    /// against; `notes` says why).
    pub tax: Vec<TaxRow>,
    /// CPython's own GIL measurement (3.15+) beside the simulation's.
    pub gil_shares: Vec<super::gil_shares::GilShares>,
    /// What was not measured, and why.
    pub notes: Vec<String>,
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
    /// The interpreters, compared in this order (the first is the tax's reference).
    pub pythons: Vec<PathBuf>,
    /// The simulation's GIL, and free-threaded interpreters' (`--gil`).
    pub gil: bool,
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
    let unreaped = r.as_ref().map(|r| r.unreaped_cpu).unwrap_or_default();
    let (wall, others) = watch.end(unreaped);
    seen.merge(&Interference::of(wall, others, None));
    let r = r?;
    if r.cancelled {
        return Err(LabError::Refused("cancelled".into()));
    }
    Ok(r)
}

/// The interpreters to compare, probed, each with the GIL it runs with.
struct Interp {
    info: PythonInfo,
    runner: CpythonRunner,
    gil: bool,
}

impl Interp {
    fn label(&self) -> String {
        self.info.label_for(self.gil)
    }
}

/// Probe every `--python`; `--gil off` needs at least one free-threaded build (a GIL
/// build beside it runs with its GIL, and is named so).
fn interpreters(args: &FidelityOptions) -> Result<Vec<Interp>, LabError> {
    if args.pythons.is_empty() {
        return Err(LabError::Refused("invalid --python: none given".into()));
    }
    let mut out = Vec::new();
    for p in args.pythons.iter().take(MAX_PYTHONS) {
        let info = runtime::python::probe(p).map_err(|e| LabError::Refused(e.to_string()))?;
        let gil = if info.free_threaded_build {
            args.gil
        } else {
            true
        };
        out.push(Interp {
            runner: CpythonRunner::new(info.clone(), args.start_method),
            info,
            gil,
        });
    }
    if !args.gil && !out.iter().any(|i| i.info.free_threaded_build) {
        let why = out[0].info.cannot_disable_gil().unwrap_or_default();
        return Err(LabError::Refused(why));
    }
    Ok(out)
}

/// The most `--python` values one table compares.
pub const MAX_PYTHONS: usize = 6;

/// The GIL build the single-thread tax is measured against: the first of several
/// interpreters; for a lone free-threaded one, a GIL build of the same version found by
/// `--python`'s lookup (measured sequentially only). `Err` says why there is none.
fn tax_reference(interps: &[Interp], args: &FidelityOptions) -> Result<Option<Interp>, String> {
    if interps.len() > 1 {
        return Ok(None);
    }
    let only = &interps[0].info;
    if !only.free_threaded_build {
        return Err(format!(
            "single-thread tax: not measured ({} is a GIL build; compare a free-threaded \
             one against it with two --python, e.g. --python 3.13 --python 3.13t)",
            only.label_for(true)
        ));
    }
    let (a, b, _) = only.version;
    let name = format!("{a}.{b}");
    let found = runtime::locate::resolve(
        std::path::Path::new(&name),
        &runtime::locate::Places::from_env(),
    )
    .and_then(|p| runtime::python::probe(&p).map_err(|e| e.to_string()));
    match found {
        Ok(info) if !info.free_threaded_build => Ok(Some(Interp {
            runner: CpythonRunner::new(info.clone(), args.start_method),
            info,
            gil: true,
        })),
        Ok(_) | Err(_) => Err(format!(
            "single-thread tax: not measured (no GIL build of {name} found to measure {} \
             against; pass one first: --python {name} --python {name}t)",
            only.short()
        )),
    }
}

/// One model's runs of one workload.
#[derive(Default)]
struct ModelRuns {
    native: Vec<RunReport>,
    /// Per interpreter.
    cpython: Vec<Vec<RunReport>>,
    capacity: Vec<f64>,
    seen: Interference,
}

fn med(rs: &[RunReport]) -> f64 {
    median(
        &rs.iter()
            .map(|r| r.elapsed.as_secs_f64())
            .collect::<Vec<_>>(),
    )
}

fn busy(rs: &[RunReport]) -> f64 {
    median(
        &rs.iter()
            .map(RunReport::cpu_utilisation)
            .collect::<Vec<_>>(),
    )
}

/// Measure every workload under every model in the simulation and each interpreter,
/// interleaved, with the machine's capacity beside each; then the single-thread tax,
/// CPython's own GIL measurement (3.15+), the convoy and the native scene.
pub fn measure(args: &FidelityOptions, cancel: &CancelToken) -> Result<Fidelity, LabError> {
    check(args)?;
    let workers = args.workers;
    if workers == 0 {
        return Err(LabError::Refused(
            "invalid --workers: must be at least 1".into(),
        ));
    }
    let interps = interpreters(args)?;
    let mut notes = Vec::new();
    if args.pythons.len() > MAX_PYTHONS {
        notes.push(format!(
            "only the first {MAX_PYTHONS} --python were compared"
        ));
    }
    let extra_ref = match tax_reference(&interps, args) {
        Ok(r) => r,
        Err(why) => {
            notes.push(why);
            None
        }
    };
    let tax_wanted = interps.len() > 1 || extra_ref.is_some();
    let native = runtime::NativeRunner;
    let chatty = args.chatty;
    let spinners = workers
        .min(crate::sys::cgroup::given().default_workers())
        .max(1);
    let load_before = load_average();
    let repeat = args.repeat;
    let seq = MODELS
        .iter()
        .position(|m| *m == Model::Sequential)
        .unwrap_or(0);
    let threads = MODELS
        .iter()
        .position(|m| *m == Model::Threads)
        .unwrap_or(1);

    let mut rows = Vec::new();
    let mut tax = Vec::new();
    // The native scene runs on threads only, beside its bystander: its own section.
    for name in args.workloads.iter().filter(|w| *w != "native") {
        let w = crate::workload::find(name).ok_or_else(|| LabError::Refused(name.clone()))?;
        let size_for = |rt| args.size.unwrap_or_else(|| runtime::default_size(rt, w));
        let spec = |model, size, gil: bool| {
            let mut s = RunSpec::new(name, model, workers);
            s.args.size = size;
            s.gil.enabled = gil;
            s
        };
        let (native_size, cpython_size) = (
            size_for(crate::core::Runtime::Native),
            size_for(crate::core::Runtime::Cpython),
        );
        let mut per_model: Vec<ModelRuns> = MODELS
            .iter()
            .map(|_| ModelRuns {
                cpython: interps.iter().map(|_| Vec::new()).collect(),
                ..ModelRuns::default()
            })
            .collect();
        // The tax's extra sequential runs: a found GIL build, the simulation with its GIL on.
        let mut ref_seq = Vec::new();
        let mut native_on_seq = Vec::new();
        for rep in 0..repeat {
            for (i, &model) in MODELS.iter().enumerate() {
                if chatty {
                    eprint!("\r{name} · {model} · capacity…                    ");
                }
                let m = &mut per_model[i];
                m.capacity
                    .push(crate::exec::capacity::measure(spinners, cancel));
                if chatty {
                    eprint!(
                        "\r{name} · {model} · native {}/{repeat}…          ",
                        rep + 1
                    );
                }
                m.native.push(run_watched(
                    &native,
                    &spec(model, native_size, args.gil),
                    cancel,
                    &mut m.seen,
                )?);
                for (k, it) in interps.iter().enumerate() {
                    if chatty {
                        eprint!(
                            "\r{name} · {model} · {} {}/{repeat}…          ",
                            it.info.short(),
                            rep + 1
                        );
                    }
                    m.cpython[k].push(run_watched(
                        &it.runner,
                        &spec(model, cpython_size, it.gil),
                        cancel,
                        &mut m.seen,
                    )?);
                }
                if i == seq {
                    if let Some(r) = &extra_ref {
                        ref_seq.push(run_watched(
                            &r.runner,
                            &spec(model, cpython_size, true),
                            cancel,
                            &mut m.seen,
                        )?);
                    }
                    if !args.gil && tax_wanted {
                        native_on_seq.push(run_watched(
                            &native,
                            &spec(model, native_size, true),
                            cancel,
                            &mut m.seen,
                        )?);
                    }
                }
            }
        }
        let all_native: Vec<&RunReport> = per_model.iter().flat_map(|m| &m.native).collect();
        let na = one_answer(&all_native);
        let cas: Vec<Option<String>> = (0..interps.len())
            .map(|k| {
                one_answer(
                    &per_model
                        .iter()
                        .flat_map(|m| &m.cpython[k])
                        .collect::<Vec<_>>(),
                )
            })
            .collect();
        let agree = na.is_some()
            && cas.iter().all(|c| c.is_some() && *c == cas[0])
            && (native_size != cpython_size || na == cas[0]);
        let nseq = med(&per_model[seq].native);
        let cseqs: Vec<f64> = (0..interps.len())
            .map(|k| med(&per_model[seq].cpython[k]))
            .collect();
        for (i, &model) in MODELS.iter().enumerate() {
            let m = &per_model[i];
            let ne = med(&m.native);
            let cells: Vec<Cell> = interps
                .iter()
                .enumerate()
                .map(|(k, it)| {
                    let ce = med(&m.cpython[k]);
                    let (_, speedup, diff_pct, within) = compare(nseq, ne, cseqs[k], ce);
                    Cell {
                        python: it.label(),
                        short: it.info.short(),
                        elapsed_s: ce,
                        speedup,
                        diff_pct,
                        within_10pct: within,
                        cores_busy: busy(&m.cpython[k]),
                        answer: one_answer(&m.cpython[k].iter().collect::<Vec<_>>()),
                    }
                })
                .collect();
            let (native_speedup, _, _, _) = compare(nseq, ne, cseqs[0], cells[0].elapsed_s);
            // A speed-up leans on its sequential baseline: both rows' load counts.
            let mut load = m.seen;
            if i != seq {
                load.merge(&per_model[seq].seen);
            }
            let verdict = match load.others_cores {
                Some(o) if o >= 0.5 => super::verdict::State::inconclusive(format!(
                    "other programs kept {o:.1} cores busy during these runs"
                )),
                _ => super::verdict::State::Conclusive,
            };
            let first = &cells[0];
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
                cpython_elapsed_s: first.elapsed_s,
                native_speedup,
                cpython_speedup: first.speedup,
                diff_pct: first.diff_pct,
                within_10pct: first.within_10pct,
                native_cores_busy: busy(&m.native),
                cpython_cores_busy: first.cores_busy,
                native_answer: one_answer(&m.native.iter().collect::<Vec<_>>()),
                cpython_answer: first.answer.clone(),
                answers_agree: agree,
                python: first.python.clone(),
                capacity: m.capacity.iter().sum::<f64>() / m.capacity.len().max(1) as f64,
                repeat,
                others_cores: load.others_cores,
                verdict,
                interpreters: cells,
            });
        }
        if tax_wanted {
            let (reference, reference_seq_s) = match &extra_ref {
                Some(r) => (r.label(), med(&ref_seq)),
                None => (interps[0].label(), cseqs[0]),
            };
            let ratio = |x: f64| {
                if reference_seq_s > 0.0 {
                    x / reference_seq_s
                } else {
                    0.0
                }
            };
            tax.push(TaxRow {
                verdict: match per_model[seq].seen.others_cores {
                    Some(o) if o >= 0.5 => super::verdict::State::inconclusive(format!(
                        "other programs kept {o:.1} cores busy during the sequential runs"
                    )),
                    _ => super::verdict::State::Conclusive,
                },
                workload: name.clone(),
                reference,
                reference_seq_s,
                interpreters: interps
                    .iter()
                    .enumerate()
                    .map(|(k, it)| TaxCell {
                        python: it.label(),
                        short: it.info.short(),
                        sequential_ratio: ratio(cseqs[k]),
                        threads_ratio: ratio(med(&per_model[threads].cpython[k])),
                    })
                    .collect(),
                native_gil_off_over_on: (!native_on_seq.is_empty()).then(|| {
                    let on = med(&native_on_seq);
                    if on > 0.0 { nseq / on } else { 0.0 }
                }),
            });
        }
    }

    let mut gil_shares = Vec::new();
    let sampled_workload = args
        .workloads
        .iter()
        .find(|w| *w == "primes")
        .or_else(|| args.workloads.iter().find(|w| *w != "native"));
    for it in &interps {
        if !it.runner.can_sample_gil() {
            continue;
        }
        if !it.gil {
            notes.push(format!(
                "CPython's own GIL measurement: not taken for {} (no GIL to measure)",
                it.label()
            ));
            continue;
        }
        let Some(wl) = sampled_workload else { continue };
        if chatty {
            eprint!(
                "\r{wl} · threads · CPython's GIL sampler ({})…      ",
                it.info.short()
            );
        }
        match super::gil_shares::measure(&it.runner, &it.label(), wl, workers, args.size, cancel) {
            Ok(g) => gil_shares.push(g),
            Err(e) => notes.push(format!(
                "CPython's own GIL measurement ({}): {e}",
                it.info.short()
            )),
        }
    }
    if !interps.iter().any(|i| i.runner.can_sample_gil()) {
        notes.push(format!(
            "CPython's own GIL measurement: needs Python {}.{}+ (profiling.sampling); \
             add one with --python 3.15",
            runtime::cpython::SAMPLER_VERSION.0,
            runtime::cpython::SAMPLER_VERSION.1
        ));
    }

    let first = &interps[0];
    let convoy = if !args.convoy {
        None
    } else if !first.gil {
        notes.push(format!(
            "convoy: not measured ({} runs without a GIL)",
            first.label()
        ));
        None
    } else {
        if chatty {
            eprint!("\rconvoy · native and CPython…                         ");
        }
        Some(measure_convoy(&first.runner, cancel)?)
    };
    let native_rows = if args.workloads.iter().any(|w| w == "native") {
        measure_native(&native, &first.runner, workers, chatty, cancel)?
    } else {
        Vec::new()
    };
    if chatty {
        eprint!("\r{:60}\r", "");
    }
    let report = Fidelity {
        python: first.label(),
        pythons: interps.iter().map(Interp::label).collect(),
        gil: args.gil,
        workers,
        repeat,
        capacity_spinners: spinners,
        load_before,
        load_after: load_average(),
        rows,
        convoy,
        native: native_rows,
        tax,
        gil_shares,
        notes,
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
