//! The `/proc` reader: finds a process tree's processes and threads, and turns each
//! thread's growth in `schedstat` since the last sample into a [`Split`] of the interval.
//!
//! Kept cheap: each thread's `schedstat` stays open and is re-read with one `pread`; a
//! thread's wait channel is read only when it spent part of the interval off a CPU and ran
//! at all (a thread that has not run cannot have moved); the tree is walked for new
//! threads and processes every few samples, memory and names refreshed more rarely.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::time::Instant;

use super::classify::{Split, Wait, wait_from_stat_state, wait_from_syscall, wait_from_wchan};
use super::proc::{
    parse_children, parse_cmdline, parse_rss, parse_schedstat, parse_stat, parse_syscall,
};
use super::{KernelSample, ThreadInterval, TreeEvent};

/// Walk the tree for new threads every this many samples.
pub const DISCOVER_EVERY: u64 = 4;
/// Look for new child processes every this many samples (reads one file per thread).
pub const CHILDREN_EVERY: u64 = 8;
/// Refresh names and memory every this many samples.
pub const SLOW_EVERY: u64 = 50;
/// Keep at most this many `schedstat` files open (stay well under the usual 1024 fds).
const MAX_OPEN: usize = 512;

/// Why the kernel's view is not available.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error(
        "the kernel's per-thread view needs Linux's /proc, which is missing or unreadable here ({0})"
    )]
    NoProc(String),
    #[error("no process with pid {0}")]
    NoSuchPid(u32),
}

struct ThreadSlot {
    pid: u32,
    file: Option<File>,
    run: u64,
    queued: u64,
    /// Where it waited last time it was seen off a CPU.
    wait: Wait,
    /// Seen in at least one earlier sample (its interval is whole).
    settled: bool,
    name: String,
}

struct ProcSlot {
    /// Threads we know in this process.
    tids: Vec<u32>,
}

/// Reads one process tree; call [`Probe::sample`] at each tick.
pub struct Probe {
    root: u32,
    threads: BTreeMap<u32, ThreadSlot>,
    procs: BTreeMap<u32, ProcSlot>,
    last: Instant,
    start: Instant,
    samples: u64,
    /// Count threads already running at the first walk from zero (true when watch started
    /// the program) or from their current value (attached to a running one).
    from_birth: bool,
    /// `wchan` reads `0` for sleeping threads on this kernel (hidden from this user):
    /// go straight to `syscall`.
    wchan_hidden: bool,
    open: usize,
    buf: Vec<u8>,
}

fn task_path(pid: u32, tid: u32, file: &str) -> String {
    format!("/proc/{pid}/task/{tid}/{file}")
}

/// Whether `/proc` is there and shows per-thread scheduler statistics.
pub fn check_proc() -> Result<(), ProbeError> {
    let me = std::process::id();
    std::fs::read_to_string(task_path(me, me, "schedstat"))
        .map(|_| ())
        .map_err(|e| ProbeError::NoProc(format!("/proc/{me}/task/{me}/schedstat: {e}")))
}

impl Probe {
    /// Watch `root` and its descendants. `start` is time zero of the samples.
    pub fn new(root: u32, from_birth: bool, start: Instant) -> Result<Probe, ProbeError> {
        check_proc()?;
        if std::fs::metadata(format!("/proc/{root}/task")).is_err() {
            return Err(ProbeError::NoSuchPid(root));
        }
        Ok(Probe {
            root,
            threads: BTreeMap::new(),
            procs: BTreeMap::new(),
            last: start,
            start,
            samples: 0,
            from_birth,
            wchan_hidden: false,
            open: 0,
            buf: Vec::with_capacity(256),
        })
    }

    /// Threads currently known.
    pub fn threads(&self) -> usize {
        self.threads.len()
    }

    /// Processes currently known.
    pub fn processes(&self) -> usize {
        self.procs.len()
    }

    /// Whether the whole tree is gone.
    pub fn is_empty(&self) -> bool {
        self.samples > 0 && self.procs.is_empty()
    }

