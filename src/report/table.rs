//! `--format table`: aligned columns for a terminal, with the machine's capacity.

use super::{
    Exporter, KernelSection, answer_cell, kernel_cells, kernel_header, kernel_quota, kernel_rule,
    kernel_sampling, kernel_section, kernel_throttled_note, lag_cell, percent, times,
};
use crate::experiment::comparison::Comparison;

pub struct TableExporter;

impl Exporter for TableExporter {
    fn export(&self, c: &Comparison) -> String {
        let mut s = format!(
            "{} — {} · {} {}{} · {} {} · GIL {}\n",
            c.workload,
            c.meaning,
            c.tasks,
            if c.tasks == 1 { "task" } else { "tasks" },
            c.split
                .as_ref()
                .map_or(String::new(), |s| format!(" (split: {s})")),
            c.workers,
            if c.workers == 1 { "worker" } else { "workers" },
            if c.gil {
                format!("on ({:.0} ms switch interval)", c.switch_interval_ms)
            } else {
                "off".into()
            }
        );
        if let Some(rt) = &c.runtime {
            s += &format!("runtime: {rt}\n");
        }
        s += &format!(
            "machine capacity (measured before each model): {:.2}× on average with {} independent spinner{} (ideal {}×)\n\n",
            c.capacity,
            c.capacity_spinners,
            if c.capacity_spinners == 1 { "" } else { "s" },
            c.capacity_spinners
        );
        s += &super::cpus::comparison_lines(c);
        let header = [
            "model",
            "elapsed",
            "min",
            "max",
            "speed-up",
            "effic.",
            "cores busy",
            "capacity",
            "of capacity",
            "busy/worker",
            "imbalance",
            "peak RSS",
            "threads",
            "loop lag max",
            "p99",
            "answer",
        ];
        let rows: Vec<[String; 16]> = c
            .rows
            .iter()
            .map(|r| {
                [
                    r.model.to_string(),
                    format!("{:.3} s", r.elapsed_median_s),
                    format!("{:.3} s", r.elapsed_min_s),
                    format!("{:.3} s", r.elapsed_max_s),
                    times(r.speedup),
                    percent(r.efficiency),
                    format!("{:.2}", r.cpu_utilisation),
                    format!("{:.2}×", r.capacity),
                    percent(r.of_capacity),
                    r.busy_cell(),
                    times(r.imbalance),
                    r.peak_rss_mb.map_or("—".into(), |m| format!("{m:.1} MB")),
                    r.peak_threads.map_or("—".into(), |t| t.to_string()),
                    lag_cell(r.loop_lag_max_ms),
                    lag_cell(r.loop_lag_p99_ms),
                    answer_cell(r),
                ]
            })
            .collect();
        let width = |i: usize| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..16).map(width).collect();
        let line = |cells: Vec<&str>| aligned(&cells, &widths, &[0, 15]) + "\n";
        s += &line(header.to_vec());
        for r in &rows {
            s += &line(r.iter().map(String::as_str).collect());
        }
        if c.rows.iter().any(|r| !r.busy_s.is_empty()) {
            s += "\nbusy/worker: each worker's time running tasks (least–most); imbalance: the busiest ÷ the mean (1.00× = even)\n";
        }
        let crossing = super::crossing_lines(c);
        if !crossing.is_empty() {
            s += "\nstart-up and copying (per worker, per task):\n";
            for l in crossing {
                s += "  ";
                s += &l;
                s += "\n";
            }
        }
        s += &verdict_section(c);
        s += &kernel_table(c);
        s
    }
}

/// One table line: each cell padded to its column's width, to the left in the columns
/// `left` names (text), to the right in the others (numbers); two spaces between.
fn aligned(cells: &[&str], widths: &[usize], left: &[usize]) -> String {
    let mut l = String::new();
    for (i, cell) in cells.iter().enumerate() {
        let pad = " ".repeat(widths[i].saturating_sub(cell.chars().count()));
        if left.contains(&i) {
            l += cell;
            l += &pad;
        } else {
            l += &pad;
            l += cell;
        }
        l += "  ";
    }
    l.trim_end().to_string()
}

/// The verdict and its evidence, in 80 columns.
fn verdict_section(c: &Comparison) -> String {
    use super::verdict::{LEGEND, evidence, sentences, wrap};
    let mut s = String::new();
    let said = sentences(c);
    if !said.is_empty() {
        s += "\n";
        for l in said {
            for (i, w) in wrap(&l, 78).into_iter().enumerate() {
                s += if i == 0 { "" } else { "  " };
                s += &w;
                s += "\n";
            }
        }
    }
    let rows = evidence(c);
    if !rows.is_empty() {
        let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0);
        let widths: Vec<usize> = (0..5).map(width).collect();
        s += "\n";
        for r in &rows {
            let cells: Vec<&str> = r.iter().map(String::as_str).collect();
            s += &aligned(&cells, &widths, &[0, 3]);
            s += "\n";
        }
        for w in wrap(LEGEND, 80) {
            s += &w;
            s += "\n";
        }
    }
    s
}

