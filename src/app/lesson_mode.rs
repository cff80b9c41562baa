//! Lesson mode: the dashboard steps through a [`Lesson`]; each step sets the scene, the
//! audience guesses the kind of answer the question asks for (the fastest model, yes or
//! no, a time, a number, a choice: keys 1..), Enter runs it, and the measured answer is
//! revealed first, then whether the guess (and the lesson's written text) matched it.

use crossterm::event::{KeyCode, KeyEvent};

use super::{App, Command, Settings, index_of};
use crate::core::fmt;
use crate::exec::Model;
use crate::experiment::lesson::{AnswerKind, Lesson, Op, Step, YesIf, closest};

/// Where a lesson is.
#[derive(Clone, Debug, PartialEq)]
pub struct LessonState {
    pub lesson: Lesson,
    pub step: usize,
    /// The audience's guess before the run: an index into the step's options.
    pub guess: Option<usize>,
}

impl LessonState {
    pub fn current(&self) -> &Step {
        &self.lesson.steps[self.step.min(self.lesson.steps.len() - 1)]
    }

    /// The guess, as its option's words.
    pub fn guess_text(&self) -> Option<String> {
        self.current().options().get(self.guess?).cloned()
    }
}

/// Open `lesson` at its first step.
pub fn start(app: &mut App, lesson: Lesson) {
    app.lesson = Some(LessonState {
        lesson,
        step: 0,
        guess: None,
    });
    enter_step(app);
}

/// Apply the current step's scene to the settings and clear old results.
fn enter_step(app: &mut App) {
    let Some(l) = &mut app.lesson else { return };
    l.guess = None;
    let step = l.current().clone();
    let mut s = Settings::new(
        step.workload.get_ref(),
        step.size.unwrap_or(0),
        step.workers.unwrap_or(app.settings.workers),
        step.gil,
        step.switch_interval_ms
            .as_ref()
            .map_or(5.0, |ms| *ms.get_ref()),
    );
    s.tasks = step.tasks.unwrap_or(0);
    s.variant = step.variant.clone();
    s.flags.split = step.split;
    s.cpython = app.settings.cpython.clone();
    // The real interpreter when the step asks for it and it is there; else the
    // simulation, and the status line says why.
    let mut notice = None;
    if step.runtime == Some(crate::core::Runtime::Cpython)
        && let Err(why) = s.switch_runtime()
    {
        notice = Some(format!(
            "this step runs real CPython, but {why}: running the simulation"
        ));
    }
    app.settings = s;
    app.reset_results();
    app.selected = step.models.first().map_or(0, |m| index_of(*m));
    app.notice = notice;
}

/// The finished models of the step with their elapsed µs, in the step's order.
fn finished(app: &App, step: &Step) -> Vec<(Model, u64)> {
    step.models
        .iter()
        .filter_map(|&m| {
            let p = &app.panels[index_of(m)];
            (p.is_finished() && p.elapsed_us > 0).then_some((m, p.elapsed_us))
        })
        .collect()
}

/// The fastest finished model among the step's, with its elapsed µs.
pub fn fastest(app: &App) -> Option<(Model, u64)> {
    let step = app.lesson.as_ref()?.current();
    finished(app, step).into_iter().min_by_key(|&(_, us)| us)
}

/// Has every model of the step finished (so the answer can be revealed)?
pub fn step_done(app: &App) -> bool {
    let Some(l) = &app.lesson else { return false };
    !app.is_running()
        && l.current()
            .models
            .iter()
            .all(|m| app.panels[index_of(*m)].is_finished())
}

/// What the run measured, put against the question.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// The measurement, first: "threads fastest, in 1.02 s".
    pub measured: String,
    /// The option the measurement picks, when a measurement can decide the question.
    pub right: Option<usize>,
    /// The option the written reveal expects, when it says and the measurement disagrees.
    pub text_disagrees: Option<usize>,
}

/// The measured answer of one model: "297560 updates lost … on threads in 0.41 s".
fn answer_of(app: &App, m: Model) -> Option<String> {
    let p = &app.panels[index_of(m)];
    let a = p.answer.as_ref()?;
    Some(format!(
        "{} {} (on {m}, {})",
        a.value,
        a.meaning,
        fmt::secs(p.elapsed_us)
    ))
}

