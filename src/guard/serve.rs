//! The guard process itself (`conlab __guard`): read "kill PGID" and "forget PGID" lines
//! from conlab until the pipe closes, then SIGKILL every group still looked after.

use std::collections::BTreeSet;
use std::io::BufRead;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use crate::core::lines::{Line, read_line_capped};

/// Longest line conlab sends ("forget 4194304" and room to spare).
const MAX_LINE: usize = 64;

/// One line from conlab.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Order {
    Kill(u32),
    Forget(u32),
}

/// Parse a line; anything else is ignored (the only writer is conlab).
pub(super) fn parse(line: &str) -> Option<Order> {
    let (verb, pgid) = line.trim().split_once(' ')?;
    // Never 0 (our own group), 1 (init's) or a negative number.
    let pgid: u32 = pgid.trim().parse().ok().filter(|g| *g > 1)?;
    match verb {
        "kill" => Some(Order::Kill(pgid)),
        "forget" => Some(Order::Forget(pgid)),
        _ => None,
    }
}

/// The groups to kill once `input` ends.
pub(super) fn follow(input: &mut impl BufRead) -> BTreeSet<u32> {
    let mut groups = BTreeSet::new();
    loop {
        match read_line_capped(input, MAX_LINE) {
            Ok(Line::Text(l)) => match parse(&l) {
                Some(Order::Kill(g)) => {
                    groups.insert(g);
                }
                Some(Order::Forget(g)) => {
                    groups.remove(&g);
                }
                None => {}
            },
            Ok(Line::NotText) => {}
            // Left unread by the reader: skip the rest of that line.
            Ok(Line::TooLong) => {
                if input.skip_until(b'\n').is_err() {
                    return groups;
                }
            }
            Ok(Line::Eof) | Err(_) => return groups,
        }
    }
}

/// Run the guard: returns when conlab is gone (or done), after killing what it left.
pub fn serve() -> std::process::ExitCode {
    let _ = nix::sys::prctl::set_name(c"conlab-guard");
    // Only the end of the pipe ends the guard: not a Ctrl-C, a hang-up or a `pkill conlab`
    // (conlab itself handles those and stops its programs; the guard waits for it to go).
    use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
    for sig in [SIGINT, SIGQUIT, SIGTERM, SIGHUP] {
        let _ = signal_hook::flag::register(sig, Arc::new(AtomicBool::new(false)));
    }
    let mine = nix::unistd::getpgrp().as_raw();
    let groups = follow(&mut std::io::stdin().lock());
    for g in groups {
        let Ok(g) = i32::try_from(g) else { continue };
        if g != mine {
            let _ = killpg(Pid::from_raw(g), Signal::SIGKILL);
        }
    }
    std::process::ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_are_parsed_and_strangers_refused() {
        assert_eq!(parse("kill 4242"), Some(Order::Kill(4242)));
        assert_eq!(parse("forget 4242\r"), Some(Order::Forget(4242)));
        for bad in [
            "kill 0", "kill 1", "kill -5", "kill", "kill x", "stop 99", "",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn forgotten_groups_are_not_killed() {
        let input = "kill 100\nkill 200\nforget 100\nnonsense\nkill 300\nforget 999\n";
        let long = format!("kill {}\n", "9".repeat(200));
        let mut r = std::io::Cursor::new(format!("{input}{long}kill 400"));
        assert_eq!(
            follow(&mut r).into_iter().collect::<Vec<_>>(),
            vec![200, 300, 400]
        );
    }
}
