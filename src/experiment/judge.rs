//! A lesson step judged from what its models measured: the measured answer in words, the
//! option it picks — only when the measurement supports it — and the verdict's state.
//! The dashboard's reveal and `conlab lesson --auto` both judge here, from the same
//! [`verdict`] rules, so the class and a rehearsal hear the same thing.

use serde::Serialize;

use super::lesson::{AnswerKind, Op, Step, UNEVEN, YesIf, closest};
use super::verdict::{self, Evidence, State};
use crate::core::Model;
use crate::core::fmt;

/// One model's runs in a step: its evidence, its answer and its workers' busy times.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelRuns {
    pub evidence: Evidence,
    /// The answer's value and what it means ("1270607", "primes below 20,000,000").
    pub answer: Option<(String, String)>,
    /// Each worker's busy time in seconds (the median run's), for `uneven`.
    pub busy_s: Vec<f64>,
}

/// The step's verdict.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StepVerdict {
    /// The measurement, in words: "threads fastest, in 1.02 s".
    pub measured: String,
    /// The option the measurement picks; `None` when it cannot decide (inconclusive, or
    /// a question no measurement decides).
    pub right: Option<usize>,
    #[serde(flatten)]
    pub state: State,
    /// What the answer rests on when not the wall times.
    pub evidence: Option<String>,
    /// Outliers among the runs.
    pub warnings: Vec<String>,
    /// The option the lesson's written reveal expects, when it says and the (conclusive)
    /// measurement disagrees.
    pub text_disagrees: Option<usize>,
}

fn secs(s: f64) -> String {
    fmt::secs((s * 1e6) as u64)
}

/// The measured answer of one model: "297560 updates lost … (on threads, 0.41 s)".
fn answer_of(r: &ModelRuns) -> Option<String> {
    let (value, meaning) = r.answer.as_ref()?;
    Some(format!(
        "{value} {meaning} (on {}, {})",
        r.evidence.model,
        secs(r.evidence.median())
    ))
}

/// `got OP want`: numbers compare as numbers, words only with == and !=.
fn compare(got: &str, op: Op, want: &str) -> Option<bool> {
    let num = |s: &str| s.replace(',', "").parse::<f64>().ok();
    match (num(got), num(want)) {
        (Some(g), Some(w)) => Some(match op {
            Op::Eq => g == w,
            Op::Ne => g != w,
            Op::Lt => g < w,
            Op::Le => g <= w,
            Op::Gt => g > w,
            Op::Ge => g >= w,
        }),
        _ => match op {
            Op::Eq => Some(got == want),
            Op::Ne => Some(got != want),
            _ => None,
        },
    }
}

