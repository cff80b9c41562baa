//! A comparison's data: one row per model, folded from the measured runs. The `compare`
//! command fills it; the exporters beside it read it.

use serde::Serialize;

use super::verdict::{self, Evidence, Judged, State};
use crate::core::Model;
use crate::exec::RunReport;
use crate::observe::{Concurrency, Interference, KernelShare};

/// One model's line in a comparison: the keys of `compare --format json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    /// What ran (repeated on every row, so each JSON row stands alone).
    pub workload: String,
    pub size: u64,
    pub tasks: usize,
    /// `--split`, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split: Option<String>,
    pub model: Model,
    pub gil: bool,
    pub workers: usize,
    pub repeat: usize,
    pub elapsed_median_s: f64,
    pub elapsed_min_s: f64,
    pub elapsed_max_s: f64,
    /// Versus sequential's median; `None` when sequential was not run.
    pub speedup: Option<f64>,
    pub efficiency: Option<f64>,
    /// Cores busy on average (CPU time / elapsed), median over the repeats.
    pub cpu_utilisation: f64,
    /// The ceiling this row's speed-up is held against: 1× for one worker, else the
    /// machine's capacity measured right before this model.
    pub capacity: f64,
    /// Speed-up ÷ capacity; `None` without a speed-up, and for waiting work.
    pub of_capacity: Option<f64>,
    /// The work mostly waited: fewer cores busy than half its speed-up (or than half a
    /// core). Its speed-up comes from overlapping waits, not cores, so efficiency and
    /// share of capacity are "—".
    pub waiting: bool,
    /// `None` if any repeat failed or was cancelled.
    pub answer: Option<String>,
    pub answers_agree: bool,
    pub failed: usize,
    /// Each worker's busy time (the sum of its tasks' spans) in the median run, in
    /// seconds; empty when not measured.
    pub busy_s: Vec<f64>,
    /// The busiest worker's time ÷ the mean: 1.00 is perfect balance; `None` without busy
    /// times or with one worker.
    pub imbalance: Option<f64>,
    /// Peak resident memory of conlab's process tree during the run, in MB (the largest
    /// over the repeats); `None` where it was not measured.
    pub peak_rss_mb: Option<f64>,
    /// Most threads at once (this process and its worker processes).
    pub peak_threads: Option<u64>,
    /// Async only: the latest heartbeat, in ms (the largest over the repeats).
    pub loop_lag_max_ms: Option<f64>,
    /// Async only: the 99th percentile of heartbeat lag, in ms (median over the repeats).
    pub loop_lag_p99_ms: Option<f64>,
    /// What the kernel saw the run's working threads do over all the repeats (sampled
    /// from `/proc`); `None` where it was not sampled ([`Comparison::kernel_note`] says
    /// why).
    pub kernel: Option<KernelShare>,
    /// What other programs took from this model's runs (and the CPU quota, when one
    /// throttled them).
    pub interference: Option<Interference>,
    /// The CPU conlab was given: `cpus_seen`, `cpus_affinity`, `cpu_quota` (null: none),
    /// `cpuset`.
    #[serde(flatten)]
    pub cpus: crate::core::CpusGiven,
    /// How many of its threads were on a CPU at once, sample by sample (`None`: not
    /// sampled).
    pub concurrency: Option<Concurrency>,
    /// Whether this row's speed-up can be trusted: inconclusive when it or the sequential
    /// baseline was disturbed, with the reason.
    pub verdict: State,
    /// An outlier among its repeats, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// What the median run's pool paid to start its workers and to copy tasks across to
    /// them (threads, processes, interpreters); `None` where not measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crossing: Option<crate::core::Crossing>,
}

impl Row {
    /// What a verdict reads of this row.
    pub fn evidence(&self, elapsed_s: Vec<f64>) -> Evidence {
        Evidence {
            model: self.model,
            elapsed_s,
            interference: self
                .interference
                .unwrap_or_else(|| Interference::of(self.elapsed_median_s, None, None)),
            concurrency: self.concurrency.clone(),
            // The kernel's view tells waiting from starved; without it, CPU over wall.
            waiting: self.kernel.as_ref().map_or(self.waiting, verdict::waits),
            gil: self.gil,
        }
    }

    /// Busy time per worker, for a table cell: "3.10 s" or "1.02–2.95 s".
    pub fn busy_cell(&self) -> String {
        let min = self.busy_s.iter().copied().fold(f64::INFINITY, f64::min);
        let max = self.busy_s.iter().copied().fold(0.0, f64::max);
        match self.busy_s.len() {
            0 => "—".into(),
            1 => format!("{max:.2} s"),
            _ => format!("{min:.2}–{max:.2} s"),
        }
    }
}

