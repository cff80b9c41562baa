//! Lesson mode: the dashboard steps through a [`Lesson`]; each step sets the scene, the
//! audience may guess the fastest model (1/2/3), Enter runs it, and the measured answer
//! is revealed beside the lesson's own words.

use crossterm::event::{KeyCode, KeyEvent};

use super::{App, Command, Settings};
use crate::exec::Model;
use crate::lesson::{Lesson, Step};

/// Where a lesson is.
#[derive(Clone, Debug, PartialEq)]
pub struct LessonState {
    pub lesson: Lesson,
    pub step: usize,
    /// The audience's guess of the fastest model, before the run.
    pub guess: Option<Model>,
}

impl LessonState {
    pub fn current(&self) -> &Step {
        &self.lesson.steps[self.step.min(self.lesson.steps.len() - 1)]
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
    app.settings = s;
    app.reset_results();
    app.selected = step
        .models
        .first()
        .and_then(|m| Model::ALL.iter().position(|x| x == m))
        .unwrap_or(0);
    app.notice = None;
}

/// The fastest finished model among the step's, with its elapsed µs.
pub fn fastest(app: &App) -> Option<(Model, u64)> {
    let l = app.lesson.as_ref()?;
    let step = l.current();
    let mut best: Option<(Model, u64)> = None;
    for (i, p) in app.panels.iter().enumerate() {
        let m = Model::ALL[i];
        if !step.models.contains(&m) || !p.is_finished() || p.elapsed_us == 0 {
            continue;
        }
        if best.is_none_or(|(_, us)| p.elapsed_us < us) {
            best = Some((m, p.elapsed_us));
        }
    }
    best
}

/// Has every model of the step finished (so the answer can be revealed)?
pub fn step_done(app: &App) -> bool {
    let Some(l) = &app.lesson else { return false };
    !app.is_running()
        && l.current()
            .models
            .iter()
            .all(|m| app.panels[Model::ALL.iter().position(|x| x == m).unwrap_or(0)].is_finished())
}

/// Lesson keys; `None` lets the normal keys handle it.
pub fn on_key(app: &mut App, k: KeyEvent) -> Option<Vec<Command>> {
    let l = app.lesson.as_ref()?;
    let last = l.lesson.steps.len() - 1;
    let step = l.step;
    let models = l.current().models.clone();
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
        KeyCode::Char(c @ '1'..='3') => {
            let m = Model::ALL[c as usize - '1' as usize];
            if !models.contains(&m) {
                app.notice = Some(format!("{m} is not part of this step"));
            } else if let Some(l) = &mut app.lesson {
                l.guess = Some(m);
                app.notice = None;
            }
            Some(Vec::new())
        }
        KeyCode::Enter | KeyCode::Char('a') => Some(app.enqueue(&models)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::Msg;
    use crate::app::fixtures::{ev, feed, key, started};
    use crate::exec::Event;
    use crate::ui::theme::Theme;
    use crate::workload::Answer;

    fn lesson() -> Lesson {
        crate::lesson::parse(
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
            app.notice
                .as_deref()
                .is_some_and(|n| n.contains("not part")),
            "processes is not in step two"
        );
        feed(&mut app, vec![key('2')]);
        assert_eq!(
            app.lesson.as_ref().and_then(|l| l.guess),
            Some(Model::Threads)
        );
        let cmds = feed(&mut app, vec![key('a')]);
        let id = started(&cmds).expect("step's first model starts");
        let finish = |us| Event::RunFinished {
            answer: Some(Answer {
                value: "1".into(),
                meaning: "m".into(),
            }),
            elapsed_us: us,
            cpu_us: us,
            failed: 0,
            cancelled: false,
        };
        let begin = |model| Event::RunStarted {
            workload: "primes".into(),
            model,
            workers: 2,
            tasks: 4,
            gil: false,
            switch_interval_ms: 5.0,
            size: 1000,
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
    }
}
