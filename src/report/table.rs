//! `--format table`: aligned columns for a terminal, with the machine's capacity.

use super::comparison::Comparison;
use super::{Exporter, answer_cell, lag_cell, percent, times};

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
        s += &format!(
            "machine capacity (measured before each model): {:.2}× on average with {} independent spinner{} (ideal {}×)\n\n",
            c.capacity,
            c.capacity_spinners,
            if c.capacity_spinners == 1 { "" } else { "s" },
            c.capacity_spinners
        );
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
        let line = |cells: Vec<&str>| {
            let mut l = String::new();
            for (i, cell) in cells.iter().enumerate() {
                let pad = widths[i].saturating_sub(cell.chars().count());
                if i == 0 || i == 15 {
                    l += cell;
                    l += &" ".repeat(pad);
                } else {
                    l += &" ".repeat(pad);
                    l += cell;
                }
                l += "  ";
            }
            l.trim_end().to_string() + "\n"
        };
        s += &line(header.to_vec());
        for r in &rows {
            s += &line(r.iter().map(String::as_str).collect());
        }
        if c.rows.iter().any(|r| !r.busy_s.is_empty()) {
            s += "\nbusy/worker: each worker's time running tasks (least–most); imbalance: the busiest ÷ the mean (1.00× = even)\n";
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_snapshot() {
        insta::assert_snapshot!(TableExporter.export(&super::super::fixture::comparison()));
    }
}