/// The measured answer of the step, once it is done.
pub fn verdict(app: &App) -> Option<Verdict> {
    if !step_done(app) {
        return None;
    }
    let step = app.lesson.as_ref()?.current();
    let done = finished(app, step);
    let options = step.options();
    let (measured, right) = match step.answer_kind() {
        AnswerKind::Fastest | AnswerKind::Slowest => {
            let slowest = step.answer_kind() == AnswerKind::Slowest;
            let pick = if slowest {
                done.iter().max_by_key(|x| x.1)
            } else {
                done.iter().min_by_key(|x| x.1)
            }?;
            let word = if slowest { "slowest" } else { "fastest" };
            (
                format!("{} {word}, in {}", pick.0, fmt::secs(pick.1)),
                step.models.iter().position(|m| *m == pick.0),
            )
        }
        AnswerKind::Time => {
            let m = step.timed_model();
            let (_, us) = done.iter().find(|x| x.0 == m)?;
            let i = closest(&step.values, *us as f64 / 1e6);
            (format!("{m} took {}", fmt::secs(*us)), i)
        }
        AnswerKind::Number => {
            let m = *step.models.first()?;
            let a = app.panels[index_of(m)].answer.as_ref()?;
            let i = a
                .value
                .replace(',', "")
                .parse::<f64>()
                .ok()
                .and_then(|x| closest(&step.values, x));
            (answer_of(app, m)?, i)
        }
        AnswerKind::YesNo => match step.yes_if() {
            Some(YesIf::Answer { op, value }) => {
                let m = *step.models.first()?;
                let got = &app.panels[index_of(m)].answer.as_ref()?.value;
                let yes = compare(got, op, &value);
                (answer_of(app, m)?, yes.map(|y| usize::from(!y)))
            }
            Some(YesIf::Faster { a, b }) => {
                let ta = done.iter().find(|x| x.0 == a)?.1 as f64;
                let tb = done.iter().find(|x| x.0 == b)?.1 as f64;
                let ratio = tb / ta;
                (
                    format!("{a} ran {ratio:.2}× as fast as {b} (yes needs 1.10× or more)"),
                    Some(usize::from(ratio < 1.1)),
                )
            }
            Some(YesIf::Uneven { model }) => {
                let (min, max, ratio) = app.panels[index_of(model)].busy_spread()?;
                (
                    format!(
                        "{model}: workers busy {:.2}–{:.2} s, the busiest {ratio:.2}× the mean \
                         (yes needs {:.2}× or more)",
                        min as f64 / 1e6,
                        max as f64 / 1e6,
                        crate::experiment::lesson::UNEVEN
                    ),
                    Some(usize::from(ratio < crate::experiment::lesson::UNEVEN)),
                )
            }
            None => (plain(app, step, &done)?, None),
        },
        AnswerKind::Choice | AnswerKind::Open => (plain(app, step, &done)?, None),
    };
    let text_disagrees = step
        .expected()
        .zip(right)
        .and_then(|(e, r)| (e != r && e < options.len()).then_some(e));
    Some(Verdict {
        measured,
        right,
        text_disagrees,
    })
}

