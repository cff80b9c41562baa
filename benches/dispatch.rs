//! Bench: per-task dispatch overhead of each model, measured with tiny tasks (x + 1),
//! and the parallel efficiency of primes on threads (GIL off) and processes.
//! Run with `cargo bench`; prints one line per measurement.

use std::path::PathBuf;
use std::time::Duration;

use conlab::exec::{CancelToken, GilConfig, Model, RunSpec, Sink};

fn spec(
    workload: &str,
    model: Model,
    workers: usize,
    size: u64,
    tasks: usize,
    gil: bool,
) -> RunSpec {
    let mut s = RunSpec::new(workload, model, workers);
    s.args.size = size;
    s.args.tasks = tasks;
    s.gil = GilConfig {
        enabled: gil,
        switch_interval: Duration::from_millis(5),
    };
    s.worker_exe = Some(PathBuf::from(env!("CARGO_BIN_EXE_conlab")));
    s
}

/// Median elapsed of `n` runs.
fn median_secs(s: &RunSpec, n: usize) -> f64 {
    let mut v: Vec<f64> = (0..n)
        .map(|_| {
            let r = conlab::runtime::run(s, &Sink::null(), &CancelToken::new()).expect("bench run");
            assert!(r.failures.is_empty(), "{:?}", r.failures);
            r.elapsed.as_secs_f64()
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let tasks = 2000;
    println!("dispatch overhead, {tasks} tiny tasks, {workers} workers (median of 5):");
    for model in Model::ALL {
        let t = median_secs(&spec("tiny", model, workers, 1, tasks, true), 5);
        println!(
            "  {:<10} {:>9.3} ms total  {:>8.2} µs/task",
            model.name(),
            t * 1e3,
            t * 1e6 / tasks as f64
        );
    }

    let size = 6_000_000;
    println!("parallel efficiency, primes below {size}, {workers} workers (median of 3):");
    let seq = median_secs(&spec("primes", Model::Sequential, 1, size, 0, true), 3);
    println!("  sequential          {seq:.3} s");
    for (model, gil) in [
        (Model::Threads, true),
        (Model::Threads, false),
        (Model::Processes, true),
    ] {
        let t = median_secs(&spec("primes", model, workers, size, 0, gil), 3);
        let speedup = seq / t;
        println!(
            "  {:<10} GIL {:<3} {t:.3} s  speed-up {speedup:.2}×  efficiency {:.0}%",
            model.name(),
            if gil { "on" } else { "off" },
            100.0 * speedup / workers as f64
        );
    }
}