/// The measured answer of `step` from its models' runs (in the step's order; models that
/// did not run are left out). `None` when nothing ran that the question needs.
pub fn judge(step: &Step, runs: &[ModelRuns]) -> Option<StepVerdict> {
    let find = |m: Model| runs.iter().find(|r| r.evidence.model == m);
    let evidence: Vec<Evidence> = runs.iter().map(|r| r.evidence.clone()).collect();
    let index_of = |m: Model| step.models.iter().position(|x| *x == m);
    let mut extra = None;
    let (measured, pick, state) = match step.answer_kind() {
        AnswerKind::Fastest | AnswerKind::Slowest => {
            let slowest = step.answer_kind() == AnswerKind::Slowest;
            let j = verdict::extreme(&evidence, slowest)?;
            let e = evidence.iter().find(|e| e.model == j.value)?;
            let word = if slowest { "slowest" } else { "fastest" };
            let measured = if j.state.is_conclusive() {
                format!("{} {word}, in {}", j.value, secs(e.median()))
            } else {
                format!(
                    "{} first to finish, in {} — no clear {word}",
                    j.value,
                    secs(e.median())
                )
            };
            (measured, index_of(j.value), j.state)
        }
        AnswerKind::Time => {
            let m = step.timed_model();
            let e = &find(m)?.evidence;
            let j = verdict::closest_time(e, &step.values);
            (format!("{m} took {}", secs(e.median())), j.value, j.state)
        }
        AnswerKind::Number => {
            let r = find(*step.models.first()?)?;
            let (value, _) = r.answer.as_ref()?;
            let i = value
                .replace(',', "")
                .parse::<f64>()
                .ok()
                .and_then(|x| closest(&step.values, x));
            // A magnitude (a wait in ms, a count of wake-ups) moves with the machine's
            // load as a time does: a disturbed run cannot vouch for it.
            (answer_of(r)?, i, verdict::undisturbed(&r.evidence))
        }
        AnswerKind::YesNo => match step.yes_if() {
            Some(YesIf::Answer { op, value }) => {
                let r = find(*step.models.first()?)?;
                let yes = compare(&r.answer.as_ref()?.0, op, &value);
                (
                    answer_of(r)?,
                    yes.map(|y| usize::from(!y)),
                    State::Conclusive,
                )
            }
            Some(YesIf::Faster { a, b }) => {
                let (ea, eb) = (&find(a)?.evidence, &find(b)?.evidence);
                let j = verdict::faster(ea, eb, 1.1);
                extra = j.evidence.clone();
                let ratio = eb.median() / ea.median().max(1e-9);
                (
                    format!("{a} ran {ratio:.2}× as fast as {b} (yes needs 1.10× or more)"),
                    Some(usize::from(!j.value)),
                    j.state,
                )
            }
            Some(YesIf::Uneven { model }) => {
                let r = find(model)?;
                let busy: Vec<f64> = r.busy_s.iter().copied().filter(|b| *b > 0.0).collect();
                if busy.len() < 2 {
                    return None;
                }
                let min = busy.iter().copied().fold(f64::INFINITY, f64::min);
                let max = busy.iter().copied().fold(0.0, f64::max);
                let ratio = max / (busy.iter().sum::<f64>() / busy.len() as f64);
                (
                    format!(
                        "{model}: workers busy {min:.2}–{max:.2} s, the busiest {ratio:.2}× the \
                         mean (yes needs {UNEVEN:.2}× or more)"
                    ),
                    Some(usize::from(ratio < UNEVEN)),
                    verdict::undisturbed(&r.evidence),
                )
            }
            None => (plain(step, runs)?, None, State::Conclusive),
        },
        AnswerKind::Choice | AnswerKind::Open => (plain(step, runs)?, None, State::Conclusive),
    };
    let right = pick.filter(|_| state.is_conclusive());
    let text_disagrees = step
        .expected()
        .zip(right)
        .and_then(|(e, r)| (e != r && e < step.options().len()).then_some(e));
    Some(StepVerdict {
        measured,
        right,
        state,
        evidence: extra,
        warnings: verdict::warnings(&evidence),
        text_disagrees,
    })
}

