//! The verdict: whether a measurement can answer a question on this machine, now. A
//! verdict is data, made here once and shown everywhere (panels, the explanation line,
//! the lesson reveal, `compare`, `fidelity`, JSON): *conclusive*, or *inconclusive* with
//! the reason in words.
//!
//! The rules, as hyperfine and criterion practise them, plus what the kernel saw:
//! - **Interference.** A model is disturbed when other programs kept at least
//!   [`OTHERS_CORES`] of a core busy during its runs *and* its working threads waited for
//!   a CPU at least [`RUNQUEUE_SHARE`] of their time (a pool that oversubscribes the cores
//!   waits for its own threads, which is no disturbance). Its best case is its time
//!   without that wait; an answer holds only if it holds for the best case too.
//! - **Ties.** Two models within [`TIE_MARGIN`] of each other (or whose ranges over the
//!   repeats overlap) are a tie: "fastest" is never announced on a tie.
//! - **Structure.** With the GIL on, computing threads never had more than one thread on
//!   a CPU at once ([`Concurrency`]): they cannot beat one thread, however busy the
//!   machine — a conclusive "no" that wall times cannot fake.
//! - **Outliers.** A repeat over [`OUTLIER`]× the model's median is named in a warning.

use serde::Serialize;

use crate::core::Model;
use crate::observe::{Concurrency, Interference};

/// Two times within this fraction of each other are a tie.
pub const TIE_MARGIN: f64 = 0.05;
/// Other programs' load that can disturb a run: this many cores busy on average.
pub const OTHERS_CORES: f64 = 0.15;
/// A run is disturbed when its working threads waited for a CPU this share of their time.
pub const RUNQUEUE_SHARE: f64 = 0.05;
/// A repeat this many times its model's median is an outlier.
pub const OUTLIER: f64 = 1.25;

/// Conclusive, or not, and why not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum State {
    Conclusive,
    Inconclusive { reason: String },
}

impl State {
    pub fn inconclusive(reason: impl Into<String>) -> Self {
        State::Inconclusive {
            reason: reason.into(),
        }
    }

    pub fn is_conclusive(&self) -> bool {
        *self == State::Conclusive
    }

    /// The reason, when inconclusive.
    pub fn reason(&self) -> Option<&str> {
        match self {
            State::Conclusive => None,
            State::Inconclusive { reason } => Some(reason),
        }
    }

    /// "conclusive" or "inconclusive".
    pub fn name(&self) -> &'static str {
        match self {
            State::Conclusive => "conclusive",
            State::Inconclusive { .. } => "inconclusive",
        }
    }
}

/// An answer read off a measurement, and whether the measurement supports it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Judged<T> {
    pub value: T,
    #[serde(flatten)]
    pub state: State,
    /// What the answer rests on when it is not the wall times (the concurrency seen).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
}

impl<T> Judged<T> {
    fn conclusive(value: T) -> Self {
        Judged {
            value,
            state: State::Conclusive,
            evidence: None,
        }
    }

    fn inconclusive(value: T, reason: String) -> Self {
        Judged {
            value,
            state: State::Inconclusive { reason },
            evidence: None,
        }
    }
}

/// What one model's runs measured, as a verdict reads it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Evidence {
    pub model: Model,
    /// Each repeat's wall time, in seconds, in the order run.
    pub elapsed_s: Vec<f64>,
    pub interference: Interference,
    /// How many of its threads were on a CPU at once (`None`: not sampled).
    pub concurrency: Option<Concurrency>,
    /// The work mostly waited (sleeps, I/O): its speed-ups come from overlapping waits.
    pub waiting: bool,
    /// The GIL was on.
    pub gil: bool,
}

/// Work that mostly waited, as the kernel saw its working threads: asleep or on I/O
/// more than half their time. (Run-queue and lock waits are time wanting a CPU: a
/// starved or GIL-bound computation is not waiting work.)
pub fn waits(share: &crate::observe::KernelShare) -> bool {
    share.io + share.sleep > 0.5
}

impl Evidence {
    /// Evidence of runs with nothing known beside their times (a test, an old recording).
    pub fn times(model: Model, elapsed_s: Vec<f64>) -> Self {
        let wall_s = elapsed_s.iter().sum();
        Evidence {
            model,
            elapsed_s,
            interference: Interference::of(wall_s, None, None),
            concurrency: None,
            waiting: false,
            gil: true,
        }
    }

