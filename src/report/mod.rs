//! Headless output: a comparison ([`comparison`]: the data `compare` fills) through one
//! exporter per format (table, JSON, CSV, markdown); runs as a trace for Perfetto
//! ([`trace`], streamed from the events). Rendered frames (screenshots) live in
//! `crate::frame`.

pub mod cpus;
pub mod crossover;
mod csv;
pub mod fidelity;
mod format;
mod json;
mod markdown;
pub mod run;
mod table;
mod verdict;

use crate::experiment::comparison::Comparison;
pub use format::{FidelityFormat, Format};

/// What each pool paid to start its workers and to copy tasks across to them, one line per
/// model that measured it (empty when none did): table and markdown print it under the
/// table, so interpreters are read beside processes and threads.
pub fn crossing_lines(c: &Comparison) -> Vec<String> {
    let width = c
        .rows
        .iter()
        .filter(|r| r.crossing.is_some())
        .map(|r| r.model.name().len())
        .max()
        .unwrap_or(0);
    c.rows
        .iter()
        .filter_map(|r| {
            let x = r.crossing.as_ref()?;
            let mut l = format!("{:width$}  {} — {}", r.model.name(), x.summary(), x.how);
            if let Some(n) = &x.startup_note {
                l += &format!(" (start-up {n})");
            }
            let throttled = r.interference.as_ref().and_then(|i| i.throttled_s);
            if throttled.is_some_and(|t| t > 0.0) {
                // Timed on the wall clock: a copy the quota held back took longer.
                l += " · timed while the quota throttled the run: longer than the work";
            }
            Some(l)
        })
        .collect()
}

/// Turns a comparison into one output format.
pub trait Exporter {
    fn export(&self, c: &Comparison) -> String;
}

pub fn exporter(format: Format) -> Box<dyn Exporter> {
    match format {
        Format::Table => Box::new(table::TableExporter),
        Format::Json => Box::new(json::JsonExporter),
        Format::Csv => Box::new(csv::CsvExporter),
        Format::Markdown => Box::new(markdown::MarkdownExporter),
    }
}

/// "1.93×", or "—" when there is nothing to compare with.
pub(crate) fn times(x: Option<f64>) -> String {
    x.map_or("—".into(), |v| format!("{v:.2}×"))
}

/// "97%", or "—".
pub(crate) fn percent(x: Option<f64>) -> String {
    x.map_or("—".into(), |v| format!("{:.0}%", v * 100.0))
}

/// A loop lag in ms ("12.3 ms"), or "—" for models without a loop.
pub(crate) fn lag_cell(ms: Option<f64>) -> String {
    ms.map_or("—".into(), |v| format!("{v:.1} ms"))
}

/// The kernel section's column heads (one row per model, beside the model's name).
pub(crate) const KERNEL_HEADER: [&str; 6] =
    ["counted", "on CPU", "runnable", "lock", "I/O", "asleep"];

/// Some model ran under a CPU quota: the kernel section has a "throttled" column.
pub(crate) fn kernel_quota(c: &Comparison) -> bool {
    c.rows
        .iter()
        .any(|r| r.kernel.as_ref().is_some_and(|k| k.throttled.is_some()))
}

/// The column heads, with "throttled" after "runnable" under a quota (`quota`).
pub(crate) fn kernel_header(quota: bool) -> Vec<&'static str> {
    let mut h = KERNEL_HEADER.to_vec();
    if quota {
        h.insert(3, "throttled");
    }
    h
}

/// A row's kernel cells: the threads counted of those seen, then each share (throttled
/// after runnable under a quota); "—" where the kernel was not seen.
pub(crate) fn kernel_cells(r: &crate::experiment::comparison::Row, quota: bool) -> Vec<String> {
    let n = kernel_header(quota).len();
    match &r.kernel {
        Some(k) => {
            let mut cells = vec![
                format!("{} of {}", k.threads_counted, k.threads_seen),
                percent(Some(k.on_cpu)),
                percent(Some(k.runnable)),
                percent(Some(k.lock)),
                percent(Some(k.io)),
                percent(Some(k.sleep)),
            ];
            if quota {
                cells.insert(3, percent(k.throttled));
            }
            cells
        }
        None => vec!["—".to_string(); n],
    }
}

/// Under a quota, what the "throttled" column is (lines of at most 80 columns).
pub(crate) fn kernel_throttled_note() -> [&'static str; 3] {
    [
        "throttled: runnable, but the CPU quota said no — the cgroup's throttled time",
        "(cpu.stat) shared out to the threads that waited: an estimate; runnable is the",
        "rest of their run-queue time (other threads or programs held the CPU)",
    ]
}