    /// One sample at `now`: every thread's interval since the last one, and what was born
    /// or exited.
    pub fn sample(&mut self, now: Instant) -> KernelSample {
        let interval = now.saturating_duration_since(self.last).as_nanos() as u64;
        self.last = now;
        let first = self.samples == 0;
        let mut events = Vec::new();
        if self.samples % DISCOVER_EVERY == 0 {
            let children = self.samples % CHILDREN_EVERY == 0;
            self.discover(first, children, &mut events);
        }
        if self.samples % SLOW_EVERY == 0 {
            self.refresh_slow(&mut events);
        }
        self.samples += 1;
        let mut out = Vec::with_capacity(self.threads.len());
        let mut gone = Vec::new();
        let tids: Vec<u32> = self.threads.keys().copied().collect();
        for tid in tids {
            match self.read_thread(tid, interval) {
                Some(ti) => out.push(ti),
                None => gone.push(tid),
            }
        }
        for tid in gone {
            self.drop_thread(tid, &mut events);
        }
        KernelSample {
            at_ns: now.saturating_duration_since(self.start).as_nanos() as u64,
            interval_ns: interval,
            threads: out,
            events,
        }
    }

    fn read_file(&mut self, path: &str) -> Option<&str> {
        self.buf.clear();
        let mut f = File::open(path).ok()?;
        std::io::Read::read_to_end(&mut f, &mut self.buf).ok()?;
        std::str::from_utf8(&self.buf).ok()
    }

    fn read_schedstat(&self, tid: u32) -> Option<(u64, u64)> {
        let slot = self.threads.get(&tid)?;
        schedstat_of(slot.file.as_ref(), slot.pid, tid)
    }

    fn read_thread(&mut self, tid: u32, interval: u64) -> Option<ThreadInterval> {
        let (run, queued) = self.read_schedstat(tid)?;
        let slot = self.threads.get(&tid)?;
        let (pid, whole, last_wait) = (slot.pid, slot.settled, slot.wait);
        let d_run = run.saturating_sub(slot.run);
        let d_queued = queued.saturating_sub(slot.queued);
        let off = interval.saturating_sub(d_run + d_queued);
        // A thread that neither ran nor queued still waits where it waited.
        let moved = d_run + d_queued > 0 || !whole;
        let wait = if off > 0 && moved {
            self.wait_of(pid, tid).unwrap_or(last_wait)
        } else {
            last_wait
        };
        let slot = self.threads.get_mut(&tid)?;
        slot.run = run;
        slot.queued = queued;
        slot.wait = wait;
        slot.settled = true;
        Some(ThreadInterval {
            pid,
            tid,
            split: Split::of_interval(d_run, d_queued, interval, wait, whole),
        })
    }

    /// Where a thread waits now; `None` if it is running (then its last wait stands).
    fn wait_of(&mut self, pid: u32, tid: u32) -> Option<Wait> {
        if !self.wchan_hidden {
            if let Some(w) = self
                .read_file(&task_path(pid, tid, "wchan"))
                .and_then(wait_from_wchan)
            {
                return Some(w);
            }
        }
        let sys = self
            .read_file(&task_path(pid, tid, "syscall"))
            .map(parse_syscall);
        match sys {
            Some(Some(nr)) => {
                // Blocked in a system call yet wchan said nothing: it is hidden here.
                self.wchan_hidden = true;
                Some(wait_from_syscall(nr))
            }
            Some(None) => None, // running
            None => {
                let st = self
                    .read_file(&task_path(pid, tid, "stat"))
                    .and_then(parse_stat)?;
                (st.state != 'R').then(|| wait_from_stat_state(st.state))
            }
        }
    }

    fn drop_thread(&mut self, tid: u32, events: &mut Vec<TreeEvent>) {
        if let Some(slot) = self.threads.remove(&tid) {
            if slot.file.is_some() {
                self.open -= 1;
            }
            events.push(TreeEvent::ThreadExited { pid: slot.pid, tid });
            if let Some(p) = self.procs.get_mut(&slot.pid) {
                p.tids.retain(|t| *t != tid);
            }
        }
    }

