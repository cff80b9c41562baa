//! A fidelity report → text: one exporter per format, each returning the whole output.

mod json;
mod markdown;
mod table;

use crate::experiment::fidelity::{Fidelity, Row};
use crate::report::FidelityFormat;

/// Renders a fidelity report.
pub trait FidelityExporter {
    fn export(&self, f: &Fidelity) -> String;
}

pub fn exporter(format: FidelityFormat) -> Box<dyn FidelityExporter> {
    match format {
        FidelityFormat::Table => Box::new(table::Table),
        FidelityFormat::Json => Box::new(json::Json),
        FidelityFormat::Markdown => Box::new(markdown::Markdown),
    }
}

/// "+4.8%", or "—" when CPython's speed-up was 0.
fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{x:+.1}%")
    } else {
        "—".into()
    }
}

fn verdict(r: &Row) -> &'static str {
    match (&r.verdict, r.within_10pct) {
        (crate::experiment::verdict::State::Inconclusive { .. }, _) => "? inconclusive (busy)",
        (_, true) => "✓ within ±10%",
        (_, false) => "✗ outside ±10%",
    }
}

fn answers(r: &Row) -> String {
    let mark = if r.answers_agree { "✓" } else { "✗" };
    match (&r.native_answer, &r.cpython_answer) {
        (Some(n), Some(c)) if n == c => format!("{n} {mark}"),
        (n, c) => format!(
            "{} / {} {mark}",
            n.as_deref().unwrap_or("failed"),
            c.as_deref().unwrap_or("failed")
        ),
    }
}

/// The line above the rows: what was compared, on what machine state.
fn heading(f: &Fidelity) -> String {
    let load = match (f.load_before, f.load_after) {
        (Some(a), Some(b)) => format!(" · load {a:.2} → {b:.2}"),
        _ => String::new(),
    };
    let pythons = if f.pythons.is_empty() {
        f.python.clone()
    } else {
        f.pythons.join(" | ")
    };
    format!(
        "fidelity — native (simulated GIL {}) vs {} · {} workers · {} repeat{}{load}",
        if f.gil { "on" } else { "off" },
        pythons,
        f.workers,
        f.repeat,
        if f.repeat == 1 { "" } else { "s" }
    )
}

fn convoy_line(f: &Fidelity) -> Option<String> {
    let c = f.convoy.as_ref()?;
    Some(format!(
        "convoy (a thread napping 1 ms beside a CPU-bound thread, switch interval {} ms): \
         native waits {:.3} ms for the GIL per wake-up (median of {}); CPython runs again \
         {:.3} ms after each nap (median of {}; {:.3} ms with no CPU-bound thread)",
        c.switch_interval_ms,
        c.native_median_ms,
        c.native_wakeups,
        c.cpython_median_ms,
        c.cpython_wakeups,
        c.cpython_alone_median_ms
    ))
}

/// A cell of a table of several interpreters: "0.94× +6.4% ✓".
fn cell(r: &Row, c: &crate::experiment::fidelity::Cell) -> String {
    let mark = match (&r.verdict, c.within_10pct) {
        (crate::experiment::verdict::State::Inconclusive { .. }, _) => "?",
        (_, true) => "✓",
        (_, false) => "✗",
    };
    format!("{:.2}× {} {mark}", c.speedup, pct(c.diff_pct))
}