    pub fn median(&self) -> f64 {
        crate::core::median(&mut self.elapsed_s.clone())
    }

    pub fn min(&self) -> f64 {
        self.elapsed_s.iter().copied().fold(f64::INFINITY, f64::min)
    }

    pub fn max(&self) -> f64 {
        self.elapsed_s.iter().copied().fold(0.0, f64::max)
    }

    /// Why this model's times cannot be taken at face value, in words; `None` when clean.
    pub fn disturbance(&self) -> Option<String> {
        let i = &self.interference;
        let others = i.others_cores;
        let busy_others = others.is_none_or(|o| o >= OTHERS_CORES);
        // Time the CPU quota throttled the run is the limit conlab was given, not other
        // programs: it is taken off the wait for a CPU.
        let (wait, share) = match (i.runqueue_s, i.runqueue_share, i.throttled_s) {
            (Some(w), Some(sh), Some(t)) if w > 0.0 => {
                let own = (w - t).max(0.0);
                (Some(own), Some(sh * own / w))
            }
            (w, sh, _) => (w, sh),
        };
        match (wait, share) {
            (Some(wait), Some(share)) if share >= RUNQUEUE_SHARE && busy_others => {
                let who = match self.model {
                    Model::Sequential => "sequential".to_string(),
                    Model::Threads | Model::Processes | Model::Interpreters => {
                        format!("{}' workers", self.model)
                    }
                    m => format!("{m}'s workers"),
                };
                let held = match others {
                    Some(o) => format!(
                        "a CPU that other programs held ({o:.1} {} busy)",
                        if (o - 1.0).abs() < 0.05 {
                            "core"
                        } else {
                            "cores"
                        }
                    ),
                    None => "a CPU".into(),
                };
                Some(format!("{who} waited {wait:.2} s for {held}"))
            }
            (None, _) => others.filter(|o| *o >= 0.5).map(|o| {
                format!(
                    "other programs kept {o:.1} cores busy during {}",
                    self.model
                )
            }),
            _ => None,
        }
    }

    /// The fastest this model could have been without waiting for a CPU others held.
    pub fn best_case(&self) -> f64 {
        let min = self.min();
        match (self.disturbance(), self.interference.runqueue_share) {
            (Some(_), Some(share)) => min * (1.0 - share.clamp(0.0, 0.95)),
            // Disturbed with no run-queue figure: anything down to the others' share off.
            (Some(_), None) => min * 0.5,
            _ => min,
        }
    }

    /// The slowest it was measured.
    pub fn worst_case(&self) -> f64 {
        self.max()
    }

    /// A repeat far from the model's median, in words.
    pub fn outlier(&self) -> Option<String> {
        if self.elapsed_s.len() < 2 {
            return None;
        }
        let med = self.median();
        let (lo, hi) = (self.min(), self.max());
        if self.elapsed_s.len() == 2 && hi > lo * OUTLIER {
            return Some(format!(
                "{}'s two runs differ: {lo:.2} s and {hi:.2} s",
                self.model
            ));
        }
        (hi > med * OUTLIER).then(|| {
            format!(
                "one of {}'s runs took {hi:.2} s against a median of {med:.2} s",
                self.model
            )
        })
    }

    /// Its threads computed one at a time: sampled, the work computes, and never more
    /// than one thread was on a CPU at once (beyond noise).
    pub fn one_at_a_time(&self) -> bool {
        !self.waiting
            && self
                .concurrency
                .as_ref()
                .is_some_and(|c| c.samples >= 10 && c.most() <= 1)
    }

    fn range(&self) -> String {
        let (lo, hi) = (self.min(), self.max());
        if hi - lo < 0.0005 {
            format!("{lo:.3} s")
        } else {
            format!("{lo:.2}–{hi:.2} s")
        }
    }
}

