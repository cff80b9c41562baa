//! Taking and giving back the terminal: `ratatui::try_init` (raw mode, alternate screen)
//! plus mouse capture, and one restore path for quit, error and panic that runs once.

use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use ratatui::DefaultTerminal;

/// Whether the dashboard holds the terminal now; [`restore`] clears it, so a second call
/// (the guard's drop while a panic unwinds, after the hook restored) writes nothing.
static HELD: AtomicBool = AtomicBool::new(false);

/// Owns the terminal while the dashboard is up; dropping it restores the terminal.
pub struct Session {
    pub terminal: DefaultTerminal,
}

impl Session {
    /// Raw mode, alternate screen, mouse capture, and a panic hook that restores the
    /// terminal before the panic message is printed.
    pub fn start() -> std::io::Result<Self> {
        // ratatui's own hook restores on every panic, held or not; ours restores only
        // while the terminal is held, so the message is never overwritten by a second
        // restore. Keep the hook that was there before and chain to it.
        let previous = std::panic::take_hook();
        let terminal = ratatui::try_init();
        drop(std::panic::take_hook());
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
        HELD.store(true, Ordering::SeqCst);
        let mut terminal = match terminal {
            Ok(t) => t,
            Err(e) => {
                restore();
                return Err(e);
            }
        };
        let setup = crossterm::execute!(std::io::stdout(), EnableMouseCapture)
            .and_then(|()| terminal.hide_cursor());
        match setup {
            Ok(()) => Ok(Session { terminal }),
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        restore();
    }
}

/// Gives the terminal back, once: mouse capture off, raw mode off, leave the alternate
/// screen (`ratatui::restore`, in that order), cursor shown. Later calls do nothing.
pub fn restore() {
    if !HELD.swap(false, Ordering::SeqCst) {
        return;
    }
    let _ = crossterm::execute!(std::io::stdout(), DisableMouseCapture);
    // `try_restore`, not `restore`: the latter `eprintln!`s its failure, which panics when
    // stderr is the terminal that just hung up.
    let _ = ratatui::try_restore();
    let _ = crossterm::execute!(std::io::stdout(), crossterm::cursor::Show);
}

/// Let go of a terminal that hung up without writing to it: ratatui's `Terminal` shows
/// the cursor on drop and `eprintln!`s the failure, which panics on a dead stderr. Its
/// memory is the process's to reclaim (conlab is on its way out).
pub fn abandon(session: Session) {
    HELD.store(false, Ordering::SeqCst);
    std::mem::forget(session);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restoring_what_is_not_held_writes_nothing_and_stays_unheld() {
        // Not held (no Session in tests): restore is a no-op however often it is called.
        restore();
        restore();
        assert!(!HELD.load(Ordering::SeqCst));
    }
}