/// The measurement with no question to decide: one model's answer, or the first to finish.
fn plain(step: &Step, runs: &[ModelRuns]) -> Option<String> {
    if step.models.len() == 1 {
        return runs.first().and_then(answer_of);
    }
    let first = runs
        .iter()
        .min_by(|a, b| a.evidence.median().total_cmp(&b.evidence.median()))?;
    Some(format!(
        "{} first to finish, in {}",
        first.evidence.model,
        secs(first.evidence.median())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::{Concurrency, Interference, KernelShare};

    fn step(toml: &str) -> Step {
        let text = format!(
            "title = \"t\"\nsummary = \"s\"\n[[step]]\ntitle = \"x\"\ntext = \"y\"\n{toml}"
        );
        crate::experiment::lesson::parse(&text, "t")
            .expect("a lesson")
            .steps
            .remove(0)
    }

    fn runs(model: Model, t: f64) -> ModelRuns {
        ModelRuns {
            evidence: Evidence::times(model, vec![t]),
            answer: Some(("1270607".into(), "primes".into())),
            busy_s: vec![t],
        }
    }

    fn starved(mut r: ModelRuns, waited: f64, others: f64) -> ModelRuns {
        let t = r.evidence.median();
        let share = KernelShare {
            on_cpu: 1.0 - waited / t,
            runnable: waited / t,
            thread_s: t,
            ..Default::default()
        };
        r.evidence.interference = Interference::of(t, Some(others * t), Some(&share));
        r
    }

    fn one_at_a_time(mut r: ModelRuns) -> ModelRuns {
        let mut c = Concurrency::default();
        for _ in 0..200 {
            c.add(5_000_000, 5_000_000);
        }
        r.evidence.concurrency = Some(c);
        r
    }

    const GIL_QUESTION: &str = "workload = \"primes\"\npredict = \"faster?\"\nanswer = \"yes-no\"\nyes_if = \"threads faster than sequential\"\nexpect = \"no\"\n";

    #[test]
    fn a_starved_sequential_run_cannot_teach_the_wrong_gil_lesson() {
        // The busy machine: threads "1.17× faster" because sequential waited.
        let s = step(GIL_QUESTION);
        let seq = starved(runs(Model::Sequential, 3.5), 2.0, 2.0);
        let threads = runs(Model::Threads, 3.0);
        let v = judge(
            &s,
            &[seq.clone(), threads.clone(), runs(Model::Processes, 1.9)],
        )
        .expect("judged");
        assert_eq!(v.right, None, "{v:?}");
        assert!(
            v.state
                .reason()
                .is_some_and(|r| r.contains("sequential waited"))
        );
        // With the kernel's concurrency, the structure decides: no.
        let v = judge(&s, &[seq, one_at_a_time(threads)]).expect("judged");
        assert_eq!(v.right, Some(1), "{v:?}");
        assert!(v.state.is_conclusive());
        assert!(v.evidence.is_some());
    }

    #[test]
    fn a_tie_is_not_a_fastest() {
        let s = step("workload = \"primes\"\npredict = \"which?\"\nexpect = \"processes\"\n");
        let v = judge(
            &s,
            &[
                runs(Model::Sequential, 6.0),
                runs(Model::Threads, 3.887),
                runs(Model::Processes, 3.904),
            ],
        )
        .expect("judged");
        assert_eq!(v.right, None);
        assert!(v.measured.contains("no clear fastest"), "{v:?}");
        assert_eq!(
            v.state.reason(),
            Some("threads and processes within 0.4% of each other")
        );
        assert_eq!(v.text_disagrees, None, "nothing to disagree with");
    }

    #[test]
    fn a_clear_answer_is_right_or_says_the_text_disagrees() {
        let s = step("workload = \"primes\"\npredict = \"which?\"\nexpect = \"threads\"\n");
        let v = judge(
            &s,
            &[
                runs(Model::Sequential, 3.0),
                runs(Model::Threads, 3.0),
                runs(Model::Processes, 1.6),
            ],
        )
        .expect("judged");
        assert_eq!(v.right, Some(2));
        assert_eq!(v.text_disagrees, Some(1));
        assert_eq!(v.measured, "processes fastest, in 1.600 s");
    }

    #[test]
    fn a_magnitude_measured_on_a_disturbed_run_is_inconclusive() {
        // The convoy's wait for the GIL, measured while other programs held the cores.
        let s = step(
            "workload = \"convoy\"\nmodels = [\"threads\"]\npredict = \"how long?\"\nanswer = \"number\"\nvalues = [0.01, 1, 5]\nunit = \"ms\"\nexpect = 5\n",
        );
        let mut r = runs(Model::Threads, 1.0);
        r.answer = Some(("0.003".into(), "ms median wait".into()));
        let quiet = judge(&s, std::slice::from_ref(&r)).expect("judged");
        assert_eq!((quiet.right, quiet.state.is_conclusive()), (Some(0), true));
        let busy = judge(&s, &[starved(r, 0.5, 2.0)]).expect("judged");
        assert_eq!(busy.right, None);
        assert!(
            busy.state.reason().is_some_and(|w| w.contains("waited")),
            "{busy:?}"
        );
    }

    #[test]
    fn answers_that_are_not_times_are_conclusive() {
        let s = step(
            "workload = \"race\"\nmodels = [\"threads\"]\npredict = \"lost?\"\nanswer = \"yes-no\"\nyes_if = \"answer != 0\"\nexpect = \"yes\"\n",
        );
        let v = judge(&s, &[starved(runs(Model::Threads, 1.0), 0.5, 2.0)]).expect("judged");
        assert_eq!(v.right, Some(0));
        assert!(v.state.is_conclusive());
    }
}
