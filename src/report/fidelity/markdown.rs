//! The fidelity report as a Markdown table (for READMEs and issues).

use super::{FidelityExporter, answers, convoy_line, extra_lines, heading, native_lines, pct};
use crate::experiment::fidelity::Fidelity;

pub struct Markdown;

impl FidelityExporter for Markdown {
    fn export(&self, f: &Fidelity) -> String {
        let mut out = format!("{}\n\n", heading(f));
        out += "| workload | model | native | CPython | native speed-up | CPython speed-up | diff | within ±10% | capacity | answers |\n";
        out += "|---|---|--:|--:|--:|--:|--:|:-:|--:|---|\n";
        for r in &f.rows {
            out += &format!(
                "| {} | {} | {:.3} s | {:.3} s | {:.2}× | {:.2}× | {} | {} | {:.2}× | {} |\n",
                r.workload,
                r.model,
                r.native_elapsed_s,
                r.cpython_elapsed_s,
                r.native_speedup,
                r.cpython_speedup,
                pct(r.diff_pct),
                match (&r.verdict, r.within_10pct) {
                    (crate::experiment::verdict::State::Inconclusive { .. }, _) => "? (busy)",
                    (_, true) => "✓",
                    (_, false) => "✗",
                },
                r.capacity,
                answers(r)
            );
        }
        if let Some(c) = convoy_line(f) {
            out += &format!("\n{c}\n");
        }
        out += &native_lines(f);
        // Several interpreters: each one's speed-up per row, under the table.
        if f.pythons.len() > 1 {
            out += "\n| workload | model | native speed-up |";
            for p in &f.pythons {
                out += &format!(" {p} |");
            }
            out += "\n|---|---|--:|";
            out += &"--:|".repeat(f.pythons.len());
            out += "\n";
            for r in &f.rows {
                out += &format!(
                    "| {} | {} | {:.2}× |",
                    r.workload, r.model, r.native_speedup
                );
                for c in &r.interpreters {
                    out += &format!(" {} |", super::cell(r, c));
                }
                out += "\n";
            }
        }
        out + &extra_lines(f)
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::report;
    use super::*;

    #[test]
    fn one_table_row_per_model() {
        let m = Markdown.export(&report());
        assert_eq!(
            m.lines().filter(|l| l.starts_with("| primes")).count(),
            3,
            "{m}"
        );
        assert!(m.contains("| ✗ |"), "{m}");
    }
}
