//! `pipeline`: download every body on threads (I/O: the GIL is released while waiting),
//! then process each body under the chosen model as the article's `process_content` does:
//! sha256 (native code that releases the GIL, as hashlib does over 2 KiB — so threads
//! speed it up) and a word count (interpreted: the GIL serialises threads). Each stage,
//! and each part of the processing, is timed separately.

use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::http::{fetch_task, fold_digests, hex, plan_fetches};
use super::{Answer, Plan, TaskOutput, WorkKind, Workload, WorkloadArgs, task_u64, thousands};
use crate::core::{Event, Model, TaskError};
use crate::exec::{Engine, Job, Sink, TaskCtx, TaskResult};

pub struct Pipeline;

const DEFAULT_DELAY_MS: u64 = 500;
const DEFAULT_BYTES: u64 = 1024 * 1024;
/// Count words this many bytes at a time between GIL checks (interpreted code ticks).
const COUNT_CHUNK: usize = 4 * 1024;

/// `rounds` chained sha256 passes over `body`: h = sha256(body), then
/// h = sha256(h ‖ body) again and again — CPU work proportional to rounds × size. Each pass
/// is one native call that releases the GIL, as CPython's `hashlib.sha256(data)` does for
/// inputs over 2 KiB; between passes the task is back in interpreted code (a GIL check).
fn chained_sha256(body: &[u8], rounds: u64, ctx: &mut TaskCtx) -> Result<[u8; 32], TaskError> {
    let mut digest: Option<[u8; 32]> = None;
    for _ in 0..rounds.max(1) {
        ctx.tick()?;
        let d = ctx.native_releasing(|| {
            let mut h = Sha256::new();
            if let Some(d) = digest {
                h.update(d);
            }
            h.update(body);
            <[u8; 32]>::from(h.finalize())
        });
        digest = Some(d);
    }
    digest.ok_or_else(|| TaskError::failed("no hash rounds"))
}

/// Python's `bytes.isspace()` bytes: space, \t, \n, \r, \x0b, \x0c.
fn is_py_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// The article's word count, `len(data.split())`, as interpreted code: it holds the GIL
/// and checks for a drop request every few KiB, so threads take turns on it.
fn count_words(body: &[u8], ctx: &mut TaskCtx) -> Result<u64, TaskError> {
    let mut words = 0u64;
    let mut in_word = false;
    for chunk in body.chunks(COUNT_CHUNK) {
        ctx.tick()?;
        for &b in chunk {
            let space = is_py_space(b);
            if !space && !in_word {
                words += 1;
            }
            in_word = !space;
        }
    }
    Ok(words)
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    b.chunks_exact(2)
        .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect()
}

/// A sink that forwards everything but task starts/finishes (the download stage's; the
/// hash stage reports the tasks), on `inner`'s clock.
fn quiet_sink(inner: &Sink) -> Sink {
    let to = inner.clone();
    Sink::new(move |s| {
        if !matches!(
            s.event,
            Event::TaskStarted { .. } | Event::TaskFinished { .. }
        ) {
            to.emit_at(s.at_us, s.event);
        }
    })
    .with_clock_of(inner)
}

/// A sink that renames the hash stage's task `k` to the run's task `map[k]`.
fn renaming_sink(inner: &Sink, map: Arc<Vec<usize>>) -> Sink {
    let to = inner.clone();
    Sink::new(move |mut s| {
        match &mut s.event {
            Event::TaskStarted { task, .. }
            | Event::Progress { task, .. }
            | Event::TaskFinished { task, .. } => *task = map.get(*task).copied().unwrap_or(*task),
            _ => {}
        }
        to.emit_at(s.at_us, s.event);
    })
    .with_clock_of(inner)
}

