//! Bench: events per second through the events channel — a real run of `tiny` (x + 1 per
//! task, threads, GIL off) sending every event into a crossbeam channel of the dashboard's
//! capacity, drained by a consumer thread, at 1 million and 10 million tasks. Prints one
//! line per scale: events, seconds, events/s, and the peak RSS so far.
//! Run with `cargo bench --bench channel`.

use std::time::Instant;

use conlab::exec::{CancelToken, GilConfig, Model, RunSpec, Sink};

fn rss_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    for tasks in [1_000_000usize, 10_000_000] {
        let mut spec = RunSpec::new("tiny", Model::Threads, 2);
        spec.args.tasks = tasks;
        spec.gil = GilConfig {
            enabled: false,
            ..GilConfig::default()
        };
        let (tx, rx) = crossbeam_channel::bounded(conlab::tui::run::EVENTS_CAPACITY);
        let t0 = Instant::now();
        let counted = std::thread::scope(|s| {
            let consumer = s.spawn(move || rx.iter().count());
            let report =
                conlab::runtime::run(&spec, &Sink::channel(tx, |e| e), &CancelToken::new())
                    .expect("bench run");
            assert!(report.failures.is_empty(), "{:?}", report.failures);
            consumer.join().expect("consumer")
        });
        let secs = t0.elapsed().as_secs_f64();
        println!(
            "channel  tiny {tasks:>10} tasks  {counted:>10} events  {secs:7.2} s  {:>12.0} events/s  peak RSS {} MB",
            counted as f64 / secs,
            rss_kb("VmHWM:") / 1024
        );
    }
}