/// The single-thread tax, the simulation's GIL-off figures beside it; CPython's own GIL
/// measurement beside the simulated lanes; what was not measured. Lines ending in newlines.
fn extra_lines(f: &Fidelity) -> String {
    let mut out = String::new();
    if let Some(first) = f.tax.first() {
        out += &format!(
            "\nsingle-thread tax — sequential time ÷ {}'s at the same size; threads = the \
             threads' time ÷ that same sequential time (below 1.00× they beat one thread of it):\n",
            first.reference
        );
        for t in &f.tax {
            let cells: Vec<String> = t
                .interpreters
                .iter()
                .map(|c| {
                    format!(
                        "{} sequential {:.2}×, threads {:.2}×",
                        c.short, c.sequential_ratio, c.threads_ratio
                    )
                })
                .collect();
            let sim = match t.native_gil_off_over_on {
                Some(x) => format!(
                    " · simulation, GIL off: sequential {x:.2}× its GIL-on time (measured; it \
                     applies no tax factor)"
                ),
                None => " · simulation: applies no tax factor".to_string(),
            };
            let busy = match &t.verdict {
                crate::experiment::verdict::State::Inconclusive { reason } => {
                    format!(" · ? inconclusive ({reason})")
                }
                _ => String::new(),
            };
            out += &format!("  {:<13} {}{sim}{busy}\n", t.workload, cells.join(" · "));
        }
    }
    for g in &f.gil_shares {
        out += &format!(
            "\nCPython's own GIL ({}, python -m profiling.sampling) beside the simulation's — \
             {} under threads, {} workers (sizes native {} / CPython {}):\n",
            g.python, g.workload, g.workers, g.native_size, g.cpython_size
        );
        let line = |who: &str, t: &crate::experiment::gil_shares::ThreadShare, turns: &str| {
            format!(
                "  {who:<8} {:<13} held {:>5.1}%  waiting {:>5.1}%  released {:>5.1}%  {} {turns}\n",
                t.name,
                t.held * 100.0,
                t.waiting * 100.0,
                t.released * 100.0,
                t.turns
            )
        };
        for t in &g.cpython {
            out += &line("CPython", t, "turns");
        }
        for t in &g.native {
            out += &line("native", t, "waits");
        }
        let mark = match (&g.verdict, g.within_10_points) {
            (crate::experiment::verdict::State::Inconclusive { reason }, _) => {
                format!("? inconclusive ({reason})")
            }
            (_, true) => "✓ within ±10 points".into(),
            (_, false) => "✗ outside ±10 points".into(),
        };
        out += &format!(
            "  GIL-wait share: native {:.1}% vs CPython {:.1}% ({:+.1} points) {mark}\n",
            g.native_wait_share * 100.0,
            g.cpython_wait_share * 100.0,
            g.diff_points
        );
    }
    if !f.notes.is_empty() {
        out += "\n";
        for n in &f.notes {
            out += &format!("note: {n}\n");
        }
    }
    out
}

