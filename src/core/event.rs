//! What travels from a run to its readers: engine events, each stamped by the engine.

use serde::{Deserialize, Serialize};

use super::{Answer, LoopStats, MemoryStats, Model, TaskOutput};

/// What a worker was doing during a [`Event::Span`]: the timeline's colours.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanKind {
    /// Waiting to take the simulated GIL.
    GilWait,
    /// Blocked on I/O or a sleep (the GIL released).
    Io,
    /// Running native code that holds the GIL and never checks for a drop request (a C
    /// extension's long loop, a big `sorted()`): no other thread can run Python meanwhile.
    NativeHolding,
    /// Running native code with the GIL released (hashlib over 2 KiB, zlib, NumPy): other
    /// threads run Python meanwhile. Computing, not waiting.
    NativeReleased,
}

/// One thing that happened in a run. Times are microseconds since the run started,
/// measured by the engine (never by whoever reads the event).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    RunStarted(RunStart),
    /// A worker (thread or process) came up; `pid` is its process id.
    WorkerStarted {
        worker: usize,
        pid: u32,
    },
    TaskStarted {
        task: usize,
        worker: usize,
        pid: u32,
        thread: String,
    },
    Progress {
        task: usize,
        worker: usize,
        done: u64,
        total: u64,
    },
    /// A wait began (a blocking call with the GIL released: a sleep, a request, a read),
    /// sent as it begins so a live timeline draws the worker as waiting while it waits.
    /// The [`Event::Span`] of the same worker and kind that follows always closes it (it
    /// is sent whatever the wait's length); readers that want whole intervals only (a
    /// trace, a report) ignore this one.
    SpanStarted {
        worker: usize,
        kind: SpanKind,
        start_us: u64,
    },
    /// An interval of a task worth drawing apart from plain interpreted computing: waiting
    /// for the GIL or for I/O, or running native code (holding or releasing the GIL).
    Span {
        worker: usize,
        kind: SpanKind,
        start_us: u64,
        end_us: u64,
    },
    TaskFinished {
        task: usize,
        worker: usize,
        result: Result<TaskOutput, String>,
        wall_us: u64,
        cpu_us: u64,
    },
    /// A worker process died or misbehaved; a replacement may follow.
    WorkerDied {
        worker: usize,
        pid: u32,
        reason: String,
    },
    /// The async model's event loop, coalesced over a short window (about 100 ms, or at
    /// once when a heartbeat was very late): the latest heartbeat lag in the window
    /// (`lag_us`: how late the 10 ms heartbeat timer fired), the window's worst
    /// (`max_us`), and the tasks in flight on the loop when it was measured.
    LoopLag {
        worker: usize,
        lag_us: u64,
        max_us: u64,
        in_flight: u64,
    },
    /// A free-form measured fact a workload wants shown (e.g. "stage download 1.02 s").
    Note {
        key: String,
        value: String,
    },
    /// What the run measured besides time, sent just before `RunFinished`: peak memory
    /// and threads (sampled during the run) and, for async runs, the loop's lag.
    Measured {
        memory: Option<MemoryStats>,
        loop_lag: Option<LoopStats>,
    },
    RunFinished(RunEnd),
}

/// What a run was started with: the first event of every run. Serialised inside its
/// [`Event::RunStarted`] as if its fields were the variant's own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunStart {
    pub workload: String,
    pub model: Model,
    pub workers: usize,
    pub tasks: usize,
    pub gil: bool,
    pub switch_interval_ms: f64,
    pub size: u64,
}

/// How a run ended: the last event of every run (see [`RunStart`] for its form).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunEnd {
    pub answer: Option<Answer>,
    pub elapsed_us: u64,
    pub cpu_us: u64,
    pub failed: usize,
    pub cancelled: bool,
}

/// An [`Event`] with the engine's timestamp (µs since the run started).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stamped {
    pub at_us: u64,
    /// Not `flatten`ed: serde's flatten buffers values and cannot carry u128 answers.
    pub event: Event,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_start_and_end_read_and_write_as_flat_tagged_objects() {
        // As the committed recordings hold them: the struct's fields beside the tag.
        let line = r#"{"type":"run_started","workload":"sleep","model":"threads","workers":2,"tasks":8,"gil":true,"switch_interval_ms":5.0,"size":500}"#;
        let ev: Event = serde_json::from_str(line).expect("a recorded RunStarted");
        let Event::RunStarted(r) = &ev else {
            panic!("{ev:?}")
        };
        assert_eq!(
            (r.model, r.workers, r.tasks, r.size),
            (Model::Threads, 2, 8, 500)
        );
        let back: serde_json::Value = serde_json::to_value(&ev).expect("serialises");
        let want: serde_json::Value = serde_json::from_str(line).expect("json");
        assert_eq!(back, want);

        let end = Event::RunFinished(RunEnd {
            answer: Some(Answer {
                value: "8".into(),
                meaning: "tasks".into(),
            }),
            elapsed_us: 7,
            cpu_us: 3,
            failed: 0,
            cancelled: false,
        });
        let v = serde_json::to_value(&end).expect("serialises");
        assert_eq!(v["type"], "run_finished");
        assert_eq!(v["elapsed_us"], 7);
        assert_eq!(v["answer"]["value"], "8");
        let again: Event = serde_json::from_value(v).expect("reads back");
        assert_eq!(again, end);
    }
}
