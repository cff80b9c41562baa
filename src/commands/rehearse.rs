//! `conlab lesson NAME --auto` (or `--all`): rehearse lessons headless — each step run as
//! the dashboard would run it and judged as its reveal would ([`crate::experiment::
//! rehearsal`]); a line per step and a summary, or `--json`. Exit 1 when a verdict is wrong.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use super::ctrl_c::{cancel_on_ctrl_c, cancelled_exit};
use super::error::CliError;
use crate::app::Settings;
use crate::app::lesson_mode::settings_for;
use crate::cli::LessonArgs;
use crate::core::Runtime;
use crate::exec::{CancelToken, RunSpec, Runner};
use crate::experiment::lesson::{Lesson, Step, open, shipped};
use crate::experiment::rehearsal::{
    Outcome, RehearsalOptions, Stage, StepOutcome, models_of, rehearse,
};
use crate::runtime::NativeRunner;

pub fn rehearse_command(args: &LessonArgs) -> Result<ExitCode, CliError> {
    let lessons: Vec<(String, Lesson)> = if args.all {
        shipped()
            .into_iter()
            .map(|(n, l)| {
                l.map(|l| (n.to_string(), l))
                    .map_err(|e| CliError::Usage(e.to_string()))
            })
            .collect::<Result<_, _>>()?
    } else {
        let name = args.lesson.as_deref().ok_or_else(|| {
            CliError::Usage("--auto needs a lesson (NAME or a path), or --all".into())
        })?;
        vec![(name.to_string(), open(name).map_err(CliError::Usage)?)]
    };
    let workers = args.workers.unwrap_or_else(crate::core::default_workers);
    let mut base = Settings::new("primes", 0, workers, true, 5.0);
    let wants_python = lessons
        .iter()
        .flat_map(|(_, l)| &l.steps)
        .any(|s| s.runtime == Some(Runtime::Cpython));
    let mut cpython: Option<Arc<dyn Runner>> = None;
    if wants_python {
        let (avail, runner) = super::tui::probe_cpython(&crate::runtime::RuntimeChoice {
            // One lesson that turns the GIL off (or runs subinterpreters) on CPython runs
            // on an interpreter that can; --all keeps python3, on which the other
            // lessons' steps are written.
            python: crate::runtime::locate::for_lesson(if lessons.len() == 1 {
                super::lesson::needs(&lessons[0].1)
            } else {
                Default::default()
            }),
            ..crate::runtime::RuntimeChoice::default()
        });
        base.cpython = avail;
        cpython = runner;
    }
    let native = NativeRunner;
    let spec_of = |step: &Step| -> RunSpec {
        settings_for(step, &base)
            .0
            .spec(crate::core::Model::Sequential)
    };
    let runner_of = |step: &Step| -> (&dyn Runner, String) {
        let (s, _) = settings_for(step, &base);
        match (s.runtime, &cpython) {
            (Runtime::Cpython, Some(c)) => (c.as_ref(), s.runtime_label()),
            _ => (&native as &dyn Runner, s.runtime_label()),
        }
    };
    let stage = Stage {
        spec_of: &spec_of,
        runner_of: &runner_of,
    };
    let opts = RehearsalOptions {
        repeat: args.repeat as usize,
        kernel: crate::observe::check_proc().is_ok(),
        chatty: std::io::stderr().is_terminal(),
        machine: true,
    };
    let cancel = CancelToken::new();
    cancel_on_ctrl_c(&cancel);
    let mut all: Vec<StepOutcome> = Vec::new();
    for (name, lesson) in &lessons {
        let mut each = |o: &StepOutcome| {
            if !args.json {
                print_step(o, lesson);
            }
        };
        match rehearse(name, lesson, &stage, &opts, &cancel, &mut each) {
            Ok(out) => all.extend(out),
            Err(_) if cancel.is_cancelled() => return Ok(cancelled_exit()),
            Err(e) => return Err(e.into()),
        }
    }
    if args.json {
        crate::outln!(
            "{}",
            serde_json::to_string_pretty(&all).unwrap_or_else(|e| format!("\"{e}\""))
        );
    } else {
        print_totals(&all);
    }
    let wrong = all.iter().any(|o| o.verdict == Outcome::Wrong);
    Ok(if wrong {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_step(o: &StepOutcome, lesson: &Lesson) {
    let models = lesson
        .steps
        .get(o.step - 1)
        .map(models_of)
        .unwrap_or_default();
    crate::outln!(
        "{} · step {} · {} ({models}; {})",
        o.lesson,
        o.step,
        o.title,
        o.runtime
    );
    if let Some(q) = &o.question {
        crate::outln!("  ? {q}");
    }
    crate::outln!(
        "  expected {} · measured {}",
        o.expected.as_deref().unwrap_or("—"),
        o.measured
    );
    if let Some(e) = &o.evidence {
        crate::outln!("  because {e}");
    }
    let word = word(o.verdict);
    match &o.reason {
        Some(r) => crate::outln!("  → {word}: {r}"),
        None => crate::outln!("  → {word}"),
    }
    for w in &o.warnings {
        crate::outln!("  warning: {w}");
    }
}

/// The verdict in a word, as the step lines and the summary print it.
fn word(v: Outcome) -> &'static str {
    match v {
        Outcome::Right => "right",
        Outcome::Wrong => "WRONG",
        Outcome::Inconclusive => "inconclusive",
        Outcome::Unjudged => "not judged",
    }
}

fn print_totals(all: &[StepOutcome]) {
    // The end-of-lesson summary, one line a step: the verdict, the expected answer and
    // what was measured.
    crate::outln!("\nsummary");
    for o in all {
        crate::outln!(
            "  {} {} · {:<12} · expected {} · measured {}",
            o.lesson,
            o.step,
            word(o.verdict),
            o.expected.as_deref().unwrap_or("—"),
            crate::core::fmt::fit(&o.measured, 60)
        );
    }
    let count = |v: Outcome| all.iter().filter(|o| o.verdict == v).count();
    crate::outln!(
        "\n{} steps: {} right, {} wrong, {} inconclusive, {} not judged (questions for the room)",
        all.len(),
        count(Outcome::Right),
        count(Outcome::Wrong),
        count(Outcome::Inconclusive),
        count(Outcome::Unjudged)
    );
}
