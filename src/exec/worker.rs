//! The child side of the process pool: `conlab worker` reads tasks as JSON lines on stdin
//! and writes engine events as JSON lines on stdout, until stdin closes.

use std::io::{BufRead, Write};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{CancelToken, Event, Gil, GilConfig, Job, Sink, Workload, run_one};

/// One task sent from the pool to a worker process.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TaskMessage {
    pub id: usize,
    pub workload: String,
    pub task: Value,
}

/// How a worker finds a task's workload by name (the catalog, passed in by the command).
pub type Lookup = fn(&str) -> Option<&'static dyn Workload>;

/// Run the worker loop on this process's stdin/stdout. Returns when stdin closes.
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
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let msg: TaskMessage = match serde_json::from_str(&line) {
            Ok(m) => m,
            Err(e) => anyhow::bail!("malformed task line: {e}"),
        };
        let Some(w) = find(&msg.workload) else {
            anyhow::bail!("unknown workload `{}`", msg.workload);
        };
        // One task per message: index 0 of a one-task job, renamed to the pool's id.
        let tasks = [msg.task];
        let job = Job {
            workload: w,
            tasks: &tasks,
            workers: 1,
            gil: gil.config(),
            sink: &sink,
            cancel: &cancel,
            asyncio: Default::default(),
            worker_exe: None,
        };
        let _ = run_one_as(&job, &gil, msg.id, pid);
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
