//! The fidelity report as an aligned text table (the default).

use super::{
    FidelityExporter, answers, cell, convoy_line, extra_lines, heading, native_lines, pct, verdict,
};
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
        let several = f.pythons.len() > 1;
        let mut header: Vec<String> = [
            "workload",
            "model",
            "native",
            "CPython",
            "native×",
            "CPython×",
            "diff",
            "verdict",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if several {
            // One column per interpreter: its speed-up, its distance from the simulation's.
            header = ["workload", "model", "native", "native×"]
                .iter()
                .map(|s| s.to_string())
                .collect();
            header.extend(
                f.rows
                    .first()
                    .map(|r| {
                        r.interpreters
                            .iter()
                            .map(|c| format!("{}×", c.short))
                            .collect::<Vec<String>>()
                    })
                    .unwrap_or_default(),
            );
        }
        header.push("capacity".into());
        header.push("answers".into());
        // Right-aligned (numeric) columns.
        let numeric = if several { 2..4 } else { 2..7 };
        let mut lines: Vec<Vec<String>> = vec![header.clone()];
        for r in &f.rows {
            let mut l = vec![
                r.workload.clone(),
                r.model.to_string(),
                format!("{:.3} s", r.native_elapsed_s),
            ];
            if several {
                l.push(format!("{:.2}×", r.native_speedup));
                l.extend(r.interpreters.iter().map(|c| cell(r, c)));
            } else {
                l.extend([
                    format!("{:.3} s", r.cpython_elapsed_s),
                    format!("{:.2}×", r.native_speedup),
                    format!("{:.2}×", r.cpython_speedup),
                    pct(r.diff_pct),
                    verdict(r).to_string(),
                ]);
            }
            l.push(format!("{:.2}×", r.capacity));
            l.push(answers(r));
            if l.len() == header.len() {
                lines.push(l);
            }
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
                if !numeric.contains(&c) {
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
        out += &native_lines(f);
        out + &extra_lines(f)
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
        assert!(t.contains("simulated GIL on"), "{t}");
        assert!(t.contains("note: single-thread tax: not measured"), "{t}");
    }

    #[test]
    fn several_interpreters_the_tax_and_cpythons_own_gil() {
        let t = Table.export(&super::super::fixture::free_threaded());
        assert!(
            t.contains(
                "simulated GIL off) vs CPython 3.11.7 · GIL | CPython 3.13.5 free-threaded, GIL off"
            ),
            "{t}"
        );
        assert!(
            t.contains("3.11.7×") && t.contains("3.13.5t×"),
            "a column each: {t}"
        );
        assert!(t.contains("1.78×"), "{t}");
        assert!(t.contains("single-thread tax"), "{t}");
        assert!(t.contains("3.13.5t sequential 1.68×, threads 0.94×"), "{t}");
        assert!(t.contains("simulation, GIL off: sequential 1.01×"), "{t}");
        assert!(t.contains("applies no tax factor"), "{t}");
        assert!(
            t.contains("? inconclusive (other programs kept 1.2 cores busy"),
            "{t}"
        );
        assert!(t.contains("CPython's own GIL (CPython 3.15.2 · GIL"), "{t}");
        assert!(t.contains("thread 11") && t.contains("worker 1"), "{t}");
        assert!(
            t.contains("GIL-wait share: native 49.5% vs CPython 47.5% (+2.0 points) ✓"),
            "{t}"
        );
    }
}
