//! The crossover grid: the `crossover` scene's items at several sizes and counts, each
//! cell run under threads, processes and interpreters as a comparison of its own
//! ([`compare::measure`]: every run witnessed, the verdict's rules applied), so each cell
//! names its fastest pool with the margin, or says why it cannot. Read together, the
//! cells show where interpreters overtake processes (items too big for a pipe, too few to
//! pay for a start-up) and where threads beat both (nothing copied, nothing started).

use serde::Serialize;

use super::compare::{Comparison, Trial, measure as compare};
use super::verdict::{self, Evidence, Judged, State};
use crate::core::{LabError, Model};
use crate::exec::{CancelToken, RunSpec, Runner};
use crate::observe::window::Observer;

/// What to run: the scene's spec (size, workers, GIL) and the cells.
pub struct GridPlan<'a> {
    pub base: &'a RunSpec,
    /// (bytes per item, items), row by row.
    pub cells: &'a [(u64, usize)],
    pub models: &'a [Model],
    pub repeat: usize,
    /// Say on stderr which cell is running.
    pub chatty: bool,
}

/// One model's time in one cell, and what its pool paid.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelTime {
    pub model: Model,
    /// Median wall time over the repeats, seconds; `None` when its runs failed.
    pub elapsed_s: Option<f64>,
    /// Start-up per worker, ms, where the pool measured it.
    pub startup_ms: Option<f64>,
    /// Copying per item (both ways), µs, where measured.
    pub copy_us_per_item: Option<f64>,
    /// Whether its runs can be taken at face value (other programs, the run queue).
    pub verdict: State,
}

/// Who finished first in a cell, by how much, and whether the measurement says so.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CellVerdict {
    /// The fastest model; inconclusive (with the reason) on a tie within the verdict's
    /// margin, when another program competed, or when the answers differ.
    pub winner: Option<Judged<Model>>,
    pub runner_up: Option<Model>,
    /// The runner-up's median time ÷ the winner's (≥ 1).
    pub margin: Option<f64>,
    /// Interpreters against processes alone: the faster of the two, judged the same way.
    pub interpreters_vs_processes: Option<Judged<Model>>,
}

/// One cell of the grid.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Cell {
    pub bytes: u64,
    pub items: usize,
    pub times: Vec<ModelTime>,
    pub answer: Option<String>,
    pub answers_agree: bool,
    #[serde(flatten)]
    pub verdict: CellVerdict,
}

/// The whole grid as measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Grid {
    /// Who ran every cell ("conlab native", "CPython 3.14.0 · GIL on").
    pub runtime: String,
    pub workers: usize,
    /// Rounds of interpreted work per item (`--size`).
    pub rounds: u64,
    pub gil: bool,
    pub repeat: usize,
    pub models: Vec<Model>,
    pub cells: Vec<Cell>,
    /// What the figures rest on that is not measured here, in words.
    pub notes: Vec<String>,
    /// Set when a cancel stopped the grid: which cell.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancelled: Option<String>,
}

/// Judge one cell from its models' evidence and answers (a failed model has `None`).
pub fn judge_cell(evidence: &[Evidence], answers: &[Option<String>]) -> CellVerdict {
    let mut winner = (evidence.len() > 1)
        .then(|| verdict::extreme(evidence, false))
        .flatten();
    let given: Vec<&String> = answers.iter().flatten().collect();
    if let Some(w) = winner.as_mut()
        && given.windows(2).any(|p| p[0] != p[1])
    {
        w.state = State::inconclusive("the models' answers differ: a pool computed something else");
    }
    let mut by_time: Vec<&Evidence> = evidence.iter().collect();
    by_time.sort_by(|a, b| a.median().total_cmp(&b.median()));
    let (runner_up, margin) = match by_time.as_slice() {
        [w, r, ..] => (Some(r.model), Some(r.median() / w.median().max(1e-9))),
        _ => (None, None),
    };
    let pair: Vec<Evidence> = evidence
        .iter()
        .filter(|e| matches!(e.model, Model::Interpreters | Model::Processes))
        .cloned()
        .collect();
    CellVerdict {
        winner,
        runner_up,
        margin,
        interpreters_vs_processes: (pair.len() == 2)
            .then(|| verdict::extreme(&pair, false))
            .flatten(),
    }
}

