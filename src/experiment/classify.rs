//! `classify`: run a short sample of a workload and tell, from measured CPU time over wall
//! time, whether it mostly waits or mostly computes — and which model the decision guide
//! recommends, and why.

use std::time::Duration;

use serde_json::{Value, json};

use crate::core::LabError;
use crate::exec::{CancelToken, Event, Model, RunReport, Sink};

/// What the sample showed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Waiting,
    Computing,
    Mixed,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Waiting => "waiting (I/O-bound)",
            Verdict::Computing => "computing (CPU-bound)",
            Verdict::Mixed => "mixed",
        }
    }
}

/// Below this CPU/wall ratio a one-thread sample is mostly waiting; above the next, computing.
pub const WAITING_BELOW: f64 = 0.3;
pub const COMPUTING_ABOVE: f64 = 0.7;
/// Tasks shorter than this (mean) are dominated by dispatch cost in a process pool.
pub const TINY_TASK: Duration = Duration::from_millis(1);

/// Classify by the share of wall time a single thread spent on a CPU.
pub fn verdict(cpu_per_wall: f64) -> Verdict {
    if cpu_per_wall < WAITING_BELOW {
        Verdict::Waiting
    } else if cpu_per_wall > COMPUTING_ABOVE {
        Verdict::Computing
    } else {
        Verdict::Mixed
    }
}

/// The decision guide: a model and the reason, for a verdict and the mean task length.
pub fn recommend(v: Verdict, mean_task: Duration, gil: bool) -> (&'static str, String) {
    let tiny = mean_task < TINY_TASK;
    match v {
        Verdict::Waiting => (
            "threads",
            "the work waits far more than it computes; a waiting thread releases the GIL, so \
             threads overlap the waits cheaply (processes would too, but pay start-up and \
             serialisation for nothing; for thousands of connections an event loop fits \
             better)"
                .into(),
        ),
        Verdict::Computing if tiny => (
            "sequential",
            format!(
                "the work computes, but each task takes only {:.3} ms: shipping a task to a \
                 process costs more than that, so run it in one thread or batch it (--chunk) \
                 until a task is well above 1 ms before using processes",
                mean_task.as_secs_f64() * 1e3
            ),
        ),
        Verdict::Computing if !gil => (
            "threads",
            "the work computes and the GIL is off (free-threaded): threads use every core \
             without serialising anything"
                .into(),
        ),
        Verdict::Computing => (
            "processes",
            "the work computes: with the GIL only one thread computes at a time, while each \
             process has its own interpreter and GIL, so processes use every core"
                .into(),
        ),
        Verdict::Mixed => (
            "threads+processes",
            "the work both waits and computes: overlap the waiting on threads and hand the \
             computing stage to a process pool (or, if the compute part is small, threads \
             alone will do)"
                .into(),
        ),
    }
}

/// This thread's scheduler statistics (Linux): time on a CPU and time runnable but waiting
/// for one (preempted by other programs), from `/proc/thread-self/schedstat`.
fn schedstat() -> Option<(Duration, Duration)> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let mut it = s.split_whitespace().map(|x| x.parse::<u64>().ok());
    let on_cpu = it.next()??;
    let waiting = it.next()??;
    Some((Duration::from_nanos(on_cpu), Duration::from_nanos(waiting)))
}

/// What one sample measured.
pub struct Sample {
    pub report: RunReport,
    /// Each finished task's wall time, µs.
    pub walls: Vec<u64>,
    /// Time the sampling thread was runnable but had no CPU (others' load), if known.
    pub runqueue_wait: Option<Duration>,
}

impl Sample {
    /// The share of wall time the work wanted a CPU: on a CPU, or runnable and waiting for
    /// one. A busy machine delays a computing thread without making it wait for I/O, so
    /// the run-queue wait counts as computing.
    pub fn wanted_cpu_per_wall(&self) -> f64 {
        let e = self.report.elapsed.as_secs_f64();
        if e <= 0.0 {
            return 0.0;
        }
        let wait = self.runqueue_wait.unwrap_or_default().as_secs_f64();
        ((self.report.cpu.as_secs_f64() + wait) / e).min(1.0)
    }
}

