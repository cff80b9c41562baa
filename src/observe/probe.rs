//! The `/proc` reader: finds a process tree's processes and threads, and turns each
//! thread's growth in `schedstat` since the last sample into a [`Split`] of the interval.
//!
//! Kept cheap: each thread's `schedstat` stays open and is re-read with one `pread`; a
//! thread's wait channel is read only when it spent part of the interval off a CPU and ran
//! at all (a thread that has not run cannot have moved); the tree is walked for new
//! threads every 4 samples or 20 ms and for new processes every 12 or 60 ms (never two
//! samples in a row), memory and names every 0.5 s.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

use super::thread_state::{Split, Wait, wait_from_stat_state, wait_from_syscall, wait_from_wchan};
use super::{KernelSample, ThreadInterval, TreeEvent};
use crate::sys::proc::{
    parse_children, parse_cmdline, parse_rss, parse_schedstat, parse_stat, parse_syscall,
};

/// Walk the tree for new threads every this many samples, or sooner once this much time
/// has passed — but never at two samples in a row: a sampler stretched by its budget
/// must not walk at every sample, which would cost more and stretch it further, nor find
/// a short run's worker processes too late.
pub const DISCOVER_EVERY: (u64, Duration) = (4, Duration::from_millis(20));
/// Look for new child processes (reads one file per thread that ran) likewise.
pub const CHILDREN_EVERY: (u64, Duration) = (12, Duration::from_millis(60));
/// Refresh names and memory at most this often.
pub const SLOW_EVERY: Duration = Duration::from_millis(500);
/// Threads whose files stay open at most (two each; the rest are opened per read).
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
    /// `schedstat`, kept open.
    file: Option<File>,
    /// `wchan` (or `syscall` where wchan is hidden), opened the first time it is needed.
    wait_file: Option<File>,
    run: u64,
    queued: u64,
    /// Where it waited last time it was seen off a CPU.
    wait: Wait,
    /// `wait` was read from the kernel (not the default).
    wait_known: bool,
    /// Where it waits was looked up at least once.
    probed: bool,
    /// Ran since its `children` were last read (a thread that has not run cannot have
    /// started a process).
    ran: bool,
    /// Seen in at least one earlier sample (its interval is whole).
    settled: bool,
    name: String,
    /// Its name was read again after it first ran: a new thread starts with its parent's
    /// name and names itself once it runs, so the name read at birth may be the parent's.
    named: bool,
}

struct ProcSlot {
    /// Threads we know in this process.
    tids: Vec<u32>,
    /// Its command line (it changes on exec).
    cmd: String,
    /// Its CPU clock (all threads, ns) at the last sample.
    cpu_ns: Option<u64>,
    /// Its clock moved since the last walk for child processes (something in it ran: it
    /// may have started threads or processes).
    moved: bool,
}

