//! `--format markdown`: a table to paste into notes and docs.

use super::{
    Exporter, KernelSection, answer_cell, kernel_cells, kernel_header, kernel_quota, kernel_rule,
    kernel_sampling, kernel_section, kernel_throttled_note, lag_cell, percent, times,
};
use crate::experiment::comparison::Comparison;

pub struct MarkdownExporter;

impl Exporter for MarkdownExporter {
    fn export(&self, c: &Comparison) -> String {
        let mut s = format!(
            "**{}** ({}) · {} workers · GIL {} · machine capacity {:.2}×{}\n\n",
            c.workload,
            c.meaning,
            c.workers,
            if c.gil { "on" } else { "off" },
            c.capacity,
            c.runtime
                .as_ref()
                .map_or(String::new(), |r| format!(" · {r}"))
        );
        s += "| model | elapsed (median) | min | max | speed-up | efficiency | cores busy | of capacity | busy/worker | imbalance | peak RSS | threads | loop lag max | p99 | answer |\n";
        s += "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n";
        for r in &c.rows {
            s += &format!(
                "| {} | {:.3} s | {:.3} s | {:.3} s | {} | {} | {:.2} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                r.model,
                r.elapsed_median_s,
                r.elapsed_min_s,
                r.elapsed_max_s,
                times(r.speedup),
                percent(r.efficiency),
                r.cpu_utilisation,
                percent(r.of_capacity),
                r.busy_cell(),
                times(r.imbalance),
                r.peak_rss_mb.map_or("—".into(), |m| format!("{m:.1} MB")),
                r.peak_threads.map_or("—".into(), |t| t.to_string()),
                lag_cell(r.loop_lag_max_ms),
                lag_cell(r.loop_lag_p99_ms),
                answer_cell(r)
            );
        }
        let crossing = super::crossing_lines(c);
        if !crossing.is_empty() {
            s += "\nStart-up and copying (per worker, per task):\n\n";
            for l in crossing {
                s += &format!("- {l}\n");
            }
        }
        let said = super::verdict::sentences(c);
        if !said.is_empty() {
            s += "\n";
            for l in said {
                s += &format!("- {l}\n");
            }
        }
        let rows = super::verdict::evidence(c);
        if let Some((head, rows)) = rows.split_first() {
            s += &format!("\n| {} |\n|---|---:|---:|---|---:|\n", head.join(" | "));
            for r in rows {
                s += &format!("| {} |\n", r.join(" | "));
            }
            s += &format!("\n{}\n", super::verdict::LEGEND);
        }
        match kernel_section(c) {
            None => {}
            Some(KernelSection::Missing(why)) => {
                s += &format!("\n**Kernel's view**: not measured — {why}\n");
            }
            Some(KernelSection::Shown { sample_ms }) => {
                let how = kernel_sampling(c);
                let how = if how.is_empty() {
                    how
                } else {
                    format!(" ({how})")
                };
                s += &format!(
                    "\n**Kernel's view** — the working threads' time, sampled from /proc every {sample_ms} ms{how}\n\n"
                );
                let quota = kernel_quota(c);
                let header = kernel_header(quota);
                s += &format!("| model | {} |\n", header.join(" | "));
                s += &format!("|---|{}\n", "---:|".repeat(header.len()));
                for r in &c.rows {
                    s += &format!("| {} | {} |\n", r.model, kernel_cells(r, quota).join(" | "));
                }
                s += &format!("\n{}\n", kernel_rule().join(" "));
                if quota {
                    s += &format!("\n{}\n", kernel_throttled_note().join(" "));
                }
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_per_model() {
        let out = MarkdownExporter.export(&super::super::fixture::comparison());
        // The main table, the verdict's evidence and the kernel's, each a header and
        // four models.
        assert_eq!(out.lines().filter(|l| l.starts_with("| ")).count(), 15);
        assert!(out.contains("| processes | 1.700 s"));
        assert!(out.contains("| 1.02–1.61 s | 1.23× |"), "{out}");
    }

    #[test]
    fn markdown_snapshot() {
        insta::assert_snapshot!(MarkdownExporter.export(&super::super::fixture::comparison()));
    }

    #[test]
    fn without_proc_it_says_why_and_draws_no_empty_table() {
        let out = MarkdownExporter.export(&super::super::fixture::without_kernel());
        assert_eq!(out.lines().filter(|l| l.starts_with("| ")).count(), 10);
        assert!(
            out.ends_with("**Kernel's view**: not measured — the kernel's per-thread view needs Linux's /proc, which is missing or unreadable here (/proc/7/task/7/schedstat: No such file or directory (os error 2))\n"),
            "{out}"
        );
    }
}
