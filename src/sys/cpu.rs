//! CPU time as the kernel counts it: this process and its reaped children, and the whole
//! machine (`/proc/stat`) — what interference is measured from.

use std::time::Duration;

/// Clock ticks per second of `/proc/stat` (`USER_HZ`, 100 on every Linux ABI in use).
const USER_HZ: f64 = 100.0;

/// CPU time used so far by this process plus its reaped children.
pub fn own_cpu() -> Duration {
    let own = cpu_time::ProcessTime::try_now()
        .map(|t| t.as_duration())
        .unwrap_or_default();
    own + children_cpu()
}

fn children_cpu() -> Duration {
    use nix::sys::resource::{UsageWho, getrusage};
    match getrusage(UsageWho::RUSAGE_CHILDREN) {
        Ok(u) => {
            let tv = |t: nix::sys::time::TimeVal| {
                Duration::from_secs(t.tv_sec() as u64) + Duration::from_micros(t.tv_usec() as u64)
            };
            tv(u.user_time()) + tv(u.system_time())
        }
        Err(_) => Duration::ZERO,
    }
}

/// CPU-seconds every core of the machine has been busy since boot (every program's),
/// or `None` without a readable `/proc/stat`.
pub fn machine_busy_s() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let (busy, _) = super::proc::parse_stat_cpu(&text)?;
    Some(busy as f64 / USER_HZ)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_machine_is_at_least_as_busy_as_this_process_after_work() {
        let (m0, o0) = (machine_busy_s(), own_cpu());
        let t = cpu_time::ThreadTime::now();
        let mut x = 0u64;
        while t.elapsed() < Duration::from_millis(60) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        let own = (own_cpu() - o0).as_secs_f64();
        assert!(own >= 0.05, "{own}");
        if let (Some(a), Some(b)) = (m0, machine_busy_s()) {
            // Ticks are 10 ms: the machine's count may trail by one tick per core.
            assert!(b - a >= own - 0.05, "machine {} s, own {own} s", b - a);
        }
    }
}
