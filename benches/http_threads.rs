//! The I/O lesson at scale: 1000 GETs of a 1-second endpoint on 1000 threads (GIL on)
//! should take little more than 1 s. Prints when tasks started and finished, so the cost
//! of starting 1000 threads and connections is visible. Run: `cargo bench --bench http_threads`.

use conlab::exec::{CancelToken, Event, Model, RunSpec};

fn main() {
    let n: usize = std::env::var("CONLAB_BENCH_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    // CONLAB_BENCH_WORKLOAD=sleep gives the baseline: the same threads, no sockets.
    let workload = std::env::var("CONLAB_BENCH_WORKLOAD").unwrap_or_else(|_| "http".into());
    let mut spec = RunSpec::new(&workload, Model::Threads, n);
    spec.args.tasks = n;
    spec.args.size = 1000;
    spec.args.delay_ms = Some(1000);
    for round in 0..3 {
        let (mut started, mut finished) = (Vec::new(), Vec::new());
        let report =
            conlab::runtime::run_with_events(&spec, &CancelToken::new(), |ev| match ev.event {
                Event::TaskStarted { .. } => started.push(ev.at_us),
                Event::TaskFinished { .. } => finished.push(ev.at_us),
                _ => {}
            })
            .expect("the run starts");
        let ms = |v: &[u64], q: f64| {
            let mut v = v.to_vec();
            v.sort_unstable();
            v.get(((v.len() as f64 - 1.0) * q) as usize)
                .map_or(f64::NAN, |&u| u as f64 / 1e3)
        };
        println!(
            "round {round}: {workload}, {n} tasks of 1 s on {n} threads: elapsed {:.3} s, cpu {:.3} s, failed {}; \
started p0/p50/p100 {:.0}/{:.0}/{:.0} ms; finished p0/p50/p100 {:.0}/{:.0}/{:.0} ms",
            report.elapsed.as_secs_f64(),
            report.cpu.as_secs_f64(),
            report.failures.len(),
            ms(&started, 0.0),
            ms(&started, 0.5),
            ms(&started, 1.0),
            ms(&finished, 0.0),
            ms(&finished, 0.5),
            ms(&finished, 1.0),
        );
    }
}
