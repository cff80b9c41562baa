//! Headless output: a comparison ([`comparison`]: the data `compare` fills) through one
//! exporter per format (table, JSON, CSV, markdown); runs as a trace for Perfetto
//! ([`trace`], streamed from the events). Rendered frames (screenshots) live in
//! `crate::frame`.

pub mod comparison;
mod csv;
mod json;
mod markdown;
mod table;
pub mod trace;

use crate::cli::Format;
use comparison::Comparison;

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

/// The answer with ✓ when every model agrees, ✗ otherwise.
pub(crate) fn answer_cell(r: &comparison::Row) -> String {
    match &r.answer {
        Some(a) if r.answers_agree => format!("{a} ✓"),
        Some(a) => format!("{a} ✗"),
        None if r.failed > 0 => format!("{} failed ✗", r.failed),
        None => "— ✗".into(),
    }
}

#[cfg(test)]
pub(crate) mod fixture {
    use super::comparison::{Comparison, Row};
    use crate::exec::Model;

    pub fn comparison() -> Comparison {
        let row = |model, workers, med: f64, speedup: Option<f64>, util| Row {
            workload: "primes".into(),
            size: 20_000_000,
            tasks: 16,
            split: Some("ranges".into()),
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
        };
        Comparison {
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
            rows: vec![
                row(Model::Sequential, 1, 3.1, Some(1.0), 1.0),
                row(Model::Threads, 2, 3.2, Some(3.1 / 3.2), 1.01),
                row(Model::Processes, 2, 1.7, Some(3.1 / 1.7), 1.9),
                row(Model::Async, 2, 3.15, Some(3.1 / 3.15), 1.0),
            ],
        }
    }
}
