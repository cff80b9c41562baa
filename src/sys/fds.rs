//! The open-files limit (RLIMIT_NOFILE): raised from soft to hard at start, and checked
//! before a run that would hold more connections than it allows — said up front with the
//! numbers, instead of hundreds of tasks failing as "connection reset" or "refused".

use std::sync::Once;

use nix::sys::resource::{Resource, getrlimit, setrlimit};

/// Open files kept free for everything that is not a connection (the terminal, pipes to
/// worker processes, the runtime's own descriptors, files a workload opens).
const HEADROOM: u64 = 64;

static RAISE: Once = Once::new();

/// Raise the soft open-files limit to the hard limit (once per process; worker processes
/// inherit it). Returns the (soft, hard) limits in force afterwards.
pub fn raise_open_files_limit() -> Option<(u64, u64)> {
    RAISE.call_once(|| {
        if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE)
            && soft < hard
            && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_err()
        {
            // An unlimited hard limit: Linux still caps open files at fs.nr_open.
            if let Some(nr_open) = std::fs::read_to_string("/proc/sys/fs/nr_open")
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
            {
                let _ = setrlimit(Resource::RLIMIT_NOFILE, nr_open.min(hard), hard);
            }
        }
    });
    getrlimit(Resource::RLIMIT_NOFILE).ok()
}

/// Files this process has open now (`/proc/self/fd`), or `None` where that cannot be read.
fn open_now() -> Option<u64> {
    let n = std::fs::read_dir("/proc/self/fd").ok()?.count() as u64;
    // The listing itself held one.
    Some(n.saturating_sub(1))
}

/// Would `connections` connections of `per_connection` open files each fit beside the
/// `open` files already open under a soft limit of `soft` (hard limit `hard`)?
pub fn verdict(
    connections: u64,
    per_connection: u64,
    open: u64,
    soft: u64,
    hard: u64,
) -> Result<(), String> {
    let needed = connections
        .saturating_mul(per_connection)
        .saturating_add(open)
        .saturating_add(HEADROOM);
    if needed <= soft {
        return Ok(());
    }
    let fit = soft.saturating_sub(open + HEADROOM) / per_connection.max(1);
    let each = if per_connection == 1 {
        "one open file each".to_string()
    } else {
        format!("{per_connection} open files each: the client's socket and the embedded server's")
    };
    let raise = if soft < hard {
        format!("raise the limit (ulimit -n {hard})")
    } else {
        "raise the hard limit (as root: ulimit -Hn, or limits.conf)".to_string()
    };
    Err(format!(
        "too many connections for the open-files limit: {connections} at once ({each}) \
         need about {needed} open files with the {open} already open and {HEADROOM} kept \
         free, but the limit is {soft} (hard limit {hard}). Use at most {fit} workers, or \
         {raise}."
    ))
}

/// Check that `connections` connections of `per_connection` open files each fit under this
/// process's open-files limit (raised to the hard limit first).
pub fn check(connections: u64, per_connection: u64) -> Result<(), String> {
    let Some((soft, hard)) = raise_open_files_limit() else {
        return Ok(());
    };
    let open = open_now().unwrap_or(HEADROOM);
    verdict(connections, per_connection, open, soft, hard)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_or_says_how_many_would() {
        assert_eq!(verdict(100, 2, 20, 1024, 4096), Ok(()));
        let err = verdict(1000, 2, 20, 1024, 4096).expect_err("2084 > 1024");
        assert!(err.contains("1000 at once"), "{err}");
        assert!(err.contains("the limit is 1024"), "{err}");
        assert!(err.contains("at most 470 workers"), "{err}");
        assert!(err.contains("ulimit -n 4096"), "{err}");
        let err = verdict(30_000, 1, 10, 20_000, 20_000).expect_err("over");
        assert!(err.contains("(hard limit 20000)"), "{err}");
        assert!(err.contains("as root"), "{err}");
        assert!(verdict(u64::MAX, u64::MAX, 0, 1024, 1024).is_err());
    }

    #[test]
    fn raising_keeps_soft_at_most_hard() {
        let (soft, hard) = raise_open_files_limit().expect("getrlimit works on Linux");
        assert!(soft <= hard);
        assert!(
            open_now().is_some_and(|n| n >= 3),
            "stdin, stdout, stderr at least"
        );
    }
}
