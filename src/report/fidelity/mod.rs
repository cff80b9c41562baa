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
    format!(
        "fidelity — native (simulated GIL) vs {} · {} workers · {} repeat{}{load}",
        f.python,
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
    use crate::experiment::fidelity::{ConvoyRow, Fidelity, NativeRow, Row};

    pub fn report() -> Fidelity {
        let row = |model, ns, cs, within| Row {
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
}