/// Reads one process tree; call [`Probe::sample`] at each tick.
pub struct Probe {
    root: u32,
    threads: BTreeMap<u32, ThreadSlot>,
    procs: BTreeMap<u32, ProcSlot>,
    last: Instant,
    start: Instant,
    samples: u64,
    /// When names and memory were last refreshed.
    refreshed: Option<Instant>,
    /// The sample and time of the last walk for threads, and for child processes.
    walked: Option<(u64, Instant)>,
    walked_children: Option<(u64, Instant)>,
    /// This sample walks the tree (threads never seen waiting are looked at again).
    walking: bool,
    /// Count threads already running at the first walk from zero (true when watch started
    /// the program) or from their current value (attached to a running one).
    from_birth: bool,
    /// (on a CPU, waiting for one) in ns that the root's main thread spent before it
    /// became the program (conlab's launcher, `guard::tied`): not the program's, not counted.
    head_start: (u64, u64),
    /// `wchan` reads `0` for sleeping threads on this kernel (hidden from this user):
    /// read `syscall` instead.
    wchan_hidden: bool,
    open: usize,
    max_open: usize,
    /// Per-thread files read so far (schedstat and wait), for the bench and tests.
    thread_reads: u64,
    /// Threads that ran for the first time this sample: their names are read again.
    to_name: Vec<u32>,
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
            refreshed: None,
            walked: None,
            walked_children: None,
            walking: false,
            from_birth,
            head_start: (0, 0),
            wchan_hidden: !wchan_visible(),
            open: 0,
            max_open: max_open(),
            thread_reads: 0,
            to_name: Vec::new(),
            buf: Vec::with_capacity(256),
        })
    }

    /// The root's main thread ran `run_ns` and waited `queued_ns` for a CPU (schedstat)
    /// before it became the program: count from there, not from its birth.
    pub fn with_head_start(mut self, run_ns: u64, queued_ns: u64) -> Probe {
        self.head_start = (run_ns, queued_ns);
        self
    }

    /// The process the tree grows from.
    pub fn root(&self) -> u32 {
        self.root
    }

    /// Threads currently known.
    pub fn threads(&self) -> usize {
        self.threads.len()
    }

    /// Per-thread files read so far (schedstat and where a thread waits).
    pub fn thread_reads(&self) -> u64 {
        self.thread_reads
    }

    /// Processes currently known.
    pub fn processes(&self) -> usize {
        self.procs.len()
    }

    /// Where thread `tid` was last seen waiting (`None`: unknown thread or never seen
    /// waiting).
    pub fn last_wait(&self, tid: u32) -> Option<Wait> {
        self.threads
            .get(&tid)
            .filter(|t| t.wait_known)
            .map(|t| t.wait)
    }

    /// Whether the whole tree is gone.
    pub fn is_empty(&self) -> bool {
        self.samples > 0 && self.procs.is_empty()
    }

    /// The last sample (the program has exited or watching stops): also refreshes names,
    /// commands and memory, so the summary shows the latest.
    pub fn sample_last(&mut self, now: Instant) -> KernelSample {
        let mut s = self.sample(now);
        let mut more = Vec::new();
        self.refresh_slow(&HashSet::new(), &mut more);
        s.events.extend(more);
        s
    }

    /// One sample at `now`: every thread's interval since the last one, and what was born
    /// or exited.
    pub fn sample(&mut self, now: Instant) -> KernelSample {
        let interval = now.saturating_duration_since(self.last).as_nanos() as u64;
        self.last = now;
        let first = self.samples == 0;
        let mut events = Vec::new();
        // A process whose CPU clock has not moved has no thread that ran (or arrived from
        // the run queue): its threads' schedstat cannot have changed, and it cannot have
        // started a thread or a process, renamed one, or exec'd. One clock read instead of
        // a read per thread.
        let mut still = HashSet::new();
        for (pid, p) in self.procs.iter_mut() {
            let now_ns = process_cpu_ns(*pid);
            if now_ns.is_some() && now_ns == p.cpu_ns {
                still.insert(*pid);
            } else {
                p.moved = true;
            }
            p.cpu_ns = now_ns;
        }
        let due = |at: Option<Instant>, every: Duration| {
            at.is_none_or(|a| now.saturating_duration_since(a) >= every)
        };
        let n = self.samples;
        let walk_due = |last: Option<(u64, Instant)>, (every, soon): (u64, Duration)| {
            last.is_none_or(|(at, t)| {
                let since = n - at;
                since >= every || (since >= 2 && now.saturating_duration_since(t) >= soon)
            })
        };
        self.walking = walk_due(self.walked, DISCOVER_EVERY);
        if self.walking {
            let children = walk_due(self.walked_children, CHILDREN_EVERY);
            self.walked = Some((n, now));
            if children {
                self.walked_children = Some((n, now));
            }
            self.discover(first, children, &mut events);
        }
        if due(self.refreshed, SLOW_EVERY) {
            self.refreshed = Some(now);
            self.refresh_slow(&still, &mut events);
        }
        self.samples += 1;
        let mut out = Vec::with_capacity(self.threads.len());
        let mut gone = Vec::new();
        let tids: Vec<u32> = self.threads.keys().copied().collect();
        for tid in tids {
            let skip = self
                .threads
                .get(&tid)
                .is_some_and(|t| still.contains(&t.pid) && t.settled);
            match self.read_thread(tid, interval, skip) {
                Some(ti) => out.push(ti),
                None => gone.push(tid),
            }
        }
        for tid in gone {
            self.drop_thread(tid, &mut events);
        }
        self.name_again(&mut events);
        KernelSample {
            planned_step: 0,
            cost_ns: 0,
            at_ns: now.saturating_duration_since(self.start).as_nanos() as u64,
            interval_ns: interval,
            threads: out,
            events,
            throttled_ns: None,
        }
    }

    fn read_file(&mut self, path: &str) -> Option<&str> {
        self.buf.clear();
        let mut f = File::open(path).ok()?;
        std::io::Read::read_to_end(&mut f, &mut self.buf).ok()?;
        std::str::from_utf8(&self.buf).ok()
    }

    fn read_schedstat(&mut self, tid: u32) -> Option<(u64, u64)> {
        self.thread_reads += 1;
        let slot = self.threads.get(&tid)?;
        schedstat_of(slot.file.as_ref(), slot.pid, tid)
    }

    /// One thread's interval; `still`: its process did not run, so its counts stand.
    fn read_thread(&mut self, tid: u32, interval: u64, still: bool) -> Option<ThreadInterval> {
        let (run, queued) = if still {
            let t = self.threads.get(&tid)?;
            (t.run, t.queued)
        } else {
            self.read_schedstat(tid)?
        };
        let slot = self.threads.get(&tid)?;
        let (pid, whole, last_wait, known) = (slot.pid, slot.settled, slot.wait, slot.wait_known);
        let d_run = run.saturating_sub(slot.run);
        let d_queued = queued.saturating_sub(slot.queued);
        let off = interval.saturating_sub(d_run + d_queued);
        // A thread that neither ran nor queued still waits where it waited.
        let moved = d_run + d_queued > 0 || !whole;
        // A running thread's time is charged at scheduler ticks (4 ms at HZ=250), so a
        // computing thread often shows a little "off" time that is no wait: read where it
        // waits only when it was off for a quarter of the interval or more.
        // Not yet seen waiting anywhere: look now, and again at each walk (it may
        // have been running the first time).
        let first_look = !known && (!slot.probed || self.walking);
        let now = if off > 0 && (first_look || (moved && off >= interval / 4)) {
            self.wait_of(pid, tid)
        } else {
            None
        };
        let probed = off > 0 && (first_look || (moved && off >= interval / 4));
        let wait = now.unwrap_or(last_wait);
        // Off a CPU but runnable or running at the sample, never seen waiting: unknown.
        let seen_wait = (now.is_some() || known).then_some(wait);
        let slot = self.threads.get_mut(&tid)?;
        slot.wait_known |= now.is_some();
        slot.probed |= probed;
        slot.ran |= d_run > 0;
        if d_run > 0 && !slot.named {
            slot.named = true;
            self.to_name.push(tid);
        }
        slot.run = run;
        slot.queued = queued;
        slot.wait = wait;
        slot.settled = true;
        Some(ThreadInterval {
            pid,
            tid,
            split: Split::of_interval(d_run, d_queued, interval, seen_wait, whole),
        })
    }

    /// Where a thread waits now; `None` if it is running or runnable (then its last wait
    /// stands: it left it within this interval).
    fn wait_of(&mut self, pid: u32, tid: u32) -> Option<Wait> {
        self.thread_reads += 1;
        let hidden = self.wchan_hidden;
        let name = if hidden { "syscall" } else { "wchan" };
        let keep = self.open < self.max_open;
        let slot = self.threads.get_mut(&tid)?;
        let mut b = [0u8; 128];
        let n = match &slot.wait_file {
            Some(f) => f.read_at(&mut b, 0).ok(),
            None => {
                let f = File::open(task_path(pid, tid, name)).ok();
                let n = f.as_ref().and_then(|f| f.read_at(&mut b, 0).ok());
                if keep && slot.file.is_some() {
                    slot.wait_file = f;
                }
                n
            }
        };
        let text = n.and_then(|n| std::str::from_utf8(&b[..n]).ok());
        match (hidden, text) {
            (false, Some(t)) => wait_from_wchan(t),
            (true, Some(t)) => parse_syscall(t).map(wait_from_syscall),
            // Unreadable: the state letter is all there is.
            (_, None) => {
                let st = self
                    .read_file(&task_path(pid, tid, "stat"))
                    .and_then(parse_stat)?;
                (st.state != 'R').then(|| wait_from_stat_state(st.state))
            }
        }
    }

    /// Read again the names of threads that ran for the first time (once each).
    fn name_again(&mut self, events: &mut Vec<TreeEvent>) {
        let mut tids = std::mem::take(&mut self.to_name);
        for tid in tids.drain(..) {
            let Some(pid) = self.threads.get(&tid).map(|t| t.pid) else {
                continue;
            };
            self.thread_reads += 1;
            self.read_name(pid, tid, events);
        }
        self.to_name = tids;
    }

    /// Read a thread's name; a change is a [`TreeEvent::ThreadRenamed`].
    fn read_name(&mut self, pid: u32, tid: u32, events: &mut Vec<TreeEvent>) {
        let Some(name) = self
            .read_file(&task_path(pid, tid, "comm"))
            .map(|s| s.trim_end().to_string())
        else {
            return;
        };
        if let Some(slot) = self.threads.get_mut(&tid)
            && slot.name != name
        {
            slot.name = name.clone();
            events.push(TreeEvent::ThreadRenamed { pid, tid, name });
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
            if let Some(p) = self.procs.get_mut(&pid)
                && p.cpu_ns.is_some()
            {
                if !p.moved {
                    // There (its clock was read), and nothing in it ran since the last walk.
                    alive.insert(pid);
                    continue;
                }
                if children {
                    p.moved = false;
                }
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
                self.procs.insert(
                    pid,
                    ProcSlot {
                        tids: Vec::new(),
                        cmd: cmd.clone(),
                        cpu_ns: None,
                        moved: true,
                    },
                );
                events.push(TreeEvent::ProcessBorn { pid, ppid, cmd });
            }
            for e in dir.flatten() {
                let Some(tid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                    continue;
                };
                if children && self.threads.get(&tid).is_none_or(|t| t.ran) {
                    if let Some(t) = self.threads.get_mut(&tid) {
                        t.ran = false;
                    }
                    if let Some(s) = self.read_file(&task_path(pid, tid, "children")) {
                        // conlab's guard is its child but no part of what is watched.
                        todo.extend(parse_children(s).filter(|c| !crate::sys::guard::is_guard(*c)));
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
        let file = if self.open < self.max_open {
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
            wait_file: None,
            run: 0,
            queued: 0,
            wait: Wait::Sleep,
            wait_known: false,
            probed: false,
            ran: true,
            settled: false,
            name: name.clone(),
            named: false,
        };
        // Started through conlab's launcher: what it did before the program began is not
        // the program's (the interval stays partial, as for any thread born in it).
        if tid == self.root {
            (slot.run, slot.queued) = self.head_start;
        }
        // Attached to a running program: what its threads did before is not ours to count.
        if first
            && !self.from_birth
            && let Some((r, q)) = schedstat_of(slot.file.as_ref(), pid, tid)
        {
            (slot.run, slot.queued, slot.settled) = (r, q, true);
        }
        self.threads.insert(tid, slot);
        if let Some(p) = self.procs.get_mut(&pid) {
            p.tids.push(tid);
        }
        events.push(TreeEvent::ThreadBorn { pid, tid, name });
    }

    /// Names (threads rename themselves after they start) and resident memory.
    fn refresh_slow(&mut self, still: &HashSet<u32>, events: &mut Vec<TreeEvent>) {
        let pids: Vec<u32> = self
            .procs
            .keys()
            .filter(|p| !still.contains(p))
            .copied()
            .collect();
        for pid in pids {
            // A process that exec'd (a shell script's `exec python3 ...`) has a new command.
            if let Ok(b) = std::fs::read(format!("/proc/{pid}/cmdline")) {
                let cmd = parse_cmdline(&b);
                if let Some(p) = self.procs.get_mut(&pid)
                    && !cmd.is_empty()
                    && p.cmd != cmd
                {
                    p.cmd = cmd.clone();
                    events.push(TreeEvent::ProcessExec { pid, cmd });
                }
            }
            if let Some(rss) = self
                .read_file(&format!("/proc/{pid}/status"))
                .and_then(parse_rss)
            {
                events.push(TreeEvent::Memory { pid, rss });
            }
        }
        let tids: Vec<(u32, u32)> = self
            .threads
            .iter()
            .filter(|(_, s)| !still.contains(&s.pid))
            .map(|(t, s)| (*t, s.pid))
            .collect();
        for (tid, pid) in tids {
            self.read_name(pid, tid, events);
        }
    }
}

/// A process's CPU time (all its threads, ns) from its CPU clock: one system call, open to
/// any user for any process.
fn process_cpu_ns(pid: u32) -> Option<u64> {
    use nix::time::{ClockId, clock_gettime};
    let id = ClockId::pid_cpu_clock_id(nix::unistd::Pid::from_raw(pid as i32)).ok()?;
    let t = clock_gettime(id).ok()?;
    Some(t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64)
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

/// Whether `wchan` names where a sleeping thread waits, for this user on this kernel: a
/// helper thread blocks on a channel and its `wchan` is read (once per process).
pub fn wchan_visible() -> bool {
    static VISIBLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *VISIBLE.get_or_init(|| {
        let (tid_tx, tid_rx) = crossbeam_channel::bounded::<u32>(1);
        let (release_tx, release_rx) = crossbeam_channel::bounded::<()>(0);
        let Ok(h) = std::thread::Builder::new()
            .name("conlab-wchan".into())
            .spawn(move || {
                let tid = std::fs::read_link("/proc/thread-self")
                    .ok()
                    .and_then(|p| p.file_name()?.to_str()?.parse().ok())
                    .unwrap_or(0);
                let _ = tid_tx.send(tid);
                let _ = release_rx.recv();
            })
        else {
            return false;
        };
        let me = std::process::id();
        let tid = tid_rx.recv().unwrap_or(0);
        let mut visible = false;
        // It blocks within microseconds; look until the kernel says it sleeps.
        for _ in 0..10_000 {
            let state = std::fs::read_to_string(task_path(me, tid, "stat"))
                .ok()
                .and_then(|s| parse_stat(&s))
                .map(|s| s.state);
            if state == Some('S') {
                visible = std::fs::read_to_string(task_path(me, tid, "wchan"))
                    .ok()
                    .and_then(|w| wait_from_wchan(&w))
                    .is_some();
                break;
            }
            std::thread::yield_now();
        }
        drop(release_tx);
        let _ = h.join();
        visible
    })
}

/// How many threads may keep their files open: half the descriptors this process may
/// open (raised to the hard limit first), less a margin, at most [`MAX_OPEN`].
fn max_open() -> usize {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return 64;
    };
    let limit = if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        hard
    } else {
        soft
    };
    (usize::try_from(limit)
        .unwrap_or(usize::MAX)
        .saturating_sub(128)
        / 2)
    .min(MAX_OPEN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn my_tid() -> u32 {
        std::fs::read_link("/proc/thread-self")
            .ok()
            .and_then(|p| p.file_name()?.to_str()?.parse().ok())
            .expect("thread-self")
    }

    #[test]
    fn missing_pid_is_named() {
        if check_proc().is_err() {
            eprintln!("skipped: /proc unreadable here");
            return;
        }
        // Pids are below 2^22 on Linux.
        let e = Probe::new(u32::MAX - 1, true, Instant::now())
            .err()
            .expect("no such pid");
        assert!(e.to_string().contains("no pid") || e.to_string().contains("no process"));
    }

    #[test]
    fn threads_of_this_process_are_classified_where_they_wait() {
        if check_proc().is_err() {
            eprintln!("skipped: /proc unreadable here");
            return;
        }
        let (tid_tx, tid_rx) = crossbeam_channel::unbounded::<(&str, u32)>();
        let (release_tx, release_rx) = crossbeam_channel::bounded::<()>(0);
        let locked = {
            let (tx, rx) = (tid_tx.clone(), release_rx.clone());
            std::thread::spawn(move || {
                tx.send(("lock", my_tid())).expect("send");
                let _ = rx.recv();
            })
        };
        let (r, w) = std::io::pipe().expect("pipe");
        let reading = {
            let tx = tid_tx.clone();
            std::thread::spawn(move || {
                use std::io::Read;
                tx.send(("io", my_tid())).expect("send");
                let _ = (&r).read(&mut [0u8; 1]);
            })
        };
        let ids: Vec<(&str, u32)> = (0..2).map(|_| tid_rx.recv().expect("tid")).collect();
        let want: Vec<Option<Wait>> = ids
            .iter()
            .map(|(what, _)| {
                Some(if *what == "lock" {
                    Wait::Lock
                } else {
                    Wait::Io
                })
            })
            .collect();
        let me = std::process::id();
        let mut p = Probe::new(me, false, Instant::now()).expect("probe");
        // Both block within microseconds of sending; sample until the kernel says so
        // (bounded: a loaded machine may take a while to schedule them).
        let mut seen = Vec::new();
        for _ in 0..2000 {
            p.sample(Instant::now());
            seen = ids.iter().map(|(_, t)| p.last_wait(*t)).collect();
            if !p.wchan_hidden && seen == want {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        drop(release_tx);
        drop(w);
        locked.join().expect("join");
        reading.join().expect("join");
        if p.wchan_hidden {
            eprintln!("wchan hidden here: syscall fallback gave {seen:?}");
            assert!(seen.iter().all(Option::is_some));
        } else {
            assert_eq!(seen, want);
        }
    }

    #[test]
    fn a_thread_named_after_it_was_found_is_named_once_it_runs() {
        if check_proc().is_err() {
            eprintln!("skipped: /proc unreadable here");
            return;
        }
        // A new thread starts with its parent's name and names itself once it runs: the
        // probe may find it in between (a short-lived pool thread would keep the wrong
        // name to its end). Here the name changes while it has not run since it was found.
        let (tid_tx, tid_rx) = crossbeam_channel::bounded::<u32>(0);
        let (go_tx, go_rx) = crossbeam_channel::bounded::<()>(0);
        let (ran_tx, ran_rx) = crossbeam_channel::bounded::<()>(0);
        let h = std::thread::spawn(move || {
            tid_tx.send(my_tid()).expect("send");
            let _ = go_rx.recv();
            let _ = ran_tx.send(());
            let _ = go_rx.recv();
        });
        let tid = tid_rx.recv().expect("tid");
        let me = std::process::id();
        let mut p = Probe::new(me, false, Instant::now()).expect("probe");
        p.sample(Instant::now());
        std::fs::write(task_path(me, tid, "comm"), "conlab-renamed").expect("rename");
        go_tx.send(()).expect("go");
        ran_rx.recv().expect("ran");
        let mut renamed = Vec::new();
        // Until the kernel has charged its run (at most a few samples).
        for _ in 0..50 {
            let s = p.sample(Instant::now());
            renamed.extend(
                s.events
                    .into_iter()
                    .filter(|e| matches!(e, TreeEvent::ThreadRenamed { tid: t, .. } if *t == tid)),
            );
            if !renamed.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        drop(go_tx);
        h.join().expect("join");
        assert_eq!(
            renamed,
            vec![TreeEvent::ThreadRenamed {
                pid: me,
                tid,
                name: "conlab-renamed".into()
            }]
        );
    }

    #[test]
    fn a_process_that_did_not_run_costs_no_thread_reads() {
        if check_proc().is_err() {
            eprintln!("skipped: /proc unreadable here");
            return;
        }
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep");
        let mut p = Probe::new(child.id(), false, Instant::now()).expect("probe");
        // Learn where it waits (it may still be starting, and a just-exec'd process
        // still spends CPU: sample until it has been asleep for 20 samples in a row).
        let mut asleep = 0;
        for _ in 0..2000 {
            p.sample(Instant::now());
            asleep = if p.last_wait(child.id()) == Some(Wait::Sleep) {
                asleep + 1
            } else {
                0
            };
            if asleep == 20 {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let before = p.thread_reads();
        let mut last = KernelSample::default();
        for _ in 0..5 {
            std::thread::sleep(Duration::from_millis(1));
            last = p.sample(Instant::now());
        }
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(
            p.thread_reads(),
            before,
            "its CPU clock stood still: no reads"
        );
        assert_eq!(last.threads.len(), 1);
        assert!(last.threads[0].split.sleep > 0, "{:?}", last.threads[0]);
    }

    #[test]
    fn a_head_start_is_not_counted_as_the_programs() {
        if check_proc().is_err() {
            eprintln!("skipped: /proc unreadable here");
            return;
        }
        // A stopped process stands for conlab's launcher, stopped before its exec: its
        // clock cannot move, so all of it is the head start.
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep");
        let pid = child.id();
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGSTOP,
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| parse_stat(&s))
            .is_none_or(|st| st.state != 'T')
        {
            assert!(Instant::now() < deadline, "sleep never stopped");
            std::thread::sleep(Duration::from_millis(1));
        }
        let (run, queued) = schedstat_of(None, pid, pid).expect("schedstat");
        let at = Instant::now();
        let whole = Probe::new(pid, true, at).expect("probe").sample(at);
        let mut p = Probe::new(pid, true, at)
            .expect("probe")
            .with_head_start(run, queued);
        let rest = p.sample(at);
        let _ = child.kill();
        let _ = child.wait();
        assert!(run > 0, "exec took some CPU");
        assert_eq!(whole.threads[0].split.on_cpu, run, "from birth: all of it");
        assert_eq!(rest.threads[0].split.on_cpu, 0, "{:?}", rest.threads[0]);
        assert_eq!(rest.threads[0].split.runnable, 0, "{:?}", rest.threads[0]);
    }

    #[test]
    fn a_busy_thread_shows_time_on_a_cpu() {
        if check_proc().is_err() {
            eprintln!("skipped: /proc unreadable here");
            return;
        }
        let me = std::process::id();
        let tid = my_tid();
        let mut p = Probe::new(me, false, Instant::now()).expect("probe");
        p.sample(Instant::now());
        // Run until the kernel has charged this thread some time: the scheduler updates a
        // running thread's sum at its ticks (every 4 ms at HZ=250), so spin past a few.
        let cpu0 = cpu_time::ThreadTime::now();
        let mut x = 0u64;
        while cpu0.elapsed() < Duration::from_millis(30) {
            for i in 0..10_000u64 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
            }
        }
        let s = p.sample(Instant::now());
        let mine = s
            .threads
            .iter()
            .find(|t| t.tid == tid)
            .expect("this thread");
        assert!(mine.split.on_cpu > 0);
    }
}
