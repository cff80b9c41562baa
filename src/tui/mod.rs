//! The dashboard's terminal side: take the terminal ([`terminal`]), start the producers
//! (input, CPU monitor, Ctrl-C), run the [`event_loop`] until quit, give the terminal back.
//! Background jobs each live in their own file and report over the one channel.

pub mod classify_job;
pub mod event_loop;
pub mod input;
pub mod run;
pub mod screenshot;

use std::io::IsTerminal;
use std::io::Write;
use std::process::ExitCode;

use ratatui::Terminal;
use ratatui::backend::Backend;

pub use event_loop::{Extras, FRAME, TICK, run_loop, run_loop_with};

use crate::app::{App, Msg};
use crate::core::LabError;

/// Refuse politely without a terminal, pointing to the headless commands.
pub fn need_terminal(workload: &str) -> Option<ExitCode> {
    if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        return None;
    }
    eprintln!(
        "conlab: the dashboard needs a terminal on stdin and stdout.\n\
         For scripts and pipes use `conlab run` (one model) or `conlab compare` (every model),\n\
         e.g. conlab run --workload {workload} --model threads --workers 2"
    );
    Some(ExitCode::from(2))
}

/// Take the terminal, run the dashboard, give the terminal back (on quit, error or panic).
pub fn open(app: App, mut extras: Extras) -> Result<ExitCode, LabError> {
    let mut session =
        crate::sys::terminal::Session::start().map_err(|e| LabError::Failed(e.into()))?;
    let (result, quit_summary) = run_dashboard(&mut session.terminal, app, &mut extras);
    let hung_up = crate::sys::signals::hung_up();
    if hung_up {
        crate::sys::terminal::abandon(session);
    } else {
        drop(session);
    }
    // With the terminal gone, drawing fails: that is the hang-up, not an error of its own.
    if !hung_up {
        result.map_err(|e| LabError::Failed(e.into()))?;
    }
    // Written, never `eprintln!`: stderr may be the terminal that just went away, and a
    // failed write must not turn a clean exit into a panic.
    let mut err = std::io::stderr();
    if let Some(sig) = crate::sys::signals::received() {
        let why = if hung_up {
            " (the terminal hung up)"
        } else {
            ""
        };
        let _ = writeln!(
            err,
            "conlab: {}{why}: {quit_summary}",
            crate::sys::signals::name(sig)
        );
    }
    if let Some(r) = &extras.recorder {
        let _ = writeln!(err, "conlab: recorded to {}", r.path().display());
    }
    if let Some(note) = &extras.trace_note {
        let _ = writeln!(err, "{note}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Start the producers (input, monitor, signals) and run the loop until quit; also what
/// the runs came to when it quit ([`quit_summary`]).
fn run_dashboard<B: Backend>(
    terminal: &mut Terminal<B>,
    app: App,
    extras: &mut Extras,
) -> (std::io::Result<()>, String) {
    let mut app = app;
    let result = (|| {
        // Bounded: a run of millions of tasks waits for a slow screen instead of queueing
        // its events without end (the run's sink gives up once the run is cancelled).
        let (tx, rx) = crossbeam_channel::bounded::<Msg>(run::EVENTS_CAPACITY);
        // A terminal that goes away quits the way SIGHUP does.
        let input = input::Input::spawn(tx.clone(), input::dashboard_msg, Msg::Quit)?;
        // A replay brings its own CPU samples.
        if extras.player.is_none() {
            crate::observe::monitor::spawn(tx.clone(), Msg::Cpu)?;
        }
        let sig = tx.clone();
        // SIGINT, SIGTERM, SIGHUP: quit the way `q` does (cancel the run, reap its workers,
        // give the terminal back); `open` then says what was cancelled.
        crate::sys::signals::watch(move |_| {
            let _ = sig.send(Msg::Quit);
        })?;
        let result = run_loop_with(terminal, &mut app, &tx, &rx, extras);
        // Nobody listens any more: a producer blocked on a full channel gets its error.
        drop(rx);
        input.stop();
        result
    })();
    (result, quit_summary(&app))
}

/// One line per model that ran: its final time and answer, or that it was cancelled;
/// printed after the terminal is restored when a signal ended the dashboard.
pub fn quit_summary(app: &App) -> String {
    use crate::app::RunState;
    let lines: Vec<String> = app
        .panels()
        .iter()
        .filter_map(|p| {
            let what = match &p.state {
                RunState::Idle | RunState::Queued => return None,
                RunState::Running | RunState::Cancelled => format!(
                    "cancelled after {:.3} s ({} tasks done), workers stopped and reaped",
                    p.elapsed_s(),
                    p.tasks_done
                ),
                RunState::Finished => format!(
                    "{:.3} s, answer {}",
                    p.elapsed_s(),
                    p.answer.as_ref().map_or("—", |a| a.value.as_str())
                ),
                RunState::Failed(why) => format!("failed: {why}"),
            };
            Some(format!("  {:<10} {what}", p.model.to_string()))
        })
        .collect();
    if lines.is_empty() {
        "dashboard closed; nothing had run".into()
    } else {
        format!(
            "dashboard closed; {} on {} worker(s):\n{}",
            app.settings().workload().name(),
            app.settings().workers,
            lines.join("\n")
        )
    }
}

#[cfg(test)]
mod tests;