/// Why `winner` is not clearly ahead of `other`, or `None` when it is.
fn not_ahead(winner: &Evidence, other: &Evidence) -> Option<String> {
    let w = winner.worst_case();
    if w * (1.0 + TIE_MARGIN) <= other.best_case() {
        return None;
    }
    if w * (1.0 + TIE_MARGIN) <= other.min() {
        // Clear on the raw times: only the disturbance makes it doubtful.
        return other.disturbance();
    }
    let (a, b) = (winner.median(), other.median());
    let pct = (b - a).abs() / a.min(b).max(1e-9) * 100.0;
    let apart = if pct < 1.0 {
        format!("{pct:.1}%")
    } else {
        format!("{pct:.0}%")
    };
    let mut reason = if winner.elapsed_s.len() > 1 || other.elapsed_s.len() > 1 {
        if winner.max() >= other.min() {
            format!(
                "{} ({}) and {} ({}) overlap",
                winner.model,
                winner.range(),
                other.model,
                other.range()
            )
        } else {
            format!(
                "{} and {} within {apart} of each other",
                winner.model, other.model
            )
        }
    } else {
        format!(
            "{} and {} within {apart} of each other",
            winner.model, other.model
        )
    };
    if let Some(d) = winner.disturbance().or_else(|| other.disturbance()) {
        reason = format!("{reason}; {d}");
    }
    Some(reason)
}

/// The model that finished first (`slowest`: last), and whether it clearly did.
pub fn extreme(evidence: &[Evidence], slowest: bool) -> Option<Judged<Model>> {
    let pick = if slowest {
        evidence
            .iter()
            .max_by(|a, b| a.median().total_cmp(&b.median()))?
    } else {
        evidence
            .iter()
            .min_by(|a, b| a.median().total_cmp(&b.median()))?
    };
    let doubts: Vec<String> = evidence
        .iter()
        .filter(|e| e.model != pick.model)
        .filter_map(|e| {
            if slowest {
                not_ahead(e, pick)
            } else {
                not_ahead(pick, e)
            }
        })
        .collect();
    Some(match doubts.into_iter().next() {
        None => Judged::conclusive(pick.model),
        Some(reason) => Judged::inconclusive(pick.model, reason),
    })
}

/// Was `a` at least `factor`× as fast as `b`? The measured ratio, and whether it decides.
pub fn faster(a: &Evidence, b: &Evidence, factor: f64) -> Judged<bool> {
    let ratio = b.median() / a.median().max(1e-9);
    // Structure first: computing threads that never ran two at once cannot beat one
    // thread — a property of the model only where the model allows one at a time (threads
    // sharing one GIL; one event loop). Processes starved by other programs may also show
    // one at a time, but each has its own GIL: no structure there.
    let one_by_design = match a.model {
        Model::Threads => a.gil,
        Model::Async => true,
        _ => false,
    };
    if b.model == Model::Sequential && one_by_design && a.one_at_a_time() && factor > 1.0 {
        let c = a
            .concurrency
            .as_ref()
            .map(Concurrency::describe)
            .unwrap_or_default();
        return Judged {
            value: false,
            state: State::Conclusive,
            evidence: Some(format!(
                "{} never had more than one thread on a CPU at once ({c}): it cannot beat one thread",
                a.model
            )),
        };
    }
    let low = b.best_case() / a.worst_case().max(1e-9);
    let high = b.worst_case() / a.best_case().max(1e-9);
    let close = |r: f64| (r - factor).abs() < factor * TIE_MARGIN / 2.0;
    if low >= factor && !close(low) {
        return Judged::conclusive(true);
    }
    if high < factor && !close(high) {
        return Judged::conclusive(false);
    }
    let why = a
        .disturbance()
        .or_else(|| b.disturbance())
        .unwrap_or_else(|| {
            format!(
                "{} ran {ratio:.2}× as fast as {}: too close to the {factor:.2}× that means yes",
                a.model, b.model
            )
        });
    Judged::inconclusive(ratio >= factor, why)
}

/// Which of `values` (seconds) a model's time is closest to, and whether its best and
/// worst cases agree on it.
pub fn closest_time(e: &Evidence, values: &[f64]) -> Judged<Option<usize>> {
    let pick = |x: f64| crate::experiment::lesson::closest(values, x);
    let (lo, hi) = (pick(e.best_case()), pick(e.worst_case()));
    let at = pick(e.median());
    if lo == hi {
        Judged::conclusive(at)
    } else {
        Judged::inconclusive(
            at,
            e.disturbance().unwrap_or_else(|| {
                format!("{}'s runs ({}) straddle two answers", e.model, e.range())
            }),
        )
    }
}

