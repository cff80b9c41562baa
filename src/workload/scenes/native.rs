//! `native`: the GIL is per bytecode, not per program. The same CPU work — sha256 over a
//! buffer, one "native call" at a time — runs as one of three kinds of code
//! (`--variant interpreted|releasing|holding`), first one call after another on one thread,
//! then on the pool's threads, while a bystander thread wakes every 1 ms and measures how
//! long it waited for the GIL. Interpreted code hands the GIL over within a switch
//! interval; native code that releases it lets the bystander (and the other workers) run
//! at once; native code that holds it keeps everyone out for the whole call.

use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::super::{Answer, Plan, TaskOutput, WorkKind, Workload, WorkloadArgs, task_u64};
use super::{attach_run_extra, quantile, run_extra};
use crate::core::{CodeKind, Event, Model, TaskError, median};
use crate::exec::{Engine, Gil, TaskCtx, TaskResult};
use crate::workload::http::hex;

pub struct Native;

/// The bystander's nap.
const NAP: Duration = Duration::from_millis(1);
/// Native calls per worker.
const CALLS_PER_WORKER: usize = 4;
/// The buffer each call hashes over and over.
const BUF_LEN: usize = 64 * 1024;
/// Interpreted code checks for a drop request after every piece this long (~20 µs).
const PIECE: usize = 16 * 1024;

/// The buffer every call hashes: a fixed xorshift pattern.
fn buffer() -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..BUF_LEN)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// One call: sha256 of the call's index followed by `mib` MiB of `buf` repeated. The same
/// bytes whatever the kind; interpreted code ticks between pieces, native code never does.
fn one_call(
    call: usize,
    mib: u64,
    buf: &[u8],
    kind: CodeKind,
    ctx: &mut TaskCtx,
) -> Result<[u8; 32], TaskError> {
    let pieces = mib as usize * (1024 * 1024 / PIECE);
    ctx.run_as(kind, |mut interp| {
        let mut h = Sha256::new();
        h.update((call as u64).to_le_bytes());
        for p in 0..pieces {
            if let Some(ctx) = interp.as_deref_mut() {
                ctx.tick()?;
            }
            let at = (p * PIECE) % BUF_LEN;
            h.update(&buf[at..at + PIECE]);
        }
        Ok(h.finalize().into())
    })
}

/// Which part of the run the bystander's wake-up fell in.
const PHASE_SEQUENTIAL: u8 = 0;
const PHASE_THREADS: u8 = 1;

/// The bystander: nap 1 ms without the GIL, then time how long re-taking it took.
fn bystander(stop: &AtomicBool, phase: &AtomicU8, ctx: &mut TaskCtx) -> [Vec<f64>; 2] {
    let mut lat = [Vec::new(), Vec::new()];
    while !stop.load(Ordering::SeqCst) {
        let woke = ctx.without_gil(|| {
            std::thread::sleep(NAP);
            Instant::now()
        });
        let ms = woke.elapsed().as_secs_f64() * 1e3;
        let p = usize::from(phase.load(Ordering::SeqCst) == PHASE_THREADS);
        lat[p].push(ms);
        if ctx.is_cancelled() {
            break;
        }
    }
    lat
}

/// Worst, p99, median and count of a list of latencies (ms, rounded to µs).
fn latency_stats(lat: &mut [f64]) -> Value {
    let r3 = |x: f64| (x * 1e3).round() / 1e3;
    json!({
        "worst": r3(quantile(lat, 1.0)),
        "p99": r3(quantile(lat, 0.99)),
        "median": r3(median(lat)),
        "wakeups": lat.len(),
    })
}

fn variant(args: &WorkloadArgs) -> CodeKind {
    args.variant
        .as_deref()
        .and_then(CodeKind::from_name)
        .unwrap_or(CodeKind::Interpreted)
}

/// What the workers measured, filled in as they go.
#[derive(Default)]
struct Measured {
    digests: Vec<Option<[u8; 32]>>,
    call_ms: Vec<f64>,
    sequential_s: f64,
    threads_s: f64,
    error: Option<TaskError>,
}