    /// Walk the tree: new threads of every known process; when `children`, also each
    /// thread's child processes (new processes); processes that are gone.
    fn discover(&mut self, first: bool, children: bool, events: &mut Vec<TreeEvent>) {
        let mut todo = vec![self.root];
        todo.extend(self.procs.keys().copied());
        let mut alive = HashSet::new();
        while let Some(pid) = todo.pop() {
            if alive.contains(&pid) {
                continue;
            }
            let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
                continue;
            };
            alive.insert(pid);
            if !self.procs.contains_key(&pid) {
                let cmd = std::fs::read(format!("/proc/{pid}/cmdline"))
                    .map(|b| parse_cmdline(&b))
                    .unwrap_or_default();
                let ppid = self
                    .read_file(&format!("/proc/{pid}/stat"))
                    .and_then(parse_stat)
                    .map_or(0, |s| s.ppid);
                self.procs.insert(pid, ProcSlot { tids: Vec::new() });
                events.push(TreeEvent::ProcessBorn { pid, ppid, cmd });
            }
            for e in dir.flatten() {
                let Some(tid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                    continue;
                };
                if children {
                    if let Some(s) = self.read_file(&task_path(pid, tid, "children")) {
                        todo.extend(parse_children(s));
                    }
                }
                if !self.threads.contains_key(&tid) {
                    self.add_thread(pid, tid, first, events);
                }
            }
        }
        let gone: Vec<u32> = self
            .procs
            .keys()
            .filter(|p| !alive.contains(p))
            .copied()
            .collect();
        for pid in gone {
            self.drop_process(pid, events);
        }
    }

    fn drop_process(&mut self, pid: u32, events: &mut Vec<TreeEvent>) {
        if let Some(p) = self.procs.remove(&pid) {
            for tid in p.tids {
                if let Some(slot) = self.threads.remove(&tid) {
                    if slot.file.is_some() {
                        self.open -= 1;
                    }
                    events.push(TreeEvent::ThreadExited { pid, tid });
                }
            }
            events.push(TreeEvent::ProcessExited { pid });
        }
    }

    fn add_thread(&mut self, pid: u32, tid: u32, first: bool, events: &mut Vec<TreeEvent>) {
        let file = if self.open < MAX_OPEN {
            File::open(task_path(pid, tid, "schedstat")).ok()
        } else {
            None
        };
        if file.is_some() {
            self.open += 1;
        }
        let name = self
            .read_file(&task_path(pid, tid, "comm"))
            .map(|s| s.trim_end().to_string())
            .unwrap_or_default();
        let mut slot = ThreadSlot {
            pid,
            file,
            run: 0,
            queued: 0,
            wait: Wait::Sleep,
            settled: false,
            name: name.clone(),
        };
        // Attached to a running program: what its threads did before is not ours to count.
        if first && !self.from_birth {
            if let Some((r, q)) = schedstat_of(slot.file.as_ref(), pid, tid) {
                (slot.run, slot.queued, slot.settled) = (r, q, true);
            }
        }
        self.threads.insert(tid, slot);
        if let Some(p) = self.procs.get_mut(&pid) {
            p.tids.push(tid);
        }
        events.push(TreeEvent::ThreadBorn { pid, tid, name });
    }

    /// Names (threads rename themselves after they start) and resident memory.
    fn refresh_slow(&mut self, events: &mut Vec<TreeEvent>) {
        let pids: Vec<u32> = self.procs.keys().copied().collect();
        for pid in pids {
            if let Some(rss) = self
                .read_file(&format!("/proc/{pid}/status"))
                .and_then(parse_rss)
            {
                events.push(TreeEvent::Memory { pid, rss });
            }
        }
        let tids: Vec<(u32, u32)> = self.threads.iter().map(|(t, s)| (*t, s.pid)).collect();
        for (tid, pid) in tids {
            let Some(name) = self
                .read_file(&task_path(pid, tid, "comm"))
                .map(|s| s.trim_end().to_string())
            else {
                continue;
            };
            if let Some(slot) = self.threads.get_mut(&tid) {
                if slot.name != name {
                    slot.name = name.clone();
                    events.push(TreeEvent::ThreadRenamed { pid, tid, name });
                }
            }
        }
    }
}

/// One thread's (time on a CPU, time queued), through its open file or a fresh one.
fn schedstat_of(file: Option<&File>, pid: u32, tid: u32) -> Option<(u64, u64)> {
    let mut b = [0u8; 96];
    let n = match file {
        Some(f) => f.read_at(&mut b, 0).ok()?,
        None => File::open(task_path(pid, tid, "schedstat"))
            .ok()?
            .read_at(&mut b, 0)
            .ok()?,
    };
    // A thread that exited reads empty (or fails): gone.
    parse_schedstat(std::str::from_utf8(&b[..n]).ok()?)
}
