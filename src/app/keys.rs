//! Keys and mouse clicks: what each does to the [`App`].

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::{App, Command};
use crate::exec::Model;

/// Every key, for the help overlay: (keys, what they do).
pub const HELP: &[(&str, &str)] = &[
    ("← → h l  ↑ ↓", "select a model panel"),
    ("Enter", "run the selected model"),
    ("a", "run every model, one after another"),
    ("c", "cancel the run (and the queue)"),
    ("g  G", "GIL on / off (threads) · G: CPython's GIL sampler"),
    ("r", "runtime: native (simulated GIL) / real CPython"),
    ("+  -", "more / fewer workers"),
    ("]  [", "double / halve the size"),
    ("w  W", "next / previous workload"),
    ("s", "save a screenshot (SVG, text, ANSI) in screenshots/"),
    ("i", "classify: is this workload waiting or computing?"),
    (
        "k",
        "kernel view: what the scheduler saw the run's threads do",
    ),
    (
        "z Z  < >  { }",
        "kernel view: zoom, scroll in time, scroll lanes",
    ),
    ("n  p", "lesson: next / previous step (then the summary)"),
    (
        "1 2 3  v",
        "lesson: the room's guess; v, then a key per hand",
    ),
    (
        "t",
        "race: you are the scheduler (a / b step A / B, u undo)",
    ),
    ("mouse", "click a panel to select it"),
    ("P", "presenter mode: large numbers for a projector"),
    ("?", "this help (any key closes it)"),
    ("q  Ctrl-C", "quit (cancels a run)"),
];

/// The kernel view's own keys (zoom, scroll); whether `code` was one.
fn kernel_key(app: &mut App, code: KeyCode) -> bool {
    let v = &mut app.kernel;
    match code {
        KeyCode::Char('z') => v.zoom_in(),
        KeyCode::Char('Z') => v.zoom_out(),
        KeyCode::Char('<') => v.scroll_time(8),
        KeyCode::Char('>') => v.scroll_time(-8),
        KeyCode::Char('{') => v.scroll_lanes(-1),
        KeyCode::Char('}') => v.scroll_lanes(1),
        _ => return false,
    }
    true
}

pub fn on_key(app: &mut App, k: KeyEvent) -> Vec<Command> {
    if k.kind == KeyEventKind::Release {
        return Vec::new();
    }
    // A success message lasts until the next key.
    app.info = None;
    if k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL) {
        return vec![Command::Quit];
    }
    if app.help {
        app.help = false;
        if k.code == KeyCode::Char('q') {
            return vec![Command::Quit];
        }
        return Vec::new();
    }
    if let Some(cmds) = super::stepping::on_key(app, k) {
        return cmds;
    }
    if app.replaying
        && matches!(
            k.code,
            KeyCode::Enter
                | KeyCode::Char('a' | 'g' | 'r' | '+' | '=' | '-' | '_' | '[' | ']' | 'w' | 'W')
        )
    {
        app.notice = Some("replaying a recording: runs and settings are as recorded".into());
        return Vec::new();
    }
    if let Some(cmds) = super::lesson_mode::on_key(app, k) {
        return cmds;
    }
    if app.kernel.on && kernel_key(app, k.code) {
        return Vec::new();
    }
    match k.code {
        KeyCode::Char('q') => return vec![Command::Quit],
        KeyCode::Char('s') => return vec![Command::Screenshot],
        KeyCode::Char('i') => {
            if app.is_running() {
                app.notice = Some("classify samples the machine: wait for the run to end".into());
                return Vec::new();
            }
            if app.classifying {
                app.notice = Some("already classifying: one measurement at a time".into());
                return Vec::new();
            }
            app.classifying = true;
            app.info = Some(format!(
                "classifying {}: a 1-second sample on one thread…",
                app.settings.workload().name()
            ));
            return vec![Command::Classify(Box::new(
                app.settings.spec(Model::Sequential),
            ))];
        }
        KeyCode::Char('?') => app.help = true,
        KeyCode::Char('t') => super::stepping::open(app),
        KeyCode::Char('P') => app.present = !app.present,
        KeyCode::Char('k') => {
            if app.replaying {
                app.notice = Some(
                    "the kernel view samples live runs; a recording has none (k works in `conlab tui`)"
                        .into(),
                );
                return Vec::new();
            }
            return vec![Command::Kernel(app.kernel.toggle())];
        }
        KeyCode::Left | KeyCode::Char('h') | KeyCode::Up => {
            app.selected = (app.selected + Model::ALL.len() - 1) % Model::ALL.len()
        }
        KeyCode::Right | KeyCode::Char('l') | KeyCode::Down => {
            app.selected = (app.selected + 1) % Model::ALL.len()
        }
        KeyCode::Enter => return app.enqueue(&[Model::ALL[app.selected]]),
        KeyCode::Char('a') => return app.enqueue(&Model::ALL),
        KeyCode::Char('c') => return app.cancel(),
        KeyCode::Char('g') => match app.settings.can_toggle_gil() {
            Ok(()) => {
                app.settings.gil = !app.settings.gil;
                app.notice = None;
            }
            Err(why) => app.notice = Some(why),
        },
        KeyCode::Char('G') => match app.settings.toggle_gil_sampler() {
            Ok(said) => app.info = Some(said),
            Err(why) => app.notice = Some(why),
        },
        KeyCode::Char('r') => {
            if app.is_running() {
                app.notice = Some("the runtime is fixed while a run is in progress".into());
                return Vec::new();
            }
            match app.settings.switch_runtime() {
                Ok(said) => {
                    app.reset_results();
                    app.notice = Some(said);
                }
                Err(why) => app.notice = Some(why),
            }
        }
        KeyCode::Char('+') | KeyCode::Char('=') => app.settings.add_workers(1),
        KeyCode::Char('-') | KeyCode::Char('_') => app.settings.add_workers(-1),
        KeyCode::Char(']') | KeyCode::Char('[') | KeyCode::Char('w') | KeyCode::Char('W') => {
            if app.is_running() {
                app.notice =
                    Some("the workload and size are fixed while a run is in progress".into());
                return Vec::new();
            }
            let changed = match k.code {
                KeyCode::Char(']') => app.settings.scale_size(true),
                KeyCode::Char('[') => app.settings.scale_size(false),
                KeyCode::Char('w') => {
                    app.settings.cycle_workload(1);
                    true
                }
                _ => {
                    app.settings.cycle_workload(-1);
                    true
                }
            };
            if changed {
                app.reset_results();
                app.notice = None;
            }
        }
        _ => {}
    }
    Vec::new()
}

/// A left click, located by the loop: closes the help, or selects the panel under it.
pub fn on_click(app: &mut App, panel: Option<usize>) -> Vec<Command> {
    if app.help {
        app.help = false;
        return Vec::new();
    }
    if let Some(i) = panel {
        app.selected = i;
    }
    Vec::new()
}
