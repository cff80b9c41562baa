//! The crossover grid as text: a map of the fastest pool per cell (item size × item
//! count) with its margin, interpreters against processes beneath it, every time in a
//! table, where each pool won, and why a cell is inconclusive.

use crate::core::Model;
use crate::experiment::crossover::{Cell, Grid, bytes_text};
use crate::experiment::verdict::Judged;

/// The map's column for one cell.
const COL: usize = 30;

/// The grid's item counts (columns) and sizes (rows), in the order measured.
fn axes(g: &Grid) -> (Vec<usize>, Vec<u64>) {
    let mut items: Vec<usize> = Vec::new();
    let mut bytes: Vec<u64> = Vec::new();
    for c in &g.cells {
        if !items.contains(&c.items) {
            items.push(c.items);
        }
        if !bytes.contains(&c.bytes) {
            bytes.push(c.bytes);
        }
    }
    (items, bytes)
}

/// The model's median time in a cell.
fn time_of(c: &Cell, m: Model) -> Option<f64> {
    c.times
        .iter()
        .find(|t| t.model == m)
        .and_then(|t| t.elapsed_s)
}

/// Adds `reason` to the numbered list (once) and returns its mark, " ?N".
fn mark(reasons: &mut Vec<String>, where_: &str, reason: &str) -> String {
    let line = format!("{where_}: {reason}");
    let n = match reasons.iter().position(|r| *r == line) {
        Some(i) => i + 1,
        None => {
            reasons.push(line);
            reasons.len()
        }
    };
    format!(" ?{n}")
}

/// "threads ×5.80" (+ a mark when inconclusive).
fn judged_text(
    j: &Judged<Model>,
    margin: Option<f64>,
    at: &str,
    reasons: &mut Vec<String>,
) -> String {
    let m = margin.map_or(String::new(), |m| format!(" ×{m:.2}"));
    let q = j
        .state
        .reason()
        .map_or(String::new(), |r| mark(reasons, at, r));
    format!("{}{m}{q}", j.value)
}

/// The slower of the pair's time ÷ the faster's.
fn pair_margin(c: &Cell) -> Option<f64> {
    let (i, p) = (
        time_of(c, Model::Interpreters)?,
        time_of(c, Model::Processes)?,
    );
    Some(i.max(p) / i.min(p).max(1e-9))
}

/// Cells (as "2 MB × 8") where `pick` says yes, conclusive ones and inconclusive ones apart.
fn cells_where(g: &Grid, pick: impl Fn(&Cell) -> Option<bool>) -> (Vec<String>, Vec<String>) {
    let (mut sure, mut unsure) = (Vec::new(), Vec::new());
    for c in &g.cells {
        let name = format!("{} × {}", bytes_text(c.bytes), c.items);
        match pick(c) {
            Some(true) => sure.push(name),
            Some(false) => unsure.push(name),
            None => {}
        }
    }
    (sure, unsure)
}

fn list(sure: &[String], unsure: &[String]) -> String {
    let mut s = if sure.is_empty() {
        "nowhere conclusively".to_string()
    } else {
        sure.join(", ")
    };
    if !unsure.is_empty() {
        s += &format!(" (inconclusive: {})", unsure.join(", "));
    }
    s
}

/// `text` word-wrapped to [`WIDTH`] columns, every line after the first indented by
/// `indent` plus two spaces (the first by `indent`).
fn wrap(text: &str, indent: &str) -> String {
    let mut out = String::new();
    let mut line = indent.to_string();
    for word in text.split_whitespace() {
        if !line.trim().is_empty() && line.chars().count() + 1 + word.chars().count() > WIDTH {
            out += line.trim_end();
            out += "\n";
            line = format!("{indent}  ");
        }
        if !line.trim().is_empty() {
            line.push(' ');
        }
        line += word;
    }
    out += line.trim_end();
    out += "\n";
    out
}

/// The notes' width: fits an 80-column terminal.
const WIDTH: usize = 78;