/// The measurement with no question to decide: one model's answer, or the times.
fn plain(app: &App, step: &Step, done: &[(Model, u64)]) -> Option<String> {
    if step.models.len() == 1 {
        return answer_of(app, step.models[0]);
    }
    let (m, us) = done.iter().min_by_key(|x| x.1)?;
    Some(format!("{m} fastest, in {}", fmt::secs(*us)))
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

/// Lesson keys; `None` lets the normal keys handle it.
pub fn on_key(app: &mut App, k: KeyEvent) -> Option<Vec<Command>> {
    let l = app.lesson.as_ref()?;
    let last = l.lesson.steps.len() - 1;
    let step = l.step;
    let models = l.current().models.clone();
    let options = l.current().options();
    match k.code {
        KeyCode::Char('n') | KeyCode::PageDown => {
            if app.is_running() {
                app.notice = Some("a run is in progress: wait, or press c to cancel it".into());
            } else if step < last {
                if let Some(l) = &mut app.lesson {
                    l.step += 1;
                }
                enter_step(app);
            } else {
                app.notice = Some("that was the last step: p goes back, q quits".into());
            }
            Some(Vec::new())
        }
        KeyCode::Char('p') | KeyCode::PageUp => {
            if !app.is_running() && step > 0 {
                if let Some(l) = &mut app.lesson {
                    l.step -= 1;
                }
                enter_step(app);
            }
            Some(Vec::new())
        }
        KeyCode::Char(c @ '1'..='9') => {
            let i = c as usize - '1' as usize;
            if options.is_empty() {
                app.notice =
                    Some("this question is for discussion: no guess to record, ⏎ runs".into());
            } else if i >= options.len() {
                app.notice = Some(format!("the answers are 1 to {}", options.len()));
            } else if step_done(app) {
                app.notice = Some("already measured: n goes on, ⏎ runs the step again".into());
            } else if let Some(l) = &mut app.lesson {
                l.guess = Some(i);
                app.notice = None;
            }
            Some(Vec::new())
        }
        KeyCode::Enter | KeyCode::Char('a') => {
            let kernel = app.lesson.as_ref().is_some_and(|l| l.current().kernel);
            let mut cmds = Vec::new();
            // A step about what the scheduler sees turns the kernel's view on first.
            if kernel && !app.kernel.on && !app.replaying {
                cmds.push(Command::Kernel(app.kernel.toggle()));
            }
            cmds.extend(app.enqueue(&models));
            Some(cmds)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::Msg;
    use crate::app::fixtures::{ev, feed, key, started};
    use crate::exec::{Event, RunEnd, RunStart};
    use crate::ui::theme::Theme;
    use crate::workload::Answer;

    fn lesson() -> Lesson {
        crate::experiment::lesson::parse(
            r#"
title = "t"
summary = "s"
[[step]]
title = "one"
text = "sleep"
workload = "sleep"
workers = 4
size = 100
[[step]]
title = "two"
text = "primes without the GIL"
workload = "primes"
models = ["sequential", "threads"]
gil = false
predict = "which wins?"
"#,
            "t.toml",
        )
        .expect("valid")
    }

    fn app() -> App {
        let mut app = App::new(Settings::new("fib", 0, 2, true, 5.0), Theme::default());
        // Through the message the `lesson` command sends.
        assert!(app.update(Msg::Lesson(Box::new(lesson()))).is_empty());
        app
    }

    fn kernel_step(python: bool) -> App {
        let l = crate::experiment::lesson::parse(
            r#"
title = "t"
summary = "s"
[[step]]
title = "turns"
text = "real threads"
workload = "primes"
runtime = "cpython"
kernel = true
models = ["threads"]
"#,
            "k.toml",
        )
        .expect("valid");
        let mut s = Settings::new("fib", 0, 2, true, 5.0);
        if python {
            s.cpython = Ok(crate::app::CpythonAvail {
                label: "CPython 3.11.7 · GIL".into(),
                can_disable_gil: false,
            });
        }
        let mut app = App::new(s, Theme::default());
        app.update(Msg::Lesson(Box::new(l)));
        app
    }

    #[test]
    fn a_kernel_step_on_cpython_runs_the_interpreter_with_the_kernel_view_on() {
        let mut app = kernel_step(true);
        assert_eq!(app.settings.runtime, crate::core::Runtime::Cpython);
        assert!(app.notice.is_none(), "{:?}", app.notice);
        let cmds = app.update(Msg::Key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Enter,
        )));
        assert_eq!(cmds.first(), Some(&Command::Kernel(true)));
        assert!(
            matches!(cmds.get(1), Some(Command::Start { .. })),
            "{cmds:?}"
        );
        assert!(app.kernel.on);
    }

    #[test]
    fn without_python_a_cpython_step_runs_the_simulation_and_says_so() {
        let app = kernel_step(false);
        assert_eq!(app.settings.runtime, crate::core::Runtime::Native);
        let notice = app.notice.clone().unwrap_or_default();
        assert!(notice.contains("running the simulation"), "{notice}");
    }

    #[test]
    fn steps_set_the_scene() {
        let mut app = app();
        assert_eq!(app.settings.workload().name(), "sleep");
        assert_eq!(app.settings.workers, 4);
        assert_eq!(app.settings.size, 100);
        feed(&mut app, vec![key('n')]);
        assert_eq!(app.lesson.as_ref().map(|l| l.step), Some(1));
        assert_eq!(app.settings.workload().name(), "primes");
        assert!(!app.settings.gil);
        feed(&mut app, vec![key('n')]);
        assert!(
            app.notice
                .as_deref()
                .is_some_and(|n| n.contains("last step"))
        );
        feed(&mut app, vec![key('p')]);
        assert_eq!(app.settings.workload().name(), "sleep");
    }

    #[test]
    fn guess_run_and_reveal() {
        let mut app = app();
        feed(&mut app, vec![key('n'), key('3')]);
        assert!(
            app.notice.as_deref().is_some_and(|n| n.contains("1 to 2")),
            "step two offers two answers: {:?}",
            app.notice
        );
        feed(&mut app, vec![key('2')]);
        assert_eq!(
            app.lesson.as_ref().and_then(|l| l.guess_text()),
            Some("threads".to_string())
        );
        let cmds = feed(&mut app, vec![key('a')]);
        let id = started(&cmds).expect("step's first model starts");
        let finish = |us| {
            Event::RunFinished(RunEnd {
                answer: Some(Answer {
                    value: "1".into(),
                    meaning: "m".into(),
                }),
                elapsed_us: us,
                cpu_us: us,
                failed: 0,
                cancelled: false,
            })
        };
        let begin = |model| {
            Event::RunStarted(RunStart {
                workload: "primes".into(),
                model,
                workers: 2,
                tasks: 4,
                gil: false,
                switch_interval_ms: 5.0,
                size: 1000,
            })
        };
        let cmds = feed(
            &mut app,
            vec![
                ev(id, 0, begin(Model::Sequential)),
                ev(id, 10, finish(2_000_000)),
            ],
        );
        assert!(!step_done(&app));
        let id2 = started(&cmds).expect("then threads");
        feed(
            &mut app,
            vec![
                ev(id2, 0, begin(Model::Threads)),
                ev(id2, 20, finish(1_000_000)),
            ],
        );
        assert!(step_done(&app));
        assert_eq!(fastest(&app), Some((Model::Threads, 1_000_000)));
        let v = verdict(&app).expect("revealed");
        assert!(v.measured.starts_with("threads fastest"), "{v:?}");
        assert_eq!(v.right, Some(1));
        assert_eq!(v.text_disagrees, None);
    }
}
