//! The interpreters model (PEP 734's subinterpreters), the honest analogue: a pool of
//! named threads in this one process, each worker its own simulated interpreter with its
//! OWN GIL (so CPU-bound work runs in parallel, as with processes), pulling task indices
//! from one shared counter (as `InterpreterPoolExecutor`'s queue). Nothing is shared
//! between interpreters: every task's arguments are serialised to bytes and read back on
//! the worker's side, and its result is serialised and read back again, as CPython copies
//! them (pickle) between interpreters. That copying is timed and counted per item
//! ([`Crossing`]). What is NOT simulated: an interpreter's own start-up (a fresh `sys`,
//! builtins and imports in CPython, milliseconds each); the report says so.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use super::{Event, Gil, Job, TaskResult, run_with, to_result};
use crate::core::{CROSSING_NOTE, Crossing, TaskError, TaskOutput};

/// What is said instead of an interpreter's start-up, which this runtime does not pay.
pub const STARTUP_NOT_SIMULATED: &str = "not simulated: each interpreter here is a thread \
    with its own GIL; CPython's start-up of a subinterpreter (sys, builtins, imports) is \
    measured only in the cpython runtime";

/// A pool of simulated interpreters for one job. Built by [`super::Engine::interpreters`].
#[derive(Clone)]
pub struct InterpreterPool<'a, 'j> {
    job: &'a Job<'j>,
    workers: usize,
}

impl<'a, 'j> InterpreterPool<'a, 'j> {
    /// The job's own width, threads named `conlab-interp-{i}`.
    pub fn new(job: &'a Job<'j>) -> Self {
        InterpreterPool {
            job,
            workers: job.workers,
        }
    }

    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n;
        self
    }

    /// Run every task of the job, handing each result to `out` as it finishes; returns
    /// what the copying cost (also sent as a `crossing` note).
    pub fn run_into(self, out: &(dyn Fn(usize, TaskResult) + Sync)) -> Crossing {
        let job = self.job;
        let n = job.tasks.len();
        let pid = std::process::id();
        let next = AtomicUsize::new(0);
        let bytes = AtomicU64::new(0);
        let copy_ns = AtomicU64::new(0);
        let items = AtomicU64::new(0);
        let work = |worker: usize| {
            // This interpreter's own lock: its threads (here, one) share it; no other
            // interpreter ever waits for it.
            let gil = Gil::new(job.gil);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let r = if job.cancel.is_cancelled() {
                    None
                } else {
                    to_result(run_with(job, &gil, i, worker, pid, |ctx| {
                        let (task, moved_in, t_in) = cross(&*job.tasks.get(i))?;
                        let value: serde_json::Value = task;
                        let result = job.workload.run_task(&value, ctx);
                        let (result, moved_out, t_out) = match result {
                            Ok(o) => {
                                let (o, b, t): (TaskOutput, u64, u64) = cross(&o)?;
                                (Ok(o), b, t)
                            }
                            Err(e) => (Err(e), 0, 0),
                        };
                        bytes.fetch_add(moved_in + moved_out, Ordering::Relaxed);
                        copy_ns.fetch_add(t_in + t_out, Ordering::Relaxed);
                        items.fetch_add(1, Ordering::Relaxed);
                        result
                    }))
                };
                out(i, r);
            }
        };
        let started = Mutex::new(0usize);
        let mut spawn_error = None;
        std::thread::scope(|s| {
            let mut handles = Vec::with_capacity(self.workers);
            for worker in 0..self.workers.max(1) {
                let work = &work;
                match std::thread::Builder::new()
                    .name(format!("conlab-interp-{worker}"))
                    .spawn_scoped(s, move || work(worker))
                {
                    Ok(h) => {
                        job.sink.emit(Event::WorkerStarted { worker, pid });
                        *started.lock().unwrap_or_else(|e| e.into_inner()) += 1;
                        handles.push(h);
                    }
                    Err(e) => {
                        spawn_error = Some(format!(
                            "could not start {} interpreters: {e}",
                            self.workers
                        ));
                        break;
                    }
                }
            }
            for h in handles {
                // run_with catches task panics, so a worker thread does not panic.
                let _ = h.join();
            }
        });
        if let Some(msg) = spawn_error
            && next.load(Ordering::Relaxed) == 0
        {
            for t in 0..n {
                out(
                    t,
                    to_result(run_with(job, &Gil::new(job.gil), t, 0, pid, |_| {
                        Err(TaskError::failed(msg.clone()))
                    })),
                );
            }
        }
        let crossing = Crossing {
            workers: started.into_inner().unwrap_or_else(|e| e.into_inner()),
            startup_us: None,
            startup_note: Some(STARTUP_NOT_SIMULATED.into()),
            items: items.load(Ordering::Relaxed),
            bytes: Some(bytes.load(Ordering::Relaxed)),
            transfer_us: Some(copy_ns.load(Ordering::Relaxed) / 1000),
            how: "serde_json to bytes and back, both ways".into(),
        };
        job.sink.emit(Event::Note {
            key: CROSSING_NOTE.into(),
            value: serde_json::to_string(&crossing).unwrap_or_default(),
        });
        crossing
    }
}

/// Copy `v` across an interpreter boundary: serialise it to bytes and read a new value
/// back from them. Returns the copy, the bytes moved and the nanoseconds it took.
fn cross<T>(v: &T) -> Result<(T, u64, u64), TaskError>
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    let t0 = Instant::now();
    let bytes = serde_json::to_vec(v)
        .map_err(|e| TaskError::failed(format!("cannot copy to another interpreter: {e}")))?;
    let back = serde_json::from_slice(&bytes)
        .map_err(|e| TaskError::failed(format!("cannot copy from another interpreter: {e}")))?;
    Ok((back, bytes.len() as u64, t0.elapsed().as_nanos() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::{CancelToken, Engine, GilConfig, Model, Sink};

    #[test]
    fn every_task_runs_once_with_its_copy_counted() {
        let w = crate::workload::find("squares").expect("squares");
        let tasks: crate::workload::Tasks = (0..20u64)
            .map(|i| serde_json::json!({ "n": 1000 + i }))
            .collect::<Vec<_>>()
            .into();
        let sink = Sink::null();
        let cancel = CancelToken::new();
        let job = Job {
            workload: w,
            tasks: &tasks,
            workers: 3,
            gil: GilConfig::default(),
            sink: &sink,
            cancel: &cancel,
            worker_exe: None,
        };
        let engine = Engine::new(&job);
        let seq = engine.run_model(Model::Sequential);
        let got = Mutex::new(vec![None; 20]);
        let c = engine.interpreters().run_into(&|i, r| {
            got.lock().expect("the results")[i] = r;
        });
        assert_eq!(got.into_inner().expect("the results"), seq);
        assert_eq!((c.workers, c.items), (3, 20));
        // Every argument ({"n":…}) and every result crossed as bytes.
        assert!(
            c.bytes.unwrap_or(0) >= 20 * (r#"{"n":1000}"#.len() as u64 + 1),
            "{c:?}"
        );
        assert_eq!(c.startup_us, None);
        assert!(
            c.startup_note
                .as_deref()
                .unwrap_or("")
                .contains("not simulated")
        );
    }

    #[test]
    fn a_copy_is_a_new_value_equal_to_the_old() {
        let v = serde_json::json!({ "n": 7, "s": "ä" });
        let (back, n, _) = cross(&v).expect("copies");
        assert_eq!(back, v);
        assert_eq!(n, serde_json::to_vec(&v).expect("JSON").len() as u64);
    }
}
