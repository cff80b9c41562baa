//! The comparison's verdict, for the table and markdown: what can be concluded (and if
//! not, why), then per model what other programs took from it and how many of its threads
//! were on a CPU at once — the evidence load cannot fake.

use crate::experiment::comparison::Comparison;
use crate::experiment::verdict::State;

/// The verdict's sentences, most important first.
pub(crate) fn sentences(c: &Comparison) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(note) = &c.cancelled {
        out.push(note.clone());
    }
    if let Some(j) = &c.fastest {
        out.push(match &j.state {
            State::Conclusive => format!("verdict: {} fastest (conclusive)", j.value),
            State::Inconclusive { reason } => {
                format!("verdict: inconclusive, no fastest — {reason}")
            }
        });
    }
    for r in &c.rows {
        if let Some(reason) = r.verdict.reason()
            && c.fastest.as_ref().and_then(|f| f.state.reason()) != Some(reason)
        {
            out.push(format!("{} speed-up inconclusive: {reason}", r.model));
        }
    }
    for w in &c.warnings {
        out.push(format!("warning: {w}"));
    }
    if c.interleaved {
        out.push(
            "The repeats ran interleaved across models, so drift hit every model alike.".into(),
        );
    }
    out
}

/// The evidence table's head and rows: model, other programs' cores, the run queue wait,
/// threads on a CPU at once, CPU-seconds per wall-second. Empty when nothing was measured.
pub(crate) fn evidence(c: &Comparison) -> Vec<[String; 5]> {
    let rows: Vec<[String; 5]> = c
        .rows
        .iter()
        .filter(|r| r.interference.is_some() || r.concurrency.is_some())
        .map(|r| {
            let i = r.interference.unwrap_or_default();
            [
                r.model.to_string(),
                i.others_cores.map_or("—".into(), |o| format!("{o:.2}")),
                match (i.runqueue_s, i.runqueue_share) {
                    (Some(w), Some(s)) => format!("{w:.2} s ({:.0}%)", s * 100.0),
                    _ => "—".into(),
                },
                r.concurrency.as_ref().map_or("—".into(), at_once),
                r.concurrency
                    .as_ref()
                    .map_or("—".into(), |c| format!("{:.2}", c.cpu_per_wall)),
            ]
        })
        .collect();
    if rows.is_empty() {
        return rows;
    }
    let head = [
        "model",
        "others",
        "waited for a CPU",
        "on a CPU at once",
        "CPU-s/s",
    ]
    .map(String::from);
    std::iter::once(head).chain(rows).collect()
}

/// "2: 90% · 1: 10%": threads on a CPU at once and their share of the samples, the
/// buckets of 1% or more, most common first.
fn at_once(c: &crate::observe::Concurrency) -> String {
    let mut b: Vec<(usize, u64)> = c
        .at_once
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, k)| *k * 100 >= c.samples.max(1))
        .collect();
    b.sort_by_key(|x| std::cmp::Reverse(x.1));
    b.iter()
        .take(3)
        .map(|(n, k)| format!("{n}: {:.0}%", *k as f64 * 100.0 / c.samples.max(1) as f64))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The legend under the evidence table.
pub(crate) const LEGEND: &str = "others: cores other programs kept busy during the model's runs; waited: the \
run's working threads ready to run but not running; at once: how many of its threads \
were on a CPU at the same moment, per sample";

/// `text` folded into lines of at most `width` characters.
pub(crate) fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split(' ') {
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixture_says_its_verdict_first() {
        let c = super::super::fixture::comparison();
        let s = sentences(&c);
        assert_eq!(s[0], "verdict: processes fastest (conclusive)");
        let e = evidence(&c);
        assert_eq!(e.len(), 5);
        assert_eq!(e[3][3], "2: 90% · 1: 10%");
    }

    #[test]
    fn wraps_on_words() {
        assert_eq!(wrap("aa bb cc", 5), vec!["aa bb", "cc"]);
        assert_eq!(wrap("", 5), Vec::<String>::new());
    }
}
