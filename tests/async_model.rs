//! The async model: the same answer as sequential for every plain workload, on the loop
//! and offloaded to threads and to processes, every task started and finished once; the
//! loop's heartbeat measured; a cancel ends a run of thousands of waits at once.

use std::time::{Duration, Instant};

use conlab::core::{Event, Model, Stamped};
use conlab::exec::mock::each_task_once;
use conlab::exec::{AsyncOpts, CancelToken, Offload, RunSpec, Sink, run_workload};

fn spec(name: &str, model: Model, opts: AsyncOpts, size: u64, tasks: usize) -> RunSpec {
    let mut spec = RunSpec::new(name, model, 2);
    spec.args.size = size;
    spec.args.tasks = tasks;
    spec.asyncio = opts;
    spec.worker_exe = Some(env!("CARGO_BIN_EXE_conlab").into());
    spec
}

/// Run `name` under `model` (and async options), return its answer after checking
/// that every task started once and finished once.
fn answer(name: &str, model: Model, opts: AsyncOpts, size: u64, tasks: usize) -> String {
    let w = conlab::workload::find(name).expect("workload");
    let (tx, rx) = crossbeam_channel::unbounded::<Stamped>();
    let s = spec(name, model, opts, size, tasks);
    let r = run_workload(w, &s, &Sink::channel(tx, |s| s), &CancelToken::new()).expect("runs");
    let events: Vec<Event> = rx.try_iter().map(|s| s.event).collect();
    assert_eq!(
        each_task_once(&events, r.tasks),
        Ok(()),
        "{name} {model} {opts:?}"
    );
    assert!(r.failures.is_empty(), "{name} {model}: {:?}", r.failures);
    assert!(r.memory.is_some(), "{name} {model}: peak memory measured");
    if model == Model::Async {
        let lag = r.loop_lag.expect("async reports its loop lag");
        assert!(lag.peak_in_flight >= 1, "{name} {opts:?}: {lag:?}");
        if let Some(m) = opts.max_in_flight {
            assert!(lag.peak_in_flight <= m as u64, "{name} {opts:?}: {lag:?}");
        }
    }
    r.answer.expect("an answer").value
}

#[test]
fn async_gives_every_models_answer() {
    let off = |offload| AsyncOpts {
        offload,
        max_in_flight: Some(3),
    };
    for (name, size, tasks) in [
        ("primes", 200_000, 8),
        ("naive-primes", 2_000, 4),
        ("squares", 100_000, 4),
        ("fib", 300, 4),
        ("sleep", 5, 6),
        ("files", 3, 2),
        ("http", 5, 6),
    ] {
        let want = answer(name, Model::Sequential, AsyncOpts::default(), size, tasks);
        for opts in [
            AsyncOpts::default(),
            off(Offload::None),
            off(Offload::Threads),
            off(Offload::Processes),
        ] {
            assert_eq!(
                answer(name, Model::Async, opts, size, tasks),
                want,
                "{name} {opts:?}"
            );
        }
    }
}

/// Waits overlap on the one loop: every sleep is in flight at once.
#[test]
fn sleeps_are_all_in_flight_on_one_loop() {
    let w = conlab::workload::find("sleep").expect("sleep");
    let s = spec("sleep", Model::Async, AsyncOpts::default(), 50, 500);
    let r = run_workload(w, &s, &Sink::null(), &CancelToken::new()).expect("runs");
    assert_eq!(r.answer.expect("answer").value, "25000");
    assert_eq!(r.loop_lag.expect("lag").peak_in_flight, 500);
}

/// A cancel ends a run of a thousand minute-long waits within 200 ms.
#[test]
fn cancel_ends_an_async_run_at_once() {
    let w = conlab::workload::find("sleep").expect("sleep");
    let s = spec("sleep", Model::Async, AsyncOpts::default(), 60_000, 1000);
    let cancel = CancelToken::new();
    let (tx, rx) = crossbeam_channel::unbounded::<Stamped>();
    let c = cancel.clone();
    let t = std::thread::spawn(move || {
        // Cancel once the last task is waiting.
        let started = rx
            .iter()
            .find(|s| matches!(s.event, Event::TaskStarted { task, .. } if task == 999));
        let at = Instant::now();
        c.cancel();
        (started.is_some(), at)
    });
    let r = run_workload(w, &s, &Sink::channel(tx, |s| s), &cancel).expect("runs");
    let ended = Instant::now();
    let (saw_start, cancelled_at) = t.join().expect("joins");
    assert!(saw_start, "every task started");
    assert!(r.cancelled && r.answer.is_none(), "{r:?}");
    let took = ended.duration_since(cancelled_at);
    assert!(took < Duration::from_millis(200), "cancel took {took:?}");
}
