//! The child side of the process pool: `conlab worker` reads tasks as JSON lines on stdin
//! and writes engine events as JSON lines on stdout, until stdin closes.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{CancelToken, Event, Gil, GilConfig, Job, Sink, Workload, run_one};
use crate::core::lines::{Line, MAX_LINE, read_line_capped};

/// One task sent from the pool to a worker process.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TaskMessage {
    pub id: usize,
    pub workload: String,
    pub task: Value,
}

/// Task fields that carry a size (a count, a bound, a duration, a length): none may
/// exceed what the CLI allows for the workload (its largest `--size`, or its most tasks).
const SIZE_FIELDS: [&str; 11] = [
    "n", "lo", "hi", "ms", "len", "items", "rounds", "iters", "pause_ms", "x0", "x",
];
/// Largest task id the pool sends (tasks of a run, scenes run them twice over).
const MAX_TASK_ID: usize = 10_000_000;

/// Check a task message against the CLI's ranges before running anything: a known
/// workload, a task id in range, an object whose size fields fit the workload's limits.
pub fn check_message(msg: &TaskMessage, find: Lookup) -> Result<&'static dyn Workload, String> {
    let w = find(&msg.workload).ok_or_else(|| format!("unknown workload `{}`", msg.workload))?;
    if msg.id >= MAX_TASK_ID {
        return Err(format!(
            "task id {} is out of range (allowed 0..{MAX_TASK_ID})",
            msg.id
        ));
    }
    let Value::Object(fields) = &msg.task else {
        return Err("the task is not a JSON object".into());
    };
    let limit = (*w.size_range().end()).max(w.max_tasks() as u64);
    for name in SIZE_FIELDS {
        match fields.get(name) {
            None => {}
            Some(v) if v.as_u64().is_some_and(|x| x <= limit) => {}
            Some(v) => {
                return Err(format!(
                    "task field `{name}` = {v} is out of range for {} (allowed 0..={limit})",
                    w.name()
                ));
            }
        }
    }
    Ok(w)
}

/// How a worker finds a task's workload by name (the catalog, passed in by the command).
pub type Lookup = fn(&str) -> Option<&'static dyn Workload>;

/// What the stdin reader hands the task loop.
type Incoming = Result<TaskMessage, String>;

/// Read task lines on a named thread (capped in length, parsed); at end of input cancel
/// `cancel`, so a task still running stops at its next cheap point and the worker exits:
/// a worker never outlives its pipe.
fn read_tasks(cancel: CancelToken) -> std::io::Result<crossbeam_channel::Receiver<Incoming>> {
    let (tx, rx) = crossbeam_channel::bounded::<Incoming>(1);
    std::thread::Builder::new()
        .name("conlab-worker-stdin".into())
        .spawn(move || {
            let stdin = std::io::stdin();
            let mut input = stdin.lock();
            loop {
                let msg = match read_line_capped(&mut input, MAX_LINE) {
                    Ok(Line::Text(l)) if l.trim().is_empty() => continue,
                    Ok(Line::Text(l)) => serde_json::from_str::<TaskMessage>(&l)
                        .map_err(|e| format!("malformed task line: {e}")),
                    Ok(Line::TooLong) => {
                        Err(format!("task line longer than {} MiB", MAX_LINE >> 20))
                    }
                    Ok(Line::NotText) => Err("task line is not UTF-8".into()),
                    Ok(Line::Eof) | Err(_) => break,
                };
                let stop = msg.is_err();
                if tx.send(msg).is_err() || stop {
                    break;
                }
            }
            cancel.cancel();
        })?;
    Ok(rx)
}

/// Run the worker loop on this process's stdin/stdout. Returns when stdin closes (a task
/// in progress is cancelled then); a malformed or out-of-range message ends it with an
/// error naming what was wrong.
pub fn serve(gil: GilConfig, find: Lookup) -> anyhow::Result<()> {
    // If the parent dies without closing our stdin (SIGKILL), die with it.
    #[cfg(target_os = "linux")]
    let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);

    let out = Arc::new(Mutex::new(std::io::stdout()));
    let writer = out.clone();
    let sink = Sink::new(move |ev| {
        if let Ok(line) = serde_json::to_string(&ev) {
            let mut w = writer.lock().unwrap_or_else(|e| e.into_inner());
            // A closed pipe means the parent is gone; the read loop will end too.
            let _ = writeln!(w, "{line}").and_then(|_| w.flush());
        }
    });
    let pid = std::process::id();
    sink.emit(Event::WorkerStarted { worker: 0, pid });
    let gil = Gil::new(gil);
    let cancel = CancelToken::new();
    let incoming = read_tasks(cancel.clone())?;
    for msg in incoming {
        let msg = msg.map_err(anyhow::Error::msg)?;
        let w = check_message(&msg, find).map_err(anyhow::Error::msg)?;
        // One task per message: index 0 of a one-task job, renamed to the pool's id.
        let tasks = super::Tasks::from(vec![msg.task]);
        let job = Job {
            workload: w,
            tasks: &tasks,
            workers: 1,
            gil: gil.config(),
            sink: &sink,
            cancel: &cancel,
            worker_exe: None,
        };
        let _ = run_one_as(&job, &gil, msg.id, pid);
        if cancel.is_cancelled() {
            break;
        }
    }
    Ok(())
}

/// `run_one` for task 0 of `job`, reported under the pool's task id.
fn run_one_as(job: &Job, gil: &Gil, id: usize, pid: u32) -> Result<(), ()> {
    // Keep the worker's clock: timestamps are translated by the parent.
    let renamed = job.sink.shift_tasks(id);
    let job = Job {
        sink: &renamed,
        ..*job
    };
    run_one(&job, gil, 0, 0, pid).map(|_| ()).map_err(|_| ())
}
