//! The interpreter as a child process: its own process group (so one signal reaches it and
//! every pool child it forks), bounded reading of its pipes, and the tail of its stderr.

use std::collections::VecDeque;
use std::io::{BufRead, Read};
use std::sync::{Arc, Mutex};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// Longest event line accepted from the driver; a longer one is a protocol error.
pub const MAX_LINE: usize = 1 << 20;
/// How much of the interpreter's stderr is kept for error messages.
const STDERR_TAIL: usize = 4096;

/// SIGKILL every process in the group led by `leader` (the interpreter, started with
/// `process_group(0)`). Call it before reaping the leader: while the leader is unreaped
/// its pid, and so the group's id, cannot be reused by anyone else.
pub fn kill_group(leader: u32) {
    if let Ok(pid) = i32::try_from(leader) {
        let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
    }
}

/// Is any process of group `pgid` still alive (zombies, already dead, do not count)?
/// Read from /proc: the group's members are the interpreter's pool children, which are
/// not our children, so they cannot be waited for.
pub fn group_alive(pgid: u32) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return false;
    };
    dir.flatten().any(|e| {
        let name = e.file_name();
        let is_pid = name
            .to_str()
            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()));
        is_pid
            && std::fs::read_to_string(e.path().join("stat"))
                .ok()
                .and_then(|stat| stat_group(&stat))
                .is_some_and(|(state, g)| g == pgid && state != 'Z' && state != 'X')
    })
}

/// (state, process group) from a /proc/PID/stat line.
fn stat_group(stat: &str) -> Option<(char, u32)> {
    // pid (comm) state ppid pgrp …; comm may hold spaces and ')', so split at the last.
    let (_, rest) = stat.rsplit_once(')')?;
    let mut f = rest.split_whitespace();
    let state = f.next()?.chars().next()?;
    let _ppid = f.next()?;
    Some((state, f.next()?.parse().ok()?))
}

/// After a SIGKILL to the group: wait (bounded) until its members have actually died —
/// a killed process on a busy machine takes a moment to be scheduled and exit.
pub fn wait_group_gone(pgid: u32, within: std::time::Duration) {
    let deadline = std::time::Instant::now() + within;
    while group_alive(pgid) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// One line from a pipe, at most [`MAX_LINE`] bytes.
pub enum Line {
    Text(String),
    TooLong,
    Eof,
}

/// Read the next line (without its newline), never buffering more than [`MAX_LINE`].
pub fn read_line(r: &mut impl BufRead) -> Line {
    let mut buf = Vec::new();
    match r.take(MAX_LINE as u64 + 1).read_until(b'\n', &mut buf) {
        Ok(0) | Err(_) => Line::Eof,
        Ok(_) if buf.last() != Some(&b'\n') && buf.len() > MAX_LINE => Line::TooLong,
        Ok(_) => {
            while matches!(buf.last(), Some(b'\n' | b'\r')) {
                buf.pop();
            }
            Line::Text(String::from_utf8_lossy(&buf).into_owned())
        }
    }
}

/// The last few KiB of a stream, collected on a thread.
#[derive(Clone, Default)]
pub struct Tail(Arc<Mutex<VecDeque<u8>>>);

impl Tail {
    /// Read `r` to its end on a named thread, keeping only the tail.
    pub fn collect(r: impl Read + Send + 'static) -> Self {
        let tail = Tail::default();
        let keep = tail.clone();
        let _ = std::thread::Builder::new()
            .name("conlab-python-stderr".into())
            .spawn(move || {
                let mut r = r;
                let mut buf = [0u8; 4096];
                while let Ok(n) = r.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    keep.push(&buf[..n]);
                }
            });
        tail
    }

    pub fn push(&self, bytes: &[u8]) {
        let mut q = self.0.lock().unwrap_or_else(|e| e.into_inner());
        q.extend(bytes);
        let excess = q.len().saturating_sub(STDERR_TAIL);
        q.drain(..excess);
    }

    /// The kept text, trimmed.
    pub fn text(&self) -> String {
        let q = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let bytes: Vec<u8> = q.iter().copied().collect();
        String::from_utf8_lossy(&bytes).trim().to_string()
    }
}

/// The last non-empty line of `s`.
pub fn last_line(s: &str) -> Option<&str> {
    s.lines().map(str::trim).rfind(|l| !l.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_split_and_capped() {
        let mut r = std::io::Cursor::new(b"one\r\ntwo\nthree".to_vec());
        assert!(matches!(read_line(&mut r), Line::Text(t) if t == "one"));
        assert!(matches!(read_line(&mut r), Line::Text(t) if t == "two"));
        assert!(matches!(read_line(&mut r), Line::Text(t) if t == "three"));
        assert!(matches!(read_line(&mut r), Line::Eof));
        let mut long = std::io::Cursor::new(vec![b'x'; MAX_LINE + 10]);
        assert!(matches!(read_line(&mut long), Line::TooLong));
    }

    #[test]
    fn stat_lines_give_state_and_group() {
        let line = "4242 (py thon) (x)) S 1 4240 4240 0 -1 4194560 ...";
        assert_eq!(stat_group(line), Some(('S', 4240)));
        assert_eq!(stat_group("garbage"), None);
        let own = std::process::id();
        let stat = std::fs::read_to_string("/proc/self/stat").expect("reads");
        let (state, group) = stat_group(&stat).expect("parses");
        assert_ne!(state, 'Z');
        assert_eq!(group, nix::unistd::getpgrp().as_raw() as u32, "pid {own}");
        assert!(group_alive(group));
    }

    #[test]
    fn the_tail_keeps_the_end() {
        let t = Tail::default();
        t.push(&vec![b'a'; STDERR_TAIL]);
        t.push(b"\nZeroDivisionError: division by zero\n");
        let text = t.text();
        assert!(text.len() <= STDERR_TAIL);
        assert_eq!(
            last_line(&text),
            Some("ZeroDivisionError: division by zero")
        );
    }
}
