//! The async model gives the same answer as sequential for every plain workload, on the
//! loop and offloaded to threads and to processes, and every task starts once and
//! finishes once.

use conlab::core::{Event, Model, Stamped};
use conlab::exec::mock::each_task_once;
use conlab::exec::{AsyncOpts, CancelToken, Offload, RunSpec, Sink, run_workload};

/// Run `name` under `model` (and async options), return its answer after checking
/// that every task started once and finished once.
fn answer(name: &str, model: Model, opts: AsyncOpts, size: u64, tasks: usize) -> String {
    let w = conlab::workload::find(name).expect("workload");
    let mut spec = RunSpec::new(name, model, 2);
    spec.args.size = size;
    spec.args.tasks = tasks;
    spec.asyncio = opts;
    spec.worker_exe = Some(env!("CARGO_BIN_EXE_conlab").into());
    let (tx, rx) = crossbeam_channel::unbounded::<Stamped>();
    let r = run_workload(w, &spec, &Sink::channel(tx, |s| s), &CancelToken::new()).expect("runs");
    let events: Vec<Event> = rx.try_iter().map(|s| s.event).collect();
    assert_eq!(
        each_task_once(&events, r.tasks),
        Ok(()),
        "{name} {model} {opts:?}"
    );
    assert!(r.failures.is_empty(), "{name} {model}: {:?}", r.failures);
    if model == Model::Async && name != "tiny" {
        // tiny stages its own runs (dispatch cost), so only plain workloads report it.
        assert!(r.loop_lag.is_some(), "async reports its loop lag");
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
        ("tiny", 1, 20),
    ] {
        let want = answer(name, Model::Sequential, AsyncOpts::default(), size, tasks);
        for opts in [
            AsyncOpts::default(),
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