/// A figure that is not a time but was measured on busy threads (workers' busy times):
/// conclusive unless the model was disturbed.
pub fn undisturbed(e: &Evidence) -> State {
    match e.disturbance() {
        Some(d) => State::inconclusive(d),
        None => State::Conclusive,
    }
}

/// Warnings about the runs (outliers), in words.
pub fn warnings(evidence: &[Evidence]) -> Vec<String> {
    evidence.iter().filter_map(Evidence::outlier).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disturbed(model: Model, t: f64, waited: f64, others: f64) -> Evidence {
        let mut e = Evidence::times(model, vec![t]);
        let share = crate::observe::KernelShare {
            on_cpu: 1.0 - waited / t,
            runnable: waited / t,
            thread_s: t,
            ..Default::default()
        };
        e.interference = Interference::of(t, Some(others * t), Some(&share));
        e
    }

    fn gil_threads(t: f64, at_two: u64) -> Evidence {
        let mut e = Evidence::times(Model::Threads, vec![t]);
        let mut c = Concurrency::default();
        for _ in 0..(100 - at_two) {
            c.add(5_000_000, 5_000_000);
        }
        for _ in 0..at_two {
            c.add(10_000_000, 5_000_000);
        }
        e.concurrency = Some(c);
        e
    }

    #[test]
    fn a_clear_winner_on_a_quiet_machine_is_conclusive() {
        let ev = [
            Evidence::times(Model::Sequential, vec![3.0]),
            Evidence::times(Model::Threads, vec![3.05]),
            Evidence::times(Model::Processes, vec![1.8]),
        ];
        let j = extreme(&ev, false).expect("a pick");
        assert_eq!(j.value, Model::Processes);
        assert!(j.state.is_conclusive());
        let s = extreme(&ev, true).expect("a pick");
        assert_eq!(s.value, Model::Threads);
        assert_eq!(
            s.state.reason(),
            Some("sequential and threads within 2% of each other")
        );
    }

    #[test]
    fn a_tie_is_never_announced_as_fastest() {
        // Lesson 02 on a busy machine: threads 3.887 s against processes 3.904 s.
        let ev = [
            Evidence::times(Model::Threads, vec![3.887]),
            Evidence::times(Model::Processes, vec![3.904]),
        ];
        let j = extreme(&ev, false).expect("a pick");
        assert_eq!(
            j.state.reason(),
            Some("threads and processes within 0.4% of each other")
        );
        // With repeats, overlapping ranges say so.
        let ev = [
            Evidence::times(Model::Threads, vec![3.89, 4.02, 3.95]),
            Evidence::times(Model::Processes, vec![3.90, 3.95, 3.93]),
        ];
        let j = extreme(&ev, false).expect("a pick");
        assert!(
            j.state.reason().is_some_and(|r| r.contains("overlap")),
            "{j:?}"
        );
    }

    #[test]
    fn a_starved_baseline_makes_a_speedup_inconclusive() {
        // Processes 1.5× sequential, but sequential waited a third of its time for a CPU.
        let seq = disturbed(Model::Sequential, 4.5, 1.5, 2.0);
        let procs = Evidence::times(Model::Processes, vec![3.0]);
        assert!(seq.disturbance().is_some());
        let j = extreme(&[seq.clone(), procs.clone()], false).expect("a pick");
        assert_eq!(j.value, Model::Processes);
        assert_eq!(
            j.state.reason(),
            Some("sequential waited 1.50 s for a CPU that other programs held (2.0 cores busy)")
        );
        let y = faster(&procs, &seq, 1.1);
        assert!(!y.state.is_conclusive(), "{y:?}");
        // Had sequential waited little, the same times decide.
        let seq = disturbed(Model::Sequential, 4.5, 0.1, 2.0);
        assert!(
            extreme(&[seq, procs], false)
                .expect("a pick")
                .state
                .is_conclusive()
        );
    }

    #[test]
    fn time_the_quota_throttled_is_not_other_programs() {
        let mut e = Evidence::times(Model::Sequential, vec![1.0]);
        e.interference = Interference::of(
            1.0,
            Some(1.0),
            Some(&crate::observe::KernelShare {
                runnable: 0.5,
                on_cpu: 0.5,
                thread_s: 1.0,
                ..Default::default()
            }),
        );
        assert!(e.disturbance().is_some(), "0.5 s waiting while others ran");
        e.interference = e
            .interference
            .with_throttle(Some(crate::sys::cgroup::Throttle {
                periods: 10,
                throttled_periods: 5,
                throttled_us: 480_000,
            }));
        assert_eq!(e.disturbance(), None, "all but 0.02 s of it was the quota");
    }

    #[test]
    fn oversubscribing_its_own_cores_is_not_interference() {
        // 8 workers on 2 cores wait for each other; nothing else ran.
        let e = disturbed(Model::Threads, 2.0, 1.5, 0.02);
        assert_eq!(e.disturbance(), None);
        assert_eq!(e.best_case(), 2.0);
    }

    #[test]
    fn gil_threads_cannot_beat_one_thread_however_busy_the_machine() {
        // The busy-machine case of the issue: GIL threads "1.17× faster" because
        // sequential was starved. The structure says no.
        let seq = disturbed(Model::Sequential, 3.5, 2.3, 2.0);
        let threads = gil_threads(3.0, 1);
        let j = faster(&threads, &seq, 1.1);
        assert!(!j.value);
        assert!(j.state.is_conclusive());
        assert!(
            j.evidence
                .as_deref()
                .is_some_and(|e| e.contains("never had more than one")),
            "{j:?}"
        );
        // Threads that did run two at once are judged by their times.
        let free = gil_threads(1.6, 80);
        let j = faster(&free, &Evidence::times(Model::Sequential, vec![3.0]), 1.1);
        assert!(j.value && j.state.is_conclusive(), "{j:?}");
        assert!(j.evidence.is_none());
    }

    #[test]
    fn starved_processes_are_no_structural_no() {
        // Lesson 12 under two busy loops: processes 1.30× with one at a time on a CPU.
        let mut procs = gil_threads(2.3, 0);
        procs.model = Model::Processes;
        let j = faster(&procs, &Evidence::times(Model::Sequential, vec![3.0]), 1.1);
        assert!(j.evidence.is_none(), "{j:?}");
        assert!(j.value, "{j:?}");
    }

    #[test]
    fn waiting_work_is_not_judged_by_concurrency() {
        let mut t = gil_threads(1.0, 0);
        t.waiting = true;
        let j = faster(&t, &Evidence::times(Model::Sequential, vec![10.0]), 1.1);
        assert!(j.value && j.state.is_conclusive(), "{j:?}");
    }

    #[test]
    fn a_ratio_at_the_threshold_is_too_close() {
        let a = Evidence::times(Model::Threads, vec![1.0]);
        let b = Evidence::times(Model::Sequential, vec![1.1]);
        let j = faster(&a, &b, 1.1);
        assert!(!j.state.is_conclusive(), "{j:?}");
        assert!(
            faster(&a, &Evidence::times(Model::Sequential, vec![1.0]), 1.1)
                .state
                .is_conclusive()
        );
    }

    #[test]
    fn times_between_two_answers_are_inconclusive() {
        let e = disturbed(Model::Threads, 2.0, 0.9, 1.5);
        let j = closest_time(&e, &[1.0, 2.0, 4.0]);
        assert_eq!(j.value, Some(1));
        assert!(!j.state.is_conclusive());
        let clean = Evidence::times(Model::Threads, vec![2.0]);
        assert!(closest_time(&clean, &[1.0, 2.0, 4.0]).state.is_conclusive());
    }

    #[test]
    fn outliers_are_named() {
        let e = Evidence::times(Model::Sequential, vec![1.4, 1.41, 2.1]);
        assert_eq!(
            e.outlier().as_deref(),
            Some("one of sequential's runs took 2.10 s against a median of 1.41 s")
        );
        assert!(
            Evidence::times(Model::Sequential, vec![1.4, 1.45])
                .outlier()
                .is_none()
        );
        assert_eq!(warnings(&[e]).len(), 1);
    }

    #[test]
    fn without_a_run_queue_figure_heavy_load_still_disturbs() {
        let mut e = Evidence::times(Model::Sequential, vec![2.0]);
        e.interference = Interference::of(2.0, Some(3.0), None);
        assert!(e.disturbance().is_some_and(|d| d.contains("1.5 cores")));
        assert!(e.best_case() < 2.0);
    }
}
