//! From what the kernel says to a state: where a sleeping thread waits (its `wchan`, or
//! failing that its system call and `stat` state), and how one sampling interval divides
//! between a CPU, the run queue and that wait.

use serde::{Deserialize, Serialize};

/// Why a thread that is off a CPU, and not waiting for one, is not running.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Wait {
    /// A futex: a mutex, a condition variable (CPython's GIL), a semaphore, a join.
    Lock,
    /// A socket, a pipe, a terminal, poll/select/epoll, a disk.
    Io,
    /// A timer (`sleep`), waiting for a child, or anything not recognised.
    Sleep,
}

/// The state a lane shows for one interval: the largest share of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    OnCpu,
    Runnable,
    Lock,
    Io,
    Sleep,
    /// Runnable, but the cgroup's CPU quota held it back (see [`super::throttle`]).
    Throttled,
}

impl From<Wait> for State {
    fn from(w: Wait) -> Self {
        match w {
            Wait::Lock => State::Lock,
            Wait::Io => State::Io,
            Wait::Sleep => State::Sleep,
        }
    }
}

/// The wait behind a `wchan` symbol, or `None` when the kernel hides it (`0`, empty: the
/// thread is running, or the symbol is not shown to this user).
pub fn wait_from_wchan(wchan: &str) -> Option<Wait> {
    let w = wchan.trim();
    if w.is_empty() || w == "0" {
        return None;
    }
    // Kernels append `.constprop.0`, `.isra.0`...: match on the stem.
    let w = w.split('.').next().unwrap_or(w);
    if w.starts_with("futex") || w.contains("rwsem") || w.contains("mutex_lock") {
        return Some(Wait::Lock);
    }
    const IO: [&str; 14] = [
        "poll",
        "select",
        "epoll",
        "recv",
        "_read",
        "pipe",
        "wait_woken",
        "skb",
        "accept",
        "sk_wait",
        "tty",
        "io_schedule",
        "wait_on_page",
        "io_uring",
    ];
    let io = IO.iter().any(|p| w.contains(p))
        || w.starts_with("read")
        || w.starts_with("inet_")
        || w.starts_with("unix_");
    if io {
        return Some(Wait::Io);
    }
    Some(Wait::Sleep)
}

/// The wait behind a blocked system call (x86_64 and aarch64 numbers).
pub fn wait_from_syscall(nr: u64) -> Wait {
    #[cfg(target_arch = "aarch64")]
    const LOCK: &[u64] = &[98, 422];
    #[cfg(target_arch = "aarch64")]
    const IO: &[u64] = &[
        63, 64, 65, 66, 67, 68, 69, 70, 72, 73, 22, 441, 202, 242, 203, 206, 207, 211, 212, 243,
        269, 426,
    ];
    #[cfg(not(target_arch = "aarch64"))]
    const LOCK: &[u64] = &[202, 455];
    #[cfg(not(target_arch = "aarch64"))]
    const IO: &[u64] = &[
        0, 1, 7, 17, 18, 19, 20, 23, 232, 270, 271, 281, 441, 43, 288, 42, 44, 45, 46, 47, 299,
        307, 426,
    ];
    if LOCK.contains(&nr) {
        Wait::Lock
    } else if IO.contains(&nr) {
        Wait::Io
    } else {
        Wait::Sleep
    }
}

/// The wait implied by `stat`'s state letter alone: `D` is (mostly) disk I/O.
pub fn wait_from_stat_state(state: char) -> Wait {
    if state == 'D' { Wait::Io } else { Wait::Sleep }
}

/// How one interval of one thread divides, in nanoseconds (or a sum of intervals).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    pub on_cpu: u64,
    pub runnable: u64,
    pub lock: u64,
    pub io: u64,
    pub sleep: u64,
    /// Off a CPU while the thread was, at the sample, runnable or running and never seen
    /// waiting anywhere: most likely time in the run queue that the kernel adds to
    /// schedstat only when the thread next gets a CPU (see [`Split::settled`]).
    pub unknown: u64,
    /// The time these intervals cover for this thread.
    pub span: u64,
    /// Runnable, but the cgroup's CPU quota held it back: the part of its run-queue delay
    /// the cgroup's throttled time accounts for ([`super::throttle`]); 0 without a quota.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub throttled: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

