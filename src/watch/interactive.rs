//! The interactive watch: terminal set up with `ratatui::init` (restored on every path,
//! panics included), keys on a named thread, per-core CPU from the monitor, and the loop
//! that feeds every message to [`WatchApp::update`] and redraws at most 10 times a second.

use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use crossterm::event;

use super::WatchOptions;
use super::app::{Action, WatchApp, WatchMsg};
use super::{LabError, Outcome, Session, Stopper, Target, recv_until};
use crate::tui::input::Input;

const FRAME: Duration = Duration::from_millis(100);

/// Restores the terminal when dropped (normal exit and error paths).
pub(super) struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = crossterm::execute!(std::io::stdout(), crossterm::event::DisableMouseCapture);
        // Not `ratatui::restore`, which `eprintln!`s (and so panics) on a hung-up terminal.
        let _ = ratatui::try_restore();
    }
}

pub fn run(
    args: &WatchOptions,
    title: String,
    mut session: Session,
    tx: &Sender<WatchMsg>,
    rx: &Receiver<WatchMsg>,
) -> Result<Outcome, LabError> {
    let theme = crate::ui::theme::from_env(args.theme);
    let mut app =
        WatchApp::new(theme, title, session.target.pid(), args.sample_ms).with_budget(args.budget);
    app.gil = super::gil_panel::GilView::of(session.gil.as_ref(), session.gil_note.as_deref());
    let mut terminal = ratatui::try_init().map_err(|e| anyhow::anyhow!("terminal: {e}"))?;
    let _restore = Restore;
    // A terminal that goes away stops watching the way SIGHUP does.
    let hangup = WatchMsg::Signal(signal_hook::consts::SIGHUP);
    let input = Input::spawn(tx.clone(), watch_msg, hangup)
        .map_err(|e| anyhow::anyhow!("could not start the input thread: {e}"))?;
    // Exits on its first failed send, once `rx` is dropped.
    let _ = crate::observe::monitor::spawn(tx.clone(), WatchMsg::Cpu);
    let mut stopper = Stopper::new();
    let attached = matches!(session.target, Target::Attached(_));
    let mut quitting = false;
    let mut next_draw = Instant::now();
    let mut program_done = false;
    let result: Result<(), LabError> = loop {
        let deadline = stopper.deadline().map_or(next_draw, |d| d.min(next_draw));
        let first = recv_until(rx, Some(deadline));
        stopper.tick(&session.target, Instant::now());
        for msg in first.into_iter().chain(rx.try_iter()) {
            let exited = matches!(msg, WatchMsg::ProgramExited);
            session.keep(&msg);
            let action = app.update(msg);
            if action == Action::Screenshot {
                let size = terminal.size().unwrap_or_default();
                app.update(save_shot(&app, size, &args.shots));
            }
            if action == Action::Quit {
                quitting = true;
                if attached || program_done {
                    break;
                }
                stopper.request(&session.target, Instant::now());
            }
            if exited {
                program_done = true;
                let late = session.end(rx, true);
                let exit_code = session.exit_code.map(i32::from);
                app.update(WatchMsg::Ended { exit_code, late });
                if let Some(r) = session.gil_report.clone() {
                    app.update(WatchMsg::Gil(Box::new(r)));
                }
            }
        }
        let root_gone = app
            .totals
            .processes
            .get(&session.target.pid())
            .is_some_and(|p| p.exited_ns.is_some());
        if attached && root_gone && !program_done {
            program_done = true;
            app.update(WatchMsg::Ended {
                exit_code: None,
                late: Vec::new(),
            });
        }
        if quitting && (attached || program_done) {
            break Ok(());
        }
        if Instant::now() >= next_draw {
            if let Err(e) = terminal.draw(|f| super::draw::draw(f, &app)) {
                break Err(LabError::Failed(anyhow::anyhow!("drawing: {e}")));
            }
            next_draw = Instant::now() + FRAME;
        }
    };
    input.stop();
    drop(_restore);
    if crate::sys::signals::hung_up() {
        // ratatui's drop would show the cursor and `eprintln!` (panic) on the dead terminal.
        std::mem::forget(terminal);
    }
    let mut totals = app.into_totals();
    for s in session.end(rx, program_done) {
        totals.apply(&s);
    }
    result?;
    Ok(session.outcome(totals))
}

/// What the screen shows now, at `size`, saved as SVG, text and ANSI in `dir`; the result
/// as a message for the app.
pub(super) fn save_shot(
    app: &WatchApp,
    size: ratatui::layout::Size,
    dir: &std::path::Path,
) -> WatchMsg {
    WatchMsg::ShotSaved(write_shot(app, size, dir).map_err(|e| format!("{e:#}")))
}

fn write_shot(
    app: &WatchApp,
    size: ratatui::layout::Size,
    dir: &std::path::Path,
) -> anyhow::Result<std::path::PathBuf> {
    let area = ratatui::layout::Rect::new(0, 0, size.width, size.height);
    let mut buf = ratatui::buffer::Buffer::empty(area);
    super::draw::render(app, area, &mut buf);
    let name = format!("conlab-watch-{}", crate::tui::screenshot::timestamp());
    let title = format!("conlab watch — {}", app.title);
    crate::recording::shot::write_files(&buf, dir, &name, &title, app.theme.name)
}

/// What watch takes from the terminal: key presses and resizes.
pub(super) fn watch_msg(ev: event::Event) -> Option<WatchMsg> {
    match ev {
        event::Event::Key(k) if k.kind == event::KeyEventKind::Press => Some(WatchMsg::Key(k)),
        event::Event::Resize(..) => Some(WatchMsg::Resize),
        _ => None,
    }
}