impl Workload for Pipeline {
    fn options(&self) -> &'static [&'static str] {
        &["--delay-ms", "--bytes", "--url"]
    }
    fn name(&self) -> &'static str {
        "pipeline"
    }
    fn summary(&self) -> &'static str {
        "download on threads, then sha256 every body on the chosen model: mixed I/O + CPU"
    }
    fn kind(&self) -> WorkKind {
        WorkKind::Mixed
    }
    fn size_meaning(&self) -> &'static str {
        "R chained sha256 passes over each downloaded body (1 MiB by default)"
    }
    fn default_size(&self) -> u64 {
        200
    }
    fn size_range(&self) -> RangeInclusive<u64> {
        1..=10_000
    }
    fn default_tasks(&self, workers: usize) -> usize {
        (workers * 2).max(8)
    }
    fn max_tasks(&self) -> usize {
        1_000
    }
    fn plan(&self, args: &WorkloadArgs) -> anyhow::Result<Plan> {
        let (mut tasks, srv) = plan_fetches(args, DEFAULT_DELAY_MS, DEFAULT_BYTES)?;
        for t in &mut tasks {
            if let Value::Object(m) = t {
                m.insert("stage".into(), json!("download"));
                m.insert("rounds".into(), json!(args.size));
            }
        }
        let mut plan = Plan::new(tasks);
        if let Some(s) = srv {
            plan.keep_alive.push(Box::new(s));
        }
        Ok(plan)
    }
    fn run_task(&self, task: &Value, ctx: &mut TaskCtx) -> Result<TaskOutput, TaskError> {
        match task.get("stage").and_then(Value::as_str) {
            Some("download") => {
                let got = fetch_task(task, ctx)?;
                ctx.progress(1, 1);
                Ok(TaskOutput {
                    value: got.body.len() as u128,
                    extra: json!({ "body": hex(&got.body) }),
                })
            }
            Some("hash") => {
                let rounds = task_u64(task, "rounds")?;
                let body = task
                    .get("body")
                    .and_then(Value::as_str)
                    .and_then(unhex)
                    .ok_or_else(|| TaskError::failed("malformed task: no hex field `body`"))?;
                ctx.progress(0, 1);
                // The article's process_content: sha256 (native, GIL released), then a
                // word count (interpreted), each part timed.
                let t0 = Instant::now();
                let digest = chained_sha256(&body, rounds, ctx)?;
                let t1 = Instant::now();
                let words = count_words(&body, ctx)?;
                let t2 = Instant::now();
                ctx.progress(1, 1);
                Ok(TaskOutput {
                    value: body.len() as u128,
                    extra: json!({
                        "sha256": hex(&digest),
                        "words": words,
                        "sha256_s": (t1 - t0).as_secs_f64(),
                        "words_s": (t2 - t1).as_secs_f64(),
                    }),
                })
            }
            _ => Err(TaskError::failed("malformed task: no known `stage`")),
        }
    }
    fn orchestrate(&self, engine: &Engine, model: Model) -> Option<Vec<TaskResult>> {
        let job = engine.job();
        let note = |k: &str, v: String| {
            job.sink.emit(Event::Note {
                key: k.into(),
                value: v,
            })
        };
        // Stage 1: downloads on a thread pool, whatever the model.
        note(
            "stage",
            format!(
                "download: {} GETs on {} threads",
                job.tasks.len(),
                job.workers
            ),
        );
        let quiet = quiet_sink(job.sink);
        let t0 = Instant::now();
        let downloaded = Engine::new(&Job {
            sink: &quiet,
            ..*job
        })
        .run_model(Model::Threads);
        let download = t0.elapsed();
        note("stage download", format!("{:.3} s", download.as_secs_f64()));

        let mut results: Vec<TaskResult> = vec![None; job.tasks.len()];
        let mut hash_tasks = Vec::new();
        let mut map = Vec::new();
        for (i, r) in downloaded.into_iter().enumerate() {
            match r {
                Some(Ok(out)) => {
                    let rounds = job.tasks.get(i).get("rounds").cloned().unwrap_or(json!(1));
                    let body = out.extra.get("body").cloned().unwrap_or(json!(""));
                    hash_tasks.push(json!({ "stage": "hash", "rounds": rounds, "body": body }));
                    map.push(i);
                }
                Some(Err(e)) => {
                    // The quiet sink hid this failure; report it now.
                    job.sink.emit(Event::TaskFinished {
                        task: i,
                        worker: 0,
                        result: Err(e.clone()),
                        wall_us: 0,
                        cpu_us: 0,
                    });
                    results[i] = Some(Err(e));
                }
                None => {}
            }
        }
        if job.cancel.is_cancelled() {
            return Some(results);
        }

        // Stage 2: hashing under the chosen model.
        note(
            "stage",
            format!(
                "hash: {} bodies on {model} ×{}",
                hash_tasks.len(),
                job.workers
            ),
        );
        let map = Arc::new(map);
        let renamed = renaming_sink(job.sink, map.clone());
        let t1 = Instant::now();
        let hashed = Engine::new(&Job {
            tasks: &hash_tasks.into(),
            sink: &renamed,
            ..*job
        })
        .run_model(model);
        let hash = t1.elapsed();
        note(
            "stage hash",
            format!("{:.3} s on {model}", hash.as_secs_f64()),
        );
        let stages = json!({
            "download_s": download.as_secs_f64(),
            "hash_s": hash.as_secs_f64(),
            "model": model.name(),
        });
        for (k, r) in hashed.into_iter().enumerate() {
            results[map[k]] = r.map(|r| {
                r.map(|mut o| {
                    if let Value::Object(m) = &mut o.extra {
                        m.insert("stages".into(), stages.clone());
                    }
                    o
                })
            });
        }
        Some(results)
    }
    fn details(&self, outputs: &[TaskOutput], _args: &WorkloadArgs) -> Option<Value> {
        Some(Pipeline::measured(outputs))
    }
    fn combine(&self, outputs: &[TaskOutput], args: &WorkloadArgs) -> Answer {
        let (total, sum) = fold_digests(outputs);
        let words: u64 = outputs
            .iter()
            .filter_map(|o| o.extra.get("words").and_then(Value::as_u64))
            .sum();
        let part = |k: &str| -> f64 {
            outputs
                .iter()
                .filter_map(|o| o.extra.get(k).and_then(Value::as_f64))
                .sum()
        };
        let stage = |k: &str| {
            outputs
                .first()
                .and_then(|o| o.extra.get("stages"))
                .and_then(|s| s.get(k))
                .and_then(Value::as_f64)
                .map_or_else(|| "?".into(), |s| format!("{s:.2} s"))
        };
        let model = outputs
            .first()
            .and_then(|o| o.extra.get("stages"))
            .and_then(|s| s.get("model"))
            .and_then(Value::as_str)
            .unwrap_or("?");
        Answer {
            value: format!(
                "{} bytes, {} words, checksum {sum}",
                thousands(total),
                thousands(u128::from(words))
            ),
            meaning: format!(
                "{} bodies downloaded on threads in {}, then processed on {model} in {}: \
                 sha256 ×{} (native, GIL released) {:.2} s + word count (interpreted) \
                 {:.2} s of task time",
                outputs.len(),
                stage("download_s"),
                stage("hash_s"),
                args.size,
                part("sha256_s"),
                part("words_s"),
            ),
        }
    }
}