impl Split {
    /// `run` and `queued` are the growth of schedstat's two fields over an interval of
    /// `interval` ns; the rest of the interval (if any) is spent in `wait` (`None`: not
    /// seen waiting, see `unknown`). A thread first seen in this interval (`whole =
    /// false`) gets no off-CPU time: it may not have existed for all of it.
    pub fn of_interval(
        run: u64,
        queued: u64,
        interval: u64,
        wait: Option<Wait>,
        whole: bool,
    ) -> Split {
        let (off, span) = if whole {
            (
                interval.saturating_sub(run.saturating_add(queued)),
                interval,
            )
        } else {
            (0, run.saturating_add(queued))
        };
        let mut s = Split {
            on_cpu: run,
            runnable: queued,
            span,
            ..Split::default()
        };
        match wait {
            Some(Wait::Lock) => s.lock = off,
            Some(Wait::Io) => s.io = off,
            Some(Wait::Sleep) => s.sleep = off,
            None => s.unknown = off,
        }
        s
    }

    /// A sum made consistent with the kernel's exact counts: time on a CPU and in the run
    /// queue are schedstat's own; the waits fill what is left of `span`. Queue time the
    /// kernel reported late was counted once as `unknown` (or a wait) and again as
    /// `runnable`: that excess comes out of `unknown` first, then out of the waits in
    /// proportion. What is left of `unknown` is reported as `sleep` (not seen waiting on a
    /// lock or I/O).
    pub fn settled(&self) -> Split {
        let waits = self.lock + self.io + self.sleep + self.unknown;
        let room = self
            .span
            .saturating_sub(self.on_cpu + self.runnable + self.throttled);
        let mut s = *self;
        if waits > room {
            let mut excess = waits - room;
            let cut = excess.min(s.unknown);
            s.unknown -= cut;
            excess -= cut;
            let rest = s.lock + s.io + s.sleep;
            if rest > 0 && excess > 0 {
                let keep =
                    |v: u64| (v as u128 * (rest - excess.min(rest)) as u128 / rest as u128) as u64;
                s.lock = keep(s.lock);
                s.io = keep(s.io);
                s.sleep = keep(s.sleep);
            }
        }
        s.sleep += s.unknown;
        s.unknown = 0;
        s
    }

    pub fn total(&self) -> u64 {
        self.on_cpu
            + self.runnable
            + self.throttled
            + self.lock
            + self.io
            + self.sleep
            + self.unknown
    }

    pub fn add(&mut self, o: &Split) {
        self.on_cpu += o.on_cpu;
        self.runnable += o.runnable;
        self.lock += o.lock;
        self.io += o.io;
        self.sleep += o.sleep;
        self.unknown += o.unknown;
        self.span += o.span;
        self.throttled += o.throttled;
    }

    /// The largest share (ties go to the earlier: on a CPU first); `unknown` counts as
    /// runnable (the kernel said the thread was).
    pub fn dominant(&self) -> State {
        let parts = [
            (State::OnCpu, self.on_cpu),
            (State::Runnable, self.runnable + self.unknown),
            (State::Lock, self.lock),
            (State::Io, self.io),
            (State::Sleep, self.sleep),
            (State::Throttled, self.throttled),
        ];
        let mut best = parts[0];
        for p in &parts[1..] {
            if p.1 > best.1 {
                best = *p;
            }
        }
        best.0
    }