/// The kernel section's title, or why there is none; `None` when it was not asked for
/// (`--kernel off`) and nothing is to be said.
pub(crate) enum KernelSection<'a> {
    Shown { sample_ms: u64 },
    Missing(&'a str),
}

/// How the kernel was sampled, from the rows: "mean 5.0–5.1 ms apart, the sampler at most
/// 0.7% of a core" (empty where no row says).
pub(crate) fn kernel_sampling(c: &Comparison) -> String {
    let ks: Vec<&crate::observe::KernelShare> =
        c.rows.iter().filter_map(|r| r.kernel.as_ref()).collect();
    let range = |xs: Vec<f64>| {
        let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = xs.iter().copied().fold(0.0, f64::max);
        (!xs.is_empty()).then_some((lo, hi))
    };
    let mut parts = Vec::new();
    if let Some((lo, hi)) = range(ks.iter().filter_map(|k| k.sample_ms).collect()) {
        parts.push(if format!("{lo:.1}") == format!("{hi:.1}") {
            format!("mean {lo:.1} ms apart")
        } else {
            format!("mean {lo:.1}–{hi:.1} ms apart")
        });
    }
    if let Some((_, hi)) = range(ks.iter().filter_map(|k| k.sampler_cpu).collect()) {
        parts.push(format!("the sampler at most {:.1}% of a core", hi * 100.0));
    }
    parts.join(", ")
}

pub(crate) fn kernel_section(c: &Comparison) -> Option<KernelSection<'_>> {
    if let Some(note) = &c.kernel_note
        && c.rows.iter().all(|r| r.kernel.is_none())
    {
        return Some(KernelSection::Missing(note));
    }
    let sample_ms = c.kernel_sample_ms?;
    Some(KernelSection::Shown { sample_ms })
}

/// Which threads the kernel section counts, a footnote in lines of at most 80 columns
/// (the rule is [`crate::observe::share`]'s).
pub(crate) fn kernel_rule() -> [String; 3] {
    use crate::observe::share::{COMPUTING, WORKING};
    [
        "counted: of the run's threads seen, those doing its work, not those feeding or".into(),
        format!(
            "waiting for it — computing work (a thread on a CPU {:.0}% of its time): those on a",
            COMPUTING * 100.0
        ),
        format!(
            "CPU at least {:.0}% as much as the busiest; else those not mostly on a lock",
            WORKING * 100.0
        ),
    ]
}

/// The answer with ✓ when every model agrees, ✗ otherwise.
pub(crate) fn answer_cell(r: &crate::experiment::comparison::Row) -> String {
    match &r.answer {
        Some(a) if r.answers_agree => format!("{a} ✓"),
        Some(a) => format!("{a} ✗"),
        None if r.failed > 0 => format!("{} failed ✗", r.failed),
        None => "— ✗".into(),
    }
}

#[cfg(test)]
pub(crate) mod fixture {
    use crate::exec::Model;
    use crate::experiment::comparison::{Comparison, Row};
    use crate::experiment::verdict::State;
    use crate::observe::{Concurrency, Interference, KernelShare};

    /// What the kernel might see of each model on 2 cores with the GIL on.
    fn kernel(model: Model) -> KernelShare {
        let (on_cpu, runnable, lock, io, counted, seen) = match model {
            Model::Sequential => (0.985, 0.01, 0.0, 0.0, 1, 1),
            Model::Threads => (0.49, 0.015, 0.49, 0.0, 2, 3),
            Model::Processes => (0.96, 0.03, 0.0, 0.005, 2, 5),
            Model::Async => (0.97, 0.02, 0.0, 0.001, 1, 2),
            Model::Interpreters => (0.96, 0.03, 0.0, 0.0, 2, 3),
        };
        KernelShare {
            on_cpu,
            runnable,
            lock,
            io,
            sleep: 1.0 - on_cpu - runnable - lock - io,
            throttled: None,
            threads_counted: counted,
            threads_seen: seen,
            thread_s: 3.1 * counted as f64,
            sample_ms: Some(5.04),
            sampler_cpu: Some(if model == Model::Processes {
                0.0071
            } else {
                0.0043
            }),
        }
    }

    /// The fixture as it is where `/proc` cannot be read.
    pub fn without_kernel() -> Comparison {
        let mut c = comparison();
        for r in &mut c.rows {
            r.kernel = None;
        }
        c.kernel_note = Some(
            "the kernel's per-thread view needs Linux's /proc, which is missing or unreadable here (/proc/7/task/7/schedstat: No such file or directory (os error 2))".into(),
        );
        c
    }

