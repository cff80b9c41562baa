//! Bench: the kernel sampler's own cost — CPU time of the thread that samples another
//! process with 100 threads 200 times a second (every 5 ms), as a share of one core.
//! Trees (each a child process, as under `conlab watch`): 100 threads blocked on a lock
//! (one CPU-clock read shows none ran), 100 threads waking every 2 ms (every sample reads
//! each one's schedstat and where it waits), 100 threads computing (schedstat only); and
//! the timer alone, for scale (alone and beside each tree: on an idle machine a wake-up
//! costs more). Then the sampler as conlab runs it, keeping to 1% of a core: the interval
//! it settled on for each tree and what it cost. Run with `cargo bench --bench sampler`.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use conlab::observe::budget::DEFAULT_SHARE;
use conlab::observe::sampler::Sampler;
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

/// The sampler thread as conlab runs it, keeping to 1% of a core for `secs`: the
/// interval it settled on and what it cost, from the costs its samples carry.
fn measure_governed(pid: u32, secs: f64) -> (f64, f64) {
    let probe = Probe::new(pid, false, Instant::now()).expect("probe");
    let (tx, rx) = crossbeam_channel::unbounded();
    let mut s =
        Sampler::spawn_within(probe, EVERY, Some(DEFAULT_SHARE), tx, |k| k).expect("sampler");
    let end = Instant::now() + Duration::from_secs_f64(secs);
    let (mut cost, mut n, mut first, mut last) = (0u64, 0u64, None, 0u64);
    while let Ok(k) = rx.recv_deadline(end) {
        // The first second settles the budget; count what follows.
        if k.at_ns < 1_000_000_000 {
            continue;
        }
        first.get_or_insert(k.at_ns);
        cost += k.cost_ns;
        n += 1;
        last = k.at_ns;
    }
    s.finish();
    if n < 2 {
        // Starved (100 spinning threads on a loaded machine): no interval to report.
        return (f64::NAN, f64::NAN);
    }
    let span = last.saturating_sub(first.unwrap_or(last)) as f64;
    let every_ms = span / n.saturating_sub(1).max(1) as f64 / 1e6;
    (every_ms, cost as f64 / span.max(1.0) * 100.0)
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
        // `CONLAB_SAMPLER_BENCH_ONLY=waking cargo bench --bench sampler`: one tree (for a
        // profiler).
        if std::env::var("CONLAB_SAMPLER_BENCH_ONLY").is_ok_and(|o| o != kind) {
            continue;
        }
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
        report("  (timer alone beside it)", measure_timer(), 0, 0.0);
        let (every_ms, share) = measure_governed(c.id(), 4.0);
        if every_ms.is_nan() {
            println!(
                "sampler    kept to 1% (--budget 1, the default): fewer than 2 samples after the first second (the machine starved the sampler)"
            );
        } else {
            println!(
                "sampler    kept to 1% (--budget 1, the default): every {every_ms:.1} ms = {share:.2}% of one core"
            );
        }
        drop(c.stdin.take());
        c.wait().expect("child exits");
    }
}
