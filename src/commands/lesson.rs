//! `conlab lesson NAME` (or `--list`): list the shipped lessons, or step through one in
//! the dashboard.

use std::process::ExitCode;

use crate::app::{App, Msg, Settings};
use crate::cli::LessonArgs;
use crate::commands::error::CliError;
use crate::runtime::locate::LessonNeeds;
use crate::tui::{self, Extras};
use crate::ui::theme;

/// List the lessons, rehearse them (`--auto`), or open one.
pub fn lesson_command(args: &LessonArgs) -> Result<ExitCode, CliError> {
    // --cpu-quota / --cpuset: the lesson runs in conlab's own child cgroup.
    let _confined = if args.list {
        None
    } else {
        super::confine::confine(&args.limits)?
    };
    if args.auto {
        return super::rehearse::rehearse_command(args);
    }
    if args.list || args.lesson.is_none() {
        return list(args);
    }
    let name = args.lesson.as_deref().unwrap_or_default();
    let lesson = crate::experiment::lesson::open(name).map_err(CliError::Usage)?;
    if let Some(code) = tui::need_terminal(lesson.steps[0].workload.get_ref()) {
        return Ok(code);
    }
    let given = crate::sys::cgroup::given();
    let workers = args.workers.unwrap_or_else(|| given.default_workers());
    let mut settings = Settings::new("primes", 0, workers, true, 5.0);
    // A step on the real interpreter needs one: looked for only when a step asks.
    let wants_python = lesson
        .steps
        .iter()
        .any(|s| s.runtime == Some(crate::core::Runtime::Cpython));
    let mut cpython = None;
    if wants_python {
        let (avail, runner) = super::tui::probe_cpython(&crate::runtime::RuntimeChoice {
            python: crate::runtime::locate::for_lesson(needs(&lesson)),
            ..crate::runtime::RuntimeChoice::default()
        });
        settings.cpython = avail;
        cpython = runner;
    }
    let mut app = App::new(settings, theme::from_env(args.theme));
    app.update(Msg::Present(args.present));
    app.update(Msg::Lesson(Box::new(lesson)));
    app.set_cpus_given(given);
    Ok(tui::open(
        app,
        Extras {
            cpython,
            ..Extras::default()
        },
    )?)
}

/// What the lesson's steps on real CPython need: a free-threaded build (a step turns the
/// GIL off), subinterpreters (a step runs the interpreters model).
pub(crate) fn needs(lesson: &crate::experiment::lesson::Lesson) -> LessonNeeds {
    let on_cpython = || {
        lesson
            .steps
            .iter()
            .filter(|s| s.runtime == Some(crate::core::Runtime::Cpython))
    };
    LessonNeeds {
        free_threading: on_cpython().any(|s| !s.gil),
        interpreters: on_cpython().any(|s| s.models.contains(&crate::core::Model::Interpreters)),
    }
}

/// Print every shipped lesson with its title and step count (or why it is invalid).
fn list(args: &LessonArgs) -> Result<ExitCode, CliError> {
    for (name, lesson) in crate::experiment::lesson::shipped() {
        match lesson {
            Ok(l) => {
                let n = l.steps.len();
                let steps = if n == 1 { "step" } else { "steps" };
                crate::outln!("{name:<28} {} ({n} {steps})", l.title);
            }
            Err(e) => crate::outln!("{name:<28} INVALID: {e}"),
        }
    }
    if args.lesson.is_none() && !args.list {
        eprintln!("\nopen one with: conlab lesson NAME (or a path to your own .toml)");
    }
    Ok(ExitCode::SUCCESS)
}
