//! A fake [`Runner`] that "takes" exact durations without running anything (hyperfine's
//! `MockExecutor`), for testing what consumes runs — compare, reports, the dashboard —
//! without timing noise. It emits the events a real run emits, with fixed times.

use std::time::Duration;

use super::{CancelToken, Sink};
use super::{RunError, RunReport, RunResult, RunSpec, Runner};
use crate::core::{Answer, Event, Model, RunEnd, RunStart, TaskOutput};

/// What one model's run takes under the mock.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Took {
    pub elapsed: Duration,
    pub cpu: Duration,
    /// Every task fails (no answer).
    pub failed: bool,
}

/// Runs every spec in no time, reporting the durations it was told.
///
/// ```
/// use std::time::Duration;
/// use conlab::exec::{Model, mock::MockRunner};
/// let runner = MockRunner::new("25")
///     .takes(Model::Sequential, Duration::from_secs(4), Duration::from_secs(4))
///     .takes(Model::Threads, Duration::from_secs(2), Duration::from_secs(4));
/// ```
#[derive(Clone, Debug, Default)]
pub struct MockRunner {
    answer: String,
    takes: Vec<(Model, Took)>,
}

impl MockRunner {
    /// Every successful run answers `answer`.
    pub fn new(answer: &str) -> Self {
        MockRunner {
            answer: answer.into(),
            takes: Vec::new(),
        }
    }

    /// Runs under `model` take `elapsed` of wall time and `cpu` of CPU time.
    pub fn takes(mut self, model: Model, elapsed: Duration, cpu: Duration) -> Self {
        self.set(
            model,
            Took {
                elapsed,
                cpu,
                failed: false,
            },
        );
        self
    }

    /// Runs under `model` fail every task (after `elapsed`).
    pub fn fails(mut self, model: Model, elapsed: Duration) -> Self {
        self.set(
            model,
            Took {
                elapsed,
                cpu: elapsed,
                failed: true,
            },
        );
        self
    }

    fn set(&mut self, model: Model, took: Took) {
        self.takes.retain(|(m, _)| *m != model);
        self.takes.push((model, took));
    }
}

impl Runner for MockRunner {
    fn on_this_machine(&self) -> bool {
        false
    }

    fn run(&self, spec: &RunSpec, sink: &Sink, _cancel: &CancelToken) -> RunResult {
        let took = self
            .takes
            .iter()
            .find(|(m, _)| *m == spec.model)
            .map(|(_, t)| *t)
            .ok_or_else(|| RunError::Plan(anyhow::anyhow!("mock: no time for {}", spec.model)))?;
        let tasks = if spec.args.tasks == 0 {
            4
        } else {
            spec.args.tasks
        };
        let workers = if spec.model == Model::Sequential {
            1
        } else {
            spec.args.workers.clamp(1, tasks)
        };
        // The tasks run in rounds, one per worker at a time, filling the elapsed time.
        let rounds = tasks.div_ceil(workers) as u32;
        let wall = took.elapsed / rounds;
        let cpu = took.cpu / tasks as u32;
        let us = |d: Duration| d.as_micros() as u64;
        let sink = sink.restarted();
        sink.emit_at(
            0,
            Event::RunStarted(RunStart {
                workload: spec.workload.clone(),
                model: spec.model,
                workers,
                tasks,
                gil: spec.gil.enabled,
                switch_interval_ms: spec.gil.switch_interval.as_secs_f64() * 1e3,
                size: spec.args.size,
            }),
        );
        let answer = Answer {
            value: self.answer.clone(),
            meaning: format!("{} (mock)", spec.workload),
        };
        let mut failures = Vec::new();
        let mut busy_us = vec![0u64; workers];
        for task in 0..tasks {
            let worker = task % workers;
            busy_us[worker] += us(wall);
            sink.emit_at(
                us(wall * (task / workers) as u32),
                Event::TaskStarted {
                    task,
                    worker,
                    pid: 0,
                    thread: format!("mock-{worker}"),
                },
            );
            let result = if took.failed {
                failures.push((task, "mock failure".to_string()));
                Err("mock failure".to_string())
            } else {
                Ok(TaskOutput::value(0))
            };
            sink.emit_at(
                us(wall * (task / workers + 1) as u32),
                Event::TaskFinished {
                    task,
                    worker,
                    result,
                    wall_us: us(wall),
                    cpu_us: us(cpu),
                },
            );
        }
        let answer = (!took.failed).then_some(answer);
        sink.emit_at(
            us(took.elapsed),
            Event::RunFinished(RunEnd {
                answer: answer.clone(),
                elapsed_us: us(took.elapsed),
                cpu_us: us(took.cpu),
                failed: failures.len(),
                cancelled: false,
            }),
        );
        Ok(RunReport {
            workload: spec.workload.clone(),
            model: spec.model,
            workers,
            gil: spec.gil.enabled,
            size: spec.args.size,
            tasks,
            answer,
            elapsed: took.elapsed,
            cpu: took.cpu,
            loop_lag: None,
            memory: None,
            failures,
            cancelled: false,
            details: None,
            crossing: None,
            unreaped_cpu: Duration::ZERO,
            busy_us,
        })
    }
}

