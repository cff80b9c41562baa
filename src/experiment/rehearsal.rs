//! Rehearsing a lesson headless (`conlab lesson NAME --auto`): every step run as the
//! dashboard would run it (its models in turn, the repeats interleaved, each run watched),
//! judged as the reveal judges it ([`super::judge`]), and set against the answer the
//! lesson expects — right, wrong, or inconclusive with the reason. For tests, and for a
//! teacher rehearsing a class on the machine the class will see.

use serde::Serialize;

use super::compare::{Trial, measure};
use super::judge::{ModelRuns, judge};
use super::lesson::{Lesson, Step};
use crate::core::{LabError, Model};
use crate::exec::{CancelToken, RunSpec, Runner};
use crate::observe::window::OwnTree;

/// How a rehearsal runs each step.
#[derive(Clone, Debug)]
pub struct RehearsalOptions {
    /// Runs of each model per step, interleaved across models.
    pub repeat: usize,
    /// Sample the kernel's view of each run (run-queue wait, threads at once).
    pub kernel: bool,
    /// Say on stderr which step is running.
    pub chatty: bool,
    /// Read the machine's counters around each run (off for a test's fake runs).
    pub machine: bool,
}

/// A step's outcome against the lesson's expected answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The measurement decided, and it matches the expected answer.
    Right,
    /// The measurement decided, and it does not match.
    Wrong,
    /// The measurement could not decide (the reason says why).
    Inconclusive,
    /// The step asks nothing a measurement decides (a question for the room), or the
    /// lesson expects no answer: shown, not judged.
    Unjudged,
}

/// One step rehearsed: the keys of `--auto --json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StepOutcome {
    pub lesson: String,
    /// From 1, as the dashboard counts.
    pub step: usize,
    pub title: String,
    pub question: Option<String>,
    pub expected: Option<String>,
    pub measured: String,
    pub verdict: Outcome,
    pub reason: Option<String>,
    /// What a conclusive answer rests on when not the wall times.
    pub evidence: Option<String>,
    pub warnings: Vec<String>,
    /// The runtime the step ran on ("native", or CPython's version).
    pub runtime: String,
}

/// What a rehearsal needs from above: the spec the dashboard would run for a step, and
/// the runner for it (with the runtime's name).
pub struct Stage<'a> {
    pub spec_of: &'a dyn Fn(&Step) -> RunSpec,
    pub runner_of: &'a dyn Fn(&Step) -> (&'a dyn Runner, String),
}

/// Rehearse every step of `lesson` (called `name`), calling `each` as each step is judged.
pub fn rehearse(
    name: &str,
    lesson: &Lesson,
    stage: &Stage,
    opts: &RehearsalOptions,
    cancel: &CancelToken,
    each: &mut dyn FnMut(&StepOutcome),
) -> Result<Vec<StepOutcome>, LabError> {
    let mut out = Vec::new();
    for (i, step) in lesson.steps.iter().enumerate() {
        if opts.chatty {
            eprintln!("{name} · step {} · {}", i + 1, step.title);
        }
        let base = (stage.spec_of)(step);
        let (runner, runtime) = (stage.runner_of)(step);
        let trial = Trial {
            base: &base,
            models: &step.models,
            repeat: opts.repeat.max(1),
            spinners: 1,
            chatty: false,
            machine: opts.machine,
        };
        let mut observer = opts
            .kernel
            .then(|| OwnTree::new(std::time::Duration::from_millis(crate::observe::SAMPLE_MS)));
        // The machine's capacity is not what a lesson's verdict reads: not measured here.
        let cmp = measure(
            runner,
            &trial,
            cancel,
            &mut || f64::NAN,
            observer
                .as_mut()
                .map(|o| o as &mut dyn crate::observe::window::Observer),
            None,
        )?;
        if cmp.cancelled.is_some() {
            return Err(LabError::Refused("cancelled".into()));
        }
        let runs: Vec<ModelRuns> = cmp
            .rows
            .iter()
            .zip(&cmp.elapsed)
            .filter(|(r, _)| r.answer.is_some() || step.models.len() == 1)
            .map(|(r, el)| ModelRuns {
                evidence: r.evidence(el.clone()),
                answer: r.answer.clone().map(|a| (a, cmp.meaning.clone())),
                busy_s: r.busy_s.clone(),
            })
            .collect();
        let outcome = outcome_of(name, i, step, &runs, runtime);
        each(&outcome);
        out.push(outcome);
    }
    Ok(out)
}