/// The kernel's view, a second table that fits 80 columns: per model, how its working
/// threads spent their time.
fn kernel_table(c: &Comparison) -> String {
    match kernel_section(c) {
        None => String::new(),
        Some(KernelSection::Missing(why)) => format!("\nkernel's view: not measured — {why}\n"),
        Some(KernelSection::Shown { sample_ms }) => {
            let mut s = format!(
                "\nkernel's view — the working threads' time, sampled from /proc every {sample_ms} ms\n"
            );
            let how = kernel_sampling(c);
            if !how.is_empty() {
                s += &format!("({how})\n");
            }
            let quota = kernel_quota(c);
            let header = kernel_header(quota);
            let rows: Vec<(String, Vec<String>)> = c
                .rows
                .iter()
                .map(|r| (r.model.to_string(), kernel_cells(r, quota)))
                .collect();
            let name = rows
                .iter()
                .map(|(m, _)| m.chars().count())
                .chain(["model".len()])
                .max()
                .unwrap_or(0);
            let widths: Vec<usize> = (0..header.len())
                .map(|i| {
                    rows.iter()
                        .map(|(_, cells)| cells[i].chars().count())
                        .chain([header[i].chars().count()])
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            let line = |model: &str, cells: &[&str]| {
                let mut l = format!("{model:<name$}");
                for (cell, w) in cells.iter().zip(&widths) {
                    l += &format!("  {cell:>w$}");
                }
                l + "\n"
            };
            s += &line("model", &header);
            for (model, cells) in &rows {
                let cells: Vec<&str> = cells.iter().map(String::as_str).collect();
                s += &line(model, &cells);
            }
            for l in kernel_rule() {
                s += &l;
                s.push('\n');
            }
            if quota {
                for l in kernel_throttled_note() {
                    s += l;
                    s.push('\n');
                }
            }
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_snapshot() {
        insta::assert_snapshot!(TableExporter.export(&super::super::fixture::comparison()));
    }

    #[test]
    fn the_kernel_table_fits_80_columns() {
        let out = TableExporter.export(&super::super::fixture::comparison());
        let kernel = out
            .split("\nkernel's view")
            .nth(1)
            .expect("a kernel section");
        assert!(kernel.lines().all(|l| l.chars().count() <= 80), "{kernel}");
        assert!(kernel.contains("threads      2 of 3     49%"), "{kernel}");
    }

    #[test]
    fn without_proc_the_table_says_why_once() {
        let out = TableExporter.export(&super::super::fixture::without_kernel());
        insta::assert_snapshot!(out.split("\n\n").last().unwrap_or_default());
        assert_eq!(out.matches("missing or unreadable").count(), 1, "{out}");
        assert!(!out.contains("on CPU"), "no empty kernel table: {out}");
    }

    #[test]
    fn a_stretched_sampler_is_said() {
        let mut c = super::super::fixture::comparison();
        if let Some(k) = c.rows[2].kernel.as_mut() {
            k.sample_ms = Some(10.24);
        }
        let out = TableExporter.export(&c);
        assert!(
            out.contains("(mean 5.0–10.2 ms apart, the sampler at most 0.7% of a core)"),
            "{out}"
        );
    }

    #[test]
    fn under_a_quota_throttled_gets_its_own_column_and_note() {
        let mut c = super::super::fixture::comparison();
        for r in &mut c.rows {
            if let Some(k) = r.kernel.as_mut() {
                k.throttled = Some(0.0);
            }
        }
        if let Some(k) = c.rows[2].kernel.as_mut() {
            k.throttled = Some(0.13);
        }
        let out = TableExporter.export(&c);
        let kernel = out
            .split("\nkernel's view")
            .nth(1)
            .expect("a kernel section");
        assert!(kernel.lines().all(|l| l.chars().count() <= 80), "{kernel}");
        assert!(
            kernel.contains("counted  on CPU  runnable  throttled  lock"),
            "{kernel}"
        );
        assert!(kernel.contains("3%        13%"), "{kernel}");
        assert!(kernel.contains("an estimate"), "{kernel}");
        let md = super::super::markdown::MarkdownExporter.export(&c);
        assert!(md.contains("| runnable | throttled | lock |"), "{md}");
        assert!(
            md.contains("|---|---:|---:|---:|---:|---:|---:|---:|"),
            "{md}"
        );
        let csv = super::super::csv::CsvExporter.export(&c);
        let lines: Vec<&str> = csv.lines().collect();
        assert!(lines[0].ends_with(",kernel_throttled"), "{}", lines[0]);
        assert!(lines[3].ends_with(",0.1300"), "{}", lines[3]);
        let cols = lines[0].split(',').count();
        assert!(lines.iter().all(|l| l.split(',').count() == cols));
        let json = super::super::json::JsonExporter.export(&c);
        let v: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
        assert_eq!(v[2]["kernel"]["throttled"], 0.13);
        // Without a quota: no column, no key.
        let plain = TableExporter.export(&super::super::fixture::comparison());
        assert!(!plain.contains("throttled  lock"), "{plain}");
        let json = super::super::json::JsonExporter.export(&super::super::fixture::comparison());
        assert!(!json.contains("\"throttled\":"), "{json}");
    }

    #[test]
    fn kernel_off_shows_no_kernel_section() {
        let mut c = super::super::fixture::comparison();
        c.kernel_sample_ms = None;
        for r in &mut c.rows {
            r.kernel = None;
        }
        assert!(!TableExporter.export(&c).contains("kernel"));
    }
}
