//! Parsing of the `/proc` files the kernel sampler reads: pure functions over their text.

/// `/proc/PID/task/TID/schedstat`: nanoseconds on a CPU and waiting on a run queue.
pub fn parse_schedstat(s: &str) -> Option<(u64, u64)> {
    let mut it = s.split_ascii_whitespace();
    let run = it.next()?.parse().ok()?;
    let wait = it.next()?.parse().ok()?;
    Some((run, wait))
}

/// The fields of `/proc/PID/task/TID/stat` the sampler uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stat {
    pub comm: String,
    /// R running/runnable, S sleeping, D uninterruptible (disk), Z zombie, T stopped, ...
    pub state: char,
    pub ppid: u32,
    /// User and system time in clock ticks.
    pub utime: u64,
    pub stime: u64,
    pub num_threads: u64,
}

/// `/proc/PID/stat`: `pid (comm) S ppid ...`; the name may hold spaces and parentheses, so
/// the fields start after the *last* `)`.
pub fn parse_stat(s: &str) -> Option<Stat> {
    let open = s.find('(')?;
    let close = s.rfind(')')?;
    if close < open {
        return None;
    }
    let comm = s[open + 1..close].to_string();
    // Fields from the state on: index 0 = field 3 of proc(5).
    let f: Vec<&str> = s[close + 1..].split_ascii_whitespace().collect();
    let field = |n: usize| f.get(n - 3).copied();
    Some(Stat {
        comm,
        state: field(3)?.chars().next()?,
        ppid: field(4)?.parse().ok()?,
        utime: field(14)?.parse().ok()?,
        stime: field(15)?.parse().ok()?,
        num_threads: field(20)?.parse().ok()?,
    })
}

/// `/proc/PID/task/TID/syscall`: the number of the system call the thread is blocked in;
/// `None` when it is running (`running`) or the file says nothing useful (`-1 ...`).
pub fn parse_syscall(s: &str) -> Option<u64> {
    s.split_ascii_whitespace().next()?.parse().ok()
}

/// `/proc/PID/task/TID/children`: the pids of the thread's child processes.
pub fn parse_children(s: &str) -> impl Iterator<Item = u32> + '_ {
    s.split_ascii_whitespace().filter_map(|c| c.parse().ok())
}

/// `/proc/PID/cmdline`: NUL-separated arguments, shown joined by spaces.
pub fn parse_cmdline(bytes: &[u8]) -> String {
    bytes
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(String::from_utf8_lossy)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `/proc/PID/status`: resident memory (`VmRSS:  1234 kB`) in bytes.
pub fn parse_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line["VmRSS:".len()..]
        .split_ascii_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// `/proc/stat`'s first line (`cpu  user nice system idle iowait irq softirq steal …`):
/// (busy, all) clock ticks summed over every core since boot. Busy is everything but idle
/// and iowait; `steal` (time a hypervisor gave this machine's CPUs to others) counts as
/// busy: it is CPU a run here could not have.
pub fn parse_stat_cpu(s: &str) -> Option<(u64, u64)> {
    let line = s.lines().next()?;
    let mut it = line.split_ascii_whitespace();
    if it.next()? != "cpu" {
        return None;
    }
    let f: Vec<u64> = it.take(8).map(|x| x.parse().ok()).collect::<Option<_>>()?;
    if f.len() < 5 {
        return None;
    }
    let all: u64 = f.iter().sum();
    let idle = f[3] + f[4];
    Some((all - idle, all))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedstat_gives_run_and_wait() {
        assert_eq!(
            parse_schedstat("461802281 13716640 216\n"),
            Some((461_802_281, 13_716_640))
        );
        assert_eq!(parse_schedstat(""), None);
        assert_eq!(parse_schedstat("12"), None);
        assert_eq!(parse_schedstat("x y z"), None);
    }

    #[test]
    fn stat_survives_odd_names() {
        let line = "15184 (a) b (c)) R 15136 15136 14112 0 -1 4194368 4 6528 0 0 45 7 3 1 20 0 3 0 57707 167997440 3382";
        let s = parse_stat(line).expect("parses");
        assert_eq!(s.comm, "a) b (c)");
        assert_eq!(s.state, 'R');
        assert_eq!(s.ppid, 15136);
        assert_eq!((s.utime, s.stime), (45, 7));
        assert_eq!(s.num_threads, 3);
    }

    #[test]
    fn truncated_stat_is_none() {
        assert_eq!(parse_stat("15184 (python3) S 1 2"), None);
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat(") ("), None);
    }

    #[test]
    fn syscall_number_or_none_when_running() {
        assert_eq!(parse_syscall("202 0x7fbb6634e74c 0x189 0x0"), Some(202));
        assert_eq!(parse_syscall("running\n"), None);
        assert_eq!(parse_syscall("-1 0x7ffd 0x7f\n"), None);
        assert_eq!(parse_syscall(""), None);
    }

    #[test]
    fn children_and_cmdline() {
        assert_eq!(
            parse_children("15400 15401 \n").collect::<Vec<_>>(),
            [15400, 15401]
        );
        assert_eq!(parse_children("").count(), 0);
        assert_eq!(
            parse_cmdline(b"python3\0-c\0print(1)\0"),
            "python3 -c print(1)"
        );
        assert_eq!(parse_cmdline(b""), "");
    }

    #[test]
    fn rss_in_bytes() {
        let status = "Name:\tpython3\nVmPeak:\t  164060 kB\nVmRSS:\t    9760 kB\nThreads:\t3\n";
        assert_eq!(parse_rss(status), Some(9760 * 1024));
        assert_eq!(parse_rss("Name:\tkthreadd\n"), None);
    }

    #[test]
    fn machine_cpu_busy_and_all() {
        let s = "cpu  100 5 50 800 20 3 2 10 0 0\ncpu0 50 2 25 400 10 1 1 5 0 0\n";
        assert_eq!(parse_stat_cpu(s), Some((170, 990)));
        assert_eq!(parse_stat_cpu("cpu0 1 2 3 4 5\n"), None);
        assert_eq!(parse_stat_cpu("cpu 1 2\n"), None);
        assert_eq!(parse_stat_cpu(""), None);
    }
}
