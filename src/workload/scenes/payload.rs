//! `payload`: tasks that each carry P bytes. Threads read them in place (shared memory);
//! processes pay to serialise them and push them through a pipe (bytes moved and time
//! spent, measured); `--variant shm` has the processes read them from one shared file in
//! shared memory instead (an anonymous memory file, never named in `/dev/shm`), so only a
//! path and an offset travel.

use std::ops::RangeInclusive;
use std::os::unix::fs::FileExt;
use std::time::Instant;

use serde_json::{Value, json};

use super::super::{Answer, Plan, TaskOutput, WorkKind, Workload, WorkloadArgs, task_u64};
use super::{attach_run_extra, run_extra};
use crate::core::{Model, TaskError, ms};
use crate::exec::{Engine, Gil, Job, TaskCtx, TaskResult};

pub struct Payload;

/// Most payload bytes in one run: the copy variant holds them about three times over
/// (the data, the messages, a serialised line).
const MAX_TOTAL: u64 = 256_000_000;

/// Byte `j` of task `i`'s payload: printable ASCII, so it travels in JSON unescaped and a
/// JSON string of it is exactly P bytes.
pub fn byte_at(task: u64, j: u64) -> u8 {
    b'a' + ((j.wrapping_mul(31).wrapping_add(task.wrapping_mul(7))) % 26) as u8
}

/// Task `i`'s payload.
pub fn payload(task: u64, len: u64) -> Vec<u8> {
    (0..len).map(|j| byte_at(task, j)).collect()
}

/// The sum of the bytes, ticking every 64 KiB so a big payload stays cancellable.
fn checksum(bytes: &[u8], ctx: &mut TaskCtx) -> Result<u128, TaskError> {
    let mut sum = 0u128;
    for chunk in bytes.chunks(1 << 16) {
        sum += chunk.iter().map(|&b| u128::from(b)).sum::<u128>();
        ctx.tick()?;
    }
    Ok(sum)
}

/// The payload in shared memory: an anonymous memory file (`memfd_create`) that worker
/// processes open through `/proc/<conlab's pid>/fd/<fd>`. It has no name in `/dev/shm`, so
/// nothing can be left behind whatever ends conlab (SIGKILL included): the kernel frees it
/// when the last process holding it closes it.
struct SharedFile {
    _file: std::fs::File,
    path: String,
}

impl SharedFile {
    fn create(bytes: &[u8]) -> std::io::Result<Self> {
        use std::io::Write;
        use std::os::fd::AsRawFd;
        let fd = nix::sys::memfd::memfd_create(
            "conlab-payload",
            nix::sys::memfd::MFdFlags::MFD_CLOEXEC,
        )?;
        let mut file = std::fs::File::from(fd);
        file.write_all(bytes)?;
        let path = format!("/proc/{}/fd/{}", std::process::id(), file.as_raw_fd());
        Ok(SharedFile { _file: file, path })
    }
}

/// A task's `len`, within the sizes `--size` allows (a hostile message must not make a
/// worker allocate 10^15 bytes).
fn task_len(task: &Value) -> Result<usize, TaskError> {
    let len = task_u64(task, "len")?;
    let max = *Payload.size_range().end();
    if len > max {
        return Err(TaskError::failed(format!(
            "malformed task: len {len} is over the payload cap of {max} bytes"
        )));
    }
    Ok(len as usize)
}

/// Run `tasks` on a pool of `job.workers` processes; what the pool measured, with the
/// `mode` said and `before` (what was timed before the tasks went out, in ms).
fn in_processes(
    job: &Job,
    tasks: Vec<Value>,
    mode: &str,
    before: (&str, f64),
) -> (Vec<TaskResult>, Value) {
    let sub = Job {
        tasks: &tasks.into(),
        ..*job
    };
    let (r, stats) = Engine::new(&sub)
        .processes()
        .workers(job.workers)
        .max_tasks_per_child(None)
        .run();
    let mut s = stats.to_json();
    if let Some(o) = s.as_object_mut() {
        o.insert("mode".into(), mode.into());
        o.insert("bytes_moved".into(), stats.bytes_sent.into());
        o.insert(before.0.into(), before.1.into());
    }
    (r, s)
}

fn fail_all(job: &Job, msg: &str) -> Vec<TaskResult> {
    job.tasks
        .iter()
        .map(|_| Some(Err(msg.to_string())))
        .collect()
}

