//! The input job: keys, clicks and resizes from the terminal, as [`Msg`]s on the channel.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::Sender;
use crossterm::event::{self, MouseEventKind};

use crate::app::Msg;

/// Read the terminal on a named thread; exits when `stop` is set or the send fails.
pub fn spawn(tx: Sender<Msg>, stop: Arc<AtomicBool>) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("conlab-input".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match event::poll(Duration::from_millis(200)) {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(_) => return,
                }
                let msg = match event::read() {
                    Ok(event::Event::Key(k)) => Msg::Key(k),
                    Ok(event::Event::Mouse(m)) if matches!(m.kind, MouseEventKind::Down(_)) => {
                        Msg::Mouse(m)
                    }
                    Ok(event::Event::Resize(w, h)) => Msg::Resize(w, h),
                    Ok(_) => continue,
                    Err(_) => return,
                };
                if tx.send(msg).is_err() {
                    return;
                }
            }
        })
}