/// A cell from its comparison.
pub fn cell_of(bytes: u64, items: usize, cmp: &Comparison) -> Cell {
    let ok: Vec<usize> = (0..cmp.rows.len())
        .filter(|&i| cmp.rows[i].answer.is_some())
        .collect();
    let evidence: Vec<Evidence> = ok
        .iter()
        .map(|&i| cmp.rows[i].evidence(cmp.elapsed[i].clone()))
        .collect();
    let answers: Vec<Option<String>> = cmp.rows.iter().map(|r| r.answer.clone()).collect();
    let times = cmp
        .rows
        .iter()
        .map(|r| ModelTime {
            model: r.model,
            elapsed_s: r.answer.is_some().then_some(r.elapsed_median_s),
            startup_ms: r
                .crossing
                .as_ref()
                .and_then(|c| c.startup_us)
                .map(|u| u as f64 / 1e3),
            copy_us_per_item: r
                .crossing
                .as_ref()
                .and_then(crate::core::Crossing::transfer_per_item_us),
            verdict: r.verdict.clone(),
        })
        .collect();
    let given: Vec<&String> = answers.iter().flatten().collect();
    Cell {
        bytes,
        items,
        times,
        answer: given.first().map(|s| s.to_string()),
        answers_agree: !given.is_empty() && given.windows(2).all(|p| p[0] == p[1]),
        verdict: judge_cell(&evidence, &answers),
    }
}

/// "100 B", "100 KB", "2 MB" (decimal units, as the grid's sizes are written).
pub fn bytes_text(b: u64) -> String {
    match b {
        b if b >= 1_000_000 && b % 1_000_000 == 0 => format!("{} MB", b / 1_000_000),
        b if b >= 1_000_000 => format!("{:.1} MB", b as f64 / 1e6),
        b if b >= 1_000 && b % 1_000 == 0 => format!("{} KB", b / 1_000),
        b if b >= 1_000 => format!("{:.1} KB", b as f64 / 1e3),
        b => format!("{b} B"),
    }
}

