//! Bench: the kernel sampler's own cost — CPU time of the thread that samples another
//! process with 100 threads 200 times a second (every 5 ms), as a share of one core.
//! Trees (each a child process, as under `conlab watch`): 100 threads blocked on a lock
//! (one CPU-clock read shows none ran), 100 threads waking every 2 ms (every sample reads
//! each one's schedstat and where it waits), 100 threads computing (schedstat only); and
//! the timer alone, for scale. Run with `cargo bench --bench sampler`; one line per tree.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use conlab::observe::{Probe, check_proc};

const THREADS: usize = 100;
const EVERY: Duration = Duration::from_millis(5);
const SAMPLES: u32 = 400;
const CHILD: &str = "CONLAB_SAMPLER_BENCH_CHILD";

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

/// Sample process `pid` `SAMPLES` times every `EVERY`; returns the sampler's CPU per
/// sample in µs and the threads it saw.
fn measure(pid: u32) -> (f64, usize, f64) {
    let mut probe = Probe::new(pid, false, Instant::now()).expect("probe");
    // The first samples open every file and learn where each thread waits.
    for _ in 0..3 {
        probe.sample(Instant::now());
    }
    let cpu0 = my_cpu_ns();
    let reads0 = probe.thread_reads();
    let mut next = Instant::now();
    for _ in 0..SAMPLES {
        next += EVERY;
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
        probe.sample(Instant::now());
    }
    let per = (my_cpu_ns() - cpu0) as f64 / SAMPLES as f64 / 1e3;
    let reads = (probe.thread_reads() - reads0) as f64 / SAMPLES as f64;
    (per, probe.threads(), reads)
}

/// The same loop without reading anything: what waking 200 times a second costs alone.
fn measure_timer() -> f64 {
    let cpu0 = my_cpu_ns();
    let mut next = Instant::now();
    for _ in 0..SAMPLES {
        next += EVERY;
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    (my_cpu_ns() - cpu0) as f64 / SAMPLES as f64 / 1e3
}

fn report(what: &str, per_us: f64, threads: usize, reads: f64) {
    let rate = 1.0 / EVERY.as_secs_f64();
    let share = per_us * 1e-6 * rate * 100.0;
    println!(
        "sampler  {what:<30} {threads:>4} threads {reads:>5.0} reads/sample {per_us:7.1} µs/sample = {share:.2}% of one core at {rate:.0}/s"
    );
}

/// The child: 100 threads of one kind; says "ready", runs until its stdin closes.
fn child(kind: &str) {
    let stop = Arc::new(AtomicBool::new(false));
    let (hold_tx, hold_rx) = crossbeam_channel::bounded::<()>(0);
    let threads: Vec<_> = (0..THREADS)
        .map(|i| {
            let (stop, rx, kind) = (stop.clone(), hold_rx.clone(), kind.to_string());
            std::thread::Builder::new()
                .name(format!("{kind}-{i}"))
                .spawn(move || match kind.as_str() {
                    "blocked" => {
                        let _ = rx.recv();
                    }
                    "waking" => {
                        while !stop.load(Ordering::Relaxed) {
                            std::thread::sleep(Duration::from_millis(2));
                        }
                    }
                    _ => {
                        let mut x = 0u64;
                        while !stop.load(Ordering::Relaxed) {
                            x = std::hint::black_box(x.wrapping_add(1));
                        }
                    }
                })
                .expect("spawn")
        })
        .collect();
    println!("ready");
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    stop.store(true, Ordering::Relaxed);
    drop(hold_tx);
    for t in threads {
        let _ = t.join();
    }
}

fn main() {
    if let Ok(kind) = std::env::var(CHILD) {
        return child(&kind);
    }
    if let Err(e) = check_proc() {
        println!("sampler bench skipped: {e}");
        return;
    }
    report("the timer alone (no reads)", measure_timer(), 0, 0.0);
    for (kind, what) in [
        ("blocked", "100 threads blocked on a lock"),
        ("waking", "100 threads waking every 2 ms"),
        ("computing", "100 threads computing"),
    ] {
        let mut c = Command::new(std::env::current_exe().expect("exe"))
            .env(CHILD, kind)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("child");
        let mut line = String::new();
        BufReader::new(c.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("ready");
        let (per, n, reads) = measure(c.id());
        report(what, per, n, reads);
        drop(c.stdin.take());
        c.wait().expect("child exits");
    }
}