impl Workload for Payload {
    fn models(&self) -> &'static [Model] {
        // About pools and dispatch: an event loop is not one of them.
        &Model::POOLS
    }
    fn name(&self) -> &'static str {
        "payload"
    }
    fn summary(&self) -> &'static str {
        "tasks carrying P bytes: shared by threads, copied through pipes to processes"
    }
    fn kind(&self) -> WorkKind {
        WorkKind::Scene
    }
    fn size_meaning(&self) -> &'static str {
        "bytes carried by each task"
    }
    fn default_size(&self) -> u64 {
        1_000_000
    }
    fn size_range(&self) -> RangeInclusive<u64> {
        1..=64_000_000
    }
    fn default_tasks(&self, _workers: usize) -> usize {
        16
    }
    fn max_tasks(&self) -> usize {
        1_000
    }
    fn variants(&self) -> &'static [&'static str] {
        &["copy", "shm"]
    }
    fn plan(&self, args: &WorkloadArgs) -> anyhow::Result<Plan> {
        let total = args.size.saturating_mul(args.tasks as u64);
        anyhow::ensure!(
            total <= MAX_TOTAL,
            "payload: --size × --tasks = {total} bytes; allowed up to {}",
            super::super::thousands(u128::from(MAX_TOTAL))
        );
        let shm = args.variant.as_deref() == Some("shm");
        Ok(Plan::new(
            (0..args.tasks)
                .map(|i| json!({ "task": i, "len": args.size, "shm": shm }))
                .collect(),
        ))
    }
    /// In a worker process: checksum the bytes the message carried, or read them from the
    /// shared file.
    fn run_task(&self, task: &Value, ctx: &mut TaskCtx) -> Result<TaskOutput, TaskError> {
        if let Some(data) = task.get("data").and_then(Value::as_str) {
            let sum = checksum(data.as_bytes(), ctx)?;
            return Ok(TaskOutput {
                value: sum,
                extra: json!({ "received": data.len() }),
            });
        }
        if let Some(path) = task.get("path").and_then(Value::as_str) {
            let (off, len) = (task_u64(task, "off")?, task_len(task)?);
            let mut buf = vec![0u8; len];
            std::fs::File::open(path)
                .and_then(|f| f.read_exact_at(&mut buf, off))
                .map_err(|e| TaskError::failed(format!("reading the shared file {path}: {e}")))?;
            let sum = checksum(&buf, ctx)?;
            return Ok(TaskOutput {
                value: sum,
                extra: json!({ "received": 0, "read_from_shared_file": len }),
            });
        }
        // No data sent: make it here (what a sequential program would have in memory).
        let bytes = payload(task_u64(task, "task")?, task_len(task)? as u64);
        Ok(TaskOutput::value(checksum(&bytes, ctx)?))
    }
    fn orchestrate(&self, engine: &Engine, model: Model) -> Option<Vec<TaskResult>> {
        let job = engine.job();
        let p = job
            .tasks
            .first()
            .and_then(|t| t.get("len").and_then(Value::as_u64))
            .unwrap_or(0) as usize;
        let shm = job
            .tasks
            .first()
            .and_then(|t| t.get("shm").and_then(Value::as_bool))
            .unwrap_or(false);
        let n = job.tasks.len();
        let t0 = Instant::now();
        // The program's data: every task's payload, in this process's memory.
        let mut buf = Vec::with_capacity(n * p);
        for i in 0..n {
            if job.cancel.is_cancelled() {
                return Some(vec![None; n]);
            }
            buf.extend_from_slice(&payload(i as u64, p as u64));
        }
        let make_ms = ms(t0.elapsed());
        let t1 = Instant::now();
        let (mut results, run) = match model {
            Model::Async | Model::Interpreters => return None,
            Model::Sequential | Model::Threads => {
                let gil = Gil::new(job.gil);
                let workers = if model == Model::Sequential {
                    1
                } else {
                    job.workers
                };
                let (r, startup) = Engine::new(job)
                    .threads()
                    .scene("payload")
                    .workers(workers)
                    .run_each(&gil, |i, ctx| {
                        // Shared memory: read the payload in place, no copy.
                        Ok(TaskOutput::value(checksum(&buf[i * p..(i + 1) * p], ctx)?))
                    });
                (
                    r,
                    json!({
                        "mode": if model == Model::Sequential {
                            "one thread reads the payload in place"
                        } else {
                            "threads read the payload in place (shared memory)"
                        },
                        "bytes_moved": 0,
                        "startup_wall_ms": ms(startup.startup),
                    }),
                )
            }
            Model::Processes if shm => {
                let file = match SharedFile::create(&buf) {
                    Ok(f) => f,
                    Err(e) => return Some(fail_all(job, &format!("shared file: {e}"))),
                };
                let write_ms = ms(t1.elapsed());
                let path = file.path.clone();
                let tasks: Vec<Value> = (0..n)
                    .map(|i| json!({ "path": path, "off": i * p, "len": p }))
                    .collect();
                let got = in_processes(
                    job,
                    tasks,
                    "processes read their slice of one shared memory file (memfd)",
                    ("shared_file_write_ms", write_ms),
                );
                drop(file);
                got
            }
            Model::Processes => {
                // Python pickles each argument into the pipe; we serialise it as JSON.
                let c0 = Instant::now();
                let mut tasks: Vec<Value> = Vec::with_capacity(n);
                for i in 0..n {
                    if job.cancel.is_cancelled() {
                        return Some(vec![None; n]);
                    }
                    let s = String::from_utf8_lossy(&buf[i * p..(i + 1) * p]).into_owned();
                    tasks.push(json!({ "data": s }));
                }
                let copy_ms = ms(c0.elapsed());
                in_processes(
                    job,
                    tasks,
                    "processes get a serialised copy of each payload through a pipe",
                    ("copy_into_messages_ms", copy_ms),
                )
            }
        };
        let mut run = run;
        if let Some(o) = run.as_object_mut() {
            o.insert("model".into(), json!(model));
            o.insert("variant".into(), json!(if shm { "shm" } else { "copy" }));
            o.insert("bytes_per_task".into(), json!(p));
            o.insert("tasks".into(), json!(n));
            o.insert("payload_bytes".into(), json!(n * p));
            o.insert("make_payload_ms".into(), json!(make_ms));
            o.insert("elapsed_ms".into(), json!(ms(t1.elapsed())));
        }
        job.sink.emit(crate::exec::Event::Note {
            key: "payload".into(),
            value: format!(
                "{} bytes moved for {} bytes of payload",
                run["bytes_moved"],
                n * p
            ),
        });
        attach_run_extra(&mut results, run);
        Some(results)
    }
    fn combine(&self, outputs: &[TaskOutput], _args: &WorkloadArgs) -> Answer {
        Answer {
            value: outputs.iter().map(|o| o.value).sum::<u128>().to_string(),
            meaning: format!("sum of every payload byte over {} tasks", outputs.len()),
        }
    }
    fn details(&self, outputs: &[TaskOutput], _args: &WorkloadArgs) -> Option<Value> {
        run_extra(outputs).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::run_scene;
    use super::*;

    fn expected(tasks: u64, len: u64) -> u128 {
        (0..tasks)
            .flat_map(|i| (0..len).map(move |j| u128::from(byte_at(i, j))))
            .sum()
    }

    #[test]
    fn payload_bytes_are_printable_and_json_keeps_their_length() {
        let p = payload(3, 1000);
        assert!(p.iter().all(|b| b.is_ascii_lowercase()));
        let s = serde_json::to_string(&String::from_utf8(p).expect("ascii")).expect("json");
        assert_eq!(s.len(), 1002, "P bytes plus two quotes");
    }

    #[test]
    fn threads_share_the_payload_and_move_no_bytes() {
        let (r, _) = run_scene(
            "payload",
            Model::Threads,
            false,
            WorkloadArgs {
                workers: 2,
                size: 10_000,
                tasks: 4,
                ..Default::default()
            },
        );
        let d = r.details.expect("details");
        assert_eq!(d["bytes_moved"], 0);
        assert_eq!(d["payload_bytes"], 40_000);
        assert_eq!(
            r.answer.expect("answer").value,
            expected(4, 10_000).to_string()
        );
    }

    #[test]
    fn too_much_payload_is_refused() {
        let w = crate::workload::find("payload").expect("payload");
        let args = WorkloadArgs {
            size: 64_000_000,
            tasks: 5,
            workers: 1,
            ..Default::default()
        };
        assert!(w.plan(&args).is_err());
    }
}