/// The busiest worker ÷ the mean, over workers that were busy at all.
pub fn imbalance(busy: &[f64]) -> Option<f64> {
    let busy: Vec<f64> = busy.iter().copied().filter(|b| *b > 0.0).collect();
    let mean = busy.iter().sum::<f64>() / busy.len().max(1) as f64;
    let max = busy.iter().copied().fold(0.0, f64::max);
    (busy.len() > 1 && mean > 0.0).then(|| max / mean)
}

/// A whole comparison: what ran and one row per model.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Comparison {
    pub workload: String,
    pub meaning: String,
    pub size: u64,
    pub tasks: usize,
    pub workers: usize,
    pub gil: bool,
    pub switch_interval_ms: f64,
    /// `--split`, when given (how primes' numbers were cut into tasks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split: Option<String>,
    pub capacity: f64,
    pub capacity_spinners: usize,
    /// How often the kernel's view was sampled, in ms; `None` when it was not.
    pub kernel_sample_ms: Option<u64>,
    /// Why the rows have no kernel shares, when sampling was asked for and failed.
    pub kernel_note: Option<String>,
    /// The repeats ran interleaved across models.
    pub interleaved: bool,
    /// Who ran it, e.g. "CPython 3.13.5 free-threaded, GIL off" (set by the command).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    /// The model that finished first, and whether the measurement supports saying so
    /// (`None` with fewer than two models that succeeded).
    pub fastest: Option<Judged<Model>>,
    /// Outliers among the repeats, in words.
    pub warnings: Vec<String>,
    pub rows: Vec<Row>,
    /// Each row's repeats' times, for the verdict (the rows keep min, median and max).
    #[serde(skip)]
    pub elapsed: Vec<Vec<f64>>,
    /// Set when a cancel (Ctrl-C, SIGTERM) stopped the comparison: which run it stopped
    /// and what the rows are made of. `None` when every run finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled: Option<String>,
}

impl Comparison {
    /// Make the verdict from the rows: each row's speed-up, the fastest model, outliers.
    pub fn judge(&mut self) {
        let evidence: Vec<Evidence> = self
            .rows
            .iter()
            .zip(&self.elapsed)
            .filter(|(r, _)| r.answer.is_some())
            .map(|(r, el)| r.evidence(el.clone()))
            .collect();
        let baseline = evidence.iter().find(|e| e.model == Model::Sequential);
        for row in &mut self.rows {
            let own = evidence.iter().find(|e| e.model == row.model);
            let doubt = own.and_then(Evidence::disturbance).or_else(|| {
                baseline
                    .filter(|_| row.speedup.is_some())
                    .and_then(Evidence::disturbance)
            });
            row.verdict = match doubt {
                Some(d) => State::inconclusive(d),
                None => State::Conclusive,
            };
            row.warning = own.and_then(Evidence::outlier);
        }
        self.fastest = (evidence.len() > 1)
            .then(|| verdict::extreme(&evidence, false))
            .flatten();
        self.warnings = verdict::warnings(&evidence);
    }
}

/// The median of a copy of `xs`.
fn median(xs: &[f64]) -> f64 {
    crate::core::median(&mut xs.to_vec())
}

/// A model's runs all succeeded: none failed, none was cancelled, each has an answer.
fn succeeded(reports: &[RunReport]) -> bool {
    !reports.is_empty()
        && reports
            .iter()
            .all(|r| r.failures.is_empty() && !r.cancelled && r.answer.is_some())
}