/// One line per variant of the `native` scene, each ending in a newline.
fn native_lines(f: &Fidelity) -> String {
    f.native
        .iter()
        .map(|n| {
            format!(
                "native {:<11} threads {:.2}× (CPython {:.2}×); bystander waits worst {:.1} ms, \
                 median {:.2} ms (CPython {:.1} / {:.2} ms); one call {:.1} ms (CPython {:.1} ms)\n",
                n.variant,
                n.native_speedup,
                n.cpython_speedup,
                n.native_worst_ms,
                n.native_median_ms,
                n.cpython_worst_ms,
                n.cpython_median_ms,
                n.native_call_ms,
                n.cpython_call_ms,
            )
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod fixture {
    use crate::core::Model;
    use crate::experiment::fidelity::{Cell, ConvoyRow, Fidelity, NativeRow, Row};

    pub fn report() -> Fidelity {
        let cell = |cs: f64, ns: f64, within| Cell {
            python: "CPython 3.11.7 · GIL".into(),
            short: "3.11.7".into(),
            elapsed_s: 3.2 / cs,
            speedup: cs,
            diff_pct: (ns / cs - 1.0) * 100.0,
            within_10pct: within,
            cores_busy: 1.0,
            answer: Some("148933".into()),
        };
        let row = |model, ns, cs, within| Row {
            interpreters: vec![cell(cs, ns, within)],
            workload: "primes".into(),
            model,
            workers: 2,
            native_size: 20_000_000,
            cpython_size: 2_000_000,
            native_elapsed_s: 3.0 / ns,
            cpython_elapsed_s: 3.2 / cs,
            native_speedup: ns,
            cpython_speedup: cs,
            diff_pct: (ns / cs - 1.0) * 100.0,
            within_10pct: within,
            others_cores: Some(0.02),
            verdict: crate::experiment::verdict::State::Conclusive,
            native_cores_busy: 1.0,
            cpython_cores_busy: 1.0,
            native_answer: Some("1270607".into()),
            cpython_answer: Some("148933".into()),
            answers_agree: true,
            python: "CPython 3.11.7 · GIL".into(),
            capacity: 1.9,
            repeat: 1,
        };
        Fidelity {
            python: "CPython 3.11.7 · GIL".into(),
            pythons: vec!["CPython 3.11.7 · GIL".into()],
            gil: true,
            tax: Vec::new(),
            gil_shares: Vec::new(),
            notes: vec!["single-thread tax: not measured (a GIL build)".into()],
            workers: 2,
            repeat: 1,
            capacity_spinners: 2,
            load_before: Some(0.5),
            load_after: Some(0.7),
            rows: vec![
                row(Model::Sequential, 1.0, 1.0, true),
                row(Model::Threads, 0.95, 0.98, true),
                row(Model::Processes, 1.9, 1.6, false),
            ],
            convoy: Some(ConvoyRow {
                native_median_ms: 5.1,
                native_wakeups: 190,
                cpython_median_ms: 5.2,
                cpython_alone_median_ms: 0.06,
                cpython_wakeups: 180,
                switch_interval_ms: 5.0,
            }),
            native: vec![NativeRow {
                variant: "holding".into(),
                native_speedup: 1.0,
                cpython_speedup: 0.98,
                native_call_ms: 40.0,
                cpython_call_ms: 41.0,
                native_worst_ms: 81.0,
                cpython_worst_ms: 83.0,
                native_median_ms: 30.0,
                cpython_median_ms: 31.0,
            }],
        }
    }

    /// `--gil off` against 3.11 and 3.13t: the simulation's GIL off, 3.11 keeps its GIL.
    pub fn free_threaded() -> Fidelity {
        use crate::experiment::fidelity::{TaxCell, TaxRow};
        use crate::experiment::gil_shares::{GilShares, ThreadShare};
        let mut f = report();
        f.gil = false;
        f.pythons = vec![
            "CPython 3.11.7 · GIL".into(),
            "CPython 3.13.5 free-threaded, GIL off".into(),
        ];
        for r in &mut f.rows {
            let mut c = r.interpreters[0].clone();
            c.python = f.pythons[1].clone();
            c.short = "3.13.5t".into();
            c.speedup = if r.model == Model::Sequential {
                1.0
            } else {
                1.78
            };
            c.diff_pct = (r.native_speedup / c.speedup - 1.0) * 100.0;
            r.interpreters.push(c);
        }
        f.tax = vec![TaxRow {
            workload: "primes".into(),
            reference: "CPython 3.11.7 · GIL".into(),
            reference_seq_s: 2.45,
            interpreters: vec![
                TaxCell {
                    python: f.pythons[0].clone(),
                    short: "3.11.7".into(),
                    sequential_ratio: 1.0,
                    threads_ratio: 1.06,
                },
                TaxCell {
                    python: f.pythons[1].clone(),
                    short: "3.13.5t".into(),
                    sequential_ratio: 1.68,
                    threads_ratio: 0.94,
                },
            ],
            native_gil_off_over_on: Some(1.01),
            verdict: crate::experiment::verdict::State::inconclusive(
                "other programs kept 1.2 cores busy during the sequential runs",
            ),
        }];
        let share = |name: &str, held, waiting| ThreadShare {
            name: name.into(),
            held,
            waiting,
            released: 1.0 - held - waiting,
            turns: 190,
        };
        f.gil_shares = vec![GilShares {
            python: "CPython 3.15.2 · GIL".into(),
            workload: "primes".into(),
            workers: 2,
            native_size: 20_000_000,
            cpython_size: 2_000_000,
            cpython: vec![
                share("thread 11", 0.49, 0.48),
                share("thread 12", 0.5, 0.47),
            ],
            native: vec![share("worker 0", 0.5, 0.5), share("worker 1", 0.5, 0.49)],
            cpython_wait_share: 0.475,
            native_wait_share: 0.495,
            diff_points: 2.0,
            within_10_points: true,
            verdict: crate::experiment::verdict::State::Conclusive,
        }];
        f.notes = vec!["convoy: not measured".into()];
        f
    }
}