    /// The share on a CPU, 0..=1 (0 for an empty split).
    pub fn cpu_fraction(&self) -> f64 {
        let t = self.total();
        if t == 0 {
            0.0
        } else {
            self.on_cpu as f64 / t as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wchan_symbols_seen_on_linux_6() {
        // Measured on this machine's kernel (6.18) with a Python script blocking each way.
        assert_eq!(wait_from_wchan("futex_do_wait"), Some(Wait::Lock));
        assert_eq!(wait_from_wchan("futex_wait_queue"), Some(Wait::Lock));
        assert_eq!(wait_from_wchan("anon_pipe_read"), Some(Wait::Io));
        assert_eq!(wait_from_wchan("pipe_read"), Some(Wait::Io));
        assert_eq!(
            wait_from_wchan("poll_schedule_timeout.constprop.0"),
            Some(Wait::Io)
        );
        assert_eq!(
            wait_from_wchan("__skb_wait_for_more_packets"),
            Some(Wait::Io)
        );
        assert_eq!(wait_from_wchan("do_epoll_wait"), Some(Wait::Io));
        assert_eq!(wait_from_wchan("ep_poll"), Some(Wait::Io));
        assert_eq!(wait_from_wchan("do_sys_poll"), Some(Wait::Io));
        assert_eq!(wait_from_wchan("do_select"), Some(Wait::Io));
        assert_eq!(wait_from_wchan("inet_csk_accept"), Some(Wait::Io));
        assert_eq!(wait_from_wchan("wait_woken"), Some(Wait::Io));
        assert_eq!(wait_from_wchan("hrtimer_nanosleep"), Some(Wait::Sleep));
        assert_eq!(wait_from_wchan("do_wait"), Some(Wait::Sleep));
        // "thread" ends in "read" but is no read.
        assert_eq!(wait_from_wchan("kthread_worker_fn"), Some(Wait::Sleep));
    }

    #[test]
    fn hidden_wchan_is_none() {
        assert_eq!(wait_from_wchan("0"), None);
        assert_eq!(wait_from_wchan(""), None);
        assert_eq!(wait_from_wchan(" \n"), None);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn x86_64_syscalls() {
        assert_eq!(wait_from_syscall(202), Wait::Lock); // futex
        assert_eq!(wait_from_syscall(0), Wait::Io); // read
        assert_eq!(wait_from_syscall(45), Wait::Io); // recvfrom
        assert_eq!(wait_from_syscall(232), Wait::Io); // epoll_wait
        assert_eq!(wait_from_syscall(270), Wait::Io); // pselect6
        assert_eq!(wait_from_syscall(230), Wait::Sleep); // clock_nanosleep
        assert_eq!(wait_from_syscall(61), Wait::Sleep); // wait4
    }

    #[test]
    fn stat_letter_d_is_io() {
        assert_eq!(wait_from_stat_state('D'), Wait::Io);
        assert_eq!(wait_from_stat_state('S'), Wait::Sleep);
    }

    #[test]
    fn an_interval_splits_into_run_queue_and_wait() {
        let s = Split::of_interval(2_000_000, 1_000_000, 5_000_000, Some(Wait::Lock), true);
        assert_eq!(s.on_cpu, 2_000_000);
        assert_eq!(s.runnable, 1_000_000);
        assert_eq!(s.lock, 2_000_000);
        assert_eq!(s.total(), 5_000_000);
        assert_eq!(s.dominant(), State::OnCpu);
        assert!((s.cpu_fraction() - 0.4).abs() < 1e-9);
    }

    #[test]
    fn run_beyond_the_interval_leaves_no_negative_wait() {
        // Clock skew between the sampler's clock and the scheduler's: never underflow.
        let s = Split::of_interval(6_000_000, 0, 5_000_000, Some(Wait::Io), true);
        assert_eq!(s.io, 0);
        assert_eq!(s.dominant(), State::OnCpu);
    }

    #[test]
    fn a_new_thread_gets_no_wait_before_it_was_seen() {
        let s = Split::of_interval(1_000, 0, 5_000_000, Some(Wait::Sleep), false);
        assert_eq!(s.sleep, 0);
        assert_eq!(s.total(), 1_000);
    }

    #[test]
    fn queue_time_reported_late_is_not_counted_twice() {
        // Interval 1: 2 ms on a CPU, then preempted: in the queue at the sample, which
        // the kernel has not added yet (unknown). Interval 2: the 3 ms of interval 1 and
        // 1 ms more arrive in the queue count, then it runs 4 ms (of a 5 ms interval:
        // 8 ms reported for 5 ms).
        let mut sum = Split::of_interval(2_000_000, 0, 5_000_000, None, true);
        assert_eq!(sum.unknown, 3_000_000);
        assert_eq!(sum.dominant(), State::Runnable);
        sum.add(&Split::of_interval(
            4_000_000, 4_000_000, 5_000_000, None, true,
        ));
        let s = sum.settled();
        assert_eq!(s.on_cpu, 6_000_000);
        assert_eq!(s.runnable, 4_000_000);
        assert_eq!(s.sleep + s.lock + s.io + s.unknown, 0);
        assert_eq!(s.total(), s.span);
    }

    #[test]
    fn known_waits_keep_their_shares_when_trimmed() {
        let mut sum = Split::of_interval(1_000_000, 0, 5_000_000, Some(Wait::Lock), true);
        sum.add(&Split::of_interval(
            1_000_000,
            0,
            5_000_000,
            Some(Wait::Io),
            true,
        ));
        // 2 ms of queue time reported late, nothing unknown left to take it from.
        sum.add(&Split::of_interval(
            3_000_000,
            2_000_000,
            5_000_000,
            Some(Wait::Io),
            true,
        ));
        let s = sum.settled();
        assert_eq!(s.total(), s.span);
        assert_eq!(s.lock, s.io, "trimmed in proportion: {s:?}");
        // Unknown time nothing explains ends up as sleep.
        let t = Split::of_interval(1_000_000, 0, 5_000_000, None, true).settled();
        assert_eq!((t.sleep, t.unknown), (4_000_000, 0));
    }

    #[test]
    fn dominant_wait_wins_over_a_blip_on_cpu() {
        let s = Split::of_interval(100_000, 0, 5_000_000, Some(Wait::Lock), true);
        assert_eq!(s.dominant(), State::Lock);
        assert_eq!(Split::default().cpu_fraction(), 0.0);
    }
}