/// Judge one step's runs against the expected answer.
pub fn outcome_of(
    name: &str,
    index: usize,
    step: &Step,
    runs: &[ModelRuns],
    runtime: String,
) -> StepOutcome {
    let options = step.options();
    let expected = step.expected();
    let v = judge(step, runs);
    let (measured, verdict, reason, evidence, warnings) = match v {
        None => (
            "nothing to judge: a model the question needs did not finish".to_string(),
            Outcome::Inconclusive,
            Some("a model the question needs did not finish".to_string()),
            None,
            Vec::new(),
        ),
        Some(v) => {
            let (outcome, reason) = match (v.right, expected, v.state.reason()) {
                // Nothing to be right or wrong against: shown, not judged.
                (_, None, Some(r)) => (
                    Outcome::Unjudged,
                    Some(format!(
                        "the lesson expects no answer; inconclusive anyway: {r}"
                    )),
                ),
                (_, _, Some(r)) => (Outcome::Inconclusive, Some(r.to_string())),
                (Some(r), Some(e), None) if r == e => (Outcome::Right, None),
                (Some(_), Some(_), None) => (
                    Outcome::Wrong,
                    Some("the measurement contradicts the expected answer".into()),
                ),
                (Some(_), None, None) => (
                    Outcome::Unjudged,
                    Some("the lesson expects no answer".into()),
                ),
                (None, _, None) => (
                    Outcome::Unjudged,
                    Some("a question for the room: no measurement decides it".into()),
                ),
            };
            (v.measured, outcome, reason, v.evidence, v.warnings)
        }
    };
    StepOutcome {
        lesson: name.to_string(),
        step: index + 1,
        title: step.title.clone(),
        question: step.predict.clone(),
        expected: expected.and_then(|e| options.get(e).cloned()),
        measured,
        verdict,
        reason,
        evidence,
        warnings,
        runtime,
    }
}

/// The models a step runs, in words ("sequential, threads, processes").
pub fn models_of(step: &Step) -> String {
    step.models
        .iter()
        .map(Model::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::mock::MockRunner;
    use crate::experiment::verdict::Evidence;

    fn lesson() -> Lesson {
        crate::experiment::lesson::parse(
            "title = \"t\"\nsummary = \"s\"\n\
             [[step]]\ntitle = \"gil\"\ntext = \"x\"\nworkload = \"primes\"\n\
             predict = \"faster?\"\nanswer = \"yes-no\"\nyes_if = \"threads faster than sequential\"\nexpect = \"no\"\n\
             [[step]]\ntitle = \"which\"\ntext = \"x\"\nworkload = \"primes\"\n\
             predict = \"which?\"\nexpect = \"processes\"\n\
             [[step]]\ntitle = \"room\"\ntext = \"x\"\nworkload = \"primes\"\n\
             predict = \"which stage?\"\nanswer = \"choice\"\nchoices = [\"a\", \"b\"]\n",
            "t",
        )
        .expect("a lesson")
    }

    fn secs(s: f64) -> std::time::Duration {
        std::time::Duration::from_secs_f64(s)
    }

    #[test]
    fn every_step_is_run_judged_and_set_against_the_lesson() {
        let runner = MockRunner::new("25")
            .takes(Model::Sequential, secs(1.0), secs(1.0))
            .takes(Model::Threads, secs(1.0), secs(1.0))
            .takes(Model::Processes, secs(0.55), secs(1.0));
        let stage = Stage {
            spec_of: &|s: &Step| RunSpec::new(s.workload.get_ref(), Model::Sequential, 2),
            runner_of: &|_| (&runner as &dyn Runner, "native".to_string()),
        };
        let opts = RehearsalOptions {
            repeat: 2,
            kernel: false,
            chatty: false,
            machine: false,
        };
        let mut seen = 0;
        let out = rehearse(
            "t",
            &lesson(),
            &stage,
            &opts,
            &CancelToken::new(),
            &mut |_| seen += 1,
        )
        .expect("rehearsed");
        assert_eq!(seen, 3);
        let verdicts: Vec<Outcome> = out.iter().map(|o| o.verdict).collect();
        assert_eq!(
            verdicts,
            vec![Outcome::Right, Outcome::Right, Outcome::Unjudged],
            "{out:#?}"
        );
        assert_eq!(out[1].expected.as_deref(), Some("processes"));
        assert!(out[1].measured.starts_with("processes fastest"), "{out:#?}");
        let json = serde_json::to_value(&out[0]).expect("json");
        for key in [
            "lesson", "step", "question", "expected", "measured", "verdict", "reason",
        ] {
            assert!(json.get(key).is_some(), "{key}");
        }
        assert_eq!(json["verdict"], "right");
    }

    #[test]
    fn a_wrong_expectation_is_wrong_and_a_tie_is_inconclusive() {
        let l = lesson();
        let step = &l.steps[1];
        let runs = |t: [f64; 3]| -> Vec<ModelRuns> {
            [Model::Sequential, Model::Threads, Model::Processes]
                .iter()
                .zip(t)
                .map(|(m, t)| ModelRuns {
                    evidence: Evidence::times(*m, vec![t]),
                    answer: Some(("1".into(), "x".into())),
                    busy_s: vec![],
                })
                .collect()
        };
        let wrong = outcome_of("t", 1, step, &runs([2.0, 1.0, 1.5]), "native".into());
        assert_eq!(wrong.verdict, Outcome::Wrong);
        let tie = outcome_of("t", 1, step, &runs([2.0, 1.0, 1.01]), "native".into());
        assert_eq!(tie.verdict, Outcome::Inconclusive);
        assert!(tie.reason.is_some_and(|r| r.contains("within")));
    }
}
