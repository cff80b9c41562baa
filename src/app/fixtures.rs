//! Test fixtures: messages that replay a run without running anything (fixed times).

use std::time::Duration;

use super::{App, Command, Msg, RunId, Settings};
use crate::exec::{Event, Model, Offload, RunEnd, RunStart, SpanKind, Stamped};
use crate::observe::monitor::CpuSample;
use crate::ui::theme::Theme;
use crate::workload::Answer;

pub fn app(workload: &str, workers: usize, gil: bool) -> App {
    App::new(
        Settings::new(workload, 0, workers, gil, 5.0),
        Theme::default(),
    )
}

/// [`app`] with the async model's `--offload`.
pub fn offloading(workload: &str, workers: usize, gil: bool, offload: Offload) -> App {
    let mut a = app(workload, workers, gil);
    a.settings.asyncio.offload = offload;
    a
}

pub fn ev(id: RunId, at_us: u64, event: Event) -> Msg {
    Msg::Run {
        id,
        at: Duration::from_micros(1_000_000 + at_us),
        ev: Stamped { at_us, event },
    }
}

pub fn cpu(cores: Vec<f32>, tree: f32) -> Msg {
    Msg::Cpu(CpuSample {
        cores,
        tree_cpu: tree,
        tree_mem: 5_200_000,
        tree_procs: 3,
    })
}

/// The id of the run the commands start.
pub fn started(cmds: &[Command]) -> Option<RunId> {
    cmds.iter().find_map(|c| match c {
        Command::Start { id, .. } => Some(*id),
        _ => None,
    })
}

/// Messages of a whole run of `model`: `tasks` tasks over `workers` workers, each task
/// `task_us` long, GIL waits when `gil_wait` (threads), finishing at `elapsed_us`.
#[allow(clippy::too_many_arguments)]
pub fn run_msgs(
    id: RunId,
    model: Model,
    workers: usize,
    tasks: usize,
    elapsed_us: u64,
    cpu_us: u64,
    gil_wait: bool,
    answer: &str,
) -> Vec<Msg> {
    let mut v = vec![ev(
        id,
        0,
        Event::RunStarted(RunStart {
            workload: "primes".into(),
            model,
            workers,
            tasks,
            gil: true,
            switch_interval_ms: 5.0,
            size: 20_000_000,
        }),
    )];
    // Sequential and async (CPU work on the loop) run every task on one lane.
    let lanes = if matches!(model, Model::Sequential | Model::Async) {
        1
    } else {
        workers
    };
    let per_lane = tasks.div_ceil(lanes);
    let task_us = elapsed_us / per_lane as u64;
    for w in 0..lanes {
        v.push(ev(
            id,
            10,
            Event::WorkerStarted {
                worker: w,
                pid: 4000 + w as u32,
            },
        ));
    }
    for k in 0..per_lane {
        for w in 0..lanes {
            let task = k * lanes + w;
            if task >= tasks {
                continue;
            }
            let t0 = k as u64 * task_us;
            v.push(ev(
                id,
                t0,
                Event::TaskStarted {
                    task,
                    worker: w,
                    pid: 4000 + w as u32,
                    thread: format!("t{w}"),
                },
            ));
            v.push(ev(
                id,
                t0 + task_us / 2,
                Event::Progress {
                    task,
                    worker: w,
                    done: 50,
                    total: 100,
                },
            ));
            if gil_wait {
                // Workers take turns: each waits half of every task.
                let off = if w % 2 == 0 { 0 } else { task_us / 2 };
                v.push(ev(
                    id,
                    t0 + off + task_us / 2,
                    Event::Span {
                        worker: w,
                        kind: SpanKind::GilWait,
                        start_us: t0 + off,
                        end_us: t0 + off + task_us / 2,
                    },
                ));
            }
            v.push(ev(
                id,
                t0 + task_us,
                Event::TaskFinished {
                    task,
                    worker: w,
                    result: Ok(crate::workload::TaskOutput::value(1)),
                    wall_us: task_us,
                    cpu_us: task_us,
                },
            ));
        }
    }
    // Fixed peaks: a worker process each costs its own memory; the loop lags a task.
    let (rss_mb, threads) = match model {
        Model::Processes => (21, 3),
        Model::Threads => (8, 4),
        _ => (8, 2),
    };
    v.push(ev(
        id,
        elapsed_us,
        Event::Measured {
            memory: Some(crate::core::MemoryStats {
                peak_rss_bytes: rss_mb * 1_000_000,
                start_rss_bytes: 6_000_000,
                peak_threads: threads,
                peak_processes: if model == Model::Processes { 2 } else { 0 },
                samples: 300,
            }),
            loop_lag: (model == Model::Async).then_some(crate::core::LoopStats {
                beats: 16,
                max_lag_us: task_us + 400,
                p99_lag_us: task_us + 200,
                mean_lag_us: task_us / 2,
                peak_in_flight: tasks as u64,
            }),
        },
    ));
    v.push(ev(
        id,
        elapsed_us,
        Event::RunFinished(RunEnd {
            answer: Some(Answer {
                value: answer.into(),
                meaning: "primes below 20,000,000".into(),
            }),
            elapsed_us,
            cpu_us,
            failed: 0,
            cancelled: false,
        }),
    ));
    v
}

/// Feed `msgs`, collecting the commands.
pub fn feed(app: &mut App, msgs: Vec<Msg>) -> Vec<Command> {
    msgs.into_iter().flat_map(|m| app.update(m)).collect()
}

/// An app after `a` with three finished runs (primes, GIL on, 2 workers), fixed numbers.
pub fn three_finished(cores: usize) -> App {
    let mut a = app("primes", 2, true);
    a.update(cpu(vec![12.0; cores], 3.0));
    run_every_model(&mut a);
    a.update(cpu(
        (0..cores).map(|i| (i * 37 % 101) as f32).collect(),
        4.0,
    ));
    a
}

/// Press `a` and feed every model's run, fixed numbers: sequential 3.02 s, threads
/// 3.08 s (GIL waits), processes 1.56 s, async 3.05 s, interpreters 1.58 s.
pub fn run_every_model(a: &mut App) {
    let mut cmds = a.update(key('a'));
    for (model, elapsed_us, cpu_us, gil_wait) in [
        (Model::Sequential, 3_020_000, 2_990_000, false),
        (Model::Threads, 3_080_000, 3_050_000, true),
        (Model::Processes, 1_560_000, 3_010_000, false),
        (Model::Async, 3_050_000, 3_000_000, false),
        (Model::Interpreters, 1_580_000, 3_020_000, false),
    ] {
        let id = started(&cmds).unwrap_or(0);
        cmds = feed(
            a,
            run_msgs(id, model, 2, 16, elapsed_us, cpu_us, gil_wait, "1270607"),
        );
    }
}

pub fn key(c: char) -> Msg {
    Msg::Key(crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char(c),
        crossterm::event::KeyModifiers::NONE,
    ))
}
