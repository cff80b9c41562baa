//! The fidelity report as an aligned text table (the default).

use super::{FidelityExporter, answers, convoy_line, heading, native_lines, pct, verdict};
use crate::experiment::fidelity::Fidelity;

pub struct Table;

impl FidelityExporter for Table {
    fn export(&self, f: &Fidelity) -> String {
        let mut out = heading(f) + "\n";
        out += &format!(
            "speed-up = each runtime's sequential median ÷ this model's; capacity = what {} \
             independent spinners got over one, measured before each model\n\n",
            f.capacity_spinners
        );
        let header = [
            "workload",
            "model",
            "native",
            "CPython",
            "native×",
            "CPython×",
            "diff",
            "verdict",
            "capacity",
            "answers",
        ];
        let mut lines: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
        for r in &f.rows {
            lines.push(vec![
                r.workload.clone(),
                r.model.to_string(),
                format!("{:.3} s", r.native_elapsed_s),
                format!("{:.3} s", r.cpython_elapsed_s),
                format!("{:.2}×", r.native_speedup),
                format!("{:.2}×", r.cpython_speedup),
                pct(r.diff_pct),
                verdict(r).to_string(),
                format!("{:.2}×", r.capacity),
                answers(r),
            ]);
        }
        let cols = header.len();
        let width = |c: usize| {
            lines
                .iter()
                .map(|l| unicode_width::UnicodeWidthStr::width(l[c].as_str()))
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..cols).map(width).collect();
        for l in &lines {
            let mut line = String::new();
            for (c, cell) in l.iter().enumerate() {
                let pad = widths[c] - unicode_width::UnicodeWidthStr::width(cell.as_str());
                // Text columns left, numbers right.
                if !(2..7).contains(&c) {
                    line += cell;
                    line += &" ".repeat(pad);
                } else {
                    line += &" ".repeat(pad);
                    line += cell;
                }
                line += "  ";
            }
            out += line.trim_end();
            out += "\n";
        }
        let sizes: Vec<String> = f
            .rows
            .iter()
            .filter(|r| r.model == crate::core::Model::Sequential)
            .map(|r| format!("{} {} / {}", r.workload, r.native_size, r.cpython_size))
            .collect();
        out += &format!("\nsizes (native / CPython): {}\n", sizes.join(", "));
        if let Some(c) = convoy_line(f) {
            out += &c;
            out += "\n";
        }
        out + &native_lines(f)
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::report;
    use super::*;

    #[test]
    fn every_row_and_the_convoy_are_shown() {
        let t = Table.export(&report());
        assert!(t.contains("CPython 3.11.7 · GIL"), "{t}");
        assert_eq!(
            t.matches("primes ").count(),
            4,
            "three rows and the sizes: {t}"
        );
        assert!(
            t.contains("✗ outside ±10%") && t.contains("✓ within ±10%"),
            "{t}"
        );
        assert!(t.contains("+18.7%"), "{t}");
        assert!(t.contains("convoy"), "{t}");
        assert!(t.contains("native holding"), "{t}");
        assert!(t.contains("load 0.50 → 0.70"), "{t}");
    }
}
