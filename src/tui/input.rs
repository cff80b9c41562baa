//! The input job: keys, clicks and resizes from the terminal, as messages on the channel,
//! and a watch for the terminal going away (its window closed, tmux killed, ssh dropped).
//!
//! Shared by the dashboard and `conlab watch`. Two threads:
//! - `conlab-input` reads events with crossterm and translates them;
//! - `conlab-hangup` waits in `poll(2)` on the terminal for POLLHUP and sends the
//!   caller's hang-up message. It is needed because when the terminal vanishes crossterm
//!   0.29's reader spins inside `event::poll` forever, timeout or not (crossterm issue
//!   #793): the input thread can then neither notice nor be joined, and without a SIGHUP
//!   (conlab not the session leader, or a shell that ignores HUP) nothing else would end
//!   the dashboard.
//!
//! [`Input::stop`] therefore joins the reader only for a bounded time; a reader stuck in a
//! dead terminal is left to end with the process.

use std::io::IsTerminal;
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use crossterm::event::{self, Event};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

/// How long [`Input::stop`] waits for the reader (it wakes every [`POLL`] to look at the
/// stop flag, so a live terminal always makes it).
const JOIN_FOR: Duration = Duration::from_millis(500);
/// How often the reader looks at the stop flag.
const POLL: Duration = Duration::from_millis(100);

/// The running input job; [`Input::stop`] ends it.
pub struct Input {
    stop: Arc<AtomicBool>,
    /// Disconnected when the reader thread has returned.
    done: Receiver<()>,
}

impl Input {
    /// Read the terminal on `conlab-input`, sending `translate(event)` when it is `Some`;
    /// exits when stopped or the send fails. Also start the hang-up watch, which sends
    /// `hung_up` once if the terminal goes away.
    pub fn spawn<M: Send + 'static>(
        tx: Sender<M>,
        translate: impl Fn(Event) -> Option<M> + Send + 'static,
        hung_up: M,
    ) -> std::io::Result<Input> {
        let stop = Arc::new(AtomicBool::new(false));
        let (done_tx, done) = crossbeam_channel::bounded::<()>(0);
        let flag = stop.clone();
        let reader_tx = tx.clone();
        std::thread::Builder::new()
            .name("conlab-input".into())
            .spawn(move || {
                let _done = done_tx; // dropped on return: `stop` sees the reader ended
                while !flag.load(Ordering::Relaxed) {
                    match event::poll(POLL) {
                        Ok(true) => {}
                        Ok(false) => continue,
                        Err(_) => return,
                    }
                    let Ok(ev) = event::read() else { return };
                    if let Some(msg) = translate(ev)
                        && reader_tx.send(msg).is_err()
                    {
                        return;
                    }
                }
            })?;
        if std::io::stdin().is_terminal() {
            std::thread::Builder::new()
                .name("conlab-hangup".into())
                .spawn(move || {
                    if wait_for_hangup() {
                        crate::sys::signals::note_hangup();
                        let _ = tx.send(hung_up);
                    }
                })?;
        }
        Ok(Input { stop, done })
    }

    /// Stop reading; wait for the reader at most [`JOIN_FOR`]. Says whether it ended (it
    /// does not when the terminal is gone and crossterm spins; the process's exit ends it).
    pub fn stop(self) -> bool {
        self.stop.store(true, Ordering::Relaxed);
        matches!(
            self.done.recv_timeout(JOIN_FOR),
            Err(crossbeam_channel::RecvTimeoutError::Disconnected)
        )
    }
}

/// Block until stdin (the terminal) reports a hang-up or an error; `false` if it cannot
/// be watched. Asks for no events, so typing never wakes it: poll(2) always reports
/// POLLHUP, POLLERR and POLLNVAL.
fn wait_for_hangup() -> bool {
    let stdin = std::io::stdin();
    loop {
        let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::empty())];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {
                let gone = PollFlags::POLLHUP | PollFlags::POLLERR | PollFlags::POLLNVAL;
                if fds[0].revents().is_some_and(|r| r.intersects(gone)) {
                    return true;
                }
            }
            Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return false,
        }
    }
}

/// The dashboard's translation: key presses, mouse clicks and resizes.
pub fn dashboard_msg(ev: Event) -> Option<crate::app::Msg> {
    use crate::app::Msg;
    use crossterm::event::MouseEventKind;
    match ev {
        Event::Key(k) => Some(Msg::Key(k)),
        Event::Mouse(m) if matches!(m.kind, MouseEventKind::Down(_)) => Some(Msg::Mouse(m)),
        Event::Resize(w, h) => Some(Msg::Resize(w, h)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{
        KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
    };

    #[test]
    fn the_dashboard_takes_keys_clicks_and_resizes_only() {
        let key = KeyEvent::new(KeyCode::Char('a'), KeyModifiers::NONE);
        assert!(matches!(
            dashboard_msg(Event::Key(key)),
            Some(crate::app::Msg::Key(_))
        ));
        assert!(matches!(
            dashboard_msg(Event::Resize(80, 24)),
            Some(crate::app::Msg::Resize(80, 24))
        ));
        let click = |kind| MouseEvent {
            kind,
            column: 1,
            row: 1,
            modifiers: KeyModifiers::NONE,
        };
        assert!(
            dashboard_msg(Event::Mouse(click(MouseEventKind::Down(MouseButton::Left)))).is_some()
        );
        assert!(dashboard_msg(Event::Mouse(click(MouseEventKind::Moved))).is_none());
        assert!(dashboard_msg(Event::FocusGained).is_none());
    }
}