impl Pipeline {
    /// The stages' wall times and the parts' summed task times, for `run --json`.
    fn measured(outputs: &[TaskOutput]) -> Value {
        let stages = outputs.first().and_then(|o| o.extra.get("stages"));
        let part = |k: &str| -> f64 {
            outputs
                .iter()
                .filter_map(|o| o.extra.get(k).and_then(Value::as_f64))
                .sum()
        };
        json!({
            "download_s": stages.and_then(|s| s.get("download_s")).cloned(),
            "hash_stage_s": stages.and_then(|s| s.get("hash_s")).cloned(),
            "model": stages.and_then(|s| s.get("model")).cloned(),
            "parts_task_s": {
                "sha256_native_releasing": part("sha256_s"),
                "word_count_interpreted": part("words_s"),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::{CancelToken, Gil, GilConfig};

    #[test]
    fn words_are_counted_as_python_splits_bytes() {
        let gil = Gil::new(GilConfig::default());
        let cancel = CancelToken::new();
        let sink = Sink::null();
        let mut ctx = TaskCtx::new(0, 0, &gil, &cancel, &sink);
        // len(b" a\x0bb\tc\x1cd  e\n".split()) == 4 in CPython (\x1c is not a byte space).
        let n = count_words(b" a\x0bb\tc\x1cd  e\n", &mut ctx).expect("counts");
        assert_eq!(n, 4);
        let long: Vec<u8> = b"ab ".repeat(5_000);
        assert_eq!(count_words(&long, &mut ctx).expect("counts"), 5_000);
    }

    #[test]
    fn hex_round_trips() {
        let data = [0u8, 1, 254, 255, 16];
        assert_eq!(unhex(&hex(&data)), Some(data.to_vec()));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
    }

    #[test]
    fn one_round_is_plain_sha256() {
        let gil = Gil::new(GilConfig::default());
        let cancel = CancelToken::new();
        let sink = Sink::null();
        let mut ctx = TaskCtx::new(0, 0, &gil, &cancel, &sink);
        let d = chained_sha256(b"abc", 1, &mut ctx).expect("hashes");
        assert_eq!(d.to_vec(), Sha256::digest(b"abc").to_vec());
        let two = chained_sha256(b"abc", 2, &mut ctx).expect("hashes");
        let mut h = Sha256::new();
        h.update(d);
        h.update(b"abc");
        assert_eq!(two.to_vec(), h.finalize().to_vec());
    }
}