/// Run the sample of `spec` (forced to one sequential worker) for at most `budget`.
pub fn sample_spec(
    mut spec: crate::exec::RunSpec,
    budget: Duration,
    cancel: &CancelToken,
) -> Result<Sample, LabError> {
    spec.model = Model::Sequential;
    spec.args.workers = 1;
    let cancel = cancel.clone();
    let (stop_tx, stop_rx) = crossbeam_channel::bounded::<()>(0);
    let timer = {
        let cancel = cancel.clone();
        std::thread::Builder::new()
            .name("conlab-classify-timer".into())
            .spawn(move || {
                if stop_rx.recv_timeout(budget).is_err() {
                    cancel.cancel();
                }
            })
            .map_err(|e| LabError::Failed(anyhow::anyhow!("could not start a timer: {e}")))?
    };
    let walls = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = {
        let walls = walls.clone();
        Sink::new(move |ev| {
            if let Event::TaskFinished {
                wall_us,
                result: Ok(_),
                ..
            } = &ev.event
            {
                walls
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(*wall_us);
            }
        })
    };
    // The sequential model runs every task on the calling thread: measure this thread.
    let before = schedstat();
    let report = crate::runtime::run(&spec, &sink, &cancel);
    let after = schedstat();
    drop(stop_tx);
    let _ = timer.join();
    let walls = walls.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Ok(Sample {
        report: report?,
        walls,
        runqueue_wait: before.zip(after).map(|(b, a)| a.1.saturating_sub(b.1)),
    })
}

/// One line for the dashboard: verdict, measured ratio, recommended model and why.
pub fn one_line(sample: &Sample, gil: bool) -> String {
    let j = classify_json(sample, gil);
    format!(
        "{}: mostly {} ({:.0}% of a 1-thread sample wanted a CPU) → {}: {}",
        sample.report.workload,
        j["verdict"].as_str().unwrap_or("?"),
        sample.wanted_cpu_per_wall() * 100.0,
        j["recommended_model"].as_str().unwrap_or("?"),
        j["why"].as_str().unwrap_or("")
    )
}

/// The verdict as JSON.
pub fn classify_json(sample: &Sample, gil: bool) -> Value {
    let r = &sample.report;
    let walls = &sample.walls;
    let ratio = sample.wanted_cpu_per_wall();
    let v = verdict(ratio);
    let mean = if walls.is_empty() {
        r.elapsed
    } else {
        Duration::from_micros(walls.iter().sum::<u64>() / walls.len() as u64)
    };
    let (model, why) = recommend(v, mean, gil);
    let r3 = |x: f64| (x * 1000.0).round() / 1000.0;
    json!({
        "workload": r.workload,
        "sample_size": r.size,
        "sample_elapsed_s": r3(r.elapsed.as_secs_f64()),
        "sample_cpu_s": r3(r.cpu.as_secs_f64()),
        "runqueue_wait_s": sample.runqueue_wait.map(|w| r3(w.as_secs_f64())),
        "cpu_per_wall": r3(r.cpu_utilisation()),
        "wanted_cpu_per_wall": r3(ratio),
        "tasks_sampled": walls.len(),
        // No task finished inside the sample: there is no mean, only a lower bound.
        "mean_task_ms": (!walls.is_empty()).then(|| r3(mean.as_secs_f64() * 1e3)),
        "task_longer_than_ms": walls.is_empty().then(|| r3(mean.as_secs_f64() * 1e3)),
        "stopped_at_budget": r.cancelled,
        "verdict": match v { Verdict::Waiting => "waiting", Verdict::Computing => "computing", Verdict::Mixed => "mixed" },
        "recommended_model": model,
        "why": why,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds() {
        assert_eq!(verdict(0.02), Verdict::Waiting);
        assert_eq!(verdict(0.98), Verdict::Computing);
        assert_eq!(verdict(0.5), Verdict::Mixed);
    }

    #[test]
    fn guide() {
        let long = Duration::from_millis(50);
        assert_eq!(recommend(Verdict::Waiting, long, true).0, "threads");
        assert_eq!(recommend(Verdict::Computing, long, true).0, "processes");
        assert_eq!(recommend(Verdict::Computing, long, false).0, "threads");
        assert_eq!(
            recommend(Verdict::Computing, Duration::from_micros(5), true).0,
            "sequential"
        );
        assert_eq!(recommend(Verdict::Mixed, long, true).0, "threads+processes");
    }
}
