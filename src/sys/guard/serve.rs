//! The guard process itself (`conlab __guard`): read "kill PGID" and "forget PGID" lines
//! from conlab until the pipe closes, then stop every group still looked after: SIGTERM
//! first, so a program can clean up (Python's multiprocessing resource tracker ignores
//! SIGTERM and, once the workers are gone, unlinks their semaphores in /dev/shm — killed
//! outright, it leaves them there for good), then SIGKILL whatever is left after a grace.

use std::collections::BTreeSet;
use std::io::BufRead;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use crate::core::lines::{Line, read_line_capped};

/// How long the groups get between SIGTERM and SIGKILL.
pub const GRACE: std::time::Duration = std::time::Duration::from_millis(1500);

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
    let groups: Vec<Pid> = follow(&mut std::io::stdin().lock())
        .into_iter()
        .filter_map(|g| i32::try_from(g).ok())
        .filter(|g| *g != mine)
        .map(Pid::from_raw)
        .collect();
    stop(&groups, GRACE);
    std::process::ExitCode::SUCCESS
}

/// SIGTERM every group, wait (up to `grace`) until each is empty, SIGKILL the rest.
fn stop(groups: &[Pid], grace: std::time::Duration) {
    let alive = |g: &Pid| killpg(*g, None).is_ok();
    let mut left: Vec<Pid> = groups.iter().copied().filter(alive).collect();
    for g in &left {
        let _ = killpg(*g, Signal::SIGTERM);
    }
    // Nothing to join or wait on: the group's processes are not our children. Poll.
    let end = std::time::Instant::now() + grace;
    while !left.is_empty() && std::time::Instant::now() < end {
        std::thread::sleep(std::time::Duration::from_millis(20));
        left.retain(alive);
    }
    for g in &left {
        let _ = killpg(*g, Signal::SIGKILL);
    }
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
    fn a_group_that_ignores_sigterm_is_killed_after_the_grace() {
        use std::os::unix::process::CommandExt;
        use std::process::Command;
        // One process that ends on SIGTERM, one that ignores it (as Python's resource
        // tracker does), each in its own group.
        let mut polite = Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .expect("sleep");
        let mut stubborn = Command::new("sh")
            .args(["-c", "trap '' TERM; echo ready; sleep 30 & wait; sleep 30"])
            .process_group(0)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("sh");
        // Its trap is set once it says so.
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(stubborn.stdout.take().expect("stdout")),
            &mut line,
        )
        .expect("ready");
        let groups = [polite.id(), stubborn.id()].map(|p| Pid::from_raw(p as i32));
        stop(&groups, std::time::Duration::from_millis(300));
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(polite.wait().expect("reaped").signal(), Some(15));
        assert_eq!(stubborn.wait().expect("reaped").signal(), Some(9));
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