/// Fold the measured runs (grouped per model, in order, each with the machine capacity
/// measured just before it) into a comparison.
pub fn summarise(measured: &[(Model, Vec<RunReport>, f64)], spinners: usize) -> Comparison {
    let runs: Vec<(Model, Vec<RunReport>)> =
        measured.iter().map(|(m, r, _)| (*m, r.clone())).collect();
    let capacities: Vec<f64> = measured.iter().map(|(_, _, c)| *c).collect();
    let capacity = capacities.iter().sum::<f64>() / capacities.len().max(1) as f64;
    let first = runs.iter().flat_map(|(_, r)| r.first()).next();
    let answer_of = |reports: &[RunReport]| -> Option<String> {
        let answers: Vec<Option<&str>> = reports
            .iter()
            .map(|r| r.answer.as_ref().map(|a| a.value.as_str()))
            .collect();
        match answers.first() {
            Some(Some(a)) if answers.iter().all(|x| *x == Some(*a)) => Some(a.to_string()),
            _ => None,
        }
    };
    let answers: Vec<Option<String>> = runs.iter().map(|(_, r)| answer_of(r)).collect();
    let agree = answers.iter().all(|a| a.is_some() && *a == answers[0]);
    // A failed model has no speed-up, and a failed sequential run is no baseline.
    let seq_median = runs
        .iter()
        .find(|(m, r)| *m == Model::Sequential && succeeded(r))
        .map(|(_, r)| {
            median(
                &r.iter()
                    .map(|x| x.elapsed.as_secs_f64())
                    .collect::<Vec<_>>(),
            )
        });
    let rows = runs
        .iter()
        .zip(answers)
        .zip(capacities)
        .map(|(((model, reports), answer), capacity)| {
            let el: Vec<f64> = reports.iter().map(|r| r.elapsed.as_secs_f64()).collect();
            let med = median(&el);
            let workers = if *model == Model::Sequential {
                1
            } else {
                reports.first().map_or(1, |r| r.workers)
            };
            let speedup = seq_median
                .filter(|_| med > 0.0 && succeeded(reports))
                .map(|s| s / med);
            let cpu_utilisation = median(
                &reports
                    .iter()
                    .map(RunReport::cpu_utilisation)
                    .collect::<Vec<_>>(),
            );
            // Sequential uses one core: its ceiling is 1×, not the machine's.
            let ceiling = if workers == 1 { 1.0 } else { capacity };
            let first = reports.first();
            // The busy times (and the crossing) of the run whose elapsed time is the median.
            let median_run = reports.iter().min_by(|a, b| {
                let d = |r: &RunReport| (r.elapsed.as_secs_f64() - med).abs();
                d(a).total_cmp(&d(b))
            });
            let busy_s: Vec<f64> = median_run
                .map(|r| r.busy_us.iter().map(|us| *us as f64 / 1e6).collect())
                .unwrap_or_default();
            let crossing = median_run.and_then(|r| r.crossing.clone());
            // Waiting work: its speed-up does not come from cores.
            let waiting = cpu_utilisation < 0.5 * speedup.unwrap_or(1.0).max(1.0);
            Row {
                workload: first.map(|r| r.workload.clone()).unwrap_or_default(),
                size: first.map_or(0, |r| r.size),
                tasks: first.map_or(0, |r| r.tasks),
                split: None,
                cpus: Default::default(),
                model: *model,
                gil: reports.first().is_some_and(|r| r.gil),
                workers,
                repeat: reports.len(),
                elapsed_median_s: med,
                elapsed_min_s: el.iter().copied().fold(f64::INFINITY, f64::min),
                elapsed_max_s: el.iter().copied().fold(0.0, f64::max),
                speedup,
                efficiency: speedup.filter(|_| !waiting).map(|s| s / workers as f64),
                cpu_utilisation,
                capacity: ceiling,
                of_capacity: speedup.filter(|_| !waiting).map(|s| s / ceiling),
                waiting,
                answer,
                answers_agree: agree,
                failed: reports.iter().map(|r| r.failures.len()).sum(),
                imbalance: imbalance(&busy_s),
                busy_s,
                peak_rss_mb: reports
                    .iter()
                    .filter_map(|r| r.memory)
                    .map(|m| crate::core::fmt::mb(m.peak_rss_bytes))
                    .reduce(f64::max),
                peak_threads: reports
                    .iter()
                    .filter_map(|r| r.memory)
                    .map(|m| m.peak_threads)
                    .max(),
                loop_lag_max_ms: reports
                    .iter()
                    .filter_map(|r| r.loop_lag)
                    .map(|l| l.max_lag_us as f64 / 1e3)
                    .reduce(f64::max),
                loop_lag_p99_ms: {
                    let p: Vec<f64> = reports
                        .iter()
                        .filter_map(|r| r.loop_lag)
                        .map(|l| l.p99_lag_us as f64 / 1e3)
                        .collect();
                    (!p.is_empty()).then(|| median(&p))
                },
                kernel: None,
                interference: None,
                concurrency: None,
                verdict: State::Conclusive,
                warning: None,
                crossing,
            }
        })
        .collect();
    let mut cmp = Comparison {
        workload: first.map(|r| r.workload.clone()).unwrap_or_default(),
        meaning: first
            .and_then(|r| r.answer.as_ref())
            .map(|a| a.meaning.clone())
            .unwrap_or_default(),
        size: first.map_or(0, |r| r.size),
        tasks: first.map_or(0, |r| r.tasks),
        workers: runs
            .iter()
            .flat_map(|(_, r)| r.first())
            .map(|r| r.workers)
            .max()
            .unwrap_or(1),
        gil: first.is_some_and(|r| r.gil),
        switch_interval_ms: 0.0,
        split: None,
        capacity,
        capacity_spinners: spinners,
        kernel_sample_ms: None,
        kernel_note: None,
        runtime: None,
        interleaved: false,
        fastest: None,
        warnings: Vec::new(),
        rows,
        elapsed: runs
            .iter()
            .map(|(_, r)| r.iter().map(|x| x.elapsed.as_secs_f64()).collect())
            .collect(),
        cancelled: None,
    };
    cmp.judge();
    cmp
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use crate::core::Answer;

    fn report(model: Model, secs: f64, cpu: f64, answer: &str) -> RunReport {
        RunReport {
            loop_lag: None,
            memory: None,
            workload: "primes".into(),
            model,
            workers: 2,
            gil: true,
            size: 100,
            tasks: 4,
            answer: Some(Answer {
                value: answer.into(),
                meaning: "primes below 100".into(),
            }),
            elapsed: Duration::from_secs_f64(secs),
            cpu: Duration::from_secs_f64(cpu),
            failures: vec![],
            cancelled: false,
            details: None,
            crossing: None,
            unreaped_cpu: Duration::ZERO,
            busy_us: vec![],
        }
    }

    #[test]
    fn speedup_efficiency_and_capacity() {
        let runs = vec![
            (
                Model::Sequential,
                vec![report(Model::Sequential, 4.0, 4.0, "25")],
                1.6,
            ),
            (
                Model::Threads,
                vec![report(Model::Threads, 4.0, 4.0, "25")],
                1.6,
            ),
            (
                Model::Processes,
                vec![
                    report(Model::Processes, 2.5, 4.0, "25"),
                    report(Model::Processes, 2.0, 4.0, "25"),
                    report(Model::Processes, 3.0, 4.0, "25"),
                ],
                1.6,
            ),
        ];
        let c = summarise(&runs, 2);
        let p = &c.rows[2];
        assert_eq!(p.elapsed_median_s, 2.5);
        assert_eq!(p.elapsed_min_s, 2.0);
        assert_eq!(p.elapsed_max_s, 3.0);
        assert_eq!(p.speedup, Some(1.6));
        assert_eq!(p.efficiency, Some(0.8));
        assert_eq!(p.of_capacity, Some(1.0));
        assert_eq!(c.rows[0].workers, 1, "sequential uses one worker");
        assert_eq!(c.rows[0].of_capacity, Some(1.0));
        assert_eq!(
            c.rows[0].capacity, 1.0,
            "sequential's ceiling is one core, so speed-up ÷ capacity reads true"
        );
        assert!(c.rows.iter().all(|r| r.answers_agree));
        assert!(
            c.rows
                .iter()
                .all(|r| r.workload == "primes" && r.size == 100 && r.tasks == 4)
        );
    }

    #[test]
    fn waiting_work_has_no_share_of_capacity() {
        // Four waits overlapped: 4× faster with almost no CPU. The speed-up did not come
        // from cores, so a share of the cores' capacity (200%) would mislead.
        let runs = vec![
            (
                Model::Sequential,
                vec![report(Model::Sequential, 4.0, 0.01, "25")],
                2.0,
            ),
            (
                Model::Threads,
                vec![report(Model::Threads, 1.0, 0.01, "25")],
                2.0,
            ),
        ];
        let c = summarise(&runs, 2);
        assert_eq!(c.rows[1].speedup, Some(4.0));
        assert_eq!(c.rows[1].of_capacity, None);
    }

    #[test]
    fn disagreeing_answers_are_flagged() {
        let runs = vec![
            (
                Model::Sequential,
                vec![report(Model::Sequential, 1.0, 1.0, "25")],
                2.0,
            ),
            (
                Model::Threads,
                vec![report(Model::Threads, 1.0, 1.0, "24")],
                1.5,
            ),
        ];
        let c = summarise(&runs, 2);
        assert_eq!(c.capacity, 1.75, "the mean of the per-model measurements");
        assert_eq!(c.rows[1].capacity, 1.5, "each row keeps its own");
        assert!(c.rows.iter().all(|r| !r.answers_agree));
    }

    #[test]
    fn no_sequential_means_no_speedup() {
        let runs = vec![(
            Model::Threads,
            vec![report(Model::Threads, 1.0, 1.0, "25")],
            2.0,
        )];
        let c = summarise(&runs, 2);
        assert_eq!(c.rows[0].speedup, None);
        assert_eq!(c.rows[0].of_capacity, None);
    }
}
