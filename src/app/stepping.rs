//! The stepping screen (`t` on the race scene): the student as the scheduler. Two
//! threads each run `counter += 1` as CPython's bytecode, over the pure stepper of
//! `workload::scenes::stepper`; `a` and `b` run A's or B's next instruction, `u` undoes,
//! `r` resets, Esc (or `t`) goes back. The same schedule replays identically.

use crossterm::event::{KeyCode, KeyEvent};

use super::{App, Command};
use crate::workload::scenes::stepper::{Machine, PROGRAM, THREADS};

/// The workload whose stepping screen `t` opens.
pub const SCENE: &str = "race";

/// Can `t` open the stepping screen here (the race scene is set)?
pub fn offered(app: &App) -> bool {
    app.settings.workload().name() == SCENE
}

/// Open the stepping screen from the start (`t`), or say why not.
pub fn open(app: &mut App) {
    if !offered(app) {
        app.notice = Some(format!(
            "t steps `counter += 1` by hand: it belongs to the {SCENE} scene (w picks it)"
        ));
        return;
    }
    app.stepper = Some(Machine::default());
    app.notice = None;
}

/// The stepping screen's keys; `None` lets the keys that still mean something there
/// (q, s, ?, P) through.
pub fn on_key(app: &mut App, k: KeyEvent) -> Option<Vec<Command>> {
    let m = app.stepper.as_mut()?;
    let thread = match k.code {
        KeyCode::Char('a' | 'A' | '1') => Some(0),
        KeyCode::Char('b' | 'B' | '2') => Some(1),
        _ => None,
    };
    match (thread, k.code) {
        (Some(t), _) => match m.step(t, true) {
            Ok(()) => app.notice = None,
            Err(e) => {
                let other = THREADS[1 - t];
                app.notice = Some(if m.done(1 - t) {
                    format!("{e}: both are done — u undoes, r starts again")
                } else {
                    format!("{e}: run {other}, u undoes, r starts again")
                });
            }
        },
        (None, KeyCode::Char('u') | KeyCode::Backspace) => {
            m.undo();
            app.notice = None;
        }
        (None, KeyCode::Char('r')) => {
            *m = Machine::default();
            app.notice = None;
        }
        (None, KeyCode::Esc | KeyCode::Char('t')) => {
            app.stepper = None;
            app.notice = None;
        }
        _ => return None,
    }
    Some(Vec::new())
}

/// Instructions each thread runs (for the screen's "done" marks).
pub const INSTRUCTIONS: usize = PROGRAM.len();

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::fixtures::key;
    use crate::app::{Msg, Settings};
    use crate::ui::theme::Theme;

    fn race() -> App {
        App::new(Settings::new("race", 0, 2, true, 5.0), Theme::default())
    }

    fn press(app: &mut App, keys: &str) {
        for c in keys.chars() {
            app.update(key(c));
        }
    }

    #[test]
    fn the_class_schedules_and_a_lost_update_shows_then_undo_takes_it_back() {
        let mut app = race();
        press(&mut app, "t");
        assert!(app.stepper().is_some());
        press(&mut app, "abaaabbb");
        let m = app.stepper().expect("open");
        assert_eq!(m.counter, 1);
        assert_eq!(m.schedule(), "A,B,A,A,A,B,B,B");
        assert!(m.lost_update().is_some());
        press(&mut app, "u");
        let m = app.stepper().expect("open");
        assert!(m.lost_update().is_none() && m.counter == 1);
        // A finished thread is refused, with what to do instead.
        press(&mut app, "a");
        assert!(
            app.notice().is_some_and(|n| n.contains("run B")),
            "{:?}",
            app.notice()
        );
        press(&mut app, "r");
        assert_eq!(app.stepper().map(|m| m.steps.len()), Some(0));
        app.update(Msg::Key(KeyEvent::from(KeyCode::Esc)));
        assert!(app.stepper().is_none());
    }

    #[test]
    fn the_same_schedule_replays_the_same_steps() {
        let mut one = race();
        let mut two = race();
        press(&mut one, "tabab");
        press(&mut two, "tbbuu");
        press(&mut two, "rabab");
        assert_eq!(one.stepper(), two.stepper());
    }

    #[test]
    fn t_elsewhere_says_where_it_belongs() {
        let mut app = App::new(Settings::new("primes", 0, 2, true, 5.0), Theme::default());
        press(&mut app, "t");
        assert!(app.stepper().is_none());
        assert!(app.notice().is_some_and(|n| n.contains("race")));
    }
}
