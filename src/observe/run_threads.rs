//! Which of conlab's own threads do a run's work, when conlab samples its own process
//! tree (the dashboard's `k` view, `compare`'s kernel shares): the thread pool's workers
//! and scene threads, the work-stealing pool, the thread that runs a sequential run or
//! feeds a pool, the async loop and its helpers — and every thread of a child process
//! (a worker process, the Python interpreter and its pool processes). The rest of conlab
//! (drawing, reading keys, sampling the CPU or the kernel, waiting for signals, reading
//! worker pipes, the embedded server) is not the run.

/// Name prefixes of this process's threads that do a run's work. The kernel keeps 15
/// bytes of a name: `conlab-async-loop` reads `conlab-async-lo`, hence prefixes.
const RUN_THREADS: [&str; 5] = [
    "conlab-thread",
    "conlab-scene",
    "conlab-steal",
    "conlab-run",
    "conlab-async",
];

/// Whether thread `name` of process `pid` does the run's work, conlab being `own_pid`.
pub fn is_run_thread(own_pid: u32, pid: u32, name: &str) -> bool {
    pid != own_pid || RUN_THREADS.iter().any(|p| name.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runs_threads_and_every_child_thread() {
        for name in [
            "conlab-thread-0",
            "conlab-scene-ra",
            "conlab-steal-1",
            "conlab-run-threa",
            "conlab-run",
            "conlab-async-lo",
            "conlab-async-of",
        ] {
            assert!(is_run_thread(100, 100, name), "{name}");
        }
        for name in [
            "conlab",
            "conlab-input",
            "conlab-observe",
            "conlab-memory",
            "conlab-pool-rea",
            "conlab-python-e",
            "conlab-http-wor",
            "conlab-spinner-",
        ] {
            assert!(!is_run_thread(100, 100, name), "{name}");
        }
        assert!(is_run_thread(100, 200, "python3"));
        assert!(
            is_run_thread(100, 201, "conlab"),
            "a worker process's main thread"
        );
    }
}
