//! The affinity mask: the cores the scheduler may put this thread on
//! (`sched_getaffinity`, which a cpuset narrows too).

use nix::sched::{CpuSet, sched_getaffinity};
use nix::unistd::Pid;

/// How many cores the calling thread may run on; `None` where the call fails.
pub fn count() -> Option<usize> {
    let set = sched_getaffinity(Pid::from_raw(0)).ok()?;
    let n = (0..CpuSet::count())
        .filter(|&i| set.is_set(i).unwrap_or(false))
        .count();
    (n > 0).then_some(n)
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_thread_may_run_somewhere_and_not_beyond_the_machine() {
        let n = super::count().expect("sched_getaffinity works on Linux");
        assert!(n >= 1);
        let online = std::thread::available_parallelism().map_or(n, |p| p.get());
        // available_parallelism takes the mask (and a quota) into account: never above it.
        assert!(online <= n, "{online} > {n}");
    }
}