    pub fn comparison() -> Comparison {
        let row = |model, workers, med: f64, speedup: Option<f64>, util| Row {
            workload: "primes".into(),
            size: 20_000_000,
            tasks: 16,
            split: Some("ranges".into()),
            cpus: crate::core::CpusGiven {
                cpus_seen: 2,
                cpus_affinity: Some(2),
                ..Default::default()
            },
            model,
            gil: true,
            workers,
            repeat: 3,
            elapsed_median_s: med,
            elapsed_min_s: med - 0.05,
            elapsed_max_s: med + 0.05,
            speedup,
            efficiency: speedup.map(|s| s / workers as f64),
            cpu_utilisation: util,
            capacity: if workers == 1 { 1.0 } else { 1.8 },
            of_capacity: speedup.map(|s| if workers == 1 { s } else { s / 1.8 }),
            answer: Some("1270607".into()),
            answers_agree: true,
            failed: 0,
            busy_s: if workers == 1 {
                vec![med]
            } else {
                vec![med * 0.6, med * 0.95]
            },
            imbalance: (workers > 1).then_some(0.95 / 0.775),
            peak_rss_mb: Some(if model == Model::Processes {
                21.5
            } else {
                8.25
            }),
            peak_threads: Some(match model {
                Model::Threads => 4,
                Model::Processes => 10,
                _ => 2,
            }),
            loop_lag_max_ms: (model == Model::Async).then_some(101.0),
            loop_lag_p99_ms: (model == Model::Async).then_some(100.5),
            kernel: Some(kernel(model)),
            waiting: false,
            interference: Some(Interference::of(
                med * 3.0,
                Some(0.03 * med * 3.0),
                Some(&kernel(model)),
            )),
            concurrency: Some(at_once(model)),
            verdict: State::Conclusive,
            warning: None,
            crossing: match model {
                Model::Threads => Some(crate::core::Crossing {
                    workers: 2,
                    startup_us: Some(60),
                    items: 16,
                    bytes: Some(0),
                    transfer_us: Some(0),
                    how: "shared memory".into(),
                    ..Default::default()
                }),
                Model::Processes => Some(crate::core::Crossing {
                    workers: 2,
                    startup_us: Some(4_200),
                    items: 16,
                    bytes: Some(1_600),
                    transfer_us: Some(480),
                    how: "JSON lines through pipes, both ways".into(),
                    ..Default::default()
                }),
                _ => None,
            },
        };
        let mut c = Comparison {
            workload: "primes".into(),
            meaning: "primes below 20,000,000".into(),
            size: 20_000_000,
            tasks: 16,
            workers: 2,
            gil: true,
            switch_interval_ms: 5.0,
            split: Some("ranges".into()),
            capacity: 1.8,
            capacity_spinners: 2,
            kernel_sample_ms: Some(5),
            kernel_note: None,
            runtime: None,
            rows: vec![
                row(Model::Sequential, 1, 3.1, Some(1.0), 1.0),
                row(Model::Threads, 2, 3.2, Some(3.1 / 3.2), 1.01),
                row(Model::Processes, 2, 1.7, Some(3.1 / 1.7), 1.9),
                row(Model::Async, 2, 3.15, Some(3.1 / 3.15), 1.0),
            ],
            interleaved: true,
            fastest: None,
            warnings: Vec::new(),
            elapsed: [3.1, 3.2, 1.7, 3.15]
                .iter()
                .map(|m| vec![m - 0.05, *m, m + 0.05])
                .collect(),
            cancelled: None,
        };
        c.judge();
        c
    }

    /// Threads on a CPU at once as each model shows it with the GIL on: one at a time,
    /// but for processes (two).
    fn at_once(model: Model) -> Concurrency {
        let mut c = Concurrency::default();
        let two = model == Model::Processes;
        for i in 0..100u64 {
            let n = if two && i % 10 != 0 { 2 } else { 1 };
            c.add(n * 5_000_000, 5_000_000);
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_timed_under_throttling_say_so() {
        let mut c = fixture::comparison();
        let plain = crossing_lines(&c);
        assert!(!plain.is_empty() && plain.iter().all(|l| !l.contains("throttled")));
        for r in &mut c.rows {
            r.interference
                .get_or_insert_with(Default::default)
                .throttled_s = Some(0.8);
        }
        let lines = crossing_lines(&c);
        assert_eq!(lines.len(), plain.len());
        assert!(
            lines.iter().all(|l| l.contains("the quota throttled")),
            "{lines:?}"
        );
    }
}