impl Workload for Native {
    fn models(&self) -> &'static [Model] {
        &[Model::Threads]
    }
    fn variants(&self) -> &'static [&'static str] {
        &["interpreted", "releasing", "holding"]
    }
    fn name(&self) -> &'static str {
        "native"
    }
    fn summary(&self) -> &'static str {
        "the same sha256 work as interpreted code, native code releasing the GIL, or holding it: speed-up and a bystander's wait"
    }
    fn kind(&self) -> WorkKind {
        WorkKind::Scene
    }
    fn size_meaning(&self) -> &'static str {
        "MiB of sha256 in one native call (4 calls per worker)"
    }
    fn default_size(&self) -> u64 {
        32
    }
    fn size_range(&self) -> RangeInclusive<u64> {
        1..=4096
    }
    fn default_tasks(&self, workers: usize) -> usize {
        workers + 1
    }
    fn plan(&self, args: &WorkloadArgs) -> anyhow::Result<Plan> {
        let kind = variant(args);
        let mut tasks: Vec<Value> = (0..args.workers)
            .map(|_| json!({ "role": "worker", "mib": args.size, "variant": kind.name() }))
            .collect();
        tasks.push(json!({ "role": "bystander", "mib": args.size, "variant": kind.name() }));
        Ok(Plan::new(tasks))
    }
    fn run_task(&self, _task: &Value, _ctx: &mut TaskCtx) -> Result<TaskOutput, TaskError> {
        Err(TaskError::failed(
            "native runs its workers beside a bystander thread: use --model threads",
        ))
    }
    fn orchestrate(&self, engine: &Engine, model: Model) -> Option<Vec<TaskResult>> {
        let job = engine.job();
        let first = job.tasks.first();
        let (mib, kind) = match (model, first.as_ref().map(|t| task_u64(t, "mib"))) {
            (Model::Threads, Some(Ok(mib))) => (
                mib,
                first
                    .as_ref()
                    .and_then(|t| t.get("variant").and_then(Value::as_str).map(String::from))
                    .and_then(|v| CodeKind::from_name(&v))
                    .unwrap_or(CodeKind::Interpreted),
            ),
            _ => {
                let msg = "native needs threads sharing one GIL: use --model threads";
                return Some(job.tasks.iter().map(|_| Some(Err(msg.into()))).collect());
            }
        };
        let workers = job.tasks.len().saturating_sub(1).max(1);
        let calls = workers * CALLS_PER_WORKER;
        // The ceiling for the speed-up, measured now beside the run (as `compare` does).
        let capacity = crate::exec::capacity::measure(
            workers
                .min(crate::sys::cgroup::given().default_workers())
                .max(1),
            job.cancel,
        );
        let buf = buffer();
        let gil = Gil::new(job.gil);
        let stop = AtomicBool::new(false);
        let phase = AtomicU8::new(PHASE_SEQUENTIAL);
        let next = AtomicUsize::new(0);
        let done = AtomicUsize::new(0);
        let start_line = Barrier::new(workers);
        let finish_line = Barrier::new(workers);
        let measured = Mutex::new(Measured {
            digests: vec![None; calls],
            ..Default::default()
        });
        let lat = Mutex::new([Vec::new(), Vec::new()]);
        let lock = |m: &Mutex<Measured>| {
            let mut g = m.lock().unwrap_or_else(|e| e.into_inner());
            std::mem::take(&mut *g)
        };
        let record = |call: usize, r: Result<[u8; 32], TaskError>, took: Duration| {
            let mut m = measured.lock().unwrap_or_else(|e| e.into_inner());
            match r {
                Ok(d) => {
                    m.digests[call] = Some(d);
                    m.call_ms.push(took.as_secs_f64() * 1e3);
                }
                Err(e) => {
                    m.error.get_or_insert(e);
                }
            }
        };
        let mut results =
            Engine::new(job)
                .threads()
                .scene("native")
                .gang(&gil, 0, workers + 1, |i, ctx| {
                    if i == workers {
                        let l = bystander(&stop, &phase, ctx);
                        let n = l[0].len() + l[1].len();
                        *lat.lock().unwrap_or_else(|e| e.into_inner()) = l;
                        return Ok(TaskOutput::value(n as u128));
                    }
                    // Phase 1: worker 0 makes every call, one after another.
                    if i == 0 {
                        let t0 = Instant::now();
                        for c in 0..calls {
                            // Between calls the task is back in interpreted code: a check.
                            if ctx.tick().is_err() {
                                break;
                            }
                            let s = Instant::now();
                            let r = one_call(c, mib, &buf, kind, ctx);
                            record(c, r, s.elapsed());
                            ctx.progress(c as u64 + 1, 2 * calls as u64);
                        }
                        measured
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .sequential_s = t0.elapsed().as_secs_f64();
                        phase.store(PHASE_THREADS, Ordering::SeqCst);
                    }
                    // Phase 2: every worker takes calls from one queue. The barriers are
                    // waited on without the GIL, and always reached, so a failed call cannot
                    // strand the others.
                    ctx.without_gil(|| start_line.wait());
                    let t1 = Instant::now();
                    let mut mine = 0u64;
                    loop {
                        let c = next.fetch_add(1, Ordering::SeqCst);
                        if c >= calls || ctx.tick().is_err() {
                            break;
                        }
                        let s = Instant::now();
                        let r = one_call(c, mib, &buf, kind, ctx);
                        let ok = r.as_ref().ok().copied();
                        let took = s.elapsed();
                        let mut m = measured.lock().unwrap_or_else(|e| e.into_inner());
                        match (r, m.digests[c]) {
                            // Both phases must agree on every call's digest.
                            (Ok(d), Some(seq)) if d != seq => {
                                m.error.get_or_insert(TaskError::failed(format!(
                                    "call {c} gave a different digest on threads"
                                )));
                            }
                            (Err(e), _) => {
                                m.error.get_or_insert(e);
                            }
                            _ => {}
                        }
                        if ok.is_some() {
                            m.call_ms.push(took.as_secs_f64() * 1e3);
                        }
                        drop(m);
                        mine += 1;
                        let d = done.fetch_add(1, Ordering::SeqCst) + 1;
                        ctx.progress((calls + d) as u64, 2 * calls as u64);
                    }
                    ctx.without_gil(|| finish_line.wait());
                    if i == 0 {
                        measured.lock().unwrap_or_else(|e| e.into_inner()).threads_s =
                            t1.elapsed().as_secs_f64();
                        stop.store(true, Ordering::SeqCst);
                    }
                    Ok(TaskOutput::value(u128::from(mine)))
                });
        stop.store(true, Ordering::SeqCst);
        let m = lock(&measured);
        if let Some(e) = m.error {
            return Some(
                results
                    .into_iter()
                    .map(|r| r.map(|_| Err(e.to_string())))
                    .collect(),
            );
        }
        let mut lat = lat.into_inner().unwrap_or_else(|e| e.into_inner());
        let mut call_ms = m.call_ms;
        let mut h = Sha256::new();
        for d in m.digests.iter().flatten() {
            h.update(d);
        }
        let checksum = hex(&h.finalize())[..16].to_string();
        let speedup = if m.threads_s > 0.0 {
            m.sequential_s / m.threads_s
        } else {
            0.0
        };
        let r3 = |x: f64| (x * 1e3).round() / 1e3;
        let interval = job.gil.switch_interval.as_secs_f64() * 1e3;
        let threads_lat = latency_stats(&mut lat[1]);
        job.sink.emit(Event::Note {
            key: "native".into(),
            value: format!(
                "{}: threads {speedup:.2}× sequential (capacity {capacity:.2}); bystander \
                 worst {} ms, median {} ms (one call {:.1} ms, switch interval {interval} ms)",
                kind.describe(),
                threads_lat["worst"],
                threads_lat["median"],
                median(&mut call_ms),
            ),
        });
        attach_run_extra(
            &mut results,
            json!({
                "variant": kind.name(),
                "gil": job.gil.enabled,
                "switch_interval_ms": interval,
                "nap_ms": NAP.as_secs_f64() * 1e3,
                "calls": calls,
                "mib_per_call": mib,
                "checksum": checksum,
                "native_call_ms": {
                    "median": r3(median(&mut call_ms)),
                    "max": r3(quantile(&mut call_ms, 1.0)),
                },
                "sequential_s": r3(m.sequential_s),
                "threads_s": r3(m.threads_s),
                "workers": workers,
                "speedup": (speedup * 1e3).round() / 1e3,
                "capacity": (capacity * 1e3).round() / 1e3,
                "of_capacity": if capacity > 0.0 { ((speedup / capacity) * 1e3).round() / 1e3 } else { 0.0 },
                "bystander_ms": threads_lat,
                "bystander_sequential_ms": latency_stats(&mut lat[0]),
            }),
        );
        Some(results)
    }
    fn combine(&self, outputs: &[TaskOutput], args: &WorkloadArgs) -> Answer {
        let run = run_extra(outputs);
        let get = |k: &str| run.and_then(|r| r.get(k)).cloned().unwrap_or(Value::Null);
        let checksum = get("checksum");
        let worst = run
            .and_then(|r| r["bystander_ms"]["worst"].as_f64())
            .unwrap_or(0.0);
        let call = run
            .and_then(|r| r["native_call_ms"]["median"].as_f64())
            .unwrap_or(0.0);
        Answer {
            value: format!("checksum {}", checksum.as_str().unwrap_or("?")),
            meaning: format!(
                "{} calls of {} MiB sha256 as {}: threads {}× sequential; a bystander waking \
                 every 1 ms waited up to {worst:.1} ms for the GIL (one call {call:.1} ms)",
                get("calls"),
                args.size,
                variant(args).describe(),
                get("speedup"),
            ),
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

    fn args(variant: &str) -> WorkloadArgs {
        WorkloadArgs {
            workers: 2,
            size: 1,
            variant: Some(variant.into()),
            ..Default::default()
        }
    }

    /// Same work, same answer: every variant, GIL on or off.
    #[test]
    fn every_variant_gives_the_same_answer() {
        let mut answers = Vec::new();
        for v in ["interpreted", "releasing", "holding"] {
            for gil in [true, false] {
                let (r, _) = run_scene("native", Model::Threads, gil, args(v));
                assert!(r.failures.is_empty(), "{v}: {:?}", r.failures);
                let d = r.details.expect("details");
                assert_eq!(d["variant"], v);
                assert_eq!(d["calls"], 8);
                assert!(d["bystander_ms"]["wakeups"].as_u64().is_some(), "{d}");
                answers.push(r.answer.expect("an answer").value);
            }
        }
        answers.dedup();
        assert_eq!(answers.len(), 1, "{answers:?}");
    }

    #[test]
    fn holding_code_is_drawn_as_native_holding_and_releasing_as_released() {
        use crate::core::SpanKind;
        let kinds = |v| {
            let (_, events) = run_scene("native", Model::Threads, true, args(v));
            events
                .into_iter()
                .filter_map(|s| match s.event {
                    Event::Span { kind, .. } => Some(kind),
                    _ => None,
                })
                .collect::<Vec<_>>()
        };
        let held = kinds("holding");
        assert!(held.contains(&SpanKind::NativeHolding), "{held:?}");
        assert!(!held.contains(&SpanKind::NativeReleased));
        let released = kinds("releasing");
        assert!(released.contains(&SpanKind::NativeReleased));
        assert!(!released.contains(&SpanKind::NativeHolding));
    }

    #[test]
    fn other_models_are_refused_with_a_reason() {
        use crate::exec::{CancelToken, RunSpec, Sink};
        let mut spec = RunSpec::new("native", Model::Sequential, 2);
        spec.args = args("holding");
        let err = crate::runtime::run(&spec, &Sink::null(), &CancelToken::new())
            .expect_err("threads only");
        assert!(err.to_string().contains("threads"), "{err}");
    }

    /// The lesson in numbers; timing-dependent, so not a unit test: run with
    /// `cargo test --release -- --ignored native_`.
    #[test]
    #[ignore]
    fn native_holding_makes_the_bystander_wait_a_whole_call() {
        let a = WorkloadArgs {
            size: 32,
            ..args("holding")
        };
        let (r, _) = run_scene("native", Model::Threads, true, a);
        let d = r.details.expect("details");
        let worst = d["bystander_ms"]["worst"].as_f64().expect("worst");
        let call = d["native_call_ms"]["median"].as_f64().expect("call");
        assert!(worst >= call, "{d}");
    }
}