/// The grid as text.
pub fn text(g: &Grid) -> String {
    let (items, bytes) = axes(g);
    let threads = if g.gil {
        "threads (one GIL)"
    } else {
        "threads (GIL off)"
    };
    let mut s = format!(
        "crossover — each item read (adler32), then {} rounds of work · {} workers\n{}\n\n",
        crate::core::fmt::thousands(u128::from(g.rounds)),
        g.workers,
        g.runtime
    );
    s += "fastest pool per cell, × its margin over the runner-up; i/p: interpreters against\n\
          processes alone; ?N: inconclusive, the reason below\n\n";
    let mut reasons: Vec<String> = Vec::new();
    s += &format!("{:>10}  ", "");
    for n in &items {
        s += &format!("{:<COL$}", format!("{n} items"));
    }
    s = s.trim_end().to_string() + "\n";
    for &b in &bytes {
        let mut line1 = format!("{:>10}  ", bytes_text(b));
        let mut line2 = format!("{:>10}  ", "");
        for &n in &items {
            let at = format!("{} × {n}", bytes_text(b));
            let cell = g.cells.iter().find(|c| c.bytes == b && c.items == n);
            let (a, p) = match cell {
                None => ("—".to_string(), String::new()),
                Some(c) => (
                    c.verdict.winner.as_ref().map_or("— (failed)".into(), |w| {
                        judged_text(w, c.verdict.margin, &at, &mut reasons)
                    }),
                    c.verdict
                        .interpreters_vs_processes
                        .as_ref()
                        .map_or(String::new(), |j| {
                            let t = judged_text(j, pair_margin(c), &at, &mut reasons);
                            format!("i/p: {t}")
                        }),
                ),
            };
            line1 += &format!("{a:<COL$}");
            line2 += &format!("{p:<COL$}");
        }
        s += line1.trim_end();
        s += "\n";
        if !line2.trim().is_empty() {
            s += line2.trim_end();
            s += "\n";
        }
    }
    // Every time, and what the pools paid.
    s += &format!("\n{:>10} {:>6}", "bytes", "items");
    for m in &g.models {
        s += &format!(" {:>13}", m.name());
    }
    s += "\n";
    let mut disturbed = false;
    for c in &g.cells {
        s += &format!("{:>10} {:>6}", bytes_text(c.bytes), c.items);
        for m in &g.models {
            let t = time_of(c, *m).map_or("failed".into(), |t| format!("{t:.3} s"));
            // Disturbed: other programs competed (the cell's verdicts weigh it).
            let q = c
                .times
                .iter()
                .find(|x| x.model == *m)
                .filter(|x| !x.verdict.is_conclusive())
                .map_or("", |_| "*");
            if !q.is_empty() {
                disturbed = true;
            }
            s += &format!(" {:>13}", format!("{t}{q}"));
        }
        if !c.answers_agree {
            s += "  answers differ";
        }
        s += "\n";
    }
    if disturbed {
        s += "         * other programs competed during that run (--json: each run's figures)\n";
    }
    s += "\n";
    // What the pools paid, where they measured it (the CPython runtime's pools).
    let paid = |c: &Cell, m: Model| -> Option<String> {
        let t = c.times.iter().find(|t| t.model == m)?;
        let start = t.startup_ms.map_or("—".into(), |ms| format!("{ms:.0} ms"));
        let copy = t
            .copy_us_per_item
            .map_or("—".into(), |us| format!("{us:.0} µs"));
        (t.startup_ms.is_some() || t.copy_us_per_item.is_some())
            .then(|| format!("{start} · {copy}"))
    };
    let costly: Vec<Model> = g
        .models
        .iter()
        .copied()
        .filter(|&m| g.cells.iter().any(|c| paid(c, m).is_some()))
        .collect();
    if !costly.is_empty() {
        s += "start-up per worker · copy per item, as the pools measured them:\n";
        s += &format!("{:>10} {:>6}", "bytes", "items");
        for m in &costly {
            s += &format!(" {:>17}", m.name());
        }
        s += "\n";
        for c in &g.cells {
            s += &format!("{:>10} {:>6}", bytes_text(c.bytes), c.items);
            for &m in &costly {
                s += &format!(" {:>17}", paid(c, m).unwrap_or_else(|| "—".into()));
            }
            s += "\n";
        }
        s += "\n";
    }
    // Where each won.
    let (sure, unsure) = cells_where(g, |c| {
        let j = c.verdict.interpreters_vs_processes.as_ref()?;
        (j.value == Model::Interpreters).then(|| j.state.is_conclusive())
    });
    s += &wrap(
        &format!("interpreters beat processes: {}", list(&sure, &unsure)),
        "",
    );
    let (sure, unsure) = cells_where(g, |c| {
        let j = c.verdict.winner.as_ref()?;
        (j.value == Model::Threads).then(|| j.state.is_conclusive())
    });
    s += &wrap(
        &format!("{threads} beat both: {}", list(&sure, &unsure)),
        "",
    );
    if !reasons.is_empty() {
        s += "\ninconclusive:\n";
        for (i, r) in reasons.iter().enumerate() {
            s += &wrap(&format!("?{} {r}", i + 1), "  ");
        }
    }
    if !g.notes.is_empty() {
        s += "\n";
        for n in &g.notes {
            s += &wrap(n, "");
        }
    }
    if let Some(c) = &g.cancelled {
        s += &format!("\n{c}\n");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::crossover::{CellVerdict, ModelTime, judge_cell};
    use crate::experiment::verdict::{Evidence, State};

    fn cell(bytes: u64, items: usize, t: [f64; 3]) -> Cell {
        let models = [Model::Threads, Model::Processes, Model::Interpreters];
        let ev: Vec<Evidence> = models
            .iter()
            .zip(t)
            .map(|(m, s)| Evidence::times(*m, vec![s]))
            .collect();
        let verdict: CellVerdict = judge_cell(&ev, &[Some("1".into()), Some("1".into())]);
        Cell {
            bytes,
            items,
            times: models
                .iter()
                .zip(t)
                .map(|(m, s)| ModelTime {
                    model: *m,
                    elapsed_s: Some(s),
                    startup_ms: (*m != Model::Threads).then_some(100.0),
                    copy_us_per_item: (*m != Model::Threads).then_some(34.0),
                    verdict: State::Conclusive,
                })
                .collect(),
            answer: Some("1".into()),
            answers_agree: true,
            verdict,
        }
    }

    #[test]
    fn the_map_names_the_winner_of_every_cell_and_says_why_one_is_inconclusive() {
        let g = Grid {
            runtime: "CPython 3.14.0 · GIL".into(),
            workers: 2,
            rounds: 50_000,
            gil: true,
            repeat: 1,
            models: vec![Model::Threads, Model::Processes, Model::Interpreters],
            cells: vec![
                cell(100, 8, [0.05, 0.31, 0.29]),
                cell(100, 128, [1.2, 0.80, 0.804]),
                cell(2_000_000, 8, [0.20, 0.9, 0.5]),
                cell(2_000_000, 128, [1.6, 2.4, 1.1]),
            ],
            notes: vec!["a note".into()],
            cancelled: None,
        };
        let t = text(&g);
        insta::assert_snapshot!("crossover_map", t);
        assert!(t.contains("interpreters beat processes: 100 B × 8, 2 MB × 8, 2 MB × 128"));
        assert!(t.contains("threads (one GIL) beat both: 100 B × 8, 2 MB × 8"));
        assert!(t.contains("?1 100 B × 128: processes and interpreters within 0.5%"));
    }
}