/// The engine's contract, checked: in `events`, every task of `0..tasks` started exactly
/// once and finished exactly once. `Err` names the counts when it did not.
pub fn each_task_once<'a>(
    events: impl IntoIterator<Item = &'a Event>,
    tasks: usize,
) -> Result<(), String> {
    let (mut started, mut finished) = (vec![0usize; tasks], vec![0usize; tasks]);
    for e in events {
        match e {
            Event::TaskStarted { task, .. } if *task < tasks => started[*task] += 1,
            Event::TaskFinished { task, .. } if *task < tasks => finished[*task] += 1,
            Event::TaskStarted { task, .. } | Event::TaskFinished { task, .. } => {
                return Err(format!("task {task} is not one of the {tasks} tasks"));
            }
            _ => {}
        }
    }
    if started.iter().chain(&finished).all(|&n| n == 1) {
        Ok(())
    } else {
        Err(format!("started {started:?}, finished {finished:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Stamped;

    #[test]
    fn emits_a_whole_run_with_exact_times() {
        let runner = MockRunner::new("25").takes(
            Model::Threads,
            Duration::from_millis(400),
            Duration::from_millis(800),
        );
        let (tx, rx) = crossbeam_channel::unbounded::<Stamped>();
        let mut spec = RunSpec::new("primes", Model::Threads, 2);
        spec.args.tasks = 4;
        let r = runner
            .run(&spec, &Sink::channel(tx, |s| s), &CancelToken::new())
            .expect("mock run");
        assert_eq!(r.elapsed, Duration::from_millis(400));
        assert_eq!(r.cpu_utilisation(), 2.0);
        assert_eq!(r.answer.map(|a| a.value), Some("25".into()));
        let events: Vec<Stamped> = rx.try_iter().collect();
        assert_eq!(events.len(), 1 + 2 * 4 + 1);
        assert!(matches!(
            events[0].event,
            Event::RunStarted(RunStart { tasks: 4, .. })
        ));
        assert!(matches!(
            events[2].event,
            Event::TaskFinished {
                wall_us: 200_000,
                cpu_us: 200_000,
                ..
            }
        ));
        // Two workers: tasks 0 and 1 in the first round, 2 and 3 in the second.
        assert_eq!(events[3].at_us, 0);
        assert!(matches!(
            events[5].event,
            Event::TaskStarted {
                task: 2,
                worker: 0,
                ..
            }
        ));
        assert_eq!(events[5].at_us, 200_000);
        assert_eq!(events[9].at_us, 400_000);
        assert_eq!(each_task_once(events.iter().map(|s| &s.event), 4), Ok(()));
    }

    #[test]
    fn each_task_once_catches_a_missing_or_doubled_event() {
        let start = |task| Event::TaskStarted {
            task,
            worker: 0,
            pid: 0,
            thread: String::new(),
        };
        let finish = |task| Event::TaskFinished {
            task,
            worker: 0,
            result: Err("x".into()),
            wall_us: 0,
            cpu_us: 0,
        };
        assert!(each_task_once(&[start(0), finish(0)], 1).is_ok());
        assert!(each_task_once(&[start(0)], 1).is_err());
        assert!(each_task_once(&[start(0), start(0), finish(0)], 1).is_err());
        assert!(each_task_once(&[start(1), finish(1)], 1).is_err());
    }

    #[test]
    fn a_failing_model_has_no_answer_and_an_unknown_one_is_an_error() {
        let runner = MockRunner::new("25").fails(Model::Processes, Duration::from_secs(1));
        let spec = RunSpec::new("primes", Model::Processes, 2);
        let r = runner
            .run(&spec, &Sink::null(), &CancelToken::new())
            .expect("mock run");
        assert!(r.answer.is_none());
        assert_eq!(r.failures.len(), 4);
        let other = RunSpec::new("primes", Model::Threads, 2);
        assert!(
            runner
                .run(&other, &Sink::null(), &CancelToken::new())
                .is_err()
        );
    }
}