/// Run every cell of `plan` on `runner`, one after another, each a comparison of the
/// plan's models (`capacity`: the machine's, measured once before the grid). A cancel
/// keeps the cells that finished.
pub fn measure(
    runner: &dyn Runner,
    plan: &GridPlan,
    cancel: &CancelToken,
    capacity: f64,
    mut observer: Option<&mut (dyn Observer + 'static)>,
) -> Result<Grid, LabError> {
    let mut cells = Vec::with_capacity(plan.cells.len());
    let mut cancelled = None;
    for (k, &(bytes, items)) in plan.cells.iter().enumerate() {
        let at = format!(
            "cell {}/{} ({} × {items} items)",
            k + 1,
            plan.cells.len(),
            bytes_text(bytes)
        );
        if cancel.is_cancelled() {
            cancelled = Some(format!("cancelled before {at}"));
            break;
        }
        if plan.chatty {
            eprint!("\r{at:<40}");
        }
        let mut spec = plan.base.clone();
        spec.args.bytes = Some(bytes);
        spec.args.tasks = items;
        let trial = Trial {
            base: &spec,
            models: plan.models,
            repeat: plan.repeat,
            spinners: 1,
            chatty: false,
            machine: true,
        };
        let cmp = compare(
            runner,
            &trial,
            cancel,
            &mut || capacity,
            observer.as_deref_mut().map(|o| o as &mut dyn Observer),
            None,
        );
        let cmp = match cmp {
            Ok(c) => c,
            Err(_) if cancel.is_cancelled() => {
                cancelled = Some(format!("cancelled during {at}"));
                break;
            }
            Err(e) => return Err(e),
        };
        if cmp.cancelled.is_some() {
            cancelled = Some(format!("cancelled during {at}: its models left out"));
            break;
        }
        cells.push(cell_of(bytes, items, &cmp));
    }
    if plan.chatty {
        eprint!("\r{:40}\r", "");
    }
    if cells.is_empty()
        && let Some(c) = cancelled
    {
        return Err(LabError::Refused(format!("{c}: no cell finished")));
    }
    Ok(Grid {
        runtime: String::new(),
        workers: plan.base.args.workers,
        rounds: plan.base.args.size,
        gil: plan.base.gil.enabled,
        repeat: plan.repeat,
        models: plan.models.to_vec(),
        cells,
        notes: Vec::new(),
        cancelled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::{Interference, KernelShare};

    fn t(model: Model, s: f64) -> Evidence {
        Evidence::times(model, vec![s])
    }

    fn answers(n: usize) -> Vec<Option<String>> {
        vec![Some("42".into()); n]
    }

    #[test]
    fn a_clear_winner_with_its_margin() {
        let ev = [
            t(Model::Threads, 0.05),
            t(Model::Processes, 0.31),
            t(Model::Interpreters, 0.29),
        ];
        let v = judge_cell(&ev, &answers(3));
        let w = v.winner.expect("a winner");
        assert_eq!(w.value, Model::Threads);
        assert!(w.state.is_conclusive());
        assert_eq!(v.runner_up, Some(Model::Interpreters));
        assert!((v.margin.expect("a margin") - 5.8).abs() < 1e-9);
        let p = v.interpreters_vs_processes.expect("the pair");
        assert_eq!(p.value, Model::Interpreters);
        assert!(p.state.is_conclusive(), "{p:?}");
    }

    #[test]
    fn within_the_tie_margin_is_inconclusive() {
        // 1.712 s against 1.723 s: processes and interpreters on primes, 3.14.
        let ev = [
            t(Model::Threads, 3.01),
            t(Model::Processes, 1.712),
            t(Model::Interpreters, 1.723),
        ];
        let v = judge_cell(&ev, &answers(3));
        let w = v.winner.expect("a winner");
        assert_eq!(w.value, Model::Processes);
        assert_eq!(
            w.state.reason(),
            Some("processes and interpreters within 0.6% of each other")
        );
        assert!(
            !v.interpreters_vs_processes
                .expect("the pair")
                .state
                .is_conclusive()
        );
    }

    #[test]
    fn another_program_competing_makes_it_inconclusive() {
        // Threads "won" by 10%, but processes waited a third of their time for CPUs
        // other programs held: their best case wins.
        let mut procs = t(Model::Processes, 1.1);
        let share = KernelShare {
            on_cpu: 0.6,
            runnable: 0.4,
            thread_s: 2.2,
            ..Default::default()
        };
        procs.interference = Interference::of(1.1, Some(1.5), Some(&share));
        let ev = [t(Model::Threads, 1.0), procs];
        let v = judge_cell(&ev, &answers(2));
        let w = v.winner.expect("a winner");
        assert_eq!(w.value, Model::Threads);
        assert!(
            w.state
                .reason()
                .is_some_and(|r| r.contains("other programs held")),
            "{w:?}"
        );
        assert_eq!(v.interpreters_vs_processes, None, "no interpreters ran");
    }

    #[test]
    fn different_answers_are_never_a_win() {
        let ev = [t(Model::Threads, 0.1), t(Model::Processes, 1.0)];
        let v = judge_cell(&ev, &[Some("1".into()), Some("2".into())]);
        assert!(
            v.winner
                .expect("a winner")
                .state
                .reason()
                .is_some_and(|r| r.contains("answers differ"))
        );
    }

    #[test]
    fn one_model_left_is_no_verdict() {
        let v = judge_cell(&[t(Model::Threads, 0.1)], &[Some("1".into()), None]);
        assert_eq!((v.winner, v.runner_up, v.margin), (None, None, None));
    }

    #[test]
    fn sizes_in_words() {
        assert_eq!(bytes_text(100), "100 B");
        assert_eq!(bytes_text(100_000), "100 KB");
        assert_eq!(bytes_text(2_000_000), "2 MB");
        assert_eq!(bytes_text(1_500), "1.5 KB");
    }
}
