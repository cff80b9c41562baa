//! Bench: the kernel sampler's own cost — CPU time of the thread that samples a tree of
//! 100 threads 200 times a second (every 5 ms), as a share of one core. Two trees: 100
//! threads blocked on a lock (only `schedstat` is read), and 100 threads that wake every
//! 2 ms (each sample also reads where each one waits). Run with
//! `cargo bench --bench sampler`; prints one line per tree.

use std::time::{Duration, Instant};

use conlab::observe::{Probe, check_proc};

const THREADS: usize = 100;
const EVERY: Duration = Duration::from_millis(5);
const SAMPLES: u32 = 400;

/// CPU time of the calling thread (schedstat's first field), in ns.
fn my_cpu_ns() -> u64 {
    let me = std::process::id();
    let tid = std::fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|p| p.file_name()?.to_str()?.parse::<u32>().ok())
        .unwrap_or(me);
    std::fs::read_to_string(format!("/proc/{me}/task/{tid}/schedstat"))
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Sample this process (the bench's threads) `SAMPLES` times every `EVERY`; returns the
/// sampler's CPU per sample in µs and the threads it saw.
fn measure() -> (f64, usize) {
    let mut probe = Probe::new(std::process::id(), false, Instant::now()).expect("probe");
    // The first sample opens every file: not the steady cost.
    probe.sample(Instant::now());
    let cpu0 = my_cpu_ns();
    let mut next = Instant::now();
    for _ in 0..SAMPLES {
        next += EVERY;
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
        probe.sample(Instant::now());
    }
    let per = (my_cpu_ns() - cpu0) as f64 / SAMPLES as f64 / 1e3;
    (per, probe.threads())
}

fn report(what: &str, per_us: f64, threads: usize) {
    let share = per_us * 1e-6 * (1.0 / EVERY.as_secs_f64()) * 100.0;
    println!(
        "sampler  {what:<34} {threads:>4} threads  {per_us:7.1} µs/sample  = {share:.2}% of one core at {} samples/s",
        (1.0 / EVERY.as_secs_f64()).round()
    );
}

fn main() {
    if let Err(e) = check_proc() {
        println!("sampler bench skipped: {e}");
        return;
    }
    // 100 threads blocked on one lock (a channel that never sends).
    let (hold_tx, hold_rx) = crossbeam_channel::bounded::<()>(0);
    let blocked: Vec<_> = (0..THREADS)
        .map(|i| {
            let rx = hold_rx.clone();
            std::thread::Builder::new()
                .name(format!("blocked-{i}"))
                .spawn(move || {
                    let _ = rx.recv();
                })
                .expect("spawn")
        })
        .collect();
    let (per, n) = measure();
    report("100 threads blocked on a lock", per, n);
    drop(hold_tx);
    for h in blocked {
        h.join().expect("join");
    }

    // 100 threads waking every 2 ms: every sample finds each one moved and off a CPU.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let waking: Vec<_> = (0..THREADS)
        .map(|i| {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name(format!("waking-{i}"))
                .spawn(move || {
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(2));
                    }
                })
                .expect("spawn")
        })
        .collect();
    let (per, n) = measure();
    report("100 threads waking every 2 ms", per, n);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for h in waking {
        h.join().expect("join");
    }
}
